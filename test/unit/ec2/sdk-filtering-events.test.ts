/**
 * The events a fabric follows for filtering: every action that changes security groups, their rules, network ACLs,
 * their entries or associations publishes exactly one `filtering` event after its commit; an ENI's new groups are an
 * `eni` event carrying them; reads and failed actions publish nothing.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DeleteNetworkAclCommand,
  DeleteNetworkAclEntryCommand,
  DeleteSecurityGroupCommand,
  DeleteSubnetCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupsCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ReplaceNetworkAclAssociationCommand,
  ReplaceNetworkAclEntryCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import type { MappingEvent } from '../../../src/ec2/index.js';
import { createEni, createVpcWithSubnet, emulatorForFile, rejectsWith } from './sdk-harness.js';

const h = emulatorForFile();

/** The events `call` publishes (it may fail: then the list is what a failure published). */
async function eventsOf(call: () => Promise<unknown>): Promise<MappingEvent[]> {
  const events: MappingEvent[] = [];
  const stop = h.server.state.onMapping((e) => events.push(e));
  try {
    await call();
  } finally {
    stop();
  }
  return events;
}

const filtering: MappingEvent[] = [{ type: 'filtering' }];
const web = { IpProtocol: 'tcp', FromPort: 443, ToPort: 443, IpRanges: [{ CidrIp: '10.9.0.0/16' }] };

test('security-group actions each publish one filtering event; reads and refusals publish none', async () => {
  const { vpcId } = await createVpcWithSubnet(h.ec2, { ipv6: false });
  let groupId = '';
  assert.deepEqual(await eventsOf(async () => {
    groupId = (await h.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'web', Description: 'web' }))).GroupId!;
  }), filtering);
  assert.deepEqual(await eventsOf(() => h.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [web] }))), filtering);
  assert.deepEqual(await eventsOf(() => h.ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: groupId, IpPermissions: [web] }))), filtering);
  assert.deepEqual(await eventsOf(() => h.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [groupId] }))), []);
  assert.deepEqual(await eventsOf(() => rejectsWith(h.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [web] })), 'InvalidPermission.Duplicate')), []);
  assert.deepEqual(await eventsOf(() => h.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: groupId, IpPermissions: [web] }))), filtering);
  assert.deepEqual(await eventsOf(() => h.ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: groupId, IpPermissions: [web] }))), filtering);
  assert.deepEqual(await eventsOf(() => rejectsWith(h.ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: groupId, IpPermissions: [web] })), 'InvalidPermission.NotFound')), []);
  assert.deepEqual(await eventsOf(() => h.ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId }))), filtering);
  assert.deepEqual(await eventsOf(() => rejectsWith(h.ec2.send(new DeleteSecurityGroupCommand({ GroupId: groupId })), 'InvalidGroup.NotFound')), []);
});

test('a new VPC (its default group and ACL) and a new or deleted subnet (its ACL association) publish a filtering event', async () => {
  let vpcId = '';
  assert.deepEqual(await eventsOf(async () => {
    vpcId = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.40.0.0/16' }))).Vpc!.VpcId!;
  }), filtering);
  let subnetId = '';
  assert.deepEqual(await eventsOf(async () => {
    subnetId = (await h.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.40.1.0/24', AvailabilityZone: 'us-west-2a' }))).Subnet!.SubnetId!;
  }), filtering);
  assert.deepEqual(await eventsOf(() => h.ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId }))), filtering);
  const left = await h.ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }));
  assert.deepEqual(left.NetworkAcls!.flatMap((a) => a.Associations ?? []), []);
});

