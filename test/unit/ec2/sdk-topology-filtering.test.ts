/**
 * The topology applier's security groups and network ACLs through the SDK: rules with group peers (named before
 * or after their group), egress as listed or EC2's default, ACL entries and associations; re-applying changes
 * nothing, an edited file changes exactly what it says; describeFacts reads it all back in the model's terms.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DescribeNetworkAclsCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import { applyTopology, describeFacts } from '../../../src/ec2/index.js';
import { parseTopology } from '../../../src/vpc/index.js';
import { emulatorForFile } from './sdk-harness.js';

const h = emulatorForFile();

/** A VPC per test (its own name and CIDR), two subnets, and the groups and ACLs a test adds. */
function file(vpc: string, cidr: string, more: Record<string, unknown>): Record<string, unknown> {
  const net = cidr.split('.').slice(0, 2).join('.');
  return {
    vpcs: [{ name: vpc, cidr: `${net}.0.0/16` }],
    subnets: [
      { name: `${vpc}-a`, vpc, az: 'us-west-2a', cidr: `${net}.1.0/24` },
      { name: `${vpc}-b`, vpc, az: 'us-west-2b', cidr: `${net}.2.0/24` },
    ],
    ...more,
  };
}

const groups = (vpc: string, egressOfNodes?: unknown[]) => ({
  securityGroups: [
    // `nodes` names `lb`, declared after it
    { name: 'nodes', vpc, ingress: [{ protocol: 'tcp', ports: 7007, sg: 'lb' }, { protocol: 'tcp', ports: '30000-32767', cidr: '10.9.0.0/16' }, { protocol: 'icmp', ports: 8, cidr: '10.9.0.0/16' }],
      ...(egressOfNodes ? { egress: egressOfNodes } : {}) },
    { name: 'lb', vpc, ingress: [{ protocol: 'tcp', ports: 443, cidr: '0.0.0.0/0' }], egress: [{ protocol: 'tcp', ports: 7007, sg: 'nodes' }] },
    { name: 'open', vpc },
  ],
});

test('security groups: group peers in either order, egress exactly as listed or EC2\'s default; a second apply changes nothing', async () => {
  const topology = parseTopology(file('sgs', '10.20.0.0', groups('sgs')));
  const first = await applyTopology(topology, h.ec2);
  const { nodes, lb, open } = first.ids.securityGroups;
  assert.deepEqual(first.changes.filter((c) => c.kind === 'securityGroups').map((c) => c.change), ['created', 'created', 'created']);
  const second = await applyTopology(topology, h.ec2);
  assert.deepEqual(second.changes.filter((c) => c.change !== 'unchanged'), []);

  const facts = await describeFacts(h.ec2);
  const sg = (id: string | undefined) => facts.filtering!.securityGroups.find((g) => g.id === id)!;
  assert.deepEqual(sg(nodes).ingress, [
    { protocol: 'tcp', ports: { from: 7007, to: 7007 }, peer: { groupId: lb } },
    { protocol: 'tcp', ports: { from: 30000, to: 32767 }, peer: { cidr: '10.9.0.0/16' } },
    { protocol: 'icmp', ports: { from: 8, to: -1 }, peer: { cidr: '10.9.0.0/16' } },
  ]);
  // no egress listed: EC2's allow-all rule stays
  assert.deepEqual(sg(nodes).egress, [{ protocol: 'all', peer: { cidr: '0.0.0.0/0' } }]);
  // egress listed: exactly that rule, the default one revoked
  assert.deepEqual(sg(lb).egress, [{ protocol: 'tcp', ports: { from: 7007, to: 7007 }, peer: { groupId: nodes } }]);
  assert.deepEqual(sg(open), { id: open, name: 'open', vpcId: first.ids.vpcs.sgs, ingress: [], egress: [{ protocol: 'all', peer: { cidr: '0.0.0.0/0' } }] });
  // the VPC's default group: all traffic from its own members, all traffic out
  const byDefault = facts.filtering!.securityGroups.find((g) => g.vpcId === first.ids.vpcs.sgs && g.name === 'default')!;
  assert.deepEqual(byDefault.ingress, [{ protocol: 'all', peer: { groupId: byDefault.id } }]);
  assert.deepEqual(byDefault.egress, [{ protocol: 'all', peer: { cidr: '0.0.0.0/0' } }]);
});

