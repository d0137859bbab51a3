import type { CidrSnapshot, EniSnapshot, PoolSnapshot } from '../../../src/ipam/index.js';
import { upstreamTimers, type PoolConfig, type PoolLimits } from '../../../src/ipam/index.js';

/** A pool config with upstream's code defaults, overridden per test. */
export function poolConfig(over: Partial<PoolConfig> = {}): PoolConfig {
  return {
    warmEniTarget: 1, warmIpTarget: 0, minimumIpTarget: 0, warmPrefixTarget: 0, maxEni: -1,
    prefixDelegation: false, customNetworking: false, podEni: false, ipCooldownMs: 30_000, timers: upstreamTimers, ...over,
  };
}

export function poolLimits(over: Partial<PoolLimits> = {}): PoolLimits {
  return { maxEni: 4, maxIpsPerEni: 14, maxPrefixesPerEni: 0, ipv4Limit: 15, maxPods: 500, trunkingCompatible: true, unmanagedEnis: 0, ...over };
}

/** An ENI with `ips` /32s of which `used` hold pods (or `prefixes` /28s with `used` pods packed in order). */
export interface EniSpec {
  ips?: number;
  prefixes?: number;
  used?: number;
  primary?: boolean;
  createdAt?: number;
  coolingUntil?: number;
  trunk?: boolean;
  excluded?: boolean;
}

export function snapshotOf(enis: EniSpec[], prefixDelegation = false): PoolSnapshot {
  let n = 0;
  return {
    prefixDelegation,
    enis: enis.map((e, i): EniSnapshot => {
      let used = e.used ?? 0;
      const cidrs: CidrSnapshot[] = [];
      for (let k = 0; k < (e.ips ?? 0); k++) {
        const assigned = used > 0 ? 1 : 0;
        used -= assigned;
        cidrs.push({ cidr: `10.0.${i}.${++n}/32`, prefix: false, size: 1, assigned, coolingDown: 0 });
      }
      for (let k = 0; k < (e.prefixes ?? 0); k++) {
        const assigned = Math.min(used, 16);
        used -= assigned;
        cidrs.push({ cidr: `10.1.${i}.${16 * k}/28`, prefix: true, size: 16, assigned, coolingDown: 0 });
      }
      const last = cidrs.length - 1;
      if (e.coolingUntil !== undefined && cidrs[last]) cidrs[last] = { ...cidrs[last], coolingDown: 1, coolingUntil: e.coolingUntil };
      return {
        id: `eni-${i}`, deviceNumber: i, networkCard: 0, primary: e.primary ?? i === 0, trunk: e.trunk ?? false, efa: false,
        excluded: e.excluded ?? false, subnetId: 'subnet-1', subnetCidr: '10.0.0.0/16', primaryIp: `10.0.${i}.250`,
        createdAt: e.createdAt ?? 0, cidrs,
      };
    }),
  };
}
