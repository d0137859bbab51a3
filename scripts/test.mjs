#!/usr/bin/env node
// The test command: type-check, then the unit, netns, e2e and soak tiers.
//
//   node scripts/test.mjs [typecheck|unit|netns|e2e|soak ...] [FILE.test.ts ...]
//
// With no tier named, all of them in that order; naming test files runs only those (in their tiers).
//
// Node 20's `node --test` neither expands globs nor finds .ts files, so this script lists the files of each tier
// itself and runs each file as a process of its own (`node --import tsx` with the spec and TAP reporters), a few at a
// time: FILES_AT_ONCE per tier, overridden by PODNET_TEST_JOBS. A file's output is kept until it ends and then printed
// whole, followed by a line with its counts, its wall time and its CPU time (user + sys of the file's processes, from
// the shell's `times`), so a slow file can be told from a starved one. Root tiers run each file inside a disposable
// sandbox of its own (new PID, mount and network namespaces with a private tmpfs on /run/netns), so files running side
// by side share no namespace, link, loopback port or process, and a crash cannot leave any of them on the machine. A
// file whose first lines say `// podnet-test: serial` runs alone (nothing else of its tier meanwhile).
// dist/ is built first, and every podnet process the tests start runs the compiled CLI (PODNET_COMPILED_CLI=1).
// The soak tier needs no root (ipamd runs with its fake dataplane): it runs unsandboxed like unit, one file at a time,
// and is bounded to five minutes in all.
// A tier that cannot run is reported as skipped with its reason, never as passed. The run fails when a tier
// reports a failure, when a test file registers no test, or when no test ran at all.
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tiers = ['unit', 'netns', 'e2e', 'soak'];
/** Tiers that run as the invoking user, outside the sandbox. */
const unsandboxed = new Set(['unit', 'soak']);
/**
 * Files run at once per tier on the 2-core machines CI and the team use. Unit files mostly wait on loopback servers
 * and child processes. Each netns file has a sandbox of its own; two labs side by side share the cores but not their
 * waits (a lab up is mostly processes starting and polling). The e2e files each start a containerd whose runc
 * cgroups have fixed names outside every namespace (test/e2e/harness.ts): one at a time. Soak files each start and
 * kill dozens of processes against a time bound: one at a time, so neither distorts the other's bound.
 */
const FILES_AT_ONCE = { unit: 2, netns: 2, e2e: 1, soak: 1 };
/**
 * Netns files measured at 40 s or more (docs/benchmarks.md), longest first: started first, so the tier does not end
 * with one long file running alone. Other files that bring up a lab follow, then the rest in name order.
 */
const LONG_FIRST = ['explain-differential', 'lab-demo', 'explain-lab', 'lab-kubectl', 'lab-probe-reason', 'explain-kernel-trace', 'lab-transit-gateway', 'lab-on-prem', 'lab-filtering'];

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
/** Whether dist/ was built in this run: false, 'ok' or 'failed'. */
let built = false;
const runStarted = Date.now();

if (wanted('typecheck')) {
  process.stdout.write('== typecheck (tsc -p tsconfig.json)\n');
  const started = Date.now();
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  if (tsc.status !== 0) problems.push('typecheck failed');
  process.stdout.write(`== typecheck: done in ${seconds(Date.now() - started)}\n`);
}

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
  const jobs = Math.min(jobsOverride ?? FILES_AT_ONCE[tier], files.length);
  process.stdout.write(`== ${tier}: ${files.length} files, ${jobs} at a time${unsandboxed.has(tier) ? '' : ', each in a sandbox of its own'}\n`);
  const tierStarted = Date.now();
  const results = await runTier(tier, orderFiles(tier, files), jobs);
  let cpuMs = 0;
  for (const r of results) {
    cpuMs += r.cpuMs ?? 0;
    if (!r.counts) {
      problems.push(`${tier}: ${relative(root, r.file)} produced no test summary`);
      continue;
    }
    for (const k of Object.keys(totals)) totals[k] += r.counts[k];
    if (r.counts.fail > 0) problems.push(`${tier}: ${relative(root, r.file)}: ${r.counts.fail} failed`);
    if (r.counts.tests === 0) problems.push(`${tier}: ${relative(root, r.file)} registered no test`);
  }
  const slowest = [...results].sort((a, b) => b.wallMs - a.wallMs).slice(0, 8);
  process.stdout.write(`== ${tier}: slowest files: ${slowest.map((r) => `${relative(join(root, 'test', tier), r.file)} ${seconds(r.wallMs)} (cpu ${r.cpuMs === undefined ? '?' : seconds(r.cpuMs)})`).join(', ')}\n`);
  process.stdout.write(`== ${tier}: done in ${seconds(Date.now() - tierStarted)} (cpu ${seconds(cpuMs)} over ${results.length} files, ${jobs} at a time)\n`);
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
 * Runs the tier's files, `jobs` at a time (a serial file alone), printing each file's output whole as it ends;
 * resolves to one result per file: { file, counts | null, wallMs, cpuMs }.
 */
