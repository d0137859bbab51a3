// Security groups for pods: the 12-cell matrix (strict/standard × same node/other node/off-VPC × EXTERNALSNAT off/on),
// scope Pod vs Node, and a strict branch pod in a public subnet, over makeSgpWorld (the SGP matrix scenario's shape):
// every node rule comes from the renderers, branch pods from renderBranchEniPod as ipamd calls it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderBranchEniPod, formatRoute, formatRule, type IpRule } from '../../../src/dataplane/index.js';
import { explainFlow, type AttachedEni, type Explanation, type World } from '../../../src/explain/index.js';
import { compileNode, renderNodeRules } from '../../../src/explain/node-rules.js';
import { makeSgpWorld } from './fixture.js';

const world = makeSgpWorld();
const tcp = (from: string, to: string, port = 8080) => explainFlow(world, { from, to, protocol: 'tcp', port });

/** The hop that dropped it: the element, which one, and (for a security group) the direction its rules refused. */
function dropOf(e: Explanation): { element: string; id: string; direction?: 'ingress' | 'egress' } | undefined {
  const hop = [...e.forward, ...e.return].find((h) => h.dropped);
  if (!hop) return undefined;
  const direction = /^no (ingress|egress) rule/.exec(hop.matched)?.[1] as 'ingress' | 'egress' | undefined;
  return { element: hop.element, id: hop.id, ...(direction ? { direction } : {}) };
}

const matched = (e: Explanation, leg: 'forward' | 'return' = 'forward') => e[leg].map((h) => h.matched);
const ruleText = (r: IpRule) => `ip rule ${r.priority}: ${formatRule(r).replace(/ prio \d+$/, '')}`;
/** The branch pod's rules as ipamd renders them on node `name` (VLAN 1, table 101). */
const branchRules = (name: string, mode: 'strict' | 'standard', podIp = '10.0.16.13') =>
  renderBranchEniPod({ namespace: 'default', podName: `b-${name}`, vethPrefix: 'eni', mode, vlanId: 1, branchMac: '02:00:00:00:00:00', podIp, subnetCidr: '10.0.16.0/20', mtu: 9001, hostVethMac: '02:00:00:00:00:00', createVlanLink: false });

interface Cell {
  node: string;
  to: string;
  verdict: Explanation['verdict'];
  sourceSeen: string | null;
  drop?: ReturnType<typeof dropOf>;
  codes: string[];
}

// the brief's expectations, cell by cell (B = the node's branch pod's address, .3)
const cells: Cell[] = [
  // same node (branch pod → the plain pod on its node): strict crosses the branch and the node's group refuses pod-sg
  { node: 'strict-snat', to: 'p-strict-snat', verdict: 'dropped', sourceSeen: null, drop: { element: 'security-group', id: 'sg-nodes', direction: 'ingress' }, codes: ['BRANCH_ENI', 'SGP_STRICT', 'SECURITY_GROUP_DENY'] },
  { node: 'strict-ext', to: 'p-strict-ext', verdict: 'dropped', sourceSeen: null, drop: { element: 'security-group', id: 'sg-nodes', direction: 'ingress' }, codes: ['BRANCH_ENI', 'SGP_STRICT', 'SECURITY_GROUP_DENY'] },
  { node: 'std-snat', to: 'p-std-snat', verdict: 'delivered', sourceSeen: '10.0.16.33', codes: ['BRANCH_ENI', 'SGP_STANDARD', 'SAME_NODE'] },
  { node: 'std-ext', to: 'p-std-ext', verdict: 'delivered', sourceSeen: '10.0.16.43', codes: ['BRANCH_ENI', 'SGP_STANDARD', 'SAME_NODE'] },
  // other node (branch pod → the plain pod on `other`, whose accept-pods admits pod-sg): the pod's own address, all four
  { node: 'strict-snat', to: 'p-other', verdict: 'delivered', sourceSeen: '10.0.16.13', codes: ['BRANCH_ENI', 'SGP_STRICT'] },
  { node: 'strict-ext', to: 'p-other', verdict: 'delivered', sourceSeen: '10.0.16.23', codes: ['BRANCH_ENI', 'SGP_STRICT'] },
  { node: 'std-snat', to: 'p-other', verdict: 'delivered', sourceSeen: '10.0.16.33', codes: ['BRANCH_ENI', 'SGP_STANDARD', 'VPC_CIDR_NOT_TRANSLATED'] },
  { node: 'std-ext', to: 'p-other', verdict: 'delivered', sourceSeen: '10.0.16.43', codes: ['BRANCH_ENI', 'SGP_STANDARD'] },
  // off the VPC: pod-sg's egress refuses it unless standard mode's SNAT takes the node's path (the NAT gateway's EIP)
  { node: 'strict-snat', to: 'inet', verdict: 'dropped', sourceSeen: null, drop: { element: 'security-group', id: 'sg-pod', direction: 'egress' }, codes: ['BRANCH_ENI', 'SGP_STRICT', 'SECURITY_GROUP_DENY'] },
  { node: 'strict-ext', to: 'inet', verdict: 'dropped', sourceSeen: null, drop: { element: 'security-group', id: 'sg-pod', direction: 'egress' }, codes: ['BRANCH_ENI', 'SGP_STRICT', 'SECURITY_GROUP_DENY'] },
  { node: 'std-snat', to: 'inet', verdict: 'delivered', sourceSeen: '203.0.113.4', codes: ['BRANCH_ENI', 'SGP_STANDARD', 'CONNMARK_VIA_PRIMARY_ENI', 'SNAT_TO_PRIMARY_IP', 'NAT_GATEWAY_TRANSLATION'] },
  { node: 'std-ext', to: 'inet', verdict: 'dropped', sourceSeen: null, drop: { element: 'security-group', id: 'sg-pod', direction: 'egress' }, codes: ['BRANCH_ENI', 'SGP_STANDARD', 'EXTERNAL_SNAT', 'SECURITY_GROUP_DENY'] },
];

