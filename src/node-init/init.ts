import { installCniUndoable, installSettings, renderConflist, type ConflistOptions, type InstallResult } from '../cni/index.js';
import { loadConfig, type Env } from '../config/index.js';
import { applySysctls, checkSysctls, findLinkByMac, isIfName, listLinks, renderInitSysctls } from '../dataplane/index.js';
import { PodnetError, nearestNames, undoOnFailure } from '../lib/index.js';

export interface InitNodeOptions {
  binDir: string;
  confDir: string;
  /** ipamd's CNI socket; undefined: PODNET_CNI_SOCKET, else upstream's path. */
  socket?: string;
  /** The host's root as mounted in this container: the CNI files are written under it (see installCni). */
  hostRoot?: string;
  /** Where loopback and the plugins the conflist chains are copied from. */
  pluginsDir: string;
  /** The primary ENI's link; undefined: the link holding IMDS's `mac`. */
  primaryInterface?: string;
  /** The VPC CNI's variables and the IMDS endpoint settings. */
  env: Env;
}

export interface PrimaryInterface {
  name: string;
  /** How it was found: the option, or the link holding IMDS's `mac`. */
  from: 'option' | 'imds';
  mac?: string;
}

/** What `podnet init` did: its `--json` fields, and the conflist options its table describes the files with. */
export interface InitNodeResult {
  primaryInterface: PrimaryInterface;
  install: InstallResult & { config: Record<string, unknown> };
  /** Each sysctl in dotted form with the value before; null for a key the kernel lacks (left alone). */
  sysctls: { key: string; value: string; before: string | null }[];
  warnings: string[];
  conflist: ConflistOptions;
}

/**
 * What upstream's init container (aws-vpc-cni-init, spec §0, §3.7) does on the node, in its order: the CNI files,
 * then rp_filter=2 on the primary interface and tcp_early_demux. Everything that can be checked is checked before
 * the first write (the conflist variables, the interface, its rp_filter key, the plugin sources and directories);
 * should a sysctl write still fail, the install is taken back too, so a failed init leaves the node as it found it.
 */
export async function initNode(o: InitNodeOptions): Promise<InitNodeResult> {
  const loaded = loadConfig(o.env);
  const settings = installSettings(loaded, o.socket, ['DISABLE_POD_V6', 'DISABLE_TCP_EARLY_DEMUX']);
  const primary = await findPrimaryInterface(o.primaryInterface, o.env);
  const sysctls = renderInitSysctls({ primaryInterface: primary.name, disableTcpEarlyDemux: loaded.config.disableTcpEarlyDemux });
  checkSysctls(sysctls);
  const install = installCniUndoable({ binDir: o.binDir, confDir: o.confDir, conflist: settings.conflist, pluginsDir: o.pluginsDir, ...(o.hostRoot !== undefined && { hostRoot: o.hostRoot }) });
  const applied = undoOnFailure(() => applySysctls(sysctls), () => install.undo(), {
    undone: 'the CNI files this run wrote were taken back',
    notUndone: 'and could not take back:',
  });
  const leftovers = install.commit().map((l) => `could not remove a replaced fallback runtime: ${l}`);
  return {
    primaryInterface: primary,
    install: { ...install.result, config: renderConflist(settings.conflist) },
    sysctls: applied.results.map((r) => ({ key: r.key.replaceAll('/', '.'), value: r.value, before: r.before ?? null })),
    warnings: [...settings.warnings, ...leftovers],
    conflist: settings.conflist,
  };
}

/**
 * The primary interface as upstream's init container finds it: the link whose MAC is IMDS `mac`; or the one named
 * by --primary-interface. Either way the name must be an interface name before it goes into a sysctl path.
 */
async function findPrimaryInterface(option: string | undefined, env: Env): Promise<PrimaryInterface> {
  if (option !== undefined) {
    if (!isIfName(option)) {
      throw new PodnetError('USAGE', `--primary-interface ${JSON.stringify(option)} is not an interface name`, 'an interface name is 1 to 15 of A-Z a-z 0-9 _ . - (see ip link)');
    }
    const names = (await listLinks()).map((l) => l.ifname);
    if (!names.includes(option)) {
      const near = nearestNames(option, names);
      throw new PodnetError('USAGE', `--primary-interface ${option}: no such link in this network namespace (links: ${names.join(', ')})`,
        near.length > 0 ? `did you mean ${near[0]}?` : "name the primary ENI's link, or leave the option out to find it by IMDS's mac");
    }
    return { name: option, from: 'option' };
  }
  const mac = await imdsPrimaryMac(env);
  const name = await findLinkByMac(mac.mac);
  if (name === undefined) {
    throw new PodnetError('LINK_NOT_FOUND', `no link in this network namespace has the primary ENI's MAC ${mac.mac} (IMDS mac at ${mac.endpoint})`, "run podnet init in the node's network namespace, or name the link with --primary-interface");
  }
  if (!isIfName(name)) {
    throw new PodnetError('INVALID_INPUT', `the link with the primary MAC is named ${JSON.stringify(name)}, which is not an interface name podnet writes into a sysctl path`, 'rename the link (ip link set dev OLD name NEW), or name another with --primary-interface');
  }
  return { name, from: 'imds', mac: mac.mac };
}

/**
 * IMDS `mac`, through ipamd's one rule for which IMDS may be asked (resolveImdsEndpoint: the configured endpoint, or
 * AWS's own only when AWS_REGION says this is AWS) and its client. ipamd is loaded here, on this path only: its front
 * door loads the AWS SDK, over a second of start-up that `--primary-interface` has no use for.
 */
async function imdsPrimaryMac(env: Env): Promise<{ mac: string; endpoint: string }> {
  const { ImdsClient, resolveImdsEndpoint } = await import('../ipamd/index.js');
  let endpoint: string;
  try {
    endpoint = resolveImdsEndpoint(env);
  } catch (err) {
    if (!(err instanceof PodnetError)) throw err;
    throw new PodnetError('USAGE', `podnet init finds the primary interface by the MAC IMDS reports: ${err.message}`, `give --primary-interface NAME, or ${err.hint}`);
  }
  const imds = new ImdsClient({ endpoint });
  return { mac: (await imds.require('mac')).trim(), endpoint: imds.endpoint };
}
