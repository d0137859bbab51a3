import { lstatSync, unlinkSync } from 'node:fs';
import { STATUS_CODES, createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import { PodnetError } from './errors.js';

/** A TCP listen address: a host and a port (port 0 picks a free one). */
export type TcpListenAddress = { host: string; port: number };

/** Where a server listens: a TCP host and port, or a unix socket path. The one representation podnet has. */
export type ListenAddress = TcpListenAddress | { path: string };

/**
 * A listen address as upstream writes them: `HOST:PORT`, `[V6]:PORT`, `:PORT` (every interface, as Go listens), or
 * `unix:PATH`; port 0 asks for a free one. Undefined for anything else. Every listen setting and flag goes through
 * this: ipamd's bind-address variables (src/config) and `ec2 serve --listen`.
 */
export function parseListenAddress(text: string): ListenAddress | undefined {
  if (text.startsWith('unix:')) {
    const path = text.slice('unix:'.length);
    return path === '' ? undefined : { path };
  }
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(text);
  const port = m ? Number(m[3]) : NaN;
  if (!m || port > 65535) return undefined;
  return { host: m[1] ?? (m[2] === '' ? '0.0.0.0' : m[2]!), port };
}

/** `127.0.0.1:61679`, `[::1]:9100`, `unix:/run/x.sock`: how podnet's messages name a listen address. */
export function formatListenAddress(at: ListenAddress): string {
  if ('path' in at) return `unix:${at.path}`;
  return `${at.host.includes(':') ? `[${at.host}]` : at.host}:${at.port}`;
}

/**
 * Starts server listening on at. A refused address becomes PodnetError FAILED that names the listener and the
 * address (`metrics cannot listen on 127.0.0.1:61678: EADDRINUSE`), with the caller's hint. A unix socket path is
 * prepared first: a socket left by a dead process is removed, but one a live process still answers on, or a file
 * that is not a socket, is refused (SOCKET_IN_USE), never taken over.
 */
export async function listenOn(server: Server, at: ListenAddress, what: string, hint: string): Promise<void> {
  if ('path' in at) await removeStaleSocket(at.path, what, hint);
  await new Promise<void>((resolve, reject) => {
    const refused = (err: NodeJS.ErrnoException) =>
      reject(new PodnetError('FAILED', `${what} cannot listen on ${formatListenAddress(at)}: ${err.code ?? err.message}`, hint, { cause: err }));
    server.once('error', refused);
    const listening = () => {
      server.off('error', refused);
      resolve();
    };
    if ('path' in at) server.listen(at.path, listening);
    else server.listen(at.port, at.host, listening);
  });
}

/** Clears path for a new socket: nothing there, or a socket nobody answers on (removed); else SOCKET_IN_USE. */
async function removeStaleSocket(path: string, what: string, hint: string): Promise<void> {
  let isSocket: boolean;
  try {
    isSocket = lstatSync(path).isSocket();
  } catch {
    return; // nothing there
  }
  if (!isSocket) {
    throw new PodnetError('SOCKET_IN_USE', `${what} cannot listen on ${path}: it exists and is not a socket`, 'choose another socket path, or remove the file if nothing needs it');
  }
  const live = await new Promise<boolean>((resolve) => {
    const probe = connect(path);
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (live) throw new PodnetError('SOCKET_IN_USE', `${what} cannot listen on ${path}: another process is listening on it`, hint);
  unlinkSync(path);
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

/** A request target read once, without throwing: the path exactly as sent (no dot-segment or percent decoding). */
export interface RequestTarget {
  /** Starts with `/`; for an absolute-form target (`http://host/x`), its path. */
  path: string;
  /** The query string without `?` (`''` when there is none). */
  search: string;
  query: URLSearchParams;
}

const visibleAscii = /^[\x21-\x7e]+$/;

/**
 * Reads a request target in origin-form (`/path?query`) or absolute-form (`http://host/path?query`, legal HTTP:
 * routed by its path). Anything else — `*`, authority-form `host:443`, an empty or non-ASCII target, an absolute URL
 * that does not parse or is not http(s) — is undefined. Never throws.
 */
export function parseRequestTarget(raw: string | undefined): RequestTarget | undefined {
  if (raw === undefined || !visibleAscii.test(raw)) return undefined;
  let pathAndQuery: string;
  if (raw.startsWith('/')) {
    pathAndQuery = raw;
  } else {
    if (!/^https?:\/\//i.test(raw) || !URL.canParse(raw)) return undefined;
    // the parsed URL validates authority and port; the path is taken raw from the text, as for origin-form
    const afterAuthority = raw.slice(raw.indexOf('//') + 2);
    const pathStart = afterAuthority.search(/[/?#]/);
    pathAndQuery = pathStart < 0 ? '/' : afterAuthority.slice(pathStart);
    if (!pathAndQuery.startsWith('/')) pathAndQuery = `/${pathAndQuery}`;
  }
  const withoutFragment = pathAndQuery.split('#', 1)[0]!;
  const q = withoutFragment.indexOf('?');
  const path = q < 0 ? withoutFragment : withoutFragment.slice(0, q);
  const search = q < 0 ? '' : withoutFragment.slice(q + 1);
  return { path, search, query: new URLSearchParams(search) };
}

/** What a hardened server answers when it refuses a request itself (bad target, CONNECT, parser errors). */
export type ErrorBody = (status: number, message: string) => { contentType: string; body: string };

export interface SafeServerOptions {
  /** Names the server in logged handler failures (`introspection`, `the EC2 emulator`). */
  what: string;
  /** Where handler failures go (they answer 500). Default: stderr. */
  log?: (line: string) => void;
  /** Renders refusals in the server's own format (EC2 error XML, CNI error JSON). Default: one line of text. */
  errorBody?: ErrorBody;
  /**
   * Time allowed for a request's headers and for the whole request (not its handling). Defaults 1 s and 1.5 s:
   * podnet's clients send a request in one go, and a stalled sender must not hold a connection (issue 10: a slow
   * sender is answered 408 or closed within 2 s).
   */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  /** Serve HTTPS with this certificate chain and key (PEM) instead of plain HTTP: the lab's Kubernetes API server. */
  tls?: { cert: string; key: string };
}

export type SafeHandler = (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => void | Promise<void>;

const plainText: ErrorBody = (_status, message) => ({ contentType: 'text/plain; charset=utf-8', body: `${message}\n` });

function rawResponse(status: number, render: ErrorBody, message: string): string {
  const { contentType, body } = render(status, message);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? 'Error'}\r\nConnection: close\r\nContent-Type: ${contentType}\r\n` +
    `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`
  );
}

/** The status a parser error deserves: 431 for headers over the limit, 408 for a timeout, else 400. */
function clientErrorStatus(err: NodeJS.ErrnoException): number {
  if (err.code === 'HPE_HEADER_OVERFLOW') return 431;
  if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') return 408;
  return 400;
}

/**
 * An HTTP server that no request can crash or hold: the target is parsed once (never throwing) and a target that is
 * not a path is answered 400; nothing the handler throws, synchronously or not, escapes (500, logged); CONNECT is
 * answered 405; parser errors are answered 400/431/408 and the socket closed; headers and requests are timed out.
 * Every HTTP server podnet runs is made with this.
 */
export function createSafeServer(handler: SafeHandler, options: SafeServerOptions): Server {
  const log = options.log ?? ((line: string) => void process.stderr.write(line + '\n'));
  const render = options.errorBody ?? plainText;
  const headersTimeout = options.headersTimeoutMs ?? 1000;
  const requestTimeout = Math.max(options.requestTimeoutMs ?? 1500, headersTimeout);
  const refuse = (res: ServerResponse, status: number, message: string) => {
    const { contentType, body } = render(status, message);
    res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), connection: 'close' }).end(body);
  };
  // timeouts are checked on this interval, so it bounds how late a stalled sender is closed
  const httpOptions = { headersTimeout, requestTimeout, connectionsCheckingInterval: 200 };
  const handle = (req: IncomingMessage, res: ServerResponse) => {
    // a client that resets mid-body makes the request emit 'error'; it must not become an uncaught exception
    req.on('error', () => undefined);
    res.on('error', () => undefined);
    const target = parseRequestTarget(req.url);
    if (!target) return refuse(res, 400, 'the request target must be a path (/…) or an http:// URL');
    const failed = (err: unknown) => {
      log(`${options.what}: ${req.method} ${target.path} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      if (!res.headersSent) refuse(res, 500, `${options.what} failed`);
      else res.destroy();
    };
    try {
      const done = handler(req, res, target);
      if (done) done.catch(failed);
    } catch (err) {
      failed(err);
    }
  };
  const server: Server = options.tls ? createHttpsServer({ ...httpOptions, ...options.tls }, handle) : createServer(httpOptions, handle);
  // a client that fails the TLS handshake (wrong CA, plain HTTP to the HTTPS port) only loses its connection
  server.on('tlsClientError', (_err: Error, socket: Duplex) => socket.destroy());
  server.on('connect', (_req: IncomingMessage, socket: Duplex) => {
    socket.on('error', () => undefined);
    socket.end(rawResponse(405, render, 'CONNECT is not served here'));
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    socket.on('error', () => undefined);
    // a response already under way on this socket cannot be followed by another one
    const inFlight = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
    if (err.code === 'ECONNRESET' || !socket.writable || inFlight?.headersSent) {
      socket.destroy();
      return;
    }
    const status = clientErrorStatus(err);
    socket.end(rawResponse(status, render, status === 431 ? 'the request headers are too large' : status === 408 ? 'the request took too long to arrive' : 'malformed HTTP request'));
  });
  return server;
}
