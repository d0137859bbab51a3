import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodnetError } from '../../../src/lib/index.js';
import {
  allInstanceTypes,
  lookupInstanceType,
  maxIpsPerEni,
  maxPods,
  maxPrefixesPerEni,
  supportsPrefixDelegation,
} from '../../../src/limits/index.js';

test('the table holds 1391 instance types, sorted by name', () => {
  const types = allInstanceTypes();
  assert.equal(types.length, 1391);
  assert.deepEqual(types, [...types].sort());
  assert.equal(types[0], 'a1.2xlarge');
});

test('lookupInstanceType returns the name and the JSON fields of a type', () => {
  assert.deepEqual(lookupInstanceType('t3.small'), {
    instanceType: 't3.small',
    ENILimit: 3,
    IPv4Limit: 4,
    DefaultNetworkCardIndex: 0,
    NetworkCards: [{ MaximumNetworkInterfaces: 3, NetworkCardIndex: 0 }],
    HypervisorType: 'nitro',
    IsBareMetal: false,
  });
});

test('an unknown type is a usage error naming the type and suggesting the nearest names', () => {
  const err = (() => { try { lookupInstanceType('t3.smal'); } catch (e) { return e; } return undefined; })();
  assert.ok(err instanceof PodnetError);
  assert.equal(err.code, 'UNKNOWN_INSTANCE_TYPE');
  assert.equal(err.exitStatus, 2);
  assert.match(err.message, /'t3\.smal'/);
  assert.match(err.hint ?? '', /^did you mean t3\.small, .*t3a\.small/);
});

test('prefix delegation is supported on Nitro and on bare metal only (§8)', () => {
  assert.equal(supportsPrefixDelegation(lookupInstanceType('t3.small')), true);
  assert.equal(supportsPrefixDelegation(lookupInstanceType('m4.4xlarge')), false);
  const xenMetal = allInstanceTypes().map((t) => lookupInstanceType(t)).find((l) => l.HypervisorType !== 'nitro' && l.IsBareMetal);
  assert.ok(xenMetal, 'the table has a non-Nitro bare-metal type');
  assert.equal(supportsPrefixDelegation(xenMetal), true);
});

test('per-ENI limits follow §4.2: t3.small 3 IPs or 3 prefixes (48 IPs); m4.4xlarge 29; p3dn.24xlarge 49', () => {
  const t3 = lookupInstanceType('t3.small');
  assert.equal(maxIpsPerEni(t3, false), 3);
  assert.equal(maxPrefixesPerEni(t3, false), 0);
  assert.equal(maxPrefixesPerEni(t3, true), 3);
  assert.equal(maxIpsPerEni(t3, true), 48);
  assert.equal(maxIpsPerEni(lookupInstanceType('m4.4xlarge'), false), 29);
  assert.equal(maxIpsPerEni(lookupInstanceType('p3dn.24xlarge'), false), 49);
});

test('secondary-IP max pods match §4.16 and users-and-peers examples', () => {
  const expected: Record<string, number> = {
    't3.small': 11, 'm4.4xlarge': 234, 'p3dn.24xlarge': 737, 'p5.48xlarge': 100,
    't3.micro': 4, 't3.medium': 17, 'm5.large': 29, 'm5.xlarge': 58, 'm5.4xlarge': 234, 'm5.16xlarge': 737,
  };
  for (const [type, pods] of Object.entries(expected)) assert.equal(maxPods(type).maxPods, pods, type);
});

test('t3.small breakdown explains 3 ENIs × (4 − 1) IPs + 2', () => {
  const b = maxPods('t3.small');
  assert.equal(b.enisOnDefaultCard, 3);
  assert.equal(b.enisForPods, 3);
  assert.equal(b.podIpsPerEni, 3);
  assert.equal(b.uncapped, 11);
  assert.equal(b.cap, null);
  assert.equal(b.formula, '3 ENIs × (4 − 1) IPs + 2');
  assert.deepEqual(b.notes, []);
});

