import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderHostRules, renderNftConnmark, renderPodNetwork, renderEniNetwork, eniRouteTable, formatRoute, formatRule, type HostNetworkInput } from '../../../src/dataplane/index.js';
import { explainFlow, formatExplanation, resolveEndpoint, type Explanation, type NodeSettings, type World } from '../../../src/explain/index.js';
import { explainFlowWith } from '../../../src/explain/engine.js';
import { compileNode, renderNodeRules } from '../../../src/explain/node-rules.js';
import { PodnetError } from '../../../src/lib/index.js';
import { makeWorld, defaultSettings } from './fixture.js';

const tcp = (from: string, to: string, port = 443) => ({ from, to, protocol: 'tcp' as const, port });

/** The renderer's host input for a fixture node (the same inputs the world describes), to take rule texts from. */
function hostInput(settings: Partial<NodeSettings>, primaryIp: string, backend: 'iptables' | 'nftables' = 'nftables'): HostNetworkInput {
  const s = { ...defaultSettings, ...settings };
  return {
    vpcCidrs: ['10.0.0.0/16'], excludeSnatCidrs: s.excludeSnatCidrs, primaryIp, primaryInterface: 'eth0', vethPrefix: s.vethPrefix, connmarkBackend: backend, mark: s.connmark,
    externalSnat: s.externalSnat, nodePortSupport: s.nodePortSupport, randomizeSnat: s.randomizeSnat, randomFullySupported: true, ipv6: false, pre18Routing: s.pre18Routing, externalServiceCidrs: s.externalServiceCidrs,
  };
}
const snatRule = (input: HostNetworkInput) => {
  const r = renderHostRules(input).iptables.rules.find((x) => / -j SNAT /.test(x.spec))!;
  return `nat AWS-SNAT-CHAIN-0: ${r.spec}`;
};
const matched = (e: Explanation, leg: 'forward' | 'return' = 'forward') => e[leg].map((h) => h.matched);
const podRules = (podName: string, podIp: string, deviceIndex: number) =>
  renderPodNetwork({ namespace: 'default', podName, vethPrefix: 'eni', podIp, routeTable: eniRouteTable(deviceIndex), mtu: 9001, hostVethMac: '02:00:00:00:00:00' });
const ipRuleText = (r: Parameters<typeof formatRule>[0]) => `ip rule ${r.priority}: ${formatRule(r).replace(/ prio \d+$/, '')}`;

test('a pod reaches the internet through the internet gateway as its node\'s public IP: connmark → rule 1024 → eth0, SNAT to the primary IP', () => {
  const world = makeWorld();
  const e = explainFlow(world, tcp('web', 'internet-host'));
  assert.equal(e.verdict, 'delivered');
  assert.equal(e.sourceSeen, '203.0.113.10');
  assert.equal(e.sourcePortClass, 'random-fully');
  assert.deepEqual(e.codes, ['CONNMARK_VIA_PRIMARY_ENI', 'SNAT_TO_PRIMARY_IP', 'ROUTE_TO_INTERNET_GATEWAY', 'PUBLIC_IP_TRANSLATION']);
  const input = hostInput({}, '10.0.0.10');
  const nft = renderNftConnmark(input);
  const fwmark = renderHostRules(input).ipRules.find((r) => r.priority === 1024)!;
  const m = matched(e);
  assert.ok(m.includes(`table ip aws-cni chain snat-mark: ${nft.setMark}`));
  assert.ok(m.includes(ipRuleText(fwmark)));
  assert.ok(m.includes(snatRule(input)));
  const snatHop = e.forward.find((h) => h.matched === snatRule(input))!;
  assert.deepEqual([snatHop.before?.source, snatHop.after?.source], ['10.0.0.11', '10.0.0.10']);
  assert.deepEqual(e.forward.map((h) => h.element), ['pod', 'node-rules', 'node-rules', 'node-rules', 'node-rules', 'node-routing', 'node-routing', 'node-rules', 'node-rules', 'eni', 'route-table', 'internet-gateway', 'internet', 'destination']);
  assert.equal(e.forward[0]!.matched, `route ${formatRoute(podRules('web', '10.0.0.11', 0).podRoutes.find((r) => r.dst === 'default')!)}`);
  // the reply: the internet gateway back to the primary IP, conntrack back to the pod, rule 512 to its veth
  const pod = podRules('web', '10.0.0.11', 0);
  assert.deepEqual(matched(e, 'return').slice(-2), [ipRuleText(pod.hostRules[0]!), `route ${formatRoute(pod.hostRoutes[0]!)}`]);
  const text = formatExplanation(e);
  assert.match(text, /^DELIVERED: web/);
  assert.match(text, /sees the connection from 203\.0\.113\.10/);
  assert.ok(text.includes(snatRule(input)));
});

