import assert from 'node:assert/strict';
import { test } from 'node:test';
import * as sdk from '@aws-sdk/client-ec2';
import { ec2Actions } from '../../../src/ec2/actions/index.js';
import { emulatorForFile, rejectsWith } from './sdk-harness.js';

// Every action of the state side, driven through the official SDK so element-name mistakes surface as missing
// fields here (the HTTP side's own sdk-*.test.ts cover parsing, errors, throttling and IMDS).
const emulator = emulatorForFile();
const called = new Set<string>();
/** Any EC2 command; its class name minus `Command` is the action it performs. */
type AnyCommand = { constructor: { name: string } };

async function send<O extends object>(command: AnyCommand): Promise<O> {
  called.add(command.constructor.name.replace(/Command$/, ''));
  return (await emulator.ec2.send(command as never)) as O;
}

async function rejects(command: AnyCommand, code: string, message?: string): Promise<void> {
  called.add(command.constructor.name.replace(/Command$/, ''));
  await rejectsWith(emulator.ec2.send(command as never), code, { message });
}


test('every action round-trips through @aws-sdk/client-ec2 with the fields ipamd and the lab read', async () => {
  const { Vpc } = await send<sdk.CreateVpcResult>(new sdk.CreateVpcCommand({ CidrBlock: '10.0.0.0/16', AmazonProvidedIpv6CidrBlock: true }));
  const vpcId = Vpc!.VpcId!;
  const v6 = Vpc!.Ipv6CidrBlockAssociationSet![0]!.Ipv6CidrBlock!;
  assert.match(v6, /^2001:db8:.*\/56$/);
  const { Subnet } = await send<sdk.CreateSubnetResult>(new sdk.CreateSubnetCommand({
    VpcId: vpcId, CidrBlock: '10.0.1.0/24', AvailabilityZone: 'us-west-2a', Ipv6CidrBlock: v6.replace('/56', '/64'),
    TagSpecifications: [{ ResourceType: 'subnet', Tags: [{ Key: 'kubernetes.io/role/cni', Value: '1' }] }],
  }));
  const subnetId = Subnet!.SubnetId!;
  assert.equal(Subnet!.AvailableIpAddressCount, 251);
  await send(new sdk.ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }));
  const subnets = await send<sdk.DescribeSubnetsResult>(new sdk.DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
  assert.equal(subnets.Subnets![0]!.MapPublicIpOnLaunch, true);
  assert.equal(subnets.Subnets![0]!.Tags![0]!.Key, 'kubernetes.io/role/cni');
  assert.equal((await send<sdk.DescribeVpcsResult>(new sdk.DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs![0]!.CidrBlock, '10.0.0.0/16');

  const { InternetGateway } = await send<sdk.CreateInternetGatewayResult>(new sdk.CreateInternetGatewayCommand({}));
  await send(new sdk.AttachInternetGatewayCommand({ InternetGatewayId: InternetGateway!.InternetGatewayId!, VpcId: vpcId }));
  const igws = await send<sdk.DescribeInternetGatewaysResult>(new sdk.DescribeInternetGatewaysCommand({}));
  assert.equal(igws.InternetGateways![0]!.Attachments![0]!.VpcId, vpcId);
  const { RouteTable } = await send<sdk.CreateRouteTableResult>(new sdk.CreateRouteTableCommand({ VpcId: vpcId }));
  const rtb = RouteTable!.RouteTableId!;
  await send(new sdk.CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: InternetGateway!.InternetGatewayId! }));
  await send(new sdk.CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '198.51.100.0/24', GatewayId: InternetGateway!.InternetGatewayId! }));
  await send(new sdk.DeleteRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '198.51.100.0/24' }));
  const assoc = await send<sdk.AssociateRouteTableResult>(new sdk.AssociateRouteTableCommand({ RouteTableId: rtb, SubnetId: subnetId }));
  assert.equal(assoc.AssociationState!.State, 'associated');
  const tables = await send<sdk.DescribeRouteTablesResult>(new sdk.DescribeRouteTablesCommand({ RouteTableIds: [rtb] }));
  assert.deepEqual(tables.RouteTables![0]!.Routes!.map((r) => r.GatewayId), ['local', 'local', InternetGateway!.InternetGatewayId]);
  assert.equal(tables.RouteTables![0]!.Associations![0]!.SubnetId, subnetId);

  const eip = await send<sdk.AllocateAddressResult>(new sdk.AllocateAddressCommand({ Domain: 'vpc' }));
  const { NatGateway } = await send<sdk.CreateNatGatewayResult>(new sdk.CreateNatGatewayCommand({ SubnetId: subnetId, AllocationId: eip.AllocationId! }));
  assert.equal(NatGateway!.NatGatewayAddresses![0]!.PublicIp, eip.PublicIp);
  const nats = await send<sdk.DescribeNatGatewaysResult>(new sdk.DescribeNatGatewaysCommand({}));
  assert.equal(nats.NatGateways![0]!.State, 'available');

  const peer = await send<sdk.CreateVpcResult>(new sdk.CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }));
  const { VpcPeeringConnection } = await send<sdk.CreateVpcPeeringConnectionResult>(
    new sdk.CreateVpcPeeringConnectionCommand({ VpcId: vpcId, PeerVpcId: peer.Vpc!.VpcId! }),
  );
  const accepted = await send<sdk.AcceptVpcPeeringConnectionResult>(
    new sdk.AcceptVpcPeeringConnectionCommand({ VpcPeeringConnectionId: VpcPeeringConnection!.VpcPeeringConnectionId! }),
  );
  assert.equal(accepted.VpcPeeringConnection!.Status!.Code, 'active');
  assert.equal(accepted.VpcPeeringConnection!.AccepterVpcInfo!.CidrBlock, '10.1.0.0/16');
  const peerings = await send<sdk.DescribeVpcPeeringConnectionsResult>(new sdk.DescribeVpcPeeringConnectionsCommand({}));
  assert.equal(peerings.VpcPeeringConnections!.length, 1);

  const sg = await send<sdk.CreateSecurityGroupResult>(new sdk.CreateSecurityGroupCommand({ GroupName: 'nodes', Description: 'nodes', VpcId: vpcId }));
  const ingress = await send<sdk.AuthorizeSecurityGroupIngressResult>(new sdk.AuthorizeSecurityGroupIngressCommand({
    GroupId: sg.GroupId!, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
  }));
  assert.equal(ingress.SecurityGroupRules![0]!.FromPort, 443);
  await send(new sdk.AuthorizeSecurityGroupEgressCommand({
    GroupId: sg.GroupId!, IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: sg.GroupId! }] }],
  }));
  const groups = await send<sdk.DescribeSecurityGroupsResult>(new sdk.DescribeSecurityGroupsCommand({ GroupIds: [sg.GroupId!] }));
  assert.equal(groups.SecurityGroups![0]!.IpPermissions![0]!.IpRanges![0]!.CidrIp, '0.0.0.0/0');
  assert.equal(groups.SecurityGroups![0]!.IpPermissionsEgress!.length, 1);
  const spareGroup = await send<sdk.CreateSecurityGroupResult>(new sdk.CreateSecurityGroupCommand({ GroupName: 'spareGroup', Description: 'spareGroup', VpcId: vpcId }));
  const all = [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];
  await send(new sdk.AuthorizeSecurityGroupIngressCommand({ GroupId: spareGroup.GroupId!, IpPermissions: all }));
  await send(new sdk.RevokeSecurityGroupIngressCommand({ GroupId: spareGroup.GroupId!, IpPermissions: all }));
  await send(new sdk.RevokeSecurityGroupEgressCommand({ GroupId: spareGroup.GroupId!, IpPermissions: all }));
  await send(new sdk.DeleteSecurityGroupCommand({ GroupId: spareGroup.GroupId! }));

  const { NetworkAcl } = await send<sdk.CreateNetworkAclResult>(new sdk.CreateNetworkAclCommand({ VpcId: vpcId }));
  const aclId = NetworkAcl!.NetworkAclId!;
  const entry = { NetworkAclId: aclId, RuleNumber: 100, Protocol: '6', RuleAction: 'allow' as const, Egress: false, CidrBlock: '10.0.0.0/16', PortRange: { From: 443, To: 443 } };
  await send(new sdk.CreateNetworkAclEntryCommand(entry));
  await send(new sdk.ReplaceNetworkAclEntryCommand({ ...entry, RuleAction: 'deny' }));
  await send(new sdk.DeleteNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 100, Egress: false }));
  const subnetAcl = await send<sdk.DescribeNetworkAclsResult>(new sdk.DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }));
  assert.equal(subnetAcl.NetworkAcls![0]!.IsDefault, true);
  const defaultAssociation = subnetAcl.NetworkAcls![0]!.Associations![0]!.NetworkAclAssociationId!;
  const moved = await send<sdk.ReplaceNetworkAclAssociationResult>(new sdk.ReplaceNetworkAclAssociationCommand({ AssociationId: defaultAssociation, NetworkAclId: aclId }));
  await send(new sdk.ReplaceNetworkAclAssociationCommand({ AssociationId: moved.NewAssociationId!, NetworkAclId: subnetAcl.NetworkAcls![0]!.NetworkAclId! }));
  await send(new sdk.DeleteNetworkAclCommand({ NetworkAclId: aclId }));

  const types = await send<sdk.DescribeInstanceTypesResult>(new sdk.DescribeInstanceTypesCommand({ InstanceTypes: ['t3.medium'] }));
  assert.equal(types.InstanceTypes![0]!.NetworkInfo!.MaximumNetworkInterfaces, 3);
  assert.equal(types.InstanceTypes![0]!.NetworkInfo!.Ipv4AddressesPerInterface, 6);
  assert.equal(types.InstanceTypes![0]!.NetworkInfo!.NetworkCards![0]!.MaximumNetworkInterfaces, 3);
  assert.equal(types.InstanceTypes![0]!.Hypervisor, 'nitro');

  const run = await send<sdk.Reservation>(new sdk.RunInstancesCommand({
    ImageId: 'ami-12345678', InstanceType: 't3.medium', MinCount: 1, MaxCount: 1, SubnetId: subnetId, SecurityGroupIds: [sg.GroupId!],
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'node-1' }] }],
  }));
  const instance = run.Instances![0]!;
  const instanceId = instance.InstanceId!;
  const primaryEni = instance.NetworkInterfaces![0]!;
  assert.equal(primaryEni.Attachment!.DeviceIndex, 0);
  assert.equal(primaryEni.Attachment!.DeleteOnTermination, true);
  assert.equal(instance.PublicIpAddress, '203.0.113.5');
  const described = await send<sdk.DescribeInstancesResult>(new sdk.DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  assert.equal(described.Reservations![0]!.Instances![0]!.State!.Name, 'running');
  assert.equal(described.Reservations![0]!.Instances![0]!.Tags![0]!.Value, 'node-1');

  const { NetworkInterface } = await send<sdk.CreateNetworkInterfaceResult>(new sdk.CreateNetworkInterfaceCommand({
    SubnetId: subnetId, Description: `aws-K8S-${instanceId}`, Groups: [sg.GroupId!], SecondaryPrivateIpAddressCount: 2,
    TagSpecifications: [{ ResourceType: 'network-interface', Tags: [{ Key: 'node.k8s.amazonaws.com/instance_id', Value: instanceId }] }],
  }));
  const eniId = NetworkInterface!.NetworkInterfaceId!;
  assert.equal(NetworkInterface!.PrivateIpAddresses!.length, 3);
  assert.equal(NetworkInterface!.PrivateIpAddresses![0]!.Primary, true);
  assert.match(NetworkInterface!.MacAddress!, /^02:/);
  assert.equal(NetworkInterface!.Status, 'available');
  const attach = await send<sdk.AttachNetworkInterfaceResult>(new sdk.AttachNetworkInterfaceCommand({
    NetworkInterfaceId: eniId, InstanceId: instanceId, DeviceIndex: 1, NetworkCardIndex: 0,
  }));
  await send(new sdk.ModifyNetworkInterfaceAttributeCommand({
    NetworkInterfaceId: eniId, Attachment: { AttachmentId: attach.AttachmentId!, DeleteOnTermination: true },
  }));
  const assigned = await send<sdk.AssignPrivateIpAddressesResult>(new sdk.AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4PrefixCount: 1 }));
  assert.match(assigned.AssignedIpv4Prefixes![0]!.Ipv4Prefix!, /\/28$/);
  await send(new sdk.UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4Prefixes: [assigned.AssignedIpv4Prefixes![0]!.Ipv4Prefix!] }));
  const v6Assigned = await send<sdk.AssignIpv6AddressesResult>(new sdk.AssignIpv6AddressesCommand({ NetworkInterfaceId: eniId, Ipv6PrefixCount: 1 }));
  assert.match(v6Assigned.AssignedIpv6Prefixes![0]!, /\/80$/);
  const un6 = await send<sdk.UnassignIpv6AddressesResult>(new sdk.UnassignIpv6AddressesCommand({ NetworkInterfaceId: eniId, Ipv6Prefixes: v6Assigned.AssignedIpv6Prefixes! }));
  assert.deepEqual(un6.UnassignedIpv6Prefixes, v6Assigned.AssignedIpv6Prefixes);
  await send(new sdk.CreateTagsCommand({ Resources: [eniId], Tags: [{ Key: 'extra', Value: 'x' }] }));
  await send(new sdk.DeleteTagsCommand({ Resources: [eniId], Tags: [{ Key: 'extra' }] }));
  const enis = await send<sdk.DescribeNetworkInterfacesResult>(new sdk.DescribeNetworkInterfacesCommand({
    Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }],
  }));
  const byDevice = enis.NetworkInterfaces!.map((e) => [e.Attachment!.DeviceIndex, e.Attachment!.DeleteOnTermination, e.Status]);
  assert.deepEqual(byDevice, [[0, true, 'in-use'], [1, true, 'in-use']]);
  assert.deepEqual(enis.NetworkInterfaces![1]!.TagSet, [{ Key: 'node.k8s.amazonaws.com/instance_id', Value: instanceId }]);
  assert.deepEqual(enis.NetworkInterfaces![1]!.Groups, [{ GroupId: sg.GroupId, GroupName: 'nodes' }]);

  const eip2 = await send<sdk.AllocateAddressResult>(new sdk.AllocateAddressCommand({}));
  const associated = await send<sdk.AssociateAddressResult>(new sdk.AssociateAddressCommand({ AllocationId: eip2.AllocationId!, InstanceId: instanceId }));
  const withEip = await send<sdk.DescribeNetworkInterfacesResult>(new sdk.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [primaryEni.NetworkInterfaceId!] }));
  assert.equal(withEip.NetworkInterfaces![0]!.Association!.PublicIp, eip2.PublicIp);
  await send(new sdk.DisassociateAddressCommand({ AssociationId: associated.AssociationId! }));
  await send(new sdk.ReleaseAddressCommand({ AllocationId: eip2.AllocationId! }));

  await send(new sdk.DetachNetworkInterfaceCommand({ AttachmentId: attach.AttachmentId! }));
  await send(new sdk.DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId }));
  const terminated = await send<sdk.TerminateInstancesResult>(new sdk.TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  assert.equal(terminated.TerminatingInstances![0]!.PreviousState!.Name, 'running');

  const spare = await send<sdk.CreateVpcResult>(new sdk.CreateVpcCommand({ CidrBlock: '172.16.0.0/16' }));
  const secondary = await send<sdk.AssociateVpcCidrBlockResult>(new sdk.AssociateVpcCidrBlockCommand({ VpcId: spare.Vpc!.VpcId!, CidrBlock: '100.64.0.0/16' }));
  const spareSubnet = await send<sdk.CreateSubnetResult>(new sdk.CreateSubnetCommand({ VpcId: spare.Vpc!.VpcId!, CidrBlock: '100.64.1.0/24' }));
  await send(new sdk.DeleteSubnetCommand({ SubnetId: spareSubnet.Subnet!.SubnetId! }));
  await send(new sdk.DisassociateVpcCidrBlockCommand({ AssociationId: secondary.CidrBlockAssociation!.AssociationId! }));
  await send(new sdk.DeleteVpcCommand({ VpcId: spare.Vpc!.VpcId! }));
});

