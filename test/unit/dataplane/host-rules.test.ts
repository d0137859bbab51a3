import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAIN_TABLE,
  formatIptablesSave,
  formatNftTable,
  formatRule,
  parseIptablesSave,
  parseNftTable,
  planHostRules,
  planIptables,
  planNft,
  renderHostRules,
  renderNftConnmark,
  type HostNetworkInput,
} from '../../../src/dataplane/index.js';
import { fullExampleInput as defaults, fullExampleIptablesSave as fixture } from './fixtures/full-example.js';

const save = (over: Partial<HostNetworkInput>) => formatIptablesSave(renderHostRules({ ...defaults, ...over }).iptables);
const chainRules = (over: Partial<HostNetworkInput>, chain: string) => renderHostRules({ ...defaults, ...over }).iptables.rules.filter((r) => r.chain === chain).map((r) => r.spec);
const ipRules = (over: Partial<HostNetworkInput>) => renderHostRules({ ...defaults, ...over }).ipRules.map(formatRule);

test('the defaults render exactly the iptables-save output of spec §2.6', () => {
  assert.equal(save({}), fixture);
});

test('the rendering survives a round trip through the iptables-save parser', () => {
  const dump = parseIptablesSave(fixture);
  assert.deepEqual(dump.get('nat')?.get('AWS-SNAT-CHAIN-0')?.length, 3);
  assert.deepEqual(planIptables(dump, renderHostRules(defaults).iptables), { restore: '', changes: [] });
});

test('several VPC and excluded CIDRs end up exclusions first, each group last-listed first (§2.2, network_test.go)', () => {
  const specs = chainRules({ vpcCidrs: ['10.10.0.0/16', '10.11.0.0/16'], excludeSnatCidrs: ['10.12.0.0/16', '10.13.0.0/16'] }, 'AWS-SNAT-CHAIN-0');
  const summary = specs.map((s) => (s.startsWith('-d ') ? s.split(' ')[1] + (s.includes('EXCLUSION') ? ' EXCLUSION' : '') : /-j (\S+)/.exec(s)![1]));
  assert.deepEqual(summary, ['10.13.0.0/16 EXCLUSION', '10.12.0.0/16 EXCLUSION', '10.11.0.0/16', '10.10.0.0/16', 'SNAT']);
});

test('an excluded 0.0.0.0/0 has no -d, as iptables -S prints it', () => {
  const specs = chainRules({ excludeSnatCidrs: ['0.0.0.0/0'] }, 'AWS-SNAT-CHAIN-0');
  assert.equal(specs[0], '-m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN');
});

test('excluded CIDRs are normalised to their network address', () => {
  assert.match(chainRules({ excludeSnatCidrs: ['172.16.5.9/12'] }, 'AWS-SNAT-CHAIN-0')[0]!, /^-d 172\.16\.0\.0\/12 /);
});

test('RANDOMIZESNAT=prng gives --random-fully, or --random where iptables lacks it', () => {
  assert.match(chainRules({ randomizeSnat: 'prng' }, 'AWS-SNAT-CHAIN-0').at(-1)!, /--to-source 10\.0\.0\.10 --random-fully$/);
  assert.match(chainRules({ randomizeSnat: 'prng', randomFullySupported: false }, 'AWS-SNAT-CHAIN-0').at(-1)!, /--to-source 10\.0\.0\.10 --random$/);
});

test('RANDOMIZESNAT=hashrandom gives --random and none gives no flag', () => {
  assert.match(chainRules({ randomizeSnat: 'hashrandom' }, 'AWS-SNAT-CHAIN-0').at(-1)!, /--to-source 10\.0\.0\.10 --random$/);
  assert.match(chainRules({ randomizeSnat: 'none' }, 'AWS-SNAT-CHAIN-0').at(-1)!, /--to-source 10\.0\.0\.10$/);
});

test('§2.5 row 1 (defaults): jump + SNAT chain, connmark, mangle m1/m2/m3, rule 1024', () => {
  const h = renderHostRules(defaults);
  assert.equal(h.iptables.rules.filter((r) => r.table === 'mangle').length, 3);
  assert.ok(h.iptables.chains.some((c) => c.chain === 'AWS-CONNMARK-CHAIN-0'));
  assert.deepEqual(ipRules({}), ['fwmark 0x80/0x80 lookup main prio 1024']);
});

