/**
 * The controller's decisions, pure: which SecurityGroupPolicies select a pod, what the webhook adds to a pod, which
 * pods need a branch ENI, the pod-eni annotation upstream writes, the VLAN id and device index to use, and which
 * branch ENIs the collector deletes. No I/O, no clock: everything comes in as arguments.
 *
 * Upstream facts (aws/amazon-vpc-resource-controller-k8s at b8d42511): pkg/config/type.go (names, tags),
 * pkg/utils/helper.go (policy matching), webhooks/core/pod_webhook.go (the mutation),
 * pkg/provider/branch/trunk/trunk.go (ENIDetails, VLAN ids 1…, descriptions), pkg/aws/ec2/api/helper.go (tags).
 */
import { enisOnDefaultCard, type InstanceLimits } from '../limits/index.js';

/** The extended resource a matched pod requests, and the annotation the controller writes (config.ResourceNamePodENI). */
export const POD_ENI = 'vpc.amazonaws.com/pod-eni';
/** The Node label upstream sets once the trunk is attached (config.HasTrunkAttachedLabel). */
export const HAS_TRUNK_ATTACHED = 'vpc.amazonaws.com/has-trunk-attached';
/** The CNINode feature ipamd advertises with ENABLE_POD_ENI=true. */
export const SGP_FEATURE = 'SecurityGroupsForPods';
/** Upstream prefixes every ENI description it creates with this (CreateENIDescriptionPrefix). */
export const TRUNK_DESCRIPTION = 'aws-k8s-trunk-eni';
export const BRANCH_DESCRIPTION = 'aws-k8s-branch-eni';
/** Upstream's tags on a branch ENI (VLandIDTag, TrunkENIIDTag, NetworkInterfaceNodeIDKey, NetworkInterfaceOwnerTagKey). */
export const TAG_VLAN_ID = 'vpcresources.k8s.aws/vlan-id';
export const TAG_TRUNK_ENI_ID = 'vpcresources.k8s.aws/trunk-eni-id';
export const TAG_INSTANCE_ID = 'node.k8s.amazonaws.com/instance_id';
export const TAG_OWNER = 'eks:eni:owner';
export const TAG_OWNER_VALUE = 'eks-vpc-resource-controller';
/** podnet's own tags: which controller instance (cluster) made the ENI, and when — the leaked-branch collector's keys. */
export const TAG_CLUSTER = 'podnet.io/sgp-controller-cluster';
export const TAG_CREATED_AT = 'podnet.io/created-at';
/** 802.1Q VLAN ids a branch may use (0 and 4095 are reserved; upstream never assigns 0). */
export const MAX_VLAN_ID = 4094;

export interface LabelSelector {
  matchLabels?: Record<string, string> | null;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] | null }> | null;
}

export interface SecurityGroupPolicy {
  metadata: { name?: string; namespace?: string };
  spec?: {
    podSelector?: LabelSelector | null;
    serviceAccountSelector?: LabelSelector | null;
    securityGroups?: { groupIds?: string[] | null } | null;
  };
}

/** Kubernetes' label selector semantics (metav1.LabelSelectorAsSelector): an unknown operator selects nothing. */
export function selectorMatches(selector: LabelSelector, labels: Record<string, string>): boolean {
  for (const [key, value] of Object.entries(selector.matchLabels ?? {})) if (labels[key] !== value) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const values = e.values ?? [];
    switch (e.operator) {
      case 'In': if (!has || !values.includes(labels[e.key]!)) return false; break;
      case 'NotIn': if (has && values.includes(labels[e.key]!)) return false; break;
      case 'Exists': if (!has) return false; break;
      case 'DoesNotExist': if (has) return false; break;
      default: return false;
    }
  }
  return true;
}

/**
 * The security groups the policies of the pod's namespace give it, in policy order, duplicates dropped
 * (GetMatchingSecurityGroupForPods): a policy with neither selector, or with no groups, is ignored; a policy with both
 * selectors needs both to match.
 */
export function matchingGroups(policies: readonly SecurityGroupPolicy[], pod: { namespace: string; labels: Record<string, string> }, serviceAccountLabels: Record<string, string>): string[] {
  const groups: string[] = [];
  for (const p of policies) {
    if ((p.metadata.namespace ?? '') !== pod.namespace) continue;
    const spec = p.spec ?? {};
    const ids = spec.securityGroups?.groupIds ?? [];
    const podSel = spec.podSelector ?? undefined;
    const saSel = spec.serviceAccountSelector ?? undefined;
    if ((!podSel && !saSel) || ids.length === 0) continue;
    if (podSel && !selectorMatches(podSel, pod.labels)) continue;
    if (saSel && !selectorMatches(saSel, serviceAccountLabels)) continue;
    for (const id of ids) if (!groups.includes(id)) groups.push(id);
  }
  return groups;
}

