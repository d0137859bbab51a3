import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { createServingMaterial } from '../../../src/k8s-api/tls.js';
import { configMap, startTestServer, type TestServer } from './server-harness.js';

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(() => s.dispose());

const cms = '/api/v1/namespaces/default/configmaps';
const pod = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name, ...extra },
  spec: { containers: [{ name: 'c', image: 'nginx:1' }] },
});

test('create fills uid, creationTimestamp and resourceVersion; generateName makes a name; a second create is 409 AlreadyExists', async () => {
  const a = await s.request('POST', cms, configMap('a', { k: 'v' }));
  assert.equal(a.status, 201);
  assert.match(a.json.metadata.uid, /^[0-9a-f-]{36}$/);
  assert.match(a.json.metadata.creationTimestamp, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
  assert.match(a.json.metadata.resourceVersion, /^\d+$/);
  const again = await s.request('POST', cms, configMap('a'));
  assert.equal(again.status, 409);
  assert.equal(again.json.reason, 'AlreadyExists');
  assert.equal(again.json.message, 'configmaps "a" already exists');
  const generated = await s.request('POST', cms, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { generateName: 'gen-' } });
  assert.match(generated.json.metadata.name, /^gen-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
});

test('create refuses a missing namespace (404), a kind or namespace that is not the URL\'s (400), and an invalid object (422 with causes)', async () => {
  const missing = await s.request('POST', '/api/v1/namespaces/nowhere/configmaps', configMap('x'));
  assert.equal(missing.status, 404);
  assert.equal(missing.json.message, 'namespaces "nowhere" not found');
  assert.equal((await s.request('POST', cms, { ...configMap('x'), kind: 'Secret' })).status, 400);
  assert.equal((await s.request('POST', cms, { ...configMap('x'), metadata: { name: 'x', namespace: 'kube-system' } })).status, 400);
  const invalid = await s.request('POST', '/api/v1/namespaces/default/pods', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [] } });
  assert.equal(invalid.status, 422);
  assert.equal(invalid.json.reason, 'Invalid');
  assert.ok(invalid.json.details.causes.some((c: any) => c.field === 'spec.containers'));
  const unnamed = await s.request('POST', cms, { apiVersion: 'v1', kind: 'ConfigMap', metadata: {} });
  assert.equal(unnamed.status, 422);
});

test('update with a stale resourceVersion is 409 Conflict; one that changes nothing keeps the version', async () => {
  const created = (await s.request('POST', cms, configMap('u', { n: '1' }))).json;
  const changed = await s.request('PUT', `${cms}/u`, { ...created, data: { n: '2' } });
  assert.equal(changed.status, 200);
  assert.notEqual(changed.json.metadata.resourceVersion, created.metadata.resourceVersion);
  const stale = await s.request('PUT', `${cms}/u`, { ...created, data: { n: '3' } });
  assert.equal(stale.status, 409);
  assert.equal(stale.json.message, 'Operation cannot be fulfilled on configmaps "u": the object has been modified; please apply your changes to the latest version and try again');
  const same = await s.request('PUT', `${cms}/u`, changed.json);
  assert.equal(same.json.metadata.resourceVersion, changed.json.metadata.resourceVersion);
  assert.equal((await s.request('PUT', `${cms}/other`, { ...changed.json, metadata: { ...changed.json.metadata, name: 'other' } })).status, 404);
});

test('patches: merge, JSON and strategic merge (a DaemonSet container env by name, as kubectl set env sends it)', async () => {
  await s.request('POST', cms, configMap('p', { a: '1' }));
  const merged = await s.request('PATCH', `${cms}/p`, { data: { b: '2' } }, { contentType: 'application/merge-patch+json' });
  assert.deepEqual(merged.json.data, { a: '1', b: '2' });
  const json = await s.request('PATCH', `${cms}/p`, [{ op: 'remove', path: '/data/a' }], { contentType: 'application/json-patch+json' });
  assert.deepEqual(json.json.data, { b: '2' });
  const ds = readDaemonSet();
  assert.equal((await s.request('POST', '/apis/apps/v1/namespaces/kube-system/daemonsets', ds)).status, 201);
  const patch = { spec: { template: { spec: { containers: [{ name: 'aws-node', env: [{ name: 'AWS_VPC_K8S_CNI_EXTERNALSNAT', value: 'true' }] }] } } } };
  const patched = await s.request('PATCH', '/apis/apps/v1/namespaces/kube-system/daemonsets/aws-node', patch, { contentType: 'application/strategic-merge-patch+json' });
  assert.equal(patched.status, 200, patched.text);
  const env = patched.json.spec.template.spec.containers[0].env.map((e: any) => `${e.name}=${e.value}`).sort();
  assert.deepEqual(env, ['AWS_VPC_K8S_CNI_EXTERNALSNAT=true', 'AWS_VPC_K8S_CNI_VERSION=v1']);
  assert.equal(patched.json.metadata.generation, 2);
  assert.equal(patched.json.metadata.annotations['deprecated.daemonset.template.generation'], '2');
});

