/**
 * The lab's cluster as Kubernetes objects: the host kubeconfig (through the loopback relay), the manifests of
 * deploy/ adapted to the scenario (per-node settings become DaemonSets of their own), the scenario's ENIConfigs, and
 * the lab's pods as Pod objects. Pure builders first; the calls to the API server after them.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiException, AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type CoreV1Event, type KubernetesObject, type V1DaemonSet, type V1EnvVar, type V1Node, type V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml, parseAllDocuments } from 'yaml';
import type { Ec2Facts } from '../ec2/index.js';
import { PodnetError } from '../lib/index.js';
import { LAB_POD_LABEL, type Scenario } from './scenario.js';
import type { LabRecord } from './state.js';

/** The host's kubeconfig: the in-VPC one with its server replaced by the loopback relay (the certificate names 127.0.0.1). */
export function hostKubeconfig(vpcKubeconfig: string, port: number): string {
  const config = parseYaml(vpcKubeconfig) as { clusters: Array<{ cluster: { server: string } }> };
  for (const c of config.clusters) c.cluster.server = `https://127.0.0.1:${port}`;
  return JSON.stringify(config, null, 2) + '\n';
}

export function labKubeConfig(lab: LabRecord): KubeConfig {
  if (!lab.kubeconfig) throw new PodnetError('LAB_FAILED', 'this lab has no host kubeconfig (it was started by an older podnet)', 'take it down and up again: podnet lab down && podnet lab up');
  const kc = new KubeConfig();
  kc.loadFromFile(lab.kubeconfig);
  return kc;
}

/** deploy/ at the repository's root (from src/lab and from dist/lab alike). */
export const DEPLOY_DIR = fileURLToPath(new URL('../../deploy/', import.meta.url));

/** Every document of every .yaml/.yml file in `dir` (sorted by file name: CRDs and RBAC before what uses them). */
export function loadManifests(dir: string): KubernetesObject[] {
  const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
  return files.flatMap((f) =>
    parseAllDocuments(readFileSync(join(dir, f), 'utf8'))
      .map((d) => d.toJS() as KubernetesObject | null)
      .filter((o): o is KubernetesObject => o !== null && typeof o === 'object' && typeof o.kind === 'string'),
  );
}

/** The scenario's ENIConfigs as objects, subnet and security-group names resolved to EC2's ids. */
export function eniConfigObjects(scenario: Pick<Scenario, 'eniConfigs'>, { subnets, securityGroups }: Pick<Ec2Facts, 'subnets' | 'securityGroups'>): KubernetesObject[] {
  return scenario.eniConfigs.map((c) => ({
    apiVersion: 'crd.k8s.amazonaws.com/v1alpha1',
    kind: 'ENIConfig',
    metadata: { name: c.name },
    spec: { subnet: subnets.find((s) => s.name === c.subnet)?.id ?? c.subnet, securityGroups: c.securityGroups.map((g) => securityGroups.find((x) => x.name === g)?.id ?? g) },
  }));
}

/**
 * The scenario's SecurityGroupPolicies as objects (vpcresources.k8s.aws/v1beta1): selectors as matchLabels, group
 * names resolved to EC2's ids (an sg- id stays as given).
 */
export function securityGroupPolicyObjects(scenario: Pick<Scenario, 'securityGroupPolicies'>, { securityGroups }: Pick<Ec2Facts, 'securityGroups'>): KubernetesObject[] {
  return scenario.securityGroupPolicies.map((p) => ({
    apiVersion: 'vpcresources.k8s.aws/v1beta1',
    kind: 'SecurityGroupPolicy',
    metadata: { name: p.name, namespace: p.namespace },
    spec: {
      ...(p.podSelector && { podSelector: { matchLabels: p.podSelector } }),
      ...(p.serviceAccountSelector && { serviceAccountSelector: { matchLabels: p.serviceAccountSelector } }),
      securityGroups: { groupIds: p.securityGroups.map((g) => securityGroups.find((x) => x.name === g)?.id ?? g) },
    },
  }));
}

