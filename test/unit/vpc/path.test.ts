import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flowPath, forwardPath, lookupRoute, publicAddresses, sourceCheck, type NetworkInterface, type VpcModel } from '../../../src/vpc/index.js';
import { defaultVpcFacts } from './default-vpc.js';

// The default lab scenario's VPCs with a few ENIs in them.
const eni = (over: Partial<NetworkInterface> & Pick<NetworkInterface, 'eniId' | 'privateIps'>): NetworkInterface => ({
  vpcId: 'vpc-main', subnetId: 'subnet-priv', ipv4Prefixes: [], publicIps: {}, ...over,
});
const base: VpcModel = {
  ...defaultVpcFacts,
  enis: [
    eni({ eniId: 'eni-pub0', subnetId: 'subnet-pub', privateIps: ['10.0.0.5', '10.0.0.7'], publicIps: { '10.0.0.5': '203.0.113.5' } }),
    eni({ eniId: 'eni-noip0', subnetId: 'subnet-pub', privateIps: ['10.0.0.6'] }),
    eni({ eniId: 'eni-priv0', privateIps: ['10.0.16.10', '10.0.16.11'] }),
    eni({ eniId: 'eni-priv1', privateIps: ['10.0.16.20', '10.0.16.21'], ipv4Prefixes: ['10.0.16.48/28'] }),
    eni({ eniId: 'eni-nat', subnetId: 'subnet-pub', privateIps: ['10.0.0.4'] }),
    eni({ eniId: 'eni-peer', vpcId: 'vpc-peer', subnetId: 'subnet-peer', privateIps: ['10.1.0.10'] }),
  ],
};
const inet = '198.51.100.10';

test('route lookup takes the longest matching prefix, with the local route always there', () => {
  const table = { routes: [{ destination: '0.0.0.0/0', target: { kind: 'igw', id: 'igw-1' } }, { destination: '10.1.0.0/16', target: { kind: 'pcx', id: 'pcx-1' } }, { destination: '10.1.2.0/24', target: { kind: 'nat', id: 'nat-1' } }, { destination: '2600:1f14::/56', target: { kind: 'igw', id: 'igw-1' } }] } as const;
  const via = (address: string) => lookupRoute({ routes: [...table.routes] }, address, '10.0.0.0/16')?.target;
  assert.deepEqual(via('10.1.2.3'), { kind: 'nat', id: 'nat-1' });
  assert.deepEqual(via('10.1.9.9'), { kind: 'pcx', id: 'pcx-1' });
  assert.deepEqual(via('8.8.8.8'), { kind: 'igw', id: 'igw-1' });
  assert.deepEqual(via('10.0.3.3'), { kind: 'local' }, 'the local route is implicit and more specific than 0.0.0.0/0');
  assert.equal(lookupRoute({ routes: [] }, '8.8.8.8', '10.0.0.0/16'), undefined);
});

test('a public node with a public IP reaches the internet as its public IP, and the reply comes back', () => {
  const flow = flowPath(base, { eniId: 'eni-pub0', source: '10.0.0.5' }, inet);
  assert.equal(flow.verdict, 'delivered');
  assert.equal(flow.sourceSeen, '203.0.113.5');
  assert.deepEqual(flow.forward.hops.map((h) => h.element), ['eni', 'route-table', 'internet-gateway', 'internet']);
  assert.equal(flow.reply?.verdict, 'delivered');
});

test('an address without a public IP is dropped at the internet gateway', () => {
  const flow = flowPath(base, { eniId: 'eni-noip0', source: '10.0.0.6' }, inet);
  assert.equal(flow.verdict, 'dropped');
  assert.equal(flow.reason, 'no-public-ip');
  assert.equal(flow.forward.hops.at(-1)?.element, 'internet-gateway');
  // a secondary address of an ENI whose primary has one has none of its own
  assert.equal(forwardPath(base, { eniId: 'eni-pub0', source: '10.0.0.7' }, inet).reason, 'no-public-ip');
});

test('a private subnet reaches the internet through the NAT gateway, seen as its Elastic IP; the reply is translated back', () => {
  const flow = flowPath(base, { eniId: 'eni-priv0', source: '10.0.16.10' }, inet);
  assert.equal(flow.verdict, 'delivered');
  assert.equal(flow.sourceSeen, '203.0.113.4');
  assert.deepEqual(flow.forward.hops.map((h) => `${h.element} ${h.id}`), ['eni eni-priv0', 'route-table rtb-private', 'nat-gateway nat-1', 'eni eni-nat', 'route-table rtb-public', 'internet-gateway igw-1', 'internet internet']);
  assert.equal(flow.reply?.arrivedAt && 'eni' in flow.reply.arrivedAt ? flow.reply.arrivedAt.eni.eniId : null, 'eni-priv0');
  assert.equal(flow.reply?.destinationSeen, '10.0.16.10');
});

