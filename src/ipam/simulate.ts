/**
 * `podnet pool simulate`: the real pool manager and executor against a Cloud the caller starts (the CLI starts
 * src/ec2's in-process adapter: the emulator's action handlers, no HTTP, no SDK), on a fake clock. The node starts with only its primary ENI;
 * pods arrive one at a time and after each the pool loop runs until it settles. A pod takes the first free address
 * (ENIs in creation order); a pod ADD never grows the pool itself, so a pod that finds nothing in the settled pool is
 * refused (as upstream, §4.15), and the simulation says which limit refused it.
 *
 * Some settings never settle, as upstream (issue 11 item 6): cycle.ts recognises the cycle; the simulation reports
 * it and adds the next pod at the cycle's high point (the extra ENI attached), outside the gap in which a pod would
 * be refused. refusals.ts says which limit refused a pod; src/net sizes the subnet for `--nodes`.
 */
import { loadConfig } from '../config/index.js';
import { PodnetError } from '../lib/index.js';
import { subnetsFor } from '../net/index.js';
import { IPS_PER_PREFIX, lookupInstanceType, maxPods as maxPodsOf, supportsPrefixDelegation, windowsLimits } from '../limits/index.js';
import { FakeClock, type Clock } from './clock.js';
import type { Cloud } from './cloud.js';
import { CycleWatch, poolState, sortedCounts, type Oscillation } from './cycle.js';
import { Datastore } from './datastore.js';
import { PoolExecutor } from './executor.js';
import { PoolManager } from './manager.js';
import { CloudCallCounter, type IpamMetrics } from './metrics.js';
import { poolConfigFrom, poolLimitsFrom, type PoolConfig, type PoolLimits } from './pool.js';
import { capacityWarnings, explainRefusal, type NodeCapacity, type Refusal } from './refusals.js';
import { refuseAwsNodePoolSettings, windowsPoolRules, type WindowsPoolRules, type WindowsPoolSettings } from './windows-pool.js';

/** A launched node in a simulated cloud: what ipamd's init learns from IMDS, and the Cloud to call. */
export interface SimulatedNode {
  /** Reports every call to the `metrics` it was started with. */
  readonly cloud: Cloud;
  readonly instanceId: string;
  readonly primaryEniId: string;
  /** The node subnet's IPv4 CIDR (IMDS gives it on a real node). */
  readonly subnetCidr: string;
  close(): Promise<void>;
}

/**
 * Starts a cloud on the simulation's fake clock, without throttling, with one instance of the type launched in a
 * fresh VPC; the pool's EC2 calls go to its Cloud.
 */
export type StartSimulatedCloud = (opts: { instanceType: string; nowMs: () => number; metrics: IpamMetrics }) => Promise<SimulatedNode>;

export type SimulatedOs = 'linux' | 'windows';