test('multi-card p5.48xlarge counts only the default card and says so', () => {
  const b = maxPods('p5.48xlarge');
  assert.equal(b.enisForPods, 2);
  assert.match(b.notes.join('\n'), /only the default network card's 2 ENIs count; the other 31 cards/);
});

test('prefix delegation multiplies per-ENI slots by 16: m5.large 434, c7g.medium 98 (raw, --no-cap)', () => {
  assert.equal(maxPods('m5.large', { prefixDelegation: true, noCap: true }).maxPods, 3 * 9 * 16 + 2);
  const c7g = maxPods('c7g.medium', { prefixDelegation: true, noCap: true });
  assert.equal(c7g.maxPods, 98);
  assert.equal(c7g.cap, null);
  assert.equal(c7g.formula, '2 ENIs × (4 − 1) prefixes × 16 IPs + 2');
});

test('the vCPU ceiling caps at 110 up to 30 vCPUs and at 250 above (calculator, §4.16)', () => {
  const capped = maxPods('m5.large', { prefixDelegation: true, cpus: 2 });
  assert.equal(capped.maxPods, 110);
  assert.equal(capped.uncapped, 434);
  assert.deepEqual(capped.cap, { cpus: 2, cpusFrom: 'option', limit: 110, applied: true });
  assert.match(capped.formula, /= 434, capped at 110 \(2 vCPUs ≤ 30\)$/);
  // under the cap: the number is unchanged and the cap is reported as not applied
  const c7g = maxPods('c7g.medium', { prefixDelegation: true, cpus: 1 });
  assert.equal(c7g.maxPods, 98);
  assert.deepEqual(c7g.cap, { cpus: 1, cpusFrom: 'option', limit: 110, applied: false });
  // m5.24xlarge has 96 vCPUs: 15 × 49 + 2 = 737 → 250
  assert.equal(maxPods('m5.24xlarge', { cpus: 96 }).maxPods, 250);
  assert.equal(maxPods('m5.24xlarge', { cpus: 30 }).maxPods, 110);
});

test('prefix delegation on a Xen instance falls back to secondary IPs with a note (and the calculator still caps)', () => {
  const b = maxPods('m4.4xlarge', { prefixDelegation: true });
  // max-pods-calculator.sh caps both of its branches: min(8 × 29 + 2, 110) for 16 vCPUs
  assert.equal(b.uncapped, 234);
  assert.equal(b.maxPods, 110);
  assert.deepEqual(b.prefixDelegation, { requested: true, effective: false });
  assert.match(b.notes.join('\n'), /falling back to secondary IPs/);
});

test('custom networking leaves the primary ENI out: m5.large 2 × 9 + 2 = 20', () => {
  const b = maxPods('m5.large', { customNetworking: true });
  assert.equal(b.maxPods, 20);
  assert.equal(b.formula, '2 ENIs (3 on the default card; −1 primary ENI for custom networking) × (10 − 1) IPs + 2');
});

test('security groups for pods: on a trunking-compatible type the trunk ENI takes one slot; with custom networking two ENIs are lost', () => {
  assert.equal(maxPods('m5.large', { securityGroupsForPods: true }).maxPods, 20);
  assert.equal(maxPods('m5.xlarge', { securityGroupsForPods: true, customNetworking: true }).maxPods, 2 * 14 + 2);
});

test('an instance with no ENI left for pods fits only the host-network pods', () => {
  // c6g.medium: 2 ENIs, trunking-compatible, so custom networking and the trunk take both
  const b = maxPods('c6g.medium', { customNetworking: true, securityGroupsForPods: true });
  assert.equal(b.enisForPods, 0);
  assert.equal(b.maxPods, 2);
  assert.match(b.notes.join('\n'), /no ENI is left/);
});

test('MAX_ENI caps ENIs only when it is below the limit (§4.2)', () => {
  assert.equal(maxPods('m5.large', { maxEni: 2 }).maxPods, 2 * 9 + 2);
  assert.equal(maxPods('m5.large', { maxEni: 2 }).formula, '2 ENIs (MAX_ENI 2 of 3) × (10 − 1) IPs + 2');
  assert.equal(maxPods('m5.large', { maxEni: 3 }).maxPods, 29);
  assert.equal(maxPods('m5.large', { maxEni: 10 }).maxPods, 29);
  assert.equal(maxPods('m5.large', { maxEni: 2, customNetworking: true }).maxPods, 1 * 9 + 2);
});

test('a vCPU count below 1 is a usage error', () => {
  assert.throws(() => maxPods('t3.small', { cpus: 0 }), (e: unknown) => e instanceof PodnetError && e.code === 'USAGE');
});
