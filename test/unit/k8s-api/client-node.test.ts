/**
 * The API server through @kubernetes/client-node 1.4.0, unmodified, as podnet's own controllers will use it: the
 * admin kubeconfig the server writes, typed CRUD on built-in kinds, the three patch types (chosen the library's
 * way, `setHeaderOptions('Content-Type', PatchStrategy.…)`), a status subresource, a CRD's objects through
 * CustomObjectsApi, and an informer that keeps its cache right across a 410 Gone and a restart of the server on
 * the same database.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  ApiException,
  ApiextensionsV1Api,
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  ListWatch,
  PatchStrategy,
  RbacAuthorizationV1Api,
  Watch,
  makeInformer,
  setHeaderOptions,
  type V1ConfigMap,
  type V1Pod,
} from '@kubernetes/client-node';
import { eventually, kubeConfigWithToken, raw, sleep, startTestServer, type TestServer } from './client-node-harness.js';

/** A small watch history, so the informer test can push its version out of the window. */
const watchHistory = 50;
let server: TestServer;
let core: CoreV1Api;
let apps: AppsV1Api;

before(async () => {
  server = await startTestServer({ watchHistory });
  core = server.kc.makeApiClient(CoreV1Api);
  apps = server.kc.makeApiClient(AppsV1Api);
});
after(() => server.close());

const patchAs = (strategy: (typeof PatchStrategy)[keyof typeof PatchStrategy]) => setHeaderOptions('Content-Type', strategy);

/** The HTTP code client-node's ApiException carries, and the Status body's reason. */
async function refusal(call: Promise<unknown>): Promise<{ code: number; reason: string; message: string }> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof ApiException, `expected an ApiException, got ${String(err)}`);
    const body = typeof err.body === 'string' ? JSON.parse(err.body) : err.body;
    assert.equal(body?.kind, 'Status', `the refusal's body is a Status: ${JSON.stringify(err.body)}`);
    assert.equal(body.code, err.code);
    return { code: err.code, reason: body.reason, message: body.message };
  }
  assert.fail('the call succeeded');
}

async function namespace(name: string): Promise<string> {
  await core.createNamespace({ body: { metadata: { name } } });
  return name;
}

test('the kubeconfig the server writes works, and a wrong token is refused with 401', async () => {
  const list = await core.listNamespace();
  assert.ok(list.items.some((ns) => ns.metadata?.name === 'default'), 'the default namespace exists');
  assert.ok(Number(list.metadata?.resourceVersion) > 0);
  const stranger = kubeConfigWithToken(server, 'not-a-token').makeApiClient(CoreV1Api);
  // client-node drops a 401's body (the corpus checks it is a Status)
  await assert.rejects(stranger.listNamespace(), (err: unknown) => err instanceof ApiException && err.code === 401);
});

test('CRUD on ConfigMaps: create, get, list by label, update, 409 on a stale resourceVersion and on a second create, delete', async () => {
  const ns = await namespace('crud');
  const created = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'one', labels: { app: 'a' } }, data: { k: 'v' } } });
  assert.ok(created.metadata?.uid);
  assert.ok(created.metadata?.creationTimestamp);
  assert.match(created.metadata?.resourceVersion ?? '', /^\d+$/);
  await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'two', labels: { app: 'b' } } } });
  const generated = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { generateName: 'gen-' } } });
  assert.match(generated.metadata?.name ?? '', /^gen-[a-z0-9]{5}$/);

  const got = await core.readNamespacedConfigMap({ namespace: ns, name: 'one' });
  assert.deepEqual(got.data, { k: 'v' });
  const byLabel = await core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'app in (a)' });
  assert.deepEqual(byLabel.items.map((c) => c.metadata?.name), ['one']);
  const byField = await core.listNamespacedConfigMap({ namespace: ns, fieldSelector: 'metadata.name!=one' });
  assert.deepEqual(byField.items.map((c) => c.metadata?.name).sort(), [generated.metadata?.name, 'two'].sort());

  const replaced = await core.replaceNamespacedConfigMap({ namespace: ns, name: 'one', body: { ...got, data: { k: 'w' } } });
  assert.equal(replaced.data?.k, 'w');
  assert.ok(Number(replaced.metadata?.resourceVersion) > Number(got.metadata?.resourceVersion));
  const stale = await refusal(core.replaceNamespacedConfigMap({ namespace: ns, name: 'one', body: { ...got, data: { k: 'x' } } }));
  assert.deepEqual([stale.code, stale.reason], [409, 'Conflict']);
  const again = await refusal(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'one' } } }));
  assert.deepEqual([again.code, again.reason], [409, 'AlreadyExists']);

  await core.deleteNamespacedConfigMap({ namespace: ns, name: 'one' });
  const gone = await refusal(core.readNamespacedConfigMap({ namespace: ns, name: 'one' }));
  assert.deepEqual([gone.code, gone.reason], [404, 'NotFound']);
  assert.equal((await refusal(core.createNamespacedConfigMap({ namespace: 'no-such-ns', body: { metadata: { name: 'x' } } }))).code, 404);
});