test('security groups: an edited rule list revokes what it no longer lists and adds what it does; the default group keeps its own rule', async () => {
  const before = parseTopology(file('edit', '10.21.0.0', groups('edit', [{ protocol: 'udp', ports: 53, cidr: '10.21.0.2/32' }])));
  const { ids } = await applyTopology(before, h.ec2);
  const egressOf = async (id: string) => (await h.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [id] }))).SecurityGroups![0]!.IpPermissionsEgress;
  assert.deepEqual(await egressOf(ids.securityGroups.nodes!), [
    { IpProtocol: 'udp', FromPort: 53, ToPort: 53, IpRanges: [{ CidrIp: '10.21.0.2/32' }], Ipv6Ranges: [], PrefixListIds: [], UserIdGroupPairs: [] },
  ]);
  const after = parseTopology(file('edit', '10.21.0.0', groups('edit', [{ protocol: 'tcp', ports: 443, sg: 'lb' }])));
  const applied = await applyTopology(after, h.ec2);
  assert.deepEqual(applied.changes.filter((c) => c.change !== 'unchanged').map((c) => `${c.kind} ${c.name} ${c.change}`), ['securityGroups nodes updated']);
  assert.deepEqual((await egressOf(ids.securityGroups.nodes!))!.map((p) => [p.IpProtocol, p.FromPort, p.UserIdGroupPairs![0]?.GroupId]), [['tcp', 443, ids.securityGroups.lb]]);
  // an empty egress list: no egress at all
  const closed = parseTopology(file('edit', '10.21.0.0', groups('edit', [])));
  await applyTopology(closed, h.ec2);
  assert.deepEqual(await egressOf(ids.securityGroups.nodes!), []);
  assert.deepEqual((await applyTopology(closed, h.ec2)).changes.filter((c) => c.change !== 'unchanged'), []);

  // ingress: `lb` drops its https rule for one from `nodes`; the default group, named in the file, gains a rule
  const edited = parseTopology(file('edit', '10.21.0.0', groups('edit', [])));
  edited.securityGroups[1]!.ingress = [{ protocol: 'tcp', ports: 8443, sg: 'nodes' }];
  edited.securityGroups.push({ name: 'default', vpc: 'edit', description: 'default VPC security group', ingress: [{ protocol: 'tcp', ports: 22, cidr: '10.9.0.0/16' }] });
  const again = await applyTopology(edited, h.ec2);
  assert.deepEqual(again.changes.filter((c) => c.change !== 'unchanged').map((c) => `${c.name} ${c.change}`), ['lb updated', 'default updated']);
  const facts = await describeFacts(h.ec2);
  assert.deepEqual(facts.filtering!.securityGroups.find((g) => g.id === ids.securityGroups.lb)!.ingress, [{ protocol: 'tcp', ports: { from: 8443, to: 8443 }, peer: { groupId: ids.securityGroups.nodes } }]);
  const byDefault = facts.filtering!.securityGroups.find((g) => g.vpcId === ids.vpcs.edit && g.name === 'default')!;
  assert.deepEqual(byDefault.ingress, [{ protocol: 'all', peer: { groupId: byDefault.id } }, { protocol: 'tcp', ports: { from: 22, to: 22 }, peer: { cidr: '10.9.0.0/16' } }]);
  assert.deepEqual((await applyTopology(edited, h.ec2)).changes.filter((c) => c.change !== 'unchanged'), []);
});

