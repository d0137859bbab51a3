/**
 * The data path of filtering end to end: a topology's groups, rules and ACLs applied through the SDK, read back with
 * describeFacts and the ENI mappings (with their groups) as the VPC model, and the model's verdicts for packets —
 * then changed through the SDK (a rule authorized, an ENI's groups replaced) and read again, as the lab's fabric
 * controller does on a filtering or eni event.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, ModifyNetworkInterfaceAttributeCommand } from '@aws-sdk/client-ec2';
import { applyTopology, describeFacts } from '../../../src/ec2/index.js';
import { flowPath, parseTopology, type Traffic, type VpcModel } from '../../../src/vpc/index.js';
import { emulatorForFile } from './sdk-harness.js';

const h = emulatorForFile();

const topology = parseTopology({
  vpcs: [{ name: 'v', cidr: '10.30.0.0/16' }],
  subnets: [
    { name: 'front', vpc: 'v', az: 'us-west-2a', cidr: '10.30.1.0/24' },
    { name: 'back', vpc: 'v', az: 'us-west-2a', cidr: '10.30.2.0/24' },
    { name: 'side', vpc: 'v', az: 'us-west-2a', cidr: '10.30.3.0/24' },
  ],
  securityGroups: [
    { name: 'web', vpc: 'v', ingress: [{ protocol: 'tcp', ports: 7007, sg: 'clients' }] },
    { name: 'clients', vpc: 'v', egress: [{ protocol: 'tcp', ports: '7000-7999', sg: 'web' }] },
    { name: 'others', vpc: 'v' },
  ],
  networkAcls: [{
    name: 'back-acl', vpc: 'v', subnets: ['back'],
    ingress: [{ rule: 10, protocol: 'tcp', ports: 7007, cidr: '10.30.3.0/24', action: 'deny' }, { rule: 100, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' }],
    egress: [{ rule: 100, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' }],
  }],
  instances: [
    { name: 'server', type: 't3.medium', subnet: 'back', securityGroups: ['web'] },
    { name: 'client', type: 't3.medium', subnet: 'front', securityGroups: ['clients'] },
    { name: 'other', type: 't3.medium', subnet: 'front', securityGroups: ['others'] },
    { name: 'side', type: 't3.medium', subnet: 'side', securityGroups: ['clients'] },
  ],
});

const echo: Traffic = { protocol: 'tcp', sourcePort: 40000, destinationPort: 7007 };

test('groups and ACLs from the topology decide the model\'s verdicts; SDK changes read again change them', async () => {
  const { ids } = await applyTopology(topology, h.ec2);
  const model = async (): Promise<VpcModel> => ({ ...(await describeFacts(h.ec2)), enis: h.server.state.mappingSnapshot() });
  const primaryOf = (name: string) => h.server.state.mappingSnapshot().find((e) => e.instanceId === ids.instances[name] && e.deviceIndex === 0)!;
  const probe = (m: VpcModel, from: string, traffic = echo) => {
    const eni = primaryOf(from);
    return flowPath(m, { eniId: eni.eniId, source: eni.privateIps[0]! }, primaryOf('server').privateIps[0]!, { traffic });
  };

  let m = await model();
  assert.deepEqual(primaryOf('server').groupIds, [ids.securityGroups.web]);
  assert.equal(probe(m, 'client').verdict, 'delivered', 'web takes tcp/7007 from members of clients, whose egress allows it');
  const blocked = probe(m, 'other');
  assert.equal(blocked.verdict, 'dropped');
  assert.equal(blocked.reason, 'security-group');
  assert.equal(probe(m, 'client', { ...echo, destinationPort: 7008 }).reason, 'security-group', 'web has no rule for tcp/7008');
  // side is in clients too, but the back subnet's ACL denies tcp/7007 from its subnet (rule 10 before rule 100)
  const denied = probe(m, 'side');
  assert.equal(denied.verdict, 'dropped');
  assert.equal(denied.reason, 'network-acl');

  // the rule is authorized through the SDK: the next read lets `other` in
  await h.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: ids.securityGroups.web, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 7007, ToPort: 7007, UserIdGroupPairs: [{ GroupId: ids.securityGroups.others }] }] }));
  m = await model();
  assert.equal(probe(m, 'other').verdict, 'delivered');

  // the client's ENI leaves `clients` for a group without rules: web's references no longer cover its address
  const bare = (await h.ec2.send(new CreateSecurityGroupCommand({ VpcId: ids.vpcs.v, GroupName: 'bare', Description: 'no ingress' }))).GroupId!;
  await h.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: primaryOf('client').eniId, Groups: [bare] }));
  m = await model();
  assert.deepEqual(primaryOf('client').groupIds, [bare]);
  assert.equal(probe(m, 'client').reason, 'security-group');
});
