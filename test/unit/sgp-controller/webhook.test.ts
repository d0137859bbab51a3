/**
 * The pod mutating webhook through the API server: the controller applies its MutatingWebhookConfiguration (its own
 * CA as caBundle) and the API server calls it on every pod CREATE; pods a SecurityGroupPolicy selects (by labels, by
 * service account, by matchExpressions) get `vpc.amazonaws.com/pod-eni: 1` in the first container's limits and
 * requests; other pods, host-network pods and other namespaces' policies leave them alone; bad bodies are answered,
 * never thrown.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { test } from 'node:test';
import { AdmissionregistrationV1Api, type V1Pod } from '@kubernetes/client-node';
import { reviewAdmission } from '../../../src/sgp-controller/index.js';
import { createPolicy, startWorld, POD_ENI } from './harness.js';

const pod = (name: string, labels: Record<string, string>, extra: Partial<V1Pod['spec']> = {}): V1Pod => ({
  metadata: { name, namespace: 'default', labels },
  spec: { containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9' }, { name: 'side', image: 'registry.k8s.io/pause:3.9' }], ...extra },
});

test('pods a SecurityGroupPolicy selects get pod-eni 1 on their first container through the API server; others do not', async () => {
  const w = await startWorld();
  try {
    await createPolicy(w, 'web', { podSelector: { matchLabels: { role: 'web' } }, securityGroups: { groupIds: [w.groups.web] } });
    await createPolicy(w, 'tier', { podSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['db', 'cache'] }] }, securityGroups: { groupIds: [w.groups.db] } });
    await createPolicy(w, 'by-sa', { serviceAccountSelector: { matchLabels: { team: 'payments' } }, securityGroups: { groupIds: [w.groups.db] } });
    await w.core.createNamespacedServiceAccount({ namespace: 'default', body: { metadata: { name: 'payments', labels: { team: 'payments' } } } });
    await w.core.createNamespace({ body: { metadata: { name: 'other' } } });
    const controller = await w.start({ webhook: { listen: { host: '127.0.0.1', port: 0 } } });
    assert.match(controller.webhookUrl!, /^https:\/\/127\.0\.0\.1:\d+\/mutate-v1-pod$/);

    const config = await w.api.kc.makeApiClient(AdmissionregistrationV1Api).readMutatingWebhookConfiguration({ name: 'podnet-sgp-controller' });
    const hook = config.webhooks![0]!;
    assert.equal(hook.name, 'mpod.vpc.k8s.aws');
    assert.equal(hook.clientConfig.url, controller.webhookUrl);
    assert.equal(Buffer.from(hook.clientConfig.caBundle!, 'base64').toString(), controller.caPem);
    assert.equal(hook.failurePolicy, 'Ignore');

    const created = async (p: V1Pod, ns = 'default') => w.core.createNamespacedPod({ namespace: ns, body: { ...p, metadata: { ...p.metadata, namespace: ns } } });
    const web = await created(pod('web', { role: 'web' }));
    assert.deepEqual({ ...web.spec!.containers[0]!.resources }, { limits: { [POD_ENI]: '1' }, requests: { [POD_ENI]: '1' } });
    assert.equal(web.spec!.containers[1]!.resources?.limits?.[POD_ENI], undefined, 'only the first container');
    const db = await created(pod('db', { tier: 'db' }, { containers: [{ name: 'app', image: 'x', resources: { limits: { cpu: '1' } } }] }));
    assert.deepEqual({ ...db.spec!.containers[0]!.resources }, { limits: { cpu: '1', [POD_ENI]: '1' }, requests: { cpu: '1', [POD_ENI]: '1' } });
    const paying = await created(pod('pay', { role: 'api' }, { serviceAccountName: 'payments' }));
    assert.equal(paying.spec!.containers[0]!.resources?.requests?.[POD_ENI], '1', 'selected by its service account');

    for (const p of [pod('plain', { role: 'api' }), pod('host', { role: 'web' }, { hostNetwork: true })]) {
      const out = await created(p);
      assert.equal(out.spec!.containers[0]!.resources?.limits?.[POD_ENI], undefined, p.metadata!.name);
    }
    const elsewhere = await created(pod('web-other', { role: 'web' }), 'other');
    assert.equal(elsewhere.spec!.containers[0]!.resources?.limits?.[POD_ENI], undefined, "a policy selects only its own namespace's pods");
    assert.deepEqual(controller.status().webhook, { mutated: 3, allowed: 3, denied: 0, 'bad-request': 0 });

    // straight at the webhook: bad bodies are answered, and it keeps serving
    const post = (body: string) => new Promise<number>((resolve, reject) => {
      const req = request(controller.webhookUrl!, { method: 'POST', ca: controller.caPem, headers: { 'content-type': 'application/json' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(body);
    });
    assert.equal(await post('not json'), 400);
    assert.equal(await post('{"request": 7}'), 400);
    assert.equal(await post('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u","object":{"spec":{}}}}'), 200);
    const again = await created(pod('web-2', { role: 'web' }));
    assert.equal(again.spec!.containers[0]!.resources?.limits?.[POD_ENI], '1');
  } finally {
    await w.close();
  }
});

test('review: a policy list that fails denies the pod with upstream\'s words; a pod without containers is allowed unchanged', async () => {
  const deps = { policies: async () => { throw new Error('403 forbidden'); }, serviceAccountLabels: async () => ({}), log: () => undefined };
  const body = (object: unknown) => JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request: { uid: 'abc', namespace: 'default', object } });
  const denied = await reviewAdmission(body({ metadata: { name: 'p' }, spec: { containers: [{ name: 'a' }] } }), deps);
  assert.equal(denied.status, 200);
  const response = denied.body['response'] as { allowed: boolean; uid: string; status: { message: string } };
  assert.equal(response.uid, 'abc');
  assert.equal(response.allowed, false);
  assert.match(response.status.message, /^Failed to get Matching SGP for Pods, rejecting event, error 403 forbidden/);
  const empty = await reviewAdmission(body({ metadata: { name: 'p' }, spec: { containers: [] } }), deps);
  assert.equal((empty.body['response'] as { allowed: boolean }).allowed, true);
});
