import { PodnetError } from '../lib/index.js';
import { branchVethPrefix, hostVethName, STRICT_VETH_PREFIX } from '../dataplane/index.js';
import { toCniError } from './errors.js';
import { type AttachmentRequest, type CniEnv, type CniRequest, parseCniRequest } from './request.js';
import { type PodAttachment, formatResult, recordedAttachment } from './result.js';
import { CniCode, supportedVersions } from './spec.js';

/** The IPAM key, as upstream: (network name, container id, interface name) (spec §6.2). */
export interface AttachmentKey {
  networkName: string;
  containerId: string;
  ifName: string;
}

/** Who the attachment is for: from CNI_ARGS and CNI_NETNS. */
export interface PodIdentity {
  podNamespace: string;
  podName: string;
  podUid: string;
  infraContainerId: string;
  netns: string;
}

/**
 * A pod's branch ENI (security groups for pods, spec §5.2): its address is the branch's primary address, reached
 * through the VLAN the branch is associated on (AddNetworkReply's PodVlanId, PodENIMAC, PodENISubnetGW).
 */
export interface BranchAllocation {
  eniId: string;
  /** The branch ENI's MAC (the annotation's ifAddress). */
  mac: string;
  /** The branch ENI's primary address = the pod's. */
  address: string;
  vlanId: number;
  subnetCidr: string;
  /** The branch subnet's gateway (network + 1). */
  gateway: string;
}

/** A branch pod's wiring: the branch and the mode of the conflist's podSGEnforcingMode. */
export interface BranchWiring extends BranchAllocation {
  mode: 'strict' | 'standard';
}

/** What DEL of a branch pod removes (spec §3.9 step 5): the VLAN's table and rules, the address's rules, the veths. */
export interface BranchTeardown {
  vlanId: number;
  address: string;
  /** The pod's host veth under either mode's prefix: DEL covers both, as upstream does for migrations. */
  hostVeths: string[];
  /**
   * Taken from prevResult (no branch record: ipamd unreachable, ENABLE_POD_ENI turned off, branch-pods.json moved
   * away), so unchecked: `vlan.eth.<id>` goes only if it is a VLAN link podnet made, and not while another container's
   * record holds that VLAN or address.
   */
  fromPrevResult?: boolean;
}

/** What ipamd hands out for one attachment (spec §6.2 AddNetworkReply). */
export interface Allocation {
  /** The pod address without prefix length: `10.0.97.30` or `2001:db8::5`. */
  address: string;
  eniId: string;
  deviceNumber: number;
  /** 254 (main) for the primary ENI, device number + 1 for secondary ENIs (spec §3.2). */
  routeTable: number;
  /** VPC CIDRs plus excluded CIDRs unless external SNAT is on (spec §6.2). */
  vpcCidrs: string[];
  useExternalSnat: boolean;
  /** The key held this address before this call (a repeated ADD): a failed ADD must then leave it held. */
  heldBefore?: boolean;
  /** A branch ENI pod's branch (no pool address is used; deviceNumber -1 and routeTable 0, as upstream replies). */
  branch?: BranchAllocation;
  /**
   * From allocate, when the backend makes the assignment durable in the background (ipamd's checkpoint): ADD answers
   * only once it resolves, but wiring need not wait for it. A rejection means the assignment was undone.
   */
  saved?: Promise<void>;
}

/** One attachment ipamd holds, as GC sees it. */
export interface HeldAttachment {
  key: AttachmentKey;
  pod: PodIdentity;
  allocation: Allocation;
}

/** The pod's links, routes and rules, as the dataplane sets them up (spec §3.3–3.4). */
export interface PodWiring {
  containerId: string;
  netns: string;
  ifName: string;
  hostVethName: string;
  /** What hostVethName is hashed from (spec §3.5), so the dataplane names the veth without asking ipamd again. */
  vethOwner: VethOwner;
  address: string;
  routeTable: number;
  deviceNumber: number;
  mtu: number;
  /** The address was the attachment's before this ADD: undoing a failed wiring leaves its rules to the earlier ADD. */
  addressHeldBefore: boolean;
  /** A branch ENI pod: wired through its VLAN (spec §3.9) instead of the pool pod's §3.3–3.4. */
  branch?: BranchWiring;
}

/**
 * What teardown may act on. podnet touches only the host veth whose name it computes for the pod, and only once it can
 * tie that veth to this container (its peer is in `netns`, or its /32 route is the container's address); addresses
 * only when ipamd's records give them to this container, or, without ipamd, when the tied veth routes them.
 */
