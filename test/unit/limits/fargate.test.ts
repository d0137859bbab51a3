import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fargateLimits } from '../../../src/limits/index.js';
import { podnet } from '../../run-podnet.js';

test('max-pods --fargate: 1, with the reason on stderr; --json the breakdown', () => {
  const r = podnet(['max-pods', '--fargate']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, 'fargate: 1 max pods = 1 pod per Fargate node (each pod gets its own node and its own network interface)\n');
  assert.match(r.stderr, /^note: .*aws-node does not run there/);
  const j = podnet(['max-pods', '--fargate', '--json']);
  assert.equal(j.status, 0, j.stderr);
  assert.deepEqual(JSON.parse(j.stdout), fargateLimits());
  assert.equal(fargateLimits().maxPods, 1);
});

test('max-pods --fargate refuses an instance type, --all, --os windows and the mode options', () => {
  for (const args of [['t3.small'], ['--all'], ['--os', 'windows'], ['--prefix-delegation'], ['--max-eni', '2'], ['--custom-networking']]) {
    const r = podnet(['max-pods', '--fargate', ...args]);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, /^error: --fargate does not take .*a Fargate node has no instance type and runs one pod\nhint: run 'podnet max-pods --fargate'\n$/, args.join(' '));
  }
});
