import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertEc2Error, call, items, launch, obj, withVpc } from './state-helpers.js';

type State = ReturnType<typeof withVpc>['state'];

function newEni(state: State, subnetId: string, extra: Record<string, string | number | boolean> = {}): string {
  return obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId, ...extra }).networkInterface).networkInterfaceId as string;
}

function describeEni(state: State, eniId: string) {
  return items(call(state, 'DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eniId }).networkInterfaceSet)[0]!;
}

test('t3.medium takes 3 ENIs: a 4th attach fails with AttachmentLimitExceeded, a used device index with InvalidParameterValue', () => {
  const { state, subnetId } = withVpc();
  const { instanceId } = launch(state, subnetId, 't3.medium');
  const second = newEni(state, subnetId);
  const res = call(state, 'AttachNetworkInterface', { NetworkInterfaceId: second, InstanceId: instanceId, DeviceIndex: 1 });
  assert.match(res.attachmentId as string, /^eni-attach-[0-9a-f]{17}$/);
  assert.equal(res.networkCardIndex, 0);
  const third = newEni(state, subnetId);
  assertEc2Error(
    () => call(state, 'AttachNetworkInterface', { NetworkInterfaceId: third, InstanceId: instanceId, DeviceIndex: 1 }),
    'InvalidParameterValue',
    /device index '1'/,
  );
  call(state, 'AttachNetworkInterface', { NetworkInterfaceId: third, InstanceId: instanceId, DeviceIndex: 2 });
  const fourth = newEni(state, subnetId);
  assertEc2Error(
    () => call(state, 'AttachNetworkInterface', { NetworkInterfaceId: fourth, InstanceId: instanceId, DeviceIndex: 3 }),
    'AttachmentLimitExceeded',
    /Interface count 4 exceeds the limit for t3\.medium/,
  );
  assertEc2Error(
    () => call(state, 'AttachNetworkInterface', { NetworkInterfaceId: fourth, InstanceId: instanceId, DeviceIndex: 3, NetworkCardIndex: 1 }),
    'InvalidParameterValue',
  );
  assertEc2Error(() => call(state, 'AttachNetworkInterface', { NetworkInterfaceId: fourth, InstanceId: instanceId }), 'MissingParameter');
  assert.equal(describeEni(state, third).status, 'in-use');
  state.close();
});

test('t3.medium ENIs hold 6 IPv4 slots: the primary plus 5 secondaries, and each /28 prefix takes one slot', () => {
  const { state, subnetId } = withVpc();
  const { instanceId, eniId } = launch(state, subnetId, 't3.medium');
  call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 5 });
  assertEc2Error(
    () => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 1 }),
    'PrivateIpAddressLimitExceeded',
    /Number of private addresses will exceed limit/,
  );
  const second = newEni(state, subnetId, { SecondaryPrivateIpAddressCount: 2 });
  call(state, 'AttachNetworkInterface', { NetworkInterfaceId: second, InstanceId: instanceId, DeviceIndex: 1 });
  call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: second, Ipv4PrefixCount: 3 });
  assertEc2Error(() => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: second, Ipv4PrefixCount: 1 }), 'PrivateIpAddressLimitExceeded');
  assert.equal(items(describeEni(state, second).ipv4PrefixSet).length, 3);
  // An unattached ENI holding more than the type allows cannot be attached to it.
  const big = newEni(state, subnetId, { SecondaryPrivateIpAddressCount: 6 });
  const other = launch(state, subnetId, 't3.medium');
  assertEc2Error(
    () => call(state, 'AttachNetworkInterface', { NetworkInterfaceId: big, InstanceId: other.instanceId, DeviceIndex: 1 }),
    'PrivateIpAddressLimitExceeded',
  );
  state.close();
});

test('prefix delegation needs a Nitro instance type', () => {
  const { state, subnetId } = withVpc();
  const { eniId } = launch(state, subnetId, 'm4.large');
  assertEc2Error(() => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, Ipv4PrefixCount: 1 }), 'InvalidParameterValue', /Nitro/);
  state.close();
});

