import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodnetError } from '../../../src/lib/index.js';
import {
  addressAt,
  addressesOf,
  cidrContains,
  cidrFirst,
  cidrLast,
  cidrSize,
  cidrsOverlap,
  formatAddress,
  formatCidr,
  hostCidr,
  isAddressText,
  isCidrText,
  parseAddress,
  parseCidr,
} from '../../../src/net/index.js';

function rejects(fn: () => unknown, code: string, message: RegExp, hint: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof PodnetError);
    assert.equal(e.code, code);
    assert.match(e.message, message);
    assert.match(e.hint ?? '', hint);
    return true;
  });
}

test('IPv4 addresses parse to 32-bit values and format back as dotted decimal', () => {
  assert.deepEqual(parseAddress('10.0.1.7'), { family: 4, value: 0x0a000107n });
  assert.deepEqual(parseAddress('255.255.255.255'), { family: 4, value: 0xffffffffn });
  assert.equal(formatAddress({ family: 4, value: 0x0a000107n }), '10.0.1.7');
  assert.equal(formatAddress(parseAddress(' 0.0.0.0 ')), '0.0.0.0');
});

test('IPv6 addresses parse to 128-bit values and format compressed and lowercase', () => {
  assert.deepEqual(parseAddress('2001:DB8::1'), { family: 6, value: (0x20010db8n << 96n) | 1n });
  assert.equal(formatAddress(parseAddress('2001:0db8:0000:0000:0000:0000:0000:0001')), '2001:db8::1');
  assert.equal(formatAddress(parseAddress('2001:db8:0:0:1:0:0:1')), '2001:db8::1:0:0:1');
  assert.equal(formatAddress(parseAddress('::')), '::');
  assert.equal(formatAddress(parseAddress('fd00:ec2::254')), 'fd00:ec2::254');
});

test('bad addresses are INVALID_ADDRESS with the reason and a hint', () => {
  rejects(() => parseAddress('10.0.1.300'), 'INVALID_ADDRESS', /larger than 255/, /0-255, e\.g\. 10\.0\.1\.7/);
  rejects(() => parseAddress('10.0.01.7'), 'INVALID_ADDRESS', /leading zero/, /four decimal parts/);
  rejects(() => parseAddress('10.1'), 'INVALID_ADDRESS', /not four decimal parts/, /10\.0\.1\.7/);
  rejects(() => parseAddress('0x0a.0.0.1'), 'INVALID_ADDRESS', /not four decimal parts/, /10\.0\.1\.7/);
  rejects(() => parseAddress(''), 'INVALID_ADDRESS', /empty/, /IPv6/);
  rejects(() => parseAddress('1::2::3'), 'INVALID_ADDRESS', /not valid IPv6/, /2001:db8::7/);
  rejects(() => parseAddress('fe80::1%eth0'), 'INVALID_ADDRESS', /zone/, /fe80::1/);
  rejects(() => parseAddress('10.0.1.0/24'), 'INVALID_ADDRESS', /prefix length/, /e\.g\. 10\.0\.1\.0$/);
  assert.equal(isAddressText('10.0.1.7'), true);
  assert.equal(isAddressText('nope'), false);
  assert.equal(isAddressText('10.0.1.7\n'), false, 'a trailing newline is not part of an address');
  assert.equal(isAddressText(' 10.0.1.7'), false);
});

test('non-strict CIDR parsing clears host bits; strict parsing refuses them with the network as hint', () => {
  assert.equal(formatCidr(parseCidr('10.0.1.7/24')), '10.0.1.0/24');
  assert.equal(formatCidr(parseCidr('2001:db8::1:2/64')), '2001:db8::/64');
  assert.deepEqual(parseCidr('10.0.1.0/24', { strict: true }), { family: 4, network: 0x0a000100n, prefixLength: 24 });
  const strict = () => parseCidr('10.0.1.7/24', { strict: true });
  rejects(strict, 'INVALID_ADDRESS', /host bits set.*10\.0\.1\.0\/24/, /10\.0\.1\.7\/32/);
});