test('§2.5 row 2 (nodePort off): only mangle m2 stays, connmark and rule 1024 stay', () => {
  const mangle = chainRules({ nodePortSupport: false }, 'PREROUTING').filter((s) => s.includes('primary ENI'));
  assert.deepEqual(mangle, ['-i eni+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80']);
  assert.match(save({ nodePortSupport: false }), /AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark/);
  assert.deepEqual(ipRules({ nodePortSupport: false }), ['fwmark 0x80/0x80 lookup main prio 1024']);
});

test('§2.5 row 3 (external SNAT): the SNAT chain exists but is empty, no jump, no connmark, mangle m1-m3, rule 1024', () => {
  const text = save({ externalSnat: true });
  assert.equal(text, [
    '*mangle',
    '-A PREROUTING -i eth0 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80/0x80',
    '-A PREROUTING -i eni+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
    '-A PREROUTING -i vlan+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80',
    '*nat',
    ':AWS-SNAT-CHAIN-0 - [0:0]',
    '',
  ].join('\n'));
  assert.deepEqual(ipRules({ externalSnat: true }), ['fwmark 0x80/0x80 lookup main prio 1024']);
  assert.equal(renderHostRules({ ...defaults, externalSnat: true, connmarkBackend: 'nftables' }).nft, null);
});

test('§2.5 row 4 (external SNAT, nodePort off): empty SNAT chain, no mangle rules, no rule 1024', () => {
  assert.equal(save({ externalSnat: true, nodePortSupport: false }), '*nat\n:AWS-SNAT-CHAIN-0 - [0:0]\n');
  assert.deepEqual(ipRules({ externalSnat: true, nodePortSupport: false }), []);
});

test('IPv6 mode has no nat or mangle rules, only the FORWARD block and the v6 fwmark rule', () => {
  const h = renderHostRules({ ...defaults, ipv6: true, connmarkBackend: 'nftables' });
  assert.deepEqual(h.iptables.chains, []);
  assert.deepEqual(h.iptables.rules.map((r) => `${r.table} ${r.chain}`), ['filter FORWARD']);
  assert.match(h.iptables.rules[0]!.spec, /-d 169\.254\.172\.0\/22 .*"Block Node Local Pod access via IPv4" -j REJECT/);
  assert.equal(h.nft, null);
  assert.deepEqual(h.ipRules.map((r) => [r.family, formatRule(r)]), [[6, 'fwmark 0x80/0x80 lookup main prio 1024']]);
});

test('the pre-1.8.0 setting drops connmark marking for rule 1025 "not to <VPC CIDR> lookup main"', () => {
  const h = renderHostRules({ ...defaults, pre18Routing: true, vpcCidrs: ['10.0.0.0/16', '10.1.0.0/16'] });
  assert.ok(!h.iptables.chains.some((c) => c.chain.startsWith('AWS-CONNMARK')));
  assert.ok(!h.iptables.rules.some((r) => r.table === 'nat' && r.chain === 'PREROUTING'));
  assert.deepEqual(h.ipRules.map(formatRule), ['fwmark 0x80/0x80 lookup main prio 1024', 'not to 10.0.0.0/16 lookup main prio 1025']);
  assert.equal(renderHostRules({ ...defaults, pre18Routing: true, connmarkBackend: 'nftables' }).nft, null);
  assert.match(formatIptablesSave(h.iptables), /-A AWS-SNAT-CHAIN-0 ! -o vlan\+ .*SNAT --to-source 10\.0\.0\.10/);
});

test('AWS_EXTERNAL_SERVICE_CIDRS become "to <cidr> lookup main" rules at priority 1535', () => {
  assert.deepEqual(ipRules({ externalServiceCidrs: ['100.64.0.0/16', '203.0.113.7/32'] }), [
    'fwmark 0x80/0x80 lookup main prio 1024',
    'to 100.64.0.0/16 lookup main prio 1535',
    'to 203.0.113.7/32 lookup main prio 1535',
  ]);
});

