/**
 * Performs pool actions through the Cloud and records the results in the datastore (§4.7–4.10, §7.1–7.3).
 * Thin on purpose: what to do was decided in pool.ts; this file only knows how EC2 is asked and how it fails.
 */
import { PodnetError, type ErrorCode } from '../lib/index.js';
import type { Clock } from './clock.js';
import { CloudError, cloudErrorCode, type Cloud, type CloudApi, type CloudEni, type CloudTags } from './cloud.js';
import type { Datastore } from './datastore.js';
import { isInsufficientCidrCode, type LastEc2Failure, type PoolAction } from './pool.js';

/** Who this node is and where its new ENIs go. */
export interface NodeIdentity {
  readonly instanceId: string;
  /** Network card whose datastore this executor fills. */
  readonly networkCard: number;
  /** Subnet for new ENIs: the primary ENI's, the ENIConfig's, or the discovered one (§5.1, §5.5). */
  readonly subnetId: string;
  /** That subnet's IPv4 CIDR, recorded on new ENIs (the wiring needs it, §3.2). */
  readonly subnetCidr: string;
  /** Security groups for new ENIs: the primary ENI's (sorted, as upstream) or the ENIConfig's. */
  readonly securityGroupIds: readonly string[];
  /** CLUSTER_NAME: adds the cluster tags (§7.2). */
  readonly clusterName?: string;
  /** ADDITIONAL_ENI_TAGS; keys containing k8s.amazonaws.com are dropped (§7.2). */
  readonly additionalTags?: Readonly<Record<string, string>>;
}

export interface ExecutorOptions {
  readonly cloud: Cloud;
  readonly datastore: Datastore;
  readonly node: NodeIdentity;
  readonly clock: Clock;
  readonly prefixDelegation: boolean;
}

/** What performing one action did. */
export interface ActionOutcome {
  readonly action: PoolAction;
  /** The datastore changed (addresses or ENIs added or removed). */
  readonly changed: boolean;
  /** The EC2 failure, for the pool manager (backoff) and `whyNoAddress`. */
  readonly failure?: LastEc2Failure;
  readonly error?: PodnetError;
  /** The ENI an action created, already recorded in the datastore. */
  readonly createdEniId?: string;
}

/** Upstream's description of ENIs it creates; the leaked-ENI GC looks for this prefix (§7.1, §7.5). */
export const ENI_DESCRIPTION_PREFIX = 'aws-K8S-';
export const INSTANCE_ID_TAG = 'node.k8s.amazonaws.com/instance_id';
export const CREATED_AT_TAG = 'node.k8s.amazonaws.com/createdAt';
export const CLUSTER_NAME_TAG = 'cluster.k8s.amazonaws.com/name';
export const ENI_OWNER_TAG = 'eks:eni:owner';

/** Device indexes per card are capped at 100 so `vlanID+100` route tables never collide (§7.1). */
const MAX_DEVICE_INDEX = 100;

/** Go's time.RFC3339 in UTC: seconds precision, `Z`. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * The tags every ENI of this node carries (§7.2): the instance, the cluster if named, and ADDITIONAL_ENI_TAGS except
 * keys containing k8s.amazonaws.com, which are upstream's own and cannot be set this way.
 */
export function ownerTags(node: Pick<NodeIdentity, 'instanceId' | 'clusterName' | 'additionalTags'>): Record<string, string> {
  const tags: Record<string, string> = { [INSTANCE_ID_TAG]: node.instanceId };
  if (node.clusterName) Object.assign(tags, { [CLUSTER_NAME_TAG]: node.clusterName, [ENI_OWNER_TAG]: 'amazon-vpc-cni' });
  for (const [key, value] of Object.entries(node.additionalTags ?? {})) if (!key.includes('k8s.amazonaws.com')) tags[key] = value;
  return tags;
}

/** The tags of a new ENI: its owner's, and when it was created (§7.2, the leaked-ENI GC reads it). */
function eniTags(node: NodeIdentity, nowMs: number): CloudTags {
  return { ...ownerTags(node), [CREATED_AT_TAG]: rfc3339(nowMs) };
}

