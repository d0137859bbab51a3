/**
 * The lab kubelet's decisions about pods, as data: the lab's name for a pod, what a watch event asks for, which
 * containers run as podnet processes and with what argv and environment (fieldRef and $(VAR) resolved, the
 * DaemonSet's hostPath volumes stood in for by the node's directories), and the pod status to post. Pure.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:os';
import type { V1Container, V1EnvVar, V1Pod, V1Probe, V1Volume } from '@kubernetes/client-node';
import { isPodnetImage } from './image.js';

/** The lab's name grammar (scenario pods, `lab pod add`): it names the pod's namespace and its PodRecord. */
const LAB_NAME = /^[a-z0-9][a-z0-9-]{0,30}$/;

/** The lab's name of a pod: its name in namespace default, else `<namespace>-<name>`; null when that does not fit. */
export function podKey(namespace: string, name: string): string | null {
  const key = namespace === 'default' ? name : `${namespace}-${name}`;
  return LAB_NAME.test(key) ? key : null;
}

export type PodEvent = 'ADDED' | 'MODIFIED' | 'DELETED';

export type PodAction = { kind: 'start' } | { kind: 'stop'; why: string } | { kind: 'none' };

/**
 * What an event about a pod bound to this node asks of the kubelet, given whether it runs the pod already. A pod
 * goes when it is deleted, marked for deletion, or has finished (a refused pod is Failed and has nothing running).
 */
export function podAction(type: PodEvent, pod: V1Pod, running: boolean): PodAction {
  if (type === 'DELETED') return running ? { kind: 'stop', why: 'deleted' } : { kind: 'none' };
  if (pod.metadata?.deletionTimestamp) return running ? { kind: 'stop', why: 'being deleted' } : { kind: 'none' };
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return running ? { kind: 'stop', why: `phase ${phase}` } : { kind: 'none' };
  return running ? { kind: 'none' } : { kind: 'start' };
}

/** The pod facts env fieldRefs may name. */
export interface PodFacts {
  nodeName: string;
  hostIP: string;
  podIP: string;
}

/** The value of a downward-API fieldRef (the fields a kubelet supports for env); undefined for one it does not. */
export function fieldRefValue(pod: V1Pod, facts: PodFacts, fieldPath: string): string | undefined {
  const meta = pod.metadata ?? {};
  const keyed = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(fieldPath);
  if (keyed) return (keyed[1] === 'labels' ? meta.labels : meta.annotations)?.[keyed[2]!] ?? '';
  switch (fieldPath) {
    case 'metadata.name':
      return meta.name ?? '';
    case 'metadata.namespace':
      return meta.namespace ?? 'default';
    case 'metadata.uid':
      return meta.uid ?? '';
    case 'spec.nodeName':
      return facts.nodeName;
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? 'default';
    case 'status.hostIP':
    case 'status.hostIPs':
      return facts.hostIP;
    case 'status.podIP':
    case 'status.podIPs':
      return facts.podIP;
    default:
      return undefined;
  }
}

/** Expands `$(NAME)` from `vars` as the kubelet does: `$$` escapes, an unknown name stays as written. */
export function expandVars(text: string, vars: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => (name === undefined ? '$' : (vars[name] ?? match)));
}

/**
 * A container's environment: each value with $(VAR) expanded against the ones before it, each fieldRef resolved;
 * what the lab cannot give (secrets, config maps, resource fields, an unknown field path) is left out and named.
 */
export function containerEnv(env: readonly V1EnvVar[] | undefined, pod: V1Pod, facts: PodFacts): { env: Record<string, string>; problems: string[] } {
  const out: Record<string, string> = {};
  const problems: string[] = [];
  for (const e of env ?? []) {
    if (e.valueFrom === undefined) {
      out[e.name] = expandVars(e.value ?? '', out);
      continue;
    }
    const fieldPath = e.valueFrom.fieldRef?.fieldPath;
    const value = fieldPath !== undefined ? fieldRefValue(pod, facts, fieldPath) : undefined;
    if (value !== undefined) out[e.name] = value;
    else problems.push(`${e.name}: ${fieldPath !== undefined ? `fieldRef ${fieldPath} is not supported` : `valueFrom ${Object.keys(e.valueFrom).join(', ')} is not supported`} by the lab's kubelet`);
  }
  return { env: out, problems };
}

