import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AssociateTrunkInterfaceCommand,
  AttachNetworkInterfaceCommand,
  CreateSubnetCommand,
  DeleteNetworkInterfaceCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeTrunkInterfaceAssociationsCommand,
  DetachNetworkInterfaceCommand,
  DisassociateTrunkInterfaceCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import type { MappingEvent } from '../../../src/ec2/index.js';
import { createEni, createVpcWithSubnet, describeEni, emulatorForFile, launch, rejectsWith } from './sdk-harness.js';

const h = emulatorForFile();

/** An instance of a type with a trunk attached at device index 1, in a fresh VPC (one per test, so limits start at 0). */
async function trunkedInstance(ec2: EC2Client, type = 'm5.large', cidr = '10.1') {
  const { vpcId, subnetId } = await createVpcWithSubnet(ec2, { vpcCidr: `${cidr}.0.0/16`, subnetCidr: `${cidr}.1.0/24`, ipv6: false });
  const { instanceId } = await launch(ec2, subnetId, type);
  const trunk = await createEni(ec2, subnetId, { InterfaceType: 'trunk', Description: 'trunk-eni' });
  await ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: trunk.NetworkInterfaceId!, InstanceId: instanceId, DeviceIndex: 1 }));
  return { vpcId, subnetId, instanceId, trunkId: trunk.NetworkInterfaceId!, cidr };
}

const associate = (ec2: EC2Client, trunkId: string, branchId: string, vlanId: number, extra: { ClientToken?: string; GreKey?: number } = {}) =>
  ec2.send(new AssociateTrunkInterfaceCommand({ TrunkInterfaceId: trunkId, BranchInterfaceId: branchId, VlanId: vlanId, ...extra }));

let nextCidr = 10;
const freshCidr = () => `10.${nextCidr++}`;

test('CreateNetworkInterface takes EC2 creation types trunk and branch and refuses others; DescribeNetworkInterfaces filters by interface-type', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.200.0.0/16', subnetCidr: '10.200.1.0/24', ipv6: false });
  const trunk = await createEni(h.ec2, subnetId, { InterfaceType: 'trunk' });
  assert.equal(trunk.InterfaceType, 'trunk');
  const branch = await createEni(h.ec2, subnetId, { InterfaceType: 'branch' });
  assert.equal(branch.InterfaceType, 'branch');
  await rejectsWith(createEni(h.ec2, subnetId, { InterfaceType: 'vlan' as never }), 'InvalidParameterValue', { message: 'interfaceType' });
  const trunks = await h.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'interface-type', Values: ['trunk'] }, { Name: 'subnet-id', Values: [subnetId] }] }));
  assert.deepEqual(trunks.NetworkInterfaces!.map((e) => e.NetworkInterfaceId), [trunk.NetworkInterfaceId]);
});

test('a trunk attaches to a type that can trunk (and DescribeInstances shows it); a type that cannot, or one the table lacks, is refused; one trunk per instance', async () => {
  const { subnetId, instanceId, trunkId } = await trunkedInstance(h.ec2, 'm5.large', freshCidr());
  const described = await h.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  const nics = described.Reservations![0]!.Instances![0]!.NetworkInterfaces!;
  assert.equal(nics.find((n) => n.NetworkInterfaceId === trunkId)!.InterfaceType, 'trunk');
  assert.equal((await describeEni(h.ec2, trunkId)).Attachment!.Status, 'attached');

  const second = await createEni(h.ec2, subnetId, { InterfaceType: 'trunk' });
  await rejectsWith(
    h.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: second.NetworkInterfaceId!, InstanceId: instanceId, DeviceIndex: 2 })),
    'InvalidParameterValue',
    { message: `already has a trunk network interface attached (${trunkId})` },
  );

  const t3 = await launch(h.ec2, subnetId, 't3.medium');
  await rejectsWith(
    h.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: second.NetworkInterfaceId!, InstanceId: t3.instanceId, DeviceIndex: 1 })),
    'UnsupportedOperation',
    { message: 'Instance type t3.medium does not support trunk network interfaces.' },
  );
  // c7i.32xlarge has ENI limits but no row in the controller's trunk table (data/README.md)
  const unlisted = await launch(h.ec2, subnetId, 'c7i.32xlarge');
  await rejectsWith(
    h.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: second.NetworkInterfaceId!, InstanceId: unlisted.instanceId, DeviceIndex: 1 })),
    'UnsupportedOperation',
    { message: "not in the VPC resource controller's table" },
  );
  // a plain ENI still attaches to t3.medium
  const plain = await createEni(h.ec2, subnetId);
  await h.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: plain.NetworkInterfaceId!, InstanceId: t3.instanceId, DeviceIndex: 1 }));
});

