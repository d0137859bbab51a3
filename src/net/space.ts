import { PodnetError } from '../lib/index.js';
import { type Address, familyBits } from './address.js';
import {
  type Cidr,
  awsReservedAddresses,
  checkBlockLength,
  cidrContains,
  cidrSize,
  describe,
  formatCidr,
  rangeOf,
} from './cidr.js';

/** An inclusive range of address values. */
type Range = [start: bigint, end: bigint];

/**
 * The block size `allocateBlock` and `freeBlockCount` use by default: IPv4 /28 prefixes (§4.1: 16 IPs per prefix),
 * IPv6 /80 prefixes (§5.3).
 */
function defaultBlockLength(subnet: Cidr): number {
  return subnet.family === 4 ? 28 : 80;
}

function plural(n: bigint, word: string): string {
  return `${n} ${word}${n === 1n ? '' : 'es'}`;
}

/**
 * Free space of one subnet given what is in use; the AWS-reserved addresses are never free.
 *
 * Used space is a sorted list of disjoint, non-adjacent ranges, so a /16 with thousands of used addresses costs
 * one sort to build and a binary search per query. Reserved addresses are kept apart from used ones, so releasing
 * a range never frees the subnet router or broadcast address.
 */
export class SubnetSpace {
  readonly subnet: Cidr;
  private readonly reserved: Range[];
  private readonly used: Range[];
  private usedCount: bigint;

  constructor(subnet: Cidr, used: Iterable<Cidr | Address> = []) {
    this.subnet = subnet;
    this.reserved = mergeRanges(awsReservedAddresses(subnet).map((a) => [a.value, a.value]));
    const ranges: Range[] = [];
    for (const x of used) {
      this.checkInside(x);
      ranges.push(rangeOf(x));
    }
    this.used = mergeRanges(ranges);
    this.usedCount = this.used.reduce((n, [s, e]) => n + e - s + 1n, 0n);
  }

  freeAddressCount(): bigint {
    let reservedAndUsed = 0n;
    for (const [s, e] of this.reserved) {
      for (let v = s; v <= e; v++) if (overlapIndex(this.used, v, v) >= 0) reservedAndUsed++;
    }
    const reservedCount = this.reserved.reduce((n, [s, e]) => n + e - s + 1n, 0n);
    return cidrSize(this.subnet) - reservedCount - this.usedCount + reservedAndUsed;
  }

  /** Every address of x is inside the subnet, not reserved and not in use. */
  isFree(x: Cidr | Address): boolean {
    if (!cidrContains(this.subnet, x)) return false;
    const [s, e] = rangeOf(x);
    return overlapIndex(this.reserved, s, e) < 0 && overlapIndex(this.used, s, e) < 0;
  }

  take(x: Cidr | Address): void {
    this.checkInside(x);
    const [s, e] = rangeOf(x);
    const reservedAt = overlapIndex(this.reserved, s, e);
    if (reservedAt >= 0) {
      throw new PodnetError(
        'ADDRESS_IN_USE',
        `${describe(x)} includes ${this.describeRange(this.reserved[reservedAt]!)}, ` +
          `which AWS reserves in subnet ${formatCidr(this.subnet)}`,
        'the network address, the next three and the last address of a subnet are never assignable',
      );
    }
    const usedAt = overlapIndex(this.used, s, e);
    if (usedAt >= 0) {
      throw new PodnetError(
        'ADDRESS_IN_USE',
        `${describe(x)} overlaps ${this.describeRange(this.used[usedAt]!)}, ` +
          `already in use in subnet ${formatCidr(this.subnet)}`,
        'release it first, or take a free address or block (allocateAddress, allocateBlock)',
      );
    }
    insertRange(this.used, s, e);
    this.usedCount += e - s + 1n;
  }

  /** Marks every address of x free again; addresses of x that were not in use stay as they were. */
  release(x: Cidr | Address): void {
    this.checkInside(x);
    const [s, e] = rangeOf(x);
    this.usedCount -= removeRange(this.used, s, e);
  }

  /** The lowest free address, marked used. */
  allocateAddress(): Address {
    for (const [start] of this.freeRuns()) {
      const address: Address = { family: this.subnet.family, value: start };
      this.take(address);
      return address;
    }
    throw new PodnetError(
      'NO_FREE_ADDRESS',
      `subnet ${formatCidr(this.subnet)} has 0 free addresses`,
      'release unused addresses, or add another subnet in this availability zone',
    );
  }

