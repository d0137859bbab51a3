/**
 * `podnet pool simulate`: the real pool manager and executor against an EC2 API the caller starts (the CLI starts
 * src/ec2's emulator, so ipamd only ever sees the SDK), on a fake clock. The node starts with only its primary ENI;
 * pods arrive one at a time and after each the pool loop runs until it settles. A pod takes the first free address
 * (ENIs in creation order); a pod ADD never grows the pool itself, so a pod that finds nothing in the settled pool is
 * refused (as upstream, §4.15), and the simulation says which limit refused it.
 *
 * Some settings never settle, as upstream: with WARM_ENI_TARGET=0 alone, pods that exactly fill every attached ENI
 * make the pool "too low" (no free address) → a new ENI; a minute later (minENILifeTime) the idle ENI is freed, and
 * the next pool iteration is too low again (issue 11 item 6). The simulation recognises such a cycle — the pool's
 * state at the start of an iteration recurring twice at the same interval, with the same EC2 calls in between —
 * reports it, and lets the next pod arrive at the cycle's high point (the most free addresses), that is outside the
 * gap in which a pod would be refused.
 */
import {
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeNetworkInterfacesCommand,
  EC2Client,
  RunInstancesCommand,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { loadConfig } from '../config/index.js';
import { PodnetError } from '../lib/index.js';
import { subnetsFor } from '../net/index.js';
import { IPS_PER_PREFIX, enisOnDefaultCard, lookupInstanceType, maxPods as maxPodsOf, supportsPrefixDelegation, windowsLimits, type InstanceLimits } from '../limits/index.js';
import { FakeClock } from './clock.js';
import { BackoffRetryStrategy, defaultRetrySettings } from './cloud.js';
import { Datastore, type PoolSnapshot } from './datastore.js';
import { PoolExecutor } from './executor.js';
import { PoolManager } from './manager.js';
import { poolConfigFrom, poolLimitsFrom, type PoolConfig, type PoolLimits, type PoolTimers, type PoolTimestamps } from './pool.js';

/**
 * Starts an EC2 API whose clock is the simulation's fake clock, on loopback with throttling off, and gives its
 * endpoint; the pool's EC2 calls go there through the SDK.
 */
export type StartSimulatedCloud = (nowMs: () => number) => Promise<{ readonly ec2Url: string; close(): Promise<void> }>;

export type SimulatedOs = 'linux' | 'windows';

export interface SimulateOptions {
  readonly instanceType: string;
  readonly startCloud: StartSimulatedCloud;
  readonly pods: number;
  /** Upstream env vars (WARM_ENI_TARGET, WARM_IP_TARGET, …) and PODNET_* timers, validated by src/config. */
  readonly env?: Readonly<Record<string, string>>;
  /** The kubelet's max pods; default `podnet max-pods` for the instance type in the mode the env selects. */
  readonly maxPods?: number;
  /** Windows nodes use one ENI; custom networking and security groups for pods are not supported there. */
  readonly os?: SimulatedOs;
  /** Nodes of this type, each with `pods` pods: how many addresses they hold and the subnet they need. */
  readonly nodes?: number;
}

/** A pool that never settles: its state and EC2 calls repeat with a fixed period. */
export interface Oscillation {
  /** The pod count at which the pool started cycling (pods are added one at a time). */
  readonly pods: number;
  readonly periodSeconds: number;
  /** EC2 calls in one period, by action. */
  readonly ec2CallsPerCycle: Record<string, number>;
  /** Of those, the calls that change something in EC2 (all but Describe*). */
  readonly mutatingCallsPerCycle: number;
  /** Seconds of each period in which no address is free: a pod arriving then is refused until the pool grows. */
  readonly gapSeconds: number;
  /** ENIs at the cycle's low and high points. */
  readonly enis: { readonly low: number; readonly high: number };
}

/** Why pods were refused: one entry per reason, in the order the reasons first occurred. */
export interface Refusal {
  /**
   * max-pods, eni-limit (every ENI full, no room for another), max-eni (MAX_ENI below the instance's limit),
   * trunk-slot (ENABLE_POD_ENI holds an ENI slot for the trunk), subnet-exhausted, no-free-prefix, cooldown-only,
   * ec2-throttled, no-free-address (the pool's targets keep it from growing).
   */
  readonly reason: string;
  readonly pods: number;
  /** The first refused pod's number (1-based). */
  readonly firstPod: number;
  /** The explanation with the numbers, as ipamd would give it for the first refused pod. */
  readonly message: string;
}

/** Addresses a fleet of identical nodes holds, and the AWS subnet(s) that fit them. */
export interface FleetAddresses {
  readonly nodes: number;
  /** Pod addresses one node holds (16 per prefix with prefix delegation). */
  readonly podAddressesPerNode: number;
  /** ENI primary addresses one node holds in the pod subnet (the node's own address included unless custom networking). */
  readonly eniPrimaryAddressesPerNode: number;
  readonly addresses: number;
  /** The smallest subnet prefix length that fits them (AWS's 5 reserved addresses per subnet taken out), at most /16. */
  readonly subnetPrefixLength: number;
  readonly subnetUsableAddresses: number;
  /** Subnets of that length needed: above 1 when the nodes do not fit a /16, AWS's largest subnet. */
  readonly subnets: number;
  /** The most nodes one such subnet holds. */
  readonly nodesPerSubnet: number;
}

/** The pool after the last pod (at its high point when it oscillates). */
export interface SimulationResult {
  readonly enis: number;
  /** Pod addresses per ENI in creation order, without the ENI's primary address; 16 × prefixes in prefix mode. */
  readonly ipsPerEni: number[];
  /** Prefixes per ENI, in prefix mode only. */
  readonly prefixesPerEni?: number[];
  readonly totalIps: number;
  readonly unusedIps: number;
  readonly refusedPods: number;
  /** EC2 API calls ipamd made (node discovery included), by action. */
  readonly ec2Calls: Record<string, number>;
  readonly os: SimulatedOs;
  /** The kubelet's max pods the pool was capped at. */
  readonly maxPods: number;
  /** Whether the pool settled after the last pod (false: it oscillates, see `oscillations`). */
  readonly settled: boolean;
  /** Every pod count at which the pool started cycling, in order. */
  readonly oscillations: Oscillation[];
  readonly refusals: Refusal[];
  /** Settings that cannot do what they ask on this node. */
  readonly warnings: string[];
  /** Configuration notes and fallbacks. */
  readonly notes: string[];
  readonly fleet?: FleetAddresses;
}

/** What the simulation ran with, for the human-readable report. */
export interface SimulationSetup {
  readonly instanceType: string;
  readonly pods: number;
  readonly maxPods: number;
  readonly prefixDelegation: boolean;
  readonly config: PoolConfig;
  /** Fake time the whole run took (ms). */
  readonly elapsedMs: number;
  /** Configuration warnings and fallbacks worth telling the user. */
  readonly notes: readonly string[];
}

/** Pool iterations one settle may take before the simulation gives up (a loop that neither settles nor cycles is a bug). */
const MAX_ITERATIONS_PER_SETTLE = 1_000;
/** The fake clock starts at a fixed instant so runs are reproducible. */
const START_MS = Date.UTC(2025, 0, 1);

export async function simulatePool(opts: SimulateOptions): Promise<{ result: SimulationResult; setup: SimulationSetup }> {
  const limits = lookupInstanceType(opts.instanceType);
  const os = opts.os ?? 'linux';
  const loaded = loadConfig({ ENABLE_IPv4: 'true', ...opts.env });
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    throw new PodnetError('USAGE', `invalid --env settings: ${errors.map((p) => `${p.variable}: ${p.message}`).join('; ')}`,
      errors.map((p) => p.fix).join('; '));
  }
  // In IPv4 upstream silently falls back to secondary IPs when the instance cannot do prefix delegation (§1).
  const requested = poolConfigFrom(loaded.config);
  if (os === 'windows') refuseOnWindows(requested);
  const config: PoolConfig = {
    ...requested,
    prefixDelegation: requested.prefixDelegation && supportsPrefixDelegation(limits),
    // Windows nodes have one network interface: the pool behaves as with MAX_ENI=1
    ...(os === 'windows' ? { maxEni: 1 } : {}),
  };
  const notes: string[] = [];
  if (requested.prefixDelegation && !config.prefixDelegation) {
    notes.push(`${opts.instanceType} is neither Nitro nor bare metal, so prefix delegation falls back to secondary IPs (as upstream in IPv4)`);
  }
  if (os === 'windows') {
    notes.push('Windows: the pods\' addresses are on the primary ENI only (the VPC resource controller attaches no other); the pool is simulated with aws-node\'s decisions and MAX_ENI=1');
  }
  // The same figure `podnet max-pods` gives for this node's settings, so the two commands agree.
  const maxPods = opts.maxPods ?? (os === 'windows'
    ? windowsLimits(opts.instanceType, { prefixDelegation: requested.prefixDelegation }).maxPods
    : maxPodsOf(opts.instanceType, {
      prefixDelegation: requested.prefixDelegation,
      customNetworking: config.customNetworking,
      securityGroupsForPods: config.podEni,
      ...(config.maxEni >= 1 ? { maxEni: config.maxEni } : {}),
    }).maxPods);
  const poolLimits = poolLimitsFrom(limits, config, { maxPods });
  const warnings = capacityWarnings(opts.instanceType, limits, config, poolLimits);
  // When the capacity warning fires it gives the figure the pool really stops at; the config note "the pool never
  // grows past MINIMUM_IP_TARGET addresses" would contradict it.
  const configNotes = loaded.problems.filter((p) => p.severity === 'warning'
    && !(warnings.length > 0 && p.rule === 'minimum-ip-target-without-warm-ip-target'));
  notes.unshift(...configNotes.map((p) => `${p.variable}: ${p.message}`));

  const clock = new FakeClock(START_MS);
  const cloud = await opts.startCloud(() => clock.now());
  const clientConfig = { endpoint: cloud.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const setupClient = new EC2Client({ ...clientConfig, maxAttempts: 1 });
  // Retries back off with no real delay: the fake clock is the only time that passes.
  const ec2 = new EC2Client({ ...clientConfig, retryStrategy: new BackoffRetryStrategy({ ...defaultRetrySettings, throttleBaseMs: 0, transientBaseMs: 0 }) });
  const ec2Calls = new Map<string, number>();
  /** The calls of the pool iteration under way, in order (cycle detection compares these). */
  let iterationCalls: string[] = [];
  ec2.middlewareStack.add((next, context) => async (args) => {
    const api = (context.commandName ?? 'Unknown').replace(/Command$/, '');
    ec2Calls.set(api, (ec2Calls.get(api) ?? 0) + 1);
    iterationCalls.push(api);
    return next(args);
  }, { step: 'initialize', name: 'podnetSimulateCallCount' });

  try {
    const vpc = await setupClient.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
    const subnet = await setupClient.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: '10.0.0.0/16' }));
    const run = await setupClient.send(new RunInstancesCommand({
      ImageId: 'ami-0podnet00simulate', InstanceType: opts.instanceType as _InstanceType, SubnetId: subnet.Subnet!.SubnetId!, MinCount: 1, MaxCount: 1,
    }));
    const instanceId = run.Instances![0]!.InstanceId!;
    const primaryEniId = run.Instances![0]!.NetworkInterfaces![0]!.NetworkInterfaceId!;

    // Node discovery as ipamd's init does it: the attached ENI from EC2 (its subnet, groups, primary address).
    const described = await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [primaryEniId] }));
    const primary = described.NetworkInterfaces![0]!;
    const datastore = new Datastore({ prefixDelegation: config.prefixDelegation, ipCooldownMs: config.ipCooldownMs });
    datastore.addEni({
      id: primaryEniId, deviceNumber: 0, networkCard: 0, primary: true, trunk: false, efa: false, excluded: false,
      subnetId: primary.SubnetId!, subnetCidr: subnet.Subnet!.CidrBlock!, primaryIp: primary.PrivateIpAddress!, createdAt: clock.now(),
    });
    const executor = new PoolExecutor({
      ec2, datastore, clock, prefixDelegation: config.prefixDelegation,
      node: {
        instanceId, networkCard: 0, subnetId: primary.SubnetId!, subnetCidr: subnet.Subnet!.CidrBlock!,
        securityGroupIds: (primary.Groups ?? []).map((g) => g.GroupId!).filter(Boolean),
        ...(loaded.config.clusterName ? { clusterName: loaded.config.clusterName } : {}),
        additionalTags: loaded.config.additionalEniTags,
      },
    });
    const manager = new PoolManager({ datastore, executor, config, limits: poolLimits, clock });
    const freeNow = (): number => {
      const s = datastore.stats(clock.now());
      return s.totalIps - s.assignedIps - s.cooldownIps;
    };

    /** Runs pool iterations until the pool settles (undefined) or cycles (the cycle, with the pool at its high point). */
    const settle = async (pods: number): Promise<Oscillation | undefined> => {
      const history: IterationRecord[] = [];
      const seen = new Map<string, number[]>();
      for (let i = 0; i < MAX_ITERATIONS_PER_SETTLE; i++) {
        const state = poolState(datastore.snapshot(clock.now()), manager.timestamps, config.timers, clock.now());
        const earlier = seen.get(state) ?? [];
        const cycle = earlier.length >= 2 ? findCycle(history, earlier.at(-2)!, earlier.at(-1)!, clock.now()) : undefined;
        if (cycle) {
          // Replay the cycle up to its high point: the iterations are deterministic, so the same steps lead there.
          for (let k = 0; k < cycle.highPointOffset; k++) await iterate();
          return { pods, ...cycle.oscillation };
        }
        seen.set(state, [...earlier, history.length]);
        const started = { at: clock.now(), free: freeNow(), enis: datastore.snapshot(clock.now()).enis.length };
        const next = await iterate();
        history.push({ ...started, calls: next.calls });
        if (next.done) return undefined;
      }
      throw new PodnetError('FAILED', `the pool neither settled nor repeated a cycle within ${MAX_ITERATIONS_PER_SETTLE} iterations`,
        'this is a bug in podnet\'s pool manager; please report it with the command you ran');
    };
    /** One pool iteration, then the fake clock moves to the next one; `done` when nothing changed and no timer is pending. */
    const iterate = async (): Promise<{ done: boolean; calls: string[] }> => {
      iterationCalls = [];
      const r = await manager.runIteration();
      const calls = iterationCalls;
      const failed = r.outcomes.find((o) => o.error);
      if (failed?.error) throw failed.error;
      if (r.changed) clock.advance(config.timers.poolIntervalMs);
      else if (r.retryAt !== undefined) clock.advanceTo(r.retryAt);
      else return { done: true, calls };
      return { done: false, calls };
    };

    const oscillations: Oscillation[] = [];
    const refusals = new Map<string, Refusal>();
    let lastCycle = await settle(0);
    if (lastCycle) oscillations.push(lastCycle);
    let refusedPods = 0;
    for (let pod = 1; pod <= opts.pods; pod++) {
      const assigned = datastore.assign({ networkName: 'aws-cni', containerId: `simulated-pod-${pod}`, ifName: 'eth0' }, {}, clock.now());
      if (!assigned) {
        refusedPods++;
        const why = explainRefusal(manager.whyNoAddress(), datastore.snapshot(clock.now()), config, poolLimits, limits, os);
        const known = refusals.get(why.reason);
        refusals.set(why.reason, known ? { ...known, pods: known.pods + 1 } : { reason: why.reason, pods: 1, firstPod: pod, message: why.message });
      }
      lastCycle = await settle(pod);
      if (lastCycle) oscillations.push(lastCycle);
    }

    const snap = datastore.snapshot(clock.now());
    const stats = datastore.stats(clock.now());
    const active = (prefix: boolean) => prefix === config.prefixDelegation;
    const partial = {
      enis: snap.enis.length,
      ipsPerEni: snap.enis.map((e) => e.cidrs.filter((c) => active(c.prefix)).reduce((n, c) => n + c.size, 0)),
      ...(config.prefixDelegation ? { prefixesPerEni: snap.enis.map((e) => e.cidrs.filter((c) => c.prefix).length) } : {}),
      totalIps: stats.totalIps,
      unusedIps: stats.totalIps - stats.assignedIps,
      refusedPods,
      ec2Calls: sortedRecord(ec2Calls),
    };
    const result: SimulationResult = {
      ...partial,
      os,
      maxPods,
      settled: lastCycle === undefined,
      oscillations,
      refusals: [...refusals.values()],
      warnings,
      notes,
      ...(opts.nodes !== undefined ? { fleet: fleetAddresses(opts.nodes, stats.totalIps, snap.enis.length, config) } : {}),
    };
    return {
      result,
      setup: { instanceType: opts.instanceType, pods: opts.pods, maxPods, prefixDelegation: config.prefixDelegation, config, elapsedMs: clock.now() - START_MS, notes },
    };
  } finally {
    ec2.destroy();
    setupClient.destroy();
    await cloud.close();
  }
}

