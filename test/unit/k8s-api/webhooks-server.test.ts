import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from './server-harness.js';
import { denyResponse, patchResponse, startWebhookServer, type WebhookServer } from './webhook-harness.js';

// Security groups for pods, end to end: the API server calls the resource controller's webhook on pod creation in a
// namespace that opted in, and stores the pod with the vpc.amazonaws.com/pod-eni request the webhook added.
let api: TestServer;
let hooks: WebhookServer;

before(async () => {
  hooks = await startWebhookServer((review, path) =>
    path === '/deny'
      ? denyResponse(review, { code: 403, reason: 'Forbidden', message: 'namespace locked is frozen' })
      : patchResponse(review, [{ op: 'add', path: '/spec/containers/0/resources', value: { limits: { 'vpc.amazonaws.com/pod-eni': '1' }, requests: { 'vpc.amazonaws.com/pod-eni': '1' } } }]),
  );
  api = await startTestServer();
  for (const [name, labels] of [['shop', { 'sgp.podnet.test/enabled': 'true' }], ['plain', {}], ['locked', { frozen: 'yes' }]] as const) {
    assert.equal((await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels } })).status, 201);
  }
  const webhook = (name: string, path: string, namespaceSelector: Record<string, unknown>) => ({
    name,
    clientConfig: { url: `${hooks.base}${path}`, caBundle: hooks.caBundle },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
    namespaceSelector,
    failurePolicy: 'Fail',
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
  });
  const created = await api.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'MutatingWebhookConfiguration',
    metadata: { name: 'vpc-resource-mutating-webhook' },
    webhooks: [webhook('mpod.vpc.k8s.aws', '/mutate-v1-pod', { matchLabels: { 'sgp.podnet.test/enabled': 'true' } }), webhook('deny.podnet.test', '/deny', { matchLabels: { frozen: 'yes' } })],
  });
  assert.equal(created.status, 201, created.text);
});

after(async () => {
  await api.dispose();
  await hooks.close();
});

const pod = (namespace: string) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace }, spec: { containers: [{ name: 'web', image: 'nginx' }] } });

test('a pod created in an opted-in namespace is stored with the pod-eni resources the webhook added', async () => {
  const created = await api.request('POST', '/api/v1/namespaces/shop/pods', pod('shop'));
  assert.equal(created.status, 201, created.text);
  const stored = await api.request('GET', '/api/v1/namespaces/shop/pods/web');
  assert.deepEqual(stored.json.spec.containers[0].resources, { limits: { 'vpc.amazonaws.com/pod-eni': '1' }, requests: { 'vpc.amazonaws.com/pod-eni': '1' } });
  const review = hooks.received.find((r) => r.path === '/mutate-v1-pod')?.review;
  assert.equal(review?.request.operation, 'CREATE');
  assert.equal(review?.request['namespace'], 'shop');
  assert.equal((review?.request['userInfo'] as { username: string }).username, 'kubernetes-admin');
  // the webhook saw the pod after defaulting, as on a real server
  assert.equal((review?.request.object.spec as { containers: Array<{ imagePullPolicy?: string }> }).containers[0]?.imagePullPolicy, 'Always');
});

test('a pod elsewhere is not sent to the webhook; a denying webhook refuses the create with its status', async () => {
  const before = hooks.received.length;
  const plain = await api.request('POST', '/api/v1/namespaces/plain/pods', pod('plain'));
  assert.equal(plain.status, 201, plain.text);
  assert.deepEqual(plain.json.spec.containers[0].resources, {});
  assert.equal(hooks.received.length, before);
  const denied = await api.request('POST', '/api/v1/namespaces/locked/pods', pod('locked'));
  assert.equal(denied.status, 403);
  assert.equal(denied.json.kind, 'Status');
  assert.equal(denied.json.message, 'admission webhook "deny.podnet.test" denied the request: namespace locked is frozen');
  assert.equal((await api.request('GET', '/api/v1/namespaces/locked/pods/web')).status, 404);
});
