// What the EKS API's readers and HTTP side must not do: take a /_podnet/eks document outside EKS's grammars (its
// names and addresses reach nft rules, namespace names and DNS answers in the lab), write the account id in more than
// one place, wait for an oversized body to finish uploading before refusing it, or turn reads (each DNS query, each
// GET /_podnet/eks) into write transactions.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CreateClusterCommand, UpdateClusterConfigCommand } from '@aws-sdk/client-eks';
import { EMULATOR_ACCOUNT_ID, ec2DnsSource, openEc2State, readEksClusters, type Ec2State } from '../../../src/ec2/index.js';
import { parseEksDocument } from '../../../src/ec2/eks-http.js';
import { LAB_ACCOUNT_ID } from '../../../src/lab/plan.js';
import { PodnetError } from '../../../src/lib/index.js';
import { eksEndpointHostname, type EksCluster } from '../../../src/vpc/index.js';
import { createLabVpc, startEksEmulator, type EksEmulator, type LabVpc } from './eks-harness.js';

let clock = 1_000_000;
let state: Ec2State;
let emu: EksEmulator;
let vpc: LabVpc;
before(async () => {
  state = openEc2State({ now: () => clock });
  emu = await startEksEmulator({ state, eks: { delayMs: 1000 } });
  vpc = await createLabVpc(emu.ec2);
});
after(async () => {
  await emu.close();
  state.close();
});

const cluster = (): EksCluster => ({
  name: 'lab',
  arn: `arn:aws:eks:us-west-2:${EMULATOR_ACCOUNT_ID}:cluster/lab`,
  version: '1.33',
  status: 'ACTIVE',
  vpcId: 'vpc-0123456789abcdef0',
  subnetIds: ['subnet-0123456789abcdef0', 'subnet-0123456789abcdef1'],
  hostname: eksEndpointHostname(EMULATOR_ACCOUNT_ID, 'us-west-2', 'lab'),
  clusterSecurityGroupId: 'sg-0123456789abcdef0',
  securityGroupIds: ['sg-01234567'],
  enis: [{ eniId: 'eni-0123456789abcdef0', subnetId: 'subnet-0123456789abcdef0', privateIp: '10.0.16.5' }],
  publicAddress: '203.0.113.7',
  endpointPublicAccess: true,
  endpointPrivateAccess: false,
  publicAccessCidrs: ['198.51.100.0/24'],
  fargateProfiles: [{ name: 'fp-web', subnetIds: ['subnet-0123456789abcdef0'], selectors: [{ namespace: 'web', labels: { tier: 'front' } }], status: 'ACTIVE' }],
});

function refusal(change: (c: EksCluster & Record<string, unknown>) => void): string {
  const c = cluster() as EksCluster & Record<string, unknown>;
  change(c);
  try {
    parseEksDocument({ clusters: [c] }, 'http://test');
  } catch (err) {
    assert.ok(err instanceof PodnetError, String(err));
    assert.equal(err.code, 'EC2_FAILED');
    return err.message;
  }
  return assert.fail(`the document was taken: ${JSON.stringify(c)}`);
}

test('a /_podnet/eks document is taken only in the EKS actions\' grammars; each bad field is named', () => {
  assert.deepEqual(parseEksDocument({ clusters: [cluster()] }, 'http://test'), [cluster()]);
  const cases: Array<[string, (c: EksCluster & Record<string, unknown>) => void]> = [
    ['clusters[0].name', (c) => (c.name = 'lab;flush ruleset')],
    ['clusters[0].name', (c) => (c.name = 'x'.repeat(101))],
    ['clusters[0].arn', (c) => (c.arn = 'arn:aws:eks:us-west-2:111122223333:cluster/other')],
    ['clusters[0].hostname', (c) => (c.hostname = 'evil.example.com')],
    ['clusters[0].hostname', (c) => (c.hostname = `${'A'.repeat(32)}.gr7.us-west-2.eks.amazonaws.com.evil`)],
    ['clusters[0].publicAccessCidrs[0]', (c) => (c.publicAccessCidrs = ['0.0.0.0/0 accept'])],
    ['clusters[0].publicAccessCidrs[0]', (c) => (c.publicAccessCidrs = ['2001:db8::/32'])],
    ['clusters[0].publicAccessCidrs[0]', (c) => (c.publicAccessCidrs = ['198.51.100.1/24'])],
    ['clusters[0].enis[0].privateIp', (c) => (c.enis[0]!.privateIp = '10.0.16.300')],
    ['clusters[0].enis[0].eniId', (c) => (c.enis[0]!.eniId = 'eni-0; ip link del eth0')],
    ['clusters[0].enis[0].subnetId', (c) => (c.enis[0]!.subnetId = '')],
    ['clusters[0].publicAddress', (c) => (c.publicAddress = '203.0.113.7\n')],
    ['clusters[0].vpcId', (c) => (c.vpcId = 'vpc-../../etc')],
    ['clusters[0].securityGroupIds[0]', (c) => (c.securityGroupIds = ['sg-'])],
    ['clusters[0].status', (c) => (c.status = 'BROKEN' as EksCluster['status'])],
    ['clusters[0].endpointPublicAccess', (c) => (c.endpointPublicAccess = 'yes' as unknown as boolean)],
    ['clusters[0].fargateProfiles[0].name', (c) => (c.fargateProfiles[0]!.name = '-fp')],
    ['clusters[0].fargateProfiles[0].selectors[0].namespace', (c) => (c.fargateProfiles[0]!.selectors[0]!.namespace = '')],
  ];
  for (const [field, change] of cases) {
    const message = refusal(change);
    assert.ok(message.startsWith(`invalid EKS cluster list from http://test: ${field}: `), `${field}: ${message}`);
  }
});