test('without a public IP the internet gateway drops it, and the fix says what to add', () => {
  const e = explainFlow(makeWorld({ publicIp: false }), tcp('web', 'internet-host'));
  assert.equal(e.verdict, 'dropped');
  assert.equal(e.sourceSeen, null);
  assert.equal(e.codes.at(-1), 'NO_PUBLIC_IP');
  assert.equal(e.forward.at(-1)?.element, 'internet-gateway');
  assert.equal(e.forward.at(-1)?.dropped, true);
  assert.match(e.fix ?? '', /public IP.*NAT gateway/);
  assert.match(formatExplanation(e), /DROPPED[\s\S]*Fix: /);
});

test('a private-subnet pod reaches the internet through the NAT gateway: SNAT to the node, then the NAT gateway\'s address', () => {
  const e = explainFlow(makeWorld(), tcp('db', 'internet-host'));
  assert.equal(e.verdict, 'delivered');
  assert.equal(e.sourceSeen, '203.0.113.4');
  assert.equal(e.sourcePortClass, 'nat-gateway');
  assert.deepEqual(e.codes, ['CONNMARK_VIA_PRIMARY_ENI', 'SNAT_TO_PRIMARY_IP', 'NAT_GATEWAY_TRANSLATION', 'ROUTE_TO_INTERNET_GATEWAY', 'PUBLIC_IP_TRANSLATION']);
  assert.ok(matched(e).includes(snatRule(hostInput({}, '10.0.16.10'))));
  const nat = e.forward.find((h) => h.element === 'nat-gateway')!;
  assert.deepEqual([nat.before?.source, nat.after?.source], ['10.0.16.10', '10.0.0.4']);
  const text = formatExplanation(e);
  assert.ok(text.includes("sees the connection from 203.0.113.4 (not 10.0.16.11: translated by node-priv's SNAT rule (to 10.0.16.10), then nat-gateway nat-1 (to 10.0.0.4), then internet-gateway igw-1 (to 203.0.113.4))"), text);
  assert.match(text, /Return path:\n  1\. internet-gateway igw-1: destination 203\.0\.113\.4 → 10\.0\.0\.4/);
});

test('EXTERNALSNAT: the node translates nothing; behind a NAT gateway it works, in a public subnet the pod address has no public IP', () => {
  const priv = explainFlow(makeWorld({ priv: { externalSnat: true } }), tcp('db', 'internet-host'));
  assert.equal(priv.verdict, 'delivered');
  assert.equal(priv.sourceSeen, '203.0.113.4');
  assert.ok(priv.codes.includes('EXTERNAL_SNAT'));
  assert.ok(!priv.codes.includes('SNAT_TO_PRIMARY_IP'));
  assert.ok(!priv.forward.some((h) => h.matched.startsWith('nat ')), 'no SNAT chain is jumped to');
  const pub = explainFlow(makeWorld({ pub: { externalSnat: true } }), tcp('web', 'internet-host'));
  assert.equal(pub.verdict, 'dropped');
  assert.deepEqual(pub.codes, ['EXTERNAL_SNAT', 'ROUTE_TO_INTERNET_GATEWAY', 'NO_PUBLIC_IP']);
  assert.equal(pub.forward.at(-1)?.action, '10.0.0.11 has no public IP', 'the pod\'s own address reaches the internet gateway');
  assert.match(pub.fix ?? '', /AWS_VPC_K8S_CNI_EXTERNALSNAT/);
});