test('AssociateTrunkInterface makes a branch: an association ID, type branch and in-use while associated, an eni event with its trunk, VLAN and interface type; Disassociate undoes it', async () => {
  const { subnetId, trunkId } = await trunkedInstance(h.ec2, 'm5.large', freshCidr());
  const branch = await createEni(h.ec2, subnetId, { Description: 'branch-eni' });
  const branchId = branch.NetworkInterfaceId!;
  assert.equal(branch.InterfaceType, 'interface');
  const events: MappingEvent[] = [];
  const stop = h.server.state.onMapping((e) => events.push(e));
  try {
    const { InterfaceAssociation, ClientToken } = await associate(h.ec2, trunkId, branchId, 7, { ClientToken: 'tok-assoc-1' });
    assert.match(InterfaceAssociation!.AssociationId!, /^trunk-assoc-[0-9a-f]{17}$/);
    assert.equal(ClientToken, 'tok-assoc-1');
    assert.deepEqual(
      { ...InterfaceAssociation, AssociationId: undefined, Tags: undefined },
      { AssociationId: undefined, BranchInterfaceId: branchId, TrunkInterfaceId: trunkId, InterfaceProtocol: 'VLAN', VlanId: 7, Tags: undefined },
    );
    const described = await describeEni(h.ec2, branchId);
    assert.equal(described.InterfaceType, 'branch');
    assert.equal(described.Status, 'in-use');
    assert.equal(described.Attachment, undefined, 'a branch is associated, not attached');
    const byType = await h.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'interface-type', Values: ['branch'] }, { Name: 'status', Values: ['in-use'] }] }));
    assert.ok(byType.NetworkInterfaces!.some((e) => e.NetworkInterfaceId === branchId));
    const associated = events.filter((e): e is Extract<MappingEvent, { type: 'eni' }> => e.type === 'eni' && e.eni.eniId === branchId);
    assert.equal(associated.length, 1);
    assert.deepEqual(associated[0]!.eni.trunk, { trunkEniId: trunkId, vlanId: 7 });
    assert.equal(associated[0]!.eni.interfaceType, 'branch');
    assert.equal(associated[0]!.eni.instanceId, null);
    assert.deepEqual(h.server.state.eniMapping(branchId)!.trunk, { trunkEniId: trunkId, vlanId: 7 });
    assert.equal(h.server.state.eniMapping(trunkId)!.trunk, undefined);
    // the mapping's interface type is DescribeNetworkInterfaces's: a trunk is known as one without any branch's say
    assert.equal(h.server.state.eniMapping(trunkId)!.interfaceType, 'trunk');

    events.length = 0;
    const done = await h.ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: InterfaceAssociation!.AssociationId! }));
    assert.equal(done.Return, true);
    const after = await describeEni(h.ec2, branchId);
    assert.equal(after.InterfaceType, 'interface');
    assert.equal(after.Status, 'available');
    assert.equal(events.length, 1);
    assert.equal(events[0]!.type, 'eni');
    assert.equal((events[0] as Extract<MappingEvent, { type: 'eni' }>).eni.trunk, undefined);
    assert.equal((events[0] as Extract<MappingEvent, { type: 'eni' }>).eni.interfaceType, 'interface');
    assert.equal((await h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({}))).InterfaceAssociations!.filter((a) => a.BranchInterfaceId === branchId).length, 0);
    // the VLAN is free again, and a branch created as InterfaceType=branch associates too and keeps its type after
    const typed = await createEni(h.ec2, subnetId, { InterfaceType: 'branch' });
    const again = await associate(h.ec2, trunkId, typed.NetworkInterfaceId!, 7);
    await h.ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: again.InterfaceAssociation!.AssociationId! }));
    assert.equal((await describeEni(h.ec2, typed.NetworkInterfaceId!)).InterfaceType, 'branch');
  } finally {
    stop();
  }
});

