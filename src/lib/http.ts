import type { Server, ServerResponse } from 'node:http';
import { PodnetError } from './errors.js';

/** Where a server listens: a TCP host and port (port 0 picks a free one), or a unix socket path. */
export type ListenTarget = { host: string; port: number } | { path: string };

/** `127.0.0.1:61679`, `[::1]:9100`, `unix:/run/x.sock`: how podnet's messages name a listen address. */
export function formatListenTarget(at: ListenTarget): string {
  if ('path' in at) return `unix:${at.path}`;
  return `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
}

/**
 * Starts server listening on at. A refused address becomes PodnetError FAILED that names the listener and the
 * address (`metrics cannot listen on 127.0.0.1:61678: EADDRINUSE`), with the caller's hint.
 */
export async function listenOn(server: Server, at: ListenTarget, what: string, hint: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const refused = (err: NodeJS.ErrnoException) =>
      reject(new PodnetError('FAILED', `${what} cannot listen on ${formatListenTarget(at)}: ${err.code ?? err.message}`, hint, { cause: err }));
    server.once('error', refused);
    const listening = () => {
      server.off('error', refused);
      resolve();
    };
    if ('path' in at) server.listen(at.path, listening);
    else server.listen(at.port, at.host, listening);
  });
}

/** Stops accepting, drops open connections (keep-alive ones included), and resolves once the server has closed. */
export function closeServer(server: Server): Promise<void> {
  return new Promise<void>((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** A JSON answer with its length, newline-terminated so it reads well from curl. */
export function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value) + '\n';
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}