test('EXCLUDE_SNAT_CIDRS: a secondary-ENI pod reaches the peer with its own address, out of its own ENI (rule 1536)', () => {
  const world = makeWorld({ priv: { excludeSnatCidrs: ['10.1.0.0/16'] } });
  const e = explainFlow(world, tcp('worker', 'peer-host'));
  assert.equal(e.verdict, 'delivered');
  assert.equal(e.sourceSeen, '10.0.16.21');
  assert.equal(e.sourcePortClass, 'original');
  assert.deepEqual(e.codes, ['POD_ON_SECONDARY_ENI', 'EXCLUDED_FROM_SNAT', 'PEERING']);
  const input = hostInput({ excludeSnatCidrs: ['10.1.0.0/16'] }, '10.0.16.10');
  const exclusion = renderHostRules(input).iptables.rules.find((r) => /EXCLUSION/.test(r.spec))!;
  const pod = podRules('worker', '10.0.16.21', 1);
  const eni = renderEniNetwork({ interface: 'eth1', deviceNumber: 1, primaryIp: '10.0.16.20', subnetCidr: '10.0.16.0/20', mtu: 9001 });
  const m = matched(e);
  assert.ok(m.includes(`nat AWS-SNAT-CHAIN-0: ${exclusion.spec}`));
  assert.ok(m.includes(`table ip aws-cni chain snat-mark: ${renderNftConnmark(input).cidrReturns.find((r) => r.includes('10.1.0.0/16'))}`));
  assert.ok(m.includes(ipRuleText(pod.hostRules.find((r) => r.priority === 1536)!)));
  assert.ok(m.includes(`route ${formatRoute(eni.routes.find((r) => r.dst === 'default')!)}`));
  assert.equal(e.forward.find((h) => h.element === 'eni')?.id, 'eni-priv1');
  // without the exclusion the peer sees the node, and the fix names the variable
  const plain = explainFlow(makeWorld(), tcp('worker', 'peer-host'));
  assert.equal(plain.sourceSeen, '10.0.16.10');
  assert.match(plain.fix ?? '', /AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS/);
});

test('pre-1.8 routing: an excluded destination leaves eth0 with the secondary-ENI pod\'s own address, and the VPC drops it', () => {
  const settings = { excludeSnatCidrs: ['10.1.0.0/16'], pre18Routing: true };
  const e = explainFlow(makeWorld({ priv: settings }), tcp('worker', 'peer-host'));
  assert.equal(e.verdict, 'dropped');
  assert.deepEqual(e.codes, ['POD_ON_SECONDARY_ENI', 'PRE_1_8_ROUTING_VIA_ETH0', 'EXCLUDED_FROM_SNAT', 'SOURCE_DEST_CHECK']);
  const rule1025 = renderHostRules(hostInput(settings, '10.0.16.10')).ipRules.find((r) => r.priority === 1025)!;
  assert.ok(matched(e).includes(ipRuleText(rule1025)));
  assert.deepEqual([e.forward.at(-1)?.element, e.forward.at(-1)?.id, e.forward.at(-1)?.dropped], ['source-destination-check', 'eni-priv0', true]);
  assert.match(e.fix ?? '', /PODNET_PRE_1_8_ROUTING/);
});