test('network-ACL actions each publish one filtering event; refusals publish none', async () => {
  const { vpcId, subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.41.0.0/16', subnetCidr: '10.41.1.0/24', ipv6: false });
  let aclId = '';
  assert.deepEqual(await eventsOf(async () => {
    aclId = (await h.ec2.send(new CreateNetworkAclCommand({ VpcId: vpcId }))).NetworkAcl!.NetworkAclId!;
  }), filtering);
  const entry = { NetworkAclId: aclId, RuleNumber: 100, Protocol: '6', RuleAction: 'allow' as const, Egress: false, CidrBlock: '10.9.0.0/16', PortRange: { From: 80, To: 80 } };
  assert.deepEqual(await eventsOf(() => h.ec2.send(new CreateNetworkAclEntryCommand(entry))), filtering);
  assert.deepEqual(await eventsOf(() => rejectsWith(h.ec2.send(new CreateNetworkAclEntryCommand(entry)), 'NetworkAclEntryAlreadyExists')), []);
  assert.deepEqual(await eventsOf(() => rejectsWith(h.ec2.send(new CreateNetworkAclEntryCommand({ ...entry, RuleNumber: 32767 })), 'InvalidParameterValue')), []);
  assert.deepEqual(await eventsOf(() => h.ec2.send(new ReplaceNetworkAclEntryCommand({ ...entry, RuleAction: 'deny' }))), filtering);
  const current = (await h.ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }))).NetworkAcls![0]!;
  const associationId = current.Associations!.find((a) => a.SubnetId === subnetId)!.NetworkAclAssociationId!;
  assert.deepEqual(await eventsOf(() => rejectsWith(h.ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: current.NetworkAclId! })), 'InvalidParameterValue')), []);
  let moved = '';
  assert.deepEqual(await eventsOf(async () => {
    moved = (await h.ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: associationId, NetworkAclId: aclId }))).NewAssociationId!;
  }), filtering);
  assert.deepEqual(await eventsOf(() => rejectsWith(h.ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: aclId })), 'DependencyViolation')), []);
  assert.deepEqual(await eventsOf(() => h.ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: moved, NetworkAclId: current.NetworkAclId! }))), filtering);
  assert.deepEqual(await eventsOf(() => h.ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 100, Egress: false }))), filtering);
  assert.deepEqual(await eventsOf(() => rejectsWith(h.ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: aclId, RuleNumber: 100, Egress: false })), 'InvalidNetworkAclEntry.NotFound')), []);
  assert.deepEqual(await eventsOf(() => h.ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: aclId }))), filtering);
});

test('an ENI\'s new groups are one eni event with exactly those groups; another attribute or an unknown group publishes none', async () => {
  const { vpcId, subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.42.0.0/16', subnetCidr: '10.42.1.0/24', ipv6: false });
  const group = async (name: string) => (await h.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: name, Description: name }))).GroupId!;
  const [a, b] = [await group('a'), await group('b')];
  const eni = await createEni(h.ec2, subnetId, { Groups: [a] });
  assert.deepEqual(h.server.state.mappingSnapshot().find((m) => m.eniId === eni.NetworkInterfaceId)!.groupIds, [a]);
  const events = await eventsOf(() => h.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, Groups: [b, a] })));
  assert.deepEqual(events, [{ type: 'eni', eni: { ...h.server.state.eniMapping(eni.NetworkInterfaceId!)!, groupIds: [b, a] } }]);
  assert.deepEqual(await eventsOf(() => h.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, Description: { Value: 'x' } }))), []);
  assert.deepEqual(await eventsOf(() => rejectsWith(h.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.NetworkInterfaceId, Groups: ['sg-0123456789abcdef0'] })), 'InvalidGroup.NotFound')), []);
  assert.deepEqual(h.server.state.eniMapping(eni.NetworkInterfaceId!)!.groupIds, [b, a]);
});

test('the HTTP event stream carries the filtering event and the ENI\'s groups', async () => {
  const { vpcId, subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.43.0.0/16', subnetCidr: '10.43.1.0/24', ipv6: false });
  const eni = await createEni(h.ec2, subnetId);
  const controller = new AbortController();
  const res = await fetch(`${h.server.ec2Url}/_podnet/events`, { signal: controller.signal });
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  const next = async (): Promise<MappingEvent> => {
    while (!buffered.includes('\n')) buffered += decoder.decode((await reader.read()).value, { stream: true });
    const line = buffered.slice(0, buffered.indexOf('\n'));
    buffered = buffered.slice(line.length + 1);
    return JSON.parse(line) as MappingEvent;
  };
  const snapshot = await next();
  assert.ok(snapshot.type === 'snapshot');
  assert.deepEqual(snapshot.enis.find((e) => e.eniId === eni.NetworkInterfaceId)!.groupIds, [eni.Groups![0]!.GroupId]);
  await h.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'streamed', Description: 'x' }));
  assert.deepEqual(await next(), { type: 'filtering' });
  controller.abort();
});
