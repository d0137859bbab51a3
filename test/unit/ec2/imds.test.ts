import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { createImdsHandler, readImdsPath, renderImdsTree } from '../../../src/ec2/imds.js';
import type { ImdsInstance } from '../../../src/ec2/protocol.js';
import { createSafeServer } from '../../../src/lib/index.js';

const instance: ImdsInstance = {
  instanceId: 'i-0123456789abcdef0',
  instanceType: 't3.medium',
  availabilityZone: 'us-west-2a',
  region: 'us-west-2',
  localIpv4: '10.0.16.10',
  mac: '02:00:00:00:00:01',
  interfaces: [
    {
      mac: '02:00:00:00:00:01', interfaceId: 'eni-0000000000000000a', deviceNumber: 0, networkCard: 0, subnetId: 'subnet-00000001',
      vpcId: 'vpc-00000001', securityGroupIds: ['sg-00000001', 'sg-00000002'], localIpv4s: ['10.0.16.10', '10.0.16.11'],
      ipv4Prefixes: [], ipv6s: [], ipv6Prefixes: [], subnetIpv4CidrBlock: '10.0.16.0/20', subnetIpv6CidrBlocks: [],
      vpcIpv4CidrBlocks: ['10.0.0.0/16'], vpcIpv6CidrBlocks: [], publicIpv4s: [],
    },
    {
      mac: '02:00:00:00:00:02', interfaceId: 'eni-0000000000000000b', deviceNumber: 1, networkCard: 0, subnetId: 'subnet-00000001',
      vpcId: 'vpc-00000001', securityGroupIds: ['sg-00000001'], localIpv4s: ['10.0.16.20'], ipv4Prefixes: ['10.0.17.0/28'],
      ipv6s: [], ipv6Prefixes: [], subnetIpv4CidrBlock: '10.0.16.0/20', subnetIpv6CidrBlocks: [], vpcIpv4CidrBlocks: ['10.0.0.0/16'],
      vpcIpv6CidrBlocks: [], publicIpv4s: [],
    },
  ],
};
const tree = { latest: renderImdsTree(instance) };
const read = (path: string) => readImdsPath(tree, path);

test('directories list their entries with a trailing / on sub-directories (spec §7.4)', () => {
  assert.equal(read('/latest/meta-data/network/interfaces/macs/'), '02:00:00:00:00:01/\n02:00:00:00:00:02/');
  assert.match(read('/latest/meta-data/')!, /^hostname\ninstance-id\ninstance-type\nlocal-hostname\nlocal-ipv4\nmac\nnetwork\/\nplacement\/$/);
});

test('per-ENI keys: multi-value files are one value per line, primary first; empty lists are absent', () => {
  const mac = '/latest/meta-data/network/interfaces/macs/02:00:00:00:00:01';
  assert.equal(read(`${mac}/local-ipv4s`), '10.0.16.10\n10.0.16.11');
  assert.equal(read(`${mac}/security-group-ids`), 'sg-00000001\nsg-00000002');
  assert.equal(read(`${mac}/device-number`), '0');
  assert.equal(read(`${mac}/ipv4-prefix`), undefined);
  assert.equal(read('/latest/meta-data/network/interfaces/macs/02:00:00:00:00:02/ipv4-prefix'), '10.0.17.0/28');
  assert.ok(!read(`${mac}/`)!.split('\n').includes('ipv4-prefix'));
});

test('instance identity: placement, region and the identity document', () => {
  assert.equal(read('/latest/meta-data/placement/availability-zone'), 'us-west-2a');
  assert.equal(read('/latest/meta-data/placement/region'), 'us-west-2');
  const doc = JSON.parse(read('/latest/dynamic/instance-identity/document')!);
  assert.deepEqual([doc.instanceId, doc.instanceType, doc.privateIp, doc.region], ['i-0123456789abcdef0', 't3.medium', '10.0.16.10', 'us-west-2']);
});

test('unknown paths and a file asked for as a directory are not found', () => {
  assert.equal(read('/latest/meta-data/nope'), undefined);
  assert.equal(read('/latest/meta-data/instance-id/'), undefined);
});

let server: Server;
let base: string;
before(async () => {
  let now = 1_000_000;
  const source = { imdsInstance: (q: { instanceId?: string; privateIp?: string }) => (q.instanceId === instance.instanceId || q.privateIp === '127.0.0.1' ? instance : undefined) };
  server = createSafeServer(createImdsHandler(source, {}, () => (now += 1000)), { what: 'IMDS' });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((resolve) => server.close(() => resolve())));

test('IMDSv2 over HTTP: a PUT with a TTL issues a token; GETs without it get 401; with it, 200', async () => {
  assert.equal((await fetch(`${base}/latest/meta-data/instance-id`)).status, 401);
  assert.equal((await fetch(`${base}/latest/api/token`, { method: 'PUT' })).status, 400);
  const put = await fetch(`${base}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '60' } });
  const token = await put.text();
  const get = await fetch(`${base}/latest/meta-data/instance-id`, { headers: { 'x-aws-ec2-metadata-token': token } });
  assert.deepEqual([get.status, await get.text()], [200, 'i-0123456789abcdef0']);
  assert.equal((await fetch(`${base}/latest/meta-data/instance-id`, { headers: { 'x-aws-ec2-metadata-token': 'forged' } })).status, 401);
});

test('an expired token is refused', async () => {
  const token = await (await fetch(`${base}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '1' } })).text();
  // the fake clock advances a second per call
  assert.equal((await fetch(`${base}/latest/meta-data/mac`, { headers: { 'x-aws-ec2-metadata-token': token } })).status, 401);
});

test('the instance-ID path prefix selects the instance; an unknown ID is 404; a token is for its own instance only', async () => {
  const tokenFor = async (prefix: string) =>
    (await fetch(`${base}${prefix}/latest/api/token`, { method: 'PUT', headers: { 'x-aws-ec2-metadata-token-ttl-seconds': '300' } })).text();
  const token = await tokenFor('/i-0123456789abcdef0');
  const get = await fetch(`${base}/i-0123456789abcdef0/latest/meta-data/placement/availability-zone`, { headers: { 'x-aws-ec2-metadata-token': token } });
  assert.equal(await get.text(), 'us-west-2a');
  const unknownUrl = `${base}/i-00000000000000000/latest/meta-data/instance-id`;
  assert.equal((await fetch(unknownUrl, { headers: { 'x-aws-ec2-metadata-token': token } })).status, 401);
  assert.equal((await fetch(unknownUrl, { headers: { 'x-aws-ec2-metadata-token': await tokenFor('/i-00000000000000000') } })).status, 404);
});
