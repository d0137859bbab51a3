import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmdirSync, statSync, unlinkSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodnetError, checkCreatablePath, ensureDirectory, onPath, undoOnFailure, writeFileAtomicSync } from '../lib/index.js';

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
  /** DISABLE_POD_V6 appends the tuning plugin with the IPv6-disabling sysctls (spec §1) */
  disablePodV6?: boolean;
  /** podnet's field: ipamd's CNI socket on this node */
  ipamdSocket: string;
}

/** The file name the runtime finds the launcher under: the conflist's plugin `type`. */
const launcherName = 'podnet-cni';
/** Upstream's conflist name, so podnet replaces the VPC CNI's file rather than competing with it. */
const conflistName = '10-aws.conflist';

/**
 * What the tuning plugin writes inside each pod with DISABLE_POD_V6=true: upstream's entrypoint chains exactly these
 * three (cmd/aws-vpc-cni/main.go at v1.23.1), so a pod has no IPv6 address, not even on lo.
 */
const podV6DisablingSysctls: Readonly<Record<string, string>> = {
  'net.ipv6.conf.all.disable_ipv6': '1',
  'net.ipv6.conf.default.disable_ipv6': '1',
  'net.ipv6.conf.lo.disable_ipv6': '1',
};

/**
 * The conflist upstream renders (spec §1.1): cniVersion 0.4.0, disableCheck, the main plugin with vethPrefix, mtu
 * (as a string, as upstream writes it), podSGEnforcingMode, plugin log settings and the pod-annotations capability,
 * then portmap with snat; then, in upstream's order, bandwidth (ENABLE_BANDWIDTH_PLUGIN) and tuning with the
 * IPv6-disabling sysctls (DISABLE_POD_V6). podnet's plugin type is `podnet-cni` and carries `ipamdSocket`. Upstream's
 * egress-cni entry (IPv6-egress for IPv4 clusters, off by default) is left out: podnet has no egress plugin.
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
  if (o.disablePodV6) plugins.push({ type: 'tuning', sysctl: { ...podV6DisablingSysctls } });
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
  /** The containernetworking plugins copied into the bin dir (loopback and those the conflist chains). */
  plugins: string[];
  fallbackArgv: string[];
}

export interface InstallOptions {
  binDir: string;
  confDir: string;
  conflist: ConflistOptions;
  fallbackArgv?: string[];
  /**
   * Where to copy loopback and the plugins the conflist chains (portmap, bandwidth, tuning) from, as upstream's init
   * container copies its plugin binaries into the host's CNI bin dir; undefined copies none.
   */
  pluginsDir?: string;
}

/** Where this package lives: src/cni/ and dist/cni/ are both two levels below it. */
const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/** An install that can be taken back: `podnet init` undoes it when a later step of its own fails. */
export interface UndoableInstall {
  result: InstallResult;
  /** Puts back every file it replaced, removes those it created and the directories it made. Returns what it could not undo. */
  undo(): string[];
}

/**
 * Writes the launcher into binDir (mode 0755), the plugins from pluginsDir beside it, and the conflist into confDir,
 * each through a temporary file and a rename so a runtime never executes or reads a half-written file. Of each
 * directory only the last component is created, when its parent exists; paths and plugin sources are checked before
 * anything else, so a refused install writes nothing, and a write that fails takes back the ones before it.
 */
export function installCni(o: InstallOptions): InstallResult {
  return installCniUndoable(o).result;
}

export function installCniUndoable(o: InstallOptions): UndoableInstall {
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
  const rendered = renderConflist(o.conflist);
  const plugins = o.pluginsDir === undefined ? [] : readPlugins(o.pluginsDir, rendered, o.binDir);
  const text = renderInstalledLauncher(readFileSync(join(packageRoot, 'bin', launcherName), 'utf8'), fallbackArgv, o.conflist.ipamdSocket);
  const launcher = join(o.binDir, launcherName);
  const conflist = join(o.confDir, conflistName);
  const journal = new InstallJournal();
  undoOnFailure(() => {
    journal.ensureDirectory(o.binDir, '--bin-dir');
    journal.ensureDirectory(o.confDir, '--conf-dir');
    for (const p of plugins) journal.write(join(o.binDir, p.name), p.data, 0o755);
    journal.write(launcher, text, 0o755);
    journal.write(conflist, `${JSON.stringify(rendered, null, 2)}\n`, 0o644);
  }, () => journal.undo(), { notUndone: 'and could not undo:' });
  return { result: { launcher, conflist, plugins: plugins.map((p) => join(o.binDir, p.name)), fallbackArgv }, undo: () => journal.undo() };
}

/**
 * loopback (every runtime calls it for the pod's lo) and each chained plugin of the conflist other than podnet's own,
 * read from pluginsDir before anything is written. None is copied onto itself when pluginsDir is the bin dir.
 */
function readPlugins(pluginsDir: string, rendered: Record<string, unknown>, binDir: string): { name: string; data: Buffer }[] {
  const chained = (rendered.plugins as { type: string }[]).map((p) => p.type).filter((t) => t !== launcherName);
  const names = [...new Set(['loopback', ...chained])];
  if (sameDirectory(pluginsDir, binDir)) return [];
  return names.map((name) => {
    const path = join(pluginsDir, name);
    try {
      return { name, data: readFileSync(path) };
    } catch (err) {
      throw new PodnetError('MISSING_TOOL', `the conflist needs the ${name} plugin, and ${path} cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        `install the containernetworking plugins (apt-get install -y containernetworking-plugins puts them in /usr/lib/cni), or give --plugins-dir the directory that holds ${names.join(', ')}`, { cause: err });
    }
  });
}

function sameDirectory(a: string, b: string): boolean {
  try {
    const [x, y] = [statSync(a), statSync(b)];
    return x.dev === y.dev && x.ino === y.ino;
  } catch {
    return false;
  }
}

/** The files and directories an install changed, in order, so it can be taken back. */
class InstallJournal {
  private readonly steps: ({ kind: 'dir'; path: string } | { kind: 'file'; path: string; previous: { data: Buffer; mode: number } | undefined })[] = [];

  ensureDirectory(path: string, what: string): void {
    const existed = existsSync(path);
    ensureDirectory(path, what);
    if (!existed) this.steps.push({ kind: 'dir', path });
  }

  write(path: string, data: string | Buffer, mode: number): void {
    let previous: { data: Buffer; mode: number } | undefined;
    try {
      previous = { data: readFileSync(path), mode: statSync(path).mode & 0o7777 };
    } catch {
      previous = undefined;
    }
    writeFileAtomicSync(path, data, { mode });
    this.steps.push({ kind: 'file', path, previous });
  }

  undo(): string[] {
    const failed: string[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        if (step.kind === 'dir') rmdirSync(step.path);
        else if (step.previous) writeFileAtomicSync(step.path, step.previous.data, { mode: step.previous.mode });
        else unlinkSync(step.path);
      } catch (err) {
        failed.push(`${step.path}: ${err instanceof PodnetError ? err.message : ((err as NodeJS.ErrnoException).code ?? (err as Error).message)}`);
      }
    }
    return failed;
  }
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
