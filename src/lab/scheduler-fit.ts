/**
 * Whether a pod may go on a node, as kube-scheduler's filter plugins and the DaemonSet controller decide it: node
 * selector and required node affinity, taints against tolerations, and the resources left. Pure; the reasons are
 * worded as the plugins word them, so the scheduler's "0/3 nodes are available: …" reads as Kubernetes'.
 */
import type { KubeNode, KubePod, NodeSelectorRequirement, PodSpec, Taint, Toleration } from './control-plane-types.js';

export const REASON_UNSCHEDULABLE = 'node(s) were unschedulable';
export const REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const REASON_TOO_MANY_PODS = 'Too many pods';

/** The taint a node that is not Ready carries (the node lifecycle controller's, which the lab does not run). */
export const NOT_READY_TAINT: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' };

export function untoleratedTaintReason(taint: Taint): string {
  return `node(s) had untolerated taint {${taint.key}: ${taint.value ?? ''}}`;
}

/** ToleratesTaint: the effect matches (or the toleration names none), and the key and value match as the operator says. */
export function tolerates(t: Toleration, taint: Taint): boolean {
  if (t.effect && t.effect !== taint.effect) return false;
  const operator = t.operator ?? 'Equal';
  if (operator === 'Exists') return !t.key || t.key === taint.key;
  return t.key === taint.key && (t.value ?? '') === (taint.value ?? '');
}

/** The first NoSchedule/NoExecute taint of taints that no toleration tolerates. */
export function untoleratedTaint(tolerations: readonly Toleration[] | undefined, taints: readonly Taint[]): Taint | undefined {
  return taints.find((taint) => (taint.effect === 'NoSchedule' || taint.effect === 'NoExecute') && !(tolerations ?? []).some((t) => tolerates(t, taint)));
}

