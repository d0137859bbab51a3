/**
 * Discovery: what kubectl and client libraries read before anything else — the server's version, the API groups
 * and their versions, and each group version's resources (verbs, short names, categories, scope, subresources).
 * Served both as the legacy per-group documents (`/api`, `/apis`, `/apis/G`, `/api/v1`, `/apis/G/V`) and as the
 * aggregated documents (apidiscovery.k8s.io v2 and v2beta1) that kubectl 1.26+ asks for first on `/api` and `/apis`;
 * which one is answered follows the request's Accept header, as kube-apiserver's content negotiation does.
 * Pure: the served resource types come in as an argument.
 */
import { admitsJson, parseAccept } from './media.js';
import { serveOpenApi } from './openapi.js';
import type { ResourceType, Status } from './types.js';

export interface DiscoveryResponse {
  status: number;
  contentType: string;
  body: string;
}

/** What `/version` reports: a recent minor, so clients enable what they would against a current EKS cluster. */
export const SERVED_VERSION = {
  major: '1',
  minor: '30',
  gitVersion: 'v1.30.0-podnet',
  gitCommit: '',
  gitTreeState: 'clean',
  buildDate: '1970-01-01T00:00:00Z',
  goVersion: 'none',
  compiler: 'none',
  platform: 'linux/amd64',
} as const;

/** The aggregated discovery versions served, newest first. */
const aggregatedVersions = ['v2', 'v2beta1'] as const;
type AggregatedVersion = (typeof aggregatedVersions)[number];

/** The representation to answer `/api` or `/apis` with: aggregated (which version), plain JSON, or none acceptable. */
function negotiateGroupList(accept: string): AggregatedVersion | 'plain' | undefined {
  for (const range of parseAccept(accept)) {
    if (!admitsJson(range)) continue;
    const { g, v, as } = range.params;
    if (g === undefined && v === undefined && as === undefined) return 'plain';
    if (g === 'apidiscovery.k8s.io' && as === 'APIGroupDiscoveryList' && aggregatedVersions.includes(v as AggregatedVersion)) return v as AggregatedVersion;
  }
  return undefined;
}

/** Whether a plain JSON answer is acceptable (for the documents that have no other representation). */
function acceptsPlainJson(accept: string): boolean {
  return parseAccept(accept).some((r) => admitsJson(r) && r.params.as === undefined);
}

const json = 'application/json';

function answer(status: number, body: unknown, contentType = json): DiscoveryResponse {
  return { status, contentType, body: JSON.stringify(body) };
}

function failure(code: number, reason: string, message: string): DiscoveryResponse {
  const status: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code };
  return answer(code, status);
}

const notFound = (): DiscoveryResponse => failure(404, 'NotFound', 'the server could not find the requested resource');
const notAcceptable = (): DiscoveryResponse =>
  failure(406, 'NotAcceptable', 'only the following media types are accepted: application/json, application/yaml');

/**
 * Kubernetes' version priority (what `kubectl` and the API server sort versions by): GA before beta before alpha,
 * higher major then higher minor first; anything not of the form v1, v1beta2, v2alpha1 sorts last, by name.
 */
export function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    const stability = m[2] === undefined ? 3 : m[2] === 'beta' ? 2 : 1;
    return [stability, Number(m[1]), m[3] === undefined ? 0 : Number(m[3])];
  };
  const ra = rank(a);
  const rb = rank(b);
  if (ra && rb) return rb[0] - ra[0] || rb[1] - ra[1] || rb[2] - ra[2];
  if (ra) return -1;
  if (rb) return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

interface GroupVersions {
  name: string;
  /** Most preferred first. */
  versions: string[];
}

/** The named groups (not the core group) in the order their first type was registered, versions by priority. */
function namedGroups(types: ResourceType[]): GroupVersions[] {
  const groups = new Map<string, Set<string>>();
  for (const t of types) {
    if (t.group === '') continue;
    const versions = groups.get(t.group) ?? new Set<string>();
    versions.add(t.version);
    groups.set(t.group, versions);
  }
  return [...groups].map(([name, versions]) => ({ name, versions: [...versions].sort(compareVersions) }));
}

const groupVersion = (group: string, version: string): string => (group === '' ? version : `${group}/${version}`);

function apiGroup(g: GroupVersions): Record<string, unknown> {
  const versions = g.versions.map((v) => ({ groupVersion: groupVersion(g.name, v), version: v }));
  return { name: g.name, versions, preferredVersion: versions[0] };
}

/** The verbs Kubernetes serves on a subresource: status is read and written; a token or a binding is created. */
function subresourceVerbs(sub: string): string[] {
  return sub === 'status' ? ['get', 'patch', 'update'] : ['create'];
}

/** A subresource's kind, group and version: TokenRequest lives in authentication.k8s.io/v1, Binding in v1; status is the parent. */
function subresourceKind(t: ResourceType, sub: string): { group: string; version: string; kind: string } {
  if (sub === 'token') return { group: 'authentication.k8s.io', version: 'v1', kind: 'TokenRequest' };
  if (sub === 'binding') return { group: '', version: 'v1', kind: 'Binding' };
  return { group: t.group, version: t.version, kind: t.kind };
}

