/**
 * The generic object operations every served resource gets — get, list, create, update (whole object or status),
 * delete, delete collection — over the store, with Kubernetes' bookkeeping: uid, creationTimestamp, generation,
 * resourceVersion preconditions (409), generateName, deletionTimestamp and finalizers, namespaces that must exist
 * and that are emptied before they go. Kind-specific behaviour comes from the ResourceType (defaults, validation)
 * and from `hooks` (CRDs, service account tokens, admission); everything refused is an ApiError.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { forbiddenField, invalidError } from './field-errors.js';
import type { Registry } from './registry.js';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector, selectableFields, type FieldRequirement, type LabelRequirement } from './selectors.js';
import { resourceKey, type ObjectStore } from './store.js';
import { apiError, type ApiError, type Cause, type Identity, type KubeObject, type ResourceType } from './types.js';

export type Operation = 'CREATE' | 'UPDATE' | 'DELETE';

/** What other parts of the server do around a write: admission before it, bookkeeping after it. */
export interface WriteHooks {
  /** Mutating admission (webhooks): may return a changed object; runs after defaulting, before validation. */
  admit?(op: 'CREATE' | 'UPDATE', type: ResourceType, obj: KubeObject, old: KubeObject | undefined, who: Identity, dryRun: boolean): Promise<KubeObject>;
  /** Validating admission (webhooks): may only refuse; runs on the final object after its own validation. */
  validateAdmission?(op: 'CREATE' | 'UPDATE', type: ResourceType, obj: KubeObject, old: KubeObject | undefined, who: Identity, dryRun: boolean): Promise<void>;
  /** Before an object is stored (create or update): may complete it (a token Secret gets its token). */
  beforeStore?(type: ResourceType, obj: KubeObject, old: KubeObject | undefined): KubeObject;
  /** After a write is stored (created, updated, or removed). */
  afterWrite?(type: ResourceType, op: Operation, obj: KubeObject, old: KubeObject | undefined): void;
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
}

export interface ListResult {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface WriteOptions {
  who: Identity;
  dryRun?: boolean;
  /** 'status' writes only the status; '' the object (its status is kept as stored when the type has a status subresource). */
  subresource?: '' | 'status';
}

export interface DeleteOptions {
  preconditions?: { uid?: string; resourceVersion?: string };
  propagationPolicy?: string;
  gracePeriodSeconds?: number;
  dryRun?: boolean;
}

/** Namespaces that cannot be deleted, as Kubernetes refuses to. */
const undeletableNamespaces = new Set(['default', 'kube-system', 'kube-public']);
const NAMESPACES = resourceKey('', 'namespaces');
// what Kubernetes' name generator draws from: no vowels (no words), no look-alikes
const generateAlphabet = 'bcdfghjklmnpqrstvwxz2456789';

/** `pods`, `daemonsets.apps`: how messages name a resource. */
export function qualifiedResource(type: ResourceType): string {
  return type.group ? `${type.plural}.${type.group}` : type.plural;
}

export function groupVersion(type: ResourceType): string {
  return type.group ? `${type.group}/${type.version}` : type.version;
}

function details(type: ResourceType, name: string): ApiError['status']['details'] {
  return { name, ...(type.group ? { group: type.group } : {}), kind: type.plural };
}

export function notFound(type: ResourceType, name: string): ApiError {
  return apiError(404, 'NotFound', `${qualifiedResource(type)} ${JSON.stringify(name)} not found`, details(type, name));
}

function conflict(type: ResourceType, name: string, why = 'the object has been modified; please apply your changes to the latest version and try again'): ApiError {
  return apiError(409, 'Conflict', `Operation cannot be fulfilled on ${qualifiedResource(type)} ${JSON.stringify(name)}: ${why}`, details(type, name));
}

function badRequest(message: string): ApiError {
  return apiError(400, 'BadRequest', message);
}

/** RFC 3339 to the second, as Kubernetes' metav1.Time is written. */
export function timestamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Structural equality of JSON values (key order ignored): whether a write changes anything. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ka = Object.keys(a).filter((k) => (a as Record<string, unknown>)[k] !== undefined);
  const kb = Object.keys(b).filter((k) => (b as Record<string, unknown>)[k] !== undefined);
  return ka.length === kb.length && ka.every((k) => jsonEqual((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k]));
}

