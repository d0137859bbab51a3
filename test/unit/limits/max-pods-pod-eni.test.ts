import { test } from 'node:test';
import assert from 'node:assert/strict';
import { maxPods } from '../../../src/limits/index.js';
import { podnet } from '../../run-podnet.js';

// Branch capacity (vpc.amazonaws.com/pod-eni, the controller's branch limit) beside IP capacity (issue 18 item 5).

test('with security groups for pods the breakdown carries pod-eni = the type\'s branch limit; without, nothing', () => {
  assert.equal(maxPods('m5.large', { securityGroupsForPods: true }).podEni, 9);
  assert.equal(maxPods('t3.small', { securityGroupsForPods: true }).podEni, 0, 'not trunking-compatible: no branch ENIs');
  assert.equal('podEni' in maxPods('m5.large'), false);
});

test('max-pods --security-groups-for-pods prints pod-eni on its own line after the IP figure, and in --json', () => {
  const r = podnet(['max-pods', 'm5.large', '--security-groups-for-pods']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 'm5.large: 20 max pods = 2 ENIs (3 on the default card; −1 trunk ENI for security groups for pods) × (10 − 1) IPs + 2\nm5.large: pod-eni 9 (branch ENIs for pods with their own security groups, beside the 20 above)\n');
  const j = JSON.parse(podnet(['max-pods', 'm5.large', '--security-groups-for-pods', '--json']).stdout) as { maxPods: number; podEni: number };
  assert.deepEqual([j.maxPods, j.podEni], [20, 9]);
  assert.doesNotMatch(podnet(['max-pods', 'm5.large']).stdout, /pod-eni/);
});

test('max-pods --all --security-groups-for-pods --json gives each row its pod-eni; the text keeps eni-max-pods.txt\'s two columns', () => {
  const rows = JSON.parse(podnet(['max-pods', '--all', '--security-groups-for-pods', '--json']).stdout) as { instanceType: string; maxPods: number; podEni: number | null }[];
  assert.deepEqual(rows.find((r) => r.instanceType === 'm5.large'), { instanceType: 'm5.large', maxPods: 20, podEni: 9 });
  const text = podnet(['max-pods', '--all', '--security-groups-for-pods']).stdout;
  assert.match(text, /^m5\.large 20$/m);
});

test('pool simulate with ENABLE_POD_ENI=true reports pod-eni beside the pool\'s pod IPs (text and --json)', () => {
  const r = podnet(['pool', 'simulate', 'm5.large', '--pods', '5', '--env', 'ENABLE_POD_ENI=true']);
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^pod-eni: 9 branch ENIs for pods with their own security groups, beside the \d+ pod IPs/m);
  const j = JSON.parse(podnet(['pool', 'simulate', 'm5.large', '--pods', '5', '--env', 'ENABLE_POD_ENI=true', '--json']).stdout) as { podEni: number };
  assert.equal(j.podEni, 9);
  assert.doesNotMatch(podnet(['pool', 'simulate', 'm5.large', '--pods', '5']).stdout, /pod-eni/);
});
