import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { mergePatch } from '../../../src/k8s/index.js';
import type { KubeNode, KubePod } from '../../../src/lab/control-plane-types.js';
import { startControlPlane, type ControlPlane, type FargateHook } from '../../../src/lab/control-plane.js';
import {
  COMPUTE_TYPE_LABEL,
  decideFargate,
  FARGATE_POD_ANNOTATION,
  FARGATE_PROFILE_LABEL,
  fargateFirstSight,
  fargateMatch,
  fargateNodeId,
  fargateNodeName,
  fargateNodeObject,
  fargateSubnet,
  type FargateAction,
  type FargateRecord,
} from '../../../src/lab/fargate.js';
import { fargateContainerRuns } from '../../../src/lab/kubelet-fargate.js';
import { podStatus } from '../../../src/lab/kubelet-pod.js';
import { schedulePending } from '../../../src/lab/scheduler.js';
import { fargateLimits } from '../../../src/limits/index.js';
import type { EksCluster, EksFargateProfile } from '../../../src/vpc/index.js';
import { startTestServer, type TestServer } from '../k8s-api/server-harness.js';

function profile(name: string, selectors: EksFargateProfile['selectors'], o: Partial<EksFargateProfile> = {}): EksFargateProfile {
  return { name, subnetIds: ['subnet-b', 'subnet-a'], selectors, status: 'ACTIVE', ...o };
}

function cluster(profiles: EksFargateProfile[], status: EksCluster['status'] = 'ACTIVE'): EksCluster {
  return {
    name: 'lab',
    arn: 'arn:aws:eks:us-west-2:111122223333:cluster/lab',
    version: '1.33',
    status,
    vpcId: 'vpc-1',
    subnetIds: ['subnet-a', 'subnet-b'],
    hostname: 'ABC.gr7.us-west-2.eks.amazonaws.com',
    clusterSecurityGroupId: 'sg-cluster',
    securityGroupIds: [],
    enis: [],
    publicAddress: '203.0.113.9',
    endpointPublicAccess: true,
    endpointPrivateAccess: false,
    publicAccessCidrs: ['0.0.0.0/0'],
    fargateProfiles: profiles,
  };
}

function pod(name: string, o: { namespace?: string; labels?: Record<string, string>; uid?: string; nodeName?: string; phase?: string; deleting?: boolean } = {}): KubePod {
  return {
    metadata: { name, namespace: o.namespace ?? 'default', uid: o.uid ?? `uid-${name}`, labels: o.labels ?? {}, creationTimestamp: '2026-12-04T10:00:00Z', ...(o.deleting ? { deletionTimestamp: '2026-12-04T10:01:00Z' } : {}) },
    spec: { containers: [{ name: 'c', image: 'busybox' }], ...(o.nodeName ? { nodeName: o.nodeName } : {}) },
    status: { phase: o.phase ?? 'Pending' },
  };
}

function regularNode(name: string): KubeNode {
  return { metadata: { name, labels: { 'kubernetes.io/hostname': name } }, spec: {}, status: { allocatable: { pods: '10', cpu: '2', memory: '4Gi' }, conditions: [{ type: 'Ready', status: 'True' }] } };
}

function fargateNode(podUid: string, ip: string, ready = true): KubeNode {
  const o = fargateNodeObject({ nodeName: fargateNodeName(ip, 'us-west-2'), ip, zone: 'us-west-2a', region: 'us-west-2', podUid, eniId: 'eni-f', profile: 'web', kubeletVersion: 'v1.33.0', kernelVersion: '6.1' });
  return { ...o, status: { ...o.status, conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }] } } as unknown as KubeNode;
}

const record = (p: KubePod, extra: Partial<FargateRecord> = {}): FargateRecord => ({
  id: fargateNodeId(p.metadata.uid!),
  ns: `pn-f-${fargateNodeId(p.metadata.uid!)}`,
  podUid: p.metadata.uid!,
  pod: { namespace: p.metadata.namespace ?? 'default', name: p.metadata.name },
  cluster: 'lab',
  profile: 'web',
  subnetId: 'subnet-a',
  ...extra,
});

