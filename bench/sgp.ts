/**
 * The seeds' three launch-time tiers in one lab — plain-IP pods, pods on prefix-delegation nodes, pods with their own
 * security groups: N trunking-compatible nodes with ENABLE_POD_ENI=true and a SecurityGroupPolicy (the lab starts
 * `podnet sgp-controller`) and N more of the same (Nitro) type with ENABLE_PREFIX_DELEGATION=true, ipamd's manifest
 * defaults otherwise (WARM_ENI_TARGET=1, WARM_PREFIX_TARGET=1). Then P plain pods on the first N (no policy selects
 * them), each timed from its create request to Running with an address and the EC2 calls counted while they start,
 * deleted (the calls until the pools settle counted too); then P pods on the prefix nodes, the same numbers; then P
 * pods the policy selects (a branch ENI each, made by the controller at its 12/s, burst 18). Pods are created
 * through the API server as `kubectl create` does (one POST each), spread evenly with a nodeSelector; the lab's
 * scheduler and kubelets do the rest. Runs itself inside a disposable sandbox (new PID, mount and network namespaces,
 * private /run/netns). Root only. Prints a table (`--json`: one JSON document); stops by itself after --timeout
 * seconds with what it measured.
 *
 * EC2 calls are counted by the emulator, per action: the bench replaces its token buckets with ones that never run
 * dry nor refill (GET /_podnet/throttle then gives what each action took), so the emulator does not throttle during
 * the run — AWS's default buckets would not have throttled these bursts either. The lab's own reads (the fabric
 * re-describes EC2 every 5 s) are measured while nothing happens and subtracted (netOfBackground).
 *
 *   npm run bench:sgp -- [--nodes N (per tier)] [--pods P (per tier)] [--type c5.xlarge] [--timeout S] [--json]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { formatTable } from '../src/cli/output.js';
import { defaultBuckets } from '../src/ec2/index.js';
import { watchObjects } from '../src/k8s/index.js';
import { labDown, labNamespaces, labUp, LabState, type LabRecord } from '../src/lab/index.js';
import { run } from '../src/lib/index.js';
import { lookupInstanceType, supportsPrefixDelegation, trunkLimits } from '../src/limits/index.js';
import { numberFlag, percentile, reexecInSandbox } from './stats.js';

reexecInSandbox('sgp', import.meta.url);

const nodeCount = numberFlag('nodes', 5, { whole: true });
const podCount = numberFlag('pods', 50, { whole: true });
const timeoutSeconds = numberFlag('timeout', 600);
const typeAt = process.argv.indexOf('--type');
const instanceType = typeAt >= 0 ? (process.argv[typeAt + 1] ?? '') : 'c5.xlarge';
const asJson = process.argv.includes('--json');
const perNode = Math.ceil(podCount / nodeCount);
const branches = trunkLimits(instanceType).branchInterfaces;
if (branches < perNode) {
  process.stderr.write(`error: ${instanceType} carries ${branches} branch ENIs, fewer than the ${perNode} SGP pods per node\nhint: pick a type with more (data/trunk-limits.json: m5.xlarge and c5.xlarge carry 18), or more --nodes\n`);
  process.exit(2);
}
if (!supportsPrefixDelegation(lookupInstanceType(instanceType))) {
  process.stderr.write(`error: ${instanceType} is not a Nitro type: ipamd refuses prefix delegation on it, and the prefix tier needs the same type as the others\nhint: pick a Nitro type (c5.xlarge, m5.xlarge)\n`);
  process.exit(2);
}

const POD_ENI = 'vpc.amazonaws.com/pod-eni';
const BENCH_LABEL = 'podnet-bench';
const HOSTNAME_LABEL = 'kubernetes.io/hostname';
/** A bucket no run empties or refills: what it lost is what the action took. */
const COUNTER_CAPACITY = 1e9;
const BACKGROUND_SECONDS = 20;
/** No mutating EC2 call for this long (and the ENIs back as before) ends a settle wait... */
const QUIET_SECONDS = 10;
/** ...or this long: the branch cooldown (60 s) and ipamd's IP cooldown, decrease interval and ENI lifetime fit in it. */
const SETTLE_SECONDS = 180;
/** What the controller writes on the branch ENIs it makes. */
const BRANCH_DESCRIPTION = 'aws-k8s-branch-eni';

