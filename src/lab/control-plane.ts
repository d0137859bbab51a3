/**
 * The lab's control plane: the scheduler and the DaemonSet controller over the API server. Three informers (nodes,
 * pods, DaemonSets) feed one reconcile pass at a time; each pass runs the pure decisions (scheduler.ts,
 * daemonset.ts) on what the informers hold plus what this process has just done and not yet seen come back
 * (bindings, pods created or deleted: "assumed", as kube-scheduler and the controllers' expectations do), then
 * makes the writes: bindings, pod status, pods, DaemonSet status and Events (core/v1, as `kubectl describe` reads).
 */
import { AppsV1Api, CoreV1Api, type KubeConfig, type CoreV1Event, type V1Pod } from '@kubernetes/client-node';
import { apiCode, describeKubeError, eventBody, mergePatch, watchObjects, type ObjectWatch } from '../k8s/index.js';
import type { Condition, KubeDaemonSet, KubeNode, KubePod } from './control-plane-types.js';
import { templateConfigProblems } from './daemonset-config.js';
import { CONFIG_CONDITION, decideDaemonSet, newDaemonPod, ownedBy, REVISION_HASH_LABEL } from './daemonset.js';
import { DEFAULT_SCHEDULER, schedulePending } from './scheduler.js';
import { decideFargate, FARGATE_PROFILE_LABEL, FARGATE_SCHEDULER, fargateFirstSight, fargateMark, isFargatePending, type FargateAction } from './fargate.js';
import type { EksCluster } from '../vpc/index.js';
import { NODE_MONITOR_GRACE_MS, nodesToMarkUnknown, type NodeLease } from './node-lifecycle.js';

export const DAEMONSET_CONTROLLER = 'daemonset-controller';

export interface ControlPlaneOptions {
  kc: KubeConfig;
  log?: (line: string) => void;
  /** How often a pass runs without a change (assumptions expiring, minReadySeconds passing); default 2 s. */
  resyncMs?: number;
  /** Writes in flight at once (default 16). */
  concurrency?: number;
  /** How long a node's kubelet may stay silent (no Lease renewal, no status) before its Ready is Unknown (default NODE_MONITOR_GRACE_MS, 12 s). */
  nodeMonitorGraceMs?: number;
  /** Fargate (fargate.ts): the clusters and their profiles, and what starts and stops Fargate nodes (fargate-nodes.ts). */
  fargate?: FargateHook;
}

/** What the control plane needs for Fargate: the clusters as last read, the nodes it runs, and its effects (not awaited). */
export interface FargateHook {
  /** undefined until the clusters were read once: no pod is scheduled before (a Fargate pod could go to an EC2 node) */
  clusters(): readonly EksCluster[] | undefined;
  records(): Parameters<typeof decideFargate>[3];
  /** starts, checks or stops a Fargate node in the background; a call for one already under way is ignored */
  act(action: Exclude<FargateAction, { kind: 'bind' | 'wait' }>): void;
}

export interface ControlPlane {
  /** Resolves once the informers have listed and the first pass is done. */
  synced: Promise<void>;
  stop(): Promise<void>;
}

/** How long something done is assumed before the informers must show it (then it is forgotten and redone if needed). */
const ASSUME_MS = 30_000;
const EVENT_WORKERS = 4;
const FIRST_BACKOFF_MS = 1_000;
const MAX_BACKOFF_MS = 60_000;

const podKey = (p: { metadata: { namespace?: string; name: string } }) => `${p.metadata.namespace ?? ''}/${p.metadata.name}`;
/** A pod by uid: a pod deleted and created again under its name is another pod (no binding or verdict carried over). */
const podIdentity = (p: KubePod) => p.metadata.uid ?? podKey(p);

/** Runs fns with at most `limit` in flight; never rejects (each fn handles its own failure). */
async function runLimited(fns: Array<() => Promise<void>>, limit: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < fns.length) await fns[next++]!();
  };
  await Promise.all(Array.from({ length: Math.min(limit, fns.length) }, worker));
}

