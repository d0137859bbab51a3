import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the CLI as a user would (through tsx), returning exit status and both streams. */
function podnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/cli/main.ts').then((m) => m.main(['node', 'podnet', ...process.argv.slice(1)]))", '--', ...args],
    { cwd: root, encoding: 'utf8', env: { ...process.env, NODE_NO_WARNINGS: '1' } });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}

test('pool simulate --json prints exactly the documented fields', () => {
  const r = podnet('pool', 'simulate', 't3.small', '--pods', '12', '--json');
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(out), ['enis', 'ipsPerEni', 'totalIps', 'unusedIps', 'refusedPods', 'ec2Calls']);
  assert.deepEqual([out.enis, out.ipsPerEni, out.totalIps, out.unusedIps, out.refusedPods], [3, [3, 3, 3], 9, 0, 3]);
  assert.equal(out.ec2Calls.CreateNetworkInterface, 2);
});

test('pool simulate prints a table per ENI for people', () => {
  const r = podnet('pool', 'simulate', 't3.small', '--pods', '58', '--env', 'ENABLE_PREFIX_DELEGATION=true', '--max-pods', '110');
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^t3\.small, 58 pods, WARM_PREFIX_TARGET=1 \(prefix delegation, max pods 110\)\n\nENI  prefixes  pod IPs\n1    3         48\n2    2         32\n/);
  assert.match(r.stdout, /2 ENI\(s\), 80 pod IPs, 22 unused, 0 pod\(s\) refused/);
});

test('an invalid --env value is a usage error naming the problem', () => {
  const r = podnet('pool', 'simulate', 't3.small', '--pods', '1', '--env', 'WARM_IP_TARGET=abc');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: invalid --env settings: WARM_IP_TARGET: /);
  assert.match(r.stderr, /\nhint: /);
});

test('an unknown --env name suggests the nearest settings', () => {
  const r = podnet('pool', 'simulate', 't3.small', '--pods', '1', '--env', 'WARM_IP_TARGT=1');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /hint: did you mean WARM_IP_TARGET/);
});

test('an unknown instance type exits 2 with suggestions', () => {
  const r = podnet('pool', 'simulate', 't3.smal', '--pods', '1');
  assert.equal(r.status, 2);
  assert.match(r.stderr, /did you mean t3\.small/);
});
