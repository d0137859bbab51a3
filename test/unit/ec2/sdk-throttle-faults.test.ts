import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateVpcCommand, DescribeVpcsCommand, EC2ServiceException } from '@aws-sdk/client-ec2';
import { emulatorForFile, rejectsWith, sdkClient, startEmulator } from './sdk-harness.js';

let now = 0;
// a frozen clock: buckets refill only when the test moves it
const h = emulatorForFile({ throttle: { buckets: { 'non-mutating': { capacity: 3, refillPerSecond: 1 } } }, nowMs: () => now });

const admin = async (path: string, body?: unknown) => {
  const res = await fetch(`${h.server.ec2Url}/_podnet/${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  return { status: res.status, json: (await res.json()) as Record<string, unknown> };
};

test('an empty bucket answers RequestLimitExceeded with HTTP 503, which the SDK sees; it refills with time', async () => {
  for (let i = 0; i < 3; i++) await h.ec2.send(new DescribeVpcsCommand({}));
  await rejectsWith(h.ec2.send(new DescribeVpcsCommand({})), 'RequestLimitExceeded', { status: 503 });
  now += 1000;
  await h.ec2.send(new DescribeVpcsCommand({}));
  // other APIs have their own buckets
  await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }));
});

test('the SDK standard retryer treats RequestLimitExceeded as throttling and retries', async () => {
  const retrying = sdkClient(h.server.ec2Url, 3);
  try {
    await assert.rejects(retrying.send(new DescribeVpcsCommand({})), (err: EC2ServiceException) => err.$metadata.attempts === 3);
  } finally {
    retrying.destroy();
  }
});

test('GET/POST /_podnet/throttle shows and changes the buckets; disabling lets everything through', async () => {
  const shown = await admin('throttle');
  assert.equal(shown.json.enabled, true);
  assert.ok((shown.json.buckets as Array<{ bucket: string }>).some((b) => b.bucket === 'DescribeVpcs'));
  assert.equal((await admin('throttle', { scale: -1 })).status, 400);
  assert.equal((await admin('throttle', { enabled: false })).json.enabled, false);
  for (let i = 0; i < 20; i++) await h.ec2.send(new DescribeVpcsCommand({}));
  await admin('throttle', { enabled: true, scale: 1, buckets: {} });
});

test('fault injection through the admin endpoint: a seeded error rate, a chosen code, added latency', async () => {
  await admin('throttle', { enabled: false });
  assert.equal((await admin('faults', { actions: { DescribeVpcs: { errorRate: 2 } } })).status, 400);
  const set = await admin('faults', { seed: 7, actions: { DescribeVpcs: { errorRate: 1, errorCode: 'Unavailable' }, CreateVpc: { latencyMs: 150 } } });
  assert.equal(set.status, 200);
  await rejectsWith(h.ec2.send(new DescribeVpcsCommand({})), 'Unavailable', { status: 503 });
  const t = performance.now();
  await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.8.0.0/16' }));
  assert.ok(performance.now() - t >= 140, 'latency was added');
  assert.deepEqual((await admin('faults')).json.actions, set.json.actions);
  await admin('faults', { actions: {} });
  await h.ec2.send(new DescribeVpcsCommand({}));
});

test('faults given at start apply from the first request', async () => {
  const f = await startEmulator({ faults: { actions: { '*': { errorRate: 1 } } } });
  try {
    await rejectsWith(f.ec2.send(new DescribeVpcsCommand({})), 'InternalError', { status: 500 });
  } finally {
    await f.close();
  }
});
