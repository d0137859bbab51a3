/**
 * The lab kubelet's containers of podnet's image: what a pod may run (kubelet-policy.ts), the service-account
 * kubeconfig, init containers to completion, processes restarted with backoff, readiness and liveness probes, and
 * stopping them. The kubelet (kubelet.ts) owns the pods and their sandboxes; this runs their processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { CoreV1Api, KubeConfig, V1Container, V1Pod, V1Probe } from '@kubernetes/client-node';
import { describeKubeError } from '../k8s/index.js';
import { onPath, run } from '../lib/index.js';
import { inNodeMounts } from './containerd.js';
import { allowedEnv, podProcessRefusal } from './kubelet-policy.js';
import {
  containerEnv,
  containerProcessName,
  exitCodeOf,
  finishedPhase,
  hostPathMounts,
  hostPathStandIns,
  labPath,
  labPathsInText,
  podnetContainerArgv,
  probeCheck,
  restartDelayMs,
  restarts,
  runsProcess,
  type ContainerRun,
  type ProbeCheck,
} from './kubelet-pod.js';
import type { NodeFacts } from './kubelet-node.js';
import { ns } from './plan.js';
import { isLabProcess, podnetArgv, STATE_DIR_ENV, type LabRecord, type LabState, type NodeRecord } from './state.js';

const nowIso = () => new Date().toISOString();

/** A container of a running pod: what the status shows, and its process when it has one. */
export interface ContainerSlot {
  spec: V1Container;
  run: ContainerRun;
  init: boolean;
  child?: ChildProcess;
  restartTimer?: NodeJS.Timeout;
}

/** A pod this kubelet runs. */
export interface RunningPod {
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
  previous: ReadonlyArray<{ type?: string; status?: string; lastTransitionTime?: unknown }> | undefined;
}

/** What the containers need of their kubelet. */
export interface ContainerHost {
  state: LabState;
  lab: LabRecord;
  node: NodeRecord;
  facts: NodeFacts;
  kc: KubeConfig;
  core: CoreV1Api;
  log(line: string): void;
  enterNetns(netns: string, argv: string[]): string[];
  stopped(): boolean;
  event(pod: V1Pod, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void>;
  postPod(p: RunningPod): Promise<void>;
}

/** Where lab processes start (the repository: `--import tsx` resolves from there). */
const fileRoot = new URL('../../', import.meta.url).pathname;

export class Containers {
  constructor(private readonly h: ContainerHost) {}

  /**
   * Why the pod's podnet containers may not run on the node (kubelet-policy.ts), or null. Checked before the pod
   * gets a sandbox: a refused pod fails with the reason.
   */
  refusal(pod: V1Pod): string | null {
    return podProcessRefusal(pod, { nodeName: this.h.facts.nodeName, hostIP: this.h.facts.internalIp, podIP: '' }, this.standIns(), this.cniPaths());
  }