test('EC2 error codes reach the SDK as the error name, with the ID in quotes', async () => {
  await rejects(new sdk.DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0123456789abcdef0'] }), 'InvalidNetworkInterfaceID.NotFound', "'eni-0123456789abcdef0'");
  await rejects(new sdk.DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] }), 'InvalidInstanceID.NotFound', "'i-0123456789abcdef0'");
  await rejects(new sdk.CreateNetworkInterfaceCommand({ SubnetId: 'subnet-0123456789abcdef0' }), 'InvalidSubnetID.NotFound', "'subnet-0123456789abcdef0'");
});

test('virtual private gateways, customer gateways and VPN connections round-trip through the SDK', async () => {
  const { Vpc } = await send<sdk.CreateVpcResult>(new sdk.CreateVpcCommand({ CidrBlock: '10.70.0.0/16' }));
  const vpcId = Vpc!.VpcId!;
  const { VpnGateway } = await send<sdk.CreateVpnGatewayResult>(new sdk.CreateVpnGatewayCommand({ Type: 'ipsec.1' }));
  const vgwId = VpnGateway!.VpnGatewayId!;
  const attached = await send<sdk.AttachVpnGatewayResult>(new sdk.AttachVpnGatewayCommand({ VpnGatewayId: vgwId, VpcId: vpcId }));
  assert.equal(attached.VpcAttachment!.State, 'attached');
  const { RouteTable } = await send<sdk.CreateRouteTableResult>(new sdk.CreateRouteTableCommand({ VpcId: vpcId }));
  await send(new sdk.EnableVgwRoutePropagationCommand({ RouteTableId: RouteTable!.RouteTableId!, GatewayId: vgwId }));
  await send(new sdk.DisableVgwRoutePropagationCommand({ RouteTableId: RouteTable!.RouteTableId!, GatewayId: vgwId }));
  const { CustomerGateway } = await send<sdk.CreateCustomerGatewayResult>(new sdk.CreateCustomerGatewayCommand({ Type: 'ipsec.1', IpAddress: '192.0.2.70', BgpAsn: 65000 }));
  const cgwId = CustomerGateway!.CustomerGatewayId!;
  assert.equal((await send<sdk.DescribeCustomerGatewaysResult>(new sdk.DescribeCustomerGatewaysCommand({ CustomerGatewayIds: [cgwId] }))).CustomerGateways![0]!.IpAddress, '192.0.2.70');
  const { VpnConnection } = await send<sdk.CreateVpnConnectionResult>(new sdk.CreateVpnConnectionCommand({ Type: 'ipsec.1', CustomerGatewayId: cgwId, VpnGatewayId: vgwId }));
  const vpns = await send<sdk.DescribeVpnConnectionsResult>(new sdk.DescribeVpnConnectionsCommand({ VpnConnectionIds: [VpnConnection!.VpnConnectionId!] }));
  assert.equal(vpns.VpnConnections![0]!.VpnGatewayId, vgwId);
  await send(new sdk.DeleteVpnConnectionCommand({ VpnConnectionId: VpnConnection!.VpnConnectionId! }));
  await send(new sdk.DeleteCustomerGatewayCommand({ CustomerGatewayId: cgwId }));
  assert.equal((await send<sdk.DescribeVpnGatewaysResult>(new sdk.DescribeVpnGatewaysCommand({ VpnGatewayIds: [vgwId] }))).VpnGateways![0]!.VpcAttachments![0]!.VpcId, vpcId);
  await rejects(new sdk.DeleteVpnGatewayCommand({ VpnGatewayId: vgwId }), 'IncorrectState');
  await send(new sdk.DetachVpnGatewayCommand({ VpnGatewayId: vgwId, VpcId: vpcId }));
  await send(new sdk.DeleteVpnGatewayCommand({ VpnGatewayId: vgwId }));
});

