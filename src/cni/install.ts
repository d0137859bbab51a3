import { randomBytes } from 'node:crypto';
import {
  closeSync, existsSync, fchmodSync, fsyncSync, linkSync, lstatSync, mkdirSync, openSync, readFileSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, rmdirSync, statSync,
  symlinkSync, unlinkSync, writeFileSync,
} from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PodnetError, checkCreatablePath, ensureDirectory, undoOnFailure, writeFileAtomicSync } from '../lib/index.js';
import { type RuntimeFile, fallbackRuntimeFiles, runtimeNode, runtimePlugin } from './fallback-runtime.js';
import { requireLauncherTools, requireRuntimeRuns } from './host-tools.js';

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
 * The installed launcher: the repository's bin/podnet-cni with the fallback plugin's argv (absolute host paths, known
 * only at install time), ipamd's socket and the launcher's timeout baked in, so a single copied file in the CNI bin
 * dir works and never has to read the network config to find ipamd.
 */
function renderInstalledLauncher(launcherText: string, fallbackArgv: readonly string[], socket: string, timeoutSeconds: number): string {
  let text = launcherText;
  const values = { fallback_plugin: shellQuote(fallbackArgv.map(shellQuote).join(' ')), ipamd_socket: shellQuote(socket), ipamd_timeout: String(timeoutSeconds) };
  for (const [name, value] of Object.entries(values)) {
    const line = new RegExp(`^${name}=.*$`, 'm');
    if (!line.test(text)) throw new PodnetError('FAILED', `bin/podnet-cni has no "${name}=" line to fill in`, 'reinstall podnet: the launcher file was modified');
    text = text.replace(line, () => `${name}=${value}`); // a function: a $ in a path is text, not a pattern
  }
  return text;
}

export interface InstallResult {
  /** Paths as the host sees them (without --host-root). */
  launcher: string;
  conflist: string;
  /** The containernetworking plugins copied into the bin dir (loopback and those the conflist chains). */
  plugins: string[];
  fallbackArgv: string[];
  /** `<bin-dir>/podnet`: the Node runtime and the compiled plugin the fallback runs; absent when fallbackArgv was given. */
  runtime?: string;
  /** Where the host's root was mounted for this install, when it ran from a container (--host-root). */
  hostRoot?: string;
}

export interface InstallOptions {
  binDir: string;
  confDir: string;
  conflist: ConflistOptions;
  /** The fallback plugin's argv; default: the Node runtime and plugin copied under `<bin-dir>/podnet/`. Tests run the source. */
  fallbackArgv?: string[];
  /**
   * Where to copy loopback and the plugins the conflist chains (portmap, bandwidth, tuning) from, as upstream's init
   * container copies its plugin binaries into the host's CNI bin dir; undefined copies none. Read where the installer
   * runs (in a container: the image's directory), not under hostRoot.
   */
  pluginsDir?: string;
  /**
   * The host's root directory as mounted where the installer runs (a DaemonSet init container's host mount): every
   * file is written under it, while the paths written into the files (the launcher's fallback and socket, the
   * conflist) and binDir/confDir themselves are the host's. The launcher's tools are checked on the host.
   */
  hostRoot?: string;
  /** How long the launcher waits for ipamd's answer before the fallback answers (default 30 s). */
  launcherTimeoutSeconds?: number;
}

/** Where this package lives: src/cni/ and dist/cni/ are both two levels below it. */
const packageRoot = fileURLToPath(new URL('../../', import.meta.url));

/** The runtime directory's name in the bin dir: a link to the current `podnet.<id>` directory. */
const runtimeLinkName = 'podnet';
const runtimeDirPattern = /^podnet\.[0-9a-f]{12}$/;

/** An install that can be taken back: `podnet init` undoes it when a later step of its own fails. */
export interface UndoableInstall {
  result: InstallResult;
  /** Puts back every file it replaced, removes those it created and the directories it made. Returns what it could not undo. */
  undo(): string[];
  /** Keeps the install: removes the fallback runtime it replaced. Returns what it could not remove. */
  commit(): string[];
}

