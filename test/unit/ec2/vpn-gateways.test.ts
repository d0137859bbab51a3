/**
 * Virtual private gateways through the SDK: create (ipsec.1), attach and detach with the attachment's state,
 * DescribeVpnGateways and its filters, routes with GatewayId vgw-… (refused until attached, blackhole after a detach),
 * route propagation, customer gateways and VPN connections (on a VGW or a transit gateway, where the connection is an
 * attachment of type vpn), the refusals with EC2's codes, and the topology applier's virtualPrivateGateways, vgw routes
 * and onPremises over a transit gateway.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AttachVpnGatewayCommand,
  CreateCustomerGatewayCommand,
  CreateTransitGatewayCommand,
  CreateVpcCommand,
  DeleteVpcCommand,
  CreateVpnConnectionCommand,
  DeleteCustomerGatewayCommand,
  DeleteVpnConnectionCommand,
  DescribeNetworkInterfacesCommand,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeVpnConnectionsCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateVpnGatewayCommand,
  DeleteVpnGatewayCommand,
  DescribeRouteTablesCommand,
  DescribeVpnGatewaysCommand,
  DetachVpnGatewayCommand,
  DisableVgwRoutePropagationCommand,
  EnableVgwRoutePropagationCommand,
  type EC2Client,
  type RouteTable,
  type VpnGateway,
} from '@aws-sdk/client-ec2';
import { applyTopology, describeFacts } from '../../../src/ec2/index.js';
import { flowPath, parseTopology } from '../../../src/vpc/index.js';
import { createVpcWithSubnet, emulatorForFile, rejectsWith } from './sdk-harness.js';

const h = emulatorForFile();

async function newVgw(ec2: EC2Client, name = 'dc'): Promise<string> {
  const { VpnGateway } = await ec2.send(new CreateVpnGatewayCommand({ Type: 'ipsec.1', TagSpecifications: [{ ResourceType: 'vpn-gateway', Tags: [{ Key: 'Name', Value: name }] }] }));
  return VpnGateway!.VpnGatewayId!;
}

async function vgw(ec2: EC2Client, id: string): Promise<VpnGateway> {
  return (await ec2.send(new DescribeVpnGatewaysCommand({ VpnGatewayIds: [id] }))).VpnGateways![0]!;
}

async function table(ec2: EC2Client, id: string): Promise<RouteTable> {
  return (await ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [id] }))).RouteTables![0]!;
}

test('CreateVpnGateway makes an available ipsec.1 gateway with no attachment; only ipsec.1 and private ASNs are accepted', async () => {
  const id = await newVgw(h.ec2);
  assert.match(id, /^vgw-[0-9a-f]{17}$/);
  const g = await vgw(h.ec2, id);
  assert.equal(g.State, 'available');
  assert.equal(g.Type, 'ipsec.1');
  assert.equal(g.AmazonSideAsn, 64512);
  assert.deepEqual(g.VpcAttachments, []);
  assert.deepEqual(g.Tags, [{ Key: 'Name', Value: 'dc' }]);
  await rejectsWith(h.ec2.send(new CreateVpnGatewayCommand({ Type: 'ipsec.2' as never })), 'InvalidParameterValue', { message: 'ipsec.1' });
  await rejectsWith(h.ec2.send(new CreateVpnGatewayCommand({ Type: 'ipsec.1', AmazonSideAsn: 66000 })), 'InvalidParameterValue', { message: 'amazonSideAsn' });
  const custom = await h.ec2.send(new CreateVpnGatewayCommand({ Type: 'ipsec.1', AmazonSideAsn: 65001 }));
  assert.equal(custom.VpnGateway!.AmazonSideAsn, 65001);
});

test('AttachVpnGateway attaches one gateway to one VPC; DetachVpnGateway leaves a detached attachment', async () => {
  const { vpcId } = await createVpcWithSubnet(h.ec2, { ipv6: false });
  const { vpcId: otherVpc } = await createVpcWithSubnet(h.ec2, { ipv6: false, vpcCidr: '10.9.0.0/16', subnetCidr: '10.9.1.0/24' });
  const id = await newVgw(h.ec2);
  const attached = await h.ec2.send(new AttachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId }));
  assert.deepEqual(attached.VpcAttachment, { VpcId: vpcId, State: 'attached' });
  assert.deepEqual((await vgw(h.ec2, id)).VpcAttachments, [{ VpcId: vpcId, State: 'attached' }]);
  // attaching again to the same VPC changes nothing
  await h.ec2.send(new AttachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId }));
  await rejectsWith(h.ec2.send(new AttachVpnGatewayCommand({ VpnGatewayId: id, VpcId: otherVpc })), 'VpnGatewayAttachmentLimitExceeded');
  const second = await newVgw(h.ec2, 'second');
  await rejectsWith(h.ec2.send(new AttachVpnGatewayCommand({ VpnGatewayId: second, VpcId: vpcId })), 'InvalidVpcState', { message: id });

  const byVpc = await h.ec2.send(new DescribeVpnGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [vpcId] }, { Name: 'attachment.state', Values: ['attached'] }] }));
  assert.deepEqual(byVpc.VpnGateways!.map((g) => g.VpnGatewayId), [id]);

  await rejectsWith(h.ec2.send(new DetachVpnGatewayCommand({ VpnGatewayId: id, VpcId: otherVpc })), 'InvalidVpnGatewayAttachment.NotFound');
  await h.ec2.send(new DetachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId }));
  assert.deepEqual((await vgw(h.ec2, id)).VpcAttachments, [{ VpcId: vpcId, State: 'detached' }]);
  await rejectsWith(h.ec2.send(new DetachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId })), 'InvalidVpnGatewayAttachment.NotFound');
  // once detached, the VPC takes another gateway, and the first may go elsewhere
  await h.ec2.send(new AttachVpnGatewayCommand({ VpnGatewayId: second, VpcId: vpcId }));
  await h.ec2.send(new AttachVpnGatewayCommand({ VpnGatewayId: id, VpcId: otherVpc }));
  assert.deepEqual((await vgw(h.ec2, id)).VpcAttachments, [{ VpcId: otherVpc, State: 'attached' }]);
});

test('DeleteVpc is refused while a VGW is attached (DependencyViolation); a detached VGW outlives the VPC', async () => {
  const { Vpc } = await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.80.0.0/16' }));
  const vpcId = Vpc!.VpcId!;
  const id = await newVgw(h.ec2, 'outlives');
  await h.ec2.send(new AttachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId }));
  await rejectsWith(h.ec2.send(new DeleteVpcCommand({ VpcId: vpcId })), 'DependencyViolation');
  await h.ec2.send(new DetachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId }));
  await h.ec2.send(new DeleteVpcCommand({ VpcId: vpcId }));
  assert.deepEqual((await vgw(h.ec2, id)).VpcAttachments, [{ VpcId: vpcId, State: 'detached' }]);
});

test('DeleteVpnGateway is refused while attached (IncorrectState) and removes a detached gateway', async () => {
  const { vpcId } = await createVpcWithSubnet(h.ec2, { ipv6: false, vpcCidr: '10.20.0.0/16', subnetCidr: '10.20.1.0/24' });
  const id = await newVgw(h.ec2);
  await h.ec2.send(new AttachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId }));
  await rejectsWith(h.ec2.send(new DeleteVpnGatewayCommand({ VpnGatewayId: id })), 'IncorrectState', { message: vpcId });
  await h.ec2.send(new DetachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId }));
  await h.ec2.send(new DeleteVpnGatewayCommand({ VpnGatewayId: id }));
  await rejectsWith(h.ec2.send(new DescribeVpnGatewaysCommand({ VpnGatewayIds: [id] })), 'InvalidVpnGatewayID.NotFound', { message: id });
  await rejectsWith(h.ec2.send(new DeleteVpnGatewayCommand({ VpnGatewayId: id })), 'InvalidVpnGatewayID.NotFound');
  await rejectsWith(h.ec2.send(new AttachVpnGatewayCommand({ VpnGatewayId: 'vgw-nope', VpcId: vpcId })), 'InvalidVpnGatewayID.Malformed');
});

test('a route to vgw-… needs the gateway attached to the table\'s VPC, and turns blackhole when it is detached', async () => {
  const { vpcId } = await createVpcWithSubnet(h.ec2, { ipv6: false, vpcCidr: '10.30.0.0/16', subnetCidr: '10.30.1.0/24' });
  const { RouteTable } = await h.ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }));
  const rtb = RouteTable!.RouteTableId!;
  const id = await newVgw(h.ec2);
  const route = { RouteTableId: rtb, DestinationCidrBlock: '192.168.0.0/16', GatewayId: id };
  await rejectsWith(h.ec2.send(new CreateRouteCommand(route)), 'InvalidGatewayID.NotFound', { message: id });
  await h.ec2.send(new AttachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId }));
  await h.ec2.send(new CreateRouteCommand(route));
  const toVgw = () => table(h.ec2, rtb).then((t) => t.Routes!.find((r) => r.DestinationCidrBlock === '192.168.0.0/16')!);
  assert.deepEqual(await toVgw().then((r) => [r.GatewayId, r.State, r.Origin]), [id, 'active', 'CreateRoute']);
  const filtered = await h.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route.gateway-id', Values: [id] }] }));
  assert.deepEqual(filtered.RouteTables!.map((t) => t.RouteTableId), [rtb]);
  await h.ec2.send(new DetachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId }));
  assert.equal((await toVgw()).State, 'blackhole');
});

test('EnableVgwRoutePropagation lists the gateway on the table; Gateway.NotAttached for a gateway of another VPC', async () => {
  const { vpcId } = await createVpcWithSubnet(h.ec2, { ipv6: false, vpcCidr: '10.40.0.0/16', subnetCidr: '10.40.1.0/24' });
  const { RouteTable } = await h.ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }));
  const rtb = RouteTable!.RouteTableId!;
  const id = await newVgw(h.ec2);
  await rejectsWith(h.ec2.send(new EnableVgwRoutePropagationCommand({ RouteTableId: rtb, GatewayId: id })), 'Gateway.NotAttached');
  await h.ec2.send(new AttachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId }));
  await h.ec2.send(new EnableVgwRoutePropagationCommand({ RouteTableId: rtb, GatewayId: id }));
  await h.ec2.send(new EnableVgwRoutePropagationCommand({ RouteTableId: rtb, GatewayId: id }));
  assert.deepEqual((await table(h.ec2, rtb)).PropagatingVgws, [{ GatewayId: id }]);
  await h.ec2.send(new DisableVgwRoutePropagationCommand({ RouteTableId: rtb, GatewayId: id }));
  assert.deepEqual((await table(h.ec2, rtb)).PropagatingVgws, []);
  // a detach ends the propagation too
  await h.ec2.send(new EnableVgwRoutePropagationCommand({ RouteTableId: rtb, GatewayId: id }));
  await h.ec2.send(new DetachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId }));
  assert.deepEqual((await table(h.ec2, rtb)).PropagatingVgws, []);
});

test('applyTopology creates and attaches a virtual private gateway and its vgw routes; applying again changes nothing', async () => {
  const topology = parseTopology({
    vpcs: [{ name: 'onprem-vpc', cidr: '10.50.0.0/16' }],
    subnets: [{ name: 'onprem-a', vpc: 'onprem-vpc', az: 'us-west-2a', cidr: '10.50.1.0/24' }],
    virtualPrivateGateways: [{ name: 'onprem-vgw', vpc: 'onprem-vpc' }],
    onPremises: [{ name: 'dc', cidr: '192.168.0.0/16', via: { vgw: 'onprem-vgw' } }],
    routeTables: [{ name: 'onprem-rt', vpc: 'onprem-vpc', subnets: ['onprem-a'], routes: [{ destination: '192.168.0.0/16', vgw: 'onprem-vgw' }] }],
  });
  const first = await applyTopology(topology, h.ec2);
  const vgwId = first.ids.virtualPrivateGateways['onprem-vgw']!;
  assert.deepEqual(first.changes.filter((c) => c.kind === 'virtualPrivateGateways').map((c) => c.change), ['created']);
  assert.deepEqual((await vgw(h.ec2, vgwId)).VpcAttachments, [{ VpcId: first.ids.vpcs['onprem-vpc'], State: 'attached' }]);
  const second = await applyTopology(topology, h.ec2);
  assert.deepEqual(second.changes.filter((c) => c.change !== 'unchanged'), []);
  const facts = await describeFacts(h.ec2);
  assert.deepEqual(facts.vpnGateways?.find((g) => g.id === vgwId), { id: vgwId, name: 'onprem-vgw', vpcId: first.ids.vpcs['onprem-vpc'] });
  const rtb = facts.routeTables.find((t) => t.id === first.ids.routeTables['onprem-rt'])!;
  assert.deepEqual(rtb.routes.find((r) => r.destination === '192.168.0.0/16')?.target, { kind: 'vgw', id: vgwId });
  // detached behind the applier's back: the next application attaches it again
  await h.ec2.send(new DetachVpnGatewayCommand({ VpnGatewayId: vgwId, VpcId: first.ids.vpcs['onprem-vpc'] }));
  const third = await applyTopology(topology, h.ec2);
  assert.deepEqual(third.changes.filter((c) => c.change !== 'unchanged').map((c) => `${c.kind} ${c.change}`), ['virtualPrivateGateways updated']);
});

test('VPN connections end on a VGW or a transit gateway (an attachment of type vpn); customer gateways in use are kept', async () => {
  const { CustomerGateway } = await h.ec2.send(new CreateCustomerGatewayCommand({ Type: 'ipsec.1', BgpAsn: 65000, IpAddress: '192.0.2.10' }));
  const cgw = CustomerGateway!.CustomerGatewayId!;
  assert.deepEqual([CustomerGateway!.State, CustomerGateway!.IpAddress, CustomerGateway!.BgpAsn], ['available', '192.0.2.10', '65000']);
  const vgwId = await newVgw(h.ec2, 'vpn-end');
  const { TransitGateway } = await h.ec2.send(new CreateTransitGatewayCommand({}));
  const tgwId = TransitGateway!.TransitGatewayId!;
  await rejectsWith(h.ec2.send(new CreateVpnConnectionCommand({ Type: 'ipsec.1', CustomerGatewayId: cgw })), 'MissingParameter');
  await rejectsWith(h.ec2.send(new CreateVpnConnectionCommand({ Type: 'ipsec.1', CustomerGatewayId: cgw, VpnGatewayId: vgwId, TransitGatewayId: tgwId })), 'InvalidParameterCombination');
  await rejectsWith(h.ec2.send(new CreateVpnConnectionCommand({ Type: 'ipsec.1', CustomerGatewayId: 'cgw-0123456789abcdef0', VpnGatewayId: vgwId })), 'InvalidCustomerGatewayID.NotFound');
  const toVgw = (await h.ec2.send(new CreateVpnConnectionCommand({ Type: 'ipsec.1', CustomerGatewayId: cgw, VpnGatewayId: vgwId }))).VpnConnection!;
  assert.deepEqual([toVgw.VpnGatewayId, toVgw.TransitGatewayId, toVgw.State], [vgwId, undefined, 'available']);
  await rejectsWith(h.ec2.send(new DeleteVpnGatewayCommand({ VpnGatewayId: vgwId })), 'IncorrectState', { message: toVgw.VpnConnectionId! });
  const toTgw = (await h.ec2.send(new CreateVpnConnectionCommand({ Type: 'ipsec.1', CustomerGatewayId: cgw, TransitGatewayId: tgwId, Options: { StaticRoutesOnly: true } }))).VpnConnection!;
  assert.equal(toTgw.Options?.StaticRoutesOnly, true);
  const attachment = async () => (await h.ec2.send(new DescribeTransitGatewayAttachmentsCommand({ Filters: [{ Name: 'resource-id', Values: [toTgw.VpnConnectionId!] }] }))).TransitGatewayAttachments ?? [];
  assert.deepEqual((await attachment()).map((a) => [a.ResourceType, a.TransitGatewayId, a.State]), [['vpn', tgwId, 'available']]);
  const byTgw = await h.ec2.send(new DescribeVpnConnectionsCommand({ Filters: [{ Name: 'transit-gateway-id', Values: [tgwId] }] }));
  assert.deepEqual(byTgw.VpnConnections!.map((v) => v.VpnConnectionId), [toTgw.VpnConnectionId]);
  await rejectsWith(h.ec2.send(new DeleteCustomerGatewayCommand({ CustomerGatewayId: cgw })), 'IncorrectState');
  await h.ec2.send(new DeleteVpnConnectionCommand({ VpnConnectionId: toTgw.VpnConnectionId }));
  await h.ec2.send(new DeleteVpnConnectionCommand({ VpnConnectionId: toVgw.VpnConnectionId }));
  assert.deepEqual(await attachment(), []);
  await rejectsWith(h.ec2.send(new DescribeVpnConnectionsCommand({ VpnConnectionIds: [toTgw.VpnConnectionId!] })), 'InvalidVpnConnectionID.NotFound');
  await h.ec2.send(new DeleteCustomerGatewayCommand({ CustomerGatewayId: cgw }));
});

test('applyTopology puts an on-premises network behind a transit gateway: VPN attachment and static route; the model follows it', async () => {
  const topology = parseTopology({
    vpcs: [{ name: 'hub-vpc', cidr: '10.60.0.0/16' }],
    subnets: [{ name: 'hub-a', vpc: 'hub-vpc', az: 'us-west-2a', cidr: '10.60.1.0/24' }],
    transitGateways: [{ name: 'hub', attachments: [{ vpc: 'hub-vpc', subnets: ['hub-a'] }] }],
    onPremises: [{ name: 'branch', cidr: '172.20.0.0/16', via: { tgw: 'hub' } }],
    routeTables: [{ name: 'hub-rt', vpc: 'hub-vpc', subnets: ['hub-a'], routes: [{ destination: '172.20.0.0/16', tgw: 'hub' }] }],
    instances: [{ name: 'hub-host', type: 't3.micro', subnet: 'hub-a' }],
  });
  const first = await applyTopology(topology, h.ec2);
  assert.deepEqual(first.changes.filter((c) => c.kind === 'onPremises').map((c) => c.change), ['created']);
  const second = await applyTopology(topology, h.ec2);
  assert.deepEqual(second.changes.filter((c) => c.change !== 'unchanged'), []);
  const facts = await describeFacts(h.ec2);
  const hub = facts.transitGateways!.find((g) => g.name === 'hub')!;
  const vpn = hub.attachments.find((a) => a.resourceType === 'vpn')!;
  assert.deepEqual(hub.routes.find((r) => r.destination === '172.20.0.0/16'), { destination: '172.20.0.0/16', attachmentId: vpn.id, origin: 'static' });
  // the model, with the network the lab would supply: the branch reaches the host and is answered
  const hostEni = (await h.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'subnet-id', Values: [first.ids.subnets['hub-a']!] }] }))).NetworkInterfaces![0]!;
  const model = {
    ...facts,
    onPremises: [{ name: 'branch', cidr: '172.20.0.0/16', via: { tgwId: hub.id } }],
    enis: [{ eniId: hostEni.NetworkInterfaceId!, vpcId: hostEni.VpcId!, subnetId: hostEni.SubnetId!, privateIps: [hostEni.PrivateIpAddress!], ipv4Prefixes: [], publicIps: {} }],
  };
  const flow = flowPath(model, { onPremises: '172.20.0.5' }, hostEni.PrivateIpAddress!);
  assert.equal(flow.verdict, 'delivered', flow.detail);
  assert.deepEqual(flow.forward.hops.map((h) => h.element), ['on-premises', 'transit-gateway', 'route-table', 'eni']);
});