/** A lab node as the DaemonSets see it: its Kubernetes name and the settings its scenario entry gives it. */
export interface LabNodeSettings {
  instance: string;
  nodeName: string;
  env: Record<string, string>;
}

const HOSTNAME_LABEL = 'kubernetes.io/hostname';

function withEnv(env: V1EnvVar[] | undefined, settings: Record<string, string>): V1EnvVar[] {
  const out = (env ?? []).filter((e) => !(e.name in settings));
  return [...out, ...Object.entries(settings).map(([name, value]) => ({ name, value }))];
}

/**
 * deploy/'s aws-node DaemonSet for the lab: `defaults` (the lab's faster loops) in its containers' env; each
 * node with settings of its own gets a DaemonSet `aws-node-<instance>` selecting it by hostname, which the shared
 * one excludes — so `kubectl get ds -n kube-system` shows what runs where, and the seeds' `set env` on aws-node
 * reaches exactly the nodes without settings of their own.
 */
export function labDaemonSets(base: V1DaemonSet, nodes: LabNodeSettings[], defaults: Record<string, string>): V1DaemonSet[] {
  const own = nodes.filter((n) => Object.keys(n.env).length > 0);
  const variant = (name: string, env: Record<string, string>, affinityTerm: { key: string; operator: string; values: string[] } | null): V1DaemonSet => {
    const ds = structuredClone(base);
    ds.metadata = { ...ds.metadata, name };
    const spec = ds.spec!;
    const labels = { ...spec.selector.matchLabels, 'podnet.io/daemonset': name };
    spec.selector = { ...spec.selector, matchLabels: labels };
    const template = spec.template;
    template.metadata = { ...template.metadata, labels: { ...template.metadata?.labels, ...labels } };
    const podSpec = template.spec!;
    podSpec.containers = podSpec.containers.map((c, i) => (i === 0 ? { ...c, env: withEnv(c.env, env) } : c));
    // the init container reads settings too (DISABLE_TCP_EARLY_DEMUX, DISABLE_POD_V6, the conflist's), as upstream's
    // aws-vpc-cni-init does; `kubectl set env` also writes every container, init containers included
    podSpec.initContainers = podSpec.initContainers?.map((c) => ({ ...c, env: withEnv(c.env, env) }));
    if (affinityTerm) {
      const required = podSpec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
      const terms = required?.nodeSelectorTerms?.length ? required.nodeSelectorTerms : [{ matchExpressions: [] }];
      podSpec.affinity = {
        ...podSpec.affinity,
        nodeAffinity: {
          ...podSpec.affinity?.nodeAffinity,
          requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: terms.map((t) => ({ ...t, matchExpressions: [...(t.matchExpressions ?? []), affinityTerm] })) },
        },
      };
    }
    return ds;
  };
  const shared = variant(base.metadata!.name!, defaults, own.length > 0 ? { key: HOSTNAME_LABEL, operator: 'NotIn', values: own.map((n) => n.nodeName) } : null);
  return [shared, ...own.map((n) => variant(`${base.metadata!.name}-${n.instance}`, { ...defaults, ...n.env }, { key: HOSTNAME_LABEL, operator: 'In', values: [n.nodeName] }))];
}

/** The lab's objects in apply order: deploy/ (its aws-node DaemonSet replaced by the lab's), then the scenario's (ENIConfigs, SecurityGroupPolicies). */
export function labObjects(manifests: KubernetesObject[], nodes: LabNodeSettings[], defaults: Record<string, string>, eniConfigs: KubernetesObject[]): KubernetesObject[] {
  const isAwsNode = (o: KubernetesObject) => o.kind === 'DaemonSet' && o.metadata?.name === 'aws-node';
  const base = manifests.find(isAwsNode) as V1DaemonSet | undefined;
  if (!base) throw new PodnetError('LAB_FAILED', 'deploy/ has no DaemonSet named aws-node', 'the lab runs ipamd from deploy/\'s aws-node DaemonSet; restore it');
  return [...manifests.filter((o) => !isAwsNode(o)), ...labDaemonSets(base, nodes, defaults), ...eniConfigs];
}

