/**
 * Issue 11, Windows: the VPC resource controller gives a Windows node the secondary addresses of its primary ENI
 * only: IPv4PerInterface − 1 of them, or that many /28 prefixes × 16 with prefix delegation on Nitro or bare metal
 * (getCapacity in pkg/provider/ip and pkg/provider/prefix). No custom networking, no security groups for pods.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { windowsLimits } from '../../../src/limits/index.js';
import { podnet } from '../../run-podnet.js';

test('issue 11 windows: t3.small (4 IPv4 per ENI) runs 4 − 1 = 3 pods, 3 × 16 = 48 with prefix delegation', () => {
  const b = windowsLimits('t3.small');
  assert.deepEqual({ enis: b.enis, slots: b.slots, podIps: b.podIps, maxPods: b.maxPods }, { enis: 1, slots: 3, podIps: 3, maxPods: 3 });
  assert.equal(b.formula, '1 ENI × (4 − 1) IPs (Windows: primary ENI only, no host-network pods counted)');
  assert.deepEqual(b.notes, []);
  const pd = windowsLimits('t3.small', { prefixDelegation: true });
  assert.equal(pd.maxPods, 48);
  assert.deepEqual(pd.prefixDelegation, { requested: true, effective: true });
});

test('issue 11 windows: m5.large (10 IPv4 per ENI) 9 pods, 144 with prefixes; p3dn.24xlarge (50) 49, 784', () => {
  assert.equal(windowsLimits('m5.large').maxPods, 9);
  assert.equal(windowsLimits('m5.large', { prefixDelegation: true }).maxPods, 144);
  assert.equal(windowsLimits('p3dn.24xlarge').maxPods, 49);
  assert.equal(windowsLimits('p3dn.24xlarge', { prefixDelegation: true }).maxPods, 784);
});

test('issue 11 windows: prefix delegation on Xen m4.4xlarge keeps secondary IPs (29) and says so', () => {
  const b = windowsLimits('m4.4xlarge', { prefixDelegation: true });
  assert.equal(b.maxPods, 29);
  assert.deepEqual(b.prefixDelegation, { requested: true, effective: false });
  assert.match(b.notes.join('\n'), /m4\.4xlarge is xen\); the VPC resource controller keeps secondary IPs/);
});

test("issue 11 windows: a type the resource controller's table does not list is flagged (that controller advertises 0)", () => {
  const b = windowsLimits('c9g.large');
  assert.equal(b.maxPods, b.ipv4PerEni - 1);
  assert.match(b.notes.join('\n'), /does not list c9g\.large; the controller at that commit advertises no Windows pod addresses/);
});

test('issue 11 windows CLI: max-pods --os windows prints the one-ENI arithmetic; --json carries os and the figure', () => {
  const r = podnet(['max-pods', 't3.small', '--os', 'windows', '--prefix-delegation']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 't3.small: 48 max pods = 1 ENI × (4 − 1) prefixes × 16 IPs (Windows: primary ENI only, no host-network pods counted)\n');
  const json = JSON.parse(podnet(['max-pods', 'm5.large', '--os', 'windows', '--json']).stdout) as { os: string; maxPods: number; enis: number };
  assert.deepEqual({ os: json.os, maxPods: json.maxPods, enis: json.enis }, { os: 'windows', maxPods: 9, enis: 1 });
  const all = podnet(['max-pods', '--all', '--os', 'windows']);
  assert.equal(all.status, 0);
  assert.ok(all.stdout.split('\n').includes('t3.small 3'));
});

for (const flags of [['--custom-networking'], ['--security-groups-for-pods'], ['--max-eni', '2'], ['--cpus', '4'], ['--no-cap']]) {
  test(`issue 11 windows CLI: max-pods --os windows ${flags.join(' ')} is a usage error with a hint`, () => {
    const r = podnet(['max-pods', 't3.small', '--os', 'windows', ...flags]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^error: ${flags[0]} does not apply with --os windows: .+\\nhint: drop ${flags[0]}`));
  });
}
