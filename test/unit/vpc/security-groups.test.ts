import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DEFAULT_NETWORK_ACL_ENTRIES, evaluateSecurityGroups, flowPath, groupMemberCidrs, securityGroupReply, type Flow, type NetworkInterface, type SecurityGroup, type VpcModel } from '../../../src/vpc/index.js';
import { defaultVpcFacts } from './default-vpc.js';

const eni = (over: Partial<NetworkInterface> & Pick<NetworkInterface, 'eniId' | 'privateIps'>): NetworkInterface => ({
  vpcId: 'vpc-main', subnetId: 'subnet-priv', ipv4Prefixes: [], publicIps: {}, ...over,
});
// EC2's default egress rule, as the emulator creates it with every group.
const allEgress = [{ protocol: 'all' as const, peer: { cidr: '0.0.0.0/0' } }];
const groups: SecurityGroup[] = [
  { id: 'sg-nodes', name: 'nodes', vpcId: 'vpc-main', ingress: [{ protocol: 'all', peer: { groupId: 'sg-nodes' } }, { protocol: 'tcp', ports: { from: 22, to: 22 }, peer: { cidr: '10.1.0.0/16' } }], egress: allEgress },
  { id: 'sg-web', name: 'web', vpcId: 'vpc-main', ingress: [{ protocol: 'tcp', ports: { from: 8000, to: 8099 }, peer: { cidr: '10.1.0.0/16' } }, { protocol: 'icmp', ports: { from: 8, to: -1 }, peer: { cidr: '0.0.0.0/0' } }], egress: allEgress },
  { id: 'sg-locked', name: 'locked', vpcId: 'vpc-main', ingress: [], egress: [{ protocol: 'udp', ports: { from: 53, to: 53 }, peer: { cidr: '10.0.0.2/32' } }] },
  { id: 'sg-new', name: 'new', vpcId: 'vpc-main', ingress: [], egress: allEgress },
  { id: 'sg-peer', name: 'peer-hosts', vpcId: 'vpc-peer', ingress: [{ protocol: 6, ports: { from: 7007, to: 7007 }, peer: { groupId: 'sg-nodes' } }], egress: allEgress },
  { id: 'sg-gre', name: 'gre', vpcId: 'vpc-main', ingress: [{ protocol: 47, peer: { cidr: '10.0.0.0/16' } }], egress: allEgress },
];
const model: VpcModel = {
  ...defaultVpcFacts,
  enis: [
    eni({ eniId: 'eni-node0', privateIps: ['10.0.16.10', '10.0.16.11'], groupIds: ['sg-nodes'] }),
    eni({ eniId: 'eni-node1', privateIps: ['10.0.16.20'], ipv4Prefixes: ['10.0.16.48/28'], groupIds: ['sg-nodes'] }),
    eni({ eniId: 'eni-web', privateIps: ['10.0.16.30'], groupIds: ['sg-web', 'sg-new'] }),
    eni({ eniId: 'eni-locked', privateIps: ['10.0.16.40'], groupIds: ['sg-locked'] }),
    eni({ eniId: 'eni-new', privateIps: ['10.0.16.41'], groupIds: ['sg-new'] }),
    eni({ eniId: 'eni-gre', privateIps: ['10.0.16.42'], groupIds: ['sg-gre'] }),
    eni({ eniId: 'eni-peer', vpcId: 'vpc-peer', subnetId: 'subnet-peer', privateIps: ['10.1.0.10'], groupIds: ['sg-peer'] }),
    eni({ eniId: 'eni-bare', privateIps: ['10.0.16.50'] }),
  ],
  filtering: { securityGroups: groups, networkAcls: [] },
};
const at = (id: string): NetworkInterface => model.enis.find((e) => e.eniId === id)!;
const tcp = (source: string, destination: string, destinationPort: number, sourcePort = 40000): Flow => ({ protocol: 'tcp', source, destination, sourcePort, destinationPort });

