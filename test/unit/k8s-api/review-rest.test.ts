import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from './server-harness.js';

let server: TestServer;
before(async () => {
  server = await startTestServer();
});
after(() => server.dispose());

const merge = { contentType: 'application/merge-patch+json' };

test('a pod being deleted may lose finalizers but not gain one (422, as ValidateObjectMetaUpdate refuses), and goes with its last', async () => {
  const pod = { metadata: { name: 'fin', finalizers: ['example.com/a'] }, spec: { containers: [{ name: 'c', image: 'i' }] } };
  assert.equal((await server.request('POST', '/api/v1/namespaces/default/pods', pod)).status, 201);
  const deleted = await server.request('DELETE', '/api/v1/namespaces/default/pods/fin');
  assert.equal(deleted.status, 200);
  assert.ok(deleted.json.metadata.deletionTimestamp);

  const added = await server.request('PATCH', '/api/v1/namespaces/default/pods/fin', { metadata: { finalizers: ['example.com/a', 'example.com/b'] } }, merge);
  assert.equal(added.status, 422);
  assert.equal(
    added.json.message,
    'Pod "fin" is invalid: metadata.finalizers: Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers []string{"example.com/b"}',
  );
  assert.deepEqual((await server.request('GET', '/api/v1/namespaces/default/pods/fin')).json.metadata.finalizers, ['example.com/a']);

  const labelled = await server.request('PATCH', '/api/v1/namespaces/default/pods/fin', { metadata: { labels: { still: 'writable' } } }, merge);
  assert.equal(labelled.status, 200);
  const emptied = await server.request('PATCH', '/api/v1/namespaces/default/pods/fin', { metadata: { finalizers: null } }, merge);
  assert.equal(emptied.status, 200);
  assert.equal((await server.request('GET', '/api/v1/namespaces/default/pods/fin')).status, 404);
});

test('the database, which holds the CA key and the tokens, is readable by its owner only, also when it existed before', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-k8s-mode-'));
  try {
    const dbPath = join(dir, 'state.db');
    writeFileSync(dbPath, '', { mode: 0o644 });
    chmodSync(dbPath, 0o644);
    const started = await startTestServer({ dbPath }, dir);
    const files = readdirSync(dir).filter((f) => f.startsWith('state.db'));
    assert.ok(files.includes('state.db-wal'), files.join(' '));
    for (const f of files) assert.equal(statSync(join(dir, f)).mode & 0o777, 0o600, f);
    await started.dispose();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
