// Issue 14's kernel cross-check of explain's node hops. In a lab node's namespace, the first packet of a pod's
// connection (its SYN) is traced with `nft monitor trace` (a table of the test's own sets nftrace on it and is removed
// after): the node rules explain names on the forward path must be exactly the rules the kernel reports the packet
// matched, in order (iptables here is iptables-nft, so the iptables rules show in the trace with the nft connmark
// table's). Each traced rule is named as the renderers write it: the iptables rule at the same position of its chain in
// `iptables-save`, the nft rule as `nft list` prints it without counters. Routing does not show in the trace: the
// table and device explain's node-routing hop gives must be what `ip route get DST from SRC iif VETH mark MARK` gives,
// with the mark the trace saw the packet leave prerouting with, and the device the trace saw it leave by.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { hostVethName, parseIptablesSave, parseNftTable } from '../../src/dataplane/index.js';
import { explainFlow, type Explanation } from '../../src/explain/index.js';
import { LabState, labWorld, probe, type ProbeResult } from '../../src/lab/index.js';
import { run } from '../../src/lib/index.js';
import { labForFile } from './lab-per-file.js';

const stateDir = labForFile('explain-kernel-lab.yaml', { upTimeoutMs: 240_000 });
const ECHO_PORT = 7007;
/** the test's own table: it only sets nftrace, at a priority before every other hook */
const TRACE_TABLE = 'pn_explain_trace';

/** iptables-nft's tables: their rules are named by their iptables-save form; any other table is nft's own. */
const IPTABLES_TABLES = new Set(['filter', 'nat', 'mangle', 'raw', 'security']);

interface TracedRule {
  table: string;
  chain: string;
  handle: number;
  /** as explain names a rule: `table chain: spec` (iptables-save form), `table ip T chain C: rule` (nft list form) */
  named: string;
}

interface PacketTrace {
  rules: TracedRule[];
  /** the packet's mark when it left the last prerouting (or output) chain: what routing saw */
  mark: number;
  /** the device the packet left by (the oif of the postrouting hook) */
  oif: string | null;
}

/** Parses `nft -a monitor trace` output: the first traced packet's matched rules, its routing mark, its output device. */
function parseTrace(text: string): Omit<PacketTrace, 'rules'> & { rules: Array<Omit<TracedRule, 'named'>> } {
  const lines = text.split('\n').filter((l) => l.startsWith('trace id '));
  const id = lines.find((l) => !l.includes(` ${TRACE_TABLE} `))?.split(' ')[2];
  assert.ok(id, `the trace saw no packet:\n${text}`);
  const rules: Array<Omit<TracedRule, 'named'>> = [];
  let mark = 0;
  let oif: string | null = null;
  for (const line of lines.filter((l) => l.split(' ')[2] === id)) {
    const m = /^trace id \S+ ip (\S+) (\S+) (rule|policy|packet:) (.*)$/.exec(line);
    if (!m) continue;
    const [, table, chain, kind, rest] = m as unknown as [string, string, string, string, string];
    if (table === TRACE_TABLE) continue;
    if (kind === 'rule') {
      const handle = /# handle (\d+)/.exec(rest);
      assert.ok(handle, `a traced rule without its handle: ${line}`);
      rules.push({ table, chain, handle: Number(handle[1]) });
    } else if (kind === 'policy') {
      const mk = /meta mark (0x[0-9a-f]+)/.exec(rest);
      if (mk && chain !== 'POSTROUTING') mark = Number(mk[1]);
    } else if (table === 'nat' && chain === 'POSTROUTING') {
      oif = /oif "([^"]+)"/.exec(rest)?.[1] ?? oif;
    }
  }
  return { rules, mark, oif };
}

