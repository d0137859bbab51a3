/**
 * The lab's scheduler, as a pure decision: every pending pod of the default scheduler gets the node with room that
 * has the fewest pods (spread), or the reason none fits, worded as kube-scheduler's FitError
 * (`0/3 nodes are available: 1 Too many pods, 2 node(s) didn't match Pod's node affinity/selector.`). Pods are taken
 * oldest first, and each decision counts against the node before the next pod is placed.
 */
import type { KubeNode, KubePod } from './control-plane-types.js';
import { addToUsage, emptyUsage, isFargateNode, isTerminal, unfitReasons, type NodeUsage } from './scheduler-fit.js';

export const DEFAULT_SCHEDULER = 'default-scheduler';

export type ScheduleOutcome = { pod: KubePod; node: string } | { pod: KubePod; unschedulable: string };

/** A pod the scheduler places: not bound, not going, not finished, its scheduler ours, no scheduling gates. */
export function isPending(pod: KubePod): boolean {
  const spec = pod.spec;
  return (
    !spec.nodeName &&
    (spec.schedulerName ?? DEFAULT_SCHEDULER) === DEFAULT_SCHEDULER &&
    !pod.metadata.deletionTimestamp &&
    !isTerminal(pod) &&
    (spec.schedulingGates ?? []).length === 0
  );
}

/** The pods bound to each node that still hold their place (not Succeeded or Failed). */
export function usageByNode(pods: readonly KubePod[]): Map<string, NodeUsage> {
  const usage = new Map<string, NodeUsage>();
  for (const pod of pods) {
    const node = pod.spec.nodeName;
    if (!node || isTerminal(pod)) continue;
    let u = usage.get(node);
    if (!u) usage.set(node, (u = emptyUsage()));
    addToUsage(u, pod.spec);
  }
  return usage;
}

/** FitError's message: the reasons' histogram, each `<count> <reason>`, sorted as strings. */
export function fitErrorMessage(nodeCount: number, reasons: readonly string[][]): string {
  if (nodeCount === 0) return 'no nodes available to schedule pods';
  const counts = new Map<string, number>();
  for (const list of reasons) for (const r of list) counts.set(r, (counts.get(r) ?? 0) + 1);
  const histogram = [...counts].map(([r, n]) => `${n} ${r}`).sort();
  return `0/${nodeCount} nodes are available: ${histogram.join(', ')}.`;
}

function byAge(a: KubePod, b: KubePod): number {
  const ta = a.metadata.creationTimestamp ?? '';
  const tb = b.metadata.creationTimestamp ?? '';
  if (ta !== tb) return ta < tb ? -1 : 1;
  const ka = `${a.metadata.namespace ?? ''}/${a.metadata.name}`;
  const kb = `${b.metadata.namespace ?? ''}/${b.metadata.name}`;
  return ka < kb ? -1 : ka > kb ? 1 : 0;
}

/** One decision for each pending pod of `pods` (which holds the bound ones too: they take room). Fargate nodes are no candidates. */
export function schedulePending(pods: readonly KubePod[], allNodes: readonly KubeNode[]): ScheduleOutcome[] {
  const usage = usageByNode(pods);
  const nodes = allNodes.filter((n) => !isFargateNode(n));
  const sortedNodes = [...nodes].sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));
  const outcomes: ScheduleOutcome[] = [];
  for (const pod of pods.filter(isPending).sort(byAge)) {
    const reasons: string[][] = [];
    let best: { name: string; usage: NodeUsage } | undefined;
    for (const node of sortedNodes) {
      const u = usage.get(node.metadata.name) ?? emptyUsage();
      const why = unfitReasons(pod.spec, node, u);
      if (why.length > 0) {
        reasons.push(why);
        continue;
      }
      if (!best || u.pods < best.usage.pods) best = { name: node.metadata.name, usage: u };
    }
    if (!best) {
      outcomes.push({ pod, unschedulable: fitErrorMessage(nodes.length, reasons) });
      continue;
    }
    usage.set(best.name, best.usage);
    addToUsage(best.usage, pod.spec);
    outcomes.push({ pod, node: best.name });
  }
  return outcomes;
}
