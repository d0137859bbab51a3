/**
 * `podnet pool simulate`: the real pool manager and executor against an EC2 API the caller starts (the CLI starts
 * src/ec2's emulator, so ipamd only ever sees the SDK), on a fake clock. The node starts with only its primary ENI; pods arrive one at a time and after each the pool
 * loop runs until it settles. A pod takes the first free address (ENIs in creation order); a pod ADD never grows
 * the pool itself, so a pod that finds nothing in the settled pool is refused (as upstream, §4.15).
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
import { lookupInstanceType, maxPods as maxPodsOf, supportsPrefixDelegation } from '../limits/index.js';
import { FakeClock } from './clock.js';
import { BackoffRetryStrategy, defaultRetrySettings } from './cloud.js';
import { Datastore } from './datastore.js';
import { PoolExecutor } from './executor.js';
import { PoolManager } from './manager.js';
import { poolConfigFrom, poolLimitsFrom, type PoolConfig } from './pool.js';

/**
 * Starts an EC2 API whose clock is the simulation's fake clock, on loopback with throttling off, and gives its
 * endpoint; the pool's EC2 calls go there through the SDK.
 */
export type StartSimulatedCloud = (nowMs: () => number) => Promise<{ readonly ec2Url: string; close(): Promise<void> }>;

export interface SimulateOptions {
  readonly instanceType: string;
  readonly startCloud: StartSimulatedCloud;
  readonly pods: number;
  /** Upstream env vars (WARM_ENI_TARGET, WARM_IP_TARGET, …) and PODNET_* timers, validated by src/config. */
  readonly env?: Readonly<Record<string, string>>;
  /** The kubelet's max pods; default the instance type's eni-max-pods value, as upstream without an API server. */
  readonly maxPods?: number;
}

/** The settled pool after the last pod. */
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

/** Pool iterations one settle may take before the simulation gives up (a loop that never settles is a bug). */
const MAX_ITERATIONS_PER_SETTLE = 1_000;
/** The fake clock starts at a fixed instant so runs are reproducible. */
const START_MS = Date.UTC(2025, 0, 1);

export async function simulatePool(opts: SimulateOptions): Promise<{ result: SimulationResult; setup: SimulationSetup }> {
  const limits = lookupInstanceType(opts.instanceType);
  const loaded = loadConfig({ ENABLE_IPv4: 'true', ...opts.env });
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    throw new PodnetError('USAGE', `invalid --env settings: ${errors.map((p) => `${p.variable}: ${p.message}`).join('; ')}`,
      errors.map((p) => p.fix).join('; '));
  }
  // In IPv4 upstream silently falls back to secondary IPs when the instance cannot do prefix delegation (§1).
  const requested = poolConfigFrom(loaded.config);
  const config: PoolConfig = { ...requested, prefixDelegation: requested.prefixDelegation && supportsPrefixDelegation(limits) };
  const notes = loaded.problems.filter((p) => p.severity === 'warning').map((p) => `${p.variable}: ${p.message}`);
  if (requested.prefixDelegation && !config.prefixDelegation) {
    notes.push(`${opts.instanceType} is neither Nitro nor bare metal, so prefix delegation falls back to secondary IPs (as upstream in IPv4)`);
  }
  const maxPods = opts.maxPods ?? maxPodsOf(opts.instanceType).maxPods;
  const poolLimits = poolLimitsFrom(limits, config, { maxPods });

  const clock = new FakeClock(START_MS);
  const cloud = await opts.startCloud(() => clock.now());
  const clientConfig = { endpoint: cloud.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } };
  const setupClient = new EC2Client({ ...clientConfig, maxAttempts: 1 });
  // Retries back off with no real delay: the fake clock is the only time that passes.
  const ec2 = new EC2Client({ ...clientConfig, retryStrategy: new BackoffRetryStrategy({ ...defaultRetrySettings, throttleBaseMs: 0, transientBaseMs: 0 }) });
  const ec2Calls = new Map<string, number>();
  ec2.middlewareStack.add((next, context) => async (args) => {
    const api = (context.commandName ?? 'Unknown').replace(/Command$/, '');
    ec2Calls.set(api, (ec2Calls.get(api) ?? 0) + 1);
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

    const settle = async (): Promise<void> => {
      for (let i = 0; i < MAX_ITERATIONS_PER_SETTLE; i++) {
        const r = await manager.runIteration();
        const failed = r.outcomes.find((o) => o.error);
        if (failed?.error) throw failed.error;
        if (r.changed) clock.advance(config.timers.poolIntervalMs);
        else if (r.retryAt !== undefined) clock.advanceTo(r.retryAt);
        else return;
      }
      throw new PodnetError('FAILED', `the pool did not settle within ${MAX_ITERATIONS_PER_SETTLE} iterations`,
        'this is a bug in podnet\'s pool manager; please report it with the command you ran');
    };

    await settle();
    let refusedPods = 0;
    for (let pod = 1; pod <= opts.pods; pod++) {
      const assigned = datastore.assign({ networkName: 'aws-cni', containerId: `simulated-pod-${pod}`, ifName: 'eth0' }, {}, clock.now());
      if (!assigned) refusedPods++;
      await settle();
    }

    const snap = datastore.snapshot(clock.now());
    const stats = datastore.stats(clock.now());
    const active = (prefix: boolean) => prefix === config.prefixDelegation;
    const result: SimulationResult = {
      enis: snap.enis.length,
      ipsPerEni: snap.enis.map((e) => e.cidrs.filter((c) => active(c.prefix)).reduce((n, c) => n + c.size, 0)),
      ...(config.prefixDelegation ? { prefixesPerEni: snap.enis.map((e) => e.cidrs.filter((c) => c.prefix).length) } : {}),
      totalIps: stats.totalIps,
      unusedIps: stats.totalIps - stats.assignedIps,
      refusedPods,
      ec2Calls: Object.fromEntries([...ec2Calls.entries()].sort(([a], [b]) => a.localeCompare(b))),
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
