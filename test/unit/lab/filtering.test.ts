// Security groups and network ACLs compiled to a VPC router's nft table, from hand-built facts (the default lab's VPCs
// with groups, group references and a custom ACL).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ec2Facts, EniMapping } from '../../../src/ec2/index.js';
import { defaultScenarioPath, eniPortName, explainDrop, loadScenario, planFabric, renderFabric } from '../../../src/lab/index.js';
import { flowPath, type Filtering } from '../../../src/vpc/index.js';
import { defaultVpcFacts } from '../vpc/default-vpc.js';

const scenario = await loadScenario(defaultScenarioPath);
const plan = planFabric(scenario);

const filtering: Filtering = {
  securityGroups: [
    { id: 'sg-nodes', name: 'nodes', vpcId: 'vpc-main', ingress: [{ protocol: 'all', peer: { groupId: 'sg-nodes' } }, { protocol: 'tcp', ports: { from: 7007, to: 7007 }, peer: { cidr: '10.1.0.0/16' } }], egress: [{ protocol: 'all', peer: { cidr: '0.0.0.0/0' } }] },
    { id: 'sg-web', name: 'web', vpcId: 'vpc-main', ingress: [{ protocol: 'tcp', ports: { from: 80, to: 443 }, peer: { cidr: '0.0.0.0/0' } }, { protocol: 'icmp', ports: { from: 8, to: -1 }, peer: { cidr: '10.0.0.0/16' } }, { protocol: 'tcp', peer: { cidr: '::/0' } }], egress: [] },
    { id: 'sg-peer', name: 'peer-hosts', vpcId: 'vpc-peer', ingress: [], egress: [{ protocol: 'all', peer: { cidr: '0.0.0.0/0' } }] },
  ],
  networkAcls: [
    { id: 'acl-main', vpcId: 'vpc-main', isDefault: true, subnetIds: [], entries: [{ ruleNumber: 100, egress: false, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' }, { ruleNumber: 100, egress: true, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' }] },
    {
      id: 'acl-priv',
      vpcId: 'vpc-main',
      isDefault: false,
      subnetIds: ['subnet-priv'],
      entries: [
        { ruleNumber: 200, egress: false, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' },
        { ruleNumber: 90, egress: false, protocol: 'tcp', ports: { from: 7007, to: 7007 }, cidr: '10.1.0.0/16', action: 'deny' },
        { ruleNumber: 100, egress: true, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' },
      ],
    },
  ],
};
const facts: Ec2Facts = { ...defaultVpcFacts, instances: [{ id: 'i-pub', name: 'pub-ip' }, { id: 'i-priv', name: 'priv' }, { id: 'i-host', name: 'peer-host' }], securityGroups: [], filtering };

const eni = (over: Partial<EniMapping>): EniMapping => ({ eniId: 'eni-x', mac: '02:00:00:00:00:01', vpcId: 'vpc-main', subnetId: 'subnet-priv', instanceId: null, deviceIndex: null, privateIps: [], ipv4Prefixes: [], ipv6Addresses: [], ipv6Prefixes: [], publicIps: {}, groupIds: [], description: '', requesterManaged: false, ...over });
const mappings: EniMapping[] = [
  eni({ eniId: 'eni-pub0', subnetId: 'subnet-pub', instanceId: 'i-pub', deviceIndex: 0, privateIps: ['10.0.0.5', '10.0.0.7'], groupIds: ['sg-nodes', 'sg-web'] }),
  eni({ eniId: 'eni-priv0', instanceId: 'i-priv', deviceIndex: 0, privateIps: ['10.0.16.10'], groupIds: ['sg-nodes'] }),
  eni({ eniId: 'eni-priv1', instanceId: 'i-priv', deviceIndex: 1, privateIps: ['10.0.16.20', '10.0.16.21'], ipv4Prefixes: ['10.0.16.48/28'], groupIds: ['sg-nodes'] }),
  eni({ eniId: 'eni-nat', subnetId: 'subnet-pub', privateIps: ['10.0.0.4'], publicIps: { '10.0.0.4': '203.0.113.4' } }),
  eni({ eniId: 'eni-host', vpcId: 'vpc-peer', subnetId: 'subnet-peer', instanceId: 'i-host', deviceIndex: 0, privateIps: ['10.1.0.4'], groupIds: ['sg-peer'] }),
];
const table = renderFabric(plan, scenario, facts, mappings).nft.get('pn-r-main')!;
const chainOf = (name: string) => {
  const start = table.indexOf(`  chain ${name} {\n`);
  if (start < 0) assert.fail(`no chain ${name} in\n${table}`);
  const body = table.slice(table.indexOf('\n', start) + 1, table.indexOf('\n  }', start));
  return body.split('\n').map((l) => l.trim());
};
const port = eniPortName;

test('without a filtering section the router filters nothing (no forward chain)', () => {
  const plain = renderFabric(plan, scenario, { ...facts, filtering: undefined }, mappings).nft.get('pn-r-main')!;
  assert.doesNotMatch(plain, /hook forward/);
  assert.match(table, /chain filter \{\n\s+type filter hook forward priority filter; policy accept;/);
});

test('a group reference is a set of every private address of the group ENIs: primary, secondary, delegated prefixes', () => {
  const set = /set members_sg_nodes \{[^}]*elements = \{ ([^}]*) \}/.exec(table)?.[1];
  assert.deepEqual(set?.split(', ').sort(), ['10.0.0.5/32', '10.0.0.7/32', '10.0.16.10/32', '10.0.16.20/32', '10.0.16.21/32', '10.0.16.48/28']);
});

test('an ENI gets one chain per direction for its set of groups: established first, the union of the rules, then the counted drop', () => {
  const filter = chainOf('filter');
  const egressVmap = filter.find((l) => l.startsWith('iifname vmap') && l.includes('sg'))!;
  const pubChain = new RegExp(`"${port('eni-pub0')}" : jump (sg\\d+)_egress`).exec(egressVmap)![1]!;
  const privChain = new RegExp(`"${port('eni-priv0')}" : jump (sg\\d+)_egress`).exec(egressVmap)![1]!;
  assert.equal(new RegExp(`"${port('eni-priv1')}" : jump (sg\\d+)_egress`).exec(egressVmap)![1], privChain, 'ENIs with the same groups share a chain');
  assert.ok(!egressVmap.includes(port('eni-nat')), 'a NAT gateway has no security groups');
  assert.deepEqual(chainOf(`${pubChain}_ingress`), [
    'ct state established,related return',
    'ip saddr @members_sg_nodes return',
    'meta l4proto 6 th dport 7007 ip saddr 10.1.0.0/16 return',
    'meta l4proto 6 th dport 80-443 ip saddr 0.0.0.0/0 return',
    'meta l4proto 1 icmp type 8 ip saddr 10.0.0.0/16 return',
    'counter drop comment "security-group"',
  ]);
  assert.deepEqual(chainOf(`${privChain}_egress`), ['ct state established,related return', 'ip daddr 0.0.0.0/0 return', 'counter drop comment "security-group"']);
});

test('an ACL is its entries in rule-number order, first match decides, the implicit deny last; the same subnet crosses none', () => {
  assert.deepEqual(chainOf('acl_acl_priv_ingress'), ['meta l4proto 6 th dport 7007 ip saddr 10.1.0.0/16 counter drop comment "network-acl"', 'ip saddr 0.0.0.0/0 return', 'counter drop comment "network-acl"']);
  assert.deepEqual(chainOf('acl_acl_priv_egress'), ['ip daddr 0.0.0.0/0 return', 'counter drop comment "network-acl"']);
  const filter = chainOf('filter');
  const ingressVmap = filter.find((l) => l.startsWith('oifname vmap') && l.includes('subnet'))!;
  const subnet = new RegExp(`"${port('eni-priv1')}" : jump subnet(\\d+)_ingress`).exec(ingressVmap)![1];
  assert.deepEqual(chainOf(`subnet${subnet}_ingress`), [`iifname @subnet${subnet}_ports return`, 'jump acl_acl_priv_ingress']);
  assert.match(table, new RegExp(`set subnet${subnet}_ports \\{ type ifname; elements = \\{ "${port('eni-priv0')}", "${port('eni-priv1')}" \\}`));
  assert.match(ingressVmap, new RegExp(`"${port('eni-nat')}" : jump subnet\\d+_ingress`), "a NAT gateway's subnet ACL applies");
});

test('IMDS is never filtered; the EC2 endpoint allows HTTP/HTTPS from the lab VPCs; the order is SG out, ACL out, ACL in, SG in', () => {
  const filter = chainOf('filter');
  assert.deepEqual(filter.slice(1, 3), ['ip daddr 169.254.169.254 accept', 'ip saddr 169.254.169.254 accept']);
  const vpcBlocks = plan.vpcs.flatMap((v) => v.cidrs);
  assert.ok(vpcBlocks.includes('10.1.0.0/16') && vpcBlocks.length > 2, 'every block of every lab VPC (secondary ones too)');
  assert.ok(filter.includes(`ip daddr 10.0.255.254 ip saddr { ${vpcBlocks.join(', ')} } meta l4proto 6 th dport { 80, 443, 6443 } accept`));
  const at = (prefix: string, part: string) => filter.findIndex((l) => l.startsWith(prefix) && l.includes(part));
  const order = [at('iifname vmap', 'sg'), at('ip daddr 10.0.255.254', 'accept'), at('iifname vmap', 'subnet'), at('oifname vmap', 'subnet'), at('oifname vmap', 'sg')];
  assert.deepEqual([...order].sort((a, b) => a - b), order);
  assert.ok(order.every((i) => i > 0));
});

test('the peer router has its own table: its host group denies every ingress', () => {
  const peer = renderFabric(plan, scenario, facts, mappings).nft.get('pn-r-peer')!;
  assert.match(peer, /chain sg0_ingress \{\n\s+ct state established,related return\n\s+counter drop comment "security-group"/);
});

test('lab probe names the group or ACL the counter stands for, from the model evaluating the probe flow', () => {
  const model = { ...facts, enis: mappings };
  const peerToPod = explainDrop(model, 'security-group', [{ eniId: 'eni-host', source: '10.1.0.4' }], '10.0.0.7', { protocol: 'tcp', destinationPort: 22 });
  assert.deepEqual(peerToPod && { element: peerToPod.element, id: peerToPod.id, reply: peerToPod.reply }, { element: 'security-group', id: 'sg-nodes,sg-web', reply: false });
  assert.match(peerToPod!.detail, /no ingress rule of sg-nodes \(nodes\), sg-web \(web\) allows tcp\/22 from 10\.1\.0\.4/);
  const denied = explainDrop(model, 'network-acl', [{ eniId: 'eni-host', source: '10.1.0.4' }], '10.0.16.21', { protocol: 'tcp', destinationPort: 7007 });
  assert.deepEqual(denied && { id: denied.id, rule: denied.rule, reply: denied.reply }, { id: 'acl-priv', rule: 90, reply: false });
  // the model allows it: the counter moved for other traffic, and the probe is not explained by a rule that allows it
  assert.equal(explainDrop(model, 'security-group', [{ eniId: 'eni-host', source: '10.1.0.4' }], '10.0.0.7', { protocol: 'tcp', destinationPort: 7007 }), null);
  assert.equal(explainDrop(model, 'no-route', [{ eniId: 'eni-host', source: '10.1.0.4' }], '10.0.0.7', { protocol: 'tcp', destinationPort: 22 }), null);
});

test("the model, like the fabric, applies the NAT gateway subnet's ACL to what enters the gateway, both ways", () => {
  const natAcl = { id: 'acl-pub', vpcId: 'vpc-main', isDefault: false, subnetIds: ['subnet-pub'], entries: [
    { ruleNumber: 100, egress: false, protocol: 'all' as const, cidr: '10.0.16.0/20', action: 'allow' as const },
    { ruleNumber: 100, egress: true, protocol: 'all' as const, cidr: '0.0.0.0/0', action: 'allow' as const },
  ] };
  const model = { ...facts, filtering: { ...filtering, networkAcls: [...filtering.networkAcls, natAcl] }, enis: mappings };
  // the private node's packet enters the public subnet (allowed from 10.0.16.0/20); the internet's reply enters it too,
  // from an address no entry allows: the implicit deny
  const flow = flowPath(model, { eniId: 'eni-priv0', source: '10.0.16.10' }, '198.51.100.10', { traffic: { protocol: 'tcp', sourcePort: 40000, destinationPort: 7007 } });
  assert.equal(flow.forward.verdict, 'delivered');
  assert.ok(flow.forward.hops.some((h) => h.element === 'network-acl' && h.id === 'acl-pub'));
  assert.equal(flow.reply?.reason, 'network-acl');
  assert.match(flow.reply!.detail!, /acl-pub ingress rule \* \(no rule matches\) denies tcp\/40000 from 198\.51\.100\.10/);
});
