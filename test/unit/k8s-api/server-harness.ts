/**
 * The API server in process on loopback, and a small HTTPS client that trusts its CA: what the core server's tests
 * use to talk to it as a client would (node:https, bearer token).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions } from '../../../src/k8s-api/index.js';

export interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: any;
}

export interface TestServer extends KubeApiServer {
  dir: string;
  dbPath: string;
  request(method: string, path: string, body?: unknown, opts?: { token?: string | null; contentType?: string; accept?: string; raw?: Buffer | string }): Promise<Reply>;
  /** Opens a watch and collects its events until it ends (or stop() is called). */
  watch(path: string, opts?: { token?: string }): WatchStream;
  /** Stops the server and removes its directory. */
  dispose(): Promise<void>;
}

export interface WatchStream {
  events: Array<{ type: string; object: any }>;
  status: Promise<number>;
  ended: Promise<void>;
  /** Resolves once at least n events arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<Array<{ type: string; object: any }>>;
  stop(): void;
}

export async function startTestServer(opts: Partial<KubeApiServerOptions> = {}, dir = mkdtempSync(join(tmpdir(), 'podnet-k8s-'))): Promise<TestServer> {
  const dbPath = opts.dbPath ?? join(dir, 'state.db');
  const server = await startKubeApiServer({ listen: '127.0.0.1:0', dbPath, log: () => undefined, ...opts });
  return withClient(server, dir, dbPath);
}

function withClient(server: KubeApiServer, dir: string, dbPath: string): TestServer {
  const url = new URL(server.url);
  const agent = new https.Agent({ ca: server.caPem, keepAlive: true });
  const headersFor = (token: string | null | undefined, extra: Record<string, string>) => ({
    ...(token === null ? {} : { authorization: `Bearer ${token ?? server.adminToken}` }),
    ...extra,
  });
  const request: TestServer['request'] = (method, path, body, o = {}) =>
    new Promise((resolve, reject) => {
      const payload = o.raw ?? (body === undefined ? undefined : JSON.stringify(body));
      const req = https.request(
        {
          host: url.hostname,
          port: url.port,
          path,
          method,
          agent,
          headers: headersFor(o.token, {
            ...(payload !== undefined ? { 'content-type': o.contentType ?? 'application/json', 'content-length': String(Buffer.byteLength(payload)) } : {}),
            ...(o.accept ? { accept: o.accept } : {}),
          }),
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
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
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  const watch: TestServer['watch'] = (path, o = {}) => {
    const events: Array<{ type: string; object: any }> = [];
    const waiters: Array<() => void> = [];
    let resolveStatus!: (s: number) => void;
    let resolveEnded!: () => void;
    const status = new Promise<number>((r) => (resolveStatus = r));
    const ended = new Promise<void>((r) => (resolveEnded = r));
    const req = https.request({ host: url.hostname, port: url.port, path, method: 'GET', ca: server.caPem, headers: headersFor(o.token, {}) }, (res) => {
      resolveStatus(res.statusCode ?? 0);
      let buffer = '';
      res.on('data', (c: Buffer) => {
        buffer += c.toString('utf8');
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim() !== '') events.push(JSON.parse(line) as { type: string; object: any });
        }
        for (const w of waiters.splice(0)) w();
      });
      res.on('end', () => {
        resolveEnded();
        for (const w of waiters.splice(0)) w();
      });
      res.on('error', () => resolveEnded());
    });
    req.on('error', () => {
      resolveStatus(0);
      resolveEnded();
    });
    req.end();
    let done = false;
    void ended.then(() => (done = true));
    return {
      events,
      status,
      ended,
      async waitFor(n, timeoutMs = 5000) {
        const deadline = Date.now() + timeoutMs;
        while (events.length < n) {
          if (done) throw new Error(`the watch ended after ${events.length} events, ${n} expected: ${JSON.stringify(events)}`);
          if (Date.now() > deadline) throw new Error(`only ${events.length} of ${n} watch events after ${timeoutMs} ms: ${JSON.stringify(events)}`);
          await new Promise<void>((r) => {
            waiters.push(r);
            setTimeout(r, 50);
          });
        }
        return events;
      },
      stop: () => req.destroy(),
    };
  };
  return {
    ...server,
    dir,
    dbPath,
    request,
    watch,
    async dispose() {
      agent.destroy();
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const configMap = (name: string, data: Record<string, string> = {}, labels?: Record<string, string>) => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name, ...(labels ? { labels } : {}) },
  data,
});