test('a secondary-ENI pod reached from the peer: the reply leaves its own ENI (1536); pre-1.8 sends it out of eth0, dropped', () => {
  const ok = explainFlow(makeWorld(), tcp('peer-host', 'worker'));
  assert.equal(ok.verdict, 'delivered');
  assert.equal(ok.sourceSeen, '10.1.0.10');
  assert.equal(ok.return.find((h) => h.element === 'eni')?.id, 'eni-priv1');
  const pod = podRules('worker', '10.0.16.21', 1);
  assert.ok(matched(ok).includes(ipRuleText(pod.hostRules[0]!)), 'rule 512 delivers it to the pod');
  assert.ok(matched(ok, 'return').includes(ipRuleText(pod.hostRules[1]!)), 'rule 1536 routes the reply');
  const old = explainFlow(makeWorld({ priv: { pre18Routing: true } }), tcp('peer-host', 'worker'));
  assert.equal(old.verdict, 'dropped');
  assert.equal(old.sourceSeen, '10.1.0.10', 'the packet arrived; its reply is what the VPC drops');
  assert.deepEqual(old.codes.slice(-2), ['REPLY_VIA_ETH0_SRC_DST_CHECK', 'SOURCE_DEST_CHECK']);
  assert.deepEqual([old.return.at(-1)?.id, old.return.at(-1)?.dropped], ['eni-priv0', true]);
  assert.match(old.reason ?? '', /^the reply: /);
  assert.match(old.fix ?? '', /PODNET_PRE_1_8_ROUTING/);
});

test('a hostNetwork pod sends from the node\'s primary IP out of eth0; the SNAT rule matches but changes nothing', () => {
  const e = explainFlow(makeWorld(), tcp('hostnet', 'internet-host'));
  assert.equal(e.verdict, 'delivered');
  assert.equal(e.sourceSeen, '203.0.113.10');
  assert.equal(e.codes[0], 'HOST_NETWORK');
  assert.ok(!e.codes.includes('SNAT_TO_PRIMARY_IP'));
  const snat = e.forward.find((h) => h.matched === snatRule(hostInput({}, '10.0.0.10')))!;
  assert.equal(snat.before, undefined);
  assert.equal(e.forward.find((h) => h.element === 'eni')?.id, 'eni-pub0');
});

test('two pods on one node: delivered through the node by rule 512, no VPC hop', () => {
  const e = explainFlow(makeWorld(), tcp('web', 'api'));
  assert.equal(e.verdict, 'delivered');
  assert.equal(e.sourceSeen, '10.0.0.11');
  assert.ok(e.codes.includes('SAME_NODE'));
  assert.deepEqual([...new Set([...e.forward, ...e.return].map((h) => h.element))], ['pod', 'node-rules', 'node-routing', 'destination']);
  const api = podRules('api', '10.0.0.21', 1);
  assert.ok(matched(e).includes(ipRuleText(api.hostRules[0]!)));
  assert.ok(matched(e).includes(`route ${formatRoute(api.hostRoutes[0]!)}`));
});

test('the iptables connmark backend marks the same connection by its own rules', () => {
  const e = explainFlow(makeWorld({ backend: 'iptables' }), tcp('web', 'internet-host'));
  assert.equal(e.sourceSeen, '203.0.113.10');
  const rules = renderHostRules(hostInput({}, '10.0.0.10', 'iptables')).iptables.rules;
  const setMark = rules.find((r) => r.chain === 'AWS-CONNMARK-CHAIN-0' && /set-xmark/.test(r.spec))!;
  assert.ok(matched(e).includes(`nat AWS-CONNMARK-CHAIN-0: ${setMark.spec}`));
  assert.ok(e.codes.includes('CONNMARK_VIA_PRIMARY_ENI'));
});