/**
 * `kubectl set env daemonset -n kube-system NAME K=V…` through the API (the strategic merge patch kubectl sends, on
 * the first container), then waits for the rollout: every scheduled pod updated and ready, as `kubectl rollout status`.
 */
export async function setDaemonSetEnv(kc: KubeConfig, name: string, env: Record<string, string>, timeoutMs = 180_000): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const namespace = 'kube-system';
  const current = await apps.readNamespacedDaemonSet({ name, namespace });
  const container = current.spec!.template.spec!.containers[0]!.name;
  const body = { spec: { template: { spec: { containers: [{ name: container, env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })) }] } } } };
  const patched = await apps.patchNamespacedDaemonSet({ name, namespace, body }, setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch));
  const generation = patched.metadata?.generation ?? 0;
  await waitForApi(`daemonset ${namespace}/${name} rolled out`, timeoutMs, async () => {
    const ds = await apps.readNamespacedDaemonSet({ name, namespace });
    const st = ds.status;
    const done = st && (st.observedGeneration ?? 0) >= generation && (st.updatedNumberScheduled ?? 0) === st.desiredNumberScheduled && st.numberReady === st.desiredNumberScheduled && (st.numberAvailable ?? 0) === st.desiredNumberScheduled;
    return done ? { done: undefined } : { seen: `${st?.updatedNumberScheduled ?? 0} of ${st?.desiredNumberScheduled ?? '?'} updated, ${st?.numberReady ?? 0} ready` };
  });
}

/** A node's ipamd process: the aws-node container of an aws-node DaemonSet's pod, which its kubelet names so. */
export function isIpamdProcess(proc: { name: string; ns: string }, node: { ns: string }): boolean {
  return proc.ns === node.ns && /^pod-kube-system-aws-node.*-aws-node$/.test(proc.name);
}

// ---- pods ----

/** The image of the lab's pods: their sandbox is all they are (the kubelet runs no process for it). */
export const LAB_POD_IMAGE = 'localhost/podnet-lab/pause:1';

/** A lab pod as a Pod object: bound to its node when the lab names one (the scheduler places the others). */
export function labPodObject(name: string, o: { nodeName?: string; hostNetwork?: boolean; labels?: Record<string, string> } = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'default', labels: { ...o.labels, [LAB_POD_LABEL]: name } },
    spec: {
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      ...(o.hostNetwork ? { hostNetwork: true } : {}),
      containers: [{ name: 'main', image: LAB_POD_IMAGE }],
      terminationGracePeriodSeconds: 0,
    },
  };
}

const notFound = (err: unknown) => err instanceof ApiException && err.code === 404;
const conflict = (err: unknown) => err instanceof ApiException && err.code === 409;

/** What the API server said, for a message: its Status message when it sent one. */
export function apiMessage(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    try {
      const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: string };
      if (status?.message) return `${err.code}: ${status.message}`;
    } catch {
      // not a Status: the code says enough
    }
    return `HTTP ${err.code}`;
  }
  return (err as Error).message;
}

/**
 * Creates each object, or replaces it when it exists (kubectl apply's outcome for objects nobody else edits).
 * A custom resource whose definition was just created may get 404 until the server serves it: retried briefly.
 */
