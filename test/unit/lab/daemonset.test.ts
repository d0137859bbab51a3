import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { AppsV1Api, CoreV1Api, KubeConfig, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { parse } from 'yaml';
import type { KubeDaemonSet, KubeNode, KubePod } from '../../../src/lab/control-plane-types.js';
import { templateConfigProblems } from '../../../src/lab/daemonset-config.js';
import { decideDaemonSet, newDaemonPod, templateHash } from '../../../src/lab/daemonset.js';
import { startControlPlane, type ControlPlane } from '../../../src/lab/control-plane.js';
import { startTestServer, type TestServer } from '../k8s-api/server-harness.js';

const manifest = () => parse(readFileSync(new URL('../../../deploy/20-aws-node.yaml', import.meta.url), 'utf8')) as KubeDaemonSet;

function awsNode(env: Record<string, string> = {}, strategy?: KubeDaemonSet['spec']['updateStrategy']): KubeDaemonSet {
  const ds = manifest();
  // the API server counts template changes: a changed env is generation 2
  const generation = Object.keys(env).length > 0 ? 2 : 1;
  ds.metadata = { ...ds.metadata, uid: 'ds-uid', generation, annotations: { 'deprecated.daemonset.template.generation': String(generation) } };
  if (strategy) ds.spec.updateStrategy = strategy;
  const container = ds.spec.template.spec.containers[0]!;
  for (const [name, value] of Object.entries(env)) {
    container.env = [...(container.env ?? []).filter((e) => e.name !== name), { name, value }];
  }
  return ds;
}

function node(name: string, labels: Record<string, string> = { 'kubernetes.io/os': 'linux' }): KubeNode {
  return { metadata: { name, labels }, status: { allocatable: { pods: '10' }, conditions: [{ type: 'Ready', status: 'True' }] } };
}

/** The pod the controller would have created on node, as the server stores it (named), Ready or not. */
function daemonPod(ds: KubeDaemonSet, nodeName: string, ready: boolean, suffix = 'x'): KubePod {
  const pod = newDaemonPod(ds, nodeName, templateHash(ds));
  return {
    ...pod,
    metadata: { ...pod.metadata, name: `aws-node-${nodeName}${suffix}`, uid: `${nodeName}${suffix}`, creationTimestamp: '2026-12-04T10:00:00Z' },
    status: { phase: 'Running', conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] },
  };
}

const names = (plan: ReturnType<typeof decideDaemonSet>) => plan.delete.map((d) => d.pod.metadata.name).sort();

