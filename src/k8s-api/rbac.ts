/**
 * RBAC (rbac.authorization.k8s.io/v1) evaluated from the roles and bindings the server stores, as Kubernetes'
 * RBAC authorizer does: a request is allowed when some binding naming the user (or one of its groups, or its service
 * account) grants a role with a matching rule; system:masters is allowed everything. ClusterRoles with an
 * aggregationRule also get the rules of the ClusterRoles their selectors match (the aggregation controller's work,
 * done at evaluation time).
 */
import { isRecord } from './builtin/fields.js';
import { invalid, invalidError } from './field-errors.js';
import { apiError, type ApiError, type Decision, type Identity, type KubeObject, type RequestAttributes } from './types.js';

export interface RbacPolicy {
  clusterRoles: KubeObject[];
  clusterRoleBindings: KubeObject[];
  roles: KubeObject[];
  roleBindings: KubeObject[];
}

export interface PolicyRule {
  verbs: string[];
  apiGroups: string[];
  resources: string[];
  resourceNames: string[];
  nonResourceURLs: string[];
}

interface Subject {
  kind: string;
  name: string;
  namespace: string;
}

export function authorize(who: Identity, attrs: RequestAttributes, policy: RbacPolicy): Decision {
  // the privileged-group authorizer in front of RBAC allows system:masters without a reason
  if (who.groups.includes('system:masters')) return { allowed: true, reason: '' };
  const clusterRoles = new Map(policy.clusterRoles.map((role) => [role.metadata.name ?? '', role]));
  const clusterRoleRules = (name: string): PolicyRule[] => aggregatedRules(clusterRoles.get(name), policy.clusterRoles);

  for (const binding of policy.clusterRoleBindings) {
    const subject = matchingSubject(binding, who, '');
    if (!subject) continue;
    const ref = roleRef(binding);
    if (ref.kind !== 'ClusterRole') continue;
    if (clusterRoleRules(ref.name).some((rule) => ruleAllows(rule, attrs))) {
      return { allowed: true, reason: allowedReason('ClusterRoleBinding', binding, ref, subject, '') };
    }
  }
  // RoleBindings only grant within their namespace, and never non-resource URLs.
  if (!attrs.resourceRequest || attrs.namespace === '') return { allowed: false, reason: '' };
  for (const binding of policy.roleBindings) {
    const namespace = binding.metadata.namespace ?? '';
    if (namespace !== attrs.namespace) continue;
    const subject = matchingSubject(binding, who, namespace);
    if (!subject) continue;
    const ref = roleRef(binding);
    const rules =
      ref.kind === 'ClusterRole'
        ? clusterRoleRules(ref.name)
        : ref.kind === 'Role'
          ? rulesOf(policy.roles.find((role) => role.metadata.name === ref.name && role.metadata.namespace === namespace))
          : [];
    if (rules.some((rule) => ruleAllows(rule, attrs))) {
      return { allowed: true, reason: allowedReason('RoleBinding', binding, ref, subject, namespace) };
    }
  }
  return { allowed: false, reason: '' };
}

/**
 * The 403 Kubernetes answers a denied request with:
 * `pods "x" is forbidden: User "system:serviceaccount:kube-system:aws-node" cannot get resource "pods" in API group ""
 * in the namespace "default"`.
 */
export function forbidden(who: Identity, attrs: RequestAttributes, reason = ''): ApiError {
  const base = forbiddenMessage(who, attrs);
  const detail = reason ? `${base}: ${reason}` : base;
  if (!attrs.resourceRequest) return apiError(403, 'Forbidden', `forbidden: ${detail}`, {});
  const qualified = attrs.apiGroup ? `${attrs.resource}.${attrs.apiGroup}` : attrs.resource;
  const message = attrs.name ? `${qualified} ${JSON.stringify(attrs.name)} is forbidden: ${detail}` : `${qualified} is forbidden: ${detail}`;
  return apiError(403, 'Forbidden', message, {
    ...(attrs.name ? { name: attrs.name } : {}),
    ...(attrs.apiGroup ? { group: attrs.apiGroup } : {}),
    kind: attrs.resource,
  });
}

function forbiddenMessage(who: Identity, attrs: RequestAttributes): string {
  const user = JSON.stringify(who.user);
  if (!attrs.resourceRequest) return `User ${user} cannot ${attrs.verb} path ${JSON.stringify(attrs.path)}`;
  const resource = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const start = `User ${user} cannot ${attrs.verb} resource ${JSON.stringify(resource)} in API group ${JSON.stringify(attrs.apiGroup)}`;
  return attrs.namespace ? `${start} in the namespace ${JSON.stringify(attrs.namespace)}` : `${start} at the cluster scope`;
}

