import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BranchPods, branchOfPod, parsePodEniAnnotation } from '../../../src/ipamd/pod-eni.js';

// the shape the VPC resource controller writes (upstream's BranchENI JSON)
const annotation = '[{"eniId":"eni-0b1","ifAddress":"02:BB:00:00:00:05","privateIp":"10.0.97.30","vlanId":5,"subnetCidr":"10.0.96.0/19"}]';

test('the pod-eni annotation gives the branch: ENI, MAC, address, VLAN, subnet and its gateway (network + 1)', () => {
  assert.deepEqual(parsePodEniAnnotation(annotation, 'default/p'), { eniId: 'eni-0b1', mac: '02:bb:00:00:00:05', address: '10.0.97.30', vlanId: 5, subnetCidr: '10.0.96.0/19', gateway: '10.0.96.1' });
  // Go's JSON reads keys case-insensitively: upstream's vlanID spelling is read too
  assert.equal(parsePodEniAnnotation(annotation.replace('vlanId', 'vlanID'), 'default/p').vlanId, 5);
});

test('an annotation that does not parse fails the ADD and says which field', () => {
  const bad: [string, RegExp][] = [
    ['not json', /is not JSON/],
    ['[]', /non-empty JSON list/],
    [annotation.replace('"vlanId":5', '"vlanId":4095'), /vlanId from 1 to 4094/],
    [annotation.replace('"vlanId":5', '"vlanId":"5"'), /vlanId/],
    [annotation.replace('02:BB:00:00:00:05', '02:BB'), /ifAddress/],
    [annotation.replace('10.0.97.30', '2001:db8::5'), /IPv4 privateIp/],
    [annotation.replace('10.0.96.0/19', 'nope'), /subnetCidr/],
    [annotation.replace('eni-0b1', 'x'), /eniId/],
  ];
  for (const [text, why] of bad) assert.throws(() => parsePodEniAnnotation(text, 'default/p'), (e: Error & { code?: string }) => e.code === 'FAILED' && why.test(e.message), text);
});

test('a pool pod has no branch; a pod that requests pod-eni without the annotation yet waits (try again later)', () => {
  assert.equal(branchOfPod({ annotations: {}, limits: {} }, 'default/p'), undefined);
  assert.equal(branchOfPod({ annotations: { other: 'x' }, limits: { cpu: '1' } }, 'default/p'), undefined);
  assert.throws(() => branchOfPod({ annotations: {}, limits: { 'vpc.amazonaws.com/pod-eni': '1' } }, 'default/p'), { code: 'IPAMD_NOT_READY' });
  assert.equal(branchOfPod({ annotations: { 'vpc.amazonaws.com/pod-eni': annotation }, limits: { 'vpc.amazonaws.com/pod-eni': '1' } }, 'default/p')?.vlanId, 5);
});

test('the annotation alone makes no branch pod: only a pod whose containers[0] limits request pod-eni is read (§5.2)', () => {
  // any pod author can write the annotation; without the resource (which the scheduler counts against the node's
  // branch capacity) it is ignored, so a pod cannot have ipamd wire someone else's branch ENI by naming it
  assert.equal(branchOfPod({ annotations: { 'vpc.amazonaws.com/pod-eni': annotation }, limits: {} }, 'default/p'), undefined);
  assert.equal(branchOfPod({ annotations: { 'vpc.amazonaws.com/pod-eni': annotation }, limits: { cpu: '1', 'example.com/pod-eni': '1' } }, 'default/p'), undefined);
  // even an annotation that does not parse is not read then
  assert.equal(branchOfPod({ annotations: { 'vpc.amazonaws.com/pod-eni': 'not json' }, limits: {} }, 'default/p'), undefined);
});

test('the privateIp must lie in the subnetCidr, and the CIDR is stored canonical', () => {
  assert.throws(() => parsePodEniAnnotation(annotation.replace('10.0.97.30', '10.0.128.30'), 'default/p'), (e: Error & { code?: string }) => e.code === 'FAILED' && /privateIp 10\.0\.128\.30 outside its subnetCidr 10\.0\.96\.0\/19/.test(e.message));
  const b = parsePodEniAnnotation(annotation.replace('10.0.96.0/19', '10.0.97.7/19'), 'default/p');
  assert.equal(b.subnetCidr, '10.0.96.0/19');
  assert.equal(b.gateway, '10.0.96.1');
});

test('branch records survive a restart (branch-pods.json beside the checkpoint) and a corrupt file is refused by name', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-branch-'));
  try {
    const store = join(dir, 'ipam.json');
    const key = { networkName: 'aws-cni', containerId: 'c1', ifName: 'eth0' };
    const first = new BranchPods(store);
    first.put(key, { podNamespace: 'default', podName: 'p', podUid: 'u1', infraContainerId: '', netns: '' }, parsePodEniAnnotation(annotation, 'default/p'));
    const again = new BranchPods(store);
    assert.equal(again.get(key)?.branch.vlanId, 5);
    assert.equal(again.remove(key)?.podName, 'p');
    assert.equal(new BranchPods(store).all().length, 0);
    assert.match(readFileSync(join(dir, 'branch-pods.json'), 'utf8'), /podnet-branch-pods\/1/);
    writeFileSync(join(dir, 'branch-pods.json'), '{"version":"x"}');
    assert.throws(() => new BranchPods(store), { code: 'CHECKPOINT_CORRUPT' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