export interface PodTeardown {
  /** CNI_NETNS when it is a pod's network namespace, else ''. */
  netns: string;
  ifName: string;
  /** The host veth name computed for the pod (spec §3.5), never a name from the call. */
  hostVethName: string;
  /** ipamd's record for the container when ipamd answered: its address and table, or null when it holds none. Undefined without ipamd. */
  held?: { address: string; routeTable: number } | null;
  /** Without ipamd: the address prevResult reports, unchecked. It can only tie the veth whose /32 route it is. */
  claimedAddress?: string;
  /** A branch ENI pod: from ipamd's branch record, or without ipamd from prevResult's dummy record (VLAN id ≠ 0, §6.3). */
  branch?: BranchTeardown;
}

export interface BackendStatus {
  ready: boolean;
  /** Why not, when not ready: what STATUS reports. */
  reason?: string;
  /** When ready: what ipamd serves without (e.g. the API server), for GET /ready's body; still ready. */
  degraded?: string;
}

/**
 * What the CNI handler needs from ipamd and the dataplane. ipamd implements it with its datastore and
 * src/dataplane; the fallback plugin implements it with the dataplane alone (every ipamd call fails with
 * IPAMD_UNREACHABLE). Failures are PodnetErrors; their codes become CNI codes through one table (errors.ts).
 */
export interface CniBackend {
  /** Assigns an address to the key (the same one again if the key already holds one). */
  allocate(key: AttachmentKey, pod: PodIdentity): Promise<Allocation>;
  /** The allocation the key holds, or null when ipamd does not know it. */
  lookup(key: AttachmentKey): Promise<Allocation | null>;
  /** Frees the key's address; null when the key held none (DEL is idempotent). */
  release(key: AttachmentKey): Promise<Allocation | null>;
  /** Every attachment held for one network, for GC. */
  attachments(networkName: string): Promise<HeldAttachment[]>;
  wire(pod: PodWiring): Promise<void>;
  /** Removes what exists of the pod's wiring and is tied to it (see PodTeardown); missing pieces are not an error. */
  unwire(pod: PodTeardown): Promise<void>;
  /** What is missing or wrong in the pod's wiring, in words; empty when all is in place. */
  checkWiring(pod: PodWiring): Promise<string[]>;
  status(): Promise<BackendStatus>;
  /**
   * Throws when netns cannot be a pod's network namespace: missing (NETNS_NOT_FOUND), the node's own or not a network
   * namespace (INVALID_INPUT, code 4). ipamd's Linux dataplane and the fallback use src/dataplane's checkPodNetns.
   */
  checkNetns(netns: string): void;
}

/** A CNI invocation as the launcher forwards it: the CNI_* variables and stdin. */
export interface CniCall {
  env: CniEnv;
  stdin: string;
}

/** What the plugin process prints and exits with. */
export interface CniAnswer {
  exitCode: 0 | 1;
  stdout: string;
}

export type CniHandler = (call: CniCall) => Promise<CniAnswer>;

export interface CniHandlerOptions {
  /** Where the handler notes what it did not report to the runtime (failed rollbacks, DEL fallbacks). */
  log?: (line: string) => void;
}

/**
 * The CNI handler ipamd hosts on its socket (and the fallback plugin runs in-process): validates the call,
 * then ADD = allocate + wire, rolled back completely when wiring fails; DEL = unwire + release, idempotent and
 * working without netns, prevResult or ipamd (spec §6.3); CHECK = the wiring matches ipamd and prevResult;
 * VERSION, STATUS and GC.
 */
export function createCniHandler(backend: CniBackend, options: CniHandlerOptions = {}): CniHandler {
  const log = options.log ?? (() => {});
  return async (call) => {
    const parsed = parseCniRequest(call.env, call.stdin);
    if (!parsed.ok) return fail(parsed.error);
    const request = parsed.request;
    const version = request.command === 'VERSION' ? request.cniVersion : request.config.cniVersion;
    try {
      return await dispatch(backend, request, log);
    } catch (err) {
      return fail(toCniError(err, version));
    }
  };
}

function ok(stdout = ''): CniAnswer {
  return { exitCode: 0, stdout };
}

function fail(error: object): CniAnswer {
  return { exitCode: 1, stdout: JSON.stringify(error) };
}