function readDaemonSet() {
  return {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: 'aws-node' },
    spec: {
      selector: { matchLabels: { 'k8s-app': 'aws-node' } },
      template: {
        metadata: { labels: { 'k8s-app': 'aws-node' } },
        spec: { containers: [{ name: 'aws-node', image: 'podnet:1', env: [{ name: 'AWS_VPC_K8S_CNI_VERSION', value: 'v1' }] }] },
      },
    },
  };
}

test('the status subresource: an update of the object keeps the stored status, an update of /status changes only the status', async () => {
  const created = (await s.request('POST', '/api/v1/namespaces/default/pods', pod('st'))).json;
  assert.equal(created.status.phase, 'Pending');
  const withStatus = await s.request('PUT', '/api/v1/namespaces/default/pods/st', { ...created, status: { phase: 'Running' }, metadata: { ...created.metadata, labels: { a: 'b' } } });
  assert.equal(withStatus.json.status.phase, 'Pending');
  assert.deepEqual(withStatus.json.metadata.labels, { a: 'b' });
  const statusOnly = await s.request('PUT', '/api/v1/namespaces/default/pods/st/status', { ...withStatus.json, status: { phase: 'Running' }, spec: { ...withStatus.json.spec, nodeName: 'x' } });
  assert.equal(statusOnly.json.status.phase, 'Running');
  assert.equal(statusOnly.json.spec.nodeName, undefined);
  const patched = await s.request('PATCH', '/api/v1/namespaces/default/pods/st/status', { status: { podIP: '10.0.0.5' } }, { contentType: 'application/merge-patch+json' });
  assert.equal(patched.json.status.podIP, '10.0.0.5');
});

test('delete of an object with finalizers sets deletionTimestamp; it goes when the last finalizer is removed', async () => {
  const created = (await s.request('POST', cms, { ...configMap('fin'), metadata: { name: 'fin', finalizers: ['example.com/keep'] } })).json;
  const marked = await s.request('DELETE', `${cms}/fin`);
  assert.equal(marked.status, 200);
  assert.ok(marked.json.metadata.deletionTimestamp);
  assert.equal((await s.request('GET', `${cms}/fin`)).status, 200);
  const released = await s.request('PATCH', `${cms}/fin`, { metadata: { finalizers: null } }, { contentType: 'application/merge-patch+json' });
  assert.equal(released.status, 200);
  assert.equal((await s.request('GET', `${cms}/fin`)).status, 404);
  const plain = await s.request('POST', cms, configMap('plain'));
  const gone = await s.request('DELETE', `${cms}/plain`, { kind: 'DeleteOptions', apiVersion: 'v1', preconditions: { uid: 'wrong' } });
  assert.equal(gone.status, 409);
  const ok = await s.request('DELETE', `${cms}/plain`, { kind: 'DeleteOptions', apiVersion: 'v1', propagationPolicy: 'Background', preconditions: { uid: plain.json.metadata.uid } });
  assert.equal(ok.json.status, 'Success');
  assert.equal(created.metadata.name, 'fin');
});

test('namespace deletion: Terminating, no new content (403), its objects removed, then the namespace; default may not be deleted', async () => {
  await s.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'doomed' } });
  await s.request('POST', '/api/v1/namespaces/doomed/configmaps', configMap('one'));
  // an object with a finalizer holds the namespace in Terminating until it is released
  await s.request('POST', '/api/v1/namespaces/doomed/configmaps', { ...configMap('held'), metadata: { name: 'held', finalizers: ['example.com/hold'] } });
  const deleting = await s.request('DELETE', '/api/v1/namespaces/doomed');
  assert.equal(deleting.json.status.phase, 'Terminating');
  const refused = await s.request('POST', '/api/v1/namespaces/doomed/configmaps', configMap('two'));
  assert.equal(refused.status, 403);
  assert.match(refused.json.message, /because it is being terminated/);
  await new Promise((r) => setTimeout(r, 50));
  assert.equal((await s.request('GET', '/api/v1/namespaces/doomed/configmaps/one')).status, 404);
  const held = await s.request('GET', '/api/v1/namespaces/doomed/configmaps/held');
  assert.ok(held.json.metadata.deletionTimestamp);
  assert.equal((await s.request('GET', '/api/v1/namespaces/doomed')).json.status.phase, 'Terminating');
  await s.request('PATCH', '/api/v1/namespaces/doomed/configmaps/held', { metadata: { finalizers: [] } }, { contentType: 'application/merge-patch+json' });
  for (let i = 0; i < 50 && (await s.request('GET', '/api/v1/namespaces/doomed')).status !== 404; i++) await new Promise((r) => setTimeout(r, 20));
  assert.equal((await s.request('GET', '/api/v1/namespaces/doomed')).status, 404);
  assert.equal((await s.request('GET', '/api/v1/namespaces/doomed/configmaps/one')).status, 404);
  const protectedNs = await s.request('DELETE', '/api/v1/namespaces/default');
  assert.equal(protectedNs.status, 403);
});

