/**
 * Pods through containerd, as the kubelet creates them: each lab node runs its own containerd inside the node's
 * namespace (lab-recipes §5.3) with root, state and socket under the node's directory and the node's CNI conflist,
 * and a pod is a CRI pod sandbox (RunPodSandbox → CNI ADD; StopPodSandbox + RemovePodSandbox → CNI DEL twice, §5.6).
 */
import { createHash, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PodnetError, onPath, run } from '../lib/index.js';
import { ipBatch } from './apply.js';
import { connectCri } from './cri/client.js';
import { ns } from './plan.js';
import { isLabProcess, startProcess, type LabState, type NodeRecord } from './state.js';

export type RuntimeChoice = 'containerd' | 'cni' | 'auto';
export type LabRuntime = 'containerd' | 'cni';

/** Debian's containernetworking-plugins directory (lab-recipes §5.1): loopback and portmap come from here. */
const DEBIAN_CNI_BIN = '/usr/lib/cni';
const BUSYBOX = '/bin/busybox';
/** The CRI sandbox ("pause") image every node imports; built locally, never pulled (§5.4). */
export const SANDBOX_IMAGE = 'localhost/podnet-lab/pause:1';
/** Where the lab keeps the image archive it builds once per lab. */
const SANDBOX_IMAGE_FILE = 'sandbox-image.tar';

/** What containerd pods need that this machine lacks (empty when everything is there). */
export function containerdMissing(): string[] {
  const missing: string[] = [];
  for (const tool of ['containerd', 'runc', 'ctr']) if (!onPath(tool)) missing.push(tool);
  if (!existsSync(BUSYBOX)) missing.push(BUSYBOX);
  for (const plugin of ['loopback', 'portmap']) if (!existsSync(join(DEBIAN_CNI_BIN, plugin))) missing.push(join(DEBIAN_CNI_BIN, plugin));
  return missing;
}

/** `auto` takes containerd when it is installed and falls back to calling the CNI directly. */
export function chooseRuntime(choice: RuntimeChoice): LabRuntime {
  if (choice === 'cni') return 'cni';
  const missing = containerdMissing();
  if (missing.length === 0) return 'containerd';
  if (choice === 'auto') return 'cni';
  throw new PodnetError('MISSING_TOOL', `--runtime containerd needs ${missing.join(', ')}, which ${missing.length === 1 ? 'is' : 'are'} not installed`, 'apt-get install -y containerd runc containernetworking-plugins busybox-static, or use --runtime cni');
}

/**
 * The cgroup parent of the lab's pod sandboxes, derived from the state directory so `lab down` finds runc's cgroup
 * directories (which live outside every namespace) even without lab.json, and two labs never share one.
 */
export function labCgroupParent(stateDir: string): string {
  return `/podnet-lab-${createHash('sha256').update(stateDir).digest('hex').slice(0, 10)}`;
}

/** A docker-archive image from Debian's static busybox whose command sleeps forever (§5.4); built once per lab. */
export async function buildSandboxImage(state: LabState): Promise<string> {
  const work = state.path('sandbox-image');
  const rootfs = join(work, 'rootfs');
  for (const d of ['bin', 'etc', 'proc', 'sys', 'dev', 'tmp', 'run']) mkdirSync(join(rootfs, d), { recursive: true });
  copyFileSync(BUSYBOX, join(rootfs, 'bin', 'busybox'));
  symlinkSync('busybox', join(rootfs, 'bin', 'sleep'));
  writeFileSync(join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/:/bin/sleep\n');
  writeFileSync(join(rootfs, 'etc', 'group'), 'root:x:0:\n');
  await run(['tar', '--numeric-owner', '--owner=0', '--group=0', '-C', rootfs, '-cf', join(work, 'layer.tar'), '.']);
  const diffId = 'sha256:' + createHash('sha256').update(readFileSync(join(work, 'layer.tar'))).digest('hex');
  const arch = process.arch === 'x64' ? 'amd64' : process.arch;
  writeFileSync(join(work, 'config.json'), JSON.stringify({ architecture: arch, os: 'linux', config: { Env: ['PATH=/bin'], Cmd: ['/bin/sleep', 'infinity'], WorkingDir: '/' }, rootfs: { type: 'layers', diff_ids: [diffId] } }));
  writeFileSync(join(work, 'manifest.json'), JSON.stringify([{ Config: 'config.json', RepoTags: [SANDBOX_IMAGE], Layers: ['layer.tar'] }]));
  const archive = state.path(SANDBOX_IMAGE_FILE);
  await run(['tar', '-C', work, '-cf', archive, 'manifest.json', 'config.json', 'layer.tar']);
  return archive;
}

/**
 * The config.toml of a private containerd (a lab node's, or a test's): everything under dir, the given socket and CNI
 * dirs, and the sandbox image when given (§5.2). TOML does not expand variables, so the paths are written in.
 */
export function renderContainerdConfig(o: { dir: string; socket: string; cniBinDir: string; cniConfDir: string; sandboxImage?: string }): string {
  return [
    'version = 2',
    `root = "${join(o.dir, 'root')}"`,
    `state = "${join(o.dir, 'state')}"`,
    '[grpc]',
    `  address = "${o.socket}"`,
    '[ttrpc]',
    `  address = "${o.socket}.ttrpc"`,
    '[plugins]',
    '  [plugins."io.containerd.grpc.v1.cri"]',
    ...(o.sandboxImage ? [`    sandbox_image = "${o.sandboxImage}"`] : []),
    // containerd asks runc for oom_score_adj -998, which needs CAP_SYS_RESOURCE (§5.2)
    '    restrict_oom_score_adj = true',
    '    [plugins."io.containerd.grpc.v1.cri".cni]',
    `      bin_dir = "${o.cniBinDir}"`,
    `      conf_dir = "${o.cniConfDir}"`,
    '  [plugins."io.containerd.internal.v1.opt"]',
    `    path = "${join(o.dir, 'opt')}"`,
    '',
  ].join('\n');
}

function logTail(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-5).join(' | ');
  } catch {
    return '(no log)';
  }
}