test('a group reference matches every private address of the group\'s ENIs: primary, secondary and inside a delegated prefix', () => {
  assert.deepEqual(groupMemberCidrs(model, 'sg-nodes'), ['10.0.16.10/32', '10.0.16.11/32', '10.0.16.20/32', '10.0.16.48/28']);
  for (const source of ['10.0.16.10', '10.0.16.11', '10.0.16.20', '10.0.16.53']) {
    const v = evaluateSecurityGroups(model, at('eni-peer'), 'ingress', tcp(source, '10.1.0.10', 7007));
    assert.equal(v.allowed, true, source);
    assert.deepEqual(v.match, { groupId: 'sg-peer', ruleIndex: 0, rule: groups[4]!.ingress[0] });
  }
  const outsider = evaluateSecurityGroups(model, at('eni-peer'), 'ingress', tcp('10.0.16.30', '10.1.0.10', 7007));
  assert.equal(outsider.allowed, false, 'an ENI outside the group is not matched');
  assert.equal(outsider.detail, 'no ingress rule of sg-peer (peer-hosts) allows tcp/7007 from 10.0.16.30');
  assert.equal(evaluateSecurityGroups(model, at('eni-node0'), 'ingress', tcp('10.0.16.53', '10.0.16.10', 9999)).allowed, true, 'the self-reference admits the group\'s own pods');
});

test('a new group has no ingress; it allows all egress only through the default egress rule EC2 gives it', () => {
  const ingress = evaluateSecurityGroups(model, at('eni-new'), 'ingress', tcp('10.0.16.10', '10.0.16.41', 22));
  assert.equal(ingress.allowed, false);
  assert.deepEqual(ingress.groupIds, ['sg-new']);
  const egress = evaluateSecurityGroups(model, at('eni-new'), 'egress', tcp('10.0.16.41', '198.51.100.1', 443));
  assert.equal(egress.allowed, true);
  assert.equal(egress.detail, 'sg-new (new) egress rule 0 (all 0.0.0.0/0) allows tcp/443 to 198.51.100.1');
  // a group that lists egress rules has exactly those
  assert.equal(evaluateSecurityGroups(model, at('eni-locked'), 'egress', tcp('10.0.16.40', '198.51.100.1', 443)).allowed, false);
  assert.equal(evaluateSecurityGroups(model, at('eni-locked'), 'egress', { protocol: 'udp', source: '10.0.16.40', destination: '10.0.0.2', sourcePort: 5353, destinationPort: 53 }).allowed, true);
  assert.equal(evaluateSecurityGroups(model, at('eni-locked'), 'egress', { protocol: 'udp', source: '10.0.16.40', destination: '10.0.0.3', sourcePort: 5353, destinationPort: 53 }).allowed, false);
});

test('return traffic of an allowed flow passes without a rule (stateful), a new flow the other way does not', () => {
  // eni-locked's groups allow no such egress: the reply of a connection that came in passes by connection tracking
  const locked = at('eni-locked');
  const inbound = tcp('10.1.0.10', '10.0.16.40', 8080, 51000);
  const reply = securityGroupReply(inbound, 'ingress');
  assert.equal(reply.direction, 'egress');
  assert.deepEqual(reply.flow, { protocol: 'tcp', source: '10.0.16.40', destination: '10.1.0.10', sourcePort: 8080, destinationPort: 51000 });
  assert.equal(evaluateSecurityGroups(model, locked, reply.direction, reply.flow).allowed, false, 'without the tracked connection no rule allows it');
  const tracked = evaluateSecurityGroups(model, locked, reply.direction, reply.flow, [inbound]);
  assert.equal(tracked.allowed, true);
  assert.equal(tracked.match, null);
  assert.match(tracked.detail, /reply of a tracked connection/);
  const other = tcp('10.0.16.40', '10.1.0.10', 51001, 8080);
  assert.equal(evaluateSecurityGroups(model, locked, 'egress', other, [inbound]).allowed, false, 'another port is a new connection');
});

