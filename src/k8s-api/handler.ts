/**
 * One HTTP request to the API server: authentication, discovery and OpenAPI, the resource URL (`/api/v1/…`,
 * `/apis/G/V/…`), authorization, then the verb — with a bounded body and every refusal answered as a Status.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { parse as parseYaml } from 'yaml';
import type { RequestTarget } from '../lib/index.js';
import { serveDiscovery } from './discovery.js';
import { PROTOBUF_CONTENT_TYPE, decodeProtobufObject } from './protobuf.js';
import { groupVersion, type ObjectApi, type ListResult } from './rest.js';
import { toTable, wantsTable } from './table.js';
import { ApiError, apiError, type Identity, type KubeObject, type RequestAttributes, type ResourceType, type Status } from './types.js';
import type { WatchRequest } from './watch-stream.js';

export interface HandlerDeps {
  api: ObjectApi;
  /** Who a bearer token is, or undefined. */
  authenticate(token: string): Identity | undefined;
  /** Throws the 403 when who may not do attrs. */
  authorize(who: Identity, attrs: RequestAttributes): void;
  /** Serves a watch (the stream module); refuses with 429 when too many are open. */
  watch(res: ServerResponse, w: WatchRequest): void;
  /**
   * Subresources other than status (`serviceaccounts/NAME/token`, `pods/NAME/binding`): POST handlers by
   * `plural/subresource`, answering an object (a TokenRequest) or a Status (a binding).
   */
  subresourcePosts: Record<string, (type: ResourceType, namespace: string, name: string, body: unknown, who: Identity) => Promise<object> | object>;
  /**
   * POST-only resources that store nothing and answer about the caller (`authorization.k8s.io/v1/
   * selfsubjectaccessreviews`), by `group/version/plural`.
   */
  reviews: Record<string, (body: unknown, who: Identity) => KubeObject>;
  /** PATCH: the patched object from the stored one (P's applyPatch). */
  applyPatch(type: ResourceType, contentType: string, current: KubeObject, patch: unknown): KubeObject;
  maxBodyBytes: number;
  maxJsonDepth: number;
}

function send(res: ServerResponse, status: number, body: unknown, contentType = 'application/json'): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body) + '\n';
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache, private' });
  res.end(text);
}

function sendStatus(res: ServerResponse, err: ApiError): void {
  const headers = err.status.code === 429 ? { 'retry-after': String(err.status.details?.retryAfterSeconds ?? 1) } : {};
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(err.status) + '\n';
  res.writeHead(err.status.code, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'cache-control': 'no-cache, private', ...headers });
  res.end(text);
}

function methodNotAllowed() {
  return apiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
}

function success(details: Status['details']): Record<string, unknown> {
  return { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', details };
}

/** Reads the body, refusing one over the limit with 413 (and closing the connection: the rest is not read). */
function readBody(req: IncomingMessage, max: number): Promise<Buffer> {
  const tooLarge = () => apiError(413, 'RequestEntityTooLarge', `Request entity too large: limit is ${max}`);
  const declared = Number(req.headers['content-length'] ?? '0');
  if (declared > max) return Promise.reject(tooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > max) {
        req.removeAllListeners('data');
        reject(tooLarge());
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', (err) => reject(err));
  });
}

/** The deepest nesting of arrays and objects in JSON text (strings skipped), to refuse a body that is too deep to walk. */
function jsonDepth(text: string): number {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 92) i++; // backslash: skip the escaped character
      else if (c === 34) inString = false;
    } else if (c === 34) inString = true;
    else if (c === 123 || c === 91) max = Math.max(max, ++depth);
    else if (c === 125 || c === 93) depth--;
  }
  return max;
}

/**
 * Decodes a request body: JSON, YAML (which kubectl's users sometimes send by hand), or the protobuf that kubectl
 * 1.32+'s typed clients send for the kinds they create.
 */
