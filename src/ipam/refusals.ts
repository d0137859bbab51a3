/**
 * `pool simulate`'s answers about limits: which limit refused a pod, and a minimum the node can never reach. The
 * node's capacity comes from src/limits (maxPods' or windowsLimits' breakdown), so these agree with `podnet max-pods`.
 */
import type { PodnetError } from '../lib/index.js';
import type { PoolSnapshot } from './datastore.js';
import type { PoolConfig, PoolLimits } from './pool.js';

/** Why pods were refused: one entry per reason, in the order the reasons first occurred. */
export interface Refusal {
  /**
   * max-pods, eni-limit (every ENI full, no room for another; on Windows the one ENI), max-eni (MAX_ENI below the
   * instance's limit), trunk-slot (ENABLE_POD_ENI holds an ENI slot for the trunk), subnet-exhausted, no-free-prefix,
   * cooldown-only, ec2-throttled, no-free-address (the pool's targets keep it from growing).
   */
  readonly reason: string;
  readonly pods: number;
  /** The first refused pod's number (1-based). */
  readonly firstPod: number;
  /** The explanation with the numbers, as ipamd would give it for the first refused pod. */
  readonly message: string;
}

/** The pod addresses a node can hold, from src/limits' breakdown. */
export interface NodeCapacity {
  readonly os: 'linux' | 'windows';
  /** ENIs that carry pod addresses (after MAX_ENI, custom networking and the trunk slot; 1 on Windows). */
  readonly enisForPods: number;
  /** ENIs the default network card allows (1 on Windows: the primary ENI is the only one for pods). */
  readonly enisOnDefaultCard: number;
  /** Pod addresses per ENI (16 per prefix with prefix delegation). */
  readonly podIpsPerEni: number;
}

/** A minimum IP target (MINIMUM_IP_TARGET, or the controller's minimum-ip-target) the node can never reach. */
export function capacityWarnings(instanceType: string, cap: NodeCapacity, c: PoolConfig, l: PoolLimits, minimumName: string): string[] {
  const capacity = cap.enisForPods * cap.podIpsPerEni;
  const of = cap.enisForPods < cap.enisOnDefaultCard ? ` of ${cap.enisOnDefaultCard} ENIs` : '';
  const how = `${cap.enisForPods} ENI(s) × ${cap.podIpsPerEni} ${c.prefixDelegation ? 'addresses in prefixes' : 'addresses'}${of}`;
  if (c.minimumIpTarget > capacity) {
    return [`${minimumName}=${c.minimumIpTarget} is above the ${capacity} pod addresses ${instanceType} can hold (${how}); the pool stops at ${Math.min(capacity, l.maxPods)} and never reaches its minimum`];
  }
  if (c.minimumIpTarget > l.maxPods) {
    return [`${minimumName}=${c.minimumIpTarget} is above max pods ${l.maxPods}; the pool stops growing once it holds ${l.maxPods} addresses`];
  }
  return [];
}

/** The refusal reason for `whyNoAddress`'s answer, with the ENI limit split by what set it. */
export function explainRefusal(why: PodnetError, s: PoolSnapshot, c: PoolConfig, l: PoolLimits, cap: NodeCapacity): Omit<Refusal, 'pods' | 'firstPod'> {
  if (cap.os === 'windows') {
    // max pods is the one ENI's capacity on Windows: reaching it is the ENI's limit; only a lower --max-pods is its own
    const capacity = cap.podIpsPerEni;
    if (why.code === 'ENI_LIMIT' || (why.code === 'MAX_PODS' && l.maxPods >= capacity)) {
      return { reason: 'eni-limit', message: `all ${capacity} pod addresses of the node's one ENI are in use: a Windows node has one ENI for pods, and the scheduler places no more pods that need an address` };
    }
    return { reason: reasonOf(why), message: why.message };
  }
  if (why.code !== 'ENI_LIMIT') return { reason: reasonOf(why), message: why.message };
  const custom = c.customNetworking ? '; with custom networking the primary ENI holds no pod addresses' : '';
  if (l.trunkingCompatible && c.podEni && !s.enis.some((e) => e.trunk)) {
    return { reason: 'trunk-slot', message: `${why.message}; one more ENI slot is held for the trunk ENI of security groups for pods (ENABLE_POD_ENI=true)${custom}` };
  }
  if (c.maxEni >= 1 && c.maxEni < cap.enisOnDefaultCard) {
    return { reason: 'max-eni', message: `${why.message}; MAX_ENI=${c.maxEni} caps the ENIs below the instance's ${cap.enisOnDefaultCard}${custom}` };
  }
  return { reason: 'eni-limit', message: `${why.message}${custom}` };
}

function reasonOf(why: PodnetError): string {
  return why.code.toLowerCase().replaceAll('_', '-');
}
