import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAtoi, parseGoBool, parseGoIntBase0 } from '../../../src/config/index.js';

test('booleans accept exactly the twelve Go ParseBool spellings', () => {
  for (const s of ['1', 't', 'T', 'TRUE', 'true', 'True']) assert.equal(parseGoBool(s), true, s);
  for (const s of ['0', 'f', 'F', 'FALSE', 'false', 'False']) assert.equal(parseGoBool(s), false, s);
  for (const s of ['yes', 'no', 'on', 'tRUE', ' true', 'true ', '2', '']) assert.equal(parseGoBool(s), undefined, s);
});

test('integers follow strconv.Atoi: sign allowed, no spaces, underscores or other bases', () => {
  assert.equal(parseAtoi('42'), 42);
  assert.equal(parseAtoi('+5'), 5);
  assert.equal(parseAtoi('-3'), -3);
  assert.equal(parseAtoi('007'), 7);
  for (const s of [' 1', '1 ', '1_000', '0x10', '1.5', '', '-', '9223372036854775808']) assert.equal(parseAtoi(s), undefined, s);
});

test('the connmark parser follows ParseInt base 0: 0x, 0o, 0b, leading-0 octal, underscores', () => {
  assert.equal(parseGoIntBase0('0x80'), 128);
  assert.equal(parseGoIntBase0('0X80'), 128);
  assert.equal(parseGoIntBase0('0o200'), 128);
  assert.equal(parseGoIntBase0('0200'), 128);
  assert.equal(parseGoIntBase0('0b10000000'), 128);
  assert.equal(parseGoIntBase0('128'), 128);
  assert.equal(parseGoIntBase0('1_28'), 128);
  assert.equal(parseGoIntBase0('0x_80'), 128);
  assert.equal(parseGoIntBase0('-0x80'), -128);
  assert.equal(parseGoIntBase0('0'), 0);
  for (const s of ['08', '0x', '_128', '128_', '1__28', '0xg', 'mark', '']) assert.equal(parseGoIntBase0(s), undefined, s);
});
