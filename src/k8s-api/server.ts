/**
 * The lab's Kubernetes API server: HTTPS with its own CA, bearer tokens, RBAC, objects in SQLite, watch. Started by
 * `podnet k8s serve` and by the lab (in the control-plane namespace); tests start it in process.
 */
import Database from 'better-sqlite3';
import { chmodSync, closeSync, openSync } from 'node:fs';
import type { Server } from 'node:http';
import { PodnetError, closeServer, createSafeServer, formatListenAddress, listenOn, parseListenAddress, type TcpListenAddress } from '../lib/index.js';
import { answerBinding } from './binding.js';
import { builtinTypes } from './builtin/index.js';
import { handleRequest, type HandlerDeps } from './handler.js';
import { writeKubeconfig } from './kubeconfig.js';
import { applyPatch } from './patch/index.js';
import { escalationRefusal } from './rbac-escalation.js';
import { answerSelfSubjectAccessReview, answerSelfSubjectRulesReview, authorize, bootstrapPolicy, forbidden, type RbacPolicy } from './rbac.js';
import { Registry } from './registry.js';
import { ObjectApi } from './rest.js';
import { controllerHooks, registerStoredCrds } from './lifecycle.js';
import { crdDefinitionType } from './crd.js';
import { ObjectStore, resourceKey } from './store.js';
import { createServingMaterial, servingNames, type ServingMaterial } from './tls.js';
import { answerTokenRequest, createTokens, ADMIN_USER } from './tokens.js';
import { type Identity, type KubeObject, type RequestAttributes, type ResourceType } from './types.js';
import { WatchHub } from './watch.js';
import { admitMutating, admitValidating, type AdmissionRequest } from './webhooks.js';
import { serveWatch } from './watch-stream.js';

export interface KubeApiServerOptions {
  /** `127.0.0.1:6443` (port 0: a free one), or the parsed address. */
  listen: TcpListenAddress | string;
  /** SQLite file (`:memory:` keeps nothing). */
  dbPath: string;
  /** Writes an admin kubeconfig here once the server listens. */
  kubeconfigPath?: string;
  /** More names (DNS or IP) the serving certificate covers, besides the listen host, 127.0.0.1 and localhost. */
  serverNames?: string[];
  /** How many writes the watch window keeps (default 10,000): a watch from an older version gets 410 Gone. */
  watchHistory?: number;
  /** How much of the written objects' JSON the watch window keeps at most (default 256 MiB): large objects shorten it. */
  watchHistoryBytes?: number;
  /** Largest request body (default 3 MiB, as kube-apiserver's): larger is 413. */
  maxBodyBytes?: number;
  /** Most watches open at once (default 1,000): more is 429. */
  maxWatches?: number;
  /** Most unsent output one watch may hold (default 64 MiB): a watcher further behind is ended with 410. */
  watchBufferBytes?: number;
  /** Most unsent output all watches together may hold (default 512 MiB), shared equally by the open watches. */
  watchBuffersTotalBytes?: number;
  /** How often a watch that allows bookmarks gets one (default 60 s, as kube-apiserver's watch cache). */
  bookmarkIntervalMs?: number;
  /**
   * How long a client may take to send its headers (default 5 s) and its whole request (default 10 s) before it is
   * answered 408 and closed: a stalled sender must not hold a connection.
   */
  headersTimeoutMs?: number;
  requestTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface KubeApiServer {
  /** `https://127.0.0.1:6443` */
  url: string;
  caPem: string;
  adminToken: string;
  close(): Promise<void>;
}

const DEFAULT_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];
const MAX_JSON_DEPTH = 1000;
const RBAC_GROUP = 'rbac.authorization.k8s.io';

/**
 * The CA and serving certificate kept in the database; a certificate that misses a name is made again, signed by the
 * same CA (so kubeconfigs and token Secrets' ca.crt stay valid).
 */
async function servingMaterial(store: ObjectStore, names: string[]): Promise<ServingMaterial> {
  const text = store.getMeta('tls');
  const kept = text === undefined ? undefined : (JSON.parse(text) as ServingMaterial);
  if (kept) {
    const covered = new Set(servingNames(kept.certPem));
    if (names.every((n) => covered.has(n))) return kept;
  }
  const material = await createServingMaterial(names, kept?.caKeyPem ? kept : undefined);
  store.setMeta('tls', JSON.stringify(material));
  return material;
}

