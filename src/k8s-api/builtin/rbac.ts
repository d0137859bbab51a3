/**
 * RBAC (rbac.authorization.k8s.io/v1) kinds: ClusterRole, ClusterRoleBinding, Role, RoleBinding — path-segment names,
 * rule and binding validation with Kubernetes' messages, subjects' apiGroup defaults, roleRef immutability, and the
 * ROLE/USERS/GROUPS/SERVICEACCOUNTS columns.
 */
import { isDeepStrictEqual } from 'node:util';
import type { Cause, KubeObject, ResourceType } from '../types.js';
import { at, column, list } from './columns.js';
import { defineKind } from './define.js';
import { invalid, isRecord, notSupported, pathSegmentName, required } from './fields.js';

const rbacGroup = 'rbac.authorization.k8s.io';

function validateRules(obj: KubeObject, namespaced: boolean): Cause[] {
  const causes: Cause[] = [];
  list(obj, 'rules').forEach((rule, i) => {
    const rf = `rules[${i}]`;
    if (list(rule, 'verbs').length === 0) causes.push(required(`${rf}.verbs`, 'verbs must contain at least one value'));
    const urls = list(rule, 'nonResourceURLs');
    if (urls.length > 0) {
      if (namespaced) causes.push(invalid(`${rf}.nonResourceURLs`, urls, 'namespaced rules cannot apply to non-resource URLs'));
      if (list(rule, 'apiGroups').length > 0 || list(rule, 'resources').length > 0 || list(rule, 'resourceNames').length > 0) {
        causes.push(invalid(`${rf}.nonResourceURLs`, urls, 'rules cannot apply to both regular resources and non-resource URLs'));
      }
      return;
    }
    if (list(rule, 'apiGroups').length === 0) causes.push(required(`${rf}.apiGroups`, 'resource rules must supply at least one api group'));
    if (list(rule, 'resources').length === 0) causes.push(required(`${rf}.resources`, 'resource rules must supply at least one resource'));
  });
  return causes;
}

function defaultSubjects(obj: KubeObject): void {
  for (const s of list(obj, 'subjects')) {
    if (!isRecord(s)) continue;
    // a ServiceAccount's group is "", which Kubernetes' encoding omits (omitempty): stored without it, a second
    // `kubectl apply` of the same binding finds nothing to change
    if (s.kind === 'ServiceAccount' && s.apiGroup === '') delete s.apiGroup;
    else if (s.apiGroup === undefined && (s.kind === 'User' || s.kind === 'Group')) s.apiGroup = rbacGroup;
  }
}

function validateBinding(obj: KubeObject, old: KubeObject | undefined, namespaced: boolean): Cause[] {
  const causes: Cause[] = [];
  const ref = isRecord(obj.roleRef) ? obj.roleRef : {};
  if (ref.apiGroup !== rbacGroup) causes.push(notSupported('roleRef.apiGroup', ref.apiGroup ?? '', [rbacGroup]));
  const kinds = namespaced ? ['Role', 'ClusterRole'] : ['ClusterRole'];
  if (!kinds.includes(String(ref.kind))) causes.push(notSupported('roleRef.kind', ref.kind ?? '', kinds));
  if (typeof ref.name !== 'string' || ref.name === '') causes.push(required('roleRef.name'));
  else for (const msg of pathSegmentName(ref.name)) causes.push(invalid('roleRef.name', ref.name, msg));
  list(obj, 'subjects').forEach((s, i) => {
    const sf = `subjects[${i}]`;
    const name = at(s, 'name');
    if (typeof name !== 'string' || name === '') causes.push(required(`${sf}.name`));
    switch (at(s, 'kind')) {
      case 'ServiceAccount':
        if ((at(s, 'apiGroup') ?? '') !== '') causes.push(notSupported(`${sf}.apiGroup`, at(s, 'apiGroup'), ['']));
        if (!namespaced && !at(s, 'namespace')) causes.push(required(`${sf}.namespace`));
        break;
      case 'User':
      case 'Group':
        if (at(s, 'apiGroup') !== rbacGroup) causes.push(notSupported(`${sf}.apiGroup`, at(s, 'apiGroup') ?? '', [rbacGroup]));
        break;
      default:
        causes.push(notSupported(`${sf}.kind`, at(s, 'kind') ?? '', ['ServiceAccount', 'User', 'Group']));
    }
  });
  if (old && !isDeepStrictEqual(old.roleRef, obj.roleRef)) causes.push(invalid('roleRef', obj.roleRef, 'cannot change roleRef'));
  return causes;
}

function subjectsOf(obj: KubeObject, kind: string): string {
  return list(obj, 'subjects')
    .filter((s) => at(s, 'kind') === kind)
    .map((s) => (kind === 'ServiceAccount' ? `${String(at(s, 'namespace') ?? '')}/${String(at(s, 'name'))}` : String(at(s, 'name'))))
    .join(', ');
}

// the real printer's cell is the RFC 3339 time itself (not an age), so the column is a string here: a table code that
// turns `date` cells into ages would print it as one
const createdAt = column('Created At', 'string', (o) => o.metadata.creationTimestamp ?? '', 0, 'CreationTimestamp is a timestamp representing the server time when this object was created.');

function bindingColumns() {
  return [
    column('Role', 'string', (o) => `${String(at(o, 'roleRef', 'kind') ?? '')}/${String(at(o, 'roleRef', 'name') ?? '')}`, 0, 'RoleRef can reference a Role in the current namespace or a ClusterRole in the global namespace.'),
    column('Users', 'string', (o) => subjectsOf(o, 'User'), 1, 'Users in the roleBinding'),
    column('Groups', 'string', (o) => subjectsOf(o, 'Group'), 1, 'Groups in the roleBinding'),
    column('ServiceAccounts', 'string', (o) => subjectsOf(o, 'ServiceAccount'), 1, 'ServiceAccounts in the roleBinding'),
  ];
}

export function rbacTypes(): ResourceType[] {
  const base = { group: rbacGroup, version: 'v1', nameCheck: pathSegmentName };
  return [
    defineKind({
      ...base,
      kind: 'ClusterRole',
      plural: 'clusterroles',
      namespaced: false,
      columns: [createdAt],
      noAge: true,
      validate(obj) {
        const causes = validateRules(obj, false);
        const agg = obj.aggregationRule;
        if (isRecord(agg) && list(agg, 'clusterRoleSelectors').length === 0) {
          causes.push(required('aggregationRule.clusterRoleSelectors', 'at least one clusterRoleSelector required if aggregationRule is non-nil'));
        }
        return causes;
      },
    }),
    defineKind({
      ...base,
      kind: 'ClusterRoleBinding',
      plural: 'clusterrolebindings',
      namespaced: false,
      columns: bindingColumns(),
      ageAt: 1,
      defaults: defaultSubjects,
      validate: (obj, old) => validateBinding(obj, old, false),
    }),
    defineKind({ ...base, kind: 'Role', plural: 'roles', namespaced: true, columns: [createdAt], noAge: true, validate: (obj) => validateRules(obj, true) }),
    defineKind({
      ...base,
      kind: 'RoleBinding',
      plural: 'rolebindings',
      namespaced: true,
      columns: bindingColumns(),
      ageAt: 1,
      defaults: defaultSubjects,
      validate: (obj, old) => validateBinding(obj, old, true),
    }),
  ];
}
