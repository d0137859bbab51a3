/**
 * The AWS subnet a fleet of identical nodes needs (review 11 finding 1): AWS subnets are /16 to /28 with 5 reserved
 * addresses; a /28 prefix is an aligned block of 16, and the subnet's first and last /28 (12 + 15 usable addresses)
 * take single addresses only. Expected figures are worked out by hand in each test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodnetError } from '../../../src/lib/index.js';
import { fitsSubnet, subnetsFor } from '../../../src/net/index.js';

test('single addresses: 100 nodes × 12 = 1200 need a /21 (2043 usable; a /22 has 1019), which holds 170 such nodes', () => {
  assert.deepEqual(subnetsFor(100, { singleAddresses: 12, prefixes: 0 }), { prefixLength: 21, usableAddresses: 2043, subnets: 1, membersPerSubnet: 170 });
});

test('a prefix needs a whole aligned /28 besides the edge blocks: 1 prefix + 1 address needs a /26, 17 single addresses fit a /27', () => {
  assert.equal(subnetsFor(1, { singleAddresses: 1, prefixes: 1 }).prefixLength, 26);
  assert.equal(fitsSubnet(27, 1, { singleAddresses: 1, prefixes: 1 }), false);
  assert.equal(subnetsFor(1, { singleAddresses: 17, prefixes: 0 }).prefixLength, 27);
  // 27 single addresses fill a /27's two edge blocks; the 28th needs a /26
  assert.equal(fitsSubnet(27, 1, { singleAddresses: 27, prefixes: 0 }), true);
  assert.equal(fitsSubnet(27, 1, { singleAddresses: 28, prefixes: 0 }), false);
  // a /28 is one block holding reserved addresses: no prefix fits
  assert.equal(fitsSubnet(28, 1, { singleAddresses: 0, prefixes: 1 }), false);
});

test('review 11 finding 1: no subnet beyond /16 — 3000 nodes × 35 addresses = 105000 > 65531 need 2 /16 subnets of 1872 nodes each (35 × 1872 = 65520)', () => {
  assert.deepEqual(subnetsFor(3000, { singleAddresses: 35, prefixes: 0 }), { prefixLength: 16, usableAddresses: 65531, subnets: 2, membersPerSubnet: 1872 });
});

test('review 11 finding 1: prefixes across /16s — 1000 nodes × (2 addresses + 4 prefixes): a /16 has 4096 blocks; 992 nodes take 3968 prefixes and ⌈(1984 − 27) / 16⌉ = 123 blocks of single addresses (3968 ≤ 4096 − 2 − 123), 993 do not', () => {
  const plan = subnetsFor(1000, { singleAddresses: 2, prefixes: 4 });
  assert.deepEqual(plan, { prefixLength: 16, usableAddresses: 65531, subnets: 2, membersPerSubnet: 992 });
  assert.equal(fitsSubnet(16, 993, { singleAddresses: 2, prefixes: 4 }), false);
});

test('one node that does not fit a /16 is RANGE_TOO_LARGE, and a node that needs no address fits any subnet', () => {
  assert.throws(() => subnetsFor(1, { singleAddresses: 0, prefixes: 5000 }), (e: unknown) => e instanceof PodnetError && e.code === 'RANGE_TOO_LARGE');
  assert.deepEqual(subnetsFor(10, { singleAddresses: 0, prefixes: 0 }), { prefixLength: 28, usableAddresses: 11, subnets: 1, membersPerSubnet: 10 });
});
