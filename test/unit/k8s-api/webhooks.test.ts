import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { builtinTypes } from '../../../src/k8s-api/builtin/index.js';
import { ApiError, type KubeObject, type ResourceType } from '../../../src/k8s-api/index.js';
import { serviceAccountIdentity } from '../../../src/k8s-api/tokens.js';
import { admitMutating, type AdmissionRequest } from '../../../src/k8s-api/webhooks.js';
import { allowResponse, denyResponse, patchResponse, startWebhookServer, untrustedCaBundle, type Review, type WebhookServer } from './webhook-harness.js';

/** The webhooks: each path answers as one kind of webhook does. */
function answer(review: Review, path: string): unknown {
  const object = review.request.object;
  switch (path) {
    case '/pod-eni': // what the VPC resource controller's webhook does to a pod matched by a SecurityGroupPolicy
      return patchResponse(review, [
        { op: 'add', path: '/spec/containers/0/resources', value: { limits: { 'vpc.amazonaws.com/pod-eni': '1' }, requests: { 'vpc.amazonaws.com/pod-eni': '1' } } },
      ]);
    case '/label-a':
      return patchResponse(review, [{ op: 'add', path: '/metadata/labels/a-saw-b', value: object.metadata.annotations?.['b'] === 'yes' ? 'true' : 'false' }]);
    case '/annotate-b':
      return patchResponse(review, [{ op: 'add', path: '/metadata/annotations', value: { b: 'yes' } }]);
    case '/deny':
      return denyResponse(review, { code: 403, reason: 'Forbidden', message: 'pods may not run here' });
    case '/deny-bare':
      return denyResponse(review, undefined);
    case '/wrong-uid':
      return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: 'not-it', allowed: true } };
    case '/bad-patch':
      return patchResponse(review, [{ op: 'remove', path: '/spec/nothing' }]);
    case '/slow':
      return undefined; // never answers: the caller's timeout ends it
    default:
      return allowResponse(review);
  }
}

let hooks: WebhookServer;
let base = '';
let caBundle = '';
let otherCaBundle = '';
let received: WebhookServer['received'] = [];

before(async () => {
  hooks = await startWebhookServer(answer);
  ({ base, caBundle, received } = hooks);
  otherCaBundle = await untrustedCaBundle();
});

after(() => hooks.close());

const podType = builtinTypes().find((t) => t.group === '' && t.plural === 'pods') as ResourceType;
const daemonSetType = builtinTypes().find((t) => t.group === 'apps' && t.plural === 'daemonsets') as ResourceType;

function pod(labels: Record<string, string> = {}): KubeObject {
  return { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web', namespace: 'shop', labels }, spec: { containers: [{ name: 'web', image: 'nginx' }] } };
}

function request(object: KubeObject, extra: Partial<AdmissionRequest> = {}): AdmissionRequest {
  return { operation: 'CREATE', type: podType, object, namespace: 'shop', userInfo: serviceAccountIdentity('kube-system', 'replicaset-controller', 'u1'), namespaceLabels: { team: 'shop' }, ...extra };
}

function config(name: string, webhooks: Array<Record<string, unknown>>): KubeObject {
  return { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', metadata: { name }, webhooks };
}

function webhook(name: string, path: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name,
    clientConfig: { url: `${base}${path}`, caBundle },
    rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], scope: 'Namespaced' }],
    admissionReviewVersions: ['v1'],
    sideEffects: 'None',
    ...extra,
  };
}

