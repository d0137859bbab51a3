/**
 * EC2 throttling and the client-side rate limit: the controller's token bucket spaces calls (12/s, burst 18 by
 * default; here smaller), and when EC2 throttles anyway the pod gets an Event naming it, nothing is left half-made,
 * and the retry with backoff gets every pod its branch.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { TokenBucket } from '../../../src/sgp-controller/index.js';
import { annotationOf, branchPod, createPolicy, eventually, startWorld, taggedBranchIds, waitForEvent } from './harness.js';

test('the token bucket lets a burst go at once, then spaces calls at the rate', async () => {
  const bucket = new TokenBucket({ qps: 20, burst: 3 });
  const start = Date.now();
  await Promise.all(Array.from({ length: 3 }, () => bucket.take()));
  assert.equal(bucket.waited.calls, 0, 'the burst waits for nothing');
  await Promise.all(Array.from({ length: 6 }, () => bucket.take()));
  const elapsed = Date.now() - start;
  assert.ok(elapsed >= 6 * 50 - 20, `6 more calls at 20/s take at least 300 ms (a loaded machine refills some meanwhile), took ${elapsed}`);
  assert.ok(bucket.waited.calls >= 1);
});

test('EC2 throttling CreateNetworkInterface (half the calls answered RequestLimitExceeded): Events name it, no half-made branch, every pod gets its branch by retrying; the client-side limit made calls wait', async () => {
  const w = await startWorld({ faults: { seed: 7, actions: { CreateNetworkInterface: { errorRate: 0.5, errorCode: 'RequestLimitExceeded' } } } });
  try {
    await w.addNode('node-a', 'm5.large');
    await createPolicy(w, 'web', { podSelector: { matchLabels: { role: 'web' } }, securityGroups: { groupIds: [w.groups.web] } });
    const controller = await w.start({ rateLimit: { qps: 8, burst: 3 } });
    const names = Array.from({ length: 6 }, (_, i) => `web-${i}`);
    await Promise.all(names.map((n) => w.core.createNamespacedPod({ namespace: 'default', body: branchPod(n, 'node-a') })));
    let throttled: string | undefined;
    await eventually('a throttling Event on some pod', async () => {
      for (const n of names) {
        const ev = await waitForEvent(w, 'Pod', n, /RequestLimitExceeded/, 'default', 1).catch(() => undefined);
        if (ev) throttled = ev.message;
      }
      return throttled !== undefined;
    }, 20_000);
    assert.match(throttled!, /^failed to allocate branch ENI to pod: EC2 throttled the request \(CreateNetworkInterface: RequestLimitExceeded: /);
    await eventually('every pod annotated', async () => (await Promise.all(names.map((n) => annotationOf(w, n)))).every(Boolean), 30_000);
    const annotated = (await Promise.all(names.map(async (n) => JSON.parse((await annotationOf(w, n))!)[0].eniId as string))).sort();
    assert.deepEqual(await taggedBranchIds(w), annotated, 'exactly the annotated branches exist');
    assert.ok(controller.status().rateLimited.calls > 0, 'calls past the burst of 3 waited');
  } catch (err) {
    console.error(w.logs.join('\n'));
    throw err;
  } finally {
    await w.close();
  }
});