/** Names each traced rule as the renderers write it: by position in its chain, iptables-save's text for iptables' tables. */
async function nameRules(ns: string, rules: Array<Omit<TracedRule, 'named'>>): Promise<TracedRule[]> {
  const saved = parseIptablesSave((await run(['iptables-save'], { netns: ns })).stdout);
  const listings = new Map<string, ReturnType<typeof parseNftTable>>();
  const out: TracedRule[] = [];
  for (const r of rules) {
    if (!listings.has(r.table)) listings.set(r.table, parseNftTable((await run(['nft', '-a', 'list', 'table', 'ip', r.table], { netns: ns })).stdout));
    const chain = listings.get(r.table)!.get(r.chain);
    const index = chain?.rules.findIndex((x) => x.handle === r.handle) ?? -1;
    assert.ok(chain && index >= 0, `rule handle ${r.handle} is not in ${r.table} ${r.chain}`);
    if (IPTABLES_TABLES.has(r.table)) {
      const spec = saved.get(r.table)?.get(r.chain)?.[index];
      assert.ok(spec, `no rule ${index + 1} in iptables-save's ${r.table} ${r.chain}`);
      out.push({ ...r, named: `${r.table} ${r.chain}: ${spec}` });
    } else {
      out.push({ ...r, named: `table ip ${r.table} chain ${r.chain}: ${chain.rules[index]!.text}` });
    }
  }
  return out;
}