test('the primary ENI cannot be detached; an attached ENI cannot be deleted until it is detached', () => {
  const { state, subnetId } = withVpc();
  const { instanceId, eniId, instance } = launch(state, subnetId, 't3.large');
  const primaryAttachment = obj(items(instance.networkInterfaceSet)[0]!.attachment).attachmentId as string;
  assertEc2Error(() => call(state, 'DetachNetworkInterface', { AttachmentId: primaryAttachment }), 'OperationNotPermitted', /device index 0/);
  assertEc2Error(() => call(state, 'DeleteNetworkInterface', { NetworkInterfaceId: eniId }), 'InvalidNetworkInterface.InUse');
  const second = newEni(state, subnetId);
  const { attachmentId } = call(state, 'AttachNetworkInterface', { NetworkInterfaceId: second, InstanceId: instanceId, DeviceIndex: 1 });
  assertEc2Error(() => call(state, 'AttachNetworkInterface', { NetworkInterfaceId: second, InstanceId: instanceId, DeviceIndex: 2 }), 'InvalidNetworkInterface.InUse');
  assertEc2Error(() => call(state, 'DeleteNetworkInterface', { NetworkInterfaceId: second }), 'InvalidNetworkInterface.InUse', new RegExp(second));
  call(state, 'DetachNetworkInterface', { AttachmentId: attachmentId as string });
  assert.equal(describeEni(state, second).status, 'available');
  assertEc2Error(() => call(state, 'DetachNetworkInterface', { AttachmentId: attachmentId as string }), 'InvalidAttachmentID.NotFound');
  call(state, 'DeleteNetworkInterface', { NetworkInterfaceId: second });
  assertEc2Error(() => call(state, 'DeleteNetworkInterface', { NetworkInterfaceId: second }), 'InvalidNetworkInterfaceID.NotFound');
  state.close();
});

test('TerminateInstances deletes DeleteOnTermination ENIs, detaches the rest, and returns public IPs to the pool', () => {
  const { state, subnetId } = withVpc();
  call(state, 'ModifySubnetAttribute', { SubnetId: subnetId, 'MapPublicIpOnLaunch.Value': true });
  const { instanceId, eniId, instance } = launch(state, subnetId, 't3.large');
  assert.equal(instance.ipAddress, '203.0.113.4');
  const kept = newEni(state, subnetId);
  call(state, 'AttachNetworkInterface', { NetworkInterfaceId: kept, InstanceId: instanceId, DeviceIndex: 1 });
  const doomed = newEni(state, subnetId);
  const { attachmentId } = call(state, 'AttachNetworkInterface', { NetworkInterfaceId: doomed, InstanceId: instanceId, DeviceIndex: 2 });
  call(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: doomed, 'Attachment.AttachmentId': attachmentId as string, 'Attachment.DeleteOnTermination': true });
  assertEc2Error(
    () => call(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: kept, 'Attachment.AttachmentId': attachmentId as string, 'Attachment.DeleteOnTermination': true }),
    'InvalidAttachmentID.NotFound',
  );
  const res = call(state, 'TerminateInstances', { 'InstanceId.1': instanceId });
  assert.deepEqual(items(res.instancesSet)[0], {
    instanceId,
    previousState: { code: 16, name: 'running' },
    currentState: { code: 32, name: 'shutting-down' },
  });
  const left = items(call(state, 'DescribeNetworkInterfaces', {}).networkInterfaceSet).map((e) => e.networkInterfaceId);
  assert.deepEqual(left, [kept]);
  assert.equal(describeEni(state, kept).status, 'available');
  assertEc2Error(() => describeEni(state, eniId), 'InvalidNetworkInterfaceID.NotFound');
  const described = items(items(call(state, 'DescribeInstances', { 'InstanceId.1': instanceId }).reservationSet)[0]!.instancesSet)[0]!;
  assert.deepEqual(described.instanceState, { code: 48, name: 'terminated' });
  const next = launch(state, subnetId, 't3.large');
  assert.equal(next.instance.ipAddress, '203.0.113.4', 'the released public IP is handed out again');
  assertEc2Error(() => call(state, 'AttachNetworkInterface', { NetworkInterfaceId: kept, InstanceId: instanceId, DeviceIndex: 1 }), 'IncorrectInstanceState');
  state.close();
});

test('ModifyNetworkInterfaceAttribute changes one attribute per call', () => {
  const { state, vpcId, subnetId } = withVpc();
  const eniId = newEni(state, subnetId);
  const sg = call(state, 'CreateSecurityGroup', { GroupName: 'pods', GroupDescription: 'pods', VpcId: vpcId }).groupId as string;
  call(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eniId, 'SecurityGroupId.1': sg });
  call(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eniId, 'Description.Value': 'aws-K8S-i-1' });
  call(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eniId, 'SourceDestCheck.Value': false });
  const eni = describeEni(state, eniId);
  assert.deepEqual(eni.groupSet, [{ groupId: sg, groupName: 'pods' }]);
  assert.equal(eni.description, 'aws-K8S-i-1');
  assert.equal(eni.sourceDestCheck, false);
  assertEc2Error(
    () => call(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eniId, 'Description.Value': 'x', 'SourceDestCheck.Value': true }),
    'InvalidParameterCombination',
  );
  assertEc2Error(() => call(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eniId, 'SecurityGroupId.1': 'sg-0123456789abcdef0' }), 'InvalidGroup.NotFound');
  assertEc2Error(() => call(state, 'ModifyNetworkInterfaceAttribute', { NetworkInterfaceId: eniId }), 'MissingParameter');
  state.close();
});