test('bad CIDRs are INVALID_ADDRESS with a hint', () => {
  rejects(() => parseCidr('10.0.1.0/33'), 'INVALID_ADDRESS', /prefix length "33" is not 0-32/, /0 to 32/);
  rejects(() => parseCidr('2001:db8::/129'), 'INVALID_ADDRESS', /not 0-128/, /2001:db8::\/64/);
  rejects(() => parseCidr('10.0.1.0/024'), 'INVALID_ADDRESS', /prefix length/, /10\.0\.1\.0\/24/);
  rejects(() => parseCidr('10.0.1.0/'), 'INVALID_ADDRESS', /prefix length ""/, /0 to 32/);
  rejects(() => parseCidr('10.0.1.7'), 'INVALID_ADDRESS', /no prefix length/, /10\.0\.1\.7\/32/);
  rejects(() => parseCidr('10.0.256.0/24'), 'INVALID_ADDRESS', /larger than 255/, /0-255/);
  assert.equal(isCidrText('0.0.0.0/0'), true);
  assert.equal(isCidrText('10.0.1.0'), false);
  assert.equal(isCidrText('10.0.0.0/16\n'), false, 'a trailing newline is not part of a CIDR');
});

test('size, first and last address of a CIDR', () => {
  const c = parseCidr('10.0.1.0/24');
  assert.equal(cidrSize(c), 256n);
  assert.equal(formatAddress(cidrFirst(c)), '10.0.1.0');
  assert.equal(formatAddress(cidrLast(c)), '10.0.1.255');
  assert.equal(cidrSize(parseCidr('2001:db8::/64')), 1n << 64n);
  assert.equal(formatAddress(cidrLast(parseCidr('2001:db8::/64'))), '2001:db8::ffff:ffff:ffff:ffff');
});

test('containment and overlap hold within a family and never across families', () => {
  const vpc = parseCidr('10.0.0.0/16');
  const subnet = parseCidr('10.0.1.0/24');
  assert.equal(cidrContains(vpc, subnet), true);
  assert.equal(cidrContains(subnet, vpc), false);
  assert.equal(cidrContains(subnet, parseAddress('10.0.1.255')), true);
  assert.equal(cidrContains(subnet, parseAddress('10.0.2.0')), false);
  assert.equal(cidrContains(parseCidr('0.0.0.0/0'), parseAddress('::1')), false);
  assert.equal(cidrsOverlap(vpc, subnet), true);
  assert.equal(cidrsOverlap(subnet, vpc), true);
  assert.equal(cidrsOverlap(parseCidr('10.0.1.0/25'), parseCidr('10.0.1.128/25')), false);
  assert.equal(cidrsOverlap(parseCidr('::/0'), parseCidr('0.0.0.0/0')), false);
});

test('addressAt offsets from the network and refuses offsets outside the CIDR', () => {
  const c = parseCidr('10.0.1.16/28');
  assert.equal(formatAddress(addressAt(c, 5n)), '10.0.1.21');
  rejects(() => addressAt(c, 16n), 'INVALID_ADDRESS', /offset 16 is outside 10\.0\.1\.16\/28/, /0 to 15/);
  rejects(() => addressAt(c, -1n), 'INVALID_ADDRESS', /offset -1/, /0 to 15/);
});

test('addressesOf lists every address and refuses more than 65536', () => {
  const four = addressesOf(parseCidr('10.0.1.4/30')).map(formatAddress);
  assert.deepEqual(four, ['10.0.1.4', '10.0.1.5', '10.0.1.6', '10.0.1.7']);
  assert.equal(addressesOf(parseCidr('10.0.0.0/16')).length, 65536);
  rejects(() => addressesOf(parseCidr('10.0.0.0/15')), 'RANGE_TOO_LARGE', /131072 entries/, /smaller CIDR/);
});

test('hostCidr is a /32 for IPv4 and a /128 for IPv6', () => {
  assert.equal(formatCidr(hostCidr(parseAddress('10.0.1.7'))), '10.0.1.7/32');
  assert.equal(formatCidr(hostCidr(parseAddress('2001:db8::7'))), '2001:db8::7/128');
});

test('dotted-quad boundaries: 255 parses, 256 and a fifth part do not', () => {
  assert.deepEqual(parseAddress('255.0.0.255'), { family: 4, value: 0xff0000ffn });
  rejects(() => parseAddress('256.0.0.1'), 'INVALID_ADDRESS', /larger than 255/, /0-255/);
  rejects(() => parseAddress('10.0.1.7.1'), 'INVALID_ADDRESS', /not four decimal parts/, /10\.0\.1\.7/);
});

test('formatAddress refuses values outside the family', () => {
  rejects(() => formatAddress({ family: 4, value: 1n << 32n }), 'INVALID_ADDRESS', /outside the IPv4 address space/, /2\^32-1/);
  rejects(() => formatAddress({ family: 6, value: -1n }), 'INVALID_ADDRESS', /outside the IPv6/, /2\^128-1/);
});
