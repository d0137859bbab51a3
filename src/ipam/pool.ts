/**
 * The warm-pool decisions of upstream's ipamd (§4.4–4.10, §4.15), as pure functions of (snapshot, config, limits,
 * timestamps, now). No I/O, no clock: the executor performs the actions, the manager feeds the results back in.
 */
import { PodnetError } from '../lib/index.js';
import { IPS_PER_PREFIX, enisOnDefaultCard, maxIpsPerEni, maxPrefixesPerEni, trunkingCompatible, type InstanceLimits } from '../limits/index.js';
import type { PodnetConfig } from '../config/index.js';
import { findDeletableEni, freeableCidrs, ipStats, isActiveCidr, type EniSnapshot, type IpStats, type PoolSnapshot } from './datastore.js';

/** Pool timers in ms. Upstream's values are the defaults; PODNET_* settings shorten them for tests and the lab. */
export interface PoolTimers {
  /** Pool loop period (upstream 5 s). */
  readonly poolIntervalMs: number;
  /** Minimum time between two decreases (upstream 30 s). */
  readonly decreaseIntervalMs: number;
  /** IMDS/EC2 reconcile period (upstream 60 s). */
  readonly reconcileIntervalMs: number;
  /** An ENI younger than this is never freed (upstream 1 min). */
  readonly eniMinAgeMs: number;
  /** No increase at all for this long after InsufficientCidrBlocks / InsufficientFreeAddressesInSubnet (120 s). */
  readonly insufficientCidrBackoffMs: number;
}

/** The settings the pool manager reads (a narrow view of src/config's PodnetConfig). */
export interface PoolConfig {
  readonly warmEniTarget: number;
  readonly warmIpTarget: number;
  readonly minimumIpTarget: number;
  readonly warmPrefixTarget: number;
  /** MAX_ENI: -1 (unused) or a cap below the instance limit (§4.2). */
  readonly maxEni: number;
  readonly prefixDelegation: boolean;
  /** Custom networking: the primary ENI gets no pod addresses (§5.1). */
  readonly customNetworking: boolean;
  /** ENABLE_POD_ENI: one ENI slot stays reserved for the trunk until it exists (§4.8). */
  readonly podEni: boolean;
  /** IP_COOLDOWN_PERIOD in ms. */
  readonly ipCooldownMs: number;
  readonly timers: PoolTimers;
}

/** Upstream's timer values (§4.1). */
export const upstreamTimers: PoolTimers = {
  poolIntervalMs: 5_000,
  decreaseIntervalMs: 30_000,
  reconcileIntervalMs: 60_000,
  eniMinAgeMs: 60_000,
  insufficientCidrBackoffMs: 120_000,
};

/** The pool settings out of a loaded podnet config. */
export function poolConfigFrom(c: PodnetConfig): PoolConfig {
  return {
    warmEniTarget: c.warmEniTarget,
    warmIpTarget: c.warmIpTarget,
    minimumIpTarget: c.minimumIpTarget,
    warmPrefixTarget: c.warmPrefixTarget,
    maxEni: c.maxEni,
    prefixDelegation: c.enablePrefixDelegation,
    customNetworking: c.customNetworkCfg,
    podEni: c.enablePodEni,
    ipCooldownMs: c.ipCooldownPeriodSeconds * 1000,
    timers: {
      poolIntervalMs: c.poolIntervalMs,
      decreaseIntervalMs: c.decreaseIntervalMs,
      reconcileIntervalMs: c.reconcileIntervalMs,
      eniMinAgeMs: c.eniMinAgeMs,
      insufficientCidrBackoffMs: c.insufficientCidrBackoffMs,
    },
  };
}

