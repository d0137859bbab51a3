import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';
import { CreateSubnetCommand, DescribeInstancesCommand, DescribeRouteTablesCommand, DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import { applyTopology, describeFacts } from '../../../src/ec2/index.js';
import { flowPath, loadTopology, parseTopology } from '../../../src/vpc/index.js';
import { emulatorForFile } from './sdk-harness.js';

const example = fileURLToPath(new URL('../../../examples/vpc.yaml', import.meta.url));
const h = emulatorForFile();

test('examples/vpc.yaml applies through the SDK; applying it again changes nothing', async () => {
  const topology = await loadTopology(example);
  const first = await applyTopology(topology, h.ec2);
  assert.ok(first.changes.every((c) => c.change === 'created'));
  assert.equal(first.changes.length, 2 + 3 + 1 + 1 + 1 + 3 + 1 + 2);
  const second = await applyTopology(topology, h.ec2);
  assert.deepEqual(second.changes.filter((c) => c.change !== 'unchanged'), []);
  assert.deepEqual(second.ids, first.ids);

  const subnets = (await h.ec2.send(new DescribeSubnetsCommand({}))).Subnets!;
  assert.equal(subnets.length, 3);
  assert.equal(subnets.find((s) => s.SubnetId === first.ids.subnets['public-a'])!.MapPublicIpOnLaunch, true);
  const tables = (await h.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [first.ids.routeTables.private!] }))).RouteTables!;
  assert.ok(tables[0]!.Routes!.some((r) => r.DestinationCidrBlock === '0.0.0.0/0' && r.NatGatewayId === first.ids.natGateways['nat-a']));
  const instances = (await h.ec2.send(new DescribeInstancesCommand({}))).Reservations!.flatMap((r) => r.Instances!);
  assert.equal(instances.length, 2);
});

test('describeFacts reads the applied VPC back as the model sees it, and the model follows a node to the internet', async () => {
  const { ids } = await applyTopology(await loadTopology(example), h.ec2);
  const facts = await describeFacts(h.ec2);
  assert.equal(facts.subnets.find((s) => s.id === ids.subnets['private-a'])!.routeTableId, ids.routeTables.private);
  const peerSubnet = facts.subnets.find((s) => s.id === ids.subnets['peer-a'])!;
  assert.equal(peerSubnet.routeTableId, ids.routeTables.peer);
  assert.deepEqual(facts.routeTables.find((t) => t.id === ids.routeTables.private)!.routes, [
    { destination: '10.0.0.0/16', target: { kind: 'local' } },
    { destination: '0.0.0.0/0', target: { kind: 'nat', id: ids.natGateways['nat-a'] } },
    { destination: '10.1.0.0/16', target: { kind: 'pcx', id: ids.peerings['main-peer'] } },
  ]);
  assert.deepEqual(facts.peerings, [{ id: ids.peerings['main-peer'], name: 'main-peer', requesterVpcId: ids.vpcs.main, accepterVpcId: ids.vpcs.peer }]);
  // a subnet without an association of its own uses its VPC's main route table
  const loose = (await h.ec2.send(new CreateSubnetCommand({ VpcId: ids.vpcs.peer, CidrBlock: '10.1.1.0/24' }))).Subnet!.SubnetId!;
  const main = (await h.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [ids.vpcs.peer!] }, { Name: 'association.main', Values: ['true'] }] }))).RouteTables![0]!;
  assert.equal((await describeFacts(h.ec2)).subnets.find((s) => s.id === loose)!.routeTableId, main.RouteTableId);
  const enis = h.server.state.mappingSnapshot();
  const node = enis.find((e) => e.instanceId === ids.instances['node-1'])!;
  const nat = facts.natGateways[0]!;
  const flow = flowPath({ ...facts, enis }, { eniId: node.eniId, source: node.privateIps[0]! }, '198.51.100.10');
  assert.equal(flow.verdict, 'delivered');
  assert.equal(flow.sourceSeen, nat.publicIp);
});

test('unknown top-level sections are ignored (the lab adds its own)', () => {
  const t = parseTopology({ vpcs: [{ name: 'a', cidr: '10.0.0.0/16' }], pods: [{ name: 'x' }] });
  assert.equal(t.vpcs.length, 1);
});

test('a bad field is reported with its path; a dangling reference names what is declared', () => {
  assert.throws(() => parseTopology({ subnets: [{ name: 's', vpc: 'a', az: 'us-west-2a', cidr: '10.0.0/24' }] }), /subnets\[0\]\.cidr/);
  assert.throws(
    () => parseTopology({ vpcs: [{ name: 'main', cidr: '10.0.0.0/16' }], subnets: [{ name: 's', vpc: 'mian', az: 'us-west-2a', cidr: '10.0.0.0/24' }] }),
    /subnets\[0\]\.vpc: no VPC named 'mian' \(declared: main\)/,
  );
  assert.throws(() => parseTopology({ routeTables: [{ name: 'r', vpc: 'v', routes: [{ destination: '0.0.0.0/0', igw: 'a', nat: 'b' }] }] }), /routeTables\[0\]\.routes\[0\]/);
});
