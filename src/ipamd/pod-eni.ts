/**
 * Security groups for pods on the node (spec §5.2): which pods get a branch ENI instead of a pool address (the pod's
 * `vpc.amazonaws.com/pod-eni` annotation, written by the VPC resource controller), and the records ipamd keeps of the
 * branch pods it wired, so DEL tears a branch pod down even when the annotation (or the pod) is gone.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { AttachmentKey, BranchAllocation, PodIdentity } from '../cni/index.js';
import { PodnetError, writeFileAtomicSync } from '../lib/index.js';
import { cidrContains, formatAddress, formatCidr, isAddressText, parseAddress, parseCidr, subnetGateway, type Cidr } from '../net/index.js';

/** The annotation the controller writes on a pod it gave a branch ENI. */
export const POD_ENI_ANNOTATION = 'vpc.amazonaws.com/pod-eni';
/** The extended resource a matched pod requests (upstream checks containers[0]'s limits for this prefix). */
export const POD_ENI_RESOURCE = 'vpc.amazonaws.com/pod-eni';

/** What ipamd reads of the pod. */
export interface PodEniFacts {
  annotations: Record<string, string>;
  /** containers[0].resources.limits (upstream's test for "this pod asked for a branch ENI"). */
  limits: Record<string, string>;
}

/**
 * The branch ENI a pod is to be wired through, or undefined for a pool pod. As upstream's AddNetwork (§5.2), only a
 * pod whose containers[0] limits request `vpc.amazonaws.com/pod-eni` is a branch pod — the scheduler counted it
 * against the node's branch capacity and the controller gave it its branch — and only then is the annotation read:
 * anyone who can create a pod can write annotations, so the annotation alone must not make ipamd wire a branch ENI. A
 * requesting pod with no annotation yet is told to wait (the controller annotates it after creating and associating
 * the branch), and an annotation that does not parse fails the ADD, as upstream's does.
 */
export function branchOfPod(pod: PodEniFacts, name: string): BranchAllocation | undefined {
  if (!Object.keys(pod.limits).some((k) => k.startsWith(POD_ENI_RESOURCE))) return undefined;
  const text = pod.annotations[POD_ENI_ANNOTATION];
  if (text === undefined) {
    throw new PodnetError('IPAMD_NOT_READY', `pod ${name} requests ${POD_ENI_RESOURCE} but has no ${POD_ENI_ANNOTATION} annotation yet`, 'the VPC resource controller annotates the pod once its branch ENI is associated with the trunk; the kubelet retries');
  }
  return parsePodEniAnnotation(text, name);
}

/**
 * Parses the annotation: a JSON list of `{eniId, ifAddress, privateIp, ipv6Addr, vlanId, subnetCidr, subnetV6Cidr}`
 * (upstream's BranchENI; Go's JSON reads keys case-insensitively, so `vlanID` is read too); the first element is the
 * pod's (§5.2). IPv4 only.
 */
export function parsePodEniAnnotation(text: string, name: string): BranchAllocation {
  const bad = (why: string) => new PodnetError('FAILED', `pod ${name}'s ${POD_ENI_ANNOTATION} annotation ${why}: ${text.slice(0, 300)}`, 'the VPC resource controller writes this annotation; delete the pod so it is recreated, and check the controller\'s log');
  let list: unknown;
  try {
    list = JSON.parse(text);
  } catch {
    throw bad('is not JSON');
  }
  if (!Array.isArray(list) || list.length === 0 || typeof list[0] !== 'object' || list[0] === null) throw bad('is not a non-empty JSON list of objects');
  const entry = Object.fromEntries(Object.entries(list[0] as Record<string, unknown>).map(([k, v]) => [k.toLowerCase(), v]));
  const { eniid: eniId, ifaddress: mac, privateip: privateIp, vlanid: vlanId, subnetcidr: subnetCidr } = entry;
  if (typeof eniId !== 'string' || !/^eni-[0-9a-f]+$/.test(eniId)) throw bad('has no eniId');
  if (typeof mac !== 'string' || !/^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/.test(mac)) throw bad('has no ifAddress (MAC)');
  if (typeof privateIp !== 'string' || !isAddressText(privateIp) || parseAddress(privateIp).family !== 4) throw bad('has no IPv4 privateIp');
  if (typeof vlanId !== 'number' || !Number.isInteger(vlanId) || vlanId < 1 || vlanId > 4094) throw bad('has no vlanId from 1 to 4094');
  let subnet: Cidr;
  try {
    subnet = parseCidr(subnetCidr as string);
  } catch {
    throw bad('has no subnetCidr');
  }
  if (subnet.family !== 4) throw bad('has no IPv4 subnetCidr');
  const address = parseAddress(privateIp);
  // the gateway ipamd routes through is the subnet's: an address outside it would be wired behind the wrong gateway
  if (!cidrContains(subnet, address)) throw bad(`has privateIp ${privateIp} outside its subnetCidr ${formatCidr(subnet)}`);
  return { eniId, mac: mac.toLowerCase(), address: formatAddress(address), vlanId, subnetCidr: formatCidr(subnet), gateway: formatAddress(subnetGateway(subnet)) };
}