function ruleAllows(rule: PolicyRule, attrs: RequestAttributes): boolean {
  if (!matchesAny(rule.verbs, attrs.verb)) return false;
  if (!attrs.resourceRequest) return rule.nonResourceURLs.some((url) => nonResourceUrlMatches(url, attrs.path));
  if (!matchesAny(rule.apiGroups, attrs.apiGroup)) return false;
  const combined = attrs.subresource ? `${attrs.resource}/${attrs.subresource}` : attrs.resource;
  const resourceMatches = rule.resources.some(
    (resource) => resource === '*' || resource === combined || (attrs.subresource !== '' && resource === `*/${attrs.subresource}`),
  );
  if (!resourceMatches) return false;
  return rule.resourceNames.length === 0 || rule.resourceNames.includes(attrs.name);
}

function matchesAny(values: string[], wanted: string): boolean {
  return values.includes('*') || values.includes(wanted);
}

function nonResourceUrlMatches(ruleUrl: string, path: string): boolean {
  if (ruleUrl === '*' || ruleUrl === path) return true;
  return ruleUrl.endsWith('*') && path.startsWith(ruleUrl.slice(0, -1));
}

function matchingSubject(binding: KubeObject, who: Identity, bindingNamespace: string): Subject | undefined {
  const subjects = Array.isArray(binding['subjects']) ? (binding['subjects'] as unknown[]) : [];
  for (const raw of subjects) {
    const subject = readSubject(raw);
    if (subject && subjectMatches(subject, who, bindingNamespace)) return subject;
  }
  return undefined;
}

function subjectMatches(subject: Subject, who: Identity, bindingNamespace: string): boolean {
  switch (subject.kind) {
    case 'User':
      return subject.name === who.user;
    case 'Group':
      return who.groups.includes(subject.name);
    case 'ServiceAccount': {
      // a RoleBinding's ServiceAccount subject without a namespace means the binding's own (upstream appliesToUser)
      const namespace = subject.namespace || bindingNamespace;
      return namespace !== '' && who.user === `system:serviceaccount:${namespace}:${subject.name}`;
    }
    default:
      return false;
  }
}

function readSubject(raw: unknown): Subject | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const record = raw as Record<string, unknown>;
  const text = (key: string): string => (typeof record[key] === 'string' ? (record[key] as string) : '');
  return { kind: text('kind'), name: text('name'), namespace: text('namespace') };
}

function roleRef(binding: KubeObject): { kind: string; name: string } {
  const ref = (binding['roleRef'] ?? {}) as Record<string, unknown>;
  return { kind: typeof ref['kind'] === 'string' ? ref['kind'] : '', name: typeof ref['name'] === 'string' ? ref['name'] : '' };
}

export function rulesOf(role: KubeObject | undefined): PolicyRule[] {
  if (!role || !Array.isArray(role['rules'])) return [];
  return (role['rules'] as unknown[]).flatMap((raw) => {
    if (typeof raw !== 'object' || raw === null) return [];
    const record = raw as Record<string, unknown>;
    const list = (key: string): string[] => (Array.isArray(record[key]) ? (record[key] as unknown[]).filter((v): v is string => typeof v === 'string') : []);
    return [{ verbs: list('verbs'), apiGroups: list('apiGroups'), resources: list('resources'), resourceNames: list('resourceNames'), nonResourceURLs: list('nonResourceURLs') }];
  });
}

/**
 * A ClusterRole's own rules plus, for an aggregated one, the rules of every ClusterRole its selectors match — those
 * aggregated in turn (edit takes view's, which takes system:aggregate-to-view's), each role once.
 */
function aggregatedRules(role: KubeObject | undefined, all: KubeObject[], seen = new Set<KubeObject>()): PolicyRule[] {
  if (!role || seen.has(role)) return [];
  seen.add(role);
  const own = rulesOf(role);
  const aggregation = role['aggregationRule'] as { clusterRoleSelectors?: unknown } | undefined;
  const selectors = Array.isArray(aggregation?.clusterRoleSelectors) ? (aggregation.clusterRoleSelectors as unknown[]) : [];
  if (selectors.length === 0) return own;
  const members = all.filter((other) => selectors.some((selector) => labelSelectorMatches(selector, other.metadata.labels ?? {})));
  return [...own, ...members.flatMap((member) => aggregatedRules(member, all, seen))];
}