test('AssociateTrunkInterface refuses bad VLAN ids, GRE, unknown IDs, non-trunks, busy branches, other VPCs and zones, a detached trunk, a used VLAN', async () => {
  const { vpcId, subnetId, instanceId, trunkId, cidr } = await trunkedInstance(h.ec2, 'm5.large', freshCidr());
  const branchId = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  for (const vlan of [0, 4095, -1]) {
    await rejectsWith(associate(h.ec2, trunkId, branchId, vlan), 'InvalidParameterValue', { message: `Value (${vlan}) for parameter vlanId is invalid. It must be between 1 and 4094.` });
  }
  await rejectsWith(h.ec2.send(new AssociateTrunkInterfaceCommand({ TrunkInterfaceId: trunkId, BranchInterfaceId: branchId })), 'MissingParameter', { message: 'vlanId' });
  await rejectsWith(h.ec2.send(new AssociateTrunkInterfaceCommand({ TrunkInterfaceId: trunkId, BranchInterfaceId: branchId, GreKey: 5 })), 'InvalidParameterValue', { message: 'GRE' });
  await rejectsWith(associate(h.ec2, trunkId, branchId, 5, { GreKey: 5 }), 'InvalidParameterCombination');
  await rejectsWith(associate(h.ec2, 'eni-0123456789abcdef0', branchId, 5), 'InvalidNetworkInterfaceID.NotFound', { message: "'eni-0123456789abcdef0'" });
  await rejectsWith(associate(h.ec2, trunkId, 'eni-0123456789abcdef0', 5), 'InvalidNetworkInterfaceID.NotFound');
  await rejectsWith(associate(h.ec2, trunkId, 'nope', 5), 'InvalidNetworkInterfaceID.Malformed');
  await rejectsWith(associate(h.ec2, trunkId, trunkId, 5), 'InvalidParameterValue', { message: 'with itself' });
  // the "trunk" is a plain ENI
  const plain = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  await rejectsWith(associate(h.ec2, plain, branchId, 5), 'InvalidParameterValue', { message: 'is not a trunk interface (interface type interface)' });
  // a trunk as branch
  const otherTrunk = (await createEni(h.ec2, subnetId, { InterfaceType: 'trunk' })).NetworkInterfaceId!;
  await rejectsWith(associate(h.ec2, trunkId, otherTrunk, 5), 'InvalidParameterValue', { message: 'of interface type trunk cannot be a branch' });
  // a detached trunk
  await rejectsWith(associate(h.ec2, otherTrunk, branchId, 5), 'IncorrectState', { message: 'not attached to an instance' });
  // a branch attached to an instance
  await h.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: plain, InstanceId: instanceId, DeviceIndex: 2 }));
  await rejectsWith(associate(h.ec2, trunkId, plain, 5), 'InvalidNetworkInterface.InUse');
  // another VPC, another zone
  const other = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.201.0.0/16', subnetCidr: '10.201.1.0/24', ipv6: false });
  const foreign = (await createEni(h.ec2, other.subnetId)).NetworkInterfaceId!;
  await rejectsWith(associate(h.ec2, trunkId, foreign, 5), 'InvalidParameterValue', { message: 'different VPCs' });
  const { Subnet } = await h.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: `${cidr}.2.0/24`, AvailabilityZone: 'us-west-2b' }));
  const zoneB = (await createEni(h.ec2, Subnet!.SubnetId!)).NetworkInterfaceId!;
  await rejectsWith(associate(h.ec2, trunkId, zoneB, 5), 'InvalidParameterCombination', { message: 'same availability zone' });

  // a used VLAN, and a branch already associated
  await associate(h.ec2, trunkId, branchId, 5);
  const second = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  await rejectsWith(associate(h.ec2, trunkId, second, 5), 'InvalidVlanId.Duplicate', { message: "VlanId '5' is in use" });
  await rejectsWith(associate(h.ec2, trunkId, branchId, 6), 'InvalidNetworkInterface.InUse', { message: `is already associated with trunk interface ${trunkId}` });
  // an associated branch cannot be attached, nor can an ENI created as a branch
  await rejectsWith(h.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: branchId, InstanceId: instanceId, DeviceIndex: 2 })), 'InvalidNetworkInterface.InUse');
  const typed = (await createEni(h.ec2, subnetId, { InterfaceType: 'branch' })).NetworkInterfaceId!;
  await rejectsWith(h.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: typed, InstanceId: instanceId, DeviceIndex: 2 })), 'InvalidParameterValue', { message: 'is a branch interface' });
});