/** The node's limits as the pool sees them (§4.2). */
export interface PoolLimits {
  /** ENIs allowed on the default card after MAX_ENI. */
  readonly maxEni: number;
  /** Pod addresses per ENI: IPv4Limit − 1, ×16 with PD. */
  readonly maxIpsPerEni: number;
  /** Prefixes per ENI with PD (IPv4Limit − 1), else 0. */
  readonly maxPrefixesPerEni: number;
  /** IPv4 addresses per ENI including the primary; AllocIPAddresses caps one request at IPv4Limit − 1. */
  readonly ipv4Limit: number;
  /** The kubelet's max pods: the pool never grows once it holds this many addresses (§4.6, §4.16). */
  readonly maxPods: number;
  /** Whether the instance type can have an SGP trunk ENI. */
  readonly trunkingCompatible: boolean;
  /** ENIs on the card the datastore does not manage (no_manage, EFA-only, §7.6). */
  readonly unmanagedEnis: number;
}

/** Derives PoolLimits from an instance type's limits (§4.2). */
export function poolLimitsFrom(
  limits: InstanceLimits,
  config: Pick<PoolConfig, 'maxEni' | 'prefixDelegation'>,
  node: { maxPods: number; unmanagedEnis?: number },
): PoolLimits {
  const eniLimit = enisOnDefaultCard(limits);
  return {
    maxEni: config.maxEni >= 1 && config.maxEni < eniLimit ? config.maxEni : eniLimit,
    maxIpsPerEni: maxIpsPerEni(limits, config.prefixDelegation),
    maxPrefixesPerEni: maxPrefixesPerEni(limits, config.prefixDelegation),
    ipv4Limit: limits.IPv4Limit,
    maxPods: node.maxPods,
    // From the VPC resource controller's table; upstream ipamd counts a type it does not list as compatible (§8).
    trunkingCompatible: trunkingCompatible(limits.instanceType),
    unmanagedEnis: node.unmanagedEnis ?? 0,
  };
}

/**
 * Whether ipamd advertises SecurityGroupsForPods on its CNINode (spec §5.2): it has a trunk already, or its type can
 * trunk and an ENI slot is free for one (ENIs on card 0 < maxENI − unmanaged). The controller attaches a trunk only
 * to a node that advertises it.
 */
export function hasTrunkRoom(limits: Pick<PoolLimits, 'maxEni' | 'unmanagedEnis' | 'trunkingCompatible'>, node: { enis: number; hasTrunk: boolean }): boolean {
  return node.hasTrunk || (limits.trunkingCompatible && node.enis < limits.maxEni - limits.unmanagedEnis);
}

/** Pool-manager memory between iterations (ms since the epoch; -Infinity for never). */
export interface PoolTimestamps {
  /** lastDecreaseIPPool. */
  readonly lastDecreaseAt: number;
  /** lastInsufficientCidrError. */
  readonly lastInsufficientCidrAt: number;
}

export const initialTimestamps: PoolTimestamps = { lastDecreaseAt: -Infinity, lastInsufficientCidrAt: -Infinity };

/** What the pool manager wants done. `create-eni` counts secondary IPs, or /28 prefixes with PD. */
export type PoolAction =
  | { readonly kind: 'assign-ips'; readonly eniId: string; readonly count: number }
  | { readonly kind: 'assign-prefixes'; readonly eniId: string; readonly count: number }
  | { readonly kind: 'create-eni'; readonly unit: 'ip' | 'prefix'; readonly count: number }
  | { readonly kind: 'unassign'; readonly eniId: string; readonly cidrs: readonly string[] }
  | { readonly kind: 'free-eni'; readonly eniId: string }
  /** Nothing to do; `retryAt` when a timer (throttle, backoff, ENI age, cooldown) holds back an action. */
  | { readonly kind: 'none'; readonly reason: string; readonly retryAt?: number };

/** Warm-IP mode is on when WARM_IP_TARGET or MINIMUM_IP_TARGET is above 0 (§4.5). */
function warmIpTargetsDefined(c: PoolConfig): boolean {
  return c.warmIpTarget > 0 || c.minimumIpTarget > 0;
}

