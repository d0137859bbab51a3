import { ExecError, PodnetError, classifyNotFound, netnsArgv, run, type Netns, type NotFound } from '../lib/index.js';
import { parseTable, tableName, type RouteTable } from './route-table.js';
import { assertOneLine, joinWords, numberWord, prefixWord, routeDstWord, addressWord, ifNameWord, tableWord, BatchWord } from './words.js';

/** An `ip rule` as data. Addresses are CIDRs or bare addresses (a bare address means /32 or /128). */
export interface IpRule {
  family: 4 | 6;
  priority: number;
  from?: string;
  to?: string;
  /** `not` inverts the selector (the pre-1.8.0 `not to <VPC CIDR>`, spec §3.1 note). */
  not?: boolean;
  fwmark?: { value: number; mask: number };
  /** Incoming interface (`iif`): the prio-10 rules of branch-ENI pods in strict mode (spec §3.9). */
  iif?: string;
  table: RouteTable;
  /** Read only: selectors of a rule on the host that podnet does not model (oif, ipproto, tos, …), by name. */
  otherSelectors?: string[];
}

/** A route as data (always with a device: podnet never adds routes without one). */
export interface Route {
  /** `default`, an address, or a CIDR. */
  dst: string;
  dev: string;
  via?: string;
  scope?: 'link';
  table: RouteTable;
}

/** One `ip -batch` line and which failures mean "already in the wanted state". */
export interface BatchLine {
  cmd: string;
  /** A failure saying the link, address, route or rule does not exist (lib's ExecError.notFound kinds) is success: deletes of things that may be gone. */
  absentOk?: boolean;
  /** "File exists" is success. */
  existsOk?: boolean;
}

function hostLen(a: string): string {
  if (a === 'all' || a === 'default' || a.includes('/')) return a;
  return `${a}/${a.includes(':') ? 128 : 32}`;
}

const hex = (n: number) => `0x${n.toString(16)}`;

/** The selector and action words of a rule, in the order `ip rule` prints them. */
export function formatRule(r: IpRule): string {
  const words: string[] = [];
  if (r.not) words.push('not');
  if (r.from) words.push('from', hostLen(r.from));
  if (r.to) words.push('to', hostLen(r.to));
  if (r.fwmark) words.push('fwmark', `${hex(r.fwmark.value)}/${hex(r.fwmark.mask)}`);
  if (r.iif) words.push('iif', r.iif);
  words.push('lookup', tableName(r.table), 'prio', String(r.priority));
  return words.join(' ');
}

/** A rule's words for a batch line, each field checked against its grammar (see words.ts). */
export function ruleWords(r: IpRule): BatchWord {
  const words: BatchWord[] = [];
  if (r.not) words.push(BatchWord.checked('not'));
  if (r.from) words.push(BatchWord.checked('from'), hostPrefixWord(r.from));
  if (r.to) words.push(BatchWord.checked('to'), hostPrefixWord(r.to));
  if (r.fwmark) words.push(BatchWord.checked('fwmark'), BatchWord.checked(`${hex(numberWordValue(r.fwmark.value, 'fwmark'))}/${hex(numberWordValue(r.fwmark.mask, 'fwmark mask'))}`));
  if (r.iif) words.push(BatchWord.checked('iif'), ifNameWord(r.iif));
  words.push(BatchWord.checked('lookup'), tableWord(r.table), BatchWord.checked('prio'), numberWord(r.priority, 0, 0xffffffff, 'rule priority'));
  return joinWords(words);
}

function hostPrefixWord(a: string): BatchWord {
  return a === 'all' ? BatchWord.checked('all') : prefixWord(a);
}

function numberWordValue(n: number, what: string): number {
  return Number(numberWord(n, 0, 0xffffffff, what).text);
}

/** A route's words for a batch line, each field checked against its grammar. */
export function routeWords(r: Route): BatchWord {
  const words = [routeDstWord(r.dst)];
  if (r.via) words.push(BatchWord.checked('via'), addressWord(r.via));
  words.push(BatchWord.checked('dev'), ifNameWord(r.dev));
  if (r.scope) words.push(BatchWord.checked('scope'), BatchWord.checked('link'));
  words.push(BatchWord.checked('table'), tableWord(r.table));
  return joinWords(words);
}