/**
 * The node's private mount namespace, kept by a holder process: containerd 1.6 hard-codes /run/containerd (shim
 * sockets, runc root), libcni caches results in /var/lib/cni (§5.2, §5.3), and CRI pins pod namespaces under
 * /run/netns, so each gets the node's own tmpfs or directory there. ipamd joins it as well as containerd — as both
 * share the host's mounts on a real node — because it wires the pod namespace CRI names by its path. Nothing of it
 * is visible on the host, and it all goes when its last process does. Returns the holder's pid.
 */
export async function startNodeMounts(state: LabState, node: NodeRecord): Promise<number> {
  const cniCache = join(node.dir, 'cni', 'cache');
  mkdirSync(cniCache, { recursive: true });
  // mount points must exist in the host's tree before the private namespace can mount over them
  for (const d of ['/run/containerd', '/var/lib/cni']) mkdirSync(d, { recursive: true });
  const holder = startProcess(state, { name: `mounts-${node.name}`, ns: node.ns, argv: ['unshare', '--mount', '--propagation', 'private', 'sleep', 'infinity'], keepHostSys: true });
  const inHolder = (argv: string[]) => run(['nsenter', '-t', String(holder.pid), '-m', ...argv]);
  const deadline = Date.now() + 5_000;
  // the holder has its own mount namespace once unshare has exec'd sleep
  while (readFileSync(`/proc/${holder.pid}/cmdline`, 'latin1').split('\0')[0] !== 'sleep') {
    if (Date.now() > deadline) throw new PodnetError('LAB_FAILED', `the mount namespace holder of ${node.name} did not start: ${logTail(holder.log)}`, `see ${holder.log}`);
    await sleep(20);
  }
  await inHolder(['mount', '-t', 'tmpfs', 'podnet-lab-containerd', '/run/containerd']);
  await inHolder(['mount', '-t', 'tmpfs', 'podnet-lab-netns', '/run/netns']);
  await inHolder(['mount', '--bind', cniCache, '/var/lib/cni']);
  return holder.pid;
}

/**
 * argv that runs `argv` inside the node's private mount namespace. Entering a mount namespace resets the working
 * directory to its root, so -w takes the holder's (the repository, where `--import tsx` resolves).
 */
export function inNodeMounts(holderPid: number, argv: string[]): string[] {
  return ['nsenter', '-t', String(holderPid), '-m', '-w', ...argv];
}

/** Starts the node's containerd in its mount namespace and imports the sandbox image. */
export async function startNodeContainerd(state: LabState, node: NodeRecord, holderPid: number, imageArchive: string): Promise<NonNullable<NodeRecord['containerd']>> {
  const dir = join(node.dir, 'containerd');
  const socket = join(dir, 'containerd.sock');
  const cniBinDir = join(node.dir, 'cni', 'cri-bin');
  for (const d of [dir, cniBinDir]) mkdirSync(d, { recursive: true });
  // containerd 1.6's CRI plugin takes one bin dir: the conflist's plugins and loopback, linked together
  const conflist = JSON.parse(readFileSync(join(node.confDir, '10-aws.conflist'), 'utf8')) as { plugins: Array<{ type: string }> };
  for (const type of new Set(['loopback', ...conflist.plugins.map((p) => p.type)])) {
    symlinkSync(type === 'podnet-cni' ? join(node.binDir, 'podnet-cni') : join(DEBIAN_CNI_BIN, type), join(cniBinDir, type));
  }
  const config = join(dir, 'config.toml');
  writeFileSync(config, renderContainerdConfig({ dir, socket, cniBinDir, cniConfDir: node.confDir, sandboxImage: SANDBOX_IMAGE }));

  const proc = startProcess(state, { name: `containerd-${node.name}`, ns: node.ns, argv: inNodeMounts(holderPid, ['containerd', '--config', config]) });
  const cri = connectCri(socket, 2_000);
  try {
    const ready = Date.now() + 20_000;
    for (;;) {
      if (!isLabProcess(proc.pid, state.dir)) throw new PodnetError('LAB_FAILED', `containerd on ${node.name} exited: ${logTail(proc.log)}`, `see ${proc.log}`);
      if (existsSync(socket) && (await cri.version().then(() => true, () => false))) break;
      if (Date.now() > ready) throw new PodnetError('LAB_FAILED', `containerd on ${node.name} did not answer CRI on ${socket} within 20 s`, `see ${proc.log}`);
      await sleep(50);
    }
  } finally {
    cri.close();
  }
  // CRI looks for the sandbox image in containerd's k8s.io namespace (§5.4)
  await run(['ctr', '--address', socket, '--namespace', 'k8s.io', 'images', 'import', imageArchive], { timeoutMs: 60_000 });
  return { socket, dir, pid: proc.pid };
}

