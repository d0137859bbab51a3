import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_NETWORK_ACL_ENTRIES, evaluateNetworkAcl, networkAclOf, reverseFlow, type Flow, type NetworkAcl, type VpcModel } from '../../../src/vpc/index.js';
import { defaultVpcFacts } from './default-vpc.js';

const acls: NetworkAcl[] = [
  { id: 'acl-main-default', vpcId: 'vpc-main', isDefault: true, subnetIds: [], entries: [...DEFAULT_NETWORK_ACL_ENTRIES] },
  {
    id: 'acl-private', vpcId: 'vpc-main', isDefault: false, subnetIds: ['subnet-priv'],
    entries: [
      { ruleNumber: 200, egress: false, protocol: 'tcp', ports: { from: 0, to: 65535 }, cidr: '10.1.0.0/16', action: 'allow' },
      { ruleNumber: 90, egress: false, protocol: 'tcp', ports: { from: 22, to: 22 }, cidr: '10.1.0.0/16', action: 'deny' },
      { ruleNumber: 100, egress: false, protocol: 'icmp', ports: { from: -1, to: -1 }, cidr: '0.0.0.0/0', action: 'allow' },
      { ruleNumber: 100, egress: true, protocol: 'tcp', ports: { from: 1024, to: 65535 }, cidr: '10.1.0.0/16', action: 'allow' },
      { ruleNumber: 110, egress: true, protocol: 'udp', ports: { from: 53, to: 53 }, cidr: '10.0.0.2/32', action: 'allow' },
    ],
  },
];
const model: VpcModel = { ...defaultVpcFacts, enis: [], filtering: { securityGroups: [], networkAcls: acls } };
const tcp = (source: string, destination: string, destinationPort: number, sourcePort = 40000): Flow => ({ protocol: 'tcp', source, destination, sourcePort, destinationPort });

test('a subnet uses its associated ACL, else its VPC\'s default ACL; none in the model: nothing is filtered', () => {
  assert.equal(networkAclOf(model, 'subnet-priv')?.id, 'acl-private');
  assert.equal(networkAclOf(model, 'subnet-pub')?.id, 'acl-main-default');
  assert.equal(networkAclOf(model, 'subnet-peer'), undefined);
  const unmodelled = evaluateNetworkAcl(model, 'subnet-peer', 'ingress', tcp('10.0.16.10', '10.1.0.10', 22));
  assert.deepEqual([unmodelled.allowed, unmodelled.aclId, unmodelled.ruleNumber], [true, null, null]);
  const { filtering: _, ...bare } = model;
  assert.equal(evaluateNetworkAcl(bare, 'subnet-priv', 'ingress', tcp('10.1.0.10', '10.0.16.10', 22)).allowed, true);
});

test('the default ACL allows everything, both ways', () => {
  for (const direction of ['ingress', 'egress'] as const) {
    const v = evaluateNetworkAcl(model, 'subnet-pub', direction, { protocol: 'udp', source: '198.51.100.1', destination: '10.0.0.5', sourcePort: 1, destinationPort: 9 });
    assert.deepEqual([v.allowed, v.aclId, v.ruleNumber], [true, 'acl-main-default', 100]);
  }
});

test('entries in rule-number order, the first match decides: a lower-numbered deny beats a later allow', () => {
  const ssh = evaluateNetworkAcl(model, 'subnet-priv', 'ingress', tcp('10.1.0.10', '10.0.16.10', 22));
  assert.deepEqual([ssh.allowed, ssh.ruleNumber], [false, 90]);
  assert.equal(ssh.detail, 'acl-private ingress rule 90 denies tcp/22 from 10.1.0.10');
  const web = evaluateNetworkAcl(model, 'subnet-priv', 'ingress', tcp('10.1.0.10', '10.0.16.10', 8080));
  assert.deepEqual([web.allowed, web.ruleNumber], [true, 200]);
  const ping = evaluateNetworkAcl(model, 'subnet-priv', 'ingress', { protocol: 'icmp', source: '198.51.100.1', destination: '10.0.16.10', icmp: { type: 8, code: 0 } });
  assert.deepEqual([ping.allowed, ping.ruleNumber], [true, 100]);
});

test('nothing matches: the implicit deny *', () => {
  const v = evaluateNetworkAcl(model, 'subnet-priv', 'ingress', tcp('198.51.100.1', '10.0.16.10', 443));
  assert.deepEqual([v.allowed, v.aclId, v.ruleNumber], [false, 'acl-private', '*']);
  assert.equal(v.detail, 'acl-private ingress rule * (no rule matches) denies tcp/443 from 198.51.100.1');
  assert.equal(evaluateNetworkAcl(model, 'subnet-priv', 'egress', { protocol: 'udp', source: '10.0.16.10', destination: '10.0.0.3', sourcePort: 5000, destinationPort: 53 }).ruleNumber, '*');
});

test('stateless: the reply is evaluated on its own, ports swapped, so the ephemeral port range decides', () => {
  const request = tcp('10.1.0.10', '10.0.16.10', 8080, 51000);
  assert.equal(evaluateNetworkAcl(model, 'subnet-priv', 'ingress', request).allowed, true);
  const reply = reverseFlow(request);
  assert.deepEqual(reply, { protocol: 'tcp', source: '10.0.16.10', destination: '10.1.0.10', sourcePort: 8080, destinationPort: 51000 });
  const out = evaluateNetworkAcl(model, 'subnet-priv', 'egress', reply);
  assert.deepEqual([out.allowed, out.ruleNumber], [true, 100], 'the reply goes to ephemeral port 51000');
  // a client that picked a low source port gets no reply: the egress rule covers only 1024-65535
  const lowPort = reverseFlow(tcp('10.1.0.10', '10.0.16.10', 8080, 1000));
  const refused = evaluateNetworkAcl(model, 'subnet-priv', 'egress', lowPort);
  assert.deepEqual([refused.allowed, refused.ruleNumber], [false, '*']);
  // and an ICMP echo allowed in has no egress rule for its reply
  assert.equal(evaluateNetworkAcl(model, 'subnet-priv', 'egress', { protocol: 'icmp', source: '10.0.16.10', destination: '198.51.100.1', icmp: { type: 0, code: 0 } }).allowed, false);
});