test('a matching webhook is sent an AdmissionReview v1 over HTTPS and its JSONPatch is applied', async () => {
  received.splice(0);
  const result = await admitMutating([config('vpc-resource-mutating-webhook', [webhook('mpod.vpc.k8s.aws', '/pod-eni')])], request(pod()));
  const containers = (result['spec'] as { containers: Array<Record<string, unknown>> }).containers;
  assert.deepEqual(containers[0]?.['resources'], { limits: { 'vpc.amazonaws.com/pod-eni': '1' }, requests: { 'vpc.amazonaws.com/pod-eni': '1' } });
  assert.equal(received.length, 1);
  const { review, query } = received[0]!;
  assert.equal(query, '?timeout=10s');
  assert.equal(review.apiVersion, 'admission.k8s.io/v1');
  assert.equal(review.kind, 'AdmissionReview');
  const { uid, object, ...rest } = review.request;
  assert.match(uid, /^[0-9a-f-]{36}$/);
  assert.deepEqual(object, pod());
  assert.deepEqual(rest, {
    kind: { group: '', version: 'v1', kind: 'Pod' },
    resource: { group: '', version: 'v1', resource: 'pods' },
    requestKind: { group: '', version: 'v1', kind: 'Pod' },
    requestResource: { group: '', version: 'v1', resource: 'pods' },
    name: 'web',
    namespace: 'shop',
    operation: 'CREATE',
    userInfo: { username: 'system:serviceaccount:kube-system:replicaset-controller', uid: 'u1', groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
    oldObject: null,
    dryRun: false,
    options: { kind: 'CreateOptions', apiVersion: 'meta.k8s.io/v1' },
  });
});

test('rules, namespaceSelector and objectSelector decide which webhooks are called', async () => {
  received.splice(0);
  const configs = [
    config('a', [
      webhook('update-only', '/pod-eni', { rules: [{ operations: ['UPDATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }] }),
      webhook('other-namespaces', '/pod-eni', { namespaceSelector: { matchLabels: { team: 'billing' } } }),
      webhook('labelled-pods', '/pod-eni', { objectSelector: { matchExpressions: [{ key: 'sgp', operator: 'Exists' }] } }),
      webhook('cluster-scope', '/pod-eni', { rules: [{ operations: ['*'], apiGroups: ['*'], apiVersions: ['*'], resources: ['*'], scope: 'Cluster' }] }),
    ]),
  ];
  const unchanged = pod();
  assert.equal(await admitMutating(configs, request(unchanged)), unchanged);
  assert.equal(await admitMutating(configs, request(unchanged, { type: daemonSetType })), unchanged);
  assert.equal(received.length, 0);
  const labelled = await admitMutating(configs, request(pod({ sgp: 'yes' })));
  assert.ok((labelled['spec'] as { containers: Array<Record<string, unknown>> }).containers[0]?.['resources']);
  assert.deepEqual(received.map((r) => r.path), ['/pod-eni']);
});

test('configurations run by name, webhooks in order, and an IfNeeded webhook runs again after a later change', async () => {
  received.splice(0);
  const configs = [config('z-annotate', [webhook('b.test', '/annotate-b')]), config('a-label', [webhook('a.test', '/label-a', { reinvocationPolicy: 'IfNeeded' })])];
  const result = await admitMutating(configs, request(pod({ app: 'web' })));
  assert.deepEqual(received.map((r) => r.path), ['/label-a', '/annotate-b', '/label-a']);
  assert.deepEqual(result.metadata.labels, { app: 'web', 'a-saw-b': 'true' });
});

test('allowed: false refuses the request with the webhook status, worded as Kubernetes does', async () => {
  await assert.rejects(admitMutating([config('c', [webhook('deny.test', '/deny')])], request(pod())), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status.code, 403);
    assert.equal(error.status.reason, 'Forbidden');
    assert.equal(error.status.message, 'admission webhook "deny.test" denied the request: pods may not run here');
    return true;
  });
  await assert.rejects(admitMutating([config('c', [webhook('bare.test', '/deny-bare')])], request(pod())), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status.code, 400);
    assert.equal(error.status.message, 'admission webhook "bare.test" denied the request without explanation');
    return true;
  });
});

test('failurePolicy: an unreachable, untrusted, slow or confused webhook fails the request (Fail) or is skipped (Ignore)', async () => {
  const failing = [
    webhook('untrusted.test', '/pod-eni', { clientConfig: { url: `${base}/pod-eni`, caBundle: otherCaBundle } }),
    webhook('slow.test', '/slow', { timeoutSeconds: 1 }),
    webhook('uid.test', '/wrong-uid'),
    webhook('closed.test', '/pod-eni', { clientConfig: { url: 'https://127.0.0.1:1/x', caBundle } }),
    webhook('service.test', '/pod-eni', { clientConfig: { service: { name: 'webhook', namespace: 'kube-system' }, caBundle } }),
  ];
  const messages = await Promise.all(
    failing.map(async (hook) => {
      try {
        await admitMutating([config('c', [hook])], request(pod()));
        return 'admitted';
      } catch (error) {
        assert.ok(error instanceof ApiError);
        assert.equal(error.status.code, 500);
        assert.equal(error.status.reason, 'InternalError');
        return error.status.message;
      }
    }),
  );
  assert.match(messages[0] ?? '', /^Internal error occurred: failed calling webhook "untrusted\.test": failed to call webhook: Post "https:\/\/127\.0\.0\.1:\d+\/pod-eni\?timeout=10s": /);
  assert.match(messages[1] ?? '', /^Internal error occurred: failed calling webhook "slow\.test": failed to call webhook: Post ".*\/slow\?timeout=1s": context deadline exceeded$/);
  assert.match(messages[2] ?? '', /expected response\.uid="[0-9a-f-]+", got "not-it"$/);
  assert.match(messages[3] ?? '', /failed calling webhook "closed\.test": failed to call webhook: Post "https:\/\/127\.0\.0\.1:1\/x\?timeout=10s": connect ECONNREFUSED/);
  assert.match(messages[4] ?? '', /clientConfig\.service is not served here/);
  const ignored = pod();
  const results = await Promise.all(failing.map((hook) => admitMutating([config('c', [{ ...hook, failurePolicy: 'Ignore' }])], request(ignored))));
  for (const result of results) assert.equal(result, ignored);
});

test('a patch that does not apply fails the request whatever the failurePolicy', async () => {
  await assert.rejects(admitMutating([config('c', [webhook('patch.test', '/bad-patch', { failurePolicy: 'Ignore' })])], request(pod())), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status.code, 500);
    assert.match(error.status.message, /^Internal error occurred: JSON patch of webhook "patch\.test" failed: /);
    return true;
  });
});

test('a dry run is announced to the webhooks; one with side effects refuses it', async () => {
  received.splice(0);
  const result = await admitMutating([config('c', [webhook('dry.test', '/pod-eni')])], request(pod(), { dryRun: true }));
  assert.ok((result['spec'] as { containers: Array<Record<string, unknown>> }).containers[0]?.['resources']);
  assert.equal(received[0]?.review.request['dryRun'], true);
  await assert.rejects(admitMutating([config('c', [webhook('effects.test', '/pod-eni', { sideEffects: 'Some' })])], request(pod(), { dryRun: true })), (error: unknown) => {
    assert.ok(error instanceof ApiError);
    assert.deepEqual([error.status.code, error.status.reason, error.status.message], [400, 'BadRequest', 'admission webhook "effects.test" does not support dry run']);
    return true;
  });
});
