/** The pool's gauges (awscni_eni_max, awscni_ip_max, … spec §6.6) and the log's one-line summary, from a snapshot. */
import { ipStats, type PoolLimits, type PoolSnapshot } from '../ipam/index.js';
import type { PoolGauges } from './metrics.js';

/** `limits` is undefined until node init knows the instance type: the maxima read 0 until then. */
export function poolGauges(s: PoolSnapshot, limits: PoolLimits | undefined): PoolGauges {
  const stats = ipStats(s);
  const eniMax = limits ? limits.maxEni - limits.unmanagedEnis : 0;
  return {
    eniMax,
    ipMax: limits ? limits.maxIpsPerEni * eniMax : 0,
    enisAllocated: s.enis.length,
    totalIps: stats.totalIps,
    assignedIps: stats.assignedIps,
    totalPrefixes: stats.totalPrefixes,
    assignedPerCidr: s.enis.flatMap((e) => e.cidrs.map((c) => ({ cidr: c.cidr, assigned: c.assigned }))),
    assignedPerEni: s.enis.map((e) => ({ eni: e.id, assigned: e.cidrs.reduce((n, c) => n + c.assigned, 0) })),
  };
}

export function poolSummary(s: PoolSnapshot): string {
  const st = ipStats(s);
  return `${s.enis.length} ENI(s), ${st.totalIps} addresses, ${st.assignedIps} assigned${s.prefixDelegation ? `, ${st.totalPrefixes} prefix(es)` : ''}`;
}
