/**
 * The lab's kubelet (`podnet lab kubelet --state-dir DIR --node INSTANCE`, one per node, started by `lab up` in the
 * node's network namespace): registers the node's Node and keeps its Lease and Ready condition, and acts on watch
 * events for the pods bound to it — a sandbox through the lab's pod runtime (CNI or the node's containerd), the pod's
 * status, the lab's PodRecord, and for containers of podnet's image a podnet process (init containers first),
 * restarted with backoff when it exits. The decisions are in kubelet-node.ts and kubelet-pod.ts.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, closeSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { release } from 'node:os';
import { basename, extname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiException, CoordinationV1Api, CoreV1Api, PatchStrategy, setHeaderOptions, type KubeConfig, type V1Container, type V1Pod, type V1Probe } from '@kubernetes/client-node';
import { loadKubeConfig, watchObjects, type ObjectWatch } from '../k8s/index.js';
import { PodnetError, netnsArgv, onPath, run } from '../lib/index.js';
import { privateDnsName } from '../vpc/index.js';
import { inNodeMounts } from './containerd.js';
import { conditionsChanged, leaseObject, LEASE_RENEW_MS, microTime, networkReadiness, nodeConditions, nodeObject, NODE_LEASE_NAMESPACE, type NodeCondition, type NodeFacts } from './kubelet-node.js';
import {
  containerEnv,
  hostPathMounts,
  hostPathStandIns,
  labPath,
  labPathsInText,
  nameProblem,
  podAction,
  podKey,
  podnetContainerArgv,
  podStatus,
  probeCheck,
  refusedPodStatus,
  containerProcessName,
  finishedPhase,
  restartDelayMs,
  restarts,
  runsProcess,
  type ContainerRun,
  type PodEvent,
  type ProbeCheck,
} from './kubelet-pod.js';
import { ns } from './plan.js';
import { podRuntime, type PodIdentity } from './pod-runtime.js';
import { loadScenario } from './scenario.js';
import { isLabProcess, LabState, podnetArgv, STATE_DIR_ENV, type LabRecord, type NodeRecord } from './state.js';

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

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const apiCode = (err: unknown) => (err instanceof ApiException ? err.code : undefined);
const nowIso = () => new Date().toISOString();

/** A container of a running pod: what the status shows, and its process when it has one. */
interface ContainerSlot {
  spec: V1Container;
  run: ContainerRun;
  init: boolean;
  child?: ChildProcess;
  exited?: Promise<void>;
  restartTimer?: NodeJS.Timeout;
}

/** A pod this kubelet runs. */
interface RunningPod {
  uid: string;
  namespace: string;
  name: string;
  /** the lab's name (its PodRecord and namespace); null for a hostNetwork pod outside default or whose name does not fit */
  key: string | null;
  hostNetwork: boolean;
  containerId: string;
  ip: string;
  startTime: string;
  initialized: boolean;
  /** set when every container exited for good: the watch then sees a finished pod and its sandbox goes */
  finished?: 'Succeeded' | 'Failed';
  containers: ContainerSlot[];
  kubeconfig: string | null;
  stopped: boolean;
  /** the conditions posted last (their transition times carry over) */
  previous: PodStatusConditions | undefined;
}

/** Waits for lab.json to hold this node (lab up writes it as the nodes start) and the in-VPC kubeconfig. */
async function waitForNodeRecord(state: LabState, instance: string): Promise<{ lab: LabRecord; node: NodeRecord }> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const lab = state.readLab();
    const node = lab?.nodes[instance];
    if (lab && node && lab.vpcKubeconfig && state.readFabric()) return { lab, node };
    if (Date.now() > deadline) {
      throw new PodnetError('LAB_FAILED', `lab.json in ${state.dir} has no ${!lab ? 'lab' : !node ? `node ${instance}` : !lab.vpcKubeconfig ? 'in-VPC kubeconfig' : 'fabric status'} after 120 s`, 'the kubelet is started by lab up; see its log');
    }
    await sleep(200);
  }
}

/** The node's primary address, as EC2 assigned it to the primary ENI (the fabric's view). */
function primaryAddress(state: LabState, instanceId: string): string | undefined {
  return state.readFabric()?.enis.find((e) => e.instanceId === instanceId && e.deviceIndex === 0)?.privateIps[0];
}

