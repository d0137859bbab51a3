import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ec2Facts } from '../../../src/ec2/index.js';
import { parseScenario, planFabric, renderFabric, renderFixedFabric } from '../../../src/lab/index.js';

// Two VPCs joined by one transit gateway; a's table routes b's block to it, b's table a's.
const scenario = parseScenario({
  vpcs: [{ name: 'a', cidr: '10.40.0.0/16' }, { name: 'b', cidr: '10.41.0.0/16' }],
  subnets: [
    { name: 'a-1', vpc: 'a', az: 'us-west-2a', cidr: '10.40.1.0/24' },
    { name: 'b-1', vpc: 'b', az: 'us-west-2a', cidr: '10.41.1.0/24' },
  ],
  transitGateways: [{ name: 'hub', attachments: [{ vpc: 'a', subnets: ['a-1'] }, { vpc: 'b', subnets: ['b-1'] }] }],
  routeTables: [
    { name: 'a', vpc: 'a', subnets: ['a-1'], routes: [{ destination: '10.41.0.0/16', tgw: 'hub' }] },
    { name: 'b', vpc: 'b', subnets: ['b-1'], routes: [{ destination: '10.40.0.0/16', tgw: 'hub' }] },
  ],
  instances: [{ name: 'node-a', type: 't3.small', subnet: 'a-1' }],
  nodes: [{ instance: 'node-a' }],
});
const plan = planFabric(scenario);
const tgwTarget = { kind: 'tgw', id: 'tgw-1' } as const;
const facts: Ec2Facts = {
  vpcs: [{ id: 'vpc-a', name: 'a', cidr: '10.40.0.0/16' }, { id: 'vpc-b', name: 'b', cidr: '10.41.0.0/16' }],
  subnets: [
    { id: 'subnet-a', name: 'a-1', vpcId: 'vpc-a', cidr: '10.40.1.0/24', routeTableId: 'rtb-a' },
    { id: 'subnet-b', name: 'b-1', vpcId: 'vpc-b', cidr: '10.41.1.0/24', routeTableId: 'rtb-b' },
  ],
  routeTables: [
    { id: 'rtb-a', vpcId: 'vpc-a', routes: [{ destination: '10.40.0.0/16', target: { kind: 'local' } }, { destination: '10.41.0.0/16', target: tgwTarget }] },
    { id: 'rtb-b', vpcId: 'vpc-b', routes: [{ destination: '10.41.0.0/16', target: { kind: 'local' } }, { destination: '10.40.0.0/16', target: tgwTarget }] },
  ],
  internetGateways: [],
  natGateways: [],
  peerings: [],
  transitGateways: [{
    id: 'tgw-1',
    name: 'hub',
    attachments: [
      { id: 'tgw-attach-a', resourceType: 'vpc', vpcId: 'vpc-a', subnetIds: ['subnet-a'] },
      { id: 'tgw-attach-b', resourceType: 'vpc', vpcId: 'vpc-b', subnetIds: ['subnet-b'] },
    ],
    routes: [
      { destination: '10.40.0.0/16', attachmentId: 'tgw-attach-a', origin: 'propagated' },
      { destination: '10.41.0.0/16', attachmentId: 'tgw-attach-b', origin: 'propagated' },
      { destination: '10.41.9.0/24', attachmentId: 'tgw-attach-a', origin: 'propagated' },
      { destination: '10.41.9.0/24', attachmentId: 'tgw-attach-b', origin: 'static' },
      { destination: '10.99.0.0/16', attachmentId: null, origin: 'static' },
    ],
  }],
  instances: [],
  securityGroups: [],
};
const desired = renderFabric(plan, scenario, facts, []);
const [linkA, linkB] = plan.tgws[0]!.attachments;

test('a transit gateway is a namespace of its own with a veth pair to the router of each attached VPC', () => {
  assert.equal(plan.tgws[0]!.ns, 'pn-tgw-hub');
  assert.ok(plan.namespaces.includes('pn-tgw-hub'));
  const ends = plan.links.filter((l) => l.b.ns === 'pn-tgw-hub').map((l) => [l.a.ns, l.a.dev, l.b.dev]);
  assert.deepEqual(ends, [['pn-r-a', 'pn-t0', 'pn-a0'], ['pn-r-b', 'pn-t0', 'pn-a1']]);
  assert.equal(renderFixedFabric(plan).sysctls.get('pn-tgw-hub')!['net.ipv4.ip_forward'], '1');
});

test("the gateway's namespace routes by its route table: to each attachment's router, a static route before a propagated one, blackholes", () => {
  assert.deepEqual(desired.routes.get('pn-tgw-hub'), [
    `10.40.0.0/16 via ${linkA!.routerIp} dev pn-a0`,
    `10.41.0.0/16 via ${linkB!.routerIp} dev pn-a1`,
    `10.41.9.0/24 via ${linkB!.routerIp} dev pn-a1`,
    'blackhole 10.99.0.0/16',
  ]);
  assert.match(desired.nft.get('pn-tgw-hub')!, /fib daddr oif missing counter comment "no-route"/);
});

test("a VPC route → tgw goes to the gateway's end of the link; what comes back in is routed by the attachment subnet's table", () => {
  const routes = desired.routes.get('pn-r-a')!;
  const rules = desired.rules.get('pn-r-a')!;
  const table = /^pref 1000 iif pn-t0 lookup (\d+)$/.exec(rules.find((r) => r.includes('iif pn-t0'))!)![1];
  assert.ok(routes.includes(`10.41.0.0/16 via ${linkA!.tgwIp} dev pn-t0 table ${table}`), routes.join('\n'));
  assert.ok(desired.routes.get('pn-r-b')!.includes(`10.40.0.0/16 via ${linkB!.tgwIp} dev pn-t0 table ${table}`));
});

test('a gateway EC2 does not list yet gets no routes, and a VPC not attached no route to it', () => {
  const without = renderFabric(plan, scenario, { ...facts, transitGateways: [] }, []);
  assert.equal(without.routes.get('pn-tgw-hub'), undefined);
  assert.ok(!without.routes.get('pn-r-a')!.some((r) => r.includes('pn-t0')));
});