function podnetCode(ec2Code: string): ErrorCode {
  if (ec2Code === 'InsufficientFreeAddressesInSubnet') return 'SUBNET_EXHAUSTED';
  if (ec2Code === 'InsufficientCidrBlocks') return 'NO_FREE_PREFIX';
  if (ec2Code === 'AttachmentLimitExceeded') return 'ENI_LIMIT';
  return 'EC2_FAILED';
}

/** An EC2 failure as a PodnetError with a stable code and what was asked. */
function ec2Error(api: string, what: string, err: unknown): PodnetError {
  const code = cloudErrorCode(err);
  const detail = err instanceof Error ? err.message : String(err);
  if (err instanceof CloudError && err.throttled) {
    return new PodnetError('EC2_THROTTLED', `EC2 ${api} (${what}) was throttled after the cloud adapter's retries: ${code}`,
      'try again later; ipamd backs off and retries on its next pool iteration', { cause: err });
  }
  const hints: Record<string, string> = {
    SUBNET_EXHAUSTED: 'no increase for the insufficient-CIDR backoff; add a subnet tagged kubernetes.io/role/cni=1 or use a larger subnet',
    NO_FREE_PREFIX: 'the subnet has no aligned free /28; use a fresh subnet or a subnet CIDR reservation for prefixes',
    ENI_LIMIT: 'the instance has no free ENI slot; lower MAX_ENI expectations or use a larger instance type',
    EC2_FAILED: 'check the IAM policy (docs/iam-policy.md) and the EC2 endpoint; ipamd retries on its next pool iteration',
  };
  const pc = podnetCode(code);
  return new PodnetError(pc, `EC2 ${api} (${what}) failed: ${code}: ${detail}`, hints[pc], { cause: err });
}

function isNotFound(err: unknown): boolean {
  return err instanceof CloudError && err.notFound;
}

/** Performs pool actions against EC2 and records their results in the datastore. */
export class PoolExecutor {
  constructor(private readonly o: ExecutorOptions) {}

  async perform(action: PoolAction): Promise<ActionOutcome> {
    switch (action.kind) {
      case 'assign-ips':
      case 'assign-prefixes':
        return this.assign(action, action.eniId, action.count, action.kind === 'assign-prefixes');
      case 'create-eni':
        return this.createEni(action, action.count, action.unit === 'prefix');
      case 'unassign':
        return this.unassign(action, action.eniId, action.cidrs);
      case 'free-eni':
        return this.freeEni(action, action.eniId);
      case 'none':
        return { action, changed: false };
    }
  }

  /** tryAssignIPs / tryAssignPrefixes (§4.7): bulk, then 1 on failure; PrivateIpAddressLimitExceeded resyncs. */
  private async assign(action: PoolAction, eniId: string, count: number, prefixes: boolean): Promise<ActionOutcome> {
    const what = `${count} ${prefixes ? 'prefix(es)' : 'address(es)'} on ${eniId}`;
    const call = (n: number) => this.o.cloud.assignAddresses(eniId, { family: 'ipv4', unit: prefixes ? 'prefix' : 'address', count: n });
    let cidrs: string[];
    try {
      cidrs = await call(count);
    } catch (first) {
      if (cloudErrorCode(first) === 'PrivateIpAddressLimitExceeded') return this.resync(action, eniId);
      if (count <= 1) return this.failed(action, 'AssignPrivateIpAddresses', what, first, eniId);
      try {
        cidrs = await call(1);
      } catch (second) {
        if (cloudErrorCode(second) === 'PrivateIpAddressLimitExceeded') return this.resync(action, eniId);
        return this.failed(action, 'AssignPrivateIpAddresses', what, second, eniId);
      }
    }
    let changed = false;
    for (const c of cidrs) changed = this.o.datastore.addCidr(eniId, c) || changed;
    return { action, changed };
  }

  /** The datastore was out of sync with EC2: take the ENI's addresses from DescribeNetworkInterfaces (§7.3). */
  private async resync(action: PoolAction, eniId: string): Promise<ActionOutcome> {
    let eni: CloudEni | undefined;
    try {
      eni = (await this.o.cloud.describeEnis([eniId]))[0];
    } catch (err) {
      return this.failed(action, 'DescribeNetworkInterfaces', `resync of ${eniId}`, err, eniId);
    }
    let changed = false;
    if (eni) {
      for (const c of this.o.prefixDelegation ? eni.ipv4Prefixes : eni.secondaryIpv4s) changed = this.o.datastore.addCidr(eniId, c) || changed;
    }
    return { action, changed };
  }

