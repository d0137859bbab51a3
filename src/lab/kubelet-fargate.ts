/**
 * The kubelet of a Fargate node (`podnet lab kubelet --state-dir DIR --fargate <eni-id>`, started by the control plane
 * in the node's namespace `pn-f-<id>`): registers the Node EKS shows for a Fargate pod (`fargate-ip-…`, compute-type
 * fargate, tainted, one pod, the ENI's address), keeps its Lease and Ready (no ipamd: Fargate's network is the ENI
 * itself), and runs the one pod bound to it in the node's namespace — the pod's address is the node's, and no podnet
 * node rule applies to it (no SNAT: it leaves with its own address). When its pod goes, it deletes its Node and ends.
 */
import { release } from 'node:os';
import { rmSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, CoreV1Api, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { apiCode, describeKubeError, eventBody, loadKubeConfig, mergePatch, watchObjects, type ObjectWatch } from '../k8s/index.js';
import { PodnetError } from '../lib/index.js';
import { fargateNodeObject, type FargateRecord } from './fargate.js';
import { fargateRecords } from './fargate-nodes.js';
import { KUBELET_VERSION, leaseObject, LEASE_RENEW_MS, microTime, nodeConditions, NODE_LEASE_NAMESPACE, type NodeCondition } from './kubelet-node.js';
import { podKey, podStatus, type ContainerRun } from './kubelet-pod.js';
import { LabState, type LabRecord } from './state.js';

export interface FargateKubeletOptions {
  stateDir: string;
  eniId: string;
  log?: (line: string) => void;
}

export interface FargateKubelet {
  nodeName: string;
  /** resolves once the pod is gone and the Node deleted */
  done: Promise<void>;
  stop(): Promise<void>;
}

const nowIso = () => new Date().toISOString();

/** The pod's containers, all running and ready from the start (the lab runs no process for them; init containers done). */
export function fargateContainerRuns(pod: V1Pod, startedAt: string): { init: ContainerRun[]; main: ContainerRun[] } {
  const run = (name: string, image: string | undefined, init: boolean): ContainerRun => ({
    name,
    image: image ?? '',
    startedAt: init ? null : startedAt,
    restartCount: 0,
    ready: true,
    lastExit: init ? { exitCode: 0, reason: 'Completed', startedAt, finishedAt: startedAt } : null,
    waiting: null,
    containerId: `podnet://fargate-${pod.metadata?.uid ?? ''}/${name}`,
  });
  return { init: (pod.spec?.initContainers ?? []).map((c) => run(c.name, c.image, true)), main: (pod.spec?.containers ?? []).map((c) => run(c.name, c.image, false)) };
}

async function waitForRecord(state: LabState, eniId: string): Promise<{ lab: LabRecord; record: FargateRecord & { ip: string; nodeName: string } }> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const lab = state.readLab();
    const record = fargateRecords(state).find((r) => r.eniId === eniId);
    if (lab && record?.ip && record.nodeName) return { lab, record: record as FargateRecord & { ip: string; nodeName: string } };
    if (Date.now() > deadline) throw new PodnetError('LAB_FAILED', `no Fargate record for ${eniId} in ${state.path('fargate')} after 60 s`, 'the Fargate kubelet is started by the control plane; see its log');
    await sleep(200);
  }
}

