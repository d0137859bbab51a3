// Class 10 of issue 10 (other inputs that hang or write where they should not): a path option creates at most its
// last component, and only when its parent is a directory; anything else is an `error:`/`hint:` pair at once —
// `podnet cni install --bin-dir/--conf-dir` and `podnet ec2 serve --db` (the lab's --state-dir: test/netns/lab-paths).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { podnet, root, type PodnetRun } from '../../run-podnet.js';
import { installCni } from '../../../src/cni/index.js';
import { PodnetError } from '../../../src/lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-install-paths-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** Runs the podnet CLI from source as a user would, with nothing but PATH in its environment. */
function podnetBare(args: string[]): PodnetRun {
  return podnet(args, { env: {} });
}

/** An error:/hint: pair (never the "bug in podnet" answer) and the exit status. */
function assertRefused(r: { status: number | null; stderr: string }, status: 1 | 2, message: RegExp): void {
  assert.equal(r.status, status, r.stderr);
  assert.match(r.stderr, /^error: .+\nhint: .+\n$/);
  assert.match(r.stderr, message);
  assert.doesNotMatch(r.stderr, /bug in podnet/);
}

const conflist = { vethPrefix: 'eni', mtu: 9001, podSGEnforcingMode: 'strict', pluginLogFile: '', pluginLogLevel: 'DEBUG', bandwidth: false, ipamdSocket: '/run/ipamd.sock' };
const fallbackArgv = ['/usr/bin/false'];

test('cni install --bin-dir /proc/x answers at once with error and hint (it spun forever in recursive mkdir)', () => {
  const r = podnetBare(['cni', 'install', '--bin-dir', '/proc/podnet-x', '--conf-dir', join(dir, 'proc-net.d')]);
  assertRefused(r, 2, /--bin-dir \/proc\/podnet-x/);
  assert.equal(existsSync(join(dir, 'proc-net.d')), false, 'nothing is written when a directory is refused');
});

test('cni install --bin-dir or --conf-dir under a missing directory creates nothing and names the missing parent', () => {
  const base = mkdtempSync(join(dir, 'parents-'));
  const missing = join(base, 'missing');
  for (const flags of [['--bin-dir', join(missing, 'bin'), '--conf-dir', join(base, 'a-net.d')], ['--bin-dir', join(base, 'b-bin'), '--conf-dir', join(missing, 'net.d')]]) {
    const r = podnetBare(['cni', 'install', ...flags]);
    assertRefused(r, 2, /-dir .*\/missing\/(bin|net\.d): its parent .*\/missing does not exist/);
  }
  assert.deepEqual(readdirSync(base), [], 'no directory was created, not even the valid one');
});

test('cni install --bin-dir naming a file is refused', () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  assertRefused(podnetBare(['cni', 'install', '--bin-dir', file]), 2, /--bin-dir .*a-file is not a directory/);
  rmSync(file);
});

test('installCni creates the last component of each directory when its parent exists, and reuses existing ones', () => {
  const node = join(dir, 'node');
  mkdirSync(node);
  const o = { binDir: join(node, 'bin'), confDir: join(node, 'net.d'), conflist, fallbackArgv };
  const first = installCni(o);
  assert.equal(statSync(first.launcher).mode & 0o777, 0o755);
  assert.ok(existsSync(first.conflist));
  assert.deepEqual(installCni(o), first, 'a second install into the same directories');
  rmSync(node, { recursive: true });
});

test('installCni under a missing directory throws a usage error and creates nothing', () => {
  assert.throws(() => installCni({ binDir: join(dir, 'gone', 'bin'), confDir: join(dir, 'gone', 'net.d'), conflist, fallbackArgv }), (err: unknown) => {
    assert.ok(err instanceof PodnetError);
    assert.equal(err.exitStatus, 2);
    assert.match(err.message, /gone does not exist/);
    return true;
  });
  assert.equal(existsSync(join(dir, 'gone')), false);
});