async function dispatch(backend: CniBackend, request: CniRequest, log: (line: string) => void): Promise<CniAnswer> {
  switch (request.command) {
    case 'VERSION':
      return ok(JSON.stringify({ cniVersion: request.cniVersion, supportedVersions }));
    case 'ADD':
      return ok(JSON.stringify(formatResult(await add(backend, request, log), request.config.cniVersion)));
    case 'DEL':
      await del(backend, request, log);
      return ok();
    case 'CHECK':
      await check(backend, request);
      return ok();
    case 'STATUS': {
      const status = await backend.status();
      if (status.ready) return ok();
      return fail({ cniVersion: request.config.cniVersion, code: CniCode.notAvailable, msg: `podnet cannot add pods right now: ${status.reason ?? 'ipamd is not ready'}`, details: 'wait for ipamd to finish starting; `podnet ipamd` logs say what it waits for' });
    }
    case 'GC':
      await gc(backend, request.config.name, request.validAttachments, request.config.vethPrefix, log);
      return ok();
  }
}

function keyOf(r: AttachmentRequest): AttachmentKey {
  return { networkName: r.config.name, containerId: r.containerId, ifName: r.ifName };
}

/** The prefix and names a host veth name is hashed from (spec §3.5). */
export interface VethOwner {
  vethPrefix: string;
  podNamespace: string;
  podName: string;
}

/**
 * Whose names the host veth is hashed from: the pod's namespace and name. Without K8S_POD_NAME (`ctr run --cni`)
 * podnet hashes the container id instead, where upstream would hash "." and give every such container the same name.
 */
function vethOwnerOf(vethPrefix: string, podNamespace: string, podName: string, containerId: string): VethOwner {
  return podName ? { vethPrefix, podNamespace, podName } : { vethPrefix, podNamespace: '', podName: containerId };
}

function vethNameOf(o: VethOwner): string {
  return hostVethName(o.vethPrefix, o.podNamespace, o.podName);
}

function vethNameFor(prefix: string, podNamespace: string, podName: string, containerId: string): string {
  return vethNameOf(vethOwnerOf(prefix, podNamespace, podName, containerId));
}

async function add(backend: CniBackend, r: AttachmentRequest, log: (line: string) => void): Promise<PodAttachment> {
  const key = keyOf(r);
  const pod: PodIdentity = {
    podNamespace: r.podNamespace,
    podName: r.podName,
    podUid: r.args.K8S_POD_UID ?? '',
    infraContainerId: r.args.K8S_POD_INFRA_CONTAINER_ID ?? '',
    netns: r.netns,
  };
  // before anything is assigned or wired: the node's own namespace, or something that is not a network namespace (4).
  // A missing one is left to the wiring (110), or, without ipamd, waits behind the 11 every ADD gets.
  try {
    backend.checkNetns(r.netns);
  } catch (err) {
    if (!(err instanceof PodnetError && err.code === 'NETNS_NOT_FOUND')) throw err;
  }
  const allocation = await backend.allocate(key, pod);
  const branch = allocation.branch && { ...allocation.branch, mode: r.config.podSGEnforcingMode };
  // a strict branch pod's host veth has prefix vlan, a standard one the configured prefix (spec §3.5, §3.9 step 1)
  const vethOwner = vethOwnerOf(branch ? branchVethPrefix(branch.mode, r.config.vethPrefix) : r.config.vethPrefix, r.podNamespace, r.podName, r.containerId);
  const wiring: PodWiring = {
    containerId: r.containerId,
    netns: r.netns,
    ifName: r.ifName,
    hostVethName: vethNameOf(vethOwner),
    vethOwner,
    address: allocation.address,
    routeTable: allocation.routeTable,
    deviceNumber: allocation.deviceNumber,
    mtu: r.config.mtu,
    addressHeldBefore: allocation.heldBefore ?? false,
    ...(branch && { branch }),
  };
  const [wired, saved] = await Promise.allSettled([backend.wire(wiring), allocation.saved]);
  if (wired.status === 'rejected' || saved.status === 'rejected') {
    // no half-wired pod, and nothing an earlier ADD built is undone (upstream: DelNetwork "SetupNSFailed", §6.1 step 4):
    // a failed wire removed what it made itself; a wiring whose assignment could not be saved goes
    if (wired.status === 'fulfilled') {
      const teardown: PodTeardown = {
        netns: r.netns,
        ifName: r.ifName,
        hostVethName: wiring.hostVethName,
        held: { address: allocation.address, routeTable: allocation.routeTable },
        ...(branch && { branch: { vlanId: branch.vlanId, address: branch.address, hostVeths: [wiring.hostVethName] } }),
      };
      await backend.unwire(teardown).catch((e: unknown) => log(`ADD rollback: unwire ${wiring.hostVethName} failed: ${(e as Error).message}`));
    }
    if (!allocation.heldBefore) await backend.release(key).catch((e: unknown) => log(`ADD rollback: release ${allocation.address} failed: ${(e as Error).message}`));
    throw wired.status === 'rejected' ? wired.reason : (saved as PromiseRejectedResult).reason;
  }
  return {
    hostVethName: wiring.hostVethName,
    ifName: r.ifName,
    netns: r.netns,
    address: `${allocation.address}/${allocation.address.includes(':') ? 128 : 32}`,
    routeTable: allocation.routeTable,
    deviceNumber: allocation.deviceNumber,
    // the dummy record's mac carries the VLAN id, so DEL can tear a branch pod down without ipamd (spec §6.1, §6.3)
    vlanId: branch?.vlanId ?? 0,
    ...(branch && { gateway: branch.gateway }),
    dummyName: vethNameFor('dummy', r.podNamespace, r.podName, r.containerId),
  };
}