function matchesRequirement(r: NodeSelectorRequirement, value: string | undefined): boolean {
  const values = r.values ?? [];
  switch (r.operator) {
    case 'In':
      return value !== undefined && values.includes(value);
    case 'NotIn':
      return value === undefined || !values.includes(value);
    case 'Exists':
      return value !== undefined;
    case 'DoesNotExist':
      return value === undefined;
    case 'Gt':
    case 'Lt': {
      const have = Number.parseInt(value ?? '', 10);
      const want = Number.parseInt(values[0] ?? '', 10);
      if (!Number.isInteger(have) || !Number.isInteger(want)) return false;
      return r.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/** nodeSelector (every label equal) and required node affinity (any term; every expression and field of it). */
export function matchesNodeSelection(spec: PodSpec, node: KubeNode): boolean {
  const labels = node.metadata.labels ?? {};
  for (const [key, value] of Object.entries(spec.nodeSelector ?? {})) if (labels[key] !== value) return false;
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (!required) return true;
  // an empty list of terms, or an empty term, matches no node
  return (required.nodeSelectorTerms ?? []).some((term) => {
    const expressions = term.matchExpressions ?? [];
    const fields = term.matchFields ?? [];
    if (expressions.length === 0 && fields.length === 0) return false;
    return expressions.every((r) => matchesRequirement(r, labels[r.key])) && fields.every((r) => r.key === 'metadata.name' && matchesRequirement(r, node.metadata.name));
  });
}

export function isNodeReady(node: KubeNode): boolean {
  return (node.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

export function isPodReady(pod: KubePod): boolean {
  return (pod.status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Succeeded and Failed pods hold no resources on their node. */
export function isTerminal(pod: KubePod): boolean {
  return pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
}

const binarySuffixes: Record<string, number> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60 };
const decimalSuffixes: Record<string, number> = { n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18 };

/** A resource quantity (`100m`, `128Mi`, `2`, `1e3`) in thousandths of its unit, rounded up; NaN when it is not one. */
export function milliUnits(q: string | number | undefined): number {
  if (q === undefined) return 0;
  if (typeof q === 'number') return Math.ceil(q * 1000);
  const m = /^([+-]?(?:\d+\.?\d*|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?)$/.exec(q.trim());
  if (!m) return Number.NaN;
  const base = Number(m[1] + (m[2] ?? ''));
  const factor = m[3] === undefined ? 1 : (binarySuffixes[m[3]] ?? decimalSuffixes[m[3]] ?? 1);
  return Math.ceil(base * factor * 1000);
}

/** A pod's effective requests: the larger of its containers' sum and any one init container's, plus overhead (milli-units). */
export function podRequests(spec: PodSpec): Map<string, number> {
  const sum = new Map<string, number>();
  const add = (into: Map<string, number>, requests: Record<string, string | number> | undefined) => {
    for (const [r, q] of Object.entries(requests ?? {})) into.set(r, (into.get(r) ?? 0) + milliUnits(q));
  };
  for (const c of spec.containers ?? []) add(sum, c.resources?.requests);
  for (const c of spec.initContainers ?? []) {
    for (const [r, q] of Object.entries(c.resources?.requests ?? {})) sum.set(r, Math.max(sum.get(r) ?? 0, milliUnits(q)));
  }
  add(sum, spec.overhead);
  return sum;
}

/** What the pods bound to a node take: their count and their summed requests. */
export interface NodeUsage {
  pods: number;
  requested: Map<string, number>;
}

export function emptyUsage(): NodeUsage {
  return { pods: 0, requested: new Map() };
}

export function addToUsage(usage: NodeUsage, spec: PodSpec): void {
  usage.pods++;
  for (const [r, v] of podRequests(spec)) usage.requested.set(r, (usage.requested.get(r) ?? 0) + v);
}

/** NodeResourcesFit: "Too many pods" and "Insufficient <resource>" for each request the node has no room for. */
export function resourceReasons(spec: PodSpec, node: KubeNode, usage: NodeUsage): string[] {
  const allocatable = node.status?.allocatable ?? {};
  const reasons: string[] = [];
  const maxPods = milliUnits(allocatable['pods'] ?? 0) / 1000;
  if (usage.pods + 1 > maxPods) reasons.push(REASON_TOO_MANY_PODS);
  for (const [resource, want] of podRequests(spec)) {
    if (want <= 0 || resource === 'pods') continue;
    const have = milliUnits(allocatable[resource] ?? 0);
    if ((usage.requested.get(resource) ?? 0) + want > (Number.isNaN(have) ? 0 : have)) reasons.push(`Insufficient ${resource}`);
  }
  return reasons;
}

/** The node label EKS puts on Fargate nodes (value `fargate`). */
export const COMPUTE_TYPE_LABEL = 'eks.amazonaws.com/compute-type';

/**
 * A Fargate node runs the one pod it was started for and nothing else: the default scheduler never considers it,
 * whatever the pod tolerates (the taint alone would let a pod tolerating every taint in, in the window before the
 * Fargate pod's binding).
 */
export const isFargateNode = (node: KubeNode) => node.metadata.labels?.[COMPUTE_TYPE_LABEL] === 'fargate';

/**
 * Why the scheduler may not put the pod on the node, as the filter plugins run (the first that fails gives its
 * reasons): NodeUnschedulable, TaintToleration (a not-Ready node counts as tainted not-ready), NodeAffinity,
 * NodeResourcesFit. Empty when it fits.
 */
export function unfitReasons(spec: PodSpec, node: KubeNode, usage: NodeUsage): string[] {
  if (node.spec?.unschedulable && !(spec.tolerations ?? []).some((t) => tolerates(t, { key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }))) {
    return [REASON_UNSCHEDULABLE];
  }
  const taints = [...(node.spec?.taints ?? [])];
  if (!isNodeReady(node) && !taints.some((t) => t.key === NOT_READY_TAINT.key)) taints.push(NOT_READY_TAINT);
  const taint = untoleratedTaint(spec.tolerations, taints);
  if (taint) return [untoleratedTaintReason(taint)];
  if (!matchesNodeSelection(spec, node)) return [REASON_AFFINITY];
  return resourceReasons(spec, node, usage);
}