test('transit gateways, their VPC attachments and route tables, and ReplaceRoute round-trip through the SDK', async () => {
  const a = await send<sdk.CreateVpcResult>(new sdk.CreateVpcCommand({ CidrBlock: '10.80.0.0/16' }));
  const b = await send<sdk.CreateVpcResult>(new sdk.CreateVpcCommand({ CidrBlock: '10.81.0.0/16' }));
  const subnetA = (await send<sdk.CreateSubnetResult>(new sdk.CreateSubnetCommand({ VpcId: a.Vpc!.VpcId!, CidrBlock: '10.80.1.0/24' }))).Subnet!.SubnetId!;
  const subnetB = (await send<sdk.CreateSubnetResult>(new sdk.CreateSubnetCommand({ VpcId: b.Vpc!.VpcId!, CidrBlock: '10.81.1.0/24' }))).Subnet!.SubnetId!;
  const { TransitGateway } = await send<sdk.CreateTransitGatewayResult>(new sdk.CreateTransitGatewayCommand({ Description: 'hub' }));
  const tgwId = TransitGateway!.TransitGatewayId!;
  assert.equal((await send<sdk.DescribeTransitGatewaysResult>(new sdk.DescribeTransitGatewaysCommand({ TransitGatewayIds: [tgwId] }))).TransitGateways![0]!.State, 'available');
  const tables = await send<sdk.DescribeTransitGatewayRouteTablesResult>(new sdk.DescribeTransitGatewayRouteTablesCommand({ Filters: [{ Name: 'transit-gateway-id', Values: [tgwId] }] }));
  const tableId = tables.TransitGatewayRouteTables![0]!.TransitGatewayRouteTableId!;
  const attachA = (await send<sdk.CreateTransitGatewayVpcAttachmentResult>(new sdk.CreateTransitGatewayVpcAttachmentCommand({ TransitGatewayId: tgwId, VpcId: a.Vpc!.VpcId!, SubnetIds: [subnetA] }))).TransitGatewayVpcAttachment!.TransitGatewayAttachmentId!;
  const attachB = (await send<sdk.CreateTransitGatewayVpcAttachmentResult>(new sdk.CreateTransitGatewayVpcAttachmentCommand({ TransitGatewayId: tgwId, VpcId: b.Vpc!.VpcId!, SubnetIds: [subnetB] }))).TransitGatewayVpcAttachment!.TransitGatewayAttachmentId!;
  const vpcAttachments = await send<sdk.DescribeTransitGatewayVpcAttachmentsResult>(new sdk.DescribeTransitGatewayVpcAttachmentsCommand({ TransitGatewayAttachmentIds: [attachA] }));
  assert.deepEqual(vpcAttachments.TransitGatewayVpcAttachments![0]!.SubnetIds, [subnetA]);
  const all = await send<sdk.DescribeTransitGatewayAttachmentsResult>(new sdk.DescribeTransitGatewayAttachmentsCommand({ Filters: [{ Name: 'transit-gateway-id', Values: [tgwId] }] }));
  assert.deepEqual(all.TransitGatewayAttachments!.map((t) => t.ResourceType), ['vpc', 'vpc']);
  const propagations = await send<sdk.GetTransitGatewayRouteTablePropagationsResult>(new sdk.GetTransitGatewayRouteTablePropagationsCommand({ TransitGatewayRouteTableId: tableId }));
  assert.deepEqual(propagations.TransitGatewayRouteTablePropagations!.map((p) => p.TransitGatewayAttachmentId).sort(), [attachA, attachB].sort());
  await send(new sdk.DisableTransitGatewayRouteTablePropagationCommand({ TransitGatewayRouteTableId: tableId, TransitGatewayAttachmentId: attachB }));
  await send(new sdk.EnableTransitGatewayRouteTablePropagationCommand({ TransitGatewayRouteTableId: tableId, TransitGatewayAttachmentId: attachB }));
  await send(new sdk.CreateTransitGatewayRouteCommand({ TransitGatewayRouteTableId: tableId, DestinationCidrBlock: '10.99.0.0/16', Blackhole: true }));
  const search = await send<sdk.SearchTransitGatewayRoutesResult>(new sdk.SearchTransitGatewayRoutesCommand({ TransitGatewayRouteTableId: tableId, Filters: [{ Name: 'state', Values: ['active', 'blackhole'] }] }));
  assert.deepEqual(search.Routes!.map((r) => `${r.DestinationCidrBlock} ${r.State}`).sort(), ['10.80.0.0/16 active', '10.81.0.0/16 active', '10.99.0.0/16 blackhole']);
  await send(new sdk.DeleteTransitGatewayRouteCommand({ TransitGatewayRouteTableId: tableId, DestinationCidrBlock: '10.99.0.0/16' }));

  const { RouteTable } = await send<sdk.CreateRouteTableResult>(new sdk.CreateRouteTableCommand({ VpcId: a.Vpc!.VpcId! }));
  const rtb = RouteTable!.RouteTableId!;
  await send(new sdk.CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '10.81.0.0/16', TransitGatewayId: tgwId }));
  const { InternetGateway } = await send<sdk.CreateInternetGatewayResult>(new sdk.CreateInternetGatewayCommand({}));
  await send(new sdk.AttachInternetGatewayCommand({ InternetGatewayId: InternetGateway!.InternetGatewayId!, VpcId: a.Vpc!.VpcId! }));
  await send(new sdk.ReplaceRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '10.81.0.0/16', GatewayId: InternetGateway!.InternetGatewayId! }));
  const replaced = await send<sdk.DescribeRouteTablesResult>(new sdk.DescribeRouteTablesCommand({ RouteTableIds: [rtb] }));
  const route = replaced.RouteTables![0]!.Routes!.find((r) => r.DestinationCidrBlock === '10.81.0.0/16')!;
  assert.equal(route.GatewayId, InternetGateway!.InternetGatewayId);
  assert.equal(route.TransitGatewayId, undefined);

  await send(new sdk.DeleteTransitGatewayVpcAttachmentCommand({ TransitGatewayAttachmentId: attachA }));
  await send(new sdk.DeleteTransitGatewayVpcAttachmentCommand({ TransitGatewayAttachmentId: attachB }));
  await send(new sdk.DeleteTransitGatewayCommand({ TransitGatewayId: tgwId }));
});