for (const c of cells) {
  test(`SGP matrix: b-${c.node} → ${c.to}: ${c.verdict}${c.sourceSeen ? ` as ${c.sourceSeen}` : ''}`, () => {
    const e = tcp(`b-${c.node}`, c.to);
    assert.equal(e.verdict, c.verdict, `${e.reason ?? ''}\n${JSON.stringify(e.forward, null, 1)}`);
    assert.equal(e.sourceSeen, c.sourceSeen);
    assert.deepEqual(dropOf(e), c.drop);
    for (const code of c.codes) assert.ok(e.codes.includes(code), `${code} in ${e.codes.join(' ')}`);
    // a branch pod is never translated to its node unless standard mode's connmark took the node's path
    if (!c.codes.includes('SNAT_TO_PRIMARY_IP')) assert.ok(!e.codes.includes('SNAT_TO_PRIMARY_IP'), e.codes.join(' '));
  });
}

test('strict: every packet of a branch pod leaves by its prio-10 iif rule through vlan.eth.1 and the branch ENI, same node too', () => {
  const e = tcp('b-strict-snat', 'p-strict-snat');
  const b = branchRules('strict-snat', 'strict');
  const m = matched(e);
  assert.ok(m.includes(ruleText(b.pod.hostRules.find((r) => r.iif === b.pod.hostVeth)!)), m.join('\n'));
  assert.ok(m.includes('route default via 10.0.16.1 dev vlan.eth.1 table 101'), m.join('\n'));
  // out of the branch (its egress admits the VPC), then refused by the node ENI's group
  const sgs = e.forward.filter((h) => h.element === 'security-group').map((h) => h.id);
  assert.deepEqual(sgs, ['sg-pod', 'sg-nodes']);
  assert.equal(e.forward.find((h) => h.element === 'node-routing' && h.action.startsWith('out '))?.action, 'out vlan.eth.1 (eni-strict-snat-branch)');
  // the fix names the groups: the node's group to admit the pod's
  assert.match(e.fix ?? '', /add an ingress rule to sg-nodes allowing TCP 8080 from security group sg-pod \(pod-sg: the groups of pod b-strict-snat's branch ENI eni-strict-snat-branch\), or from 10\.0\.16\.13\/32, or set POD_SECURITY_GROUP_ENFORCING_MODE=standard on strict-snat and recreate its branch pods: their traffic to the node and its pods then stays on the node \(rule 512\)$/);
  // to another node, standard mode would change nothing: no such alternative
  const elsewhere = tcp('b-strict-snat', 'p-std-snat');
  assert.equal(elsewhere.verdict, 'dropped');
  assert.doesNotMatch(elsewhere.fix ?? '', /ENFORCING_MODE/);
});

test('strict: a branch pod refused by its own group\'s egress on the way to its own node gets the standard-mode alternative too', () => {
  // pod-sg lets nothing out: the pod's own branch ENI refuses the packet for the plain pod beside it
  const closed: World = { ...world, model: { ...world.model, filtering: { ...world.model.filtering!, securityGroups: world.model.filtering!.securityGroups.map((g) => (g.id === 'sg-pod' ? { ...g, egress: [] } : g)) } } };
  const e = explainFlow(closed, { from: 'b-strict-snat', to: 'p-strict-snat', protocol: 'tcp', port: 8080 });
  assert.deepEqual(dropOf(e), { element: 'security-group', id: 'sg-pod', direction: 'egress' });
  assert.equal(e.fix, 'add an egress rule to sg-pod allowing TCP 8080 to 10.0.16.11/32, or set POD_SECURITY_GROUP_ENFORCING_MODE=standard on strict-snat and recreate its branch pods: their traffic to the node and its pods then stays on the node (rule 512)');
});

test('strict: a plain pod reaches the branch pod on its own node through the VPC, and in by vlan.eth.1 and rule 10', () => {
  const e = tcp('p-strict-snat', 'b-strict-snat');
  assert.equal(e.verdict, 'delivered', e.reason);
  assert.equal(e.sourceSeen, '10.0.16.11');
  assert.ok(!e.codes.includes('SAME_NODE'));
  assert.ok(e.codes.includes('BRANCH_ENI') && e.codes.includes('SGP_STRICT'));
  const b = branchRules('strict-snat', 'strict');
  const m = matched(e);
  // main has no route for the branch pod (its /32 is only in table 101): out of eth0 by the subnet's route, into the
  // branch ENI's ingress
  assert.ok(m.includes('route 10.0.16.0/20 dev eth0 scope link table main'), m.join('\n'));
  assert.ok(m.includes(ruleText(b.pod.hostRules.find((r) => r.iif === 'vlan.eth.1')!)), m.join('\n'));
  assert.ok(m.includes(`route ${formatRoute(b.pod.hostRoutes[0]!)}`), m.join('\n'));
  assert.ok(e.forward.some((h) => h.element === 'security-group' && h.id === 'sg-pod'));
  // the reply: out through the branch by rule 10, back to the plain pod by rule 512
  const r = matched(e, 'return');
  assert.ok(r.includes(ruleText(b.pod.hostRules.find((x) => x.iif === b.pod.hostVeth)!)), r.join('\n'));
  assert.ok(r.includes('ip rule 512: to 10.0.16.11/32 lookup main'), r.join('\n'));
});

test('strict: the local table is the prio-20 rule, after the branch pods\' prio-10 rules; standard keeps it at 0', () => {
  const strict = renderNodeRules(world, world.nodes.find((n) => n.name === 'strict-snat')!);
  assert.ok(!('missing' in strict));
  const compiled = compileNode(strict);
  const texts = compiled.ipRules.map((r) => r.text);
  assert.deepEqual(texts.slice(0, 3), ['ip rule 10: iif vlan.eth.1 lookup 101', `ip rule 10: iif ${branchRules('strict-snat', 'strict').pod.hostVeth} lookup 101`, 'ip rule 20: from all lookup local']);
  // the trunk ENI has its table (device 1 → 2) but no prio-32765 rule; the branch's link is the branch ENI, not an address of the node
  assert.ok(strict.routes.some((r) => r.table === 2 && r.dst === 'default'));
  assert.ok(!strict.ipRules.some((r) => r.priority === 32765));
  assert.equal(compiled.devices.get('vlan.eth.1')?.eniId, 'eni-strict-snat-branch');
  assert.ok(!compiled.local.has('10.0.16.13'));
  const e = tcp('p-strict-snat', 'strict-snat');
  assert.equal(e.verdict, 'delivered');
  assert.ok(matched(e).includes('ip rule 20: from all lookup local'));
  const standard = renderNodeRules(world, world.nodes.find((n) => n.name === 'std-snat')!);
  assert.ok(!('missing' in standard));
  assert.equal(compileNode(standard).ipRules[0]!.text, 'ip rule 0: from all lookup local');
  assert.deepEqual(standard.pods.find((p) => p.branch)?.rules.map((r) => r.priority), [512, 1536]);
  assert.equal(standard.pods.find((p) => p.branch)?.hostVeth.slice(0, 3), 'eni');
});

test('the reply to a branch pod comes in by its VLAN link: strict by rule 10, standard by rule 512', () => {
  const strict = tcp('b-strict-snat', 'p-other');
  assert.deepEqual(matched(strict, 'return').slice(-2), ['ip rule 10: iif vlan.eth.1 lookup 101', `route ${formatRoute(branchRules('strict-snat', 'strict').pod.hostRoutes[0]!)}`]);
  const standard = tcp('b-std-snat', 'p-other');
  const [rule512, rule1536] = branchRules('std-snat', 'standard', '10.0.16.33').pod.hostRules;
  assert.ok(matched(standard).includes(ruleText(rule1536!)), matched(standard).join('\n'));
  assert.equal(matched(standard, 'return').at(-2), ruleText(rule512!));
});

test('standard with EXTERNALSNAT=false: off-VPC traffic is connmarked, goes by rule 1024 out of eth0 under the node\'s groups, SNATed to the node', () => {
  const e = tcp('b-std-snat', 'inet');
  assert.ok(matched(e).some((m) => m.startsWith('ip rule 1024: ')));
  assert.ok(e.forward.some((h) => h.element === 'security-group' && h.id === 'sg-nodes'));
  assert.ok(!e.forward.some((h) => h.element === 'security-group' && h.id === 'sg-pod'));
  const snat = e.forward.find((h) => h.after && h.element === 'node-rules')!;
  assert.deepEqual([snat.before?.source, snat.after?.source], ['10.0.16.33', '10.0.16.30']);
});

test('strict, off the VPC: the SNAT rule is not applied to a packet leaving by vlan.eth.1 (`! -o vlan+`), and the explanation says so', () => {
  const e = tcp('b-pub', 'inet');
  const hop = e.forward.find((h) => h.element === 'node-rules' && / -j SNAT /.test(h.matched))!;
  assert.match(hop.matched, /^nat AWS-SNAT-CHAIN-0: ! -o vlan\+ /);
  assert.equal(hop.action, 'not applied: the packet leaves by vlan.eth.1, which the rule\'s ! -o vlan+ excludes; the source stays 10.0.0.13');
  assert.equal(hop.after, undefined);
});

test('strict or standard with EXTERNALSNAT: the off-VPC drop\'s fix offers the node\'s path', () => {
  assert.match(tcp('b-strict-snat', 'inet').fix ?? '', /egress rule to sg-pod allowing TCP 8080 to 198\.51\.100\.10\/32, or set POD_SECURITY_GROUP_ENFORCING_MODE=standard with AWS_VPC_K8S_CNI_EXTERNALSNAT=false on strict-snat/);
  assert.match(tcp('b-std-ext', 'inet').fix ?? '', /or set AWS_VPC_K8S_CNI_EXTERNALSNAT=false on std-ext/);
});

test('scope Pod vs Node: the branch pod reaches db by its own group, the plain pod on the same node does not', () => {
  const pod = tcp('b-strict-snat', 'db');
  assert.equal(pod.verdict, 'delivered', pod.reason);
  assert.equal(pod.sourceSeen, '10.0.16.13');
  assert.ok(pod.forward.some((h) => h.element === 'security-group' && h.id === 'sg-db' && !h.dropped));
  const plain = tcp('p-strict-snat', 'db');
  assert.equal(plain.verdict, 'dropped');
  assert.deepEqual(dropOf(plain), { element: 'security-group', id: 'sg-db', direction: 'ingress' });
  assert.ok(!plain.codes.includes('BRANCH_ENI'));
  assert.match(plain.fix ?? '', /add an ingress rule to sg-db allowing TCP 8080 from security group sg-nodes \(nodes: the groups of node strict-snat's ENI eni-strict-snat\), or from 10\.0\.16\.11\/32/);
  // the same in standard mode: the branch's groups decide for traffic in the VPC
  assert.equal(tcp('b-std-snat', 'db').verdict, 'delivered');
  assert.equal(tcp('p-std-snat', 'db').verdict, 'dropped');
});

test('a strict branch pod in a public subnet has no internet (a branch ENI has no public IP); the plain pod beside it is seen as the node\'s public IP', () => {
  const b = tcp('b-pub', 'inet');
  assert.equal(b.verdict, 'dropped');
  assert.deepEqual(dropOf(b), { element: 'internet-gateway', id: 'igw-1' });
  assert.ok(b.codes.includes('NO_PUBLIC_IP') && b.codes.includes('BRANCH_ENI'));
  assert.match(b.fix ?? '', /^a branch ENI gets no public IP: run the pod on a node in a private subnet .*\(the controller makes the branch ENI in its node's subnet; .*, or set POD_SECURITY_GROUP_ENFORCING_MODE=standard with AWS_VPC_K8S_CNI_EXTERNALSNAT=false on pub and recreate its branch pods: /);
  const p = tcp('p-pub', 'inet');
  assert.equal(p.verdict, 'delivered');
  assert.equal(p.sourceSeen, '203.0.113.10');
});

test('without ENABLE_POD_ENI a node does not wire branch pods: a pod with a branch address there is unknown, not guessed', () => {
  const w: World = { ...world, nodes: world.nodes.map((n) => (n.name === 'strict-snat' ? { ...n, settings: { ...n.settings, podEni: false } } : n)) };
  const e = explainFlow(w, { from: 'b-strict-snat', to: 'p-other', protocol: 'tcp', port: 8080 });
  assert.equal(e.verdict, 'unknown');
  assert.match(e.reason ?? '', /on no ENI of its node strict-snat in the model \(it is branch ENI eni-strict-snat-branch's, on VLAN 1 of this node's trunk, but the node runs without ENABLE_POD_ENI=true: its ipamd wires no branch pod\)/);
});

test('a packet for a branch ENI its trunk\'s node does not wire is unknown, with why: no ENABLE_POD_ENI, no pod of the node, or the pod on another node', () => {
  const why = (w: World, to = 'b-strict-snat') => {
    const e = explainFlow(w, { from: 'p-other', to, protocol: 'tcp', port: 8080 });
    assert.equal(e.verdict, 'unknown', `${e.verdict}: ${e.reason}`);
    assert.match(e.reason ?? '', /^10\.0\.16\.13 arrives at node strict-snat on VLAN 1 of its trunk, for branch ENI eni-strict-snat-branch, which the node does not wire \(/);
    return e.reason!;
  };
  const noPodEni: World = { ...world, nodes: world.nodes.map((n) => (n.name === 'strict-snat' ? { ...n, settings: { ...n.settings, podEni: false } } : n)) };
  assert.match(why(noPodEni), /the node runs without ENABLE_POD_ENI=true: its ipamd wires no branch pod\)$/);
  const noPod: World = { ...world, endpoints: world.endpoints.filter((e) => e.name !== 'b-strict-snat') };
  assert.match(why(noPod, '10.0.16.13'), /is no pod's of this node: no pod holds its address 10\.0\.16\.13\)$/);
  const elsewhere: World = { ...world, endpoints: world.endpoints.map((e) => (e.name === 'b-strict-snat' ? { ...e, node: 'strict-ext' } : e)) };
  assert.match(why(elsewhere), /is no pod's of this node: its address 10\.0\.16\.13 is pod b-strict-snat's, of node strict-ext\)$/);
  // from the pod's side, the same world: its node has it on no ENI, and the branch's trunk is another node's
  const from = explainFlow(elsewhere, { from: 'b-strict-snat', to: 'p-other', protocol: 'tcp', port: 8080 });
  assert.equal(from.verdict, 'unknown');
  assert.match(from.reason ?? '', /on no ENI of its node strict-ext in the model \(it is branch ENI eni-strict-snat-branch's, whose trunk eni-strict-snat-trunk is attached to strict-snat\)$/);
});

test('a branch ENI ipamd could not wire (a VLAN id out of 1–4094), or two branches on one VLAN of a trunk, leave the node unknown, never an exception', () => {
  const enis: AttachedEni[] = world.model.enis;
  const withEnis = (next: AttachedEni[]): World => ({ ...world, model: { ...world.model, enis: next } });
  const node = world.nodes.find((n) => n.name === 'strict-snat')!;
  const badVlan = withEnis(enis.map((e) => (e.eniId === 'eni-strict-snat-branch' ? { ...e, trunk: { trunkEniId: 'eni-strict-snat-trunk', vlanId: 5000 } } : e)));
  const bad = renderNodeRules(badVlan, node);
  assert.ok('missing' in bad);
  assert.match(bad.missing, /^ipamd cannot wire pod b-strict-snat through branch ENI eni-strict-snat-branch on node strict-snat: .*VLAN id/);
  for (const [from, to] of [['b-strict-snat', 'p-other'], ['p-other', 'b-strict-snat'], ['p-strict-snat', 'db']]) {
    assert.equal(explainFlow(badVlan, { from: from!, to: to!, protocol: 'tcp', port: 8080 }).verdict, 'unknown', `${from} → ${to}`);
  }
  const twin: AttachedEni = { ...enis.find((e) => e.eniId === 'eni-strict-snat-branch')!, eniId: 'eni-strict-snat-twin', privateIps: ['10.0.16.14'] };
  const twins = renderNodeRules(withEnis([...enis, twin]), node);
  assert.ok('missing' in twins);
  assert.equal(twins.missing, 'branch ENIs eni-strict-snat-branch and eni-strict-snat-twin are both on VLAN 1 of trunk eni-strict-snat-trunk (node strict-snat): a trunk\'s VLAN is one branch\'s');
});

test('a trunk with no branch yet is known by its interface type: its table, but no prio-32765 rule (ipamd writes none for a trunk)', () => {
  const node = world.nodes.find((n) => n.name === 'strict-snat')!;
  const noBranch = (enis: AttachedEni[]): World => ({
    ...world,
    model: { ...world.model, enis: enis.filter((e) => e.eniId !== 'eni-strict-snat-branch') },
    endpoints: world.endpoints.filter((e) => e.name !== 'b-strict-snat'),
  });
  const enis: AttachedEni[] = world.model.enis;
  const typed = renderNodeRules(noBranch(enis), node);
  assert.ok(!('missing' in typed));
  assert.ok(typed.routes.some((r) => r.table === 2 && r.dst === 'default'), 'the trunk (device 1) has its table');
  assert.ok(!typed.ipRules.some((r) => r.priority === 32765), typed.ipRules.map(formatRule).join('\n'));
  // the same ENI untyped (a reader that did not know the type) and named by no branch is a plain secondary ENI
  const untyped = renderNodeRules(noBranch(enis.map(({ interfaceType: _t, ...e }) => e)), node);
  assert.ok(!('missing' in untyped));
  assert.deepEqual(untyped.ipRules.filter((r) => r.priority === 32765).map(formatRule), ['from 10.0.16.12/32 lookup 2 prio 32765']);
});

// TCP early demux (spec §5.2, DISABLE_TCP_EARLY_DEMUX): the node's own TCP with its strict branch pod
const withSettings = (w: World, node: string, settings: Partial<World['nodes'][number]['settings']>): World => ({
  ...w, nodes: w.nodes.map((n) => (n.name === node ? { ...n, settings: { ...n.settings, ...settings } } : n)),
});
const demuxOff = withSettings(world, 'strict-snat', { disableTcpEarlyDemux: true });
/** strict-snat with a hostNetwork pod (the node's address) */
const withHostnet = (w: World): World => ({ ...w, endpoints: [...w.endpoints, { name: 'h-strict-snat', kind: 'pod', address: '10.0.16.10', node: 'strict-snat', hostNetwork: true }] });

test('strict, tcp_early_demux on: TCP from the node to its own branch pod is dropped on the node, the reply never reaching the socket', () => {
  for (const from of ['strict-snat', 'h-strict-snat']) {
    const e = explainFlow(withHostnet(world), { from, to: 'b-strict-snat', protocol: 'tcp', port: 8080 });
    assert.equal(e.verdict, 'dropped', from);
    assert.deepEqual(dropOf(e), { element: 'node-rules', id: 'strict-snat' });
    assert.ok(e.codes.includes('TCP_EARLY_DEMUX') && e.codes.includes('HOST_NETWORK'), e.codes.join(' '));
    // the SYN reached the pod (by eth0, the VPC and vlan.eth.1); the pod's reply is routed on out of vlan.eth.1
    assert.equal(e.forward.at(-1)?.id, 'b-strict-snat');
    assert.equal(e.sourceSeen, '10.0.16.10');
    assert.match(e.reason ?? '', /^the reply: node strict-snat's early demux .* forwards it out of vlan\.eth\.1, and a packet carrying a socket is never forwarded/);
    assert.equal(e.fix, "set DISABLE_TCP_EARLY_DEMUX=true on strict-snat (aws-node's init container; spec §5.2)");
    assert.ok(!e.return.some((h) => h.element === 'security-group'), 'dropped before the reply reaches the VPC');
  }
});

test('strict, DISABLE_TCP_EARLY_DEMUX=true: the node reaches its own branch pod over TCP (the reply goes round by the VPC)', () => {
  for (const from of ['strict-snat', 'h-strict-snat']) {
    const e = explainFlow(withHostnet(demuxOff), { from, to: 'b-strict-snat', protocol: 'tcp', port: 8080 });
    assert.equal(e.verdict, 'delivered', `${from}: ${e.reason}`);
    assert.ok(!e.codes.includes('TCP_EARLY_DEMUX'));
    assert.ok(e.return.some((h) => h.element === 'security-group' && h.id === 'sg-pod'), 'the reply leaves by the branch ENI');
  }
});

test('early demux drops TCP only: UDP and ICMP from the node to its strict branch pod are delivered, whatever the setting', () => {
  for (const protocol of ['udp', 'icmp'] as const) {
    const e = explainFlow(world, { from: 'strict-snat', to: 'b-strict-snat', protocol, ...(protocol === 'udp' ? { port: 53 } : {}) });
    assert.equal(e.verdict, 'delivered', `${protocol}: ${e.reason}`);
    assert.ok(!e.codes.includes('TCP_EARLY_DEMUX'));
  }
});

test('early demux spares other senders and standard mode: a plain pod beside the strict branch pod, another node, the standard node itself', () => {
  assert.equal(tcp('p-strict-snat', 'b-strict-snat').verdict, 'delivered');
  // another node's socket is not on the branch pod's node: its reply is delivered there by eth0
  assert.equal(tcp('other', 'b-strict-snat').verdict, 'delivered');
  const standard = tcp('std-snat', 'b-std-snat');
  assert.equal(standard.verdict, 'delivered', standard.reason);
  assert.ok(standard.codes.includes('SAME_NODE') && !standard.codes.includes('TCP_EARLY_DEMUX'));
});

test('strict, tcp_early_demux on: the branch pod\'s TCP to a server of its own node completes the first round trip, then its next packet is dropped', () => {
  // nodes admits pod-sg here, so only the kernel stands in the way
  const open: World = { ...world, model: { ...world.model, filtering: { ...world.model.filtering!, securityGroups: world.model.filtering!.securityGroups.map((g) => (g.id === 'sg-nodes' ? { ...g, ingress: [...g.ingress, ...world.model.filtering!.securityGroups.find((x) => x.id === 'sg-accept')!.ingress] } : g)) } } };
  const e = explainFlow(open, { from: 'b-strict-snat', to: 'strict-snat', protocol: 'tcp', port: 10250 });
  assert.equal(e.verdict, 'dropped', e.reason);
  assert.deepEqual(dropOf(e), { element: 'node-rules', id: 'strict-snat' });
  assert.ok(e.codes.includes('TCP_EARLY_DEMUX'));
  assert.match(e.reason ?? '', /next packet \(the handshake's ACK\).*out of vlan\.eth\.1.*the connection never completes on the node$/);
  const off = explainFlow(withSettings(open, 'strict-snat', { disableTcpEarlyDemux: true }), { from: 'b-strict-snat', to: 'strict-snat', protocol: 'tcp', port: 10250 });
  assert.equal(off.verdict, 'delivered', off.reason);
  assert.equal(explainFlow(open, { from: 'b-strict-snat', to: 'strict-snat', protocol: 'udp', port: 53 }).verdict, 'delivered');
});