test('the branch limit of the instance type (the controller table) bounds a trunk; the next association is AttachmentLimitExceeded', async () => {
  // c7i-flex.large: BranchInterface 3 in data/trunk-limits.json
  const { subnetId, trunkId } = await trunkedInstance(h.ec2, 'c7i-flex.large', freshCidr());
  for (let vlan = 1; vlan <= 3; vlan++) await associate(h.ec2, trunkId, (await createEni(h.ec2, subnetId)).NetworkInterfaceId!, vlan);
  const fourth = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  await rejectsWith(associate(h.ec2, trunkId, fourth, 4), 'AttachmentLimitExceeded', { message: 'Branch interface count 4 exceeds the limit (3) for c7i-flex.large' });
  assert.equal((await describeEni(h.ec2, fourth)).InterfaceType, 'interface', 'a refused association changes nothing');
});

test('ClientToken: a retry with the same token returns the same association once; other arguments are IdempotentParameterMismatch', async () => {
  const { subnetId, trunkId } = await trunkedInstance(h.ec2, 'm5.large', freshCidr());
  const branchId = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  const first = await associate(h.ec2, trunkId, branchId, 9, { ClientToken: 'retry-1' });
  const retry = await associate(h.ec2, trunkId, branchId, 9, { ClientToken: 'retry-1' });
  assert.equal(retry.InterfaceAssociation!.AssociationId, first.InterfaceAssociation!.AssociationId);
  const listed = await h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: [{ Name: 'trunk-interface-association.trunk-interface-id', Values: [trunkId] }] }));
  assert.equal(listed.InterfaceAssociations!.length, 1);
  await rejectsWith(associate(h.ec2, trunkId, branchId, 10, { ClientToken: 'retry-1' }), 'IdempotentParameterMismatch');
  await rejectsWith(associate(h.ec2, trunkId, branchId, 10, { ClientToken: 'x'.repeat(65) }), 'InvalidParameterValue', { message: 'clientToken' });

  const id = first.InterfaceAssociation!.AssociationId!;
  assert.equal((await h.ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: id, ClientToken: 'undo-1' }))).Return, true);
  assert.equal((await h.ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: id, ClientToken: 'undo-1' }))).Return, true, 'a retry of a disassociation that happened');
  // without a token of its own the SDK makes a new one: the association is gone
  await rejectsWith(h.ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: id })), 'InvalidAssociationID.NotFound', { message: `The association ID '${id}' does not exist` });
  await rejectsWith(h.ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: 'assoc-1' })), 'InvalidAssociationID.Malformed');
});

