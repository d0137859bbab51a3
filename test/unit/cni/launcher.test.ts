import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type CniEnv, type CniSocketServer, createCniHandler, defaultIpamdSocket, renderConflist, startCniSocketServer } from '../../../src/cni/index.js';
import { installForTest as install, repoLauncher, runLauncher } from './launcher-harness.js';
import { MemoryNode } from './memory-backend.js';

const dir = mkdtempSync(join(tmpdir(), "podnet cni 'launcher-"));
const socket = join(dir, 'run', 'ipamd.sock');
const netns = '/var/run/netns/cni-7';
const node = new MemoryNode(['10.0.97.30', '10.0.97.31']);
node.netnses.add(netns);
let server: CniSocketServer;
/** The launcher as `podnet cni install` writes it for this node's socket. */
let launcher: string;

before(async () => {
  server = await startCniSocketServer(socket, createCniHandler(node), { status: () => node.status() });
  launcher = install(dir, 'node', socket);
});
after(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const conf = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '0.4.0', name: 'aws-cni', type: 'podnet-cni', ipamdSocket: socket, ...extra });
const cniEnv = (command: string, extra: CniEnv = {}): CniEnv => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: 'c7',
  CNI_NETNS: netns,
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx;IgnoreUnknown=1',
  CNI_PATH: '/opt/cni/bin',
  ...extra,
});

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ socketPath: socket, path, method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

test('the socket is created with mode 0660 and answers GET /ready', async () => {
  assert.equal(statSync(socket).mode & 0o777, 0o660);
  assert.deepEqual(await get('/ready'), { status: 200, body: 'ready\n' });
  node.notReady = 'reading the checkpoint';
  assert.deepEqual(await get('/ready'), { status: 503, body: 'not ready: reading the checkpoint\n' });
  node.notReady = null;
});

test('launcher ADD through the socket prints the result and exits 0; DEL twice (the second without netns) exits 0', async () => {
  const add = await runLauncher(launcher, cniEnv('ADD'), conf());
  assert.equal(add.code, 0, add.stderr);
  const result = JSON.parse(add.stdout) as { ips: { address: string }[]; interfaces: { name: string }[] };
  assert.equal(result.ips[0]!.address, '10.0.97.30/32');
  assert.equal(result.interfaces[0]!.name, 'enic440f455693');
  const del1 = await runLauncher(launcher, cniEnv('DEL'), conf({ prevResult: result }));
  assert.deepEqual([del1.code, del1.stdout], [0, '']);
  const del2 = await runLauncher(launcher, cniEnv('DEL', { CNI_NETNS: '' }), conf());
  assert.deepEqual([del2.code, del2.stdout], [0, '']);
  assert.equal(node.assigned.size, 0);
});

test('launcher passes CNI errors through with exit 1: unsupported version (1), missing variable (4), bad JSON (6)', async () => {
  const version = await runLauncher(launcher, cniEnv('ADD'), conf({ cniVersion: '0.2.0' }));
  assert.equal(version.code, 1);
  assert.equal((JSON.parse(version.stdout) as { code: number }).code, 1);
  const missing = await runLauncher(launcher, cniEnv('ADD', { CNI_NETNS: '' }), conf());
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /"code":4,.*CNI_NETNS/);
  // the launcher does not parse JSON, so broken JSON still reaches ipamd, which answers 6
  const broken = '{"cniVersion": ';
  const bad = await runLauncher(launcher, cniEnv('ADD'), broken);
  assert.equal(bad.code, 1);
  assert.equal((JSON.parse(bad.stdout) as { code: number }).code, 6);
});

