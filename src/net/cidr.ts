import { PodnetError } from '../lib/index.js';
import { type Address, type Family, familyBits, formatAddress, isAddressText, parseAddress } from './address.js';

/** A network: `network` has no host bits set. */
export interface Cidr {
  family: Family;
  network: bigint;
  prefixLength: number;
}

/** The most addresses or blocks a list-returning function will build, so a /8 or an IPv6 /64 cannot exhaust memory. */
export const maxListLength = 65536;

export function isCidr(x: Cidr | Address): x is Cidr {
  return 'prefixLength' in x;
}

function hostMask(family: Family, prefixLength: number): bigint {
  return (1n << BigInt(familyBits(family) - prefixLength)) - 1n;
}

const exampleCidr: Record<Family, string> = { 4: '10.0.1.0/24', 6: '2001:db8::/64' };

/**
 * Non-strict parsing clears host bits ("10.0.1.7/24" → 10.0.1.0/24), as Go's net.ParseCIDR reports the network;
 * strict parsing refuses them, for input where a typo would otherwise silently name a different network.
 */
export function parseCidr(text: string, opts: { strict?: boolean } = {}): Cidr {
  const trimmed = text.trim();
  const slash = trimmed.indexOf('/');
  if (slash < 0) {
    const single = isAddressText(trimmed) ? `${trimmed}/${trimmed.includes(':') ? 128 : 32}` : '10.0.1.0/24';
    throw new PodnetError('INVALID_ADDRESS', `"${text}" is not a CIDR: it has no prefix length`, `add one: ${single}`);
  }
  const address = parseAddress(trimmed.slice(0, slash));
  const lengthText = trimmed.slice(slash + 1);
  const bits = familyBits(address.family);
  if (!/^(0|[1-9]\d{0,2})$/.test(lengthText) || Number(lengthText) > bits) {
    throw new PodnetError(
      'INVALID_ADDRESS',
      `"${text}" is not a CIDR: prefix length "${lengthText}" is not 0-${bits}`,
      `IPv${address.family} prefix lengths are 0 to ${bits}, e.g. ${exampleCidr[address.family]}`,
    );
  }
  const prefixLength = Number(lengthText);
  const network = address.value & ~hostMask(address.family, prefixLength);
  if (opts.strict && network !== address.value) {
    const cidr = { family: address.family, network, prefixLength };
    throw new PodnetError(
      'INVALID_ADDRESS',
      `"${text}" has host bits set: the /${prefixLength} network is ${formatCidr(cidr)}`,
      `write ${formatCidr(cidr)}, or ${formatAddress(address)}/${bits} for the single address`,
    );
  }
  return { family: address.family, network, prefixLength };
}

export function isCidrText(text: string): boolean {
  // a grammar check for text that reaches rules and commands: surrounding whitespace (a newline) is not a CIDR
  if (text !== text.trim()) return false;
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

export function formatCidr(c: Cidr): string {
  return `${formatAddress({ family: c.family, value: c.network })}/${c.prefixLength}`;
}

export function cidrSize(c: Cidr): bigint {
  return 1n << BigInt(familyBits(c.family) - c.prefixLength);
}

export function cidrFirst(c: Cidr): Address {
  return { family: c.family, value: c.network };
}

export function cidrLast(c: Cidr): Address {
  return { family: c.family, value: c.network + cidrSize(c) - 1n };
}

/** The inclusive [start, end] range of a CIDR or single address. */
export function rangeOf(x: Cidr | Address): [bigint, bigint] {
  return isCidr(x) ? [x.network, x.network + cidrSize(x) - 1n] : [x.value, x.value];
}

export function describe(x: Cidr | Address): string {
  return isCidr(x) ? formatCidr(x) : formatAddress(x);
}

export function cidrContains(outer: Cidr, inner: Cidr | Address): boolean {
  if (outer.family !== inner.family) return false;
  const [start, end] = rangeOf(inner);
  const [outerStart, outerEnd] = rangeOf(outer);
  return start >= outerStart && end <= outerEnd;
}

export function cidrsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const [aStart, aEnd] = rangeOf(a);
  const [bStart, bEnd] = rangeOf(b);
  return aStart <= bEnd && bStart <= aEnd;
}