/** One pool iteration as the cycle detection sees it. */
interface IterationRecord {
  /** When it started (fake ms). */
  readonly at: number;
  /** Addresses a pod could take when it started. */
  readonly free: number;
  readonly enis: number;
  /** Its EC2 calls, in order. */
  readonly calls: readonly string[];
}

/**
 * Everything the pool's next decisions depend on, as a comparable string: per ENI its kind, its age up to
 * minENILifeTime (older ENIs all behave alike), its CIDRs with their use and cooldown; and the timers' ages up to
 * their length. ENI ids and addresses are left out: a new ENI in place of a freed one is the same state.
 */
function poolState(s: PoolSnapshot, t: PoolTimestamps, timers: PoolTimers, nowMs: number): string {
  const since = (at: number, capMs: number): number => Math.min(nowMs - at, capMs + 1);
  return JSON.stringify({
    enis: s.enis.map((e) => [e.primary, e.trunk, e.excluded, since(e.createdAt, timers.eniMinAgeMs),
      e.cidrs.map((c) => [c.prefix, c.size, c.assigned, c.coolingDown, Math.max(0, (c.coolingUntil ?? 0) - nowMs)])]),
    decrease: since(t.lastDecreaseAt, timers.decreaseIntervalMs),
    insufficientCidr: since(t.lastInsufficientCidrAt, timers.insufficientCidrBackoffMs),
  });
}