export async function startKubeApiServer(opts: KubeApiServerOptions): Promise<KubeApiServer> {
  const log = opts.log ?? ((line: string) => void process.stderr.write(line + '\n'));
  const listen = typeof opts.listen === 'string' ? parseListenAddress(opts.listen) : opts.listen;
  if (!listen || 'path' in listen) throw new PodnetError('INVALID_INPUT', `the Kubernetes API server listens on HOST:PORT, not ${JSON.stringify(opts.listen)}`, 'e.g. 127.0.0.1:6443');
  const db = openPrivateDatabase(opts.dbPath);
  let server: Server | undefined;
  let started: ObjectApi | undefined;
  try {
    const store = new ObjectStore(db);
    const tokens = createTokens(db);
    const host = listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host;
    const names = [host, '127.0.0.1', 'localhost', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', 'kubernetes.default.svc.cluster.local', ...(opts.serverNames ?? [])];
    const tls = await servingMaterial(store, names);
    const hub = new WatchHub(opts.watchHistory ?? 10_000, store.currentRv(), opts.watchHistoryBytes ?? 256 * 1024 * 1024);
    const registry = new Registry([...builtinTypes(), crdDefinitionType]);
    registerStoredCrds(store, registry);
    let policy: RbacPolicy | undefined;
    store.onWrite = (event) => {
      if (event.resource.startsWith(`${RBAC_GROUP}/`)) policy = undefined;
      hub.publish(event);
    };
    const readPolicy = (): RbacPolicy => {
      const all = (plural: string) => [...store.scan(resourceKey(RBAC_GROUP, plural), undefined)];
      policy ??= { clusterRoles: all('clusterroles'), clusterRoleBindings: all('clusterrolebindings'), roles: all('roles'), roleBindings: all('rolebindings') };
      return policy;
    };
    const objects: ObjectApi = new ObjectApi(store, registry, {
      ...controllerHooks((): ObjectApi => objects, tokens, tls.caPem),
      admit: async (operation, type, object, oldObject, userInfo, dryRun) => {
        const admitted = await admit(store, { operation, type, object, ...(oldObject ? { oldObject } : {}), userInfo, dryRun });
        // RBAC's escalation check: a role only with rights the writer holds, a binding only of a role it holds
        const refusal = escalationRefusal(userInfo, admitted, oldObject?.metadata.name ?? '', oldObject, readPolicy());
        if (refusal) throw refusal;
        return admitted;
      },
      validateAdmission: (operation, type, object, oldObject, userInfo, dryRun) =>
        admitValidatingStored(store, { operation, type, object, ...(oldObject ? { oldObject } : {}), userInfo, dryRun }),
    });
    started = objects;
    const admin: Identity = { user: ADMIN_USER, groups: ['system:masters', 'system:authenticated'] };
    await bootstrap(objects, admin);

    const openWatches = new Set<() => void>();
    const limits = {
      maxWatches: opts.maxWatches ?? 1000,
      bookmarkIntervalMs: opts.bookmarkIntervalMs ?? 60_000,
      maxTimeoutSeconds: 1800,
      maxBufferedBytes: opts.watchBufferBytes ?? 64 * 1024 * 1024,
      totalBufferedBytes: opts.watchBuffersTotalBytes ?? 512 * 1024 * 1024,
      drainMs: 5_000,
    };
    const deps: HandlerDeps = {
      api: objects,
      authenticate: (token) => tokens.authenticate(token),
      authorize(who: Identity, attrs: RequestAttributes) {
        const decision = authorize(who, attrs, readPolicy());
        if (!decision.allowed) throw forbidden(who, attrs, decision.reason);
      },
      watch: (res, w) => serveWatch(objects, hub, limits, openWatches, res, w),
      subresourcePosts: {
        'serviceaccounts/token': (type: ResourceType, namespace: string, name: string, body: unknown) => answerTokenRequest(body, objects.get(type, namespace, name), tokens),
        'pods/binding': (type: ResourceType, namespace: string, name: string, body: unknown) => answerBinding(objects, type, namespace, name, body),
      },
      reviews: {
        // `kubectl auth whoami`: who the request's credentials authenticate as
        'authentication.k8s.io/v1/selfsubjectreviews': (_body, who) => ({
          apiVersion: 'authentication.k8s.io/v1',
          kind: 'SelfSubjectReview',
          metadata: { creationTimestamp: new Date().toISOString().replace(/\.\d+Z$/, 'Z') },
          status: { userInfo: { username: who.user, ...(who.uid ? { uid: who.uid } : {}), groups: who.groups } },
        }),
        'authorization.k8s.io/v1/selfsubjectaccessreviews': (body, who) => answerSelfSubjectAccessReview(body, who, readPolicy()),
        'authorization.k8s.io/v1/selfsubjectrulesreviews': (body, who) => answerSelfSubjectRulesReview(body, who, readPolicy()),
      },
      applyPatch,
      maxBodyBytes: opts.maxBodyBytes ?? 3 * 1024 * 1024,
      maxJsonDepth: MAX_JSON_DEPTH,
    };
    server = createSafeServer((req, res, target) => handleRequest(deps, req, res, target), {
      what: 'the Kubernetes API server',
      log,
      tls: { cert: tls.certPem, key: tls.keyPem },
      // a 3 MiB body takes milliseconds on the lab's links; the defaults leave room for a loaded machine
      requestTimeoutMs: opts.requestTimeoutMs ?? 10_000,
      headersTimeoutMs: opts.headersTimeoutMs ?? 5_000,
      errorBody: (status, message) => ({
        contentType: 'application/json',
        body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason: status === 500 ? 'InternalError' : 'BadRequest', code: status }) + '\n',
      }),
    });
    await listenOn(server, listen, 'the Kubernetes API server', 'choose a free port or another address (--listen)');
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : listen.port;
    const url = `https://${formatListenAddress({ host, port })}`;
    const adminToken = tokens.adminToken();
    if (opts.kubeconfigPath) writeKubeconfig(opts.kubeconfigPath, { server: url, caPem: tls.caPem, token: adminToken });
    const listening = server;
    let closed: Promise<void> | undefined;
    return {
      url,
      caPem: tls.caPem,
      adminToken,
      close() {
        closed ??= (async () => {
          objects.closed = true;
          for (const end of [...openWatches]) end();
          hub.closeAll();
          await closeServer(listening);
          db.close();
        })();
        return closed;
      },
    };
  } catch (err) {
    if (started) started.closed = true;
    if (server?.listening) await closeServer(server);
    db.close();
    throw err;
  }
}