test('a Pod is defaulted by the server; its status changes only through the status subresource; finalizers hold its deletion', async () => {
  const ns = await namespace('pods');
  const pod = await core.createNamespacedPod({
    namespace: ns,
    body: { metadata: { name: 'web', finalizers: ['example.com/hold'] }, spec: { containers: [{ name: 'c', image: 'nginx:1.27' }] } },
  });
  assert.equal(pod.spec?.restartPolicy, 'Always');
  assert.equal(pod.spec?.dnsPolicy, 'ClusterFirst');
  assert.equal(pod.spec?.containers[0]?.imagePullPolicy, 'IfNotPresent');
  assert.equal(pod.status?.phase, 'Pending');

  const ignored = await core.patchNamespacedPod({ namespace: ns, name: 'web', body: { status: { phase: 'Running' } } }, patchAs(PatchStrategy.MergePatch));
  assert.equal(ignored.status?.phase, 'Pending', 'the main resource ignores status');
  const running = await core.patchNamespacedPodStatus(
    { namespace: ns, name: 'web', body: { status: { phase: 'Running', podIP: '10.0.1.7' } } },
    patchAs(PatchStrategy.MergePatch),
  );
  assert.equal(running.status?.phase, 'Running');
  assert.equal(running.status?.podIP, '10.0.1.7');

  const invalid = await refusal(core.createNamespacedPod({ namespace: ns, body: { metadata: { name: 'Bad_Name' }, spec: { containers: [] } } }));
  assert.deepEqual([invalid.code, invalid.reason], [422, 'Invalid']);

  await core.deleteNamespacedPod({ namespace: ns, name: 'web' });
  const terminating = await core.readNamespacedPod({ namespace: ns, name: 'web' });
  assert.ok(terminating.metadata?.deletionTimestamp, 'a pod with a finalizer stays, with a deletionTimestamp');
  await core.patchNamespacedPod({ namespace: ns, name: 'web', body: [{ op: 'remove', path: '/metadata/finalizers' }] }, patchAs(PatchStrategy.JsonPatch));
  assert.equal((await refusal(core.readNamespacedPod({ namespace: ns, name: 'web' }))).code, 404);
});