/** datastoreTargetState (§4.5): addresses short of / over the warm-IP targets; prefixes in PD mode. */
export function targetState(stats: IpStats, c: PoolConfig): { short: number; over: number; enabled: boolean } {
  const w = c.warmIpTarget;
  const m = c.minimumIpTarget;
  if (w === 0 && m === 0) return { short: 0, over: 0, enabled: false };
  const avail = stats.totalIps - stats.assignedIps;
  let short = Math.max(w - avail, 0);
  short = Math.max(short, m - stats.totalIps);
  let over = Math.max(avail - w, 0);
  over = Math.max(Math.min(over, stats.totalIps - m), 0);
  if (c.prefixDelegation) {
    const shortPrefixes = Math.ceil(short / IPS_PER_PREFIX);
    const neededForWarm = Math.ceil((stats.assignedIps + w) / IPS_PER_PREFIX);
    const neededForMinimum = Math.ceil(m / IPS_PER_PREFIX);
    let overPrefixes = Math.max(Math.min(stats.freePrefixes, stats.totalPrefixes - neededForWarm), 0);
    overPrefixes = Math.max(Math.min(overPrefixes, stats.totalPrefixes - neededForMinimum), 0);
    return { short: shortPrefixes, over: overPrefixes, enabled: true };
  }
  return { short, over, enabled: true };
}

/** isDatastorePoolTooLow (§4.6). */
export function isPoolTooLow(stats: IpStats, c: PoolConfig, l: PoolLimits): boolean {
  if (stats.totalIps >= l.maxPods) return false;
  const t = targetState(stats, c);
  if (t.enabled) return t.short > 0;
  const warm = c.prefixDelegation ? c.warmPrefixTarget : c.warmEniTarget;
  const unit = c.prefixDelegation ? IPS_PER_PREFIX : l.maxIpsPerEni;
  const avail = stats.totalIps - stats.assignedIps;
  return avail < unit * warm || (warm === 0 && avail === 0);
}

/** How many CIDRs (IPs, or prefixes in PD) the pool is over its target (§4.9); 0 when not too high. */
function poolExcess(stats: IpStats, c: PoolConfig): number {
  if (warmIpTargetsDefined(c)) return targetState(stats, c).over;
  if (c.prefixDelegation) return Math.max(stats.freePrefixes - c.warmPrefixTarget, 0);
  return 0; // WARM_ENI_TARGET mode never releases single addresses
}

/** getPrefixesNeeded (§4.7). */
function prefixesNeeded(stats: IpStats, c: PoolConfig): number {
  if (warmIpTargetsDefined(c)) return Math.max(1, targetState(stats, c).short);
  return Math.max(1, c.warmPrefixTarget - stats.freePrefixes);
}

/** GetAllocatableENIs (§4.7): ENIs that may take more CIDRs, in creation order. */
function allocatableEnis(s: PoolSnapshot, maxCidrs: number, skipPrimary: boolean): EniSnapshot[] {
  return s.enis.filter((e) => !(skipPrimary && e.primary) && !e.trunk && !e.excluded && e.cidrs.length < maxCidrs);
}

/** hasRoomForEni (§4.8): MAX_ENI, unmanaged ENIs and the SGP trunk reserve. */
function hasRoomForEni(s: PoolSnapshot, c: PoolConfig, l: PoolLimits): boolean {
  const excluded = s.enis.filter((e) => e.excluded).length;
  const trunkReserve = l.trunkingCompatible && c.podEni && !s.enis.some((e) => e.trunk) ? 1 : 0;
  return s.enis.length - excluded < l.maxEni - l.unmanagedEnis - trunkReserve - excluded;
}

/** shouldRemoveExtraENIs (§4.10), from the stats taken at the start of the iteration. */
function shouldRemoveExtraEnis(statsAtStart: IpStats, s: PoolSnapshot, c: PoolConfig, l: PoolLimits): boolean {
  if (warmIpTargetsDefined(c)) return true;
  const warm = c.prefixDelegation ? c.warmPrefixTarget : c.warmEniTarget;
  const avail = statsAtStart.totalIps - statsAtStart.assignedIps;
  if (avail >= (warm + 1) * l.maxIpsPerEni) return true;
  // CheckFreeableENIexists: any non-primary ENI without pods that is neither trunk nor EFA.
  return c.prefixDelegation && s.enis.some((e) => !e.primary && !e.trunk && !e.efa && e.cidrs.every((x) => x.assigned === 0));
}

