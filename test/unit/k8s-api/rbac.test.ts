import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Identity, KubeObject, RequestAttributes } from '../../../src/k8s-api/index.js';
import { answerSelfSubjectAccessReview, answerSelfSubjectRulesReview, authorize, bootstrapPolicy, forbidden, type RbacPolicy } from '../../../src/k8s-api/rbac.js';
import { ApiError } from '../../../src/k8s-api/index.js';
import { serviceAccountIdentity } from '../../../src/k8s-api/tokens.js';

const awsNode = serviceAccountIdentity('kube-system', 'aws-node', 'uid-1');
const alice: Identity = { user: 'alice', groups: ['devs', 'system:authenticated'] };
const RBAC = 'rbac.authorization.k8s.io/v1';

function resource(verb: string, resourceName: string, namespace = '', name = '', apiGroup = '', subresource = ''): RequestAttributes {
  return { resourceRequest: true, verb, apiGroup, resource: resourceName, subresource, namespace, name };
}

// The aws-node ClusterRole of the VPC CNI's chart (the part the tests need), bound to its service account.
const policy: RbacPolicy = {
  clusterRoles: [
    ...bootstrapPolicy().filter((o) => o.kind === 'ClusterRole'),
    {
      apiVersion: RBAC,
      kind: 'ClusterRole',
      metadata: { name: 'aws-node' },
      rules: [
        { apiGroups: ['crd.k8s.amazonaws.com'], resources: ['eniconfigs'], verbs: ['list', 'watch', 'get'] },
        { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['list', 'watch', 'get'] },
        { apiGroups: [''], resources: ['nodes'], verbs: ['list', 'watch', 'get'] },
        { apiGroups: [''], resources: ['nodes'], resourceNames: ['node-a'], verbs: ['patch'] },
        { apiGroups: ['', 'events.k8s.io'], resources: ['events'], verbs: ['create', 'patch', 'list'] },
        { apiGroups: ['vpcresources.k8s.aws'], resources: ['cninodes'], verbs: ['get', 'list', 'watch', 'patch'] },
      ],
    },
    { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'status-writer' }, rules: [{ apiGroups: [''], resources: ['*/status'], verbs: ['update'] }] },
  ],
  clusterRoleBindings: [
    ...bootstrapPolicy().filter((o) => o.kind === 'ClusterRoleBinding'),
    {
      apiVersion: RBAC,
      kind: 'ClusterRoleBinding',
      metadata: { name: 'aws-node' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'aws-node' },
      subjects: [{ kind: 'ServiceAccount', name: 'aws-node', namespace: 'kube-system' }],
    },
  ],
  roles: [
    { apiVersion: RBAC, kind: 'Role', metadata: { name: 'cm-reader', namespace: 'team' }, rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }] },
  ],
  roleBindings: [
    {
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: 'devs-read', namespace: 'team' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
      subjects: [{ kind: 'Group', name: 'devs' }],
    },
    {
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: 'alice-edit', namespace: 'sandbox' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'edit' },
      subjects: [{ kind: 'User', name: 'alice' }],
    },
    {
      apiVersion: RBAC,
      kind: 'RoleBinding',
      metadata: { name: 'status', namespace: 'team' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'status-writer' },
      subjects: [{ kind: 'ServiceAccount', name: 'writer' }],
    },
  ],
};