/** The parts of a Pod the decisions read. */
export interface PodLike {
  metadata?: { name?: string; namespace?: string; uid?: string; labels?: Record<string, string>; annotations?: Record<string, string>; deletionTimestamp?: unknown };
  spec?: {
    nodeName?: string;
    hostNetwork?: boolean;
    serviceAccountName?: string;
    nodeSelector?: Record<string, string>;
    containers?: Array<{ resources?: { limits?: Record<string, unknown>; requests?: Record<string, unknown> } }>;
  };
  status?: { phase?: string };
}

export type WebhookDecision = { kind: 'skip'; reason: string } | { kind: 'match' };

/** Which pods the webhook looks at (PodMutationWebHook.Handle): not host-network, not Fargate, not Windows. */
export function webhookPodKind(pod: PodLike): WebhookDecision {
  if (pod.spec?.hostNetwork) return { kind: 'skip', reason: 'SGP not supported on Pod running on HostNetwork' };
  if (pod.metadata?.labels?.['eks.amazonaws.com/fargate-profile'] !== undefined) return { kind: 'skip', reason: 'Fargate pod: podnet does not annotate fargate.amazonaws.com/pod-sg' };
  const os = pod.spec?.nodeSelector?.['kubernetes.io/os'] ?? pod.spec?.nodeSelector?.['beta.kubernetes.io/os'];
  if (os === 'windows') return { kind: 'skip', reason: 'Windows pod: no branch ENIs on Windows' };
  if (!pod.spec?.containers?.length) return { kind: 'skip', reason: 'the pod has no containers' };
  return { kind: 'match' };
}

export interface JsonPatchOp {
  op: 'add' | 'replace';
  path: string;
  value: unknown;
}