describe('DaemonSet decisions', () => {
  test('one pod per selected node, bound to it, owned, labelled, tolerating node problems; status counts', () => {
    const ds = awsNode();
    const nodes = [node('n1'), node('n2'), node('win', { 'kubernetes.io/os': 'windows' })];
    const plan = decideDaemonSet(ds, nodes, [daemonPod(ds, 'n1', true)], [], Date.now());
    assert.deepEqual(plan.create, ['n2']);
    assert.deepEqual(plan.delete, []);
    assert.deepEqual(plan.status, { currentNumberScheduled: 1, desiredNumberScheduled: 2, numberMisscheduled: 0, numberReady: 1, numberAvailable: 1, updatedNumberScheduled: 1, numberUnavailable: 1, observedGeneration: 1 });
    const pod = newDaemonPod(ds, 'n2', plan.hash);
    assert.equal(pod.metadata.generateName, 'aws-node-');
    assert.equal(pod.spec.nodeName, 'n2');
    assert.deepEqual(pod.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'aws-node', uid: 'ds-uid', controller: true, blockOwnerDeletion: true }]);
    assert.deepEqual([pod.metadata.labels?.['controller-revision-hash'], pod.metadata.labels?.['pod-template-generation'], pod.metadata.labels?.['k8s-app']], [plan.hash, '1', 'aws-node']);
    assert.match(plan.hash, /^[bcdfghjklmnpqrstvwxz2456789]{10}$/);
    assert.ok(pod.spec.tolerations?.some((t) => t.key === 'node.kubernetes.io/network-unavailable'), 'a hostNetwork pod tolerates network-unavailable');
  });

  test('a node that stops matching loses its pod (misscheduled); pods of a gone node and failed pods go', () => {
    const ds = awsNode();
    const pods = [daemonPod(ds, 'n1', true), daemonPod(ds, 'gone', true), { ...daemonPod(ds, 'n2', false), status: { phase: 'Failed' } }];
    const plan = decideDaemonSet(ds, [node('n1', { 'kubernetes.io/os': 'windows' }), node('n2')], pods, [], Date.now());
    assert.deepEqual(names(plan), ['aws-node-gonex', 'aws-node-n1x', 'aws-node-n2x']);
    assert.equal(plan.status.numberMisscheduled, 1);
    assert.deepEqual(plan.create, [], 'the failed pod is replaced once it is gone');
  });

  test('RollingUpdate: old pods are replaced maxUnavailable nodes at a time, waiting for the new pods to be available', () => {
    const old = awsNode();
    const ds = awsNode({ AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' }, { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: 1 } });
    const nodes = [node('n1'), node('n2'), node('n3')];
    const allOld = nodes.map((n) => daemonPod(old, n.metadata.name, true));
    assert.deepEqual(names(decideDaemonSet(ds, nodes, allOld, [], Date.now())), ['aws-node-n1x']);
    // n1's new pod is not Ready yet: nothing more goes
    const midway = [daemonPod(ds, 'n1', false, 'y'), ...allOld.slice(1)];
    const waiting = decideDaemonSet(ds, nodes, midway, [], Date.now());
    assert.deepEqual([names(waiting), waiting.status.updatedNumberScheduled], [[], 1]);
    // 10% of 3 nodes rounds up to 1; 50% to 2
    assert.equal(decideDaemonSet({ ...ds, spec: { ...ds.spec, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '50%' } } } }, nodes, allOld, [], Date.now()).delete.length, 2);
    // an old pod that is not available is replaced at once, beside the budget
    const broken = [daemonPod(old, 'n1', false), ...allOld.slice(1)];
    assert.deepEqual(names(decideDaemonSet(ds, nodes, broken, [], Date.now())), ['aws-node-n1x', 'aws-node-n2x']);
    // OnDelete: nothing is replaced until deleted by hand; an empty node gets the new template
    const onDelete = { ...ds, spec: { ...ds.spec, updateStrategy: { type: 'OnDelete' } } };
    const plan = decideDaemonSet(onDelete, nodes, allOld.slice(1), [], Date.now());
    assert.deepEqual([names(plan), plan.create], [[], ['n1']]);
  });

  test("podnet config's verdict on the template: deploy/ passes; an invalid env stops the rollout, with a condition", () => {
    assert.deepEqual(templateConfigProblems(awsNode()), []);
    const bad = awsNode({ ENABLE_IPv6: 'true' });
    const problems = templateConfigProblems(bad);
    assert.deepEqual(problems.map((p) => p.split(':')[0]), ['ENABLE_IPv6', 'ENABLE_IPv6', 'ENABLE_IPv6']);
    assert.match(problems[0]!, /^ENABLE_IPv6: ENABLE_IPv4 and ENABLE_IPv6 are both true; ipamd supports one family per cluster and fails to start — set ENABLE_IPv4=false/);
    const nodes = [node('n1'), node('n2')];
    const plan = decideDaemonSet(bad, nodes, [daemonPod(awsNode(), 'n1', true)], problems, Date.parse('2026-12-04T10:00:00Z'));
    assert.deepEqual([plan.create, plan.delete], [[], []]);
    const condition = plan.status.conditions?.[0];
    assert.deepEqual([condition?.type, condition?.status, condition?.reason, condition?.lastTransitionTime], ['PodnetConfigValid', 'False', 'InvalidConfiguration', '2026-12-04T10:00:00Z']);
    assert.equal(plan.status.observedGeneration, 2);
    assert.match(condition?.message ?? '', /^podnet config refuses the pod template, so it is not rolled out and the old pods keep running: ENABLE_IPv6: /);
  });
});