test('ec2 serve --db in a missing directory answers with error and hint, not "a bug in podnet"', () => {
  const r = podnetBare(['ec2', 'serve', '--db', join(dir, 'nowhere', 'ec2.db'), '--listen', '127.0.0.1:0', '--imds-listen', '127.0.0.1:0']);
  assertRefused(r, 2, /--db .*nowhere\/ec2\.db: .*nowhere does not exist/);
  assert.equal(existsSync(join(dir, 'nowhere')), false);
});

test('ec2 serve --db naming a directory answers with error and hint', () => {
  const r = podnetBare(['ec2', 'serve', '--db', dir, '--listen', '127.0.0.1:0', '--imds-listen', '127.0.0.1:0']);
  assertRefused(r, 2, /--db .* is a directory/);
});

test('ec2 serve --db naming a file that is not a database answers with error and hint', () => {
  const file = join(dir, 'not-a-db.txt');
  writeFileSync(file, 'hello\n');
  assertRefused(podnetBare(['ec2', 'serve', '--db', file, '--listen', '127.0.0.1:0', '--imds-listen', '127.0.0.1:0']), 1, /cannot use --db .*not-a-db\.txt: file is not a database/);
  rmSync(file);
});

/** startCniSocketServer(path) in a child process (a spinning synchronous mkdir would stall this one): its error, or 'listening'. */
function startSocketServer(path: string): { code?: string; message?: string } | 'listening' {
  const script = `const { startCniSocketServer } = await import(${JSON.stringify(join(root, 'src/cni/index.ts'))});
    try { const s = await startCniSocketServer(${JSON.stringify(path)}, async () => ({ exitCode: 0, stdout: '' })); await s.close(); console.log('"listening"'); }
    catch (err) { console.log(JSON.stringify({ code: err.code, message: err.message })); }`;
  const res = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', timeout: 20_000 });
  assert.equal(res.signal, null, `startCniSocketServer(${path}) did not finish within 20 s`);
  return JSON.parse(res.stdout) as { code?: string; message?: string } | 'listening';
}

test("ipamd's CNI socket (PODNET_CNI_SOCKET) under /proc or under a missing directory is refused at once, creating nothing", () => {
  assert.deepEqual(startSocketServer('/proc/podnet-x/ipamd.sock'), { code: 'USAGE', message: 'the CNI socket directory /proc/podnet-x: /proc takes no new directories (a filesystem such as /proc or /sys)' });
  const missing = join(dir, 'no-run');
  const r = startSocketServer(join(missing, 'aws-node', 'ipamd.sock'));
  assert.ok(r !== 'listening' && r.code === 'USAGE' && /its parent .*no-run does not exist/.test(r.message ?? ''), JSON.stringify(r));
  assert.equal(existsSync(missing), false);
  assert.equal(startSocketServer(join(dir, 'run', 'ipamd.sock')), 'listening', 'the last component is created');
});

test('podnet ipamd with AWS_VPC_K8S_CNI_LOG_FILE under /proc or under a missing directory answers at once, creating nothing', () => {
  const missing = join(dir, 'no-log');
  for (const [file, message] of [
    ['/proc/podnet-x/ipamd.log', /the directory of AWS_VPC_K8S_CNI_LOG_FILE \/proc\/podnet-x: \/proc takes no new directories/],
    [join(missing, 'aws-routed-eni', 'ipamd.log'), /the directory of AWS_VPC_K8S_CNI_LOG_FILE .*no-log\/aws-routed-eni: its parent .*no-log does not exist/],
  ] as const) {
    // explicit endpoints nothing listens on: ipamd must stop before it would reach them
    const res = podnet(['ipamd'], {
      timeoutMs: 20_000,
      env: { AWS_VPC_K8S_CNI_LOG_FILE: file, AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:9', AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:9', AWS_REGION: 'us-west-2' },
    });
    assertRefused(res, 2, message);
  }
  assert.equal(existsSync(missing), false);
});
