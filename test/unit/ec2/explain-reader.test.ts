import { EKSClient } from '@aws-sdk/client-eks';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AssignPrivateIpAddressesCommand, CreateTagsCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { applyTopology, awsExplainSource, describeFacts, startEc2Server, type TopologyApplyResult } from '../../../src/ec2/index.js';
import { explainFlow, type AttachedEni, type World } from '../../../src/explain/index.js';
import { PodnetError } from '../../../src/lib/index.js';
import { defaultScenarioPath, loadScenario, scenarioExplainSource } from '../../../src/lab/index.js';
import { startEmulator, type EmulatorHandle } from './sdk-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-explain-aws-'));
const envFile = join(dir, 'node.env');
writeFileSync(envFile, 'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS=10.1.0.0/16\n');
const daemonSet = join(dir, 'aws-node.yaml');
writeFileSync(daemonSet, `apiVersion: apps/v1
kind: DaemonSet
metadata: { name: aws-node, namespace: kube-system }
spec:
  template:
    spec:
      containers:
        - name: aws-node
          image: amazon-k8s-cni
          env:
            - { name: AWS_VPC_K8S_CNI_EXTERNALSNAT, value: "true" }
`);

// the SDK's default credential chain reads these; the emulator takes any key
const savedEnv = { ...process.env };
before(() => Object.assign(process.env, { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true' }));
after(() => {
  process.env = savedEnv;
  rmSync(dir, { recursive: true, force: true });
});

const failure = (p: Promise<unknown>) => p.then(() => assert.fail('expected a failure'), (e: unknown) => e as PodnetError);

describe('explain --aws over the emulator: the account as describe calls show it', () => {
  let emulator: EmulatorHandle;
  let applied: TopologyApplyResult;
  let podIps: string[];
  let prefix: string;
  before(async () => {
    emulator = await startEmulator({ region: 'us-west-2' });
    // the scenario's cluster through the emulator's EKS API, as lab up creates it
    const eks = new EKSClient({ endpoint: emulator.server.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    applied = await applyTopology(await loadScenario(defaultScenarioPath), emulator.ec2, { eks });
    eks.destroy();
    const id = (name: string) => applied.ids.instances[name]!;
    await emulator.ec2.send(new CreateTagsCommand({ Resources: [id('priv'), id('pub-ip')], Tags: [{ Key: 'eks:cluster-name', Value: 'demo' }] }));
    await emulator.ec2.send(new CreateTagsCommand({ Resources: [id('priv-excl')], Tags: [{ Key: 'kubernetes.io/cluster/other', Value: 'owned' }] }));
    // what ipamd would have done on priv: secondary IPs on its primary ENI, a prefix on pub-ip's
    const eniOf = async (name: string) => (await emulator.ec2.send(new DescribeInstancesCommand({ InstanceIds: [id(name)] }))).Reservations![0]!.Instances![0]!.NetworkInterfaces![0]!.NetworkInterfaceId!;
    const assigned = await emulator.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: await eniOf('priv'), SecondaryPrivateIpAddressCount: 2 }));
    podIps = assigned.AssignedPrivateIpAddresses!.map((a) => a.PrivateIpAddress!);
    prefix = (await emulator.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: await eniOf('pub-ip'), Ipv4PrefixCount: 1 }))).AssignedIpv4Prefixes![0]!.Ipv4Prefix!;
  });
  after(() => emulator.close());

  const read = (cluster?: string, nodeConfig = envFile) => awsExplainSource({ region: 'us-west-2', endpointUrl: emulator.server.ec2Url, nodeConfig, ...(cluster ? { cluster } : {}) });

  test('the same model the offline reader builds from the same scenario: facts equal, every ENI where it put it, of the type EC2 gave it', async () => {
    const { world } = await read('demo');
    const offline = (await scenarioExplainSource(defaultScenarioPath)).world;
    // explain --aws reads EC2 only (the cluster is EKS's, which the offline reader simulates): compared without it
    const { enis, onPremises: _a, eksClusters: _c, ...facts } = world.model;
    const { enis: offlineEnis, onPremises: _b, eksClusters: _d, ...offlineFacts } = offline.model;
    assert.deepEqual(facts, offlineFacts);
    const attached: AttachedEni[] = enis;
    const offlineAttached: AttachedEni[] = offlineEnis;
    const where = (e: AttachedEni) => ({ eniId: e.eniId, subnetId: e.subnetId, instanceId: e.instanceId, deviceIndex: e.deviceIndex, primaryIp: e.privateIps[0], publicIps: e.publicIps, interfaceType: e.interfaceType });
    for (const e of attached) assert.deepEqual(where(offlineAttached.find((x) => x.eniId === e.eniId)!), where(e), e.eniId);
  });

  test('the VPC model is what describeFacts reads; every ENI carries its instance and device index', async () => {
    const { world } = await read('demo');
    const facts = await describeFacts(emulator.ec2);
    const { enis, onPremises, ...model } = world.model;
    assert.deepEqual(model, facts);
    assert.deepEqual(onPremises, []);
    const attached: AttachedEni[] = enis;
    for (const [name, instanceId] of Object.entries(applied.ids.instances)) {
      assert.equal(attached.filter((e) => e.instanceId === instanceId && e.deviceIndex === 0).length, 1, `${name} has one primary ENI`);
    }
    assert.equal(world.source, 'aws');
  });

  test('--cluster: the instances tagged for it are the nodes, the others hosts; names are Name tags and instance ids', async () => {
    const { world } = await read('demo');
    assert.deepEqual(world.nodes.map((n) => n.name).sort(), ['priv', 'pub-ip']);
    const byName = (n: string) => world.endpoints.find((e) => e.name === n);
    assert.equal(byName('priv')!.kind, 'node');
    assert.equal(byName(applied.ids.instances['priv']!)!.address, byName('priv')!.address);
    assert.equal(byName('peer-host')!.kind, 'host');
  });

  test('without --cluster, every instance tagged for some cluster is a node', async () => {
    const { world } = await read();
    assert.deepEqual(world.nodes.map((n) => n.name).sort(), ['priv', 'priv-excl', 'pub-ip']);
  });

  test('pods are the addresses on nodes\' ENIs: secondary IPs and every address of a prefix', async () => {
    const { world } = await read('demo');
    const pods = world.endpoints.filter((e) => e.kind === 'pod');
    for (const ip of podIps) assert.deepEqual(pods.find((p) => p.address === ip)?.node, 'priv');
    const inPrefix = pods.filter((p) => p.node === 'pub-ip');
    assert.equal(inPrefix.length, 16);
    assert.ok(inPrefix.some((p) => `${p.address}/28` === prefix));
  });

  test('the node settings come from the file: env lines or the aws-node DaemonSet', async () => {
    const fromEnv = (await read('demo')).world;
    assert.deepEqual(fromEnv.nodes[0]!.settings.excludeSnatCidrs, ['10.1.0.0/16']);
    assert.equal(fromEnv.nodes[0]!.settings.externalSnat, false);
    const fromDaemonSet = (await read('demo', daemonSet)).world;
    assert.equal(fromDaemonSet.nodes[0]!.settings.externalSnat, true);
  });

  test('the engine answers over it: a pod excluded from SNAT reaches the peered VPC with its own address', async () => {
    const { world } = await read('demo');
    const peer = world.endpoints.find((e) => e.name === 'peer-host')!;
    const e = explainFlow(world as World, { from: podIps[0]!, to: peer.name, protocol: 'icmp' });
    assert.equal(e.verdict, 'delivered');
    assert.equal(e.sourceSeen, podIps[0]);
  });

  test('a Name tag two instances share names neither (each is asked for by its instance id)', async () => {
    const twins = [applied.ids.instances['peer-host']!, applied.ids.instances['transit-host']!];
    await emulator.ec2.send(new CreateTagsCommand({ Resources: twins, Tags: [{ Key: 'Name', Value: 'twin' }] }));
    const { world } = await read('demo');
    assert.equal(world.endpoints.some((e) => e.name === 'twin'), false);
    for (const id of twins) assert.equal(world.endpoints.find((e) => e.name === id)?.kind, 'host');
    await emulator.ec2.send(new CreateTagsCommand({ Resources: [twins[0]!], Tags: [{ Key: 'Name', Value: 'peer-host' }] }));
    await emulator.ec2.send(new CreateTagsCommand({ Resources: [twins[1]!], Tags: [{ Key: 'Name', Value: 'transit-host' }] }));
  });

  test('a cluster no instance is tagged for is a usage error listing the clusters', async () => {
    const err = await failure(read('nope'));
    assert.ok(err instanceof PodnetError);
    assert.equal(err.exitStatus, 2);
    assert.match(err.hint!, /demo, other/);
  });
});