/**
 * One pool iteration's grow-or-shrink step (updateIPPoolIfRequired, §4.4): too low → add addresses to the first
 * ENI with room (at most one ENI per round) or create an ENI; else too high → release free CIDRs, throttled.
 * Whole-ENI freeing is the separate second step, `decideFreeEni`, taken after this one's action has been performed.
 */
export function decidePool(s: PoolSnapshot, c: PoolConfig, l: PoolLimits, t: PoolTimestamps, nowMs: number): PoolAction[] {
  const stats = ipStats(s);
  if (isPoolTooLow(stats, c, l)) return [decideIncrease(s, stats, c, l, t, nowMs)];
  const over = poolExcess(stats, c);
  if (over <= 0) return [{ kind: 'none', reason: poolSummary(stats, c) }];
  const nextDecreaseAt = t.lastDecreaseAt + c.timers.decreaseIntervalMs;
  if (nowMs <= nextDecreaseAt) {
    return [{ kind: 'none', reason: `pool is ${over} ${unitName(c)} over target; next decrease after the ${c.timers.decreaseIntervalMs / 1000} s throttle`, retryAt: nextDecreaseAt + 1 }];
  }
  return decideDecrease(s, over, c);
}

function unitName(c: PoolConfig): string {
  return c.prefixDelegation ? 'prefix(es)' : 'address(es)';
}

function poolSummary(stats: IpStats, c: PoolConfig): string {
  const free = stats.totalIps - stats.assignedIps;
  return `pool at target: ${free} of ${stats.totalIps} addresses free${c.prefixDelegation ? `, ${stats.freePrefixes} free prefix(es)` : ''}`;
}

function decideIncrease(s: PoolSnapshot, stats: IpStats, c: PoolConfig, l: PoolLimits, t: PoolTimestamps, nowMs: number): PoolAction {
  const backoffEnd = t.lastInsufficientCidrAt + c.timers.insufficientCidrBackoffMs;
  if (nowMs - t.lastInsufficientCidrAt <= c.timers.insufficientCidrBackoffMs) {
    return { kind: 'none', reason: `pool is low, but the subnet ran out of addresses; no increase for ${c.timers.insufficientCidrBackoffMs / 1000} s (§4.15)`, retryAt: backoffEnd + 1 };
  }
  const target = targetState(stats, c);
  const perRequest = l.ipv4Limit - 1; // AllocIPAddresses caps one request at IPv4Limit − 1
  if (c.prefixDelegation) {
    const wanted = prefixesNeeded(stats, c);
    const eni = allocatableEnis(s, l.maxPrefixesPerEni, c.customNetworking)[0];
    if (eni) return { kind: 'assign-prefixes', eniId: eni.id, count: Math.min(l.maxPrefixesPerEni - eni.cidrs.length, wanted, perRequest) };
    return newEni(s, c, l, Math.min(wanted, l.maxPrefixesPerEni));
  }
  const wanted = target.enabled ? target.short : l.maxIpsPerEni;
  const eni = allocatableEnis(s, l.maxIpsPerEni, c.customNetworking)[0];
  if (eni) return { kind: 'assign-ips', eniId: eni.id, count: Math.min(l.maxIpsPerEni - eni.cidrs.length, wanted, perRequest) };
  return newEni(s, c, l, target.enabled ? Math.min(target.short, l.maxIpsPerEni) : l.maxIpsPerEni);
}

function newEni(s: PoolSnapshot, c: PoolConfig, l: PoolLimits, count: number): PoolAction {
  if (!hasRoomForEni(s, c, l)) {
    return { kind: 'none', reason: `pool is low, but every ENI is full and ${s.enis.length} of ${l.maxEni} ENIs are attached` };
  }
  if (count <= 0) return { kind: 'none', reason: 'pool is low, but a new ENI would get no addresses' };
  return { kind: 'create-eni', unit: c.prefixDelegation ? 'prefix' : 'ip', count: Math.min(count, l.ipv4Limit - 1) };
}

/**
 * decreaseDatastorePool (§4.9): release free CIDRs until `over` are gone. Upstream walks ENIs in Go map order; podnet
 * releases from the newest ENI and its newest CIDRs first, so pods (which fill the oldest first) keep their ENIs and
 * the newest ENI empties out.
 */
