#!/usr/bin/env node
// The test command: type-check, then the unit, netns, e2e and soak tiers.
//
//   node scripts/test.mjs [typecheck|unit|netns|e2e|soak ...] [FILE.test.ts ...]
//
// With no tier named, all of them; naming test files runs only those (in their tiers).
//
// Node 20's `node --test` neither expands globs nor finds .ts files, so this script lists the files of each tier
// itself and runs each file as a process of its own (`node --import tsx` with the spec and TAP reporters). A file's
// output is kept until it ends and then printed whole, followed by a line with its counts, its wall time and its CPU
// time (user + sys of the file's processes, from the shell's `times`), so a slow file can be told from a starved one.
// Root tiers run each file inside a disposable sandbox of its own (new PID, mount and network namespaces with a
// private tmpfs on /run/netns), so files running side by side share no namespace, link, loopback port or process, and
// a crash cannot leave any of them on the machine.
//
// The run goes in four steps (docs/testing.md, "How the runner spends the time"):
//   1. dist/ is built, unless it is already newer than every source (npm ci's prepare script builds it);
//   2. the files whose first lines say `// podnet-test: serial` run, one at a time with nothing else running;
//   3. the type-check, the unit files, the netns files and then the e2e files share the machine: two of them may
//      always run at once, more (up to the per-tier caps of AT_ONCE and MOST_AT_ONCE in all) only while the CPU is
//      idle enough (IDLE_TO_ADD) — most files wait on processes, servers and timeouts more than they compute;
//   4. the soak tier, one file at a time with nothing else running: each soak works against a time bound.
// PODNET_TEST_JOBS=N runs the tiers one after another instead, N files at a time, without the idle gate.
// Every podnet process the tests start runs the compiled CLI (PODNET_COMPILED_CLI=1).
// A tier that cannot run is reported as skipped with its reason, never as passed. The run fails when a tier
// reports a failure, when a test file registers no test, or when no test ran at all.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tiers = ['unit', 'netns', 'e2e', 'soak'];
/** Tiers that run as the invoking user, outside the sandbox. */
const unsandboxed = new Set(['unit', 'soak']);
/**
 * The most files of a tier at once in step 3. Unit files mostly wait on loopback servers and child processes (on CI
 * the unit tier used about one of the two cores with two files at a time). Each netns file has a sandbox of its own;
 * a lab file is mostly processes starting, polling and probes waiting for their timeout (explain-differential: 41 s of
 * CPU in 106 s per lab). The e2e files each start a containerd whose runc cgroups have fixed names outside every
 * namespace (test/e2e/harness.ts): one at a time. Soak files each start and kill dozens of processes against a time
 * bound: one at a time, alone (step 4).
 */
const AT_ONCE = { unit: 3, netns: 4, e2e: 1, soak: 1 };
/** Files (and the type-check) that may always run at once in step 3: the two cores of CI and the team's machines. */
const BASE_AT_ONCE = 2;
/** The most files running at once in step 3, however idle the CPU looks. */
const MOST_AT_ONCE = 5;
/**
 * Beyond BASE_AT_ONCE, one more file starts only when at least this share of the machine's CPU was idle over the last
 * IDLE_WINDOW_MS and no file started in that window (so the last one's start-up shows before the next is added). On a
 * machine that other work keeps busy, step 3 stays at BASE_AT_ONCE.
 */
const IDLE_TO_ADD = 0.4;
const IDLE_WINDOW_MS = 5000;
/**
 * Netns files measured at 40 s or more (docs/benchmarks.md), longest first: started first, so the run does not end
 * with one long file running alone. Other files that bring up a lab follow, then the rest in name order.
 */
const LONG_FIRST = ['explain-differential', 'lab-demo', 'lab-sgp', 'lab-sgp-wiring', 'explain-lab', 'lab-kubectl', 'lab-probe-reason', 'explain-kernel-trace', 'lab-transit-gateway', 'lab-on-prem', 'lab-filtering'];

