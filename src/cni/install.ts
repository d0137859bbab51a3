import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodnetError, checkCreatablePath, ensureDirectory, onPath } from '../lib/index.js';

/** What the conflist carries; the CLI fills it from the VPC CNI's environment variables through src/config. */
export interface ConflistOptions {
  /** AWS_VPC_K8S_CNI_VETHPREFIX */
  vethPrefix: string;
  /** POD_MTU, else AWS_VPC_ENI_MTU, else 9001 */
  mtu: number;
  /** POD_SECURITY_GROUP_ENFORCING_MODE */
  podSGEnforcingMode: string;
  /** AWS_VPC_K8S_PLUGIN_LOG_FILE / _LEVEL */
  pluginLogFile: string;
  pluginLogLevel: string;
  /** ENABLE_BANDWIDTH_PLUGIN appends the bandwidth plugin (spec §1) */
  bandwidth: boolean;
  /** podnet's field: ipamd's CNI socket on this node */
  ipamdSocket: string;
}

/** The file name the runtime finds the launcher under: the conflist's plugin `type`. */
const launcherName = 'podnet-cni';
/** Upstream's conflist name, so podnet replaces the VPC CNI's file rather than competing with it. */
const conflistName = '10-aws.conflist';

/**
 * The conflist upstream renders (spec §1.1): cniVersion 0.4.0, disableCheck, the main plugin with vethPrefix, mtu
 * (as a string, as upstream writes it), podSGEnforcingMode, plugin log settings and the pod-annotations capability,
 * then portmap with snat. podnet's plugin type is `podnet-cni` and carries `ipamdSocket`. Upstream's egress-cni entry
 * (IPv6-egress for IPv4 clusters, off by default) is left out: podnet has no egress plugin.
 */
export function renderConflist(o: ConflistOptions): Record<string, unknown> {
  const plugins: Record<string, unknown>[] = [
    {
      name: 'aws-cni',
      type: launcherName,
      vethPrefix: o.vethPrefix,
      mtu: String(o.mtu),
      podSGEnforcingMode: o.podSGEnforcingMode,
      pluginLogFile: o.pluginLogFile,
      pluginLogLevel: o.pluginLogLevel,
      capabilities: { 'io.kubernetes.cri.pod-annotations': true },
      ipamdSocket: o.ipamdSocket,
    },
    { type: 'portmap', capabilities: { portMappings: true }, snat: true },
  ];
  if (o.bandwidth) plugins.push({ type: 'bandwidth', capabilities: { bandwidth: true } });
  return { cniVersion: '0.4.0', name: 'aws-cni', disableCheck: true, plugins };
}

/** POSIX sh single-quoting: safe for any path. */
function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The installed launcher: the repository's bin/podnet-cni with the fallback plugin's argv (absolute node and plugin
 * paths of this machine, known only at install time) and ipamd's socket baked in, so a single copied file in the CNI
 * bin dir works and never has to read the network config to find ipamd.
 */
function renderInstalledLauncher(launcherText: string, fallbackArgv: readonly string[], socket: string): string {
  let text = launcherText;
  const values = { fallback_plugin: shellQuote(fallbackArgv.map(shellQuote).join(' ')), ipamd_socket: shellQuote(socket) };
  for (const [name, value] of Object.entries(values)) {
    const line = new RegExp(`^${name}=.*$`, 'm');
    if (!line.test(text)) throw new PodnetError('FAILED', `bin/podnet-cni has no "${name}=" line to fill in`, 'reinstall podnet: the launcher file was modified');
    text = text.replace(line, () => `${name}=${value}`); // a function: a $ in a path is text, not a pattern
  }
  return text;
}

export interface InstallResult {
  launcher: string;
  conflist: string;
  fallbackArgv: string[];
}

/** Where this package lives: src/cni/ and dist/cni/ are both two levels below it. */
const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/**
 * Writes the launcher into binDir (mode 0755) and the conflist into confDir, each through a temporary file and a
 * rename so a runtime never executes or reads a half-written file. Of each directory only the last component is
 * created, when its parent exists; both paths are checked before anything else, so a refused install writes nothing.
 */
export function installCni(o: { binDir: string; confDir: string; conflist: ConflistOptions; fallbackArgv?: string[] }): InstallResult {
  checkCreatablePath(o.binDir, '--bin-dir', 'directory');
  checkCreatablePath(o.confDir, '--conf-dir', 'directory');
  const plugin = join(packageRoot, 'bin', 'podnet-cni-plugin.js');
  const fallbackArgv = o.fallbackArgv ?? [process.execPath, plugin];
  if (!o.fallbackArgv && !existsSync(join(packageRoot, 'dist', 'cni', 'index.js'))) {
    throw new PodnetError('FAILED', `the fallback plugin needs the build, and ${join(packageRoot, 'dist')} has no cni/index.js`, 'run `npm run build` in the podnet checkout, then install again');
  }
  if (!o.conflist.ipamdSocket.startsWith('/') || /[\x00-\x1f\x7f]/.test(o.conflist.ipamdSocket)) {
    throw new PodnetError('USAGE', `ipamd's socket ${JSON.stringify(o.conflist.ipamdSocket)} is not an absolute path without control characters`, 'give the absolute path ipamd listens on, e.g. /var/run/aws-node/ipamd.sock');
  }
  requireUnixSocketNc();
  const text = renderInstalledLauncher(readFileSync(join(packageRoot, 'bin', launcherName), 'utf8'), fallbackArgv, o.conflist.ipamdSocket);
  const launcher = join(o.binDir, launcherName);
  const conflist = join(o.confDir, conflistName);
  ensureDirectory(o.binDir, '--bin-dir');
  ensureDirectory(o.confDir, '--conf-dir');
  writeAtomically(launcher, text, 0o755);
  writeAtomically(conflist, `${JSON.stringify(renderConflist(o.conflist), null, 2)}\n`, 0o644);
  return { launcher, conflist, fallbackArgv };
}

/**
 * The launcher talks to ipamd with nc: OpenBSD netcat and Nmap's ncat both take -U for a unix socket; busybox's nc
 * does not. Checked once here, so a node without one fails at install and not with every pod's ADD answering 11.
 */
function requireUnixSocketNc(): void {
  const hint = 'apt-get install -y netcat-openbsd (Debian, Ubuntu), or dnf install -y nmap-ncat (Amazon Linux, Fedora)';
  if (!onPath('nc')) throw new PodnetError('MISSING_TOOL', 'podnet-cni talks to ipamd with nc, and no nc is on PATH', hint);
  const help = spawnSync('nc', ['-h'], { encoding: 'utf8', timeout: 5000 });
  if (!/-U\b|--unixsock/.test(`${help.stdout}${help.stderr}`)) {
    throw new PodnetError('MISSING_TOOL', 'the nc on PATH cannot connect to unix sockets (no -U option; busybox nc has none), and podnet-cni needs that to reach ipamd', hint);
  }
}

function writeAtomically(path: string, text: string, mode: number): void {
  try {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(tmp, text, { mode });
    chmodSync(tmp, mode);
    renameSync(tmp, path);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new PodnetError('FAILED', `cannot write ${path}: ${e.code ?? e.message}`, e.code === 'EACCES' ? 'run as root, or choose directories you can write' : 'check the directory exists and is writable', { cause: err });
  }
}
