#!/usr/bin/env node
// The test command: type-check, then the unit, netns, e2e and soak tiers.
//
//   node scripts/test.mjs [typecheck|unit|netns|e2e|soak ...]     (default: all of them, in that order)
//
// Node 20's `node --test` neither expands globs nor finds .ts files, so this script lists the files of each tier
// itself. Root tiers run each file inside a disposable sandbox (new PID, mount and network namespaces with a
// private tmpfs on /run/netns), so a crash cannot leave namespaces, links, rules or processes on the machine.
// The soak tier needs no root (ipamd runs with its fake dataplane): it runs unsandboxed like unit, one file at a
// time, against the compiled CLI built before it, and is bounded to five minutes in all.
// A tier that cannot run is reported as skipped with its reason, never as passed. The run fails when a tier
// reports a failure, when a test file registers no test, or when no test ran at all.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tiers = ['unit', 'netns', 'e2e', 'soak'];
/** Tiers that run as the invoking user, outside the sandbox. */
const unsandboxed = new Set(['unit', 'soak']);
const requested = process.argv.slice(2);
for (const r of requested) {
  if (r !== 'typecheck' && !tiers.includes(r)) {
    process.stderr.write(`error: unknown tier '${r}'\nhint: choose from typecheck, ${tiers.join(', ')}\n`);
    process.exit(2);
  }
}
const wanted = (name) => requested.length === 0 || requested.includes(name);
const scratch = mkdtempSync(join(tmpdir(), 'podnet-test-'));
const totals = { tests: 0, pass: 0, fail: 0, skipped: 0 };
const problems = [];
const skippedTiers = [];
/** Whether dist/ was built in this run: false, 'ok' or 'failed'. */
let built = false;

if (wanted('typecheck')) {
  process.stdout.write('== typecheck (tsc -p tsconfig.json)\n');
  const tsc = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.json')], { stdio: 'inherit' });
  if (tsc.status !== 0) problems.push('typecheck failed');
}

for (const tier of tiers) {
  if (!wanted(tier)) continue;
  const files = listTests(join(root, 'test', tier));
  let reason = unsandboxed.has(tier) ? null : sandboxUnavailable(tier);
  if (!reason && tier !== 'unit' && files.length > 0) {
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
  process.stdout.write(`== ${tier}: ${files.length} files\n`);
  const runs = unsandboxed.has(tier) ? [files] : files.map((f) => [f]); // root tiers: one sandbox per file
  const tierStarted = Date.now();
  let tierTests = 0;
  for (const batch of runs) {
    const counts = runNodeTest(tier, batch);
    if (!counts) {
      problems.push(`${tier}: ${batch.map((f) => relative(root, f)).join(' ')} produced no test summary`);
      continue;
    }
    for (const k of Object.keys(totals)) totals[k] += counts[k];
    tierTests += counts.tests;
    if (counts.fail > 0) problems.push(`${tier}: ${counts.fail} failed`);
  }
  process.stdout.write(`== ${tier}: done in ${((Date.now() - tierStarted) / 1000).toFixed(1)} s\n`);
  if (tierTests < files.length) problems.push(`${tier}: ${files.length} files ran only ${tierTests} tests (a file registered none)`);
}

rmSync(scratch, { recursive: true, force: true });
if (totals.tests === 0 && (wanted('unit') || requested.length === 0)) problems.push('no tests ran');
for (const s of skippedTiers) process.stdout.write(`skipped tier — ${s}\n`);
for (const p of problems) process.stdout.write(`problem — ${p}\n`);
process.stdout.write(`${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped${skippedTiers.length ? `, ${skippedTiers.length} tier(s) skipped` : ''}\n`);
process.exit(problems.length === 0 ? 0 : 1);

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

/** Runs node's test runner on files; streams the spec report and returns the TAP summary counts. */
function runNodeTest(tier, files) {
  const tap = join(scratch, `${tier}-${Math.random().toString(36).slice(2)}.tap`);
  // soak files each start and kill dozens of processes: one at a time, so neither distorts the other's bound. Unit
  // files mostly wait on loopback servers and child processes: two at a time even on two cores (node's default is one
  // fewer than the cores, so one here)
  const concurrency = tier === 'soak' ? ['--test-concurrency=1'] : tier === 'unit' ? ['--test-concurrency=2'] : [];
  const nodeArgs = ['--import', 'tsx', '--test', ...concurrency, '--test-reporter=spec', '--test-reporter-destination=stdout', '--test-reporter=tap', `--test-reporter-destination=${tap}`, ...files];
  // test files that load the AWS SDK themselves (not through podnet's main) get the switch main sets
  const env = { AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', ...process.env, PODNET_TEST_TIER: tier };
  const res = unsandboxed.has(tier)
    ? spawnSync(process.execPath, nodeArgs, { stdio: 'inherit', cwd: root, env })
    : spawnSync('unshare', ['--fork', '--pid', '--mount-proc', '--mount', '--net', '--propagation', 'private', '--', 'sh', '-c', sandboxBody(tier), 'sandbox', process.execPath, ...nodeArgs], { stdio: 'inherit', cwd: root, env });
  if (res.error) process.stdout.write(`could not start the ${tier} run: ${res.error.message}\n`);
  if (!existsSync(tap)) return null;
  const text = readFileSync(tap, 'utf8');
  const count = (name) => Number(text.match(new RegExp(`^# ${name} (\\d+)$`, 'm'))?.[1] ?? NaN);
  const counts = { tests: count('tests'), pass: count('pass'), fail: count('fail'), skipped: count('skipped') + count('todo') };
  if (Object.values(counts).some(Number.isNaN)) return null;
  if (res.status !== 0 && counts.fail === 0) counts.fail = 1; // the runner itself failed (crash, timeout)
  return counts;
}

/** Builds dist/ from this source once per run: root tiers run the installed launcher, whose fallback plugin is the compiled code, and the soak runs the compiled CLI. */
function buildOnce() {
  if (built) return;
  process.stdout.write('== build (tsc -p tsconfig.build.json), for the compiled code the root and soak tiers run\n');
  const build = spawnSync(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
  if (build.status !== 0) problems.push('build failed');
  built = build.status === 0 ? 'ok' : 'failed';
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
