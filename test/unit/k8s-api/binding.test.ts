import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { startTestServer, type TestServer } from './server-harness.js';

// pods/NAME/binding: a scheduler's Binding sets spec.nodeName once (a pod update may not), marks PodScheduled=True,
// and is refused, as kube-apiserver refuses it, for a bound pod, a pod being deleted, or a failed precondition.
const PODS = '/api/v1/namespaces/default/pods';
let api: TestServer;

before(async () => {
  api = await startTestServer();
});

after(() => api.dispose());

async function createPod(name: string, extra: Record<string, unknown> = {}): Promise<any> {
  const reply = await api.request('POST', PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name, ...extra }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
  assert.equal(reply.status, 201, reply.text);
  return reply.json;
}

const binding = (name: string, node: string, meta: Record<string, unknown> = {}) => ({ apiVersion: 'v1', kind: 'Binding', metadata: { name, ...meta }, target: { apiVersion: 'v1', kind: 'Node', name: node } });

test('a binding sets the node once, marks the pod scheduled, and is sent to watchers as a change', async () => {
  await createPod('p1');
  const watch = api.watch(`${PODS}?watch=true&fieldSelector=spec.nodeName%3Dnode-a`);
  const reply = await api.request('POST', `${PODS}/p1/binding`, binding('p1', 'node-a', { annotations: { 'scheduler.example/why': 'room' } }));
  assert.equal(reply.status, 201, reply.text);
  assert.deepEqual(reply.json, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
  const pod = (await api.request('GET', `${PODS}/p1`)).json;
  assert.equal(pod.spec.nodeName, 'node-a');
  assert.equal(pod.metadata.annotations['scheduler.example/why'], 'room');
  const scheduled = pod.status.conditions.find((c: any) => c.type === 'PodScheduled');
  assert.equal(scheduled.status, 'True');
  assert.match(scheduled.lastTransitionTime, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  const [event] = await watch.waitFor(1);
  watch.stop();
  assert.equal(event?.type, 'ADDED', 'a pod entering the watch selector arrives as ADDED');
  assert.equal(event?.object.spec.nodeName, 'node-a');

  const again = await api.request('POST', `${PODS}/p1/binding`, binding('p1', 'node-b'));
  assert.equal(again.status, 409);
  assert.equal(again.json.reason, 'Conflict');
  assert.equal(again.json.message, 'Operation cannot be fulfilled on pods/binding "p1": pod p1 is already assigned to node "node-a"');
  assert.deepEqual(again.json.details, { name: 'p1', kind: 'pods/binding' });
  // nor may an update move it
  const moved = await api.request('PUT', `${PODS}/p1`, { ...pod, spec: { ...pod.spec, nodeName: 'node-b' } });
  assert.equal(moved.status, 422);
});

test('a Binding that names no node, another kind, or another pod is refused before the pod is looked at', async () => {
  await createPod('p2');
  const noTarget = await api.request('POST', `${PODS}/p2/binding`, { apiVersion: 'v1', kind: 'Binding', metadata: { name: 'p2' }, target: { kind: 'Pod' } });
  assert.equal(noTarget.status, 422);
  assert.equal(noTarget.json.message, 'Binding "p2" is invalid: [target.kind: Unsupported value: "Pod": supported values: "Node", "<empty>", target.name: Required value]');
  const otherName = await api.request('POST', `${PODS}/p2/binding`, binding('p3', 'node-a'));
  assert.equal(otherName.status, 400);
  assert.equal(otherName.json.message, 'name in URL does not match name in Binding object');
  const missing = await api.request('POST', `${PODS}/nope/binding`, binding('nope', 'node-a'));
  assert.equal(missing.status, 404);
  assert.equal(missing.json.message, 'pods "nope" not found');
  assert.equal((await api.request('GET', `${PODS}/p2`)).json.spec.nodeName, undefined);
  // binding is a POST-only subresource, listed in discovery as Kubernetes lists it
  assert.equal((await api.request('PUT', `${PODS}/p2/binding`, binding('p2', 'node-a'))).status, 404);
  const discovery = (await api.request('GET', '/api/v1')).json;
  assert.deepEqual(discovery.resources.find((r: any) => r.name === 'pods/binding'), { name: 'pods/binding', singularName: '', namespaced: true, kind: 'Binding', verbs: ['create'] });
});

test('uid and resourceVersion are preconditions; a pod being deleted is not bound', async () => {
  const pod = await createPod('p4', { finalizers: ['example.com/hold'] });
  const staleRv = await api.request('POST', `${PODS}/p4/binding`, binding('p4', 'node-a', { resourceVersion: '1' }));
  assert.equal(staleRv.status, 409);
  assert.equal(staleRv.json.message, `Operation cannot be fulfilled on pods "p4": Precondition failed: ResourceVersion in precondition: 1, ResourceVersion in object meta: ${pod.metadata.resourceVersion}`);
  const otherUid = await api.request('POST', `${PODS}/p4/binding`, binding('p4', 'node-a', { uid: 'other' }));
  assert.equal(otherUid.status, 409);
  assert.match(otherUid.json.message, /UID in precondition: other, UID in object meta: /);
  assert.equal((await api.request('DELETE', `${PODS}/p4`)).status, 200);
  const deleting = await api.request('POST', `${PODS}/p4/binding`, binding('p4', 'node-a', { uid: pod.metadata.uid }));
  assert.equal(deleting.status, 409);
  assert.equal(deleting.json.message, 'Operation cannot be fulfilled on pods/binding "p4": pod p4 is being deleted, cannot be assigned to a host');
});

test('RBAC: binding needs create on pods/binding; client-node binds through createNamespacedPodBinding', async () => {
  await createPod('p5');
  const admin = async (path: string, body: unknown) => assert.equal((await api.request('POST', path, body)).status, 201);
  await admin('/api/v1/namespaces/kube-system/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'scheduler' } });
  await admin('/apis/rbac.authorization.k8s.io/v1/clusterroles', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRole',
    metadata: { name: 'binder' },
    rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'update', 'patch'] }],
  });
  await admin('/apis/rbac.authorization.k8s.io/v1/clusterrolebindings', {
    apiVersion: 'rbac.authorization.k8s.io/v1',
    kind: 'ClusterRoleBinding',
    metadata: { name: 'binder' },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'binder' },
    subjects: [{ kind: 'ServiceAccount', name: 'scheduler', namespace: 'kube-system' }],
  });
  const token = (await api.request('POST', '/api/v1/namespaces/kube-system/serviceaccounts/scheduler/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: {} })).json.status.token;
  const refused = await api.request('POST', `${PODS}/p5/binding`, binding('p5', 'node-a'), { token });
  assert.equal(refused.status, 403);
  assert.equal(refused.json.message, 'pods "p5" is forbidden: User "system:serviceaccount:kube-system:scheduler" cannot create resource "pods/binding" in API group "" in the namespace "default"');
  const role = (await api.request('GET', '/apis/rbac.authorization.k8s.io/v1/clusterroles/binder')).json;
  role.rules.push({ apiGroups: [''], resources: ['pods/binding'], verbs: ['create'] });
  assert.equal((await api.request('PUT', '/apis/rbac.authorization.k8s.io/v1/clusterroles/binder', role)).status, 200);

  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'lab', server: api.url, caData: Buffer.from(api.caPem).toString('base64') }],
    users: [{ name: 'scheduler', token }],
    contexts: [{ name: 'lab', cluster: 'lab', user: 'scheduler' }],
    currentContext: 'lab',
  });
  await kc.makeApiClient(CoreV1Api).createNamespacedPodBinding({ name: 'p5', namespace: 'default', body: { metadata: { name: 'p5' }, target: { kind: 'Node', name: 'node-c' } } });
  assert.equal((await api.request('GET', `${PODS}/p5`)).json.spec.nodeName, 'node-c');
});
