/**
 * Issue 10, class 8: the IMDS token table stays bounded (it grew by every PUT before, +2.9 MiB retained per 20,000)
 * while IMDSv2's TTL semantics hold. In a file of its own, with no emulator running beside it, so the heap it
 * measures is the table's.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { createImdsHandler } from '../../../src/ec2/imds.js';
import type { ImdsInstance } from '../../../src/ec2/protocol.js';
import { imdsCall } from './imds-call.js';

const instanceAt = (instanceId: string, localIpv4: string): ImdsInstance => ({
  instanceId, instanceType: 't3.medium', availabilityZone: 'us-west-2a', region: 'us-west-2', localIpv4, mac: '02:00:00:00:00:01', interfaces: [],
});
const a = instanceAt('i-0000000000000000a', '10.0.1.10');
const b = instanceAt('i-0000000000000000b', '10.0.1.20');
const state = { imdsInstance: (q: { instanceId?: string; privateIp?: string }) => [a, b].find((i) => i.instanceId === q.instanceId || i.localIpv4 === q.privateIp) };

/** Heap in use after full collections (GC exposed at run time, so the number is what stays reachable). */
function heapUsed(): number {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/**
 * The flood runs at module level, before any test starts: inside a node:test callback the runner itself retains
 * memory per call (about 0.9 MiB per 20,000 synchronous calls of even a stub), which would drown the measurement.
 */
let now = 1_000_000;
const handler = createImdsHandler(state, {}, () => now);
const token = (from: string, ttl = '21600') => {
  const r = imdsCall(handler, from, 'PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': ttl });
  assert.equal(r.status, 200, r.body);
  return r.body;
};
const status = (from: string, t: string) => imdsCall(handler, from, 'GET', '/latest/meta-data/instance-id', { 'x-aws-ec2-metadata-token': t }).status;
const other = token(b.localIpv4);
const first = token(a.localIpv4);
let last = '';
// warm up first (2,000 PUTs), so compiled code is not counted as the table's growth
for (let i = 0; i < 2000; i++) last = token(a.localIpv4);
const before = heapUsed();
for (let i = 0; i < 20_000; i++) last = token(a.localIpv4);
const grown = heapUsed() - before;

test('class 8: the IMDS token table is bounded — 20,000 PUTs keep memory flat and evict the flooding source first; TTLs hold', (t) => {
  t.diagnostic(`heap after 20,000 more token PUTs: ${grown >= 0 ? '+' : ''}${(grown / 1024 / 1024).toFixed(2)} MiB`);
  assert.ok(grown < 512 * 1024, `the token table grew by ${grown} bytes`);
  assert.equal(status(a.localIpv4, first), 401);
  assert.equal(status(a.localIpv4, last), 200);
  assert.equal(status(b.localIpv4, other), 200);

  // the documented TTL semantics: 1..21600 seconds, echoed back; an expired token is 401
  for (const ttl of ['0', '21601', 'abc', '']) {
    assert.equal(imdsCall(handler, a.localIpv4, 'PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': ttl }).status, 400, ttl);
  }
  const short = token(a.localIpv4, '1');
  assert.equal(status(a.localIpv4, short), 200);
  now += 1000;
  assert.equal(status(a.localIpv4, short), 401);
});
