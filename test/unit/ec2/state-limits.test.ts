import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AssignPrivateIpAddressesCommand,
  AssociateAddressCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateRouteCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  DeleteNetworkInterfaceCommand,
  DescribeInstancesCommand,
  DescribeInstanceTypesCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ModifySubnetAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
  type _InstanceType,
  type AttachNetworkInterfaceRequest,
  type ModifyNetworkInterfaceAttributeRequest,
  type TerminateInstancesRequest,
} from '@aws-sdk/client-ec2';
import { createEni, createVpcWithSubnet, describeEni, emulatorForFile, launch, rejectsWith } from './sdk-harness.js';

// One emulator for the file; every test builds its own VPC and subnet in it. Only the TerminateInstances test
// takes public IPs, so the pool's first address is free when it runs.
const h = emulatorForFile();

const newEni = async (subnetId: string, secondaries?: number) =>
  (await createEni(h.ec2, subnetId, { SecondaryPrivateIpAddressCount: secondaries })).NetworkInterfaceId!;
const attach = (input: AttachNetworkInterfaceRequest) => h.ec2.send(new AttachNetworkInterfaceCommand(input));
const assign = (eniId: string, counts: { SecondaryPrivateIpAddressCount?: number; Ipv4PrefixCount?: number }) =>
  h.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, ...counts }));
const modifyEni = (input: ModifyNetworkInterfaceAttributeRequest) => h.ec2.send(new ModifyNetworkInterfaceAttributeCommand(input));

test('t3.medium takes 3 ENIs: a 4th attach fails with AttachmentLimitExceeded, a used device index with InvalidParameterValue', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const { instanceId } = await launch(h.ec2, subnetId, 't3.medium');
  const second = await newEni(subnetId);
  const res = await attach({ NetworkInterfaceId: second, InstanceId: instanceId, DeviceIndex: 1 });
  assert.match(res.AttachmentId!, /^eni-attach-[0-9a-f]{17}$/);
  assert.equal(res.NetworkCardIndex, 0);
  const third = await newEni(subnetId);
  await rejectsWith(attach({ NetworkInterfaceId: third, InstanceId: instanceId, DeviceIndex: 1 }), 'InvalidParameterValue', { message: /device index '1'/ });
  await attach({ NetworkInterfaceId: third, InstanceId: instanceId, DeviceIndex: 2 });
  const fourth = await newEni(subnetId);
  await rejectsWith(attach({ NetworkInterfaceId: fourth, InstanceId: instanceId, DeviceIndex: 3 }), 'AttachmentLimitExceeded', {
    message: /Interface count 4 exceeds the limit for t3\.medium/,
  });
  await rejectsWith(attach({ NetworkInterfaceId: fourth, InstanceId: instanceId, DeviceIndex: 3, NetworkCardIndex: 1 }), 'InvalidParameterValue');
  // The SDK types DeviceIndex as required but sends whatever it is given; EC2 answers MissingParameter.
  await rejectsWith(attach({ NetworkInterfaceId: fourth, InstanceId: instanceId } as AttachNetworkInterfaceRequest), 'MissingParameter');
  assert.equal((await describeEni(h.ec2, third)).Status, 'in-use');
});

test('t3.medium ENIs hold 6 IPv4 slots: the primary plus 5 secondaries, and each /28 prefix takes one slot', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const { instanceId, eniId } = await launch(h.ec2, subnetId, 't3.medium');
  await assign(eniId, { SecondaryPrivateIpAddressCount: 5 });
  await rejectsWith(assign(eniId, { SecondaryPrivateIpAddressCount: 1 }), 'PrivateIpAddressLimitExceeded', {
    message: /Number of private addresses will exceed limit/,
  });
  const second = await newEni(subnetId, 2);
  await attach({ NetworkInterfaceId: second, InstanceId: instanceId, DeviceIndex: 1 });
  await assign(second, { Ipv4PrefixCount: 3 });
  await rejectsWith(assign(second, { Ipv4PrefixCount: 1 }), 'PrivateIpAddressLimitExceeded');
  assert.equal((await describeEni(h.ec2, second)).Ipv4Prefixes!.length, 3);
  // An unattached ENI holding more than the type allows cannot be attached to it.
  const big = await newEni(subnetId, 6);
  const other = await launch(h.ec2, subnetId, 't3.medium');
  await rejectsWith(attach({ NetworkInterfaceId: big, InstanceId: other.instanceId, DeviceIndex: 1 }), 'PrivateIpAddressLimitExceeded');
});

test('prefix delegation needs a Nitro instance type', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const { eniId } = await launch(h.ec2, subnetId, 'm4.large');
  await rejectsWith(assign(eniId, { Ipv4PrefixCount: 1 }), 'InvalidParameterValue', { message: /Nitro/ });
});