/**
 * Writes the launcher into binDir (mode 0755), the fallback's runtime under binDir/podnet, the plugins from pluginsDir
 * beside it, and the conflist into confDir, each through a temporary file (or directory) and a rename so a runtime
 * never executes or reads a half-written file. Of each directory only the last component is created, when its parent
 * exists; paths, tools and sources are checked before anything else, so a refused install writes nothing, and a write
 * that fails takes back the ones before it.
 */
export function installCni(o: InstallOptions): InstallResult {
  const install = installCniUndoable(o);
  install.commit();
  return install.result;
}

export function installCniUndoable(o: InstallOptions): UndoableInstall {
  const hostRoot = checkHostRoot(o);
  const onHost = (path: string) => (hostRoot === undefined ? path : join(hostRoot, path));
  const [binDir, confDir] = [onHost(o.binDir), onHost(o.confDir)];
  checkCreatablePath(binDir, '--bin-dir', 'directory');
  checkCreatablePath(confDir, '--conf-dir', 'directory');
  if (!o.fallbackArgv && !existsSync(join(packageRoot, 'dist', 'cni', 'index.js'))) {
    throw new PodnetError('FAILED', `the fallback plugin needs the build, and ${join(packageRoot, 'dist')} has no cni/index.js`, 'run `npm run build` in the podnet checkout, then install again');
  }
  const runtime = o.fallbackArgv ? undefined : { files: fallbackRuntimeFiles(packageRoot, process.execPath), previous: previousRuntime(join(binDir, runtimeLinkName)) };
  // absolute: the launcher runs it from whatever directory the runtime starts it in
  const hostRuntime = join(resolve(o.binDir), runtimeLinkName);
  const fallbackArgv = o.fallbackArgv ?? [join(hostRuntime, runtimeNode), join(hostRuntime, runtimePlugin)];
  if (!o.conflist.ipamdSocket.startsWith('/') || /[\x00-\x1f\x7f]/.test(o.conflist.ipamdSocket)) {
    throw new PodnetError('USAGE', `ipamd's socket ${JSON.stringify(o.conflist.ipamdSocket)} is not an absolute path without control characters`, 'give the absolute path ipamd listens on, e.g. /var/run/aws-node/ipamd.sock');
  }
  const timeout = o.launcherTimeoutSeconds ?? 30;
  if (!Number.isInteger(timeout) || timeout < 1) throw new PodnetError('USAGE', `the launcher's timeout ${timeout} is not a whole number of seconds of at least 1`, 'give a whole number of seconds, such as 30');
  requireLauncherTools(hostRoot);
  const rendered = renderConflist(o.conflist);
  const plugins = o.pluginsDir === undefined ? [] : readPlugins(o.pluginsDir, rendered, binDir);
  const text = renderInstalledLauncher(readFileSync(join(packageRoot, 'bin', launcherName), 'utf8'), fallbackArgv, o.conflist.ipamdSocket, timeout);
  const journal = new InstallJournal();
  undoOnFailure(() => {
    journal.ensureDirectory(binDir, '--bin-dir');
    journal.ensureDirectory(confDir, '--conf-dir');
    if (hostRoot !== undefined) {
      requireUnderHostRoot(hostRoot, binDir, '--bin-dir');
      requireUnderHostRoot(hostRoot, confDir, '--conf-dir');
    }
    for (const p of plugins) journal.write(join(binDir, p.name), p.data, 0o755);
    if (runtime) journal.replaceRuntime(binDir, runtime.files, runtime.previous, (dir) => requireRuntimeRuns(dir, hostRoot));
    journal.write(join(binDir, launcherName), text, 0o755);
    journal.write(join(confDir, conflistName), `${JSON.stringify(rendered, null, 2)}\n`, 0o644);
  }, () => journal.undo(), { notUndone: 'and could not undo:' });
  const result: InstallResult = {
    launcher: join(o.binDir, launcherName),
    conflist: join(o.confDir, conflistName),
    plugins: plugins.map((p) => join(o.binDir, p.name)),
    fallbackArgv,
    ...(runtime && { runtime: hostRuntime }),
    ...(hostRoot !== undefined && { hostRoot }),
  };
  return { result, undo: () => journal.undo(), commit: () => (runtime ? removeOtherRuntimes(binDir, runtime.previous) : []) };
}