const args = process.argv.slice(2);
const requested = args.filter((a) => !a.endsWith('.test.ts'));
const onlyFiles = args.filter((a) => a.endsWith('.test.ts')).map((a) => resolve(a));
for (const r of requested) {
  if (r !== 'typecheck' && !tiers.includes(r)) {
    process.stderr.write(`error: unknown tier '${r}'\nhint: choose from typecheck, ${tiers.join(', ')}, or name test files (…/x.test.ts)\n`);
    process.exit(2);
  }
}
for (const f of onlyFiles) {
  if (!existsSync(f) || !tiers.some((t) => f.startsWith(join(root, 'test', t) + '/'))) {
    process.stderr.write(`error: ${relative(root, f)} is not a test file of a tier\nhint: name files under test/{${tiers.join(',')}}/\n`);
    process.exit(2);
  }
}
const wanted = (name) => (requested.length === 0 && onlyFiles.length === 0 ? true : requested.includes(name) || (name !== 'typecheck' && onlyFiles.some((f) => f.startsWith(join(root, 'test', name) + '/'))));
const jobsOverride = process.env.PODNET_TEST_JOBS ? Number(process.env.PODNET_TEST_JOBS) : undefined;
if (jobsOverride !== undefined && !(Number.isInteger(jobsOverride) && jobsOverride >= 1)) {
  process.stderr.write(`error: PODNET_TEST_JOBS=${process.env.PODNET_TEST_JOBS} is not a whole number ≥ 1\n`);
  process.exit(2);
}
const scratch = mkdtempSync(join(tmpdir(), 'podnet-test-'));
const totals = { tests: 0, pass: 0, fail: 0, skipped: 0 };
const problems = [];
const skippedTiers = [];
/** Whether dist/ is this source's: false (not yet looked at), 'current', 'ok' (built now) or 'failed'. */
let built = false;
const runStarted = Date.now();

/** Each tier that runs, with its files in the order they start. */
const runnable = {};
for (const tier of tiers) {
  if (!wanted(tier)) continue;
  let files = listTests(join(root, 'test', tier));
  if (onlyFiles.length > 0 && !requested.includes(tier)) files = files.filter((f) => onlyFiles.includes(f));
  let reason = unsandboxed.has(tier) ? null : sandboxUnavailable(tier);
  if (!reason && files.length > 0) {
    buildOnce();
    // the soak starts the compiled CLI dozens of times; on tsx each start takes about twice as long
    if (tier === 'soak' && built === 'failed') reason = 'the build failed, and without dist/ every ipamd start takes about twice as long: the five-minute bound would not hold';
  }
  if (reason) {
    process.stdout.write(`== ${tier}: skipped (${files.length} files) — ${reason}\n`);
    skippedTiers.push(`${tier}: ${reason}`);
    continue;
  }
  if (files.length === 0) {
    process.stdout.write(`== ${tier}: no test files\n`);
    problems.push(`${tier} tier has no test files`);
    continue;
  }
  runnable[tier] = orderFiles(tier, files);
}

const jobsOf = (tier, keep = () => true) => (runnable[tier] ?? []).filter(keep).map((file) => ({ tier, file }));
const typecheck = wanted('typecheck') ? [{ tier: 'typecheck', file: join(root, 'tsconfig.json') }] : [];
/** Jobs not yet ended per tier, its first start, its results: a tier's summary is printed when its last file ends. */
const tierRuns = {};
for (const job of [...typecheck, ...tiers.flatMap((t) => jobsOf(t))]) {
  tierRuns[job.tier] ??= { left: 0, started: undefined, results: [] };
  tierRuns[job.tier].left++;
}
for (const [tier, files] of Object.entries(runnable)) {
  process.stdout.write(`== ${tier}: ${files.length} files${unsandboxed.has(tier) ? '' : ', each in a sandbox of its own'}\n`);
}