  /**
   * The lowest aligned block with every address free, marked used. The first and last blocks of a subnet hold
   * reserved addresses, so they are never handed out — as EC2 does (InsufficientCidrBlocks, §4.15, §9 item 3).
   */
  allocateBlock(prefixLength: number = defaultBlockLength(this.subnet)): Cidr {
    checkBlockLength(this.subnet, prefixLength);
    const blockSize = 1n << BigInt(familyBits(this.subnet.family) - prefixLength);
    for (const [start, end] of this.freeRuns()) {
      const offset = start - this.subnet.network;
      const aligned = this.subnet.network + ((offset + blockSize - 1n) / blockSize) * blockSize;
      if (aligned + blockSize - 1n <= end) {
        const block: Cidr = { family: this.subnet.family, network: aligned, prefixLength };
        this.take(block);
        return block;
      }
    }
    throw new PodnetError(
      'NO_FREE_PREFIX',
      `subnet ${formatCidr(this.subnet)} has ${plural(this.freeAddressCount(), 'address')} free ` +
        `but no aligned /${prefixLength} left`,
      `a /${prefixLength} needs ${blockSize} free addresses in a row on a /${prefixLength} boundary; ` +
        'use a fresh subnet, or carve a range for prefixes with a subnet CIDR reservation ' +
        '(create-subnet-cidr-reservation --reservation-type prefix)',
    );
  }

  freeBlockCount(prefixLength: number = defaultBlockLength(this.subnet)): number {
    checkBlockLength(this.subnet, prefixLength);
    const blockSize = 1n << BigInt(familyBits(this.subnet.family) - prefixLength);
    let count = 0n;
    for (const [start, end] of this.freeRuns()) {
      const first = (start - this.subnet.network + blockSize - 1n) / blockSize;
      const afterLast = (end - this.subnet.network + 1n) / blockSize;
      if (afterLast > first) count += afterLast - first;
    }
    return Number(count);
  }

  /** The free ranges, lowest first: the gaps between used and reserved ranges. */
  private *freeRuns(): Generator<Range> {
    let next = this.subnet.network;
    const last = this.subnet.network + cidrSize(this.subnet) - 1n;
    for (const [s, e] of mergedInOrder(this.used, this.reserved)) {
      if (s > next) yield [next, s - 1n];
      if (e + 1n > next) next = e + 1n;
    }
    if (next <= last) yield [next, last];
  }

  private checkInside(x: Cidr | Address): void {
    if (!cidrContains(this.subnet, x)) {
      throw new PodnetError(
        'INVALID_ADDRESS',
        `${describe(x)} is not inside subnet ${formatCidr(this.subnet)}`,
        `give an IPv${this.subnet.family} address or CIDR within ${formatCidr(this.subnet)}`,
      );
    }
  }

  private describeRange([s, e]: Range): string {
    const family = this.subnet.family;
    const first = describe({ family, value: s });
    return s === e ? first : `${first}-${describe({ family, value: e })}`;
  }
}

/** Sorts and merges ranges that overlap or touch. */
function mergeRanges(ranges: Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const out: Range[] = [];
  for (const [s, e] of sorted) {
    const top = out[out.length - 1];
    if (top && s <= top[1] + 1n) {
      if (e > top[1]) top[1] = e;
    } else {
      out.push([s, e]);
    }
  }
  return out;
}

/** Index of the first range whose end is at or after `value` (ranges.length if none). */
function firstEndingAtOrAfter(ranges: Range[], value: bigint): number {
  let lo = 0;
  let hi = ranges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ranges[mid]![1] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Index of a range overlapping [s, e], or -1. */
function overlapIndex(ranges: Range[], s: bigint, e: bigint): number {
  const i = firstEndingAtOrAfter(ranges, s);
  const r = ranges[i];
  return r && r[0] <= e ? i : -1;
}

/** Adds [s, e] (disjoint from every range) in place, merging with neighbours it touches. */
function insertRange(ranges: Range[], s: bigint, e: bigint): void {
  const i = firstEndingAtOrAfter(ranges, s - 1n);
  let j = i;
  let start = s;
  let end = e;
  while (j < ranges.length && ranges[j]![0] <= end + 1n) {
    if (ranges[j]![0] < start) start = ranges[j]![0];
    if (ranges[j]![1] > end) end = ranges[j]![1];
    j++;
  }
  ranges.splice(i, j - i, [start, end]);
}

/** Removes [s, e] in place; returns how many addresses were in use. */
function removeRange(ranges: Range[], s: bigint, e: bigint): bigint {
  const i = firstEndingAtOrAfter(ranges, s);
  let j = i;
  let removed = 0n;
  const pieces: Range[] = [];
  while (j < ranges.length && ranges[j]![0] <= e) {
    const [rs, re] = ranges[j]!;
    removed += (re < e ? re : e) - (rs > s ? rs : s) + 1n;
    if (rs < s) pieces.push([rs, s - 1n]);
    if (re > e) pieces.push([e + 1n, re]);
    j++;
  }
  ranges.splice(i, j - i, ...pieces);
  return removed;
}

/** Two sorted range lists as one sorted sequence (ranges may overlap across the lists). */
function* mergedInOrder(a: Range[], b: Range[]): Generator<Range> {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    const x = a[i];
    const y = b[j];
    if (x && (!y || x[0] <= y[0])) {
      yield x;
      i++;
    } else if (y) {
      yield y;
      j++;
    }
  }
}