test('several groups on one ENI: the union of their rules, and the denial names every group checked', () => {
  const web = at('eni-web');
  assert.equal(evaluateSecurityGroups(model, web, 'ingress', tcp('10.1.0.10', '10.0.16.30', 8050)).match?.groupId, 'sg-web');
  assert.equal(evaluateSecurityGroups(model, web, 'egress', tcp('10.0.16.30', '10.1.0.10', 7007)).match?.groupId, 'sg-web');
  const denied = evaluateSecurityGroups(model, web, 'ingress', tcp('10.1.0.10', '10.0.16.30', 22));
  assert.equal(denied.allowed, false);
  assert.equal(denied.detail, 'no ingress rule of sg-web (web), sg-new (new) allows tcp/22 from 10.1.0.10');
});

test('protocols: port ranges are inclusive, icmp matches type and code (-1 any), all and bare protocol numbers have no ports', () => {
  const web = at('eni-web');
  for (const [port, allowed] of [[7999, false], [8000, true], [8099, true], [8100, false]] as const) {
    assert.equal(evaluateSecurityGroups(model, web, 'ingress', tcp('10.1.0.10', '10.0.16.30', port)).allowed, allowed, `tcp/${port}`);
  }
  assert.equal(evaluateSecurityGroups(model, web, 'ingress', { protocol: 'udp', source: '10.1.0.10', destination: '10.0.16.30', sourcePort: 1, destinationPort: 8050 }).allowed, false, 'a tcp rule is not a udp rule');
  const ping = (type: number, code = 0): Flow => ({ protocol: 'icmp', source: '198.51.100.1', destination: '10.0.16.30', icmp: { type, code } });
  assert.equal(evaluateSecurityGroups(model, web, 'ingress', ping(8)).allowed, true, 'echo request, any code');
  assert.equal(evaluateSecurityGroups(model, web, 'ingress', ping(8, 3)).allowed, true);
  assert.equal(evaluateSecurityGroups(model, web, 'ingress', ping(13)).allowed, false, 'timestamp is another type');
  assert.equal(evaluateSecurityGroups(model, web, 'ingress', { ...ping(8), protocol: 1 }).allowed, true, 'icmp by number');
  assert.equal(evaluateSecurityGroups(model, at('eni-node0'), 'ingress', { protocol: 'udp', source: '10.0.16.20', destination: '10.0.16.10', sourcePort: 1, destinationPort: 4789 }).allowed, true, 'all covers udp');
  assert.equal(evaluateSecurityGroups(model, at('eni-node0'), 'ingress', tcp('10.1.0.10', '10.0.16.10', 22)).allowed, true, 'a tcp rule by name');
  assert.equal(evaluateSecurityGroups(model, at('eni-peer'), 'ingress', { ...tcp('10.0.16.10', '10.1.0.10', 7007), protocol: 6 }).allowed, true, 'protocol 6 is tcp');
  assert.equal(evaluateSecurityGroups(model, at('eni-gre'), 'ingress', { protocol: 47, source: '10.0.16.10', destination: '10.0.16.42' }).allowed, true, 'GRE by number');
  assert.equal(evaluateSecurityGroups(model, at('eni-gre'), 'ingress', { protocol: 47, source: '10.1.0.10', destination: '10.0.16.42' }).allowed, false);
});

test('without groups in the model (or on the ENI) nothing is filtered, as the lab has it today', () => {
  const { filtering: _, ...bare } = model;
  assert.equal(evaluateSecurityGroups(bare, at('eni-new'), 'ingress', tcp('10.1.0.10', '10.0.16.41', 22)).allowed, true);
  const v = evaluateSecurityGroups(model, at('eni-bare'), 'ingress', tcp('10.1.0.10', '10.0.16.50', 22));
  assert.deepEqual([v.allowed, v.match], [true, null]);
  const unknown = evaluateSecurityGroups(model, { ...at('eni-bare'), groupIds: ['sg-gone'] }, 'ingress', tcp('10.1.0.10', '10.0.16.50', 22));
  assert.equal(unknown.allowed, false);
  assert.match(unknown.detail, /sg-gone \(not in the model: no rules\)/);
});

