/**
 * The emulator's HTTP side: the EC2 Query endpoint (form POST or GET query → action → XML), throttling, fault
 * injection, admin endpoints under `/_podnet/`, the mapping event stream, and the IMDS listener.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { z } from 'zod';
import { PodnetError, closeServer, createSafeServer, formatListenAddress, listenOn, sendJson, type ErrorBody, type RequestTarget, type TcpListenAddress, parseSettings } from '../lib/index.js';
import { Faults, type FaultConfig } from './faults.js';
import { createImdsHandler, type ImdsInstanceSource, type ImdsOptions } from './imds.js';
import { Ec2Error, type ActionHandler, type EniMapping, type MappingEvent, type XmlObject } from './protocol.js';
import { parseQuery } from './query.js';
import { Throttle, throttleConfigSchema, type ThrottleConfig } from './throttle.js';
import { renderError, renderResponse } from './xml.js';

/** What the HTTP side needs from the state (src/ec2/state.ts provides it). */
export interface EmulatorState extends ImdsInstanceSource {
  transaction<T>(fn: () => T): T;
  onMapping(listener: (event: MappingEvent) => void): () => void;
  mappingSnapshot(): EniMapping[];
  close(): void;
}

/** How the listeners behave, whatever state they serve. */
export interface Ec2ListenOptions {
  /** EC2 endpoint. Default 127.0.0.1, a free port. */
  listen?: TcpListenAddress;
  /** IMDS endpoint. Default: the EC2 host, a free port. */
  imdsListen?: TcpListenAddress;
  /** AWS's default buckets unless false; a config scales or overrides them. */
  throttle?: ThrottleConfig | false;
  faults?: FaultConfig;
  imds?: ImdsOptions;
  /** Clock for token buckets and IMDS token expiry (tests). */
  nowMs?: () => number;
  /** Where unexpected handler failures are reported (they answer InternalError). Default: stderr. */
  log?: (line: string) => void;
}