test('the nftables backend renders the table ip aws-cni of §2.4 instead of the iptables connmark chain', () => {
  const h = renderHostRules({ ...defaults, connmarkBackend: 'nftables', vpcCidrs: ['10.0.0.0/8'], excludeSnatCidrs: ['172.16.0.0/12'] });
  assert.ok(!formatIptablesSave(h.iptables).includes('CONNMARK-CHAIN'));
  assert.ok(!h.iptables.rules.some((r) => r.table === 'nat' && r.chain === 'PREROUTING'));
  assert.equal(formatNftTable(h.nft!), [
    'table ip aws-cni {',
    '\tchain nat-prerouting {',
    '\t\ttype nat hook prerouting priority -90; policy accept;',
    '\t\tfib daddr type local return',
    '\t\tiifname "eni*" counter jump snat-mark',
    '\t\tcounter meta mark set ct mark & 0x00000080',
    '\t}',
    '\tchain snat-mark {',
    '\t\tcounter ip daddr 172.16.0.0/12 return',
    '\t\tcounter ip daddr 10.0.0.0/8 return',
    '\t\tcounter ct mark set ct mark | 0x00000080',
    '\t}',
    '}',
    '',
  ].join('\n'));
});

const listing = `table ip aws-cni { # handle 1
	chain nat-prerouting { # handle 1
		type nat hook prerouting priority dstnat + 10; policy accept;
		fib daddr type local return # handle 3
		iifname "eni*" counter packets 4 bytes 240 jump snat-mark # handle 4
		counter packets 9 bytes 540 meta mark set ct mark & 0x00000080 # handle 5
	}

	chain snat-mark { # handle 2
		counter packets 0 bytes 0 ip daddr 10.0.0.0/16 return # handle 6
		counter packets 0 bytes 0 ip daddr 10.99.0.0/16 return # handle 7
		counter packets 3 bytes 180 ct mark set ct mark | 0x00000080 # handle 8
	}
}
`;

test('nft reconcile keeps a matching base chain, deletes a stale CIDR by handle and inserts a missing one', () => {
  const want = renderNftConnmark({ ...defaults, connmarkBackend: 'nftables' });
  const plan = planNft(parseNftTable(listing), want);
  assert.deepEqual(plan.script.trim().split('\n'), [
    'delete rule ip aws-cni snat-mark handle 7',
    'insert rule ip aws-cni snat-mark counter ip daddr 192.168.0.0/16 return',
  ]);
});

test('nft reconcile of a matching table changes nothing; without connmark the table is deleted', () => {
  const want = renderNftConnmark({ ...defaults, connmarkBackend: 'nftables', excludeSnatCidrs: ['10.99.0.0/16'] });
  assert.deepEqual(planNft(parseNftTable(listing), want), { script: '', changes: [] });
  assert.equal(planNft(parseNftTable(listing), null).script, 'delete table ip aws-cni\n');
  assert.equal(planNft(null, null).script, '');
});

test('a base chain with other rules is flushed and refilled', () => {
  const edited = listing.replace('fib daddr type local return # handle 3', 'ip saddr 1.2.3.4 drop # handle 3');
  const plan = planNft(parseNftTable(edited), renderNftConnmark({ ...defaults, excludeSnatCidrs: ['10.99.0.0/16'] }));
  assert.equal(plan.script.split('\n')[0], 'flush chain ip aws-cni nat-prerouting');
  assert.equal(plan.script.split('\n').filter((l) => l.startsWith('add rule ip aws-cni nat-prerouting')).length, 3);
});

test('host ip rules: stale 1535 and 1025 rules are deleted, missing ones added, others left alone', () => {
  const current = [
    { family: 4 as const, priority: 0, table: MAIN_TABLE },
    { family: 4 as const, priority: 1024, fwmark: { value: 0x80, mask: 0x80 }, table: MAIN_TABLE },
    { family: 4 as const, priority: 1025, not: true, to: '10.0.0.0/16', table: MAIN_TABLE },
    { family: 4 as const, priority: 1535, to: '100.64.0.0/16', table: MAIN_TABLE },
    { family: 4 as const, priority: 1536, from: '10.0.1.5/32', table: 2 },
  ];
  const lines = planHostRules(current, renderHostRules({ ...defaults, externalServiceCidrs: ['100.65.0.0/16'] }).ipRules.filter((r) => r.family === 4));
  assert.deepEqual(lines.map((l) => l.cmd), [
    'rule del not to 10.0.0.0/16 lookup main prio 1025',
    'rule del to 100.64.0.0/16 lookup main prio 1535',
    'rule add to 100.65.0.0/16 lookup main prio 1535',
  ]);
});

const cidrOf = (spec: string) => (spec.startsWith('-d ') ? spec.split(' ')[1]! : spec.includes('RETURN') ? '0.0.0.0/0' : 'last');

