/**
 * The lab's kubelet (`podnet lab kubelet --state-dir DIR --node INSTANCE`, one per node, started by `lab up` in the
 * node's network namespace): registers the node's Node and keeps its Lease and Ready condition, and acts on watch
 * events for the pods bound to it — a sandbox through the lab's pod runtime (CNI or the node's containerd), the pod's
 * status, the lab's PodRecord, and for containers of podnet's image a podnet process (init containers first),
 * restarted with backoff when it exits (kubelet-containers.ts). The decisions are in kubelet-node.ts, kubelet-pod.ts and
 * kubelet-policy.ts (what a pod may run).
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, CoreV1Api, type KubeConfig, type V1Container, type V1Pod } from '@kubernetes/client-node';
import { apiCode, describeKubeError, eventBody, loadKubeConfig, mergePatch, watchObjects, type ObjectWatch } from '../k8s/index.js';
import { PodnetError, netnsArgv } from '../lib/index.js';
import { Containers, type ContainerSlot, type RunningPod } from './kubelet-containers.js';
import { ipamdReady, nodeFacts } from './kubelet-node-facts.js';
import { conditionsChanged, leaseObject, LEASE_RENEW_MS, microTime, networkReadiness, nodeConditions, nodeObject, NODE_LEASE_NAMESPACE, type NodeCondition, type NodeFacts } from './kubelet-node.js';
import { nameProblem, podAction, podKey, podStatus, refusedPodStatus, runsProcess, type PodEvent } from './kubelet-pod.js';
import { ns } from './plan.js';
import { podRuntime, type PodIdentity } from './pod-runtime.js';
import { isLabProcess, LabState, type LabRecord, type NodeRecord, type PodRecord } from './state.js';

export interface KubeletOptions {
  stateDir: string;
  /** the node's instance name in the scenario */
  node: string;
  log?: (line: string) => void;
  /**
   * How a container's process enters its network namespace (default `ip netns exec`). The kubelet itself runs in
   * the node's namespace; tests that run without root pass one that stays where the kubelet is.
   */
  enterNetns?: (netns: string, argv: string[]) => string[];
}

export interface Kubelet {
  nodeName: string;
  stop(): Promise<void>;
}

const nowIso = () => new Date().toISOString();

/** How many sandboxes one node creates at once (each is a CNI ADD or a RunPodSandbox). */
const SANDBOX_CONCURRENCY = 8;

class NodeAgent {
  private readonly core: CoreV1Api;
  private readonly leases: CoordinationV1Api;
  private readonly runtime;
  private readonly pods = new Map<string, RunningPod>();
  /** one chain of work per pod uid: its events are handled in order */
  private readonly queues = new Map<string, Promise<void>>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private readonly unposted = new Set<string>();
  private watch: ObjectWatch<V1Pod> | undefined;
  private stopped = false;
  private loops: Promise<void>[] = [];
  private conditions: NodeCondition[] = [];
  private postedAt = 0;
  /** a Lease renewal failed for want of the API server (network, endpoint): the next success posts the status again */
  private leaseLost = false;
  private nodeUid = '';
  private sandboxSlots = SANDBOX_CONCURRENCY;
  private readonly slotWaiters: Array<() => void> = [];
  private readonly wake = new Set<() => void>();
  /** stops of pods with podnet's containers still under way */
  private readonly stoppingPodnet = new Set<Promise<void>>();
  private readonly containers: Containers;

  constructor(
    private readonly state: LabState,
    private readonly lab: LabRecord,
    private readonly node: NodeRecord,
    private readonly facts: NodeFacts,
    private readonly kc: KubeConfig,
    private readonly log: (line: string) => void,
    private readonly enterNetns: (netns: string, argv: string[]) => string[],
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.leases = kc.makeApiClient(CoordinationV1Api);
    this.runtime = podRuntime(state, lab);
    this.containers = new Containers({
      state,
      lab,
      node,
      facts,
      kc,
      core: this.core,
      log,
      enterNetns,
      stopped: () => this.stopped,
      event: (pod, type, reason, message) => this.event(pod, type, reason, message),
      postPod: (p) => this.postPod(p),
    });
  }