const filtering = (acl: boolean) => ({
  securityGroups: [
    { id: 'sg-nodes', name: 'nodes', vpcId: 'vpc-main', ingress: [{ protocol: 'all' as const, peer: { cidr: '0.0.0.0/0' } }], egress: [{ protocol: 'all' as const, peer: { cidr: '0.0.0.0/0' } }] },
    { id: 'sg-peer', name: 'peer', vpcId: 'vpc-peer', ingress: [{ protocol: 'tcp' as const, ports: { from: 22, to: 22 }, peer: { cidr: '10.0.0.0/16' } }], egress: [{ protocol: 'all' as const, peer: { cidr: '0.0.0.0/0' } }] },
  ],
  networkAcls: acl
    ? [{ id: 'acl-peer', vpcId: 'vpc-peer', isDefault: false, subnetIds: ['subnet-peer'], entries: [
      { ruleNumber: 100, egress: false, protocol: 'tcp' as const, ports: { from: 22, to: 22 }, cidr: '0.0.0.0/0', action: 'deny' as const },
      { ruleNumber: 200, egress: false, protocol: 'all' as const, cidr: '0.0.0.0/0', action: 'allow' as const },
      { ruleNumber: 100, egress: true, protocol: 'all' as const, cidr: '0.0.0.0/0', action: 'allow' as const },
    ] }]
    : [],
});

test('security groups and network ACLs: the drop names the group or the entry, and the fix the rule to add', () => {
  const sg = explainFlow(makeWorld({ priv: { excludeSnatCidrs: ['10.1.0.0/16'] }, filtering: filtering(false) }), tcp('worker', 'peer-host', 443));
  assert.equal(sg.verdict, 'dropped');
  assert.equal(sg.codes.at(-1), 'SECURITY_GROUP_DENY');
  assert.equal(sg.forward.at(-1)?.element, 'security-group');
  assert.equal(sg.forward.at(-1)?.id, 'sg-peer');
  assert.match(sg.fix ?? '', /ingress rule to sg-peer allowing TCP 443 from 10\.0\.16\.21\/32/);
  const allowed = explainFlow(makeWorld({ priv: { excludeSnatCidrs: ['10.1.0.0/16'] }, filtering: filtering(false) }), tcp('worker', 'peer-host', 22));
  assert.equal(allowed.verdict, 'delivered');
  const acl = explainFlow(makeWorld({ filtering: filtering(true) }), tcp('worker', 'peer-host', 22));
  assert.equal(acl.verdict, 'dropped');
  assert.equal(acl.codes.at(-1), 'NETWORK_ACL_DENY');
  assert.equal(acl.forward.at(-1)?.id, 'acl-peer');
  assert.match(acl.forward.at(-1)!.matched, /100/);
  assert.match(acl.fix ?? '', /acl-peer/);
});

test('a rule the interpreter does not understand makes the answer unknown, naming the rule', () => {
  const world: World = makeWorld();
  const strange = '-m set --match-set allowed dst -j RETURN';
  const verdict = explainFlowWith(world, tcp('web', 'internet-host'), (node) => {
    const set = renderNodeRules(world, node);
    if ('missing' in set) return set;
    set.host.iptables.rules.splice(set.host.iptables.rules.findIndex((r) => r.chain === 'AWS-SNAT-CHAIN-0'), 0, { table: 'nat', chain: 'AWS-SNAT-CHAIN-0', spec: strange });
    return compileNode(set);
  });
  assert.equal(verdict.verdict, 'unknown');
  assert.equal(verdict.sourceSeen, null);
  assert.ok(verdict.reason?.includes(`nat AWS-SNAT-CHAIN-0: ${strange}`));
  assert.match(formatExplanation(verdict), /^UNKNOWN[\s\S]*Cannot decide/);
  // a flow that never reaches the rule is still decided
  const other = explainFlowWith(world, tcp('peer-host', 'web'), (node) => {
    const set = renderNodeRules(world, node);
    if ('missing' in set) return set;
    set.host.iptables.rules.push({ table: 'nat', chain: 'AWS-SNAT-CHAIN-0', spec: strange });
    return compileNode(set);
  });
  assert.equal(other.verdict, 'delivered');
});

