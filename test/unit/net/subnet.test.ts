import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodnetError } from '../../../src/lib/index.js';
import {
  type Address,
  SubnetSpace,
  addressAt,
  alignedBlocks,
  awsReservedAddresses,
  formatAddress,
  formatCidr,
  parseAddress,
  parseCidr,
  subnetGateway,
  usableAddressCount,
} from '../../../src/net/index.js';

function errorOf(fn: () => unknown): PodnetError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof PodnetError);
    return e;
  }
  assert.fail('expected a PodnetError');
}

test('AWS reserves network, router, DNS, future-use and broadcast in a /24', () => {
  const subnet = parseCidr('10.0.1.0/24');
  assert.deepEqual(awsReservedAddresses(subnet).map(formatAddress), [
    '10.0.1.0',
    '10.0.1.1',
    '10.0.1.2',
    '10.0.1.3',
    '10.0.1.255',
  ]);
  assert.equal(formatAddress(subnetGateway(subnet)), '10.0.1.1');
});

test('a /28 loses the same five addresses and keeps 11', () => {
  const subnet = parseCidr('10.0.1.16/28');
  assert.deepEqual(awsReservedAddresses(subnet).map(formatAddress), [
    '10.0.1.16',
    '10.0.1.17',
    '10.0.1.18',
    '10.0.1.19',
    '10.0.1.31',
  ]);
  assert.equal(usableAddressCount(subnet), 11n);
});

test('an IPv6 subnet reserves its first four addresses and its last', () => {
  const subnet = parseCidr('2001:db8:0:1::/64');
  assert.deepEqual(awsReservedAddresses(subnet).map(formatAddress), [
    '2001:db8:0:1::',
    '2001:db8:0:1::1',
    '2001:db8:0:1::2',
    '2001:db8:0:1::3',
    '2001:db8:0:1:ffff:ffff:ffff:ffff',
  ]);
});

test('a /24 has exactly 251 usable addresses and the 252nd allocation fails with NO_FREE_ADDRESS', () => {
  const subnet = parseCidr('10.0.1.0/24');
  assert.equal(usableAddressCount(subnet), 251n);
  const space = new SubnetSpace(subnet);
  assert.equal(space.freeAddressCount(), 251n);
  const got: string[] = [];
  for (let i = 0; i < 251; i++) got.push(formatAddress(space.allocateAddress()));
  assert.equal(got[0], '10.0.1.4');
  assert.equal(got[250], '10.0.1.254');
  assert.equal(new Set(got).size, 251);
  assert.equal(space.freeAddressCount(), 0n);
  const err = errorOf(() => space.allocateAddress());
  assert.equal(err.code, 'NO_FREE_ADDRESS');
  assert.equal(err.message, 'subnet 10.0.1.0/24 has 0 free addresses');
  assert.ok(err.hint);
});

test('aligned /28 blocks of a /24 start every 16 addresses', () => {
  const blocks = alignedBlocks(parseCidr('10.0.1.0/24'), 28).map(formatCidr);
  assert.equal(blocks.length, 16);
  assert.equal(blocks[0], '10.0.1.0/28');
  assert.equal(blocks[1], '10.0.1.16/28');
  assert.equal(blocks[15], '10.0.1.240/28');
  assert.equal(errorOf(() => alignedBlocks(parseCidr('10.0.1.0/24'), 20)).code, 'INVALID_ADDRESS');
});

test('allocateBlock hands out aligned /28s, skipping the first and last blocks that hold reserved addresses', () => {
  const space = new SubnetSpace(parseCidr('10.0.1.0/24'));
  assert.equal(space.freeBlockCount(), 14);
  assert.equal(formatCidr(space.allocateBlock()), '10.0.1.16/28');
  assert.equal(formatCidr(space.allocateBlock(28)), '10.0.1.32/28');
  space.take(parseAddress('10.0.1.50'));
  assert.equal(formatCidr(space.allocateBlock()), '10.0.1.64/28');
  assert.equal(space.freeBlockCount(), 10);
  assert.equal(space.freeAddressCount(), 251n - 48n - 1n);
});

test('a block between used addresses is found when aligned space remains', () => {
  const subnet = parseCidr('10.0.1.0/24');
  const used: Address[] = [addressAt(subnet, 20n), addressAt(subnet, 47n)];
  const space = new SubnetSpace(subnet, used);
  assert.equal(formatCidr(space.allocateBlock()), '10.0.1.48/28');
});

