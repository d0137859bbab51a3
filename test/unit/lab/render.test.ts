import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ec2Facts, EniMapping } from '../../../src/ec2/index.js';
import { defaultScenarioPath, eniPortName, loadScenario, planFabric, renderFabric, renderFixedFabric } from '../../../src/lab/index.js';
import { defaultVpcFacts } from '../vpc/default-vpc.js';

const scenario = await loadScenario(defaultScenarioPath);
const plan = planFabric(scenario);

const facts: Ec2Facts = {
  ...defaultVpcFacts,
  instances: [
    { id: 'i-pub', name: 'pub-ip' },
    { id: 'i-priv', name: 'priv' },
    { id: 'i-other', name: 'not-in-the-lab' },
  ],
  securityGroups: [],
};

const eni = (over: Partial<EniMapping>): EniMapping => ({ eniId: 'eni-x', mac: '02:00:00:00:00:01', vpcId: 'vpc-main', subnetId: 'subnet-priv', instanceId: null, deviceIndex: null, privateIps: [], ipv4Prefixes: [], ipv6Addresses: [], ipv6Prefixes: [], publicIps: {}, groupIds: [], description: '', requesterManaged: false, ...over });
const mappings: EniMapping[] = [
  eni({ eniId: 'eni-pub0', mac: '02:00:00:00:00:10', subnetId: 'subnet-pub', instanceId: 'i-pub', deviceIndex: 0, privateIps: ['10.0.0.5', '10.0.0.7'], publicIps: { '10.0.0.5': '203.0.113.5' } }),
  eni({ eniId: 'eni-priv1', mac: '02:00:00:00:00:21', instanceId: 'i-priv', deviceIndex: 1, privateIps: ['10.0.16.20', '10.0.16.21'], ipv4Prefixes: ['10.0.16.48/28'] }),
  eni({ eniId: 'eni-nat', mac: '02:00:00:00:00:99', subnetId: 'subnet-pub', privateIps: ['10.0.0.4'], publicIps: { '10.0.0.4': '203.0.113.4' } }),
  eni({ eniId: 'eni-loose', privateIps: ['10.0.16.30'] }), // created by ipamd, not attached yet
  eni({ eniId: 'eni-other', instanceId: 'i-other', deviceIndex: 0, privateIps: ['10.0.16.40'] }),
];
const desired = renderFabric(plan, scenario, facts, mappings);

test('every link name podnet picks fits IFNAMSIZ (15) and carries the pn prefix', () => {
  for (const l of plan.links) for (const end of [l.a, l.b]) {
    assert.ok(end.dev.length <= 15, end.dev);
    if (end.dev !== 'eth0') assert.ok(end.dev.startsWith('pn'), end.dev);
  }
  assert.equal(eniPortName('eni-0123456789abcdef0').length, 15);
  assert.ok(plan.namespaces.every((n) => n.startsWith('pn-')));
});

test('the fixed fabric puts IMDS and the EC2 endpoint in the aws namespace and each subnet gateway on its router', () => {
  const fixed = renderFixedFabric(plan);
  assert.ok(fixed.perNs.get('pn-aws')!.includes('addr add 169.254.169.254/32 dev lo'));
  assert.ok(fixed.perNs.get('pn-aws')!.includes('addr add 10.0.255.254/32 dev lo'));
  assert.ok(fixed.perNs.get('pn-r-main')!.includes('addr add 10.0.16.1/32 dev lo'));
  assert.ok(fixed.perNs.get('pn-r-peer')!.includes('addr add 10.1.0.1/32 dev lo'));
});

test('only attached ENIs of lab instances and NAT gateways are wired: eth<device index> with the ENI MAC', () => {
  assert.deepEqual(
    desired.links.map((l) => [l.eniId, l.endNs, l.endDev, l.mac, l.primary?.cidr ?? null]),
    [
      ['eni-nat', 'pn-nat-nat-a', 'eth0', '02:00:00:00:00:99', '10.0.0.4/20'],
      ['eni-priv1', 'pn-n-priv', 'eth1', '02:00:00:00:00:21', null],
      ['eni-pub0', 'pn-n-pub-ip', 'eth0', '02:00:00:00:00:10', '10.0.0.5/20'],
    ],
  );
  assert.equal(desired.links.find((l) => l.eniId === 'eni-pub0')!.primary!.gateway, '10.0.0.1');
});

