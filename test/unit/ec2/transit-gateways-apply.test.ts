/**
 * The topology applier's transit gateways, through the SDK against the emulator: attachments, propagation by
 * default or exactly the listed static routes, VPC routes to the gateway, idempotent re-apply; and describeFacts
 * reading it back so the model follows a connection across the gateway.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DescribeTransitGatewaysCommand, SearchTransitGatewayRoutesCommand } from '@aws-sdk/client-ec2';
import { applyTopology, describeFacts } from '../../../src/ec2/index.js';
import { flowPath, parseTopology, type VpcModel } from '../../../src/vpc/index.js';
import { emulatorForFile, launch } from './sdk-harness.js';

const h = emulatorForFile();

const document = (routes?: Array<{ destination: string; attachment: string }>) => ({
  vpcs: [{ name: 'a', cidr: '10.40.0.0/16' }, { name: 'b', cidr: '10.41.0.0/16' }],
  subnets: [
    { name: 'a-1', vpc: 'a', az: 'us-west-2a', cidr: '10.40.1.0/24' },
    { name: 'a-2', vpc: 'a', az: 'us-west-2b', cidr: '10.40.2.0/24' },
    { name: 'b-1', vpc: 'b', az: 'us-west-2a', cidr: '10.41.1.0/24' },
  ],
  transitGateways: [{ name: 'hub', attachments: [{ vpc: 'a', subnets: ['a-1', 'a-2'] }, { vpc: 'b', subnets: ['b-1'] }], ...(routes ? { routes } : {}) }],
  routeTables: [
    { name: 'a', vpc: 'a', subnets: ['a-1', 'a-2'], routes: [{ destination: '10.41.0.0/16', tgw: 'hub' }] },
    { name: 'b', vpc: 'b', subnets: ['b-1'], routes: [{ destination: '10.40.0.0/16', tgw: 'hub' }] },
  ],
});

async function tableRoutes(tableId: string): Promise<string[]> {
  const { Routes } = await h.ec2.send(new SearchTransitGatewayRoutesCommand({ TransitGatewayRouteTableId: tableId, Filters: [{ Name: 'state', Values: ['active', 'blackhole'] }] }));
  return Routes!.map((r) => `${r.DestinationCidrBlock} ${r.Type} ${r.TransitGatewayAttachments?.[0]?.ResourceId}`).sort();
}

test('a transit gateway applies with its attachments and propagated routes; again changes nothing; the model crosses it', async () => {
  const topology = parseTopology(document());
  const first = await applyTopology(topology, h.ec2);
  const tgwId = first.ids.transitGateways.hub!;
  assert.ok(first.changes.some((c) => c.kind === 'transitGateways' && c.change === 'created'));
  const second = await applyTopology(topology, h.ec2);
  assert.deepEqual(second.changes.filter((c) => c.change !== 'unchanged'), []);

  const facts = await describeFacts(h.ec2);
  const [tgw] = facts.transitGateways!;
  assert.equal(tgw!.id, tgwId);
  assert.equal(tgw!.name, 'hub');
  assert.deepEqual(tgw!.attachments.map((a) => (a.resourceType === 'vpc' ? [a.vpcId, a.subnetIds.length] : [a.resourceId, 0])), [[first.ids.vpcs.a, 2], [first.ids.vpcs.b, 1]]);
  assert.deepEqual(tgw!.routes.map((r) => `${r.destination} ${r.origin}`).sort(), ['10.40.0.0/16 propagated', '10.41.0.0/16 propagated']);
  assert.deepEqual(facts.routeTables.find((t) => t.id === first.ids.routeTables.a)!.routes.at(-1), { destination: '10.41.0.0/16', target: { kind: 'tgw', id: tgwId } });

  // two instances, one in each VPC: the model follows a connection from a to b and back through the gateway
  const x = await launch(h.ec2, first.ids.subnets['a-1']!, 't3.micro');
  const y = await launch(h.ec2, first.ids.subnets['b-1']!, 't3.micro');
  const enis = [x, y].map(({ instance }) => {
    const eni = instance.NetworkInterfaces![0]!;
    return { eniId: eni.NetworkInterfaceId!, vpcId: eni.VpcId!, subnetId: eni.SubnetId!, privateIps: [eni.PrivateIpAddress!], ipv4Prefixes: [], publicIps: {} };
  });
  const model: VpcModel = { ...facts, enis };
  const flow = flowPath(model, { eniId: enis[0]!.eniId, source: enis[0]!.privateIps[0]! }, enis[1]!.privateIps[0]!);
  assert.equal(flow.verdict, 'delivered', flow.detail);
  assert.deepEqual(flow.forward.hops.map((h) => h.element), ['eni', 'route-table', 'transit-gateway', 'route-table', 'eni']);
});

test('with routes listed the gateway holds exactly those static routes and nothing propagates; back to the default restores propagation', async () => {
  const applied = await applyTopology(parseTopology(document([{ destination: '10.41.1.0/24', attachment: 'b' }, { destination: '10.40.0.0/16', attachment: 'a' }])), h.ec2);
  const tableId = await tableOf(applied.ids.transitGateways.hub!);
  assert.deepEqual(await tableRoutes(tableId), [`10.40.0.0/16 static ${applied.ids.vpcs.a}`, `10.41.1.0/24 static ${applied.ids.vpcs.b}`]);
  assert.equal(applied.changes.find((c) => c.kind === 'transitGateways')!.change, 'updated');
  const again = await applyTopology(parseTopology(document([{ destination: '10.41.1.0/24', attachment: 'b' }, { destination: '10.40.0.0/16', attachment: 'a' }])), h.ec2);
  assert.equal(again.changes.find((c) => c.kind === 'transitGateways')!.change, 'unchanged');

  await applyTopology(parseTopology(document()), h.ec2);
  assert.deepEqual(await tableRoutes(tableId), [`10.40.0.0/16 propagated ${applied.ids.vpcs.a}`, `10.41.0.0/16 propagated ${applied.ids.vpcs.b}`]);
});

test('a route the file now points at the transit gateway is replaced (ReplaceRoute), not added twice', async () => {
  const withDefault = (target: { igw: string } | { tgw: string }) => {
    const d = document();
    return parseTopology({
      ...d,
      internetGateways: [{ name: 'a-igw', vpc: 'a' }],
      routeTables: d.routeTables.map((t) => (t.name === 'a' ? { ...t, routes: [...t.routes, { destination: '0.0.0.0/0', ...target }] } : t)),
    });
  };
  const first = await applyTopology(withDefault({ igw: 'a-igw' }), h.ec2);
  const second = await applyTopology(withDefault({ tgw: 'hub' }), h.ec2);
  assert.equal(second.changes.find((c) => c.kind === 'routeTables' && c.name === 'a')!.change, 'updated');
  const routes = (await describeFacts(h.ec2)).routeTables.find((t) => t.id === first.ids.routeTables.a)!.routes;
  assert.deepEqual(routes.filter((r) => r.destination === '0.0.0.0/0'), [{ destination: '0.0.0.0/0', target: { kind: 'tgw', id: first.ids.transitGateways.hub } }]);
  const third = await applyTopology(withDefault({ tgw: 'hub' }), h.ec2);
  assert.equal(third.changes.find((c) => c.kind === 'routeTables' && c.name === 'a')!.change, 'unchanged');
});

async function tableOf(tgwId: string): Promise<string> {
  return (await h.ec2.send(new DescribeTransitGatewaysCommand({ TransitGatewayIds: [tgwId] }))).TransitGateways![0]!.Options!.AssociationDefaultRouteTableId!;
}

test('the loader refuses an attachment with two subnets in one zone, or a subnet of another VPC, before anything is built', () => {
  const twoInOneZone = document();
  twoInOneZone.subnets.push({ name: 'a-3', vpc: 'a', az: 'us-west-2a', cidr: '10.40.3.0/24' });
  twoInOneZone.transitGateways[0]!.attachments[0]!.subnets.push('a-3');
  assert.throws(() => parseTopology(twoInOneZone), /transitGateways\[0\]\.attachments\[0\]\.subnets\[2\]: 'a-3' is in us-west-2a like 'a-1'/);
  const foreign = document();
  foreign.transitGateways[0]!.attachments[1]!.subnets = ['a-1'];
  assert.throws(() => parseTopology(foreign), /transitGateways\[0\]\.attachments\[1\]\.subnets\[0\]: 'a-1' is in VPC 'a', not 'b'/);
  const unknown = document();
  unknown.routeTables[0]!.routes[0] = { destination: '10.41.0.0/16', tgw: 'nub' };
  assert.throws(() => parseTopology(unknown), /routeTables\[0\]\.routes\[0\]\.tgw: no transit gateway named 'nub'/);
});
