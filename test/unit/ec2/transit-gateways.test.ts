/**
 * Transit-gateway actions through the SDK: the gateway and its default route table, VPC attachments (one subnet per
 * zone), propagated and static routes as SearchTransitGatewayRoutes lists them, VPC routes to a gateway, and EC2's
 * error codes for each refusal.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateTransitGatewayCommand,
  CreateTransitGatewayRouteCommand,
  CreateTransitGatewayVpcAttachmentCommand,
  DeleteSubnetCommand,
  DeleteTransitGatewayCommand,
  DeleteTransitGatewayRouteCommand,
  DeleteTransitGatewayVpcAttachmentCommand,
  DescribeRouteTablesCommand,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeTransitGatewayRouteTablesCommand,
  DescribeTransitGatewaysCommand,
  DescribeTransitGatewayVpcAttachmentsCommand,
  ReplaceRouteCommand,
  SearchTransitGatewayRoutesCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { createVpcWithSubnet, emulatorForFile, rejectsWith } from './sdk-harness.js';

const h = emulatorForFile();

async function routes(ec2: EC2Client, tableId: string, filters: Record<string, string[]> = { state: ['active', 'blackhole'] }): Promise<string[]> {
  const Filters = Object.entries(filters).map(([Name, Values]) => ({ Name, Values }));
  const { Routes } = await ec2.send(new SearchTransitGatewayRoutesCommand({ TransitGatewayRouteTableId: tableId, Filters }));
  return Routes!.map((r) => `${r.DestinationCidrBlock} ${r.Type} ${r.State} ${r.TransitGatewayAttachments?.[0]?.ResourceId ?? '-'}`).sort();
}

async function gatewayWithTable(ec2: EC2Client): Promise<{ tgwId: string; tableId: string }> {
  const { TransitGateway } = await ec2.send(new CreateTransitGatewayCommand({ Description: 'hub', TagSpecifications: [{ ResourceType: 'transit-gateway', Tags: [{ Key: 'Name', Value: 'hub' }] }] }));
  return { tgwId: TransitGateway!.TransitGatewayId!, tableId: TransitGateway!.Options!.AssociationDefaultRouteTableId! };
}

test('CreateTransitGateway: available at once, with a default route table for association and propagation', async () => {
  const { TransitGateway: tgw } = await h.ec2.send(new CreateTransitGatewayCommand({ TagSpecifications: [{ ResourceType: 'transit-gateway', Tags: [{ Key: 'Name', Value: 'a' }] }] }));
  assert.match(tgw!.TransitGatewayId!, /^tgw-[0-9a-f]{17}$/);
  assert.equal(tgw!.State, 'available');
  assert.equal(tgw!.Options!.DefaultRouteTableAssociation, 'enable');
  assert.equal(tgw!.Options!.DefaultRouteTablePropagation, 'enable');
  assert.equal(tgw!.Options!.AmazonSideAsn, 64512);
  const tableId = tgw!.Options!.AssociationDefaultRouteTableId!;
  assert.match(tableId, /^tgw-rtb-[0-9a-f]{17}$/);
  assert.equal(tgw!.Options!.PropagationDefaultRouteTableId, tableId);
  assert.deepEqual(tgw!.Tags, [{ Key: 'Name', Value: 'a' }]);
  const [table] = (await h.ec2.send(new DescribeTransitGatewayRouteTablesCommand({ Filters: [{ Name: 'transit-gateway-id', Values: [tgw!.TransitGatewayId!] }] }))).TransitGatewayRouteTables!;
  assert.equal(table!.TransitGatewayRouteTableId, tableId);
  assert.equal(table!.DefaultAssociationRouteTable, true);
  assert.equal(table!.DefaultPropagationRouteTable, true);
  const described = (await h.ec2.send(new DescribeTransitGatewaysCommand({ Filters: [{ Name: 'tag:Name', Values: ['a'] }] }))).TransitGateways!;
  assert.deepEqual(described.map((g) => g.TransitGatewayId), [tgw!.TransitGatewayId]);
  await rejectsWith(h.ec2.send(new DescribeTransitGatewaysCommand({ TransitGatewayIds: ['tgw-0123456789abcdef0'] })), 'InvalidTransitGatewayID.NotFound', { message: 'tgw-0123456789abcdef0' });
  await rejectsWith(h.ec2.send(new DescribeTransitGatewaysCommand({ TransitGatewayIds: ['igw-12345678'] })), 'InvalidTransitGatewayID.Malformed');
});

test('VPC attachments propagate their VPC CIDRs; static routes override and add; routes in a VPC table target the gateway', async () => {
  const { tgwId, tableId } = await gatewayWithTable(h.ec2);
  const a = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.20.0.0/16', subnetCidr: '10.20.1.0/24', ipv6: false });
  const b = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.21.0.0/16', subnetCidr: '10.21.1.0/24', ipv6: false });
  const { RouteTable } = await h.ec2.send(new CreateRouteTableCommand({ VpcId: a.vpcId }));
  // EC2 refuses a route to a gateway the VPC is not attached to (yet), with NotFound
  await rejectsWith(h.ec2.send(new CreateRouteCommand({ RouteTableId: RouteTable!.RouteTableId, DestinationCidrBlock: '10.21.0.0/16', TransitGatewayId: tgwId })), 'InvalidTransitGatewayID.NotFound', { message: tgwId });

  const attachA = (await h.ec2.send(new CreateTransitGatewayVpcAttachmentCommand({
    TransitGatewayId: tgwId, VpcId: a.vpcId, SubnetIds: [a.subnetId], TagSpecifications: [{ ResourceType: 'transit-gateway-attachment', Tags: [{ Key: 'Name', Value: 'a' }] }],
  }))).TransitGatewayVpcAttachment!;
  assert.match(attachA.TransitGatewayAttachmentId!, /^tgw-attach-[0-9a-f]{17}$/);
  assert.equal(attachA.State, 'available');
  assert.deepEqual(attachA.SubnetIds, [a.subnetId]);
  assert.deepEqual(attachA.Tags, [{ Key: 'Name', Value: 'a' }]);
  const attachB = (await h.ec2.send(new CreateTransitGatewayVpcAttachmentCommand({ TransitGatewayId: tgwId, VpcId: b.vpcId, SubnetIds: [b.subnetId] }))).TransitGatewayVpcAttachment!;
  assert.deepEqual(await routes(h.ec2, tableId), [`10.20.0.0/16 propagated active ${a.vpcId}`, `10.21.0.0/16 propagated active ${b.vpcId}`]);

  await h.ec2.send(new CreateRouteCommand({ RouteTableId: RouteTable!.RouteTableId, DestinationCidrBlock: '10.21.0.0/16', TransitGatewayId: tgwId }));
  const [rtb] = (await h.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'route.transit-gateway-id', Values: [tgwId] }] }))).RouteTables!;
  assert.equal(rtb!.RouteTableId, RouteTable!.RouteTableId);
  assert.equal(rtb!.Routes!.find((r) => r.DestinationCidrBlock === '10.21.0.0/16')?.TransitGatewayId, tgwId);
  // ReplaceRoute: a default route to an internet gateway now goes to the transit gateway (centralised egress)
  const igw = (await h.ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await h.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: a.vpcId }));
  await h.ec2.send(new CreateRouteCommand({ RouteTableId: RouteTable!.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
  await h.ec2.send(new ReplaceRouteCommand({ RouteTableId: RouteTable!.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', TransitGatewayId: tgwId }));
  const replaced = (await h.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [RouteTable!.RouteTableId!] }))).RouteTables![0]!.Routes!.find((r) => r.DestinationCidrBlock === '0.0.0.0/0')!;
  assert.deepEqual([replaced.TransitGatewayId, replaced.GatewayId], [tgwId, undefined]);
  await rejectsWith(h.ec2.send(new ReplaceRouteCommand({ RouteTableId: RouteTable!.RouteTableId, DestinationCidrBlock: '10.99.0.0/16', TransitGatewayId: tgwId })), 'InvalidRoute.NotFound');
  await rejectsWith(h.ec2.send(new ReplaceRouteCommand({ RouteTableId: RouteTable!.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', TransitGatewayId: 'tgw-0123456789abcdef0' })), 'InvalidTransitGatewayID.NotFound');

  // a static route of a propagated prefix takes its place; a blackhole drops; a wider one adds
  await h.ec2.send(new CreateTransitGatewayRouteCommand({ TransitGatewayRouteTableId: tableId, DestinationCidrBlock: '10.21.0.0/16', TransitGatewayAttachmentId: attachA.TransitGatewayAttachmentId }));
  await h.ec2.send(new CreateTransitGatewayRouteCommand({ TransitGatewayRouteTableId: tableId, DestinationCidrBlock: '192.168.0.0/16', Blackhole: true }));
  assert.deepEqual(await routes(h.ec2, tableId), [`10.20.0.0/16 propagated active ${a.vpcId}`, `10.21.0.0/16 static active ${a.vpcId}`, '192.168.0.0/16 static blackhole -']);
  assert.deepEqual(await routes(h.ec2, tableId, { type: ['static'] }), [`10.21.0.0/16 static active ${a.vpcId}`, '192.168.0.0/16 static blackhole -']);
  assert.deepEqual(await routes(h.ec2, tableId, { 'attachment.resource-id': [b.vpcId] }), []);
  assert.deepEqual(await routes(h.ec2, tableId, { 'route-search.longest-prefix-match': ['10.21.3.0/24'] }), [`10.21.0.0/16 static active ${a.vpcId}`]);
  assert.deepEqual(await routes(h.ec2, tableId, { 'route-search.subnet-of-match': ['10.0.0.0/8'] }), [`10.20.0.0/16 propagated active ${a.vpcId}`, `10.21.0.0/16 static active ${a.vpcId}`]);
  await rejectsWith(
    h.ec2.send(new CreateTransitGatewayRouteCommand({ TransitGatewayRouteTableId: tableId, DestinationCidrBlock: '10.21.0.0/16', TransitGatewayAttachmentId: attachB.TransitGatewayAttachmentId })),
    'RouteAlreadyExists',
  );
  await rejectsWith(h.ec2.send(new SearchTransitGatewayRoutesCommand({ TransitGatewayRouteTableId: tableId, Filters: [{ Name: 'colour', Values: ['x'] }] })), 'InvalidParameterValue', { message: "'colour'" });

  await h.ec2.send(new DeleteTransitGatewayRouteCommand({ TransitGatewayRouteTableId: tableId, DestinationCidrBlock: '10.21.0.0/16' }));
  assert.deepEqual(await routes(h.ec2, tableId, { type: ['propagated'] }), [`10.20.0.0/16 propagated active ${a.vpcId}`, `10.21.0.0/16 propagated active ${b.vpcId}`], 'the propagated route is back');
  await rejectsWith(h.ec2.send(new DeleteTransitGatewayRouteCommand({ TransitGatewayRouteTableId: tableId, DestinationCidrBlock: '10.21.0.0/16' })), 'InvalidRoute.NotFound');

  const all = (await h.ec2.send(new DescribeTransitGatewayAttachmentsCommand({ Filters: [{ Name: 'transit-gateway-id', Values: [tgwId] }] }))).TransitGatewayAttachments!;
  assert.deepEqual(all.map((x) => [x.ResourceType, x.ResourceId, x.Association?.TransitGatewayRouteTableId]), [['vpc', a.vpcId, tableId], ['vpc', b.vpcId, tableId]]);
  const byVpc = (await h.ec2.send(new DescribeTransitGatewayVpcAttachmentsCommand({ Filters: [{ Name: 'vpc-id', Values: [b.vpcId] }] }))).TransitGatewayVpcAttachments!;
  assert.deepEqual(byVpc.map((x) => x.TransitGatewayAttachmentId), [attachB.TransitGatewayAttachmentId]);

  // a gateway with attachments cannot go; without them it can, and its table with it
  await rejectsWith(h.ec2.send(new DeleteTransitGatewayCommand({ TransitGatewayId: tgwId })), 'IncorrectState', { message: 'non-deleted Transit Gateway Attachments' });
  for (const id of [attachA.TransitGatewayAttachmentId!, attachB.TransitGatewayAttachmentId!]) {
    const gone = await h.ec2.send(new DeleteTransitGatewayVpcAttachmentCommand({ TransitGatewayAttachmentId: id }));
    assert.equal(gone.TransitGatewayVpcAttachment!.State, 'deleting');
  }
  assert.deepEqual(await routes(h.ec2, tableId), ['192.168.0.0/16 static blackhole -'], 'propagated routes leave with their attachments');
  await rejectsWith(h.ec2.send(new DeleteTransitGatewayVpcAttachmentCommand({ TransitGatewayAttachmentId: attachA.TransitGatewayAttachmentId })), 'InvalidTransitGatewayAttachmentID.NotFound');
  assert.equal((await h.ec2.send(new DeleteTransitGatewayCommand({ TransitGatewayId: tgwId }))).TransitGateway!.State, 'deleting');
  await rejectsWith(h.ec2.send(new DescribeTransitGatewayRouteTablesCommand({ TransitGatewayRouteTableIds: [tableId] })), 'InvalidRouteTableID.NotFound');
});

test('CreateTransitGatewayVpcAttachment refuses two subnets in one zone, a subnet of another VPC, a second attachment of the VPC and unknown ids', async () => {
  const { tgwId } = await gatewayWithTable(h.ec2);
  const v = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.30.0.0/16', subnetCidr: '10.30.1.0/24', ipv6: false });
  const other = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.31.0.0/16', subnetCidr: '10.31.1.0/24', ipv6: false });
  const sameZone = (await h.ec2.send(new CreateSubnetCommand({ VpcId: v.vpcId, CidrBlock: '10.30.2.0/24', AvailabilityZone: 'us-west-2a' }))).Subnet!.SubnetId!;
  const zoneB = (await h.ec2.send(new CreateSubnetCommand({ VpcId: v.vpcId, CidrBlock: '10.30.3.0/24', AvailabilityZone: 'us-west-2b' }))).Subnet!.SubnetId!;
  const attach = (SubnetIds: string[], VpcId = v.vpcId, TransitGatewayId = tgwId) => h.ec2.send(new CreateTransitGatewayVpcAttachmentCommand({ TransitGatewayId, VpcId, SubnetIds }));
  await rejectsWith(attach([v.subnetId, sameZone]), 'DuplicateSubnetsInSameZone');
  await rejectsWith(attach([v.subnetId, other.subnetId]), 'InvalidParameterValue', { message: other.subnetId });
  await rejectsWith(attach(['subnet-0123456789abcdef0']), 'InvalidSubnetID.NotFound');
  await rejectsWith(attach([v.subnetId], 'vpc-0123456789abcdef0'), 'InvalidVpcID.NotFound');
  await rejectsWith(attach([v.subnetId], v.vpcId, 'tgw-0123456789abcdef0'), 'InvalidTransitGatewayID.NotFound');
  const ok = (await attach([v.subnetId, zoneB])).TransitGatewayVpcAttachment!;
  assert.deepEqual([...ok.SubnetIds!].sort(), [v.subnetId, zoneB].sort());
  await rejectsWith(h.ec2.send(new DeleteSubnetCommand({ SubnetId: zoneB })), 'DependencyViolation', { message: 'has dependencies' });
  await rejectsWith(attach([sameZone]), 'DuplicateTransitGatewayAttachment', { message: 'same VPC ID' });
  await rejectsWith(h.ec2.send(new DescribeTransitGatewayVpcAttachmentsCommand({ TransitGatewayAttachmentIds: ['tgw-attach-0123456789abcdef0'] })), 'InvalidTransitGatewayAttachmentID.NotFound');
});