test('unknown IDs fail with EC2 NotFound codes that quote the ID; malformed IDs with Malformed', () => {
  const { state, subnetId } = withVpc();
  const cases: Array<[string, Record<string, string | number>, string, string]> = [
    ['DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': 'eni-0123456789abcdef0' }, 'InvalidNetworkInterfaceID.NotFound', "The networkInterface ID 'eni-0123456789abcdef0' does not exist"],
    ['DescribeInstances', { 'InstanceId.1': 'i-0123456789abcdef0' }, 'InvalidInstanceID.NotFound', "The instance ID 'i-0123456789abcdef0' does not exist"],
    ['CreateNetworkInterface', { SubnetId: 'subnet-0123456789abcdef0' }, 'InvalidSubnetID.NotFound', "The subnet ID 'subnet-0123456789abcdef0' does not exist"],
    ['CreateSubnet', { VpcId: 'vpc-0123456789abcdef0', CidrBlock: '10.0.0.0/24' }, 'InvalidVpcID.NotFound', "The vpc ID 'vpc-0123456789abcdef0' does not exist"],
    ['CreateNetworkInterface', { SubnetId: subnetId, 'SecurityGroupId.1': 'sg-0123456789abcdef0' }, 'InvalidGroup.NotFound', "The security group 'sg-0123456789abcdef0' does not exist"],
    ['DetachNetworkInterface', { AttachmentId: 'eni-attach-0123456789abcdef0' }, 'InvalidAttachmentID.NotFound', "'eni-attach-0123456789abcdef0'"],
    ['AssociateAddress', { AllocationId: 'eipalloc-0123456789abcdef0', InstanceId: 'i-0123456789abcdef0' }, 'InvalidAllocationID.NotFound', "'eipalloc-0123456789abcdef0'"],
    ['CreateRoute', { RouteTableId: 'rtb-0123456789abcdef0', DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0123456789abcdef0' }, 'InvalidRouteTableID.NotFound', "'rtb-0123456789abcdef0'"],
    ['DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': 'eni-0123456789abcdef0', 'NetworkInterfaceId.2': 'eni-0123456789abcdef1' }, 'InvalidNetworkInterfaceID.NotFound', "IDs 'eni-0123456789abcdef0, eni-0123456789abcdef1' do not exist"],
    ['DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': 'bogus' }, 'InvalidNetworkInterfaceID.Malformed', 'bogus'],
  ];
  for (const [action, params, code, text] of cases) {
    const err = assertEc2Error(() => call(state, action, params), code);
    assert.ok(err.message.includes(text), `${action}: ${err.message}`);
    assert.equal(err.status, 400);
  }
  assertEc2Error(() => call(state, 'TerminateInstances', {}), 'MissingParameter');
  assertEc2Error(() => call(state, 'RunInstances', { MinCount: 1, MaxCount: 1, SubnetId: subnetId, InstanceType: 't9.nope' }), 'InvalidParameterValue');
  assertEc2Error(() => call(state, 'DescribeInstanceTypes', { 'InstanceType.1': 't9.nope' }), 'InvalidInstanceType');
  state.close();
});

test('DescribeInstanceTypes reports the limits table: ENIs per card, IPv4 per ENI, hypervisor, bare metal', () => {
  const { state } = withVpc();
  const res = call(state, 'DescribeInstanceTypes', { 'InstanceType.1': 'c5.18xlarge', 'InstanceType.2': 'm4.large' });
  const [c5, m4] = items(res.instanceTypeSet);
  assert.equal(c5!.hypervisor, 'nitro');
  assert.equal(c5!.bareMetal, false);
  assert.deepEqual(obj(c5!.networkInfo).ipv4AddressesPerInterface, 50);
  assert.equal(obj(c5!.networkInfo).maximumNetworkInterfaces, 15);
  assert.equal(m4!.hypervisor, 'xen');
  const page = call(state, 'DescribeInstanceTypes', { MaxResults: 5 });
  assert.equal(items(page.instanceTypeSet).length, 5);
  const next = call(state, 'DescribeInstanceTypes', { MaxResults: 5, NextToken: page.nextToken as string });
  assert.notEqual(items(next.instanceTypeSet)[0]!.instanceType, items(page.instanceTypeSet)[0]!.instanceType);
  state.close();
});
