import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AcceptVpcPeeringConnectionCommand,
  AllocateAddressCommand,
  AssociateAddressCommand,
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateNatGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  CreateVpcPeeringConnectionCommand,
  DeleteNetworkInterfaceCommand,
  DeleteRouteCommand,
  DeleteSubnetCommand,
  DeleteTagsCommand,
  DeleteVpcCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
  DisassociateAddressCommand,
  ModifySubnetAttributeCommand,
  ReleaseAddressCommand,
  RunInstancesCommand,
  type AssociateAddressRequest,
  type CreateRouteRequest,
  type CreateTagsRequest,
  type DescribeNetworkInterfacesRequest,
  type IpPermission,
  type RunInstancesRequest,
} from '@aws-sdk/client-ec2';
import { createEni, createVpcWithSubnet, describeEni, emulatorForFile, launch, rejectsWith } from './sdk-harness.js';

// One emulator for the file; every test builds its own VPC and subnet in it. The Elastic IP test asserts the
// pool's first addresses, so it runs before the VPC-building test, whose NAT gateway keeps an EIP.
const h = emulatorForFile();

const createRoute = (input: CreateRouteRequest) => h.ec2.send(new CreateRouteCommand(input));

test('DescribeNetworkInterfaces filters as ipamd uses them and pages with MaxResults/NextToken', async () => {
  const { vpcId, subnetId } = await createVpcWithSubnet(h.ec2);
  const { instanceId, eniId } = await launch(h.ec2, subnetId, 't3.large');
  const tagged: string[] = [];
  for (let i = 0; i < 7; i++) {
    const eni = await createEni(h.ec2, subnetId, {
      Description: `aws-K8S-${instanceId}`,
      TagSpecifications: [{
        ResourceType: 'network-interface',
        Tags: [{ Key: 'node.k8s.amazonaws.com/instance_id', Value: instanceId }, { Key: 'cluster.k8s.amazonaws.com/name', Value: 'lab' }],
      }],
    });
    tagged.push(eni.NetworkInterfaceId!);
  }
  const describe = (input: DescribeNetworkInterfacesRequest) => h.ec2.send(new DescribeNetworkInterfacesCommand(input));
  const ids = async (input: DescribeNetworkInterfacesRequest) => (await describe(input)).NetworkInterfaces!.map((e) => e.NetworkInterfaceId!);
  const leaked = [
    { Name: 'tag-key', Values: ['node.k8s.amazonaws.com/instance_id'] },
    { Name: 'status', Values: ['available'] },
    { Name: 'vpc-id', Values: [vpcId] },
    { Name: 'tag:cluster.k8s.amazonaws.com/name', Values: ['lab'] },
  ];
  assert.deepEqual(await ids({ Filters: leaked }), tagged);
  const first = await describe({ Filters: leaked, MaxResults: 5 });
  assert.equal(first.NetworkInterfaces!.length, 5);
  const rest = await describe({ Filters: leaked, MaxResults: 5, NextToken: first.NextToken });
  assert.deepEqual([...first.NetworkInterfaces!, ...rest.NetworkInterfaces!].map((e) => e.NetworkInterfaceId), tagged);
  assert.equal(rest.NextToken, undefined);
  assert.deepEqual(await ids({ Filters: [{ Name: 'attachment.instance-id', Values: [instanceId] }] }), [eniId]);
  assert.deepEqual(await ids({ Filters: [{ Name: 'description', Values: ['aws-K8S-*'] }] }), tagged);
  assert.equal((await ids({ Filters: [{ Name: 'subnet-id', Values: [subnetId] }] })).length, 8);
  await rejectsWith(describe({ Filters: [{ Name: 'colour', Values: ['x'] }] }), 'InvalidParameterValue');
  await rejectsWith(describe({ MaxResults: 2 }), 'InvalidParameterValue');
  await rejectsWith(describe({ MaxResults: 5, NetworkInterfaceIds: [eniId] }), 'InvalidParameterCombination');
  await rejectsWith(describe({ MaxResults: 5, NextToken: 'garbage' }), 'InvalidParameterValue');
});

