import { PodnetError } from '../lib/index.js';
import { IPS_PER_PREFIX, enisOnDefaultCard, lookupInstanceType, maxIpsPerEni, supportsPrefixDelegation } from './table.js';
import { trunkLimits, type TrunkLimits } from './trunk.js';
import { vcpuCount } from './vcpus.js';

/** The node settings that change max pods (§4.16, §5.1, §5.2). */
export interface MaxPodsOptions {
  /** ENABLE_PREFIX_DELEGATION: each IP slot of an ENI holds a /28 prefix instead of one address. */
  readonly prefixDelegation?: boolean;
  /** AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: the primary ENI gets no pod addresses. */
  readonly customNetworking?: boolean;
  /** ENABLE_POD_ENI: on a trunking-compatible type the trunk ENI takes one ENI slot and holds no pod addresses. */
  readonly securityGroupsForPods?: boolean;
  /** MAX_ENI: caps ENIs per node; values below 1 or at/above the limit change nothing (§4.2). */
  readonly maxEni?: number;
  /**
   * vCPUs of the node: applies the EKS calculator's ceiling (110 up to 30 vCPUs, else 250) with this count. Without
   * it, prefix delegation applies the ceiling with the type's count from data/instance-vcpus.json.
   */
  readonly cpus?: number;
  /**
   * Show the formula's figure without the vCPU ceiling (the calculator's --show-max-allowed). Only with
   * prefixDelegation, the one case that has a ceiling by default; alone it is a usage error.
   */
  readonly noCap?: boolean;
}

/** The EKS max-pods calculator's ceiling and the vCPU count it was chosen by. */
export interface MaxPodsCap {
  readonly cpus: number;
  /** Where the vCPU count came from: --cpus, or data/instance-vcpus.json. */
  readonly cpusFrom: 'option' | 'data';
  readonly limit: 110 | 250;
  /** Whether the ceiling lowered the figure. */
  readonly applied: boolean;
}

/** How a max-pods number came about, so a person (or a script) can check the arithmetic. */
export interface MaxPodsBreakdown {
  readonly instanceType: string;
  readonly os: 'linux';
  readonly maxPods: number;
  /** ENIs the default network card allows (other cards are not counted, §4.16). */
  readonly enisOnDefaultCard: number;
  /** ENIs that carry pod addresses after MAX_ENI, custom networking and the SGP trunk. */
  readonly enisForPods: number;
  /** IPv4 addresses per ENI including the primary (IPv4Limit). */
  readonly ipv4PerEni: number;
  /** Pod addresses per ENI: IPv4Limit − 1, times 16 with prefix delegation. */
  readonly podIpsPerEni: number;
  /** Whether prefix delegation was asked for and whether it is in effect (it needs Nitro or bare metal). */
  readonly prefixDelegation: { readonly requested: boolean; readonly effective: boolean };
  /** Host-network pods (aws-node, kube-proxy) that need no VPC address. */
  readonly hostNetworkPods: 2;
  /** The formula's result before the vCPU ceiling. */
  readonly uncapped: number;
  /** The calculator's vCPU ceiling: with --cpus, or by default with prefix delegation when the vCPU count is known. */
  readonly cap: MaxPodsCap | null;
  /** The type's vCPU count from data/instance-vcpus.json; null when the dataset does not list it. */
  readonly vcpus: number | null;
  /** With security groups for pods: the trunk facts and whether an ENI slot is held for the trunk. */
  readonly trunk: (TrunkLimits & { readonly slotHeld: boolean }) | null;
  /**
   * With security groups for pods: branch capacity beside IP capacity — the `vpc.amazonaws.com/pod-eni` extended
   * resource the controller advertises (the type's branch limit; 0 when it cannot trunk; null for a type the
   * controller's table does not list). Pods with their own groups count against it, not against maxPods' addresses.
   * Absent without --security-groups-for-pods.
   */
  readonly podEni?: number | null;
  /** The arithmetic in words, e.g. `3 ENIs × (4 − 1) IPs + 2`. */
  readonly formula: string;
  /** Why the ENI count differs from the card's limit, and fallbacks (e.g. PD on a Xen instance). */
  readonly notes: readonly string[];
}

