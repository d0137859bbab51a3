import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import type { KubeNode, KubePod, PodSpec } from '../../../src/lab/control-plane-types.js';
import { startControlPlane, type ControlPlane } from '../../../src/lab/control-plane.js';
import { schedulePending } from '../../../src/lab/scheduler.js';
import { milliUnits } from '../../../src/lab/scheduler-fit.js';
import { startTestServer, type TestServer } from '../k8s-api/server-harness.js';

interface NodeOpts {
  labels?: Record<string, string>;
  pods?: number;
  ready?: boolean;
  unschedulable?: boolean;
  taints?: Array<{ key: string; value?: string; effect: string }>;
  allocatable?: Record<string, string>;
}

function node(name: string, o: NodeOpts = {}): KubeNode {
  return {
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...o.labels } },
    spec: { ...(o.unschedulable ? { unschedulable: true } : {}), ...(o.taints ? { taints: o.taints } : {}) },
    status: {
      allocatable: { pods: String(o.pods ?? 10), cpu: '2', memory: '4Gi', ...o.allocatable },
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

let clock = 0;
function pod(name: string, spec: Partial<PodSpec> = {}, phase = 'Pending'): KubePod {
  clock++;
  return {
    metadata: { name, namespace: 'default', creationTimestamp: `2026-12-04T10:00:${String(clock % 60).padStart(2, '0')}Z` },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec },
    status: { phase },
  };
}

const placed = (outcomes: ReturnType<typeof schedulePending>) => outcomes.map((o) => ('node' in o ? `${o.pod.metadata.name}→${o.node}` : `${o.pod.metadata.name}: ${o.unschedulable}`));

describe('scheduling decisions', () => {
  test('pods spread to the node with the fewest pods (ties by name); bound pods count, finished ones do not', () => {
    const nodes = [node('n1'), node('n2'), node('n3')];
    const pods = [pod('old', { nodeName: 'n1' }), pod('done', { nodeName: 'n2' }, 'Succeeded'), pod('a'), pod('b'), pod('c'), pod('d')];
    assert.deepEqual(placed(schedulePending(pods, nodes)), ['a→n2', 'b→n3', 'c→n1', 'd→n2']);
  });

  test("no fit: Kubernetes' FitError histogram, sorted as strings", () => {
    const nodes = [node('n1', { pods: 1, labels: { tier: 'web' } }), node('n2'), node('n3')];
    const pods = [pod('there', { nodeName: 'n1' }), pod('web', { nodeSelector: { tier: 'web' } })];
    assert.deepEqual(placed(schedulePending(pods, nodes)), ["web: 0/3 nodes are available: 1 Too many pods, 2 node(s) didn't match Pod's node affinity/selector."]);
    assert.deepEqual(placed(schedulePending([pod('x')], [])), ['x: no nodes available to schedule pods']);
  });

  test('taints against tolerations, a not-Ready node as tainted not-ready, a cordoned node', () => {
    const nodes = [
      node('gpu', { taints: [{ key: 'nvidia.com/gpu', value: 'true', effect: 'NoSchedule' }] }),
      node('soft', { taints: [{ key: 'spot', effect: 'PreferNoSchedule' }], ready: false }),
      node('cordoned', { unschedulable: true }),
    ];
    assert.deepEqual(placed(schedulePending([pod('p')], nodes)), [
      'p: 0/3 nodes are available: 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }, 1 node(s) had untolerated taint {nvidia.com/gpu: true}, 1 node(s) were unschedulable.',
    ]);
    const tolerant = pod('t', { tolerations: [{ key: 'nvidia.com/gpu', operator: 'Equal', value: 'true', effect: 'NoSchedule' }] });
    assert.deepEqual(placed(schedulePending([tolerant], nodes)), ['t→gpu']);
    assert.deepEqual(placed(schedulePending([pod('all', { tolerations: [{ operator: 'Exists' }] })], nodes)), ['all→cordoned']);
  });

  test('required node affinity: In, NotIn (absent label matches), Exists, Gt; terms are ORed', () => {
    const nodes = [node('a', { labels: { zone: 'us-west-2a', gen: '5' } }), node('b', { labels: { zone: 'us-west-2b', 'eks.amazonaws.com/compute-type': 'hybrid', gen: '7' } })];
    const affinity = (...terms: Array<Array<{ key: string; operator: string; values?: string[] }>>) => ({
      affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms.map((matchExpressions) => ({ matchExpressions })) } } },
    });
    // (a `fargate` node would be no candidate at all: scheduler-fit.ts isFargateNode)
    const notFargate = affinity([{ key: 'eks.amazonaws.com/compute-type', operator: 'NotIn', values: ['hybrid'] }]);
    const newer = affinity([{ key: 'gen', operator: 'Gt', values: ['6'] }]);
    const either = affinity([{ key: 'zone', operator: 'In', values: ['nowhere'] }], [{ key: 'gen', operator: 'Exists' }, { key: 'zone', operator: 'In', values: ['us-west-2a'] }]);
    assert.deepEqual(placed(schedulePending([pod('p1', notFargate), pod('p2', newer), pod('p3', either)], nodes)), ['p1→a', 'p2→b', 'p3→a']);
  });

  test('extended resources (vpc.amazonaws.com/pod-eni) and cpu requests count against allocatable', () => {
    const eni = { containers: [{ name: 'c', resources: { requests: { 'vpc.amazonaws.com/pod-eni': '1' } } }] };
    const nodes = [node('trunk', { allocatable: { 'vpc.amazonaws.com/pod-eni': '2' } }), node('plain')];
    assert.deepEqual(placed(schedulePending([pod('e1', eni), pod('e2', eni), pod('e3', eni)], nodes)), [
      'e1→trunk',
      'e2→trunk',
      'e3: 0/2 nodes are available: 2 Insufficient vpc.amazonaws.com/pod-eni.',
    ]);
    const big = { containers: [{ name: 'c', resources: { requests: { cpu: '1500m', memory: '1Gi' } } }] };
    assert.deepEqual(placed(schedulePending([pod('c1', big), pod('c2', big), pod('c3', big)], [node('n1'), node('n2')])), ['c1→n1', 'c2→n2', 'c3: 0/2 nodes are available: 2 Insufficient cpu.']);
    assert.deepEqual([milliUnits('100m'), milliUnits('1Ki'), milliUnits('2'), milliUnits('1e3'), milliUnits(3)], [100, 1024_000, 2000, 1_000_000, 3000]);
  });

  test('left alone: bound pods, other schedulers, gated, going and finished pods', () => {
    const pods = [
      pod('bound', { nodeName: 'n1' }),
      pod('other', { schedulerName: 'my-scheduler' }),
      pod('gated', { schedulingGates: [{ name: 'wait' }] }),
      { ...pod('going'), metadata: { ...pod('going').metadata, deletionTimestamp: '2026-12-04T10:00:00Z' } },
      pod('failed', {}, 'Failed'),
    ];
    assert.deepEqual(schedulePending(pods, [node('n1')]), []);
  });
});