/**
 * The same state began iterations `a`, `b` and now: it is a cycle when both stretches took the same iterations at
 * the same offsets with the same EC2 calls, and some call was made (a state that recurs without calls is a timer
 * running out, not a cycle). The high point is the first iteration of the period with the most free addresses.
 */
function findCycle(history: readonly IterationRecord[], a: number, b: number, nowMs: number):
  { oscillation: Omit<Oscillation, 'pods'>; highPointOffset: number } | undefined {
  const n = history.length;
  if (b - a !== n - b) return undefined;
  const first = history.slice(a, b);
  const second = history.slice(b, n);
  const period = nowMs - history[b]!.at;
  if (period !== history[b]!.at - history[a]!.at) return undefined;
  for (let k = 0; k < first.length; k++) {
    if (first[k]!.at - history[a]!.at !== second[k]!.at - history[b]!.at) return undefined;
    if (first[k]!.calls.join() !== second[k]!.calls.join()) return undefined;
  }
  const calls = second.flatMap((r) => r.calls);
  if (calls.length === 0) return undefined;
  const perCycle = new Map<string, number>();
  for (const c of calls) perCycle.set(c, (perCycle.get(c) ?? 0) + 1);
  // The state after iteration k lasts until iteration k + 1 starts; the period's last one wraps to `b`'s state.
  let gapMs = 0;
  for (let k = 0; k < second.length; k++) {
    const after = k + 1 < second.length ? second[k + 1]! : second[0]!;
    const until = k + 1 < second.length ? second[k + 1]!.at : nowMs;
    if (after.free === 0) gapMs += until - second[k]!.at;
  }
  const highest = Math.max(...second.map((r) => r.free));
  return {
    oscillation: {
      periodSeconds: period / 1000,
      ec2CallsPerCycle: sortedRecord(perCycle),
      mutatingCallsPerCycle: calls.filter((c) => !c.startsWith('Describe')).length,
      gapSeconds: gapMs / 1000,
      enis: { low: Math.min(...second.map((r) => r.enis)), high: Math.max(...second.map((r) => r.enis)) },
    },
    highPointOffset: second.findIndex((r) => r.free === highest),
  };
}