/** The node's directories that stand in for the host paths podnet's DaemonSet mounts (deploy/'s hostPath volumes). */
export interface NodePaths {
  dir: string;
  binDir: string;
  confDir: string;
  logDir: string;
}

/** Host path → the node's stand-in; the socket's and checkpoint's directory is the node's own directory, as the lab's ipamd uses it. */
export function hostPathStandIns(p: NodePaths): Array<[hostPath: string, labPath: string]> {
  return [
    ['/opt/cni/bin', p.binDir],
    ['/etc/cni/net.d', p.confDir],
    ['/var/run/aws-node', p.dir],
    ['/run/aws-node', p.dir],
    ['/var/log/aws-routed-eni', p.logDir],
  ];
}

const under = (path: string, dir: string) => path === dir || path.startsWith(dir.endsWith('/') ? dir : `${dir}/`);

/**
 * Maps a path a container sees to the lab's: through the container's hostPath volume mounts to the host's path,
 * then to the node's stand-in directory. Other values are returned unchanged.
 */
export function labPath(value: string, mounts: ReadonlyArray<[mountPath: string, hostPath: string]>, standIns: ReadonlyArray<[string, string]>): string {
  if (!value.startsWith('/')) return value;
  const mount = [...mounts].sort((a, b) => b[0].length - a[0].length).find(([m]) => under(value, m));
  const host = mount ? (mount[1] + value.slice(mount[0].length)).replace(/\/\/+/g, '/') : value;
  const standIn = [...standIns].sort((a, b) => b[0].length - a[0].length).find(([h]) => under(host, h));
  return standIn ? standIn[1] + host.slice(standIn[0].length) : value;
}

/** The container's hostPath mounts: [mountPath, hostPath]. */
export function hostPathMounts(container: V1Container, volumes: readonly V1Volume[] | undefined): Array<[string, string]> {
  return (container.volumeMounts ?? []).flatMap((m) => {
    const hostPath = volumes?.find((v) => v.name === m.name)?.hostPath?.path;
    return hostPath ? [[m.mountPath, hostPath] as [string, string]] : [];
  });
}

/** Where `podnet init` / `cni install` put the node's CNI files: on a lab node, the node's directories. */
export interface NodeCniPaths {
  binDir: string;
  confDir: string;
  socket: string;
}

/**
 * The podnet argv of a container of podnet's image: command + args with $(VAR) expanded and the leading `podnet`
 * (the image's entrypoint) dropped, paths mapped to the node's stand-ins. `--host-root` (the host's root mounted in
 * the container) goes: a lab node's host is its directories, so the CNI paths are given as those instead.
 */
export function podnetContainerArgv(container: V1Container, env: Record<string, string>, mounts: Array<[string, string]>, standIns: Array<[string, string]>, cni: NodeCniPaths): string[] {
  const words = [...(container.command ?? []), ...(container.args ?? [])].map((w) => expandVars(w, env));
  if (words[0] !== undefined && (words[0] === 'podnet' || words[0].endsWith('/podnet'))) words.shift();
  const out: string[] = [];
  let hostRoot = false;
  for (let i = 0; i < words.length; i++) {
    const w = words[i]!;
    const root = /^--host-root(?:=(.*))?$/.exec(w);
    if (root) {
      if (root[1] === undefined) i++;
      hostRoot = true;
      continue;
    }
    const eq = /^(--[a-z-]+=)(.*)$/.exec(w);
    out.push(eq ? eq[1]! + labPath(eq[2]!, mounts, standIns) : labPath(w, mounts, standIns));
  }
  if (hostRoot) {
    const given = (flag: string) => out.some((w) => w === flag || w.startsWith(`${flag}=`));
    for (const [flag, value] of [['--bin-dir', cni.binDir], ['--conf-dir', cni.confDir], ['--socket', cni.socket]] as const) if (!given(flag)) out.push(flag, value);
  }
  return out;
}

/**
 * A probe's or script's text with the container's mount paths replaced by the node's stand-ins, so a shell line
 * naming `/var/run/aws-node/ipamd.sock` reaches the node's socket.
 */
