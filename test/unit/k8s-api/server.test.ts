import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { startKubeApiServer } from '../../../src/k8s-api/index.js';
import { configMap, startTestServer, type TestServer } from './server-harness.js';

let s: TestServer;
before(async () => {
  s = await startTestServer({ kubeconfigPath: undefined, maxWatches: 3, maxBodyBytes: 64 * 1024 });
});
after(() => s.dispose());

function assertStatus(reply: { status: number; json: any }, code: number, reason: string): void {
  assert.equal(reply.status, code, JSON.stringify(reply.json));
  assert.equal(reply.json?.kind, 'Status');
  assert.equal(reply.json?.code, code);
  assert.equal(reply.json?.reason, reason);
}

test('answers over HTTPS with a certificate its CA signed; a client without the CA is refused the handshake', async () => {
  const ok = await s.request('GET', '/version');
  assert.equal(ok.status, 200);
  assert.match(ok.json.gitVersion, /^v1\./);
  const untrusted = await new Promise<string>((resolve) => {
    const url = new URL(s.url);
    https.get({ host: url.hostname, port: url.port, path: '/version' }, () => resolve('connected')).on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
  assert.match(untrusted, /SELF_SIGNED|UNABLE_TO_VERIFY|CERT/);
});

test('without a bearer token, or with an unknown one, every API path is 401 Unauthorized as a Status', async () => {
  assertStatus(await s.request('GET', '/api/v1/namespaces', undefined, { token: null }), 401, 'Unauthorized');
  assertStatus(await s.request('GET', '/apis', undefined, { token: 'not-a-token' }), 401, 'Unauthorized');
});

test('a new server has the default namespaces, their default service accounts and the bootstrap cluster roles', async () => {
  const ns = await s.request('GET', '/api/v1/namespaces');
  assert.deepEqual(ns.json.items.map((n: any) => n.metadata.name).sort(), ['default', 'kube-node-lease', 'kube-public', 'kube-system']);
  assert.ok(ns.json.items.every((n: any) => n.status.phase === 'Active'));
  const roles = await s.request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles');
  const names = roles.json.items.map((r: any) => r.metadata.name);
  for (const role of ['cluster-admin', 'admin', 'edit', 'view', 'system:discovery']) assert.ok(names.includes(role), role);
  const sa = await s.request('GET', '/api/v1/namespaces/kube-system/serviceaccounts/default');
  assert.equal(sa.status, 200);
});

test('discovery lists the served resources; an unknown resource or path is 404 NotFound', async () => {
  const v1 = await s.request('GET', '/api/v1');
  const pods = v1.json.resources.find((r: any) => r.name === 'pods');
  assert.equal(pods.kind, 'Pod');
  assert.ok(pods.verbs.includes('watch'));
  assertStatus(await s.request('GET', '/api/v1/widgets'), 404, 'NotFound');
  assertStatus(await s.request('GET', '/apis/nope.example.com/v1/things'), 404, 'NotFound');
  assertStatus(await s.request('GET', '/nothing/here'), 404, 'NotFound');
});

test('a service account can do what its bindings grant and nothing else (403 with Kubernetes\' message)', async () => {
  assert.equal((await s.request('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'reader' } })).status, 201);
  const issued = await s.request('POST', '/api/v1/namespaces/default/serviceaccounts/reader/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} });
  assert.equal(issued.status, 201, issued.text);
  const token = issued.json.status.token as string;
  const denied = await s.request('GET', '/api/v1/namespaces/default/configmaps', undefined, { token });
  assertStatus(denied, 403, 'Forbidden');
  assert.equal(denied.json.message, 'configmaps is forbidden: User "system:serviceaccount:default:reader" cannot list resource "configmaps" in API group "" in the namespace "default"');
  const binding = {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'reader-view' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'view' },
    subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: 'default' }],
  };
  assert.equal((await s.request('POST', '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings', binding)).status, 201);
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/configmaps', undefined, { token })).status, 200);
  assertStatus(await s.request('POST', '/api/v1/namespaces/default/configmaps', configMap('nope'), { token }), 403, 'Forbidden');
  assertStatus(await s.request('GET', '/api/v1/namespaces/kube-system/configmaps', undefined, { token }), 403, 'Forbidden');
  // the account deleted, its token stops working
  assert.equal((await s.request('DELETE', '/api/v1/namespaces/default/serviceaccounts/reader')).status, 200);
  assertStatus(await s.request('GET', '/api/v1/namespaces/default/configmaps', undefined, { token }), 401, 'Unauthorized');
});

test('a token Secret of a service account gets its token, ca.crt and namespace, and the token authenticates', async () => {
  await s.request('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'bot' } });
  const secret = await s.request('POST', '/api/v1/namespaces/default/secrets', {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'kubernetes.io/service-account-token',
    metadata: { name: 'bot-token', annotations: { 'kubernetes.io/service-account.name': 'bot' } },
  });
  assert.equal(secret.status, 201, secret.text);
  assert.equal(Buffer.from(secret.json.data['ca.crt'], 'base64').toString(), s.caPem);
  const token = Buffer.from(secret.json.data.token, 'base64').toString();
  // authenticated, but allowed nothing yet
  assertStatus(await s.request('GET', '/api/v1/namespaces/default/pods', undefined, { token }), 403, 'Forbidden');
  await s.request('DELETE', '/api/v1/namespaces/default/secrets/bot-token');
  assertStatus(await s.request('GET', '/api/v1/namespaces/default/pods', undefined, { token }), 401, 'Unauthorized');
});

test('bad input is answered with a Status: body over the limit 413, nesting too deep 400, bad JSON 400, wrong media type 415', async () => {
  const big = configMap('big', { x: 'y'.repeat(70 * 1024) });
  assertStatus(await s.request('POST', '/api/v1/namespaces/default/configmaps', big), 413, 'RequestEntityTooLarge');
  const deep = '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"x":' + '['.repeat(5000) + ']'.repeat(5000) + '}';
  assertStatus(await s.request('POST', '/api/v1/namespaces/default/configmaps', undefined, { raw: deep }), 400, 'BadRequest');
  assertStatus(await s.request('POST', '/api/v1/namespaces/default/configmaps', undefined, { raw: '{"kind":' }), 400, 'BadRequest');
  assertStatus(await s.request('POST', '/api/v1/namespaces/default/configmaps', undefined, { raw: 'x', contentType: 'text/plain' }), 415, 'UnsupportedMediaType');
  assertStatus(await s.request('PUT', '/api/v1/namespaces/default/configmaps'), 405, 'MethodNotAllowed');
  // and the server still answers
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/configmaps')).status, 200);
});

test('watches beyond the limit are refused 429 with Retry-After; close() ends the open ones', async () => {
  const watches = [0, 1, 2].map(() => s.watch('/api/v1/configmaps?watch=true'));
  for (const w of watches) assert.equal(await w.status, 200);
  const refused = await s.request('GET', '/api/v1/configmaps?watch=true');
  assertStatus(refused, 429, 'TooManyRequests');
  assert.equal(refused.headers['retry-after'], '1');
  watches[0]!.stop();
  await new Promise((r) => setTimeout(r, 100));
  const another = s.watch('/api/v1/configmaps?watch=1');
  assert.equal(await another.status, 200);
  const other = await startTestServer();
  const open = other.watch('/api/v1/namespaces?watch=1');
  assert.equal(await open.status, 200);
  await other.dispose();
  await open.ended; // close() did not wait for the watch's timeout
  for (const w of [...watches, another]) w.stop();
});

test('a restart with the same database keeps the CA, the admin token, the objects and the resourceVersion', async () => {
  const first = await startTestServer({ kubeconfigPath: undefined });
  const kubeconfig = join(first.dir, 'kubeconfig');
  const created = await first.request('POST', '/api/v1/namespaces/default/configmaps', configMap('kept', { a: '1' }));
  const rv = Number(created.json.metadata.resourceVersion);
  const { caPem, adminToken } = first;
  const url = new URL(first.url);
  await first.close();
  const again = await startKubeApiServer({ listen: `127.0.0.1:${url.port}`, dbPath: first.dbPath, kubeconfigPath: kubeconfig, log: () => undefined });
  try {
    assert.equal(again.caPem, caPem);
    assert.equal(again.adminToken, adminToken);
    const config = parseYaml(readFileSync(kubeconfig, 'utf8'));
    assert.equal(config.clusters[0].cluster.server, again.url);
    assert.equal(Buffer.from(config.clusters[0].cluster['certificate-authority-data'], 'base64').toString(), caPem);
    assert.equal(config.users[0].user.token, adminToken);
    const reply = await new Promise<any>((resolve, reject) => {
      https.get({ host: url.hostname, port: url.port, path: '/api/v1/namespaces/default/configmaps/kept', ca: caPem, headers: { authorization: `Bearer ${adminToken}` } }, (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve(JSON.parse(text)));
      }).on('error', reject);
    });
    assert.deepEqual(reply.data, { a: '1' });
    assert.equal(Number(reply.metadata.resourceVersion), rv);
    await again.close();
    // on another address the certificate is made again for it, by the same CA
    const moved = await startKubeApiServer({ listen: '127.0.0.2:0', dbPath: first.dbPath, log: () => undefined });
    try {
      assert.equal(moved.caPem, caPem);
      const status = await new Promise<number>((resolve, reject) => {
        const at = new URL(moved.url);
        https.get({ host: at.hostname, port: at.port, path: '/version', ca: caPem, headers: { authorization: `Bearer ${adminToken}` } }, (res) => resolve(res.statusCode ?? 0)).on('error', reject);
      });
      assert.equal(status, 200);
    } finally {
      await moved.close();
    }
  } finally {
    await again.close();
    await first.dispose();
  }
});

test('a self-subject access review answers what the caller may do, and stores nothing', async () => {
  const review = (verb: string, resource: string) => ({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { namespace: 'default', verb, resource } } });
  const admin = await s.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', review('delete', 'pods'));
  assert.equal(admin.status, 201, admin.text);
  assert.equal(admin.json.status.allowed, true);
  await s.request('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'asker' } });
  const token = (await s.request('POST', '/api/v1/namespaces/default/serviceaccounts/asker/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} })).json.status.token;
  const asker = await s.request('POST', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews', review('delete', 'pods'), { token });
  assert.equal(asker.status, 201, asker.text);
  assert.equal(asker.json.status.allowed, false);
  assert.equal((await s.request('GET', '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews')).status, 405);
});

test('work deferred by a write (a new namespace\'s default service account) is dropped when the server closes at once', async () => {
  const other = await startTestServer();
  const created = other.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'brief' } });
  assert.equal((await created).status, 201);
  await other.dispose();
  await new Promise((r) => setImmediate(r));
  // reaching here without an uncaught "database connection is not open" is the point
});

test('RBAC escalation is refused: a namespace admin may bind view there, not cluster-admin', async () => {
  await s.request('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deputy' } });
  const token = (await s.request('POST', '/api/v1/namespaces/default/serviceaccounts/deputy/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} })).json.status.token;
  const binding = (name: string, role: string, subject: string) => ({
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: [{ kind: 'ServiceAccount', name: subject, namespace: 'default' }],
  });
  const bindings = '/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings';
  assert.equal((await s.request('POST', bindings, binding('deputy-admin', 'admin', 'deputy'))).status, 201);
  assert.equal((await s.request('POST', bindings, binding('deputy-view', 'view', 'default'), { token })).status, 201);
  assertStatus(await s.request('POST', bindings, binding('deputy-root', 'cluster-admin', 'deputy'), { token }), 403, 'Forbidden');
});

test('requests Kubernetes refuses are refused the same way: a write to an all-namespaces path, unknown dryRun and propagation values', async () => {
  assertStatus(await s.request('POST', '/api/v1/configmaps', configMap('nowhere')), 405, 'MethodNotAllowed');
  assertStatus(await s.request('POST', '/api/v1/namespaces/default/configmaps?dryRun=Maybe', configMap('maybe')), 400, 'BadRequest');
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/configmaps/maybe')).status, 404);
  const dry = await s.request('POST', '/api/v1/namespaces/default/configmaps?dryRun=All', configMap('dry'));
  assert.equal(dry.status, 201);
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/configmaps/dry')).status, 404);
  await s.request('POST', '/api/v1/namespaces/default/configmaps', configMap('kept'));
  assertStatus(await s.request('DELETE', '/api/v1/namespaces/default/configmaps/kept?propagationPolicy=Sometimes'), 422, 'Invalid');
  assert.equal((await s.request('GET', '/api/v1/namespaces/default/configmaps/kept')).status, 200);
});