/** Host-network pods counted on top of the VPC addresses (§4.16). */
const HOST_NETWORK_PODS = 2;

/** Max pods of an instance type, following upstream's table and the EKS max-pods calculator (§4.16). */
export function maxPods(instanceType: string, opts: MaxPodsOptions = {}): MaxPodsBreakdown {
  const limits = lookupInstanceType(instanceType);
  if (opts.cpus !== undefined && !(Number.isInteger(opts.cpus) && opts.cpus >= 1)) {
    throw new PodnetError('USAGE', `vCPU count must be a whole number ≥ 1, got ${opts.cpus}`, 'pass the node\'s vCPU count, e.g. --cpus 2');
  }
  if (opts.cpus !== undefined && opts.noCap) {
    throw new PodnetError('USAGE', `--cpus ${opts.cpus} asks for the vCPU ceiling and --no-cap for none`, 'drop --no-cap to apply the ceiling for that vCPU count, or drop --cpus for the raw figure');
  }
  // without prefix delegation no ceiling is applied unless --cpus asks for one, so --no-cap would change nothing
  if (opts.noCap && !opts.prefixDelegation) {
    throw new PodnetError('USAGE', '--no-cap changes nothing without --prefix-delegation: secondary-IP figures (eni-max-pods.txt\'s) are never capped', 'drop --no-cap, or add --prefix-delegation for the raw prefix-delegation figure');
  }
  if (opts.maxEni !== undefined && !Number.isInteger(opts.maxEni)) {
    throw new PodnetError('USAGE', `MAX_ENI must be a whole number, got ${opts.maxEni}`, 'pass a whole number of ENIs, e.g. --max-eni 2');
  }
  const notes: string[] = [];
  const cardEnis = enisOnDefaultCard(limits);
  if (limits.NetworkCards.length > 1) {
    notes.push(`only the default network card's ${cardEnis} ENIs count; the other ${limits.NetworkCards.length - 1} cards carry no pod addresses without multi-NIC`);
  }

  let enis = cardEnis;
  let enisSource = `${cardEnis} on the default card`;
  const adjustments: string[] = [];
  /** Said beside the ENI count even when it is the card's limit. */
  const remarks: string[] = [];
  // §4.2: MAX_ENI applies only when it is at least 1 and below the limit.
  if (opts.maxEni !== undefined && opts.maxEni >= 1 && opts.maxEni < cardEnis) {
    enis = opts.maxEni;
    enisSource = `MAX_ENI ${opts.maxEni} of ${cardEnis}`;
  }
  if (opts.customNetworking) {
    enis -= 1; // §5.1: the primary ENI stays in the node's subnet and gets no pod addresses
    adjustments.push('−1 primary ENI for custom networking');
  }
  let trunk: MaxPodsBreakdown['trunk'] = null;
  if (opts.securityGroupsForPods) {
    const t = trunkLimits(instanceType);
    trunk = { ...t, slotHeld: t.trunkingCompatible };
    if (t.trunkingCompatible) {
      enis -= 1; // §5.2: the trunk ENI occupies a slot on card 0 and is never used for pod IPs
      adjustments.push('−1 trunk ENI for security groups for pods');
    } else {
      remarks.push('no trunk slot: not trunking-compatible');
    }
    notes.push(trunkNote(instanceType, t));
  }
  if (enis < 0) enis = 0;
  if (enis === 0) notes.push('no ENI is left for pod addresses; only host-network pods fit');

  const pdSupported = supportsPrefixDelegation(limits);
  const pd = Boolean(opts.prefixDelegation) && pdSupported;
  if (opts.prefixDelegation && !pdSupported) {
    // upstream only enables PD on Nitro or bare metal and otherwise keeps secondary IPs (§8, calculator in §4.16)
    notes.push(`prefix delegation needs a Nitro or bare-metal instance (${instanceType} is ${limits.HypervisorType}); falling back to secondary IPs as upstream does`);
  }
  const podIpsPerEni = maxIpsPerEni(limits, pd);
  const uncapped = enis * podIpsPerEni + HOST_NETWORK_PODS;

  const vcpus = vcpuCount(instanceType) ?? null;
  let cap: MaxPodsCap | null = null;
  if (opts.cpus !== undefined) {
    cap = calculatorCap(opts.cpus, 'option', uncapped);
  } else if (opts.prefixDelegation && !opts.noCap) {
    // The EKS max-pods calculator caps every figure it prints unless --show-max-allowed (§4.16); the AMI runs it for
    // prefix delegation, while secondary-IP nodes take eni-max-pods.txt's uncapped figure.
    if (vcpus === null) {
      notes.push(`data/instance-vcpus.json has no vCPU count for ${instanceType}, so the EKS calculator's 110/250 ceiling is not applied; pass --cpus N to apply it`);
    } else {
      cap = calculatorCap(vcpus, 'data', uncapped);
      notes.push(`with prefix delegation the EKS max-pods calculator and AMI cap max pods at 110 up to 30 vCPUs, else 250; ${instanceType} has ${vcpus} vCPU${vcpus === 1 ? '' : 's'} (data/instance-vcpus.json); --no-cap shows the raw ${uncapped}`);
    }
  }
  const result = cap ? Math.min(uncapped, cap.limit) : uncapped;

  const enisWord = `${enis} ENI${enis === 1 ? '' : 's'}`;
  const changed = enis === cardEnis ? [] : [enisSource, ...adjustments];
  const enisText = changed.length + remarks.length === 0 ? enisWord : `${enisWord} (${[...changed, ...remarks].join('; ')})`;
  const perEni = pd ? `(${limits.IPv4Limit} − 1) prefixes × ${IPS_PER_PREFIX} IPs` : `(${limits.IPv4Limit} − 1) IPs`;
  let formula = `${enisText} × ${perEni} + ${HOST_NETWORK_PODS}`;
  if (cap) {
    const rule = `${cap.cpus} vCPU${cap.cpus === 1 ? '' : 's'} ${cap.cpus > 30 ? '> 30' : '≤ 30'}`;
    formula += cap.applied ? ` = ${uncapped}, capped at ${cap.limit} (${rule})` : ` (under the ${cap.limit} cap for ${rule})`;
  }
  return {
    instanceType,
    os: 'linux',
    maxPods: result,
    enisOnDefaultCard: cardEnis,
    enisForPods: enis,
    ipv4PerEni: limits.IPv4Limit,
    podIpsPerEni,
    prefixDelegation: { requested: Boolean(opts.prefixDelegation), effective: pd },
    hostNetworkPods: HOST_NETWORK_PODS,
    uncapped,
    cap,
    vcpus,
    trunk,
    ...(trunk && { podEni: trunk.branchInterfaces }),
    formula,
    notes,
  };
}

/** The calculator's rule: `vCPUs > 30 ? 250 : 110` (max-pods-calculator.sh, §4.16). */
function calculatorCap(cpus: number, cpusFrom: MaxPodsCap['cpusFrom'], uncapped: number): MaxPodsCap {
  const limit = cpus > 30 ? 250 : 110;
  return { cpus, cpusFrom, limit, applied: uncapped > limit };
}

/** What ENABLE_POD_ENI does on this type, from the VPC resource controller's table (§5.2, §8). */
function trunkNote(instanceType: string, t: TrunkLimits): string {
  if (!t.listed) {
    return `the VPC resource controller's table (data/trunk-limits.json) does not list ${instanceType}: the controller attaches no trunk to a type it does not list, so ipamd holds no ENI slot for one and no pod can get its own security groups on it`;
  }
  if (!t.trunkingCompatible) {
    return `${instanceType} is not trunking-compatible: ipamd holds no ENI slot for a trunk and no pod can get its own security groups on it`;
  }
  return `pods with their own security groups use the trunk's ${t.branchInterfaces} branch ENIs; they are not counted here`;
}