function decideDecrease(s: PoolSnapshot, over: number, c: PoolConfig): PoolAction[] {
  const actions: PoolAction[] = [];
  let left = over;
  for (const eni of [...s.enis].reverse()) {
    const take = freeableCidrs(eni, c.prefixDelegation).reverse().slice(0, left);
    if (take.length === 0) continue;
    actions.push({ kind: 'unassign', eniId: eni.id, cidrs: take });
    left -= take.length;
    if (left <= 0) break;
  }
  return actions.length > 0 ? actions : [{ kind: 'none', reason: `pool is ${over} ${unitName(c)} over target, but every CIDR holds a pod` }];
}

/**
 * The iteration's second step (§4.4, §4.10): when shouldRemoveExtraENIs holds for the stats taken at the start of
 * the iteration, free the first deletable ENI (one per iteration), judged on the datastore as it is now.
 */
export function decideFreeEni(statsAtStart: IpStats, s: PoolSnapshot, c: PoolConfig, l: PoolLimits, nowMs: number): PoolAction {
  if (!shouldRemoveExtraEnis(statsAtStart, s, c, l)) return { kind: 'none', reason: 'no extra ENI to remove' };
  const found = findDeletableEni(s, c, c.timers.eniMinAgeMs, nowMs);
  if (found.eniId) return { kind: 'free-eni', eniId: found.eniId };
  if (found.retryAt !== undefined) return { kind: 'none', reason: 'an idle ENI is too young or has addresses cooling down', retryAt: found.retryAt };
  return { kind: 'none', reason: 'every ENI holds pods or is needed for the warm targets' };
}

/** The last EC2 failure of a pool increase, as the manager remembers it for `whyNoAddress`. */
export interface LastEc2Failure {
  /** EC2's error code, e.g. InsufficientFreeAddressesInSubnet, RequestLimitExceeded. */
  readonly code: string;
  readonly atMs: number;
  readonly subnetId?: string;
  readonly subnetCidr?: string;
  /** DescribeSubnets' AvailableIpAddressCount when the failure was recorded. */
  readonly freeAddresses?: number;
}

/** Everything `whyNoAddress` looks at. */
export interface NoAddressContext {
  readonly snapshot: PoolSnapshot;
  readonly config: PoolConfig;
  readonly limits: PoolLimits;
  readonly timestamps: PoolTimestamps;
  readonly lastEc2Failure?: LastEc2Failure;
  /** False until node init has built the datastore (IMDS, EC2 and the checkpoint). */
  readonly ready: boolean;
  readonly nowMs: number;
}

/** How long a throttling failure explains an empty pool: a few pool iterations. */
const THROTTLE_MEMORY_INTERVALS = 3;

const INSUFFICIENT_CODES: ReadonlySet<string> = new Set(['InsufficientCidrBlocks', 'InsufficientFreeAddressesInSubnet']);

/** EC2 codes that mean "the subnet has no room": no pool increase for the backoff period (§4.15). */
export function isInsufficientCidrCode(code: string): boolean {
  return INSUFFICIENT_CODES.has(code);
}

/**
 * When a pod finds no free address, which cause applies — each a stable error code with the numbers and a hint.
 * Upstream answers all of them with one message (§4.15); the checks go from the most specific to the general.
 */