function sortedRecord(m: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries([...m.entries()].sort(([x], [y]) => x.localeCompare(y)));
}

/** Windows nodes have neither custom networking nor security groups for pods (the VPC Resource Controller manages them). */
function refuseOnWindows(c: PoolConfig): void {
  if (c.customNetworking) {
    throw new PodnetError('USAGE', 'custom networking (AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true) is not supported on Windows nodes',
      'drop AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG, or simulate a Linux node (--os linux)');
  }
  if (c.podEni) {
    throw new PodnetError('USAGE', 'security groups for pods (ENABLE_POD_ENI=true) are not supported on Windows nodes',
      'drop ENABLE_POD_ENI, or simulate a Linux node (--os linux)');
  }
}

/** ENIs that can carry pod addresses: MAX_ENI, the custom-networking primary and the trunk slot taken out (§4.8, §5.1). */
function podEnis(c: PoolConfig, l: PoolLimits): number {
  const trunkReserve = l.trunkingCompatible && c.podEni ? 1 : 0;
  return Math.max(0, l.maxEni - l.unmanagedEnis - trunkReserve - (c.customNetworking ? 1 : 0));
}

/** A MINIMUM_IP_TARGET (or WARM_IP_TARGET) the node can never reach keeps the pool asking for addresses it cannot get. */
function capacityWarnings(instanceType: string, limits: InstanceLimits, c: PoolConfig, l: PoolLimits): string[] {
  const enis = podEnis(c, l);
  const capacity = enis * l.maxIpsPerEni;
  const how = `${enis} ENI(s) × ${l.maxIpsPerEni} ${c.prefixDelegation ? 'addresses in prefixes' : 'addresses'}${enis < enisOnDefaultCard(limits) ? ` of ${enisOnDefaultCard(limits)} ENIs` : ''}`;
  const warnings: string[] = [];
  if (c.minimumIpTarget > capacity) {
    warnings.push(`MINIMUM_IP_TARGET=${c.minimumIpTarget} is above the ${capacity} pod addresses ${instanceType} can hold (${how}); the pool stops at ${Math.min(capacity, l.maxPods)} and never reaches its minimum`);
  } else if (c.minimumIpTarget > l.maxPods) {
    warnings.push(`MINIMUM_IP_TARGET=${c.minimumIpTarget} is above max pods ${l.maxPods}; the pool stops growing once it holds ${l.maxPods} addresses`);
  }
  return warnings;
}