export async function startFargateKubelet(o: FargateKubeletOptions): Promise<FargateKubelet> {
  const log = o.log ?? ((line: string) => void process.stdout.write(`${new Date().toISOString()} ${line}\n`));
  const state = new LabState(o.stateDir);
  const { lab, record } = await waitForRecord(state, o.eniId);
  const kubeconfig = lab.nodeKubeconfig ?? lab.vpcKubeconfig;
  if (!kubeconfig) throw new PodnetError('CONFIG_INVALID', `the lab in ${o.stateDir} has no kubeconfig for its nodes`, 'start the lab again with this version of podnet');
  const kc: KubeConfig = loadKubeConfig({ kubeconfig });
  const core = kc.makeApiClient(CoreV1Api);
  const leases = kc.makeApiClient(CoordinationV1Api);
  const nodeName = record.nodeName;
  log(`Fargate kubelet for ${o.eniId} (${record.ip}) in ${record.ns}: pod ${record.pod.namespace}/${record.pod.name}, API server ${kc.getCurrentCluster()?.server ?? '?'}`);
  const body = fargateNodeObject({ nodeName, ip: record.ip, zone: record.zone ?? `${lab.region}a`, region: lab.region, podUid: record.podUid, eniId: o.eniId, profile: record.profile, kubeletVersion: KUBELET_VERSION, kernelVersion: release() });
  let stopped = false;
  let conditions: NodeCondition[] = [];
  let nodeUid = '';
  let running: { uid: string; startTime: string; key: string | null; previous?: V1Pod['status'] } | undefined;
  let finish!: () => void;
  const done = new Promise<void>((r) => (finish = r));
  let watch: ObjectWatch<V1Pod> | undefined;

  async function register(): Promise<void> {
    for (let attempt = 0; !stopped; attempt++) {
      try {
        try {
          nodeUid = (await core.createNode({ body })).metadata?.uid ?? '';
        } catch (err) {
          if (apiCode(err) !== 409) throw err;
          nodeUid = (await core.patchNode({ name: nodeName, body: { metadata: { labels: body.metadata.labels, annotations: body.metadata.annotations }, spec: body.spec } }, mergePatch)).metadata?.uid ?? '';
        }
        conditions = nodeConditions({ ready: true }, conditions, nowIso());
        await core.patchNodeStatus({ name: nodeName, body: { status: { ...body.status, conditions } } }, mergePatch);
        log(`registered Fargate node ${nodeName} (${o.eniId} ${record.ip}, profile ${record.profile}, pod ${record.pod.namespace}/${record.pod.name})`);
        return;
      } catch (err) {
        if (attempt % 10 === 0) log(`registering ${nodeName}: ${describeKubeError(err)} (retrying)`);
        await sleep(Math.min(200 * 2 ** attempt, 2_000));
      }
    }
  }

  /** Ready with every heartbeat: a Fargate node's readiness is its own (no CNI, no ipamd on it). */
  async function heartbeat(): Promise<void> {
    while (!stopped) {
      try {
        conditions = nodeConditions({ ready: true }, conditions, nowIso());
        await core.patchNodeStatus({ name: nodeName, body: { status: { conditions } } }, mergePatch);
        try {
          await leases.patchNamespacedLease({ name: nodeName, namespace: NODE_LEASE_NAMESPACE, body: { spec: { holderIdentity: nodeName, renewTime: microTime(Date.now()) } } }, mergePatch);
        } catch (err) {
          if (apiCode(err) !== 404) throw err;
          const lease = leaseObject(nodeName, nodeUid, Date.now());
          await leases.createNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, body: { ...lease, spec: { ...lease.spec, renewTime: new Date() } } });
        }
      } catch (err) {
        if (!stopped) log(`node status: ${describeKubeError(err)}`);
      }
      for (let waited = 0; waited < LEASE_RENEW_MS && !stopped; waited += 200) await sleep(200);
    }
  }

  async function postStatus(pod: V1Pod): Promise<void> {
    if (!running) return;
    const runs = fargateContainerRuns(pod, running.startTime);
    const status = podStatus({ hostIP: record.ip, podIP: record.ip, startTime: running.startTime, initContainers: runs.init, containers: runs.main, initialized: true, now: nowIso(), previous: pod.status?.conditions });
    await core.patchNamespacedPodStatus({ name: pod.metadata!.name!, namespace: pod.metadata!.namespace ?? 'default', body: { status } }, mergePatch);
  }

  async function startPod(pod: V1Pod): Promise<void> {
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata!.name!;
    const key = podKey(namespace, name);
    running = { uid: pod.metadata!.uid!, startTime: nowIso(), key };
    // the pod's network is the node's namespace: its address is the ENI's, and `lab probe <key>` runs there
    if (key) state.writePod({ name: key, node: nodeName, ns: record.ns, hostNetwork: false, ip: record.ip, containerId: `fargate-${record.id}` });
    log(`pod ${namespace}/${name} running in ${record.ns} with ${record.ip}${key ? ` (lab name ${key})` : ''}`);
    const body = eventBody({ involved: { kind: 'Pod', apiVersion: 'v1', metadata: pod.metadata ?? {} }, type: 'Normal', reason: 'Started', message: `Started on Fargate node ${nodeName} (${o.eniId})`, component: 'kubelet', host: nodeName });
    await core.createNamespacedEvent({ namespace, body }).catch(() => undefined);
    for (let attempt = 0; attempt < 10 && !stopped; attempt++) {
      try {
        await postStatus(pod);
        return;
      } catch (err) {
        if (apiCode(err) === 404) return;
        log(`pod ${namespace}/${name} status: ${describeKubeError(err)} (retrying)`);
        await sleep(1_000);
      }
    }
  }

  /** The pod is gone: its record, then the Node (and its Lease); the process ends. */
  async function finishNode(why: string): Promise<void> {
    if (stopped) return;
    stopped = true;
    if (running?.key) {
      const r = state.pod(running.key);
      if (r && r.ns === record.ns) rmSync(state.path('pods', `${running.key}.json`), { force: true });
    }
    log(`pod ${record.pod.namespace}/${record.pod.name} ${why}: deleting Fargate node ${nodeName}`);
    for (const remove of [() => core.deleteNode({ name: nodeName }), () => leases.deleteNamespacedLease({ name: nodeName, namespace: NODE_LEASE_NAMESPACE })]) {
      await remove().catch((err: unknown) => {
        if (apiCode(err) !== 404) log(`deleting ${nodeName}: ${describeKubeError(err)}`);
      });
    }
    finish();
  }

  let queue = Promise.resolve();
  const handle = (type: string, pod: V1Pod) => {
    queue = queue.then(async () => {
      if (stopped || pod.metadata?.uid !== record.podUid) return;
      const phase = pod.status?.phase;
      if (type === 'DELETED' || pod.metadata?.deletionTimestamp || (running && (phase === 'Succeeded' || phase === 'Failed'))) {
        await finishNode(type === 'DELETED' ? 'deleted' : pod.metadata?.deletionTimestamp ? 'being deleted' : `phase ${phase}`);
        if (pod.metadata?.deletionTimestamp && type !== 'DELETED') {
          // graceful deletion: the kubelet confirms the pod stopped by deleting it for good
          await core.deleteNamespacedPod({ name: pod.metadata.name!, namespace: pod.metadata.namespace ?? 'default', gracePeriodSeconds: 0 }).catch(() => undefined);
        }
        return;
      }
      if (!running) await startPod(pod);
    });
  };

  await register();
  const beat = heartbeat();
  watch = watchObjects<V1Pod>(kc, {
    path: '/api/v1/pods',
    fieldSelector: `spec.nodeName=${nodeName}`,
    onEvent: handle,
    onConnection: (up, reason) => log(`pod watch ${up ? 'connected' : `down: ${reason}`}`),
  });
  await watch.synced;
  // a restarted kubelet whose pod went meanwhile: nothing to wait for
  const ownPodGone = async () => {
    try {
      await core.readNamespacedPod({ name: record.pod.name, namespace: record.pod.namespace });
    } catch (err) {
      if (apiCode(err) === 404) handle('DELETED', { metadata: { uid: record.podUid } });
    }
  };
  await ownPodGone();

  return {
    nodeName,
    done,
    async stop() {
      stopped = true;
      await watch?.stop();
      await beat;
      await queue;
    },
  };
}

/** `podnet lab kubelet --fargate <eni>`: runs until its pod is gone (then its Node is deleted) or SIGTERM/SIGINT. */
export async function runFargateKubelet(o: FargateKubeletOptions, until: Promise<void>): Promise<void> {
  const kubelet = await startFargateKubelet(o);
  await Promise.race([until, kubelet.done]);
  await kubelet.stop();
}