test('readEksClusters refuses a served document outside the grammars, naming the field and the URL', async () => {
  const bad = { clusters: [{ ...cluster(), hostname: 'kubernetes.default.svc' }] };
  const server = createServer((_req, res) => res.end(JSON.stringify(bad)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    await assert.rejects(readEksClusters(url), (err: unknown) => err instanceof PodnetError && err.message.includes(`${url}/_podnet/eks: clusters[0].hostname: an EKS endpoint name`));
  } finally {
    server.close();
  }
});

test('the account id is written once: src/ec2 exports it, the lab and the EKS applier use it', () => {
  assert.equal(LAB_ACCOUNT_ID, EMULATOR_ACCOUNT_ID);
  const root = join(import.meta.dirname, '../../../src');
  const holders = (readdirSync(root, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts'))
    .filter((f) => readFileSync(join(root, f), 'utf8').includes(EMULATOR_ACCOUNT_ID));
  assert.deepEqual(holders, [join('ec2', 'actions', 'common.ts')]);
});

test('an oversized EKS request body is refused as soon as it passes 1 MiB, without waiting for the rest of the upload', async () => {
  const port = Number(new URL(emu.server.ec2Url).port);
  const socket = connect(port, '127.0.0.1');
  try {
    const answer = new Promise<string>((resolve, reject) => {
      let text = '';
      socket.on('data', (chunk) => {
        text += chunk.toString('latin1');
        if (text.includes('\r\n\r\n')) resolve(text);
      });
      socket.on('error', reject);
    });
    await new Promise<void>((resolve) => socket.once('connect', resolve));
    // 8 MiB announced, 1.5 MiB sent, the rest never: an answer can only come from refusing early
    socket.write(`POST /clusters HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: ${8 << 20}\r\n\r\n`);
    socket.write(Buffer.alloc(3 << 19, 0x20));
    const head = await Promise.race([answer, new Promise<string>((_, reject) => setTimeout(() => reject(new Error('no answer within 5 s')), 5000).unref())]);
    assert.match(head, /^HTTP\/1\.1 400 /);
    assert.match(head, /x-amzn-errortype: InvalidRequestException/i);
  } finally {
    socket.destroy();
  }
});

test('reading the clusters (each DNS query, GET /_podnet/eks) writes only when EKS work has come due, once', async () => {
  await emu.eks.send(new CreateClusterCommand({ name: 'reads', roleArn: `arn:aws:iam::${EMULATOR_ACCOUNT_ID}:role/eks`, resourcesVpcConfig: { subnetIds: [vpc.privateA, vpc.privateB] } }));
  clock += 1000;
  await emu.eks.send(new UpdateClusterConfigCommand({ name: 'reads', resourcesVpcConfig: { endpointPrivateAccess: true } }));
  let transactions = 0;
  const transaction = state.transaction.bind(state);
  state.transaction = <T>(fn: () => T): T => {
    transactions++;
    return transaction(fn);
  };
  try {
    const source = ec2DnsSource(state);
    const reads = () => source.clusters().find((c) => c.name === 'reads')!;
    // the update is InProgress: the cluster reads UPDATING, with nothing to write
    for (let i = 0; i < 500; i++) assert.equal(reads().status, 'UPDATING');
    assert.equal(transactions, 0);
    // the update comes due: the first read applies it, the next ones only read
    clock += 1000;
    for (let i = 0; i < 500; i++) {
      const c = reads();
      assert.deepEqual([c.status, c.endpointPrivateAccess], ['ACTIVE', true]);
    }
    assert.equal(transactions, 1);
    for (let i = 0; i < 20; i++) assert.equal((await readEksClusters(emu.server.ec2Url)).find((c) => c.name === 'reads')?.status, 'ACTIVE');
    assert.equal(transactions, 1);
  } finally {
    state.transaction = transaction;
  }
});