/**
 * The database holds the CA's private key and every token: readable by its owner only (SQLite gives its -wal and -shm
 * files the database file's mode), an existing file included.
 */
function openPrivateDatabase(path: string): Database.Database {
  if (path !== ':memory:' && path !== '') {
    closeSync(openSync(path, 'a', 0o600));
    chmodSync(path, 0o600);
  }
  return new Database(path);
}

/**
 * What a new cluster has: its namespaces and the bootstrap RBAC policy. Created when missing, at every start (as
 * kube-apiserver reconciles its bootstrap roles); objects a user changed are left as they are.
 */
async function bootstrap(api: ObjectApi, admin: Identity): Promise<void> {
  const create = async (obj: KubeObject) => {
    const [group, version] = obj.apiVersion.includes('/') ? obj.apiVersion.split('/') : ['', obj.apiVersion];
    const type = api.registry.all().find((t) => t.group === group && t.version === version && t.kind === obj.kind);
    if (!type || api.find(type, obj.metadata.namespace ?? '', obj.metadata.name!)) return;
    await api.create(type, obj.metadata.namespace ?? '', obj, { who: admin });
  };
  for (const name of DEFAULT_NAMESPACES) await create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  for (const obj of bootstrapPolicy()) await create(obj);
}

const WEBHOOK_CONFIGS = resourceKey('admissionregistration.k8s.io', 'mutatingwebhookconfigurations');
const VALIDATING_CONFIGS = resourceKey('admissionregistration.k8s.io', 'validatingwebhookconfigurations');

/** Validating admission: the stored ValidatingWebhookConfigurations called on the final object. */
async function admitValidatingStored(store: ObjectStore, req: Omit<AdmissionRequest, 'namespace' | 'namespaceLabels'>): Promise<void> {
  const configs = [...store.scan(VALIDATING_CONFIGS, undefined)];
  if (configs.length === 0) return;
  await admitValidating(configs, withNamespace(store, req));
}

function withNamespace(store: ObjectStore, req: Omit<AdmissionRequest, 'namespace' | 'namespaceLabels'>): AdmissionRequest {
  const namespace = req.type.namespaced ? (req.object.metadata.namespace ?? '') : '';
  const isNamespace = req.type.group === '' && req.type.plural === 'namespaces';
  const nsObject = isNamespace ? req.object : namespace ? store.get({ resource: resourceKey('', 'namespaces'), namespace: '', name: namespace }) : undefined;
  return { ...req, namespace: isNamespace ? (req.object.metadata.name ?? '') : namespace, namespaceLabels: nsObject?.metadata.labels ?? {} };
}

/** Mutating admission: the stored webhook configurations called on the object (nothing to do when there are none). */
async function admit(store: ObjectStore, req: Omit<AdmissionRequest, 'namespace' | 'namespaceLabels'>): Promise<KubeObject> {
  const configs = [...store.scan(WEBHOOK_CONFIGS, undefined)];
  if (configs.length === 0) return req.object;
  const namespace = req.type.namespaced ? (req.object.metadata.namespace ?? '') : '';
  const isNamespace = req.type.group === '' && req.type.plural === 'namespaces';
  const nsObject = isNamespace ? req.object : namespace ? store.get({ resource: resourceKey('', 'namespaces'), namespace: '', name: namespace }) : undefined;
  return admitMutating(configs, { ...req, namespace: isNamespace ? (req.object.metadata.name ?? '') : namespace, namespaceLabels: nsObject?.metadata.labels ?? {} });
}
