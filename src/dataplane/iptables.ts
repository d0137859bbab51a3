import { PodnetError, run, type Netns } from '../lib/index.js';
import { assertOneLine } from './words.js';

/** The tables podnet writes to. */
export type IptablesTable = 'filter' | 'mangle' | 'nat';

/**
 * One rule as `iptables-save` prints it after `-A <chain> ` (builtin matches first, `--set-xmark`, `--nfmask/--ctmask`:
 * spec §2.6), so desired and current rules compare as text.
 */
export interface IptablesRule {
  table: IptablesTable;
  chain: string;
  spec: string;
  /** Insert at position 1 when missing instead of appending (upstream's `Insert(…, 1, …)` for builtin chains). */
  first?: boolean;
}

/** Desired iptables state: podnet's user chains and its rules, each chain's rules in their final order. */
export interface IptablesState {
  chains: { table: IptablesTable; chain: string }[];
  rules: IptablesRule[];
}

/** What `iptables-save` shows: per table, the chains in order and each chain's rules. */
export type IptablesDump = Map<string, Map<string, string[]>>;

const builtinChains = ['PREROUTING', 'INPUT', 'FORWARD', 'OUTPUT', 'POSTROUTING'];
const tableOrder: IptablesTable[] = ['filter', 'mangle', 'nat'];

/** Chains podnet owns outright: every rule in them is podnet's (spec §2.2, §2.3, §2.5 stale chains). */
export function isPodnetChain(chain: string): boolean {
  return /^AWS-(SNAT|CONNMARK)-CHAIN-\d+$/.test(chain);
}

/**
 * A rule in a builtin chain is podnet's when its comment is one upstream writes (they all start with "AWS" or are the
 * IPv6-mode FORWARD block, §2.5), or when it jumps to a chain podnet owns. kube-proxy's and others' rules are left alone.
 */
export function isPodnetRule(spec: string): boolean {
  if (/--comment "?(AWS|Block Node Local Pod access)/.test(spec)) return true;
  const jump = /(?:^| )-j (\S+)/.exec(spec);
  return jump !== null && isPodnetChain(jump[1]!);
}

export function parseIptablesSave(text: string): IptablesDump {
  const dump: IptablesDump = new Map();
  let table: Map<string, string[]> | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      table = new Map();
      dump.set(line.slice(1).trim(), table);
    } else if (table && line.startsWith(':')) {
      const name = line.slice(1).split(' ')[0]!;
      if (!table.has(name)) table.set(name, []);
    } else if (table && line.startsWith('-A ')) {
      const rest = line.slice(3);
      const space = rest.indexOf(' ');
      const chain = space < 0 ? rest : rest.slice(0, space);
      const spec = space < 0 ? '' : rest.slice(space + 1);
      if (!table.has(chain)) table.set(chain, []);
      table.get(chain)!.push(spec);
    }
  }
  return dump;
}

/**
 * Renders rules in `iptables-save` form without counters and COMMIT lines, as the spec's §2.6 example shows them:
 * per table, podnet's user-chain declarations (sorted), then the rules of builtin chains, then of user chains.
 */
export function formatIptablesSave(state: IptablesState): string {
  const lines: string[] = [];
  for (const table of tableOrder) {
    const chains = state.chains.filter((c) => c.table === table).map((c) => c.chain).sort();
    const rules = state.rules.filter((r) => r.table === table);
    if (chains.length === 0 && rules.length === 0) continue;
    lines.push(`*${table}`);
    for (const c of chains) lines.push(`:${c} - [0:0]`);
    const order = [...builtinChains, ...chains];
    for (const chain of order) for (const r of rules) if (r.chain === chain) lines.push(`-A ${chain} ${r.spec}`);
  }
  return lines.length ? `${lines.join('\n')}\n` : '';
}

/** The change set for one `iptables-restore --noflush` run, plus a readable list of what it changes. */
export interface IptablesPlan {
  restore: string;
  changes: string[];
}

/**
 * Diffs current against desired for podnet's chains and podnet's rules in builtin chains; others' rules are kept.
 * Per chain: keep the longest common subsequence of podnet's current rules and the desired list, delete the rest
 * by position (highest first, so positions stay valid), then insert each missing rule just before the next kept
 * one (or append; `first` rules go to position 1). Chains podnet owns that are not desired are flushed and deleted
 * after the rules that jump to them are gone (§2.5 "Stale chains"; also the other connmark backend's leftovers §2.3).
 */