  async start(): Promise<void> {
    // the lab's records of this node's pods from before this kubelet: those the API server no longer has are orphans
    const recorded = this.state.pods().filter((r) => r.node === this.node.name);
    await this.containers.stopLeftovers();
    await this.register();
    this.loops.push(this.every('node status', 1_000, () => this.postNodeStatus()), this.every('node lease', LEASE_RENEW_MS, () => this.renewLease()));
    this.watch = watchObjects<V1Pod>(this.kc, {
      path: '/api/v1/pods',
      fieldSelector: `spec.nodeName=${this.facts.nodeName}`,
      onEvent: (type, pod) => this.enqueue(pod.metadata?.uid ?? '', () => this.handle(type, pod)),
      onConnection: (up, reason) => this.log(`pod watch ${up ? 'connected' : `down: ${reason}`}`),
    });
    await this.watch.synced;
    this.loops.push(this.removeOrphans(recorded, this.watch.list()));
  }

  /**
   * Pods deleted while no kubelet ran on the node (it was down or restarting): their sandboxes go (CNI DEL returns
   * the address), with their records and service-account kubeconfigs.
   */
  private async removeOrphans(recorded: PodRecord[], listed: V1Pod[]): Promise<void> {
    const identities = listed.map((p) => ({ namespace: p.metadata?.namespace ?? 'default', name: p.metadata?.name ?? '' }));
    const kept = new Set([...identities, ...this.pods.values()].map((p) => this.containers.podDir(p)));
    const podsDir = join(this.node.dir, 'pods');
    for (const d of existsSync(podsDir) ? readdirSync(podsDir) : []) if (!kept.has(join(podsDir, d))) rmSync(join(podsDir, d), { recursive: true, force: true });
    const keys = new Set(identities.map((p) => podKey(p.namespace, p.name)));
    for (const r of recorded.filter((x) => !keys.has(x.name))) {
      this.log(`pod record ${r.name}: no such pod in the API server any more; removing its sandbox`);
      if (!r.hostNetwork) await this.removeSandbox(r.name, r.containerId, undefined, r.name);
      rmSync(this.state.path('pods', `${r.name}.json`), { force: true });
    }
  }

  /** CNI DEL (or StopPodSandbox) of a pod's sandbox, retried; its echo server goes first. */
  private async removeSandbox(key: string, containerId: string, identity: PodIdentity | undefined, what: string): Promise<void> {
    const echo = this.state.procs().find((x) => x.name === `echo-${ns.pod(key)}`);
    if (echo && isLabProcess(echo.pid, this.state.dir)) process.kill(echo.pid, 'SIGKILL');
    for (let attempt = 0; !this.stopped || attempt === 0; attempt++) {
      try {
        this.refreshContainerd();
        await this.runtime.del(this.node, key, containerId, identity);
        return;
      } catch (err) {
        if (attempt >= 5) {
          this.log(`pod ${what}: ${(err as Error).message} (giving up; its address stays until ipamd's reconcile)`);
          return;
        }
        await sleep(1_000 * (attempt + 1));
      }
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.wake) w();
    for (const t of this.retries.values()) clearTimeout(t);
    await this.watch?.stop();
    await Promise.all(this.loops);
    await Promise.all(this.queues.values());
    // the pods keep running, as a real kubelet's do when it stops; only the restart timers go
    for (const p of this.pods.values()) for (const c of p.containers) clearTimeout(c.restartTimer);
  }

