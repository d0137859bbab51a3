// podnet-test: serial — the shared-budget test needs a reader that keeps up with 32 MiB of writes; beside another file on two cores it falls behind the watch window and gets the 410 it is built to get
import assert from 'node:assert/strict';
import { once } from 'node:events';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { WatchHub, type Watcher } from '../../../src/k8s-api/watch.js';
import { configMap, startTestServer, type TestServer } from './server-harness.js';

let server: TestServer;
before(async () => {
  server = await startTestServer({ watchBufferBytes: 12 * 1024 * 1024 });
});
after(() => server.dispose());

/** A watch over a raw TLS connection that reads nothing until resumed; `drain` then reads until the server closes. */
async function stalledWatch(target: TestServer, path: string) {
  const url = new URL(target.url);
  const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: target.caPem, servername: 'localhost' });
  await once(socket, 'secureConnect');
  socket.write(`GET ${path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${target.adminToken}\r\n\r\n`);
  socket.pause();
  const closed = once(socket, 'close');
  return {
    async drain(): Promise<string> {
      let received = '';
      socket.setEncoding('utf8');
      socket.on('data', (chunk: string) => (received += chunk));
      socket.on('error', () => undefined);
      socket.resume();
      await closed;
      return received;
    },
  };
}

/** 32 writes of 1 MiB: more than a watch's limits and what the kernel's socket buffers take on loopback together. */
async function writeBig(target: TestServer, prefix: string): Promise<void> {
  const value = 'x'.repeat(1024 * 1024);
  for (let i = 0; i < 32; i++) {
    const reply = await target.request('POST', '/api/v1/namespaces/default/configmaps', configMap(`${prefix}-${i}`, { v: value }));
    assert.equal(reply.status, 201);
  }
}

test('a watch client that stops reading loses its connection once it falls behind, rather than the server keeping its backlog', async () => {
  const stalled = await stalledWatch(server, '/api/v1/namespaces/default/configmaps?watch=1');
  await writeBig(server, 'big');
  // past the 5 s an ended watch's output may wait: the server has cut the connection, so what the client reads now
  // ends without the 410 the server had queued behind the backlog
  await new Promise((r) => setTimeout(r, 6000));
  const received = await stalled.drain();
  assert.ok(received.length < 32 * 1024 * 1024, `received ${received.length} bytes`);
  assert.equal(/"code":410/.test(received), false, 'the queued 410 was still held for the client');
  assert.equal((await server.request('GET', '/api/v1/namespaces/default/configmaps/big-0')).status, 200);
});

test('the open watches share one budget of unsent output: stalled ones are cut off under their share, one that reads gets every event', async () => {
  const shared = await startTestServer({ watchBuffersTotalBytes: 8 * 1024 * 1024 });
  try {
    const path = '/api/v1/namespaces/default/configmaps?watch=1&timeoutSeconds=60';
    const stalled = [await stalledWatch(shared, path), await stalledWatch(shared, path)];
    const reading = shared.watch(path);
    await writeBig(shared, 'shared');
    const events = await reading.waitFor(32, 20_000);
    assert.deepEqual([...new Set(events.map((e) => e.type))], ['ADDED']);
    // each stalled watch held more than its third of 8 MiB long before its own 64 MiB limit: ended, and cut 5 s later
    for (const received of await Promise.all(stalled.map((s) => s.drain()))) assert.ok(received.length < 32 * 1024 * 1024, `received ${received.length} bytes`);
    reading.stop();
  } finally {
    await shared.dispose();
  }
});

test('the watch window keeps at most its byte budget of objects: large writes shorten it, the last write always stays', () => {
  const hub = new WatchHub(100, 0, 1000);
  const object = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } };
  for (let rv = 1; rv <= 5; rv++) hub.publish({ type: 'ADDED', resource: '/configmaps', namespace: 'default', rv, object, bytes: 300 });
  // 1500 bytes over a budget of 1000: the oldest go until the rest fits in nine tenths of it (3 × 300)
  assert.equal(hub.oldestRv(), 2);
  hub.publish({ type: 'ADDED', resource: '/configmaps', namespace: 'default', rv: 6, object, bytes: 5000 });
  assert.equal(hub.oldestRv(), 5);
  const got: number[] = [];
  const watcher: Watcher = { resource: '/configmaps', namespace: undefined, send: (e) => (got.push(e.rv), true), expire: () => undefined };
  assert.equal(hub.watchFrom(watcher, 5), true);
  assert.deepEqual(got, [6]);
  hub.closeAll();
});

test('a watch from a version whose writes left the byte budget is 410 Gone; a newer one still resumes', async () => {
  const small = await startTestServer({ watchHistoryBytes: 64 * 1024 });
  try {
    const first = await small.request('POST', '/api/v1/namespaces/default/configmaps', configMap('first'));
    const from = first.json.metadata.resourceVersion as string;
    for (let i = 0; i < 4; i++) await small.request('POST', '/api/v1/namespaces/default/configmaps', configMap(`big-${i}`, { v: 'x'.repeat(30 * 1024) }));
    const old = small.watch(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${from}`);
    const [event] = await old.waitFor(1);
    assert.equal(event?.type, 'ERROR');
    assert.equal(event?.object.code, 410);
    const list = await small.request('GET', '/api/v1/namespaces/default/configmaps');
    const fresh = small.watch(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${list.json.metadata.resourceVersion as string}&timeoutSeconds=1`);
    await small.request('POST', '/api/v1/namespaces/default/configmaps', configMap('after'));
    assert.deepEqual((await fresh.waitFor(1)).map((e) => `${e.type} ${e.object.metadata.name as string}`), ['ADDED after']);
    old.stop();
    fresh.stop();
  } finally {
    await small.dispose();
  }
});

test('a watch that allows bookmarks gets one 2 s before its timeout, with the current version, even when nothing it watches changed', async () => {
  const list = await server.request('GET', '/api/v1/namespaces/kube-public/configmaps');
  const started = Date.now();
  const w = server.watch(`/api/v1/namespaces/kube-public/configmaps?watch=1&resourceVersion=${list.json.metadata.resourceVersion as string}&allowWatchBookmarks=true&timeoutSeconds=3`);
  await server.request('POST', '/api/v1/namespaces/default/configmaps', configMap('elsewhere'));
  const [mark] = await w.waitFor(1, 2500);
  const at = Date.now() - started;
  assert.equal(mark?.type, 'BOOKMARK');
  assert.ok(at >= 900 && at < 2000, `bookmark after ${at} ms`);
  const current = (await server.request('GET', '/api/v1/namespaces/default/configmaps')).json.metadata.resourceVersion as string;
  assert.equal(mark?.object.metadata.resourceVersion, current);
  await w.ended;
  assert.equal(w.events.length, 1);
});

test('a watch from a version ahead of the store gets only the writes after that version', async () => {
  const current = Number((await server.request('GET', '/api/v1/namespaces/default/configmaps')).json.metadata.resourceVersion);
  const w = server.watch(`/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${current + 2}&timeoutSeconds=2`);
  for (const name of ['ahead-1', 'ahead-2', 'ahead-3']) await server.request('POST', '/api/v1/namespaces/default/configmaps', configMap(name));
  const events = await w.waitFor(1);
  assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name as string} ${e.object.metadata.resourceVersion as string}`), [`ADDED ahead-3 ${current + 3}`]);
  w.stop();
});
