import { Option, type Command } from 'commander';
import type { ConflistOptions, InstallResult } from '../cni/index.js';
import { PodnetError } from '../lib/index.js';
import { formatTable, printJson } from './output.js';

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

/** The install's settings from the environment, and what upstream would log about them and go on. */
export interface InstallSettings {
  conflist: ConflistOptions;
  /** DISABLE_TCP_EARLY_DEMUX as upstream's init container reads it. */
  disableTcpEarlyDemux: boolean;
  /** Problems upstream logs and then uses its default for (a malformed DISABLE_POD_V6 or DISABLE_TCP_EARLY_DEMUX). */
  warnings: string[];
}

/**
 * The conflist options from the VPC CNI's variables, the one path for `cni install` and `podnet init`. A malformed
 * DISABLE_POD_V6 or DISABLE_TCP_EARLY_DEMUX does not stop upstream (GetBoolAsStringEnvVar logs and uses false), so
 * it is a warning here, with the value used.
 */
export async function installSettings(env: NodeJS.ProcessEnv, socketOption: string | undefined, tolerated: readonly ('DISABLE_POD_V6' | 'DISABLE_TCP_EARLY_DEMUX')[]): Promise<InstallSettings> {
  const { loadConfig } = await import('../config/index.js');
  const { config, problems } = loadConfig(env);
  const blocking = problems.filter((p) => p.severity === 'error' && conflistVariables.has(p.variable));
  if (blocking.length > 0) {
    throw new PodnetError('CONFIG_INVALID', blocking.map((p) => `${p.variable}: ${p.message}`).join('; '), blocking.map((p) => p.fix).join('; '));
  }
  const socket = socketOption ?? config.cniSocket;
  if (!socket.startsWith('/')) throw new PodnetError('USAGE', `--socket ${socket} is not an absolute path`, 'give the absolute path ipamd listens on, e.g. /var/run/aws-node/ipamd.sock');
  const warnings = problems.filter((p) => (tolerated as readonly string[]).includes(p.variable)).map((p) => `${p.variable}: ${p.message}`);
  return {
    conflist: {
      vethPrefix: config.vethPrefix,
      mtu: config.podMtu,
      podSGEnforcingMode: config.podSecurityGroupEnforcingMode,
      pluginLogFile: config.pluginLogFile,
      pluginLogLevel: config.pluginLogLevel,
      bandwidth: config.enableBandwidthPlugin,
      disablePodV6: config.disablePodV6,
      ipamdSocket: socket,
    },
    disableTcpEarlyDemux: config.disableTcpEarlyDemux,
    warnings,
  };
}

/** The table rows `cni install` and `podnet init` print for the files an install wrote. */
export function installRows(result: InstallResult, conflist: ConflistOptions, rendered: Record<string, unknown>): string[][] {
  const chained = (rendered.plugins as { type: string }[]).slice(1).map((p) => (p.type === 'tuning' ? 'tuning (disable_ipv6 in pods)' : p.type));
  return [
    [result.launcher, `launcher (sh): forwards to ${conflist.ipamdSocket}; without ipamd runs ${result.fallbackArgv.join(' ')}`],
    ...result.plugins.map((p) => [p, 'containernetworking plugin']),
    [result.conflist, `conflist: cniVersion ${String(rendered.cniVersion)}, vethPrefix ${conflist.vethPrefix}, mtu ${conflist.mtu}, ${chained.join(', ')}`],
  ];
}

export function printWarnings(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
}

export function registerCni(program: Command): void {
  const cni = program.command('cni').description('the CNI plugin: install the podnet-cni launcher and its conflist');
  cni
    .command('install')
    .description('write the podnet-cni launcher into the CNI bin dir and the conflist (10-aws.conflist) into the conf dir')
    // defaults are described as a user types them (commander would quote them as JSON)
    .addOption(new Option('--bin-dir <dir>', 'CNI bin dir the runtime executes plugins from').default('/opt/cni/bin', '/opt/cni/bin'))
    .addOption(new Option('--conf-dir <dir>', 'CNI conf dir the runtime reads network configs from').default('/etc/cni/net.d', '/etc/cni/net.d'))
    .option('--socket <path>', "ipamd's CNI socket on this node (default: PODNET_CNI_SOCKET, else /var/run/aws-node/ipamd.sock)")
    .option('--plugins-dir <dir>', 'also copy loopback and the plugins the conflist chains from here (e.g. /usr/lib/cni); podnet init does this by default')
    .option('--json', 'print {launcher, plugins, conflist, fallbackArgv, config, warnings} as JSON')
    .action(async (opts: { binDir: string; confDir: string; socket?: string; pluginsDir?: string; json?: boolean }) => {
      const { installCni, renderConflist } = await import('../cni/index.js');
      const settings = await installSettings(process.env, opts.socket, ['DISABLE_POD_V6']);
      const result = installCni({ binDir: opts.binDir, confDir: opts.confDir, conflist: settings.conflist, ...(opts.pluginsDir === undefined ? {} : { pluginsDir: opts.pluginsDir }) });
      const rendered = renderConflist(settings.conflist);
      if (opts.json) {
        printJson({ ...result, config: rendered, warnings: settings.warnings });
        return;
      }
      printWarnings(settings.warnings);
      process.stdout.write(formatTable(['FILE', 'WHAT'], installRows(result, settings.conflist, rendered)));
    });
}
