/**
 * The lab's state directory (default /run/podnet-lab): what `lab up` built (lab.json), one record per process
 * it started (procs/), one per pod (pods/), the controller's view of the fabric (fabric.json), logs, and each
 * node's ipamd directory. `lab down` needs nothing else — and sweeps by name prefix when even this is gone.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readdirSync, realpathSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Ec2Facts, EniMapping } from '../ec2/index.js';
import type { EksCluster } from '../vpc/index.js';
import { ensureDirectory, netnsArgv } from '../lib/index.js';
import type { FabricPlan } from './plan.js';

export const DEFAULT_STATE_DIR = '/run/podnet-lab';
/** Every process the lab starts carries this variable: `lab down` kills a recorded PID only if it still has it. */
export const STATE_DIR_ENV = 'PODNET_LAB_STATE_DIR';

export interface NodeRecord {
  name: string;
  instanceId: string;
  /** the EC2 instance type, which bounds the ENIs `lab pod add --eni` may ask for */
  instanceType: string;
  /** the node's Kubernetes name: its EC2 private DNS name (`ip-10-0-16-4.us-west-2.compute.internal`), as on EKS */
  nodeName?: string;
  ns: string;
  dir: string;
  socket: string;
  binDir: string;
  confDir: string;
  env: Record<string, string>;
  /** the holder of the node's private mount namespace (ipamd and containerd run in it) when pods go through CRI */
  mountHolderPid?: number;
  /** the node's own containerd when the lab's pods go through CRI */
  containerd?: { socket: string; dir: string; pid: number };
  /**
   * the node's resolv.conf (`<node dir>/resolv.conf`: its VPC's resolver, EC2's search domain): the kubelet and the
   * processes it runs resolve names through it (PODNET_RESOLV_CONF), never through the host's resolver
   */
  resolvConf?: string;
  dns?: { nameserver: string; search: string[] };
}

export interface LabRecord {
  scenarioPath: string;
  startedAt: string;
  /** how pods are created: CRI RunPodSandbox on each node's containerd, or the node's podnet-cni run directly (absent: cni) */
  runtime?: 'containerd' | 'cni';
  plan: FabricPlan;
  ec2Url: string;
  imdsUrl: string;
  /** The lab's Kubernetes API server (`https://<ec2 endpoint>:6443`) and its admin kubeconfig; absent in older records. */
  k8sUrl?: string;
  /** the admin kubeconfig for the host (kubectl from outside the lab, through a loopback forwarder) */
  kubeconfig?: string;
  /** the admin kubeconfig for processes inside the lab's namespaces (server `https://<ec2 endpoint>:6443`) */
  vpcKubeconfig?: string;
  /**
   * what the kubelets use, and write for the pods they run: with a cluster, server `https://<cluster endpoint name>`
   * (resolved by the VPC's DNS, reached over the fabric through the endpoint; same CA and token as vpcKubeconfig);
   * without one, vpcKubeconfig. Absent in older records (then vpcKubeconfig).
   */
  nodeKubeconfig?: string;
  region: string;
  instances: Record<string, string>;
  nodes: Record<string, NodeRecord>;
  /** plain instances running the echo service: name → namespace */
  hosts: Record<string, { ns: string; instanceId: string }>;
  natGateways: Record<string, { ns: string }>;
}

export interface ProcRecord {
  name: string;
  pid: number;
  ns: string;
  argv: string[];
  log: string;
}

export interface PodRecord {
  name: string;
  node: string;
  ns: string;
  hostNetwork: boolean;
  ip: string | null;
  /** CNI_CONTAINERID: the CRI sandbox id under containerd */
  containerId: string;
  /** the ENI (device index) the pod asked for with --eni */
  eni?: number;
}

/** What the controller publishes after each reconcile. */
export interface FabricStatus {
  generation: number;
  updatedAt: string;
  /** every ENI EC2 knows, with whether the fabric wired it */
  enis: Array<EniMapping & { wired: boolean }>;
  error?: string;
  eventsConnected: boolean;
  /** what EC2 said about the VPCs at the controller's start */
  facts: Ec2Facts;
  /** the EKS clusters (`/_podnet/eks`) as the fabric applies them now (the cluster endpoint, render.ts) */
  eksClusters?: EksCluster[];
}

function writeJsonAtomic(path: string, value: unknown): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(value, null, 2) + '\n');
  renameSync(tmp, path);
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

export class LabState {
  constructor(readonly dir: string) {}

  path(...parts: string[]): string {
    return join(this.dir, ...parts);
  }

  /** Creates the state directory (its last component only: checkCreatablePath's rule) and the lab's own subdirectories. */
  ensure(): void {
    ensureDirectory(this.dir, '--state-dir');
    for (const d of ['procs', 'pods', 'logs', 'nodes']) mkdirSync(this.path(d), { recursive: true });
  }

  /**
   * Removes the state directory. One that is a mount point (a tmpfs the user mounted for the lab) cannot be removed,
   * and the mount is not the lab's to undo: it is emptied instead. One without procs/ (which ensure() creates first)
   * is not a lab's: `lab down --state-dir` naming some other directory leaves it alone.
   */
  remove(): void {
    if (!existsSync(this.path('procs'))) return;
    if (!isMountPoint(this.dir)) {
      rmSync(this.dir, { recursive: true, force: true });
      return;
    }
    for (const entry of readdirSync(this.dir)) rmSync(this.path(entry), { recursive: true, force: true });
  }