test('the router routes each address and prefix to the ENI that holds it, via the ENI primary IP', () => {
  const routes = desired.routes.get('pn-r-main')!;
  const port = eniPortName('eni-priv1');
  assert.ok(routes.includes(`10.0.16.20/32 dev ${port} scope link`));
  assert.ok(routes.includes(`10.0.16.21/32 via 10.0.16.20 dev ${port} onlink`));
  assert.ok(routes.includes(`10.0.16.48/28 via 10.0.16.20 dev ${port} onlink`));
  assert.ok(routes.includes('unreachable 10.0.0.0/16'));
  assert.ok(!routes.some((r) => r.includes('10.0.16.30') || r.includes('10.0.16.40')), 'unwired ENIs are not routed');
});

test('each subnet route table is a Linux table selected by input port; VPC-local, IMDS and EC2 go to main first', () => {
  const rules = desired.rules.get('pn-r-main')!;
  for (const r of ['pref 100 to 10.0.0.0/16 lookup main', 'pref 101 to 169.254.169.254 lookup main', 'pref 102 to 10.0.255.254 lookup main']) assert.ok(rules.includes(r), r);
  const publicTable = 100; // rtb-private < rtb-public by id
  assert.ok(rules.includes(`pref 1000 iif ${eniPortName('eni-pub0')} lookup ${publicTable + 1}`));
  assert.ok(rules.includes(`pref 1000 iif ${eniPortName('eni-priv1')} lookup ${publicTable}`));
  const routes = desired.routes.get('pn-r-main')!;
  assert.ok(routes.includes(`0.0.0.0/0 via 10.0.0.4 dev ${eniPortName('eni-nat')} onlink table 100`), 'private: 0/0 → NAT gateway');
  assert.ok(routes.includes(`0.0.0.0/0 via ${plan.igws[0]!.vpcSideIp} dev pn-igw0 table 101`), 'public: 0/0 → IGW');
  assert.ok(routes.includes(`10.1.0.0/16 via ${plan.peerings[0]!.accepterIp} dev pn-x0 table 101`), 'public: peer CIDR → peering');
  assert.ok(desired.routes.get('pn-r-peer')!.includes(`10.0.0.0/16 via ${plan.peerings[0]!.requesterIp} dev pn-x0 table 100`));
});

test('the source/destination check allows exactly the addresses and prefixes of each ENI; the NAT gateway ENI is exempt', () => {
  const table = desired.nft.get('pn-r-main')!;
  const port = eniPortName('eni-priv1');
  assert.match(table, new RegExp(`"${port}" \\. 10\\.0\\.16\\.20/32, "${port}" \\. 10\\.0\\.16\\.21/32, "${port}" \\. 10\\.0\\.16\\.48/28`));
  assert.match(table, new RegExp(`set unchecked \\{ type ifname; elements = \\{ "${eniPortName('eni-nat')}" \\}; \\}`));
  assert.match(table, /iifname "pne\*" counter drop/);
});

test('the internet gateway maps each private address with a public IP 1:1 and the core routes the public IPs to it', () => {
  const igw = desired.nft.get('pn-igw-main-igw')!;
  assert.match(igw, /map public_of \{ type ipv4_addr : ipv4_addr; elements = \{ 10\.0\.0\.4 : 203\.0\.113\.4, 10\.0\.0\.5 : 203\.0\.113\.5 \}; \}/);
  assert.match(igw, /set has_public \{ type ipv4_addr; elements = \{ 10\.0\.0\.4, 10\.0\.0\.5 \}; \}/);
  const core = plan.igws[0]!.inetSideIp;
  assert.deepEqual(desired.routes.get('pn-inet'), [`203.0.113.4/32 via ${core} dev pn-g0`, `203.0.113.5/32 via ${core} dev pn-g0`]);
  assert.match(desired.nft.get('pn-nat-nat-a')!, /oifname "eth0" ip saddr != 10\.0\.0\.4 snat to 10\.0\.0\.4/);
});