/**
 * --host-root: an existing absolute directory; `/` is the same as none. With it, --bin-dir and --conf-dir are host
 * paths and must be absolute (a relative one would mean a directory of the installer's, not of the host).
 */
function checkHostRoot(o: InstallOptions): string | undefined {
  if (o.hostRoot === undefined) return undefined;
  const root = o.hostRoot;
  const hint = "give --host-root the directory the host's root is mounted at, e.g. /host (hostPath / mounted at /host)";
  if (!isAbsolute(root)) throw new PodnetError('USAGE', `--host-root ${root} is not an absolute path`, hint);
  let isDir = false;
  try {
    isDir = statSync(root).isDirectory();
  } catch (err) {
    throw new PodnetError('USAGE', `--host-root ${root} does not exist`, hint, { cause: err });
  }
  if (!isDir) throw new PodnetError('USAGE', `--host-root ${root} is not a directory`, hint);
  for (const [what, path] of [['--bin-dir', o.binDir], ['--conf-dir', o.confDir]] as const) {
    if (!isAbsolute(path)) throw new PodnetError('USAGE', `${what} ${path} must be an absolute path of the host with --host-root`, `give the host's path, e.g. ${what === '--bin-dir' ? '/opt/cni/bin' : '/etc/cni/net.d'}`);
    // joined under the root, `..` would climb out of it into the installer's own filesystem
    if (path.split('/').includes('..')) throw new PodnetError('USAGE', `${what} ${path} has a '..' component, which would leave --host-root`, `give the host's path without '..', e.g. ${what === '--bin-dir' ? '/opt/cni/bin' : '/etc/cni/net.d'}`);
  }
  const full = resolve(root);
  return full === '/' ? undefined : full;
}

/** Hard-links source at target; false when they are on different filesystems (or links are refused there). */
function linkedSameFilesystem(source: string, target: string): boolean {
  try {
    linkSync(source, target);
    return true;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EXDEV' || code === 'EPERM' || code === 'EMLINK') return false;
    throw err;
  }
}

/**
 * A directory under --host-root that resolves outside it (through a link with an absolute target, which the
 * installer resolves in its own filesystem, not the host's) would put the files where the host never sees them.
 */
function requireUnderHostRoot(hostRoot: string, dir: string, what: string): void {
  const root = realpathSync(hostRoot);
  const real = realpathSync(dir);
  if (real !== root && !real.startsWith(`${root}/`)) {
    throw new PodnetError('USAGE', `${what} ${dir} resolves to ${real}, outside --host-root ${hostRoot} (a link in the path points elsewhere in this container)`,
      `give ${what} as the host's real path, without links that point out of the host's root (e.g. with relative link targets)`);
  }
}

/**
 * The `podnet.<id>` directory the runtime link points to now, if any. Anything else at `<bin-dir>/podnet` (a
 * directory, a file, a link elsewhere) is not podnet's to replace: refused before anything is written.
 */
function previousRuntime(link: string): string | undefined {
  let target: string;
  try {
    target = readlinkSync(link);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') return undefined;
    throw new PodnetError('USAGE', `${link} exists and is not the link podnet cni install makes (${code === 'EINVAL' ? 'not a symbolic link' : code})`,
      `move ${link} out of the CNI bin dir: podnet keeps the fallback plugin's runtime there`, { cause: err });
  }
  if (!runtimeDirPattern.test(target)) {
    throw new PodnetError('USAGE', `${link} links to ${target}, not to a runtime podnet cni install made`, `remove the link ${link}: podnet keeps the fallback plugin's runtime there`);
  }
  return target;
}

/**
 * After a kept install: every `podnet.<id>` directory but the current one and the one it replaced (older replaced
 * runtimes, leftovers of a crashed install). The replaced one stays until the next install because a fallback that
 * resolved the link just before it moved may still be loading its modules from it.
 */
