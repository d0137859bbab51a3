/**
 * The lab's DaemonSet controller, as a pure decision: from a DaemonSet, the nodes and the pods it owns, which nodes
 * get a new pod, which pods go, and the status `kubectl get ds` and `kubectl rollout status` read. Pods are bound to
 * their node directly (`spec.nodeName`, as the controller did before it left binding to the scheduler), named
 * `<ds>-<5 chars>` by the API server (generateName), labelled `controller-revision-hash` and
 * `pod-template-generation`. A template change rolls out node by node (RollingUpdate: at most maxUnavailable nodes
 * without an available pod; OnDelete: only pods deleted by hand are replaced). A template whose podnet container
 * `podnet config` finds invalid is not rolled out at all: the old pods keep running (see daemonset-config.ts).
 */
import { createHash } from 'node:crypto';
import type { Condition, DaemonSetStatus, KubeDaemonSet, KubeNode, KubePod, Toleration } from './control-plane-types.js';
import { isPodReady, matchesNodeSelection, untoleratedTaint } from './scheduler-fit.js';

export const REVISION_HASH_LABEL = 'controller-revision-hash';
export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
/** The template generation the API server keeps on the DaemonSet (apps/v1's annotation). */
export const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';
/** The DaemonSet condition the controller sets while the template's podnet configuration is invalid. */
export const CONFIG_CONDITION = 'PodnetConfigValid';

export interface DaemonSetPlan {
  hash: string;
  /** Nodes that get a pod of the current template. */
  create: string[];
  delete: Array<{ pod: KubePod; why: string }>;
  status: DaemonSetStatus;
}

/** What the controller adds to every daemon pod (AddOrUpdateDaemonPodTolerations): node problems do not evict it. */
export function daemonPodTolerations(tolerations: readonly Toleration[] | undefined, hostNetwork: boolean): Toleration[] {
  const added: Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
    ...(hostNetwork ? [{ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' }] : []),
  ];
  const out = [...(tolerations ?? [])];
  const same = (a: Toleration, b: Toleration) => a.key === b.key && (a.operator ?? 'Equal') === (b.operator ?? 'Equal') && (a.value ?? '') === (b.value ?? '') && a.effect === b.effect;
  for (const t of added) if (!out.some((o) => same(o, t))) out.push(t);
  return out;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : 1));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

// the characters Kubernetes' SafeEncodeString uses: no vowels, no look-alikes
const hashAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** The template's revision hash: the same for the same template, 10 characters as the controller's look. */
export function templateHash(ds: KubeDaemonSet): string {
  const digest = createHash('sha256').update(canonicalJson(ds.spec.template)).digest();
  return [...digest.subarray(0, 10)].map((b) => hashAlphabet[b % hashAlphabet.length]).join('');
}

export function templateGeneration(ds: KubeDaemonSet): string {
  return ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION] ?? String(ds.metadata.generation ?? 1);
}

/** The pod the controller creates for node: the template, bound to node, owned by the DaemonSet. */
export function newDaemonPod(ds: KubeDaemonSet, node: string, hash: string): KubePod {
  const template = ds.spec.template;
  const spec = template.spec;
  return {
    metadata: {
      name: '',
      generateName: `${ds.metadata.name}-`,
      namespace: ds.metadata.namespace,
      labels: { ...template.metadata?.labels, [REVISION_HASH_LABEL]: hash, [TEMPLATE_GENERATION_LABEL]: templateGeneration(ds) },
      ...(template.metadata?.annotations ? { annotations: { ...template.metadata.annotations } } : {}),
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: ds.metadata.name, uid: ds.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
    },
    spec: { ...spec, nodeName: node, tolerations: daemonPodTolerations(spec.tolerations, spec.hostNetwork === true) },
  };
}

/** Whether pod belongs to ds: its controller reference names the DaemonSet's uid. */
export function ownedBy(pod: KubePod, ds: KubeDaemonSet): boolean {
  return (pod.metadata.ownerReferences ?? []).some((r) => r.controller === true && r.uid === ds.metadata.uid);
}

function isUpdated(pod: KubePod, ds: KubeDaemonSet, hash: string): boolean {
  const labels = pod.metadata.labels ?? {};
  return labels[REVISION_HASH_LABEL] === hash || labels[TEMPLATE_GENERATION_LABEL] === templateGeneration(ds);
}

/** IsPodAvailable: Ready for at least minReadySeconds. */
function isAvailable(pod: KubePod, minReadySeconds: number, now: number): boolean {
  if (!isPodReady(pod)) return false;
  if (minReadySeconds <= 0) return true;
  const since = Date.parse((pod.status?.conditions ?? []).find((c) => c.type === 'Ready')?.lastTransitionTime ?? '');
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now;
}

function byAge(a: KubePod, b: KubePod): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  return ta < tb ? -1 : ta > tb ? 1 : a.metadata.name < b.metadata.name ? -1 : 1;
}

/** maxUnavailable as a number of nodes: a percentage of the desired count rounds up; 0 (with no surge) means 1. */
export function maxUnavailableOf(ds: KubeDaemonSet, desired: number): number {
  const raw = ds.spec.updateStrategy?.rollingUpdate?.maxUnavailable ?? 1;
  const n = typeof raw === 'string' && raw.endsWith('%') ? Math.ceil((Number.parseInt(raw, 10) * desired) / 100) : Number(raw);
  return Number.isFinite(n) && n > 0 ? n : 1;
}

