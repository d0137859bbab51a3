// Issue 11 items 4 and 5, the install half of `podnet init` (and `podnet cni install`): the conflist chains tuning
// with upstream's IPv6-disabling sysctls under DISABLE_POD_V6, the containernetworking plugins it chains are copied
// into the bin dir as upstream's init container copies its plugins, and a failed install takes back what it wrote.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { podnet } from '../../run-podnet.js';
import { installCni, installCniUndoable, installSettings, renderConflist, type ConflistOptions } from '../../../src/cni/index.js';
import { loadConfig } from '../../../src/config/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-install-init-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const base: ConflistOptions = { vethPrefix: 'eni', mtu: 9001, podSGEnforcingMode: 'strict', pluginLogFile: '', pluginLogLevel: 'DEBUG', bandwidth: false, ipamdSocket: '/run/ipamd.sock' };
const fallbackArgv = ['/usr/bin/false'];

/** A directory of stand-in plugin executables, each printing its own name. */
function pluginsDir(name: string, plugins: string[]): string {
  const d = join(dir, name);
  mkdirSync(d);
  for (const p of plugins) {
    writeFileSync(join(d, p), `#!/bin/sh\necho ${p}\n`);
    chmodSync(join(d, p), 0o755);
  }
  return d;
}

test('issue 11 item 4: DISABLE_POD_V6=true chains tuning with upstream\'s three disable_ipv6 sysctls, after portmap and bandwidth', () => {
  const plugins = renderConflist({ ...base, bandwidth: true, disablePodV6: true }).plugins as Record<string, unknown>[];
  assert.deepEqual(plugins.map((p) => p.type), ['podnet-cni', 'portmap', 'bandwidth', 'tuning']);
  assert.deepEqual(plugins[3], {
    type: 'tuning',
    sysctl: { 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1', 'net.ipv6.conf.lo.disable_ipv6': '1' },
  });
  assert.deepEqual((renderConflist(base).plugins as { type: string }[]).map((p) => p.type), ['podnet-cni', 'portmap'], 'no tuning by default');
});

test('issue 11 item 4: cni install with DISABLE_POD_V6=true writes the tuning entry and copies tuning from --plugins-dir; DISABLE_POD_V6=yes warns and uses false, as upstream', () => {
  const from = pluginsDir('cli-plugins', ['loopback', 'portmap', 'tuning']);
  const node = join(dir, 'cli-node');
  mkdirSync(node);
  const args = ['cni', 'install', '--bin-dir', join(node, 'bin'), '--conf-dir', join(node, 'net.d'), '--socket', '/run/ipamd.sock', '--plugins-dir', from, '--json'];
  const on = podnet(args, { env: { DISABLE_POD_V6: 'true' } });
  assert.equal(on.status, 0, on.stderr);
  const out = JSON.parse(on.stdout) as { plugins: string[]; conflist: string; warnings: string[] };
  assert.deepEqual(out.plugins, ['loopback', 'portmap', 'tuning'].map((p) => join(node, 'bin', p)));
  assert.deepEqual(out.warnings, []);
  const written = JSON.parse(readFileSync(out.conflist, 'utf8')) as { plugins: { type: string; sysctl?: Record<string, string> }[] };
  assert.deepEqual(written.plugins.at(-1), { type: 'tuning', sysctl: { 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1', 'net.ipv6.conf.lo.disable_ipv6': '1' } });
  assert.equal(readFileSync(join(node, 'bin', 'tuning'), 'utf8'), '#!/bin/sh\necho tuning\n');
  assert.equal(statSync(join(node, 'bin', 'tuning')).mode & 0o777, 0o755);

  const junk = podnet(args.filter((a) => a !== '--json'), { env: { DISABLE_POD_V6: 'yes' } });
  assert.equal(junk.status, 0, junk.stderr);
  assert.match(junk.stderr, /^warning: DISABLE_POD_V6: "yes" is not a boolean; upstream logs an error and uses false/m);
  assert.doesNotMatch(readFileSync(join(node, 'net.d', '10-aws.conflist'), 'utf8'), /tuning/);
});

test('a plugin the conflist chains that --plugins-dir lacks is refused before anything is written', () => {
  const from = pluginsDir('no-tuning', ['loopback', 'portmap']);
  const node = join(dir, 'refused');
  mkdirSync(node);
  assert.throws(() => installCni({ binDir: join(node, 'bin'), confDir: join(node, 'net.d'), conflist: { ...base, disablePodV6: true }, fallbackArgv, pluginsDir: from }), (err: Error & { code?: string; hint?: string }) => {
    assert.equal(err.code, 'MISSING_TOOL');
    assert.match(err.message, /needs the tuning plugin/);
    assert.match(err.hint ?? '', /containernetworking-plugins/);
    return true;
  });
  assert.deepEqual(readdirSync(node), []);
});

test('a conflist write that fails takes back the plugins and launcher written before it and the bin dir it created', () => {
  const from = pluginsDir('undo-plugins', ['loopback', 'portmap']);
  const node = join(dir, 'undo');
  // a directory where the conflist goes: its rename fails after the plugins and the launcher were written
  mkdirSync(join(node, 'net.d', '10-aws.conflist'), { recursive: true });
  assert.throws(() => installCni({ binDir: join(node, 'bin'), confDir: join(node, 'net.d'), conflist: base, fallbackArgv, pluginsDir: from }), /cannot write .*10-aws\.conflist/);
  assert.equal(existsSync(join(node, 'bin')), false, 'the bin dir this install created is gone, with everything in it');
  assert.deepEqual(readdirSync(join(node, 'net.d')), ['10-aws.conflist'], 'no temporary file is left either');
});

test('undo puts back a replaced file with its content and mode, and removes the files it added', () => {
  const from = pluginsDir('replace-plugins', ['loopback', 'portmap']);
  const node = join(dir, 'replace');
  mkdirSync(join(node, 'bin'), { recursive: true });
  writeFileSync(join(node, 'bin', 'portmap'), 'the node\'s own portmap\n', { mode: 0o700 });
  const install = installCniUndoable({ binDir: join(node, 'bin'), confDir: join(node, 'net.d'), conflist: base, fallbackArgv, pluginsDir: from });
  assert.equal(readFileSync(join(node, 'bin', 'portmap'), 'utf8'), '#!/bin/sh\necho portmap\n');
  assert.deepEqual(install.undo(), []);
  assert.deepEqual(readdirSync(join(node, 'bin')), ['portmap']);
  assert.equal(readFileSync(join(node, 'bin', 'portmap'), 'utf8'), 'the node\'s own portmap\n');
  assert.equal(statSync(join(node, 'bin', 'portmap')).mode & 0o777, 0o700);
  assert.equal(existsSync(join(node, 'net.d')), false);
});

test('installSettings: an invalid conflist variable stops the install; a malformed tolerated one is a warning only for the command that reads it', () => {
  assert.throws(() => installSettings(loadConfig({ POD_MTU: 'big' }), undefined, ['DISABLE_POD_V6']), (err: Error & { code?: string }) => err.code === 'CONFIG_INVALID' && /^POD_MTU: /.test(err.message));
  const env = { DISABLE_POD_V6: 'yes', DISABLE_TCP_EARLY_DEMUX: 'yes', PODNET_CNI_SOCKET: '/run/x.sock' };
  const install = installSettings(loadConfig(env), undefined, ['DISABLE_POD_V6']);
  assert.equal(install.conflist.ipamdSocket, '/run/x.sock');
  assert.equal(install.conflist.disablePodV6, false);
  assert.deepEqual(install.warnings.map((w) => w.split(':')[0]), ['DISABLE_POD_V6']);
  const init = installSettings(loadConfig(env), '/run/option.sock', ['DISABLE_POD_V6', 'DISABLE_TCP_EARLY_DEMUX']);
  assert.equal(init.conflist.ipamdSocket, '/run/option.sock', '--socket wins over PODNET_CNI_SOCKET');
  assert.deepEqual(init.warnings.map((w) => w.split(':')[0]).sort(), ['DISABLE_POD_V6', 'DISABLE_TCP_EARLY_DEMUX']);
});