function runTier(tier, files, jobs) {
  return new Promise((resolveAll) => {
    const queue = [...files];
    const results = [];
    let running = 0;
    let serialRunning = false;
    const pump = () => {
      while (queue.length > 0 && !serialRunning) {
        const serial = isSerial(queue[0]);
        if (serial ? running > 0 : running >= jobs) break;
        const file = queue.shift();
        running++;
        if (serial) serialRunning = true;
        runFile(tier, file).then((r) => {
          results.push(r);
          running--;
          if (serial) serialRunning = false;
          if (queue.length === 0 && running === 0) resolveAll(results);
          else pump();
        });
      }
    };
    pump();
  });
}

/** Runs one test file (in its own sandbox for root tiers); prints its output and a summary line when it ends. */
function runFile(tier, file) {
  const id = `${tier}-${Math.random().toString(36).slice(2)}`;
  const tap = join(scratch, `${id}.tap`);
  const outPath = join(scratch, `${id}.out`);
  const timesPath = join(scratch, `${id}.times`);
  // Unit and soak files run as the process node's runner would start for them; root tiers keep `node --test` as the
  // sandbox's PID 1, which stays until the file's processes are gone.
  const runner = unsandboxed.has(tier) ? [] : ['--test'];
  const nodeArgs = ['--import', 'tsx', ...runner, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, file];
  // test files that load the AWS SDK themselves (not through podnet's main) get the switch main sets
  // and, once dist/ is built from this source, PODNET_COMPILED_CLI=1: the podnet processes the tests and the lab start
  // run the compiled CLI (test/run-podnet.ts, src/lab/state.ts podnetArgv), not the sources through tsx
  const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env, PODNET_TEST_TIER: tier, ...(built === 'ok' ? { PODNET_COMPILED_CLI: '1' } : {}) };
  const command = unsandboxed.has(tier)
    ? [process.execPath, ...nodeArgs]
    : ['unshare', '--fork', '--pid', '--mount-proc', '--mount', '--net', '--propagation', 'private', '--', 'sh', '-c', sandboxBody(tier), 'sandbox', process.execPath, ...nodeArgs];
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
      process.stdout.write(readFileSync(outPath, 'utf8'));
      if (error) process.stdout.write(`could not start the ${tier} run of ${relative(root, file)}: ${error.message}\n`);
      const counts = readCounts(tap, status);
      const summary = counts ? `${counts.tests} tests, ${counts.pass} passed, ${counts.fail} failed, ${counts.skipped} skipped` : 'no test summary';
      process.stdout.write(`-- ${relative(root, file)}: ${summary}; wall ${seconds(wallMs)}, cpu ${cpuMs === undefined ? '?' : seconds(cpuMs)}\n`);
      done({ file, counts, wallMs, cpuMs });
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
 * starts runs it too (PODNET_COMPILED_CLI). A failed build is a problem; the tiers then start podnet through tsx.
 */
function buildOnce() {
  if (built) return;
  process.stdout.write('== build (tsc -p tsconfig.build.json): the compiled CLI the tests start\n');
  const started = Date.now();
  const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (build.status !== 0) problems.push('build failed');
  built = build.status === 0 ? 'ok' : 'failed';
  process.stdout.write(`== build: done in ${seconds(Date.now() - started)}\n`);
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