export function labPathsInText(text: string, mounts: ReadonlyArray<[string, string]>, standIns: ReadonlyArray<[string, string]>): string {
  const known = [...mounts.map(([m]) => m), ...standIns.map(([h]) => h)].sort((a, b) => b.length - a.length);
  if (known.length === 0) return text;
  const escaped = known.map((k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return text.replace(new RegExp(`(?<![\\w/.-])(?:${escaped.join('|')})(?![\\w.-])(?:/[\\w.@%+=:,-]*)*`, 'g'), (path) => labPath(path, mounts, standIns));
}

/** Containers whose image is podnet's run as podnet processes; any other image is just the pod's sandbox. */
export function runsProcess(container: V1Container): boolean {
  return isPodnetImage(container.image);
}

/**
 * The lab's name of a container's process (its record and logs/NAME.log): `pod-<pod>-<uid hash>-<container>`, so the
 * old and the new ipamd of a rollout, and two pods whose names are cut to the same text, have records of their own
 * (lab status finds ipamd as `pod-kube-system-aws-node…-aws-node`).
 */
export function containerProcessName(p: { key: string | null; namespace: string; name: string; uid: string }, container: string): string {
  return `pod-${p.key ?? `${p.namespace}-${p.name}`.slice(0, 60)}-${uidHash(p.uid)}-${container}`;
}

/** A short hash of a pod's uid. */
export function uidHash(uid: string): string {
  return createHash('sha256').update(uid).digest('hex').slice(0, 6);
}

// ---- status ----

/** What the kubelet knows of one container. */
export interface ContainerRun {
  name: string;
  image: string;
  /** set while it runs */
  startedAt: string | null;
  restartCount: number;
  ready: boolean;
  /** the last exit, once it exited */
  lastExit: { exitCode: number; reason: string; startedAt: string; finishedAt: string } | null;
  /** why it is not running (CrashLoopBackOff, PodInitializing, …) */
  waiting: { reason: string; message?: string } | null;
  containerId: string;
}

function containerStatus(c: ContainerRun) {
  const terminated = c.lastExit ? { exitCode: c.lastExit.exitCode, reason: c.lastExit.reason, startedAt: c.lastExit.startedAt, finishedAt: c.lastExit.finishedAt, containerID: c.containerId } : undefined;
  const state = c.startedAt ? { running: { startedAt: c.startedAt } } : c.waiting ? { waiting: c.waiting } : terminated ? { terminated } : { waiting: { reason: 'ContainerCreating' } };
  return {
    name: c.name,
    image: c.image,
    imageID: c.image,
    containerID: c.containerId,
    ready: c.ready,
    started: c.startedAt !== null,
    restartCount: c.restartCount,
    state,
    // the last exit shows as lastState while the container runs again or waits to (CrashLoopBackOff)
    lastState: (c.startedAt || c.waiting) && terminated ? { terminated } : {},
  };
}

export interface PodView {
  hostIP: string;
  podIP: string;
  startTime: string;
  initContainers: ContainerRun[];
  containers: ContainerRun[];
  /** init containers have all completed */
  initialized: boolean;
  /** every container has exited for good (restartPolicy Never or OnFailure) */
  finished?: 'Succeeded' | 'Failed';
  now: string;
  /** the conditions as posted before, whose transition times carry over */
  previous?: ReadonlyArray<{ type?: string; status?: string; lastTransitionTime?: unknown }>;
}

/** The pod's status: Running once its sandbox exists and its init containers are done (Pending before). */
export function podStatus(v: PodView) {
  const ready = v.initialized && !v.finished && v.containers.every((c) => c.ready);
  const condition = (type: string, ok: boolean, reason?: string) => {
    const status = ok ? 'True' : 'False';
    const before = v.previous?.find((c) => c.type === type);
    const lastTransitionTime = before && before.status === status && typeof before.lastTransitionTime === 'string' ? before.lastTransitionTime : v.now;
    return { type, status, lastProbeTime: null, lastTransitionTime, ...(reason && !ok && { reason: v.finished ? 'PodCompleted' : reason }) };
  };
  return {
    phase: v.finished ?? (v.initialized ? 'Running' : 'Pending'),
    hostIP: v.hostIP,
    hostIPs: [{ ip: v.hostIP }],
    podIP: v.podIP,
    podIPs: [{ ip: v.podIP }],
    startTime: v.startTime,
    qosClass: 'BestEffort',
    conditions: [
      condition('PodReadyToStartContainers', true),
      condition('Initialized', v.initialized, 'ContainersNotInitialized'),
      condition('Ready', ready, 'ContainersNotReady'),
      condition('ContainersReady', ready, 'ContainersNotReady'),
      condition('PodScheduled', true),
    ],
    ...(v.initContainers.length > 0 && { initContainerStatuses: v.initContainers.map(containerStatus) }),
    containerStatuses: v.containers.map(containerStatus),
  };
}

/** A pod the lab cannot run (its name does not fit the lab's grammar, or is taken): Failed, with why. */
export function refusedPodStatus(reason: string, message: string, now: string) {
  return { phase: 'Failed', reason, message, startTime: now, conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: now }] };
}

