import { PodnetError, parseListenAddress } from '../lib/index.js';
import { formatCidr, parseCidr } from '../net/index.js';
import type { BranchVlanLinkMode, DataplaneMode, PodnetConfig, RandomizeSnat } from './types.js';
import { parseAtoi, parseGoBool, parseGoIntBase0, parseStringMap } from './values.js';

/** Who reads a variable upstream (spec §0, §1), or `podnet` for the PODNET_* settings. */
export type Reader = 'ipamd' | 'entrypoint' | 'init' | 'plugin' | 'egress-cni' | 'awsutils' | 'k8s-client' | 'podnet';
export type VariableKind = 'bool' | 'int' | 'string' | 'enum' | 'cidr-list' | 'json-map';

/** What a parser may say about the value it was given; the loader turns it into ConfigProblems and notes. */
export interface ParseContext {
  error(rule: string, message: string, fix: string): void;
  warn(rule: string, message: string, fix: string): void;
  note(text: string): void;
  /** Values of the variables defined earlier in the table (a default may derive from one, e.g. POD_MTU). */
  earlier: Readonly<Partial<PodnetConfig>>;
}

export interface VariableDef {
  name: string;
  field: keyof PodnetConfig;
  kind: VariableKind;
  /** podnet's default text: upstream's manifest value where the manifest sets one, else upstream's code default. */
  default: string | undefined;
  /** Upstream's code default (used when the variable is unset) when it differs from `default`. */
  codeDefault?: string;
  /** Upstream manifest's value when podnet deliberately differs from it. */
  manifestDefault?: string;
  readBy: readonly Reader[];
  description: string;
  podnetOnly?: boolean;
  /** ipamd reads it with os.LookupEnv, so an empty value is a value rather than "unset". */
  emptyIsValue?: boolean;
  /**
   * Taken as given: no value of it is refused, warned about or changes another finding, so not knowing it (a
   * manifest's `valueFrom`) hides nothing from the check.
   */
  unchecked?: boolean;
  /** Why this value has no effect given the rest of the configuration, if it has none. */
  ignoredWhen?: (c: PodnetConfig) => string | undefined;
  /** Text → effective value, with upstream's fallbacks; `undefined` text means unset. */
  parse(text: string | undefined, ctx: ParseContext): unknown;
}

type FieldOf<T> = { [K in keyof PodnetConfig]: PodnetConfig[K] extends T ? K : never }[keyof PodnetConfig];
type Common<F> = Omit<VariableDef, 'field' | 'kind' | 'default' | 'codeDefault' | 'parse'> & { field: F };

const boolSpellings = 'use true or false (Go ParseBool also takes 1/0, t/f, T/F, TRUE/FALSE, True/False)';

/**
 * A boolean parsed like Go's ParseBool; malformed text (an empty value too, where it counts as set) falls back to
 * upstream's code default, which upstream logs and runs with (spec §1), so it is a warning; a PODNET_* one is an error.
 */
function readBool(text: string | undefined, podnetDefault: boolean, upstreamFallback: boolean, ctx: ParseContext, podnetOnly = false): boolean {
  if (text === undefined) return podnetDefault;
  const value = parseGoBool(text);
  if (value !== undefined) return value;
  if (podnetOnly) ctx.error('malformed-bool', `"${text}" is not a boolean; podnet refuses it`, boolSpellings);
  else ctx.warn('malformed-bool', `"${text}" is not a boolean; upstream logs an error and uses ${upstreamFallback}`, boolSpellings);
  return upstreamFallback;
}

function boolVar(d: Common<FieldOf<boolean>> & { default: boolean; codeDefault?: boolean }): VariableDef {
  const { default: podnetDefault, codeDefault, ...rest } = d;
  return {
    ...rest,
    kind: 'bool',
    default: String(podnetDefault),
    ...(codeDefault === undefined ? {} : { codeDefault: String(codeDefault) }),
    parse: (text, ctx) => readBool(text, podnetDefault, codeDefault ?? podnetDefault, ctx, d.podnetOnly),
  };
}

interface IntRange {
  min: number;
  /** The value upstream uses for malformed text and for values below `min`. */
  fallback: number;
  /** For malformed text and values below `min`: `warning` when upstream runs with `fallback`, `error` when it refuses to start. */
  onInvalid: 'warning' | 'error';
  rule: string;
  why: string;
}

/** An integer parsed like Go's strconv.Atoi, with upstream's handling of values below the minimum. */
function intVar(d: Common<FieldOf<number>> & { default: number; codeDefault?: number; range: IntRange }): VariableDef {
  const { range, codeDefault, ...rest } = d;
  return {
    ...rest,
    kind: 'int',
    default: String(d.default),
    ...(codeDefault === undefined ? {} : { codeDefault: String(codeDefault) }),
    parse(text, ctx) {
      if (text === undefined) return d.default;
      const n = parseAtoi(text);
      const report = range.onInvalid === 'error' ? ctx.error : ctx.warn;
      if (n === undefined) {
        report('malformed-int', `"${text}" is not a whole number; ${range.why}`, `set a whole number ≥ ${range.min}, e.g. ${d.default}`);
        return range.fallback;
      }
      if (n < range.min) {
        report(range.rule, `${n} is below ${range.min}; ${range.why}`, `set a whole number ≥ ${range.min}, or unset it for ${d.default}`);
        return range.fallback;
      }
      return n;
    },
  };
}

