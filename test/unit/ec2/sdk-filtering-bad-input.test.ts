/**
 * Bad input to the security-group and network-ACL actions, answered with EC2's codes: unknown groups and ACLs
 * wherever they are named, ports where EC2 ignores them (all protocols), and what the topology loader refuses
 * before EC2 is asked (a port range on protocol all, rule numbers outside 1..32766).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateNetworkAclEntryCommand,
  CreateNetworkAclCommand,
  CreateSecurityGroupCommand,
  DeleteNetworkAclCommand,
  DescribeNetworkAclsCommand,
  DescribeSecurityGroupsCommand,
  ReplaceNetworkAclAssociationCommand,
  RevokeSecurityGroupIngressCommand,
} from '@aws-sdk/client-ec2';
import { parseTopology } from '../../../src/vpc/index.js';
import { createEni, createVpcWithSubnet, emulatorForFile, rejectsWith } from './sdk-harness.js';

const h = emulatorForFile();
const unknownGroup = 'sg-0123456789abcdef0';
const unknownAcl = 'acl-0123456789abcdef0';
const ssh = { IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '10.9.0.0/16' }] };

test('an unknown group is InvalidGroup.NotFound wherever it is named; a malformed ID is InvalidGroupId.Malformed', async () => {
  const { vpcId, subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.50.0.0/16', subnetCidr: '10.50.1.0/24', ipv6: false });
  const known = (await h.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'known', Description: 'x' }))).GroupId!;
  const named = { message: unknownGroup };
  await rejectsWith(h.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: unknownGroup, IpPermissions: [ssh] })), 'InvalidGroup.NotFound', named);
  await rejectsWith(h.ec2.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: unknownGroup, IpPermissions: [ssh] })), 'InvalidGroup.NotFound', named);
  await rejectsWith(h.ec2.send(new RevokeSecurityGroupIngressCommand({ GroupId: unknownGroup, IpPermissions: [ssh] })), 'InvalidGroup.NotFound', named);
  // as a rule's peer
  await rejectsWith(h.ec2.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId: known, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, UserIdGroupPairs: [{ GroupId: unknownGroup }] }],
  })), 'InvalidGroup.NotFound', named);
  await rejectsWith(createEni(h.ec2, subnetId, { Groups: [unknownGroup] }), 'InvalidGroup.NotFound', named);
  await rejectsWith(h.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: 'web-servers', IpPermissions: [ssh] })), 'InvalidGroupId.Malformed');
  // nothing of the refused calls stayed behind
  const group = (await h.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [known] }))).SecurityGroups![0]!;
  assert.deepEqual(group.IpPermissions, []);
});

test('ports on protocol -1 (and on a protocol without ports) are ignored, as EC2 does: the rule covers every port', async () => {
  const { vpcId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.51.0.0/16', subnetCidr: '10.51.1.0/24', ipv6: false });
  const id = (await h.ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'all', Description: 'x' }))).GroupId!;
  await h.ec2.send(new AuthorizeSecurityGroupIngressCommand({
    GroupId: id,
    IpPermissions: [
      { IpProtocol: '-1', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '10.9.0.0/16' }] },
      { IpProtocol: '47', FromPort: 1, ToPort: 2, IpRanges: [{ CidrIp: '10.9.0.0/16' }] },
    ],
  }));
  const listed = (await h.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }))).SecurityGroups![0]!.IpPermissions!;
  assert.deepEqual(listed.map((p) => [p.IpProtocol, p.FromPort ?? null, p.ToPort ?? null]), [['-1', null, null], ['47', -1, -1]]);
  // the same rule again, without the ports, is the same rule
  await rejectsWith(h.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '10.9.0.0/16' }] }] })), 'InvalidPermission.Duplicate');

  const acl = (await h.ec2.send(new CreateNetworkAclCommand({ VpcId: vpcId }))).NetworkAcl!.NetworkAclId!;
  await h.ec2.send(new CreateNetworkAclEntryCommand({ NetworkAclId: acl, RuleNumber: 10, Protocol: '-1', RuleAction: 'allow', Egress: false, CidrBlock: '10.9.0.0/16', PortRange: { From: 80, To: 80 } }));
  const entry = (await h.ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [acl] }))).NetworkAcls![0]!.Entries!.find((e) => e.RuleNumber === 10)!;
  assert.equal(entry.Protocol, '-1');
  assert.equal(entry.PortRange, undefined);
});

test('an unknown ACL is InvalidNetworkAclID.NotFound for associations and deletion', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.52.0.0/16', subnetCidr: '10.52.1.0/24', ipv6: false });
  const current = (await h.ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }))).NetworkAcls![0]!;
  const associationId = current.Associations!.find((a) => a.SubnetId === subnetId)!.NetworkAclAssociationId!;
  await rejectsWith(h.ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: associationId, NetworkAclId: unknownAcl })), 'InvalidNetworkAclID.NotFound', { message: unknownAcl });
  await rejectsWith(h.ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: unknownAcl })), 'InvalidNetworkAclID.NotFound');
  // the subnet kept its association
  const after = (await h.ec2.send(new DescribeNetworkAclsCommand({ Filters: [{ Name: 'association.subnet-id', Values: [subnetId] }] }))).NetworkAcls![0]!;
  assert.equal(after.NetworkAclId, current.NetworkAclId);
});

test('the topology loader refuses a port range on protocol all and rule numbers outside 1..32766, by field path', () => {
  const base = { vpcs: [{ name: 'v', cidr: '10.0.0.0/16' }], subnets: [{ name: 's', vpc: 'v', az: 'us-west-2a', cidr: '10.0.1.0/24' }] };
  assert.throws(() => parseTopology({ ...base, securityGroups: [{ name: 'g', vpc: 'v', ingress: [{ protocol: 'all', ports: 80, cidr: '10.0.0.0/8' }] }] }), /securityGroups\[0\]\.ingress\[0\]\.ports/);
  const acl = (rule: number, extra: object = {}) => ({ ...base, networkAcls: [{ name: 'a', vpc: 'v', ingress: [{ rule, protocol: 'tcp', ports: 80, cidr: '0.0.0.0/0', action: 'allow', ...extra }] }] });
  assert.throws(() => parseTopology(acl(0)), /networkAcls\[0\]\.ingress\[0\]\.rule/);
  assert.throws(() => parseTopology(acl(32767)), /networkAcls\[0\]\.ingress\[0\]\.rule/);
  assert.throws(() => parseTopology(acl(5, { protocol: '-1' })), /networkAcls\[0\]\.ingress\[0\]\.ports/);
  assert.throws(() => parseTopology({ ...base, securityGroups: [{ name: 'g', vpc: 'v', ingress: [{ protocol: 'tcp', ports: 80, sg: 'nope' }] }] }), /securityGroups\[0\]\.ingress\[0\]\.sg: no security group named 'nope'/);
});
