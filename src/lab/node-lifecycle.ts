/**
 * The node lifecycle controller's heartbeat check (pure), as kube-controller-manager's: a Node whose kubelet has not
 * renewed its Lease (kube-node-lease) nor posted its status for the grace period gets every condition the kubelet
 * reports set to Unknown, reason NodeStatusUnknown, message "Kubelet stopped posting node status." — so a node that
 * cannot reach the API server (for example through an EKS endpoint whose allow-list lacks its NAT gateway's address)
 * shows NotReady/Unknown in `kubectl get nodes`. The kubelet's next status post makes it Ready again. The lab's grace
 * is 12 s and its kubelet renews the Lease every 4 s (kubelet-node.ts LEASE_RENEW_MS); upstream's
 * --node-monitor-grace-period is 40 s with a renewal every 10 s — the same four-to-one margin would cost the lab's
 * demo and tests half a minute per lost node, three renewals per grace period keep one slow renewal from flapping it.
 */
import type { Condition, KubeNode } from './control-plane-types.js';

export const NODE_MONITOR_GRACE_MS = 12_000;
export const NODE_STATUS_UNKNOWN_REASON = 'NodeStatusUnknown';
export const NODE_STATUS_UNKNOWN_MESSAGE = 'Kubelet stopped posting node status.';

/** The Lease fields the check reads (renewTime is a MicroTime string, as the API server sends it). */
export interface NodeLease {
  metadata: { name: string; namespace?: string };
  spec?: { renewTime?: string | null; holderIdentity?: string };
}

export interface NodeStatusUnknown {
  node: string;
  /** the node's conditions after the change (Ready first if it had none) */
  conditions: Condition[];
  /** how long ago the kubelet was last heard from, in ms */
  silentMs: number;
}

const time = (value: string | null | undefined): number => {
  const t = value ? Date.parse(value) : NaN;
  return Number.isFinite(t) ? t : 0;
};

/** When the node's kubelet was last heard from: its Lease's renewTime, its Ready heartbeat, or its creation. */
export function lastHeard(node: KubeNode, lease: NodeLease | undefined): number {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready') as (Condition & { lastHeartbeatTime?: string | null }) | undefined;
  return Math.max(time(lease?.spec?.renewTime), time(ready?.lastHeartbeatTime), time(node.metadata.creationTimestamp));
}

/**
 * The nodes to mark Unknown now: silent for longer than `graceMs`, counted at the earliest from `watchingSinceMs`
 * (a control plane that just started gives every node a full grace period, as upstream's does), and not Unknown
 * already. Their other conditions become Unknown too; lastHeartbeatTime stays, lastTransitionTime is now.
 */
export function nodesToMarkUnknown(nodes: readonly KubeNode[], leases: readonly NodeLease[], nowMs: number, watchingSinceMs: number, graceMs = NODE_MONITOR_GRACE_MS): NodeStatusUnknown[] {
  const byName = new Map(leases.filter((l) => (l.metadata.namespace ?? 'kube-node-lease') === 'kube-node-lease').map((l) => [l.metadata.name, l]));
  const out: NodeStatusUnknown[] = [];
  const now = new Date(nowMs).toISOString().replace(/\.\d{3}Z$/, 'Z');
  for (const node of nodes) {
    if (node.metadata.deletionTimestamp) continue;
    const heard = Math.max(lastHeard(node, byName.get(node.metadata.name)), watchingSinceMs);
    const silentMs = nowMs - heard;
    if (silentMs <= graceMs) continue;
    const conditions = node.status?.conditions ?? [];
    const ready = conditions.find((c) => c.type === 'Ready');
    if (ready?.status === 'Unknown') continue;
    const unknown = (c: Condition): Condition => ({ ...c, status: 'Unknown', reason: NODE_STATUS_UNKNOWN_REASON, message: NODE_STATUS_UNKNOWN_MESSAGE, lastTransitionTime: c.status === 'Unknown' ? c.lastTransitionTime : now });
    const next = conditions.map(unknown);
    if (!ready) next.unshift(unknown({ type: 'Ready', status: 'Unknown' }));
    out.push({ node: node.metadata.name, conditions: next, silentMs });
  }
  return out;
}
