/**
 * What the installed launcher and the fallback plugin run on the node, checked at install time so a node without them
 * fails the install and not every pod's ADD: on PATH, or on the host under --host-root, where the host's own tools
 * are run by chroot (with the host's libraries), never the installer's.
 */
import { spawnSync } from 'node:child_process';
import { lstatSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PodnetError, onPath } from '../lib/index.js';
import { runtimeNode } from './fallback-runtime.js';

/** The directories a host's runtime (containerd, kubelet) searches for commands: the launcher runs with its PATH. */
const hostPath = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/**
 * The launcher talks to ipamd with nc: OpenBSD netcat and Nmap's ncat both take -U for a unix socket; busybox's nc
 * does not. It bounds the call with coreutils' timeout, because ncat's -w limits only the connect (nmap/nmap#825).
 * The fallback plugin's DEL runs ip. Checked once here, so a node without them fails at install and not with every
 * pod's ADD answering 11. Under --host-root the host's tools are checked: looked up in the host's PATH directories,
 * and nc run by chroot, so the help it prints is that of the nc the launcher will run (with the host's libraries).
 */
export function requireLauncherTools(hostRoot: string | undefined): void {
  const where = hostRoot === undefined ? 'on PATH' : `on the host (${hostPath.join(':')} under --host-root ${hostRoot})`;
  const present = (tool: string) => (hostRoot === undefined ? onPath(tool) : hostPath.some((d) => lexists(join(hostRoot, d, tool))));
  if (!present('timeout')) {
    throw new PodnetError('MISSING_TOOL', `podnet-cni bounds its call to ipamd with timeout, and no timeout is ${where}`, 'install coreutils (apt-get install -y coreutils, dnf install -y coreutils)');
  }
  if (!present('ip')) {
    throw new PodnetError('MISSING_TOOL', `the fallback plugin tears a pod down with ip while ipamd is unreachable, and no ip is ${where}`, 'install iproute2 (apt-get install -y iproute2, dnf install -y iproute)');
  }
  const hint = 'apt-get install -y netcat-openbsd (Debian, Ubuntu), or dnf install -y nmap-ncat (Amazon Linux, Fedora)';
  if (!present('nc')) throw new PodnetError('MISSING_TOOL', `podnet-cni talks to ipamd with nc, and no nc is ${where}`, hint);
  const help = hostRoot === undefined
    ? spawnSync('nc', ['-h'], { encoding: 'utf8', timeout: 5000 })
    : spawnSync('chroot', [hostRoot, 'nc', '-h'], { encoding: 'utf8', timeout: 5000, env: { PATH: hostPath.join(':') } });
  // chroot's own failures: 125 (it could not chroot: not root), or it is missing here
  if (hostRoot !== undefined && (help.error || help.status === 125)) {
    const why = help.error ? `chroot: ${(help.error as NodeJS.ErrnoException).code ?? help.error.message}` : help.stderr.trim().split('\n')[0];
    throw new PodnetError('FAILED', `cannot run the host's nc under --host-root ${hostRoot} to check it speaks to unix sockets (${why})`,
      'run the install as root with chroot available, as an init container runs privileged');
  }
  if (!/-U\b|--unixsock/.test(`${help.stdout}${help.stderr}`)) {
    throw new PodnetError('MISSING_TOOL', `the nc ${where} cannot connect to unix sockets (no -U option; busybox nc has none), and podnet-cni needs that to reach ipamd`, hint);
  }
}

/**
 * The copied Node must start where the launcher will start it: on the host, with the host's libraries (a Node built
 * for musl, as in an Alpine image, does not start on a glibc host). Checked before the runtime link points at it,
 * since the fallback runs only when ipamd is down, the worst time to find out. Under --host-root it runs by chroot.
 */
export function requireRuntimeRuns(dir: string, hostRoot: string | undefined): void {
  const node = join(dir, runtimeNode);
  const r = hostRoot === undefined
    ? spawnSync(node, ['--version'], { encoding: 'utf8', timeout: 30_000, env: {} })
    : spawnSync('chroot', [hostRoot, `/${relative(hostRoot, node)}`, '--version'], { encoding: 'utf8', timeout: 30_000, env: { PATH: hostPath.join(':') } });
  if (r.status === 0 && /^v\d/.test(r.stdout)) return;
  const why = r.error ? ((r.error as NodeJS.ErrnoException).code ?? r.error.message) : (r.stderr.trim().split('\n')[0] || `exit ${r.status ?? r.signal}`);
  throw new PodnetError('FAILED', `the Node runtime copied for the fallback plugin (${process.execPath}) does not start ${hostRoot === undefined ? 'here' : 'on the host'}: ${why}`,
    "install from a Node built for the host's C library (the official Node builds, for glibc), or put the host's libstdc++ in place");
}

/** Whether anything is at path, a dangling link included: a host's link is absolute and resolves only on the host. */
function lexists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}