test('CreateTags and DeleteTags change tags on existing resources and refuse unknown ones', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const eniId = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  await h.ec2.send(new CreateTagsCommand({ Resources: [eniId, subnetId], Tags: [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }] }));
  const tags = async () => (await describeEni(h.ec2, eniId)).TagSet;
  assert.deepEqual(await tags(), [{ Key: 'a', Value: '1' }, { Key: 'b', Value: '2' }]);
  await h.ec2.send(new DeleteTagsCommand({ Resources: [eniId], Tags: [{ Key: 'a', Value: 'other' }] }));
  await h.ec2.send(new DeleteTagsCommand({ Resources: [eniId], Tags: [{ Key: 'b' }] }));
  assert.deepEqual(await tags(), [{ Key: 'a', Value: '1' }]);
  await rejectsWith(h.ec2.send(new CreateTagsCommand({ Resources: ['eni-0123456789abcdef0'], Tags: [{ Key: 'a' }] })), 'InvalidNetworkInterfaceID.NotFound', {
    message: "'eni-0123456789abcdef0'",
  });
  // The SDK types Resources as required but sends whatever it is given; EC2 answers MissingParameter.
  await rejectsWith(h.ec2.send(new CreateTagsCommand({ Tags: [{ Key: 'a' }] } as CreateTagsRequest)), 'MissingParameter');
});

test('MapPublicIpOnLaunch gives instances a public IP; Elastic IPs associate, move and release', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  assert.equal((await launch(h.ec2, subnetId, 't3.large')).instance.PublicIpAddress, undefined);
  await h.ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }));
  assert.equal((await h.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }))).Subnets![0]!.MapPublicIpOnLaunch, true);
  const { instanceId, eniId, instance } = await launch(h.ec2, subnetId, 't3.large');
  assert.equal(instance.PublicIpAddress, '203.0.113.4');
  const eip = await h.ec2.send(new AllocateAddressCommand({}));
  assert.equal(eip.PublicIp, '203.0.113.5');
  const associate = (input: AssociateAddressRequest) => h.ec2.send(new AssociateAddressCommand(input));
  const release = () => h.ec2.send(new ReleaseAddressCommand({ AllocationId: eip.AllocationId }));
  const { AssociationId } = await associate({ AllocationId: eip.AllocationId, InstanceId: instanceId });
  const mapping = () => h.server.state.mappingSnapshot().find((m) => m.eniId === eniId)!.publicIps;
  assert.deepEqual(Object.values(mapping()), ['203.0.113.5'], 'the EIP replaces the launch public IP');
  await rejectsWith(release(), 'InvalidIPAddress.InUse');
  const other = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  await rejectsWith(associate({ AllocationId: eip.AllocationId, NetworkInterfaceId: other }), 'Resource.AlreadyAssociated');
  await associate({ AllocationId: eip.AllocationId, NetworkInterfaceId: other, AllowReassociation: true });
  assert.deepEqual(mapping(), {});
  await rejectsWith(h.ec2.send(new DisassociateAddressCommand({ AssociationId })), 'InvalidAssociationID.NotFound');
  const association = (await describeEni(h.ec2, other)).Association!;
  assert.equal(association.PublicIp, '203.0.113.5');
  await h.ec2.send(new DisassociateAddressCommand({ AssociationId: association.AssociationId }));
  await release();
  await rejectsWith(release(), 'InvalidAllocationID.NotFound');
  await rejectsWith(associate({ AllocationId: 'eipalloc-0123456789abcdef0' }), 'InvalidAllocationID.NotFound');
});

