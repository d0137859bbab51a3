// A private containerd for e2e tests, following lab-recipes §5.2–5.4: its own config, root and state under a temp
// dir, the Debian reference plugins as CNI bin dir, and a /etc overlay so `ctr run --cni` (which reads the hard-coded
// /etc/cni/net.d) sees only our network config. Everything here assumes the e2e sandbox of scripts/test.mjs: private
// mount, PID and network namespaces with tmpfs on /run/containerd and /var/lib/cni.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmdirSync, rmSync, symlinkSync, copyFileSync, writeFileSync, openSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run, type RunResult } from '../../src/lib/index.js';
import { renderContainerdConfig } from '../../src/lab/index.js';

/** Debian's containernetworking-plugins directory (lab-recipes §5.1). */
export const DEBIAN_CNI_BIN = '/usr/lib/cni';

interface Mount { source: string; target: string; fstype: string }

function mounts(): Mount[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').trim().split('\n').map((line) => {
    const [pre, post] = line.split(' - ');
    const target = (pre ?? '').split(' ')[4] ?? '';
    const [fstype = '', source = ''] = (post ?? '').split(' ');
    return { source, target: target.replace(/\\040/g, ' '), fstype };
  });
}

/** Why this process is not inside the e2e sandbox (so must not start a runtime or overlay /etc), or null. */
export function sandboxProblem(): string | null {
  if (process.env.PODNET_TEST_TIER !== 'e2e') return "not started by 'node scripts/test.mjs e2e' (PODNET_TEST_TIER is not e2e)";
  const m = mounts();
  for (const [target, source] of [['/run/containerd', 'podnet-containerd'], ['/var/lib/cni', 'podnet-cni-cache']] as const) {
    if (!m.some((x) => x.target === target && x.source === source)) return `${target} is not the sandbox's private tmpfs`;
  }
  return null;
}

/** cgroup v1 hierarchies where runc creates `<ctr namespace>/<container>` directories outside every namespace (§4). */
function cgroupDirs(name: string): string[] {
  const root = '/sys/fs/cgroup';
  if (!existsSync(root)) return [];
  return readdirSync(root).map((h) => join(root, h, name));
}

/** containerd namespaces the harness cleans up: ctr's default one and the CRI plugin's. */
const containerdNamespaces = ['default', 'k8s.io'];

/** The cgroup parent CRI tests give their sandboxes, so runc's cgroup directories are found and removed on stop. */
export const criCgroupParent = '/podnet-e2e';

/** cgroup directories (per v1 hierarchy) that runc creates for ctr containers and CRI sandboxes. */
const runcCgroups = (): string[] => [...containerdNamespaces, criCgroupParent.slice(1)].flatMap(cgroupDirs);