test('the primary ENI cannot be detached; an attached ENI cannot be deleted until it is detached', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const { instanceId, eniId, instance } = await launch(h.ec2, subnetId, 't3.large');
  const primaryAttachment = instance.NetworkInterfaces![0]!.Attachment!.AttachmentId!;
  const detach = (attachmentId: string) => h.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId }));
  const remove = (id: string) => h.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: id }));
  await rejectsWith(detach(primaryAttachment), 'OperationNotPermitted', { message: /device index 0/ });
  await rejectsWith(remove(eniId), 'InvalidNetworkInterface.InUse');
  const second = await newEni(subnetId);
  const { AttachmentId } = await attach({ NetworkInterfaceId: second, InstanceId: instanceId, DeviceIndex: 1 });
  await rejectsWith(attach({ NetworkInterfaceId: second, InstanceId: instanceId, DeviceIndex: 2 }), 'InvalidNetworkInterface.InUse');
  await rejectsWith(remove(second), 'InvalidNetworkInterface.InUse', { message: second });
  await detach(AttachmentId!);
  assert.equal((await describeEni(h.ec2, second)).Status, 'available');
  await rejectsWith(detach(AttachmentId!), 'InvalidAttachmentID.NotFound');
  await remove(second);
  await rejectsWith(remove(second), 'InvalidNetworkInterfaceID.NotFound');
});

test('TerminateInstances deletes DeleteOnTermination ENIs, detaches the rest, and returns public IPs to the pool', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  await h.ec2.send(new ModifySubnetAttributeCommand({ SubnetId: subnetId, MapPublicIpOnLaunch: { Value: true } }));
  const { instanceId, eniId, instance } = await launch(h.ec2, subnetId, 't3.large');
  assert.equal(instance.PublicIpAddress, '203.0.113.4');
  const kept = await newEni(subnetId);
  await attach({ NetworkInterfaceId: kept, InstanceId: instanceId, DeviceIndex: 1 });
  const doomed = await newEni(subnetId);
  const { AttachmentId } = await attach({ NetworkInterfaceId: doomed, InstanceId: instanceId, DeviceIndex: 2 });
  await modifyEni({ NetworkInterfaceId: doomed, Attachment: { AttachmentId, DeleteOnTermination: true } });
  await rejectsWith(modifyEni({ NetworkInterfaceId: kept, Attachment: { AttachmentId, DeleteOnTermination: true } }), 'InvalidAttachmentID.NotFound');
  const res = await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  assert.deepEqual(res.TerminatingInstances![0], {
    InstanceId: instanceId,
    PreviousState: { Code: 16, Name: 'running' },
    CurrentState: { Code: 32, Name: 'shutting-down' },
  });
  const left = await h.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'subnet-id', Values: [subnetId] }] }));
  assert.deepEqual(left.NetworkInterfaces!.map((e) => e.NetworkInterfaceId), [kept]);
  assert.equal((await describeEni(h.ec2, kept)).Status, 'available');
  await rejectsWith(describeEni(h.ec2, eniId), 'InvalidNetworkInterfaceID.NotFound', { message: `'${eniId}'` });
  const described = await h.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  assert.deepEqual(described.Reservations![0]!.Instances![0]!.State, { Code: 48, Name: 'terminated' });
  const next = await launch(h.ec2, subnetId, 't3.large');
  assert.equal(next.instance.PublicIpAddress, '203.0.113.4', 'the released public IP is handed out again');
  await rejectsWith(attach({ NetworkInterfaceId: kept, InstanceId: instanceId, DeviceIndex: 1 }), 'IncorrectInstanceState');
});

test('ModifyNetworkInterfaceAttribute changes one attribute per call', async () => {
  const { vpcId, subnetId } = await createVpcWithSubnet(h.ec2);
  const eniId = await newEni(subnetId);
  const sg = (await h.ec2.send(new CreateSecurityGroupCommand({ GroupName: 'pods', Description: 'pods', VpcId: vpcId }))).GroupId!;
  await modifyEni({ NetworkInterfaceId: eniId, Groups: [sg] });
  await modifyEni({ NetworkInterfaceId: eniId, Description: { Value: 'aws-K8S-i-1' } });
  await modifyEni({ NetworkInterfaceId: eniId, SourceDestCheck: { Value: false } });
  const eni = await describeEni(h.ec2, eniId);
  assert.deepEqual(eni.Groups, [{ GroupId: sg, GroupName: 'pods' }]);
  assert.equal(eni.Description, 'aws-K8S-i-1');
  assert.equal(eni.SourceDestCheck, false);
  await rejectsWith(modifyEni({ NetworkInterfaceId: eniId, Description: { Value: 'x' }, SourceDestCheck: { Value: true } }), 'InvalidParameterCombination');
  await rejectsWith(modifyEni({ NetworkInterfaceId: eniId, Groups: ['sg-0123456789abcdef0'] }), 'InvalidGroup.NotFound');
  await rejectsWith(modifyEni({ NetworkInterfaceId: eniId }), 'MissingParameter');
});