function stringVar(d: Common<FieldOf<string>> & { default: string; codeDefault?: string; manifestDefault?: string }): VariableDef {
  return { ...d, kind: 'string', unchecked: d.ignoredWhen === undefined, parse: (text) => text ?? d.default };
}

/**
 * A word from a fixed list; an unknown word is malformed and upstream logs it and uses `fallback` (its code default),
 * a warning; for a PODNET_* setting podnet refuses it.
 */
function enumVar<T extends string>(
  d: Common<FieldOf<T>> & { values: readonly T[]; default: T; fallback: T; fallbackWhy: string },
): VariableDef {
  const { values, fallback, fallbackWhy, ...rest } = d;
  return {
    ...rest,
    kind: 'enum',
    parse(text, ctx) {
      if (text === undefined) return d.default;
      if ((values as readonly string[]).includes(text)) return text;
      (d.podnetOnly ? ctx.error : ctx.warn)('unknown-value', `"${text}" is not one of ${values.join(', ')}; ${fallbackWhy}`, `set one of: ${values.join(', ')}`);
      return fallback;
    },
  };
}

/**
 * A comma list of IPv4 CIDRs: each item trimmed and normalised to its network address; invalid and IPv6 items
 * are skipped with an error log, as upstream's parseCIDRString does (spec §1), so they are warnings.
 */
function cidrListVar(d: Common<FieldOf<string[]>>): VariableDef {
  return {
    ...d,
    kind: 'cidr-list',
    default: '',
    parse(text, ctx) {
      const kept: string[] = [];
      for (const item of (text ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '')) {
        let cidr;
        try {
          cidr = parseCidr(item);
        } catch (err) {
          const why = err instanceof PodnetError ? err.message : `"${item}" is not a CIDR`;
          ctx.warn('invalid-cidr-item', `${why}; upstream logs an error and skips the item`, 'write IPv4 CIDRs separated by commas, e.g. 10.0.0.0/8,192.168.0.0/16');
          continue;
        }
        if (cidr.family === 6) {
          ctx.warn('ipv6-cidr-item', `${item} is IPv6; upstream skips IPv6 items here`, 'remove it: only IPv4 CIDRs are used');
          continue;
        }
        const normalised = formatCidr(cidr);
        if (normalised !== item) ctx.note(`${item} normalised to ${normalised}`);
        kept.push(normalised);
      }
      return kept;
    },
  };
}

const warmPoolIgnored = (name: string) => (c: PodnetConfig) => {
  if (c.enableIPv6) return 'IPv6 mode does no warm-pool management';
  if (name === 'WARM_ENI_TARGET' && c.enablePrefixDelegation) return 'prefix delegation uses WARM_PREFIX_TARGET instead';
  if (name === 'WARM_PREFIX_TARGET' && !c.enablePrefixDelegation) return 'it is only read with ENABLE_PREFIX_DELEGATION=true';
  if ((name === 'WARM_ENI_TARGET' || name === 'WARM_PREFIX_TARGET') && (c.warmIpTarget > 0 || c.minimumIpTarget > 0)) {
    return 'WARM_IP_TARGET or MINIMUM_IP_TARGET > 0 overrides it';
  }
  return undefined;
};

const mtuDefault = 9001;

/**
 * MTU text → number; the per-family range is checked once the family is known (see load.ts). The entrypoint reads
 * it with LookupEnv and Atoi, so an empty value stops aws-node like any other non-number.
 */
function mtuParse(name: string, text: string | undefined, fallback: number, ctx: ParseContext): number {
  if (text === undefined) return fallback;
  const n = parseAtoi(text);
  if (n !== undefined) return n;
  ctx.error('malformed-int', `"${text}" is not a whole number; the entrypoint exits 1 ("${name} MUST be a valid integer") and aws-node never starts`, 'set an MTU between 576 and 9001 (1280 and 9001 for IPv6), or remove the variable for 9001');
  return mtuDefault;
}

/** A podnet-only listen address; ipamd refuses to start on one it cannot parse. */
function bindAddressVar(d: Omit<Common<'metricsBindAddress'>, 'readBy'> & { default: string }): VariableDef {
  return {
    ...d,
    kind: 'string',
    podnetOnly: true,
    readBy: ['podnet'],
    parse(text, ctx) {
      if (text === undefined) return d.default;
      if (parseListenAddress(text) !== undefined) return text;
      ctx.error('invalid-bind-address', `"${text}" is not HOST:PORT, :PORT or unix:PATH; podnet ipamd refuses to start`, `e.g. 127.0.0.1:61678, ${d.default} for every interface, or :0 for a free port`);
      return d.default;
    },
  };
}

const logLevels = ['debug', 'info', 'warn', 'error', 'fatal'];