test('list: label selectors (=, !=, in, notin, exists, !exists), field selectors, unsupported fields 400, limit and continue', async () => {
  await s.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'sel' } });
  const path = '/api/v1/namespaces/sel/configmaps';
  await s.request('POST', path, configMap('c1', {}, { app: 'web', tier: 'front' }));
  await s.request('POST', path, configMap('c2', {}, { app: 'web' }));
  await s.request('POST', path, configMap('c3', {}, { app: 'db' }));
  const names = async (q: string) => (await s.request('GET', `${path}?${q}`)).json.items.map((i: any) => i.metadata.name);
  assert.deepEqual(await names('labelSelector=app%3Dweb'), ['c1', 'c2']);
  assert.deepEqual(await names('labelSelector=app%3D%3Dweb,tier'), ['c1']);
  assert.deepEqual(await names('labelSelector=app!%3Dweb'), ['c3']);
  assert.deepEqual(await names('labelSelector=app%20in%20(db,x)'), ['c3']);
  assert.deepEqual(await names('labelSelector=app%20notin%20(db)'), ['c1', 'c2']);
  assert.deepEqual(await names('labelSelector=!tier'), ['c2', 'c3']);
  assert.deepEqual(await names('fieldSelector=metadata.name%3Dc2'), ['c2']);
  assert.deepEqual(await names('fieldSelector=metadata.name!%3Dc2'), ['c1', 'c3']);
  const bad = await s.request('GET', `${path}?fieldSelector=spec.nodeName%3Dx`);
  assert.equal(bad.status, 400);
  assert.equal(bad.json.message, 'field label not supported: spec.nodeName');
  assert.equal((await s.request('GET', `${path}?labelSelector=a%20in%20b`)).status, 400);
  const page1 = await s.request('GET', `${path}?limit=2`);
  assert.equal(page1.json.items.length, 2);
  assert.equal(page1.json.metadata.remainingItemCount, 1);
  const page2 = await s.request('GET', `${path}?limit=2&continue=${page1.json.metadata.continue}`);
  assert.deepEqual(page2.json.items.map((i: any) => i.metadata.name), ['c3']);
  assert.equal(page2.json.metadata.continue, undefined);
  assert.equal((await s.request('GET', `${path}?continue=garbage`)).status, 400);
  assert.equal((await s.request('GET', `${path}?resourceVersion=abc`)).status, 400);
  // pods by node, across namespaces
  await s.request('POST', '/api/v1/namespaces/sel/pods', { ...pod('on-n1'), spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'x' }] } });
  await s.request('POST', '/api/v1/namespaces/default/pods', pod('nowhere'));
  const onNode = await s.request('GET', '/api/v1/pods?fieldSelector=spec.nodeName%3Dn1');
  assert.deepEqual(onNode.json.items.map((i: any) => i.metadata.name), ['on-n1']);
});

test('deletecollection removes what the selector matches', async () => {
  await s.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'coll' } });
  const path = '/api/v1/namespaces/coll/configmaps';
  await s.request('POST', path, configMap('k1', {}, { drop: 'yes' }));
  await s.request('POST', path, configMap('k2'));
  assert.equal((await s.request('DELETE', `${path}?labelSelector=drop`)).status, 200);
  assert.deepEqual((await s.request('GET', path)).json.items.map((i: any) => i.metadata.name), ['k2']);
});