test('a service account can do what its ClusterRoleBinding grants and nothing else', () => {
  assert.equal(authorize(awsNode, resource('list', 'eniconfigs', '', '', 'crd.k8s.amazonaws.com'), policy).allowed, true);
  assert.equal(authorize(awsNode, resource('watch', 'pods', 'default'), policy).allowed, true);
  assert.equal(authorize(awsNode, resource('delete', 'pods', 'default', 'x'), policy).allowed, false);
  assert.equal(authorize(awsNode, resource('get', 'secrets', 'kube-system', 'x'), policy).allowed, false);
  assert.equal(authorize(awsNode, resource('create', 'events', 'default', '', 'events.k8s.io'), policy).allowed, true);
  assert.equal(authorize(awsNode, resource('create', 'eniconfigs', '', 'x', 'crd.k8s.amazonaws.com'), policy).allowed, false);
  const decision = authorize(awsNode, resource('get', 'nodes', '', 'node-a'), policy);
  assert.deepEqual(decision, { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "aws-node" of ClusterRole "aws-node" to ServiceAccount "kube-system/aws-node"' });
});

test('resourceNames limit a rule to the named objects; subresources need their own rule', () => {
  assert.equal(authorize(awsNode, resource('patch', 'nodes', '', 'node-a'), policy).allowed, true);
  assert.equal(authorize(awsNode, resource('patch', 'nodes', '', 'node-b'), policy).allowed, false);
  assert.equal(authorize(awsNode, resource('get', 'pods', 'default', 'x', '', 'status'), policy).allowed, false);
  const writer = serviceAccountIdentity('team', 'writer');
  assert.equal(authorize(writer, resource('update', 'pods', 'team', 'x', '', 'status'), policy).allowed, true, '*/status');
  assert.equal(authorize(writer, resource('update', 'pods', 'team', 'x'), policy).allowed, false);
  assert.equal(authorize(writer, resource('update', 'pods', 'other', 'x', '', 'status'), policy).allowed, false);
});

test('RoleBindings grant only in their namespace, by group, and to ClusterRoles aggregated like edit', () => {
  assert.equal(authorize(alice, resource('get', 'configmaps', 'team', 'x'), policy).allowed, true);
  assert.equal(authorize(alice, resource('get', 'configmaps', 'other', 'x'), policy).allowed, false);
  assert.equal(authorize(alice, resource('list', 'configmaps', '', ''), policy).allowed, false, 'all namespaces');
  assert.equal(authorize(alice, resource('patch', 'daemonsets', 'sandbox', 'x', 'apps'), policy).allowed, true, 'edit aggregates system:aggregate-to-edit');
  assert.equal(authorize(alice, resource('list', 'pods', 'sandbox'), policy).allowed, true, 'edit aggregates view');
  assert.equal(authorize(alice, resource('create', 'roles', 'sandbox', '', 'rbac.authorization.k8s.io'), policy).allowed, false, 'only admin may');
});

test('system:masters may do everything; every authenticated user may read discovery paths but not others', () => {
  const admin: Identity = { user: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
  assert.equal(authorize(admin, resource('delete', 'nodes', '', 'x'), policy).allowed, true);
  assert.equal(authorize(awsNode, { resourceRequest: false, verb: 'get', path: '/apis/apps/v1' }, policy).allowed, true);
  assert.equal(authorize(awsNode, { resourceRequest: false, verb: 'get', path: '/version' }, policy).allowed, true);
  assert.equal(authorize(awsNode, { resourceRequest: false, verb: 'get', path: '/metrics' }, policy).allowed, false);
  assert.equal(authorize(awsNode, { resourceRequest: false, verb: 'post', path: '/api' }, policy).allowed, false);
});

test('the 403 is worded as Kubernetes words it', () => {
  const named = forbidden(awsNode, resource('get', 'pods', 'default', 'x'));
  assert.equal(named.status.code, 403);
  assert.equal(named.status.reason, 'Forbidden');
  assert.equal(named.status.message, 'pods "x" is forbidden: User "system:serviceaccount:kube-system:aws-node" cannot get resource "pods" in API group "" in the namespace "default"');
  assert.deepEqual(named.status.details, { name: 'x', kind: 'pods' });
  const list = forbidden(awsNode, resource('list', 'daemonsets', '', '', 'apps'));
  assert.equal(list.status.message, 'daemonsets.apps is forbidden: User "system:serviceaccount:kube-system:aws-node" cannot list resource "daemonsets" in API group "apps" at the cluster scope');
  assert.deepEqual(list.status.details, { group: 'apps', kind: 'daemonsets' });
  const status = forbidden(awsNode, resource('patch', 'nodes', '', 'n', '', 'status'));
  assert.equal(status.status.message, 'nodes "n" is forbidden: User "system:serviceaccount:kube-system:aws-node" cannot patch resource "nodes/status" in API group "" at the cluster scope');
  const path = forbidden(awsNode, { resourceRequest: false, verb: 'get', path: '/metrics' });
  assert.equal(path.status.message, 'forbidden: User "system:serviceaccount:kube-system:aws-node" cannot get path "/metrics"');
});

test('the bootstrap policy binds cluster-admin to system:masters and discovery to every authenticated user', () => {
  const objects: KubeObject[] = bootstrapPolicy();
  const names = objects.map((o) => `${o.kind}/${o.metadata.name}`);
  for (const name of ['ClusterRole/cluster-admin', 'ClusterRole/admin', 'ClusterRole/edit', 'ClusterRole/view', 'ClusterRole/system:discovery', 'ClusterRole/system:basic-user', 'ClusterRole/system:public-info-viewer', 'ClusterRoleBinding/cluster-admin', 'ClusterRoleBinding/system:discovery', 'ClusterRoleBinding/system:basic-user', 'ClusterRoleBinding/system:public-info-viewer']) {
    assert.ok(names.includes(name), name);
  }
  const binding = objects.find((o) => o.kind === 'ClusterRoleBinding' && o.metadata.name === 'cluster-admin');
  assert.deepEqual(binding?.['subjects'], [{ apiGroup: 'rbac.authorization.k8s.io', kind: 'Group', name: 'system:masters' }]);
  assert.equal(binding?.metadata.labels?.['kubernetes.io/bootstrapping'], 'rbac-defaults');
  // view is stored with the rules aggregated into it, as kubectl describe shows it on a fresh cluster
  const view = objects.find((o) => o.kind === 'ClusterRole' && o.metadata.name === 'view');
  assert.ok((view?.['rules'] as Array<{ resources?: string[]; verbs: string[] }>).some((rule) => rule.resources?.includes('pods') && rule.verbs.includes('watch')));
});

test('SelfSubjectAccessReview answers kubectl auth can-i from the same rules', () => {
  const ask = (resourceAttributes: Record<string, string>) =>
    answerSelfSubjectAccessReview({ apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes } }, awsNode, policy);
  const yes = ask({ namespace: 'default', verb: 'list', resource: 'pods' });
  assert.equal(yes.kind, 'SelfSubjectAccessReview');
  assert.deepEqual(yes['status'], { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "aws-node" of ClusterRole "aws-node" to ServiceAccount "kube-system/aws-node"' });
  assert.deepEqual(ask({ namespace: 'default', verb: 'delete', resource: 'pods', name: 'x' })['status'], { allowed: false });
  const path = answerSelfSubjectAccessReview({ spec: { nonResourceAttributes: { path: '/version', verb: 'get' } } }, awsNode, policy);
  assert.equal((path['status'] as { allowed: boolean }).allowed, true);
  assert.throws(
    () => answerSelfSubjectAccessReview({ spec: {} }, awsNode, policy),
    (error: unknown) => error instanceof ApiError && error.status.code === 422 && error.status.message === 'SelfSubjectAccessReview.authorization.k8s.io "" is invalid: spec.resourceAttributes: Invalid value: "null": exactly one of nonResourceAttributes or resourceAttributes must be specified',
  );
});

test('SelfSubjectRulesReview lists the rules that apply in a namespace (kubectl auth can-i --list)', () => {
  const review = answerSelfSubjectRulesReview({ spec: { namespace: 'team' } }, alice, policy);
  const status = review['status'] as { resourceRules: Array<{ resources: string[]; verbs: string[] }>; nonResourceRules: Array<{ nonResourceURLs: string[] }>; incomplete: boolean };
  assert.ok(status.resourceRules.some((rule) => rule.resources.includes('configmaps') && rule.verbs.includes('get')), 'the team Role');
  assert.ok(status.resourceRules.some((rule) => rule.resources.includes('selfsubjectaccessreviews')), 'system:basic-user');
  assert.ok(!status.resourceRules.some((rule) => rule.resources.includes('daemonsets')), 'edit is bound in sandbox only');
  assert.ok(status.nonResourceRules.some((rule) => rule.nonResourceURLs.includes('/api/*')), 'system:discovery');
  assert.equal(status.incomplete, false);
});