/** Another API answered on the emulator's port, chosen by path before EC2 (the EKS API: /clusters…, /_podnet/eks). */
export interface PathService {
  handles(path: string): boolean;
  handle(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void>;
}

export interface Ec2ServerOptions<S extends EmulatorState> extends Ec2ListenOptions {
  state: S;
  /** Served on the same listener, by path (REST-JSON services; EC2's Query API takes every other path). */
  services?: readonly PathService[];
  /** Action name → handler. */
  actions: Readonly<Record<string, ActionHandler<S>>>;
  /** Close the state when the server closes (when the caller opened it for the server). */
  ownsState?: boolean;
}

export interface Ec2Server<S extends EmulatorState> {
  ec2Url: string;
  imdsUrl: string;
  state: S;
  close(): Promise<void>;
}

/** The largest request body the emulator reads (EC2's Query API, the admin endpoints, the EKS API). */
export const MAX_BODY_BYTES = 1 << 20;

function formatUrl(address: AddressInfo): string {
  return `http://${formatListenAddress({ host: address.address, port: address.port })}`;
}

async function listen(server: Server, address: TcpListenAddress, what: string): Promise<AddressInfo> {
  await listenOn(server, address, what, 'choose a free port or another address');
  return server.address() as AddressInfo;
}

/** A body over MAX_BODY_BYTES: readBody rejects with it as soon as the limit is passed. */
export class BodyTooLarge extends Error {}

/**
 * Reads a request body of at most MAX_BODY_BYTES. Past the limit it stops keeping chunks, lets the rest drain (so the
 * client's answer is not held up behind an upload nobody reads) and rejects with BodyTooLarge at once.
 */
export function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        // Discard the rest so the 413 can still be read by the client, then refuse.
        req.removeAllListeners('data');
        req.resume();
        reject(new BodyTooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/** Starts the EC2 and IMDS listeners over an opened state. */
export async function startEc2HttpServer<S extends EmulatorState>(options: Ec2ServerOptions<S>): Promise<Ec2Server<S>> {
  const { state, actions } = options;
  const nowMs = options.nowMs ?? Date.now;
  const log = options.log ?? ((line: string) => void process.stderr.write(line + '\n'));
  const throttle = new Throttle(options.throttle || {}, nowMs);
  let throttleEnabled = options.throttle !== false;
  const faults = new Faults(options.faults);
  const streams = new Set<ServerResponse>();

  async function handleEc2(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
    const requestId = randomUUID();
    const reply = (status: number, xml: string) => {
      res.writeHead(status, { 'content-type': 'text/xml;charset=UTF-8', 'content-length': Buffer.byteLength(xml), 'x-amzn-requestid': requestId });
      res.end(xml);
    };
    try {
      if (req.method !== 'POST' && req.method !== 'GET') {
        throw new Ec2Error('InvalidAction', `The HTTP method ${req.method} is not supported; send a POST with a form body or a GET with a query string`, 405);
      }
      let body: string;
      try {
        body = req.method === 'POST' ? await readBody(req) : '';
      } catch (err) {
        if (err instanceof BodyTooLarge) throw new Ec2Error('InvalidParameterValue', `The request body exceeds ${MAX_BODY_BYTES} bytes`, 413);
        throw err;
      }
      // EC2 accepts the parameters in the body (POST) or in the query string (GET, or a POST without a body).
      const params = parseQuery(new URLSearchParams(body.trim() !== '' ? body : target.search));
      const handler = Object.hasOwn(actions, params.action) ? actions[params.action] : undefined;
      if (!handler) {
        throw new Ec2Error('InvalidAction', `The action ${params.action} is not valid for this web service.`);
      }
      if (throttleEnabled) throttle.take(params);
      const fault = faults.decide(params.action);
      if (fault.latencyMs > 0) await sleep(fault.latencyMs);
      if (fault.error) throw fault.error;
      const result: XmlObject = state.transaction(() => handler(params, state));
      reply(200, renderResponse(params.action, requestId, result));
    } catch (err) {
      if (err instanceof Ec2Error) {
        reply(err.status, renderError(err, requestId));
        return;
      }
      log(`ec2: request ${requestId} failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
      reply(500, renderError(new Ec2Error('InternalError', 'An internal error has occurred.', 500), requestId));
    }
  }

  /** NDJSON: a `snapshot` event, then every mapping change as it commits, until the client goes away. */
  function streamEvents(req: IncomingMessage, res: ServerResponse): void {
    res.writeHead(200, { 'content-type': 'application/x-ndjson', 'cache-control': 'no-cache' });
    const write = (event: MappingEvent) => res.write(JSON.stringify(event) + '\n');
    // Snapshot and subscription happen in one synchronous step, so no change falls between them.
    write({ type: 'snapshot', enis: state.mappingSnapshot() });
    const unsubscribe = state.onMapping(write);
    streams.add(res);
    const stop = () => {
      unsubscribe();
      streams.delete(res);
    };
    req.on('close', stop);
    res.on('close', stop);
  }

  async function handleAdmin(req: IncomingMessage, res: ServerResponse, path: string): Promise<void> {
    try {
      if (path === '/_podnet/events' && req.method === 'GET') return streamEvents(req, res);
      if (path === '/_podnet/faults') {
        if (req.method === 'POST') faults.reconfigure(parseJson(await readBody(req)) as FaultConfig);
        else if (req.method !== 'GET') return sendJson(res, 405, { error: `use GET or POST on ${path}` });
        return sendJson(res, 200, faults.settings);
      }
      if (path === '/_podnet/throttle') {
        if (req.method === 'POST') {
          const body = parseSettings(throttleAdminSchema, parseJson(await readBody(req)), 'throttle settings');
          if (body.enabled !== undefined) throttleEnabled = body.enabled;
          if (body.scale !== undefined || body.buckets !== undefined) throttle.reconfigure({ scale: body.scale, buckets: body.buckets });
        } else if (req.method !== 'GET') {
          return sendJson(res, 405, { error: `use GET or POST on ${path}` });
        }
        return sendJson(res, 200, { enabled: throttleEnabled, ...throttle.settings, buckets: throttle.state() });
      }
      sendJson(res, 404, { error: `no admin endpoint ${req.method} ${path}`, hint: 'admin endpoints: GET /_podnet/events, GET|POST /_podnet/faults, GET|POST /_podnet/throttle' });
    } catch (err) {
      if (err instanceof PodnetError) return sendJson(res, 400, { error: err.message, hint: err.hint });
      if (err instanceof BodyTooLarge) return sendJson(res, 413, { error: `body exceeds ${MAX_BODY_BYTES} bytes` });
      log(`ec2: admin ${path} failed: ${err instanceof Error ? err.message : String(err)}`);
      sendJson(res, 500, { error: 'internal error' });
    }
  }

  const ec2 = createSafeServer(
    (req, res, target) => {
      const service = options.services?.find((s) => s.handles(target.path));
      if (service) return service.handle(req, res, target);
      return target.path.startsWith('/_podnet/') ? handleAdmin(req, res, target.path) : handleEc2(req, res, target);
    },
    { what: 'the EC2 emulator', log, errorBody: ec2ErrorBody },
  );
  const imds = createSafeServer(createImdsHandler(state, options.imds, nowMs), { what: 'the IMDS emulator', log });

  const listenAt = options.listen ?? { host: '127.0.0.1', port: 0 };
  const ec2Address = await listen(ec2, listenAt, 'the EC2 emulator');
  let imdsAddress: AddressInfo;
  try {
    imdsAddress = await listen(imds, options.imdsListen ?? { host: listenAt.host, port: 0 }, 'the IMDS emulator');
  } catch (err) {
    await closeServer(ec2);
    throw err;
  }

  let closed: Promise<void> | undefined;
  return {
    ec2Url: formatUrl(ec2Address),
    imdsUrl: formatUrl(imdsAddress),
    state,
    close() {
      closed ??= (async () => {
        for (const res of streams) res.end();
        await Promise.all([ec2, imds].map(closeServer));
        if (options.ownsState) state.close();
      })();
      return closed;
    },
  };
}

/** Requests the server refuses before any action (bad target, parser errors) get EC2's error XML too. */
const ec2ErrorBody: ErrorBody = (status, message) => ({
  contentType: 'text/xml;charset=UTF-8',
  body: renderError(new Ec2Error(status >= 500 ? 'InternalError' : 'InvalidRequest', message, status), randomUUID()),
});

const throttleAdminSchema = throttleConfigSchema.extend({ enabled: z.boolean().optional() });

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text === '' ? '{}' : text);
  } catch {
    throw new PodnetError('CONFIG_INVALID', 'the request body is not JSON', 'send a JSON object, e.g. {"actions":{"AssignPrivateIpAddresses":{"errorRate":0.5}}}');
  }
}
