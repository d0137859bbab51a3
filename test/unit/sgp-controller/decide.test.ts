/** The controller's pure decisions, as upstream makes them (aws/amazon-vpc-resource-controller-k8s b8d42511). */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  branchRoom, decidePod, formatAnnotation, freeDeviceIndex, freeVlanId, leakedBranches, matchingGroups, parseAnnotation, podEniPatch, selectorMatches, trunkDeviceIndex, webhookPodKind, type SecurityGroupPolicy,
} from '../../../src/sgp-controller/index.js';
import { lookupInstanceType } from '../../../src/limits/index.js';

const policy = (name: string, spec: SecurityGroupPolicy['spec'], namespace = 'shop'): SecurityGroupPolicy => ({ metadata: { name, namespace }, spec });

test('label selectors: matchLabels and In/NotIn/Exists/DoesNotExist; an unknown operator selects nothing; {} selects everything', () => {
  const labels = { role: 'web', tier: 'front' };
  assert.equal(selectorMatches({}, labels), true);
  assert.equal(selectorMatches({ matchLabels: { role: 'web' } }, labels), true);
  assert.equal(selectorMatches({ matchLabels: { role: 'db' } }, labels), false);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'back'] }] }, labels), true);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels), false);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, labels), true);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 'role', operator: 'Exists' }] }, labels), true);
  assert.equal(selectorMatches({ matchExpressions: [{ key: 'role', operator: 'Gt', values: ['1'] }] }, labels), false);
});

test('matching groups: in policy order without duplicates; both selectors must match; policies without a selector or groups, or of another namespace, are ignored', () => {
  const policies = [
    policy('a', { podSelector: { matchLabels: { role: 'web' } }, securityGroups: { groupIds: ['sg-1', 'sg-2'] } }),
    policy('b', { podSelector: { matchLabels: { role: 'web' } }, serviceAccountSelector: { matchLabels: { team: 'x' } }, securityGroups: { groupIds: ['sg-3'] } }),
    policy('c', { serviceAccountSelector: { matchLabels: { team: 'pay' } }, securityGroups: { groupIds: ['sg-2', 'sg-4'] } }),
    policy('d', { securityGroups: { groupIds: ['sg-5'] } }),
    policy('e', { podSelector: {}, securityGroups: { groupIds: [] } }),
    policy('f', { podSelector: {}, securityGroups: { groupIds: ['sg-6'] } }, 'other'),
  ];
  const pod = { namespace: 'shop', labels: { role: 'web' } };
  assert.deepEqual(matchingGroups(policies, pod, { team: 'pay' }), ['sg-1', 'sg-2', 'sg-4']);
  assert.deepEqual(matchingGroups(policies, pod, { team: 'x' }), ['sg-1', 'sg-2', 'sg-3']);
  assert.deepEqual(matchingGroups(policies, { namespace: 'shop', labels: {} }, {}), []);
});

test('the webhook skips host-network, Fargate and Windows pods; its patch adds pod-eni 1 to the first container, creating resources, limits and requests as needed', () => {
  assert.equal(webhookPodKind({ spec: { hostNetwork: true, containers: [{}] } }).kind, 'skip');
  assert.equal(webhookPodKind({ metadata: { labels: { 'eks.amazonaws.com/fargate-profile': 'fp' } }, spec: { containers: [{}] } }).kind, 'skip');
  assert.equal(webhookPodKind({ spec: { nodeSelector: { 'kubernetes.io/os': 'windows' }, containers: [{}] } }).kind, 'skip');
  assert.equal(webhookPodKind({ spec: { containers: [{}] } }).kind, 'match');
  assert.deepEqual(podEniPatch({ spec: { containers: [{}] } }), [
    { op: 'add', path: '/spec/containers/0/resources', value: {} },
    { op: 'add', path: '/spec/containers/0/resources/limits', value: { 'vpc.amazonaws.com/pod-eni': '1' } },
    { op: 'add', path: '/spec/containers/0/resources/requests', value: { 'vpc.amazonaws.com/pod-eni': '1' } },
  ]);
  assert.deepEqual(podEniPatch({ spec: { containers: [{ resources: { limits: { cpu: '1' }, requests: { 'vpc.amazonaws.com/pod-eni': '2' } } }] } }), [
    { op: 'add', path: '/spec/containers/0/resources/limits/vpc.amazonaws.com~1pod-eni', value: '1' },
    { op: 'replace', path: '/spec/containers/0/resources/requests/vpc.amazonaws.com~1pod-eni', value: '1' },
  ]);
});

