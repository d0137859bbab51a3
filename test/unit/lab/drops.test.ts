// lab probe's reason: the fabric's counters as nft and the kernel print them, and which reason a change names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DROP_REASON_SENTENCES, attributeDrop, parseInNoRoutes, parseNftCounters, renderIgwNat, renderSourceCheck, type DropCounter } from '../../../src/lab/index.js';
import { seedCounters } from '../../../src/lab/apply.js';

// `nft list table ip pn_vpc` as nftables 1.0 prints it
const routerListing = `table ip pn_vpc {
	set eni_sources {
		type ifname . ipv4_addr
		flags interval
		elements = { "pne0123456789ab" . 10.0.0.4 }
	}

	chain source_check {
		type filter hook prerouting priority raw; policy accept;
		iifname @unchecked accept
		iifname . ip saddr @eni_sources accept
		iifname "pne*" counter packets 3 bytes 180 drop comment "source-destination-check"
	}

	chain unheld_destination {
		type filter hook prerouting priority filter; policy accept;
		ip daddr 10.0.0.0/16 fib daddr oif missing counter packets 2 bytes 120 comment "no-route"
	}
}
`;

const netstat = `TcpExt: SyncookiesSent SyncookiesRecv
TcpExt: 0 0
IpExt: InNoRoutes InTruncatedPkts InMcastPkts
IpExt: 7 0 0
`;

test('the fabric\'s counting rules are read by their comments, as nft lists them', () => {
  assert.deepEqual([...parseNftCounters(routerListing)], [['source-destination-check', 3], ['no-route', 2]]);
  assert.equal(parseInNoRoutes(netstat), 7);
  assert.equal(parseInNoRoutes('Ip: Forwarding\nIp: 1\n'), 0);
});

test('the rendered router and gateway tables carry the counters drops.ts reads', () => {
  const router = renderSourceCheck(['"pne0123456789ab" . 10.0.0.4/32'], [], '10.0.0.0/16');
  assert.match(router, /iifname "pne\*" counter drop comment "source-destination-check"/);
  assert.match(router, /ip daddr 10\.0\.0\.0\/16 fib daddr oif missing counter comment "no-route"/);
  assert.match(renderIgwNat([]), /iifname "pn-vpc" counter drop comment "no-public-ip"\n {2}\}/, 'the last rule of the forward chain');
});

const counters = (values: Record<string, number>): DropCounter[] => [
  { ns: 'pn-r-main', counter: 'source-destination-check', packets: values.check ?? 0 },
  { ns: 'pn-r-main', counter: 'no-route', packets: values.route ?? 0 },
  { ns: 'pn-igw-igw', counter: 'no-public-ip', packets: values.igw ?? 0 },
  { ns: 'pn-inet', counter: 'no-route', packets: values.inet ?? 0 },
];

test('issue 11: the reason is the counter that grew during the probe; none grew, no reason', () => {
  const before = counters({ check: 5, route: 1, igw: 9, inet: 2 });
  assert.equal(attributeDrop(before, counters({ check: 6, route: 1, igw: 9, inet: 2 })), 'source-destination-check');
  assert.equal(attributeDrop(before, counters({ check: 5, route: 3, igw: 9, inet: 2 })), 'no-route');
  assert.equal(attributeDrop(before, counters({ check: 5, route: 1, igw: 11, inet: 2 })), 'no-public-ip');
  assert.equal(attributeDrop(before, counters({ check: 5, route: 1, igw: 9, inet: 3 })), 'no-route', 'the internet core had no route');
  assert.equal(attributeDrop(before, before), null);
});

test('issue 11 review 16: when more than one counter grew (other traffic in the fabric meanwhile), there is no reason', () => {
  assert.equal(attributeDrop(counters({}), counters({ route: 1, check: 1 })), null, 'two reasons');
  assert.equal(attributeDrop(counters({}), counters({ route: 1, inet: 1 })), null, 'one reason, counted in two places');
  assert.equal(attributeDrop(counters({}), counters({ igw: 4 })), 'no-public-ip', 'one counter, several packets (retransmissions)');
});

test('every reason has a sentence for the text output', () => {
  for (const [reason, sentence] of Object.entries(DROP_REASON_SENTENCES)) assert.ok(sentence.length > 20, reason);
  assert.match(DROP_REASON_SENTENCES['no-public-ip'], /^no public IP at the internet gateway/);
});

test('a counter lower than before was reset by a table replacement: what it counted since is the reason', () => {
  const c = (counter: DropCounter['counter'], packets: number): DropCounter => ({ ns: 'pn-r-main', counter, packets });
  assert.equal(attributeDrop([c('security-group', 7), c('network-acl', 2)], [c('security-group', 1), c('network-acl', 2)]), 'security-group');
  assert.equal(attributeDrop([c('security-group', 7), c('network-acl', 2)], [c('security-group', 0), c('network-acl', 0)]), null);
});

test('a replaced table starts each counter where the old one was: the first rule with the comment carries the count', () => {
  const table = renderSourceCheck(['"pne0123456789ab" . 10.0.0.4/32'], [], '10.0.0.0/16', ['  chain a {', '    counter drop comment "security-group"', '  }', '  chain b {', '    counter drop comment "security-group"', '  }']);
  const seeded = seedCounters(table, new Map([['security-group', 5], ['source-destination-check', 3], ['no-route', 0]]));
  assert.deepEqual(parseNftCounters(seeded), new Map([['source-destination-check', 3], ['security-group', 5]]));
  assert.match(seeded, /counter packets 5 bytes 0 drop comment "security-group"\n  \}\n  chain b \{\n    counter drop comment "security-group"/);
  assert.match(seeded, /counter comment "no-route"/);
});
