// Issue 12 item 3: the fallback plugin's runtime (a Node binary and the compiled plugin with what it imports) copied
// under <bin-dir>/podnet, replaced whole and taken back whole; --host-root refused unless it is an existing absolute
// directory. Installing into a host root and running there is test/netns/init-host-root.test.ts.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { podnet, root } from '../../run-podnet.js';
import { installCni, installCniUndoable, type ConflistOptions } from '../../../src/cni/index.js';
import { runLauncher } from './launcher-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-install-runtime-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const conflist: ConflistOptions = { vethPrefix: 'eni', mtu: 9001, podSGEnforcingMode: 'strict', pluginLogFile: '', pluginLogLevel: 'DEBUG', bandwidth: false, ipamdSocket: '/run/ipamd.sock' };
const built = existsSync(join(root, 'dist', 'cni', 'index.js')) ? false : 'the fallback runtime is copied from the build: run `npm run build`';

function nodeDir(name: string): { binDir: string; confDir: string } {
  mkdirSync(join(dir, name));
  return { binDir: join(dir, name, 'bin'), confDir: join(dir, name, 'net.d') };
}

const runtimes = (binDir: string) => readdirSync(binDir).filter((n) => /^podnet\./.test(n));

test('install copies node and the compiled plugin with what it imports under <bin-dir>/podnet, a link to podnet.<id>, and the launcher runs them', { skip: built }, async () => {
  const o = nodeDir('copy');
  const r = installCni({ ...o, conflist });
  assert.equal(r.runtime, join(o.binDir, 'podnet'));
  assert.deepEqual(r.fallbackArgv, [join(o.binDir, 'podnet', 'node'), join(o.binDir, 'podnet', 'bin', 'podnet-cni-plugin.js')]);
  assert.match(readlinkSync(join(o.binDir, 'podnet')), /^podnet\.[0-9a-f]{12}$/);
  const rt = join(o.binDir, 'podnet');
  assert.equal(statSync(join(rt, 'node')).mode & 0o777, 0o755);
  assert.deepEqual(JSON.parse(readFileSync(join(rt, 'package.json'), 'utf8')), { name: 'podnet-cni-fallback', private: true, type: 'module' });
  for (const f of ['bin/podnet-cni-plugin.js', 'dist/cni/index.js', 'dist/cni/plugin.js', 'dist/dataplane/index.js', 'dist/lib/index.js', 'node_modules/ipaddr.js/package.json']) assert.ok(existsSync(join(rt, f)), f);
  assert.equal(existsSync(join(rt, 'dist', 'ipamd')), false, "the daemon is not part of the plugin's imports");
  assert.equal(existsSync(join(rt, 'dist', 'config')), false, 'config is imported for its types only');
  const version = await runLauncher(r.launcher, { CNI_COMMAND: 'VERSION', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }, '{"cniVersion":"0.4.0"}');
  assert.equal(version.code, 0, version.stderr);
  assert.deepEqual((JSON.parse(version.stdout) as { supportedVersions: string[] }).supportedVersions, ['0.3.1', '0.4.0', '1.0.0', '1.1.0']);
});

test('a reinstall points the link at a new runtime, keeps the one it replaced until the next install (a fallback may be loading from it), and removes older ones and leftovers of a crashed install', { skip: built }, () => {
  const o = nodeDir('reinstall');
  installCni({ ...o, conflist });
  const first = readlinkSync(join(o.binDir, 'podnet'));
  mkdirSync(join(o.binDir, 'podnet.0123456789ab')); // a crashed install's directory
  installCni({ ...o, conflist });
  const second = readlinkSync(join(o.binDir, 'podnet'));
  assert.notEqual(second, first);
  assert.deepEqual(runtimes(o.binDir).sort(), [first, second].sort());
  installCni({ ...o, conflist });
  const third = readlinkSync(join(o.binDir, 'podnet'));
  assert.deepEqual(runtimes(o.binDir).sort(), [second, third].sort());
});

test('undo puts the previous runtime back and removes the new one; commit is what removes the replaced one', { skip: built }, () => {
  const o = nodeDir('undo');
  installCni({ ...o, conflist });
  const previous = readlinkSync(join(o.binDir, 'podnet'));
  const again = installCniUndoable({ ...o, conflist });
  assert.equal(runtimes(o.binDir).length, 2, 'the replaced runtime stays until commit');
  const current = readlinkSync(join(o.binDir, 'podnet'));
  assert.equal(statSync(join(o.binDir, current, 'node')).ino, statSync(join(o.binDir, previous, 'node')).ino, 'the same build links the identical Node instead of writing it again');
  assert.deepEqual(again.undo(), []);
  assert.equal(readlinkSync(join(o.binDir, 'podnet')), previous);
  assert.deepEqual(runtimes(o.binDir), [previous]);
  assert.ok(existsSync(join(o.binDir, 'podnet', 'node')));

  const fresh = nodeDir('undo-fresh');
  const first = installCniUndoable({ ...fresh, conflist });
  assert.deepEqual(first.undo(), []);
  assert.equal(existsSync(fresh.binDir), false, 'the bin dir it created is gone with the runtime and the launcher');
});

test('a conflist write that fails takes the runtime back with the rest', { skip: built }, () => {
  const o = nodeDir('fails');
  mkdirSync(join(o.confDir, '10-aws.conflist'), { recursive: true });
  assert.throws(() => installCni({ ...o, conflist }), /cannot write .*10-aws\.conflist/);
  assert.equal(existsSync(o.binDir), false);
});

test('something of the user\'s at <bin-dir>/podnet is refused before anything is written', { skip: built }, () => {
  const o = nodeDir('taken');
  mkdirSync(join(o.binDir, 'podnet'), { recursive: true });
  writeFileSync(join(o.binDir, 'podnet', 'mine'), '');
  assert.throws(() => installCni({ ...o, conflist }), (err: Error & { code?: string }) => err.code === 'USAGE' && /podnet exists and is not the link podnet cni install makes \(not a symbolic link\)/.test(err.message));
  assert.deepEqual(readdirSync(o.binDir), ['podnet']);
  assert.equal(existsSync(o.confDir), false);
});

test('--host-root must be an existing absolute directory, and --bin-dir/--conf-dir absolute host paths without .. with it', () => {
  const file = join(dir, 'a-file');
  writeFileSync(file, '');
  for (const [args, message] of [
    [['--host-root', 'host'], /^error: --host-root host is not an absolute path\nhint: /],
    [['--host-root', join(dir, 'missing')], /^error: --host-root .*missing does not exist\nhint: /],
    [['--host-root', file], /^error: --host-root .*a-file is not a directory\nhint: /],
    [['--host-root', dir, '--bin-dir', 'opt/cni/bin'], /^error: --bin-dir opt\/cni\/bin must be an absolute path of the host with --host-root\nhint: /],
    [['--host-root', dir, '--conf-dir', '/etc/../../etc/cni/net.d'], /^error: --conf-dir \/etc\/..\/..\/etc\/cni\/net.d has a '..' component, which would leave --host-root\nhint: /],
  ] as const) {
    const r = podnet(['cni', 'install', ...args], { env: {} });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, message);
  }
  assert.deepEqual(readdirSync(dir).filter((n) => n === 'opt' || n === 'etc'), [], 'nothing written');
});
