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

/** Starts containerd inside the sandbox and resolves once it answers on its socket. */
export async function startContainerd(): Promise<Containerd> {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-e2e-'));
  const socket = join(dir, 'containerd.sock');
  const confDir = join(dir, 'cni', 'net.d');
  mkdirSync(confDir, { recursive: true });
  // containerd's CRI plugin reads conf_dir; Debian's ctr reads /etc/cni/net.d, so overlay /etc (private mount ns)
  // and point /etc/cni/net.d at the same directory.
  const overlay = join(dir, 'etc-overlay');
  mkdirSync(join(overlay, 'upper', 'cni'), { recursive: true });
  mkdirSync(join(overlay, 'work'), { recursive: true });
  symlinkSync(confDir, join(overlay, 'upper', 'cni', 'net.d'));
  await run(['mount', '-t', 'overlay', 'podnet-e2e-etc', '-o', `lowerdir=/etc,upperdir=${join(overlay, 'upper')},workdir=${join(overlay, 'work')}`, '/etc']);

  // TOML does not expand variables: the paths are written in.
  writeFileSync(join(dir, 'config.toml'), [
    'version = 2',
    `root = "${join(dir, 'root')}"`,
    `state = "${join(dir, 'state')}"`,
    '[grpc]',
    `  address = "${socket}"`,
    '[ttrpc]',
    `  address = "${socket}.ttrpc"`,
    '[plugins]',
    '  [plugins."io.containerd.grpc.v1.cri"]',
    '    restrict_oom_score_adj = true', // no CAP_SYS_RESOURCE here (lab-recipes §5.2)
    '    [plugins."io.containerd.grpc.v1.cri".cni]',
    `      bin_dir = "${DEBIAN_CNI_BIN}"`,
    `      conf_dir = "${confDir}"`,
    '  [plugins."io.containerd.internal.v1.opt"]',
    `    path = "${join(dir, 'opt')}"`,
    '',
  ].join('\n'));

  const cgroupsBefore = new Set(cgroupDirs('default').filter((d) => existsSync(d)));
  const logPath = join(dir, 'containerd.log');
  const logFd = openSync(logPath, 'a');
  const child: ChildProcess = spawn('containerd', ['--config', join(dir, 'config.toml')], { stdio: ['ignore', logFd, logFd] });
  closeSync(logFd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const logTail = () => (existsSync(logPath) ? readFileSync(logPath, 'utf8').trim().split('\n').slice(-15).join('\n') : '');
  const ctr = (args: readonly string[], timeoutMs = 20_000) => run(['ctr', '--address', socket, ...args], { timeoutMs });

  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null) {
      const tasks = await ctr(['tasks', 'list', '--quiet']).then((r) => r.stdout.split('\n').filter(Boolean), () => []);
      for (const id of tasks) {
        await ctr(['tasks', 'kill', '--signal', 'SIGKILL', id]).catch(() => {});
        await ctr(['tasks', 'delete', '--force', id]).catch(() => {});
      }
      const containers = await ctr(['containers', 'list', '--quiet']).then((r) => r.stdout.split('\n').filter(Boolean), () => []);
      for (const id of containers) await ctr(['containers', 'delete', id]).catch(() => {});
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
    for (const d of cgroupDirs('default')) {
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
export async function importBusyboxImage(c: Containerd, name: string, applets: readonly string[]): Promise<void> {
  const work = join(c.dir, 'image');
  const rootfs = join(work, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync('/bin/busybox', join(rootfs, 'bin', 'busybox'));
  for (const a of applets) symlinkSync('busybox', join(rootfs, 'bin', a));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sh\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\n');
  await run(['tar', '--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', join(work, 'layer.tar'), '.']);
  const diffId = 'sha256:' + createHash('sha256').update(readFileSync(join(work, 'layer.tar'))).digest('hex');
  const config = { architecture: process.arch === 'x64' ? 'amd64' : process.arch, os: 'linux', config: { Env: ['PATH=/bin'], Cmd: ['/bin/sh'], WorkingDir: '/' }, rootfs: { type: 'layers', diff_ids: [diffId] } };
  writeFileSync(join(work, 'config.json'), JSON.stringify(config));
  writeFileSync(join(work, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [name], Layers: ['layer.tar'] }]));
  await run(['tar', '-C', work, '-cf', join(work, 'image.tar'), 'manifest.json', 'config.json', 'layer.tar']);
  await c.ctr(['images', 'import', join(work, 'image.tar')]);
}
