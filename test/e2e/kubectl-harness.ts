/**
 * For the kubectl suites: which kubectl versions this machine has (Debian's 1.20 unpacked by scripts/fetch-kubectl.sh
 * into .cache/kubectl/, and the Google Cloud SDK's kubectl.1.NN), an API server in this process on a loopback port
 * with its state in a temporary directory, and a runner for one kubectl version against it (its own discovery cache,
 * no ~/.kube).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startKubeApiServer } from '../../src/k8s-api/index.js';
import { run } from '../../src/lib/index.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const sdkBin = '/usr/lib/google-cloud-sdk/bin';

export interface Kubectl {
  /** `1.20`, `1.33`. */
  version: string;
  path: string;
}

/** The versions present, oldest first, and why 1.20 is missing when it is. */
export function kubectlVersions(): { found: Kubectl[]; missing120?: string } {
  const found: Kubectl[] = [];
  let missing120: string | undefined;
  const debian = join(repo, '.cache/kubectl/1.20/usr/bin/kubectl');
  if (existsSync(debian)) found.push({ version: '1.20', path: debian });
  else {
    const why = join(repo, '.cache/kubectl/unavailable');
    missing120 = existsSync(why)
      ? `Debian's kubectl 1.20 could not be fetched: ${readFileSync(why, 'utf8').trim()}`
      : "Debian's kubectl 1.20 is not in .cache/kubectl (run scripts/fetch-kubectl.sh)";
  }
  const sdk = existsSync(sdkBin) ? readdirSync(sdkBin) : [];
  for (const name of sdk) {
    const m = /^kubectl\.(1\.\d+)$/.exec(name);
    if (m?.[1]) found.push({ version: m[1], path: join(sdkBin, name) });
  }
  found.sort((a, b) => Number(a.version.split('.')[1]) - Number(b.version.split('.')[1]));
  return missing120 === undefined ? { found } : { found, missing120 };
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface Cluster {
  url: string;
  dir: string;
  kubeconfig: string;
  /** Runs kubectl with the admin kubeconfig (or `opts.kubeconfig`); never throws for a non-zero exit. */
  kubectl(args: readonly string[], opts?: { input?: string; kubeconfig?: string }): Promise<KubectlResult>;
  /** Like kubectl, but a non-zero exit throws with kubectl's stderr. */
  ok(args: readonly string[], opts?: { input?: string; kubeconfig?: string }): Promise<string>;
  /** Starts a long-running kubectl (`get -w`); the caller kills it. */
  spawn(args: readonly string[]): ChildProcessWithoutNullStreams;
  stop(): Promise<void>;
}

/** A fresh API server (own database, own admin kubeconfig) and a kubectl of this version pointed at it. */
export async function startCluster(k: Kubectl): Promise<Cluster> {
  const dir = mkdtempSync(join(tmpdir(), `podnet-kubectl-${k.version}-`));
  const kubeconfig = join(dir, 'admin.kubeconfig');
  let server: Awaited<ReturnType<typeof startKubeApiServer>>;
  try {
    server = await startKubeApiServer({ listen: '127.0.0.1:0', dbPath: join(dir, 'state.db'), kubeconfigPath: kubeconfig });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  // kubectl keeps its discovery cache under $HOME/.kube unless told; keep it per run, and no user config leaks in
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, KUBECONFIG: kubeconfig };
  const base = (kc: string | undefined): string[] => ['--kubeconfig', kc ?? kubeconfig, '--cache-dir', join(dir, 'cache'), '--request-timeout=20s'];
  const kubectl: Cluster['kubectl'] = async (args, opts = {}) => {
    try {
      const r = await run([k.path, ...base(opts.kubeconfig), ...args], { env, timeoutMs: 30_000, ...(opts.input === undefined ? {} : { input: opts.input }) });
      return { code: 0, stdout: r.stdout, stderr: r.stderr };
    } catch (err) {
      const e = err as { exitCode?: number | null; stdout?: string; stderr?: string };
      if (e.stderr === undefined) throw err;
      return { code: e.exitCode ?? -1, stdout: e.stdout ?? '', stderr: e.stderr };
    }
  };
  return {
    url: server.url,
    dir,
    kubeconfig,
    kubectl,
    async ok(args, opts) {
      const r = await kubectl(args, opts);
      if (r.code !== 0) throw new Error(`kubectl ${k.version} ${args.join(' ')} exited ${r.code}: ${r.stderr.trim()}`);
      return r.stdout;
    },
    spawn(args) {
      return spawn(k.path, [...base(undefined), ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    },
    async stop() {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Waits until `text` appears in a running kubectl's stdout (or fails after timeoutMs with what it printed). */
export function waitForOutput(child: ChildProcessWithoutNullStreams, text: string | RegExp, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const found = (): boolean => (typeof text === 'string' ? out.includes(text) : text.test(out));
    const timer = setTimeout(() => {
      cleanup();
      reject(new Error(`kubectl did not print ${String(text)} within ${timeoutMs} ms; stdout: ${out} stderr: ${err}`));
    }, timeoutMs);
    const onOut = (d: Buffer): void => {
      out += d.toString();
      if (found()) {
        cleanup();
        resolve(out);
      }
    };
    const onErr = (d: Buffer): void => void (err += d.toString());
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout.off('data', onOut);
      child.stderr.off('data', onErr);
    };
    child.stdout.on('data', onOut);
    child.stderr.on('data', onErr);
  });
}

/** Writes a manifest into the cluster's directory and returns its path (kubectl apply -f PATH). */
export function manifest(c: Cluster, name: string, text: string): string {
  const path = join(c.dir, name);
  writeFileSync(path, text);
  return path;
}

/** The rows of kubectl's table output: header first, cells split on runs of two or more spaces. */
export function rows(table: string): string[][] {
  return table.trim().split('\n').map((line) => line.trim().split(/\s{2,}/));
}

/** The aws-node DaemonSet as the VPC CNI's manifest has it (trimmed): env list with the ipamd settings. */
export const awsNodeDaemonSet = `apiVersion: apps/v1
kind: DaemonSet
metadata:
  name: aws-node
  namespace: kube-system
  labels:
    k8s-app: aws-node
spec:
  selector:
    matchLabels:
      k8s-app: aws-node
  template:
    metadata:
      labels:
        k8s-app: aws-node
    spec:
      serviceAccountName: aws-node
      hostNetwork: true
      containers:
        - name: aws-node
          image: 602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:v1.23.1
          env:
            - name: AWS_VPC_K8S_CNI_LOGLEVEL
              value: DEBUG
            - name: WARM_ENI_TARGET
              value: "1"
`;

/** A pod as `kubectl apply` would send it: one container, labels for selectors. */
export function podManifest(name: string, namespace: string, labels: Record<string, string> = { app: 'demo' }): string {
  const labelLines = Object.entries(labels).map(([k, v]) => `    ${k}: ${v}`).join('\n');
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
  labels:
${labelLines}
spec:
  containers:
    - name: main
      image: busybox:1.36
      command: ["sleep", "3600"]
`;
}