test('flowPath: with filtering and traffic, the groups and ACLs are hops; without traffic the path is as before', () => {
  const withAcls: VpcModel = {
    ...model,
    filtering: {
      securityGroups: groups,
      networkAcls: [
        { id: 'acl-default', vpcId: 'vpc-main', isDefault: true, subnetIds: [], entries: [...DEFAULT_NETWORK_ACL_ENTRIES] },
        { id: 'acl-peer', vpcId: 'vpc-peer', isDefault: false, subnetIds: ['subnet-peer'], entries: [
          { ruleNumber: 100, egress: true, protocol: 'tcp', ports: { from: 7007, to: 7007 }, cidr: '10.0.0.0/16', action: 'allow' },
          { ruleNumber: 100, egress: false, protocol: 'tcp', ports: { from: 1024, to: 65535 }, cidr: '10.0.0.0/16', action: 'allow' },
        ] },
      ],
    },
  };
  const from = { eniId: 'eni-node1', source: '10.0.16.50' };
  const traffic = { protocol: 'tcp' as const, sourcePort: 40000, destinationPort: 7007 };
  const plain = flowPath(withAcls, from, '10.1.0.10');
  assert.deepEqual(plain.forward.hops.map((h) => h.element), ['eni', 'route-table', 'peering', 'eni'], 'no traffic given: nothing filters');

  const flow = flowPath(withAcls, from, '10.1.0.10', { traffic });
  assert.equal(flow.forward.verdict, 'delivered', 'the packet arrives');
  assert.deepEqual(flow.forward.hops.map((h) => h.element), ['eni', 'security-group', 'network-acl', 'route-table', 'peering', 'network-acl', 'security-group', 'eni']);
  assert.deepEqual(flow.forward.hops.filter((h) => h.element === 'security-group').map((h) => h.id), ['sg-nodes', 'sg-peer']);
  // the reply: sg-peer allows no such egress, but the connection is tracked; acl-peer's egress rule 100 does not cover
  // port 40000, so the stateless ACL drops the reply
  assert.equal(flow.reply?.verdict, 'dropped');
  assert.equal(flow.reason, 'network-acl');
  assert.equal(flow.detail, 'the reply: the network ACL of subnet-peer dropped it: acl-peer egress rule * (no rule matches) denies tcp/40000 to 10.0.16.50');

  const refused = flowPath(withAcls, from, '10.1.0.10', { traffic: { ...traffic, destinationPort: 8000 } });
  assert.deepEqual([refused.verdict, refused.reason], ['dropped', 'security-group'], 'the ACL lets it in, the group does not');
  assert.equal(refused.detail, 'the security groups of eni-peer dropped it: no ingress rule of sg-peer (peer-hosts) allows tcp/8000 from 10.0.16.50');
  const ssh = flowPath(withAcls, from, '10.1.0.10', { traffic: { ...traffic, destinationPort: 22 } });
  assert.deepEqual([ssh.reason, ssh.forward.hops.at(-1)?.id], ['network-acl', 'acl-peer'], 'the ACL comes before the group');

  const inSubnet = flowPath(withAcls, { eniId: 'eni-node0', source: '10.0.16.10' }, '10.0.16.20', { traffic });
  assert.equal(inSubnet.verdict, 'delivered');
  assert.equal(inSubnet.forward.hops.filter((h) => h.element === 'network-acl').length, 0, 'within one subnet no ACL is crossed');
  assert.equal(inSubnet.reply?.hops.filter((h) => h.element === 'security-group').length, 2, 'the reply passes both ENIs\' groups as tracked');
});