export function whyNoAddress(x: NoAddressContext): PodnetError {
  const { snapshot: s, config: c, limits: l } = x;
  if (!x.ready) {
    return new PodnetError('IPAMD_NOT_READY', 'ipamd has not finished node initialisation (ENIs, addresses and the checkpoint are not loaded yet)',
      'the kubelet retries the pod; if this lasts, check the ipamd log for IMDS or EC2 errors');
  }
  const stats = ipStats(s);
  const free = stats.totalIps - stats.assignedIps;
  const enis = s.enis.length;
  if (free > 0 && stats.cooldownIps >= free) {
    const until = Math.max(...s.enis.flatMap((e) => e.cidrs.filter((cc) => isActiveCidr(cc, s.prefixDelegation)).map((cc) => cc.coolingUntil ?? 0)));
    const waitS = Math.max(0, Math.ceil((until - x.nowMs) / 1000));
    return new PodnetError('COOLDOWN_ONLY',
      `the only ${free} free address(es) are cooling down after release (IP_COOLDOWN_PERIOD=${c.ipCooldownMs / 1000}s); the last is reusable in ${waitS} s`,
      'the kubelet retries the pod; lower IP_COOLDOWN_PERIOD or raise WARM_IP_TARGET to keep addresses ready during pod churn');
  }
  if (stats.totalIps >= l.maxPods) {
    return new PodnetError('MAX_PODS',
      `the node holds ${stats.totalIps} pod addresses, ${stats.assignedIps} in use, and max pods is ${l.maxPods}: the pool does not grow past max pods`,
      'the scheduler should not place more pods here; check the kubelet --max-pods value against `podnet max-pods`');
  }
  const f = x.lastEc2Failure;
  if (f && isInsufficientCidrCode(f.code) && x.nowMs - f.atMs <= c.timers.insufficientCidrBackoffMs) {
    const subnet = `subnet ${f.subnetId ?? '(unknown)'}${f.subnetCidr ? ` (${f.subnetCidr})` : ''}`;
    if (f.code === 'InsufficientCidrBlocks') {
      return new PodnetError('NO_FREE_PREFIX',
        `${subnet} has no free aligned /28 block${f.freeAddresses !== undefined ? ` (${f.freeAddresses} free addresses, fragmented)` : ''}; ${enis} ENIs attached, limit ${l.maxEni}`,
        'use a fresh subnet for prefix delegation, or reserve /28 space with a subnet CIDR reservation (create-subnet-cidr-reservation)');
    }
    return new PodnetError('SUBNET_EXHAUSTED',
      `${subnet} has ${f.freeAddresses ?? 0} free addresses; ${enis} ENIs attached, limit ${l.maxEni}`,
      'add a subnet tagged kubernetes.io/role/cni=1 in this AZ (subnet discovery), or move pods to a larger subnet with custom networking');
  }
  if (f && (f.code === 'RequestLimitExceeded' || f.code === 'Throttling') && x.nowMs - f.atMs <= THROTTLE_MEMORY_INTERVALS * c.timers.poolIntervalMs) {
    return new PodnetError('EC2_THROTTLED',
      `EC2 throttled the last pool increase (${f.code}); the pool has ${free} free of ${stats.totalIps} addresses`,
      'try again later: ipamd retries with backoff; many nodes scaling at once share the account\'s EC2 request rate');
  }
  const maxCidrs = c.prefixDelegation ? l.maxPrefixesPerEni : l.maxIpsPerEni;
  if (allocatableEnis(s, maxCidrs, c.customNetworking).length === 0 && !hasRoomForEni(s, c, l)) {
    const unit = c.prefixDelegation ? `${l.maxPrefixesPerEni} prefixes` : `${l.maxIpsPerEni} addresses`;
    return new PodnetError('ENI_LIMIT',
      `all ${stats.totalIps} pod addresses are in use; ${enis} ENIs attached, limit ${l.maxEni}, each holds ${unit}`,
      c.prefixDelegation ? 'use a larger instance type, or spread the pods over more nodes' : 'enable prefix delegation (ENABLE_PREFIX_DELEGATION=true) on a Nitro instance, or use a larger instance type');
  }
  if (c.minimumIpTarget > 0 && c.warmIpTarget === 0 && stats.totalIps >= c.minimumIpTarget) {
    return new PodnetError('NO_FREE_ADDRESS',
      `all ${stats.totalIps} pod addresses are in use and MINIMUM_IP_TARGET=${c.minimumIpTarget} without WARM_IP_TARGET keeps the pool from growing past ${c.minimumIpTarget}`,
      'set WARM_IP_TARGET (e.g. 1) so the pool grows as pods arrive');
  }
  return new PodnetError('NO_FREE_ADDRESS',
    `no free address yet: ${stats.assignedIps} of ${stats.totalIps} in use; the pool manager adds addresses every ${c.timers.poolIntervalMs / 1000} s`,
    'the kubelet retries the pod; for bursts of pods raise WARM_IP_TARGET or WARM_ENI_TARGET');
}