/** metav1.LabelSelector: matchLabels and matchExpressions (In, NotIn, Exists, DoesNotExist); an empty one matches all. */
export function labelSelectorMatches(selector: unknown, labels: Record<string, string>): boolean {
  if (typeof selector !== 'object' || selector === null) return false;
  const record = selector as Record<string, unknown>;
  const matchLabels = (record['matchLabels'] ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(matchLabels)) if (labels[key] !== value) return false;
  const expressions = Array.isArray(record['matchExpressions']) ? (record['matchExpressions'] as unknown[]) : [];
  for (const raw of expressions) {
    const expression = (raw ?? {}) as { key?: unknown; operator?: unknown; values?: unknown };
    const key = typeof expression.key === 'string' ? expression.key : '';
    const values = Array.isArray(expression.values) ? (expression.values as unknown[]) : [];
    const has = Object.hasOwn(labels, key);
    switch (expression.operator) {
      case 'In':
        if (!has || !values.includes(labels[key])) return false;
        break;
      case 'NotIn':
        if (has && values.includes(labels[key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function allowedReason(bindingKind: string, binding: KubeObject, ref: { kind: string; name: string }, subject: Subject, namespace: string): string {
  const where = namespace ? `${bindingKind} "${binding.metadata.name}/${namespace}"` : `${bindingKind} "${binding.metadata.name}"`;
  const who = subject.kind === 'ServiceAccount' ? `ServiceAccount "${subject.namespace || namespace}/${subject.name}"` : `${subject.kind} "${subject.name}"`;
  return `RBAC: allowed by ${where} of ${ref.kind} "${ref.name}" to ${who}`;
}

// ---------------------------------------------------------------------------------------------------------------
// Reviews: what `kubectl auth can-i` asks (authorization.k8s.io/v1, created and answered, never stored)

/**
 * POST /apis/authorization.k8s.io/v1/selfsubjectaccessreviews: may the caller do what spec.resourceAttributes (or
 * spec.nonResourceAttributes) describe? Answers the review with status.allowed (and the allowing rule as reason).
 */
export function answerSelfSubjectAccessReview(body: unknown, who: Identity, policy: RbacPolicy): KubeObject {
  const review = isRecord(body) ? body : {};
  const spec = isRecord(review['spec']) ? review['spec'] : {};
  const resource = isRecord(spec['resourceAttributes']) ? spec['resourceAttributes'] : undefined;
  const nonResource = isRecord(spec['nonResourceAttributes']) ? spec['nonResourceAttributes'] : undefined;
  if (resource && nonResource) {
    throw invalidError('SelfSubjectAccessReview', 'authorization.k8s.io', '', [invalid('spec.nonResourceAttributes', nonResource, 'cannot be specified in combination with resourceAttributes')]);
  }
  if (!resource && !nonResource) {
    throw invalidError('SelfSubjectAccessReview', 'authorization.k8s.io', '', [invalid('spec.resourceAttributes', null, 'exactly one of nonResourceAttributes or resourceAttributes must be specified')]);
  }
  const field = (record: Record<string, unknown>, key: string): string => (typeof record[key] === 'string' ? (record[key] as string) : '');
  const attrs: RequestAttributes = resource
    ? { resourceRequest: true, verb: field(resource, 'verb'), apiGroup: field(resource, 'group'), resource: field(resource, 'resource'), subresource: field(resource, 'subresource'), namespace: field(resource, 'namespace'), name: field(resource, 'name') }
    : { resourceRequest: false, verb: field(nonResource as Record<string, unknown>, 'verb'), path: field(nonResource as Record<string, unknown>, 'path') };
  const decision = authorize(who, attrs, policy);
  return {
    kind: 'SelfSubjectAccessReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null as unknown as string },
    spec,
    status: { allowed: decision.allowed, ...(decision.reason ? { reason: decision.reason } : {}) },
  };
}

/**
 * POST /apis/authorization.k8s.io/v1/selfsubjectrulesreviews (`kubectl auth can-i --list`): every rule that applies to
 * the caller in spec.namespace (ClusterRoleBindings' everywhere, RoleBindings' of that namespace).
 */
export function answerSelfSubjectRulesReview(body: unknown, who: Identity, policy: RbacPolicy): KubeObject {
  const review = isRecord(body) ? body : {};
  const spec = isRecord(review['spec']) ? review['spec'] : {};
  const namespace = typeof spec['namespace'] === 'string' ? spec['namespace'] : '';
  const rules = rulesFor(who, namespace, policy);
  const resourceRules = rules
    .filter((rule) => rule.resources.length > 0)
    .map((rule) => ({ verbs: rule.verbs, apiGroups: rule.apiGroups, resources: rule.resources, ...(rule.resourceNames.length ? { resourceNames: rule.resourceNames } : {}) }));
  const nonResourceRules = rules.filter((rule) => rule.nonResourceURLs.length > 0).map((rule) => ({ verbs: rule.verbs, nonResourceURLs: rule.nonResourceURLs }));
  return {
    kind: 'SelfSubjectRulesReview',
    apiVersion: 'authorization.k8s.io/v1',
    metadata: { creationTimestamp: null as unknown as string },
    spec,
    status: { resourceRules, nonResourceRules, incomplete: false },
  };
}

/**
 * Every rule that applies to who in namespace (RBAC's RulesFor): its ClusterRoleBindings' everywhere, its RoleBindings'
 * of that namespace ('' for cluster-wide only). system:masters' power is not a rule (it comes from the authorizer in
 * front of RBAC), so it shows here only through cluster-admin's binding, as on a real cluster.
 */
export function rulesFor(who: Identity, namespace: string, policy: RbacPolicy): PolicyRule[] {
  const rules: PolicyRule[] = [];
  const clusterRole = (name: string) => aggregatedRules(policy.clusterRoles.find((r) => r.metadata.name === name), policy.clusterRoles);
  for (const binding of policy.clusterRoleBindings) {
    const ref = roleRef(binding);
    if (ref.kind === 'ClusterRole' && matchingSubject(binding, who, '')) rules.push(...clusterRole(ref.name));
  }
  for (const binding of policy.roleBindings) {
    if (!namespace || binding.metadata.namespace !== namespace || !matchingSubject(binding, who, namespace)) continue;
    const ref = roleRef(binding);
    if (ref.kind === 'ClusterRole') rules.push(...clusterRole(ref.name));
    else if (ref.kind === 'Role') rules.push(...rulesOf(policy.roles.find((r) => r.metadata.name === ref.name && r.metadata.namespace === namespace)));
  }
  return rules;
}

const BOOTSTRAP_LABELS = { 'kubernetes.io/bootstrapping': 'rbac-defaults' };
const AUTOUPDATE = { 'rbac.authorization.kubernetes.io/autoupdate': 'true' };
const RBAC_V1 = 'rbac.authorization.k8s.io/v1';

function clusterRole(name: string, rules: Array<Partial<PolicyRule>>, extra: { labels?: Record<string, string>; aggregateFrom?: string } = {}): KubeObject {
  return {
    apiVersion: RBAC_V1,
    kind: 'ClusterRole',
    metadata: { name, labels: { ...BOOTSTRAP_LABELS, ...extra.labels }, annotations: { ...AUTOUPDATE } },
    ...(extra.aggregateFrom
      ? { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [`rbac.authorization.k8s.io/aggregate-to-${extra.aggregateFrom}`]: 'true' } }] } }
      : {}),
    rules,
  };
}

function clusterRoleBinding(name: string, role: string, groups: string[]): KubeObject {
  return {
    apiVersion: RBAC_V1,
    kind: 'ClusterRoleBinding',
    metadata: { name, labels: { ...BOOTSTRAP_LABELS }, annotations: { ...AUTOUPDATE } },
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: role },
    subjects: groups.map((group) => ({ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: group })),
  };
}

const READ = ['get', 'list', 'watch'];
const WRITE = ['create', 'delete', 'deletecollection', 'patch', 'update'];

/**
 * The roles and bindings a fresh cluster has for the kinds this server serves: cluster-admin (bound to
 * system:masters), the user-facing admin/edit/view (aggregated from system:aggregate-to-*, as upstream), discovery,
 * basic-user and public-info-viewer (bound to every authenticated user; public info also to unauthenticated ones).
 */
export function bootstrapPolicy(): KubeObject[] {
  const viewCore = ['configmaps', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status'];
  const viewCoreStatus = ['bindings', 'events', 'limitranges', 'namespaces/status', 'pods/log', 'pods/status', 'replicationcontrollers/status', 'resourcequotas', 'resourcequotas/status'];
  const policy = [
    clusterRole('cluster-admin', [
      { apiGroups: ['*'], resources: ['*'], verbs: ['*'] },
      { nonResourceURLs: ['*'], verbs: ['*'] },
    ]),
    clusterRole('admin', [], { aggregateFrom: 'admin' }),
    clusterRole('edit', [], { aggregateFrom: 'edit', labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' } }),
    clusterRole('view', [], { aggregateFrom: 'view', labels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } }),
    clusterRole(
      'system:aggregate-to-admin',
      [
        { apiGroups: ['authorization.k8s.io'], resources: ['localsubjectaccessreviews'], verbs: ['create'] },
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['rolebindings', 'roles'], verbs: [...WRITE, ...READ] },
      ],
      { labels: { 'rbac.authorization.k8s.io/aggregate-to-admin': 'true' } },
    ),
    clusterRole(
      'system:aggregate-to-edit',
      [
        { apiGroups: [''], resources: ['pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy', 'secrets', 'services/proxy'], verbs: READ },
        { apiGroups: [''], resources: ['serviceaccounts'], verbs: ['impersonate'] },
        { apiGroups: [''], resources: ['pods', 'pods/attach', 'pods/exec', 'pods/portforward', 'pods/proxy'], verbs: WRITE },
        { apiGroups: [''], resources: ['pods/eviction'], verbs: ['create'] },
        { apiGroups: [''], resources: ['configmaps', 'events', 'persistentvolumeclaims', 'replicationcontrollers', 'replicationcontrollers/scale', 'secrets', 'serviceaccounts', 'services', 'services/proxy'], verbs: WRITE },
        { apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] },
        { apiGroups: ['apps'], resources: ['daemonsets', 'deployments', 'deployments/rollback', 'deployments/scale', 'replicasets', 'replicasets/scale', 'statefulsets', 'statefulsets/scale'], verbs: WRITE },
        { apiGroups: ['coordination.k8s.io'], resources: ['leases'], verbs: [...WRITE, ...READ] },
      ],
      { labels: { 'rbac.authorization.k8s.io/aggregate-to-edit': 'true' } },
    ),
    clusterRole(
      'system:aggregate-to-view',
      [
        { apiGroups: [''], resources: viewCore, verbs: READ },
        { apiGroups: [''], resources: viewCoreStatus, verbs: READ },
        { apiGroups: [''], resources: ['namespaces'], verbs: READ },
        { apiGroups: ['apps'], resources: ['controllerrevisions', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'statefulsets', 'statefulsets/scale', 'statefulsets/status'], verbs: READ },
        { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: READ },
      ],
      { labels: { 'rbac.authorization.k8s.io/aggregate-to-view': 'true' } },
    ),
    clusterRole('system:discovery', [
      { nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*', '/healthz', '/livez', '/openapi', '/openapi/*', '/readyz', '/version', '/version/'], verbs: ['get'] },
    ]),
    clusterRole('system:basic-user', [
      { apiGroups: ['authorization.k8s.io'], resources: ['selfsubjectaccessreviews', 'selfsubjectrulesreviews'], verbs: ['create'] },
      { apiGroups: ['authentication.k8s.io'], resources: ['selfsubjectreviews'], verbs: ['create'] },
    ]),
    clusterRole('system:public-info-viewer', [{ nonResourceURLs: ['/healthz', '/livez', '/readyz', '/version', '/version/'], verbs: ['get'] }]),
    clusterRoleBinding('cluster-admin', 'cluster-admin', ['system:masters']),
    clusterRoleBinding('system:discovery', 'system:discovery', ['system:authenticated']),
    clusterRoleBinding('system:basic-user', 'system:basic-user', ['system:authenticated']),
    clusterRoleBinding('system:public-info-viewer', 'system:public-info-viewer', ['system:authenticated', 'system:unauthenticated']),
  ];
  // admin, edit and view are stored with the rules the aggregation controller fills in, as a fresh cluster shows them
  const clusterRoles = policy.filter((o) => o.kind === 'ClusterRole');
  return policy.map((o) => (o['aggregationRule'] ? { ...o, rules: aggregatedRules(o, clusterRoles).map(ruleObject) } : o));
}

/** A rule as stored: the lists a rule has, the empty ones left out. */
function ruleObject(rule: PolicyRule): Record<string, string[]> {
  return Object.fromEntries(Object.entries(rule).filter(([, values]) => (values as string[]).length > 0));
}