export interface Containerd {
  /** The temp dir holding config, root, state, socket, log and anything the test writes. */
  readonly dir: string;
  readonly socket: string;
  readonly pid: number;
  /** Runs `ctr --address <socket> ...args`. */
  ctr(args: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /** The tail of containerd's log, for assertion messages. */
  logTail(): string;
  /** Writes a conflist where `ctr run --cni` finds it (the /etc overlay's /etc/cni/net.d). */
  writeCniConfig(fileName: string, conflist: object): void;
  /** Kills leftover tasks, stops containerd by PID, unmounts what it left, removes the temp dir and runc cgroups. */
  stop(): Promise<void>;
}

export interface ContainerdOptions {
  /**
   * A network namespace under /run/netns (an emulated node) to run containerd in, so the CNI plugins it executes
   * wire pods into that node rather than the sandbox's root namespace (lab-recipes §5.3). `nsenter --net` keeps this
   * mount namespace, so the `cni-…` namespaces containerd creates stay visible under /run/netns.
   */
  netns?: string;
  /**
   * The CNI plugins CRI may run, by type name → executable. containerd 1.6's CRI plugin takes a single bin dir, so
   * these are linked into one under the temp dir, with Debian's `loopback` (which CRI always runs). Default: CRI
   * uses Debian's plugin dir as is.
   */
  cniPlugins?: Readonly<Record<string, string>>;
  /** The CRI sandbox ("pause") image; import it into the k8s.io namespace before RunPodSandbox. */
  sandboxImage?: string;
}

/** Starts containerd inside the sandbox and resolves once it answers on its socket. */
export async function startContainerd(options: ContainerdOptions = {}): Promise<Containerd> {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-e2e-'));
  const socket = join(dir, 'containerd.sock');
  const confDir = join(dir, 'cni', 'net.d');
  mkdirSync(confDir, { recursive: true });
  let binDir = DEBIAN_CNI_BIN;
  if (options.cniPlugins) {
    binDir = join(dir, 'cni', 'bin');
    mkdirSync(binDir);
    const plugins = { loopback: join(DEBIAN_CNI_BIN, 'loopback'), ...options.cniPlugins };
    for (const [name, path] of Object.entries(plugins)) symlinkSync(path, join(binDir, name));
  }
  // containerd's CRI plugin reads conf_dir; Debian's ctr reads /etc/cni/net.d, so overlay /etc (private mount ns)
  // and point /etc/cni/net.d at the same directory.
  const overlay = join(dir, 'etc-overlay');
  mkdirSync(join(overlay, 'upper', 'cni'), { recursive: true });
  mkdirSync(join(overlay, 'work'), { recursive: true });
  symlinkSync(confDir, join(overlay, 'upper', 'cni', 'net.d'));
  await run(['mount', '-t', 'overlay', 'podnet-e2e-etc', '-o', `lowerdir=/etc,upperdir=${join(overlay, 'upper')},workdir=${join(overlay, 'work')}`, '/etc']);

  writeFileSync(join(dir, 'config.toml'), renderContainerdConfig({ dir, socket, cniBinDir: binDir, cniConfDir: confDir, ...(options.sandboxImage && { sandboxImage: options.sandboxImage }) }));

  const cgroupsBefore = new Set(runcCgroups().filter((d) => existsSync(d)));
  const logPath = join(dir, 'containerd.log');
  const logFd = openSync(logPath, 'a');
  const argv = ['containerd', '--config', join(dir, 'config.toml')];
  const [cmd = '', ...args] = options.netns ? ['nsenter', `--net=/run/netns/${options.netns}`, ...argv] : argv;
  const child: ChildProcess = spawn(cmd, args, { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const logTail = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8').trim().split('\n').slice(-15).join('\n') : '');
  const ctr = (args: readonly string[], timeoutMs = 20_000) => run(['ctr', '--address', socket, ...args], { timeoutMs });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null) {
      // ctr's containers live in `default`, CRI's sandboxes in `k8s.io`
      for (const ns of containerdNamespaces) {
        const inNs = (args: readonly string[]) => ctr(['--namespace', ns, ...args]);
        const tasks = await inNs(['tasks', 'list', '--quiet']).then((r) => r.stdout.split('\n').filter(Boolean), () => []);
        for (const id of tasks) {
          await inNs(['tasks', 'kill', '--signal', 'SIGKILL', id]).catch(() => {});
          await inNs(['tasks', 'delete', '--force', id]).catch(() => {});
        }
        const containers = await inNs(['containers', 'list', '--quiet']).then((r) => r.stdout.split('\n').filter(Boolean), () => []);
        for (const id of containers) await inNs(['containers', 'delete', id]).catch(() => {});
      }
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    // snapshot mounts under the temp dir, then the /etc overlay, innermost first
    const ours = mounts().filter((m) => m.target.startsWith(dir + '/') || m.source === 'podnet-e2e-etc').map((m) => m.target).reverse();
    for (const target of ours) await run(['umount', '-l', target]).catch(() => {});
    rmSync(dir, { recursive: true, force: true });
    // runc's cgroup directories live outside every namespace; remove the (empty) ones this run created
    for (const d of runcCgroups()) {
      if (cgroupsBefore.has(d) || !existsSync(d)) continue;
      for (const sub of readdirSync(d, { withFileTypes: true })) if (sub.isDirectory()) rmdirQuiet(join(d, sub.name));
      rmdirQuiet(d);
    }
  };

  const deadline = Date.now() + 10_000;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`containerd exited ${child.exitCode} before it was ready:\n${logTail()}`);
    }
    if (existsSync(socket) && (await ctr(['version'], 2_000).then(() => true, () => false))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`containerd did not answer on ${socket} within 10 s:\n${logTail()}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }

  return {
    dir,
    socket,
    pid: child.pid!,
    ctr,
    logTail,
    writeCniConfig: (fileName, conflist) => writeFileSync(join(confDir, fileName), JSON.stringify(conflist, null, 2)),
    stop,
  };
}

function rmdirQuiet(path: string): void {
  try {
    rmdirSync(path);
  } catch {
    // busy or not empty: someone else's cgroup; leave it
  }
}

/**
 * Builds a docker-archive image from Debian's static busybox with the given applets (lab-recipes §5.4) and imports
 * it; no registry is ever contacted.
 */
export async function importBusyboxImage(
  c: Containerd,
  name: string,
  applets: readonly string[],
  options: { cmd?: readonly string[]; namespace?: string } = {},
): Promise<void> {
  const work = mkdtempSync(join(c.dir, 'image-'));
  const rootfs = join(work, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const a of applets) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\n');
  await run(['tar', '--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', join(work, 'layer.tar'), '.']);
  const diffId = 'sha256:' + createHash('sha256').update(readFileSync(join(work, 'layer.tar'))).digest('hex');
  const config = { architecture: process.arch === 'x64' ? 'amd64' : process.arch, os: 'linux', config: { Env: ['PATH=/bin'], Cmd: options.cmd ?? ['/bin/sh'], WorkingDir: '/' }, rootfs: { type: 'layers', diff_ids: [diffId] } };
  writeFileSync(join(work, 'config.json'), JSON.stringify(config));
  writeFileSync(join(work, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [name], Layers: ['layer.tar'] }]));
  await run(['tar', '-C', work, '-cf', join(work, 'image.tar'), 'manifest.json', 'config.json', 'layer.tar']);
  // CRI looks for images (the sandbox image too) in containerd's k8s.io namespace; ctr defaults to `default`
  await c.ctr(['--namespace', options.namespace ?? 'default', 'images', 'import', join(work, 'image.tar')]);
}
