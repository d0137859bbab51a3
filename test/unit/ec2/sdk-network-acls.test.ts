/**
 * Network-ACL actions through the SDK: the default ACL of a VPC and its subnets, entries (create, replace,
 * delete, with EC2's validation), association replacement, DescribeNetworkAcls filters and deletion refusals.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import {
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateSubnetCommand,
  DeleteNetworkAclCommand,
  DeleteNetworkAclEntryCommand,
  DeleteSubnetCommand,
  DeleteVpcCommand,
  DescribeNetworkAclsCommand,
  ReplaceNetworkAclAssociationCommand,
  ReplaceNetworkAclEntryCommand,
  type CreateNetworkAclEntryRequest,
  type EC2Client,
  type NetworkAcl,
} from '@aws-sdk/client-ec2';
import { createVpcWithSubnet, emulatorForFile, rejectsWith, startEmulator } from './sdk-harness.js';

const h = emulatorForFile();

async function acls(ec2: EC2Client, filters: Record<string, string[]>): Promise<NetworkAcl[]> {
  const Filters = Object.entries(filters).map(([Name, Values]) => ({ Name, Values }));
  return (await ec2.send(new DescribeNetworkAclsCommand({ Filters }))).NetworkAcls!;
}

async function acl(ec2: EC2Client, id: string): Promise<NetworkAcl> {
  return (await ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [id] }))).NetworkAcls![0]!;
}

/** An ACL's entries as `egress rule action protocol cidr [from-to]`, in EC2's order. */
function entries(a: NetworkAcl): string[] {
  return a.Entries!.map((e) =>
    [e.Egress ? 'out' : 'in', e.RuleNumber, e.RuleAction, e.Protocol, e.CidrBlock ?? e.Ipv6CidrBlock,
      e.PortRange ? `${e.PortRange.From}-${e.PortRange.To}` : ''].join(' ').trim());
}

test('CreateVpc makes a default ACL (rule 100 allow, the * deny as 32767) and CreateSubnet associates it', async () => {
  const { vpcId, subnetId } = await createVpcWithSubnet(h.ec2, { ipv6: false });
  const [def, ...rest] = await acls(h.ec2, { 'vpc-id': [vpcId] });
  assert.equal(rest.length, 0);
  assert.equal(def!.IsDefault, true);
  assert.deepEqual(entries(def!), [
    'out 100 allow -1 0.0.0.0/0', 'out 32767 deny -1 0.0.0.0/0', 'in 100 allow -1 0.0.0.0/0', 'in 32767 deny -1 0.0.0.0/0',
  ]);
  assert.deepEqual(def!.Associations!.map((a) => a.SubnetId), [subnetId]);
  const bySubnet = await acls(h.ec2, { 'association.subnet-id': [subnetId] });
  assert.deepEqual(bySubnet.map((a) => a.NetworkAclId), [def!.NetworkAclId]);
  assert.equal((await acls(h.ec2, { 'vpc-id': [vpcId], default: ['false'] })).length, 0);

  const { vpcId: v6 } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.2.0.0/16', subnetCidr: '10.2.1.0/24' });
  const [dual] = await acls(h.ec2, { 'vpc-id': [v6] });
  assert.deepEqual(entries(dual!).filter((e) => e.startsWith('in')), [
    'in 100 allow -1 0.0.0.0/0', 'in 101 allow -1 ::/0', 'in 32767 deny -1 0.0.0.0/0', 'in 32768 deny -1 ::/0',
  ]);
});

