import { PodnetError, isNetnsName } from '../lib/index.js';
import { formatAddress, isAddressText, parseAddress } from '../net/index.js';
import { tableName, type RouteTable } from './route-table.js';

/*
 * The grammar of every value podnet writes into an `ip -batch` line (and into iptables-restore and nft input): an
 * interface name, an address, a prefix, a table, a number, a MAC, a namespace. Lines are built only by {@link ipLine}
 * from literal text and {@link BatchWord}s, and a BatchWord exists only once its value matched the grammar of what it
 * stands for, so a value a runtime, a prevResult or a pod handed podnet can never add a line, a word or a command.
 */

/** A value that matched its grammar; only this module's checks make one. */
export class BatchWord {
  private constructor(readonly text: string) {}

  /** For this module's checks only: `text` must already have matched its grammar. */
  static checked(text: string): BatchWord {
    return new BatchWord(text);
  }
}

function refuse(what: string, value: unknown, grammar: string): PodnetError {
  return new PodnetError('INVALID_INPUT', `${what} ${JSON.stringify(value)} is not valid: ${grammar}`, 'podnet writes only values that match their grammar into ip, iptables and nft input; the value came from the CNI call or the node, so check what sent it');
}

/** Linux's IFNAMSIZ rule as iproute2 enforces it, restricted to the characters podnet and runtimes use. */
const ifNamePattern = /^[A-Za-z0-9_.-]{1,15}$/;

export function isIfName(value: string): boolean {
  return ifNamePattern.test(value) && value !== '.' && value !== '..';
}

export function ifNameWord(value: string): BatchWord {
  if (!isIfName(value)) throw refuse('interface name', value, 'an interface name is 1 to 15 of A-Z a-z 0-9 _ . -');
  return BatchWord.checked(value);
}

/** A host veth prefix (AWS_VPC_K8S_CNI_VETHPREFIX): the start of an interface name, so iptables' `eni+` and nft's `eni*` match. */
export function ifPrefixWord(value: string): BatchWord {
  if (!/^[A-Za-z0-9_.-]{1,14}$/.test(value)) throw refuse('interface name prefix', value, 'a prefix is 1 to 14 of A-Z a-z 0-9 _ . -');
  return BatchWord.checked(value);
}

/** An IPv4 or IPv6 address, written in its canonical form. */
export function addressWord(value: string): BatchWord {
  if (typeof value !== 'string' || !isAddressText(value)) throw refuse('address', value, 'an IPv4 or IPv6 address such as 10.0.1.7 or 2001:db8::7');
  return BatchWord.checked(formatAddress(parseAddress(value)));
}

/** An address with a prefix length (`10.0.1.7/32`); a bare address gets its host length. */
export function prefixWord(value: string): BatchWord {
  const slash = typeof value === 'string' ? value.indexOf('/') : -1;
  const address = slash < 0 ? value : value.slice(0, slash);
  if (typeof value !== 'string' || !isAddressText(address)) throw refuse('prefix', value, 'an address with an optional /length such as 10.0.1.0/24');
  const a = parseAddress(address);
  const bits = a.family === 4 ? 32 : 128;
  const length = slash < 0 ? String(bits) : value.slice(slash + 1);
  if (!/^\d{1,3}$/.test(length) || Number(length) > bits) throw refuse('prefix', value, `the length after / is 0 to ${bits}`);
  return BatchWord.checked(`${formatAddress(a)}/${Number(length)}`);
}

/** A route destination: `default` or a prefix. */
export function routeDstWord(value: string): BatchWord {
  return value === 'default' ? BatchWord.checked('default') : prefixWord(value);
}

/** A whole number in [min, max]. */
export function numberWord(value: number, min: number, max: number, what: string): BatchWord {
  if (!Number.isInteger(value) || value < min || value > max) throw refuse(what, value, `a whole number from ${min} to ${max}`);
  return BatchWord.checked(String(value));
}

/** A routing table (1 to 2^32-1), in ip's word for it (`main` for 254). */
export function tableWord(value: RouteTable): BatchWord {
  numberWord(value, 1, 0xffffffff, 'route table');
  return BatchWord.checked(tableName(value));
}

export function macWord(value: string): BatchWord {
  if (!/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(value)) throw refuse('MAC address', value, 'six hex pairs separated by colons');
  return BatchWord.checked(value.toLowerCase());
}

/**
 * A network namespace as ip takes it: a name under /run/netns, or an absolute path (CNI_NETNS), of characters that
 * need no quoting. A path must not climb out with `..`.
 */
export function netnsWord(value: string): BatchWord {
  if (typeof value === 'string' && value.startsWith('/')) return pathWord(value, 'network namespace path');
  if (!isNetnsName(value)) throw refuse('network namespace name', value, 'a namespace name is 1 to 255 of A-Z a-z 0-9 _ . - and does not start with -');
  return BatchWord.checked(value);
}

/** An absolute path of characters that need no quoting in a batch line. */
export function pathWord(value: string, what = 'path'): BatchWord {
  if (typeof value !== 'string' || !/^\/[A-Za-z0-9_.:@+=,/-]{0,4095}$/.test(value) || value.split('/').includes('..')) {
    throw refuse(what, value, 'an absolute path of A-Z a-z 0-9 _ . : @ + = , - and /, without ..');
  }
  return BatchWord.checked(value);
}

/** Several checked words as one (a rule's or a route's selector). */
export function joinWords(words: readonly BatchWord[]): BatchWord {
  return BatchWord.checked(words.map((w) => w.text).join(' '));
}

/**
 * Builds one batch line from literal text and checked words: `` ipLine`link del ${ifNameWord(name)}` ``. Anything
 * interpolated must be a BatchWord, and the line is one line.
 */
export function ipLine(literals: TemplateStringsArray, ...words: BatchWord[]): string {
  let line = literals[0]!;
  words.forEach((w, i) => {
    if (!(w instanceof BatchWord)) throw new PodnetError('FAILED', `a batch line got an unchecked value ${JSON.stringify(w)} after "${line}"`, 'this is a bug in podnet: every value in a batch line goes through a BatchWord check');
    line += w.text + literals[i + 1]!;
  });
  return assertOneLine(line);
}

/**
 * The last guard where batches are written: a line (or an iptables rule, an nft statement) never holds a line break
 * or a NUL, whatever built it. Returns the line.
 */
export function assertOneLine(line: string): string {
  if (/[\n\r\0]/.test(line)) {
    throw new PodnetError('INVALID_INPUT', `a batch line holds a line break or NUL: ${JSON.stringify(line)}`, 'podnet never writes such a line: the value came from the CNI call or the node, so check what sent it');
  }
  return line;
}
