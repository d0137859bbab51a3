// Issue 12 item 3: the launcher's wait for ipamd is bounded under both clients it supports. With OpenBSD netcat
// (`nc`) -w is an idle timeout; with Nmap's ncat -w only limits connecting (nmap/nmap#825), so an ipamd that accepts
// and never answers held the pod forever. The launcher runs nc under coreutils' timeout: each client gives up after
// the installed timeout (1 s here), and the fallback plugin answers ADD with 11 and the reason.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { type Server, type Socket, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { type CniEnv, type CniSocketServer, createCniHandler, startCniSocketServer } from '../../../src/cni/index.js';
import { installForTest, type LauncherRun } from './launcher-harness.js';
import { MemoryNode } from './memory-backend.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-launcher-timeout-'));
const stuckSocket = join(dir, 'stuck.sock');
const answeringSocket = join(dir, 'run', 'ipamd.sock');
const node = new MemoryNode(['10.0.97.40']);
node.netnses.add('/var/run/netns/cni-t');
let stuck: Server;
const held: Socket[] = [];
let answering: CniSocketServer;

/** `nc` on PATH is the client under test: a directory holding `nc` as a link to it, put first on PATH. */
const ncat = spawnSync('sh', ['-c', 'command -v ncat'], { encoding: 'utf8' }).stdout.trim();
const openbsd = /OpenBSD netcat/.test(spawnSync('nc', ['-h'], { encoding: 'utf8' }).stderr ?? '');
const clients = [
  { name: 'OpenBSD netcat', path: spawnSync('sh', ['-c', 'command -v nc'], { encoding: 'utf8' }).stdout.trim(), skip: openbsd ? false : 'the nc on PATH is not OpenBSD netcat (apt-get install -y netcat-openbsd)' },
  { name: "Nmap's ncat", path: ncat, skip: ncat ? false : 'ncat is not installed (apt-get install -y ncat)' },
] as const;

function pathWith(client: { name: string; path: string }): string {
  const bin = join(dir, client.name.replace(/\W+/g, '-'));
  mkdirSync(bin, { recursive: true });
  try {
    symlinkSync(client.path, join(bin, 'nc'));
  } catch {
    // made by an earlier test with the same client
  }
  return `${bin}:${process.env.PATH}`;
}

/** The launcher as a runtime runs it, with nc resolved through PATH; killed after 20 s so a hang fails the test. */
function runWithPath(launcher: string, path: string, env: CniEnv, stdin: string): Promise<LauncherRun & { ms: number }> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn('/bin/sh', [launcher], { cwd: '/', env: { PATH: path, ...env } });
    let stdout = '';
    let stderr = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (signal) reject(new Error(`the launcher was killed by ${signal} after 20 s: it did not give up on ipamd`));
      else resolve({ code, stdout, stderr, ms: performance.now() - start });
    });
    child.stdin.end(stdin);
  });
}

before(async () => {
  // accepts, reads the request, never answers and never closes (allowHalfOpen: nc's end of input does not close it)
  stuck = createServer({ allowHalfOpen: true }, (s) => {
    held.push(s);
    s.resume();
  });
  await new Promise<void>((resolve) => stuck.listen(stuckSocket, resolve));
  answering = await startCniSocketServer(answeringSocket, createCniHandler(node), { status: () => node.status() });
});
after(async () => {
  for (const s of held) s.destroy();
  await new Promise((resolve) => stuck.close(resolve));
  await answering.close();
  rmSync(dir, { recursive: true, force: true });
});

const conf = JSON.stringify({ cniVersion: '0.4.0', name: 'aws-cni', type: 'podnet-cni' });
const add = (id: string): CniEnv => ({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: id, CNI_NETNS: '/var/run/netns/cni-t', CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=t', CNI_PATH: '/opt/cni/bin' });

for (const client of clients) {
  test(`with ${client.name} as nc, an ipamd that accepts and never answers is given up after the launcher's timeout, and the fallback answers 11`, { skip: client.skip }, async () => {
    const launcher = installForTest(dir, `stuck-${client.name.replace(/\W+/g, '-')}`, stuckSocket, 1);
    const r = await runWithPath(launcher, pathWith(client), add('c-stuck'), conf);
    assert.equal(r.code, 1, r.stderr);
    const e = JSON.parse(r.stdout) as { code: number; msg: string };
    assert.equal(e.code, 11);
    assert.equal(e.msg, `IPAMD_UNREACHABLE: ipamd accepted the connection on ${stuckSocket} but did not answer within 1 s (it is stuck or overloaded)`);
    assert.ok(r.ms >= 1000, `it waited the timeout (${r.ms.toFixed(0)} ms)`);
  });

  test(`with ${client.name} as nc, the launcher's ADD and DEL reach ipamd and print its answer`, { skip: client.skip }, async () => {
    // a generous timeout: this test is about the answer getting through, and a loaded machine may take over 1 s
    const launcher = installForTest(dir, `answering-${client.name.replace(/\W+/g, '-')}`, answeringSocket, 10);
    const path = pathWith(client);
    const r = await runWithPath(launcher, path, add('c-answer'), conf);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal((JSON.parse(r.stdout) as { ips: { address: string }[] }).ips[0]!.address, '10.0.97.40/32');
    const del = await runWithPath(launcher, path, { ...add('c-answer'), CNI_COMMAND: 'DEL' }, conf);
    assert.deepEqual([del.code, del.stdout, node.assigned.size], [0, '', 0], del.stderr);
  });
}