/** Both host veth names a branch pod can have (strict's `vlan…`, standard's configured prefix): DEL removes either. */
function branchVeths(vethPrefix: string, podNamespace: string, podName: string, containerId: string): string[] {
  return [...new Set([vethNameFor(STRICT_VETH_PREFIX, podNamespace, podName, containerId), vethNameFor(vethPrefix, podNamespace, podName, containerId)])];
}

/**
 * DEL: tear the wiring down first, then release, so an address is never handed to a new pod while the old pod's
 * rules still point at it. The host veth is the one whose name podnet computes for the pod, and it goes only when it
 * is tied to this container; the addresses are ipamd's records for the container, or, with ipamd unreachable, those
 * the tied veth routes. prevResult names nothing: its address can only tie the veth. A not-ready ipamd answers before
 * anything is touched (11). An unknown container and an unreachable ipamd are success (spec §6.3).
 */
async function del(backend: CniBackend, r: AttachmentRequest, log: (line: string) => void): Promise<void> {
  const key = keyOf(r);
  let held: Allocation | null | undefined;
  try {
    held = await backend.lookup(key);
  } catch (err) {
    if (!isUnreachable(err)) throw err;
    log(`DEL ${r.containerId}: ${(err as Error).message}; tearing down the pod's own veth, tied by ${r.prevResult ? 'its peer or the prevResult address' : 'its peer'}`);
  }
  const claimed = held === undefined && r.prevResult ? recordedAttachment(r.prevResult, r.ifName).address : undefined;
  const branch = branchToTearDown(held, r);
  await backend.unwire({
    netns: podNetnsOrNone(backend, r.netns),
    ifName: r.ifName,
    hostVethName: vethNameFor(r.config.vethPrefix, r.podNamespace, r.podName, r.containerId),
    ...(held !== undefined && { held: held && { address: held.address, routeTable: held.routeTable } }),
    ...(claimed !== undefined && { claimedAddress: claimed }),
    ...(branch && { branch }),
  });
  try {
    await backend.release(key);
  } catch (err) {
    if (!isUnreachable(err)) throw err;
    log(`DEL ${r.containerId}: its address stays assigned in ipamd until ipamd restarts and finds the pod's veth gone: ${(err as Error).message}`);
  }
}

/**
 * A branch pod's teardown: from ipamd's record when it has one (it keeps them, so a pod whose annotation or Pod is gone
 * is still torn down); otherwise — ipamd unreachable, or answering without any record for the container (ENABLE_POD_ENI
 * turned off, branch-pods.json moved away) — from prevResult's dummy record whose mac is a VLAN id ≠ 0 and its address,
 * as upstream's plugin does whenever that mac is not "0" (spec §6.3 step 1). A pool address ipamd holds for the
 * container wins over prevResult.
 */
