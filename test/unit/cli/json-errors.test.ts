import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JsonError } from '../../../src/cli/main.js';
import { podnet } from '../../run-podnet.js';

/** stderr must be exactly one JSON object on one line. */
function jsonError(stderr: string): JsonError {
  assert.equal(stderr.split('\n').length, 2, `one line on stderr, got: ${stderr}`);
  const e = JSON.parse(stderr) as JsonError;
  assert.deepEqual(Object.keys(e).sort(), ['code', 'error', 'hint']);
  return e;
}

test('issue 11: errors under --json are JSON on stderr — a PodnetError carries its own code, exit status unchanged', () => {
  const r = podnet(['max-pods', 'x9.nonsense', '--json']);
  assert.equal(r.status, 2);
  assert.equal(r.stdout, '');
  const e = jsonError(r.stderr);
  assert.equal(e.code, 'UNKNOWN_INSTANCE_TYPE');
  assert.match(e.error, /^unknown instance type 'x9\.nonsense'/);
  assert.match(e.hint ?? '', /t3\.small/);
});

test('issue 11: errors under --json are JSON on stderr — a usage error from the option parser has code USAGE', () => {
  for (const args of [
    ['pool', 'simulate', 't3.small', '--pods', 'many', '--json'],
    ['lab', 'probe', 'only-one', '--json'],
    ['ec2', 'serve', '--listen', 'nope', '--json'],
    ['config', '--no-such-flag', '--json'],
  ]) {
    const r = podnet([...args]);
    assert.equal(r.status, 2, args.join(' '));
    const e = jsonError(r.stderr);
    assert.equal(e.code, 'USAGE', args.join(' '));
    assert.doesNotMatch(e.error, /^error:/, 'the message has no text-form prefix');
    assert.ok(e.hint, args.join(' '));
  }
});

test('issue 11: errors under --json are JSON on stderr — an unknown subcommand keeps its suggestion as the hint', () => {
  const r = podnet(['ec2', 'serv', '--json']);
  assert.equal(r.status, 2);
  assert.deepEqual(jsonError(r.stderr), { error: "unknown command 'serv'", hint: 'did you mean serve?', code: 'USAGE' });
});

test('issue 11: a failure (exit 1) under --json is JSON too', () => {
  const r = podnet(['lab', 'status', '--state-dir', '/nonexistent/podnet-lab-state', '--json']);
  assert.equal(r.status, 1);
  const e = jsonError(r.stderr);
  assert.equal(e.code, 'LAB_NOT_UP');
});

test('without --json errors stay error:/hint: lines, and a --json after -- is an argument, not the flag', () => {
  const text = podnet(['max-pods', 'x9.nonsense']);
  assert.equal(text.status, 2);
  assert.match(text.stderr, /^error: unknown instance type 'x9\.nonsense'.*\nhint: .+\n$/);
  const after = podnet(['max-pods', '--', '--json']);
  assert.equal(after.status, 2);
  assert.match(after.stderr, /^error: /);
});