/** The refusal reason for `whyNoAddress`'s answer, with the ENI limit split by what set it. */
function explainRefusal(why: PodnetError, s: PoolSnapshot, c: PoolConfig, l: PoolLimits, limits: InstanceLimits, os: SimulatedOs): Omit<Refusal, 'pods' | 'firstPod'> {
  if (why.code !== 'ENI_LIMIT') return { reason: why.code.toLowerCase().replaceAll('_', '-'), message: why.message };
  if (os === 'windows') return { reason: 'eni-limit', message: `${why.message}; a Windows node has one ENI for pods` };
  const custom = c.customNetworking ? '; with custom networking the primary ENI holds no pod addresses' : '';
  if (l.trunkingCompatible && c.podEni && !s.enis.some((e) => e.trunk)) {
    return { reason: 'trunk-slot', message: `${why.message}; one more ENI slot is held for the trunk ENI of security groups for pods (ENABLE_POD_ENI=true)${custom}` };
  }
  const cardEnis = enisOnDefaultCard(limits);
  if (c.maxEni >= 1 && c.maxEni < cardEnis) {
    return { reason: 'max-eni', message: `${why.message}; MAX_ENI=${c.maxEni} caps the ENIs below the instance's ${cardEnis}${custom}` };
  }
  return { reason: 'eni-limit', message: `${why.message}${custom}` };
}

