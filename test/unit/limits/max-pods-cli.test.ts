import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { allInstanceTypes } from '../../../src/limits/index.js';
import { podnet } from '../../run-podnet.js';

test('max-pods prints the number and the arithmetic on one line', () => {
  const r = podnet(['max-pods', 't3.small']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 't3.small: 11 max pods = 3 ENIs × (4 − 1) IPs + 2\n');
});

test('max-pods --prefix-delegation --cpus 2 explains the 110 cap', () => {
  const r = podnet(['max-pods', 'm5.large', '--prefix-delegation', '--cpus', '2']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 'm5.large: 110 max pods = 3 ENIs × (10 − 1) prefixes × 16 IPs + 2 = 434, capped at 110 (2 vCPUs ≤ 30)\n');
});

test('max-pods --json prints the breakdown', () => {
  const r = podnet(['max-pods', 'm5.large', '--custom-networking', '--security-groups-for-pods', '--max-eni', '3', '--json']);
  assert.equal(r.status, 0);
  const b = JSON.parse(r.stdout) as { instanceType: string; maxPods: number; enisForPods: number; podIpsPerEni: number };
  assert.equal(b.instanceType, 'm5.large');
  assert.equal(b.enisForPods, 1);
  assert.equal(b.podIpsPerEni, 9);
  assert.equal(b.maxPods, 11);
});

test('prefix delegation on Xen prints the fallback note on stderr; the calculator caps the secondary-IP figure', () => {
  const r = podnet(['max-pods', 'm4.4xlarge', '--prefix-delegation']);
  assert.equal(r.status, 0);
  assert.equal(r.stdout, 'm4.4xlarge: 110 max pods = 8 ENIs × (30 − 1) IPs + 2 = 234, capped at 110 (16 vCPUs ≤ 30)\n');
  assert.match(r.stderr, /^note: prefix delegation needs a Nitro or bare-metal instance/);
});

// The fixture is a newer revision of upstream's misc/eni-max-pods.txt than our v1.23.1 limits table: it lists 1413
// types, every one of our 1391 plus the 22 r9g/r9gd types our table lacks. On 4 shared types its numbers come from
// newer EC2 data: 394 = 8 ENIs × (50 − 1) + 2 and 590 = 12 ENIs × (50 − 1) + 2 on the default card, where v1.23.1
// lists a single card of 15 and 24 ENIs (737 and 1178). The other 1387 lines agree exactly.
const upstreamNewer: Record<string, [ours: string, upstream: string]> = {
  'i7ie.48xlarge': ['737', '394'],
  'i7ie.metal-48xl': ['737', '394'],
  'i8ge.48xlarge': ['1178', '590'],
  'i8ge.metal-48xl': ['1178', '590'],
};

test("max-pods --all lines equal upstream's eni-max-pods.txt on 1387 of 1391 types; 4 differ by data version", () => {
  const fixture = readFileSync(new URL('fixtures/eni-max-pods.txt', import.meta.url), 'utf8')
    .split('\n').filter((l) => l !== '' && !l.startsWith('#'));
  const r = podnet(['max-pods', '--all']);
  assert.equal(r.status, 0);
  const ours = r.stdout.split('\n').filter((l) => l !== '');
  assert.equal(ours.length, 1391);
  assert.deepEqual(ours.map((l) => l.split(' ')[0]), allInstanceTypes());
  for (const line of ours) assert.match(line, /^[a-z0-9.-]+ \d+$/);
  assert.equal(fixture.length, 1413);
  const known = new Set(allInstanceTypes());
  assert.deepEqual(fixture.filter((l) => !known.has(l.split(' ')[0]!)).map((l) => l.split(' ')[0]),
    ['r9g', 'r9gd'].flatMap((family) => ['12xlarge', '16xlarge', '24xlarge', '2xlarge', '48xlarge', '4xlarge', '8xlarge',
      'large', 'medium', 'metal-48xl', 'xlarge'].map((size) => `${family}.${size}`)));
  const shared = fixture.filter((l) => known.has(l.split(' ')[0]!));
  assert.deepEqual(shared.map((l) => l.split(' ')[0]), ours.map((l) => l.split(' ')[0]));
  const differing = ours.filter((l, i) => l !== shared[i]);
  assert.deepEqual(differing.map((l) => l.split(' ')[0]), Object.keys(upstreamNewer));
  for (const [type, [oursPods, upstreamPods]] of Object.entries(upstreamNewer)) {
    assert.ok(ours.includes(`${type} ${oursPods}`), type);
    assert.ok(shared.includes(`${type} ${upstreamPods}`), type);
  }
  assert.equal(ours.length - differing.length, 1387);
});

for (const [name, args, message] of [
  ['an unknown type', ['max-pods', 't3.smal'], /^error: unknown instance type 't3\.smal'/],
  ['a non-numeric --cpus', ['max-pods', 't3.small', '--cpus', 'four'], /^error: .*'four'/],
  ['a negative --max-eni', ['max-pods', 't3.small', '--max-eni', '-1'], /^error: .*'-1'/],
  ['a type together with --all', ['max-pods', 't3.small', '--all'], /^error: give an instance type or --all, not both/],
  ['neither a type nor --all', ['max-pods'], /^error: no instance type given/],
] as const) {
  test(`max-pods with ${name} prints error: and hint: and exits 2`, () => {
    const r = podnet([...args]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, message);
    assert.match(r.stderr, /\nhint: \S/);
  });
}