test('a VPC is built with subnets, route tables, gateways, peering and security groups', async () => {
  const { vpcId, subnetId } = await createVpcWithSubnet(h.ec2);
  await rejectsWith(h.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.1.128/25' })), 'InvalidSubnet.Conflict');
  await rejectsWith(h.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.1.0.0/24' })), 'InvalidSubnet.Range');
  await rejectsWith(h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/8' })), 'InvalidVpc.Range');
  await rejectsWith(h.ec2.send(new CreateVpcCommand({})), 'MissingParameter');
  const igw = (await h.ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await h.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
  await rejectsWith(h.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId })), 'Resource.AlreadyAssociated');
  const rtb = (await h.ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable!.RouteTableId!;
  await createRoute({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw });
  await rejectsWith(createRoute({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }), 'RouteAlreadyExists');
  await rejectsWith(createRoute({ RouteTableId: rtb, DestinationCidrBlock: '1.0.0.0/8' }), 'MissingParameter');
  const associate = () => h.ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtb, SubnetId: subnetId }));
  assert.match((await associate()).AssociationId!, /^rtbassoc-/);
  await rejectsWith(associate(), 'Resource.AlreadyAssociated');
  const eip = await h.ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }));
  const nat = (await h.ec2.send(new CreateNatGatewayCommand({ SubnetId: subnetId, AllocationId: eip.AllocationId }))).NatGateway!;
  const natAddress = nat.NatGatewayAddresses![0]!;
  assert.equal(natAddress.PublicIp, eip.PublicIp);
  assert.equal(natAddress.PrivateIp, '10.0.1.4');
  const privateRtb = (await h.ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable!.RouteTableId!;
  await createRoute({ RouteTableId: privateRtb, DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: nat.NatGatewayId });
  await rejectsWith(h.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: natAddress.NetworkInterfaceId })), 'OperationNotPermitted');
  const peerVpc = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }))).Vpc!.VpcId!;
  const pcx = (await h.ec2.send(new CreateVpcPeeringConnectionCommand({ VpcId: vpcId, PeerVpcId: peerVpc }))).VpcPeeringConnection!;
  const pcxId = pcx.VpcPeeringConnectionId!;
  assert.equal(pcx.Status!.Code, 'pending-acceptance');
  await rejectsWith(createRoute({ RouteTableId: rtb, DestinationCidrBlock: '10.1.0.0/16', VpcPeeringConnectionId: pcxId }), 'InvalidParameterValue');
  const accept = () => h.ec2.send(new AcceptVpcPeeringConnectionCommand({ VpcPeeringConnectionId: pcxId }));
  await accept();
  await createRoute({ RouteTableId: rtb, DestinationCidrBlock: '10.1.0.0/16', VpcPeeringConnectionId: pcxId });
  await rejectsWith(accept(), 'InvalidStateTransition');
  const overlapping = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/20' }))).Vpc!.VpcId!;
  const failed = (await h.ec2.send(new CreateVpcPeeringConnectionCommand({ VpcId: vpcId, PeerVpcId: overlapping }))).VpcPeeringConnection!;
  assert.equal(failed.Status!.Code, 'failed');
  const routes = (await h.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [rtb] }))).RouteTables![0]!.Routes!;
  const vpcV6 = (await h.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs![0]!.Ipv6CidrBlockAssociationSet![0]!.Ipv6CidrBlock;
  assert.deepEqual(routes.map((r) => [r.DestinationCidrBlock ?? r.DestinationIpv6CidrBlock, r.GatewayId ?? r.VpcPeeringConnectionId]), [
    ['10.0.0.0/16', 'local'],
    [vpcV6, 'local'],
    ['0.0.0.0/0', igw],
    ['10.1.0.0/16', pcxId],
  ]);
  await h.ec2.send(new DeleteRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0' }));
  await rejectsWith(h.ec2.send(new DeleteRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0' })), 'InvalidRoute.NotFound');
  await rejectsWith(h.ec2.send(new DeleteRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '10.0.0.0/16' })), 'InvalidParameterValue');
  const igws = await h.ec2.send(new DescribeInternetGatewaysCommand({ Filters: [{ Name: 'attachment.vpc-id', Values: [vpcId] }] }));
  assert.equal(igws.InternetGateways!.length, 1);
  // Other tests share this emulator, so these two lists are narrowed to this VPC and these peerings.
  const nats = await h.ec2.send(new DescribeNatGatewaysCommand({ Filter: [{ Name: 'vpc-id', Values: [vpcId] }] }));
  assert.equal(nats.NatGateways!.length, 1);
  const active = await h.ec2.send(new DescribeVpcPeeringConnectionsCommand({
    VpcPeeringConnectionIds: [pcxId, failed.VpcPeeringConnectionId!], Filters: [{ Name: 'status-code', Values: ['active'] }],
  }));
  assert.deepEqual(active.VpcPeeringConnections!.map((p) => p.VpcPeeringConnectionId), [pcxId]);

  const createGroup = (description: string) => h.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'nodes', Description: description, VpcId: vpcId }));
  const sg = (await createGroup('nodes')).GroupId!;
  await rejectsWith(createGroup('again'), 'InvalidGroup.Duplicate');
  const ssh: IpPermission[] = [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '198.51.100.0/24' }] }];
  const authorize = () => h.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: sg, IpPermissions: ssh }));
  assert.equal((await authorize()).SecurityGroupRules!.length, 1);
  await rejectsWith(authorize(), 'InvalidPermission.Duplicate');
  await h.ec2.send(new AuthorizeSecurityGroupEgressCommand({
    GroupId: sg, IpPermissions: [{ IpProtocol: 'udp', FromPort: 53, ToPort: 53, UserIdGroupPairs: [{ GroupId: sg }] }],
  }));
  const group = (await h.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [sg] }))).SecurityGroups![0]!;
  assert.deepEqual(group.IpPermissions, [
    { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, UserIdGroupPairs: [], IpRanges: [{ CidrIp: '198.51.100.0/24' }], Ipv6Ranges: [], PrefixListIds: [] },
  ]);
  assert.equal(group.IpPermissionsEgress!.length, 2);
  await rejectsWith(h.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: ['sg-0123456789abcdef0'] })), 'InvalidGroup.NotFound');

  await rejectsWith(h.ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId })), 'DependencyViolation');
  await rejectsWith(h.ec2.send(new DeleteVpcCommand({ VpcId: vpcId })), 'DependencyViolation');
  const emptyVpc = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '172.16.0.0/16' }))).Vpc!.VpcId!;
  const emptySubnet = (await h.ec2.send(new CreateSubnetCommand({ VpcId: emptyVpc, CidrBlock: '172.16.0.0/24' }))).Subnet!.SubnetId!;
  await h.ec2.send(new DeleteSubnetCommand({ SubnetId: emptySubnet }));
  await h.ec2.send(new DeleteVpcCommand({ VpcId: emptyVpc }));
  await rejectsWith(h.ec2.send(new DescribeVpcsCommand({ VpcIds: [emptyVpc] })), 'InvalidVpcID.NotFound', { message: `'${emptyVpc}'` });
});

