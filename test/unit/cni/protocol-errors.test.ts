// Issue 10, class 5: protocol errors reach the runtime as CNI error JSON, CNI_* values travel byte-exact, and no value
// can split the launcher's request into another header or field.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CniCall, CniEnv } from '../../../src/cni/index.js';
import { runLauncher, serveWithLauncher } from './launcher-harness.js';
import { MemoryNode } from './memory-backend.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-cni-protocol-'));
const netns = '/var/run/netns/cni-5';
const node = new MemoryNode(['10.0.97.50', '10.0.97.51', '10.0.97.52']);
node.netnses.add(netns);
let served: Awaited<ReturnType<typeof serveWithLauncher>>;
let launcher: string;
let calls: CniCall[];

before(async () => {
  served = await serveWithLauncher(dir, 'protocol', node);
  ({ launcher, calls } = served);
});
after(async () => {
  await served.close();
  rmSync(dir, { recursive: true, force: true });
});

const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'aws-cni', type: 'podnet-cni' });
const env = (command: string, extra: CniEnv = {}): CniEnv => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: 'c5',
  CNI_NETNS: netns,
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web;IgnoreUnknown=1',
  CNI_PATH: '/opt/cni/bin',
  ...extra,
});

/** The CNI error JSON a failed call printed; fails the test when stdout is anything else. */
function cniError(run: { code: number | null; stdout: string; stderr: string }): { code: number; msg: string } {
  assert.equal(run.code, 1, `expected exit 1, got ${run.code}: ${run.stdout}${run.stderr}`);
  const e = JSON.parse(run.stdout) as { code: number; msg: string };
  assert.equal(typeof e.code, 'number', run.stdout);
  assert.equal(typeof e.msg, 'string', run.stdout);
  return e;
}

test('a grammatical 20,000-character container id reaches ipamd byte-exact and ADD/DEL succeed', async () => {
  const id = `c${'0123456789abcdef'.repeat(1250)}`.slice(0, 20_000);
  const before = calls.length;
  const add = await runLauncher(launcher, env('ADD', { CNI_CONTAINERID: id }), conf);
  assert.equal(add.code, 0, add.stdout + add.stderr);
  assert.equal(calls[before]?.env.CNI_CONTAINERID, id);
  const del = await runLauncher(launcher, env('DEL', { CNI_CONTAINERID: id }), conf);
  assert.equal(del.code, 0, del.stdout + del.stderr);
  assert.equal(node.assigned.size, 0);
});

test('CR/LF inside CNI_ARGS cannot inject a header: ipamd sees one ADD and answers code 4 naming CNI_ARGS', async () => {
  const args = 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web\r\nX-CNI-COMMAND: DEL\r\nX-CNI-CONTAINERID: other';
  const before = calls.length;
  const e = cniError(await runLauncher(launcher, env('ADD', { CNI_ARGS: args }), conf));
  assert.equal(e.code, 4);
  assert.match(e.msg, /CNI_ARGS/);
  assert.equal(calls.length, before + 1);
  assert.equal(calls[before]!.env.CNI_COMMAND, 'ADD');
  assert.equal(calls[before]!.env.CNI_CONTAINERID, 'c5');
  assert.equal(calls[before]!.env.CNI_ARGS, args);
  assert.equal(node.assigned.size, 0);
});

test('a non-ASCII CNI_IFNAME arrives byte-exact and is refused with code 4 naming CNI_IFNAME', async () => {
  const before = calls.length;
  const e = cniError(await runLauncher(launcher, env('ADD', { CNI_IFNAME: 'é' }), conf));
  assert.equal(calls[before]!.env.CNI_IFNAME, 'é');
  assert.equal(e.code, 4);
  assert.match(e.msg, /CNI_IFNAME/);
  assert.ok(e.msg.includes('é'), e.msg);
  assert.equal(node.assigned.size, 0);
});

test('a control character in any CNI_* value is refused with code 4 naming that variable', async () => {
  for (const name of ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'] as const) {
    const base = env('ADD');
    const e = cniError(await runLauncher(launcher, { ...base, [name]: `${base[name]}\x01x` }, conf));
    assert.equal(e.code, 4, `${name}: ${e.msg}`);
    assert.match(e.msg, new RegExp(name), e.msg);
  }
  assert.equal(node.assigned.size, 0);
});

test('CNI_ARGS whose pod name or namespace is not a Kubernetes name is refused with code 4', async () => {
  for (const args of ['K8S_POD_NAMESPACE=default;K8S_POD_NAME=../../etc', 'K8S_POD_NAMESPACE=Kube System;K8S_POD_NAME=web', 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=' + 'a'.repeat(254)]) {
    const e = cniError(await runLauncher(launcher, env('ADD', { CNI_ARGS: args }), conf));
    assert.equal(e.code, 4, e.msg);
    assert.match(e.msg, /CNI_ARGS/);
  }
  assert.equal(node.assigned.size, 0);
});

/** Sends raw bytes to ipamd's socket and returns everything it answers. */
function raw(bytes: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect(served.socket);
    let out = '';
    s.on('data', (d) => (out += d));
    s.on('error', reject);
    s.on('close', () => resolve(out));
    s.end(bytes);
  });
}

// (A body whose chunking breaks mid-request is answered 400 by node itself before podnet sees it; the launcher never
// sends chunked bodies, and turns any answer without a body into CNI error JSON.)
test('requests the HTTP parser refuses (huge header, control character, bad framing) are answered with CNI error JSON', async () => {
  const refused = [
    `POST /cni HTTP/1.0\r\nX-Big: ${'x'.repeat(20_000)}\r\nContent-Length: 0\r\n\r\n`,
    'POST /cni HTTP/1.0\r\nX-CNI-COMMAND: A\x01DD\r\nContent-Length: 0\r\n\r\n',
    'POST /cni HTTP/1.0\r\nContent-Length: -4\r\n\r\n',
  ];
  for (const request of refused) {
    const answer = await raw(request);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1]);
    assert.ok(status >= 400 && status < 500, `${JSON.stringify(request.slice(0, 60))} → ${answer.slice(0, 80)}`);
    const body = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: number; msg: string };
    assert.equal(typeof body.code, 'number');
    assert.ok(body.msg.length > 0);
  }
});

test('a body that is not the launcher\'s framing is refused with CNI error JSON, not a crash', async () => {
  for (const body of ['', 'CNI_COMMAND=ADD', 'CNI_BOGUS=1\0\0{}', 'CNI_COMMAND=ADD\0CNI_COMMAND=DEL\0\0{}', '\xff\xfe\0\0{}']) {
    const answer = await raw(`POST /cni HTTP/1.0\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(answer)?.[1]);
    assert.ok(status >= 400 && status < 500, `${JSON.stringify(body)} → ${answer.slice(0, 80)}`);
    const e = JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { code: number; msg: string };
    assert.equal(typeof e.code, 'number');
  }
  assert.equal(node.assigned.size, 0);
});
