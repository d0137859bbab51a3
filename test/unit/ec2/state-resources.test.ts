import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertEc2Error, call, items, launch, obj, withVpc } from './state-helpers.js';

test('DescribeNetworkInterfaces filters as ipamd uses them and pages with MaxResults/NextToken', () => {
  const { state, vpcId, subnetId } = withVpc();
  const { instanceId, eniId } = launch(state, subnetId, 't3.large');
  const tagged: string[] = [];
  for (let i = 0; i < 7; i++) {
    const eni = obj(call(state, 'CreateNetworkInterface', {
      SubnetId: subnetId,
      Description: `aws-K8S-${instanceId}`,
      'TagSpecification.1.ResourceType': 'network-interface',
      'TagSpecification.1.Tag.1.Key': 'node.k8s.amazonaws.com/instance_id',
      'TagSpecification.1.Tag.1.Value': instanceId,
      'TagSpecification.1.Tag.2.Key': 'cluster.k8s.amazonaws.com/name',
      'TagSpecification.1.Tag.2.Value': 'lab',
    }).networkInterface);
    tagged.push(eni.networkInterfaceId as string);
  }
  const ids = (res: ReturnType<typeof call>) => items(res.networkInterfaceSet).map((e) => e.networkInterfaceId as string);
  const leaked = {
    'Filter.1.Name': 'tag-key', 'Filter.1.Value.1': 'node.k8s.amazonaws.com/instance_id',
    'Filter.2.Name': 'status', 'Filter.2.Value.1': 'available',
    'Filter.3.Name': 'vpc-id', 'Filter.3.Value.1': vpcId,
    'Filter.4.Name': 'tag:cluster.k8s.amazonaws.com/name', 'Filter.4.Value.1': 'lab',
  };
  assert.deepEqual(ids(call(state, 'DescribeNetworkInterfaces', leaked)), tagged);
  const first = call(state, 'DescribeNetworkInterfaces', { ...leaked, MaxResults: 5 });
  assert.equal(ids(first).length, 5);
  const rest = call(state, 'DescribeNetworkInterfaces', { ...leaked, MaxResults: 5, NextToken: first.nextToken as string });
  assert.deepEqual([...ids(first), ...ids(rest)], tagged);
  assert.equal(rest.nextToken, undefined);
  assert.deepEqual(ids(call(state, 'DescribeNetworkInterfaces', { 'Filter.1.Name': 'attachment.instance-id', 'Filter.1.Value.1': instanceId })), [eniId]);
  assert.deepEqual(ids(call(state, 'DescribeNetworkInterfaces', { 'Filter.1.Name': 'description', 'Filter.1.Value.1': 'aws-K8S-*' })), tagged);
  assert.equal(ids(call(state, 'DescribeNetworkInterfaces', { 'Filter.1.Name': 'subnet-id', 'Filter.1.Value.1': subnetId })).length, 8);
  assertEc2Error(() => call(state, 'DescribeNetworkInterfaces', { 'Filter.1.Name': 'colour', 'Filter.1.Value.1': 'x' }), 'InvalidParameterValue');
  assertEc2Error(() => call(state, 'DescribeNetworkInterfaces', { MaxResults: 2 }), 'InvalidParameterValue');
  assertEc2Error(() => call(state, 'DescribeNetworkInterfaces', { MaxResults: 5, 'NetworkInterfaceId.1': eniId }), 'InvalidParameterCombination');
  assertEc2Error(() => call(state, 'DescribeNetworkInterfaces', { MaxResults: 5, NextToken: 'garbage' }), 'InvalidParameterValue');
  state.close();
});

test('CreateTags and DeleteTags change tags on existing resources and refuse unknown ones', () => {
  const { state, subnetId } = withVpc();
  const eniId = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId }).networkInterface).networkInterfaceId as string;
  call(state, 'CreateTags', { 'ResourceId.1': eniId, 'ResourceId.2': subnetId, 'Tag.1.Key': 'a', 'Tag.1.Value': '1', 'Tag.2.Key': 'b', 'Tag.2.Value': '2' });
  const tags = () => items(call(state, 'DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eniId }).networkInterfaceSet)[0]!.tagSet;
  assert.deepEqual(tags(), [{ key: 'a', value: '1' }, { key: 'b', value: '2' }]);
  call(state, 'DeleteTags', { 'ResourceId.1': eniId, 'Tag.1.Key': 'a', 'Tag.1.Value': 'other' });
  call(state, 'DeleteTags', { 'ResourceId.1': eniId, 'Tag.1.Key': 'b' });
  assert.deepEqual(tags(), [{ key: 'a', value: '1' }]);
  assertEc2Error(() => call(state, 'CreateTags', { 'ResourceId.1': 'eni-0123456789abcdef0', 'Tag.1.Key': 'a' }), 'InvalidNetworkInterfaceID.NotFound');
  assertEc2Error(() => call(state, 'CreateTags', { 'Tag.1.Key': 'a' }), 'MissingParameter');
  state.close();
});