test('endpoints resolve by name or address; an unknown name suggests the nearest ones; an address in no network is an error', () => {
  const world = makeWorld();
  assert.equal(resolveEndpoint(world, 'web').address, '10.0.0.11');
  assert.equal(resolveEndpoint(world, '10.0.16.21').name, 'worker');
  assert.equal(resolveEndpoint(world, '10.0.0.10').kind, 'node', 'the node before its hostNetwork pods');
  assert.match(resolveEndpoint(world, '10.0.16.20').name, /address on eni-priv1/);
  assert.equal(resolveEndpoint(world, '8.8.8.8').kind, 'internet');
  assert.throws(() => resolveEndpoint(world, 'wrker'), (err: unknown) => err instanceof PodnetError && err.code === 'USAGE' && /worker/.test(err.hint ?? ''));
  assert.throws(() => resolveEndpoint(world, '172.20.0.1'), (err: unknown) => err instanceof PodnetError && /no known network/.test(err.message));
  assert.throws(() => resolveEndpoint(world, '10.0.9.9'), (err: unknown) => err instanceof PodnetError && /no network interface holds it/.test(err.message));
});

test('from the internet a node is reached at its public IP; a pod, which has none, is not reached', () => {
  const node = explainFlow(makeWorld(), tcp('internet-host', 'node-pub', 22));
  assert.equal(node.verdict, 'delivered');
  assert.equal(node.sourceSeen, '198.51.100.10');
  assert.deepEqual(node.codes, ['PUBLIC_IP_TRANSLATION', 'ROUTE_TO_INTERNET_GATEWAY'], 'the reply goes back through the internet gateway');
  const igw = node.forward.find((h) => h.element === 'internet-gateway')!;
  assert.deepEqual([igw.before?.destination, igw.after?.destination], ['203.0.113.10', '10.0.0.10']);
  assert.deepEqual(node.forward.slice(-3, -1).map((h) => h.matched), ['ip rule 0: from all lookup local', 'route local 10.0.0.10 dev eth0 table local']);
  assert.equal(node.return.find((h) => h.element === 'eni')?.id, 'eni-pub0');
  const pod = explainFlow(makeWorld(), tcp('internet-host', 'web'));
  assert.equal(pod.verdict, 'dropped');
  assert.equal(pod.forward.at(-1)?.element, 'internet');
});