test('merge, JSON and strategic merge patches each do what their content type says', async () => {
  const ns = await namespace('patches');
  await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'cm', labels: { keep: 'y', drop: 'y' } }, data: { a: '1', b: '2' } } });
  const merged = await core.patchNamespacedConfigMap(
    { namespace: ns, name: 'cm', body: { metadata: { labels: { drop: null } }, data: { a: null, c: '3' } } },
    patchAs(PatchStrategy.MergePatch),
  );
  assert.deepEqual(merged.data, { b: '2', c: '3' });
  assert.deepEqual(merged.metadata?.labels, { keep: 'y' });

  const jsonPatched = await core.patchNamespacedConfigMap(
    { namespace: ns, name: 'cm', body: [{ op: 'replace', path: '/data/b', value: '20' }, { op: 'add', path: '/metadata/labels/added', value: 'z' }] },
    patchAs(PatchStrategy.JsonPatch),
  );
  assert.deepEqual(jsonPatched.data, { b: '20', c: '3' });
  assert.equal(jsonPatched.metadata?.labels?.added, 'z');
  const failedTest = await refusal(
    core.patchNamespacedConfigMap({ namespace: ns, name: 'cm', body: [{ op: 'test', path: '/data/b', value: 'nope' }] }, patchAs(PatchStrategy.JsonPatch)),
  );
  assert.equal(failedTest.code, 422);

  // the seeds' change, the way `kubectl set env` sends it: the env list is merged by name, the container by name
  await apps.createNamespacedDaemonSet({
    namespace: ns,
    body: {
      metadata: { name: 'aws-node' },
      spec: {
        selector: { matchLabels: { 'k8s-app': 'aws-node' } },
        template: {
          metadata: { labels: { 'k8s-app': 'aws-node' } },
          spec: { containers: [{ name: 'aws-node', image: 'podnet:1', env: [{ name: 'WARM_ENI_TARGET', value: '1' }] }] },
        },
      },
    },
  });
  const strategic = await apps.patchNamespacedDaemonSet(
    {
      namespace: ns,
      name: 'aws-node',
      body: { spec: { template: { spec: { containers: [{ name: 'aws-node', env: [{ name: 'AWS_VPC_K8S_CNI_EXTERNALSNAT', value: 'true' }] }] } } } },
    },
    patchAs(PatchStrategy.StrategicMergePatch),
  );
  const container = strategic.spec?.template.spec?.containers[0];
  assert.equal(container?.image, 'podnet:1');
  assert.deepEqual(container?.env?.map((e) => `${e.name}=${e.value}`).sort(), ['AWS_VPC_K8S_CNI_EXTERNALSNAT=true', 'WARM_ENI_TARGET=1']);
  assert.equal(strategic.metadata?.generation, 2, 'a spec change bumps the generation');

  // the same body as a merge patch replaces the container list, and the container then lacks its image
  const replacedList = await refusal(
    apps.patchNamespacedDaemonSet(
      { namespace: ns, name: 'aws-node', body: { spec: { template: { spec: { containers: [{ name: 'aws-node', env: [] }] } } } } },
      patchAs(PatchStrategy.MergePatch),
    ),
  );
  assert.equal(replacedList.code, 422);
  const ssa = await refusal(apps.patchNamespacedDaemonSet({ namespace: ns, name: 'aws-node', body: {} }, patchAs(PatchStrategy.ServerSideApply)));
  assert.equal(ssa.code, 415);
});

test('a CRD (ENIConfig) is served from its definition: custom objects are created, validated, listed, patched and deleted', async () => {
  const ext = server.kc.makeApiClient(ApiextensionsV1Api);
  const custom = server.kc.makeApiClient(CustomObjectsApi);
  await ext.createCustomResourceDefinition({
    body: {
      metadata: { name: 'eniconfigs.crd.k8s.amazonaws.com' },
      spec: {
        group: 'crd.k8s.amazonaws.com',
        scope: 'Cluster',
        names: { plural: 'eniconfigs', singular: 'eniconfig', kind: 'ENIConfig', listKind: 'ENIConfigList' },
        versions: [
          {
            name: 'v1alpha1',
            served: true,
            storage: true,
            schema: {
              openAPIV3Schema: {
                type: 'object',
                properties: {
                  spec: { type: 'object', properties: { subnet: { type: 'string' }, securityGroups: { type: 'array', items: { type: 'string' } } } },
                  status: { type: 'object', properties: { state: { type: 'string' } } },
                },
              },
            },
          },
        ],
      },
    },
  });
  await eventually('the CRD to be Established', async () => {
    const crd = await ext.readCustomResourceDefinition({ name: 'eniconfigs.crd.k8s.amazonaws.com' });
    return crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True') ?? false;
  });
  const where = { group: 'crd.k8s.amazonaws.com', version: 'v1alpha1', plural: 'eniconfigs' };
  const created = await custom.createClusterCustomObject({
    ...where,
    body: { apiVersion: 'crd.k8s.amazonaws.com/v1alpha1', kind: 'ENIConfig', metadata: { name: 'us-west-2a' }, spec: { subnet: 'subnet-0a1', securityGroups: ['sg-1'], unknown: 'pruned' } },
  });
  assert.deepEqual(created.spec, { subnet: 'subnet-0a1', securityGroups: ['sg-1'] }, 'unknown fields are pruned');
  const wrongType = await refusal(
    custom.createClusterCustomObject({ ...where, body: { apiVersion: 'crd.k8s.amazonaws.com/v1alpha1', kind: 'ENIConfig', metadata: { name: 'b' }, spec: { subnet: 7 } } }),
  );
  assert.equal(wrongType.code, 422);
  const patched = await custom.patchClusterCustomObject({ ...where, name: 'us-west-2a', body: { spec: { subnet: 'subnet-0b2' } } }, patchAs(PatchStrategy.MergePatch));
  assert.equal(patched.spec.subnet, 'subnet-0b2');
  const list = await custom.listClusterCustomObject(where);
  assert.deepEqual(list.items.map((o: { metadata: { name: string } }) => o.metadata.name), ['us-west-2a']);
  const smp = await refusal(custom.patchClusterCustomObject({ ...where, name: 'us-west-2a', body: {} }, patchAs(PatchStrategy.StrategicMergePatch)));
  assert.equal(smp.code, 415, 'strategic merge patch is not served for custom resources, as in Kubernetes');
  await custom.deleteClusterCustomObject({ ...where, name: 'us-west-2a' });
  assert.equal((await refusal(custom.getClusterCustomObject({ ...where, name: 'us-west-2a' }))).code, 404);
});