test('which pods need a branch: scheduled, requesting pod-eni, not annotated, not finished; a deleting annotated pod releases its branches', () => {
  const asks = { containers: [{ resources: { requests: { 'vpc.amazonaws.com/pod-eni': '1' } } }] };
  assert.deepEqual(decidePod({ spec: { ...asks, nodeName: 'n1' } }), { kind: 'allocate', node: 'n1' });
  assert.equal(decidePod({ spec: asks }).kind, 'none');
  assert.equal(decidePod({ spec: { containers: [{}], nodeName: 'n1' } }).kind, 'none');
  assert.equal(decidePod({ spec: { ...asks, nodeName: 'n1' }, status: { phase: 'Succeeded' } }).kind, 'none');
  const annotation = formatAnnotation([{ eniId: 'eni-1', ifAddress: '0e:00:00:00:00:01', privateIp: '10.0.1.5', ipv6Addr: '', vlanId: 3, subnetCidr: '10.0.1.0/24', subnetV6Cidr: '', associationID: 'trunk-assoc-1' }]);
  assert.equal(decidePod({ metadata: { annotations: { 'vpc.amazonaws.com/pod-eni': annotation } }, spec: { ...asks, nodeName: 'n1' } }).kind, 'none');
  const releasing = decidePod({ metadata: { deletionTimestamp: '2026-01-01T00:00:00Z', annotations: { 'vpc.amazonaws.com/pod-eni': annotation } }, spec: asks });
  assert.equal(releasing.kind, 'release');
});

test("the annotation is upstream's ENIDetails array, keys in its order, and parses back; junk parses to nothing", () => {
  const b = { eniId: 'eni-1', ifAddress: '0e:00:00:00:00:01', privateIp: '10.0.1.5', ipv6Addr: '', vlanId: 3, subnetCidr: '10.0.1.0/24', subnetV6Cidr: '', associationID: 'trunk-assoc-1' };
  const text = formatAnnotation([b]);
  assert.equal(text, '[{"eniId":"eni-1","ifAddress":"0e:00:00:00:00:01","privateIp":"10.0.1.5","ipv6Addr":"","vlanId":3,"subnetCidr":"10.0.1.0/24","subnetV6Cidr":"","associationID":"trunk-assoc-1"}]');
  assert.deepEqual(parseAnnotation(text), [b]);
  assert.deepEqual(parseAnnotation('not json'), []);
  assert.deepEqual(parseAnnotation('{"eniId":"eni-1"}'), []);
});

test('VLAN ids from 1 up, skipping used ones; the trunk takes the highest free device index; room counts branches being made', () => {
  assert.equal(freeVlanId(new Set()), 1);
  assert.equal(freeVlanId(new Set([1, 2, 4])), 3);
  assert.equal(freeVlanId(new Set(Array.from({ length: 4094 }, (_, i) => i + 1))), undefined);
  assert.equal(freeDeviceIndex(new Set([0, 1]), 3), 2);
  assert.equal(freeDeviceIndex(new Set([0, 2]), 3), 1);
  assert.equal(freeDeviceIndex(new Set([0, 1, 2]), 3), undefined);
  // the trunk's place on a type: the default network card's ENIs (m5.large: 3)
  assert.equal(trunkDeviceIndex(new Set([0]), lookupInstanceType('m5.large')), 2);
  assert.equal(trunkDeviceIndex(new Set([0, 1, 2]), lookupInstanceType('m5.large')), undefined);
  assert.deepEqual(branchRoom(2, 0, 3, 't'), { ok: true });
  assert.deepEqual(branchRoom(2, 1, 3, 'trunk eni-1 (c7i-flex.large)'), { ok: false, reason: 'branch ENI limit reached: 2 associated + 1 being created of 3 on trunk eni-1 (c7i-flex.large)' });
});

test('the collector deletes branches no pod holds, not in flight, older than the cooldown (no creation tag counts as old)', () => {
  const now = 1_000_000;
  const branches = [
    { eniId: 'eni-held', createdAt: 0 },
    { eniId: 'eni-old', createdAt: now - 61_000 },
    { eniId: 'eni-young', createdAt: now - 1_000 },
    { eniId: 'eni-flight', createdAt: 0 },
    { eniId: 'eni-untagged', createdAt: Number.NaN },
  ];
  assert.deepEqual(leakedBranches(branches, new Set(['eni-held']), new Set(['eni-flight']), now, 60_000), ['eni-old', 'eni-untagged']);
});
