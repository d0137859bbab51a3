export {
  allInstanceTypes,
  enisOnDefaultCard,
  lookupInstanceType,
  maxIpsPerEni,
  maxPrefixesPerEni,
  supportsPrefixDelegation,
  IPS_PER_PREFIX,
  type HypervisorType,
  type InstanceLimits,
  type NetworkCard,
} from './table.js';
export { maxPods, type MaxPodsBreakdown, type MaxPodsOptions } from './max-pods.js';
export { trunkLimits, trunkingCompatible, type TrunkLimits } from './trunk.js';
export { vcpuCount } from './vcpus.js';
export { windowsLimits, type WindowsLimits } from './windows.js';
export { fargateLimits, type FargateLimits } from './fargate.js';