if (jobsOverride !== undefined) {
  // PODNET_TEST_JOBS: the tiers one after another, N files at a time; a serial file alone within its tier
  const caps = { typecheck: 1, unit: jobsOverride, netns: jobsOverride, e2e: jobsOverride, soak: jobsOverride };
  await runPool('the type-check', [typecheck], { base: 1, most: 1, caps });
  for (const tier of tiers) await runPool(`${tier}, ${jobsOverride} at a time (PODNET_TEST_JOBS)`, [jobsOf(tier)], { base: jobsOverride, most: jobsOverride, caps });
} else {
  const caps = { typecheck: 1, ...AT_ONCE };
  const serial = tiers.filter((t) => t !== 'soak').flatMap((t) => jobsOf(t, isSerial));
  await runPool('files marked serial, one at a time with nothing else running', [serial], { base: 1, most: 1, caps });
  const rest = (t) => jobsOf(t, (f) => !isSerial(f));
  await runPool(
    `the type-check and the unit, netns and e2e files side by side: ${BASE_AT_ONCE} at once, more while ≥ ${IDLE_TO_ADD * 100} % of the CPU is idle (at most ${MOST_AT_ONCE}; unit ${AT_ONCE.unit}, netns ${AT_ONCE.netns}, e2e ${AT_ONCE.e2e})`,
    [[...rest('netns'), ...rest('e2e')], [...typecheck, ...rest('unit')]],
    { base: BASE_AT_ONCE, most: MOST_AT_ONCE, caps, idleGate: true },
  );
  await runPool('soak, one file at a time with nothing else running', [jobsOf('soak')], { base: 1, most: 1, caps });
}

rmSync(scratch, { recursive: true, force: true });
if (totals.tests === 0 && (wanted('unit') || requested.length === 0)) problems.push('no tests ran');
for (const s of skippedTiers) process.stdout.write(`skipped tier — ${s}\n`);
for (const p of problems) process.stdout.write(`problem — ${p}\n`);
process.stdout.write(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped${skippedTiers.length ? `, ${skippedTiers.length} tier(s) skipped` : ''}; ${seconds(Date.now() - runStarted)}\n`);
process.exit(problems.length === 0 ? 0 : 1);

function seconds(ms) {
  return `${(ms / 1000).toFixed(1)} s`;
}

function listTests(dir) {
  if (!existsSync(dir)) return [];
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...listTests(path));
    else if (entry.name.endsWith('.test.ts')) out.push(path);
  }
  return out.sort();
}

/** The order files start in: for netns the known long files, then the other lab files, then the rest; else by name. */
function orderFiles(tier, files) {
  if (tier !== 'netns') return files;
  const base = (f) => f.slice(f.lastIndexOf('/') + 1).replace(/\.test\.ts$/, '');
  const rank = (f) => {
    const i = LONG_FIRST.indexOf(base(f));
    if (i >= 0) return i;
    return /\blabUp\b|\blabForFile\b|'lab', 'up'/.test(readFileSync(f, 'utf8')) ? LONG_FIRST.length : LONG_FIRST.length + 1;
  };
  return [...files].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
}

/** Whether the file asks to run alone: `// podnet-test: serial` among its first lines. */
function isSerial(file) {
  return /^\/\/ podnet-test: serial\b/m.test(readFileSync(file, 'utf8').split('\n').slice(0, 30).join('\n'));
}

/**
 * Runs jobs from `lanes` (each a queue, started in order) and resolves when all have ended. `base` jobs may always run
 * at once; with `idleGate`, up to `most` may, one more each time the CPU was idle enough over the last window (see
 * IDLE_TO_ADD); a tier never has more than `caps[tier]` running; a serial file starts only when nothing runs and
 * nothing starts beside it. A slot goes to the lane with the fewest jobs running, the first lane on a tie.
 */
function runPool(title, lanes, { base, most, caps, idleGate = false }) {
  const queues = lanes.map((lane) => [...lane]).filter((q) => q.length > 0);
  if (queues.length === 0) return Promise.resolve();
  process.stdout.write(`== ${title}\n`);
  return new Promise((resolveAll) => {
    const runningIn = queues.map(() => 0);
    const runningOf = {};
    let running = 0;
    let serialRunning = false;
    let lastStart = 0;
    let peak = 0;
    const poolStarted = Date.now();
    const cpu = idleGate ? idleMeter() : undefined;
    const ticker = cpu ? setInterval(() => pump(), 1000) : undefined;
    const mayAdd = () => running < base || (cpu !== undefined && Date.now() - lastStart >= IDLE_WINDOW_MS && cpu.idleShare() >= IDLE_TO_ADD);
    function pump() {
      while (!serialRunning && running < most && mayAdd()) {
        const open = queues.map((q, i) => i).filter((i) => queues[i].length > 0 && (runningOf[queues[i][0].tier] ?? 0) < caps[queues[i][0].tier]);
        if (open.length === 0) return;
        const lane = open.reduce((a, b) => (runningIn[b] < runningIn[a] ? b : a));
        const job = queues[lane][0];
        const serial = job.tier !== 'typecheck' && isSerial(job.file);
        if (serial && running > 0) return;
        queues[lane].shift();
        running++;
        runningIn[lane]++;
        runningOf[job.tier] = (runningOf[job.tier] ?? 0) + 1;
        lastStart = Date.now();
        peak = Math.max(peak, running);
        if (serial) serialRunning = true;
        tierRuns[job.tier].started ??= lastStart;
        runJob(job).then((r) => {
          running--;
          runningIn[lane]--;
          runningOf[job.tier]--;
          if (serial) serialRunning = false;
          record(r);
          if (running === 0 && queues.every((q) => q.length === 0)) {
            if (ticker) clearInterval(ticker);
            cpu?.stop();
            process.stdout.write(`== done in ${seconds(Date.now() - poolStarted)}, at most ${peak} at once: ${title}\n`);
            resolveAll();
          } else pump();
        });
      }
    }
    pump();
  });
}

/** The share of the machine's CPU time that was idle over the last IDLE_WINDOW_MS, from /proc/stat (0 when unknown). */
function idleMeter() {
  const samples = [];
  const sample = () => {
    try {
      // `cpu  user nice system idle iowait irq softirq steal guest guest_nice`: guest time is already in user and nice
      const fields = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1, 9).map(Number);
      samples.push({ at: Date.now(), idle: fields[3] + (fields[4] ?? 0), total: fields.reduce((a, b) => a + b, 0) });
      while (samples.length > 2 && samples[1].at <= Date.now() - IDLE_WINDOW_MS) samples.shift();
    } catch {
      // no /proc/stat: the gate stays shut and the pool keeps to its base
    }
  };
  sample();
  const timer = setInterval(sample, 500);
  return {
    stop: () => clearInterval(timer),
    idleShare() {
      const first = samples[0];
      const last = samples[samples.length - 1];
      if (!first || !last || last.at - first.at < IDLE_WINDOW_MS * 0.8) return 0;
      return (last.idle - first.idle) / Math.max(1, last.total - first.total);
    },
  };
}