test('issue 11 item 7: a repeated excluded CIDR yields one RETURN rule per chain, where upstream\'s first insert put it', () => {
  // upstream builds V, E1, E2, E1 and inserts each missing rule at 1 after `iptables -C`: V; E1 V; E2 E1 V; E1 exists
  const over = { vpcCidrs: ['10.0.0.0/16'], excludeSnatCidrs: ['192.168.0.0/16', '172.16.0.0/12', '192.168.7.1/16'] };
  assert.deepEqual(chainRules(over, 'AWS-SNAT-CHAIN-0').map(cidrOf), ['172.16.0.0/12', '192.168.0.0/16', '10.0.0.0/16', 'last']);
  assert.deepEqual(chainRules(over, 'AWS-CONNMARK-CHAIN-0').map(cidrOf), ['172.16.0.0/12', '192.168.0.0/16', '10.0.0.0/16', 'last']);
  assert.deepEqual(renderNftConnmark({ ...defaults, ...over }).cidrReturns, ['counter ip daddr 172.16.0.0/12 return', 'counter ip daddr 192.168.0.0/16 return', 'counter ip daddr 10.0.0.0/16 return']);
});

test('issue 11 item 7: an excluded CIDR equal to the VPC CIDR yields one RETURN rule in the connmark chain and in nft\'s snat-mark', () => {
  const over = { vpcCidrs: ['10.0.0.0/16', '10.1.0.0/16'], excludeSnatCidrs: ['10.0.0.0/16'] };
  // the connmark RETURN is the same rule for both lists, so upstream's first (VPC) insert is the one that stays
  assert.deepEqual(chainRules(over, 'AWS-CONNMARK-CHAIN-0').map(cidrOf), ['10.1.0.0/16', '10.0.0.0/16', 'last']);
  assert.deepEqual(renderNftConnmark({ ...defaults, ...over }).cidrReturns, ['counter ip daddr 10.1.0.0/16 return', 'counter ip daddr 10.0.0.0/16 return']);
  // the SNAT chain's two rules differ by comment ("AWS SNAT CHAIN" vs "... EXCLUSION"): upstream keeps both
  const snat = chainRules(over, 'AWS-SNAT-CHAIN-0');
  assert.deepEqual(snat.slice(0, 3), [
    '-d 10.0.0.0/16 -m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN',
    '-d 10.1.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
    '-d 10.0.0.0/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN',
  ]);
  assert.equal(snat.length, 4);
});

test('issue 11 item 7: a second nft apply with a /32 exclusion changes nothing (nft lists it without /32)', () => {
  const want = renderNftConnmark({ ...defaults, connmarkBackend: 'nftables', excludeSnatCidrs: ['10.99.0.0/16', '203.0.113.7/32'] });
  assert.ok(want.cidrReturns.includes('counter ip daddr 203.0.113.7/32 return'));
  const first = planNft(parseNftTable(listing), want);
  assert.deepEqual(first.script.trim().split('\n'), ['insert rule ip aws-cni snat-mark counter ip daddr 203.0.113.7/32 return']);
  // what `nft -a list` shows after that insert: the address without its /32
  const applied = listing.replace('\t\tcounter packets 0 bytes 0 ip daddr 10.0.0.0/16', '\t\tcounter packets 0 bytes 0 ip daddr 203.0.113.7 return # handle 9\n\t\tcounter packets 0 bytes 0 ip daddr 10.0.0.0/16');
  assert.deepEqual(planNft(parseNftTable(applied), want), { script: '', changes: [] });
});

test('issue 11 item 7: a CIDR rule nft holds twice, or listed twice in the desired table, ends up once', () => {
  const twice = listing.replace('ip daddr 10.99.0.0/16 return # handle 7', 'ip daddr 10.0.0.0/16 return # handle 7');
  const want = renderNftConnmark({ ...defaults, connmarkBackend: 'nftables', excludeSnatCidrs: ['10.99.0.0/16'] });
  assert.deepEqual(planNft(parseNftTable(twice), want).script.trim().split('\n'), [
    'delete rule ip aws-cni snat-mark handle 7',
    'insert rule ip aws-cni snat-mark counter ip daddr 10.99.0.0/16 return',
  ]);
  const doubled = { ...want, cidrReturns: [...want.cidrReturns, 'counter ip daddr 10.99.0.0/16 return'] };
  assert.deepEqual(planNft(null, doubled).script.split('\n').filter((l) => l.includes('10.99.0.0/16')).length, 1);
});