test('a fragmented subnet (one address taken in every /28) refuses a block and reports its free count', () => {
  const subnet = parseCidr('10.0.1.0/24');
  const used = alignedBlocks(subnet, 28).map((b) => addressAt(b, 8n));
  const space = new SubnetSpace(subnet, used);
  assert.equal(space.freeAddressCount(), 251n - 16n);
  assert.equal(space.freeBlockCount(), 0);
  const err = errorOf(() => space.allocateBlock());
  assert.equal(err.code, 'NO_FREE_PREFIX');
  assert.equal(err.message, 'subnet 10.0.1.0/24 has 235 addresses free but no aligned /28 left');
  assert.match(err.hint ?? '', /fresh subnet/);
  assert.match(err.hint ?? '', /subnet CIDR reservation/);
  assert.equal(formatAddress(space.allocateAddress()), '10.0.1.4');
});

test('release makes an address or block reusable, and never frees reserved addresses', () => {
  const subnet = parseCidr('10.0.1.0/24');
  const space = new SubnetSpace(subnet);
  const block = space.allocateBlock();
  const address = space.allocateAddress();
  assert.equal(formatAddress(address), '10.0.1.4');
  assert.equal(space.isFree(block), false);
  space.release(block);
  assert.equal(space.isFree(block), true);
  assert.equal(formatCidr(space.allocateBlock()), '10.0.1.16/28');
  space.release(address);
  assert.equal(formatAddress(space.allocateAddress()), '10.0.1.4');
  space.release(subnet);
  assert.equal(space.freeAddressCount(), 251n);
  assert.equal(space.isFree(parseAddress('10.0.1.1')), false);
});

test('take refuses reserved, used and outside addresses with the reason', () => {
  const space = new SubnetSpace(parseCidr('10.0.1.0/24'), [parseCidr('10.0.1.32/28')]);
  const reserved = errorOf(() => space.take(parseCidr('10.0.1.0/28')));
  assert.equal(reserved.code, 'ADDRESS_IN_USE');
  assert.match(reserved.message, /10\.0\.1\.0\/28 includes 10\.0\.1\.0-10\.0\.1\.3, which AWS reserves/);
  const used = errorOf(() => space.take(parseAddress('10.0.1.40')));
  assert.equal(used.code, 'ADDRESS_IN_USE');
  assert.match(used.message, /10\.0\.1\.40 overlaps 10\.0\.1\.32-10\.0\.1\.47, already in use/);
  const outside = errorOf(() => space.take(parseAddress('10.0.2.5')));
  assert.equal(outside.code, 'INVALID_ADDRESS');
  assert.match(outside.message, /10\.0\.2\.5 is not inside subnet 10\.0\.1\.0\/24/);
  assert.equal(space.isFree(parseAddress('10.0.2.5')), false);
  assert.equal(space.isFree(parseAddress('10.0.1.48')), true);
});

test('used entries that overlap or repeat are counted once', () => {
  const subnet = parseCidr('10.0.1.0/24');
  const used = [parseCidr('10.0.1.16/28'), parseAddress('10.0.1.20'), parseCidr('10.0.1.16/29'), parseAddress('10.0.1.1')];
  const space = new SubnetSpace(subnet, used);
  assert.equal(space.freeAddressCount(), 251n - 16n);
});

test('IPv6 /80 prefixes come out of a /64 aligned and in order', () => {
  const space = new SubnetSpace(parseCidr('2001:db8:0:1::/64'));
  assert.equal(space.freeBlockCount(80), 65534);
  assert.equal(formatCidr(space.allocateBlock(80)), '2001:db8:0:1:1::/80');
  assert.equal(formatCidr(space.allocateBlock()), '2001:db8:0:1:2::/80');
  assert.equal(formatAddress(space.allocateAddress()), '2001:db8:0:1::4');
  assert.equal(space.freeBlockCount(80), 65532);
  assert.equal(space.freeAddressCount(), (1n << 64n) - 5n - 2n * (1n << 48n) - 1n);
});

test('a /16 with 10k used addresses still hands out addresses and blocks correctly', () => {
  const subnet = parseCidr('10.0.0.0/16');
  const used: Address[] = [];
  // every sixth address from .4 onward: no /28 is free below the used region
  for (let i = 0n; i < 10000n; i++) used.push(addressAt(subnet, 4n + i * 6n));
  const space = new SubnetSpace(subnet, used.reverse());
  assert.equal(space.freeAddressCount(), 65536n - 5n - 10000n);
  assert.equal(formatAddress(space.allocateAddress()), '10.0.0.5');
  // last used offset is 4 + 9999*6 = 59998; the first aligned /28 after it starts at 60000
  assert.equal(formatCidr(space.allocateBlock()), formatAddress(addressAt(subnet, 60000n)) + '/28');
  assert.equal(space.freeBlockCount(), (65536 - 60016) / 16 - 1);
});

test('a block size that does not fit the subnet is INVALID_ADDRESS', () => {
  const space = new SubnetSpace(parseCidr('10.0.1.0/24'));
  const err = errorOf(() => space.allocateBlock(16));
  assert.equal(err.code, 'INVALID_ADDRESS');
  assert.match(err.message, /a \/16 block does not fit in 10\.0\.1\.0\/24/);
});
