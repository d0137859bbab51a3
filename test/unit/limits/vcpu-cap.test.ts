/**
 * Issue 11, max-pods answers: vCPU counts per instance type as data (data/instance-vcpus.json), so prefix delegation
 * applies the EKS max-pods calculator's ceiling by default: `vCPUs > 30 ? 250 : 110` (max-pods-calculator.sh, §4.16).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { allInstanceTypes, maxPods, vcpuCount } from '../../../src/limits/index.js';
import { podnet } from '../../run-podnet.js';

test('data/instance-vcpus.json: 1108 types, all known to the limits table, each a whole vCPU count ≥ 1', () => {
  const table = JSON.parse(readFileSync(new URL('../../../data/instance-vcpus.json', import.meta.url), 'utf8')) as Record<string, number>;
  const known = new Set(allInstanceTypes());
  assert.equal(Object.keys(table).length, 1108);
  assert.deepEqual(Object.keys(table).filter((t) => !known.has(t)), []);
  for (const [type, cpus] of Object.entries(table)) assert.ok(Number.isInteger(cpus) && cpus >= 1, type);
  assert.equal(vcpuCount('t3.small'), 2);
  assert.equal(vcpuCount('m5.8xlarge'), 32);
  assert.equal(vcpuCount('c9g.large'), undefined);
});

test('issue 11 max-pods: m5.large (2 vCPUs) with prefix delegation is capped at 110 by default, from the data', () => {
  const b = maxPods('m5.large', { prefixDelegation: true });
  assert.equal(b.uncapped, 3 * 9 * 16 + 2);
  assert.equal(b.maxPods, 110);
  assert.equal(b.vcpus, 2);
  assert.deepEqual(b.cap, { cpus: 2, cpusFrom: 'data', limit: 110, applied: true });
  assert.match(b.notes.join('\n'), /the EKS max-pods calculator and AMI cap max pods at 110 up to 30 vCPUs, else 250; m5\.large has 2 vCPUs/);
});

test('issue 11 max-pods: c5.9xlarge (36 vCPUs) with prefix delegation is capped at 250; c5.4xlarge (16) at 110', () => {
  // 8 ENIs × 29 prefixes × 16 + 2 = 3714 on both
  assert.deepEqual(maxPods('c5.9xlarge', { prefixDelegation: true }).cap, { cpus: 36, cpusFrom: 'data', limit: 250, applied: true });
  assert.equal(maxPods('c5.9xlarge', { prefixDelegation: true }).maxPods, 250);
  assert.equal(maxPods('c5.4xlarge', { prefixDelegation: true }).maxPods, 110);
});

test('issue 11 max-pods: the boundary is "more than 30": --cpus 30 → 110, --cpus 31 → 250 (--cpus overrides the data)', () => {
  assert.deepEqual(maxPods('c5.9xlarge', { prefixDelegation: true, cpus: 30 }).cap, { cpus: 30, cpusFrom: 'option', limit: 110, applied: true });
  assert.equal(maxPods('c5.4xlarge', { prefixDelegation: true, cpus: 31 }).maxPods, 250);
});

test('issue 11 max-pods: --no-cap shows the raw figure; without prefix delegation the figure is eni-max-pods.txt\'s, uncapped', () => {
  const raw = maxPods('c5.9xlarge', { prefixDelegation: true, noCap: true });
  assert.equal(raw.maxPods, 3714);
  assert.equal(raw.cap, null);
  assert.equal(raw.vcpus, 36);
  assert.equal(maxPods('m5.24xlarge').maxPods, 737);
  assert.equal(maxPods('m5.24xlarge').cap, null);
});

test('issue 11 max-pods: a type without a vCPU count is not capped, and the note says so', () => {
  const b = maxPods('c9g.large', { prefixDelegation: true });
  assert.equal(b.vcpus, null);
  assert.equal(b.cap, null);
  assert.equal(b.maxPods, b.uncapped);
  assert.match(b.notes.join('\n'), /no vCPU count for c9g\.large, so the EKS calculator's 110\/250 ceiling is not applied; pass --cpus N/);
});

test('issue 11 max-pods CLI: --prefix-delegation says it capped, --no-cap prints the raw line, --json carries cap and vCPUs', () => {
  const capped = podnet(['max-pods', 'c5.9xlarge', '--prefix-delegation']);
  assert.equal(capped.status, 0);
  assert.equal(capped.stdout, 'c5.9xlarge: 250 max pods = 8 ENIs × (30 − 1) prefixes × 16 IPs + 2 = 3714, capped at 250 (36 vCPUs > 30)\n');
  assert.match(capped.stderr, /^note: with prefix delegation the EKS max-pods calculator and AMI cap .*c5\.9xlarge has 36 vCPUs .*--no-cap shows the raw 3714\n$/m);
  const raw = podnet(['max-pods', 'c5.9xlarge', '--prefix-delegation', '--no-cap']);
  assert.equal(raw.stdout, 'c5.9xlarge: 3714 max pods = 8 ENIs × (30 − 1) prefixes × 16 IPs + 2\n');
  const json = JSON.parse(podnet(['max-pods', 'm5.large', '--prefix-delegation', '--json']).stdout) as { maxPods: number; vcpus: number; cap: unknown };
  assert.deepEqual({ maxPods: json.maxPods, vcpus: json.vcpus, cap: json.cap }, { maxPods: 110, vcpus: 2, cap: { cpus: 2, cpusFrom: 'data', limit: 110, applied: true } });
});

test('issue 11 max-pods CLI: --cpus with --no-cap is a usage error', () => {
  const r = podnet(['max-pods', 'm5.large', '--prefix-delegation', '--cpus', '4', '--no-cap']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: --cpus 4 asks for the vCPU ceiling and --no-cap for none\nhint: \S/);
});

test('issue 11 review 9: --no-cap without --prefix-delegation is a usage error that says it would change nothing', () => {
  const r = podnet(['max-pods', 't3.small', '--no-cap']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, "error: --no-cap changes nothing without --prefix-delegation: secondary-IP figures (eni-max-pods.txt's) are never capped\nhint: drop --no-cap, or add --prefix-delegation for the raw prefix-delegation figure\n");
  assert.equal(podnet(['max-pods', '--all', '--no-cap']).status, 2);
  assert.throws(() => maxPods('t3.small', { noCap: true }), /--no-cap changes nothing without --prefix-delegation/);
  // with prefix delegation it still shows the raw figure
  assert.equal(maxPods('t3.small', { prefixDelegation: true, noCap: true }).maxPods, 3 * (4 - 1) * 16 + 2); // 3 ENIs, 4 IPv4 addresses each
});