  /** Runs `fn` now and every `ms` until stop(); a failure is logged (once while it repeats) and the loop goes on. */
  private async every(what: string, ms: number, fn: () => Promise<void>): Promise<void> {
    let lastFailure = '';
    while (!this.stopped) {
      await fn().then(
        () => {
          if (lastFailure) this.log(`${what}: working again`);
          lastFailure = '';
        },
        (err: unknown) => {
          const message = describeKubeError(err);
          if (message !== lastFailure) this.log(`${what}: ${message}`);
          lastFailure = message;
        },
      );
      await new Promise<void>((resolve) => {
        const t = setTimeout(done, ms);
        function done() {
          clearTimeout(t);
          resolve();
        }
        this.wake.add(done);
      });
    }
  }

  // ---- the Node ----

  /** Creates the Node, or brings an existing one (a restarted kubelet) up to date; retries until the API answers. */
  private async register(): Promise<void> {
    const body = nodeObject(this.facts);
    for (let attempt = 0; !this.stopped; attempt++) {
      try {
        try {
          const created = await this.core.createNode({ body });
          this.nodeUid = created.metadata?.uid ?? '';
        } catch (err) {
          if (apiCode(err) !== 409) throw err;
          const patched = await this.core.patchNode({ name: body.metadata.name, body: { metadata: { labels: body.metadata.labels, annotations: body.metadata.annotations }, spec: body.spec } }, mergePatch);
          this.nodeUid = patched.metadata?.uid ?? '';
          this.conditions = (patched.status?.conditions ?? []).map((c) => ({ ...c, lastHeartbeatTime: String(c.lastHeartbeatTime ?? ''), lastTransitionTime: String(c.lastTransitionTime ?? '') }) as NodeCondition);
        }
        await this.core.patchNodeStatus({ name: body.metadata.name, body: { status: body.status } }, mergePatch);
        this.log(`registered node ${this.facts.nodeName} (${this.facts.instanceId}, ${this.facts.instanceType}, pods ${body.status.capacity.pods})`);
        return;
      } catch (err) {
        if (attempt % 10 === 0) this.log(`registering node ${this.facts.nodeName}: ${describeKubeError(err)} (retrying)`);
        await sleep(Math.min(200 * 2 ** attempt, 2_000));
      }
    }
  }

  private async postNodeStatus(): Promise<void> {
    const readiness = networkReadiness({
      conflist: existsSync(join(this.node.confDir, '10-aws.conflist')),
      confDir: this.node.confDir,
      ipamdNotReady: await ipamdReady(this.node.socket),
    });
    const next = nodeConditions(readiness, this.conditions, nowIso());
    // the condition is posted when it changes, and at least every minute as the kubelet's status report
    if (!conditionsChanged(this.conditions, next) && Date.now() - this.postedAt < 60_000) {
      await this.retryStatuses();
      return;
    }
    try {
      await this.core.patchNodeStatus({ name: this.facts.nodeName, body: { status: { conditions: next } } }, mergePatch);
    } catch (err) {
      if (apiCode(err) !== 404) throw err;
      // the Node was deleted (kubectl delete node): registered again, as a restarted kubelet would
      this.log(`node ${this.facts.nodeName} is gone from the API server: registering it again`);
      this.conditions = [];
      await this.register();
      return;
    }
    if (conditionsChanged(this.conditions, next)) this.log(`node ${readiness.ready ? 'Ready' : `NotReady: ${readiness.message}`}`);
    this.conditions = next;
    this.postedAt = Date.now();
    await this.retryStatuses();
  }

  private async renewLease(): Promise<void> {
    const name = this.facts.nodeName;
    try {
      await this.leases.patchNamespacedLease({ name, namespace: NODE_LEASE_NAMESPACE, body: { spec: { holderIdentity: name, renewTime: microTime(Date.now()) } } }, mergePatch);
      if (this.leaseLost) {
        // the API server was out of reach: the node lifecycle controller may have set Ready Unknown meanwhile, so the
        // status goes again at once (the kubelet posts what differs from the server's copy)
        this.leaseLost = false;
        this.postedAt = 0;
        this.conditions = [];
      }
    } catch (err) {
      if (apiCode(err) === undefined || apiCode(err)! >= 500) this.leaseLost = true;
      if (apiCode(err) !== 404) throw err;
      // created through a merge-free POST of plain JSON: the typed client would want a Date for the MicroTime
      const lease = leaseObject(name, this.nodeUid, Date.now());
      await this.leases.createNamespacedLease({ namespace: NODE_LEASE_NAMESPACE, body: { ...lease, spec: { ...lease.spec, renewTime: new Date() } } });
    }
  }