/** Identity of a rule for diffing: the same string for a rendered rule and for `ip -j rule` output of it. */
export function ruleKey(r: IpRule): string {
  return `${r.family}|${formatRule(r)}`;
}

interface JsonRule {
  priority: number;
  not?: null;
  src?: string;
  srclen?: number;
  dst?: string;
  dstlen?: number;
  fwmark?: string;
  fwmask?: string;
  iif?: string;
  table?: string;
}

/** The keys of `ip -j rule` that IpRule models (`protocol` is who made the rule, not a selector). */
const MODELLED_RULE_KEYS = new Set(['priority', 'not', 'src', 'srclen', 'dst', 'dstlen', 'fwmark', 'fwmask', 'iif', 'table', 'protocol']);

/** Parses `ip -j rule` output into rules podnet can compare with its own. */
export function parseRules(json: unknown, family: 4 | 6): IpRule[] {
  return (json as JsonRule[]).map((j) => {
    const rule: IpRule = { family, priority: j.priority, table: parseTable(j.table) };
    if ('not' in j) rule.not = true;
    if (j.src && j.src !== 'all') rule.from = hostLen(j.srclen !== undefined ? `${j.src}/${j.srclen}` : j.src);
    if (j.dst && j.dst !== 'all') rule.to = hostLen(j.dstlen !== undefined ? `${j.dst}/${j.dstlen}` : j.dst);
    if (j.fwmark) rule.fwmark = { value: Number(j.fwmark), mask: j.fwmask ? Number(j.fwmask) : 0xffffffff };
    if (j.iif) rule.iif = j.iif;
    const other = Object.keys(j).filter((k) => !MODELLED_RULE_KEYS.has(k));
    if (other.length > 0) rule.otherSelectors = other;
    return rule;
  });
}

export function formatRoute(r: Route): string {
  const words = [r.dst, ...(r.via ? ['via', r.via] : []), 'dev', r.dev, ...(r.scope ? ['scope', r.scope] : []), 'table', tableName(r.table)];
  return words.join(' ');
}

export function routeKey(r: Route): string {
  return `${hostLen(r.dst)}|${r.via ?? ''}|${r.dev}|${r.table}`;
}

interface JsonRoute {
  dst: string;
  gateway?: string;
  dev?: string;
  scope?: string;
  protocol?: string;
  prefsrc?: string;
}

export function parseRoutes(json: unknown, table: RouteTable): (Route & { protocol?: string })[] {
  return (json as JsonRoute[]).filter((j) => j.dev).map((j) => ({
    dst: j.dst,
    dev: j.dev!,
    ...(j.gateway ? { via: j.gateway } : {}),
    ...(j.scope === 'link' ? { scope: 'link' as const } : {}),
    ...(j.protocol ? { protocol: j.protocol } : {}),
    table,
  }));
}

/**
 * Splits the output of `ip -j -batch -` (one JSON document per command, each on its own line in practice) into
 * values by scanning brackets, so a document that happens to span lines still parses.
 */
export function splitJsonDocuments(text: string): unknown[] {
  const docs: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '[' || c === '{') {
      if (depth++ === 0) start = i;
    } else if (c === ']' || c === '}') {
      if (--depth === 0) docs.push(JSON.parse(text.slice(start, i + 1)));
    }
  }
  return docs;
}

