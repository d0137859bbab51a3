import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { configMap, startTestServer, type TestServer } from './server-harness.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({ watchHistory: 20, bookmarkIntervalMs: 100 });
  await s.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'w' } });
});
after(() => s.dispose());

const path = '/api/v1/namespaces/w/configmaps';

test('a watch without a version starts with the current objects as ADDED, then sends each write in order', async () => {
  await s.request('POST', path, configMap('before'));
  const w = s.watch(`${path}?watch=true`);
  await w.waitFor(1);
  const created = await s.request('POST', path, configMap('live', { a: '1' }));
  await s.request('PATCH', `${path}/live`, { data: { a: '2' } }, { contentType: 'application/merge-patch+json' });
  await s.request('DELETE', `${path}/live`);
  const events = await w.waitFor(4);
  w.stop();
  assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED before', 'ADDED live', 'MODIFIED live', 'DELETED live']);
  const versions = events.slice(1).map((e) => Number(e.object.metadata.resourceVersion));
  assert.equal(versions[0], Number(created.json.metadata.resourceVersion));
  assert.ok(versions[0]! < versions[1]! && versions[1]! < versions[2]!);
  assert.equal(events[1]!.object.kind, 'ConfigMap');
});

test('a watch from a version gets exactly the writes after it; one from an expired version gets an ERROR event with 410', async () => {
  const list = await s.request('GET', path);
  const rv = list.json.metadata.resourceVersion;
  await s.request('POST', path, configMap('after-1'));
  await s.request('POST', path, configMap('after-2'));
  const w = s.watch(`${path}?watch=1&resourceVersion=${rv}`);
  const events = await w.waitFor(2);
  w.stop();
  assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['ADDED after-1', 'ADDED after-2']);
  // more writes than the window keeps (20) push rv out of it
  for (let i = 0; i < 25; i++) await s.request('POST', '/api/v1/namespaces/default/configmaps', configMap(`fill-${i}`));
  const expired = s.watch(`${path}?watch=1&resourceVersion=${rv}`);
  assert.equal(await expired.status, 200);
  await expired.ended;
  assert.equal(expired.events.length, 1);
  assert.equal(expired.events[0]!.type, 'ERROR');
  assert.equal(expired.events[0]!.object.code, 410);
  assert.equal(expired.events[0]!.object.reason, 'Expired');
  assert.match(expired.events[0]!.object.message, new RegExp(`^too old resource version: ${rv} \\(\\d+\\)$`));
  const badRv = await s.request('GET', `${path}?watch=1&resourceVersion=abc`);
  assert.equal(badRv.status, 400);
});

test('bookmarks come when allowed, carrying the current version; timeoutSeconds ends the watch', async () => {
  const current = Number((await s.request('GET', path)).json.metadata.resourceVersion);
  const w = s.watch(`${path}?watch=1&resourceVersion=${current}&allowWatchBookmarks=true&timeoutSeconds=1`);
  const [mark] = await w.waitFor(1);
  assert.equal(mark!.type, 'BOOKMARK');
  assert.equal(mark!.object.kind, 'ConfigMap');
  assert.ok(Number(mark!.object.metadata.resourceVersion) >= current);
  const started = Date.now();
  await w.ended;
  assert.ok(Date.now() - started < 2000);
});

test('a watch with a label selector sees an object leave it as DELETED and enter it as ADDED; a field selector on one name', async () => {
  await s.request('POST', path, configMap('sel', {}, { keep: 'yes' }));
  const rv = (await s.request('GET', path)).json.metadata.resourceVersion;
  const w = s.watch(`${path}?watch=1&resourceVersion=${rv}&labelSelector=keep%3Dyes`);
  const named = s.watch(`${path}?watch=1&resourceVersion=${rv}&fieldSelector=metadata.name%3Dsel`);
  await s.request('POST', path, configMap('other', {}, { keep: 'no' }));
  await s.request('PATCH', `${path}/sel`, { metadata: { labels: { keep: 'no' } } }, { contentType: 'application/merge-patch+json' });
  await s.request('PATCH', `${path}/sel`, { metadata: { labels: { keep: 'yes' } } }, { contentType: 'application/merge-patch+json' });
  const events = await w.waitFor(2);
  assert.deepEqual(events.map((e) => `${e.type} ${e.object.metadata.name}`), ['DELETED sel', 'ADDED sel']);
  assert.deepEqual((await named.waitFor(2)).map((e) => e.type), ['MODIFIED', 'MODIFIED']);
  w.stop();
  named.stop();
});

test('a watch across all namespaces gets the writes of every namespace', async () => {
  const rv = (await s.request('GET', path)).json.metadata.resourceVersion;
  const all = s.watch(`/api/v1/configmaps?watch=1&resourceVersion=${rv}`);
  await s.request('POST', '/api/v1/namespaces/default/configmaps', configMap('elsewhere'));
  const [e] = await all.waitFor(1);
  assert.equal(e!.object.metadata.namespace, 'default');
  all.stop();
});
