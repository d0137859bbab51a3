/**
 * RBAC's escalation prevention, as the API server applies it to writes of roles and bindings: a user may only write
 * a Role/ClusterRole whose rules it already holds (or with the `escalate` verb on it), and only bind a role whose
 * rules it already holds (or with the `bind` verb on it) — otherwise a service account allowed to write RoleBindings
 * could grant itself anything. Pure.
 */
import { isRecord } from './builtin/fields.js';
import { authorize, type PolicyRule, type RbacPolicy, rulesFor, rulesOf } from './rbac.js';
import { apiError, type ApiError, type Identity, type KubeObject } from './types.js';

const RBAC_GROUP = 'rbac.authorization.k8s.io';
const PLURALS: Record<string, string> = { Role: 'roles', ClusterRole: 'clusterroles', RoleBinding: 'rolebindings', ClusterRoleBinding: 'clusterrolebindings' };

/**
 * Whether who may write obj (a Role, ClusterRole, RoleBinding or ClusterRoleBinding; anything else passes): undefined
 * when allowed, else the 403 Kubernetes answers, e.g. `roles.rbac.authorization.k8s.io "x" is forbidden: user "alice"
 * (groups=["devs" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:
 * {APIGroups:[""], Resources:["secrets"], Verbs:["get"]}`. requestName is the URL's name ('' on create); old is the
 * stored object on update (unchanged rules need no check).
 */
export function escalationRefusal(who: Identity, obj: KubeObject, requestName: string, old: KubeObject | undefined, policy: RbacPolicy): ApiError | undefined {
  const plural = PLURALS[obj.kind];
  if (!plural || obj.apiVersion.split('/')[0] !== RBAC_GROUP || who.groups.includes('system:masters')) return undefined;
  const namespace = obj.kind === 'Role' || obj.kind === 'RoleBinding' ? (obj.metadata.namespace ?? '') : '';
  const name = obj.metadata.name ?? '';
  const refuse = (detail: string) =>
    apiError(403, 'Forbidden', `${plural}.${RBAC_GROUP} ${JSON.stringify(name)} is forbidden: ${detail}`, { name, group: RBAC_GROUP, kind: plural });
  const allowedTo = (verb: string, resource: string, resourceName: string) =>
    authorize(who, { resourceRequest: true, verb, apiGroup: RBAC_GROUP, resource, subresource: '', namespace, name: resourceName }, policy).allowed;

  let wanted: PolicyRule[];
  if (obj.kind === 'Role' || obj.kind === 'ClusterRole') {
    wanted = rulesOf(obj);
    if (old && JSON.stringify(rulesOf(old)) === JSON.stringify(wanted)) return undefined;
    if (allowedTo('escalate', plural, requestName)) return undefined;
  } else {
    const ref = isRecord(obj['roleRef']) ? obj['roleRef'] : {};
    const refKind = typeof ref['kind'] === 'string' ? ref['kind'] : '';
    const refName = typeof ref['name'] === 'string' ? ref['name'] : '';
    if (refKind !== 'Role' && refKind !== 'ClusterRole') return undefined; // validation refuses it
    if (allowedTo('bind', PLURALS[refKind] as string, refName)) return undefined;
    const role =
      refKind === 'ClusterRole'
        ? policy.clusterRoles.find((r) => r.metadata.name === refName)
        : policy.roles.find((r) => r.metadata.name === refName && r.metadata.namespace === namespace);
    if (!role) return refuse(`${refKind.toLowerCase()}.${RBAC_GROUP} ${JSON.stringify(refName)} not found`);
    wanted = rulesOf(role);
  }
  const missing = missingRights(rulesFor(who, namespace, policy), wanted);
  if (missing.length === 0) return undefined;
  const groups = `[${who.groups.map((g) => JSON.stringify(g)).join(' ')}]`;
  return refuse(`user ${JSON.stringify(who.user)} (groups=${groups}) is attempting to grant RBAC permissions not currently held:\n${missing.join('\n')}`);
}

