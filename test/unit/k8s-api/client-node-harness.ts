/**
 * Shared by the client-node tests, the malformed-request corpus, the watch soak and bench:k8s-api: an API server
 * in this process on a loopback port with its state in a temporary directory, a @kubernetes/client-node KubeConfig
 * read from the admin kubeconfig the server writes (as a user of the lab would load it), and raw HTTPS requests for
 * what a client library would never send. The server's log (handler failures, answered 500: bugs) goes to stderr.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { startKubeApiServer } from '../../../src/k8s-api/index.js';

export interface ServerOptions {
  watchHistory?: number;
  maxBodyBytes?: number;
  maxWatches?: number;
  bookmarkIntervalMs?: number;
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
}

export interface TestServer {
  url: string;
  caPem: string;
  adminToken: string;
  dir: string;
  dbPath: string;
  kubeconfigPath: string;
  /** The admin kubeconfig the server wrote, loaded by client-node. */
  kc: KubeConfig;
  /** Stops the server, keeping its database (for restart). */
  stop(): Promise<void>;
  /** Starts it again on the same port and database (after stop). */
  restart(): Promise<void>;
  /** Stops it and removes its directory. */
  close(): Promise<void>;
}

export async function startTestServer(options: ServerOptions = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-k8s-'));
  const dbPath = join(dir, 'k8s.db');
  const kubeconfigPath = join(dir, 'kubeconfig');
  let running: Awaited<ReturnType<typeof startKubeApiServer>> | undefined;
  try {
    running = await startKubeApiServer({ listen: '127.0.0.1:0', dbPath, kubeconfigPath, ...options });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  const first = running;
  const port = new URL(first.url).port;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const stop = async () => {
    const r = running;
    running = undefined;
    await r?.close();
  };
  return {
    url: first.url,
    caPem: first.caPem,
    adminToken: first.adminToken,
    dir,
    dbPath,
    kubeconfigPath,
    kc,
    stop,
    async restart() {
      running = await startKubeApiServer({ listen: `127.0.0.1:${port}`, dbPath, ...options });
    },
    async close() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A KubeConfig for the same server with another bearer token (a service account's, a bad one). */
export function kubeConfigWithToken(server: Pick<TestServer, 'url' | 'caPem'>, token: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'lab', server: server.url, caData: Buffer.from(server.caPem).toString('base64'), skipTLSVerify: false }],
    users: [{ name: 'user', token }],
    contexts: [{ name: 'lab', cluster: 'lab', user: 'user' }],
    currentContext: 'lab',
  });
  return kc;
}

export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
}

export interface RawRequest {
  method?: string;
  body?: string | Buffer;
  headers?: Record<string, string>;
  /** Bearer token; the admin's by default, none when null. */
  token?: string | null;
  /** A keep-alive agent (trusting the server's CA) to reuse connections; by default a connection per request. */
  agent?: Agent;
}

/** One HTTPS request as written, trusting the server's CA; never retried. */
export function raw(server: Pick<TestServer, 'url' | 'caPem' | 'adminToken'>, path: string, req: RawRequest = {}): Promise<RawResponse> {
  const url = new URL(path, server.url);
  const token = req.token === undefined ? server.adminToken : req.token;
  const headers: Record<string, string> = { accept: 'application/json', ...req.headers };
  if (token !== null) headers.authorization = `Bearer ${token}`;
  if (req.body !== undefined) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(Buffer.byteLength(req.body));
  }
  return new Promise((resolve, reject) => {
    let answered = false;
    const r = request(url, { method: req.method ?? 'GET', headers, ca: server.caPem, agent: req.agent ?? false, timeout: 20_000 }, (res) => {
      answered = true;
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = JSON.parse(text);
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    r.on('timeout', () => r.destroy(new Error(`${req.method ?? 'GET'} ${path}: no answer in 20 s`)));
    r.on('error', (err: NodeJS.ErrnoException) => {
      // a server may answer (413) and close before a big body is all sent: the answer counts, not the failed write
      if (answered) return;
      // a kept-alive connection the server closed as it was reused: sent again on a new one, as Node's docs advise
      if (r.reusedSocket && err.code === 'ECONNRESET') raw(server, path, req).then(resolve, reject);
      else reject(err);
    });
    r.end(req.body);
  });
}

/** An agent that keeps one connection to the server open, as Go clients and kubectl keep theirs. */
export function keepAliveAgent(server: Pick<TestServer, 'caPem'>): Agent {
  return new Agent({ keepAlive: true, maxSockets: 1, ca: server.caPem });
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Polls check until it returns true, or fails with what it was waiting for after timeoutMs. */
export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}
