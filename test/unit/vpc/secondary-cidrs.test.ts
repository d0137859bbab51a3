/**
 * A VPC with a secondary IPv4 block (100.64.0.0/16, custom networking's usual one): every block is local to it —
 * vpcContaining, the local routes lookupRoute adds, delivery inside the VPC and across a peering.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { forwardPath, lookupRoute, parseTopology, vpcCidrsOf, vpcContaining, type VpcFacts, type VpcModel } from '../../../src/vpc/index.js';
import { defaultVpcFacts } from './default-vpc.js';

/** The default lab VPCs with 100.64.0.0/16 added to main, a pod subnet in it, and the tables EC2 would then list. */
const facts: VpcFacts = {
  ...defaultVpcFacts,
  vpcs: defaultVpcFacts.vpcs.map((v) => (v.id === 'vpc-main' ? { ...v, cidrs: ['10.0.0.0/16', '100.64.0.0/16'] } : v)),
  subnets: [...defaultVpcFacts.subnets, { id: 'subnet-pods', name: 'pods-a', vpcId: 'vpc-main', cidr: '100.64.0.0/19', routeTableId: 'rtb-private' }],
  routeTables: defaultVpcFacts.routeTables.map((t) =>
    t.vpcId === 'vpc-main' ? { ...t, routes: [{ destination: '100.64.0.0/16', target: { kind: 'local' as const } }, ...t.routes] } : t),
};

const model: VpcModel = {
  ...facts,
  enis: [
    { eniId: 'eni-node', vpcId: 'vpc-main', subnetId: 'subnet-priv', privateIps: ['10.0.16.10'], ipv4Prefixes: [], publicIps: {} },
    { eniId: 'eni-pods', vpcId: 'vpc-main', subnetId: 'subnet-pods', privateIps: ['100.64.0.10', '100.64.0.11'], ipv4Prefixes: [], publicIps: {} },
    { eniId: 'eni-nat', vpcId: 'vpc-main', subnetId: 'subnet-pub', privateIps: ['10.0.0.4'], ipv4Prefixes: [], publicIps: {} },
    { eniId: 'eni-peer', vpcId: 'vpc-peer', subnetId: 'subnet-peer', privateIps: ['10.1.0.10'], ipv4Prefixes: [], publicIps: {} },
  ],
};

test('vpcCidrsOf and vpcContaining take every block; a VPC without cidrs has its primary only', () => {
  assert.deepEqual(vpcCidrsOf(facts.vpcs[0]!), ['10.0.0.0/16', '100.64.0.0/16']);
  assert.deepEqual(vpcCidrsOf(facts.vpcs[1]!), ['10.1.0.0/16']);
  assert.equal(vpcContaining(facts, '100.64.3.4')?.id, 'vpc-main');
  assert.equal(vpcContaining(facts, '10.1.0.9')?.id, 'vpc-peer');
  assert.equal(vpcContaining(facts, '100.65.0.1'), undefined);
});

test('lookupRoute adds the local route of each block a table does not list', () => {
  const bare = { routes: [{ destination: '0.0.0.0/0', target: { kind: 'igw' as const, id: 'igw-1' } }] };
  assert.deepEqual(lookupRoute(bare, '100.64.9.9', ['10.0.0.0/16', '100.64.0.0/16']), { destination: '100.64.0.0/16', target: { kind: 'local' } });
  assert.deepEqual(lookupRoute(bare, '10.0.9.9', ['10.0.0.0/16', '100.64.0.0/16']), { destination: '10.0.0.0/16', target: { kind: 'local' } });
  assert.deepEqual(lookupRoute(bare, '100.64.9.9', '10.0.0.0/16')?.target, { kind: 'igw', id: 'igw-1' });
});

test('a pod in the secondary block reaches the primary block and back with its own address, routed local', () => {
  const there = forwardPath(model, { eniId: 'eni-pods', source: '100.64.0.11' }, '10.0.16.10');
  assert.equal(there.verdict, 'delivered');
  assert.equal(there.sourceSeen, '100.64.0.11');
  assert.ok(there.hops.some((h) => h.element === 'route-table' && h.action === 'route 10.0.0.0/16 → local'));
  const back = forwardPath(model, { eniId: 'eni-node', source: '10.0.16.10' }, '100.64.0.11');
  assert.equal(back.verdict, 'delivered');
  assert.ok(back.hops.some((h) => h.element === 'route-table' && h.action === 'route 100.64.0.0/16 → local'));
  assert.deepEqual(back.arrivedAt && 'eni' in back.arrivedAt ? back.arrivedAt.eni.eniId : back.arrivedAt, 'eni-pods');
});