/** Runs `ip -j -batch -` of show commands in one process and returns one parsed document per command. */
export async function readIpJson(netns: Netns | undefined, commands: readonly string[], family?: 4 | 6): Promise<unknown[]> {
  for (const c of commands) {
    // reads are show commands of plain words: nothing in them can change the node or start a command
    if (!/^(link|addr|route|rule|neigh) show( [A-Za-z0-9_.:/-]+)*$/.test(c)) {
      throw new PodnetError('INVALID_INPUT', `"${assertOneLine(c)}" is not a show command of plain words`, 'this is a bug in podnet: reads are built from checked names');
    }
  }
  const { stdout } = await run(['ip', ...(family ? [`-${family}`] : []), '-j', '-batch', '-'], { netns, input: `${commands.join('\n')}\n` });
  const docs = splitJsonDocuments(stdout);
  if (docs.length !== commands.length) {
    throw new PodnetError('DATAPLANE_APPLY_FAILED', `ip -j -batch returned ${docs.length} documents for ${commands.length} commands (${commands.join('; ')})`, 'check the iproute2 version: podnet needs JSON output (iproute2 ≥ 4.14)');
  }
  return docs;
}

const existsPattern = /File exists/;

/** What a failed batch line's message says is missing (lib's one reading of ip's texts), or undefined. */
function lineNotFound(spec: BatchLine | undefined, reason: string): NotFound | undefined {
  return classifyNotFound(['ip', ...(spec?.cmd.split(' ') ?? [])], reason);
}

/** Why a failed batch line (number n, from 1) is an error, or undefined when its failure is tolerated (see {@link BatchLine}). */
export function batchLineFailure(spec: BatchLine | undefined, n: number, reason: string): string | undefined {
  const missing = lineNotFound(spec, reason);
  if (spec?.absentOk && missing !== undefined && missing !== 'netns') return undefined;
  if (spec?.existsOk && existsPattern.test(reason)) return undefined;
  return `line ${n} "${spec?.cmd ?? '?'}": ${reason}`;
}

/** The error for a batch some of whose lines failed: each line with the kernel's message. */
export function batchFailure(what: string, failures: readonly string[], total: number): PodnetError {
  return new PodnetError('DATAPLANE_APPLY_FAILED', `${what}: ${failures.length} of ${total} commands failed: ${failures.join('; ')}`, 'the line and the kernel message above say which link, address, route or rule was refused');
}

/**
 * Runs lines through one `ip -force -batch -` in netns so every line is tried, then decides per failed line
 * (iproute2 reports `Command failed -:N` after each failure's message) whether it is tolerated. Anything else throws
 * with the line and the kernel's message. (An {@link IpSession} runs lines the same way without a new process.)
 */
export async function runIpBatch(netns: Netns | undefined, lines: readonly BatchLine[], family?: 4 | 6): Promise<void> {
  if (lines.length === 0) return;
  const argv = ['ip', ...(family ? [`-${family}`] : []), '-force', '-batch', '-'];
  let stderr: string;
  try {
    stderr = (await run(argv, { netns, input: `${lines.map((l) => assertOneLine(l.cmd)).join('\n')}\n` })).stderr;
  } catch (err) {
    if (!(err instanceof ExecError)) throw err;
    stderr = err.stderr;
    if (err.exitCode !== 1 || !/Command failed -:\d+/.test(stderr)) {
      // a line iproute2 cannot even parse aborts the whole batch (exit 255); a missing netns shows up here too
      if (err.notFound === 'netns') {
        throw new PodnetError('NETNS_NOT_FOUND', `network namespace ${netns ?? 'named in the batch'} does not exist: ${stderr.trim().split('\n').pop()}`, 'the pod sandbox is gone or the path is wrong; the runtime must pass the netns it created', { cause: err });
      }
      throw new PodnetError('DATAPLANE_APPLY_FAILED', `${err.argv.join(' ')} exited ${err.exitCode}: ${stderr.trim().split('\n').join(' | ')}`, 'the batch was aborted before it ran; the message names the line iproute2 refused', { cause: err });
    }
  }
  const failures: string[] = [];
  let message: string[] = [];
  for (const line of stderr.split('\n')) {
    const m = /^Command failed -:(\d+)/.exec(line);
    if (!m) {
      if (line.trim()) message.push(line.trim());
      continue;
    }
    const n = Number(m[1]);
    const failure = batchLineFailure(lines[n - 1], n, message.join(' '));
    message = [];
    if (failure) failures.push(failure);
  }
  if (failures.length) throw batchFailure(netnsArgv(netns, argv).join(' '), failures, lines.length);
}
