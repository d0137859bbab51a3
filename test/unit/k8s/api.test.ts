/**
 * The helpers callers of client-node share (src/k8s/api.ts), against a real API server in this process: a failed
 * call's code and message, a merge patch, an Event that kubectl describe would list.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ApiException, CoreV1Api } from '@kubernetes/client-node';
import { apiCode, describeKubeError, eventBody, mergePatch } from '../../../src/k8s/index.js';
import { startApiServer } from './harness.js';

test('a failed call: its code and the Status message; a server that is gone: no code, what failed', async () => {
  const api = await startApiServer();
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    const missing = await core.readNamespacedPod({ namespace: 'default', name: 'nope' }).then(() => undefined, (err: unknown) => err);
    assert.equal(apiCode(missing), 404);
    assert.equal(describeKubeError(missing), '404: pods "nope" not found');
    assert.equal(describeKubeError(new ApiException(502, 'Bad Gateway', '<html>bad gateway</html>', {})), 'HTTP 502: <html>bad gateway</html>');
    assert.equal(describeKubeError(new ApiException(500, 'Internal', '', {})), 'HTTP 500');
    await api.stop();
    const refused = await core.readNamespacedPod({ namespace: 'default', name: 'nope' }).then(() => undefined, (err: unknown) => err);
    assert.equal(apiCode(refused), undefined);
    assert.match(describeKubeError(refused), /ECONNREFUSED/);
  } finally {
    await api.close();
  }
});

test('mergePatch sends a JSON merge patch; eventBody makes an Event the API server keeps, named after its object', async () => {
  const api = await startApiServer();
  const core = api.kc.makeApiClient(CoreV1Api);
  try {
    await core.createNode({ body: { metadata: { name: 'n1', labels: { a: '1' } } } });
    const patched = await core.patchNode({ name: 'n1', body: { metadata: { labels: { b: '2' } } } }, mergePatch);
    assert.deepEqual(patched.metadata?.labels, { a: '1', b: '2' });

    const pod = await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'p1' }, spec: { containers: [{ name: 'c', image: 'x' }] } } });
    const now = new Date('2026-12-04T12:00:00Z');
    const bodies = [1, 2].map(() => eventBody({ involved: { kind: 'Pod', apiVersion: 'v1', metadata: pod.metadata! }, type: 'Warning', reason: 'FailedMount', message: 'no token', component: 'kubelet', host: 'n1', now }));
    assert.notEqual(bodies[0]!.metadata.name, bodies[1]!.metadata.name, 'two Events in one millisecond have two names');
    const created = await core.createNamespacedEvent({ namespace: 'default', body: bodies[0]! });
    assert.match(created.metadata.name ?? '', /^p1\.[0-9a-f]+$/);
    assert.deepEqual({ ...created.involvedObject }, { kind: 'Pod', apiVersion: 'v1', namespace: 'default', name: 'p1', uid: pod.metadata!.uid, resourceVersion: pod.metadata!.resourceVersion });
    assert.deepEqual([created.type, created.reason, created.message, created.count], ['Warning', 'FailedMount', 'no token', 1]);
    assert.deepEqual({ ...created.source }, { component: 'kubelet', host: 'n1' });
    assert.equal(created.reportingInstance, 'n1');

    const node = eventBody({ involved: { kind: 'Node', apiVersion: 'v1', metadata: { name: 'n1' } }, type: 'Normal', reason: 'Starting', message: 'up', component: 'kubelet' });
    assert.equal(node.metadata.namespace, 'default', 'a cluster-scoped object\'s Events go to default');
    assert.equal(node.reportingInstance, 'kubelet');
    assert.deepEqual(node.source, { component: 'kubelet' });
  } finally {
    await api.close();
  }
});