describe('the scheduler against the API server', () => {
  let api: TestServer;
  let core: CoreV1Api;
  let cp: ControlPlane;
  const PODS = '/api/v1/namespaces/default/pods';

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
    for (const n of [node('n1', { pods: 2 }), node('n2', { pods: 2, labels: { role: 'edge' } })]) {
      const reply = await api.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', ...n });
      assert.equal(reply.status, 201, reply.text);
    }
    cp = startControlPlane({ kc, log: () => undefined, resyncMs: 200 });
    await cp.synced;
  });

  after(async () => {
    await cp.stop();
    await api.dispose();
  });

  const createPod = async (name: string, spec: Partial<PodSpec> = {}) => {
    const reply = await api.request('POST', PODS, { apiVersion: 'v1', kind: 'Pod', metadata: { name }, spec: { containers: [{ name: 'c', image: 'busybox' }], ...spec } });
    assert.equal(reply.status, 201, reply.text);
  };

  async function until<T>(what: string, read: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      const value = await read();
      if (value !== undefined) return value;
      if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  const nodeOf = async (name: string) => (await core.readNamespacedPod({ name, namespace: 'default' })).spec?.nodeName;

  test('pending pods are bound through pods/binding, spread, with a Scheduled event', async () => {
    await createPod('web-1');
    await createPod('web-2');
    const nodes = await until('both pods bound', async () => {
      const got = [await nodeOf('web-1'), await nodeOf('web-2')];
      return got.every(Boolean) ? got : undefined;
    });
    assert.deepEqual(nodes.sort(), ['n1', 'n2']);
    const pod = await core.readNamespacedPod({ name: 'web-1', namespace: 'default' });
    assert.equal(pod.status?.conditions?.find((c) => c.type === 'PodScheduled')?.status, 'True');
    const events = await until('the Scheduled event', async () => {
      const list = await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=web-1' });
      return list.items.length > 0 ? list.items : undefined;
    });
    assert.equal(events[0]?.reason, 'Scheduled');
    assert.equal(events[0]?.source?.component, 'default-scheduler');
    assert.equal(events[0]?.message, `Successfully assigned default/web-1 to ${await nodeOf('web-1')}`);
  });

  test('a pod that fits nowhere stays Pending with PodScheduled=False, Unschedulable, and one FailedScheduling event; it is bound once there is room', async () => {
    await createPod('edge-1', { nodeSelector: { role: 'edge' } });
    assert.equal(await until('edge-1 bound', nodeOf.bind(null, 'edge-1')), 'n2');
    await createPod('edge-2', { nodeSelector: { role: 'edge' } });
    const message = "0/2 nodes are available: 1 Too many pods, 1 node(s) didn't match Pod's node affinity/selector.";
    const condition = await until('the Unschedulable condition', async () => {
      const c = (await core.readNamespacedPod({ name: 'edge-2', namespace: 'default' })).status?.conditions?.find((x) => x.type === 'PodScheduled');
      return c?.status === 'False' ? c : undefined;
    });
    assert.deepEqual([condition.reason, condition.message], ['Unschedulable', message]);
    await new Promise((r) => setTimeout(r, 600)); // a few resync passes: the same reason is not said again
    const events = (await core.listNamespacedEvent({ namespace: 'default', fieldSelector: 'involvedObject.name=edge-2' })).items;
    assert.deepEqual(events.map((e) => [e.type, e.reason, e.message]), [['Warning', 'FailedScheduling', message]]);

    await core.deleteNamespacedPod({ name: 'edge-1', namespace: 'default' });
    assert.equal(await until('edge-2 bound after edge-1 went', nodeOf.bind(null, 'edge-2')), 'n2');
  });

  test('a pod deleted and created again under its name is judged again', async () => {
    const unschedulableCondition = async () => {
      const c = (await core.readNamespacedPod({ name: 'again', namespace: 'default' })).status?.conditions?.find((x) => x.type === 'PodScheduled');
      return c?.status === 'False' ? c : undefined;
    };
    await createPod('again', { nodeSelector: { role: 'nowhere' } });
    await until('the first Unschedulable condition', unschedulableCondition);
    await core.deleteNamespacedPod({ name: 'again', namespace: 'default' });
    await createPod('again', { nodeSelector: { role: 'nowhere' } });
    const condition = await until('the second Unschedulable condition', unschedulableCondition);
    assert.equal(condition.message, "0/2 nodes are available: 2 node(s) didn't match Pod's node affinity/selector.");
  });
});