describe('Fargate decisions', () => {
  const clusters = [cluster([profile('web', [{ namespace: 'web' }]), profile('batch', [{ namespace: 'default', labels: { compute: 'fargate' } }])])];

  test('a profile takes a pod by namespace and every selector label; only ACTIVE profiles of ACTIVE or UPDATING clusters', () => {
    assert.equal(fargateMatch(clusters, pod('a', { namespace: 'web' }))?.profile.name, 'web');
    assert.equal(fargateMatch(clusters, pod('b', { labels: { compute: 'fargate', x: 'y' } }))?.profile.name, 'batch');
    assert.equal(fargateMatch(clusters, pod('c', { labels: { compute: 'ec2' } })), undefined);
    assert.equal(fargateMatch(clusters, pod('d')), undefined);
    assert.equal(fargateMatch([cluster([profile('web', [{ namespace: 'web' }], { status: 'CREATING' })])], pod('a', { namespace: 'web' })), undefined);
    assert.equal(fargateMatch([cluster([profile('web', [{ namespace: 'web' }])], 'CREATING')], pod('a', { namespace: 'web' })), undefined);
    assert.equal(fargateMatch([cluster([profile('web', [{ namespace: 'web' }])], 'DELETING')], pod('a', { namespace: 'web' })), undefined);
    // an update (the endpoint's access, say) keeps the control plane serving: its Fargate webhook still decides
    assert.equal(fargateMatch([cluster([profile('web', [{ namespace: 'web' }])], 'UPDATING')], pod('a', { namespace: 'web' }))?.profile.name, 'web');
    // the profile label EKS reads chooses among matching profiles
    const two = [cluster([profile('a-first', [{ namespace: 'web' }]), profile('z-chosen', [{ namespace: 'web' }])])];
    assert.equal(fargateMatch(two, pod('p', { namespace: 'web' }))?.profile.name, 'a-first');
    assert.equal(fargateMatch(two, pod('p', { namespace: 'web', labels: { [FARGATE_PROFILE_LABEL]: 'z-chosen' } }))?.profile.name, 'z-chosen');
  });

  test('node names and ids: fargate-ip-… from the address, 10 hex from the uid, a subnet from the profile by uid', () => {
    assert.equal(fargateNodeName('10.0.16.4', 'us-west-2'), 'fargate-ip-10-0-16-4.us-west-2.compute.internal');
    assert.match(fargateNodeId('some-uid'), /^[0-9a-f]{10}$/);
    assert.equal(fargateNodeId('some-uid'), fargateNodeId('some-uid'));
    const p = profile('web', [{ namespace: 'web' }]);
    const picks = new Set(Array.from({ length: 40 }, (_, i) => fargateSubnet(p, `uid-${i}`)));
    assert.deepEqual([...picks].sort(), ['subnet-a', 'subnet-b']);
    assert.equal(fargateSubnet(p, 'uid-1'), fargateSubnet(p, 'uid-1'));
    assert.equal(fargateSubnet({ ...p, subnetIds: [] }, 'uid-1'), undefined);
  });

  test('first sight decides once: a pending pod a profile takes is marked with it; marked, placed or foreign pods are not', () => {
    assert.equal(fargateFirstSight(clusters, pod('a', { namespace: 'web' })), 'web');
    assert.equal(fargateFirstSight(clusters, pod('b', { labels: { compute: 'fargate' } })), 'batch');
    assert.equal(fargateFirstSight(clusters, pod('plain')), undefined);
    assert.equal(fargateFirstSight(clusters, pod('a', { namespace: 'web', nodeName: 'n1', phase: 'Running' })), undefined);
    assert.equal(fargateFirstSight(clusters, pod('a', { namespace: 'web', labels: { [FARGATE_PROFILE_LABEL]: 'web' } })), undefined);
    const other = pod('a', { namespace: 'web' });
    assert.equal(fargateFirstSight(clusters, { ...other, spec: { ...other.spec, schedulerName: 'my-scheduler' } }), undefined);
  });

  test('a pod first seen while the cluster is UPDATING (the control plane read it during an endpoint update) is still Fargate\'s', () => {
    const updating = [cluster([profile('batch', [{ namespace: 'default', labels: { compute: 'fargate' } }])], 'UPDATING')];
    assert.equal(fargateFirstSight(updating, pod('web-fargate', { labels: { compute: 'fargate' } })), 'batch');
    // and its node is started, bound and kept through the update rather than stopped as orphaned
    const marked = pod('web-fargate', { labels: { compute: 'fargate', [FARGATE_PROFILE_LABEL]: 'batch' } });
    assert.deepEqual(decideFargate([marked], [], updating, []).map((a) => a.kind), ['start']);
    const rec = record(marked, { profile: 'batch' });
    assert.deepEqual(decideFargate([marked], [fargateNode('uid-web-fargate', '10.0.32.7')], updating, [rec]).map((a) => a.kind), ['bind', 'ensure']);
  });

  test('marked pods only: start, bind once its node is Ready, ensure while it lives, stop when the pod goes; a gone profile: wait', () => {
    const web = pod('a', { namespace: 'web', labels: { [FARGATE_PROFILE_LABEL]: 'web' } });
    const kinds = (actions: FargateAction[]) =>
      actions.map((a) => (a.kind === 'bind' ? `bind ${a.pod.metadata.name}→${a.node}` : a.kind === 'wait' ? `wait ${a.pod.metadata.name}` : `${a.kind} ${a.record.pod.name}${a.kind === 'stop' ? `: ${a.why}` : ''}`));
    // an unmarked pod a profile would take now is the default scheduler's (it was seen before the profile existed)
    assert.deepEqual(kinds(decideFargate([pod('a', { namespace: 'web' }), pod('plain')], [regularNode('n1')], clusters, [])), []);
    const start = decideFargate([web, pod('plain')], [regularNode('n1')], clusters, []);
    assert.deepEqual(kinds(start), ['start a']);
    const s = start[0] as Extract<FargateAction, { kind: 'start' }>;
    assert.equal(s.securityGroupId, 'sg-cluster');
    assert.equal(s.record.ns, `pn-f-${fargateNodeId('uid-a')}`);
    assert.equal(s.record.profile, 'web');
    // started, node not Ready yet: only the check that its kubelet runs
    assert.deepEqual(kinds(decideFargate([web], [fargateNode('uid-a', '10.0.32.5', false)], clusters, [record(web)])), ['ensure a']);
    assert.deepEqual(kinds(decideFargate([web], [fargateNode('uid-a', '10.0.32.5')], clusters, [record(web)])), ['bind a→fargate-ip-10-0-32-5.us-west-2.compute.internal', 'ensure a']);
    // a Ready Fargate node of another pod is not this pod's
    assert.deepEqual(kinds(decideFargate([web], [fargateNode('uid-other', '10.0.32.6')], clusters, [record(web)])), ['ensure a']);
    // bound and running: ensure (a restarted control plane restarts a dead kubelet); gone, going or finished: stop
    const bound = { ...web, spec: { ...web.spec, nodeName: 'fargate-ip-10-0-32-5.us-west-2.compute.internal' }, status: { phase: 'Running' } };
    assert.deepEqual(kinds(decideFargate([bound], [], clusters, [record(web)])), ['ensure a']);
    assert.deepEqual(kinds(decideFargate([], [], clusters, [record(web)])), ['stop a: its pod is gone']);
    assert.deepEqual(kinds(decideFargate([{ ...bound, metadata: { ...bound.metadata, deletionTimestamp: 'x' } }], [], clusters, [record(web)])), ['stop a: its pod is being deleted']);
    assert.deepEqual(kinds(decideFargate([{ ...bound, status: { phase: 'Succeeded' } }], [], clusters, [record(web)])), ['stop a: its pod has Succeeded']);
    // a marked pending pod whose profile went: its node goes, the pod waits (never the default scheduler's)
    assert.deepEqual(kinds(decideFargate([web], [], [cluster([])], [record(web)])), ['wait a', 'stop a: no ACTIVE Fargate profile takes its pod any more']);
    assert.deepEqual(kinds(decideFargate([web], [], [cluster([profile('web', [{ namespace: 'web' }], { status: 'DELETING' })])], [])), ['wait a']);
    const waiting = decideFargate([web], [], [], [])[0] as Extract<FargateAction, { kind: 'wait' }>;
    assert.match(waiting.why, /Fargate profile web .*stays Pending/);
  });

  test("the Fargate node: EKS's label and taint, one pod, the ENI's address; the default scheduler never uses it", () => {
    const n = fargateNode('uid-a', '10.0.32.5');
    assert.equal(n.metadata.labels?.[COMPUTE_TYPE_LABEL], 'fargate');
    assert.equal(n.metadata.annotations?.[FARGATE_POD_ANNOTATION], 'uid-a');
    assert.deepEqual(n.spec?.taints, [{ key: 'eks.amazonaws.com/compute-type', value: 'fargate', effect: 'NoSchedule' }]);
    assert.equal(n.status?.allocatable?.['pods'], '1');
    assert.deepEqual((n.status as { addresses: Array<{ type: string; address: string }> }).addresses[0], { type: 'InternalIP', address: '10.0.32.5' });
    // Fargate nodes are no candidates of the default scheduler at all, even for a pod tolerating every taint (before
    // the Fargate pod's binding its node looks empty)
    const tolerant = { ...pod('y'), spec: { ...pod('y').spec, tolerations: [{ operator: 'Exists' }] } };
    const only = schedulePending([pod('x'), tolerant], [n]);
    assert.deepEqual(only.map((o) => ('unschedulable' in o ? o.unschedulable : o.node)), ['no nodes available to schedule pods', 'no nodes available to schedule pods']);
    const beside = schedulePending([tolerant], [n, regularNode('n9')]);
    assert.deepEqual(beside.map((o) => ('unschedulable' in o ? o.unschedulable : o.node)), ['n9']);
  });

  test("the pod's status on its Fargate node: Running, its IP the node's", () => {
    const p = { metadata: { name: 'a', namespace: 'web', uid: 'u' }, spec: { initContainers: [{ name: 'i', image: 'busybox' }], containers: [{ name: 'c', image: 'nginx' }] } };
    const runs = fargateContainerRuns(p, '2026-12-04T10:00:00Z');
    const s = podStatus({ hostIP: '10.0.32.5', podIP: '10.0.32.5', startTime: '2026-12-04T10:00:00Z', initContainers: runs.init, containers: runs.main, initialized: true, now: '2026-12-04T10:00:01Z' });
    assert.equal(s.phase, 'Running');
    assert.equal(s.podIP, '10.0.32.5');
    assert.equal(s.hostIP, '10.0.32.5');
    assert.equal(s.conditions.find((c) => c.type === 'Ready')?.status, 'True');
    assert.ok(s.initContainerStatuses?.[0]?.state && 'terminated' in s.initContainerStatuses[0].state);
  });

  test('max pods on Fargate: one', () => {
    assert.equal(fargateLimits().maxPods, 1);
    assert.match(fargateLimits().formula, /1 pod per Fargate node/);
  });
});