test('trunk and branch interfaces and ENI permissions round-trip through the SDK', async () => {
  const { Vpc } = await send<sdk.CreateVpcResult>(new sdk.CreateVpcCommand({ CidrBlock: '10.90.0.0/16' }));
  const { Subnet } = await send<sdk.CreateSubnetResult>(new sdk.CreateSubnetCommand({ VpcId: Vpc!.VpcId!, CidrBlock: '10.90.1.0/24', AvailabilityZone: 'us-west-2a' }));
  const subnetId = Subnet!.SubnetId!;
  const run = await send<sdk.Reservation>(new sdk.RunInstancesCommand({ ImageId: 'ami-12345678', InstanceType: 'm5.large', MinCount: 1, MaxCount: 1, SubnetId: subnetId }));
  const trunk = (await send<sdk.CreateNetworkInterfaceResult>(new sdk.CreateNetworkInterfaceCommand({ SubnetId: subnetId, InterfaceType: 'trunk' }))).NetworkInterface!;
  const { InterfacePermission } = await send<sdk.CreateNetworkInterfacePermissionResult>(new sdk.CreateNetworkInterfacePermissionCommand({ NetworkInterfaceId: trunk.NetworkInterfaceId!, Permission: 'INSTANCE-ATTACH', AwsAccountId: '111122223333' }));
  const permissions = await send<sdk.DescribeNetworkInterfacePermissionsResult>(new sdk.DescribeNetworkInterfacePermissionsCommand({ NetworkInterfacePermissionIds: [InterfacePermission!.NetworkInterfacePermissionId!] }));
  assert.equal(permissions.NetworkInterfacePermissions![0]!.PermissionState!.State, 'granted');
  await send(new sdk.DeleteNetworkInterfacePermissionCommand({ NetworkInterfacePermissionId: InterfacePermission!.NetworkInterfacePermissionId! }));
  await send(new sdk.AttachNetworkInterfaceCommand({ NetworkInterfaceId: trunk.NetworkInterfaceId!, InstanceId: run.Instances![0]!.InstanceId!, DeviceIndex: 1 }));
  const branch = (await send<sdk.CreateNetworkInterfaceResult>(new sdk.CreateNetworkInterfaceCommand({ SubnetId: subnetId }))).NetworkInterface!;
  const { InterfaceAssociation } = await send<sdk.AssociateTrunkInterfaceResult>(new sdk.AssociateTrunkInterfaceCommand({ TrunkInterfaceId: trunk.NetworkInterfaceId!, BranchInterfaceId: branch.NetworkInterfaceId!, VlanId: 1 }));
  const listed = await send<sdk.DescribeTrunkInterfaceAssociationsResult>(new sdk.DescribeTrunkInterfaceAssociationsCommand({ AssociationIds: [InterfaceAssociation!.AssociationId!] }));
  assert.equal(listed.InterfaceAssociations![0]!.VlanId, 1);
  await send(new sdk.DisassociateTrunkInterfaceCommand({ AssociationId: InterfaceAssociation!.AssociationId! }));
});

test('the SDK scenario above called every action the state side implements', () => {
  assert.deepEqual(Object.keys(ec2Actions).filter((a) => !called.has(a)).sort(), []);
});