/** Upstream's logger matches levels case-insensitively and logs at DEBUG for any other word [inferred]. */
function logLevelVar(d: Common<'logLevel' | 'pluginLogLevel'> & { default: string; codeDefault?: string }): VariableDef {
  return {
    ...d,
    kind: 'string',
    parse(text, ctx) {
      if (text === undefined) return d.default;
      if (!logLevels.includes(text.toLowerCase())) {
        ctx.warn('unknown-log-level', `"${text}" is not a log level; upstream logs at DEBUG`, `set one of ${logLevels.join(', ')} (any case)`);
      }
      return text;
    },
  };
}

function intervalVar(d: Omit<Common<FieldOf<number>>, 'readBy'> & { default: number; min: number }): VariableDef {
  const { min, ...rest } = d;
  return intVar({
    ...rest,
    podnetOnly: true,
    readBy: ['podnet'],
    range: { min, fallback: d.default, onInvalid: 'error', rule: 'podnet-interval', why: `podnet refuses it and would use ${d.default}` },
  });
}

/**
 * Every variable podnet knows, in display order. Order matters where a value derives from an earlier one
 * (POD_MTU from AWS_VPC_ENI_MTU; the implied flags of ENABLE_IMDS_ONLY_MODE and IPv6).
 */
export const variables: readonly VariableDef[] = [
  // --- address family and pool (spec §1, §4) ---
  boolVar({
    name: 'ENABLE_IPv4', field: 'enableIPv4', default: true, codeDefault: false, readBy: ['ipamd'], emptyIsValue: true,
    description: 'IPv4 pods. Exactly one of ENABLE_IPv4 and ENABLE_IPv6 must be true.',
  }),
  boolVar({
    name: 'ENABLE_IPv6', field: 'enableIPv6', default: false, readBy: ['ipamd', 'init', 'entrypoint'],
    description: 'IPv6 pods: needs prefix delegation, no custom networking, IPv4 off. Not implemented yet in podnet.',
  }),
  boolVar({
    name: 'ENABLE_PREFIX_DELEGATION', field: 'enablePrefixDelegation', default: false, readBy: ['ipamd', 'entrypoint'],
    description: 'Allocate /28 prefixes instead of secondary IPs (/80 in IPv6).',
  }),
  intVar({
    name: 'WARM_ENI_TARGET', field: 'warmEniTarget', default: 1, readBy: ['ipamd'],
    description: "Free addresses to keep, in whole ENIs' worth.",
    ignoredWhen: warmPoolIgnored('WARM_ENI_TARGET'),
    range: { min: 0, fallback: 1, onInvalid: 'warning', rule: 'negative-target', why: 'upstream silently uses 1' },
  }),
  intVar({
    name: 'WARM_IP_TARGET', field: 'warmIpTarget', default: 0, readBy: ['ipamd', 'entrypoint'],
    description: 'Free IPs to keep; >0 overrides WARM_ENI_TARGET and WARM_PREFIX_TARGET.',
    ignoredWhen: warmPoolIgnored('WARM_IP_TARGET'),
    range: { min: 0, fallback: 0, onInvalid: 'warning', rule: 'negative-target', why: 'upstream silently uses 0, as if it were unset' },
  }),
  intVar({
    name: 'MINIMUM_IP_TARGET', field: 'minimumIpTarget', default: 0, readBy: ['ipamd', 'entrypoint'],
    description: 'Floor on total IPs; >0 turns on the warm-IP logic.',
    ignoredWhen: warmPoolIgnored('MINIMUM_IP_TARGET'),
    range: { min: 0, fallback: 0, onInvalid: 'warning', rule: 'negative-target', why: 'upstream silently uses 0' },
  }),
  intVar({
    name: 'WARM_PREFIX_TARGET', field: 'warmPrefixTarget', default: 1, codeDefault: 0, readBy: ['ipamd', 'entrypoint'], emptyIsValue: true,
    description: 'Free /28 prefixes to keep (prefix delegation only).',
    ignoredWhen: warmPoolIgnored('WARM_PREFIX_TARGET'),
    range: { min: 0, fallback: 0, onInvalid: 'warning', rule: 'negative-target', why: 'upstream silently uses 0' },
  }),
  {
    name: 'MAX_ENI', field: 'maxEni', kind: 'int', default: '-1', readBy: ['ipamd'],
    description: 'Cap on ENIs (min with the instance limit); -1 means no cap.',
    parse(text, ctx) {
      if (text === undefined) return -1;
      const n = parseAtoi(text);
      if (n === undefined) {
        ctx.warn('malformed-int', `"${text}" is not a whole number; upstream silently uses no cap`, 'set a whole number ≥ 1, or unset it');
        return -1;
      }
      if (n < 1 && n !== -1) {
        ctx.warn('max-eni-below-1', `${n} is below 1; upstream ignores it and uses no cap (it does not mean "no ENIs")`, 'set a whole number ≥ 1, or unset it');
        return -1;
      }
      return n;
    },
  },
  intVar({
    name: 'IP_COOLDOWN_PERIOD', field: 'ipCooldownPeriodSeconds', default: 30, readBy: ['ipamd', 'entrypoint'], emptyIsValue: true,
    description: 'Seconds a freed pod IP waits before reuse.',
    range: { min: 0, fallback: 30, onInvalid: 'error', rule: 'ip-cooldown-period', why: 'the entrypoint exits 1 ("IP_COOLDOWN_PERIOD MUST be a valid positive integer") and aws-node never starts' },
  }),
  // --- SNAT and host rules (spec §2) ---
  boolVar({
    name: 'AWS_VPC_K8S_CNI_EXTERNALSNAT', field: 'externalSnat', default: false, readBy: ['ipamd'],
    description: 'No SNAT on the node: an external NAT device translates pod traffic.',
  }),
  cidrListVar({
    name: 'AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS', field: 'excludeSnatCidrs', readBy: ['ipamd'],
    description: 'IPv4 CIDRs pod traffic reaches without SNAT (RETURN rules in the SNAT and connmark chains).',
    ignoredWhen: (c) =>
      c.enableIPv6 ? 'IPv6 mode programs no SNAT rules'
      : c.externalSnat ? 'AWS_VPC_K8S_CNI_EXTERNALSNAT=true removes the SNAT rules'
      : undefined,
  }),
  enumVar<RandomizeSnat>({
    name: 'AWS_VPC_K8S_CNI_RANDOMIZESNAT', field: 'randomizeSnat', values: ['prng', 'hashrandom', 'none'], default: 'prng',
    fallback: 'prng', fallbackWhy: 'upstream logs an error and uses prng', readBy: ['ipamd', 'egress-cni'],
    description: 'SNAT port selection: prng = --random-fully, hashrandom = --random, none = no flag.',
    ignoredWhen: (c) => (c.externalSnat && !c.enableIPv6 && !c.enableV6Egress ? 'AWS_VPC_K8S_CNI_EXTERNALSNAT=true removes the SNAT rule it shapes' : undefined),
  }),
  boolVar({
    name: 'AWS_VPC_CNI_NODE_PORT_SUPPORT', field: 'nodePortSupport', default: true, readBy: ['ipamd'],
    description: 'Connmark rules so NodePort replies leave through the primary ENI.',
  }),
  {
    name: 'AWS_VPC_K8S_CNI_CONNMARK', field: 'connmark', kind: 'int', default: '0x80', readBy: ['ipamd'],
    description: 'Connection mark and mask (Go ParseInt base 0: 0x.., 0o.., 0b.., decimal).',
    parse(text, ctx) {
      if (text === undefined) return 0x80;
      const n = parseGoIntBase0(text);
      if (n === undefined) {
        ctx.warn('malformed-connmark', `"${text}" is not an integer; upstream silently uses 0x80`, 'write the mark as hex (0x80), octal (0o200) or decimal (128)');
        return 0x80;
      }
      if (n <= 0 || n > 0xffffffff) {
        ctx.warn('connmark-out-of-range', `${text} is outside 1..0xffffffff; upstream silently uses 0x80`, 'set a mark between 0x1 and 0xffffffff');
        return 0x80;
      }
      return n;
    },
  },
  cidrListVar({
    name: 'AWS_EXTERNAL_SERVICE_CIDRS', field: 'externalServiceCidrs', readBy: ['ipamd'],
    description: 'IPv4 CIDRs routed through the main table (ip rule priority 1535).',
  }),
  // --- pod wiring (spec §3, §1.1) ---
  {
    name: 'AWS_VPC_K8S_CNI_VETHPREFIX', field: 'vethPrefix', kind: 'string', default: 'eni', emptyIsValue: true,
    readBy: ['ipamd', 'entrypoint', 'plugin'],
    description: 'Host-side veth name prefix: at most 4 characters, not eth, lo or vlan.',
    parse(text, ctx) {
      if (text === undefined) return 'eni';
      if (text.length > 4) {
        ctx.error('veth-prefix-too-long', `"${text}" is ${text.length} characters; the entrypoint refuses more than 4`, 'use at most 4 characters, e.g. eni');
      } else if (['eth', 'lo', 'vlan'].includes(text)) {
        ctx.error('veth-prefix-reserved', `"${text}" is reserved; the entrypoint refuses eth, lo and vlan`, 'use another prefix, e.g. eni');
      } else if (text === '') {
        ctx.warn('veth-prefix-empty', 'empty prefix: ipamd accepts it (os.LookupEnv), so its rules match every interface (-i +)', 'unset it or set eni');
      }
      return text;
    },
  },
  {
    name: 'AWS_VPC_ENI_MTU', field: 'eniMtu', kind: 'int', default: String(mtuDefault), readBy: ['ipamd', 'entrypoint'], emptyIsValue: true,
    description: 'MTU of every ENI; also the default pod MTU.',
    parse: (text, ctx) => mtuParse('AWS_VPC_ENI_MTU', text, mtuDefault, ctx),
  },
  {
    name: 'POD_MTU', field: 'podMtu', kind: 'int', default: undefined, readBy: ['entrypoint', 'plugin'], emptyIsValue: true,
    description: 'MTU of the pod veth (conflist mtu); defaults to AWS_VPC_ENI_MTU.',
    parse(text, ctx) {
      if (text === undefined) ctx.note('from AWS_VPC_ENI_MTU');
      return mtuParse('POD_MTU', text, ctx.earlier.eniMtu ?? mtuDefault, ctx);
    },
  },
  boolVar({
    name: 'DISABLE_TCP_EARLY_DEMUX', field: 'disableTcpEarlyDemux', default: false, readBy: ['init'],
    description: '`podnet init` sets net.ipv4.tcp_early_demux to 0 when true, 1 otherwise (0 is needed for kubelet probes of SG-for-pods pods).',
  }),
  boolVar({
    name: 'ENABLE_BANDWIDTH_PLUGIN', field: 'enableBandwidthPlugin', default: false, readBy: ['entrypoint'],
    description: 'Append the bandwidth plugin to the conflist.',
  }),
  boolVar({
    name: 'DISABLE_POD_V6', field: 'disablePodV6', default: false, readBy: ['entrypoint'],
    description: 'Chain the tuning plugin in the conflist, disabling IPv6 inside pods (all, default and lo).',
  }),
  boolVar({
    name: 'ENABLE_V4_EGRESS', field: 'enableV4Egress', default: true, readBy: ['entrypoint'],
    description: 'IPv6 cluster: IPv4 egress through egress-cni (v4if0). Not implemented yet in podnet.',
    ignoredWhen: (c) => (c.enableIPv6 ? undefined : 'it only applies to IPv6 clusters'),
  }),
  boolVar({
    name: 'ENABLE_V6_EGRESS', field: 'enableV6Egress', default: false, readBy: ['init', 'ipamd', 'entrypoint'],
    description: 'IPv4 cluster: IPv6 egress through egress-cni (v6if0). Not implemented yet in podnet.',
    ignoredWhen: (c) => (c.enableIPv6 ? 'it only applies to IPv4 clusters' : undefined),
  }),
  // --- modes (spec §5) ---
  boolVar({
    name: 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG', field: 'customNetworkCfg', default: false, readBy: ['ipamd', 'awsutils'],
    description: 'New ENIs use the subnet and SGs of the node\'s ENIConfig. Not with IPv6.',
  }),
  stringVar({
    name: 'ENI_CONFIG_ANNOTATION_DEF', field: 'eniConfigAnnotationDef', default: 'k8s.amazonaws.com/eniConfig', readBy: ['ipamd'],
    description: 'Node annotation key naming the ENIConfig.',
    ignoredWhen: (c) => (c.customNetworkCfg ? undefined : 'it is only read with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true'),
  }),
  stringVar({
    name: 'ENI_CONFIG_LABEL_DEF', field: 'eniConfigLabelDef', default: 'k8s.amazonaws.com/eniConfig', readBy: ['ipamd'],
    description: 'Node label key naming the ENIConfig (e.g. topology.kubernetes.io/zone).',
    ignoredWhen: (c) => (c.customNetworkCfg ? undefined : 'it is only read with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true'),
  }),
  boolVar({
    name: 'ENABLE_POD_ENI', field: 'enablePodEni', default: false, readBy: ['ipamd', 'entrypoint'],
    description: 'Security groups for pods: reserves an ENI slot for the trunk.',
  }),
  {
    name: 'POD_SECURITY_GROUP_ENFORCING_MODE', field: 'podSecurityGroupEnforcingMode', kind: 'enum', default: 'strict',
    readBy: ['ipamd', 'entrypoint', 'plugin'], emptyIsValue: true,
    description: 'strict or standard: how branch-ENI pods route.',
    ignoredWhen: (c) => (c.enablePodEni ? undefined : 'it is only used with ENABLE_POD_ENI=true'),
    parse(text, ctx) {
      if (text === undefined || text === 'strict' || text === 'standard') return text ?? 'strict';
      // the entrypoint reads it with LookupEnv and checks it only with ENABLE_POD_ENI; ipamd maps any other word to strict
      if (ctx.earlier.enablePodEni) {
        ctx.error('pod-eni-sg-mode', `"${text}" is not strict or standard; with ENABLE_POD_ENI=true the entrypoint exits 1 ("POD_SECURITY_GROUP_ENFORCING_MODE must be set to either 'strict' or 'standard'") and aws-node never starts`, 'set strict or standard');
      } else if (text !== '') {
        ctx.warn('unknown-value', `"${text}" is not strict or standard; ipamd silently uses strict`, 'set strict or standard');
      }
      return 'strict';
    },
  },
  boolVar({
    name: 'ENABLE_SUBNET_DISCOVERY', field: 'enableSubnetDiscovery', default: true, readBy: ['ipamd', 'awsutils'],
    description: 'New ENIs go to the tagged same-AZ subnet with the most free IPs.',
  }),
  boolVar({
    name: 'ENABLE_MULTI_NIC', field: 'enableMultiNic', default: false, readBy: ['ipamd'],
    description: 'Manage network cards > 0. Not implemented yet in podnet (it manages card 0).',
  }),
  boolVar({
    name: 'AWS_MANAGE_ENIS_NON_SCHEDULABLE', field: 'manageEnisNonSchedulable', default: false, readBy: ['ipamd'],
    description: 'Attach and free ENIs even on a node tainted unschedulable (cordoned). Needs the Kubernetes API server (without it ipamd cannot see the taint).',
  }),
  boolVar({
    name: 'ENABLE_IMDS_ONLY_MODE', field: 'enableImdsOnlyMode', default: false, readBy: ['ipamd', 'awsutils'],
    description: 'Discover ENIs from IMDS only; implies no provisioning and no leaked-ENI cleanup.',
  }),
  {
    name: 'DISABLE_NETWORK_RESOURCE_PROVISIONING', field: 'disableNetworkResourceProvisioning', kind: 'bool', default: 'false',
    readBy: ['ipamd'],
    description: 'No pool increase/decrease, tagging or pre-scaling: only reconcile with IMDS.',
    parse(text, ctx) {
      const own = readBool(text, false, false, ctx);
      if (own === false && ctx.earlier.enableImdsOnlyMode) {
        ctx.note('forced on by ENABLE_IMDS_ONLY_MODE');
        return true;
      }
      return own;
    },
  },
  {
    name: 'DISABLE_LEAKED_ENI_CLEANUP', field: 'disableLeakedEniCleanup', kind: 'bool', default: 'false', readBy: ['ipamd'],
    description: 'Stop the hourly leaked-ENI garbage collection.',
    parse(text, ctx) {
      const own = readBool(text, false, false, ctx);
      if (own) return true;
      const { enableIPv6, disableNetworkResourceProvisioning, enableImdsOnlyMode } = ctx.earlier;
      const by = enableIPv6 ? 'ENABLE_IPv6' : enableImdsOnlyMode ? 'ENABLE_IMDS_ONLY_MODE' : disableNetworkResourceProvisioning ? 'DISABLE_NETWORK_RESOURCE_PROVISIONING' : undefined;
      if (by === undefined) return false;
      ctx.note(`forced on by ${by}`);
      return true;
    },
  },
  boolVar({
    name: 'MANAGE_UNTAGGED_ENI', field: 'manageUntaggedEni', default: true, readBy: ['ipamd'],
    description: 'false: ENIs without this instance\'s tag are left alone.',
  }),
  boolVar({
    name: 'ANNOTATE_POD_IP', field: 'annotatePodIp', default: false, readBy: ['ipamd'],
    description: 'Annotate pods with vpc.amazonaws.com/pod-ips on ADD (emptied on DEL). Needs the Kubernetes API server and `patch pods`.',
  }),
  {
    name: 'NETWORK_POLICY_ENFORCING_MODE', field: 'networkPolicyEnforcingMode', kind: 'enum', default: '', manifestDefault: 'standard',
    readBy: ['ipamd'], emptyIsValue: true,
    description: 'none, strict or standard (any case); empty = no network policy.',
    parse(text, ctx) {
      if (text === undefined) {
        ctx.note('upstream manifest sets standard; podnet leaves network policy off until it enforces it');
        return '';
      }
      const mode = text.toLowerCase();
      if (mode !== 'none' && mode !== 'strict' && mode !== 'standard') {
        ctx.error('network-policy-mode', `"${text}" is not none, strict or standard; ipamd fails to start ("invalid Network policy mode, supported modes: none, strict, standard")`, 'set none, strict or standard, or remove the variable (unset means no network policy)');
        return '';
      }
      if (mode !== 'none') {
        ctx.warn('network-policy-not-enforced', `podnet does not enforce network policy: "${text}" is accepted but no policy is applied`, 'unset it (or set none) until podnet enforces network policy');
      }
      return mode;
    },
  },
  // --- EC2, tags, identity (spec §7) ---
  {
    name: 'ADDITIONAL_ENI_TAGS', field: 'additionalEniTags', kind: 'json-map', default: '{}', readBy: ['ipamd'],
    description: 'JSON object of extra ENI tags; keys containing k8s.amazonaws.com are dropped.',
    parse(text, ctx) {
      if (text === undefined) return {};
      const tags = parseStringMap(text);
      if (tags === undefined) {
        ctx.warn('additional-eni-tags-json', `${JSON.stringify(text)} is not a JSON object of strings; upstream logs an error and adds no tags`, 'write e.g. {"team":"net","env":"prod"}');
        return {};
      }
      const reserved = Object.keys(tags).filter((k) => k.includes('k8s.amazonaws.com'));
      for (const key of reserved) {
        ctx.warn('additional-eni-tags-reserved-key', `tag key "${key}" contains k8s.amazonaws.com; upstream silently drops it`, 'rename the key');
        delete tags[key];
      }
      return tags;
    },
  },
  stringVar({
    name: 'CLUSTER_NAME', field: 'clusterName', default: '', readBy: ['ipamd'],
    description: 'Tags ENIs with the cluster name; scopes leaked-ENI GC and subnet discovery.',
  }),
  stringVar({
    name: 'CLUSTER_ENDPOINT', field: 'clusterEndpoint', default: '', readBy: ['k8s-client'],
    description: 'API server URL used directly.',
  }),
  {
    name: 'AWS_EC2_ENDPOINT', field: 'ec2Endpoint', kind: 'string', default: '', readBy: ['awsutils'],
    description: 'Custom EC2 endpoint (upstream appears to apply it only to IMDS).',
    parse(text, ctx) {
      if (text === undefined) return '';
      ctx.warn('ec2-endpoint-imds-only', 'upstream v1.23.1 appears to apply AWS_EC2_ENDPOINT to the IMDS client only, not to EC2', 'also set the SDK-standard AWS_ENDPOINT_URL_EC2 to the same URL');
      return text;
    },
  },
  intVar({
    name: 'HTTP_TIMEOUT', field: 'httpTimeoutSeconds', default: 10, readBy: ['awsutils'],
    description: 'Per-request EC2/IMDS HTTP timeout in seconds (values < 10 are ignored).',
    range: { min: 10, fallback: 10, onInvalid: 'warning', rule: 'http-timeout-below-10', why: 'upstream silently uses 10' },
  }),
  stringVar({
    name: 'VPC_CNI_VERSION', field: 'vpcCniVersion', default: '', readBy: ['awsutils'],
    description: 'Added to the EC2 user agent.',
  }),
  stringVar({
    name: 'MY_NODE_NAME', field: 'myNodeName', default: '', readBy: ['ipamd'],
    description: 'This node\'s name (downward API).',
  }),
  stringVar({
    name: 'MY_POD_NAME', field: 'myPodName', default: '', readBy: ['ipamd'],
    description: 'The aws-node pod\'s name (downward API), for events.',
  }),
  // --- files, endpoints, logs (spec §0) ---
  stringVar({
    name: 'AWS_VPC_K8S_CNI_BACKING_STORE', field: 'backingStore', default: '/var/run/aws-node/ipam.json', readBy: ['ipamd'],
    description: 'IPAM checkpoint path.',
  }),
  stringVar({
    name: 'INTROSPECTION_BIND_ADDRESS', field: 'introspectionBindAddress', default: '127.0.0.1:61679', readBy: ['ipamd'],
    description: 'Introspection HTTP address; unix:PATH for a socket.',
  }),
  boolVar({
    name: 'DISABLE_INTROSPECTION', field: 'disableIntrospection', default: false, readBy: ['ipamd'],
    description: 'Do not serve introspection.',
  }),
  boolVar({
    name: 'DISABLE_METRICS', field: 'disableMetrics', default: false, readBy: ['ipamd'],
    description: 'Do not serve Prometheus metrics on :61678.',
  }),
  logLevelVar({
    name: 'AWS_VPC_K8S_CNI_LOGLEVEL', field: 'logLevel', default: 'DEBUG', readBy: ['ipamd'],
    description: 'ipamd log level.',
  }),
  stringVar({
    name: 'AWS_VPC_K8S_CNI_LOG_FILE', field: 'logFile', default: '/host/var/log/aws-routed-eni/ipamd.log', readBy: ['ipamd'],
    description: 'ipamd log file, or stdout/stderr.',
  }),
  {
    name: 'AWS_VPC_K8S_PLUGIN_LOG_FILE', field: 'pluginLogFile', kind: 'string', default: '/var/log/aws-routed-eni/plugin.log',
    readBy: ['entrypoint', 'plugin'],
    description: 'CNI plugin log file (stdout is refused: it would corrupt the CNI result).',
    parse(text, ctx) {
      if (text === undefined) return '/var/log/aws-routed-eni/plugin.log';
      if (text === 'stdout') {
        ctx.error('plugin-log-stdout', 'the entrypoint refuses stdout: the plugin writes its CNI result there', 'use stderr or a file path, e.g. /var/log/aws-routed-eni/plugin.log');
      }
      return text;
    },
  },
  logLevelVar({
    name: 'AWS_VPC_K8S_PLUGIN_LOG_LEVEL', field: 'pluginLogLevel', default: 'DEBUG', codeDefault: 'Debug', readBy: ['entrypoint', 'plugin'],
    description: 'CNI plugin log level.',
  }),
  stringVar({
    name: 'AWS_VPC_K8S_EGRESS_V4_PLUGIN_LOG_FILE', field: 'egressV4PluginLogFile', default: '/var/log/aws-routed-eni/egress-v4-plugin.log',
    readBy: ['entrypoint'], description: 'egress-cni log file in IPv6 clusters.',
  }),
  stringVar({
    name: 'AWS_VPC_K8S_EGRESS_V6_PLUGIN_LOG_FILE', field: 'egressV6PluginLogFile', default: '/var/log/aws-routed-eni/egress-v6-plugin.log',
    readBy: ['entrypoint'], description: 'egress-cni log file in IPv4 clusters.',
  }),
  stringVar({
    name: 'HOST_CNI_BIN_PATH', field: 'hostCniBinPath', default: '/host/opt/cni/bin', readBy: ['init', 'entrypoint'],
    description: 'Where the CNI binaries are installed.',
  }),
  stringVar({
    name: 'HOST_CNI_CONFDIR_PATH', field: 'hostCniConfDirPath', default: '/host/etc/cni/net.d', readBy: ['entrypoint'],
    description: 'Where 10-aws.conflist is written.',
  }),
  // --- podnet-only: timers (spec §9 item 2) for a fast clock, the CNI socket, the lab's routing variant, the daemon ---
  intervalVar({ name: 'PODNET_POOL_INTERVAL_MS', field: 'poolIntervalMs', default: 5000, min: 1, description: 'Pool manager loop period (upstream: 5 s).' }),
  intervalVar({ name: 'PODNET_DECREASE_INTERVAL_MS', field: 'decreaseIntervalMs', default: 30000, min: 1, description: 'Minimum time between pool decreases (upstream: 30 s).' }),
  intervalVar({ name: 'PODNET_RECONCILE_INTERVAL_MS', field: 'reconcileIntervalMs', default: 60000, min: 1, description: 'IMDS/EC2 reconcile period (upstream: 60 s).' }),
  intervalVar({ name: 'PODNET_ENI_MIN_AGE_MS', field: 'eniMinAgeMs', default: 60000, min: 0, description: 'An ENI younger than this is never freed (upstream: 1 min).' }),
  intervalVar({ name: 'PODNET_INSUFFICIENT_CIDR_BACKOFF_MS', field: 'insufficientCidrBackoffMs', default: 120000, min: 0, description: 'Wait after InsufficientCidrBlocks (upstream: 120 s).' }),
  intervalVar({ name: 'PODNET_LEAKED_ENI_INTERVAL_MS', field: 'leakedEniIntervalMs', default: 3600000, min: 1, description: 'Leaked-ENI GC period (upstream: 1 h).' }),
  intervalVar({ name: 'PODNET_LEAKED_ENI_MIN_AGE_MS', field: 'leakedEniMinAgeMs', default: 300000, min: 0, description: 'A detached ENI younger than this is not deleted by the leaked-ENI GC (upstream: 5 min).' }),
  intervalVar({ name: 'PODNET_ENI_LINK_RETRY_MS', field: 'eniLinkRetryMs', default: 3000, min: 0, description: 'Wait between the 5 looks for a new ENI\'s link by MAC (upstream: 3 s).' }),
  intervalVar({ name: 'PODNET_ENI_SETUP_RETRY_MS', field: 'eniSetupRetryMs', default: 10000, min: 0, description: 'Wait between the 5 tries to set up an ENI found at start (upstream: 10 s).' }),
  stringVar({
    name: 'PODNET_CNI_SOCKET', field: 'cniSocket', default: '/var/run/aws-node/ipamd.sock', podnetOnly: true, readBy: ['podnet'],
    description: 'Unix socket between the CNI launcher and ipamd (upstream\'s gRPC socket path).',
  }),
  boolVar({
    name: 'PODNET_PRE_1_8_ROUTING', field: 'pre18Routing', default: false, podnetOnly: true, readBy: ['podnet'],
    description: 'Lab: use the pre-1.8.0 "not to <VPC CIDR> lookup main" pod routing.',
  }),
  bindAddressVar({
    name: 'PODNET_METRICS_BIND_ADDRESS', field: 'metricsBindAddress', default: ':61678',
    description: 'Prometheus metrics listener: HOST:PORT, :PORT (every interface) or unix:PATH (upstream: :61678, fixed).',
  }),
  stringVar({
    name: 'PODNET_ENI_CONFIG_FILE', field: 'eniConfigFile', default: '', podnetOnly: true, readBy: ['podnet'],
    description: 'Custom networking without an API server: a YAML file of ENIConfigs and the node\'s labels/annotations.',
  }),
  stringVar({
    name: 'PODNET_LAB_STATE_DIR', field: 'labStateDir', default: '', podnetOnly: true, readBy: ['podnet'],
    description: 'Set by `podnet lab` on every process it starts (its state directory), so `lab down` finds them; not a setting.',
  }),
  stringVar({
    name: 'PODNET_RESOLV_CONF', field: 'resolvConf', default: '', podnetOnly: true, readBy: ['podnet'],
    description: 'A resolv.conf whose nameservers answer every hostname lookup of a podnet process, never the host\'s resolver (the lab: the VPC DNS).',
  }),
  enumVar<DataplaneMode>({
    name: 'PODNET_DATAPLANE', field: 'dataplane', values: ['linux', 'none'], default: 'linux', fallback: 'linux',
    fallbackWhy: 'podnet ipamd refuses to start', podnetOnly: true, readBy: ['podnet'],
    description: 'linux: ipamd programs host rules and ENI route tables and wires pods (root); none: it only manages addresses.',
  }),
  enumVar<BranchVlanLinkMode>({
    name: 'PODNET_BRANCH_VLAN_LINK', field: 'branchVlanLink', values: ['create', 'fabric'], default: 'create', fallback: 'create',
    fallbackWhy: 'podnet ipamd refuses to start', podnetOnly: true, readBy: ['podnet'],
    description: 'Branch-ENI pods (ENABLE_POD_ENI): create: podnet makes vlan.eth.<id> on the trunk link (a real node); fabric: the lab supplies that link.',
  }),
];

/** Variables upstream still documents but no longer reads; setting one is a warning, not a typo. */
export const deprecatedVariables: ReadonlyArray<{ name: string; why: string }> = [
  { name: 'AWS_VPC_K8S_CNI_CONFIGURE_RPFILTER', why: 'the init container always sets rp_filter=2 on the primary interface' },
  { name: 'ENABLE_NFTABLES', why: 'the connmark backend is detected from `iptables --version`' },
];