function branchToTearDown(held: Allocation | null | undefined, r: AttachmentRequest): BranchTeardown | undefined {
  const veths = () => branchVeths(r.config.vethPrefix, r.podNamespace, r.podName, r.containerId);
  if (held?.branch) return { vlanId: held.branch.vlanId, address: held.branch.address, hostVeths: veths() };
  if (held || !r.prevResult) return undefined;
  const recorded = recordedAttachment(r.prevResult, r.ifName);
  const address = recorded.address?.replace(/\/\d+$/, '');
  if (!recorded.vlanId || recorded.vlanId > 4094 || address === undefined) return undefined;
  return { vlanId: recorded.vlanId, address, hostVeths: veths(), fromPrevResult: true };
}

/** CNI_NETNS when it can be a pod's namespace; '' when absent or not (DEL goes on: it just cannot tie a veth through it). */
function podNetnsOrNone(backend: CniBackend, netns: string): string {
  if (!netns) return '';
  try {
    backend.checkNetns(netns);
    return netns;
  } catch {
    return '';
  }
}

function isUnreachable(err: unknown): boolean {
  return err instanceof PodnetError && err.code === 'IPAMD_UNREACHABLE';
}

/** CHECK: ipamd still holds the address prevResult reports, and the pod's links, routes and rules are in place. */
async function check(backend: CniBackend, r: AttachmentRequest): Promise<void> {
  const held = await backend.lookup(keyOf(r));
  if (!held) {
    throw new PodnetError('UNKNOWN_CONTAINER', `ipamd holds no address for container ${r.containerId} interface ${r.ifName} on network ${r.config.name}`, 'the pod lost its address (ipamd state reset?); delete the pod so it is recreated');
  }
  const recordedAddress = recordedAttachment(r.prevResult ?? { interfaces: [], ips: [] }, r.ifName).address?.replace(/\/\d+$/, '');
  if (recordedAddress !== undefined && recordedAddress !== held.address) {
    throw new PodnetError('POD_WIRING_MISMATCH', `prevResult says ${recordedAddress} but ipamd holds ${held.address} for container ${r.containerId}`, 'delete the pod so it is recreated with one address');
  }
  const vethOwner = vethOwnerOf(held.branch ? branchVethPrefix(r.config.podSGEnforcingMode, r.config.vethPrefix) : r.config.vethPrefix, r.podNamespace, r.podName, r.containerId);
  const problems = await backend.checkWiring({
    containerId: r.containerId,
    netns: r.netns,
    ifName: r.ifName,
    hostVethName: vethNameOf(vethOwner),
    vethOwner,
    address: held.address,
    routeTable: held.routeTable,
    deviceNumber: held.deviceNumber,
    mtu: r.config.mtu,
    addressHeldBefore: true,
    ...(held.branch && { branch: { ...held.branch, mode: r.config.podSGEnforcingMode } }),
  });
  if (problems.length > 0) {
    throw new PodnetError('POD_WIRING_MISMATCH', `pod ${r.containerId} wiring: ${problems.join('; ')}`, 'delete the pod so it is wired again, and look for another tool removing routes, rules or links on the node');
  }
}

/** GC (CNI 1.1.0): unwire and release every attachment of this network the runtime no longer lists. */
async function gc(
  backend: CniBackend,
  networkName: string,
  valid: readonly { containerId: string; ifName: string }[],
  vethPrefix: string,
  log: (line: string) => void,
): Promise<void> {
  const keep = new Set(valid.map((v) => `${v.containerId}\u0000${v.ifName}`));
  const stale = (await backend.attachments(networkName)).filter((a) => !keep.has(`${a.key.containerId}\u0000${a.key.ifName}`));
  const failures: string[] = [];
  for (const a of stale) {
    try {
      await backend.unwire({
        netns: '',
        ifName: a.key.ifName,
        hostVethName: vethNameFor(vethPrefix, a.pod.podNamespace, a.pod.podName, a.key.containerId),
        held: { address: a.allocation.address, routeTable: a.allocation.routeTable },
        ...(a.allocation.branch && { branch: { vlanId: a.allocation.branch.vlanId, address: a.allocation.branch.address, hostVeths: branchVeths(vethPrefix, a.pod.podNamespace, a.pod.podName, a.key.containerId) } }),
      });
      await backend.release(a.key);
      log(`GC released ${a.allocation.address} of stale container ${a.key.containerId}`);
    } catch (err) {
      failures.push(`${a.key.containerId}: ${(err as Error).message}`);
    }
  }
  if (failures.length > 0) {
    throw new PodnetError('FAILED', `GC could not clean ${failures.length} of ${stale.length} stale attachments: ${failures.join('; ')}`, 'the next GC retries them');
  }
}
