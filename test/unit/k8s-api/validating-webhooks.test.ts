/**
 * Validating admission webhooks (ValidatingWebhookConfiguration) through the API server: called on pod CREATE and
 * UPDATE after the mutating webhooks, with the request's user and the old object; a denial refuses the write with
 * `admission webhook "<name>" denied the request: <message>` and the webhook's code; a patch in their answer changes
 * nothing; failurePolicy Fail refuses a write when the webhook cannot be called, Ignore lets it through. Also the
 * SelfSubjectReview (`kubectl auth whoami`) a webhook owner uses to learn its own user.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestServer, type TestServer } from './server-harness.js';
import { allowResponse, denyResponse, patchResponse, startWebhookServer, type Review, type WebhookServer } from './webhook-harness.js';

let api: TestServer;
let hooks: WebhookServer;

const labelsOf = (review: Review) => (review.request.object.metadata.labels ?? {}) as Record<string, string>;

before(async () => {
  hooks = await startWebhookServer((review, path) => {
    if (path === '/mutate') return patchResponse(review, [{ op: 'add', path: '/metadata/labels/mutated', value: 'yes' }]);
    if (labelsOf(review)['deny'] === 'yes') return denyResponse(review, { code: 403, reason: 'Forbidden', message: `pod ${review.request.object.metadata.name} may not say deny` });
    // a validating webhook cannot change the object: this patch is ignored
    return allowResponse(review, { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify([{ op: 'add', path: '/metadata/labels/sneaky', value: 'x' }])).toString('base64') });
  });
  api = await startTestServer();
  const hook = (name: string, url: string, resources: string[], failurePolicy?: string) => ({
    name,
    clientConfig: { url, caBundle: hooks.caBundle },
    rules: [{ operations: ['CREATE', 'UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources }],
    ...(failurePolicy ? { failurePolicy } : {}),
    sideEffects: 'None',
    admissionReviewVersions: ['v1'],
  });
  const mutating = await api.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name: 'labeller' },
    webhooks: [hook('mutate.podnet.test', `${hooks.base}/mutate`, ['pods'])],
  });
  assert.equal(mutating.status, 201, mutating.text);
  const validating = await api.request('POST', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations', {
    apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', metadata: { name: 'guard' },
    webhooks: [
      { ...hook('vpod.podnet.test', `${hooks.base}/validate`, ['pods']), reinvocationPolicy: 'IfNeeded' },
      hook('gone-ignore.podnet.test', 'https://127.0.0.1:1/validate', ['pods'], 'Ignore'),
      hook('gone-fail.podnet.test', 'https://127.0.0.1:1/validate', ['configmaps']),
    ],
  });
  assert.equal(validating.status, 201, validating.text);
});

after(async () => {
  await api.dispose();
  await hooks.close();
});

const pod = (name: string, labels: Record<string, string> = {}) => ({ apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', labels }, spec: { containers: [{ name: 'c', image: 'nginx' }] } });

test('the configuration is defaulted as a validating one (failurePolicy Fail, no reinvocationPolicy) and listed by discovery', async () => {
  const got = await api.request('GET', '/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations/guard');
  assert.equal(got.status, 200, got.text);
  const [vpod, , fail] = got.json.webhooks as Array<Record<string, unknown>>;
  assert.equal(vpod!['reinvocationPolicy'], undefined);
  assert.equal(fail!['failurePolicy'], 'Fail');
  assert.equal(vpod!['timeoutSeconds'], 10);
  const discovery = await api.request('GET', '/apis/admissionregistration.k8s.io/v1');
  assert.ok((discovery.json.resources as Array<{ name: string }>).some((r) => r.name === 'validatingwebhookconfigurations'), discovery.text);
});

test('a pod CREATE is validated after mutation, with the user; a denial refuses it with the webhook\'s name and message', async () => {
  const created = await api.request('POST', '/api/v1/namespaces/default/pods', pod('ok'));
  assert.equal(created.status, 201, created.text);
  assert.deepEqual(created.json.metadata.labels, { mutated: 'yes' }, 'the validating webhook\'s patch is ignored');
  const review = hooks.received.filter((r) => r.path === '/validate').at(-1)!.review;
  assert.equal(review.request.operation, 'CREATE');
  assert.equal(labelsOf(review)['mutated'], 'yes', 'validating webhooks see the mutated object');
  assert.equal((review.request['userInfo'] as { username: string }).username, 'kubernetes-admin');

  const denied = await api.request('POST', '/api/v1/namespaces/default/pods', pod('bad', { deny: 'yes' }));
  assert.equal(denied.status, 403, denied.text);
  assert.equal(denied.json.kind, 'Status');
  assert.equal(denied.json.reason, 'Forbidden');
  assert.equal(denied.json.message, 'admission webhook "vpod.podnet.test" denied the request: pod bad may not say deny');
  assert.equal((await api.request('GET', '/api/v1/namespaces/default/pods/bad')).status, 404);
});

test('a pod UPDATE is validated with its old object; a denied update leaves the stored pod as it was', async () => {
  const stored = (await api.request('GET', '/api/v1/namespaces/default/pods/ok')).json;
  const denied = await api.request('PUT', '/api/v1/namespaces/default/pods/ok', { ...stored, metadata: { ...stored.metadata, labels: { ...stored.metadata.labels, deny: 'yes' } } });
  assert.equal(denied.status, 403, denied.text);
  assert.match(denied.json.message, /^admission webhook "vpod\.podnet\.test" denied the request: pod ok may not say deny$/);
  const review = hooks.received.filter((r) => r.path === '/validate').at(-1)!.review;
  assert.equal(review.request.operation, 'UPDATE');
  assert.equal(((review.request['oldObject'] as Review['request']['object']).metadata.labels ?? {})['deny'], undefined);
  const after = (await api.request('GET', '/api/v1/namespaces/default/pods/ok')).json;
  assert.equal(after.metadata.resourceVersion, stored.metadata.resourceVersion);

  const patched = await api.request('PATCH', '/api/v1/namespaces/default/pods/ok', { metadata: { labels: { tier: 'web' } } }, { contentType: 'application/merge-patch+json' });
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.json.metadata.labels.tier, 'web');
});

test('failurePolicy: Fail refuses a write when its webhook cannot be called (500), Ignore lets it through', async () => {
  // the pods above went through although gone-ignore.podnet.test could not be called
  const cm = await api.request('POST', '/api/v1/namespaces/default/configmaps', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' } });
  assert.equal(cm.status, 500, cm.text);
  assert.match(cm.json.message, /^Internal error occurred: failed calling webhook "gone-fail\.podnet\.test": failed to call webhook: Post "https:\/\/127\.0\.0\.1:1\/validate\?timeout=10s": /);
});

test('a dry-run create is validated too', async () => {
  const denied = await api.request('POST', '/api/v1/namespaces/default/pods?dryRun=All', pod('dry', { deny: 'yes' }));
  assert.equal(denied.status, 403, denied.text);
});

test('SelfSubjectReview names the caller: the admin, and a service account by its token', async () => {
  const admin = await api.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' });
  assert.equal(admin.status, 201, admin.text);
  assert.equal(admin.json.kind, 'SelfSubjectReview');
  assert.equal(admin.json.status.userInfo.username, 'kubernetes-admin');
  assert.ok(admin.json.status.userInfo.groups.includes('system:masters'));
  assert.equal((await api.request('POST', '/api/v1/namespaces/default/serviceaccounts', { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'robot' } })).status, 201);
  const token = await api.request('POST', '/api/v1/namespaces/default/serviceaccounts/robot/token', { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: [] } });
  assert.equal(token.status, 201, token.text);
  const robot = await api.request('POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews', { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, { token: token.json.status.token });
  assert.equal(robot.status, 201, robot.text);
  assert.equal(robot.json.status.userInfo.username, 'system:serviceaccount:default:robot');
});