/** The wanted rules the owner's do not cover, broken down to one verb of one resource, compacted and sorted. */
function missingRights(owner: PolicyRule[], wanted: PolicyRule[]): string[] {
  const missing = wanted.flatMap(breakDown).filter((atom) => !owner.some((rule) => covers(rule, atom)));
  return [...new Set(compact(missing).map(compactString))].sort();
}

/** One rule per API group × resource × resource name × verb (or URL × verb), as Kubernetes' Covers compares them. */
function breakDown(rule: PolicyRule): PolicyRule[] {
  const atoms: PolicyRule[] = [];
  for (const apiGroup of rule.apiGroups) {
    for (const resource of rule.resources) {
      for (const verb of rule.verbs) {
        if (rule.resourceNames.length === 0) atoms.push({ apiGroups: [apiGroup], resources: [resource], verbs: [verb], resourceNames: [], nonResourceURLs: [] });
        for (const resourceName of rule.resourceNames) atoms.push({ apiGroups: [apiGroup], resources: [resource], verbs: [verb], resourceNames: [resourceName], nonResourceURLs: [] });
      }
    }
  }
  for (const url of rule.nonResourceURLs) for (const verb of rule.verbs) atoms.push({ apiGroups: [], resources: [], verbs: [verb], resourceNames: [], nonResourceURLs: [url] });
  return atoms;
}

function covers(owner: PolicyRule, atom: PolicyRule): boolean {
  const has = (values: string[], wanted: string) => values.includes('*') || values.includes(wanted);
  if (!has(owner.verbs, atom.verbs[0] as string)) return false;
  const url = atom.nonResourceURLs[0];
  if (url !== undefined) return owner.nonResourceURLs.some((o) => o === '*' || o === url || (o.endsWith('*') && url.startsWith(o.slice(0, -1))));
  if (!has(owner.apiGroups, atom.apiGroups[0] as string)) return false;
  const resource = atom.resources[0] as string;
  const sub = resource.includes('/') ? `*/${resource.slice(resource.indexOf('/') + 1)}` : undefined;
  if (!owner.resources.some((r) => r === '*' || r === resource || (sub !== undefined && r === sub))) return false;
  if (owner.resourceNames.length === 0) return true;
  const resourceName = atom.resourceNames[0];
  return resourceName !== undefined && owner.resourceNames.includes(resourceName);
}

/** Missing verbs of the same group, resource and names are listed as one rule (Kubernetes' CompactRules). */
function compact(atoms: PolicyRule[]): PolicyRule[] {
  const merged = new Map<string, PolicyRule>();
  const result: PolicyRule[] = [];
  for (const atom of atoms) {
    if (atom.nonResourceURLs.length > 0 || atom.resourceNames.length > 0) {
      result.push(atom);
      continue;
    }
    const key = JSON.stringify([atom.apiGroups, atom.resources]);
    const existing = merged.get(key);
    if (existing) {
      if (!existing.verbs.includes(atom.verbs[0] as string)) existing.verbs.push(atom.verbs[0] as string);
    } else {
      const copy = { ...atom, verbs: [...atom.verbs] };
      merged.set(key, copy);
      result.push(copy);
    }
  }
  return result;
}

/** rbacv1helpers.CompactString: `{APIGroups:["apps"], Resources:["daemonsets"], Verbs:["get" "list"]}`. */
function compactString(rule: PolicyRule): string {
  const list = (values: string[]) => `[${values.map((v) => JSON.stringify(v)).join(' ')}]`;
  const parts: string[] = [];
  if (rule.apiGroups.length > 0) parts.push(`APIGroups:${list(rule.apiGroups)}`);
  if (rule.resources.length > 0) parts.push(`Resources:${list(rule.resources)}`);
  if (rule.nonResourceURLs.length > 0) parts.push(`NonResourceURLs:${list(rule.nonResourceURLs)}`);
  if (rule.resourceNames.length > 0) parts.push(`ResourceNames:${list(rule.resourceNames)}`);
  if (rule.verbs.length > 0) parts.push(`Verbs:${list(rule.verbs)}`);
  return `{${parts.join(', ')}}`;
}
