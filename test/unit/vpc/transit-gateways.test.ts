import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flowPath, lookupTransitGatewayRoute, type NetworkInterface, type TransitGateway, type VpcModel } from '../../../src/vpc/index.js';
import { defaultVpcFacts } from './default-vpc.js';

// The default lab VPCs plus a third VPC, `transit` (10.2.0.0/16), attached with main to one transit gateway.
const eni = (over: Partial<NetworkInterface> & Pick<NetworkInterface, 'eniId' | 'privateIps'>): NetworkInterface => ({
  vpcId: 'vpc-main', subnetId: 'subnet-priv', ipv4Prefixes: [], publicIps: {}, ...over,
});
const tgw: TransitGateway = {
  id: 'tgw-1',
  name: 'hub',
  attachments: [
    { id: 'tgw-attach-main', resourceType: 'vpc', vpcId: 'vpc-main', subnetIds: ['subnet-priv'] },
    { id: 'tgw-attach-transit', resourceType: 'vpc', vpcId: 'vpc-transit', subnetIds: ['subnet-transit'] },
  ],
  routes: [
    { destination: '10.0.0.0/16', attachmentId: 'tgw-attach-main', origin: 'propagated' },
    { destination: '10.2.0.0/16', attachmentId: 'tgw-attach-transit', origin: 'propagated' },
  ],
};
const toTgw = (destination: string) => ({ destination, target: { kind: 'tgw', id: 'tgw-1' } as const });
const model = (over: { tgw?: TransitGateway; mainRoutes?: boolean } = {}): VpcModel => ({
  ...defaultVpcFacts,
  vpcs: [...defaultVpcFacts.vpcs, { id: 'vpc-transit', name: 'transit', cidr: '10.2.0.0/16' }],
  subnets: [...defaultVpcFacts.subnets, { id: 'subnet-transit', name: 'transit-a', vpcId: 'vpc-transit', cidr: '10.2.0.0/24', routeTableId: 'rtb-transit' }],
  routeTables: [
    ...defaultVpcFacts.routeTables.map((t) => (t.id === 'rtb-private' && over.mainRoutes !== false ? { ...t, routes: [...t.routes, toTgw('10.2.0.0/16')] } : t)),
    { id: 'rtb-transit', vpcId: 'vpc-transit', routes: [{ destination: '10.2.0.0/16', target: { kind: 'local' } }, toTgw('10.0.0.0/16')] },
  ],
  transitGateways: [over.tgw ?? tgw],
  enis: [
    eni({ eniId: 'eni-priv0', privateIps: ['10.0.16.10', '10.0.16.11'] }),
    eni({ eniId: 'eni-priv1', privateIps: ['10.0.16.20', '10.0.16.21'] }),
    eni({ eniId: 'eni-transit', vpcId: 'vpc-transit', subnetId: 'subnet-transit', privateIps: ['10.2.0.10'] }),
    eni({ eniId: 'eni-nat', subnetId: 'subnet-pub', privateIps: ['10.0.0.4'] }),
  ],
});
const fromTransitHost = { eniId: 'eni-transit', source: '10.2.0.10' };

test('the route table lookup takes the longest prefix over propagated and static routes; static wins a tie', () => {
  const routes: TransitGateway['routes'] = [
    { destination: '10.0.0.0/16', attachmentId: 'tgw-attach-main', origin: 'propagated' },
    { destination: '10.0.16.0/20', attachmentId: 'tgw-attach-transit', origin: 'static' },
    { destination: '10.2.0.0/16', attachmentId: 'tgw-attach-transit', origin: 'propagated' },
    { destination: '10.2.0.0/16', attachmentId: 'tgw-attach-main', origin: 'static' },
    { destination: '10.9.0.0/16', attachmentId: null, origin: 'static' },
  ];
  const via = (address: string) => {
    const found = lookupTransitGatewayRoute({ ...tgw, routes }, address);
    return found && [found.route.destination, found.attachment?.id ?? 'blackhole'];
  };
  assert.deepEqual(via('10.0.16.5'), ['10.0.16.0/20', 'tgw-attach-transit']);
  assert.deepEqual(via('10.0.1.5'), ['10.0.0.0/16', 'tgw-attach-main']);
  assert.deepEqual(via('10.2.0.10'), ['10.2.0.0/16', 'tgw-attach-main'], 'a static route beats a propagated one of the same prefix');
  assert.deepEqual(via('10.9.1.1'), ['10.9.0.0/16', 'blackhole']);
  assert.equal(via('192.168.1.1'), undefined);
});