/** Why the lab refuses a pod's name, or null when it can run it. */
export function nameProblem(namespace: string, name: string, hostNetwork: boolean, taken: (key: string) => boolean): string | null {
  const key = podKey(namespace, name);
  if (key === null) {
    // a hostNetwork pod needs no namespace of its own: it runs, without a PodRecord (so `lab probe` does not know it)
    if (hostNetwork) return null;
    const shown = namespace === 'default' ? name : `${namespace}-${name}`;
    return `the lab names a pod's network namespace after it, and '${shown}' does not fit the lab's names (lowercase letters, digits and -, at most 31 characters${namespace === 'default' ? '' : ', as <namespace>-<name>'})`;
  }
  if (taken(key)) return `the lab name '${key}' is taken by another pod, node or host`;
  return null;
}

/** A probe the kubelet can run: an HTTP GET, a TCP connect, or an exec of a podnet command. */
export type ProbeCheck = { kind: 'http'; host: string; port: number; path: string; scheme: 'http' | 'https' } | { kind: 'tcp'; host: string; port: number } | { kind: 'exec'; argv: string[] } | null;

/** What a readinessProbe asks, with a named port resolved against the container's ports; null: none (ready when running). */
export function probeCheck(probe: V1Probe | undefined, container: V1Container, podIP: string): ProbeCheck {
  if (!probe) return null;
  const port = (p: number | string | undefined) => (typeof p === 'number' ? p : Number(container.ports?.find((x) => x.name === p)?.containerPort ?? p));
  if (probe.httpGet) return { kind: 'http', host: probe.httpGet.host ?? podIP, port: port(probe.httpGet.port as number | string), path: probe.httpGet.path ?? '/', scheme: probe.httpGet.scheme === 'HTTPS' ? 'https' : 'http' };
  if (probe.tcpSocket) return { kind: 'tcp', host: probe.tcpSocket.host ?? podIP, port: port(probe.tcpSocket.port as number | string) };
  if (probe.exec?.command) return { kind: 'exec', argv: probe.exec.command };
  return null;
}

/**
 * Whether a container that exited with `exitCode` starts again (restartPolicy, default Always); when none of the
 * pod's containers will, the pod's phase: Succeeded when all exited 0, else Failed.
 */
export function restarts(restartPolicy: string | undefined, exitCode: number): boolean {
  return restartPolicy === 'Never' ? false : restartPolicy === 'OnFailure' ? exitCode !== 0 : true;
}

export function finishedPhase(containers: ReadonlyArray<Pick<ContainerRun, 'startedAt' | 'waiting' | 'lastExit'>>): 'Succeeded' | 'Failed' | undefined {
  if (containers.length === 0 || containers.some((c) => c.startedAt !== null || c.waiting !== null || c.lastExit === null)) return undefined;
  return containers.every((c) => c.lastExit!.exitCode === 0) ? 'Succeeded' : 'Failed';
}

/** The kubelet's restart backoff, shortened for the lab (upstream: 10 s doubling to 5 min). */
export function restartDelayMs(restartCount: number): number {
  return Math.min(1_000 * 2 ** Math.max(0, restartCount - 1), 30_000);
}

/** A process's exit as a container's exit code: its own code, or 128 + the signal's number when a signal ended it. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  return code ?? 128 + (signal ? (constants.signals[signal] ?? 9) : 9);
}