test('a network config with multi-byte characters reaches ipamd whole under dash and under bash in a UTF-8 locale', async () => {
  // Content-Length must count bytes: a count of characters would cut the body short and the JSON would not parse
  const config = conf({ description: 'naïve café — ✓ 日本' });
  const add = await runLauncher(launcher, cniEnv('ADD', { CNI_CONTAINERID: 'c-utf8', LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' } as CniEnv), config, 'bash');
  assert.equal(add.code, 0, add.stdout + add.stderr);
  const del = await runLauncher(launcher, cniEnv('DEL', { CNI_CONTAINERID: 'c-utf8' }), config, 'dash');
  assert.deepEqual([del.code, node.assigned.size], [0, 0], del.stdout + del.stderr);
});

test('launcher VERSION is answered by ipamd', async () => {
  const v = await runLauncher(launcher, { CNI_COMMAND: 'VERSION' }, conf());
  assert.equal(v.code, 0);
  assert.deepEqual(JSON.parse(v.stdout), { cniVersion: '0.4.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
});

test('a second server on a live socket is refused; a stale socket file is replaced', async () => {
  await assert.rejects(startCniSocketServer(socket, createCniHandler(node)), /another process is listening/);
  const stale = join(dir, 'stale.sock');
  await killedListener(stale);
  const s = await startCniSocketServer(stale, createCniHandler(node));
  assert.equal(statSync(stale).mode & 0o777, 0o660);
  await s.close();
  assert.equal(existsSync(stale), false);
});

/** Leaves a socket file nobody listens on: a listener process killed with SIGKILL (as when ipamd crashes). */
async function killedListener(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('close', resolve));
}

/** A launcher installed into dir/name for ipamdSocket (default: this file's socket). */
function installForTest(name: string, ipamdSocket = socket): string {
  return install(dir, name, ipamdSocket);
}

test('the launcher before install calls upstream\'s socket path', { skip: existsSync(defaultIpamdSocket) && `${defaultIpamdSocket} exists on this machine` }, async () => {
  // no fallback is baked in, so the plugin next to the launcher runs: in the repository that is bin/podnet-cni-plugin.js
  const add = await runLauncher(repoLauncher, cniEnv('ADD'), conf());
  assert.equal(add.code, 1, add.stderr);
  assert.match((JSON.parse(add.stdout) as { msg: string }).msg, new RegExp(`ipamd's socket ${defaultIpamdSocket} does not exist`));
  assert.equal(node.assigned.size, 0);
});

test('podnet cni install writes an executable launcher with the fallback argv and ipamd\'s socket baked in, and upstream\'s conflist', () => {
  const installed = installForTest('install');
  assert.equal(statSync(installed).mode & 0o777, 0o755);
  const text = readFileSync(installed, 'utf8');
  assert.match(text, /^#!\/bin\/sh\n/);
  assert.match(text, /^fallback_plugin='.*fallback-entry\.mjs.*'$/m);
  assert.ok(text.includes(`\nipamd_socket='${socket.replace(/'/g, `'\\''`)}'\n`), 'the socket is shell-quoted');
  const conflist = JSON.parse(readFileSync(join(dir, 'install', 'net.d', '10-aws.conflist'), 'utf8')) as Record<string, unknown>;
  assert.deepEqual(conflist, renderConflist({ vethPrefix: 'eni', mtu: 9001, podSGEnforcingMode: 'strict', pluginLogFile: '/var/log/aws-routed-eni/plugin.log', pluginLogLevel: 'DEBUG', bandwidth: false, ipamdSocket: socket }));
  assert.equal(conflist.cniVersion, '0.4.0');
  assert.equal(conflist.disableCheck, true);
});

test('without ipamd the installed launcher falls back: ADD answers 11 with the reason, DEL with nothing to tear down succeeds, VERSION works', async () => {
  const missing = join(dir, 'no-such', 'ipamd.sock');
  const installed = installForTest('fallback', missing);
  const add = await runLauncher(installed, cniEnv('ADD'), conf());
  assert.equal(add.code, 1, add.stderr);
  const e = JSON.parse(add.stdout) as { code: number; msg: string };
  assert.equal(e.code, 11);
  assert.equal(e.msg, `IPAMD_UNREACHABLE: ipamd's socket ${missing} does not exist (ipamd is not running on this node, or the conflist names another socket)`);
  const del = await runLauncher(installed, cniEnv('DEL', { CNI_NETNS: '', CNI_CONTAINERID: 'gone' }), conf());
  assert.deepEqual([del.code, del.stdout], [0, ''], del.stderr);
  const version = await runLauncher(installed, { CNI_COMMAND: 'VERSION' }, conf());
  assert.equal(version.code, 0);
  assert.deepEqual((JSON.parse(version.stdout) as { supportedVersions: string[] }).supportedVersions, ['0.3.1', '0.4.0', '1.0.0', '1.1.0']);
});

test('a socket nobody listens on (ipamd crashed) makes the launcher fall back with nc\'s refusal as the reason', async () => {
  const dead = join(dir, 'dead.sock');
  await killedListener(dead);
  const installed = installForTest('refused', dead);
  const add = await runLauncher(installed, cniEnv('ADD'), conf());
  assert.equal(add.code, 1);
  const e = JSON.parse(add.stdout) as { code: number; msg: string };
  assert.equal(e.code, 11);
  assert.match(e.msg, /nothing accepts connections on ipamd's socket/);
});
