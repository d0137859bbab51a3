/**
 * The lab's thin effects: `ip -batch` per namespace, sysctls, whole nft tables, veth pairs for ENIs, and the
 * diff of routes and rules the controller owns. Routes and rules carry protocol 42 so a restarted controller
 * can flush exactly its own and start over.
 */
import { readdir } from 'node:fs/promises';
import { listLinks } from '../dataplane/index.js';
import { run, type Netns } from '../lib/index.js';
import { parseNftCounters } from './drops.js';
import type { EniLink } from './render.js';

export const LAB_PROTO = '42';

export async function ipBatch(lines: readonly string[], netns?: Netns, opts: { force?: boolean } = {}): Promise<void> {
  if (lines.length === 0) return;
  await run(['ip', ...(opts.force ? ['-force'] : []), '-batch', '-'], { netns, input: lines.join('\n') + '\n' });
}

export async function setSysctls(netns: Netns, values: Record<string, string>): Promise<void> {
  const pairs = Object.entries(values).map(([k, v]) => `${k}=${v}`);
  if (pairs.length > 0) await run(['sysctl', '-qw', ...pairs], { netns });
}

/**
 * Replaces an nft table atomically (one transaction: declare, delete, define). Its drop counters carry over (what the
 * old table counted, per comment), so `lab probe`'s reads before and after a probe survive a replacement meanwhile.
 */
export async function replaceNftTable(netns: Netns, table: string): Promise<void> {
  const head = /^table (\S+ \S+)/.exec(table)?.[1];
  if (!head) throw new Error(`not an nft table: ${table.slice(0, 40)}`);
  const counted = await run(['nft', 'list', 'table', ...head.split(' ')], { netns }).then((r) => parseNftCounters(r.stdout), () => new Map<string, number>());
  await run(['nft', '-f', '-'], { netns, input: `table ${head}\ndelete table ${head}\n${seedCounters(table, counted)}\n` });
}

/** A table's sets (name → their elements as written) and the rest of it, each set written without its elements. */
function splitSets(table: string): { rest: string; sets: Map<string, string> } {
  const sets = new Map<string, string>();
  const rest = table.split('\n').map((line) => {
    const set = /^\s*set (\S+) \{.*?(?: elements = \{ (.*) \};)? \}$/.exec(line);
    if (!set) return line;
    sets.set(set[1]!, set[2] ?? '');
    return line.replace(/ elements = \{ .* \};/, '');
  });
  return { rest: rest.join('\n'), sets };
}

/**
 * Brings an nft table from `applied` (what was applied last) to `table`: when only set elements differ (addresses an
 * ENI got or lost, a group's members), the elements that went are deleted and the new ones added in one transaction,
 * and every rule, counter and chain stays; anything else replaces the table. Returns which it did.
 */
export async function updateNftTable(netns: Netns, applied: string | undefined, table: string): Promise<'sets' | 'table'> {
  const head = /^table (\S+ \S+)/.exec(table)?.[1];
  if (applied !== undefined && head !== undefined && applied.startsWith(`table ${head} `)) {
    const before = splitSets(applied);
    const after = splitSets(table);
    if (before.rest === after.rest) {
      const items = (elements: string | undefined) => new Set(elements ? elements.split(', ') : []);
      const commands = [...after.sets].flatMap(([name, elements]) => {
        const was = items(before.sets.get(name));
        const now = items(elements);
        const gone = [...was].filter((e) => !now.has(e));
        const added = [...now].filter((e) => !was.has(e));
        return [...(gone.length > 0 ? [`delete element ${head} ${name} { ${gone.join(', ')} }`] : []), ...(added.length > 0 ? [`add element ${head} ${name} { ${added.join(', ')} }`] : [])];
      });
      if (commands.length > 0) await run(['nft', '-f', '-'], { netns, input: commands.join('\n') + '\n' });
      return 'sets';
    }
  }
  await replaceNftTable(netns, table);
  return 'table';
}

/** The table with the first counting rule of each comment starting at `totals`' count for it (nft takes `counter packets N bytes M`). */
export function seedCounters(table: string, totals: ReadonlyMap<string, number>): string {
  const seeded = new Set<string>();
  return table
    .split('\n')
    .map((line) => {
      const comment = /\bcounter\b.*comment "([^"]+)"/.exec(line)?.[1];
      const packets = comment === undefined ? 0 : (totals.get(comment) ?? 0);
      if (comment === undefined || packets === 0 || seeded.has(comment)) return line;
      seeded.add(comment);
      return line.replace(/\bcounter\b/, `counter packets ${packets} bytes 0`);
    })
    .join('\n');
}

export async function listNetns(): Promise<string[]> {
  try {
    return (await readdir('/run/netns')).sort();
  } catch {
    return [];
  }
}

export async function linkNames(netns: Netns): Promise<Set<string>> {
  return new Set((await listLinks(netns)).map((l) => l.ifname));
}

/** An ENI as a veth pair: router port up; the instance end with the ENI's MAC (ipamd finds ENIs by MAC, §9 item 3). */
export async function createEniLink(link: EniLink): Promise<void> {
  await ipBatch([`link add ${link.port} netns ${link.routerNs} type veth peer name ${link.endDev} address ${link.mac} netns ${link.endNs}`]);
  await ipBatch([`link set ${link.port} up`], link.routerNs);
  if (link.primary) {
    // what DHCP does on an instance's primary ENI: the address in the subnet, the default route via the gateway
    const defaultRoute = link.primary.defaultRoute === false ? [] : [`route add default via ${link.primary.gateway} dev ${link.endDev}`];
    await ipBatch([`addr add ${link.primary.cidr} dev ${link.endDev}`, `link set ${link.endDev} up`, ...defaultRoute], link.endNs);
  }
}

/** Applies the difference between two sets of `ip route` / `ip rule` argument lines in one namespace. */
export async function applyLineDiff(kind: 'route' | 'rule', netns: Netns, before: ReadonlySet<string>, after: readonly string[]): Promise<void> {
  const wanted = new Set(after);
  const removals = [...before].filter((line) => !wanted.has(line)).map((line) => `${kind} del ${line}`);
  // A route whose port went away with its ENI is already gone: removals are best effort, additions must succeed.
  await ipBatch(removals, netns, { force: true }).catch(() => undefined);
  const additions = after.filter((line) => !before.has(line));
  await ipBatch(additions.map((line) => (kind === 'route' ? `route replace ${line} proto ${LAB_PROTO}` : `rule add ${line} protocol ${LAB_PROTO}`)), netns);
}

export async function flushOwned(netns: Netns): Promise<void> {
  await ipBatch([`route flush table all proto ${LAB_PROTO}`, `rule flush protocol ${LAB_PROTO}`], netns, { force: true }).catch(() => undefined);
}