const started = performance.now();
const deadlineMs = started + timeoutSeconds * 1000;
const tty = process.stderr.isTTY && !asJson;
const say = (line: string) => tty && process.stderr.write(`\r\x1b[K${line}\n`);
const status = (line: string) => tty && process.stderr.write(`\r\x1b[K${line}`);

class Deadline extends Error {}

/** Polls cond every 100 ms until it answers true; past the run's deadline, stops the run (Deadline). */
async function until(what: string, cond: () => boolean | Promise<boolean>, show?: () => string): Promise<void> {
  for (;;) {
    if (await cond()) return;
    if (performance.now() > deadlineMs) throw new Deadline(`stopped at the ${timeoutSeconds} s limit while ${what}`);
    if (show) status(show());
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---- the EC2 call counters (the emulator's token buckets, made endless)

type Calls = Record<string, number>;

async function emulator(lab: LabRecord, method: 'GET' | 'POST', body?: unknown): Promise<{ buckets: Array<{ bucket: string; tokens: number }> }> {
  // the emulator listens in the aws namespace only; curl there, as a lab process would reach it
  const argv = ['curl', '-sS', '--fail', '--max-time', '10', ...(body ? ['-X', method, '-H', 'content-type: application/json', '--data-binary', '@-'] : []), `${lab.ec2Url}/_podnet/throttle`];
  const { stdout } = await run(argv, { netns: labNamespaces.aws, input: body ? JSON.stringify(body) : undefined });
  return JSON.parse(stdout);
}

async function startCounting(lab: LabRecord): Promise<void> {
  // every action's own bucket and both classes: an action with a default of its own ignores the class override
  const endless = { capacity: COUNTER_CAPACITY, refillPerSecond: 1e-9 };
  await emulator(lab, 'POST', { enabled: true, buckets: Object.fromEntries(Object.keys(defaultBuckets).map((b) => [b, endless])) });
}

/** Calls per action so far (DescribeNetworkInterfaces' unfiltered bucket folded into the action). */
async function readCalls(lab: LabRecord): Promise<Calls> {
  const calls: Calls = {};
  for (const b of (await emulator(lab, 'GET')).buckets) {
    const action = b.bucket.split(':')[0]!;
    calls[action] = (calls[action] ?? 0) + (COUNTER_CAPACITY - b.tokens);
  }
  return calls;
}

function diff(after: Calls, before: Calls): Calls {
  return Object.fromEntries(Object.entries(after).map(([a, n]) => [a, n - (before[a] ?? 0)] as const).filter(([, n]) => n > 0));
}

const total = (c: Calls) => Object.values(c).reduce((s, n) => s + n, 0);
const isMutating = (action: string) => !/^(Describe|Get|List)/.test(action);
const mutating = (c: Calls) => Object.entries(c).reduce((s, [a, n]) => s + (isMutating(a) ? n : 0), 0);

/**
 * The lab's own reads: the fabric controller describes all of EC2 every 5 s, one call per action each time. A window
 * of a few seconds holds 0, 1 or 2 of those rounds, so they are subtracted by the rounds it saw (a marker action only
 * that reader calls), each round as the idle window's calls per round; by time when the idle window saw none.
 */
const FABRIC_MARKER = 'DescribeVpnGateways';

function netOfBackground(calls: Calls, seconds: number, background: { calls: Calls; seconds: number }): Calls {
  const rounds = background.calls[FABRIC_MARKER];
  const scale = rounds ? (calls[FABRIC_MARKER] ?? 0) / rounds : seconds / background.seconds;
  return Object.fromEntries(
    Object.entries(calls)
      .map(([a, n]) => [a, Math.max(0, Math.round(n - (background.calls[a] ?? 0) * scale))] as const)
      .filter(([, n]) => n > 0),
  );
}

// ---- the scenario

const dir = mkdtempSync(join(tmpdir(), 'podnet-bench-sgp-'));
const stateDir = join(dir, 'state');
const scenarioPath = join(dir, 'scenario.yaml');
const names = Array.from({ length: nodeCount }, (_, i) => `node-${i + 1}`);
const prefixNames = Array.from({ length: nodeCount }, (_, i) => `pd-${i + 1}`);
const allNames = [...names, ...prefixNames];
// one private subnet (the seeds: SGP pods in private subnets), room for the nodes' pools, their /28s and every branch ENI
writeFileSync(
  scenarioPath,
  [
    'vpcs: [{ name: main, cidr: 10.0.0.0/16 }]',
    'subnets: [{ name: private-a, vpc: main, az: us-west-2a, cidr: 10.0.0.0/19 }]',
    'securityGroups:',
    '  - { name: nodes, vpc: main, ingress: [{ protocol: all, cidr: 10.0.0.0/16 }] }',
    '  - { name: pod-sg, vpc: main, ingress: [{ protocol: all, cidr: 10.0.0.0/16 }] }',
    'instances:',
    ...allNames.map((n) => `  - { name: ${n}, type: ${instanceType}, subnet: private-a, securityGroups: [nodes] }`),
    'nodes:',
    // ipamd's manifest defaults otherwise (WARM_ENI_TARGET=1, WARM_PREFIX_TARGET=1): the pods pay for the pool as
    // they would on EKS with the defaults
    ...names.map((n) => `  - { instance: ${n}, env: { ENABLE_POD_ENI: "true" } }`),
    ...prefixNames.map((n) => `  - { instance: ${n}, env: { ENABLE_PREFIX_DELEGATION: "true" } }`),
    'securityGroupPolicies:',
    '  - { name: bench, podSelector: { sgp: bench }, securityGroups: [pod-sg] }',
  ].join('\n') + '\n',
);

// ---- one phase: create P pods, time them to Running, delete them, let the pools settle

interface Seen {
  node?: string;
  ip?: string;
  /** the branch ENI's address from the controller's annotation */
  branchIp?: string;
  runningAt?: number;
  deletedAt?: number;
}

interface Phase {
  kind: 'plain' | 'prefix' | 'sgp';
  pods: number;
  running: number;
  /** SGP: pods whose address is their branch ENI's (the annotation's privateIp) */
  viaBranch: number;
  /** prefix: pods whose address lies in a /28 EC2 delegated (to any ENI: the subnet's addresses are unique) */
  inPrefix: number;
  perNode: string;
  toRunning: { p50: number; p90: number; max: number; total: number };
  create: { seconds: number; calls: Calls; net: Calls };
  /** from the first delete until the ENIs are as before the phase (settled) or SETTLE_SECONDS passed */
  release?: { seconds: number; settled: boolean; calls: Calls; net: Calls };
}

const ipv4 = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);

function inAnyPrefix(ip: string, prefixes: readonly string[]): boolean {
  return prefixes.some((p) => {
    const [base, bits] = p.split('/');
    const size = 2 ** (32 - Number(bits));
    return Math.floor(ipv4(ip) / size) === Math.floor(ipv4(base!) / size);
  });
}

function branchIpOf(pod: V1Pod): string | undefined {
  const raw = pod.metadata?.annotations?.[POD_ENI];
  if (!raw) return undefined;
  try {
    return (JSON.parse(raw) as Array<{ privateIp?: string }>)[0]?.privateIp;
  } catch {
    return undefined;
  }
}

async function runPhase(kind: Phase['kind'], lab: LabRecord, core: CoreV1Api, kc: KubeConfig, nodeNames: string[], bg: { calls: Calls; seconds: number }, phases: Phase[]): Promise<void> {
  const seen = new Map<string, Seen>();
  const createdAt = new Map<string, number>();
  const watch = watchObjects<V1Pod>(kc, {
    path: '/api/v1/namespaces/default/pods',
    labelSelector: `${BENCH_LABEL}=${kind}`,
    onEvent(type, pod) {
      const s = seen.get(pod.metadata!.name!) ?? {};
      seen.set(pod.metadata!.name!, s);
      s.node = pod.spec?.nodeName ?? s.node;
      s.branchIp = branchIpOf(pod) ?? s.branchIp;
      if (type === 'DELETED') s.deletedAt ??= performance.now();
      else if (pod.status?.phase === 'Running' && pod.status.podIP && s.runningAt === undefined) {
        s.runningAt = performance.now();
        s.ip = pod.status.podIP;
      }
    },
  });
  await watch.synced;
  const podNames = Array.from({ length: podCount }, (_, i) => `${kind}-${i + 1}`);
  const running = () => podNames.filter((n) => seen.get(n)?.runningAt !== undefined).length;
  const phase: Phase = { kind, pods: podCount, running: 0, viaBranch: 0, inPrefix: 0, perNode: '', toRunning: { p50: NaN, p90: NaN, max: NaN, total: NaN }, create: { seconds: NaN, calls: {}, net: {} } };
  phases.push(phase);
  let summarized = false;
  const summarize = () => {
    summarized = true;
    const times = podNames.flatMap((n) => (seen.get(n)?.runningAt !== undefined ? [(seen.get(n)!.runningAt! - createdAt.get(n)!) / 1000] : []));
    const first = Math.min(...createdAt.values());
    const last = Math.max(...podNames.map((n) => seen.get(n)?.runningAt ?? -Infinity));
    phase.running = times.length;
    phase.viaBranch = podNames.filter((n) => seen.get(n)?.ip !== undefined && seen.get(n)?.ip === seen.get(n)?.branchIp).length;
    // the fabric's last read of EC2 (≤ 5 s old): a pod's /28 was delegated before its address was handed out
    const prefixes = (new LabState(stateDir).readFabric()?.enis ?? []).flatMap((e) => e.ipv4Prefixes);
    phase.inPrefix = podNames.filter((n) => seen.get(n)?.ip !== undefined && inAnyPrefix(seen.get(n)!.ip!, prefixes)).length;
    const spread = nodeNames.map((node) => podNames.filter((n) => seen.get(n)?.runningAt !== undefined && seen.get(n)?.node === node).length);
    phase.perNode = `${Math.min(...spread)}–${Math.max(...spread)}`;
    phase.toRunning = { p50: percentile(times, 50), p90: percentile(times, 90), max: Math.max(...times), total: times.length === podCount ? (last - first) / 1000 : NaN };
  };
  try {
    say(`${kind}: creating ${podCount} pods through the API server`);
    const before = await readCalls(lab);
    const shapeBefore = poolShape(lab);
    const t0 = performance.now();
    for (const [i, name] of podNames.entries()) {
      const pod: V1Pod = {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name, labels: { [BENCH_LABEL]: kind, ...(kind === 'sgp' && { sgp: 'bench' }) } },
        spec: { nodeSelector: { [HOSTNAME_LABEL]: nodeNames[i % nodeNames.length]! }, terminationGracePeriodSeconds: 1, containers: [{ name: 'main', image: 'localhost/podnet-lab/pause:1' }] },
      };
      createdAt.set(name, performance.now());
      await core.createNamespacedPod({ namespace: 'default', body: pod });
      status(`${kind}: ${i + 1}/${podCount} created, ${running()} Running`);
    }
    await until(`${running()} of ${podCount} ${kind} pods were Running`, () => running() === podCount, () => `${kind}: ${running()}/${podCount} Running, ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const seconds = (performance.now() - t0) / 1000;
    const calls = diff(await readCalls(lab), before);
    phase.create = { seconds, calls, net: netOfBackground(calls, seconds, bg) };
    summarize();
    say(`${kind}: ${podCount} Running in ${seconds.toFixed(1)} s, ${total(calls)} EC2 calls`);

    say(`${kind}: deleting them; counting EC2 calls until ${kind === 'sgp' ? 'every branch ENI is released (after the controller\'s cooldown)' : 'ipamd\'s pools are back as they were'}`);
    const t1 = performance.now();
    for (const name of podNames) await core.deleteNamespacedPod({ name, namespace: 'default' });
    const gone = () => podNames.filter((n) => seen.get(n)?.deletedAt !== undefined).length;
    await until(`${gone()} of ${podCount} ${kind} pods were gone`, () => gone() === podCount, () => `${kind}: ${gone()}/${podCount} deleted`);
    const settled = await settle(lab, `${kind}: releasing`, () => poolShape(lab) === shapeBefore);
    const releaseSeconds = (performance.now() - t1) / 1000;
    const releaseCalls = diff(diff(await readCalls(lab), before), calls);
    phase.release = { seconds: releaseSeconds, settled, calls: releaseCalls, net: netOfBackground(releaseCalls, releaseSeconds, bg) };
  } finally {
    // stopped before every pod ran: what the ones that did measured
    if (!summarized && createdAt.size > 0) summarize();
    await watch.stop();
  }
}

/**
 * The ENIs EC2 has for the bench's nodes, as the fabric controller last read them (no EC2 call of ours): each
 * instance's ENIs with their address counts, and the branch ENIs (attached to no instance: to a trunk).
 */
function poolShape(lab: LabRecord): string {
  const enis = new LabState(stateDir).readFabric()?.enis ?? [];
  const instances = allNames.map((n) => lab.instances[n]!);
  const attached = instances.map((id) => enis.filter((e) => e.instanceId === id).map((e) => e.privateIps.length + e.ipv4Prefixes.length * 16).sort().join('+'));
  return `${attached.join(' ')} branches ${enis.filter((e) => e.description === BRANCH_DESCRIPTION).length}`;
}

/**
 * Waits until `done` holds and no mutating EC2 call came for QUIET_SECONDS (the phase's trailing calls: ipamd trimming
 * its pool after IP_COOLDOWN_PERIOD and its decrease interval, the controller releasing branches after its cooldown);
 * false when SETTLE_SECONDS pass first.
 */
async function settle(lab: LabRecord, what: string, done: () => boolean): Promise<boolean> {
  const from = performance.now();
  let last = mutating(await readCalls(lab));
  let quietSince = performance.now();
  let settled = false;
  await until(
    what,
    async () => {
      const now = mutating(await readCalls(lab));
      if (now !== last) [last, quietSince] = [now, performance.now()];
      settled = done() && performance.now() - quietSince >= QUIET_SECONDS * 1000;
      return settled || performance.now() - from >= SETTLE_SECONDS * 1000;
    },
    () => `${what}: ${((performance.now() - from) / 1000).toFixed(0)} s`,
  );
  return settled;
}

// ---- the run

const load = () => loadavg().map((l) => l.toFixed(1)).join(' ');
const report: {
  /** nodes per tier: N with ENABLE_POD_ENI (plain and SGP pods), N with ENABLE_PREFIX_DELEGATION */
  nodes: number;
  instanceType: string;
  podsPerKind: number;
  loadAtStart: string;
  loadAtEnd?: string;
  labUpSeconds?: number;
  background?: { seconds: number; calls: Calls };
  phases: Phase[];
  stopped?: string;
} = { nodes: nodeCount, instanceType, podsPerKind: podCount, loadAtStart: load(), phases: [] };

try {
  say(`lab up: ${nodeCount} × ${instanceType} with ENABLE_POD_ENI=true and one SecurityGroupPolicy, ${nodeCount} with ENABLE_PREFIX_DELEGATION=true`);
  const t0 = performance.now();
  const lab = await labUp({ scenarioPath, stateDir, runtime: 'cni', progress: (m) => status(`lab up: ${m}`) });
  report.labUpSeconds = (performance.now() - t0) / 1000;
  say(`lab up in ${report.labUpSeconds.toFixed(1)} s`);
  const kc = new KubeConfig();
  kc.loadFromFile(lab.kubeconfig!);
  const core = kc.makeApiClient(CoreV1Api);
  // the Kubernetes names the kubelets registered (EC2's private DNS names), as lab state records them
  const recorded = new LabState(stateDir).readLab()!;
  const nodeNames = names.map((n) => recorded.nodes[n]!.nodeName!);
  const prefixNodeNames = prefixNames.map((n) => recorded.nodes[n]!.nodeName!);

  // SGP pods must not wait for trunks: every node has its trunk and offers pod-eni before anything is timed
  const withTrunk = async () => (await core.listNode()).items.filter((n) => nodeNames.includes(n.metadata!.name!) && Number(n.status?.allocatable?.[POD_ENI] ?? 0) >= perNode).length;
  let trunked = 0;
  await until('waiting for every node\'s trunk ENI (pod-eni allocatable)', async () => (trunked = await withTrunk()) === nodeCount, () => `trunks: ${trunked}/${nodeCount} nodes offer ${POD_ENI}`);

  await startCounting(lab);
  await settle(lab, 'waiting for the lab\'s EC2 calls to settle', () => true);
  say(`measuring the lab's own EC2 calls for ${BACKGROUND_SECONDS} s`);
  const bgBefore = await readCalls(lab);
  const tb = performance.now();
  await until('measuring the background', () => performance.now() - tb >= BACKGROUND_SECONDS * 1000);
  const background = { seconds: (performance.now() - tb) / 1000, calls: diff(await readCalls(lab), bgBefore) };
  report.background = background;

  await runPhase('plain', lab, core, kc, nodeNames, background, report.phases);
  await runPhase('prefix', lab, core, kc, prefixNodeNames, background, report.phases);
  await runPhase('sgp', lab, core, kc, nodeNames, background, report.phases);
} catch (err) {
  if (!(err instanceof Deadline)) throw err;
  report.stopped = err.message;
  say(err.message);
} finally {
  report.loadAtEnd = load();
  say('lab down');
  await labDown({ stateDir }).catch((err: unknown) => process.stderr.write(`lab down failed: ${String(err)}\n`));
  rmSync(dir, { recursive: true, force: true });
}

// ---- the report

const phaseOf = (kind: Phase['kind']) => report.phases.find((p) => p.kind === kind);
const [plain, prefix, sgp] = [phaseOf('plain'), phaseOf('prefix'), phaseOf('sgp')];
const perPod = (c: Calls | undefined) => (c ? total(c) / podCount : NaN);
const cycle = (p: Phase | undefined) => (p?.release ? perPod(p.create.net) + perPod(p.release.net) : NaN);
const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? a / b : NaN);
/** A tier against plain-IP pods, measure by measure. */
const against = (p: Phase | undefined) => ({
  toRunningP50: ratio(p?.toRunning.p50 ?? NaN, plain?.toRunning.p50 ?? NaN),
  toRunningP90: ratio(p?.toRunning.p90 ?? NaN, plain?.toRunning.p90 ?? NaN),
  toRunningMax: ratio(p?.toRunning.max ?? NaN, plain?.toRunning.max ?? NaN),
  total: ratio(p?.toRunning.total ?? NaN, plain?.toRunning.total ?? NaN),
  startCallsPerPod: ratio(perPod(p?.create.net), perPod(plain?.create.net)),
  cycleCallsPerPod: ratio(cycle(p), cycle(plain)),
});
const ratios = { prefix: against(prefix), sgp: against(sgp) };

if (asJson) {
  process.stdout.write(JSON.stringify({ ...report, ratios }, null, 2) + '\n');
} else {
  const s = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : '–');
  const sec = (n: number | undefined, digits = 2) => (n !== undefined && Number.isFinite(n) ? `${n.toFixed(digits)} s` : '–');
  // below 1 (prefix pods make fewer calls) one decimal would round a real difference away
  const x = (n: number) => (Number.isFinite(n) ? `×${n.toFixed(n < 1 ? 2 : 1)}` : '–');
  const byAction = (c: Calls | undefined) => (c ? Object.entries(c).sort(([, a], [, b]) => b - a).map(([a, n]) => `${a} ${n}`).join(', ') || 'none' : '–');
  const calls = (c: Calls | undefined) => (c ? `${total(c)} (${s(perPod(c), 2)}/pod)` : '–');
  const where = (p: Phase) => (p.kind === 'sgp' ? `, ${p.viaBranch} at their branch ENI's address` : p.kind === 'prefix' ? `, ${p.inPrefix} in a /28` : '');
  type Ratio = keyof ReturnType<typeof against>;
  const rows: Array<[string, (p: Phase | undefined) => string, Ratio?]> = [
    ['pods Running', (p) => (p ? `${p.running}/${p.pods}${where(p)}` : '–')],
    ['pods per node', (p) => p?.perNode ?? '–'],
    ['create → Running p50', (p) => sec(p?.toRunning.p50), 'toRunningP50'],
    ['create → Running p90', (p) => sec(p?.toRunning.p90), 'toRunningP90'],
    ['create → Running max', (p) => sec(p?.toRunning.max), 'toRunningMax'],
    ['first create → last Running', (p) => sec(p?.toRunning.total, 1), 'total'],
    ['EC2 calls, create → all Running', (p) => calls(p?.create.net), 'startCallsPerPod'],
    ['EC2 calls, delete → ENIs as before', (p) => (p?.release ? `${calls(p.release.net)} in ${s(p.release.seconds, 0)} s${p.release.settled ? '' : ' (not settled)'}` : '–')],
    ['EC2 calls per pod, whole cycle', (p) => s(cycle(p), 2), 'cycleCallsPerPod'],
  ];
  let out = `${nodeCount} × ${instanceType} with ENABLE_POD_ENI=true (plain and SGP pods), ${nodeCount} with ENABLE_PREFIX_DELEGATION=true (prefix pods); ipamd's defaults WARM_ENI_TARGET=1, WARM_PREFIX_TARGET=1; ${podCount} pods of each kind; lab up ${s(report.labUpSeconds ?? NaN)} s; load average ${report.loadAtStart} → ${report.loadAtEnd}\n\n`;
  out += formatTable(
    ['measure', 'plain IP', 'prefix (/28)', 'SGP (branch ENI)', 'prefix / plain', 'SGP / plain'],
    rows.map(([label, value, r]) => [label, value(plain), value(prefix), value(sgp), r ? x(ratios.prefix[r]) : '', r ? x(ratios.sgp[r]) : '']),
  );
  const tiers: Array<[string, Phase | undefined]> = [['plain ', plain], ['prefix', prefix], ['sgp   ', sgp]];
  out += `\nEC2 calls by action, create → all Running\n${tiers.map(([k, p]) => `  ${k} ${byAction(p?.create.net)}\n`).join('')}`;
  out += `EC2 calls by action, delete → ENIs as before\n${tiers.map(([k, p]) => `  ${k} ${byAction(p?.release?.net)}\n`).join('')}`;
  if (report.background) out += `(every count is net of the lab's own calls, by the fabric's rounds of reads: ${total(report.background.calls)} in ${s(report.background.seconds)} s while idle — ${byAction(report.background.calls)})\n`;
  if (report.stopped) out += `\n${report.stopped}: the numbers above are what was measured before\n`;
  process.stdout.write(out);
}
// a run stopped by its limit measured less than it was asked to: scripts see it in the status too
if (report.stopped) process.exitCode = 1;
