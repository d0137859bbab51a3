import { chmodSync, statSync, unlinkSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { dirname } from 'node:path';
import { createSafeServer, ensureDirectory, listenOn } from '../lib/index.js';
import type { BackendStatus, CniAnswer, CniCall, CniHandler } from './handler.js';
import { type CniEnv, type CniEnvName, cniEnvNames } from './request.js';
import { CniCode, currentVersion } from './spec.js';

/*
 * The wire protocol between the launcher (bin/podnet-cni) and ipamd: HTTP/1.0 over a unix socket, chosen so a
 * POSIX sh launcher can write the request with printf, send it with one nc, and needs no JSON tooling.
 *
 *   POST /cni            Content-Length in bytes; no header carries a CNI value
 *   body:  CNI_COMMAND=ADD\0CNI_CONTAINERID=…\0CNI_NETNS=…\0CNI_IFNAME=…\0CNI_ARGS=…\0CNI_PATH=…\0\0<stdin>
 *   → 200 with the plugin's stdout when it exits 0,
 *     4xx with the CNI error JSON when it exits non-zero; X-CNI-Exit-Code carries the exit code either way.
 *   GET /ready → 200 "ready" ("ready (degraded: why)" while ipamd serves with less than it should, e.g. from warm
 *                state without the API server), or 503 with the reason.
 *
 * The CNI_* values travel in the body, each ended by a NUL (which no environment value can hold), the list ended by
 * an empty field, then the plugin's stdin byte for byte: no value, whatever it holds (CR, LF, 20,000 characters,
 * UTF-8), can split the request or arrive changed. An empty value is unset. Every answer on /cni, including the
 * parser's own refusals (400, 408, 413, 431), has a CNI error JSON body, so the launcher can always print it as the
 * plugin's stdout. (Only a chunked body that breaks mid-request gets node's own bodiless 400; the launcher never
 * sends chunks, and turns an answer without a body into code 999.) The launcher sends HTTP/1.0, so the server closes
 * each connection after its answer.
 */

/** The body the launcher sends for a call (what bin/podnet-cni writes with printf), for podnet's own clients and tests. */
export function launcherRequestBody(call: CniCall): Buffer {
  const fields = cniEnvNames.map((name) => `${name}=${call.env[name] ?? ''}\0`).join('');
  return Buffer.from(`${fields}\0${call.stdin}`, 'utf8');
}

/** The call a launcher request's body carries, or why the body is not the launcher's framing. */
function callFromBody(body: Buffer): CniCall | string {
  const env: CniEnv = {};
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  let at = 0;
  for (;;) {
    const end = body.indexOf(0, at);
    if (end < 0) return 'the body does not end its CNI_* fields with an empty field';
    if (end === at) break;
    const field = body.subarray(at, end);
    at = end + 1;
    const eq = field.indexOf(0x3d); // '='
    const name = field.subarray(0, eq < 0 ? field.length : eq).toString('latin1');
    if (eq < 0 || !(cniEnvNames as readonly string[]).includes(name)) return `the body has a field '${name.slice(0, 40)}' that is not CNI_*=value`;
    if (name in env) return `the body has ${name} twice`;
    let value: string;
    try {
      value = utf8.decode(field.subarray(eq + 1));
    } catch {
      return `${name} is not UTF-8 text`;
    }
    env[name as CniEnvName] = value;
  }
  for (const name of cniEnvNames) if (env[name] === '') delete env[name];
  return { env, stdin: body.subarray(at + 1).toString('utf8') };
}

export interface CniSocketServer {
  path: string;
  close(): Promise<void>;
}

export interface CniSocketServerOptions {
  /** Readiness for GET /ready; without it the server is ready once it listens. */
  status?: () => Promise<BackendStatus>;
  /** Largest request body accepted: the CNI_* values and the network config (with prevResult, a few kB). */
  maxBodyBytes?: number;
}

/**
 * Serves handler on a unix socket at path (mode 0660: root and the socket's group may call it). A socket left by a
 * dead process is removed; a socket some live process still answers on is an error, never taken over.
 */
export async function startCniSocketServer(path: string, handler: CniHandler, options: CniSocketServerOptions = {}): Promise<CniSocketServer> {
  ensureDirectory(dirname(path), 'the CNI socket directory');
  // each environment value is at most 128 KiB (MAX_ARG_STRLEN), so 8 MiB leaves a network config several MiB
  const maxBody = options.maxBodyBytes ?? 8 << 20;
  const server = createSafeServer((req, res, target) => serve(req, res, target.path, handler, options.status, maxBody), {
    what: "ipamd's CNI socket",
    errorBody: (status, msg) => ({ contentType: 'application/json', body: cniError(status === 500 ? CniCode.internal : CniCode.invalidEnvironment, `ipamd's CNI socket refused the request (HTTP ${status}): ${msg}`) }),
  });
  // Connections are one request each (one nc per CNI call); idle keep-alive sockets must not hold close() up.
  server.keepAliveTimeout = 1000;
  await listenOn(server, { path }, "ipamd's CNI socket", 'stop the other ipamd on this node, or give this one its own socket path');
  chmodSync(path, 0o660);
  const bound = statSync(path);
  return {
    path,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => {
          // close() ends once open calls have; by then a new ipamd (a rollout) may have bound the path: its socket stays
          try {
            const now = statSync(path);
            if (now.dev === bound.dev && now.ino === bound.ino) unlinkSync(path);
          } catch {
            // already gone (libuv unlinks the socket file when the server stops listening)
          }
          resolve();
        });
        server.closeIdleConnections();
      }),
  };
}

async function serve(req: IncomingMessage, res: ServerResponse, url: string, handler: CniHandler, status: CniSocketServerOptions['status'], maxBody: number): Promise<void> {
  if (url === '/ready' && req.method === 'GET') {
    const s: BackendStatus = status ? await status() : { ready: true };
    const body = !s.ready ? `not ready: ${s.reason ?? 'unknown'}\n` : s.degraded ? `ready (degraded: ${s.degraded})\n` : 'ready\n';
    res.writeHead(s.ready ? 200 : 503, { 'content-type': 'text/plain' }).end(body);
    return;
  }
  if (url !== '/cni' || req.method !== 'POST') {
    answer(res, 404, { exitCode: 1, stdout: cniError(CniCode.internal, `ipamd's CNI socket has no ${req.method} ${JSON.stringify(url.slice(0, 100))}; the launcher posts to /cni`) });
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBody) {
      answer(res, 413, { exitCode: 1, stdout: cniError(CniCode.ioFailure, `the CNI_* values and network config are larger than ${maxBody} bytes`) });
      return;
    }
    chunks.push(chunk);
  }
  const call = callFromBody(Buffer.concat(chunks));
  if (typeof call === 'string') {
    answer(res, 400, { exitCode: 1, stdout: cniError(CniCode.invalidEnvironment, `ipamd cannot read the launcher's request: ${call}`, 'reinstall the launcher that matches this ipamd: podnet cni install') });
    return;
  }
  const result = await handler(call);
  answer(res, result.exitCode === 0 ? 200 : 422, result);
}

function answer(res: ServerResponse, httpStatus: number, a: CniAnswer): void {
  if (res.headersSent) return;
  res.writeHead(httpStatus, { 'content-type': 'application/json', 'x-cni-exit-code': String(a.exitCode), connection: 'close' }).end(a.stdout);
}

function cniError(code: number, msg: string, details?: string): string {
  return JSON.stringify({ cniVersion: currentVersion, code, msg, ...(details && { details }) });
}
