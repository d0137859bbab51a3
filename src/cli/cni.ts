import { Option, type Command } from 'commander';
import type { ConflistOptions, InstallResult } from '../cni/index.js';
import { formatTable, printJson } from './output.js';

/** The table rows `cni install` and `podnet init` print for the files an install wrote. */
export function installRows(result: InstallResult, conflist: ConflistOptions, rendered: Record<string, unknown>): string[][] {
  const chained = (rendered.plugins as { type: string }[]).slice(1).map((p) => (p.type === 'tuning' ? 'tuning (disable_ipv6 in pods)' : p.type));
  return [
    [result.launcher, `launcher (sh): forwards to ${conflist.ipamdSocket}; without ipamd runs ${result.fallbackArgv.join(' ')}`],
    ...(result.runtime === undefined ? [] : [[`${result.runtime}/`, "the fallback plugin's Node runtime and compiled plugin (a link to podnet.<id>/)"]]),
    ...result.plugins.map((p) => [p, 'containernetworking plugin']),
    [result.conflist, `conflist: cniVersion ${String(rendered.cniVersion)}, vethPrefix ${conflist.vethPrefix}, mtu ${conflist.mtu}, ${chained.join(', ')}`],
  ];
}

/** Under --host-root the table's paths are the host's: one line says where they were written. */
export function hostRootLine(result: InstallResult): string {
  return result.hostRoot === undefined ? '' : `written under --host-root ${result.hostRoot}\n`;
}

export function printWarnings(warnings: readonly string[]): void {
  for (const w of warnings) process.stderr.write(`warning: ${w}\n`);
}

/**
 * Where the CNI files go and which socket the launcher dials: the same three options for `cni install` and `init`
 * (a fresh Option each time: commander keeps parse state on it). Defaults are described as a user types them;
 * commander would quote them as JSON.
 */
export function cniFileOptions(): Option[] {
  return [
    new Option('--bin-dir <dir>', 'CNI bin dir the runtime executes plugins from').default('/opt/cni/bin', '/opt/cni/bin'),
    new Option('--conf-dir <dir>', 'CNI conf dir the runtime reads network configs from').default('/etc/cni/net.d', '/etc/cni/net.d'),
    new Option('--socket <path>', "ipamd's CNI socket on this node (default: PODNET_CNI_SOCKET, else /var/run/aws-node/ipamd.sock)"),
    new Option('--host-root <dir>', "install onto the host whose root is mounted here (from a container): files go under it, the paths in them and --bin-dir/--conf-dir/--socket are the host's"),
  ];
}

export function registerCni(program: Command): void {
  const cni = program.command('cni').description('the CNI plugin: install the podnet-cni launcher and its conflist');
  const install = cni
    .command('install')
    .description("write the podnet-cni launcher and the fallback plugin's Node runtime (<bin-dir>/podnet) into the CNI bin dir and the conflist (10-aws.conflist) into the conf dir");
  for (const option of cniFileOptions()) install.addOption(option);
  install
    .option('--plugins-dir <dir>', 'also copy loopback and the plugins the conflist chains from here (e.g. /usr/lib/cni); podnet init does this by default')
    .option('--json', 'print {launcher, runtime, plugins, conflist, fallbackArgv, hostRoot, config, warnings} as JSON')
    .action(async (opts: { binDir: string; confDir: string; socket?: string; pluginsDir?: string; hostRoot?: string; json?: boolean }) => {
      const [{ installCniUndoable, installSettings, renderConflist }, { loadConfig }] = await Promise.all([import('../cni/index.js'), import('../config/index.js')]);
      const settings = installSettings(loadConfig(process.env), opts.socket, ['DISABLE_POD_V6']);
      const install = installCniUndoable({
        binDir: opts.binDir,
        confDir: opts.confDir,
        conflist: settings.conflist,
        ...(opts.pluginsDir !== undefined && { pluginsDir: opts.pluginsDir }),
        ...(opts.hostRoot !== undefined && { hostRoot: opts.hostRoot }),
      });
      const { result } = install;
      const warnings = [...settings.warnings, ...install.commit().map((l) => `could not remove a replaced fallback runtime: ${l}`)];
      const rendered = renderConflist(settings.conflist);
      if (opts.json) {
        printJson({ ...result, config: rendered, warnings });
        return;
      }
      printWarnings(warnings);
      process.stdout.write(formatTable(['FILE', 'WHAT'], installRows(result, settings.conflist, rendered)) + hostRootLine(result));
    });
}
