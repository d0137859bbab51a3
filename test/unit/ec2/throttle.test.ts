import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Ec2Error } from '../../../src/ec2/protocol.js';
import { parseQuery } from '../../../src/ec2/query.js';
import { Throttle, bucketFor, bucketSize } from '../../../src/ec2/throttle.js';

const request = (action: string, extra = '') => parseQuery(new URLSearchParams(`Action=${action}&Version=2016-11-15${extra}`));

function drain(throttle: Throttle, params: ReturnType<typeof request>): number {
  let taken = 0;
  for (;;) {
    try {
      throttle.take(params);
      taken++;
    } catch (err) {
      assert.ok(err instanceof Ec2Error && err.code === 'RequestLimitExceeded' && err.status === 503);
      return taken;
    }
  }
}

test("AWS's default buckets: Assign 100/5, CreateTags 100/10, Attach 50/5, other describes 100/20", () => {
  assert.deepEqual(bucketSize('AssignPrivateIpAddresses', {}), { capacity: 100, refillPerSecond: 5 });
  assert.deepEqual(bucketSize('CreateTags', {}), { capacity: 100, refillPerSecond: 10 });
  assert.deepEqual(bucketSize('AttachNetworkInterface', {}), { capacity: 50, refillPerSecond: 5 });
  assert.deepEqual(bucketSize('DescribeSubnets', {}), { capacity: 100, refillPerSecond: 20 });
});

test('DescribeNetworkInterfaces without filter, IDs or pagination draws from the smaller unfiltered bucket', () => {
  assert.equal(bucketFor(request('DescribeNetworkInterfaces')), 'DescribeNetworkInterfaces:unfiltered');
  assert.equal(bucketFor(request('DescribeNetworkInterfaces', '&Filter.1.Name=vpc-id&Filter.1.Value.1=v')), 'DescribeNetworkInterfaces');
  assert.equal(bucketFor(request('DescribeNetworkInterfaces', '&MaxResults=5')), 'DescribeNetworkInterfaces');
  assert.deepEqual(bucketSize('DescribeNetworkInterfaces:unfiltered', {}), { capacity: 50, refillPerSecond: 10 });
});

test('a full bucket allows its burst, then RequestLimitExceeded until it refills at its rate', () => {
  let now = 0;
  const throttle = new Throttle({}, () => now);
  const assign = request('AssignPrivateIpAddresses');
  assert.equal(drain(throttle, assign), 100);
  now += 1000; // 5 tokens per second
  assert.equal(drain(throttle, assign), 5);
  now += 60_000; // never more than the capacity
  assert.equal(drain(throttle, assign), 100);
});

test('buckets are per API: draining one leaves the others full', () => {
  const throttle = new Throttle({}, () => 0);
  drain(throttle, request('AssignPrivateIpAddresses'));
  assert.equal(drain(throttle, request('UnassignPrivateIpAddresses')), 100);
});

test('scale multiplies sizes; overrides apply by action or by class', () => {
  assert.deepEqual(bucketSize('AssignPrivateIpAddresses', { scale: 10 }), { capacity: 1000, refillPerSecond: 50 });
  assert.deepEqual(bucketSize('AssignPrivateIpAddresses', { buckets: { AssignPrivateIpAddresses: { capacity: 3 } } }), { capacity: 3, refillPerSecond: 5 });
  assert.deepEqual(bucketSize('RunInstances', { buckets: { mutating: { capacity: 7, refillPerSecond: 1 } } }), { capacity: 7, refillPerSecond: 1 });
  // a class override does not touch actions with their own AWS default
  assert.deepEqual(bucketSize('CreateTags', { buckets: { mutating: { capacity: 7 } } }), { capacity: 100, refillPerSecond: 10 });
});

test('a bad throttle config names the field', () => {
  assert.throws(() => new Throttle({ scale: 0 }), /scale/);
  assert.throws(() => new Throttle({ buckets: { CreateTags: { capacity: -1 } } }), /buckets\.CreateTags\.capacity/);
});
