import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from './server-harness.js';

// A service account through the API server: its TokenRequest token authenticates it, its RoleBinding grants what the
// Role says and nothing else, and it cannot bind itself more than it holds.
const RBAC = '/apis/rbac.authorization.k8s.io/v1';
let api: TestServer;
let token = '';

before(async () => {
  api = await startTestServer();
  const admin = async (path: string, body: unknown) => {
    const reply = await api.request('POST', path, body);
    assert.equal(reply.status, 201, reply.text);
    return reply.json;
  };
  await admin('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'apps' } });
  await admin('/api/v1/namespaces/apps/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'deployer' } });
  await admin(`${RBAC}/namespaces/apps/roles`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'Role',
    metadata: { name: 'deployer', namespace: 'apps' },
    rules: [
      { apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list', 'create'] },
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings'], verbs: ['create'] },
    ],
  });
  await admin(`${RBAC}/namespaces/apps/rolebindings`, {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'RoleBinding',
    metadata: { name: 'deployer', namespace: 'apps' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'deployer' },
    subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'apps' }],
  });
  const review = await admin('/api/v1/namespaces/apps/serviceaccounts/deployer/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} });
  token = review.status.token;
});

after(() => api.dispose());

const binding = (name: string, kind: string, role: string) => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'RoleBinding',
  metadata: { name, namespace: 'apps' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name: role },
  subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'apps' }],
});

test('the token authenticates the service account: its Role is granted in its namespace, nothing else', async () => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { a: 'b' } };
  assert.equal((await api.request('POST', '/api/v1/namespaces/apps/configmaps', cm, { token })).status, 201);
  assert.equal((await api.request('GET', '/api/v1/namespaces/apps/configmaps/c', undefined, { token })).status, 200);
  const other = await api.request('GET', '/api/v1/namespaces/default/configmaps', undefined, { token });
  assert.equal(other.status, 403);
  assert.equal(other.json.message, 'configmaps is forbidden: User "system:serviceaccount:apps:deployer" cannot list resource "configmaps" in API group "" in the namespace "default"');
  const del = await api.request('DELETE', '/api/v1/namespaces/apps/configmaps/c', undefined, { token });
  assert.equal(del.status, 403);
  assert.equal((await api.request('GET', '/api/v1/namespaces/apps/configmaps', undefined, { token: 'not-a-token' })).status, 401);
});

test('it may bind what it holds, not cluster-admin; deleting the account ends its token', async () => {
  assert.equal((await api.request('POST', `${RBAC}/namespaces/apps/rolebindings`, binding('again', 'Role', 'deployer'), { token })).status, 201);
  const escalate = await api.request('POST', `${RBAC}/namespaces/apps/rolebindings`, binding('root', 'ClusterRole', 'cluster-admin'), { token });
  assert.equal(escalate.status, 403);
  assert.match(escalate.json.message, /^rolebindings\.rbac\.authorization\.k8s\.io "root" is forbidden: user "system:serviceaccount:apps:deployer" \(groups=\["system:serviceaccounts" "system:serviceaccounts:apps" "system:authenticated"\]\) is attempting to grant RBAC permissions not currently held:\n/);
  assert.equal((await api.request('DELETE', '/api/v1/namespaces/apps/serviceaccounts/deployer')).status, 200);
  assert.equal((await api.request('GET', '/api/v1/namespaces/apps/configmaps/c', undefined, { token })).status, 401);
});