test('entries: create, replace, delete, with EC2\'s codes for duplicates, absent rules and bad values', async () => {
  const { vpcId } = await createVpcWithSubnet(h.ec2, { ipv6: false });
  const id = (await h.ec2.send(new CreateNetworkAclCommand({
    VpcId: vpcId, TagSpecifications: [{ ResourceType: 'network-acl', Tags: [{ Key: 'Name', Value: 'tight' }] }],
  }))).NetworkAcl!.NetworkAclId!;
  assert.deepEqual(entries(await acl(h.ec2, id)), ['out 32767 deny -1 0.0.0.0/0', 'in 32767 deny -1 0.0.0.0/0']);
  assert.deepEqual((await acls(h.ec2, { 'tag:Name': ['tight'] })).map((a) => a.NetworkAclId), [id]);

  const ssh: CreateNetworkAclEntryRequest = {
    NetworkAclId: id, RuleNumber: 100, Protocol: '6', RuleAction: 'allow', Egress: false, CidrBlock: '10.1.0.0/16',
    PortRange: { From: 22, To: 22 },
  };
  await h.ec2.send(new CreateNetworkAclEntryCommand(ssh));
  await h.ec2.send(new CreateNetworkAclEntryCommand({ ...ssh, Egress: true, RuleNumber: 100, PortRange: { From: 1024, To: 65535 } }));
  await h.ec2.send(new CreateNetworkAclEntryCommand({
    NetworkAclId: id, RuleNumber: 90, Protocol: '-1', RuleAction: 'deny', Egress: false, CidrBlock: '10.1.9.0/24',
    PortRange: { From: 1, To: 2 }, // ignored for protocol -1, as EC2 does
  }));
  await h.ec2.send(new CreateNetworkAclEntryCommand({
    NetworkAclId: id, RuleNumber: 110, Protocol: '1', RuleAction: 'allow', Egress: false, CidrBlock: '0.0.0.0/0',
    IcmpTypeCode: { Type: -1, Code: -1 },
  }));
  assert.deepEqual(entries(await acl(h.ec2, id)), [
    'out 100 allow 6 10.1.0.0/16 1024-65535', 'out 32767 deny -1 0.0.0.0/0',
    'in 90 deny -1 10.1.9.0/24', 'in 100 allow 6 10.1.0.0/16 22-22', 'in 110 allow 1 0.0.0.0/0', 'in 32767 deny -1 0.0.0.0/0',
  ]);
  const icmp = (await acl(h.ec2, id)).Entries!.find((e) => e.RuleNumber === 110)!;
  assert.deepEqual(icmp.IcmpTypeCode, { Type: -1, Code: -1 });

  await rejectsWith(h.ec2.send(new CreateNetworkAclEntryCommand(ssh)), 'NetworkAclEntryAlreadyExists');
  await rejectsWith(h.ec2.send(new CreateNetworkAclEntryCommand({ ...ssh, RuleNumber: 0 })), 'InvalidParameterValue');
  await rejectsWith(h.ec2.send(new CreateNetworkAclEntryCommand({ ...ssh, RuleNumber: 32767 })), 'InvalidParameterValue', { message: /1\.\.32766/ });
  await rejectsWith(h.ec2.send(new CreateNetworkAclEntryCommand({ ...ssh, RuleNumber: 5, RuleAction: 'maybe' as 'allow' })), 'InvalidParameterValue');
  await rejectsWith(h.ec2.send(new CreateNetworkAclEntryCommand({ ...ssh, RuleNumber: 5, PortRange: { From: 90, To: 80 } })), 'InvalidParameterValue');
  await rejectsWith(h.ec2.send(new CreateNetworkAclEntryCommand({ ...ssh, RuleNumber: 5, PortRange: undefined })), 'InvalidParameterValue');
  await rejectsWith(h.ec2.send(new CreateNetworkAclEntryCommand({ ...ssh, RuleNumber: 5, Protocol: 'tcp' })), 'InvalidParameterValue', { message: /Unknown protocol/ });
  await rejectsWith(h.ec2.send(new CreateNetworkAclEntryCommand({ ...ssh, RuleNumber: 5, CidrBlock: '10.1.0.1/16' })), 'InvalidParameterValue');
  await rejectsWith(h.ec2.send(new CreateNetworkAclEntryCommand({ ...ssh, NetworkAclId: 'acl-0123456789abcdef0' })), 'InvalidNetworkAclID.NotFound');

  await h.ec2.send(new ReplaceNetworkAclEntryCommand({ ...ssh, RuleAction: 'deny', PortRange: { From: 22, To: 23 } }));
  assert.ok(entries(await acl(h.ec2, id)).includes('in 100 deny 6 10.1.0.0/16 22-23'));
  await rejectsWith(h.ec2.send(new ReplaceNetworkAclEntryCommand({ ...ssh, RuleNumber: 200 })), 'InvalidNetworkAclEntry.NotFound');

  await h.ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 100, Egress: true }));
  await rejectsWith(h.ec2.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: 100, Egress: true })), 'InvalidNetworkAclEntry.NotFound');
  assert.ok(entries(await acl(h.ec2, id)).includes('in 100 deny 6 10.1.0.0/16 22-23'));
});