/** One branch pod ipamd wired: enough for DEL without the pod or its annotation. */
export interface BranchPodRecord {
  key: AttachmentKey;
  podNamespace: string;
  podName: string;
  podUid: string;
  branch: BranchAllocation;
}

const VERSION = 'podnet-branch-pods/1';

/**
 * ipamd's records of branch pods, next to its checkpoint (`branch-pods.json` in the backing store's directory),
 * rewritten atomically on every change: the upstream checkpoint holds pool addresses only, and a branch pod's
 * address is its branch ENI's.
 */
export class BranchPods {
  private readonly records = new Map<string, BranchPodRecord>();
  readonly file: string;

  constructor(backingStore: string) {
    this.file = join(dirname(backingStore), 'branch-pods.json');
    if (!existsSync(this.file)) return;
    try {
      const doc = JSON.parse(readFileSync(this.file, 'utf8')) as { version?: string; pods?: BranchPodRecord[] };
      if (doc.version !== VERSION || !Array.isArray(doc.pods)) throw new Error(`version ${doc.version}`);
      for (const r of doc.pods) this.records.set(keyText(r.key), r);
    } catch (err) {
      throw new PodnetError('CHECKPOINT_CORRUPT', `${this.file} cannot be read: ${(err as Error).message}`, 'move the file away; branch pods wired before are then torn down from their prevResult only');
    }
  }

  get(key: AttachmentKey): BranchPodRecord | undefined {
    return this.records.get(keyText(key));
  }

  all(): BranchPodRecord[] {
    return [...this.records.values()];
  }

  /**
   * What another container's record already holds of this branch — its VLAN id, ENI or address — in words, or
   * undefined. One branch (and one VLAN on the trunk) carries one pod: wiring it again for a second container would
   * take over the first one's VLAN link and rules.
   */
  conflict(key: AttachmentKey, branch: BranchAllocation): string | undefined {
    const mine = keyText(key);
    for (const [k, r] of this.records) {
      if (k === mine) continue;
      const held = [
        r.branch.vlanId === branch.vlanId && `VLAN ${branch.vlanId}`,
        r.branch.eniId === branch.eniId && `branch ENI ${branch.eniId}`,
        r.branch.address === branch.address && `address ${branch.address}`,
      ].filter((x): x is string => typeof x === 'string');
      if (held.length > 0) return `${held.join(', ')} ${held.length === 1 ? 'is' : 'are'} held by pod ${r.podNamespace}/${r.podName} (container ${r.key.containerId}, interface ${r.key.ifName})`;
    }
    return undefined;
  }

  put(key: AttachmentKey, pod: PodIdentity, branch: BranchAllocation): BranchPodRecord {
    const record: BranchPodRecord = { key: { networkName: key.networkName, containerId: key.containerId, ifName: key.ifName }, podNamespace: pod.podNamespace, podName: pod.podName, podUid: pod.podUid, branch };
    this.records.set(keyText(key), record);
    this.save();
    return record;
  }

  remove(key: AttachmentKey): BranchPodRecord | undefined {
    const record = this.records.get(keyText(key));
    if (!record) return undefined;
    this.records.delete(keyText(key));
    this.save();
    return record;
  }

  private save(): void {
    writeFileAtomicSync(this.file, `${JSON.stringify({ version: VERSION, pods: this.all() })}\n`, { mode: 0o600 });
  }
}

function keyText(k: AttachmentKey): string {
  return `${k.networkName}\u0000${k.containerId}\u0000${k.ifName}`;
}
