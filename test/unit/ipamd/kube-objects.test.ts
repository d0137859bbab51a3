/** ipamd's pure reading of Kubernetes objects: Node facts, unschedulable, ENIConfigs, CNINode features, pod-IP patches. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clearPodIpsPatch, eniConfigOf, isUnschedulable, mergeFeatures, nodeFacts, podIpsPatch, wantedFeatures } from '../../../src/ipamd/kube-objects.js';

test('a Node: labels, annotations and capacity pods; unschedulable by spec.unschedulable or the NoSchedule taint only', () => {
  assert.deepEqual(nodeFacts({ metadata: { name: 'n', labels: { a: '1' } }, status: { capacity: { pods: '58', cpu: '2' } } }), { name: 'n', labels: { a: '1' }, annotations: {}, capacityPods: 58 });
  assert.equal(nodeFacts({ metadata: { name: 'n' }, status: { capacity: { pods: 'many' } } }).capacityPods, undefined);
  assert.equal(isUnschedulable({ spec: { unschedulable: true } }), true);
  assert.equal(isUnschedulable({ spec: { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'NoSchedule' }] } }), true);
  assert.equal(isUnschedulable({ spec: { taints: [{ key: 'node.kubernetes.io/unschedulable', effect: 'PreferNoSchedule' }, { key: 'other', effect: 'NoSchedule' }] } }), false);
  assert.equal(isUnschedulable({}), false);
});

test('an ENIConfig needs a subnet id; security groups are optional ids', () => {
  assert.deepEqual(eniConfigOf({ metadata: { name: 'a' }, spec: { subnet: 'subnet-0a1', securityGroups: ['sg-1'] } }), { name: 'a', subnet: 'subnet-0a1', securityGroups: ['sg-1'] });
  assert.deepEqual(eniConfigOf({ metadata: { name: 'a' }, spec: { subnet: 'subnet-0a1' } }), { name: 'a', subnet: 'subnet-0a1', securityGroups: [] });
  assert.match((eniConfigOf({ metadata: { name: 'b' }, spec: { subnet: 'my-subnet' } }) as { invalid: string }).invalid, /ENIConfig b: spec\.subnet "my-subnet"/);
  assert.match((eniConfigOf({ metadata: { name: 'c' }, spec: { subnet: 'subnet-1', securityGroups: ['web'] } }) as { invalid: string }).invalid, /securityGroups/);
});

test('CNINode features: SecurityGroupsForPods only with ENABLE_POD_ENI and room for the trunk; CustomNetworking with both; others kept', () => {
  assert.deepEqual(wantedFeatures({ enablePodEni: false, trunkRoom: true, customNetworking: true, eniConfigName: 'a' }), []);
  assert.deepEqual(wantedFeatures({ enablePodEni: true, trunkRoom: false, customNetworking: false, eniConfigName: 'default' }), []);
  assert.deepEqual(wantedFeatures({ enablePodEni: true, trunkRoom: true, customNetworking: true, eniConfigName: 'a' }), [{ name: 'CustomNetworking', value: 'a' }, { name: 'SecurityGroupsForPods' }]);
  assert.deepEqual(mergeFeatures([{ name: 'Other', value: 'x' }, { name: 'CustomNetworking', value: 'old' }], [{ name: 'CustomNetworking', value: 'a' }]), [{ name: 'Other', value: 'x' }, { name: 'CustomNetworking', value: 'a' }]);
  assert.equal(mergeFeatures([{ name: 'SecurityGroupsForPods' }], [{ name: 'SecurityGroupsForPods' }]), undefined);
});

test('the pod-ips annotation: a merge patch on ADD, a tested JSON patch on DEL (the key escaped as a JSON pointer)', () => {
  assert.deepEqual(podIpsPatch('10.0.1.5'), { metadata: { annotations: { 'vpc.amazonaws.com/pod-ips': '10.0.1.5' } } });
  assert.deepEqual(clearPodIpsPatch('10.0.1.5'), [
    { op: 'test', path: '/metadata/annotations/vpc.amazonaws.com~1pod-ips', value: '10.0.1.5' },
    { op: 'replace', path: '/metadata/annotations/vpc.amazonaws.com~1pod-ips', value: '' },
  ]);
});