export async function applyObjects(kc: KubeConfig, objects: KubernetesObject[], progress: (m: string) => void = () => {}): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  for (const o of objects) {
    const what = `${o.kind} ${o.metadata?.namespace ? `${o.metadata.namespace}/` : ''}${o.metadata?.name}`;
    progress(`creating ${what}`);
    const deadline = Date.now() + 10_000;
    for (;;) {
      try {
        await api.create(o);
        break;
      } catch (err) {
        if (conflict(err)) {
          const current = await api.read({ apiVersion: o.apiVersion!, kind: o.kind!, metadata: { name: o.metadata!.name!, namespace: o.metadata?.namespace } });
          await api.replace({ ...o, metadata: { ...o.metadata, resourceVersion: current.metadata?.resourceVersion } });
          break;
        }
        if (notFound(err) && Date.now() < deadline) {
          await sleep(200);
          continue;
        }
        throw new PodnetError('LAB_FAILED', `the API server refused ${what}: ${apiMessage(err)}`, 'see the API server\'s log (logs/k8s.log in the state directory)');
      }
    }
  }
}

/** Polls the API until `check` returns a value; a timeout says what was awaited and what was last seen. */
export async function waitForApi<T>(what: string, timeoutMs: number, check: () => Promise<{ done: T } | { seen: string }>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let seen = 'nothing yet';
  for (;;) {
    try {
      const r = await check();
      if ('done' in r) return r.done;
      seen = r.seen;
    } catch (err) {
      seen = apiMessage(err);
    }
    if (Date.now() > deadline) throw new PodnetError('LAB_FAILED', `${what} did not happen within ${Math.round(timeoutMs / 1000)} s (last seen: ${seen})`, 'see the logs in the state directory (logs/kubelet-*.log, logs/control-plane.log)');
    await sleep(100);
  }
}

export function nodeReady(node: V1Node): { ready: boolean; reason: string } {
  const c = node.status?.conditions?.find((x) => x.type === 'Ready');
  return { ready: c?.status === 'True', reason: c ? `${c.reason ?? c.status}${c.message ? `: ${c.message}` : ''}` : 'no Ready condition yet' };
}

/** Why a pod is not Running yet: the Unschedulable message, a failed status, or its phase. */
function podProgress(pod: V1Pod): string {
  const scheduled = pod.status?.conditions?.find((c) => c.type === 'PodScheduled');
  if (scheduled?.status === 'False') return `${scheduled.reason}: ${scheduled.message ?? ''}`;
  return `phase ${pod.status?.phase ?? 'none'}${pod.status?.reason ? ` (${pod.status.reason}: ${pod.status.message ?? ''})` : ''}`;
}

/** Creates a pod and waits until it is Running with an address (hostNetwork: the node's). */
export async function createPod(kc: KubeConfig, pod: V1Pod, timeoutMs = 60_000): Promise<V1Pod> {
  await submitPod(kc, pod);
  return waitForPodRunning(kc, pod.metadata!.namespace ?? 'default', pod.metadata!.name!, timeoutMs);
}

/** Creates the Pod object; a refusal (a name taken, a webhook's no) is an error with nothing made. */
export async function submitPod(kc: KubeConfig, pod: V1Pod): Promise<void> {
  const namespace = pod.metadata!.namespace ?? 'default';
  const name = pod.metadata!.name!;
  try {
    await kc.makeApiClient(CoreV1Api).createNamespacedPod({ namespace, body: pod });
  } catch (err) {
    throw new PodnetError(conflict(err) ? 'USAGE' : 'LAB_FAILED', `the API server refused pod ${namespace}/${name}: ${apiMessage(err)}`, conflict(err) ? 'pick another pod name' : 'see logs/k8s.log in the state directory');
  }
}

