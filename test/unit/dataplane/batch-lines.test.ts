import { test } from 'node:test';
import assert from 'node:assert/strict';
import { batchLineFailure } from '../../../src/dataplane/iproute.js';

// a delete of something already gone is done; lib's ExecError.notFound kinds say what is gone, not the line's text
test('an absentOk line that failed on a missing link, address, route or rule is tolerated', () => {
  const gone: [string, string][] = [
    ['link del enic440f455693', 'Cannot find device "enic440f455693"'],
    ['addr del 10.0.1.7/32 dev eth1', 'RTNETLINK answers: Cannot assign requested address'],
    ['route del 10.0.1.7/32 dev eth1 table main', 'RTNETLINK answers: No such process'],
    ['rule del from 10.0.1.7/32 lookup 2 prio 1536', 'RTNETLINK answers: No such file or directory'],
  ];
  for (const [cmd, reason] of gone) assert.equal(batchLineFailure({ cmd, absentOk: true }, 1, reason), undefined, cmd);
});

test('the same failures fail a line that is not absentOk, and a missing namespace fails even an absentOk line', () => {
  assert.equal(batchLineFailure({ cmd: 'route del 10.0.1.7/32 dev eth1 table main' }, 3, 'RTNETLINK answers: No such process'), 'line 3 "route del 10.0.1.7/32 dev eth1 table main": RTNETLINK answers: No such process');
  assert.match(batchLineFailure({ cmd: 'link del eni0', absentOk: true }, 1, 'Cannot open network namespace "x": No such file or directory') ?? '', /line 1/);
  assert.match(batchLineFailure({ cmd: 'link add eni0 type veth', absentOk: true }, 2, 'RTNETLINK answers: File exists') ?? '', /line 2/);
  assert.equal(batchLineFailure({ cmd: 'rule add to 10.0.1.7/32 lookup main prio 512', existsOk: true }, 2, 'RTNETLINK answers: File exists'), undefined);
});
