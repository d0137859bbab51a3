import { Option, type Command } from 'commander';
import { PodnetError, nearestNames } from '../lib/index.js';
import { installRows, installSettings, printWarnings } from './cni.js';
import { formatTable, printJson } from './output.js';

interface InitOptions {
  binDir: string;
  confDir: string;
  socket?: string;
  pluginsDir: string;
  primaryInterface?: string;
  json?: boolean;
}

interface PrimaryInterface {
  name: string;
  /** How it was found: the option, or the link holding IMDS's `mac`. */
  from: 'option' | 'imds';
  mac?: string;
}

/**
 * `podnet init`: what upstream's init container (aws-vpc-cni-init, spec §0, §3.7) does on the node, in its order —
 * the CNI files, then rp_filter=2 on the primary interface and tcp_early_demux. Everything that can be checked is
 * checked before the first write; should a sysctl write still fail, the install is taken back, so a failed init
 * leaves the node as it found it.
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
      const [{ installCniUndoable, renderConflist }, dataplane] = await Promise.all([import('../cni/index.js'), import('../dataplane/index.js')]);
      const settings = await installSettings(process.env, opts.socket, ['DISABLE_POD_V6', 'DISABLE_TCP_EARLY_DEMUX']);
      const primary = await findPrimaryInterface(opts.primaryInterface, process.env);
      const sysctls = dataplane.renderInitSysctls({ primaryInterface: primary.name, disableTcpEarlyDemux: settings.disableTcpEarlyDemux });
      dataplane.checkSysctls(sysctls);
      const install = installCniUndoable({ binDir: opts.binDir, confDir: opts.confDir, conflist: settings.conflist, pluginsDir: opts.pluginsDir });
      let applied: ReturnType<typeof dataplane.applySysctls>;
      try {
        applied = dataplane.applySysctls(sysctls);
      } catch (err) {
        const failed = install.undo();
        if (err instanceof PodnetError) err.message += failed.length === 0 ? '; the CNI files this run wrote were taken back' : `; and could not take back: ${failed.join('; ')}`;
        throw err;
      }
      const sysctlRows = applied.results.map((r) => ({ key: r.key.replaceAll('/', '.'), value: r.value, before: r.before ?? null }));
      const rendered = renderConflist(settings.conflist);
      if (opts.json) {
        printJson({ primaryInterface: primary, install: { ...install.result, config: rendered }, sysctls: sysctlRows, warnings: settings.warnings });
        return;
      }
      printWarnings(settings.warnings);
      const found = primary.from === 'imds' ? `the link with IMDS mac ${primary.mac}` : '--primary-interface';
      process.stdout.write(
        formatTable(['CHANGED', 'WHAT'], [
          ...installRows(install.result, settings.conflist, rendered),
          ...sysctlRows.map((r) => [r.key, r.before === null ? 'absent on this kernel: left alone' : `${r.value} (was ${r.before})`]),
        ]) + `primary interface: ${primary.name} (${found})\n`,
      );
    });
}

/**
 * The primary interface as upstream's init container finds it: the link whose MAC is IMDS `mac`; or the one named
 * by --primary-interface. Either way the name must be an interface name before it goes into a sysctl path.
 */
async function findPrimaryInterface(option: string | undefined, env: NodeJS.ProcessEnv): Promise<PrimaryInterface> {
  const { findLinkByMac, isIfName, readIpJson } = await import('../dataplane/index.js');
  if (option !== undefined) {
    if (!isIfName(option)) {
      throw new PodnetError('USAGE', `--primary-interface ${JSON.stringify(option)} is not an interface name`, 'an interface name is 1 to 15 of A-Z a-z 0-9 _ . - (see ip link)');
    }
    const [links] = await readIpJson(undefined, ['link show']);
    const names = (links as { ifname: string }[]).map((l) => l.ifname);
    if (!names.includes(option)) {
      const near = nearestNames(option, names);
      throw new PodnetError('USAGE', `--primary-interface ${option}: no such link in this network namespace (links: ${names.join(', ')})`,
        near.length > 0 ? `did you mean ${near[0]}?` : "name the primary ENI's link, or leave the option out to find it by IMDS's mac");
    }
    return { name: option, from: 'option' };
  }
  const { ImdsClient, resolveImdsEndpoint } = await import('../ipamd/index.js');
  let endpoint: string;
  try {
    endpoint = resolveImdsEndpoint(env);
  } catch (err) {
    if (!(err instanceof PodnetError)) throw err;
    throw new PodnetError('USAGE', `podnet init finds the primary interface by the MAC IMDS reports: ${err.message}`, `give --primary-interface NAME, or ${err.hint}`);
  }
  const imds = new ImdsClient({ endpoint });
  const mac = (await imds.require('mac')).trim();
  const name = await findLinkByMac(mac);
  if (name === undefined) {
    throw new PodnetError('LINK_NOT_FOUND', `no link in this network namespace has the primary ENI's MAC ${mac} (IMDS mac at ${imds.endpoint})`, "run podnet init in the node's network namespace, or name the link with --primary-interface");
  }
  if (!isIfName(name)) {
    throw new PodnetError('INVALID_INPUT', `the link with the primary MAC is named ${JSON.stringify(name)}, which is not an interface name podnet writes into a sysctl path`, 'rename the link (ip link set dev OLD name NEW), or name another with --primary-interface');
  }
  return { name, from: 'imds', mac };
}