test('the source/destination check: an ENI sends only its own addresses (prefixes included); the NAT gateway is exempt', () => {
  const wrong = forwardPath(base, { eniId: 'eni-priv0', source: '10.0.16.20' }, '10.1.0.10');
  assert.equal(wrong.verdict, 'dropped');
  assert.equal(wrong.reason, 'source-destination-check');
  assert.equal(forwardPath(base, { eniId: 'eni-priv1', source: '10.0.16.50' }, '10.1.0.10').verdict, 'delivered', 'an address in a delegated /28');
  const nat = base.enis.find((e) => e.eniId === 'eni-nat')!;
  assert.deepEqual(sourceCheck(base, nat), { checked: false });
  assert.deepEqual(sourceCheck(base, base.enis[3]!), { checked: true, allowed: ['10.0.16.20/32', '10.0.16.21/32', '10.0.16.48/28'] });
});

test('peer → pod behind a secondary ENI: delivered when the reply leaves that ENI, dropped by the check when it leaves eth0', () => {
  const works = flowPath(base, { eniId: 'eni-peer', source: '10.1.0.10' }, '10.0.16.21');
  assert.equal(works.verdict, 'delivered');
  assert.equal(works.sourceSeen, '10.1.0.10');
  assert.equal(works.forward.arrivedAt && 'eni' in works.forward.arrivedAt ? works.forward.arrivedAt.eni.eniId : null, 'eni-priv1');
  const old = flowPath(base, { eniId: 'eni-peer', source: '10.1.0.10' }, '10.0.16.21', { replyFromEniId: 'eni-priv0' });
  assert.equal(old.verdict, 'dropped');
  assert.equal(old.reason, 'source-destination-check');
  assert.equal(old.sourceSeen, '10.1.0.10', 'the packet itself arrived');
});

test('peering without a route back: the packet arrives, the reply has no route', () => {
  const oneWay: VpcModel = { ...base, routeTables: base.routeTables.map((t) => (t.id === 'rtb-peer' ? { ...t, routes: [] } : t)) };
  const flow = flowPath(oneWay, { eniId: 'eni-priv0', source: '10.0.16.10' }, '10.1.0.10');
  assert.equal(flow.forward.verdict, 'delivered');
  assert.equal(flow.verdict, 'dropped');
  assert.equal(flow.reason, 'no-route');
  assert.match(flow.detail!, /reply: route table rtb-peer has no route to 10\.0\.16\.10/);
});

test('peering is not transitive, and a VPC address no ENI holds is not delivered', () => {
  const transit = forwardPath({ ...base, routeTables: base.routeTables.map((t) => (t.id === 'rtb-peer' ? { ...t, routes: [...t.routes, { destination: '0.0.0.0/0', target: { kind: 'pcx' as const, id: 'pcx-1' } }] } : t)) }, { eniId: 'eni-peer', source: '10.1.0.10' }, inet);
  assert.equal(transit.reason, 'no-route');
  assert.equal(transit.hops.at(-1)?.element, 'peering');
  const unheld = forwardPath(base, { eniId: 'eni-pub0', source: '10.0.0.5' }, '10.0.16.99');
  assert.equal(unheld.reason, 'no-route');
});

test('the internet reaches a public IP through the internet gateway, and not a private address', () => {
  const inbound = flowPath(base, { internet: inet }, '203.0.113.5');
  assert.equal(inbound.verdict, 'delivered');
  assert.equal(inbound.forward.destinationSeen, '10.0.0.5');
  assert.equal(inbound.reply?.sourceSeen, '203.0.113.5', 'the reply carries the public IP again');
  assert.equal(forwardPath(base, { internet: inet }, '10.0.0.5').reason, 'no-route');
  assert.deepEqual(publicAddresses(base, 'vpc-main'), [['10.0.0.4', '203.0.113.4'], ['10.0.0.5', '203.0.113.5']]);
});

test('a route target the model does not follow gives unknown, not a guess', () => {
  const model: VpcModel = { ...base, routeTables: base.routeTables.map((t) => (t.id === 'rtb-public' ? { ...t, routes: [{ destination: '0.0.0.0/0', target: { kind: 'other' as const, id: 'eni-appliance' } }] } : t)) };
  const result = forwardPath(model, { eniId: 'eni-pub0', source: '10.0.0.5' }, inet);
  assert.equal(result.verdict, 'unknown');
  assert.match(result.detail!, /not modelled/);
});