/** Counts a job's result and, when it was its tier's last, prints the tier's summary. */
function record(r) {
  const run = tierRuns[r.tier];
  run.results.push(r);
  if (r.tier === 'typecheck') {
    if (r.status !== 0) problems.push('typecheck failed');
  } else if (!r.counts) {
    problems.push(`${r.tier}: ${relative(root, r.file)} produced no test summary`);
  } else {
    for (const k of Object.keys(totals)) totals[k] += r.counts[k];
    if (r.counts.fail > 0) problems.push(`${r.tier}: ${relative(root, r.file)}: ${r.counts.fail} failed`);
    if (r.counts.tests === 0) problems.push(`${r.tier}: ${relative(root, r.file)} registered no test`);
  }
  if (--run.left > 0 || r.tier === 'typecheck') return;
  const cpuMs = run.results.reduce((sum, x) => sum + (x.cpuMs ?? 0), 0);
  const slowest = [...run.results].sort((a, b) => b.wallMs - a.wallMs).slice(0, 8);
  process.stdout.write(`== ${r.tier}: slowest files: ${slowest.map((x) => `${relative(join(root, 'test', r.tier), x.file)} ${seconds(x.wallMs)} (cpu ${x.cpuMs === undefined ? '?' : seconds(x.cpuMs)})`).join(', ')}\n`);
  process.stdout.write(`== ${r.tier}: done in ${seconds(Date.now() - run.started)} from its first file's start (cpu ${seconds(cpuMs)} over ${run.results.length} files)\n`);
}