  exists(): boolean {
    return existsSync(this.path('lab.json'));
  }

  readLab(): LabRecord | undefined {
    return readJson<LabRecord>(this.path('lab.json'));
  }

  writeLab(lab: LabRecord): void {
    writeJsonAtomic(this.path('lab.json'), lab);
  }

  readFabric(): FabricStatus | undefined {
    return readJson<FabricStatus>(this.path('fabric.json'));
  }

  writeFabric(status: FabricStatus): void {
    writeJsonAtomic(this.path('fabric.json'), status);
  }

  procs(): ProcRecord[] {
    return this.list<ProcRecord>('procs');
  }

  pods(): PodRecord[] {
    return this.list<PodRecord>('pods');
  }

  pod(name: string): PodRecord | undefined {
    return readJson<PodRecord>(this.path('pods', `${name}.json`));
  }

  writePod(pod: PodRecord): void {
    writeJsonAtomic(this.path('pods', `${pod.name}.json`), pod);
  }

  writeProc(proc: ProcRecord): void {
    writeJsonAtomic(this.path('procs', `${proc.name}.json`), proc);
  }

  private list<T>(sub: string): T[] {
    let names: string[];
    try {
      names = readdirSync(this.path(sub)).filter((n) => n.endsWith('.json')).sort();
    } catch {
      return [];
    }
    return names.map((n) => readJson<T>(this.path(sub, n))).filter((x): x is T => x !== undefined);
  }
}

/** True if `path` is where something is mounted (/proc/self/mountinfo's fifth field, octal escapes undone). */
function isMountPoint(path: string): boolean {
  let real: string;
  try {
    real = realpathSync(path);
  } catch {
    return false;
  }
  const unescape = (field: string) => field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .some((line) => {
      const target = line.split(' ')[4];
      return target !== undefined && unescape(target) === real;
    });
}

/** True if `pid` runs and is a process of this lab (it carries the lab's state directory in its environment). */
export function isLabProcess(pid: number, stateDir: string): boolean {
  // A process in the middle of execve (`ip netns exec` → node) shows an empty environ for a moment; read again
  // rather than report a just-started process as exited.
  for (let attempt = 0; attempt < 50; attempt++) {
    let environ: string;
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'latin1');
    } catch {
      return false;
    }
    if (environ !== '') return environ.split('\0').includes(`${STATE_DIR_ENV}=${stateDir}`);
    if (isZombie(pid)) return false;
    Atomics.wait(pauseCell, 0, 0, 2);
  }
  return false;
}

const pauseCell = new Int32Array(new SharedArrayBuffer(4));

function isZombie(pid: number): boolean {
  try {
    // the state letter follows the parenthesised command name in /proc/PID/stat
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

const repoRoot = fileURLToPath(new URL('../../', import.meta.url));

/** argv that runs this podnet: the compiled CLI when running compiled, else the TypeScript sources through tsx. */
export function podnetArgv(): string[] {
  // PODNET_COMPILED_CLI=1 (scripts/test.mjs sets it once it has built dist/ from this source): the compiled CLI even
  // when this module runs from source; a lab starts a dozen podnet processes, each about twice as fast to start compiled
  if (import.meta.url.endsWith('.ts') && process.env.PODNET_COMPILED_CLI !== '1') {
    const main = new URL('../cli/main.ts', import.meta.url).href;
    return [process.execPath, '--import', 'tsx', '-e', `import(${JSON.stringify(main)}).then((m) => m.main(['node', 'podnet', ...process.argv.slice(1)]))`];
  }
  return [process.execPath, join(repoRoot, 'bin', 'podnet.js')];
}

/** Starts a long-running lab process inside a namespace, detached, output to its log; records its PID. */
export function startProcess(
  state: LabState,
  spec: {
    name: string;
    ns: string;
    argv: string[];
    env?: Record<string, string>;
    /**
     * Enter the namespace with `nsenter --net`, keeping the host's /sys: `ip netns exec` mounts the namespace's own
     * sysfs over it, which hides the cgroup mounts runc needs under /sys/fs/cgroup.
     */
    keepHostSys?: boolean;
  },
): ProcRecord {
  const log = state.path('logs', `${spec.name}.log`);
  const fd = openSync(log, 'a');
  try {
    // by path: nsenter; by name: ip netns exec
    const [cmd, ...args] = netnsArgv(spec.keepHostSys ? `/run/netns/${spec.ns}` : spec.ns, spec.argv);
    const child = spawn(cmd!, args, {
      cwd: repoRoot,
      detached: true,
      stdio: ['ignore', fd, fd],
      // no NODE_NO_WARNINGS: a real warning belongs in the log; the SDK's Node-version notice is turned off by podnet's
      // main (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED), which every lab process that loads the SDK runs
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...spec.env, [STATE_DIR_ENV]: state.dir },
    });
    child.unref();
    if (child.pid === undefined) throw new Error(`cannot start ${spec.argv[0]}`);
    const proc: ProcRecord = { name: spec.name, pid: child.pid, ns: spec.ns, argv: spec.argv, log };
    state.writeProc(proc);
    return proc;
  } finally {
    closeSync(fd);
  }
}