  /**
   * AllocENI (§4.8, §7.1): Create (with its addresses in the same call) → Attach at the lowest free device index →
   * DeleteOnTermination. Any failure after the create deletes the new ENI again, so nothing leaks.
   */
  private async createEni(action: PoolAction, count: number, prefixes: boolean): Promise<ActionOutcome> {
    const { cloud, node, clock } = this.o;
    const what = `new ENI in ${node.subnetId} with ${count} ${prefixes ? 'prefix(es)' : 'address(es)'}`;
    let eni: CloudEni;
    try {
      eni = await cloud.createEni({
        subnetId: node.subnetId,
        description: `${ENI_DESCRIPTION_PREFIX}${node.instanceId}`,
        securityGroupIds: [...node.securityGroupIds].sort(),
        addresses: { family: 'ipv4', unit: prefixes ? 'prefix' : 'address', count },
        tags: eniTags(node, clock.now()),
      });
    } catch (err) {
      return this.failed(action, 'CreateNetworkInterface', what, err);
    }
    const eniId = eni.id;
    let deviceIndex: number;
    let attachmentId: string;
    try {
      deviceIndex = await this.freeDeviceIndex();
    } catch (err) {
      await this.deleteEni(eniId);
      return this.failed(action, 'DescribeInstances', `free device index for ${eniId}`, err);
    }
    try {
      attachmentId = await cloud.attachEni({ eniId, instanceId: node.instanceId, deviceIndex, networkCardIndex: node.networkCard });
    } catch (err) {
      await this.deleteEni(eniId);
      return this.failed(action, 'AttachNetworkInterface', `${eniId} at device ${deviceIndex}`, err);
    }
    try {
      await cloud.setDeleteOnTermination(eniId, attachmentId, true);
    } catch (err) {
      await this.detachAndDelete(eniId, attachmentId);
      return this.failed(action, 'ModifyNetworkInterfaceAttribute', `DeleteOnTermination on ${eniId}`, err);
    }
    const ds = this.o.datastore;
    ds.addEni({
      id: eniId, deviceNumber: deviceIndex, networkCard: node.networkCard, primary: false, trunk: false, efa: false, excluded: false,
      subnetId: eni.subnetId || node.subnetId, subnetCidr: node.subnetCidr, primaryIp: eni.primaryIpv4, createdAt: clock.now(),
    });
    for (const c of prefixes ? eni.ipv4Prefixes : eni.secondaryIpv4s) ds.addCidr(eniId, c);
    return { action, changed: true, createdEniId: eniId };
  }

  /** awsGetFreeDeviceNumber: the lowest device index on this card that no attachment uses. */
  private async freeDeviceIndex(): Promise<number> {
    const instance = await this.o.cloud.describeInstance(this.o.node.instanceId);
    const used = new Set(instance.enis.filter((n) => n.networkCardIndex === this.o.node.networkCard).map((n) => n.deviceIndex));
    for (let i = 0; i < MAX_DEVICE_INDEX; i++) if (!used.has(i)) return i;
    throw new PodnetError('ENI_LIMIT', `instance ${this.o.node.instanceId} uses all ${MAX_DEVICE_INDEX} device indexes on card ${this.o.node.networkCard}`,
      'free unused ENIs; podnet keeps device indexes below 100 as upstream does');
  }