test('RunInstances launches MaxCount when addresses allow, MinCount at least, in one reservation', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2, { subnetCidr: '10.0.2.0/28' });
  const run = (input: Partial<RunInstancesRequest>) => h.ec2.send(new RunInstancesCommand({ InstanceType: 't3.small', SubnetId: subnetId, ...input } as RunInstancesRequest));
  const res = await run({ MinCount: 2, MaxCount: 20, TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'node' }] }] });
  const launched = res.Instances!;
  assert.equal(launched.length, 11);
  assert.deepEqual(launched[0]!.State, { Code: 0, Name: 'pending' });
  assert.deepEqual(launched[0]!.Tags, [{ Key: 'Name', Value: 'node' }]);
  await rejectsWith(run({ MinCount: 1, MaxCount: 1 }), 'InsufficientFreeAddressesInSubnet');
  // The SDK types MaxCount as required but sends whatever it is given; EC2 answers MissingParameter.
  await rejectsWith(run({ MinCount: 1 }), 'MissingParameter');
  const reservations = (await h.ec2.send(new DescribeInstancesCommand({
    Filters: [{ Name: 'instance-state-name', Values: ['running'] }, { Name: 'subnet-id', Values: [subnetId] }],
  }))).Reservations!;
  assert.equal(reservations.length, 1);
  assert.equal(reservations[0]!.Instances!.length, 11);
});
