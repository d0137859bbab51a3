/**
 * ipam: the IP address manager's core (spec §4–§7). The datastore holds ENIs, CIDRs and pod assignments; pool.ts
 * decides, purely, when and how the pool grows or shrinks; the executor performs those decisions through the cloud;
 * the manager runs one pool iteration; checkpoint.ts keeps assignments across restarts; simulate.ts runs the pool
 * against a simulated cloud and a fake clock.
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
  hasTrunkRoom,
  initialTimestamps,
  isInsufficientCidrCode,
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
export { FakeClock, systemClock, type Clock } from './clock.js';
export {
  CloudError,
  THROTTLING_CODES,
  cloudErrorCode,
  type AddressCount,
  type AddressRelease,
  type AddressUnit,
  type AttachEniRequest,
  type Cloud,
  type CloudApi,
  type CloudEni,
  type CloudEniAttachment,
  type CloudInstance,
  type CloudSubnet,
  type CloudTags,
  type CreateEniRequest,
  type EniFilters,
  type InstanceEni,
  type IpFamily,
} from './cloud.js';
export { CloudCallCounter, type CloudCall, type IpamMetrics } from './metrics.js';
export {
  PoolExecutor,
  ownerTags,
  rfc3339,
  CLUSTER_NAME_TAG,
  CREATED_AT_TAG,
  ENI_DESCRIPTION_PREFIX,
  INSTANCE_ID_TAG,
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
  startPoolNode,
  type PoolNodeSetup,
  type FleetAddresses,
  type SimulatedOs,
  type SimulateOptions,
  type SimulationResult,
  type SimulatedNode,
  type SimulationSetup,
  type StartSimulatedCloud,
} from './simulate.js';