test('addresses from a simulation are said to be simulated; a public IP of the model resolves to what is behind it', () => {
  const world = makeWorld();
  world.endpoints = world.endpoints.map((x) => (x.name === 'db' ? { ...x, simulated: true } : x));
  const e = explainFlow(world, tcp('db', 'internet-host'));
  assert.equal(e.simulated, true);
  assert.match(formatExplanation(e), /\(simulated: /);
  assert.equal(explainFlow(makeWorld(), tcp('db', 'internet-host')).simulated, undefined);
  const pub = resolveEndpoint(world, '203.0.113.10');
  assert.deepEqual([pub.kind, pub.address], ['node', '203.0.113.10']);
  assert.match(pub.name, /public IP of node-pub/);
  const dropped = explainFlow(makeWorld(), tcp('internet-host', 'web'));
  assert.match(dropped.fix ?? '', /web \(10\.0\.0\.11\) has no public IP/);
});

test('on premises behind the virtual private gateway: the data centre sees the node unless its CIDR is excluded', () => {
  const e = explainFlow(makeWorld(), tcp('db', 'dc-host'));
  assert.equal(e.verdict, 'delivered');
  assert.equal(e.sourceSeen, '10.0.16.10');
  assert.deepEqual(e.codes, ['CONNMARK_VIA_PRIMARY_ENI', 'SNAT_TO_PRIMARY_IP', 'VPN_GATEWAY']);
  assert.match(e.fix ?? '', /add 192\.168\.0\.0\/16 to AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS on node-priv/);
  const excluded = explainFlow(makeWorld({ priv: { excludeSnatCidrs: ['192.168.0.0/16'] } }), tcp('worker', 'dc-host'));
  assert.equal(excluded.sourceSeen, '10.0.16.21');
  assert.equal(excluded.fix, undefined);
  // from the data centre to a secondary-ENI pod: pre-1.8 routing sends the reply out of eth0
  const back = explainFlow(makeWorld({ priv: { pre18Routing: true } }), tcp('dc-host', 'worker'));
  assert.equal(back.verdict, 'dropped');
  assert.ok(back.codes.includes('REPLY_VIA_ETH0_SRC_DST_CHECK'));
});

test('an excluded internet destination leaves with the pod\'s own address: the fix is to drop the exclusion', () => {
  const e = explainFlow(makeWorld({ pub: { excludeSnatCidrs: ['198.51.100.0/24'] } }), tcp('web', 'internet-host'));
  assert.equal(e.verdict, 'dropped');
  assert.deepEqual(e.codes, ['EXCLUDED_FROM_SNAT', 'ROUTE_TO_INTERNET_GATEWAY', 'NO_PUBLIC_IP']);
  assert.match(e.fix ?? '', /remove .* from AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS on node-pub/);
});

test('a sender to its own address (a node to its hostNetwork pod) is delivered over loopback', () => {
  const e = explainFlow(makeWorld(), tcp('node-pub', 'hostnet'));
  assert.equal(e.verdict, 'delivered');
  assert.equal(e.sourceSeen, '10.0.0.10');
  assert.deepEqual(e.forward.map((h) => h.element), ['destination']);
  assert.deepEqual(e.return, []);
});

test('the internet delivers only to internet addresses: an on-premises network is reached over its VPN, not the internet', () => {
  const fromInternet = explainFlow(makeWorld(), tcp('internet-host', 'dc-host'));
  assert.equal(fromInternet.verdict, 'dropped');
  assert.equal(fromInternet.sourceSeen, null);
  assert.deepEqual(fromInternet.codes, ['NO_ROUTE']);
  assert.deepEqual(fromInternet.forward.map((h) => [h.element, h.dropped ?? false]), [['internet', true]]);
  assert.match(fromInternet.reason ?? '', /the internet has no route to 192\.168\.1\.10, an address of on-premises network dc/);
  // the public subnet routes 0.0.0.0/0 to the internet gateway and has no route to the data centre
  const fromPublic = explainFlow(makeWorld(), tcp('web', 'dc-host'));
  assert.equal(fromPublic.verdict, 'dropped');
  assert.equal(fromPublic.forward.at(-1)?.element, 'internet');
  assert.match(fromPublic.fix ?? '', /route 192\.168\.0\.0\/16 in route table rtb-public/);
});

test('two hosts of one on-premises network reach each other through its own router; it routes only the VPC to AWS', () => {
  const e = explainFlow(makeWorld(), tcp('dc-host', 'dc-host-2'));
  assert.equal(e.verdict, 'delivered');
  assert.equal(e.sourceSeen, '192.168.1.10');
  assert.deepEqual(e.forward.map((h) => `${h.element} ${h.id}`), ['on-premises dc', 'destination dc-host-2']);
  const toInternet = explainFlow(makeWorld(), tcp('dc-host', 'internet-host'));
  assert.equal(toInternet.verdict, 'dropped');
  assert.deepEqual(toInternet.codes, ['NO_ROUTE']);
});

test('a pod whose address is on no ENI of its node: its own flows are unknown, the node\'s other pods are still explained', () => {
  const world = makeWorld();
  world.endpoints.push({ name: 'stray', kind: 'pod', address: '10.0.16.99', node: 'node-priv' });
  const stray = explainFlow(world, tcp('stray', 'internet-host'));
  assert.equal(stray.verdict, 'unknown');
  assert.match(stray.reason ?? '', /stray's address 10\.0\.16\.99 is on no ENI of its node node-priv/);
  assert.equal(explainFlow(world, tcp('db', 'internet-host')).verdict, 'delivered');
});

test('a transit gateway to another VPC: outside the node\'s VPC CIDRs, so the pod is seen as its node unless excluded', () => {
  const withTransit = (settings: Partial<NodeSettings> = {}): World => {
    const world = makeWorld({ priv: settings });
    const toTgw = (destination: string) => ({ destination, target: { kind: 'tgw' as const, id: 'tgw-1' } });
    world.model.vpcs.push({ id: 'vpc-transit', name: 'transit', cidr: '10.2.0.0/16' });
    world.model.subnets.push({ id: 'subnet-transit', name: 'transit-a', vpcId: 'vpc-transit', cidr: '10.2.0.0/24', routeTableId: 'rtb-transit' });
    world.model.routeTables = [
      ...world.model.routeTables.map((t) => (t.id === 'rtb-private' ? { ...t, routes: [...t.routes, toTgw('10.2.0.0/16')] } : t)),
      { id: 'rtb-transit', vpcId: 'vpc-transit', routes: [{ destination: '10.2.0.0/16', target: { kind: 'local' } }, toTgw('10.0.0.0/16')] },
    ];
    world.model.transitGateways = [{
      id: 'tgw-1', name: 'hub',
      attachments: [{ id: 'tgw-attach-main', resourceType: 'vpc', vpcId: 'vpc-main', subnetIds: ['subnet-priv'] }, { id: 'tgw-attach-transit', resourceType: 'vpc', vpcId: 'vpc-transit', subnetIds: ['subnet-transit'] }],
      routes: [{ destination: '10.0.0.0/16', attachmentId: 'tgw-attach-main', origin: 'propagated' }, { destination: '10.2.0.0/16', attachmentId: 'tgw-attach-transit', origin: 'propagated' }],
    }];
    world.model.enis.push({ eniId: 'eni-transit', vpcId: 'vpc-transit', subnetId: 'subnet-transit', privateIps: ['10.2.0.10'], ipv4Prefixes: [], publicIps: {}, instanceId: 'i-transit', deviceIndex: 0 });
    world.endpoints.push({ name: 'transit-host', kind: 'host', address: '10.2.0.10' });
    return world;
  };
  const e = explainFlow(withTransit(), tcp('worker', 'transit-host'));
  assert.equal(e.verdict, 'delivered');
  assert.equal(e.sourceSeen, '10.0.16.10');
  assert.deepEqual(e.codes, ['POD_ON_SECONDARY_ENI', 'CONNMARK_VIA_PRIMARY_ENI', 'SNAT_TO_PRIMARY_IP', 'TRANSIT_GATEWAY']);
  assert.match(e.fix ?? '', /add 10\.2\.0\.0\/16 to AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS on node-priv/);
  const excluded = explainFlow(withTransit({ excludeSnatCidrs: ['10.2.0.0/16'] }), tcp('worker', 'transit-host'));
  assert.equal(excluded.sourceSeen, '10.0.16.21');
  assert.equal(excluded.forward.find((h) => h.element === 'eni')?.id, 'eni-priv1');
});

test('a reply that comes back through the NAT gateway is no reply: the sender sees another source and drops it', () => {
  // the private subnet loses its peering route: the reply to the peer goes 0.0.0.0/0 → NAT gateway → (public) peering
  const world = makeWorld();
  world.model.routeTables = world.model.routeTables.map((t) => (t.id === 'rtb-private' ? { ...t, routes: t.routes.filter((r) => r.target.kind !== 'pcx') } : t));
  const e = explainFlow(world, tcp('peer-host', 'db'));
  assert.equal(e.verdict, 'dropped');
  assert.equal(e.sourceSeen, '10.1.0.10', 'the packet itself arrives');
  assert.deepEqual(e.codes.slice(-2), ['NAT_GATEWAY_TRANSLATION', 'ASYMMETRIC_REPLY']);
  assert.deepEqual([e.return.at(-1)?.element, e.return.at(-1)?.id, e.return.at(-1)?.dropped], ['destination', 'peer-host', true]);
  assert.match(e.reason ?? '', /from 10\.0\.0\.4, not from 10\.0\.16\.11.*nat-gateway nat-1 translated its source/);
  assert.match(e.fix ?? '', /add a route for 10\.1\.0\.10 \(or its network\) to route table rtb-private through pcx-1/);
});
