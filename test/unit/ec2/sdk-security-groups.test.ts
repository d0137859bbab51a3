/**
 * Security-group actions through the SDK: revoking rules as EC2 matches them, deleting groups with EC2's
 * refusals, group references in rules, the default egress rule, and an ENI's groups changed live.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateSecurityGroupCommand,
  CreateVpcCommand,
  DeleteSecurityGroupCommand,
  DescribeSecurityGroupsCommand,
  ModifyNetworkInterfaceAttributeCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  type EC2Client,
  type SecurityGroup,
} from '@aws-sdk/client-ec2';
import { createEni, createVpcWithSubnet, describeEni, emulatorForFile, rejectsWith } from './sdk-harness.js';

const h = emulatorForFile();

async function createGroup(ec2: EC2Client, vpcId: string, name: string): Promise<string> {
  return (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: name, Description: name }))).GroupId!;
}

async function group(ec2: EC2Client, id: string): Promise<SecurityGroup> {
  return (await ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }))).SecurityGroups![0]!;
}

const ssh = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.1.0.0/16' }] };

test('a new group allows all egress and no ingress; revoking the default egress rule leaves none', async () => {
  const { vpcId } = await createVpcWithSubnet(h.ec2);
  const id = await createGroup(h.ec2, vpcId, 'fresh');
  const fresh = await group(h.ec2, id);
  assert.deepEqual(fresh.IpPermissions, []);
  assert.equal(fresh.IpPermissionsEgress!.length, 1);
  assert.equal(fresh.IpPermissionsEgress![0]!.IpProtocol, '-1');
  assert.equal(fresh.IpPermissionsEgress![0]!.IpRanges![0]!.CidrIp, '0.0.0.0/0');
  await h.ec2.send(new RevokeSecurityGroupEgressCommand({
    GroupId: id, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
  }));
  assert.deepEqual((await group(h.ec2, id)).IpPermissionsEgress, []);
  await rejectsWith(h.ec2.send(new RevokeSecurityGroupEgressCommand({
    GroupId: id, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }],
  })), 'InvalidPermission.NotFound');
});

test('ingress rules are revoked by IpPermissions as stored, or by rule ID; a near miss is InvalidPermission.NotFound', async () => {
  const { vpcId } = await createVpcWithSubnet(h.ec2);
  const id = await createGroup(h.ec2, vpcId, 'nodes');
  const peer = await createGroup(h.ec2, vpcId, 'peers');
  const res = await h.ec2.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId: id,
    IpPermissions: [ssh, { IpProtocol: 'tcp', FromPort: 7007, ToPort: 7007, UserIdGroupPairs: [{ GroupId: peer }] }],
  }));
  assert.equal(res.SecurityGroupRules!.length, 2);
  const withRef = await group(h.ec2, id);
  assert.equal(withRef.IpPermissions!.find((p) => p.FromPort === 7007)!.UserIdGroupPairs![0]!.GroupId, peer);

  await rejectsWith(h.ec2.send(new RevokeSecurityGroupIngressCommand({
    GroupId: id, IpPermissions: [{ ...ssh, ToPort: 23 }],
  })), 'InvalidPermission.NotFound');
  await h.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [ssh] }));
  assert.equal((await group(h.ec2, id)).IpPermissions!.length, 1);

  const refRule = res.SecurityGroupRules!.find((r) => r.ReferencedGroupInfo?.GroupId === peer)!;
  await h.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, SecurityGroupRuleIds: [refRule.SecurityGroupRuleId!] }));
  assert.deepEqual((await group(h.ec2, id)).IpPermissions, []);
  await rejectsWith(h.ec2.send(new RevokeSecurityGroupIngressCommand({
    GroupId: id, SecurityGroupRuleIds: [refRule.SecurityGroupRuleId!],
  })), 'InvalidSecurityGroupRuleId.NotFound');
  await rejectsWith(h.ec2.send(new RevokeSecurityGroupIngressCommand({
    GroupId: 'sg-0123456789abcdef0', IpPermissions: [ssh],
  })), 'InvalidGroup.NotFound');
});

test('egress to a referenced group is authorized and revoked; a group of another VPC is refused', async () => {
  const { vpcId } = await createVpcWithSubnet(h.ec2);
  const id = await createGroup(h.ec2, vpcId, 'web');
  const db = await createGroup(h.ec2, vpcId, 'db');
  const other = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }))).Vpc!.VpcId!;
  const foreign = await createGroup(h.ec2, other, 'foreign');
  const toDb = { IpProtocol: 'tcp', FromPort: 5432, ToPort: 5432, UserIdGroupPairs: [{ GroupId: db }] };
  await h.ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: [toDb] }));
  await rejectsWith(h.ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: [toDb] })), 'InvalidPermission.Duplicate');
  await rejectsWith(h.ec2.send(new AuthorizeSecurityGroupEgressCommand({
    GroupId: id, IpPermissions: [{ ...toDb, UserIdGroupPairs: [{ GroupId: foreign }] }],
  })), 'InvalidParameterValue');
  await h.ec2.send(new RevokeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: [toDb] }));
  assert.equal((await group(h.ec2, id)).IpPermissionsEgress!.length, 1);
});

test('DeleteSecurityGroup: CannotDelete for the default group, DependencyViolation while used or referenced', async () => {
  const { vpcId, subnetId } = await createVpcWithSubnet(h.ec2);
  const defaultId = (await h.ec2.send(new DescribeSecurityGroupsCommand({
    Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'group-name', Values: ['default'] }],
  }))).SecurityGroups![0]!.GroupId!;
  await rejectsWith(h.ec2.send(new DeleteSecurityGroupCommand({ GroupId: defaultId })), 'CannotDelete');

  const used = await createGroup(h.ec2, vpcId, 'used');
  const eni = await createEni(h.ec2, subnetId, { Groups: [used] });
  await rejectsWith(h.ec2.send(new DeleteSecurityGroupCommand({ GroupId: used })), 'DependencyViolation');

  const referenced = await createGroup(h.ec2, vpcId, 'referenced');
  const referrer = await createGroup(h.ec2, vpcId, 'referrer');
  await h.ec2.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId: referrer, IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: referenced }] }],
  }));
  await rejectsWith(h.ec2.send(new DeleteSecurityGroupCommand({ GroupId: referenced })), 'DependencyViolation');

  // a group referencing itself is no obstacle, and once the ENI moves off `used` it can go
  await h.ec2.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId: referrer, IpPermissions: [{ IpProtocol: '-1', UserIdGroupPairs: [{ GroupId: referrer }] }],
  }));
  await h.ec2.send(new DeleteSecurityGroupCommand({ GroupId: referrer }));
  await h.ec2.send(new DeleteSecurityGroupCommand({ GroupId: referenced }));
  await h.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eni.NetworkInterfaceId!, Groups: [defaultId] }));
  await h.ec2.send(new DeleteSecurityGroupCommand({ GroupId: used }));
  await rejectsWith(h.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [used] })), 'InvalidGroup.NotFound');
  await rejectsWith(h.ec2.send(new DeleteSecurityGroupCommand({ GroupId: used })), 'InvalidGroup.NotFound');
});

test('ModifyNetworkInterfaceAttribute Groups replaces an ENI\'s groups; unknown or foreign groups are refused', async () => {
  const { vpcId, subnetId } = await createVpcWithSubnet(h.ec2);
  const a = await createGroup(h.ec2, vpcId, 'a');
  const b = await createGroup(h.ec2, vpcId, 'b');
  const eni = await createEni(h.ec2, subnetId, { Groups: [a] });
  const eniId = eni.NetworkInterfaceId!;
  await h.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Groups: [a, b] }));
  assert.deepEqual((await describeEni(h.ec2, eniId)).Groups!.map((g) => g.GroupId).sort(), [a, b].sort());
  await h.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Groups: [b] }));
  assert.deepEqual((await describeEni(h.ec2, eniId)).Groups!.map((g) => [g.GroupId, g.GroupName]), [[b, 'b']]);

  await rejectsWith(h.ec2.send(new ModifyNetworkInterfaceAttributeCommand({
    NetworkInterfaceId: eniId, Groups: ['sg-0123456789abcdef0'],
  })), 'InvalidGroup.NotFound');
  const other = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.8.0.0/16' }))).Vpc!.VpcId!;
  const foreign = await createGroup(h.ec2, other, 'foreign');
  await rejectsWith(h.ec2.send(new ModifyNetworkInterfaceAttributeCommand({
    NetworkInterfaceId: eniId, Groups: [foreign],
  })), 'InvalidParameterValue');
  assert.deepEqual((await describeEni(h.ec2, eniId)).Groups!.map((g) => g.GroupId), [b]);
});