/**
 * Addresses N identical nodes hold and the AWS subnet(s) for them. The nodes are identical and independent (each
 * pool decides from its own datastore only), so one simulation times N is exact. Each node holds its pod addresses
 * and one primary address per ENI; with custom networking the node's primary ENI stays in the node's subnet and is
 * not counted. With prefix delegation the pod addresses are /28 prefixes, each an aligned block of its own.
 */
export function fleetAddresses(nodes: number, podAddressesPerNode: number, enisPerNode: number, c: Pick<PoolConfig, 'prefixDelegation' | 'customNetworking'>): FleetAddresses {
  const primaries = enisPerNode - (c.customNetworking ? 1 : 0);
  const plan = subnetsFor(nodes, c.prefixDelegation
    ? { singleAddresses: primaries, prefixes: podAddressesPerNode / IPS_PER_PREFIX }
    : { singleAddresses: podAddressesPerNode + primaries, prefixes: 0 });
  return {
    nodes,
    podAddressesPerNode,
    eniPrimaryAddressesPerNode: primaries,
    addresses: nodes * (podAddressesPerNode + primaries),
    subnetPrefixLength: plan.prefixLength,
    subnetUsableAddresses: plan.usableAddresses,
    subnets: plan.subnets,
    nodesPerSubnet: plan.membersPerSubnet,
  };
}
