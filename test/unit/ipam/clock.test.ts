import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock, systemClock } from '../../../src/ipam/index.js';

test('FakeClock.random: the same seed gives the same numbers, in [0, 1); another seed others', () => {
  const draw = (seed?: number) => {
    const clock = new FakeClock(0, seed === undefined ? {} : { seed });
    return Array.from({ length: 5 }, () => clock.random());
  };
  assert.deepEqual(draw(7), draw(7));
  assert.deepEqual(draw(), draw(), 'without a seed too');
  assert.notDeepEqual(draw(7), draw(8));
  for (const x of draw(7)) assert.ok(x >= 0 && x < 1);
});

test('systemClock.random is in [0, 1)', () => {
  const x = systemClock.random();
  assert.ok(x >= 0 && x < 1);
});
