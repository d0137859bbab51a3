import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse, createServer } from 'node:http';
import { connect } from 'node:net';
import { dirname } from 'node:path';
import { PodnetError, ensureDirectory } from '../lib/index.js';
import type { BackendStatus, CniAnswer, CniCall, CniHandler } from './handler.js';
import { type CniEnv, cniEnvNames } from './request.js';
import { CniCode, currentVersion } from './spec.js';

/*
 * The wire protocol between the launcher (bin/podnet-cni) and ipamd: HTTP/1.x over a unix socket, chosen so a
 * POSIX sh launcher can write the request with printf, send it with one nc, and needs no JSON tooling.
 *
 *   POST /cni                  body: the plugin's stdin, byte for byte
 *     X-CNI-COMMAND: ADD       one header per CNI_* variable (CNI_COMMAND → X-CNI-COMMAND); absent or empty = unset
 *   → 200 with the plugin's stdout when it exits 0,
 *     422 with the CNI error JSON when it exits non-zero; X-CNI-Exit-Code carries the exit code either way.
 *   GET /ready → 200 "ready", or 503 with the reason.
 *
 * Every answer on /cni, including 404/413/500, has a CNI error JSON body, so the launcher can always print the
 * body as the plugin's stdout. The launcher sends HTTP/1.0, so the server closes each connection after its answer.
 */

/** The HTTP header that carries a CNI_* variable. */
function headerFor(name: (typeof cniEnvNames)[number]): string {
  return `x-${name.toLowerCase().replace(/_/g, '-')}`;
}

/** The inverse of the launcher's request: the CNI call that a POST /cni carries. */
function callFromHttp(headers: IncomingMessage['headers'], body: string): CniCall {
  const env: CniEnv = {};
  for (const name of cniEnvNames) {
    const value = headers[headerFor(name)];
    if (typeof value === 'string' && value !== '') env[name] = value;
  }
  return { env, stdin: body };
}

export interface CniSocketServer {
  path: string;
  close(): Promise<void>;
}

export interface CniSocketServerOptions {
  /** Readiness for GET /ready; without it the server is ready once it listens. */
  status?: () => Promise<BackendStatus>;
  /** Largest stdin accepted (a network config with prevResult is a few kB). */
  maxBodyBytes?: number;
}

/**
 * Serves handler on a unix socket at path (mode 0660: root and the socket's group may call it). A socket left by a
 * dead process is removed; a socket some live process still answers on is an error, never taken over.
 */
export async function startCniSocketServer(path: string, handler: CniHandler, options: CniSocketServerOptions = {}): Promise<CniSocketServer> {
  await removeStaleSocket(path);
  ensureDirectory(dirname(path), 'the CNI socket directory');
  const maxBody = options.maxBodyBytes ?? 1 << 20;
  const server = createServer((req, res) => {
    serve(req, res, handler, options.status, maxBody).catch((err: unknown) => {
      answer(res, 500, { exitCode: 1, stdout: cniError(CniCode.internal, `ipamd's CNI server failed: ${(err as Error).message}`) });
    });
  });
  // Connections are one request each (one nc per CNI call); idle keep-alive sockets must not hold close() up.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(path, () => {
      server.off('error', reject);
      resolve();
    });
  });
  chmodSync(path, 0o660);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          try {
            unlinkSync(path);
          } catch {
            // already gone (node removes the socket file on close on some versions)
          }
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, handler: CniHandler, status: CniSocketServerOptions['status'], maxBody: number): Promise<void> {
  const url = req.url ?? '/';
  if (url === '/ready' && req.method === 'GET') {
    const s = status ? await status() : { ready: true };
    res.writeHead(s.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(s.ready ? 'ready\n' : `not ready: ${s.reason ?? 'unknown'}\n`);
    return;
  }
  if (url !== '/cni' || req.method !== 'POST') {
    answer(res, 404, { exitCode: 1, stdout: cniError(CniCode.internal, `ipamd's CNI socket has no ${req.method} ${url}; the launcher posts to /cni`) });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBody) {
      answer(res, 413, { exitCode: 1, stdout: cniError(CniCode.ioFailure, `the network config is larger than ${maxBody} bytes`) });
      return;
    }
    chunks.push(chunk);
  }
  const result = await handler(callFromHttp(req.headers, Buffer.concat(chunks).toString('utf8')));
  answer(res, result.exitCode === 0 ? 200 : 422, result);
}

function answer(res: ServerResponse, httpStatus: number, a: CniAnswer): void {
  if (res.headersSent) return;
  res.writeHead(httpStatus, { 'content-type': 'application/json', 'x-cni-exit-code': String(a.exitCode) }).end(a.stdout);
}

function cniError(code: number, msg: string): string {
  return JSON.stringify({ cniVersion: currentVersion, code, msg });
}

async function removeStaleSocket(path: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) {
    throw new PodnetError('SOCKET_IN_USE', `${path} exists and is not a socket`, 'choose another socket path, or remove the file if nothing needs it');
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) {
    throw new PodnetError('SOCKET_IN_USE', `another process is listening on ${path}`, 'stop the other ipamd on this node, or give this one its own socket path');
  }
  unlinkSync(path);
}