describe('the control plane with Fargate, against the API server', () => {
  let api: TestServer;
  let core: CoreV1Api;
  let cp: ControlPlane;
  const records = new Map<string, FargateRecord>();
  const acted: string[] = [];
  let nextIp = 10;
  let clusters: EksCluster[] | undefined = [cluster([profile('web', [{ namespace: 'web' }])])];

  // what the lab's effects would do, in process: the node a Fargate kubelet registers, removed on stop
  const hook: FargateHook = {
    clusters: () => clusters,
    records: () => [...records.values()],
    act(action) {
      if (action.kind === 'ensure') return;
      acted.push(`${action.kind} ${action.record.pod.namespace}/${action.record.pod.name}`);
      if (action.kind === 'start') {
        const ip = `10.0.32.${nextIp++}`;
        const r = { ...action.record, ip, nodeName: fargateNodeName(ip, 'us-west-2') };
        records.set(r.id, r);
        const n = fargateNodeObject({ nodeName: r.nodeName, ip, zone: 'us-west-2a', region: 'us-west-2', podUid: r.podUid, eniId: `eni-${r.id}`, profile: r.profile, kubeletVersion: 'v1.33.0', kernelVersion: '6.1' });
        void (async () => {
          await core.createNode({ body: n });
          await core.patchNodeStatus({ name: n.metadata.name, body: { status: { ...n.status, conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'ready' }] } } }, mergePatch);
        })();
      } else {
        records.delete(action.record.id);
        if (action.record.nodeName) void core.deleteNode({ name: action.record.nodeName }).catch(() => undefined);
      }
    },
  };

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
    for (const n of [regularNode('n1'), regularNode('n2')]) assert.equal((await api.request('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', ...n })).status, 201);
    await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'web' } });
    cp = startControlPlane({ kc, log: () => undefined, resyncMs: 200, fargate: hook });
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
  const create = (namespace: string, name: string) => core.createNamespacedPod({ namespace, body: { metadata: { name, namespace }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
  const boundTo = (namespace: string, name: string) => until(`${namespace}/${name} bound`, async () => (await core.readNamespacedPod({ name, namespace })).spec?.nodeName || undefined);

  test('matching pods get a Fargate node each, labelled with their profile; a non-matching pod a regular node; deleting stops its node', async () => {
    await create('web', 'one');
    await create('web', 'two');
    await create('default', 'plain');
    const one = await boundTo('web', 'one');
    const two = await boundTo('web', 'two');
    const plain = await boundTo('default', 'plain');
    assert.match(one, /^fargate-ip-10-0-32-\d+\.us-west-2\.compute\.internal$/);
    assert.match(two, /^fargate-ip-10-0-32-\d+\.us-west-2\.compute\.internal$/);
    assert.notEqual(one, two);
    assert.ok(['n1', 'n2'].includes(plain), plain);
    const read = await core.readNamespacedPod({ name: 'one', namespace: 'web' });
    assert.equal(read.metadata?.labels?.[FARGATE_PROFILE_LABEL], 'web');
    const events = await core.listNamespacedEvent({ namespace: 'web' });
    assert.ok(events.items.some((e) => e.reason === 'Scheduled' && e.involvedObject.name === 'one' && e.source?.component === 'fargate-scheduler'), JSON.stringify(events.items.map((e) => [e.reason, e.source])));
    // more default pods than regular room would allow never land on the Fargate nodes
    for (let i = 0; i < 4; i++) await create('default', `more-${i}`);
    for (let i = 0; i < 4; i++) assert.ok(['n1', 'n2'].includes(await boundTo('default', `more-${i}`)));

    await core.deleteNamespacedPod({ name: 'one', namespace: 'web' });
    await until('the Fargate node of web/one gone', async () => ((await core.listNode()).items.some((n) => n.metadata?.name === one) ? undefined : true));
    assert.ok(acted.includes('stop web/one'));
    assert.equal([...records.values()].filter((r) => r.pod.name === 'one').length, 0);
    assert.equal(acted.filter((a) => a === 'start web/one').length, 1, acted.join(', '));
  });

  test('a pod created while no profile matches goes to a regular node; a profile added later takes new pods only', async () => {
    const saved = clusters;
    clusters = [cluster([])];
    try {
      await create('web', 'early');
      assert.ok(['n1', 'n2'].includes(await boundTo('web', 'early')));
    } finally {
      clusters = saved;
    }
    await create('web', 'later');
    assert.match(await boundTo('web', 'later'), /^fargate-ip-/);
    assert.ok(['n1', 'n2'].includes((await core.readNamespacedPod({ name: 'early', namespace: 'web' })).spec?.nodeName ?? ''));
  });

  test('nothing is scheduled before the clusters were read once; then the pod goes to Fargate', async () => {
    const saved = clusters;
    clusters = undefined;
    try {
      await create('web', 'before-read');
      await create('default', 'plain-before-read');
      await new Promise((r) => setTimeout(r, 800));
      for (const [namespace, name] of [['web', 'before-read'], ['default', 'plain-before-read']] as const) {
        assert.equal((await core.readNamespacedPod({ name, namespace })).spec?.nodeName, undefined, `${namespace}/${name}`);
      }
    } finally {
      clusters = saved;
    }
    assert.match(await boundTo('web', 'before-read'), /^fargate-ip-/);
    assert.ok(['n1', 'n2'].includes(await boundTo('default', 'plain-before-read')));
  });

  test('a marked pod whose profile is deleted before its node is up stays Pending, with an Event; never an EC2 node', async () => {
    const saved = clusters;
    clusters = [cluster([profile('web', [{ namespace: 'web' }]), profile('gone', [{ namespace: 'gone' }])])];
    await api.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'gone' } });
    // the profile's node never becomes Ready here: its start is swallowed
    const act = hook.act;
    hook.act = (action) => {
      if (action.kind === 'start' && action.record.profile === 'gone') return;
      act(action);
    };
    try {
      await create('gone', 'orphan');
      await until('gone/orphan marked', async () => (await core.readNamespacedPod({ name: 'orphan', namespace: 'gone' })).metadata?.labels?.[FARGATE_PROFILE_LABEL] === 'gone' || undefined);
      clusters = [cluster([profile('web', [{ namespace: 'web' }])])];
      await until('the FailedScheduling event', async () => ((await core.listNamespacedEvent({ namespace: 'gone' })).items.some((e) => e.reason === 'FailedScheduling' && e.source?.component === 'fargate-scheduler' && /stays Pending/.test(e.message ?? '')) ? true : undefined));
      await new Promise((r) => setTimeout(r, 600));
      assert.equal((await core.readNamespacedPod({ name: 'orphan', namespace: 'gone' })).spec?.nodeName, undefined);
    } finally {
      hook.act = act;
      clusters = saved;
    }
  });
});
