/**
 * ipamd's reading of Kubernetes objects, pure: its Node as the facts the ENIConfig choice and max pods need, whether
 * the node is unschedulable, ENIConfig objects, the CNINode features it should advertise, and the pod-IP annotation
 * patches (spec §5.1, §5.2, ANNOTATE_POD_IP). No I/O: kube.ts feeds these from the API server.
 */
import type { EniConfig, NodeFacts } from './eni-config.js';

/** The parts of a Node ipamd reads. */
export interface NodeObject {
  metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { unschedulable?: boolean; taints?: Array<{ key?: string; effect?: string }> };
  status?: { capacity?: Record<string, string> };
}

export interface EniConfigObject {
  metadata?: { name?: string };
  spec?: { subnet?: unknown; securityGroups?: unknown };
}

export interface CniNodeFeature {
  name: string;
  value?: string;
}

export interface CniNodeObject {
  metadata?: { name?: string; resourceVersion?: string };
  spec?: { features?: CniNodeFeature[] };
}

/** kubectl cordon sets spec.unschedulable, and the node lifecycle controller adds this taint for it. */
export const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';
export const POD_IPS_ANNOTATION = 'vpc.amazonaws.com/pod-ips';
export const SGP_FEATURE = 'SecurityGroupsForPods';
export const CUSTOM_NETWORKING_FEATURE = 'CustomNetworking';

export function nodeFacts(node: NodeObject): NodeFacts {
  const pods = Number.parseInt(node.status?.capacity?.pods ?? '', 10);
  return {
    name: node.metadata?.name ?? '',
    labels: { ...node.metadata?.labels },
    annotations: { ...node.metadata?.annotations },
    ...(Number.isInteger(pods) && pods > 0 ? { capacityPods: pods } : {}),
  };
}

/**
 * Upstream's isNodeSchedulable looks for the taint `node.kubernetes.io/unschedulable:NoSchedule`; a cordoned node
 * whose taint the lifecycle controller has not added yet (or a cluster without that controller, as the lab's)
 * counts too, through spec.unschedulable.
 */
export function isUnschedulable(node: NodeObject): boolean {
  if (node.spec?.unschedulable === true) return true;
  return (node.spec?.taints ?? []).some((t) => t.key === UNSCHEDULABLE_TAINT && t.effect === 'NoSchedule');
}

/** An ENIConfig object as the file source gives it, or the reason it cannot be used (the CRD's schema allows it). */
export function eniConfigOf(o: EniConfigObject): EniConfig | { invalid: string } {
  const name = o.metadata?.name ?? '';
  const subnet = o.spec?.subnet;
  if (typeof subnet !== 'string' || !/^subnet-[0-9a-z]+$/.test(subnet)) return { invalid: `ENIConfig ${name}: spec.subnet ${JSON.stringify(subnet ?? null)} is not a subnet id like subnet-0a1b2c` };
  const groups = o.spec?.securityGroups ?? [];
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== 'string' || !/^sg-[0-9a-z]+$/.test(g))) {
    return { invalid: `ENIConfig ${name}: spec.securityGroups ${JSON.stringify(groups)} are not all security group ids like sg-0a1b2c` };
  }
  return { name, subnet, securityGroups: groups as string[] };
}

/**
 * The features ipamd advertises on its CNINode (spec §4.14 step 9, §5.2): SecurityGroupsForPods with ENABLE_POD_ENI
 * once there is room for the trunk ENI (or a trunk is there already), and with security groups for pods under custom
 * networking also CustomNetworking=<the node's ENIConfig name>.
 */
export function wantedFeatures(o: { enablePodEni: boolean; trunkRoom: boolean; customNetworking: boolean; eniConfigName: string }): CniNodeFeature[] {
  if (!o.enablePodEni) return [];
  const features: CniNodeFeature[] = [];
  if (o.customNetworking) features.push({ name: CUSTOM_NETWORKING_FEATURE, value: o.eniConfigName });
  if (o.trunkRoom) features.push({ name: SGP_FEATURE });
  return features;
}

/**
 * The CNINode's feature list after adding what is wanted: others' features are kept (the VPC resource controller
 * and other agents write there too), a wanted feature replaces one of the same name. Undefined when nothing changes.
 */
export function mergeFeatures(current: readonly CniNodeFeature[], wanted: readonly CniNodeFeature[]): CniNodeFeature[] | undefined {
  const same = (a: CniNodeFeature, b: CniNodeFeature) => a.name === b.name && (a.value ?? '') === (b.value ?? '');
  if (wanted.every((w) => current.some((c) => same(c, w)))) return undefined;
  return [...current.filter((c) => !wanted.some((w) => w.name === c.name)), ...wanted];
}

/** A JSON-pointer token for an annotation key (`/` and `~` escaped, RFC 6901). */
const pointer = (key: string) => key.replace(/~/g, '~0').replace(/\//g, '~1');

/** ADD: the pod's vpc.amazonaws.com/pod-ips annotation set to its address (a merge patch). */
export function podIpsPatch(ip: string): { metadata: { annotations: Record<string, string> } } {
  return { metadata: { annotations: { [POD_IPS_ANNOTATION]: ip } } };
}

/**
 * DEL: the annotation emptied only if it still names the released address (upstream sets it to "" then), as one
 * JSON patch whose `test` makes the server refuse it when another ADD has written a newer address meanwhile.
 */
export function clearPodIpsPatch(ip: string): Array<{ op: 'test' | 'replace'; path: string; value: string }> {
  const path = `/metadata/annotations/${pointer(POD_IPS_ANNOTATION)}`;
  return [
    { op: 'test', path, value: ip },
    { op: 'replace', path, value: '' },
  ];
}