export interface CriPod {
  /** the CRI pod sandbox id (CNI_CONTAINERID) */
  containerId: string;
  ip: string | null;
}

/**
 * RunPodSandbox on the node's containerd (pod name/namespace/uid become CNI_ARGS, §5.6; a lab pod is default/<name>), the address from
 * PodSandboxStatus, and the sandbox's network namespace attached as the lab's pod namespace so probes and echo
 * services enter it by name like any other pod. A failed RunPodSandbox is retried for a while, as the kubelet does:
 * ipamd answers "no free address yet" while its pool grows (spec §6.1).
 */
export async function criPodAdd(
  node: NodeRecord,
  name: string,
  cgroupParent: string,
  attempt: number,
  pod: { namespace: string; name: string; uid?: string } = { namespace: 'default', name },
): Promise<CriPod> {
  const socket = node.containerd!.socket;
  const cri = connectCri(socket, 60_000);
  try {
    const deadline = Date.now() + 30_000;
    let id: string;
    for (let retry = 0; ; retry++) {
      try {
        // the pod's resolv.conf names its VPC's resolver, as the kubelet's ClusterFirst/Default DNS on EKS ends there
        const dnsConfig = node.dns ? { dnsConfig: { servers: [node.dns.nameserver], searches: node.dns.search } } : {};
        id = await cri.runPodSandbox({ metadata: { name: pod.name, namespace: pod.namespace, uid: pod.uid ?? randomUUID(), attempt: attempt + retry }, hostname: name, ...dnsConfig, linux: { cgroupParent } });
        break;
      } catch (err) {
        if (Date.now() < deadline) {
          await sleep(500);
          continue;
        }
        throw new PodnetError('LAB_FAILED', `RunPodSandbox for pod ${name} on ${node.name} failed: ${(err as Error).message}`, `see ${join(node.dir, 'log')} and the containerd-${node.name} log`);
      }
    }
    const { status, pid } = await cri.podSandboxDetails(id);
    try {
      await run(['ip', 'netns', 'attach', ns.pod(name), String(pid)]);
    } catch (err) {
      await removeSandbox(cri, id);
      throw err;
    }
    return { containerId: id, ip: status.network?.ip || null };
  } finally {
    cri.close();
  }
}

async function removeSandbox(cri: ReturnType<typeof connectCri>, id: string): Promise<void> {
  await cri.stopPodSandbox(id); // CNI DEL with the netns and the cached result
  await cri.removePodSandbox(id); // CNI DEL again, with neither
}

/** StopPodSandbox + RemovePodSandbox, then the attached pod namespace name. */
export async function criPodDel(node: NodeRecord, name: string, containerId: string): Promise<void> {
  const cri = connectCri(node.containerd!.socket, 60_000);
  try {
    await removeSandbox(cri, containerId);
  } catch (err) {
    throw new PodnetError('LAB_FAILED', `removing the sandbox of pod ${name} on ${node.name} failed: ${(err as Error).message}`, `see the containerd-${node.name} log in the lab's logs`);
  } finally {
    cri.close();
  }
  await ipBatch([`netns del ${ns.pod(name)}`]).catch(() => undefined);
}

/**
 * Kills what still runs in the lab's sandbox cgroups (a pause process whose shim died with a kill -9) and removes
 * runc's cgroup directories under every v1 hierarchy; returns how many processes it killed.
 */
export async function removeLabCgroups(stateDir: string): Promise<number> {
  const root = '/sys/fs/cgroup';
  if (!existsSync(root)) return 0;
  const parent = labCgroupParent(stateDir).slice(1);
  const dirs = readdirSync(root).map((h) => join(root, h, parent)).filter((d) => existsSync(d));
  const children = (d: string) => readdirSync(d, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(d, e.name));
  const pids = new Set<number>();
  for (const d of dirs) {
    for (const c of [d, ...children(d)]) {
      for (const p of readFileSync(join(c, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) pids.add(Number(p));
    }
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited between the read and the kill
    }
  }
  const deadline = Date.now() + 3_000;
  for (const d of dirs) {
    for (const c of [...children(d), d]) {
      // a cgroup goes once its last process has exited
      for (;;) {
        try {
          rmdirSync(c);
          break;
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code === 'ENOENT' || Date.now() > deadline) break;
          await sleep(50);
        }
      }
    }
  }
  return pids.size;
}