export function planIptables(current: IptablesDump, desired: IptablesState): IptablesPlan {
  const changes: string[] = [];
  const restore: string[] = [];
  for (const table of tableOrder) {
    const cur = current.get(table) ?? new Map<string, string[]>();
    const wantedChains = desired.chains.filter((c) => c.table === table).map((c) => c.chain);
    const desiredRules = desired.rules.filter((r) => r.table === table);
    const lines: string[] = [];
    const tableChanges: string[] = [];
    for (const chain of wantedChains) {
      if (!cur.has(chain)) {
        lines.push(`-N ${chain}`);
        tableChanges.push(`-t ${table} -N ${chain}`);
      }
    }
    const chainsToDiff = new Set<string>([...wantedChains, ...desiredRules.map((r) => r.chain)]);
    for (const [chain, specs] of cur) if (builtinChains.includes(chain) && specs.some(isPodnetRule)) chainsToDiff.add(chain);
    const staleChains = [...cur.keys()].filter((c) => isPodnetChain(c) && !wantedChains.includes(c));
    const deletes: string[] = [];
    const inserts: string[] = [];
    for (const chain of chainsToDiff) {
      const full = cur.get(chain) ?? [];
      const owned = isPodnetChain(chain);
      const want = desiredRules.filter((r) => r.chain === chain);
      const oursIdx = full.map((s, i) => ({ s, i })).filter((x) => owned || isPodnetRule(x.s));
      const keep = lcsPairs(oursIdx.map((x) => x.s), want.map((r) => r.spec));
      const keptCurrent = new Set(keep.map(([a]) => oursIdx[a]!.i));
      const keptDesired = new Map(keep.map(([a, b]) => [b, oursIdx[a]!.i]));
      const removed = oursIdx.filter((x) => !keptCurrent.has(x.i)).map((x) => x.i).sort((a, b) => b - a);
      for (const i of removed) {
        deletes.push(`-D ${chain} ${i + 1}`);
        tableChanges.push(`-t ${table} -D ${chain} ${full[i]}`);
      }
      // simulate the chain after deletions to compute insert positions
      const after: { spec: string; origin: number | null }[] = full.map((s, i) => ({ s, i })).filter((x) => !removed.includes(x.i)).map((x) => ({ spec: x.s, origin: x.i }));
      want.forEach((rule, j) => {
        if (keptDesired.has(j)) return;
        let nextKept: number | undefined;
        for (let k = j + 1; k < want.length && nextKept === undefined; k++) nextKept = keptDesired.get(k);
        const placeAt = nextKept !== undefined ? after.findIndex((x) => x.origin === nextKept) : rule.first ? 0 : -1;
        if (placeAt < 0) {
          inserts.push(`-A ${chain} ${rule.spec}`);
          after.push({ spec: rule.spec, origin: null });
        } else {
          inserts.push(`-I ${chain} ${placeAt + 1} ${rule.spec}`);
          after.splice(placeAt, 0, { spec: rule.spec, origin: null });
        }
        tableChanges.push(`-t ${table} -A ${chain} ${rule.spec}`);
      });
    }
    lines.push(...deletes, ...inserts);
    for (const chain of staleChains) {
      lines.push(`-F ${chain}`, `-X ${chain}`);
      tableChanges.push(`-t ${table} -X ${chain}`);
    }
    if (lines.length) {
      restore.push(`*${table}`, ...lines, 'COMMIT');
      changes.push(...tableChanges);
    }
  }
  return { restore: restore.length ? `${restore.map(assertOneLine).join('\n')}\n` : '', changes };
}

/** Index pairs [i in a, j in b] of a longest common subsequence of a and b. */
function lcsPairs(a: readonly string[], b: readonly string[]): [number, number][] {
  const n = a.length;
  const m = b.length;
  const len = Array.from({ length: n + 1 }, () => new Array<number>(m + 1).fill(0));
  for (let i = n - 1; i >= 0; i--) for (let j = m - 1; j >= 0; j--) len[i]![j] = a[i] === b[j] ? len[i + 1]![j + 1]! + 1 : Math.max(len[i + 1]![j]!, len[i]![j + 1]!);
  const pairs: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) pairs.push([i++, j++]);
    else if (len[i + 1]![j]! >= len[i]![j + 1]!) i++;
    else j++;
  }
  return pairs;
}

export async function readIptables(netns?: Netns): Promise<IptablesDump> {
  const { stdout } = await run(['iptables-save'], { netns });
  return parseIptablesSave(stdout);
}

/** Reads, diffs and applies with one `iptables-restore --noflush`; returns the changes made (empty when none). */
export async function applyIptables(desired: IptablesState, netns?: Netns): Promise<string[]> {
  const plan = planIptables(await readIptables(netns), desired);
  if (!plan.restore) return [];
  try {
    await run(['iptables-restore', '--noflush'], { netns, input: plan.restore });
  } catch (err) {
    throw new PodnetError('DATAPLANE_APPLY_FAILED', `iptables-restore --noflush refused ${plan.changes.length} changes: ${(err as Error).message}`, 'check that the iptables backend (legacy or nft) is the same one other tools on this node use, and that the xt_comment, addrtype and CONNMARK matches are available', { cause: err });
  }
  return plan.changes;
}

/** podnet's part of an `iptables-save` dump (its chains and its rules in builtin chains), for display and tests. */
export function isPodnetOwnedState(dump: IptablesDump): IptablesState {
  const state: IptablesState = { chains: [], rules: [] };
  for (const table of tableOrder) {
    for (const [chain, specs] of dump.get(table) ?? []) {
      const owned = isPodnetChain(chain);
      if (owned) state.chains.push({ table, chain });
      for (const spec of specs) if (owned || isPodnetRule(spec)) state.rules.push({ table, chain, spec });
    }
  }
  return state;
}