describe('explain --aws: refusals name their cause', () => {
  test('a describe call refused with UnauthorizedOperation names the permission it needs', async () => {
    const server = await startEc2Server({ region: 'us-west-2', throttle: false, faults: { actions: { DescribeNetworkAcls: { errorRate: 1, errorCode: 'UnauthorizedOperation', status: 403 } } } });
    try {
      const err = await failure(awsExplainSource({ region: 'us-west-2', endpointUrl: server.ec2Url, nodeConfig: envFile }));
      assert.ok(err instanceof PodnetError);
      assert.equal(err.exitStatus, 1);
      assert.match(err.message, /ec2:DescribeNetworkAcls/);
      assert.match(err.hint!, /docs\/iam-policy\.md/);
    } finally {
      await server.close();
    }
  });

  test('no credentials at all: an error that says how to give them', async () => {
    const server = await startEc2Server({ region: 'us-west-2', throttle: false });
    const saved = { ...process.env };
    for (const k of ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE', 'AWS_SESSION_TOKEN', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI', 'AWS_WEB_IDENTITY_TOKEN_FILE']) delete process.env[k];
    Object.assign(process.env, { AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none'), AWS_CONFIG_FILE: join(dir, 'none'), AWS_EC2_METADATA_DISABLED: 'true' });
    try {
      const err = await failure(awsExplainSource({ region: 'us-west-2', endpointUrl: server.ec2Url, nodeConfig: envFile }));
      assert.ok(err instanceof PodnetError);
      assert.match(err.message, /no usable AWS credentials/);
      assert.match(err.hint!, /AWS_PROFILE/);
    } finally {
      process.env = saved;
      await server.close();
    }
  });

  test('a node config aws-node would refuse is a usage error naming the variable', async () => {
    const bad = join(dir, 'bad.env');
    writeFileSync(bad, 'ENABLE_IPv6=true\n');
    const err = await failure(awsExplainSource({ region: 'us-west-2', endpointUrl: 'http://127.0.0.1:9', nodeConfig: bad }));
    assert.ok(err instanceof PodnetError);
    assert.equal(err.exitStatus, 2);
    assert.match(err.message, /ENABLE_IPv6/);
  });
});