describe('the DaemonSet controller against the API server', () => {
  let api: TestServer;
  let core: CoreV1Api;
  let appsApi: AppsV1Api;
  let cp: ControlPlane;
  const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
  const strategicPatch = setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch);

  before(async () => {
    api = await startTestServer();
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'lab', server: api.url, caData: Buffer.from(api.caPem).toString('base64') }],
      users: [{ name: 'admin', token: api.adminToken }],
      contexts: [{ name: 'lab', cluster: 'lab', user: 'admin' }],
      currentContext: 'lab',
    });
    core = kc.makeApiClient(CoreV1Api);
    appsApi = kc.makeApiClient(AppsV1Api);
    for (const n of [node('n1'), node('n2'), node('win', { 'kubernetes.io/os': 'windows' })]) {
      assert.equal((await api.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', ...n })).status, 201);
    }
    cp = startControlPlane({ kc, log: () => undefined, resyncMs: 200 });
    await cp.synced;
  });

  after(async () => {
    await cp.stop();
    await api.dispose();
  });

  async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (value !== undefined) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const daemonPods = async () => (await core.listNamespacedPod({ namespace: 'kube-system', labelSelector: 'k8s-app=aws-node' })).items;
  /** What the kubelet would do once ipamd answers: the pod Running and Ready. */
  const markReady = async (pods: V1Pod[]) => {
    for (const p of pods) {
      if (p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) continue;
      const status = { phase: 'Running', conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: new Date().toISOString() }] };
      await core.patchNamespacedPodStatus({ name: p.metadata!.name!, namespace: 'kube-system', body: { status } }, mergePatch);
    }
  };
  const status = async () => (await appsApi.readNamespacedDaemonSetStatus({ name: 'aws-node', namespace: 'kube-system' })).status;
  const setEnv = (name: string, value: string) =>
    appsApi.patchNamespacedDaemonSet({ name: 'aws-node', namespace: 'kube-system', body: { spec: { template: { spec: { containers: [{ name: 'aws-node', env: [{ name, value }] }] } } } } }, strategicPatch);

  test('deploy/ aws-node: a pod on each Linux node, the status kubectl rollout status reads, a rolling update node by node', async () => {
    const created = await api.request('POST', '/apis/apps/v1/namespaces/kube-system/daemonsets', manifest());
    assert.equal(created.status, 201, created.text);
    const first = await until('two daemon pods', async () => ((await daemonPods()).length === 2 ? daemonPods() : undefined));
    assert.deepEqual(first.map((p) => p.spec?.nodeName).sort(), ['n1', 'n2']);
    assert.ok(first.every((p) => /^aws-node-[a-z0-9]{5}$/.test(p.metadata!.name!)), first.map((p) => p.metadata?.name).join());
    await markReady(first);
    const s = await until('status: 2 ready', async () => ((await status())?.numberAvailable === 2 ? status() : undefined));
    assert.deepEqual([s?.desiredNumberScheduled, s?.currentNumberScheduled, s?.numberReady, s?.updatedNumberScheduled, s?.numberMisscheduled, s?.observedGeneration], [2, 2, 2, 2, 0, 1]);
    const events = (await core.listNamespacedEvent({ namespace: 'kube-system', fieldSelector: 'involvedObject.name=aws-node' })).items;
    assert.deepEqual(events.map((e) => e.reason), ['SuccessfulCreate', 'SuccessfulCreate']);

    // the seeds' `kubectl set env daemonset aws-node AWS_VPC_K8S_CNI_EXTERNALSNAT=true`
    await setEnv('AWS_VPC_K8S_CNI_EXTERNALSNAT', 'true');
    const oldNames = first.map((p) => p.metadata!.name!);
    const midway = await until('one node replaced', async () => {
      const pods = await daemonPods();
      const fresh = pods.filter((p) => !oldNames.includes(p.metadata!.name!));
      return fresh.length === 1 ? pods : undefined;
    });
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((await daemonPods()).filter((p) => oldNames.includes(p.metadata!.name!)).length, 1, 'the second old pod waits for the new one to be Ready');
    assert.equal(midway.find((p) => !oldNames.includes(p.metadata!.name!))?.metadata?.labels?.['pod-template-generation'], '2');
    await markReady(await daemonPods());
    const replaced = await until('both nodes replaced', async () => {
      const pods = await daemonPods();
      await markReady(pods);
      return pods.length === 2 && pods.every((p) => !oldNames.includes(p.metadata!.name!)) ? pods : undefined;
    });
    assert.ok(replaced.every((p) => p.spec?.containers[0]?.env?.some((e) => e.name === 'AWS_VPC_K8S_CNI_EXTERNALSNAT' && e.value === 'true')));
    const done = await until('status: 2 updated and available', async () => {
      const st = await status();
      return st?.updatedNumberScheduled === 2 && st.numberAvailable === 2 && st.observedGeneration === 2 ? st : undefined;
    });
    assert.equal(done?.numberUnavailable, 0);
  });

  test('a failed daemon pod is deleted and replaced on its node (after a backoff)', async () => {
    const [victim] = await daemonPods();
    await core.patchNamespacedPodStatus({ name: victim!.metadata!.name!, namespace: 'kube-system', body: { status: { phase: 'Failed', conditions: [] } } }, mergePatch);
    const replacement = await until('a new pod on the node', async () => {
      const pods = await daemonPods();
      return pods.find((p) => p.spec?.nodeName === victim!.spec?.nodeName && p.metadata?.name !== victim!.metadata?.name);
    });
    assert.equal(replacement.status?.phase, 'Pending');
    assert.ok(!(await daemonPods()).some((p) => p.metadata?.name === victim!.metadata?.name));
    await markReady([replacement]);
  });

  test('an env podnet config refuses: no rollout, a Warning event and a condition; the old pods stay', async () => {
    const before = (await daemonPods()).map((p) => p.metadata!.name!).sort();
    await setEnv('ENABLE_IPv6', 'true');
    const event = await until('the Warning event', async () => {
      const list = await core.listNamespacedEvent({ namespace: 'kube-system', fieldSelector: 'involvedObject.name=aws-node' });
      return list.items.find((e) => e.type === 'Warning');
    });
    assert.equal(event.reason, 'InvalidConfiguration');
    assert.match(event.message ?? '', /not rolled out and the old pods keep running: ENABLE_IPv6: ENABLE_IPv4 and ENABLE_IPv6 are both true/);
    const condition = (await status())?.conditions?.find((c) => c.type === 'PodnetConfigValid');
    assert.equal(condition?.status, 'False');
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual((await daemonPods()).map((p) => p.metadata!.name!).sort(), before);
    // fixed again: the condition goes
    await setEnv('ENABLE_IPv6', 'false');
    await until('the condition cleared', async () => ((await status())?.conditions?.length ?? 0) === 0 || undefined);
  });

  test('a deleted DaemonSet takes its pods with it', async () => {
    await appsApi.deleteNamespacedDaemonSet({ name: 'aws-node', namespace: 'kube-system' });
    await until('no daemon pods', async () => ((await daemonPods()).length === 0 ? true : undefined));
  });
});