test('ReplaceNetworkAclAssociation moves a subnet and returns a new association ID; deletion refusals', async () => {
  const { vpcId, subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.3.0.0/16', subnetCidr: '10.3.1.0/24', ipv6: false });
  const [def] = await acls(h.ec2, { 'vpc-id': [vpcId] });
  const custom = (await h.ec2.send(new CreateNetworkAclCommand({ VpcId: vpcId }))).NetworkAcl!.NetworkAclId!;
  const oldAssociation = def!.Associations![0]!.NetworkAclAssociationId!;

  const { NewAssociationId } = await h.ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: oldAssociation, NetworkAclId: custom }));
  assert.ok(NewAssociationId && NewAssociationId !== oldAssociation && NewAssociationId.startsWith('aclassoc-'));
  assert.deepEqual((await acls(h.ec2, { 'association.association-id': [NewAssociationId] })).map((a) => a.NetworkAclId), [custom]);
  assert.deepEqual((await acl(h.ec2, def!.NetworkAclId!)).Associations, []);
  await rejectsWith(h.ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: oldAssociation, NetworkAclId: custom })), 'InvalidAssociationID.NotFound');

  const { vpcId: otherVpc } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.4.0.0/16', subnetCidr: '10.4.1.0/24', ipv6: false });
  const [foreign] = await acls(h.ec2, { 'vpc-id': [otherVpc] });
  await rejectsWith(h.ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: NewAssociationId, NetworkAclId: foreign!.NetworkAclId! })), 'InvalidParameterValue');

  await rejectsWith(h.ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: custom })), 'DependencyViolation');
  await rejectsWith(h.ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: def!.NetworkAclId! })), 'InvalidParameterValue');
  await rejectsWith(h.ec2.send(new DeleteVpcCommand({ VpcId: vpcId })), 'DependencyViolation');

  await h.ec2.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: NewAssociationId, NetworkAclId: def!.NetworkAclId! }));
  await h.ec2.send(new DeleteNetworkAclCommand({ NetworkAclId: custom }));
  await rejectsWith(h.ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [custom] })), 'InvalidNetworkAclID.NotFound');

  // a deleted subnet leaves no association behind, and the VPC then goes with its default ACL
  const second = (await h.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.3.2.0/24' }))).Subnet!.SubnetId!;
  assert.equal((await acl(h.ec2, def!.NetworkAclId!)).Associations!.length, 2);
  await h.ec2.send(new DeleteSubnetCommand({ SubnetId: second }));
  await h.ec2.send(new DeleteSubnetCommand({ SubnetId: subnetId }));
  assert.deepEqual((await acl(h.ec2, def!.NetworkAclId!)).Associations, []);
  await h.ec2.send(new DeleteVpcCommand({ VpcId: vpcId }));
  assert.deepEqual(await acls(h.ec2, { 'vpc-id': [vpcId] }), []);
});

test('a --db file from before network ACLs opens; its VPC gets a default ACL with its next subnet', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-ec2-acl-'));
  try {
    const dbPath = join(dir, 'ec2.db');
    const first = await startEmulator({ dbPath });
    const { vpcId } = await createVpcWithSubnet(first.ec2, { ipv6: false });
    await first.close();
    const db = new Database(dbPath);
    db.exec('DROP TABLE network_acl_associations; DROP TABLE network_acl_entries; DROP TABLE network_acls;');
    db.close();

    const second = await startEmulator({ dbPath });
    try {
      assert.deepEqual(await acls(second.ec2, { 'vpc-id': [vpcId] }), []);
      const { Subnet } = await second.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '10.0.2.0/24' }));
      const [def] = await acls(second.ec2, { 'vpc-id': [vpcId] });
      assert.equal(def!.IsDefault, true);
      assert.deepEqual(def!.Associations!.map((a) => a.SubnetId), [Subnet!.SubnetId]);
    } finally {
      await second.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