test('an unheld address of the secondary block is dropped as no-route inside the VPC, not sent to the NAT gateway', () => {
  const r = forwardPath(model, { eniId: 'eni-node', source: '10.0.16.10' }, '100.64.200.1');
  assert.equal(r.verdict, 'dropped');
  assert.equal(r.reason, 'no-route');
  assert.match(r.detail ?? '', /no ENI in vpc-main holds 100\.64\.200\.1/);
});

test('a peering carries the peer VPC\'s secondary block once the peer routes it, and not before', () => {
  const toPods = forwardPath(model, { eniId: 'eni-peer', source: '10.1.0.10' }, '100.64.0.10');
  assert.equal(toPods.verdict, 'dropped', 'the peer table has no route to 100.64.0.0/16');
  const routed: VpcModel = {
    ...model,
    routeTables: model.routeTables.map((t) => (t.id === 'rtb-peer' ? { ...t, routes: [...t.routes, { destination: '100.64.0.0/16', target: { kind: 'pcx' as const, id: 'pcx-1' } }] } : t)),
  };
  const delivered = forwardPath(routed, { eniId: 'eni-peer', source: '10.1.0.10' }, '100.64.0.10');
  assert.equal(delivered.verdict, 'delivered');
  assert.deepEqual(delivered.arrivedAt && 'eni' in delivered.arrivedAt ? delivered.arrivedAt.eni.eniId : delivered.arrivedAt, 'eni-pods');
});

test('the topology loader refuses what AssociateVpcCidrBlock would, with field paths', () => {
  const load = (vpcs: unknown[], peerings: unknown[] = []) => {
    try {
      parseTopology({ vpcs, peerings });
      return '';
    } catch (err) {
      return (err as Error).message;
    }
  };
  assert.equal(load([{ name: 'main', cidr: '10.0.0.0/16', secondaryCidrs: ['100.64.0.0/16', '10.2.0.0/16'] }]), '');
  assert.match(load([{ name: 'main', cidr: '10.0.0.0/16', secondaryCidrs: ['192.168.0.0/16'] }]), /vpcs\[0\]\.secondaryCidrs\[0\]: 192\.168\.0\.0\/16 is a restricted range for VPC 'main' \(a VPC in 10\.0\.0\.0\/8 takes no block of another private range\)/);
  assert.match(load([{ name: 'cn', cidr: '100.64.0.0/16', secondaryCidrs: ['10.5.0.0/16'] }]), /vpcs\[0\]\.secondaryCidrs\[0\]: 10\.5\.0\.0\/16 is a restricted range/);
  assert.match(load([{ name: 'main', cidr: '10.0.0.0/16', secondaryCidrs: ['10.0.128.0/17'] }]), /vpcs\[0\]\.secondaryCidrs\[0\]: 10\.0\.128\.0\/17 overlaps 10\.0\.0\.0\/16/);
  assert.match(load([{ name: 'main', cidr: '10.0.0.0/16', secondaryCidrs: ['100.64.0.0/15'] }]), /vpcs\[0\]\.secondaryCidrs\[0\]: 100\.64\.0\.0\/15 is not \/16 to \/28/);
  const peered = load(
    [{ name: 'main', cidr: '10.0.0.0/16', secondaryCidrs: ['100.64.0.0/16'] }, { name: 'peer', cidr: '10.1.0.0/16', secondaryCidrs: ['100.64.0.0/20'] }],
    [{ name: 'p', requester: 'main', accepter: 'peer' }],
  );
  assert.match(peered, /vpcs\[0\]\.secondaryCidrs\[0\]: 100\.64\.0\.0\/16 overlaps 100\.64\.0\.0\/20 of the peered VPC 'peer'/);
  assert.match(peered, /vpcs\[1\]\.secondaryCidrs\[0\]: 100\.64\.0\.0\/20 overlaps 100\.64\.0\.0\/16 of the peered VPC 'main'/);
  // the same block in two VPCs that are not peered is fine, as on AWS
  assert.equal(load([{ name: 'a', cidr: '10.0.0.0/16', secondaryCidrs: ['100.64.0.0/16'] }, { name: 'b', cidr: '10.1.0.0/16', secondaryCidrs: ['100.64.0.0/16'] }]), '');
  assert.match(
    load([{ name: 'main', cidr: '10.0.0.0/16', secondaryCidrs: ['10.2.0.0/16', '10.3.0.0/16', '10.4.0.0/16', '10.5.0.0/16', '10.6.0.0/16'] }]),
    /vpcs\[0\]\.secondaryCidrs: 6 blocks with the primary; EC2 allows 5 per VPC/,
  );
});
