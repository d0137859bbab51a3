import { Option, type Command } from 'commander';
import { cniFileOptions, hostRootLine, installRows, printWarnings } from './cni.js';
import type { InitNodeOptions } from '../node-init/index.js';
import { formatTable, printJson } from './output.js';

/** The command's options: initNode's, taken as typed, and --json. */
type InitOptions = Omit<InitNodeOptions, 'env'> & { json?: boolean };

/**
 * `podnet init`: wires the options to src/node-init's initNode, which does what upstream's init container
 * (aws-vpc-cni-init) does, and prints what it changed.
 */
export function registerInit(program: Command): void {
  const init = program
    .command('init')
    .description("the node's host setup, as upstream's init container: install the CNI launcher, plugins and conflist; rp_filter=2 on the primary interface; tcp_early_demux per DISABLE_TCP_EARLY_DEMUX");
  for (const option of cniFileOptions()) init.addOption(option);
  init
    // described as a user types it (commander would quote it as JSON)
    .addOption(new Option('--plugins-dir <dir>', 'where loopback and the plugins the conflist chains (portmap, bandwidth, tuning) are copied from').default('/usr/lib/cni', '/usr/lib/cni'))
    .option('--primary-interface <name>', "the primary ENI's link (default: the link holding the MAC IMDS reports as mac)")
    .option('--json', 'print {primaryInterface, install, sysctls, warnings} as JSON')
    .action(async (opts: InitOptions) => {
      const { initNode } = await import('../node-init/index.js');
      const { json: _json, ...options } = opts;
      const { primaryInterface, install, sysctls, warnings, conflist } = await initNode({ ...options, env: process.env });
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
        ]) + hostRootLine(install) + `primary interface: ${primaryInterface.name} (${found})\n`,
      );
    });
}