function configCondition(ds: KubeDaemonSet, problems: readonly string[], now: string): Condition[] | undefined {
  if (problems.length === 0) return undefined;
  const message = `podnet config refuses the pod template, so it is not rolled out and the old pods keep running: ${problems.join('; ')}`;
  const old = (ds.status?.conditions ?? []).find((c) => c.type === CONFIG_CONDITION);
  const since = old?.status === 'False' && old.lastTransitionTime ? old.lastTransitionTime : now;
  return [{ type: CONFIG_CONDITION, status: 'False', reason: 'InvalidConfiguration', message, lastTransitionTime: since }];
}

/**
 * The controller's decision for one DaemonSet. `pods` are the pods it owns (those being created count: pass them
 * without a name); `configProblems` are the template's errors as `podnet config` reports them (none: valid).
 */
export function decideDaemonSet(ds: KubeDaemonSet, nodes: readonly KubeNode[], pods: readonly KubePod[], configProblems: readonly string[], now: number): DaemonSetPlan {
  const hash = templateHash(ds);
  const valid = configProblems.length === 0;
  const minReady = ds.spec.minReadySeconds ?? 0;
  const tolerations = daemonPodTolerations(ds.spec.template.spec.tolerations, ds.spec.template.spec.hostNetwork === true);
  const create: string[] = [];
  const remove: DaemonSetPlan['delete'] = [];
  const status: DaemonSetStatus = { currentNumberScheduled: 0, desiredNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0, numberAvailable: 0, updatedNumberScheduled: 0 };
  const byNode = new Map<string, KubePod[]>();
  for (const pod of pods) {
    const node = pod.spec.nodeName ?? '';
    byNode.set(node, [...(byNode.get(node) ?? []), pod]);
  }
  const known = new Set(nodes.map((n) => n.metadata.name));
  for (const [node, onNode] of byNode) {
    if (known.has(node)) continue;
    for (const pod of onNode) if (!pod.metadata.deletionTimestamp && pod.metadata.name) remove.push({ pod, why: `its node ${node || '(none)'} does not exist` });
  }

  let unavailable = 0;
  const candidates: KubePod[] = [];
  for (const node of nodes) {
    const name = node.metadata.name;
    const spec = { ...ds.spec.template.spec, tolerations };
    const selected = matchesNodeSelection(spec, node);
    const taints = node.spec?.taints ?? [];
    const shouldRun = selected && !untoleratedTaint(spec.tolerations, taints);
    const mayContinue = selected && !untoleratedTaint(spec.tolerations, taints.filter((t) => t.effect === 'NoExecute'));
    const onNode = [...(byNode.get(name) ?? [])].sort(byAge);
    const running = onNode.filter((p) => !p.metadata.deletionTimestamp && p.status?.phase !== 'Failed');

    if (shouldRun) {
      status.desiredNumberScheduled++;
      const first = onNode[0];
      if (first) {
        status.currentNumberScheduled++;
        if (isPodReady(first)) status.numberReady++;
        if (isAvailable(first, minReady, now)) status.numberAvailable!++;
        if (isUpdated(first, ds, hash)) status.updatedNumberScheduled!++;
      }
    } else if (onNode.length > 0) {
      status.numberMisscheduled++;
    }

    if (!mayContinue) {
      for (const pod of onNode) if (!pod.metadata.deletionTimestamp && pod.metadata.name) remove.push({ pod, why: `node ${name} no longer matches its node selector, affinity or tolerations` });
      continue;
    }
    for (const pod of onNode) if (pod.status?.phase === 'Failed' && !pod.metadata.deletionTimestamp && pod.metadata.name) remove.push({ pod, why: 'it failed' });
    // a pod still there (going, or failed and being deleted) blocks its replacement until it is gone, as the
    // controller waits for it
    if (running.length === 0) {
      if (shouldRun && valid && onNode.length === 0) create.push(name);
      if (shouldRun) unavailable++;
      continue;
    }
    for (const extra of running.slice(1)) if (extra.metadata.name) remove.push({ pod: extra, why: `node ${name} runs more than one of its pods` });
    const pod = running[0]!;
    if (isUpdated(pod, ds, hash)) {
      if (!isAvailable(pod, minReady, now)) unavailable++;
    } else if (!isAvailable(pod, minReady, now)) {
      // an old pod that is not available is replaced at once: it takes nothing from the budget
      if (valid && ds.spec.updateStrategy?.type !== 'OnDelete' && pod.metadata.name) remove.push({ pod, why: 'template changed (the old pod was not available)' });
    } else {
      candidates.push(pod);
    }
  }
  if (valid && ds.spec.updateStrategy?.type !== 'OnDelete') {
    const budget = Math.max(0, maxUnavailableOf(ds, status.desiredNumberScheduled) - unavailable);
    for (const pod of candidates.sort(byAge).slice(0, budget)) if (pod.metadata.name) remove.push({ pod, why: 'template changed (rolling update)' });
  }
  status.numberUnavailable = status.desiredNumberScheduled - status.numberAvailable!;
  status.observedGeneration = ds.metadata.generation ?? 1;
  const conditions = configCondition(ds, configProblems, new Date(now).toISOString().replace(/\.\d{3}Z$/, 'Z'));
  if (conditions) status.conditions = conditions;
  return { hash, create, delete: remove, status };
}