const acls = (vpc: string, httpAction: 'allow' | 'deny') => ({
  networkAcls: [{
    name: 'strict', vpc, subnets: [`${vpc}-b`],
    ingress: [
      { rule: 200, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' },
      { rule: 100, protocol: 'tcp', ports: 80, cidr: '10.9.0.0/16', action: httpAction },
      { rule: 110, protocol: 'icmp', cidr: '10.9.0.0/16', action: 'deny' },
    ],
    egress: [{ rule: 100, protocol: 'udp', ports: '1024-65535', cidr: '0.0.0.0/0', action: 'allow' }],
  }],
});

test('network ACLs: entries and the subnet\'s association applied once; an edited entry is replaced, an unlisted one deleted', async () => {
  const topology = parseTopology(file('acl', '10.22.0.0', acls('acl', 'deny')));
  const first = await applyTopology(topology, h.ec2);
  const aclId = first.ids.networkAcls.strict!;
  assert.deepEqual(first.changes.filter((c) => c.kind === 'networkAcls').map((c) => c.change), ['created']);
  assert.deepEqual((await applyTopology(topology, h.ec2)).changes.filter((c) => c.change !== 'unchanged'), []);

  const facts = await describeFacts(h.ec2);
  const strict = facts.filtering!.networkAcls.find((a) => a.id === aclId)!;
  assert.equal(strict.isDefault, false);
  assert.deepEqual(strict.subnetIds, [first.ids.subnets['acl-b']]);
  assert.deepEqual(strict.entries, [
    { ruleNumber: 100, egress: false, protocol: 'tcp', ports: { from: 80, to: 80 }, cidr: '10.9.0.0/16', action: 'deny' },
    { ruleNumber: 110, egress: false, protocol: 'icmp', cidr: '10.9.0.0/16', action: 'deny' },
    { ruleNumber: 200, egress: false, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' },
    { ruleNumber: 100, egress: true, protocol: 'udp', ports: { from: 1024, to: 65535 }, cidr: '0.0.0.0/0', action: 'allow' },
  ]);
  // the other subnet stays with the VPC's default ACL, which allows everything
  const byDefault = facts.filtering!.networkAcls.find((a) => a.vpcId === first.ids.vpcs.acl && a.isDefault)!;
  assert.deepEqual(byDefault.subnetIds, [first.ids.subnets['acl-a']]);
  assert.deepEqual(byDefault.entries.map((e) => [e.ruleNumber, e.egress, e.protocol, e.action]), [[100, false, 'all', 'allow'], [100, true, 'all', 'allow']]);

  const edited = parseTopology(file('acl', '10.22.0.0', acls('acl', 'allow')));
  edited.networkAcls[0]!.ingress.splice(2, 1); // rule 110 goes
  const applied = await applyTopology(edited, h.ec2);
  assert.deepEqual(applied.changes.filter((c) => c.change !== 'unchanged').map((c) => `${c.name} ${c.change}`), ['strict updated']);
  const listed = (await h.ec2.send(new DescribeNetworkAclsCommand({ NetworkAclIds: [aclId] }))).NetworkAcls![0]!;
  assert.deepEqual(listed.Entries!.filter((e) => !e.Egress).map((e) => [e.RuleNumber, e.RuleAction]), [[100, 'allow'], [200, 'allow'], [32767, 'deny']]);
});

test('network ACLs: a subnet moves from another custom ACL; EC2 refusing an entry is a topology error naming it', async () => {
  const two = parseTopology(file('move', '10.23.0.0', {
    networkAcls: [{ name: 'one', vpc: 'move', subnets: ['move-a'] }, { name: 'two', vpc: 'move', subnets: [] }],
  }));
  const { ids } = await applyTopology(two, h.ec2);
  const moved = parseTopology(file('move', '10.23.0.0', {
    networkAcls: [{ name: 'one', vpc: 'move', subnets: [] }, { name: 'two', vpc: 'move', subnets: ['move-a'] }],
  }));
  await applyTopology(moved, h.ec2);
  const facts = await describeFacts(h.ec2);
  assert.deepEqual(facts.filtering!.networkAcls.find((a) => a.id === ids.networkAcls.two)!.subnetIds, [ids.subnets['move-a']]);
  assert.deepEqual(facts.filtering!.networkAcls.find((a) => a.id === ids.networkAcls.one)!.subnetIds, []);
  // a port range the schema lets through and EC2 refuses (from above to)
  const bad = parseTopology(file('move', '10.23.0.0', {
    networkAcls: [{ name: 'one', vpc: 'move', ingress: [{ rule: 5, protocol: 'tcp', ports: '90-80', cidr: '0.0.0.0/0', action: 'allow' }] }],
  }));
  await assert.rejects(applyTopology(bad, h.ec2), /networkAcls 'one'.*InvalidParameterValue/);
});

test('an instance whose groups the file changes gets them on its primary ENI; the same file again changes nothing', async () => {
  const withInstance = (names: string[]) => parseTopology(file('inst', '10.24.0.0', {
    ...groups('inst'),
    instances: [{ name: 'node-1', type: 't3.medium', subnet: 'inst-a', securityGroups: names }],
  }));
  const { ids } = await applyTopology(withInstance(['nodes']), h.ec2);
  const primaryGroups = () => h.server.state.mappingSnapshot().find((e) => e.instanceId === ids.instances['node-1'] && e.deviceIndex === 0)!.groupIds;
  assert.deepEqual(primaryGroups(), [ids.securityGroups.nodes]);
  const regrouped = await applyTopology(withInstance(['nodes', 'lb']), h.ec2);
  assert.deepEqual(regrouped.changes.filter((c) => c.change !== 'unchanged').map((c) => `${c.kind} ${c.name} ${c.change}`), ['instances node-1 updated']);
  assert.deepEqual(primaryGroups(), [ids.securityGroups.nodes, ids.securityGroups.lb]);
  assert.deepEqual((await applyTopology(withInstance(['lb', 'nodes']), h.ec2)).changes.filter((c) => c.change !== 'unchanged'), []);
});