test('unknown IDs fail with EC2 NotFound codes that quote the ID; malformed IDs with Malformed', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const cases: Array<[() => Promise<unknown>, string, string]> = [
    [() => h.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0123456789abcdef0'] })), 'InvalidNetworkInterfaceID.NotFound', "The networkInterface ID 'eni-0123456789abcdef0' does not exist"],
    [() => h.ec2.send(new DescribeInstancesCommand({ InstanceIds: ['i-0123456789abcdef0'] })), 'InvalidInstanceID.NotFound', "The instance ID 'i-0123456789abcdef0' does not exist"],
    [() => h.ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: 'subnet-0123456789abcdef0' })), 'InvalidSubnetID.NotFound', "The subnet ID 'subnet-0123456789abcdef0' does not exist"],
    [() => h.ec2.send(new CreateSubnetCommand({ VpcId: 'vpc-0123456789abcdef0', CidrBlock: '10.0.0.0/24' })), 'InvalidVpcID.NotFound', "The vpc ID 'vpc-0123456789abcdef0' does not exist"],
    [() => h.ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, Groups: ['sg-0123456789abcdef0'] })), 'InvalidGroup.NotFound', "The security group 'sg-0123456789abcdef0' does not exist"],
    [() => h.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: 'eni-attach-0123456789abcdef0' })), 'InvalidAttachmentID.NotFound', "'eni-attach-0123456789abcdef0'"],
    [() => h.ec2.send(new AssociateAddressCommand({ AllocationId: 'eipalloc-0123456789abcdef0', InstanceId: 'i-0123456789abcdef0' })), 'InvalidAllocationID.NotFound', "'eipalloc-0123456789abcdef0'"],
    [() => h.ec2.send(new CreateRouteCommand({ RouteTableId: 'rtb-0123456789abcdef0', DestinationCidrBlock: '0.0.0.0/0', GatewayId: 'igw-0123456789abcdef0' })), 'InvalidRouteTableID.NotFound', "'rtb-0123456789abcdef0'"],
    [() => h.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['eni-0123456789abcdef0', 'eni-0123456789abcdef1'] })), 'InvalidNetworkInterfaceID.NotFound', "IDs 'eni-0123456789abcdef0, eni-0123456789abcdef1' do not exist"],
    [() => h.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: ['bogus'] })), 'InvalidNetworkInterfaceID.Malformed', 'bogus'],
  ];
  for (const [call, code, text] of cases) await rejectsWith(call(), code, { message: text, status: 400 });
  // The SDK types these as required or as an enum but sends whatever it is given; EC2 answers with its own codes.
  await rejectsWith(h.ec2.send(new TerminateInstancesCommand({} as TerminateInstancesRequest)), 'MissingParameter');
  await rejectsWith(
    h.ec2.send(new RunInstancesCommand({ MinCount: 1, MaxCount: 1, SubnetId: subnetId, InstanceType: 't9.nope' as _InstanceType })),
    'InvalidParameterValue',
  );
  await rejectsWith(h.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['t9.nope' as _InstanceType] })), 'InvalidInstanceType');
});

test('DescribeInstanceTypes reports the limits table: ENIs per card, IPv4 per ENI, hypervisor, bare metal', async () => {
  const res = await h.ec2.send(new DescribeInstanceTypesCommand({ InstanceTypes: ['c5.18xlarge', 'm4.large'] }));
  const [c5, m4] = res.InstanceTypes!;
  assert.equal(c5!.Hypervisor, 'nitro');
  assert.equal(c5!.BareMetal, false);
  assert.equal(c5!.NetworkInfo!.Ipv4AddressesPerInterface, 50);
  assert.equal(c5!.NetworkInfo!.MaximumNetworkInterfaces, 15);
  assert.equal(m4!.Hypervisor, 'xen');
  const page = await h.ec2.send(new DescribeInstanceTypesCommand({ MaxResults: 5 }));
  assert.equal(page.InstanceTypes!.length, 5);
  const next = await h.ec2.send(new DescribeInstanceTypesCommand({ MaxResults: 5, NextToken: page.NextToken }));
  assert.notEqual(next.InstanceTypes![0]!.InstanceType, page.InstanceTypes![0]!.InstanceType);
});