test('DescribeTrunkInterfaceAssociations: by ID (unknown ones named), by filters, in pages of MaxResults 5–255', async () => {
  const { subnetId, trunkId } = await trunkedInstance(h.ec2, 'm5.large', freshCidr());
  const ids: string[] = [];
  const branches: string[] = [];
  for (let vlan = 101; vlan <= 107; vlan++) {
    const b = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
    branches.push(b);
    ids.push((await associate(h.ec2, trunkId, b, vlan)).InterfaceAssociation!.AssociationId!);
  }
  const byId = await h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ AssociationIds: [ids[2]!] }));
  assert.deepEqual(byId.InterfaceAssociations!.map((a) => [a.BranchInterfaceId, a.VlanId]), [[branches[2], 103]]);
  await rejectsWith(
    h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ AssociationIds: [ids[0]!, 'trunk-assoc-0123456789abcdef0'] })),
    'InvalidAssociationID.NotFound',
    { message: "'trunk-assoc-0123456789abcdef0'" },
  );
  const byBranch = await h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: [{ Name: 'trunk-interface-association.branch-interface-id', Values: [branches[4]!] }] }));
  assert.deepEqual(byBranch.InterfaceAssociations!.map((a) => a.AssociationId), [ids[4]]);
  const byVlan = await h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: [{ Name: 'vlan-id', Values: ['106'] }, { Name: 'interface-protocol', Values: ['VLAN'] }] }));
  assert.deepEqual(byVlan.InterfaceAssociations!.map((a) => a.AssociationId), [ids[5]]);
  const gre = await h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: [{ Name: 'interface-protocol', Values: ['GRE'] }] }));
  assert.deepEqual(gre.InterfaceAssociations, []);
  await rejectsWith(h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: [{ Name: 'trunk-id', Values: [trunkId] }] })), 'InvalidParameterValue', { message: "The filter 'trunk-id' is invalid" });

  const filter = [{ Name: 'trunk-interface-association.trunk-interface-id', Values: [trunkId] }];
  const page1 = await h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: filter, MaxResults: 5 }));
  assert.equal(page1.InterfaceAssociations!.length, 5);
  assert.ok(page1.NextToken);
  const page2 = await h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: filter, MaxResults: 5, NextToken: page1.NextToken }));
  assert.deepEqual([...page1.InterfaceAssociations!, ...page2.InterfaceAssociations!].map((a) => a.AssociationId), ids);
  assert.equal(page2.NextToken, undefined);
  await rejectsWith(h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ MaxResults: 4 })), 'InvalidParameterValue', { message: 'between 5 and 255' });
  await rejectsWith(h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ MaxResults: 256 })), 'InvalidParameterValue');
  await rejectsWith(h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ AssociationIds: [ids[0]!], MaxResults: 5 })), 'InvalidParameterCombination');
});

test('deleting an associated branch takes its association with it; deleting a (detached) trunk frees its branches as plain ENIs', async () => {
  const { subnetId, instanceId, trunkId } = await trunkedInstance(h.ec2, 'm5.large', freshCidr());
  const a = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  const b = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  const c = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  const assocA = (await associate(h.ec2, trunkId, a, 1)).InterfaceAssociation!.AssociationId!;
  await associate(h.ec2, trunkId, b, 2);
  await associate(h.ec2, trunkId, c, 3);
  const events: MappingEvent[] = [];
  const stop = h.server.state.onMapping((e) => events.push(e));
  try {
    await h.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: a }));
    assert.deepEqual(events, [{ type: 'eni-deleted', eniId: a }]);
    await rejectsWith(h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ AssociationIds: [assocA] })), 'InvalidAssociationID.NotFound');

    // an attached trunk is in use, as any attached ENI
    await rejectsWith(h.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: trunkId })), 'InvalidNetworkInterface.InUse');
    const attachmentId = (await describeEni(h.ec2, trunkId)).Attachment!.AttachmentId!;
    await h.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId }));
    events.length = 0;
    await h.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: trunkId }));
    for (const branch of [b, c]) {
      const left = await describeEni(h.ec2, branch);
      assert.equal(left.InterfaceType, 'interface');
      assert.equal(left.Status, 'available');
      const event = events.find((e) => e.type === 'eni' && e.eni.eniId === branch) as Extract<MappingEvent, { type: 'eni' }> | undefined;
      assert.ok(event, `an eni event for ${branch}`);
      assert.equal(event.eni.trunk, undefined);
    }
    assert.ok(events.some((e) => e.type === 'eni-deleted' && e.eniId === trunkId));
    const left = await h.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: [{ Name: 'trunk-interface-association.trunk-interface-id', Values: [trunkId] }] }));
    assert.deepEqual(left.InterfaceAssociations, []);
    // the instance can take a new trunk
    const next = await createEni(h.ec2, subnetId, { InterfaceType: 'trunk' });
    await h.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: next.NetworkInterfaceId!, InstanceId: instanceId, DeviceIndex: 1 }));
  } finally {
    stop();
  }
});

test('a refused association publishes nothing and leaves no row behind', async () => {
  const { subnetId, trunkId } = await trunkedInstance(h.ec2, 'm5.large', freshCidr());
  const branch = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  await associate(h.ec2, trunkId, branch, 1);
  const other = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  const events: MappingEvent[] = [];
  const stop = h.server.state.onMapping((e) => events.push(e));
  try {
    await rejectsWith(associate(h.ec2, trunkId, other, 1), 'InvalidVlanId.Duplicate');
  } finally {
    stop();
  }
  assert.deepEqual(events, []);
  assert.equal(h.server.state.eniMapping(other)!.trunk, undefined);
});
