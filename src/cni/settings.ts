/**
 * The conflist's options from the VPC CNI's variables, the one path for `podnet cni install` and `podnet init`. The
 * caller loads the configuration (src/config) and passes it in: config is imported here for its types only, so the
 * fallback plugin, which loads this module on every CNI call while ipamd is down, does not load config's tables too.
 */
import type { ConfigProblem, PodnetConfig } from '../config/index.js';
import { PodnetError } from '../lib/index.js';
import type { ConflistOptions } from './install.js';

/** The VPC CNI variables the conflist is rendered from (spec §1.1); an error in any of them stops the install. */
const conflistVariables = new Set([
  'AWS_VPC_K8S_CNI_VETHPREFIX',
  'POD_MTU',
  'AWS_VPC_ENI_MTU',
  'POD_SECURITY_GROUP_ENFORCING_MODE',
  'AWS_VPC_K8S_PLUGIN_LOG_FILE',
  'AWS_VPC_K8S_PLUGIN_LOG_LEVEL',
  'ENABLE_BANDWIDTH_PLUGIN',
  'PODNET_CNI_SOCKET',
]);

/** The variables whose malformed value upstream logs and reads as false (GetBoolAsStringEnvVar), so a warning here. */
export type ToleratedVariable = 'DISABLE_POD_V6' | 'DISABLE_TCP_EARLY_DEMUX';

/** An install's conflist options, and what upstream would log about the settings and go on. */
export interface InstallSettings {
  conflist: ConflistOptions;
  /** `VARIABLE: message` for each problem of a tolerated variable the caller uses; upstream's default is used. */
  warnings: string[];
}

function conflistOptionsFrom(config: PodnetConfig, ipamdSocket: string): ConflistOptions {
  return {
    vethPrefix: config.vethPrefix,
    mtu: config.podMtu,
    podSGEnforcingMode: config.podSecurityGroupEnforcingMode,
    pluginLogFile: config.pluginLogFile,
    pluginLogLevel: config.pluginLogLevel,
    bandwidth: config.enableBandwidthPlugin,
    disablePodV6: config.disablePodV6,
    ipamdSocket,
  };
}

/**
 * The conflist options of a loaded configuration, with ipamd's socket from `socketOption` (--socket), else the
 * configuration's (PODNET_CNI_SOCKET or its default). An error in a conflist variable stops the install
 * (CONFIG_INVALID); a malformed variable of `tolerated` does not stop upstream, so it is a warning.
 */
export function installSettings(loaded: { config: PodnetConfig; problems: readonly ConfigProblem[] }, socketOption: string | undefined, tolerated: readonly ToleratedVariable[]): InstallSettings {
  const blocking = loaded.problems.filter((p) => p.severity === 'error' && conflistVariables.has(p.variable));
  if (blocking.length > 0) {
    throw new PodnetError('CONFIG_INVALID', blocking.map((p) => `${p.variable}: ${p.message}`).join('; '), blocking.map((p) => p.fix).join('; '));
  }
  const socket = socketOption ?? loaded.config.cniSocket;
  if (!socket.startsWith('/')) throw new PodnetError('USAGE', `--socket ${socket} is not an absolute path`, 'give the absolute path ipamd listens on, e.g. /var/run/aws-node/ipamd.sock');
  const warnings = loaded.problems.filter((p) => (tolerated as readonly string[]).includes(p.variable)).map((p) => `${p.variable}: ${p.message}`);
  return { conflist: conflistOptionsFrom(loaded.config, socket), warnings };
}
