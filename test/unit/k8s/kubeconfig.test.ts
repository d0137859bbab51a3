/**
 * loadKubeConfig: an explicit file, then KUBECONFIG, then the pod's service account — each used for a real request to
 * an API server in this process — and the refusals, with their hints.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { PodnetError } from '../../../src/lib/index.js';
import { kubeConfigSource, loadKubeConfig } from '../../../src/k8s/index.js';
import { startApiServer, type TestApiServer } from './harness.js';

let server: TestApiServer;
before(async () => {
  server = await startApiServer();
});
after(() => server.close());

async function namespaces(kc: KubeConfig): Promise<string[]> {
  const list = await kc.makeApiClient(CoreV1Api).listNamespace();
  return list.items.map((n) => n.metadata!.name!).sort();
}

test('an explicit kubeconfig wins over KUBECONFIG and the service account; KUBECONFIG takes the first file of its list that exists', async () => {
  const env = { KUBECONFIG: '/nonexistent', KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' };
  assert.ok((await namespaces(loadKubeConfig({ kubeconfig: server.kubeconfigPath, env }))).includes('kube-system'));
  const listed = loadKubeConfig({ env: { KUBECONFIG: `/nonexistent:${server.kubeconfigPath}` } });
  assert.ok((await namespaces(listed)).includes('default'));
  assert.deepEqual(kubeConfigSource({ env: {} }), undefined);
});

test('in a pod: KUBERNETES_SERVICE_HOST/_PORT and the mounted token and CA', async () => {
  const dir = join(server.dir, 'serviceaccount');
  mkdirSync(dir);
  const admin = new KubeConfig();
  admin.loadFromFile(server.kubeconfigPath);
  writeFileSync(join(dir, 'token'), admin.getCurrentUser()!.token!);
  writeFileSync(join(dir, 'ca.crt'), Buffer.from(admin.getCurrentCluster()!.caData!, 'base64'));
  const url = new URL(server.url);
  const env = { KUBERNETES_SERVICE_HOST: url.hostname, KUBERNETES_SERVICE_PORT: url.port };
  const kc = loadKubeConfig({ env, serviceAccountDir: dir });
  assert.equal(kc.getCurrentCluster()!.server, server.url);
  assert.ok((await namespaces(kc)).includes('kube-node-lease'));
});

test('refusals say what is missing and what to do', () => {
  const refused = (o: Parameters<typeof loadKubeConfig>[0], code: string, message: RegExp) =>
    assert.throws(() => loadKubeConfig(o), (e: unknown) => e instanceof PodnetError && e.code === code && message.test(e.message) && (e.hint ?? '') !== '');
  refused({ env: {} }, 'CONFIG_INVALID', /no Kubernetes configuration/);
  refused({ env: { KUBECONFIG: '/nonexistent/kubeconfig' } }, 'FILE_UNREADABLE', /\/nonexistent\/kubeconfig does not exist/);
  const empty = join(server.dir, 'empty-kubeconfig');
  writeFileSync(empty, 'apiVersion: v1\nkind: Config\nclusters: []\n');
  refused({ kubeconfig: empty }, 'CONFIG_INVALID', /no current context/);
  refused({ env: { KUBERNETES_SERVICE_HOST: '10.0.0.1', KUBERNETES_SERVICE_PORT: '443' }, serviceAccountDir: join(server.dir, 'none') }, 'CONFIG_INVALID', /no service-account token/);
});