  // ---- pods ----

  private enqueue(uid: string, work: () => Promise<void>): void {
    const before = this.queues.get(uid) ?? Promise.resolve();
    const next = before.then(work).catch((err: unknown) => this.log(`pod ${uid}: ${(err as Error).stack ?? String(err)}`));
    this.queues.set(uid, next);
    void next.then(() => {
      if (this.queues.get(uid) === next) this.queues.delete(uid);
    });
  }

  private async handle(type: PodEvent, pod: V1Pod): Promise<void> {
    const uid = pod.metadata!.uid!;
    const action = podAction(type, pod, this.pods.has(uid));
    if (action.kind === 'start' && !this.stopped) await this.startPod(pod);
    if (action.kind === 'stop') await this.stopPod(uid, action.why);
    if (type === 'DELETED') {
      clearTimeout(this.retries.get(uid));
      this.retries.delete(uid);
    }
  }

  /** The lab name is taken when some other pod's record, an instance or a host has it. */
  private taken(key: string): boolean {
    const record = this.state.pod(key);
    const mine = [...this.pods.values()].some((p) => p.key === key);
    return (record !== undefined && record.node !== this.node.name && !mine) || key in this.lab.instances || [...this.lab.plan.internetHosts, ...this.lab.plan.onPremHosts].some((h) => h.name === key);
  }