test('an informer sees adds, updates and deletes, relists after 410 Gone, and carries on after a server restart on the same database', async () => {
  const ns = await namespace('informed');
  const path = `/api/v1/namespaces/${ns}/configmaps`;
  const informer = makeInformer<V1ConfigMap>(server.kc, path, () => core.listNamespacedConfigMap({ namespace: ns }));
  const events: string[] = [];
  let errors = 0;
  /** Whether an error (the server gone) restarts the informer: not while the test stops it on purpose. */
  let restartOnError = true;
  /** The newest version the informer was told of: where its watch resumes. */
  let seenVersion = '';
  const seen = (o: V1ConfigMap) => (seenVersion = o.metadata?.resourceVersion ?? seenVersion);
  informer.on('add', (o) => events.push(`add ${o.metadata?.name}`));
  informer.on('update', (o) => events.push(`update ${o.metadata?.name} ${o.data?.v}`));
  informer.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
  informer.on('change', seen);
  // client-node leaves restarting after an error to its user; this is the documented way
  informer.on('error', () => {
    errors++;
    if (restartOnError) setTimeout(() => void informer.start().catch(() => undefined), 100);
  });
  const cached = () => informer.list(ns).map((o) => `${o.metadata?.name}=${o.data?.v}`).sort();
  const stored = async () => (await core.listNamespacedConfigMap({ namespace: ns })).items.map((o) => `${o.metadata?.name}=${o.data?.v}`).sort();
  try {
    await informer.start();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'a' }, data: { v: '1' } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'b' }, data: { v: '1' } } });
    await core.patchNamespacedConfigMap({ namespace: ns, name: 'a', body: { data: { v: '2' } } }, patchAs(PatchStrategy.MergePatch));
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'b' });
    await eventually('the watch events', () => events.length === 4);
    assert.deepEqual(events, ['add a', 'add b', 'update a 2', 'delete b']);

    // 410: while the informer is stopped, more changes than the watch history holds; it resumes from its old version
    restartOnError = false;
    await informer.stop();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'c' }, data: { v: '1' } } });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'a' });
    const filler = await namespace('informed-filler');
    for (let i = 0; i < watchHistory + 10; i++) await core.createNamespacedConfigMap({ namespace: filler, body: { metadata: { name: `f${i}` } } });
    const expired = await raw(server, `${path}?watch=true&resourceVersion=${seenVersion}&timeoutSeconds=1`);
    assert.match(expired.text, /"code":410/, `a watch from the informer's old version is answered 410 Gone: ${expired.text.slice(0, 300)}`);
    events.length = 0;
    restartOnError = true;
    await informer.start();
    await eventually('the relist', async () => JSON.stringify(cached()) === JSON.stringify(await stored()));
    assert.deepEqual(events.sort(), ['add c', 'delete a']);
    assert.deepEqual(cached(), ['c=1']);

    // restart: the same kubeconfig (CA, token) works against the restarted server, and the informer catches up
    await server.stop();
    await core.listNamespace().then(
      () => assert.fail('the server is down'),
      () => undefined,
    );
    await sleep(300);
    await server.restart();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'd' }, data: { v: '1' } } });
    await core.patchNamespacedConfigMap({ namespace: ns, name: 'c', body: { data: { v: '2' } } }, patchAs(PatchStrategy.MergePatch));
    await eventually('the informer to catch up after the restart', async () => JSON.stringify(cached()) === JSON.stringify(await stored()));
    assert.deepEqual(cached(), ['c=2', 'd=1']);
    assert.ok(errors >= 1, 'the informer saw the server go away');
  } finally {
    restartOnError = false;
    await informer.stop();
  }
});