/**
 * Runs one job — a test file (in its own sandbox for root tiers), or the type-check — and prints its output whole and
 * a summary line when it ends; resolves to { tier, file, status, counts | null, wallMs, cpuMs }.
 */
function runJob({ tier, file }) {
  const id = `${tier}-${Math.random().toString(36).slice(2)}`;
  const tap = join(scratch, `${id}.tap`);
  const outPath = join(scratch, `${id}.out`);
  const timesPath = join(scratch, `${id}.times`);
  // Unit and soak files run as the process node's runner would start for them; root tiers keep `node --test` as the
  // sandbox's PID 1, which stays until the file's processes are gone.
  const runner = unsandboxed.has(tier) ? [] : ['--test'];
  const nodeArgs = ['--import', 'tsx', ...runner, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, file];
  // test files that load the AWS SDK themselves (not through podnet's main) get the switch main sets
  // and, once dist/ is this source's, PODNET_COMPILED_CLI=1: the podnet processes the tests and the lab start
  // run the compiled CLI (test/run-podnet.ts, src/lab/state.ts podnetArgv), not the sources through tsx
  const compiled = built === 'ok' || built === 'current';
  const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env, PODNET_TEST_TIER: tier, ...(compiled ? { PODNET_COMPILED_CLI: '1' } : {}) };
  let command;
  if (tier === 'typecheck') command = [process.execPath, join(root, 'node_modules/typescript/bin/tsc'), '-p', file];
  else if (unsandboxed.has(tier)) command = [process.execPath, ...nodeArgs];
  else command = ['unshare', '--fork', '--pid', '--mount-proc', '--mount', '--net', '--propagation', 'private', '--', 'sh', '-c', sandboxBody(tier), 'sandbox', process.execPath, ...nodeArgs];
  // the shell's `times` after the wait: user and sys CPU of every process of the file that was waited for
  const wrapper = 'times_file=$1; shift; "$@"; rc=$?; times > "$times_file"; exit $rc';
  const out = openSync(outPath, 'w');
  const started = Date.now();
  return new Promise((done) => {
    const child = spawn('sh', ['-c', wrapper, 'podnet-test', timesPath, ...command], { stdio: ['ignore', out, out], cwd: root, env });
    const finish = (status, error) => {
      closeSync(out);
      const wallMs = Date.now() - started;
      const cpuMs = readCpu(timesPath);
      const cpuText = `wall ${seconds(wallMs)}, cpu ${cpuMs === undefined ? '?' : seconds(cpuMs)}`;
      process.stdout.write(readFileSync(outPath, 'utf8'));
      if (error) process.stdout.write(`could not start the ${tier} run of ${relative(root, file)}: ${error.message}\n`);
      if (tier === 'typecheck') {
        process.stdout.write(`-- typecheck (tsc -p ${relative(root, file)}): ${status === 0 ? 'no errors' : `failed (exit ${status})`}; ${cpuText}\n`);
        done({ tier, file, status, counts: null, wallMs, cpuMs });
        return;
      }
      const counts = readCounts(tap, status);
      const summary = counts ? `${counts.tests} tests, ${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped` : 'no test summary';
      process.stdout.write(`-- ${relative(root, file)}: ${summary}; ${cpuText}\n`);
      done({ tier, file, status, counts, wallMs, cpuMs });
    };
    child.once('error', (err) => finish(1, err));
    child.once('exit', (code, signal) => finish(code ?? (signal ? 1 : 0)));
  });
}

/** The TAP summary counts of a file's run, or null when it wrote none. */
function readCounts(tap, status) {
  if (!existsSync(tap)) return null;
  const text = readFileSync(tap, 'utf8');
  const count = (name) => Number(text.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? NaN);
  const counts = { tests: count('tests'), pass: count('pass'), fail: count('fail'), skipped: count('skipped') + count('todo') };
  if (Object.values(counts).some(Number.isNaN)) return null;
  if (status !== 0 && counts.fail === 0) counts.fail = 1; // the runner itself failed (crash, timeout)
  return counts;
}