  private async startPod(pod: V1Pod): Promise<void> {
    const meta = pod.metadata!;
    const namespace = meta.namespace ?? 'default';
    const name = meta.name!;
    const uid = meta.uid!;
    const hostNetwork = pod.spec?.hostNetwork === true;
    const problem = hostNetwork && namespace !== 'default' ? null : nameProblem(namespace, name, hostNetwork, (k) => this.taken(k));
    if (problem) {
      this.log(`pod ${namespace}/${name} refused: ${problem}`);
      await this.event(pod, 'Warning', 'FailedCreatePodSandBox', problem);
      await this.patchPodStatus(namespace, name, refusedPodStatus('PodnetLabName', problem, nowIso()));
      return;
    }
    const refused = this.containers.refusal(pod);
    if (refused) {
      this.log(`pod ${namespace}/${name} refused: ${refused}`);
      await this.event(pod, 'Warning', 'Failed', refused);
      await this.patchPodStatus(namespace, name, refusedPodStatus('PodnetLabRefused', refused, nowIso()));
      return;
    }
    const identity: PodIdentity = { namespace, name, uid };
    // podnet's containers talk to the API server as the pod's service account: without its token they do not start
    let kubeconfig: string | null = null;
    if ([...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].some(runsProcess)) {
      try {
        kubeconfig = await this.containers.serviceAccountKubeconfig(pod, { namespace, name, uid });
      } catch (err) {
        const message = `the service account token for ${pod.spec?.serviceAccountName ?? 'default'}: ${describeKubeError(err)}`;
        this.log(`pod ${namespace}/${name}: ${message} (retrying in 5 s)`);
        await this.event(pod, 'Warning', 'FailedMount', message);
        this.retryStart(uid);
        return;
      }
    }
    // a hostNetwork pod has the node's namespace: only the lab's own (namespace default) get a record, so the
    // DaemonSets' pods do not show up among the lab's pods
    const key = hostNetwork && namespace !== 'default' ? null : podKey(namespace, name);
    let containerId = '';
    let ip = this.facts.internalIp;
    const adopted = key ? this.state.pod(key) : undefined;
    if (adopted && adopted.node === this.node.name) {
      // a restarted kubelet: the sandbox is there already
      containerId = adopted.containerId;
      ip = adopted.ip ?? ip;
    } else if (!hostNetwork) {
      try {
        ({ containerId, ip } = await this.withSandboxSlot(async () => {
          this.refreshContainerd();
          const made = await this.runtime.add(this.node, key!, 0, identity);
          if (!made.ip) throw new PodnetError('LAB_FAILED', `the sandbox of ${namespace}/${name} got no IPv4 address`, 'see the node\'s plugin log');
          return { containerId: made.containerId, ip: made.ip };
        }));
      } catch (err) {
        const message = `Failed to create pod sandbox: ${(err as Error).message}`;
        this.log(`pod ${namespace}/${name}: ${message} (retrying in 5 s)`);
        await this.event(pod, 'Warning', 'FailedCreatePodSandBox', message);
        this.retryStart(uid);
        return;
      }
    }
    if (key) this.state.writePod({ name: key, node: this.node.name, ns: hostNetwork ? this.node.ns : ns.pod(key), hostNetwork, ip: hostNetwork ? null : ip, containerId });
    const slot = (spec: V1Container, init: boolean): ContainerSlot => ({
      spec,
      init,
      run: { name: spec.name, image: spec.image ?? '', startedAt: null, restartCount: 0, ready: false, lastExit: null, waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' }, containerId: `podnet://${containerId || uid}/${spec.name}` },
    });
    const running: RunningPod = {
      uid,
      namespace,
      name,
      key,
      hostNetwork,
      containerId,
      ip,
      startTime: nowIso(),
      initialized: false,
      containers: [...(pod.spec?.initContainers ?? []).map((c) => slot(c, true)), ...(pod.spec?.containers ?? []).map((c) => slot(c, false))],
      kubeconfig,
      stopped: false,
      previous: pod.status?.conditions,
    };
    this.pods.set(uid, running);
    this.log(`pod ${namespace}/${name} sandbox ${containerId || '(host network)'} ip ${ip}`);
    if (!hostNetwork) await this.event(pod, 'Normal', 'Sandbox', `Pod sandbox ${containerId} with IP ${ip} (podnet, lab node ${this.node.name})`);
    await Promise.all(this.stoppingPodnet);
    await this.containers.runInitContainers(pod, running);
  }

  /**
   * Under containerd, the node's containerd may start after the kubelet (lab up starts it once the node's CNI files
   * exist): its socket is read from lab.json when a sandbox needs it.
   */
  private refreshContainerd(): void {
    if (this.lab.runtime !== 'containerd' || this.node.containerd) return;
    const containerd = this.state.readLab()?.nodes[this.node.name]?.containerd;
    if (!containerd) throw new PodnetError('LAB_FAILED', `the containerd of ${this.node.name} is not running yet`, 'lab up starts it; the sandbox is tried again');
    this.node.containerd = containerd;
  }

  private retryStart(uid: string): void {
    clearTimeout(this.retries.get(uid));
    this.retries.set(
      uid,
      setTimeout(() => {
        this.retries.delete(uid);
        const latest = this.watch?.list().find((p) => p.metadata?.uid === uid);
        if (latest && !this.stopped) this.enqueue(uid, () => this.handle('MODIFIED', latest));
      }, 5_000),
    );
  }

  private async withSandboxSlot<T>(fn: () => Promise<T>): Promise<T> {
    while (this.sandboxSlots === 0) await new Promise<void>((r) => this.slotWaiters.push(r));
    this.sandboxSlots--;
    try {
      return await fn();
    } finally {
      this.sandboxSlots++;
      this.slotWaiters.shift()?.();
    }
  }

  private async stopPod(uid: string, why: string): Promise<void> {
    const p = this.pods.get(uid);
    if (!p) return;
    p.stopped = true;
    this.log(`pod ${p.namespace}/${p.name} ${why}: stopping`);
    // a new pod's podnet containers wait for this (a rollout's old ipamd exits before the new one binds the socket)
    const killed = Promise.all(p.containers.map((c) => this.containers.killContainer(c))).then(() => undefined);
    if (p.containers.some((c) => runsProcess(c.spec))) {
      this.stoppingPodnet.add(killed);
      void killed.then(() => this.stoppingPodnet.delete(killed));
    }
    await killed;
    if (p.containers.some((c) => runsProcess(c.spec))) this.log(`pod ${p.namespace}/${p.name}: its podnet containers have exited`);
    if (!p.hostNetwork && p.key) await this.removeSandbox(p.key, p.containerId, { namespace: p.namespace, name: p.name, uid: p.uid }, `${p.namespace}/${p.name}`);
    if (p.key) rmSync(this.state.path('pods', `${p.key}.json`), { force: true });
    rmSync(this.containers.podDir(p), { recursive: true, force: true });
    this.pods.delete(uid);
    this.unposted.delete(uid);
    this.log(`pod ${p.namespace}/${p.name} gone (sandbox ${p.containerId || 'host network'} removed)`);
  }

  private async postPod(p: RunningPod): Promise<void> {
    if (p.stopped) return;
    const status = podStatus({
      hostIP: this.facts.internalIp,
      podIP: p.ip,
      startTime: p.startTime,
      initContainers: p.containers.filter((c) => c.init).map((c) => c.run),
      containers: p.containers.filter((c) => !c.init).map((c) => c.run),
      initialized: p.initialized,
      ...(p.finished && { finished: p.finished }),
      now: nowIso(),
      previous: p.previous,
    });
    p.previous = status.conditions;
    try {
      await this.patchPodStatus(p.namespace, p.name, status);
      this.unposted.delete(p.uid);
    } catch (err) {
      if (apiCode(err) === 404) return;
      if (!this.unposted.has(p.uid)) this.log(`pod ${p.namespace}/${p.name}: posting its status failed: ${describeKubeError(err)} (retried every second)`);
      this.unposted.add(p.uid);
    }
  }

  /** Statuses that could not be posted (API server away) go again with the node's status loop. */
  private async retryStatuses(): Promise<void> {
    for (const uid of [...this.unposted]) {
      const p = this.pods.get(uid);
      if (p) await this.postPod(p);
    }
  }

  private async patchPodStatus(namespace: string, name: string, status: object): Promise<void> {
    await this.core.patchNamespacedPodStatus({ name, namespace, body: { status } }, mergePatch);
  }

  private async event(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const body = eventBody({ involved: { kind: 'Pod', apiVersion: 'v1', metadata: pod.metadata ?? {} }, type, reason, message, component: 'kubelet', host: this.facts.nodeName });
    try {
      await this.core.createNamespacedEvent({ namespace: body.metadata!.namespace!, body });
    } catch (err) {
      this.log(`event ${reason} for ${pod.metadata?.namespace}/${pod.metadata?.name} not recorded: ${describeKubeError(err)}`);
    }
  }
}

export async function startKubelet(o: KubeletOptions): Promise<Kubelet> {
  const log = o.log ?? ((line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`));
  const state = new LabState(o.stateDir);
  const { lab, node, facts } = await nodeFacts(state, o.node);
  // through the cluster endpoint by name when the lab has one (lab.nodeKubeconfig), as an EKS node joins
  const kc = loadKubeConfig({ kubeconfig: lab.nodeKubeconfig ?? lab.vpcKubeconfig });
  const kubelet = new NodeAgent(state, lab, node, facts, kc, log, o.enterNetns ?? ((netns, argv) => netnsArgv(netns, argv)));
  await kubelet.start();
  return { nodeName: facts.nodeName, stop: () => kubelet.stop() };
}

/** `podnet lab kubelet`: runs until SIGTERM/SIGINT. */
export async function runKubelet(o: KubeletOptions, until: Promise<void>): Promise<void> {
  const kubelet = await startKubelet(o);
  await until;
  await kubelet.stop();
}
