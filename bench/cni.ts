/**
 * CNI ADD and DEL latency of podnet-cni (the sh launcher → ipamd's socket, ipamd with a warm pool wiring the pod) and,
 * in the same harness and run, of Debian's reference ptp + host-local plugins: p50 and p99, sequential and 20
 * concurrent, and the ratio. Each call is timed from spawn to exit, as a runtime sees it; the plugins run in an
 * emulated node's namespace on a real netns per pod, as containerd would run them. Asserts nothing.
 *
 *   npm run bench:cni [-- --pods N] [-- --rounds R]     (root; default 100 sequential pods, 5 rounds of 20)
 *
 * Runs in a disposable sandbox (new PID, mount and network namespaces with a tmpfs on /run/netns, as the test
 * runner does), so nothing it creates outlives it. Three roles, one file: the outer process re-executes itself in
 * the sandbox; the sandbox process starts `podnet ec2 serve` and the node (ipamd, the launcher); a measuring process
 * in the node's namespace runs the plugins, so no `ip netns exec` sits inside a timed call.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cniEnv } from '../src/cni/index.js';
import { run } from '../src/lib/index.js';
import { heldAddresses, introspectedEnis, startPodnetNode } from '../test/e2e/podnet-node.js';
import { percentile } from './stats.js';

const ROLE_ENV = 'PODNET_BENCH_CNI_ROLE';
const MEASURE_ENV = 'PODNET_BENCH_CNI_PLAN';
const CONCURRENCY = 20;
/** m5.4xlarge holds 8 ENIs × 29 secondary addresses = 232: the warm pool for the sequential phase must fit. */
const MAX_PODS = 200;
const DEBIAN_CNI_BIN = '/usr/lib/cni';
const self = fileURLToPath(import.meta.url);

interface Plan {
  pods: number;
  rounds: number;
  plugins: PluginUnderTest[];
}

interface PluginUnderTest {
  label: string;
  path: string;
  cniPath: string;
  /** The network config on stdin (one plugin, as a runtime passes it). */
  conf: Record<string, unknown>;
}

interface Samples {
  add: number[];
  del: number[];
}

type Results = Record<string, { sequential: Samples; concurrent: Samples }>;

function bounded(flag: string, fallback: number, max: number): number {
  const i = process.argv.indexOf(flag);
  if (i < 0) return fallback;
  const n = Number(process.argv[i + 1]);
  if (!Number.isInteger(n) || n < 1 || n > max) {
    process.stderr.write(`error: ${flag} takes a whole number from 1 to ${max}, got '${process.argv[i + 1] ?? ''}'\n`);
    process.exit(2);
  }
  return n;
}

// ---- role 1: outside, re-execute in a disposable sandbox ----

function outer(): void {
  if (process.getuid?.() !== 0) {
    process.stderr.write('error: bench:cni needs root (namespaces, veths, iptables)\nhint: run it as root on a disposable machine\n');
    process.exit(2);
  }
  const missing = ['unshare', 'ip', 'nc', 'iptables'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
  if (missing.length > 0 || spawnSync('test', ['-x', join(DEBIAN_CNI_BIN, 'ptp')]).status !== 0) {
    process.stderr.write(`error: missing ${[...missing, ...(missing.length ? [] : ['/usr/lib/cni/ptp'])].join(', ')}\nhint: apt-get install -y iproute2 netcat-openbsd iptables containernetworking-plugins\n`);
    process.exit(2);
  }
  spawnSync('mkdir', ['-p', '/run/netns']);
  const body = 'set -e; mount -t tmpfs podnet-bench-netns /run/netns; ip link set lo up; exec "$@"';
  const res = spawnSync('unshare', ['--fork', '--pid', '--mount-proc', '--mount', '--net', '--propagation', 'private', '--', 'sh', '-c', body, 'sandbox', process.execPath, '--import', 'tsx', self, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, [ROLE_ENV]: 'sandbox' },
    timeout: 10 * 60_000,
  });
  if (res.error) process.stderr.write(`error: the sandbox did not finish: ${res.error.message}\n`);
  process.exit(res.status ?? 1);
}

// ---- role 2: inside the sandbox, bring up the node and run the measuring process in it ----