export interface SimulateOptions {
  readonly instanceType: string;
  readonly startCloud: StartSimulatedCloud;
  readonly pods: number;
  /** Upstream env vars (WARM_ENI_TARGET, WARM_IP_TARGET, …) and PODNET_* timers, validated by src/config. */
  readonly env?: Readonly<Record<string, string>>;
  /** The kubelet's max pods; default `podnet max-pods` for the instance type in the mode the env selects. */
  readonly maxPods?: number;
  /**
   * Windows nodes use one ENI, and the VPC resource controller's pool rules (windows-pool.ts) instead of aws-node's;
   * custom networking and security groups for pods are not supported there.
   */
  readonly os?: SimulatedOs;
  /** The controller's amazon-vpc-cni ConfigMap settings; only with os windows. */
  readonly windows?: WindowsPoolSettings;
  /** Nodes of this type, each with `pods` pods: how many addresses they hold and the subnet they need. */
  readonly nodes?: number;
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
  /** Windows only: the VPC resource controller's targets the pool ran with, after its defaults. */
  readonly windowsPool?: Pick<WindowsPoolRules, 'warmIpTarget' | 'minimumIpTarget' | 'prefixDelegation'>;
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
  /** Windows only: the VPC resource controller's rules the pool ran with. */
  readonly windows?: WindowsPoolRules;
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
  if (os === 'linux' && opts.windows) {
    throw new PodnetError('USAGE', 'the --windows-* settings are the VPC resource controller\'s, which manages Windows nodes only', 'add --os windows, or drop them');
  }
  const windows = os === 'windows' ? windowsRules(opts.env ?? {}, opts.windows ?? {}) : undefined;
  const requested = windows ? { ...poolConfigFrom(loaded.config), ...windows.config } : poolConfigFrom(loaded.config);
  if (os === 'windows') refuseOnWindows(requested);
  // In IPv4 upstream silently falls back to secondary IPs when the instance cannot do prefix delegation (§1).
  const config: PoolConfig = { ...requested, prefixDelegation: requested.prefixDelegation && supportsPrefixDelegation(limits) };
  const notes: string[] = [];
  if (requested.prefixDelegation && !config.prefixDelegation) {
    notes.push(`${opts.instanceType} is neither Nitro nor bare metal, so prefix delegation falls back to secondary IPs (as upstream in IPv4)`);
  }
  if (windows) {
    notes.push(`Windows: the VPC resource controller keeps the pods' addresses on the primary ENI (${windows.rules.summary}); `
      + 'its decisions are those of ipamd\'s pool manager with these targets and one ENI, its pacing (fake time, EC2 calls) is aws-node\'s');
  }
  // The node's capacity and default max pods from src/limits, the figures `podnet max-pods` gives for these settings.
  const { capacity, maxPods: nodeMaxPods } = nodeLimits(opts.instanceType, os, requested, config);
  const maxPods = opts.maxPods ?? nodeMaxPods;
  const poolLimits = poolLimitsFrom(limits, config, { maxPods });
  const warnings = capacityWarnings(opts.instanceType, capacity, config, poolLimits, windows ? 'minimum-ip-target' : 'MINIMUM_IP_TARGET');
  // When the capacity warning fires it gives the figure the pool really stops at; the config note "the pool never
  // grows past MINIMUM_IP_TARGET addresses" would contradict it.
  const configNotes = loaded.problems.filter((p) => p.severity === 'warning'
    && !(warnings.length > 0 && p.rule === 'minimum-ip-target-without-warm-ip-target'));
  notes.unshift(...configNotes.map((p) => `${p.variable}: ${p.message}`));

  const clock = new FakeClock(START_MS);
  const calls = new CloudCallCounter();
  const node = await opts.startCloud({ instanceType: opts.instanceType, nowMs: () => clock.now(), metrics: calls });
  const { cloud } = node;

  try {
    const { datastore, manager } = await startPoolNode({
      cloud, clock, config, limits: poolLimits, instanceId: node.instanceId, primaryEniId: node.primaryEniId, subnetCidr: node.subnetCidr,
      ...(loaded.config.clusterName ? { clusterName: loaded.config.clusterName } : {}),
      additionalTags: loaded.config.additionalEniTags,
    });
    const freeNow = (): number => {
      const s = datastore.stats(clock.now());
      return s.totalIps - s.assignedIps - s.cooldownIps;
    };

    /** Runs pool iterations until the pool settles (undefined) or cycles (the cycle, with the pool at its high point). */
    const settle = async (pods: number): Promise<Oscillation | undefined> => {
      const watch = new CycleWatch();
      for (let i = 0; i < MAX_ITERATIONS_PER_SETTLE; i++) {
        const cycle = watch.check(poolState(datastore.snapshot(clock.now()), manager.timestamps, config.timers, clock.now()), clock.now());
        if (cycle) {
          // Replay the cycle up to its high point: the iterations are deterministic, so the same steps lead there.
          for (let k = 0; k < cycle.highPointOffset; k++) await iterate();
          return { pods, ...cycle.oscillation };
        }
        const started = { at: clock.now(), free: freeNow(), enis: datastore.snapshot(clock.now()).enis.length };
        const next = await iterate();
        watch.record({ ...started, calls: next.calls });
        if (next.done) return undefined;
      }
      throw new PodnetError('FAILED', `the pool neither settled nor repeated a cycle within ${MAX_ITERATIONS_PER_SETTLE} iterations`,
        'this is a bug in podnet\'s pool manager; please report it with the command you ran');
    };
    /** One pool iteration, then the fake clock moves to the next one; `done` when nothing changed and no timer is pending. */
    const iterate = async (): Promise<{ done: boolean; calls: string[] }> => {
      calls.takeRecent();
      const r = await manager.runIteration();
      const iterationCalls = calls.takeRecent();
      const failed = r.outcomes.find((o) => o.error);
      if (failed?.error) throw failed.error;
      if (r.changed) clock.advance(config.timers.poolIntervalMs);
      else if (r.retryAt !== undefined) clock.advanceTo(r.retryAt);
      else return { done: true, calls: iterationCalls };
      return { done: false, calls: iterationCalls };
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
        const why = explainRefusal(manager.whyNoAddress(), datastore.snapshot(clock.now()), config, poolLimits, capacity);
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
      ec2Calls: sortedCounts(calls.byApi()),
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
      ...(windows ? { windowsPool: { warmIpTarget: windows.rules.warmIpTarget, minimumIpTarget: windows.rules.minimumIpTarget, prefixDelegation: windows.rules.prefixDelegation } } : {}),
      ...(opts.nodes !== undefined ? { fleet: fleetAddresses(opts.nodes, stats.totalIps, snap.enis.length, config) } : {}),
    };
    return {
      result,
      setup: { instanceType: opts.instanceType, pods: opts.pods, maxPods, prefixDelegation: config.prefixDelegation, config, elapsedMs: clock.now() - START_MS, notes,
        ...(windows ? { windows: windows.rules } : {}) },
    };
  } finally {
    await node.close();
  }
}

