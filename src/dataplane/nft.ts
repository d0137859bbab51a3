import { ExecError, PodnetError, run, type Netns } from '../lib/index.js';
import { formatCidr, parseCidr } from '../net/index.js';
import { assertOneLine } from './words.js';

/** The connmark table of the nftables backend (spec §2.4), as data. Rules are in `nft list` form. */
export interface NftConnmarkTable {
  /** The base chain's rules, exactly and in order. */
  prerouting: string[];
  /** `snat-mark`: the per-CIDR returns (order irrelevant upstream) and, last, the set-mark rule. */
  cidrReturns: string[];
  setMark: string;
}

export const nftTable = 'aws-cni';
const baseChain = 'nat-prerouting';
const markChain = 'snat-mark';
// priority -90: after kube-proxy's DNAT at -100, so the chain sees the rewritten pod address (§2.4)
const baseChainHeader = 'type nat hook prerouting priority -90; policy accept;';

export interface NftChainDump {
  rules: { text: string; handle: number }[];
}

/** Parses `nft -a list table ip aws-cni`: chains and rules with counters stripped (`counter packets N bytes M` → `counter`). */
export function parseNftTable(text: string): Map<string, NftChainDump> {
  const chains = new Map<string, NftChainDump>();
  let current: NftChainDump | undefined;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    const chain = /^chain (\S+) \{/.exec(line);
    if (chain) {
      current = { rules: [] };
      chains.set(chain[1]!, current);
      continue;
    }
    if (line === '}') {
      current = undefined;
      continue;
    }
    const rule = /^(.*) # handle (\d+)$/.exec(line);
    if (current && rule && !/^(type|policy) /.test(rule[1]!)) {
      current.rules.push({ text: rule[1]!.replace(/counter packets \d+ bytes \d+/g, 'counter').trim(), handle: Number(rule[2]) });
    }
  }
  return chains;
}

/** Renders the table for humans and for `nft -f` (the listing form is also valid input). */
export function formatNftTable(t: NftConnmarkTable): string {
  return [
    `table ip ${nftTable} {`,
    `\tchain ${baseChain} {`,
    `\t\t${baseChainHeader}`,
    ...t.prerouting.map((r) => `\t\t${r}`),
    '\t}',
    `\tchain ${markChain} {`,
    ...[...t.cidrReturns, t.setMark].map((r) => `\t\t${r}`),
    '\t}',
    '}',
    '',
  ].join('\n');
}

/**
 * A rule's text as compared between desired and listed: nft stores a destination as address and mask and lists it in
 * its own form — a /32 as the bare address (`ip daddr 10.1.2.3`), a network with host bits as its network address —
 * so each `ip daddr` operand is compared as a canonical CIDR, else a second apply would re-insert the rule.
 */
function nftRuleKey(text: string): string {
  return text.replace(/\bip daddr (\d{1,3}(?:\.\d{1,3}){3})(\/\d{1,2})?(?= |$)/g, (_, address: string, length?: string) => `ip daddr ${formatCidr(parseCidr(`${address}${length ?? '/32'}`))}`);
}

export interface NftPlan {
  script: string;
  changes: string[];
}

/**
 * Reconciles as upstream does (§2.4): the base chain must hold exactly its rules in order, else it is flushed and
 * re-filled; in `snat-mark` unknown and stale rules are deleted by handle, missing CIDR returns are inserted at the
 * top, and the set-mark rule is appended if missing. Other chains in the table are removed. `desired` null removes
 * the table (external SNAT, the iptables backend's cleanup of nft leftovers, or the pre-1.8.0 routing).
 */
export function planNft(current: Map<string, NftChainDump> | null, desired: NftConnmarkTable | null): NftPlan {
  const t = `ip ${nftTable}`;
  if (!desired) return current ? { script: `delete table ${t}\n`, changes: [`nft delete table ${t}`] } : { script: '', changes: [] };
  const lines: string[] = [];
  const changes: string[] = [];
  if (!current) {
    lines.push(`add table ${t}`);
    changes.push(`nft add table ${t}`);
  }
  const base = current?.get(baseChain);
  const mark = current?.get(markChain);
  if (!base) {
    lines.push(`add chain ${t} ${baseChain} { ${baseChainHeader} }`);
    changes.push(`nft add chain ${t} ${baseChain}`);
  }
  if (!mark) {
    lines.push(`add chain ${t} ${markChain}`);
    changes.push(`nft add chain ${t} ${markChain}`);
  }
  if (!base || base.rules.map((r) => r.text).join('\n') !== desired.prerouting.join('\n')) {
    if (base) {
      lines.push(`flush chain ${t} ${baseChain}`);
      changes.push(`nft flush chain ${t} ${baseChain}`);
    }
    for (const r of desired.prerouting) {
      lines.push(`add rule ${t} ${baseChain} ${r}`);
      changes.push(`nft add rule ${t} ${baseChain} ${r}`);
    }
  }
  const wantedKeys = new Set([...desired.cidrReturns, desired.setMark].map(nftRuleKey));
  const present = new Set<string>();
  for (const r of mark?.rules ?? []) {
    const key = nftRuleKey(r.text);
    if (!wantedKeys.has(key) || present.has(key)) {
      lines.push(`delete rule ${t} ${markChain} handle ${r.handle}`);
      changes.push(`nft delete rule ${t} ${markChain} ${r.text}`);
    } else present.add(key);
  }
  // each insert goes to the top, so inserting in reverse leaves a fresh chain in the rendered order; a CIDR listed
  // twice is inserted once (upstream keys its CIDRs in a map)
  for (const r of [...desired.cidrReturns].reverse()) {
    const key = nftRuleKey(r);
    if (present.has(key)) continue;
    present.add(key);
    lines.push(`insert rule ${t} ${markChain} ${r}`);
    changes.push(`nft insert rule ${t} ${markChain} ${r}`);
  }
  if (!present.has(nftRuleKey(desired.setMark))) {
    lines.push(`add rule ${t} ${markChain} ${desired.setMark}`);
    changes.push(`nft add rule ${t} ${markChain} ${desired.setMark}`);
  }
  for (const chain of current?.keys() ?? []) {
    if (chain === baseChain || chain === markChain) continue;
    lines.push(`flush chain ${t} ${chain}`, `delete chain ${t} ${chain}`);
    changes.push(`nft delete chain ${t} ${chain}`);
  }
  return { script: lines.length ? `${lines.map(assertOneLine).join('\n')}\n` : '', changes };
}

/** Reads the table, or null when it does not exist. */
export async function readNftTable(netns?: Netns): Promise<Map<string, NftChainDump> | null> {
  try {
    const { stdout } = await run(['nft', '-a', 'list', 'table', 'ip', nftTable], { netns });
    return parseNftTable(stdout);
  } catch (err) {
    if (err instanceof ExecError && err.notFound === 'table') return null;
    throw err;
  }
}

/** Reads, plans and applies in one `nft -f -` transaction; returns the changes made (empty when none). */
export async function applyNft(desired: NftConnmarkTable | null, netns?: Netns): Promise<string[]> {
  const plan = planNft(await readNftTable(netns), desired);
  if (!plan.script) return [];
  try {
    await run(['nft', '-f', '-'], { netns, input: plan.script });
  } catch (err) {
    throw new PodnetError('DATAPLANE_APPLY_FAILED', `nft -f refused the aws-cni table update (${plan.changes.length} changes): ${(err as Error).message}`, 'check that the kernel has nf_tables with the nat, ct and fib expressions (nft list ruleset shows what is there)', { cause: err });
  }
  return plan.changes;
}