/** The newest Warning Event about a pod (`<reason>: <message>`), or undefined (none, or the API did not answer). */
export async function latestPodWarning(kc: KubeConfig, namespace: string, name: string): Promise<string | undefined> {
  const events = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=Pod,involvedObject.name=${name}` }).catch(() => undefined);
  const when = (e: CoreV1Event) => new Date(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? 0).getTime();
  const latest = events?.items.filter((e) => e.type === 'Warning').sort((a, b) => when(a) - when(b)).at(-1);
  return latest && `${latest.reason ?? 'Warning'}: ${latest.message ?? ''}`;
}

/** Waits until a pod is Running with an address (hostNetwork: the node's). */
export async function waitForPodRunning(kc: KubeConfig, namespace: string, name: string, timeoutMs = 60_000): Promise<V1Pod> {
  const core = kc.makeApiClient(CoreV1Api);
  return waitForApi<V1Pod>(`pod ${namespace}/${name} Running`, timeoutMs, async () => {
    const p = await core.readNamespacedPod({ namespace, name });
    if (p.status?.phase === 'Failed') throw new PodnetError('LAB_FAILED', `pod ${namespace}/${name} failed: ${p.status.reason ?? ''} ${p.status.message ?? ''}`.trim(), 'see its Events: kubectl describe pod');
    return p.status?.phase === 'Running' && p.status.podIP ? { done: p } : { seen: podProgress(p) };
  });
}

/** Deletes a pod and waits until it is gone (its kubelet ran CNI DEL and removed it). */
export async function deletePod(kc: KubeConfig, namespace: string, name: string, timeoutMs = 60_000): Promise<void> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    await core.deleteNamespacedPod({ namespace, name });
  } catch (err) {
    if (notFound(err)) return;
    throw new PodnetError('LAB_FAILED', `the API server refused to delete pod ${namespace}/${name}: ${apiMessage(err)}`, 'see logs/k8s.log in the state directory');
  }
  await waitForApi(`pod ${namespace}/${name} gone`, timeoutMs, async () => {
    try {
      const p = await core.readNamespacedPod({ namespace, name });
      return { seen: `deletionTimestamp ${String(p.metadata?.deletionTimestamp ?? 'unset')}, ${podProgress(p)}` };
    } catch (err) {
      if (notFound(err)) return { done: undefined };
      throw err;
    }
  });
}

/** The pod whose lab name is `key`: default/<key>, or <namespace>-<name> as the kubelet names the others. */
export async function podByKey(kc: KubeConfig, key: string): Promise<{ namespace: string; name: string } | undefined> {
  const pods = await kc.makeApiClient(CoreV1Api).listPodForAllNamespaces();
  const ids = pods.items.map((p) => ({ namespace: p.metadata!.namespace!, name: p.metadata!.name! }));
  return ids.find((p) => p.namespace === 'default' && p.name === key) ?? ids.find((p) => `${p.namespace}-${p.name}` === key);
}

/** Node readiness and pod phases as the API server has them; null fields when it cannot be reached. */
export interface ClusterStatus {
  /** condition: the Ready condition's status (`True`, `False`, `Unknown`: the kubelet stopped posting), null before it has one */
  nodes: Array<{ name: string; ready: boolean; reason: string; pods: string; condition?: string | null }>;
  pods: Array<{ namespace: string; name: string; node: string | null; phase: string; ip: string | null }>;
  error?: string;
}

export async function clusterStatus(kc: KubeConfig): Promise<ClusterStatus> {
  const core = kc.makeApiClient(CoreV1Api);
  try {
    const [nodes, pods] = await Promise.all([core.listNode(), core.listPodForAllNamespaces()]);
    return {
      nodes: nodes.items.map((n) => ({ name: n.metadata!.name!, ...nodeReady(n), pods: n.status?.allocatable?.pods ?? '-', condition: n.status?.conditions?.find((x) => x.type === 'Ready')?.status ?? null })),
      pods: pods.items.map((p) => ({ namespace: p.metadata!.namespace!, name: p.metadata!.name!, node: p.spec?.nodeName ?? null, phase: p.metadata?.deletionTimestamp ? 'Terminating' : (p.status?.phase ?? 'Pending'), ip: p.status?.podIP ?? null })),
    };
  } catch (err) {
    return { nodes: [], pods: [], error: apiMessage(err) };
  }
}