/** Sends one probe FROM → TO with nftrace on its SYN inside NODE's namespace; the kernel's account of that SYN. */
async function traced(node: string, from: string, to: string): Promise<{ trace: PacketTrace; observed: ProbeResult }> {
  const ns = `pn-n-${node}`;
  const match = `tcp dport ${ECHO_PORT} tcp flags syn meta nftrace set 1`;
  await run(['nft', '-f', '-'], {
    netns: ns,
    input: `table ip ${TRACE_TABLE} {\n\tchain pre { type filter hook prerouting priority -400; ${match}; }\n\tchain out { type filter hook output priority -400; ${match}; }\n}\n`,
  });
  const monitor = spawn('ip', ['netns', 'exec', ns, 'nft', '-a', 'monitor', 'trace'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let text = '';
    monitor.stdout.setEncoding('utf8').on('data', (d: string) => (text += d));
    // the monitor subscribes within milliseconds of starting; the packet must not go before it listens
    await new Promise((resolve) => setTimeout(resolve, 500));
    const observed = await probe(from, to, { stateDir, timeoutMs: 1500 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    const parsed = parseTrace(text);
    return { trace: { ...parsed, rules: await nameRules(ns, parsed.rules) }, observed };
  } finally {
    monitor.kill();
    await run(['nft', 'delete', 'table', 'ip', TRACE_TABLE], { netns: ns });
  }
}

interface RouteGet {
  dev: string;
  /** the table the route came from: `main` when ip does not say */
  table: string;
}

/** `ip route get DST from SRC [iif VETH] mark MARK` in the node: the route the kernel chooses for that packet. */
async function routeGet(node: string, dst: string, src: string, iif: string | null, mark: number): Promise<RouteGet> {
  const argv = ['ip', '-j', 'route', 'get', dst, 'from', src, ...(iif ? ['iif', iif] : []), 'mark', `0x${mark.toString(16)}`];
  const [route] = JSON.parse((await run(argv, { netns: `pn-n-${node}` })).stdout) as Array<{ dev: string; table?: string }>;
  assert.ok(route, `${argv.join(' ')} gave no route`);
  return { dev: route.dev, table: route.table ?? 'main' };
}

/** The node rules explain names on the forward path at NODE, in path order. */
function explainedRules(e: Explanation, node: string): string[] {
  return e.forward.filter((h) => h.element === 'node-rules' && h.id === node).flatMap((h) => h.matched.split('\n'));
}

/** The table and device of explain's node routing at NODE on the forward path: the ip rule's table, the route's device. */
function explainedRoute(e: Explanation, node: string): RouteGet {
  const hops = e.forward.filter((h) => h.element === 'node-routing' && h.id === node);
  const rule = hops.find((h) => h.matched.startsWith('ip rule '));
  const chosen = hops.find((h) => h.matched.startsWith('route '));
  assert.ok(rule && chosen, `explain gives no ip rule and route at ${node}: ${JSON.stringify(e.forward)}`);
  const table = /lookup (\S+)/.exec(rule.matched)?.[1];
  const routeTable = / table (\S+)/.exec(chosen.matched)?.[1];
  const dev = / dev (\S+)/.exec(chosen.matched)?.[1];
  assert.ok(table && dev, `explain's routing names no table or device: ${rule.matched}; ${chosen.matched}`);
  assert.equal(routeTable ?? 'main', table, `explain's route ${chosen.matched} is in the table its ip rule looks up`);
  return { table: table === '254' ? 'main' : table, dev };
}

const cases: Array<{ title: string; node: string; from: string; to: string }> = [
  { title: 'a pod on the primary ENI to the internet: the SNAT chain translates it to the primary IP', node: 'node-a', from: 'pod-a', to: 'inet' },
  { title: 'a pod to a VPC address: the SNAT chain returns for the VPC CIDR', node: 'node-a', from: 'pod-a', to: 'main-host' },
  { title: 'a pod behind eth1 to the internet: connmark marks it, rule 1024 sends it through main and eth0, SNAT', node: 'node-a', from: 'eni-a', to: 'inet' },
  { title: 'a pod behind eth1 to a VPC address: rule 1536 sends it through its ENI table and eth1', node: 'node-a', from: 'eni-a', to: 'main-host' },
  { title: 'a pod to an excluded CIDR (the peered VPC): the exclusion returns, no SNAT', node: 'node-b', from: 'pod-b', to: 'peer-host' },
  { title: 'pre-1.8 routing: a pod behind eth1 to an excluded CIDR leaves eth0 by rule 1025, untranslated', node: 'node-b', from: 'eni-b', to: 'peer-host' },
  { title: 'pre-1.8 routing: a pod behind eth1 to a VPC address keeps rule 1536 and eth1', node: 'node-b', from: 'eni-b', to: 'main-host' },
  { title: 'a hostNetwork pod to the internet: output path, the SNAT rule', node: 'node-a', from: 'hostnet', to: 'inet' },
];

for (const c of cases) {
  test(`${c.title}: explain's node rules are the kernel's trace, its route is ip route get's`, { timeout: 60_000 }, async (t) => {
    const { trace, observed } = await traced(c.node, c.from, c.to);
    const explained = explainFlow(await labWorld(stateDir), { from: c.from, to: c.to, protocol: 'tcp', port: ECHO_PORT });
    t.diagnostic(`kernel: ${trace.rules.map((r) => r.named).join(' | ')}; mark 0x${trace.mark.toString(16)}, out ${trace.oif}`);
    assert.ok(trace.rules.length > 0, 'the kernel traced some rule');
    assert.deepEqual(explainedRules(explained, c.node), trace.rules.map((r) => r.named), "explain's node rules, in order, are the ones the kernel matched");

    const state = new LabState(stateDir);
    const pod = state.pod(c.from)!;
    const src = pod.hostNetwork ? observed.sentFrom : pod.ip!;
    const iif = pod.hostNetwork ? null : hostVethName('eni', 'default', c.from);
    const kernelRoute = await routeGet(c.node, observed.target, src, iif, trace.mark);
    t.diagnostic(`ip route get: table ${kernelRoute.table}, dev ${kernelRoute.dev}`);
    assert.deepEqual(explainedRoute(explained, c.node), kernelRoute, `ip route get ${observed.target} from ${src}${iif ? ` iif ${iif}` : ''} mark 0x${trace.mark.toString(16)}`);
    if (trace.oif) assert.equal(kernelRoute.dev, trace.oif, 'the packet left by the device ip route get names');
  });
}
