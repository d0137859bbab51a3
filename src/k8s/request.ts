/**
 * The two requests an informer makes, over node:https with the KubeConfig's TLS and credentials: a list (one JSON
 * answer) and a watch (a stream of JSON lines). Both can be aborted; neither retries — the informer decides that.
 */
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { createInterface } from 'node:readline';
import type { KubeConfig } from '@kubernetes/client-node';

/** A failed request: `status` is the HTTP status (0 when there was no answer), `reason` the Status's reason if any. */
export class KubeRequestError extends Error {
  override readonly name = 'KubeRequestError';
  constructor(
    message: string,
    readonly status: number,
    readonly reason?: string,
  ) {
    super(message);
  }
}

export function queryPath(path: string, query: Record<string, string | undefined>): string {
  const params = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== '') params.set(k, v);
  const text = params.toString();
  return text === '' ? path : `${path}${path.includes('?') ? '&' : '?'}${text}`;
}

async function open(kc: KubeConfig, path: string, signal: AbortSignal): Promise<IncomingMessage> {
  const cluster = kc.getCurrentCluster();
  if (!cluster) throw new KubeRequestError('the kubeconfig has no current cluster', 0);
  const url = new URL(cluster.server.replace(/\/+$/, '') + path);
  const options: RequestOptions = {};
  try {
    await kc.applyToHTTPSOptions(options);
  } catch (err) {
    // a CA or token file that went away, an exec plugin that failed: no answer, retried like one
    throw new KubeRequestError(`credentials: ${(err as Error).message}`, 0);
  }
  const send = url.protocol === 'http:' ? httpRequest : httpsRequest;
  return new Promise<IncomingMessage>((resolve, reject) => {
    const req = send(url, { ...options, method: 'GET', headers: { ...(options.headers as OutgoingHttpHeaders | undefined), accept: 'application/json' }, signal }, resolve);
    req.on('error', (err: NodeJS.ErrnoException) => reject(new KubeRequestError(`GET ${path}: ${err.code ?? err.name}: ${err.message}`, 0)));
    req.end();
  });
}

async function readBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of res) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function statusError(path: string, status: number, text: string): KubeRequestError {
  let message = text.slice(0, 300);
  let reason: string | undefined;
  try {
    const s = JSON.parse(text) as { message?: string; reason?: string };
    if (typeof s.message === 'string') message = s.message;
    if (typeof s.reason === 'string') reason = s.reason;
  } catch {
    // not a Status: the text itself says what happened
  }
  return new KubeRequestError(`GET ${path}: ${status}: ${message}`, status, reason);
}

/** GET path; the parsed JSON answer, or KubeRequestError for a non-2xx answer or no answer. */
export async function getJson<T>(kc: KubeConfig, path: string, signal: AbortSignal): Promise<T> {
  const res = await open(kc, path, signal);
  let text: string;
  try {
    text = await readBody(res);
  } catch (err) {
    throw new KubeRequestError(`GET ${path}: the answer broke off: ${(err as Error).message}`, 0);
  }
  const status = res.statusCode ?? 0;
  if (status < 200 || status > 299) throw statusError(path, status, text);
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new KubeRequestError(`GET ${path}: the answer is not JSON`, status);
  }
}

export interface WatchEvent {
  type: string;
  object: unknown;
}

/**
 * Opens a watch and calls onEvent for each line; resolves with 'ended' when the server closed the stream cleanly (its
 * timeoutSeconds), rejects with KubeRequestError when it could not be opened or broke off.
 */
export async function streamWatch(kc: KubeConfig, path: string, signal: AbortSignal, onOpen: () => void, onEvent: (e: WatchEvent) => void): Promise<'ended'> {
  const res = await open(kc, path, signal);
  const status = res.statusCode ?? 0;
  if (status !== 200) throw statusError(path, status, await readBody(res).catch(() => ''));
  onOpen();
  return new Promise<'ended'>((resolve, reject) => {
    let failed = false;
    const fail = (err: Error) => {
      if (failed) return;
      failed = true;
      reject(new KubeRequestError(`watch ${path} broke off: ${err.message}`, 0));
    };
    res.on('error', fail);
    res.on('aborted', () => fail(new Error('connection closed mid-stream')));
    const lines = createInterface({ input: res, crlfDelay: Infinity });
    // readline passes its input's errors on as its own: unheard, they would be uncaught
    lines.on('error', fail);
    lines.on('line', (line) => {
      if (failed || line.trim() === '') return;
      let event: WatchEvent;
      try {
        event = JSON.parse(line) as WatchEvent;
      } catch {
        return fail(new Error(`a line that is not JSON: ${line.slice(0, 100)}`));
      }
      if (typeof event?.type !== 'string' || typeof event.object !== 'object' || event.object === null) return fail(new Error(`a line that is not a watch event: ${line.slice(0, 100)}`));
      onEvent(event);
    });
    lines.on('close', () => {
      if (failed) return;
      // readline closes on a clean end and on a destroyed stream alike: only a complete message is a clean end
      if (res.complete) resolve('ended');
      else fail(new Error('connection closed mid-stream'));
    });
  });
}
