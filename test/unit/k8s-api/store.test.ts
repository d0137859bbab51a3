import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { ObjectStore, resourceKey, type StoreEvent } from '../../../src/k8s-api/store.js';
import { matchesLabels, parseLabelSelector } from '../../../src/k8s-api/selectors.js';
import { WatchHub, type Watcher } from '../../../src/k8s-api/watch.js';

const cm = (name: string, namespace = 'default') => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace } });

test('every write advances one global resourceVersion, which survives reopening the database', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-store-'));
  try {
    const store = new ObjectStore(new Database(join(dir, 'db')));
    const events: StoreEvent[] = [];
    store.onWrite = (e) => events.push(e);
    const a = store.put(resourceKey('', 'configmaps'), cm('a'), 'ADDED');
    const b = store.put(resourceKey('apps', 'daemonsets'), { ...cm('b'), apiVersion: 'apps/v1', kind: 'DaemonSet' }, 'ADDED');
    const gone = store.remove(resourceKey('', 'configmaps'), a);
    assert.deepEqual([a, b, gone].map((o) => Number(o.metadata.resourceVersion)), [2, 3, 4]);
    assert.deepEqual(events.map((e) => `${e.type} ${e.resource} ${e.rv}`), ['ADDED /configmaps 2', 'ADDED apps/daemonsets 3', 'DELETED /configmaps 4']);
    store.db.close();
    const reopened = new ObjectStore(new Database(join(dir, 'db')));
    assert.equal(reopened.currentRv(), 4);
    assert.equal(reopened.get({ resource: 'apps/daemonsets', namespace: 'default', name: 'b' })?.metadata.resourceVersion, '3');
    reopened.db.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the watch window: a watch from a version still in it gets what followed; older is refused; a backed-up watcher expires', () => {
  const hub = new WatchHub(4, 10);
  const got: number[] = [];
  const watcher = (limit = Infinity): Watcher & { expired: string[] } => {
    const expired: string[] = [];
    return { resource: '/configmaps', namespace: undefined, send: (e) => (got.push(e.rv), got.length < limit), expire: (r) => void expired.push(r), expired };
  };
  for (let rv = 11; rv <= 16; rv++) hub.publish({ type: 'ADDED', resource: '/configmaps', namespace: 'default', rv, object: cm(`c${rv}`) });
  assert.equal(hub.oldestRv(), 12);
  assert.equal(hub.watchFrom(watcher(), 11), false);
  assert.equal(hub.watchFrom(watcher(), 13), true);
  assert.deepEqual(got, [14, 15, 16]);
  const slow = watcher(4);
  hub.watchLive(slow);
  hub.publish({ type: 'ADDED', resource: '/configmaps', namespace: 'default', rv: 17, object: cm('c17') });
  assert.deepEqual(slow.expired, ['gone']);
  hub.closeAll();
  assert.equal(hub.size, 0);
});

test('label selectors parse as Kubernetes writes them, and a bad one is a 400', () => {
  const labels = { app: 'web', tier: 'front' };
  assert.equal(matchesLabels(parseLabelSelector('app=web,tier in (front, back)'), labels), true);
  assert.equal(matchesLabels(parseLabelSelector('app==web,!legacy'), labels), true);
  assert.equal(matchesLabels(parseLabelSelector('app notin (web)'), labels), false);
  assert.equal(matchesLabels(parseLabelSelector('example.com/role'), labels), false);
  assert.equal(matchesLabels(parseLabelSelector(''), undefined), true);
  assert.equal(matchesLabels(parseLabelSelector('app='), { app: '' }), true);
  for (const bad of ['app in x', '=web', 'a b', 'app=we b']) {
    assert.throws(() => parseLabelSelector(bad), (err: any) => err.status?.code === 400, bad);
  }
});
