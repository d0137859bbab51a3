import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Faults } from '../../../src/ec2/faults.js';

const failures = (faults: Faults, action: string, n: number) =>
  Array.from({ length: n }, () => faults.decide(action).error?.code ?? '-').join('');

test('with a seed, the same requests fail on every run, at about the configured rate', () => {
  const config = { seed: 42, actions: { AssignPrivateIpAddresses: { errorRate: 0.3 } } };
  const a = failures(new Faults(config), 'AssignPrivateIpAddresses', 1000);
  const b = failures(new Faults(config), 'AssignPrivateIpAddresses', 1000);
  assert.equal(a, b);
  const failed = a.split('InternalError').length - 1;
  assert.ok(failed > 230 && failed < 370, `failed ${failed} of 1000 at rate 0.3`);
});

test('error codes carry their HTTP status: InternalError 500, Unavailable 503, others 400 unless given', () => {
  const decide = (errorCode?: string, status?: number) => new Faults({ actions: { X: { errorRate: 1, errorCode, status } } }).decide('X').error!;
  assert.deepEqual([decide().code, decide().status], ['InternalError', 500]);
  assert.equal(decide('Unavailable').status, 503);
  assert.equal(decide('InsufficientFreeAddressesInSubnet').status, 400);
  assert.equal(decide('InvalidParameterValue', 422).status, 422);
});

test("'*' applies to actions without their own rule; latency comes with or without an error", () => {
  const faults = new Faults({ actions: { '*': { latencyMs: 20 }, CreateTags: { latencyMs: 5 } } });
  assert.deepEqual(faults.decide('DescribeSubnets'), { latencyMs: 20 });
  assert.deepEqual(faults.decide('CreateTags'), { latencyMs: 5 });
  assert.deepEqual(new Faults().decide('CreateTags'), { latencyMs: 0 });
});

test('a bad fault config names the field', () => {
  assert.throws(() => new Faults({ actions: { X: { errorRate: 2 } } }), /actions\.X\.errorRate/);
});