function decodeBody(raw: Buffer, contentType: string, maxDepth: number): unknown {
  const media = contentType.split(';')[0]!.trim().toLowerCase();
  if (media === PROTOBUF_CONTENT_TYPE) return decodeProtobufObject(raw);
  const text = raw.toString('utf8');
  if (text.trim() === '') throw apiError(400, 'BadRequest', 'the request body is empty');
  if (jsonDepth(text) > maxDepth) throw apiError(400, 'BadRequest', `the request body nests deeper than ${maxDepth} levels`);
  if (media === 'application/yaml' || media === 'application/apply-patch+yaml') {
    try {
      return parseYaml(text, { maxAliasCount: 100 }) as unknown;
    } catch (err) {
      throw apiError(400, 'BadRequest', `error converting YAML to JSON: ${(err as Error).message}`);
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw apiError(400, 'BadRequest', `the request body is not valid JSON: ${(err as Error).message}`);
  }
}

const bodyMedia = new Set(['application/json', 'application/yaml', PROTOBUF_CONTENT_TYPE, '']);
const patchMedia = new Set(['application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json', 'application/apply-patch+yaml']);

function mediaTypeOf(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** The request's body, decoded by its Content-Type (415 for one not in allowed). */
async function decodeRequest(deps: HandlerDeps, req: IncomingMessage, allowed: Set<string>): Promise<unknown> {
  const contentType = mediaTypeOf(req);
  if (!allowed.has(contentType)) {
    throw apiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${[...allowed].filter((m) => m !== '').join(', ')}`);
  }
  return decodeBody(await readBody(req, deps.maxBodyBytes), contentType, deps.maxJsonDepth);
}

/**
 * `?fieldValidation=`: fields the type's schema does not declare are refused under Strict (what kubectl 1.27+ asks
 * for), reported in a Warning header under Warn (the default), let through under Ignore — as kube-apiserver does.
 */
function checkUnknownFields(type: ResourceType, obj: unknown, mode: string, res: ServerResponse): void {
  if (mode !== '' && mode !== 'Strict' && mode !== 'Warn' && mode !== 'Ignore') {
    throw apiError(400, 'BadRequest', `fieldValidation: Unsupported value: ${JSON.stringify(mode)}: supported values: "Ignore", "Strict", "Warn"`);
  }
  if (mode === 'Ignore' || !type.unknownFields || typeof obj !== 'object' || obj === null || Array.isArray(obj)) return;
  const unknown = type.unknownFields(obj as KubeObject).map((f) => `unknown field ${JSON.stringify(f)}`);
  if (unknown.length === 0) return;
  if (mode === 'Strict') {
    throw apiError(400, 'BadRequest', `${type.kind} in version ${JSON.stringify(type.version)} cannot be handled as a ${type.kind}: strict decoding error: ${unknown.join(', ')}`);
  }
  res.setHeader('warning', unknown.map((w) => `299 - ${JSON.stringify(w)}`));
}

/** A parsed resource URL. */
interface ResourcePath {
  group: string;
  version: string;
  namespace: string | undefined;
  plural: string;
  name: string | undefined;
  subresource: string;
  /** `/api/v1/watch/…`: the legacy watch URLs. */
  legacyWatch: boolean;
}

/** `/api/v1/namespaces/ns/pods/x/status`, `/apis/apps/v1/daemonsets`: undefined when the path is not one. */
function parseResourcePath(path: string): ResourcePath | undefined {
  const parts = path.split('/').slice(1);
  if (parts[parts.length - 1] === '') parts.pop();
  if (parts.some((p) => p === '')) return undefined;
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === 'api' && parts.length >= 3) {
    group = '';
    version = parts[1]!;
    rest = parts.slice(2);
  } else if (parts[0] === 'apis' && parts.length >= 4) {
    group = parts[1]!;
    version = parts[2]!;
    rest = parts.slice(3);
  } else {
    return undefined;
  }
  let legacyWatch = false;
  if (rest[0] === 'watch') {
    legacyWatch = true;
    rest = rest.slice(1);
  }
  let namespace: string | undefined;
  // namespaces/NS/PLURAL…: a namespaced resource; namespaces/NS and namespaces/NS/status|finalize: the namespace itself
  if (rest[0] === 'namespaces' && rest.length >= 3 && !(rest.length === 3 && (rest[2] === 'status' || rest[2] === 'finalize'))) {
    namespace = decode(rest[1]!);
    rest = rest.slice(2);
  }
  if (rest.length === 0 || rest.length > 3) return undefined;
  const [plural, name, subresource = ''] = rest.map(decode);
  if (plural === undefined || name === undefined && rest.length > 1) return undefined;
  return { group, version, namespace, plural, name, subresource, legacyWatch };
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

function bearer(req: IncomingMessage): string | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return m?.[1];
}

function verbOf(method: string, p: ResourcePath, watch: boolean): string | undefined {
  switch (method) {
    case 'GET':
    case 'HEAD':
      if (watch || p.legacyWatch) return 'watch';
      return p.name === undefined ? 'list' : 'get';
    case 'POST':
      return p.name === undefined || p.subresource !== '' ? 'create' : undefined;
    case 'PUT':
      return p.name === undefined ? undefined : 'update';
    case 'PATCH':
      return p.name === undefined ? undefined : 'patch';
    case 'DELETE':
      return p.name === undefined ? 'deletecollection' : 'delete';
    default:
      return undefined;
  }
}

/** A list's resourceVersion must be a version number (or absent): anything else is the client's mistake, 400. */
function checkResourceVersion(rv: string): void {
  if (rv !== '' && !/^\d+$/.test(rv)) throw apiError(400, 'BadRequest', `resourceVersion: Invalid value: ${JSON.stringify(rv)}: must be a non-negative integer`);
}

function flag(query: URLSearchParams, name: string): boolean {
  const v = query.get(name);
  return v === 'true' || v === '1';
}

function integerParam(query: URLSearchParams, name: string): number | undefined {
  const v = query.get(name);
  if (v === null || v === '') return undefined;
  if (!/^-?\d+$/.test(v)) throw apiError(400, 'BadRequest', `invalid value for ${name}: ${JSON.stringify(v)}: not an integer`);
  return Number(v);
}

function includeObjectOf(query: URLSearchParams): 'None' | 'Metadata' | 'Object' {
  const v = query.get('includeObject');
  if (v === null || v === '') return 'Metadata';
  if (v === 'None' || v === 'Metadata' || v === 'Object') return v;
  throw apiError(400, 'BadRequest', `includeObject: Unsupported value: ${JSON.stringify(v)}: supported values: "Metadata", "None", "Object"`);
}

function listBody(type: ResourceType, list: ListResult): Record<string, unknown> {
  const metadata: Record<string, unknown> = { resourceVersion: list.resourceVersion };
  if (list.continue) metadata['continue'] = list.continue;
  if (list.remainingItemCount !== undefined) metadata['remainingItemCount'] = list.remainingItemCount;
  return { kind: type.listKind, apiVersion: groupVersion(type), metadata, items: list.items };
}

export async function handleRequest(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
  try {
    await dispatch(deps, req, res, target);
  } catch (err) {
    if (err instanceof ApiError) {
      if (err.status.code === 413 && !req.complete) {
        // the rest of the body is read and dropped, so a client still sending it gets the answer rather than a reset;
        // the connection then closes (what is left of the body must not be read as the next request), after a
        // second at most
        res.setHeader('connection', 'close');
        req.resume();
        res.once('finish', () => setTimeout(() => req.destroy(), 1000).unref());
      }
      sendStatus(res, err);
      return;
    }
    throw err;
  }
}

async function dispatch(deps: HandlerDeps, req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
  const method = req.method ?? 'GET';
  const path = target.path;
  const accept = req.headers.accept ?? '';
  if ((path === '/healthz' || path === '/livez' || path === '/readyz') && method === 'GET') {
    res.writeHead(200, { 'content-type': 'text/plain; charset=utf-8' }).end('ok');
    return;
  }
  const token = bearer(req);
  const who = token === undefined ? undefined : deps.authenticate(token);
  if (!who) throw apiError(401, 'Unauthorized', 'Unauthorized');

  // discovery and OpenAPI documents (serveDiscovery answers both)
  const nonResource = serveDiscovery(path, accept, deps.api.registry.all());
  if (nonResource) {
    if (method !== 'GET' && method !== 'HEAD') throw methodNotAllowed();
    deps.authorize(who, { resourceRequest: false, verb: 'get', path });
    const body = Buffer.from(nonResource.body);
    res.writeHead(nonResource.status, { 'content-type': nonResource.contentType, 'content-length': body.length, 'cache-control': 'no-cache, private' });
    res.end(method === 'HEAD' ? undefined : body);
    return;
  }
  const p = parseResourcePath(path);
  if (!p) {
    deps.authorize(who, { resourceRequest: false, verb: method.toLowerCase(), path });
    throw apiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  const review = p.namespace === undefined && p.name === undefined ? deps.reviews[`${p.group}/${p.version}/${p.plural}`] : undefined;
  if (review) {
    if (method !== 'POST') throw methodNotAllowed();
    deps.authorize(who, { resourceRequest: true, verb: 'create', apiGroup: p.group, resource: p.plural, subresource: '', namespace: '', name: '' });
    const body = await decodeRequest(deps, req, bodyMedia);
    send(res, 201, review(body, who));
    return;
  }
  const type = deps.api.registry.find(p.group, p.version, p.plural);
  if (!type || (p.namespace !== undefined && !type.namespaced)) throw apiError(404, 'NotFound', 'the server could not find the requested resource');
  const query = target.query;
  const verb = verbOf(method, p, flag(query, 'watch'));
  if (!verb) throw methodNotAllowed();
  // a namespaced resource's all-namespaces path serves list and watch only
  if (type.namespaced && p.namespace === undefined && verb !== 'list' && verb !== 'watch') {
    if (p.name !== undefined) throw apiError(404, 'NotFound', 'the server could not find the requested resource');
    throw methodNotAllowed();
  }
  const namespace = type.namespaced ? (p.namespace ?? '') : '';
  deps.authorize(who, {
    resourceRequest: true,
    verb,
    apiGroup: type.group,
    resource: type.plural,
    subresource: p.subresource,
    namespace: type.namespaced ? namespace : '',
    name: p.name ?? '',
  });
  if (p.subresource !== '' && !(type.subresources.includes(p.subresource) && (p.subresource !== 'status' ? method === 'POST' : method !== 'POST' && method !== 'DELETE'))) {
    throw apiError(404, 'NotFound', 'the server could not find the requested resource');
  }
  if (!type.verbs.includes(verb) && p.subresource === '') throw methodNotAllowed();
  const dryRun = dryRunOf(query.getAll('dryRun'));
  const contentType = mediaTypeOf(req);
  const readJson = (allowed: Set<string>) => decodeRequest(deps, req, allowed);
  const checkFields = (obj: unknown) => checkUnknownFields(type, obj, query.get('fieldValidation') ?? '', res);
  const table = wantsTable(accept);
  const answer = (status: number, obj: KubeObject) =>
    send(res, status, table ? toTable(type, [obj], { resourceVersion: obj.metadata.resourceVersion ?? '' }, includeObjectOf(query)) : obj);

  switch (verb) {
    case 'get': {
      answer(200, deps.api.get(type, namespace, p.name!));
      return;
    }
    case 'list': {
      checkResourceVersion(query.get('resourceVersion') ?? '');
      const list = deps.api.list(type, p.namespace === undefined && type.namespaced ? undefined : namespace, {
        labelSelector: query.get('labelSelector') ?? '',
        fieldSelector: query.get('fieldSelector') ?? '',
        limit: integerParam(query, 'limit'),
        continue: query.get('continue') ?? undefined,
      });
      if (table) send(res, 200, toTable(type, list.items, { resourceVersion: list.resourceVersion, ...(list.continue ? { continue: list.continue } : {}) }, includeObjectOf(query)));
      else send(res, 200, listBody(type, list));
      return;
    }
    case 'watch': {
      if (p.name !== undefined) {
        // a watch of one object is a watch of its collection with a name selector, as clients ask for it
        const named = `metadata.name=${p.name}`;
        const fs = query.get('fieldSelector');
        query.set('fieldSelector', fs ? `${fs},${named}` : named);
      }
      deps.watch(res, {
        type,
        namespace: p.namespace === undefined && type.namespaced ? undefined : namespace,
        labelSelector: query.get('labelSelector') ?? '',
        fieldSelector: query.get('fieldSelector') ?? '',
        resourceVersion: query.get('resourceVersion') ?? '',
        timeoutSeconds: integerParam(query, 'timeoutSeconds'),
        allowBookmarks: flag(query, 'allowWatchBookmarks'),
        sendInitialEvents: flag(query, 'sendInitialEvents'),
        table: table ? includeObjectOf(query) : undefined,
      });
      return;
    }
    case 'create': {
      const body = await readJson(bodyMedia);
      if (p.subresource !== '') {
        const post = deps.subresourcePosts[`${type.plural}/${p.subresource}`];
        if (!post) throw apiError(404, 'NotFound', 'the server could not find the requested resource');
        send(res, 201, await post(type, namespace, p.name!, body, who));
        return;
      }
      checkFields(body);
      answer(201, await deps.api.create(type, namespace, body, { who, dryRun }));
      return;
    }
    case 'update': {
      const body = await readJson(bodyMedia);
      checkFields(body);
      answer(200, await deps.api.update(type, namespace, p.name!, body, { who, dryRun, subresource: p.subresource === 'status' ? 'status' : '' }));
      return;
    }
    case 'patch': {
      const patch = await readJson(patchMedia);
      const current = deps.api.get(type, namespace, p.name!);
      const patched = deps.applyPatch(type, contentType, current, patch);
      if (patched.metadata.name !== undefined && patched.metadata.name !== current.metadata.name) {
        throw apiError(400, 'BadRequest', `the name of the object (${String(patched.metadata.name)}) does not match the name on the URL (${current.metadata.name!})`);
      }
      checkFields(patched);
      const next = { ...patched, metadata: { ...patched.metadata, name: current.metadata.name } } as KubeObject;
      answer(200, await deps.api.replace(type, current, next, { who, dryRun, subresource: p.subresource === 'status' ? 'status' : '' }));
      return;
    }
    case 'delete':
    case 'deletecollection': {
      const options = await readDeleteOptions(req, deps, query);
      if (verb === 'deletecollection') {
        const list = deps.api.deleteCollection(type, namespace, {
          ...options,
          labelSelector: query.get('labelSelector') ?? '',
          fieldSelector: query.get('fieldSelector') ?? '',
        });
        send(res, 200, listBody(type, list));
        return;
      }
      const { object, gone } = deps.api.delete(type, namespace, p.name!, options);
      if (gone) send(res, 200, success({ name: p.name!, ...(type.group ? { group: type.group } : {}), kind: type.plural, uid: object.metadata.uid ?? '' }));
      else answer(200, object);
      return;
    }
    default:
      throw methodNotAllowed();
  }
}

const str = (v: unknown) => (typeof v === 'string' ? v : undefined);

/** `dryRun=All` asks for everything but the write; any other value is refused, as Kubernetes does. */
function dryRunOf(values: unknown[]): boolean {
  const bad = values.find((v) => v !== 'All');
  if (bad !== undefined) throw apiError(400, 'BadRequest', `Invalid dry run value ${JSON.stringify(bad)}`);
  return values.length > 0;
}

/** DeleteOptions from the body (kubectl sends one) or the query (`?propagationPolicy=…`, `?gracePeriodSeconds=…`). */
async function readDeleteOptions(req: IncomingMessage, deps: HandlerDeps, query: URLSearchParams) {
  const declared = Number(req.headers['content-length'] ?? '0');
  let body: Record<string, unknown> = {};
  if (declared > 0 || req.headers['transfer-encoding'] !== undefined) {
    const raw = await readBody(req, deps.maxBodyBytes);
    if (raw.length > 0) {
      const decoded = decodeBody(raw, req.headers['content-type'] ?? 'application/json', deps.maxJsonDepth);
      if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) throw apiError(400, 'BadRequest', 'DeleteOptions must be an object');
      body = decoded as Record<string, unknown>;
    }
  }
  const propagationPolicy = str(body['propagationPolicy']) ?? query.get('propagationPolicy') ?? undefined;
  if (propagationPolicy !== undefined && !['Foreground', 'Background', 'Orphan'].includes(propagationPolicy)) {
    const message = `Unsupported value: ${JSON.stringify(propagationPolicy)}: supported values: "Foreground", "Background", "Orphan"`;
    throw apiError(422, 'Invalid', `propagationPolicy: ${message}`, { causes: [{ reason: 'FieldValueNotSupported', message, field: 'propagationPolicy' }] });
  }
  const pre = (typeof body['preconditions'] === 'object' && body['preconditions'] !== null ? body['preconditions'] : {}) as Record<string, unknown>;
  return {
    preconditions: { uid: str(pre['uid']), resourceVersion: str(pre['resourceVersion']) },
    propagationPolicy,
    gracePeriodSeconds: typeof body['gracePeriodSeconds'] === 'number' ? body['gracePeriodSeconds'] : integerParam(query, 'gracePeriodSeconds'),
    dryRun: dryRunOf([...query.getAll('dryRun'), ...(Array.isArray(body['dryRun']) ? body['dryRun'] : [])]),
  };
}
