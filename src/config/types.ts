/** podnet's typed view of the Amazon VPC CNI environment variables (spec §1), plus the podnet-only PODNET_* settings. */
export interface PodnetConfig {
  // address family and pool (spec §1, §4)
  enableIPv4: boolean;
  enableIPv6: boolean;
  enablePrefixDelegation: boolean;
  warmEniTarget: number;
  warmIpTarget: number;
  minimumIpTarget: number;
  warmPrefixTarget: number;
  /** -1 when unused; otherwise the cap on ENIs (min with the instance limit). */
  maxEni: number;
  ipCooldownPeriodSeconds: number;
  // SNAT and host rules (spec §2)
  externalSnat: boolean;
  /** IPv4 CIDRs, normalised to their network address; invalid and IPv6 items are dropped as upstream does. */
  excludeSnatCidrs: string[];
  randomizeSnat: RandomizeSnat;
  nodePortSupport: boolean;
  connmark: number;
  externalServiceCidrs: string[];
  // pod wiring (spec §3, §1.1)
  vethPrefix: string;
  eniMtu: number;
  podMtu: number;
  disableTcpEarlyDemux: boolean;
  enableBandwidthPlugin: boolean;
  disablePodV6: boolean;
  enableV4Egress: boolean;
  enableV6Egress: boolean;
  // modes (spec §5)
  customNetworkCfg: boolean;
  eniConfigAnnotationDef: string;
  eniConfigLabelDef: string;
  enablePodEni: boolean;
  podSecurityGroupEnforcingMode: 'strict' | 'standard';
  enableSubnetDiscovery: boolean;
  enableMultiNic: boolean;
  manageEnisNonSchedulable: boolean;
  /** Effective: also on when ENABLE_IMDS_ONLY_MODE is on. */
  disableNetworkResourceProvisioning: boolean;
  enableImdsOnlyMode: boolean;
  /** Effective: also on in IPv6, with DISABLE_NETWORK_RESOURCE_PROVISIONING, and in IMDS-only mode (spec §1). */
  disableLeakedEniCleanup: boolean;
  manageUntaggedEni: boolean;
  annotatePodIp: boolean;
  /** '' means network policy is off (podnet's default; the upstream manifest sets 'standard'). */
  networkPolicyEnforcingMode: '' | 'none' | 'strict' | 'standard';
  // EC2, tags, identity (spec §7)
  additionalEniTags: Record<string, string>;
  clusterName: string;
  clusterEndpoint: string;
  ec2Endpoint: string;
  httpTimeoutSeconds: number;
  vpcCniVersion: string;
  myNodeName: string;
  myPodName: string;
  // files, endpoints, logs (spec §0)
  backingStore: string;
  introspectionBindAddress: string;
  disableIntrospection: boolean;
  disableMetrics: boolean;
  logLevel: string;
  logFile: string;
  pluginLogFile: string;
  pluginLogLevel: string;
  egressV4PluginLogFile: string;
  egressV6PluginLogFile: string;
  hostCniBinPath: string;
  hostCniConfDirPath: string;
  // podnet-only (PODNET_*): timers for a fast clock, the CNI socket, the lab's routing variant, the daemon's
  // metrics listener, ENIConfig file and dataplane
  poolIntervalMs: number;
  decreaseIntervalMs: number;
  reconcileIntervalMs: number;
  eniMinAgeMs: number;
  insufficientCidrBackoffMs: number;
  leakedEniIntervalMs: number;
  leakedEniMinAgeMs: number;
  eniLinkRetryMs: number;
  eniSetupRetryMs: number;
  cniSocket: string;
  pre18Routing: boolean;
  /** A valid bind address (see parseListenAddress in src/lib); upstream's metrics port is fixed at :61678. */
  metricsBindAddress: string;
  /** ENIConfigs and the node's labels/annotations (YAML) standing in for the Kubernetes API; '' for none. */
  eniConfigFile: string;
  labStateDir: string;
  /** read by podnet's main (src/lib useResolvConf), not by ipamd: known here so it is no typo */
  resolvConf: string;
  /** `linux` wires pods and host rules (root); `none` only manages addresses. */
  dataplane: DataplaneMode;
  /**
   * Branch-ENI pods' VLAN link `vlan.eth.<id>`: `create` (a real node: podnet makes it on the trunk link and deletes
   * it on DEL) or `fabric` (the lab: the fabric supplies it, and it stays; spec §3.9, docs/node-programming.md).
   */
  branchVlanLink: BranchVlanLinkMode;
}

export type BranchVlanLinkMode = 'create' | 'fabric';

export type DataplaneMode = 'linux' | 'none';

/** The node's operating system, for `podnet config --os`: aws-node runs on Linux nodes only. */
export type NodeOs = 'linux' | 'windows';

export type RandomizeSnat = 'prng' | 'hashrandom' | 'none';

/**
 * `error`: aws-node would not start (the entrypoint's validateEnvVars, ipamd's isConfigValid, an invalid
 * NETWORK_POLICY_ENFORCING_MODE, an empty value where upstream reads it with LookupEnv and refuses it), a PODNET_*
 * setting is invalid, or a setting would take effect upstream but is not implemented yet in podnet (podnet ipamd
 * refuses to start rather than ignore it). podnet ipamd refuses to start on any error.
 * `warning`: aws-node starts. Upstream logs a malformed value and runs with a fallback (`used` says which), silently
 * adjusts or ignores a value, or runs a configuration badly (e.g. a pool that oscillates); or a variable is
 * deprecated, or podnet accepts a setting it cannot apply yet. podnet ipamd starts and logs each warning.
 */
export type Severity = 'error' | 'warning';

export interface ConfigProblem {
  variable: string;
  severity: Severity;
  /** Stable id of the rule that fired, e.g. 'ipv6-needs-prefix-delegation'. */
  rule: string;
  message: string;
  fix: string;
  /** For a warning about one variable's value: the value podnet (like upstream) runs with, as text. */
  used?: string;
}

export interface TypoWarning {
  variable: string;
  /** Known names closest to it, best first (may be empty for a PODNET_/AWS_VPC_ name far from every known one). */
  suggestions: string[];
  message: string;
  fix: string;
}

export type SettingSource = 'env' | 'file' | 'default';

/** One row of `podnet config`: a variable, its effective value, where it came from, and how defaults differ. */
export interface Setting {
  name: string;
  /** Effective value as text (what podnet uses, after upstream's fallbacks). */
  value: string;
  source: SettingSource;
  /** The text as given, when it was given. */
  raw?: string;
  /** podnet's default text ('' for empty); undefined when derived from another variable. */
  default: string | undefined;
  /** Upstream's code default when it differs from podnet's default (spec §9 item 6). */
  codeDefault?: string;
  /** Upstream manifest's value when it differs from podnet's default. */
  manifestDefault?: string;
  notes: string[];
  podnetOnly: boolean;
  readBy: string[];
  description: string;
}

export interface LoadedConfig {
  config: PodnetConfig;
  settings: Setting[];
  problems: ConfigProblem[];
  unknown: TypoWarning[];
}
