import { test } from 'node:test';
import assert from 'node:assert/strict';
import { run, ExecError, PodnetError, nearestNames } from '../../../src/lib/index.js';

test('run returns stdout of an argv command and feeds stdin', async () => {
  const { stdout } = await run(['sh', '-c', 'cat; echo done'], { input: 'hello\n' });
  assert.equal(stdout, 'hello\ndone\n');
});

test('a failing command rejects with argv, exit code and stderr', async () => {
  const err = await run(['sh', '-c', 'echo broken >&2; exit 3']).catch((e: unknown) => e);
  assert.ok(err instanceof ExecError);
  assert.deepEqual(err.argv, ['sh', '-c', 'echo broken >&2; exit 3']);
  assert.equal(err.exitCode, 3);
  assert.match(err.stderr, /broken/);
  assert.match(err.message, /exited 3: broken/);
});

test('a missing tool is a MISSING_TOOL error with an install hint', async () => {
  const err = await run(['podnet-no-such-tool']).catch((e: unknown) => e);
  assert.ok(err instanceof PodnetError);
  assert.equal(err.code, 'MISSING_TOOL');
  assert.match(err.hint ?? '', /apt-get install/);
});

test('usage errors exit 2, failures exit 1', () => {
  assert.equal(new PodnetError('USAGE', 'x').exitStatus, 2);
  assert.equal(new PodnetError('FAILED', 'x').exitStatus, 1);
});

test('nearestNames suggests close names first', () => {
  assert.deepEqual(nearestNames('t3.smal', ['t3.small', 't3.medium', 'm5.large']), ['t3.small']);
  assert.deepEqual(nearestNames('zzzzzz', ['t3.small']), []);
});
