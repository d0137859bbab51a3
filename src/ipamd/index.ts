/**
 * ipamd: the node's IP address manager (spec §4–§7). The datastore holds ENIs, CIDRs and pod assignments; pool.ts
 * decides, purely, when and how the pool grows or shrinks; the executor performs those decisions through
 * @aws-sdk/client-ec2; the manager runs one pool iteration; checkpoint.ts keeps assignments across restarts.
 */
export {
  Datastore,
  MIGRATED_NETWORK_NAME,
  MIGRATED_IF_NAME,
  ipStats,
  type Assignment,
  type CidrSnapshot,
  type DatastoreOptions,
  type DeletableEni,
  type EniInfo,
  type EniKeepTargets,
  type EniSnapshot,
  type IpamKey,
  type IpamMetadata,
  type IpStats,
  type PoolSnapshot,
} from './datastore.js';
export {
  decideFreeEni,
  decidePool,
  initialTimestamps,
  isPoolTooLow,
  poolConfigFrom,
  poolLimitsFrom,
  targetState,
  upstreamTimers,
  whyNoAddress,
  type LastEc2Failure,
  type NoAddressContext,
  type PoolAction,
  type PoolConfig,
  type PoolLimits,
  type PoolTimers,
  type PoolTimestamps,
} from './pool.js';
export {
  checkpointOf,
  checkpointPath,
  parseCheckpoint,
  podLinkSuffix,
  readCheckpoint,
  renderCheckpoint,
  restoreCheckpoint,
  writeCheckpoint,
  type Checkpoint,
  type CheckpointAllocation,
  type RestoreResult,
} from './checkpoint.js';
export { FakeClock, type Clock } from './clock.js';
export {
  PoolExecutor,
  ec2Error,
  rfc3339,
  type ActionOutcome,
  type ExecutorOptions,
  type NodeIdentity,
} from './executor.js';
export { PoolManager, type IterationResult, type PoolManagerOptions } from './manager.js';
export { type Oscillation } from './cycle.js';
export { type Refusal } from './refusals.js';
export { windowsPoolRules, type WindowsPoolRules, type WindowsPoolSettings } from './windows-pool.js';
export {
  fleetAddresses,
  simulatePool,
  type FleetAddresses,
  type SimulatedOs,
  type SimulateOptions,
  type SimulationResult,
  type SimulationSetup,
  type StartSimulatedCloud,
} from './simulate.js';
// the daemon around the core: cloud access, node init/reconcile/loop, CNI backend, introspection, metrics
export { startIpamd, type Ipamd, type StartIpamdOptions } from './daemon.js';
export {
  resolveCloudEndpoints,
  resolveImdsEndpoint,
  createEc2Client,
  BackoffRetryStrategy,
  ec2ErrorCode,
  type CloudEndpoints,
  type RetrySettings,
  type Env as CloudEnv,
} from './cloud.js';
export { ImdsClient, type ImdsEni, type ImdsInstanceFacts } from './imds.js';
export { IpamdNode, type PodAddress, type Log, type LogLevel } from './node.js';
export { createIpamdBackend } from './backend.js';
export { addressOnlyDataplane, type NodeDataplane } from './node-dataplane.js';
export { IpamdMetrics } from './metrics.js';
export { introspectionCommands } from './introspection.js';
export { parseBindAddress, formatBindAddress, type BindAddress } from './http.js';
export { parseEniConfigFile, nodeEniConfigName, selectEniConfig, type EniConfig, type EniConfigFile, type NodeFacts } from './eni-config.js';
export { rankEniSubnets, type SubnetFacts } from './subnets.js';