test('a branch ENI is wired into its trunk\'s instance as vlan.eth.<vlan id> with its MAC, routed and source-checked as any ENI', () => {
  const trunk = eni({ eniId: 'eni-trunk', mac: '02:00:00:00:00:22', instanceId: 'i-priv', deviceIndex: 2, privateIps: ['10.0.16.22'] });
  const branch = eni({ eniId: 'eni-branch', mac: '02:00:00:00:00:b1', privateIps: ['10.0.16.50'], groupIds: ['sg-pod'], trunk: { trunkEniId: 'eni-trunk', vlanId: 3 } });
  // associated with a trunk the lab does not know (detached, or another instance's that is not in the lab): no wire
  const stray = eni({ eniId: 'eni-stray', mac: '02:00:00:00:00:b2', privateIps: ['10.0.16.51'], trunk: { trunkEniId: 'eni-gone', vlanId: 1 } });
  const d = renderFabric(plan, scenario, facts, [...mappings, trunk, branch, stray]);
  const link = d.links.find((l) => l.eniId === 'eni-branch');
  assert.deepEqual(link && { endNs: link.endNs, endDev: link.endDev, mac: link.mac, branch: link.branch, primary: link.primary }, { endNs: 'pn-n-priv', endDev: 'vlan.eth.3', mac: '02:00:00:00:00:b1', branch: { vlanId: 3, address: '10.0.16.50' }, primary: undefined });
  assert.ok(!d.links.some((l) => l.eniId === 'eni-stray'));
  const port = eniPortName('eni-branch');
  assert.ok(d.routes.get('pn-r-main')!.includes(`10.0.16.50/32 dev ${port} scope link`));
  assert.ok(d.rules.get('pn-r-main')!.includes(`pref 1000 iif ${port} lookup 100`), 'the branch subnet\'s route table');
  assert.ok(d.nft.get('pn-r-main')!.includes(`"${port}" . 10.0.16.50`), 'the source check lets out only the branch\'s address');
  assert.ok(!d.routes.get('pn-r-main')!.some((r) => r.includes('10.0.16.51')));
  // disassociated (the mapping loses `trunk`): no instance, no wire
  const gone = renderFabric(plan, scenario, facts, [...mappings, trunk, { ...branch, trunk: undefined }]);
  assert.ok(!gone.links.some((l) => l.eniId === 'eni-branch'));
});

test('a branch with a VLAN id out of 1–4094, or an ENI whose MAC or address is malformed, is left unwired and named; the rest is wired', () => {
  const trunk = eni({ eniId: 'eni-trunk', mac: '02:00:00:00:00:22', instanceId: 'i-priv', deviceIndex: 2, privateIps: ['10.0.16.22'] });
  const good = eni({ eniId: 'eni-branch', mac: '02:00:00:00:00:b1', privateIps: ['10.0.16.50'], trunk: { trunkEniId: 'eni-trunk', vlanId: 3 } });
  const badVlan = eni({ eniId: 'eni-vlan0', mac: '02:00:00:00:00:b2', privateIps: ['10.0.16.51'], trunk: { trunkEniId: 'eni-trunk', vlanId: 0 } });
  const badMac = eni({ eniId: 'eni-mac', mac: '02:00:00:00:00:b3 up', privateIps: ['10.0.16.52'], trunk: { trunkEniId: 'eni-trunk', vlanId: 4 } });
  const badIp = eni({ eniId: 'eni-ip', mac: '02:00:00:00:00:b4', privateIps: ['10.0.16.53 dev lo'], trunk: { trunkEniId: 'eni-trunk', vlanId: 5 } });
  const d = renderFabric(plan, scenario, facts, [...mappings, trunk, good, badVlan, badMac, badIp]);
  assert.deepEqual(d.links.filter((l) => l.branch).map((l) => l.eniId), ['eni-branch']);
  assert.deepEqual(d.skipped, [
    'eni-vlan0: VLAN id 0 is not 1–4094',
    'eni-mac: MAC "02:00:00:00:00:b3 up" is not six hex pairs',
    'eni-ip: address "10.0.16.53 dev lo" is not an IP address',
  ]);
  assert.ok(d.links.some((l) => l.eniId === 'eni-trunk'));
});