async function sandbox(): Promise<void> {
  const pods = bounded('--pods', 100, MAX_PODS);
  const rounds = bounded('--rounds', 5, 25);
  const dir = mkdtempSync(join(tmpdir(), 'podnet-bench-cni-'));
  process.stdout.write('starting podnet ec2 serve, the node namespace and podnet ipamd …\n');
  delete process.env[ROLE_ENV]; // not for ipamd, which warns about variables it does not know
  // No cooldown: the bench churns hundreds of pods in seconds, and a released address would otherwise rest 30 s.
  const ipamdEnv = { MINIMUM_IP_TARGET: String(warmPoolFor(pods)), WARM_IP_TARGET: '5', IP_COOLDOWN_PERIOD: '0' };
  const node = await startPodnetNode({ dir, netns: 'bench-node', instanceType: 'm5.4xlarge', ipamdEnv });
  try {
    await waitForWarmPool(node.introspect, warmPoolFor(pods));
    const podnetConf = node.conflist.plugins[0]!;
    const plan: Plan = {
      pods,
      rounds,
      plugins: [
        {
          label: 'ptp + host-local (Debian)',
          path: join(DEBIAN_CNI_BIN, 'ptp'),
          cniPath: DEBIAN_CNI_BIN,
          conf: {
            cniVersion: '1.0.0',
            name: 'bench-ref',
            type: 'ptp',
            ipMasq: false,
            mtu: 9001,
            ipam: { type: 'host-local', ranges: [[{ subnet: '10.0.64.0/24' }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: join(dir, 'host-local') },
          },
        },
        { label: 'podnet-cni (launcher → ipamd)', path: join(node.binDir, 'podnet-cni'), cniPath: node.binDir, conf: { ...podnetConf, cniVersion: '1.0.0', name: node.conflist.name } },
      ],
    };
    // nsenter keeps this mount namespace, so pod namespaces the measurer adds under /run/netns are ipamd's too
    const measurer = spawnSync('nsenter', [`--net=/run/netns/${node.netns}`, process.execPath, '--import', 'tsx', self], {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, [ROLE_ENV]: 'measure', [MEASURE_ENV]: JSON.stringify(plan) },
      encoding: 'utf8',
      timeout: 8 * 60_000,
    });
    if (measurer.status !== 0) throw new Error(`the measuring process failed (exit ${measurer.status}${measurer.error ? `, ${measurer.error.message}` : ''})\n${node.logTail()}`);
    const results = JSON.parse(measurer.stdout) as Results;
    const leaked = heldAddresses(await node.introspect('/v1/enis'));
    report(plan, results, leaked.size);
  } finally {
    await node.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The sequential phase holds all its pods at once (every ADD, then every DEL), a round holds 20: the pool is warmed
 * to the larger before measuring, so each ADD finds a free address instead of racing the pool loop for one (which
 * answers "no free address yet" when ADDs come faster than it adds addresses).
 */
function warmPoolFor(pods: number): number {
  return Math.max(pods, CONCURRENCY) + 5;
}

async function waitForWarmPool(introspect: (path: string) => Promise<unknown>, want: number): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const enis = await introspect('/v1/enis');
    const total = introspectedEnis(enis).reduce((n, e) => n + Object.keys(e.AvailableIPv4Cidrs).length, 0);
    if (total >= want) return;
    if (Date.now() > deadline) throw new Error(`ipamd's warm pool has ${total} addresses after 60 s, wanted ${want}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- role 3: in the node's namespace, run the plugins ----

interface Call {
  ms: number;
  code: number | null;
  stdout: string;
  stderr: string;
}

function callPlugin(p: PluginUnderTest, command: 'ADD' | 'DEL', containerId: string, netns: string, pod: string, prevResult?: unknown): Promise<Call> {
  const stdin = JSON.stringify(prevResult ? { ...p.conf, prevResult } : p.conf);
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    ...cniEnv({ command, containerId, netns, ifName: 'eth0', podNamespace: 'bench', podName: pod, podUid: `uid-${pod}`, path: p.cniPath }),
  };
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(p.path, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ ms: Number(process.hrtime.bigint() - started) / 1e6, code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

async function measure(): Promise<void> {
  const plan = JSON.parse(process.env[MEASURE_ENV] ?? '{}') as Plan;
  const results: Results = {};
  let serial = 0;
  const check = (p: PluginUnderTest, what: string, c: Call): Call => {
    if (c.code !== 0) throw new Error(`${p.label} ${what} exited ${c.code}: ${c.stdout.trim()} ${c.stderr.trim()}`);
    return c;
  };
  /** ADD then DEL for a batch of pods, `parallel` at a time; each pod has its own netns, made outside the timing. */
  const batch = async (p: PluginUnderTest, count: number, parallel: boolean, into: Samples) => {
    const pods = Array.from({ length: count }, () => {
      serial += 1;
      return { name: `bench-${serial}`, id: serial.toString(16).padStart(64, '0'), netns: `/run/netns/bench-pod-${serial}` };
    });
    await run(['ip', '-batch', '-'], { input: pods.map((x) => `netns add ${x.netns.slice('/run/netns/'.length)}`).join('\n') });
    const results = new Map<string, unknown>();
    const add = async (x: (typeof pods)[number]) => {
      const c = check(p, `ADD ${x.name}`, await callPlugin(p, 'ADD', x.id, x.netns, x.name));
      into.add.push(c.ms);
      results.set(x.id, JSON.parse(c.stdout));
    };
    const del = async (x: (typeof pods)[number]) => {
      into.del.push(check(p, `DEL ${x.name}`, await callPlugin(p, 'DEL', x.id, x.netns, x.name, results.get(x.id))).ms);
    };
    if (parallel) {
      await Promise.all(pods.map(add));
      await Promise.all(pods.map(del));
    } else {
      for (const x of pods) await add(x);
      for (const x of pods) await del(x);
    }
    await run(['ip', '-batch', '-'], { input: pods.map((x) => `netns del ${x.netns.slice('/run/netns/'.length)}`).join('\n') });
    await settle();
  };
  // netns teardown is asynchronous (lab-recipes §6.1): wait until the node is back to its own links, so one batch's
  // cleanup does not slow the next plugin's calls
  const linkCount = async () => (JSON.parse((await run(['ip', '-j', 'link', 'show'])).stdout) as unknown[]).length;
  const baseline = await linkCount();
  const settle = async () => {
    const deadline = Date.now() + 10_000;
    while ((await linkCount()) > baseline && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  };

  for (const p of plan.plugins) {
    results[p.label] = { sequential: { add: [], del: [] }, concurrent: { add: [], del: [] } };
    await batch(p, 5, false, { add: [], del: [] }); // warm-up: page cache, first iptables/nft use, ipamd's JIT
  }
  // plugins alternate phase by phase, so drift in the machine's load affects both alike
  for (const p of plan.plugins) await batch(p, plan.pods, false, results[p.label]!.sequential);
  for (let r = 0; r < plan.rounds; r++) {
    for (const p of plan.plugins) await batch(p, CONCURRENCY, true, results[p.label]!.concurrent);
  }
  process.stdout.write(JSON.stringify(results));
}

// ---- report ----

function report(plan: Plan, results: Results, leftHeld: number): void {
  const [ref, ours] = plan.plugins.map((p) => p.label) as [string, string];
  const fmt = (n: number) => n.toFixed(1).padStart(8);
  const line = (label: string, s: Samples) =>
    `  ${label.padEnd(30)}${fmt(percentile(s.add, 50))}${fmt(percentile(s.add, 99))}${fmt(percentile(s.del, 50))}${fmt(percentile(s.del, 99))}\n`;
  const ratio = (a: Samples, b: Samples) =>
    `  ${'ratio podnet / reference'.padEnd(30)}${[percentile(a.add, 50) / percentile(b.add, 50), percentile(a.add, 99) / percentile(b.add, 99), percentile(a.del, 50) / percentile(b.del, 50), percentile(a.del, 99) / percentile(b.del, 99)].map((x) => `${x.toFixed(2)}×`.padStart(8)).join('')}\n`;
  let out = `\nCNI latency, ms from spawn to exit (${plan.pods} sequential pods; ${plan.rounds} rounds of ${CONCURRENCY} concurrent;`;
  out += ` ipamd: m5.4xlarge, MINIMUM_IP_TARGET=${warmPoolFor(plan.pods)}, WARM_IP_TARGET=5, IP_COOLDOWN_PERIOD=0)\n`;
  out += `  ${''.padEnd(30)}${'ADD p50'.padStart(8)}${'ADD p99'.padStart(8)}${'DEL p50'.padStart(8)}${'DEL p99'.padStart(8)}\n`;
  for (const phase of ['sequential', 'concurrent'] as const) {
    out += `${phase === 'sequential' ? 'sequential' : `${CONCURRENCY} concurrent`}\n`;
    out += line(ref, results[ref]![phase]);
    out += line(ours, results[ours]![phase]);
    out += ratio(results[ours]![phase], results[ref]![phase]);
  }
  const seq = results[ours]!.sequential;
  const refSeq = results[ref]!.sequential;
  const conc = results[ours]!.concurrent;
  const ms = (n: number) => `${n.toFixed(1)} ms`;
  out += `\ngoal (issue 5), sequential calls with a warm pool: ADD p50 no slower than the reference — ${percentile(seq.add, 50) <= percentile(refSeq.add, 50) ? 'met' : 'not met'}`;
  out += ` (${ms(percentile(seq.add, 50))} vs ${ms(percentile(refSeq.add, 50))}); ADD p99 under 100 ms — ${percentile(seq.add, 99) < 100 ? 'met' : 'not met'} (${ms(percentile(seq.add, 99))})\n`;
  out += `with ${CONCURRENCY} concurrent calls on ${availableParallelism()} CPUs: ADD p99 ${ms(percentile(conc.add, 99))} (reference ${ms(percentile(results[ref]!.concurrent.add, 99))})\n`;
  out += `addresses ipamd still holds for pods after the run: ${leftHeld}\n`;
  process.stdout.write(out);
}

const role = process.env[ROLE_ENV];
if (role === 'measure') await measure();
else if (role === 'sandbox') await sandbox();
else outer();
