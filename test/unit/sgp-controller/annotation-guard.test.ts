/**
 * The pod-eni annotation guard (upstream's vpod.vpc.k8s.aws) through the API server: the controller learns its own
 * user (SelfSubjectReview), registers its ValidatingWebhookConfiguration (its CA as caBundle, failurePolicy Ignore as
 * upstream) and then only it may write `vpc.amazonaws.com/pod-eni` on a pod; a pod created with the annotation is
 * refused whoever creates it; other pod updates pass.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AdmissionregistrationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { mergePatch } from '../../../src/k8s/index.js';
import { validatePodAnnotation } from '../../../src/sgp-controller/index.js';
import { annotationOf, branchPod, createPolicy, eventually, startWorld, POD_ENI } from './harness.js';

/** The refusal a client-node call ended with: its code and the Status message. */
async function refusal(call: Promise<unknown>): Promise<{ code: number; message: string }> {
  try {
    await call;
  } catch (err) {
    const e = err as { code?: number; body?: unknown };
    const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string } | undefined);
    return { code: e.code ?? 0, message: body?.message ?? String(err) };
  }
  assert.fail('the request was not refused');
}

const SA_USER = 'system:serviceaccount:kube-system:podnet-sgp-controller';

test('only the controller may write the pod-eni annotation; a user setting, changing or removing it is denied; other updates pass', async () => {
  const w = await startWorld();
  try {
    await w.addNode('node-a', 'm5.large');
    await createPolicy(w, 'web', { podSelector: { matchLabels: { role: 'web' } }, securityGroups: { groupIds: [w.groups.web] } });
    const controller = await w.start({ webhook: { listen: { host: '127.0.0.1', port: 0 } } });
    assert.equal(controller.identity, SA_USER, 'learned from a SelfSubjectReview with its kubeconfig');
    assert.match(controller.validateUrl!, /^https:\/\/127\.0\.0\.1:\d+\/validate-v1-pod$/);
    const config = await w.api.kc.makeApiClient(AdmissionregistrationV1Api).readValidatingWebhookConfiguration({ name: 'podnet-sgp-controller' });
    const hook = config.webhooks![0]!;
    assert.equal(hook.name, 'vpod.vpc.k8s.aws');
    assert.equal(hook.clientConfig.url, controller.validateUrl);
    assert.equal(Buffer.from(hook.clientConfig.caBundle!, 'base64').toString(), controller.caPem);
    assert.equal(hook.failurePolicy, 'Ignore');
    assert.deepEqual(hook.rules?.map((r) => ({ ...r })), [{ apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE', 'UPDATE'], resources: ['pods'], scope: '*' }]);

    // a user (the cluster admin, even) naming another pod's branch ENI at create
    const forged = JSON.stringify([{ eniId: 'eni-0123456789abcdef0', ifAddress: '0a:00:00:00:00:01', privateIp: '10.0.1.99', vlanId: 1, subnetCidr: w.subnetCidr }]);
    const created = await refusal(w.core.createNamespacedPod({ namespace: 'default', body: { ...branchPod('forged', 'node-a', { role: 'api' }), metadata: { name: 'forged', namespace: 'default', annotations: { [POD_ENI]: forged } } } }));
    assert.deepEqual(created, { code: 403, message: `admission webhook "vpod.vpc.k8s.aws" denied the request: pod cannot be created with ${POD_ENI} annotation` });

    // … or adding it later to a pod of its own
    const plain: V1Pod = { metadata: { name: 'plain', namespace: 'default', labels: { role: 'api' } }, spec: { nodeName: 'node-a', containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9' }] } };
    await w.core.createNamespacedPod({ namespace: 'default', body: plain });
    const added = await refusal(w.core.patchNamespacedPod({ namespace: 'default', name: 'plain', body: { metadata: { annotations: { [POD_ENI]: forged } } } }, mergePatch));
    assert.deepEqual(added, { code: 403, message: 'admission webhook "vpod.vpc.k8s.aws" denied the request: annotation is not set by vpc-resource-controller' });
    assert.equal(await annotationOf(w, 'plain'), undefined);

    // the controller's own annotation goes through: a pod a policy selects gets its branch
    await w.core.createNamespacedPod({ namespace: 'default', body: branchPod('web-1', 'node-a') });
    await eventually('web-1 annotated by the controller', async () => (await annotationOf(w, 'web-1')) !== undefined);
    const own = (await annotationOf(w, 'web-1'))!;
    assert.equal((JSON.parse(own) as Array<{ eniId: string }>)[0]!.eniId.startsWith('eni-'), true);

    // a user changing or removing it is denied, and the annotation stays as the controller wrote it
    for (const value of [forged, null]) {
      const changed = await refusal(w.core.patchNamespacedPod({ namespace: 'default', name: 'web-1', body: { metadata: { annotations: { [POD_ENI]: value } } } }, mergePatch));
      assert.equal(changed.code, 403);
      assert.equal(changed.message, 'admission webhook "vpod.vpc.k8s.aws" denied the request: annotation is not set by vpc-resource-controller');
    }
    assert.equal(await annotationOf(w, 'web-1'), own);

    // other updates of the same pods pass: labels, other annotations, the annotation rewritten unchanged
    await w.core.patchNamespacedPod({ namespace: 'default', name: 'web-1', body: { metadata: { labels: { tier: 'front' }, annotations: { note: 'hello' } } } }, mergePatch);
    await w.core.patchNamespacedPod({ namespace: 'default', name: 'web-1', body: { metadata: { annotations: { [POD_ENI]: own } } } }, mergePatch);
    await w.core.patchNamespacedPod({ namespace: 'default', name: 'plain', body: { metadata: { labels: { tier: 'back' } } } }, mergePatch);
    const web1 = await w.core.readNamespacedPod({ namespace: 'default', name: 'web-1' });
    assert.equal(web1.metadata!.labels!['tier'], 'front');
    assert.equal(web1.metadata!.annotations![POD_ENI], own);

    // the controller's identity itself may write it (what its reconcile does)
    const asController = w.controllerKc.makeApiClient(CoreV1Api);
    await asController.patchNamespacedPod({ namespace: 'default', name: 'plain', body: { metadata: { annotations: { [POD_ENI]: '[]' } } } }, mergePatch);
    assert.equal(await annotationOf(w, 'plain'), '[]');
    assert.ok(controller.status().validation.denied >= 4, JSON.stringify(controller.status().validation));
    assert.ok(w.logs.some((l) => l.includes('validating webhook: denied default/plain by kubernetes-admin')), w.logs.join('\n'));
  } finally {
    await w.close();
  }
});

test('validatePodAnnotation: upstream\'s decisions, pure', () => {
  const body = (request: Record<string, unknown>) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'u1', ...request } });
  const pod = (annotations?: Record<string, string>) => ({ metadata: { name: 'p', ...(annotations && { annotations }) } });
  const answer = (request: Record<string, unknown>, user = 'me') => validatePodAnnotation(body(request), user).body['response'] as { uid: string; allowed: boolean; status?: { code: number; reason: string; message: string } };
  assert.deepEqual(answer({ operation: 'CREATE', object: pod(), userInfo: { username: 'someone' } }), { uid: 'u1', allowed: true });
  // at create, not even the controller: it annotates by an update
  assert.deepEqual(answer({ operation: 'CREATE', object: pod({ [POD_ENI]: '[]' }), userInfo: { username: 'me' } }).status, { code: 403, reason: 'Forbidden', message: `pod cannot be created with ${POD_ENI} annotation` });
  const update = (before: Record<string, string> | undefined, after: Record<string, string> | undefined, username: string) => answer({ operation: 'UPDATE', object: pod(after), oldObject: pod(before), userInfo: { username } }).allowed;
  assert.equal(update(undefined, { [POD_ENI]: 'x' }, 'someone'), false, 'set');
  assert.equal(update({ [POD_ENI]: 'x' }, { [POD_ENI]: 'y' }, 'someone'), false, 'changed');
  assert.equal(update({ [POD_ENI]: 'x' }, {}, 'someone'), false, 'removed');
  assert.equal(update({ [POD_ENI]: 'x' }, { [POD_ENI]: 'x', other: '1' }, 'someone'), true, 'unchanged');
  assert.equal(update(undefined, { [POD_ENI]: '' }, 'someone'), true, 'missing counts as empty, as upstream');
  assert.equal(update({ [POD_ENI]: 'x' }, { [POD_ENI]: 'y' }, 'me'), true, 'the controller');
  assert.equal(answer({ operation: 'DELETE', oldObject: pod({ [POD_ENI]: 'x' }) }).allowed, true);
  assert.equal(validatePodAnnotation('nope', 'me').status, 400);
});
