/**
 * An API server in this process (src/k8s-api) on a loopback port with its database in a temporary directory, for the
 * k8s client module's and ipamd's Kubernetes tests: stop and start it again on the same port and database to play
 * an API server restart, or start a second one on the same database on another port to write while the first port
 * answers nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions } from '../../../src/k8s-api/index.js';

export interface TestApiServer {
  url: string;
  dir: string;
  kubeconfigPath: string;
  /** The admin kubeconfig, loaded. */
  kc: KubeConfig;
  /** Stops it, keeping the database. */
  stop(): Promise<void>;
  /** Starts it again on the same port and database. */
  start(): Promise<void>;
  /** Runs fn against a second server on the same database on another port (while this one is stopped). */
  elsewhere(fn: (kc: KubeConfig) => Promise<void>): Promise<void>;
  close(): Promise<void>;
}

type Extra = Omit<KubeApiServerOptions, 'listen' | 'dbPath' | 'kubeconfigPath'>;

export async function startApiServer(extra: Extra = {}): Promise<TestApiServer> {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-k8s-client-'));
  const dbPath = join(dir, 'k8s.db');
  const kubeconfigPath = join(dir, 'kubeconfig');
  const quiet = { log: () => undefined, ...extra };
  let running: KubeApiServer | undefined = await startKubeApiServer({ listen: '127.0.0.1:0', dbPath, kubeconfigPath, ...quiet });
  const url = running.url;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const stop = async () => {
    const r = running;
    running = undefined;
    await r?.close();
  };
  return {
    url,
    dir,
    kubeconfigPath,
    kc,
    stop,
    async start() {
      running = await startKubeApiServer({ listen: new URL(url).host, dbPath, ...quiet });
    },
    async elsewhere(fn) {
      const other = await startKubeApiServer({ listen: '127.0.0.1:0', dbPath, kubeconfigPath: join(dir, 'kubeconfig-elsewhere'), ...quiet });
      try {
        const okc = new KubeConfig();
        okc.loadFromFile(join(dir, 'kubeconfig-elsewhere'));
        await fn(okc);
      } finally {
        await other.close();
      }
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
