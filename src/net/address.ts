import ipaddr from 'ipaddr.js';
import { PodnetError } from '../lib/index.js';

export type Family = 4 | 6;

/** An IP address as a number: IPv4 in [0, 2^32), IPv6 in [0, 2^128). */
export interface Address {
  family: Family;
  value: bigint;
}

export function familyBits(family: Family): number {
  return family === 4 ? 32 : 128;
}

function invalid(text: string, why: string, hint: string): PodnetError {
  return new PodnetError('INVALID_ADDRESS', `"${text}" is not an IP address: ${why}`, hint);
}

const ipv4Hint = 'write IPv4 as four decimal parts 0-255, e.g. 10.0.1.7';
const ipv6Hint = 'write IPv6 as hex groups separated by colons, e.g. 2001:db8::7';

/**
 * Canonical dotted decimal (no leading zeros). The emulator parses thousands of these per request, so they skip
 * ipaddr.js; anything else goes through it.
 */
const plainQuad = /^(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})$/;

/**
 * Only the plain forms are accepted: four-part decimal IPv4 and standard IPv6. ipaddr.js also parses legacy
 * forms ("10.1", "0x0a.0.0.1", "010.0.0.1" as octal) that tools disagree on, so those are refused here.
 */
export function parseAddress(text: string): Address {
  const quad = plainQuad.exec(text);
  if (quad) {
    const [a, b, c, d] = [quad[1], quad[2], quad[3], quad[4]].map(Number) as [number, number, number, number];
    if (a <= 255 && b <= 255 && c <= 255 && d <= 255) {
      return { family: 4, value: BigInt(a * 0x1000000 + b * 0x10000 + c * 0x100 + d) };
    }
  }
  const trimmed = text.trim();
  if (trimmed === '') throw invalid(text, 'it is empty', `${ipv4Hint}, or ${ipv6Hint}`);
  if (trimmed.includes('/')) {
    throw invalid(text, 'it has a prefix length', `give the address alone, e.g. ${trimmed.split('/')[0]}`);
  }
  if (trimmed.includes(':')) {
    if (trimmed.includes('%')) {
      const bare = trimmed.split('%')[0];
      throw invalid(text, 'zone ids (%eth0) are not part of an address', `drop the zone, e.g. ${bare}`);
    }
    if (!ipaddr.IPv6.isValid(trimmed)) throw invalid(text, 'it is not valid IPv6', ipv6Hint);
    const parts = ipaddr.IPv6.parse(trimmed).parts;
    let value = 0n;
    for (const part of parts) value = (value << 16n) | BigInt(part);
    return { family: 6, value };
  }
  if (!ipaddr.IPv4.isValidFourPartDecimal(trimmed)) {
    const why = /^\d+(\.\d+){3}$/.test(trimmed)
      ? /(^|\.)0\d/.test(trimmed)
        ? 'a part has a leading zero (read as octal by some tools)'
        : 'a part is larger than 255'
      : 'it is not four decimal parts';
    throw invalid(text, why, ipv4Hint);
  }
  const octets = ipaddr.IPv4.parse(trimmed).octets;
  let value = 0n;
  for (const octet of octets) value = (value << 8n) | BigInt(octet);
  return { family: 4, value };
}

export function isAddressText(text: string): boolean {
  // a grammar check for text that reaches rules and commands: surrounding whitespace (a newline) is not an address
  if (text !== text.trim()) return false;
  try {
    parseAddress(text);
    return true;
  } catch {
    return false;
  }
}

/** Canonical text: dotted decimal for IPv4; RFC 5952 (compressed, lowercase) for IPv6. */
export function formatAddress(a: Address): string {
  const bits = familyBits(a.family);
  if (a.value < 0n || a.value >> BigInt(bits) !== 0n) {
    throw new PodnetError(
      'INVALID_ADDRESS',
      `${a.value} is outside the IPv${a.family} address space`,
      `IPv${a.family} values are 0 to 2^${bits}-1`,
    );
  }
  if (a.family === 4) {
    return [24n, 16n, 8n, 0n].map((shift) => String((a.value >> shift) & 0xffn)).join('.');
  }
  const parts: number[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n) parts.push(Number((a.value >> shift) & 0xffffn));
  return new ipaddr.IPv6(parts).toRFC5952String();
}