/** User + sys CPU of the shell's waited-for children (the second line of `times`: `0m1.230000s 0m0.450000s`). */
function readCpu(path) {
  if (!existsSync(path)) return undefined;
  const line = readFileSync(path, 'utf8').trim().split('\n')[1] ?? '';
  const parts = [...line.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => Number(m[1]) * 60_000 + Number(m[2]) * 1000);
  return parts.length === 2 ? parts[0] + parts[1] : undefined;
}

/**
 * Builds dist/ from this source once per run, before the first tier: root tiers run the installed launcher, whose
 * fallback plugin is the compiled code, the soak runs the compiled CLI, and every podnet process a test or a lab
 * starts runs it too (PODNET_COMPILED_CLI). When dist/ is already this source's — every source's output exists and
 * the oldest output is newer than the newest source and tsconfig, as after npm ci's prepare script on a fresh clone —
 * it is not built again (about 17 s of CPU). A failed build is a problem; the tiers then start podnet through tsx.
 */
function buildOnce() {
  if (built) return;
  const stale = distStaleness();
  if (stale === null) {
    built = 'current';
    process.stdout.write('== build: dist/ is newer than every source and tsconfig (npm ci\'s prepare built it): not built again\n');
    return;
  }
  process.stdout.write(`== build (tsc -p tsconfig.build.json): the compiled CLI the tests start (${stale})\n`);
  const started = Date.now();
  const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (build.status !== 0) problems.push('build failed');
  built = build.status === 0 ? 'ok' : 'failed';
  process.stdout.write(`== build: done in ${seconds(Date.now() - started)}\n`);
}

/** Why dist/ is not this source's build (the first reason found), or null when it is. */
function distStaleness() {
  const src = join(root, 'src');
  const sources = readdirSync(src, { recursive: true }).filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'));
  let newestInput = 0;
  for (const f of [...sources.map((f) => join(src, f)), join(root, 'tsconfig.json'), join(root, 'tsconfig.build.json')]) newestInput = Math.max(newestInput, statSync(f).mtimeMs);
  for (const f of sources) {
    const out = join(root, 'dist', f.replace(/\.ts$/, '.js'));
    if (!existsSync(out)) return `dist/${f.replace(/\.ts$/, '.js')} is missing`;
    if (statSync(out).mtimeMs < newestInput) return `dist/${f.replace(/\.ts$/, '.js')} is older than a source or tsconfig`;
  }
  return null;
}

/** Shell body run as PID 1 of the sandbox: a private netns registry (and containerd state for e2e), lo up. */
function sandboxBody(tier) {
  const mounts = ['mount -t tmpfs podnet-netns /run/netns'];
  if (tier === 'e2e') mounts.push('mount -t tmpfs podnet-containerd /run/containerd', 'mount -t tmpfs podnet-cni-cache /var/lib/cni');
  return `set -e; ${mounts.join('; ')}; ip link set lo up; exec "$@"`;
}

/** Why a root tier cannot run here, or null when it can. */
function sandboxUnavailable(tier) {
  if (process.getuid?.() !== 0) return `needs root (running as uid ${process.getuid?.()})`;
  for (const tool of ['unshare', 'ip', 'iptables', 'nft']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install -y util-linux iproute2 iptables nftables)`;
  }
  for (const dir of ['/run/netns', ...(tier === 'e2e' ? ['/run/containerd', '/var/lib/cni'] : [])]) mkdirSync(dir, { recursive: true });
  const probe = spawnSync('unshare', ['--net', '--', 'ip', 'link', 'add', 'probe0', 'type', 'veth', 'peer', 'name', 'probe1'], { encoding: 'utf8' });
  if (probe.status !== 0) return `cannot create network namespaces with veth links here: ${(probe.stderr || '').trim()}`;
  if (tier === 'e2e') {
    for (const tool of ['containerd', 'runc', 'ctr']) {
      if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return `${tool} is not installed (apt-get install -y containerd runc containernetworking-plugins)`;
    }
  }
  return null;
}