/**
 * Built-in kinds with a status subresource (but Namespace and Node, whose strategies never set it), and every custom
 * resource (CRD types are the ones without strategic merge).
 */
function tracksGeneration(type: ResourceType): boolean {
  if (type.group === '' && (type.kind === 'Namespace' || type.kind === 'Node')) return false;
  return type.subresources.includes('status') || !type.strategicMerge;
}

/** The object without metadata and status: what `generation` counts changes of. */
function specPart(obj: KubeObject): Record<string, unknown> {
  const { metadata: _m, status: _s, resourceVersion: _r, ...rest } = obj;
  return rest;
}

function withoutVersion(obj: KubeObject): KubeObject {
  const { resourceVersion: _rv, managedFields: _mf, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

interface ContinueToken {
  rv: number;
  namespace: string;
  name: string;
}

function encodeContinue(token: ContinueToken): string {
  return Buffer.from(JSON.stringify({ v: 'podnet/1', ...token })).toString('base64url');
}

function decodeContinue(text: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as Record<string, unknown>;
    if (t['v'] === 'podnet/1' && typeof t['rv'] === 'number' && typeof t['namespace'] === 'string' && typeof t['name'] === 'string') {
      return { rv: t['rv'], namespace: t['namespace'], name: t['name'] };
    }
  } catch {
    // fall through to the refusal
  }
  throw badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
}

/** Parsed selectors of a list or watch, matched against objects. */
export class ObjectFilter {
  readonly labels: LabelRequirement[];
  readonly fields: FieldRequirement[];

  constructor(type: ResourceType, labelSelector = '', fieldSelector = '') {
    this.labels = parseLabelSelector(labelSelector);
    this.fields = parseFieldSelector(fieldSelector, selectableFields(type.group, type.kind), qualifiedResource(type));
  }

  matches(obj: KubeObject): boolean {
    return matchesLabels(this.labels, obj.metadata.labels) && matchesFields(this.fields, obj);
  }
}

export class ObjectApi {
  /** Namespaces being deleted whose contents are still going. */
  private readonly terminating = new Set<string>();
  private sweepScheduled = false;
  /** Set when the server stops: work deferred to a later turn (the namespace sweep, controllers) is dropped. */
  closed = false;

  constructor(
    readonly store: ObjectStore,
    readonly registry: Registry,
    readonly hooks: WriteHooks = {},
    private readonly now: () => number = Date.now,
  ) {
    for (const ns of store.scan(NAMESPACES, '')) {
      if (ns.metadata.deletionTimestamp) this.terminating.add(ns.metadata.name!);
    }
    if (this.terminating.size > 0) this.scheduleSweep();
  }

  /** The object as the type's version serves it. */
  private served(type: ResourceType, obj: KubeObject): KubeObject {
    return obj.apiVersion === groupVersion(type) && obj.kind === type.kind ? obj : { ...obj, apiVersion: groupVersion(type), kind: type.kind };
  }

  private key(type: ResourceType, namespace: string, name: string) {
    return { resource: resourceKey(type.group, type.plural), namespace: type.namespaced ? namespace : '', name };
  }

  get(type: ResourceType, namespace: string, name: string): KubeObject {
    const obj = this.store.get(this.key(type, namespace, name));
    if (!obj) throw notFound(type, name);
    return this.served(type, obj);
  }

  find(type: ResourceType, namespace: string, name: string): KubeObject | undefined {
    const obj = this.store.get(this.key(type, namespace, name));
    return obj && this.served(type, obj);
  }

  /** Objects in namespace (undefined: all namespaces, or cluster scoped), filtered, a page at a time. */
  list(type: ResourceType, namespace: string | undefined, opts: ListOptions = {}): ListResult {
    const filter = new ObjectFilter(type, opts.labelSelector, opts.fieldSelector);
    const start = opts.continue ? decodeContinue(opts.continue) : undefined;
    const rv = start?.rv ?? this.store.currentRv();
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const items: KubeObject[] = [];
    let more = false;
    let remaining = 0;
    for (const obj of this.store.scan(resourceKey(type.group, type.plural), type.namespaced ? namespace : undefined, start)) {
      if (!filter.matches(obj)) continue;
      if (limit > 0 && items.length === limit) {
        more = true;
        remaining++;
        continue;
      }
      items.push(this.served(type, obj));
    }
    const last = items[items.length - 1];
    const result: ListResult = { items, resourceVersion: String(rv) };
    if (more && last) {
      result.continue = encodeContinue({ rv, namespace: last.metadata.namespace ?? '', name: last.metadata.name! });
      // Kubernetes gives the count only when no field or label selector filtered the list
      if (filter.labels.length === 0 && filter.fields.length === 0) result.remainingItemCount = remaining;
    }
    return result;
  }

  /** The namespace must exist, and must not be going, for something to be created in it. */
  private checkNamespace(type: ResourceType, namespace: string, name: string): void {
    if (!type.namespaced) return;
    const ns = this.store.get({ resource: NAMESPACES, namespace: '', name: namespace });
    if (!ns) throw apiError(404, 'NotFound', `namespaces ${JSON.stringify(namespace)} not found`, { name: namespace, kind: 'namespaces' });
    if (ns.metadata.deletionTimestamp) {
      const message = `unable to create new content in namespace ${namespace} because it is being terminated`;
      throw apiError(403, 'Forbidden', `${qualifiedResource(type)} ${JSON.stringify(name)} is forbidden: ${message}`, {
        ...details(type, name),
        causes: [{ reason: 'NamespaceTerminating', message, field: 'metadata.namespace' }],
      });
    }
  }

  /** The body names the URL's kind and version (either may be left out), and the URL's namespace. */
  private checkBody(type: ResourceType, body: unknown, namespace: string): KubeObject {
    if (!isRecord(body)) throw badRequest(`the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`);
    const kind = body['kind'];
    const apiVersion = body['apiVersion'];
    if (kind !== undefined && kind !== type.kind) {
      throw badRequest(`the kind of the object (${String(kind)}) does not match the kind of the request (${type.kind}): ${groupVersion(type)}, Kind=${type.kind} is served at this URL`);
    }
    if (apiVersion !== undefined && apiVersion !== groupVersion(type)) {
      throw badRequest(`the API version in the data (${String(apiVersion)}) does not match the expected API version (${groupVersion(type)})`);
    }
    const metadata = body['metadata'] === undefined ? {} : body['metadata'];
    if (!isRecord(metadata)) throw badRequest('metadata must be an object');
    const obj = { ...body, apiVersion: groupVersion(type), kind: type.kind, metadata: { ...metadata } } as KubeObject;
    if (type.namespaced) {
      if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== '' && obj.metadata.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      obj.metadata.namespace = namespace;
    } else {
      delete obj.metadata.namespace;
    }
    return obj;
  }

  private validate(type: ResourceType, obj: KubeObject, old: KubeObject | undefined): void {
    const causes: Cause[] = [];
    const name = obj.metadata.name;
    if (typeof name !== 'string' || name === '') {
      causes.push({ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' });
    } else if (name === '.' || name === '..' || /[/%]/.test(name)) {
      causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(name)}: may not contain '/' or '%', and may not be '.' or '..'`, field: 'metadata.name' });
    }
    if (old?.metadata.deletionTimestamp) {
      // an object being deleted only loses finalizers, as ValidateObjectMetaUpdate enforces for every kind
      const kept = new Set(old.metadata.finalizers ?? []);
      const added = (obj.metadata.finalizers ?? []).filter((f) => !kept.has(f));
      if (added.length > 0) {
        const found = `[]string{${added.map((f) => JSON.stringify(f)).join(', ')}}`;
        causes.push(forbiddenField('metadata.finalizers', `no new finalizers can be added if the object is being deleted, found new finalizers ${found}`));
      }
    }
    if (causes.length === 0) causes.push(...type.validate(obj, old));
    if (causes.length > 0) throw invalidError(type.kind, type.group, typeof name === 'string' ? name : '', causes);
  }

  async create(type: ResourceType, namespace: string, body: unknown, opts: WriteOptions): Promise<KubeObject> {
    let obj = this.checkBody(type, body, namespace);
    const meta = obj.metadata;
    if (meta.resourceVersion !== undefined && meta.resourceVersion !== '') {
      throw badRequest('resourceVersion should not be set on objects to be created');
    }
    if ((meta.name === undefined || meta.name === '') && typeof meta.generateName === 'string' && meta.generateName !== '') {
      let suffix = '';
      for (let i = 0; i < 5; i++) suffix += generateAlphabet[randomInt(generateAlphabet.length)];
      meta.name = meta.generateName.slice(0, 58) + suffix;
    }
    for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'managedFields', 'resourceVersion', 'selfLink'] as const) delete meta[field];
    meta.uid = randomUUID();
    meta.creationTimestamp = timestamp(this.now());
    // generation counts spec changes: kept for kinds with a status (the controllers' observedGeneration) and for every
    // custom resource, as Kubernetes does
    if (tracksGeneration(type)) meta.generation = 1;
    if (type.subresources.includes('status')) {
      // the status is the controllers' to write (through the status subresource); a node's kubelet writes it in
      // the create, as the real API server keeps a new Node's status
      if (!(type.group === '' && type.kind === 'Node')) delete obj['status'];
    }
    type.applyDefaults(obj);
    if (this.hooks.admit) {
      obj = await this.hooks.admit('CREATE', type, obj, undefined, opts.who, opts.dryRun === true);
      type.applyDefaults(obj);
    }
    this.validate(type, obj, undefined);
    if (this.hooks.validateAdmission) await this.hooks.validateAdmission('CREATE', type, obj, undefined, opts.who, opts.dryRun === true);
    const name = obj.metadata.name!;
    this.checkNamespace(type, namespace, name);
    if (this.store.get(this.key(type, namespace, name))) {
      throw apiError(409, 'AlreadyExists', `${qualifiedResource(type)} ${JSON.stringify(name)} already exists`, details(type, name));
    }
    if (this.hooks.beforeStore) obj = this.hooks.beforeStore(type, obj, undefined);
    if (opts.dryRun) return obj;
    const stored = this.store.put(resourceKey(type.group, type.plural), obj, 'ADDED');
    this.hooks.afterWrite?.(type, 'CREATE', stored, undefined);
    return this.served(type, stored);
  }

  /** PUT: replaces the object (or, with subresource 'status', only its status). */
  async update(type: ResourceType, namespace: string, name: string, body: unknown, opts: WriteOptions): Promise<KubeObject> {
    const given = this.checkBody(type, body, namespace);
    if (given.metadata.name !== undefined && given.metadata.name !== name) {
      throw badRequest(`the name of the object (${String(given.metadata.name)}) does not match the name on the URL (${name})`);
    }
    given.metadata.name = name;
    const old = this.get(type, namespace, name);
    return this.replace(type, old, given, opts);
  }

  /**
   * The update path shared by PUT and PATCH: `given` is the whole new object. Its resourceVersion, when set, must be
   * the stored one (409 Conflict otherwise).
   */
  async replace(type: ResourceType, old: KubeObject, given: KubeObject, opts: WriteOptions): Promise<KubeObject> {
    const name = old.metadata.name!;
    const rv = given.metadata.resourceVersion;
    if (rv !== undefined && rv !== '' && rv !== old.metadata.resourceVersion) throw conflict(type, name);
    const hasStatus = type.subresources.includes('status');
    let obj: KubeObject;
    if (opts.subresource === 'status') {
      obj = { ...old, metadata: { ...old.metadata }, status: given['status'] };
      if (given['status'] === undefined) delete obj['status'];
    } else {
      obj = { ...given, metadata: { ...given.metadata } };
      if (hasStatus) {
        if (old['status'] === undefined) delete obj['status'];
        else obj['status'] = old['status'];
      }
    }
    // what the client cannot change through an update
    const meta = obj.metadata;
    meta.namespace = old.metadata.namespace;
    if (!type.namespaced) delete meta.namespace;
    meta.uid = old.metadata.uid;
    meta.creationTimestamp = old.metadata.creationTimestamp;
    for (const field of ['deletionTimestamp', 'deletionGracePeriodSeconds', 'generation'] as const) {
      if (old.metadata[field] === undefined) delete meta[field];
      else meta[field] = old.metadata[field] as never;
    }
    delete meta.managedFields;
    delete meta.selfLink;
    if (meta.generateName === undefined && old.metadata.generateName !== undefined) meta.generateName = old.metadata.generateName;
    type.applyDefaults(obj);
    if (this.hooks.admit && opts.subresource !== 'status') {
      obj = await this.hooks.admit('UPDATE', type, obj, old, opts.who, opts.dryRun === true);
      type.applyDefaults(obj);
      // admission may have waited on a webhook: a write that landed meanwhile makes this one stale
      const now = this.store.get(this.key(type, old.metadata.namespace ?? '', name));
      if (now?.metadata.resourceVersion !== old.metadata.resourceVersion) throw conflict(type, name);
    }
    this.validate(type, obj, old);
    if (this.hooks.validateAdmission && opts.subresource !== 'status') {
      await this.hooks.validateAdmission('UPDATE', type, obj, old, opts.who, opts.dryRun === true);
      const now = this.store.get(this.key(type, old.metadata.namespace ?? '', name));
      if (now?.metadata.resourceVersion !== old.metadata.resourceVersion) throw conflict(type, name);
    }
    if (tracksGeneration(type) && !jsonEqual(specPart(obj), specPart(old))) meta.generation = (old.metadata.generation ?? 0) + 1;
    if (this.hooks.beforeStore) obj = this.hooks.beforeStore(type, obj, old);
    const resource = resourceKey(type.group, type.plural);
    // an object being deleted goes once its last finalizer is removed
    if (old.metadata.deletionTimestamp && (meta.finalizers ?? []).length === 0) {
      if (opts.dryRun) return obj;
      const gone = this.store.remove(resource, { ...obj, metadata: { ...meta, resourceVersion: old.metadata.resourceVersion } });
      this.hooks.afterWrite?.(type, 'DELETE', gone, old);
      this.afterRemove(gone);
      return this.served(type, gone);
    }
    // a write that changes nothing is no write: the version stays, and no watch event is sent
    if (jsonEqual(withoutVersion(obj), withoutVersion(old))) return old;
    if (opts.dryRun) return { ...obj, metadata: { ...meta, resourceVersion: old.metadata.resourceVersion } };
    const stored = this.store.put(resource, obj, 'MODIFIED', old);
    this.hooks.afterWrite?.(type, 'UPDATE', stored, old);
    return this.served(type, stored);
  }

  /**
   * DELETE: an object with finalizers gets its deletionTimestamp and stays until they are removed; otherwise it goes
   * at once. Returns what the server answers: the object (still there) or a Success Status (gone).
   */
  delete(type: ResourceType, namespace: string, name: string, opts: DeleteOptions = {}): { object: KubeObject; gone: boolean } {
    const old = this.get(type, namespace, name);
    const pre = opts.preconditions ?? {};
    if (pre.uid !== undefined && pre.uid !== old.metadata.uid) {
      throw conflict(type, name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${old.metadata.uid ?? ''}`);
    }
    if (pre.resourceVersion !== undefined && pre.resourceVersion !== old.metadata.resourceVersion) {
      throw conflict(type, name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${old.metadata.resourceVersion ?? ''}`);
    }
    const resource = resourceKey(type.group, type.plural);
    if (type.group === '' && type.plural === 'namespaces') {
      if (undeletableNamespaces.has(name)) {
        throw apiError(403, 'Forbidden', `namespaces ${JSON.stringify(name)} is forbidden: this namespace may not be deleted`, details(type, name));
      }
      if (old.metadata.deletionTimestamp) return { object: old, gone: false };
      if (opts.dryRun) return { object: old, gone: false };
      const status = { ...((old['status'] as Record<string, unknown> | undefined) ?? {}), phase: 'Terminating' };
      const marked = this.store.put(resource, { ...old, metadata: { ...old.metadata, deletionTimestamp: timestamp(this.now()), deletionGracePeriodSeconds: 0 }, status }, 'MODIFIED', old);
      this.terminating.add(name);
      this.scheduleSweep();
      return { object: this.served(type, marked), gone: false };
    }
    if ((old.metadata.finalizers ?? []).length > 0) {
      if (old.metadata.deletionTimestamp || opts.dryRun) return { object: old, gone: false };
      const marked = this.store.put(resource, { ...old, metadata: { ...old.metadata, deletionTimestamp: timestamp(this.now()), deletionGracePeriodSeconds: 0 } }, 'MODIFIED', old);
      this.hooks.afterWrite?.(type, 'UPDATE', marked, old);
      return { object: this.served(type, marked), gone: false };
    }
    if (opts.dryRun) return { object: old, gone: true };
    const gone = this.store.remove(resource, old);
    this.hooks.afterWrite?.(type, 'DELETE', gone, old);
    this.afterRemove(gone);
    return { object: this.served(type, gone), gone: true };
  }

  /** DELETE on a collection: every object the selectors match, each as DELETE would. */
  deleteCollection(type: ResourceType, namespace: string, opts: ListOptions & DeleteOptions): ListResult {
    const { items, resourceVersion } = this.list(type, namespace, { labelSelector: opts.labelSelector, fieldSelector: opts.fieldSelector });
    const out: KubeObject[] = [];
    for (const obj of items) {
      try {
        out.push(this.delete(type, obj.metadata.namespace ?? '', obj.metadata.name!, { dryRun: opts.dryRun, propagationPolicy: opts.propagationPolicy }).object);
      } catch (err) {
        // one that went meanwhile, or may not be deleted (a protected namespace), does not stop the rest
        if (!(err instanceof Error && 'status' in err)) throw err;
      }
    }
    return { items: out, resourceVersion };
  }

  /** A removed object in a terminating namespace may be its last. */
  private afterRemove(obj: KubeObject): void {
    if (obj.metadata.namespace && this.terminating.has(obj.metadata.namespace)) this.scheduleSweep();
  }

  private scheduleSweep(): void {
    if (this.sweepScheduled) return;
    this.sweepScheduled = true;
    setImmediate(() => {
      this.sweepScheduled = false;
      if (this.closed) return;
      for (const ns of [...this.terminating]) this.sweepNamespace(ns);
    });
  }

  /**
   * The namespace controller's work for a terminating namespace: delete what is in it (objects with finalizers
   * stay until those are removed), then remove the namespace itself once nothing is left.
   */
  private sweepNamespace(name: string): void {
    for (const resource of this.store.resourcesIn(name)) {
      const [group = '', plural = ''] = resource.split('/');
      const type = this.registry.anyVersion(group, plural);
      for (const obj of [...this.store.scan(resource, name)]) {
        if (obj.metadata.deletionTimestamp) continue;
        if (type) this.delete(type, name, obj.metadata.name!);
        else this.store.remove(resource, obj);
      }
    }
    if (!this.store.namespaceIsEmpty(name)) return;
    this.terminating.delete(name);
    let ns = this.store.get({ resource: NAMESPACES, namespace: '', name });
    if (!ns) return;
    // the controller's finalize: the `kubernetes` finalizer (spec.finalizers) goes once the contents have gone
    const spec = ns['spec'] as { finalizers?: unknown[] } | undefined;
    if (spec?.finalizers && spec.finalizers.length > 0) ns = this.store.put(NAMESPACES, { ...ns, spec: { ...spec, finalizers: [] } }, 'MODIFIED', ns);
    // finalizers of its own (metadata.finalizers) keep it, as any object, until they are removed
    if ((ns.metadata.finalizers ?? []).length > 0) return;
    const type = this.registry.anyVersion('', 'namespaces');
    const gone = this.store.remove(NAMESPACES, ns);
    if (type) this.hooks.afterWrite?.(type, 'DELETE', gone, ns);
  }
}