/**
 * The controller's rules as ipamd's pool settings: its warm-ip-target and minimum-ip-target are WARM_IP_TARGET and
 * MINIMUM_IP_TARGET's arithmetic (windows-pool.ts), on the one ENI a Windows node has for pods.
 */
function windowsRules(env: Readonly<Record<string, string>>, settings: WindowsPoolSettings): { rules: WindowsPoolRules; config: Partial<PoolConfig> } {
  refuseAwsNodePoolSettings(env);
  const rules = windowsPoolRules(settings);
  return {
    rules,
    config: { warmIpTarget: rules.warmIpTarget, minimumIpTarget: rules.minimumIpTarget, warmPrefixTarget: 0, prefixDelegation: rules.prefixDelegation, maxEni: 1 },
  };
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

/** The pod addresses the node can hold and its max pods, from src/limits' breakdown for the node's settings. */
function nodeLimits(instanceType: string, os: SimulatedOs, requested: PoolConfig, config: PoolConfig): { capacity: NodeCapacity; maxPods: number } {
  if (os === 'windows') {
    const w = windowsLimits(instanceType, { prefixDelegation: requested.prefixDelegation });
    return { capacity: { os, enisForPods: w.enis, enisOnDefaultCard: w.enis, podIpsPerEni: w.podIps }, maxPods: w.maxPods };
  }
  const b = maxPodsOf(instanceType, {
    prefixDelegation: requested.prefixDelegation,
    customNetworking: config.customNetworking,
    securityGroupsForPods: config.podEni,
    ...(config.maxEni >= 1 ? { maxEni: config.maxEni } : {}),
  });
  return { capacity: { os, enisForPods: b.enisForPods, enisOnDefaultCard: b.enisOnDefaultCard, podIpsPerEni: b.podIpsPerEni }, maxPods: b.maxPods };
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

/** One node's pool as the simulation runs it, on any cloud: the instance, its primary ENI, and what new ENIs carry. */
export interface PoolNodeSetup {
  cloud: Cloud;
  clock: Clock;
  config: PoolConfig;
  limits: PoolLimits;
  instanceId: string;
  primaryEniId: string;
  subnetCidr: string;
  clusterName?: string;
  additionalTags?: Readonly<Record<string, string>>;
}

/**
 * A node's datastore, executor and pool manager, after node discovery as ipamd's init does it: the attached primary
 * ENI from EC2 (its subnet, groups, primary address). `pool simulate` runs one; the fleet benchmark runs many.
 */
export async function startPoolNode(o: PoolNodeSetup): Promise<{ datastore: Datastore; manager: PoolManager }> {
  const { cloud, clock, config } = o;
  const primary = (await cloud.describeEnis([o.primaryEniId]))[0]!;
  const datastore = new Datastore({ prefixDelegation: config.prefixDelegation, ipCooldownMs: config.ipCooldownMs });
  datastore.addEni({
    id: primary.id, deviceNumber: 0, networkCard: 0, primary: true, trunk: false, efa: false, excluded: false,
    subnetId: primary.subnetId, subnetCidr: o.subnetCidr, primaryIp: primary.primaryIpv4, createdAt: clock.now(),
  });
  const executor = new PoolExecutor({
    cloud, datastore, clock, prefixDelegation: config.prefixDelegation,
    node: {
      instanceId: o.instanceId, networkCard: 0, subnetId: primary.subnetId, subnetCidr: o.subnetCidr,
      securityGroupIds: primary.securityGroupIds,
      ...(o.clusterName ? { clusterName: o.clusterName } : {}),
      ...(o.additionalTags ? { additionalTags: o.additionalTags } : {}),
    },
  });
  return { datastore, manager: new PoolManager({ datastore, executor, config, limits: o.limits, clock }) };
}
