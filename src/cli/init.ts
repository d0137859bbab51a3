import { Option, type Command } from 'commander';
import { installRows, printWarnings } from './cni.js';
import { formatTable, printJson } from './output.js';

interface InitOptions {
  binDir: string;
  confDir: string;
  socket?: string;
  pluginsDir: string;
  primaryInterface?: string;
  json?: boolean;
}

/**
 * `podnet init`: wires the options to src/node-init's initNode, which does what upstream's init container
 * (aws-vpc-cni-init) does, and prints what it changed.
 */
export function registerInit(program: Command): void {
  program
    .command('init')
    .description("the node's host setup, as upstream's init container: install the CNI launcher, plugins and conflist; rp_filter=2 on the primary interface; tcp_early_demux per DISABLE_TCP_EARLY_DEMUX")
    // defaults are described as a user types them (commander would quote them as JSON)
    .addOption(new Option('--bin-dir <dir>', 'CNI bin dir the runtime executes plugins from').default('/opt/cni/bin', '/opt/cni/bin'))
    .addOption(new Option('--conf-dir <dir>', 'CNI conf dir the runtime reads network configs from').default('/etc/cni/net.d', '/etc/cni/net.d'))
    .option('--socket <path>', "ipamd's CNI socket on this node (default: PODNET_CNI_SOCKET, else /var/run/aws-node/ipamd.sock)")
    .addOption(new Option('--plugins-dir <dir>', 'where loopback and the plugins the conflist chains (portmap, bandwidth, tuning) are copied from').default('/usr/lib/cni', '/usr/lib/cni'))
    .option('--primary-interface <name>', "the primary ENI's link (default: the link holding the MAC IMDS reports as mac)")
    .option('--json', 'print {primaryInterface, install, sysctls, warnings} as JSON')
    .action(async (opts: InitOptions) => {
      const { initNode } = await import('../node-init/index.js');
      const { primaryInterface, install, sysctls, warnings, conflist } = await initNode({
        binDir: opts.binDir,
        confDir: opts.confDir,
        pluginsDir: opts.pluginsDir,
        socket: opts.socket,
        primaryInterface: opts.primaryInterface,
        env: process.env,
      });
      if (opts.json) {
        printJson({ primaryInterface, install, sysctls, warnings });
        return;
      }
      printWarnings(warnings);
      const found = primaryInterface.from === 'imds' ? `the link with IMDS mac ${primaryInterface.mac}` : '--primary-interface';
      process.stdout.write(
        formatTable(['CHANGED', 'WHAT'], [
          ...installRows(install, conflist, install.config),
          ...sysctls.map((r) => [r.key, r.before === null ? 'absent on this kernel: left alone' : `${r.value} (was ${r.before})`]),
        ]) + `primary interface: ${primaryInterface.name} (${found})\n`,
      );
    });
}