test('a host in a TGW-attached VPC reaches a pod behind a secondary ENI, through both routers and the gateway, and back', () => {
  const flow = flowPath(model(), fromTransitHost, '10.0.16.21');
  assert.equal(flow.verdict, 'delivered');
  assert.equal(flow.sourceSeen, '10.2.0.10', 'a transit gateway translates nothing');
  assert.deepEqual(flow.forward.hops.map((h) => `${h.element} ${h.id}`), ['eni eni-transit', 'route-table rtb-transit', 'transit-gateway tgw-1', 'route-table rtb-private', 'eni eni-priv1']);
  assert.equal(flow.forward.hops[2]!.action, 'route 10.0.0.0/16 → tgw-attach-main (vpc-main)');
  assert.deepEqual(flow.reply?.hops.map((h) => `${h.element} ${h.id}`), ['eni eni-priv1', 'route-table rtb-private', 'transit-gateway tgw-1', 'route-table rtb-transit', 'eni eni-transit']);
});

test('with pre-1.8.0 routing the reply leaves the primary ENI and the source/destination check drops it', () => {
  const flow = flowPath(model(), fromTransitHost, '10.0.16.21', { replyFromEniId: 'eni-priv0' });
  assert.equal(flow.verdict, 'dropped');
  assert.equal(flow.reason, 'source-destination-check');
  assert.equal(flow.forward.verdict, 'delivered');
});

test('a transit gateway without a route, or with a blackhole route, drops the packet at the transit-gateway hop', () => {
  const noRoute = flowPath(model({ tgw: { ...tgw, routes: tgw.routes.filter((r) => r.destination !== '10.0.0.0/16') } }), fromTransitHost, '10.0.16.21');
  assert.equal(noRoute.verdict, 'dropped');
  assert.equal(noRoute.reason, 'no-route');
  assert.deepEqual(noRoute.forward.hops.at(-1), { element: 'transit-gateway', id: 'tgw-1', action: 'no route to 10.0.16.21', source: '10.2.0.10', destination: '10.0.16.21' });
  const blackhole = flowPath(model({ tgw: { ...tgw, routes: [...tgw.routes, { destination: '10.0.16.0/20', attachmentId: null, origin: 'static' }] } }), fromTransitHost, '10.0.16.21');
  assert.equal(blackhole.reason, 'no-route');
  assert.match(blackhole.detail!, /blackhole/);
});

test('the VPC routes the reply by its own table: without a route back to the gateway the reply is dropped', () => {
  const flow = flowPath(model({ mainRoutes: false }), fromTransitHost, '10.0.16.21');
  assert.equal(flow.forward.verdict, 'delivered', 'the gateway delivers into the VPC whatever its route tables say');
  assert.equal(flow.verdict, 'dropped');
  assert.equal(flow.reason, 'no-route');
  // the private table's 0.0.0.0/0 takes the reply to the NAT gateway and the internet, which has no route to 10.2.0.10
  assert.deepEqual(flow.reply?.hops.map((h) => h.element), ['eni', 'route-table', 'nat-gateway', 'eni', 'route-table', 'internet-gateway', 'internet']);
});

test('a route to a transit gateway the VPC is not attached to is not followed', () => {
  const detached: TransitGateway = { ...tgw, attachments: tgw.attachments.filter((a) => a.resourceType !== 'vpc' || a.vpcId !== 'vpc-transit') };
  const flow = flowPath(model({ tgw: detached }), fromTransitHost, '10.0.16.21');
  assert.equal(flow.verdict, 'unknown');
  assert.match(flow.detail!, /tgw-1 has no attachment in vpc-transit/);
});