function removeOtherRuntimes(binDir: string, replaced: string | undefined): string[] {
  const current = readlinkSync(join(binDir, runtimeLinkName));
  const failed: string[] = [];
  for (const name of readdirSync(binDir)) {
    if (!runtimeDirPattern.test(name) || name === current || name === replaced) continue;
    try {
      rmSync(join(binDir, name), { recursive: true, force: true });
    } catch (err) {
      failed.push(`${join(binDir, name)}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
    }
  }
  return failed;
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

type JournalStep =
  | { kind: 'dir'; path: string }
  | { kind: 'file'; path: string; previous: { data: Buffer; mode: number } | undefined }
  | { kind: 'tree'; path: string }
  | { kind: 'link'; path: string; previous: string | undefined };

/** The files and directories an install changed, in order, so it can be taken back. */
class InstallJournal {
  private readonly steps: JournalStep[] = [];

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

  /**
   * The fallback's runtime goes into a new `podnet.<id>` directory, every file synced, then the `podnet` link is
   * pointed at it by renaming a new link over it: a launcher running meanwhile finds the old runtime or the new one,
   * whole. The link is relative, so it resolves on the host too when written under --host-root.
   */
  replaceRuntime(binDir: string, files: readonly RuntimeFile[], previous: string | undefined, check: (dir: string) => void): void {
    const name = `${runtimeLinkName}.${randomBytes(6).toString('hex')}`;
    const dir = join(binDir, name);
    mkdirSync(dir, { mode: 0o755 });
    this.steps.push({ kind: 'tree', path: dir });
    try {
      for (const f of files) {
        const target = join(dir, f.target);
        mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
        // Node itself (95 MB) is linked where it can be, as every lab node's bin dir beside the installer's Node can;
        // the compiled files are always copied, since a rebuild rewrites them in place
        if (f.target === runtimeNode && 'path' in f.source && linkedSameFilesystem(f.source.path, target)) continue;
        const data = 'path' in f.source ? readFileSync(f.source.path) : Buffer.from(f.source.text);
        // a reinstall of the same build links the previous runtime's identical files (Node's 95 MB above all)
        const same = previous === undefined ? undefined : join(binDir, previous, f.target);
        if (same !== undefined && isSameFile(same, data, f.mode)) linkSync(same, target);
        else writeNewFileSync(target, data, f.mode);
      }
    } catch (err) {
      if (err instanceof PodnetError) throw err;
      const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new PodnetError('FAILED', `cannot write the fallback plugin's runtime ${dir}: ${code}`, code === 'ENOSPC' ? `free space on the filesystem of ${binDir} (the runtime takes about 100 MB)` : 'check that the bin dir is writable', { cause: err });
    }
    check(dir);
    const link = join(binDir, runtimeLinkName);
    this.pointLink(link, name);
    this.steps.push({ kind: 'link', path: link, previous });
  }

  private pointLink(link: string, target: string): void {
    const tmp = `${link}.tmp${randomBytes(6).toString('hex')}`;
    symlinkSync(target, tmp);
    try {
      renameSync(tmp, link);
    } catch (err) {
      rmSync(tmp, { force: true });
      throw new PodnetError('FAILED', `cannot point ${link} at ${target}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'check that the bin dir is writable', { cause: err });
    }
  }

  undo(): string[] {
    const failed: string[] = [];
    for (const step of this.steps.splice(0).reverse()) {
      try {
        if (step.kind === 'dir') rmdirSync(step.path);
        else if (step.kind === 'tree') rmSync(step.path, { recursive: true, force: true });
        else if (step.kind === 'link') step.previous === undefined ? unlinkSync(step.path) : this.pointLink(step.path, step.previous);
        else if (step.previous) writeFileAtomicSync(step.path, step.previous.data, { mode: step.previous.mode });
        else unlinkSync(step.path);
      } catch (err) {
        failed.push(`${step.path}: ${err instanceof PodnetError ? err.message : ((err as NodeJS.ErrnoException).code ?? (err as Error).message)}`);
      }
    }
    return failed;
  }
}

/** Whether path is a regular file holding exactly data, with exactly mode. */
function isSameFile(path: string, data: Buffer, mode: number): boolean {
  try {
    const st = lstatSync(path);
    return st.isFile() && (st.mode & 0o7777) === mode && st.size === data.length && readFileSync(path).equals(data);
  } catch {
    return false;
  }
}

/** A file that must not exist yet, with exactly `mode`, synced before it is closed. */
function writeNewFileSync(path: string, data: string | Buffer, mode: number): void {
  const fd = openSync(path, 'wx', mode);
  try {
    fchmodSync(fd, mode);
    writeFileSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