test('a VPC is built with subnets, route tables, gateways, peering and security groups', () => {
  const { state, vpcId, subnetId } = withVpc();
  assertEc2Error(() => call(state, 'CreateSubnet', { VpcId: vpcId, CidrBlock: '10.0.1.128/25' }), 'InvalidSubnet.Conflict');
  assertEc2Error(() => call(state, 'CreateSubnet', { VpcId: vpcId, CidrBlock: '10.1.0.0/24' }), 'InvalidSubnet.Range');
  assertEc2Error(() => call(state, 'CreateVpc', { CidrBlock: '10.0.0.0/8' }), 'InvalidVpc.Range');
  assertEc2Error(() => call(state, 'CreateVpc', {}), 'MissingParameter');
  const igw = obj(call(state, 'CreateInternetGateway', {}).internetGateway).internetGatewayId as string;
  call(state, 'AttachInternetGateway', { InternetGatewayId: igw, VpcId: vpcId });
  assertEc2Error(() => call(state, 'AttachInternetGateway', { InternetGatewayId: igw, VpcId: vpcId }), 'Resource.AlreadyAssociated');
  const rtb = obj(call(state, 'CreateRouteTable', { VpcId: vpcId }).routeTable).routeTableId as string;
  call(state, 'CreateRoute', { RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw });
  assertEc2Error(() => call(state, 'CreateRoute', { RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }), 'RouteAlreadyExists');
  assertEc2Error(() => call(state, 'CreateRoute', { RouteTableId: rtb, DestinationCidrBlock: '1.0.0.0/8' }), 'MissingParameter');
  const assoc = call(state, 'AssociateRouteTable', { RouteTableId: rtb, SubnetId: subnetId });
  assert.match(assoc.associationId as string, /^rtbassoc-/);
  assertEc2Error(() => call(state, 'AssociateRouteTable', { RouteTableId: rtb, SubnetId: subnetId }), 'Resource.AlreadyAssociated');
  const eip = call(state, 'AllocateAddress', { Domain: 'vpc' });
  const nat = obj(call(state, 'CreateNatGateway', { SubnetId: subnetId, AllocationId: eip.allocationId as string }).natGateway);
  const natAddress = items(nat.natGatewayAddressSet)[0]!;
  assert.equal(natAddress.publicIp, eip.publicIp);
  assert.equal(natAddress.privateIp, '10.0.1.4');
  const privateRtb = obj(call(state, 'CreateRouteTable', { VpcId: vpcId }).routeTable).routeTableId as string;
  call(state, 'CreateRoute', { RouteTableId: privateRtb, DestinationCidrBlock: '0.0.0.0/0', NatGatewayId: nat.natGatewayId as string });
  const natEni = natAddress.networkInterfaceId as string;
  assertEc2Error(() => call(state, 'DeleteNetworkInterface', { NetworkInterfaceId: natEni }), 'OperationNotPermitted');
  const peerVpc = obj(call(state, 'CreateVpc', { CidrBlock: '10.1.0.0/16' }).vpc).vpcId as string;
  const pcx = obj(call(state, 'CreateVpcPeeringConnection', { VpcId: vpcId, PeerVpcId: peerVpc }).vpcPeeringConnection);
  assert.equal(obj(pcx.status).code, 'pending-acceptance');
  assertEc2Error(() => call(state, 'CreateRoute', { RouteTableId: rtb, DestinationCidrBlock: '10.1.0.0/16', VpcPeeringConnectionId: pcx.vpcPeeringConnectionId as string }), 'InvalidParameterValue');
  call(state, 'AcceptVpcPeeringConnection', { VpcPeeringConnectionId: pcx.vpcPeeringConnectionId as string });
  call(state, 'CreateRoute', { RouteTableId: rtb, DestinationCidrBlock: '10.1.0.0/16', VpcPeeringConnectionId: pcx.vpcPeeringConnectionId as string });
  assertEc2Error(() => call(state, 'AcceptVpcPeeringConnection', { VpcPeeringConnectionId: pcx.vpcPeeringConnectionId as string }), 'InvalidStateTransition');
  const overlapping = obj(call(state, 'CreateVpc', { CidrBlock: '10.0.0.0/20' }).vpc).vpcId as string;
  assert.equal(obj(obj(call(state, 'CreateVpcPeeringConnection', { VpcId: vpcId, PeerVpcId: overlapping }).vpcPeeringConnection).status).code, 'failed');
  const routes = items(obj(items(call(state, 'DescribeRouteTables', { 'RouteTableId.1': rtb }).routeTableSet)[0]).routeSet);
  assert.deepEqual(routes.map((r) => [r.destinationCidrBlock ?? r.destinationIpv6CidrBlock, r.gatewayId ?? r.vpcPeeringConnectionId]), [
    ['10.0.0.0/16', 'local'],
    [items(obj(items(call(state, 'DescribeVpcs', { 'VpcId.1': vpcId }).vpcSet)[0]).ipv6CidrBlockAssociationSet)[0]!.ipv6CidrBlock, 'local'],
    ['0.0.0.0/0', igw],
    ['10.1.0.0/16', pcx.vpcPeeringConnectionId],
  ]);
  call(state, 'DeleteRoute', { RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0' });
  assertEc2Error(() => call(state, 'DeleteRoute', { RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0' }), 'InvalidRoute.NotFound');
  assertEc2Error(() => call(state, 'DeleteRoute', { RouteTableId: rtb, DestinationCidrBlock: '10.0.0.0/16' }), 'InvalidParameterValue');
  assert.equal(items(call(state, 'DescribeInternetGateways', { 'Filter.1.Name': 'attachment.vpc-id', 'Filter.1.Value.1': vpcId }).internetGatewaySet).length, 1);
  assert.equal(items(call(state, 'DescribeNatGateways', {}).natGatewaySet).length, 1);
  assert.equal(items(call(state, 'DescribeVpcPeeringConnections', { 'Filter.1.Name': 'status-code', 'Filter.1.Value.1': 'active' }).vpcPeeringConnectionSet).length, 1);

  const sg = call(state, 'CreateSecurityGroup', { GroupName: 'nodes', GroupDescription: 'nodes', VpcId: vpcId }).groupId as string;
  assertEc2Error(() => call(state, 'CreateSecurityGroup', { GroupName: 'nodes', GroupDescription: 'again', VpcId: vpcId }), 'InvalidGroup.Duplicate');
  const rule = {
    GroupId: sg, 'IpPermissions.1.IpProtocol': 'tcp', 'IpPermissions.1.FromPort': 22, 'IpPermissions.1.ToPort': 22,
    'IpPermissions.1.IpRanges.1.CidrIp': '198.51.100.0/24',
  };
  assert.equal(items(call(state, 'AuthorizeSecurityGroupIngress', rule).securityGroupRuleSet).length, 1);
  assertEc2Error(() => call(state, 'AuthorizeSecurityGroupIngress', rule), 'InvalidPermission.Duplicate');
  call(state, 'AuthorizeSecurityGroupEgress', { GroupId: sg, 'IpPermissions.1.IpProtocol': 'udp', 'IpPermissions.1.FromPort': 53, 'IpPermissions.1.ToPort': 53, 'IpPermissions.1.Groups.1.GroupId': sg });
  const group = items(call(state, 'DescribeSecurityGroups', { 'GroupId.1': sg }).securityGroupInfo)[0]!;
  assert.deepEqual(group.ipPermissions, [{ ipProtocol: 'tcp', fromPort: 22, toPort: 22, groups: [], ipRanges: [{ cidrIp: '198.51.100.0/24' }], ipv6Ranges: [], prefixListIds: [] }]);
  assert.equal(items(group.ipPermissionsEgress).length, 2);
  assertEc2Error(() => call(state, 'DescribeSecurityGroups', { 'GroupId.1': 'sg-0123456789abcdef0' }), 'InvalidGroup.NotFound');

  assertEc2Error(() => call(state, 'DeleteSubnet', { SubnetId: subnetId }), 'DependencyViolation');
  assertEc2Error(() => call(state, 'DeleteVpc', { VpcId: vpcId }), 'DependencyViolation');
  const emptyVpc = obj(call(state, 'CreateVpc', { CidrBlock: '172.16.0.0/16' }).vpc).vpcId as string;
  const emptySubnet = obj(call(state, 'CreateSubnet', { VpcId: emptyVpc, CidrBlock: '172.16.0.0/24' }).subnet).subnetId as string;
  call(state, 'DeleteSubnet', { SubnetId: emptySubnet });
  call(state, 'DeleteVpc', { VpcId: emptyVpc });
  assertEc2Error(() => call(state, 'DescribeVpcs', { 'VpcId.1': emptyVpc }), 'InvalidVpcID.NotFound');
  state.close();
});

test('MapPublicIpOnLaunch gives instances a public IP; Elastic IPs associate, move and release', () => {
  const { state, subnetId } = withVpc();
  assert.equal(launch(state, subnetId, 't3.large').instance.ipAddress, undefined);
  call(state, 'ModifySubnetAttribute', { SubnetId: subnetId, 'MapPublicIpOnLaunch.Value': true });
  assert.equal(items(call(state, 'DescribeSubnets', {}).subnetSet)[0]!.mapPublicIpOnLaunch, true);
  const { instanceId, eniId, instance } = launch(state, subnetId, 't3.large');
  assert.equal(instance.ipAddress, '203.0.113.4');
  const eip = call(state, 'AllocateAddress', {});
  assert.equal(eip.publicIp, '203.0.113.5');
  const { associationId } = call(state, 'AssociateAddress', { AllocationId: eip.allocationId as string, InstanceId: instanceId });
  const mapping = () => state.mappingSnapshot().find((m) => m.eniId === eniId)!.publicIps;
  assert.deepEqual(Object.values(mapping()), ['203.0.113.5'], 'the EIP replaces the launch public IP');
  assertEc2Error(() => call(state, 'ReleaseAddress', { AllocationId: eip.allocationId as string }), 'InvalidIPAddress.InUse');
  const other = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId }).networkInterface);
  assertEc2Error(() => call(state, 'AssociateAddress', { AllocationId: eip.allocationId as string, NetworkInterfaceId: other.networkInterfaceId as string }), 'Resource.AlreadyAssociated');
  call(state, 'AssociateAddress', { AllocationId: eip.allocationId as string, NetworkInterfaceId: other.networkInterfaceId as string, AllowReassociation: true });
  assert.deepEqual(mapping(), {});
  assertEc2Error(() => call(state, 'DisassociateAddress', { AssociationId: associationId as string }), 'InvalidAssociationID.NotFound');
  const eni = items(call(state, 'DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': other.networkInterfaceId as string }).networkInterfaceSet)[0]!;
  const association = obj(eni.association);
  assert.equal(association.publicIp, '203.0.113.5');
  call(state, 'DisassociateAddress', { AssociationId: association.associationId as string });
  call(state, 'ReleaseAddress', { AllocationId: eip.allocationId as string });
  assertEc2Error(() => call(state, 'ReleaseAddress', { AllocationId: eip.allocationId as string }), 'InvalidAllocationID.NotFound');
  assertEc2Error(() => call(state, 'AssociateAddress', { AllocationId: 'eipalloc-0123456789abcdef0' }), 'InvalidAllocationID.NotFound');
  state.close();
});

test('RunInstances launches MaxCount when addresses allow, MinCount at least, in one reservation', () => {
  const { state, subnetId } = withVpc({ subnetCidr: '10.0.2.0/28' });
  const res = call(state, 'RunInstances', { InstanceType: 't3.small', MinCount: 2, MaxCount: 20, SubnetId: subnetId, 'TagSpecification.1.ResourceType': 'instance', 'TagSpecification.1.Tag.1.Key': 'Name', 'TagSpecification.1.Tag.1.Value': 'node' });
  const launched = items(res.instancesSet);
  assert.equal(launched.length, 11);
  assert.deepEqual(launched[0]!.instanceState, { code: 0, name: 'pending' });
  assert.deepEqual(launched[0]!.tagSet, [{ key: 'Name', value: 'node' }]);
  assertEc2Error(() => call(state, 'RunInstances', { InstanceType: 't3.small', MinCount: 1, MaxCount: 1, SubnetId: subnetId }), 'InsufficientFreeAddressesInSubnet');
  assertEc2Error(() => call(state, 'RunInstances', { InstanceType: 't3.small', MinCount: 1, SubnetId: subnetId }), 'MissingParameter');
  const reservations = items(call(state, 'DescribeInstances', { 'Filter.1.Name': 'instance-state-name', 'Filter.1.Value.1': 'running' }).reservationSet);
  assert.equal(reservations.length, 1);
  assert.equal(items(reservations[0]!.instancesSet).length, 11);
  state.close();
});