/** APIResource entries of a legacy APIResourceList: the resource, then each of its subresources as `pods/status`. */
function apiResources(t: ResourceType): Record<string, unknown>[] {
  const main: Record<string, unknown> = { name: t.plural, singularName: t.singular, namespaced: t.namespaced, kind: t.kind, verbs: t.verbs };
  if (t.shortNames.length > 0) main.shortNames = t.shortNames;
  if (t.categories.length > 0) main.categories = t.categories;
  const subs = t.subresources.map((sub) => {
    const k = subresourceKind(t, sub);
    const entry: Record<string, unknown> = { name: `${t.plural}/${sub}`, singularName: '', namespaced: t.namespaced };
    if (k.group !== t.group || k.version !== t.version) Object.assign(entry, { group: k.group, version: k.version });
    return { ...entry, kind: k.kind, verbs: subresourceVerbs(sub) };
  });
  return [main, ...subs];
}

/** An APIResourceDiscovery entry of aggregated discovery (resource, responseKind, scope, subresources). */
function discoveredResource(t: ResourceType): Record<string, unknown> {
  const entry: Record<string, unknown> = {
    resource: t.plural,
    responseKind: { group: t.group, version: t.version, kind: t.kind },
    scope: t.namespaced ? 'Namespaced' : 'Cluster',
    singularResource: t.singular,
    verbs: t.verbs,
  };
  if (t.shortNames.length > 0) entry.shortNames = t.shortNames;
  if (t.categories.length > 0) entry.categories = t.categories;
  if (t.subresources.length > 0) {
    entry.subresources = t.subresources.map((sub) => ({ subresource: sub, responseKind: subresourceKind(t, sub), verbs: subresourceVerbs(sub) }));
  }
  return entry;
}

function groupDiscovery(name: string, versions: string[], types: ResourceType[]): Record<string, unknown> {
  return {
    metadata: name === '' ? { creationTimestamp: null } : { name, creationTimestamp: null },
    versions: versions.map((v) => ({
      version: v,
      resources: types.filter((t) => t.group === name && t.version === v).map(discoveredResource),
      freshness: 'Current',
    })),
  };
}

function aggregated(version: AggregatedVersion, items: Record<string, unknown>[]): DiscoveryResponse {
  const body = { kind: 'APIGroupDiscoveryList', apiVersion: `apidiscovery.k8s.io/${version}`, metadata: {}, items };
  return answer(200, body, `${json};g=apidiscovery.k8s.io;v=${version};as=APIGroupDiscoveryList`);
}

/**
 * The discovery document at `path` for a request with this Accept header, or undefined when `path` is not a
 * discovery path (resource paths such as `/api/v1/pods` are the REST code's). Unknown groups and versions are
 * 404 NotFound; an Accept header that admits no JSON representation is 406 NotAcceptable. `/openapi/v2` and
 * `/openapi/v3` are answered here too (see openapi.ts); the v2 body is protobuf, in ASCII only.
 */
export function serveDiscovery(path: string, accept: string, types: ResourceType[]): DiscoveryResponse | undefined {
  const clean = path.split('?')[0] ?? '';
  const parts = clean.split('/').filter((p) => p !== '');
  if (parts[0] === 'openapi') return serveOpenApi(clean, accept, SERVED_VERSION.gitVersion);
  if (clean === '/version' || clean === '/version/') {
    return acceptsPlainJson(accept) ? answer(200, SERVED_VERSION) : notAcceptable();
  }
  if (parts[0] === 'api' && parts.length <= 2) return serveCore(parts[1], accept, types);
  if (parts[0] === 'apis' && parts.length <= 3) return serveNamed(parts[1], parts[2], accept, types);
  return undefined;
}

function serveCore(version: string | undefined, accept: string, types: ResourceType[]): DiscoveryResponse {
  const core = types.filter((t) => t.group === '');
  const versions = [...new Set(core.map((t) => t.version))].sort(compareVersions);
  if (version === undefined) {
    const wanted = negotiateGroupList(accept);
    if (wanted === undefined) return notAcceptable();
    if (wanted !== 'plain') return aggregated(wanted, versions.length > 0 ? [groupDiscovery('', versions, types)] : []);
    return answer(200, { kind: 'APIVersions', versions });
  }
  if (!versions.includes(version)) return notFound();
  if (!acceptsPlainJson(accept)) return notAcceptable();
  return answer(200, { kind: 'APIResourceList', groupVersion: version, resources: core.filter((t) => t.version === version).flatMap(apiResources) });
}

function serveNamed(group: string | undefined, version: string | undefined, accept: string, types: ResourceType[]): DiscoveryResponse {
  const groups = namedGroups(types);
  if (group === undefined) {
    const wanted = negotiateGroupList(accept);
    if (wanted === undefined) return notAcceptable();
    if (wanted !== 'plain') return aggregated(wanted, groups.map((g) => groupDiscovery(g.name, g.versions, types)));
    return answer(200, { kind: 'APIGroupList', apiVersion: 'v1', groups: groups.map(apiGroup) });
  }
  const g = groups.find((x) => x.name === group);
  if (!g || (version !== undefined && !g.versions.includes(version))) return notFound();
  if (!acceptsPlainJson(accept)) return notAcceptable();
  if (version === undefined) return answer(200, { kind: 'APIGroup', apiVersion: 'v1', ...apiGroup(g) });
  const resources = types.filter((t) => t.group === group && t.version === version).flatMap(apiResources);
  return answer(200, { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: groupVersion(group, version), resources });
}
