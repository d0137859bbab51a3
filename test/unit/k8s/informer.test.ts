/**
 * watchObjects against a real API server in this process: list then watch, a watch the server ends, an API server
 * that is not there yet, one that restarts after changes it made while the informer could not see them (410 → relist
 * → the missed changes as events), and stop().
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { watchObjects, type ObjectWatch } from '../../../src/k8s/index.js';
import { eventually, sleep, startApiServer, type TestApiServer } from './harness.js';

let server: TestApiServer;
before(async () => {
  server = await startApiServer({ watchHistory: 5 });
});
after(() => server.close());

const cm = (name: string, data: Record<string, string> = {}, labels?: Record<string, string>): V1ConfigMap => ({ metadata: { name, ...(labels ? { labels } : {}) }, data });

function record(path: string, extra: { labelSelector?: string; watchTimeoutSeconds?: number } = {}) {
  const events: string[] = [];
  const connection: string[] = [];
  let syncs = 0;
  const w: ObjectWatch<V1ConfigMap> = watchObjects<V1ConfigMap>(server.kc, {
    path,
    ...extra,
    maxBackoffMs: 300,
    onEvent: (type, o) => events.push(`${type} ${o.metadata?.name}${o.data?.v ? `=${o.data.v}` : ''}`),
    onSynced: () => syncs++,
    onConnection: (up, reason) => connection.push(`${up ? 'up' : 'down'}: ${reason}`),
  });
  return { w, events, connection, syncs: () => syncs };
}

test('lists, then watches from the list: changes come as ADDED/MODIFIED/DELETED in order; the label selector is applied', async () => {
  const core = server.kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'one' } } });
  await core.createNamespacedConfigMap({ namespace: 'one', body: cm('first', { v: '1' }, { app: 'x' }) });
  await core.createNamespacedConfigMap({ namespace: 'one', body: cm('other', {}, { app: 'y' }) });
  const r = record('/api/v1/namespaces/one/configmaps', { labelSelector: 'app=x' });
  try {
    await r.w.synced;
    assert.deepEqual(r.events, ['ADDED first=1']);
    assert.equal(r.syncs(), 1);
    await core.patchNamespacedConfigMap({ namespace: 'one', name: 'first', body: [{ op: 'replace', path: '/data/v', value: '2' }] });
    await core.createNamespacedConfigMap({ namespace: 'one', body: cm('second', {}, { app: 'x' }) });
    await core.createNamespacedConfigMap({ namespace: 'one', body: cm('unseen', {}, { app: 'y' }) });
    await core.deleteNamespacedConfigMap({ namespace: 'one', name: 'first' });
    await eventually('the watch to deliver', () => r.events.length === 4);
    assert.deepEqual(r.events, ['ADDED first=1', 'MODIFIED first=2', 'ADDED second', 'DELETED first=2']);
    assert.deepEqual(r.w.list().map((o) => o.metadata?.name), ['second']);
    assert.match(r.connection[0]!, /^up: /);
  } finally {
    await r.w.stop();
  }
});

test('a watch the server ends (timeoutSeconds) is opened again from where it was, without a relist', { timeout: 20_000 }, async () => {
  const core = server.kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'two' } } });
  const r = record('/api/v1/namespaces/two/configmaps', { watchTimeoutSeconds: 1 });
  try {
    await r.w.synced;
    await sleep(2_300);
    await core.createNamespacedConfigMap({ namespace: 'two', body: cm('late') });
    await eventually('the event after two watch ends', () => r.events.includes('ADDED late'));
    assert.equal(r.syncs(), 1, 'listed once');
    assert.ok(r.connection.every((c) => c.startsWith('up: ')), r.connection.join('\n'));
  } finally {
    await r.w.stop();
  }
});

test('an API server that is not there: reported down with the reason, retried, synced once it comes; a restart with changes made meanwhile → 410 → relist → the missed changes as events', { timeout: 60_000 }, async () => {
  const core = server.kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: 'three' } } });
  await core.createNamespacedConfigMap({ namespace: 'three', body: cm('kept', { v: '1' }) });
  await core.createNamespacedConfigMap({ namespace: 'three', body: cm('doomed') });
  await server.stop();
  const r = record('/api/v1/namespaces/three/configmaps');
  try {
    await eventually('a down report', () => r.connection.length > 0);
    assert.match(r.connection[0]!, /^down: .*ECONNREFUSED/);
    await sleep(500);
    await server.start();
    await r.w.synced;
    assert.deepEqual(r.events.sort(), ['ADDED doomed', 'ADDED kept=1']);
    assert.match(r.connection.at(-1)!, /^up: listed 2 object/);

    // changes made while the informer cannot reach the server, by the same database served on another port
    await server.stop();
    await eventually('the drop to be seen', () => r.connection.at(-1)!.startsWith('down: '));
    await server.elsewhere(async (kc) => {
      const other = kc.makeApiClient(CoreV1Api);
      await other.patchNamespacedConfigMap({ namespace: 'three', name: 'kept', body: [{ op: 'replace', path: '/data/v', value: '2' }] });
      await other.deleteNamespacedConfigMap({ namespace: 'three', name: 'doomed' });
      await other.createNamespacedConfigMap({ namespace: 'three', body: cm('born') });
    });
    r.events.length = 0;
    await server.start();
    await eventually('the relist after 410', () => r.syncs() === 2, 20_000);
    // deletions first, then the list's order (by name)
    assert.deepEqual(r.events, ['DELETED doomed', 'ADDED born', 'MODIFIED kept=2']);
    assert.deepEqual(r.w.list().map((o) => o.metadata?.name).sort(), ['born', 'kept']);
    // and it watches again: a change after the restart arrives as an event
    await core.deleteNamespacedConfigMap({ namespace: 'three', name: 'born' });
    await eventually('the watch after the relist', () => r.events.includes('DELETED born'));
  } finally {
    await r.w.stop();
  }
});

test('stop() ends a watch that is retrying, and no callback comes after it', async () => {
  await server.stop();
  const r = record('/api/v1/configmaps');
  try {
    await eventually('a down report', () => r.connection.length > 0);
    await r.w.stop();
    await r.w.synced; // resolved by stop, though nothing was listed
    const seen = r.connection.length;
    await server.start();
    await sleep(800);
    assert.equal(r.connection.length, seen);
    assert.deepEqual(r.events, []);
  } finally {
    await server.start().catch(() => undefined);
  }
});

test('a server that ends every watch as soon as it opens is not hammered: the backoff grows', async () => {
  const { createServer } = await import('node:http');
  const { KubeConfig } = await import('@kubernetes/client-node');
  let watches = 0;
  const odd = createServer((req, res) => {
    const watching = new URL(req.url!, 'http://x').searchParams.get('watch') === 'true';
    if (watching) watches++;
    res.writeHead(200, { 'content-type': 'application/json' }).end(watching ? '' : JSON.stringify({ items: [], metadata: { resourceVersion: '1' } }));
  });
  await new Promise<void>((r) => odd.listen(0, '127.0.0.1', r));
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'odd', server: `http://127.0.0.1:${(odd.address() as { port: number }).port}`, skipTLSVerify: true }],
    users: [{ name: 'u' }],
    contexts: [{ name: 'odd', cluster: 'odd', user: 'u' }],
    currentContext: 'odd',
  });
  const w = watchObjects(kc, { path: '/api/v1/configmaps', maxBackoffMs: 5_000, onEvent: () => undefined });
  try {
    await w.synced;
    await sleep(2_000);
    // 200 + 400 + 800 ms of backoff fit in 2 s: a handful of watches, not thousands
    assert.ok(watches >= 2 && watches <= 6, `${watches} watches in 2 s`);
  } finally {
    await w.stop();
    await new Promise((r) => odd.close(r));
  }
});
