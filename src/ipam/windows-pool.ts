/**
 * Windows nodes' pod addresses are managed by the VPC resource controller, not by aws-node: it reads its own keys from
 * the `amazon-vpc-cni` ConfigMap in kube-system and keeps a warm pool of secondary IPs (or /28 prefixes) on the
 * node's primary ENI. Facts from aws/amazon-vpc-resource-controller-k8s at b8d425119bdba371202882b808f202c6073a46cc:
 *
 * - keys (pkg/config/type.go): `enable-windows-ipam`, `enable-windows-prefix-delegation`, `warm-ip-target`,
 *   `minimum-ip-target`, `warm-prefix-target`, each also read as `windows-warm-ip-target`, … when the first is absent;
 * - defaults (pkg/config/loader.go, ParseWinIPTargetConfigs): with no target set, IPv4DefaultWinWarmIPTarget = 3 and
 *   IPv4DefaultWinMinIPTarget = 3 for secondary IPs, IPv4PDDefaultWarmIPTargetSize = 1 and
 *   IPv4PDDefaultMinIPTargetSize = 3 with prefix delegation; an explicit warm-ip-target of 0 becomes 1 in secondary-IP
 *   mode; an absent key counts as 0;
 * - with prefix delegation a target left at 0 beside a set one takes its default (pkg/pool/pool.go, getPDDeviation);
 * - the pool's arithmetic (pool.go, calculateSecondaryIPDeviation and getPDDeviation): short = max(warm − available,
 *   minimum − total), over = min(available − warm, total − minimum), in whole prefixes with prefix delegation — the
 *   formula aws-node uses with WARM_IP_TARGET/MINIMUM_IP_TARGET (§4.5), so ipamd's pool manager with those targets
 *   and one ENI makes the controller's decisions. Its pacing is not the controller's (which reconciles on each pod
 *   event rather than every 5 s, and releases without the 30 s throttle): fake time and EC2 calls are aws-node's.
 *
 * `warm-prefix-target` alone (a pool of whole free prefixes) is not simulated.
 */
import { PodnetError } from '../lib/index.js';

/** The controller's settings as `pool simulate --windows-*` gives them; absent means the ConfigMap key is unset. */
export interface WindowsPoolSettings {
  /** `warm-ip-target` */
  readonly warmIpTarget?: number;
  /** `minimum-ip-target` */
  readonly minimumIpTarget?: number;
  /** `enable-windows-prefix-delegation` */
  readonly prefixDelegation?: boolean;
}

/** The targets the controller runs with after its defaults, and the header text that names them. */
export interface WindowsPoolRules {
  readonly warmIpTarget: number;
  readonly minimumIpTarget: number;
  readonly prefixDelegation: boolean;
  /** e.g. `warm-ip-target=3, minimum-ip-target=3` */
  readonly summary: string;
}

/** The controller's Windows defaults (pkg/config/loader.go). */
const SECONDARY_IP_DEFAULTS = { warmIpTarget: 3, minimumIpTarget: 3 };
const PREFIX_DEFAULTS = { warmIpTarget: 1, minimumIpTarget: 3 };

/** aws-node's pool settings: they do not reach Windows nodes, so a simulation must not pretend they do. */
export const AWS_NODE_POOL_VARIABLES = ['WARM_ENI_TARGET', 'WARM_IP_TARGET', 'MINIMUM_IP_TARGET', 'WARM_PREFIX_TARGET', 'ENABLE_PREFIX_DELEGATION', 'MAX_ENI'] as const;

export function windowsPoolRules(s: WindowsPoolSettings): WindowsPoolRules {
  const prefixDelegation = s.prefixDelegation ?? false;
  let warm = s.warmIpTarget ?? 0;
  let minimum = s.minimumIpTarget ?? 0;
  if (!prefixDelegation && s.warmIpTarget === 0) warm = 1;
  const defaults = prefixDelegation ? PREFIX_DEFAULTS : SECONDARY_IP_DEFAULTS;
  if (warm === 0 && minimum === 0) {
    ({ warmIpTarget: warm, minimumIpTarget: minimum } = defaults);
  } else if (prefixDelegation) {
    if (warm === 0) warm = defaults.warmIpTarget;
    if (minimum === 0) minimum = defaults.minimumIpTarget;
  }
  const keys = [...(prefixDelegation ? ['enable-windows-prefix-delegation=true'] : []), `warm-ip-target=${warm}`, `minimum-ip-target=${minimum}`];
  return { warmIpTarget: warm, minimumIpTarget: minimum, prefixDelegation, summary: keys.join(', ') };
}

/** An aws-node pool variable under --os windows is a usage error that names the controller's keys instead. */
export function refuseAwsNodePoolSettings(env: Readonly<Record<string, string>>): void {
  const given = AWS_NODE_POOL_VARIABLES.filter((name) => env[name] !== undefined);
  if (given.length === 0) return;
  throw new PodnetError('USAGE',
    `${given.join(', ')}: aws-node's pool settings do not drive Windows nodes; the VPC resource controller manages their addresses (one ENI)`,
    'the controller reads the amazon-vpc-cni ConfigMap: warm-ip-target, minimum-ip-target, warm-prefix-target, enable-windows-prefix-delegation (with enable-windows-ipam=true); '
      + 'simulate them with --windows-warm-ip-target, --windows-minimum-ip-target, --windows-prefix-delegation');
}
