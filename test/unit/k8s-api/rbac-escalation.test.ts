import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { KubeObject } from '../../../src/k8s-api/index.js';
import { escalationRefusal } from '../../../src/k8s-api/rbac-escalation.js';
import { bootstrapPolicy, type RbacPolicy } from '../../../src/k8s-api/rbac.js';
import { serviceAccountIdentity } from '../../../src/k8s-api/tokens.js';

const RBAC = 'rbac.authorization.k8s.io/v1';
// A deployer service account in namespace apps: it may manage roles and bindings there, read pods, and nothing else.
const deployer = serviceAccountIdentity('apps', 'deployer');
const boot = bootstrapPolicy();
const policy: RbacPolicy = {
  clusterRoles: [
    ...boot.filter((o) => o.kind === 'ClusterRole'),
    { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'pod-reader' }, rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }] },
    { apiVersion: RBAC, kind: 'ClusterRole', metadata: { name: 'secret-reader' }, rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] }] },
  ],
  clusterRoleBindings: boot.filter((o) => o.kind === 'ClusterRoleBinding'),
  roles: [
    {
      apiVersion: RBAC,
      kind: 'Role',
      metadata: { name: 'rbac-manager', namespace: 'apps' },
      rules: [
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['roles', 'rolebindings'], verbs: ['create', 'update', 'get'] },
        { apiGroups: [''], resources: ['pods'], verbs: ['get', 'list', 'watch'] },
        { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], resourceNames: ['secret-reader'], verbs: ['bind'] },
      ],
    },
  ],
  roleBindings: [
    { apiVersion: RBAC, kind: 'RoleBinding', metadata: { name: 'deployer', namespace: 'apps' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'rbac-manager' }, subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'apps' }] },
  ],
};

const role = (rules: unknown[]): KubeObject => ({ apiVersion: RBAC, kind: 'Role', metadata: { name: 'x', namespace: 'apps' }, rules });
const binding = (kind: string, name: string): KubeObject => ({
  apiVersion: RBAC,
  kind: 'RoleBinding',
  metadata: { name: 'b', namespace: 'apps' },
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind, name },
  subjects: [{ kind: 'ServiceAccount', name: 'deployer', namespace: 'apps' }],
});

test('a Role with rules the writer holds may be written; more than that is refused with the missing rights listed', () => {
  assert.equal(escalationRefusal(deployer, role([{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'watch'] }]), '', undefined, policy), undefined);
  const refusal = escalationRefusal(deployer, role([{ apiGroups: ['', 'apps'], resources: ['pods', 'secrets'], verbs: ['get', 'delete'] }]), '', undefined, policy);
  assert.equal(refusal?.status.code, 403);
  assert.equal(
    refusal?.status.message,
    'roles.rbac.authorization.k8s.io "x" is forbidden: user "system:serviceaccount:apps:deployer" (groups=["system:serviceaccounts" "system:serviceaccounts:apps" "system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n' +
      '{APIGroups:[""], Resources:["pods"], Verbs:["delete"]}\n' +
      '{APIGroups:[""], Resources:["secrets"], Verbs:["get" "delete"]}\n' +
      '{APIGroups:["apps"], Resources:["pods"], Verbs:["get" "delete"]}\n' +
      '{APIGroups:["apps"], Resources:["secrets"], Verbs:["get" "delete"]}',
  );
  assert.deepEqual(refusal?.status.details, { name: 'x', group: 'rbac.authorization.k8s.io', kind: 'roles' });
});

test('binding: a role whose rules the writer holds, or one it may bind; not cluster-admin', () => {
  assert.equal(escalationRefusal(deployer, binding('ClusterRole', 'pod-reader'), '', undefined, policy), undefined);
  assert.equal(escalationRefusal(deployer, binding('ClusterRole', 'secret-reader'), '', undefined, policy), undefined, 'the bind verb on it');
  const refusal = escalationRefusal(deployer, binding('ClusterRole', 'cluster-admin'), '', undefined, policy);
  assert.match(refusal?.status.message ?? '', /^rolebindings\.rbac\.authorization\.k8s\.io "b" is forbidden: user "system:serviceaccount:apps:deployer" .* not currently held:\n\{APIGroups:\["\*"\], Resources:\["\*"\], Verbs:\["\*"\]\}\n\{NonResourceURLs:\["\*"\], Verbs:\["\*"\]\}$/);
  assert.equal(escalationRefusal(deployer, binding('Role', 'missing'), '', undefined, policy)?.status.message, 'rolebindings.rbac.authorization.k8s.io "b" is forbidden: role.rbac.authorization.k8s.io "missing" not found');
});

test('system:masters, unchanged rules on update, and other kinds are never refused', () => {
  const admin = { user: 'kubernetes-admin', groups: ['system:masters', 'system:authenticated'] };
  const big = role([{ apiGroups: ['*'], resources: ['*'], verbs: ['*'] }]);
  assert.equal(escalationRefusal(admin, big, '', undefined, policy), undefined);
  assert.equal(escalationRefusal(deployer, { ...big, metadata: { ...big.metadata, labels: { a: 'b' } } }, 'x', big, policy), undefined);
  assert.equal(escalationRefusal(deployer, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' } }, '', undefined, policy), undefined);
});