const escapePointer = (s: string) => s.replace(/~/g, '~0').replace(/\//g, '~1');

/** The JSON patch that gives the first container `vpc.amazonaws.com/pod-eni: 1` in its limits and requests (DefaultResourceLimit "1"). */
export function podEniPatch(pod: PodLike): JsonPatchOp[] {
  const c = pod.spec?.containers?.[0] ?? {};
  const ops: JsonPatchOp[] = [];
  const base = '/spec/containers/0/resources';
  if (!c.resources) ops.push({ op: 'add', path: base, value: {} });
  for (const field of ['limits', 'requests'] as const) {
    if (!c.resources?.[field]) ops.push({ op: 'add', path: `${base}/${field}`, value: { [POD_ENI]: '1' } });
    else ops.push({ op: c.resources[field]![POD_ENI] === undefined ? 'add' : 'replace', path: `${base}/${field}/${escapePointer(POD_ENI)}`, value: '1' });
  }
  return ops;
}

/** Whether a pod asked for a branch ENI: any container requests or limits pod-eni (utils.PodHasENIRequest, and ipamd's limits check). */
export function requestsPodEni(pod: PodLike): boolean {
  return (pod.spec?.containers ?? []).some((c) => c.resources?.requests?.[POD_ENI] !== undefined || c.resources?.limits?.[POD_ENI] !== undefined);
}

export type PodDecision =
  | { kind: 'none'; reason: string }
  | { kind: 'allocate'; node: string }
  | { kind: 'release'; branches: BranchEni[] };

/** What a pod needs from the controller now. */
export function decidePod(pod: PodLike): PodDecision {
  const annotated = pod.metadata?.annotations?.[POD_ENI];
  if (pod.metadata?.deletionTimestamp) {
    const branches = annotated === undefined ? [] : parseAnnotation(annotated);
    return branches.length ? { kind: 'release', branches } : { kind: 'none', reason: 'being deleted, no branch' };
  }
  if (!requestsPodEni(pod)) return { kind: 'none', reason: 'does not request pod-eni' };
  if (annotated !== undefined) return { kind: 'none', reason: 'already annotated' };
  const phase = pod.status?.phase;
  if (phase === 'Succeeded' || phase === 'Failed') return { kind: 'none', reason: `phase ${phase}` };
  if (!pod.spec?.nodeName) return { kind: 'none', reason: 'not scheduled yet' };
  return { kind: 'allocate', node: pod.spec.nodeName };
}

/** One element of the pod-eni annotation: upstream's ENIDetails, keys in its order (Go writes the empty v6 fields too). */
export interface BranchEni {
  eniId: string;
  ifAddress: string;
  privateIp: string;
  ipv6Addr: string;
  vlanId: number;
  subnetCidr: string;
  subnetV6Cidr: string;
  associationID: string;
}

export function formatAnnotation(branches: readonly BranchEni[]): string {
  return JSON.stringify(branches.map((b) => ({ eniId: b.eniId, ifAddress: b.ifAddress, privateIp: b.privateIp, ipv6Addr: b.ipv6Addr, vlanId: b.vlanId, subnetCidr: b.subnetCidr, subnetV6Cidr: b.subnetV6Cidr, associationID: b.associationID })));
}

/** The branches an annotation names; [] for one that does not parse (the collector then sees them as unheld). */
export function parseAnnotation(text: string): BranchEni[] {
  try {
    const list: unknown = JSON.parse(text);
    if (!Array.isArray(list)) return [];
    return list.flatMap((e: unknown) => {
      const r = e as Partial<Record<keyof BranchEni, unknown>> | null;
      if (!r || typeof r.eniId !== 'string') return [];
      const str = (v: unknown) => (typeof v === 'string' ? v : '');
      return [{ eniId: r.eniId, ifAddress: str(r.ifAddress), privateIp: str(r.privateIp), ipv6Addr: str(r.ipv6Addr), vlanId: typeof r.vlanId === 'number' ? r.vlanId : 0, subnetCidr: str(r.subnetCidr), subnetV6Cidr: str(r.subnetV6Cidr), associationID: str(r.associationID) }];
    });
  } catch {
    return [];
  }
}

/** The lowest VLAN id not in use (upstream's assignVlanId walks up from 1); undefined when all 4094 are. */
export function freeVlanId(used: ReadonlySet<number>): number | undefined {
  for (let id = 1; id <= MAX_VLAN_ID; id++) if (!used.has(id)) return id;
  return undefined;
}

/** The highest unused device index below the type's ENI limit (upstream's GetHighestUnusedDeviceIndex: ipamd fills from the bottom). */
export function freeDeviceIndex(used: ReadonlySet<number>, maxEnis: number): number | undefined {
  for (let i = maxEnis - 1; i >= 1; i--) if (!used.has(i)) return i;
  return undefined;
}

/**
 * Where a node's trunk goes: the highest free device index among the ENIs of the default network card, the card ipamd
 * counts (and the controller and `explain --scenario` both place it so); undefined when every one is in use.
 */
export function trunkDeviceIndex(used: ReadonlySet<number>, limits: InstanceLimits): number | undefined {
  return freeDeviceIndex(used, enisOnDefaultCard(limits));
}

export type BranchRoom = { ok: true } | { ok: false; reason: string };

/** Whether the trunk can take one more branch: associations plus the ones being made stay under the type's limit. */
export function branchRoom(associated: number, inFlight: number, limit: number, what: string): BranchRoom {
  if (associated + inFlight < limit) return { ok: true };
  return { ok: false, reason: `branch ENI limit reached: ${associated} associated${inFlight ? ` + ${inFlight} being created` : ''} of ${limit} on ${what}` };
}

/** A branch ENI this controller made, as EC2 describes it. */
export interface TaggedBranch {
  eniId: string;
  /** podnet.io/created-at, ms since the epoch; NaN when missing or bad (counted as old). */
  createdAt: number;
}

/**
 * The leaked-branch collector's choice: branches no live pod's annotation names, that this process is not making
 * right now, and older than the cooldown (a branch made just before a crash may be about to be annotated by a
 * restarted controller's pod reconcile — it is not: a new one is made — but one younger than the cooldown may still
 * belong to a create in flight elsewhere).
 */
export function leakedBranches(branches: readonly TaggedBranch[], held: ReadonlySet<string>, inFlight: ReadonlySet<string>, now: number, cooldownMs: number): string[] {
  return branches
    .filter((b) => !held.has(b.eniId) && !inFlight.has(b.eniId) && !(now - b.createdAt < cooldownMs))
    .map((b) => b.eniId);
}

/** Exponential backoff for the n-th consecutive failure (n ≥ 1), capped. */
export function backoffMs(failures: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, failures - 1));
}