export function addressAt(c: Cidr, offset: bigint): Address {
  if (offset < 0n || offset >= cidrSize(c)) {
    throw new PodnetError(
      'INVALID_ADDRESS',
      `offset ${offset} is outside ${formatCidr(c)}, which has ${cidrSize(c)} addresses`,
      `use an offset from 0 to ${cidrSize(c) - 1n}`,
    );
  }
  return { family: c.family, value: c.network + offset };
}

function tooLarge(what: string, count: bigint): PodnetError {
  return new PodnetError(
    'RANGE_TOO_LARGE',
    `${what} has ${count} entries, more than the ${maxListLength} podnet will list`,
    'work with a smaller CIDR, or count instead of listing (cidrSize, freeBlockCount)',
  );
}

export function addressesOf(c: Cidr): Address[] {
  const size = cidrSize(c);
  if (size > BigInt(maxListLength)) throw tooLarge(formatCidr(c), size);
  const out: Address[] = [];
  for (let v = c.network; v < c.network + size; v++) out.push({ family: c.family, value: v });
  return out;
}

export function hostCidr(a: Address): Cidr {
  return { family: a.family, network: a.value, prefixLength: familyBits(a.family) };
}

/** Throws unless `prefixLength` names a block size that fits inside `subnet`. */
export function checkBlockLength(subnet: Cidr, prefixLength: number): void {
  const bits = familyBits(subnet.family);
  if (!Number.isInteger(prefixLength) || prefixLength < subnet.prefixLength || prefixLength > bits) {
    throw new PodnetError(
      'INVALID_ADDRESS',
      `a /${prefixLength} block does not fit in ${formatCidr(subnet)}`,
      `use a prefix length from ${subnet.prefixLength} to ${bits}`,
    );
  }
}

/** Every `/prefixLength` block inside `subnet`, lowest first; blocks are aligned because the subnet is. */
export function alignedBlocks(subnet: Cidr, prefixLength: number): Cidr[] {
  checkBlockLength(subnet, prefixLength);
  const count = 1n << BigInt(prefixLength - subnet.prefixLength);
  if (count > BigInt(maxListLength)) throw tooLarge(`${formatCidr(subnet)} in /${prefixLength} blocks`, count);
  const step = 1n << BigInt(familyBits(subnet.family) - prefixLength);
  const out: Cidr[] = [];
  for (let i = 0n; i < count; i++) {
    out.push({ family: subnet.family, network: subnet.network + i * step, prefixLength });
  }
  return out;
}

/**
 * AWS reserves five addresses in every subnet: for IPv4 the network address, +1 (VPC router), +2 (DNS),
 * +3 (future use) and the last (broadcast); for IPv6 the first four and the last. Subnets smaller than AWS allows
 * (/28) would have these overlap, so duplicates are dropped.
 */
export function awsReservedAddresses(subnet: Cidr): Address[] {
  const size = cidrSize(subnet);
  const offsets = [0n, 1n, 2n, 3n, size - 1n].filter((o, i, all) => o < size && all.indexOf(o) === i);
  offsets.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  return offsets.map((o) => ({ family: subnet.family, value: subnet.network + o }));
}

/** The subnet router at network+1: ENI route tables use it as the default gateway (§9 item 3). */
export function subnetGateway(subnet: Cidr): Address {
  return addressAt(subnet, 1n);
}

/** Addresses AWS lets you assign: the size less the five reserved (a /24 → 251). */
export function usableAddressCount(subnet: Cidr): bigint {
  return cidrSize(subnet) - BigInt(awsReservedAddresses(subnet).length);
}
