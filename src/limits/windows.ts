import { IPS_PER_PREFIX, lookupInstanceType, supportsPrefixDelegation } from './table.js';
import { trunkLimits } from './trunk.js';

/** How many pods a Windows node of one instance type can run, and why. */
export interface WindowsLimits {
  readonly instanceType: string;
  readonly os: 'windows';
  /** Windows pods get addresses on the primary ENI only: the VPC resource controller attaches no other ENI. */
  readonly enis: 1;
  /** IPv4 addresses per ENI including the primary (IPv4Limit). */
  readonly ipv4PerEni: number;
  /** Secondary slots on the primary ENI: IPv4Limit − 1, each one address or, with prefix delegation, one /28. */
  readonly slots: number;
  /** Prefix delegation asked for, and in effect (the controller uses prefixes only on Nitro or bare metal). */
  readonly prefixDelegation: { readonly requested: boolean; readonly effective: boolean };
  /** Pod addresses the controller advertises as `vpc.amazonaws.com/PrivateIPv4Address`: slots, × 16 with prefixes. */
  readonly podIps: number;
  /** One address per pod and no host-network pods to add, so this equals podIps. */
  readonly maxPods: number;
  /** The arithmetic in words, e.g. `1 ENI × (4 − 1) IPs`. */
  readonly formula: string;
  readonly notes: readonly string[];
}

/**
 * Windows node capacity as the VPC resource controller computes it (getCapacity in `pkg/provider/ip` and
 * `pkg/provider/prefix`; docs/windows/*_workflow.md): IPv4PerInterface − 1 secondary addresses on the primary ENI,
 * or that many /28 prefixes × 16. Custom networking and security groups for pods do not exist on Windows (§5.6).
 */
export function windowsLimits(instanceType: string, opts: { readonly prefixDelegation?: boolean } = {}): WindowsLimits {
  const limits = lookupInstanceType(instanceType);
  const notes: string[] = [];
  const requested = Boolean(opts.prefixDelegation);
  const effective = requested && supportsPrefixDelegation(limits);
  if (requested && !effective) {
    notes.push(`prefix delegation needs a Nitro or bare-metal instance (${instanceType} is ${limits.HypervisorType}); the VPC resource controller keeps secondary IPs`);
  }
  if (!trunkLimits(instanceType).listed) {
    // The controller reads the same IPv4 limit from its own table and advertises 0 for a type it does not list.
    notes.push(`the VPC resource controller's table (data/trunk-limits.json) does not list ${instanceType}; the controller at that commit advertises no Windows pod addresses for it (0 pods); the figure assumes a controller that lists it`);
  }
  const slots = limits.IPv4Limit - 1;
  const podIps = effective ? slots * IPS_PER_PREFIX : slots;
  const perEni = effective ? `(${limits.IPv4Limit} − 1) prefixes × ${IPS_PER_PREFIX} IPs` : `(${limits.IPv4Limit} − 1) IPs`;
  return {
    instanceType,
    os: 'windows',
    enis: 1,
    ipv4PerEni: limits.IPv4Limit,
    slots,
    prefixDelegation: { requested, effective },
    podIps,
    maxPods: podIps,
    formula: `1 ENI × ${perEni} (Windows: primary ENI only, no host-network pods counted)`,
    notes,
  };
}