/** GET /ready on ipamd's CNI socket: null when 200, else why not. */
function ipamdReady(socket: string): Promise<string | null> {
  if (!existsSync(socket)) return Promise.resolve(`no CNI socket at ${socket} (ipamd is not running)`);
  return new Promise((resolve) => {
    const req = httpRequest({ socketPath: socket, path: '/ready', method: 'GET', timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? null : body.trim().replace(/^not ready: /, '') || `HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 2 s')));
    req.on('error', (err) => resolve(`ipamd's CNI socket: ${err.message}`));
    req.end();
  });
}

export async function startKubelet(o: KubeletOptions): Promise<Kubelet> {
  const log = o.log ?? ((line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`));
  const state = new LabState(o.stateDir);
  const { lab, node } = await waitForNodeRecord(state, o.node);
  const scenario = await loadScenario(lab.scenarioPath);
  const instance = scenario.instances.find((i) => i.name === o.node);
  const ip = primaryAddress(state, node.instanceId);
  if (!instance || !ip) throw new PodnetError('LAB_FAILED', `node ${o.node} has ${!instance ? 'no instance in the scenario' : 'no primary address in the fabric yet'}`, 'the kubelet is started by lab up once the fabric is wired');
  const scenarioNode = scenario.nodes.find((n) => n.instance === o.node);
  const zone = scenario.subnets.find((s) => s.name === instance.subnet)?.az ?? `${lab.region}a`;
  const nodeName = node.nodeName ?? privateDnsName(ip, lab.region);
  const facts: NodeFacts = {
    nodeName,
    instanceId: node.instanceId,
    instanceType: node.instanceType,
    zone,
    region: lab.region,
    scenario: basename(lab.scenarioPath, extname(lab.scenarioPath)),
    labels: scenarioNode?.labels ?? {},
    internalIp: ip,
    // the mode max pods depends on: the scenario's settings for the node (its DaemonSet carries them) and the record's
    env: { ...scenarioNode?.env, ...node.env },
    kernelVersion: release(),
    containerRuntimeVersion: lab.runtime === 'containerd' ? 'containerd://lab' : `podnet-lab://${podnetVersion()}`,
    podnetVersion: podnetVersion(),
  };
  const kc = loadKubeConfig({ kubeconfig: lab.vpcKubeconfig });
  const kubelet = new NodeAgent(state, lab, node, facts, kc, log, o.enterNetns ?? ((netns, argv) => netnsArgv(netns, argv)));
  await kubelet.start();
  return { nodeName, stop: () => kubelet.stop() };
}

function podnetVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

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
  private nodeUid = '';
  private sandboxSlots = SANDBOX_CONCURRENCY;
  private readonly slotWaiters: Array<() => void> = [];
  private readonly wake = new Set<() => void>();

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
  }

  async start(): Promise<void> {
    await this.stopLeftoverContainers();
    await this.register();
    this.loops.push(this.every('node status', 1_000, () => this.postNodeStatus()), this.every('node lease', LEASE_RENEW_MS, () => this.renewLease()));
    this.watch = watchObjects<V1Pod>(this.kc, {
      path: '/api/v1/pods',
      fieldSelector: `spec.nodeName=${this.facts.nodeName}`,
      onEvent: (type, pod) => this.enqueue(pod.metadata?.uid ?? '', () => this.handle(type, pod)),
      onConnection: (up, reason) => this.log(`pod watch ${up ? 'connected' : `down: ${reason}`}`),
    });
    await this.watch.synced;
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

  /**
   * Container processes an earlier kubelet of this node started (it exited or was killed): they are not this one's
   * children, so it cannot see them exit; they are stopped, and the pods' containers start again from the watch.
   */
  private async stopLeftoverContainers(): Promise<void> {
    const podNamespaces = new Set(this.state.pods().filter((p) => p.node === this.node.name).map((p) => p.ns));
    const leftovers = this.state.procs().filter((p) => p.name.startsWith('pod-') && (p.ns === this.node.ns || podNamespaces.has(p.ns)) && isLabProcess(p.pid, this.state.dir));
    for (const p of leftovers) {
      this.log(`stopping ${p.name} (pid ${p.pid}), left by an earlier kubelet`);
      killGroup(p.pid, 'SIGTERM');
    }
    const deadline = Date.now() + 5_000;
    while (leftovers.some((p) => isLabProcess(p.pid, this.state.dir)) && Date.now() < deadline) await sleep(100);
    for (const p of leftovers) if (isLabProcess(p.pid, this.state.dir)) killGroup(p.pid, 'SIGKILL');
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
          const message = describe(err);
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
        if (attempt % 10 === 0) this.log(`registering node ${this.facts.nodeName}: ${describe(err)} (retrying)`);
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
    } catch (err) {
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
    // a hostNetwork pod has the node's namespace: only the lab's own (namespace default) get a record, so the
    // DaemonSets' pods do not show up among the lab's pods
    const key = hostNetwork && namespace !== 'default' ? null : podKey(namespace, name);
    const identity: PodIdentity = { namespace, name, uid };
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
      kubeconfig: null,
      stopped: false,
      previous: pod.status?.conditions,
    };
    this.pods.set(uid, running);
    this.log(`pod ${namespace}/${name} sandbox ${containerId || '(host network)'} ip ${ip}`);
    if (!hostNetwork) await this.event(pod, 'Normal', 'Sandbox', `Pod sandbox ${containerId} with IP ${ip} (podnet, lab node ${this.node.name})`);
    if (running.containers.some((c) => runsProcess(c.spec))) {
      try {
        running.kubeconfig = await this.serviceAccountKubeconfig(pod, running);
      } catch (err) {
        await this.event(pod, 'Warning', 'FailedMount', `the service account token for ${pod.spec?.serviceAccountName ?? 'default'}: ${describe(err)}`);
      }
    }
    await this.runInitContainers(pod, running);
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

  /** Init containers one after another, each to a clean exit; then the pod's containers. */
  private async runInitContainers(pod: V1Pod, p: RunningPod): Promise<void> {
    for (const c of p.containers.filter((x) => x.init)) {
      for (;;) {
        if (p.stopped || this.stopped) return;
        if (!runsProcess(c.spec)) break;
        const code = await this.runOnce(pod, p, c);
        if (code === 0) break;
        if (pod.spec?.restartPolicy === 'Never') {
          // a failed init container fails a pod that is never restarted, as the kubelet does
          p.finished = 'Failed';
          await this.postPod(p);
          return;
        }
        c.run.waiting = { reason: 'CrashLoopBackOff', message: `back-off restarting failed init container ${c.spec.name}` };
        c.run.restartCount++;
        await this.postPod(p);
        await sleep(restartDelayMs(c.run.restartCount));
      }
      c.run.waiting = null;
      c.run.lastExit ??= { exitCode: 0, reason: 'Completed', startedAt: p.startTime, finishedAt: nowIso() };
      c.run.ready = true;
    }
    p.initialized = true;
    for (const c of p.containers.filter((x) => !x.init)) {
      if (runsProcess(c.spec)) this.startContainer(pod, p, c);
      else {
        c.run.startedAt = p.startTime;
        c.run.waiting = null;
        c.run.ready = true;
      }
    }
    await this.postPod(p);
  }

  /** Runs an init container's process to its end; its exit code. */
  private async runOnce(pod: V1Pod, p: RunningPod, c: ContainerSlot): Promise<number> {
    const started = nowIso();
    c.run.startedAt = started;
    c.run.waiting = null;
    await this.postPod(p);
    const code = await new Promise<number>((resolve) => {
      const child = this.spawnContainer(pod, p, c);
      child.on('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? 128 + 9 : 1)));
      child.on('error', () => resolve(127));
    });
    c.child = undefined;
    c.run.startedAt = null;
    c.run.lastExit = { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: started, finishedAt: nowIso() };
    this.log(`pod ${p.namespace}/${p.name} init container ${c.spec.name} exited ${code}`);
    return code;
  }

  /** Starts a container's process; when it exits it is started again after the backoff, as restartPolicy Always does. */
  private startContainer(pod: V1Pod, p: RunningPod, c: ContainerSlot): void {
    if (p.stopped || this.stopped) return;
    const started = nowIso();
    const child = this.spawnContainer(pod, p, c);
    c.child = child;
    c.run.startedAt = started;
    c.run.waiting = null;
    c.run.ready = false;
    c.exited = new Promise<void>((resolve) => {
      child.on('exit', (exitCode, signal) => {
        c.child = undefined;
        const code = exitCode ?? 128 + (signal === 'SIGKILL' ? 9 : 15);
        c.run.startedAt = null;
        c.run.ready = false;
        c.run.lastExit = { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: started, finishedAt: nowIso() };
        resolve();
        // a stopped kubelet leaves its pods' processes alone: the next one takes over
        if (p.stopped || this.stopped) return;
        if (!restarts(pod.spec?.restartPolicy, code)) {
          c.run.waiting = null;
          p.finished = finishedPhase(p.containers.filter((x) => !x.init).map((x) => x.run));
          this.log(`pod ${p.namespace}/${p.name} container ${c.spec.name} exited ${code}${p.finished ? `; pod ${p.finished}` : ''}`);
          void this.postPod(p);
          return;
        }
        c.run.restartCount++;
        c.run.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${restartDelayMs(c.run.restartCount) / 1000}s restarting failed container=${c.spec.name} pod=${p.name}_${p.namespace}(${p.uid})` };
        this.log(`pod ${p.namespace}/${p.name} container ${c.spec.name} exited ${code}; restart ${c.run.restartCount} in ${restartDelayMs(c.run.restartCount)} ms`);
        void this.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.spec.name} in pod ${p.name}_${p.namespace}(${p.uid})`);
        void this.postPod(p);
        c.restartTimer = setTimeout(() => this.startContainer(pod, p, c), restartDelayMs(c.run.restartCount));
      });
    });
    void this.postPod(p);
    void this.event(pod, 'Normal', 'Started', `Started container ${c.spec.name}`);
    void this.followReadiness(pod, p, c, child);
    void this.followLiveness(pod, p, c, child);
  }

  /** The container's probe as the kubelet runs it on the node: an exec probe's paths are the container's, so they go to the node's stand-ins. */
  private probeOf(pod: V1Pod, p: RunningPod, c: ContainerSlot, probe: V1Probe | undefined): ProbeCheck {
    const check = probeCheck(probe, c.spec, p.hostNetwork ? '127.0.0.1' : p.ip);
    const { mounts, standIns } = this.containerPaths(pod, c);
    return check?.kind === 'exec' ? { ...check, argv: check.argv.map((w) => labPathsInText(w, mounts, standIns)) } : check;
  }

  /** Probes readiness while this process runs (every probe period, at most 2 s in the lab); ready when running without a probe. */
  private async followReadiness(pod: V1Pod, p: RunningPod, c: ContainerSlot, child: ChildProcess): Promise<void> {
    const check = this.probeOf(pod, p, c, c.spec.readinessProbe);
    const period = Math.min((c.spec.readinessProbe?.periodSeconds ?? 10) * 1000, 2_000);
    await sleep(Math.min((c.spec.readinessProbe?.initialDelaySeconds ?? 0) * 1000, 5_000));
    while (c.child === child && !p.stopped && !this.stopped) {
      const ready = check === null || (await this.probe(p, check));
      if (c.child !== child) return;
      if (ready !== c.run.ready) {
        c.run.ready = ready;
        await this.postPod(p);
      }
      await sleep(period);
    }
  }

  /** A livenessProbe failing failureThreshold times in a row (default 3) kills the process, which then restarts as any exit does. */
  private async followLiveness(pod: V1Pod, p: RunningPod, c: ContainerSlot, child: ChildProcess): Promise<void> {
    const spec = c.spec.livenessProbe;
    const check = this.probeOf(pod, p, c, spec);
    if (!check) return;
    const threshold = spec?.failureThreshold ?? 3;
    await sleep((spec?.initialDelaySeconds ?? 0) * 1000);
    for (let failures = 0; c.child === child && !p.stopped && !this.stopped; ) {
      failures = (await this.probe(p, check)) ? 0 : failures + 1;
      if (c.child !== child || p.stopped || this.stopped) return;
      if (failures >= threshold) {
        const message = `Container ${c.spec.name} failed liveness probe ${failures} times, will be restarted`;
        this.log(`pod ${p.namespace}/${p.name}: ${message}`);
        void this.event(pod, 'Warning', 'Unhealthy', `Liveness probe failed ${failures} times`);
        void this.event(pod, 'Normal', 'Killing', message);
        await this.killContainer(c);
        return;
      }
      await sleep((spec?.periodSeconds ?? 10) * 1000);
    }
  }

  private async probe(p: RunningPod, check: NonNullable<ProbeCheck>): Promise<boolean> {
    // the kubelet is in the node's namespace: a hostNetwork pod's probe reaches it directly; another pod's goes to its address
    if (check.kind === 'tcp') {
      return new Promise((resolve) => {
        const s = connect({ host: check.host, port: check.port, timeout: 1_000 }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
        s.on('timeout', () => (s.destroy(), resolve(false)));
      });
    }
    if (check.kind === 'http') {
      if (check.scheme === 'https') return true;
      return new Promise((resolve) => {
        const req = httpRequest({ host: check.host, port: check.port, path: check.path, timeout: 1_000 }, (res) => {
          res.resume();
          resolve((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 400);
        });
        req.on('error', () => resolve(false));
        req.on('timeout', () => req.destroy(new Error('timeout')));
        req.end();
      });
    }
    const [cmd, ...rest] = check.argv;
    const argv = cmd === 'podnet' || cmd?.endsWith('/podnet') ? [...podnetArgv(), ...rest] : check.argv;
    // a probe binary the lab does not have (upstream's grpc-health-probe) cannot say anything: running counts as ready
    if (argv === check.argv && !(cmd && (cmd.startsWith('/') ? existsSync(cmd) : onPath(cmd)))) return true;
    const netns = p.hostNetwork ? this.node.ns : ns.pod(p.key!);
    return run(this.enterNetns(netns, argv), { timeoutMs: 10_000 }).then(() => true, () => false);
  }

  /** The process of a podnet container: podnet's argv, the container's env on top of the node's, in the pod's namespace. */
  private spawnContainer(pod: V1Pod, p: RunningPod, c: ContainerSlot): ChildProcess {
    const { env, problems } = containerEnv(c.spec.env, pod, { nodeName: this.facts.nodeName, hostIP: this.facts.internalIp, podIP: p.ip });
    for (const problem of problems) void this.event(pod, 'Warning', 'Failed', `container ${c.spec.name}: ${problem}`);
    const { mounts, standIns } = this.containerPaths(pod, c);
    const mapped = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, labPath(v, mounts, standIns)]));
    const nodePaths = Object.fromEntries(Object.entries(this.node.env).filter(([, v]) => v.startsWith(`${this.node.dir}/`)));
    const fullEnv: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      ...mapped,
      // the node's own files, and explicit endpoints: the VPC-internal EC2 endpoint and IMDS, never AWS's defaults
      ...nodePaths,
      PODNET_CNI_SOCKET: this.node.socket,
      AWS_ENDPOINT_URL_EC2: this.lab.ec2Url,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: this.lab.imdsUrl,
      AWS_REGION: this.lab.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      PODNET_METRICS_BIND_ADDRESS: '127.0.0.1:61678',
      INTROSPECTION_BIND_ADDRESS: '127.0.0.1:61679',
      ...(p.kubeconfig && { KUBECONFIG: p.kubeconfig }),
      [STATE_DIR_ENV]: this.state.dir,
    };
    const args = podnetContainerArgv(c.spec, env, mounts, standIns, { binDir: this.node.binDir, confDir: this.node.confDir, socket: this.node.socket });
    let argv = [...podnetArgv(), ...args];
    if (this.node.mountHolderPid) argv = inNodeMounts(this.node.mountHolderPid, argv);
    argv = this.enterNetns(p.hostNetwork ? this.node.ns : ns.pod(p.key!), argv);
    const procName = containerProcessName(p, c.spec.name);
    const logPath = this.state.path('logs', `${procName}.log`);
    const fd = openSync(logPath, 'a');
    try {
      const child = spawn(argv[0]!, argv.slice(1), { cwd: fileRoot, detached: true, stdio: ['ignore', fd, fd], env: fullEnv });
      if (child.pid !== undefined) this.state.writeProc({ name: procName, pid: child.pid, ns: p.hostNetwork ? this.node.ns : ns.pod(p.key!), argv, log: logPath });
      this.log(`pod ${p.namespace}/${p.name} container ${c.spec.name}: podnet ${args.join(' ')} (pid ${child.pid}, log ${logPath})`);
      return child;
    } finally {
      closeSync(fd);
    }
  }

  /** The container's hostPath mounts and the node's directories that stand in for the host's paths. */
  private containerPaths(pod: V1Pod, c: ContainerSlot): { mounts: Array<[string, string]>; standIns: Array<[string, string]> } {
    return {
      mounts: hostPathMounts(c.spec, pod.spec?.volumes),
      standIns: hostPathStandIns({ dir: this.node.dir, binDir: this.node.binDir, confDir: this.node.confDir, logDir: join(this.node.dir, 'log') }),
    };
  }

  /** A kubeconfig with a TokenRequest token for the pod's service account (its RBAC applies to the pod's podnet). */
  private async serviceAccountKubeconfig(pod: V1Pod, p: RunningPod): Promise<string> {
    const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
    const answer = await this.core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace: p.namespace,
      body: { spec: { audiences: [], expirationSeconds: 86_400, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: p.name, uid: p.uid } } },
    });
    const cluster = this.kc.getCurrentCluster()!;
    const ca = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
    const dir = join(this.node.dir, 'pods', `${p.namespace}_${p.name}`);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'kubeconfig');
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lab', cluster: { server: cluster.server, ...(ca && { 'certificate-authority-data': ca }) } }],
      users: [{ name: `system:serviceaccount:${p.namespace}:${serviceAccount}`, user: { token: answer.status?.token } }],
      contexts: [{ name: 'lab', context: { cluster: 'lab', user: `system:serviceaccount:${p.namespace}:${serviceAccount}`, namespace: p.namespace } }],
      'current-context': 'lab',
    };
    writeFileSync(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
    return path;
  }

  private async stopPod(uid: string, why: string): Promise<void> {
    const p = this.pods.get(uid);
    if (!p) return;
    p.stopped = true;
    this.log(`pod ${p.namespace}/${p.name} ${why}: stopping`);
    await Promise.all(p.containers.map((c) => this.killContainer(c)));
    if (!p.hostNetwork && p.key) {
      const echo = this.state.procs().find((x) => x.name === `echo-${ns.pod(p.key!)}`);
      if (echo && isLabProcess(echo.pid, this.state.dir)) process.kill(echo.pid, 'SIGKILL');
      for (let attempt = 0; ; attempt++) {
        try {
          this.refreshContainerd();
          await this.runtime.del(this.node, p.key, p.containerId, { namespace: p.namespace, name: p.name, uid: p.uid });
          break;
        } catch (err) {
          if (attempt >= 5) {
            this.log(`pod ${p.namespace}/${p.name}: ${(err as Error).message} (giving up; its address stays until ipamd's reconcile)`);
            break;
          }
          await sleep(1_000 * (attempt + 1));
        }
      }
    }
    if (p.key) rmSync(this.state.path('pods', `${p.key}.json`), { force: true });
    rmSync(join(this.node.dir, 'pods', `${p.namespace}_${p.name}`), { recursive: true, force: true });
    this.pods.delete(uid);
    this.unposted.delete(uid);
    this.log(`pod ${p.namespace}/${p.name} gone (sandbox ${p.containerId || 'host network'} removed)`);
  }

  private async killContainer(c: ContainerSlot): Promise<void> {
    clearTimeout(c.restartTimer);
    const child = c.child;
    if (!child?.pid) return;
    const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
    killGroup(child.pid, 'SIGTERM');
    const grace = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(grace);
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
      if (!this.unposted.has(p.uid)) this.log(`pod ${p.namespace}/${p.name}: posting its status failed: ${describe(err)} (retried every second)`);
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
    const meta = pod.metadata!;
    const now = new Date();
    try {
      await this.core.createNamespacedEvent({
        namespace: meta.namespace ?? 'default',
        body: {
          metadata: { name: `${meta.name}.${now.getTime().toString(16)}${Math.floor(Math.random() * 0xfff).toString(16)}`, namespace: meta.namespace ?? 'default' },
          involvedObject: { apiVersion: 'v1', kind: 'Pod', name: meta.name, namespace: meta.namespace ?? 'default', uid: meta.uid, resourceVersion: meta.resourceVersion },
          reason,
          message,
          type,
          source: { component: 'kubelet', host: this.facts.nodeName },
          reportingComponent: 'kubelet',
          reportingInstance: this.facts.nodeName,
          firstTimestamp: now,
          lastTimestamp: now,
          count: 1,
        },
      });
    } catch (err) {
      this.log(`event ${reason} for ${meta.namespace}/${meta.name} not recorded: ${describe(err)}`);
    }
  }
}

/** Signals a container's process group (it was started detached, as its group's leader). */
function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
}

type PodStatusConditions = ReadonlyArray<{ type?: string; status?: string; lastTransitionTime?: unknown }>;

/** Where lab processes start (the repository: `--import tsx` resolves from there). */
const fileRoot = new URL('../../', import.meta.url).pathname;

function describe(err: unknown): string {
  if (err instanceof ApiException) {
    try {
      const body = (typeof err.body === 'string' ? JSON.parse(err.body) : err.body) as { message?: string };
      if (body?.message) return `${err.code}: ${body.message}`;
    } catch {
      // not a Status
    }
    return `HTTP ${err.code}`;
  }
  return (err as Error).message;
}

/** `podnet lab kubelet`: runs until SIGTERM/SIGINT. */
export async function runKubelet(o: KubeletOptions, until: Promise<void>): Promise<void> {
  const kubelet = await startKubelet(o);
  await until;
  await kubelet.stop();
}