  /**
   * decreaseDatastorePool's release (§4.9): CIDRs a pod took meanwhile are skipped; the rest leave the datastore
   * and go back to EC2, prefixes and addresses in separate calls.
   */
  private async unassign(action: PoolAction, eniId: string, cidrs: readonly string[]): Promise<ActionOutcome> {
    const removed: string[] = [];
    for (const c of cidrs) {
      try {
        this.o.datastore.removeCidr(eniId, c);
        removed.push(c);
      } catch (err) {
        if (!(err instanceof PodnetError && err.code === 'ADDRESS_IN_USE')) throw err;
      }
    }
    const prefixes = removed.filter((c) => !c.endsWith('/32'));
    const ips = removed.filter((c) => c.endsWith('/32')).map((c) => c.slice(0, -3));
    try {
      if (prefixes.length > 0) await this.o.cloud.unassignAddresses(eniId, { family: 'ipv4', unit: 'prefix', values: prefixes });
      if (ips.length > 0) await this.o.cloud.unassignAddresses(eniId, { family: 'ipv4', unit: 'address', values: ips });
    } catch (err) {
      // The datastore already let them go; reconcile re-adopts whatever EC2 still lists after its cooldown (§4.12).
      return { ...(await this.failed(action, 'UnassignPrivateIpAddresses', `${removed.length} CIDR(s) on ${eniId}`, err)), changed: removed.length > 0 };
    }
    return { action, changed: removed.length > 0 };
  }

  /** tryFreeENI (§4.10): out of the datastore first, then Detach → wait 2 s → Delete; NotFound means already gone. */
  private async freeEni(action: PoolAction, eniId: string): Promise<ActionOutcome> {
    try {
      this.o.datastore.removeEni(eniId);
    } catch (err) {
      if (err instanceof PodnetError) return { action, changed: false, error: err };
      throw err;
    }
    let attachmentId: string | undefined;
    try {
      attachmentId = (await this.o.cloud.describeEnis([eniId]))[0]?.attachment?.attachmentId;
    } catch (err) {
      if (isNotFound(err)) return { action, changed: true };
      return { ...(await this.failed(action, 'DescribeNetworkInterfaces', `attachment of ${eniId}`, err)), changed: true };
    }
    const error = await this.detachAndDelete(eniId, attachmentId);
    return error ? { action, changed: true, error } : { action, changed: true };
  }

  private async detachAndDelete(eniId: string, attachmentId: string | undefined): Promise<PodnetError | undefined> {
    if (attachmentId) {
      const err = await this.retrying(() => this.o.cloud.detachEni(attachmentId), 200);
      if (err && !isNotFound(err)) return ec2Error('DetachNetworkInterface', `${eniId} (${attachmentId})`, err);
      await this.o.clock.sleep(2_000); // upstream waits for the detach to settle before deleting
    }
    return this.deleteEni(eniId);
  }

  private async deleteEni(eniId: string): Promise<PodnetError | undefined> {
    const err = await this.retrying(() => this.o.cloud.deleteEni(eniId), 500);
    return err && !isNotFound(err) ? ec2Error('DeleteNetworkInterface', eniId, err) : undefined;
  }

  /** Upstream's per-call loop for detach/delete: ≤12 tries, base→60 s doubling, 15 % jitter; NotFound ends it. */
  private async retrying(call: () => Promise<unknown>, baseMs: number): Promise<unknown> {
    let last: unknown;
    for (let attempt = 0; attempt < 12; attempt++) {
      try {
        await call();
        return undefined;
      } catch (err) {
        if (isNotFound(err)) return err;
        last = err;
        await this.o.clock.sleep(Math.min(60_000, baseMs * 2 ** attempt) * (1 + 0.15 * this.o.clock.random()));
      }
    }
    return last;
  }

  /** Records an EC2 failure; for the insufficient-CIDR codes also how many addresses the subnet has left. */
  private async failed(action: PoolAction, api: CloudApi, what: string, err: unknown, eniId?: string): Promise<ActionOutcome> {
    const code = cloudErrorCode(err);
    const subnetId = (eniId && this.o.datastore.eniInfo(eniId)?.subnetId) || this.o.node.subnetId;
    let failure: LastEc2Failure = { code, atMs: this.o.clock.now(), subnetId };
    if (isInsufficientCidrCode(code)) {
      try {
        const subnet = (await this.o.cloud.describeSubnets([subnetId]))[0];
        failure = { ...failure, ...(subnet?.cidr ? { subnetCidr: subnet.cidr } : {}), ...(subnet ? { freeAddresses: subnet.availableIpv4s } : {}) };
      } catch {
        // the subnet numbers only enrich the message; the failure itself is what matters
      }
    }
    return { action, changed: false, failure, error: ec2Error(api, what, err) };
  }
}