  /** A kubeconfig with a TokenRequest token for the pod's service account (its RBAC applies to the pod's podnet); throws when the API refuses. */
  async serviceAccountKubeconfig(pod: V1Pod, p: Pick<RunningPod, 'namespace' | 'name' | 'uid'>): Promise<string> {
    const serviceAccount = pod.spec?.serviceAccountName ?? 'default';
    const answer = await this.h.core.createNamespacedServiceAccountToken({
      name: serviceAccount,
      namespace: p.namespace,
      body: { spec: { audiences: [], expirationSeconds: 86_400, boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: p.name, uid: p.uid } } },
    });
    const cluster = this.h.kc.getCurrentCluster()!;
    const ca = cluster.caData ?? (cluster.caFile ? readFileSync(cluster.caFile).toString('base64') : undefined);
    const dir = this.podDir(p);
    mkdirSync(dir, { recursive: true });
    const path = join(dir, 'kubeconfig');
    const user = `system:serviceaccount:${p.namespace}:${serviceAccount}`;
    const config = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'lab', cluster: { server: cluster.server, ...(ca && { 'certificate-authority-data': ca }) } }],
      users: [{ name: user, user: { token: answer.status?.token } }],
      contexts: [{ name: 'lab', context: { cluster: 'lab', user, namespace: p.namespace } }],
      'current-context': 'lab',
    };
    writeFileSync(path, JSON.stringify(config, null, 2) + '\n', { mode: 0o600 });
    return path;
  }

  /** The pod's directory on the node (its kubeconfig). */
  podDir(p: Pick<RunningPod, 'namespace' | 'name'>): string {
    return join(this.h.node.dir, 'pods', `${p.namespace}_${p.name}`);
  }

  /** Init containers one after another, each to a clean exit; then the pod's containers. */
  async runInitContainers(pod: V1Pod, p: RunningPod): Promise<void> {
    for (const c of p.containers.filter((x) => x.init)) {
      for (;;) {
        if (p.stopped || this.h.stopped()) return;
        if (!runsProcess(c.spec)) break;
        const code = await this.runOnce(pod, p, c);
        if (code === 0) break;
        if (pod.spec?.restartPolicy === 'Never') {
          // a failed init container fails a pod that is never restarted, as the kubelet does
          p.finished = 'Failed';
          await this.h.postPod(p);
          return;
        }
        c.run.waiting = { reason: 'CrashLoopBackOff', message: `back-off restarting failed init container ${c.spec.name}` };
        c.run.restartCount++;
        await this.h.postPod(p);
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
    await this.h.postPod(p);
  }

  /** Runs an init container's process to its end; its exit code (128 + the signal's number when killed). */
  private async runOnce(pod: V1Pod, p: RunningPod, c: ContainerSlot): Promise<number> {
    const started = nowIso();
    c.run.startedAt = started;
    c.run.waiting = null;
    await this.h.postPod(p);
    // c.child: a pod stopped while its init container runs stops that process too
    const code = await new Promise<number>((resolve) => (c.child = this.spawnContainer(pod, p, c, resolve)));
    c.child = undefined;
    c.run.startedAt = null;
    c.run.lastExit = { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: started, finishedAt: nowIso() };
    this.h.log(`pod ${p.namespace}/${p.name} init container ${c.spec.name} exited ${code}`);
    return code;
  }

  /** Starts a container's process; when it exits it is started again after the backoff, as restartPolicy Always does. */
  private startContainer(pod: V1Pod, p: RunningPod, c: ContainerSlot): void {
    if (p.stopped || this.h.stopped()) return;
    const started = nowIso();
    const child = this.spawnContainer(pod, p, c, (code) => {
      c.child = undefined;
      c.run.startedAt = null;
      c.run.ready = false;
      c.run.lastExit = { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: started, finishedAt: nowIso() };
      // a stopped kubelet leaves its pods' processes alone: the next one takes over
      if (p.stopped || this.h.stopped()) return;
      if (!restarts(pod.spec?.restartPolicy, code)) {
        c.run.waiting = null;
        p.finished = finishedPhase(p.containers.filter((x) => !x.init).map((x) => x.run));
        this.h.log(`pod ${p.namespace}/${p.name} container ${c.spec.name} exited ${code}${p.finished ? `; pod ${p.finished}` : ''}`);
        void this.h.postPod(p);
        return;
      }
      c.run.restartCount++;
      this.backOff(pod, p, c);
      this.h.log(`pod ${p.namespace}/${p.name} container ${c.spec.name} exited ${code}; restart ${c.run.restartCount} in ${restartDelayMs(c.run.restartCount)} ms`);
      void this.h.event(pod, 'Warning', 'BackOff', `Back-off restarting failed container ${c.spec.name} in pod ${p.name}_${p.namespace}(${p.uid})`);
    });
    c.child = child;
    c.run.startedAt = started;
    c.run.waiting = null;
    c.run.ready = false;
    void this.h.postPod(p);
    void this.h.event(pod, 'Normal', 'Started', `Started container ${c.spec.name}`);
    void this.followReadiness(pod, p, c, child);
    void this.followLiveness(pod, p, c, child);
  }

  /** CrashLoopBackOff, then the container again, with a new service-account token (the old one may have expired). */
  private backOff(pod: V1Pod, p: RunningPod, c: ContainerSlot): void {
    const delay = restartDelayMs(c.run.restartCount);
    c.run.waiting = { reason: 'CrashLoopBackOff', message: `back-off ${delay / 1000}s restarting failed container=${c.spec.name} pod=${p.name}_${p.namespace}(${p.uid})` };
    void this.h.postPod(p);
    c.restartTimer = setTimeout(() => {
      void (async () => {
        if (p.stopped || this.h.stopped()) return;
        if (p.kubeconfig) {
          try {
            p.kubeconfig = await this.serviceAccountKubeconfig(pod, p);
          } catch (err) {
            const message = `the service account token for ${pod.spec?.serviceAccountName ?? 'default'}: ${describeKubeError(err)}`;
            this.h.log(`pod ${p.namespace}/${p.name} container ${c.spec.name} not restarted: ${message}`);
            void this.h.event(pod, 'Warning', 'FailedMount', message);
            this.backOff(pod, p, c);
            return;
          }
        }
        this.startContainer(pod, p, c);
      })();
    }, delay);
  }

  /** The container's probe as the kubelet runs it on the node: an exec probe's paths are the container's, so they go to the node's stand-ins. */
  private probeOf(pod: V1Pod, p: RunningPod, c: ContainerSlot, probe: V1Probe | undefined): ProbeCheck {
    const check = probeCheck(probe, c.spec, p.hostNetwork ? '127.0.0.1' : p.ip);
    const { mounts, standIns } = this.paths(pod, c.spec);
    return check?.kind === 'exec' ? { ...check, argv: check.argv.map((w) => labPathsInText(w, mounts, standIns)) } : check;
  }

  /** Probes readiness while this process runs (every probe period, at most 2 s in the lab); ready when running without a probe. */
  private async followReadiness(pod: V1Pod, p: RunningPod, c: ContainerSlot, child: ChildProcess): Promise<void> {
    const check = this.probeOf(pod, p, c, c.spec.readinessProbe);
    const period = Math.min((c.spec.readinessProbe?.periodSeconds ?? 10) * 1000, 2_000);
    await sleep(Math.min((c.spec.readinessProbe?.initialDelaySeconds ?? 0) * 1000, 5_000));
    while (c.child === child && !p.stopped && !this.h.stopped()) {
      const ready = check === null || (await this.probe(p, check));
      if (c.child !== child) return;
      if (ready !== c.run.ready) {
        c.run.ready = ready;
        await this.h.postPod(p);
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
    for (let failures = 0; c.child === child && !p.stopped && !this.h.stopped(); ) {
      failures = (await this.probe(p, check)) ? 0 : failures + 1;
      if (c.child !== child || p.stopped || this.h.stopped()) return;
      if (failures >= threshold) {
        const message = `Container ${c.spec.name} failed liveness probe ${failures} times, will be restarted`;
        this.h.log(`pod ${p.namespace}/${p.name}: ${message}`);
        void this.h.event(pod, 'Warning', 'Unhealthy', `Liveness probe failed ${failures} times`);
        void this.h.event(pod, 'Normal', 'Killing', message);
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
    const netns = p.hostNetwork ? this.h.node.ns : ns.pod(p.key!);
    return run(this.h.enterNetns(netns, argv), { timeoutMs: 10_000 }).then(() => true, () => false);
  }

  /**
   * The process of a podnet container: podnet's argv, the container's allowed env on top of the node's, in the pod's
   * namespace. `exited` is called once, with the exit code (128 + the signal's number when killed, 127 when it
   * could not start).
   */
  private spawnContainer(pod: V1Pod, p: RunningPod, c: ContainerSlot, exited: (code: number) => void): ChildProcess {
    const { node, lab, state } = this.h;
    const { env: resolved, problems } = containerEnv(c.spec.env, pod, { nodeName: this.h.facts.nodeName, hostIP: this.h.facts.internalIp, podIP: p.ip });
    const { env, dropped } = allowedEnv(resolved, c.spec);
    for (const problem of problems) void this.h.event(pod, 'Warning', 'Failed', `container ${c.spec.name}: ${problem}`);
    if (dropped.length > 0) void this.h.event(pod, 'Warning', 'Failed', `container ${c.spec.name}: env ${dropped.join(', ')} left out (the lab passes only podnet's settings, MY_* and the downward API)`);
    const { mounts, standIns } = this.paths(pod, c.spec);
    const mapped = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, labPath(v, mounts, standIns)]));
    const nodePaths = Object.fromEntries(Object.entries(node.env).filter(([, v]) => v.startsWith(`${node.dir}/`)));
    const fullEnv: Record<string, string> = {
      ...mapped,
      // the node's own files, and explicit endpoints: the VPC-internal EC2 endpoint and IMDS, never AWS's defaults
      ...nodePaths,
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      PODNET_CNI_SOCKET: node.socket,
      AWS_ENDPOINT_URL_EC2: lab.ec2Url,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: lab.imdsUrl,
      AWS_REGION: lab.region,
      AWS_ACCESS_KEY_ID: 'test',
      AWS_SECRET_ACCESS_KEY: 'test',
      PODNET_METRICS_BIND_ADDRESS: '127.0.0.1:61678',
      INTROSPECTION_BIND_ADDRESS: '127.0.0.1:61679',
      ...(p.kubeconfig && { KUBECONFIG: p.kubeconfig }),
      // the node's resolver (its VPC's, lab up's resolv.conf): names never go to the host's resolver
      ...(process.env.PODNET_RESOLV_CONF && { PODNET_RESOLV_CONF: process.env.PODNET_RESOLV_CONF }),
      [STATE_DIR_ENV]: state.dir,
    };
    const args = podnetContainerArgv(c.spec, resolved, mounts, standIns, this.cniPaths());
    const netns = p.hostNetwork ? node.ns : ns.pod(p.key!);
    let argv = [...podnetArgv(), ...args];
    if (node.mountHolderPid) argv = inNodeMounts(node.mountHolderPid, argv);
    argv = this.h.enterNetns(netns, argv);
    const procName = containerProcessName(p, c.spec.name);
    const logPath = state.path('logs', `${procName}.log`);
    const fd = openSync(logPath, 'a');
    try {
      const child = spawn(argv[0]!, argv.slice(1), { cwd: fileRoot, detached: true, stdio: ['ignore', fd, fd], env: fullEnv });
      let done = false;
      const finish = (code: number) => {
        if (done) return;
        done = true;
        // the record is this process's unless a later kubelet has started the container again under the same name
        if (child.pid !== undefined && state.procs().find((x) => x.name === procName)?.pid === child.pid) rmSync(state.path('procs', `${procName}.json`), { force: true });
        exited(code);
      };
      child.on('exit', (code, signal) => finish(exitCodeOf(code, signal)));
      child.on('error', (err) => {
        this.h.log(`pod ${p.namespace}/${p.name} container ${c.spec.name}: ${err.message}`);
        finish(127);
      });
      if (child.pid !== undefined) state.writeProc({ name: procName, pid: child.pid, ns: netns, argv, log: logPath });
      this.h.log(`pod ${p.namespace}/${p.name} container ${c.spec.name}: podnet ${args.join(' ')} (pid ${child.pid}, log ${logPath})`);
      return child;
    } finally {
      closeSync(fd);
    }
  }

  /**
   * Container processes an earlier kubelet of this node started (it exited or was killed): they are not this one's
   * children, so it cannot see them exit; they are stopped, and the pods' containers start again from the watch.
   */
  async stopLeftovers(): Promise<void> {
    const podNamespaces = new Set(this.h.state.pods().filter((p) => p.node === this.h.node.name).map((p) => p.ns));
    const leftovers = this.h.state.procs().filter((p) => p.name.startsWith('pod-') && (p.ns === this.h.node.ns || podNamespaces.has(p.ns)) && isLabProcess(p.pid, this.h.state.dir));
    for (const p of leftovers) {
      this.h.log(`stopping ${p.name} (pid ${p.pid}), left by an earlier kubelet`);
      killGroup(p.pid, 'SIGTERM');
      rmSync(this.h.state.path('procs', `${p.name}.json`), { force: true });
    }
    const deadline = Date.now() + 5_000;
    while (leftovers.some((p) => isLabProcess(p.pid, this.h.state.dir)) && Date.now() < deadline) await sleep(100);
    for (const p of leftovers) if (isLabProcess(p.pid, this.h.state.dir)) killGroup(p.pid, 'SIGKILL');
  }

  /** Stops a container's process (SIGTERM, SIGKILL after 5 s) and its restart. */
  async killContainer(c: ContainerSlot): Promise<void> {
    clearTimeout(c.restartTimer);
    const child = c.child;
    if (!child?.pid) return;
    const exited = new Promise<void>((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
    killGroup(child.pid, 'SIGTERM');
    const grace = setTimeout(() => killGroup(child.pid!, 'SIGKILL'), 5_000);
    await exited;
    clearTimeout(grace);
  }

  private cniPaths() {
    return { binDir: this.h.node.binDir, confDir: this.h.node.confDir, socket: this.h.node.socket };
  }

  /** The container's hostPath mounts and the node's directories that stand in for the host's paths. */
  private paths(pod: V1Pod, spec: V1Container): { mounts: Array<[string, string]>; standIns: Array<[string, string]> } {
    return { mounts: hostPathMounts(spec, pod.spec?.volumes), standIns: this.standIns() };
  }

  private standIns(): Array<[string, string]> {
    const { node } = this.h;
    return hostPathStandIns({ dir: node.dir, binDir: node.binDir, confDir: node.confDir, logDir: join(node.dir, 'log') });
  }
}

/** Signals a container's process group (it was started detached, as its group's leader). */
export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // gone already
  }
}