/** A daemon pod being created: counted as the node's pod (not Ready) until the informer shows it by name. */
interface AssumedCreate {
  pod: KubePod;
  at: number;
}

export function startControlPlane(o: ControlPlaneOptions): ControlPlane {
  const log = o.log ?? ((line: string) => void process.stdout.write(`${new Date().toISOString()} ${line}\n`));
  const core = o.kc.makeApiClient(CoreV1Api);
  const apps = o.kc.makeApiClient(AppsV1Api);
  const concurrency = o.concurrency ?? 16;
  const bindings = new Map<string, { node: string; at: number }>();
  const creates = new Map<string, AssumedCreate>();
  const deletions = new Map<string, number>();
  const unschedulable = new Map<string, string>();
  /** pods (by identity) the Fargate decision has seen: it is made once, at first sight (fargate.ts fargateFirstSight) */
  const sighted = new Set<string>();
  /** pods marked for a Fargate profile by this process, until the informer shows the label */
  const marks = new Map<string, string>();
  /** marked pods whose profile is gone, with the message of the Event said for them */
  const fargateWaiting = new Map<string, string>();
  const statusWritten = new Map<string, string>();
  const configChecked = new Map<string, { generation: number | undefined; problems: string[] }>();
  /** DaemonSet uid/node → when a pod may be created there again, after a failed create or a failed pod (doubling, ≤ 60 s). */
  const backoff = new Map<string, { until: number; delayMs: number }>();
  const backOff = (key: string, now: number) => {
    const last = backoff.get(key);
    // a failure long after the last one starts again from the first delay
    const previous = last && last.until > now - 2 * MAX_BACKOFF_MS ? last.delayMs : FIRST_BACKOFF_MS / 2;
    const delayMs = Math.min(MAX_BACKOFF_MS, previous * 2);
    backoff.set(key, { until: now + delayMs, delayMs });
  };
  let stopped = false;
  let running: Promise<void> | undefined;
  let dirty = false;
  // no pass before every informer has listed: a half-known cluster would look like pods to create or delete
  let ready = false;

  const poke = () => {
    dirty = true;
    if (!running && ready) running = loop();
  };
  const connection = (what: string) => (up: boolean, reason: string) => log(`${what}: ${up ? 'up' : 'down'}: ${reason}`);
  const nodes: ObjectWatch<KubeNode> = watchObjects<KubeNode>(o.kc, { path: '/api/v1/nodes', onEvent: poke, onConnection: connection('nodes') });
  const pods: ObjectWatch<KubePod> = watchObjects<KubePod>(o.kc, { path: '/api/v1/pods', onEvent: poke, onConnection: connection('pods') });
  const daemonSets: ObjectWatch<KubeDaemonSet> = watchObjects<KubeDaemonSet>(o.kc, { path: '/apis/apps/v1/daemonsets', onEvent: poke, onConnection: connection('daemonsets') });
  // the node lifecycle controller's heartbeats: the kubelets' Leases (node-lifecycle.ts)
  const leases: ObjectWatch<NodeLease & { metadata: { name: string } }> = watchObjects(o.kc, { path: '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', onEvent: () => undefined, onConnection: connection('leases') });
  const watchingSince = Date.now();
  /** node → the Ready condition's transition time it was marked Unknown with, until the informer shows it */
  const markedUnknown = new Map<string, number>();
  const synced = Promise.all([nodes.synced, pods.synced, daemonSets.synced, leases.synced]).then(async () => {
    ready = true;
    if (stopped) return;
    poke();
    await running;
  });
  const timer = setInterval(poke, o.resyncMs ?? 2_000);

  async function loop(): Promise<void> {
    try {
      while (dirty && !stopped) {
        dirty = false;
        await reconcile();
      }
    } catch (err) {
      log(`reconcile failed: ${(err as Error).stack ?? String(err)}`);
    } finally {
      running = undefined;
    }
  }

  // Events are recorded beside the work, as client-go's broadcaster sends them: a pass does not wait for them
  const eventQueue: CoreV1Event[] = [];
  const eventWorkers = new Set<Promise<void>>();
  let eventSenders = 0;
  function event(involved: { kind: string; apiVersion: string; metadata: KubePod['metadata'] }, type: 'Normal' | 'Warning', reason: string, message: string, component: string): void {
    eventQueue.push(eventBody({ involved, type, reason, message, component }));
    if (eventSenders >= EVENT_WORKERS) return;
    // the count drops in the same turn as the queue is found empty, so an event queued later always finds a sender
    eventSenders++;
    const worker: Promise<void> = (async () => {
      for (let body = eventQueue.shift(); body; body = eventQueue.shift()) {
        try {
          await core.createNamespacedEvent({ namespace: body.metadata.namespace ?? 'default', body });
        } catch (err) {
          log(`event ${body.reason} on ${body.involvedObject.kind} ${body.metadata.namespace}/${body.involvedObject.name}: ${describeKubeError(err)}`);
        }
      }
      eventSenders--;
    })().finally(() => eventWorkers.delete(worker));
    eventWorkers.add(worker);
  }

  /** What the informers hold, with this process's own recent writes applied. */
  function currentPods(now: number): KubePod[] {
    const seen = pods.list();
    const names = new Set(seen.map(podKey));
    for (const [uid, at] of deletions) if (now - at > ASSUME_MS || !seen.some((p) => p.metadata.uid === uid)) deletions.delete(uid);
    for (const [id, c] of creates) if (now - c.at > ASSUME_MS || (c.pod.metadata.name && names.has(podKey(c.pod)))) creates.delete(id);
    // what was remembered about pods that are gone goes with them
    const present = new Set(seen.map(podIdentity));
    for (const map of [bindings, unschedulable, marks, fargateWaiting]) for (const id of map.keys()) if (!present.has(id)) map.delete(id);
    for (const id of sighted) if (!present.has(id)) sighted.delete(id);
    const out: KubePod[] = [];
    for (const pod of seen) {
      if (pod.metadata.uid && deletions.has(pod.metadata.uid)) continue;
      const key = podIdentity(pod);
      const bound = bindings.get(key);
      if (bound && (pod.spec.nodeName || now - bound.at > ASSUME_MS)) bindings.delete(key);
      else if (bound) {
        out.push({ ...pod, spec: { ...pod.spec, nodeName: bound.node } });
        continue;
      }
      out.push(pod);
    }
    return [...out, ...[...creates.values()].filter((c) => !c.pod.metadata.name || !names.has(podKey(c.pod))).map((c) => c.pod)];
  }

  async function reconcile(): Promise<void> {
    const now = Date.now();
    const nodeList = nodes.list();
    const dsList = daemonSets.list();
    let all = currentPods(now);
    const writes: Array<() => Promise<void>> = [];
    for (const ds of dsList) {
      if (ds.metadata.deletionTimestamp) continue;
      writes.push(...daemonSetWrites(ds, nodeList, all.filter((p) => ownedBy(p, ds)), now));
    }
    // the garbage collector's part: a DaemonSet's pods go with it
    const uids = new Set(dsList.map((d) => d.metadata.uid));
    for (const pod of all) {
      const owner = (pod.metadata.ownerReferences ?? []).find((r) => r.controller === true && r.kind === 'DaemonSet' && r.apiVersion.startsWith('apps/'));
      if (owner && !uids.has(owner.uid) && pod.metadata.name && !pod.metadata.deletionTimestamp) writes.push(() => deletePod(pod, `its DaemonSet ${owner.name} is gone`, undefined));
    }
    writes.push(...nodeLifecycleWrites(nodeList, now));
    all = currentPods(now);
    // no pod is placed before the clusters were read once: a pod a profile takes would otherwise go to an EC2 node
    const clusters = o.fargate ? o.fargate.clusters() : [];
    if (clusters === undefined) {
      await runLimited(writes, concurrency);
      return;
    }
    if (o.fargate) {
      all = all.map((pod) => fargateSight(pod, clusters, writes));
      for (const action of decideFargate(all, nodeList, clusters, o.fargate.records())) {
        if (action.kind === 'wait') {
          const key = podIdentity(action.pod);
          if (fargateWaiting.get(key) === action.why) continue;
          fargateWaiting.set(key, action.why);
          log(`pod ${action.pod.metadata.namespace}/${action.pod.metadata.name}: ${action.why}`);
          event({ kind: 'Pod', apiVersion: 'v1', metadata: action.pod.metadata }, 'Warning', 'FailedScheduling', action.why, FARGATE_SCHEDULER);
          continue;
        }
        if (action.kind !== 'bind') {
          o.fargate.act(action);
          continue;
        }
        const key = podIdentity(action.pod);
        fargateWaiting.delete(key);
        if (bindings.has(key)) continue;
        bindings.set(key, { node: action.node, at: now });
        writes.push(() => bind(action.pod, action.node, action.profile));
      }
    }
    for (const outcome of schedulePending(o.fargate ? all.filter((p) => !isFargatePending(p)) : all, nodeList)) {
      const pod = outcome.pod;
      const key = podIdentity(pod);
      if ('node' in outcome) {
        bindings.set(key, { node: outcome.node, at: now });
        unschedulable.delete(key);
        writes.push(() => bind(pod, outcome.node));
        continue;
      }
      const condition = (pod.status?.conditions ?? []).find((c) => c.type === 'PodScheduled');
      if (unschedulable.get(key) === outcome.unschedulable || (condition?.status === 'False' && condition.message === outcome.unschedulable)) continue;
      unschedulable.set(key, outcome.unschedulable);
      writes.push(() => markUnschedulable(pod, outcome.unschedulable));
    }
    await runLimited(writes, concurrency);
  }

  /**
   * The Fargate webhook's part, once per pod: at first sight a pending pod a profile takes is marked with the
   * profile's label (the write queued), and from then on the pod is seen with its mark (the label, or this process's
   * own mark until the informer shows it). A pod without a mark after its first sight is the default scheduler's.
   */
  function fargateSight(pod: KubePod, clusters: readonly EksCluster[], writes: Array<() => Promise<void>>): KubePod {
    const key = podIdentity(pod);
    if (!pod.metadata.uid) return pod;
    if (fargateMark(pod) !== undefined) {
      sighted.add(key);
      marks.delete(key);
      return pod;
    }
    let mark = marks.get(key);
    if (!sighted.has(key)) {
      sighted.add(key);
      mark = fargateFirstSight(clusters, pod);
      if (mark) {
        marks.set(key, mark);
        writes.push(() => markPod(pod, mark!));
      }
    }
    return mark ? { ...pod, metadata: { ...pod.metadata, labels: { ...(pod.metadata.labels ?? {}), [FARGATE_PROFILE_LABEL]: mark } } } : pod;
  }

  async function markPod(pod: KubePod, profile: string): Promise<void> {
    const { name, namespace = 'default', uid } = pod.metadata;
    try {
      // the uid precondition: a pod deleted and created again under the name is another pod, seen afresh
      await core.patchNamespacedPod({ name, namespace, body: { metadata: { uid, labels: { [FARGATE_PROFILE_LABEL]: profile } } } }, mergePatch);
    } catch (err) {
      if (apiCode(err) === 404 || apiCode(err) === 409) return;
      // tried again at the next pass (still first sight; the default scheduler leaves it meanwhile)
      marks.delete(podIdentity(pod));
      sighted.delete(podIdentity(pod));
      log(`marking pod ${namespace}/${name} for Fargate profile ${profile}: ${describeKubeError(err)}`);
      return;
    }
    log(`pod ${namespace}/${name}: Fargate profile ${profile} takes it (${FARGATE_PROFILE_LABEL})`);
  }

  /** Nodes whose kubelet went silent: Ready (and the other conditions) Unknown, once per silence. */
  function nodeLifecycleWrites(nodeList: KubeNode[], now: number): Array<() => Promise<void>> {
    for (const [name, at] of markedUnknown) if (now - at > ASSUME_MS) markedUnknown.delete(name);
    return nodesToMarkUnknown(nodeList, leases.list(), now, watchingSince, o.nodeMonitorGraceMs ?? NODE_MONITOR_GRACE_MS)
      .filter((u) => !markedUnknown.has(u.node))
      .map((u) => {
        markedUnknown.set(u.node, now);
        return async () => {
          try {
            await core.patchNodeStatus({ name: u.node, body: { status: { conditions: u.conditions } } }, mergePatch);
          } catch (err) {
            markedUnknown.delete(u.node);
            if (apiCode(err) !== 404) log(`node ${u.node} status: ${describeKubeError(err)}`);
            return;
          }
          log(`node ${u.node}: Ready Unknown (no Lease renewal or status for ${Math.round(u.silentMs / 1000)} s: Kubelet stopped posting node status.)`);
          const node = nodeList.find((n) => n.metadata.name === u.node);
          if (node) event({ kind: 'Node', apiVersion: 'v1', metadata: { ...node.metadata, namespace: 'default' } }, 'Normal', 'NodeNotReady', `Node ${u.node} status is now: NodeNotReady`, 'node-controller');
        };
      });
  }

  /** The binding (a Fargate pod's by fargate-scheduler: its profile label was set at first sight). */
  async function bind(pod: KubePod, node: string, fargateProfile?: string): Promise<void> {
    const { name, namespace = 'default', uid } = pod.metadata;
    try {
      await core.createNamespacedPodBinding({ name, namespace, body: { metadata: { name, namespace, uid }, target: { apiVersion: 'v1', kind: 'Node', name: node } } });
    } catch (err) {
      bindings.delete(podIdentity(pod));
      if (apiCode(err) !== 404 && apiCode(err) !== 409) log(`binding pod ${namespace}/${name} to ${node}: ${describeKubeError(err)}`);
      return;
    }
    event({ kind: 'Pod', apiVersion: 'v1', metadata: pod.metadata }, 'Normal', 'Scheduled', `Successfully assigned ${namespace}/${name} to ${node}`, fargateProfile ? FARGATE_SCHEDULER : DEFAULT_SCHEDULER);
  }

  async function markUnschedulable(pod: KubePod, message: string): Promise<void> {
    const { name, namespace = 'default' } = pod.metadata;
    const others = (pod.status?.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    const condition: Condition = { type: 'PodScheduled', status: 'False', reason: 'Unschedulable', message, lastProbeTime: null, lastTransitionTime: new Date().toISOString().replace(/\.\d{3}Z$/, 'Z') };
    try {
      await core.patchNamespacedPodStatus({ name, namespace, body: { status: { conditions: [...others, condition] } } }, mergePatch);
    } catch (err) {
      unschedulable.delete(podIdentity(pod));
      if (apiCode(err) !== 404) log(`pod ${namespace}/${name} status: ${describeKubeError(err)}`);
      return;
    }
    log(`pod ${namespace}/${name} unschedulable: ${message}`);
    event({ kind: 'Pod', apiVersion: 'v1', metadata: pod.metadata }, 'Warning', 'FailedScheduling', message, DEFAULT_SCHEDULER);
  }

  async function deletePod(pod: KubePod, why: string, ds: KubeDaemonSet | undefined): Promise<void> {
    const { name, namespace = 'default', uid } = pod.metadata;
    if (uid) deletions.set(uid, Date.now());
    try {
      await core.deleteNamespacedPod({ name, namespace, body: { preconditions: { uid } } });
    } catch (err) {
      if (uid) deletions.delete(uid);
      if (apiCode(err) !== 404 && apiCode(err) !== 409) log(`deleting pod ${namespace}/${name}: ${describeKubeError(err)}`);
      return;
    }
    log(`deleted pod ${namespace}/${name}: ${why}`);
    if (ds) event({ kind: 'DaemonSet', apiVersion: 'apps/v1', metadata: ds.metadata }, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`, DAEMONSET_CONTROLLER);
  }

  function daemonSetWrites(ds: KubeDaemonSet, nodeList: KubeNode[], owned: KubePod[], now: number): Array<() => Promise<void>> {
    // the check is the same for the same spec: once per DaemonSet generation, not once per pass
    const checked = configChecked.get(ds.metadata.uid ?? '');
    const problems = checked && checked.generation === ds.metadata.generation ? checked.problems : templateConfigProblems(ds);
    configChecked.set(ds.metadata.uid ?? '', { generation: ds.metadata.generation, problems });
    const plan = decideDaemonSet(ds, nodeList, owned, problems, now);
    const writes: Array<() => Promise<void>> = [];
    const dsName = `${ds.metadata.namespace}/${ds.metadata.name}`;
    for (const node of plan.create) {
      const held = backoff.get(`${ds.metadata.uid}/${node}`);
      if (held && held.until > now) continue;
      const body = newDaemonPod(ds, node, plan.hash);
      const id = `${ds.metadata.uid}/${node}/${now}`;
      const assumed: AssumedCreate = { pod: { ...body, metadata: { ...body.metadata, creationTimestamp: new Date(now).toISOString() }, status: { phase: 'Pending' } }, at: now };
      creates.set(id, assumed);
      writes.push(async () => {
        try {
          const created: V1Pod = await core.createNamespacedPod({ namespace: ds.metadata.namespace ?? 'default', body: body as V1Pod });
          assumed.pod.metadata.name = created.metadata?.name ?? '';
          log(`daemonset ${dsName}: created pod ${created.metadata?.name} on ${node} (${REVISION_HASH_LABEL} ${plan.hash})`);
          event({ kind: 'DaemonSet', apiVersion: 'apps/v1', metadata: ds.metadata }, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata?.name}`, DAEMONSET_CONTROLLER);
        } catch (err) {
          creates.delete(id);
          backOff(`${ds.metadata.uid}/${node}`, Date.now());
          log(`daemonset ${dsName}: creating a pod on ${node}: ${describeKubeError(err)}`);
          event({ kind: 'DaemonSet', apiVersion: 'apps/v1', metadata: ds.metadata }, 'Warning', 'FailedCreate', `Error creating: ${describeKubeError(err)}`, DAEMONSET_CONTROLLER);
        }
      });
    }
    for (const { pod, why } of plan.delete) {
      // a pod that failed is replaced after a backoff, so a node that keeps failing it is not a hot loop
      if (pod.status?.phase === 'Failed') backOff(`${ds.metadata.uid}/${pod.spec.nodeName ?? ''}`, now);
      writes.push(() => deletePod(pod, why, ds));
    }

    const oldCondition = (ds.status?.conditions ?? []).find((c) => c.type === CONFIG_CONDITION);
    const newCondition = plan.status.conditions?.find((c) => c.type === CONFIG_CONDITION);
    const status: Record<string, unknown> = { ...plan.status };
    if (!newCondition && oldCondition) status['conditions'] = null;
    const current = { ...(ds.status ?? {}) } as Record<string, unknown>;
    const changed = Object.entries(status).some(([k, v]) => JSON.stringify(v ?? null) !== JSON.stringify(current[k] ?? null));
    const text = JSON.stringify(status);
    if (!changed) statusWritten.delete(ds.metadata.uid ?? '');
    if (changed && statusWritten.get(ds.metadata.uid ?? '') !== text) {
      statusWritten.set(ds.metadata.uid ?? '', text);
      writes.push(async () => {
        try {
          await apps.patchNamespacedDaemonSetStatus({ name: ds.metadata.name, namespace: ds.metadata.namespace ?? 'default', body: { status } }, mergePatch);
        } catch (err) {
          statusWritten.delete(ds.metadata.uid ?? '');
          if (apiCode(err) !== 404) log(`daemonset ${dsName} status: ${describeKubeError(err)}`);
          return;
        }
        if (newCondition && newCondition.message !== oldCondition?.message) {
          log(`daemonset ${dsName}: ${newCondition.message}`);
          event({ kind: 'DaemonSet', apiVersion: 'apps/v1', metadata: ds.metadata }, 'Warning', 'InvalidConfiguration', newCondition.message ?? '', DAEMONSET_CONTROLLER);
        }
      });
    }
    return writes;
  }

  return {
    synced,
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all([nodes.stop(), pods.stop(), daemonSets.stop(), leases.stop()]);
      await running;
      await Promise.all([...eventWorkers]);
    },
  };
}
