// undoOnFailure: the one rollback of cni install, the init sysctls and podnet init (review finding 13 of issue 11).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PodnetError, undoOnFailure } from '../../../src/lib/index.js';

test('a step that succeeds returns its value and nothing is undone', () => {
  let undone = 0;
  assert.equal(undoOnFailure(() => 42, () => (undone++, []), { notUndone: 'and could not undo:' }), 42);
  assert.equal(undone, 0);
});

test('a step that fails is undone once, and its own error is rethrown with code and hint intact', () => {
  const failure = new PodnetError('FAILED', 'cannot write sysctl net.ipv4.tcp_early_demux: EROFS', 'the hint');
  let undone = 0;
  assert.throws(() => undoOnFailure(() => { throw failure; }, () => (undone++, []), { undone: 'the CNI files this run wrote were taken back', notUndone: 'and could not take back:' }), (err: unknown) => {
    assert.equal(err, failure);
    assert.equal(failure.message, 'cannot write sysctl net.ipv4.tcp_early_demux: EROFS; the CNI files this run wrote were taken back');
    assert.equal(failure.code, 'FAILED');
    assert.equal(failure.hint, 'the hint');
    return true;
  });
  assert.equal(undone, 1);
});

test('without `undone` a complete undo appends nothing; what could not be undone is listed after `notUndone`', () => {
  const quiet = new Error('cannot write /x: EACCES');
  assert.throws(() => undoOnFailure(() => { throw quiet; }, () => [], { notUndone: 'and could not undo:' }));
  assert.equal(quiet.message, 'cannot write /x: EACCES');
  const partial = new Error('cannot write /x: EACCES');
  assert.throws(() => undoOnFailure(() => { throw partial; }, () => ['/a: EBUSY', '/b: EROFS'], { notUndone: 'and could not undo:' }));
  assert.equal(partial.message, 'cannot write /x: EACCES; and could not undo: /a: EBUSY; /b: EROFS');
});