test('informers with selectors: an object whose labels stop matching is a delete, matching again an add; spec.nodeName picks one node\'s pods', async () => {
  const ns = await namespace('selected');
  const byLabel = makeInformer<V1ConfigMap>(server.kc, `/api/v1/namespaces/${ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: 'app=a' }), 'app=a');
  // what aws-node does: watch only the pods of its own node (client-node's ListWatch takes the field selector)
  const onNode = new ListWatch<V1Pod>(
    '/api/v1/pods',
    new Watch(server.kc),
    () => core.listPodForAllNamespaces({ fieldSelector: 'spec.nodeName=node-1' }),
    false,
    undefined,
    'spec.nodeName=node-1',
  );
  const events: string[] = [];
  byLabel.on('add', (o) => events.push(`add ${o.metadata?.name}`));
  byLabel.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
  const label = (app: string) =>
    core.patchNamespacedConfigMap({ namespace: ns, name: 'moving', body: { metadata: { labels: { app } } } }, patchAs(PatchStrategy.MergePatch));
  const pod = (name: string, nodeName: string) =>
    core.createNamespacedPod({ namespace: ns, body: { metadata: { name }, spec: { nodeName, containers: [{ name: 'c', image: 'pause:3.9' }] } } });
  try {
    await byLabel.start();
    await onNode.start();
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'moving', labels: { app: 'a' } } } });
    await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'other', labels: { app: 'b' } } } });
    await label('b');
    await label('a');
    await eventually('the label moves', () => events.length === 3);
    assert.deepEqual(events, ['add moving', 'delete moving', 'add moving']);
    await pod('here', 'node-1');
    await pod('there', 'node-2');
    await pod('also-here', 'node-1');
    await eventually('node-1\'s pods', () => onNode.list().length === 2);
    await sleep(200);
    assert.deepEqual(onNode.list().map((p) => p.metadata?.name).sort(), ['also-here', 'here']);
  } finally {
    await byLabel.stop();
    await onNode.stop();
  }
});

test('a service account\'s token (TokenRequest) can do what a RoleBinding grants and nothing else; deleting the account ends the token', async () => {
  const ns = await namespace('rbac');
  await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'reader' } } });
  const issued = await core.createNamespacedServiceAccountToken({ namespace: ns, name: 'reader', body: { spec: { audiences: [] } } });
  const token = issued.status?.token;
  assert.ok(token);
  const asReader = kubeConfigWithToken(server, token).makeApiClient(CoreV1Api);
  const denied = await refusal(asReader.listNamespacedConfigMap({ namespace: ns }));
  assert.equal(denied.code, 403);
  assert.equal(denied.message, `configmaps is forbidden: User "system:serviceaccount:${ns}:reader" cannot list resource "configmaps" in API group "" in the namespace "${ns}"`);

  const rbac = server.kc.makeApiClient(RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace: ns, body: { metadata: { name: 'cm-reader' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get', 'list'] }] } });
  await rbac.createNamespacedRoleBinding({
    namespace: ns,
    body: {
      metadata: { name: 'reader-reads' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'reader', namespace: ns }],
    },
  });
  await asReader.listNamespacedConfigMap({ namespace: ns });
  assert.equal((await refusal(asReader.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'x' } } }))).code, 403, 'get and list only');
  assert.equal((await refusal(asReader.listNamespacedConfigMap({ namespace: 'default' }))).code, 403, 'in its namespace only');

  await core.deleteNamespacedServiceAccount({ namespace: ns, name: 'reader' });
  await assert.rejects(asReader.listNamespacedConfigMap({ namespace: ns }), (err: unknown) => err instanceof ApiException && err.code === 401);
});