test('a CRD is served once created (Established), validated by its schema, and its objects go with it', async () => {
  const crd = parseYaml(readFileSync('deploy/00-eniconfig-crd.yaml', 'utf8'));
  const created = await s.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  assert.equal(created.status, 201, created.text);
  assert.ok(created.json.status.conditions.some((c: any) => c.type === 'Established' && c.status === 'True'));
  const path = '/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs';
  const eni = parseYaml(readFileSync('test/fixtures/k8s/eniconfig-us-west-2a.yaml', 'utf8'));
  assert.equal((await s.request('POST', path, eni)).status, 201);
  const wrong = await s.request('POST', path, { ...eni, metadata: { name: 'bad' }, spec: { subnet: 7 } });
  assert.equal(wrong.status, 422);
  // kubectl 1.27+ asks for strict field validation: an undeclared field is refused, as the real server words it
  const extra = { ...eni, metadata: { name: 'extra' }, spec: { ...eni.spec, extra: 1 } };
  const strict = await s.request('POST', `${path}?fieldValidation=Strict`, extra);
  assert.equal(strict.status, 400);
  assert.equal(strict.json.message, 'ENIConfig in version "v1alpha1" cannot be handled as a ENIConfig: strict decoding error: unknown field "spec.extra"');
  const warned = await s.request('POST', path, extra);
  assert.equal(warned.status, 201);
  assert.equal(warned.headers['warning'], '299 - "unknown field \\"spec.extra\\""');
  assert.equal(warned.json.spec.extra, undefined);
  assert.equal(warned.json.metadata.generation, 1);
  await s.request('DELETE', `${path}/extra`);
  assert.equal((await s.request('GET', path)).json.items.length, 1);
  assert.equal((await s.request('DELETE', `/apis/apiextensions.k8s.io/v1/customresourcedefinitions/${crd.metadata.name}`)).status, 200);
  assert.equal((await s.request('GET', path)).status, 404);
  // created again, it starts empty
  await s.request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', crd);
  assert.deepEqual((await s.request('GET', path)).json.items, []);
});

test('Accept as=Table answers a meta.k8s.io/v1 Table with the type\'s columns', async () => {
  const table = await s.request('GET', '/api/v1/namespaces/default/pods', undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json' });
  assert.equal(table.json.kind, 'Table');
  assert.deepEqual(table.json.columnDefinitions.slice(0, 5).map((c: any) => c.name), ['Name', 'Ready', 'Status', 'Restarts', 'Age']);
  assert.ok(table.json.rows.length >= 1);
});

test('a mutating webhook is called on create and its JSONPatch applied before validation', async () => {
  const tls = await createServingMaterial(['127.0.0.1']);
  const seen: string[] = [];
  const hook = https.createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const review = JSON.parse(body);
      seen.push(`${review.request.operation} ${review.request.kind.kind}`);
      const patch = Buffer.from(JSON.stringify([{ op: 'add', path: '/metadata/labels', value: { mutated: 'yes' } }])).toString('base64');
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true, patchType: 'JSONPatch', patch } }));
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  try {
    const port = (hook.address() as AddressInfo).port;
    const config = {
      apiVersion: 'admissionregistration.k8s.io/v1',
      kind: 'MutatingWebhookConfiguration',
      metadata: { name: 'label-pods' },
      webhooks: [
        {
          name: 'label.example.com',
          admissionReviewVersions: ['v1'],
          sideEffects: 'None',
          clientConfig: { url: `https://127.0.0.1:${port}/mutate`, caBundle: Buffer.from(tls.caPem).toString('base64') },
          rules: [{ operations: ['CREATE'], apiGroups: [''], apiVersions: ['v1'], resources: ['pods'] }],
        },
      ],
    };
    const created = await s.request('POST', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations', config);
    assert.equal(created.status, 201, created.text);
    const p = await s.request('POST', '/api/v1/namespaces/default/pods', pod('hooked'));
    assert.equal(p.status, 201, p.text);
    assert.deepEqual(p.json.metadata.labels, { mutated: 'yes' });
    assert.deepEqual(seen, ['CREATE Pod']);
    await s.request('DELETE', '/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/label-pods');
  } finally {
    await new Promise((r) => hook.close(r));
  }
});

test('an emptied namespace loses its kubernetes finalizer; one with finalizers of its own stays until they are removed', async () => {
  await s.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'kept', finalizers: ['example.com/audit'] } });
  await s.request('DELETE', '/api/v1/namespaces/kept');
  let ns: any;
  for (let i = 0; i < 50; i++) {
    ns = (await s.request('GET', '/api/v1/namespaces/kept')).json;
    if (ns.spec.finalizers.length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.deepEqual(ns.spec.finalizers, []);
  assert.equal(ns.status.phase, 'Terminating');
  await s.request('PATCH', '/api/v1/namespaces/kept', { metadata: { finalizers: null } }, { contentType: 'application/merge-patch+json' });
  assert.equal((await s.request('GET', '/api/v1/namespaces/kept')).status, 404);
});
