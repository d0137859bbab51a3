import type { Command } from 'commander';
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

export function registerCni(program: Command): void {
  const cni = program.command('cni').description('the CNI plugin: install the podnet-cni launcher and its conflist');
  cni
    .command('install')
    .description('write the podnet-cni launcher into the CNI bin dir and the conflist (10-aws.conflist) into the conf dir')
    .option('--bin-dir <dir>', 'CNI bin dir the runtime executes plugins from', '/opt/cni/bin')
    .option('--conf-dir <dir>', 'CNI conf dir the runtime reads network configs from', '/etc/cni/net.d')
    .option('--socket <path>', "ipamd's CNI socket on this node (default: PODNET_CNI_SOCKET, else /var/run/aws-node/ipamd.sock)")
    .option('--json', 'print {launcher, conflist, fallbackArgv, config} as JSON')
    .action(async (opts: { binDir: string; confDir: string; socket?: string; json?: boolean }) => {
      const [{ installCni, renderConflist }, { loadConfig }] = await Promise.all([import('../cni/index.js'), import('../config/index.js')]);
      const { config, problems } = loadConfig(process.env);
      const blocking = problems.filter((p) => p.severity === 'error' && conflistVariables.has(p.variable));
      if (blocking.length > 0) {
        throw new PodnetError('CONFIG_INVALID', blocking.map((p) => `${p.variable}: ${p.message}`).join('; '), blocking.map((p) => p.fix).join('; '));
      }
      const socket = opts.socket ?? config.cniSocket;
      if (!socket.startsWith('/')) throw new PodnetError('USAGE', `--socket ${socket} is not an absolute path`, 'give the absolute path ipamd listens on, e.g. /var/run/aws-node/ipamd.sock');
      const conflist = {
        vethPrefix: config.vethPrefix,
        mtu: config.podMtu,
        podSGEnforcingMode: config.podSecurityGroupEnforcingMode,
        pluginLogFile: config.pluginLogFile,
        pluginLogLevel: config.pluginLogLevel,
        bandwidth: config.enableBandwidthPlugin,
        ipamdSocket: socket,
      };
      const result = installCni({ binDir: opts.binDir, confDir: opts.confDir, conflist });
      const rendered = renderConflist(conflist);
      if (opts.json) {
        printJson({ ...result, config: rendered });
        return;
      }
      process.stdout.write(
        formatTable(['FILE', 'WHAT'], [
          [result.launcher, `launcher (sh): forwards to ${socket}; without ipamd runs ${result.fallbackArgv.join(' ')}`],
          [result.conflist, `conflist: cniVersion ${String(rendered.cniVersion)}, vethPrefix ${conflist.vethPrefix}, mtu ${conflist.mtu}, portmap${conflist.bandwidth ? ', bandwidth' : ''}`],
        ]),
      );
    });
}
