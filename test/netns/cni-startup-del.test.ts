import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodnetNode } from '../e2e/podnet-node.js';
import { addPod, cni, createNetns, deleteNetns, describeCall, held, leftWiring, missingWiring, readiness, setEc2Faults, startHostileNode, testPod, waitFor, type TestPod } from './cni-hostile.js';

// Issue 10, class 7: DEL while ipamd starts up. A DEL that reaches an ipamd still in node init either completes fully
// (wiring gone, address released) or does nothing and answers 11; and start-up never hands an address to a new pod
// while the old pod's wiring still exists. Start-up is held in node init by latency on the emulator's
// DescribeNetworkInterfaces (which init calls before it reads the checkpoint). Once with the DEL reaching the starting
// ipamd, once with it reaching the fallback plugin just before ipamd starts again.
const dir = mkdtempSync(join(tmpdir(), 'podnet-startup-del-'));
const [first, second, third, fourth] = [testPod('first', 1), testPod('second', 2), testPod('third', 3), testPod('fourth', 4)] as [TestPod, TestPod, TestPod, TestPod];
const pods = [first, second, third, fourth];
let node: PodnetNode;
const STARTUP_DELAY_MS = 4_000;

before(async () => {
  node = await startHostileNode(dir, 'ho-node-startup');
  await createNetns(pods);
  await addPod(node, first);
  await addPod(node, second);
});

after(async () => {
  await node?.stop();
  await deleteNetns(pods);
  rmSync(dir, { recursive: true, force: true });
});

/** Restarts ipamd held in node init, and returns once its socket answers "not ready". */
async function restartSlowly(): Promise<void> {
  await setEc2Faults(node, { DescribeNetworkInterfaces: { latencyMs: STARTUP_DELAY_MS } });
  await node.restartIpamd();
  await waitFor('ipamd to answer "not ready" on its socket', 60_000, async () => (await readiness(node)) === 503);
}

async function ready(): Promise<void> {
  await waitFor('ipamd to become ready', 60_000, async () => (await readiness(node)) === 200);
  await setEc2Faults(node, {});
}

/** A DEL's outcome is all or nothing: 0 with the wiring gone, or 11 with the pod exactly as it was. */
async function allOrNothing(pod: TestPod, what: string): Promise<'done' | 'retry'> {
  const before = await leftWiring(node, pod);
  const c = await cni(node, 'DEL', pod, { prevResult: pod.result });
  if (c.code === 0) {
    assert.deepEqual(await leftWiring(node, pod), [], `${what} answered 0 but left wiring`);
    return 'done';
  }
  const e = JSON.parse(c.stdout) as { code: number };
  assert.equal(e.code, 11, describeCall(node, what, c));
  assert.deepEqual(await leftWiring(node, pod), before, `${what} answered 11 but removed part of the pod's wiring`);
  return 'retry';
}

/** Every address ipamd holds is held once, and none belongs to a pod other than the one whose wiring carries it. */
async function noAddressHandedOverWhileWired(wiredPods: readonly TestPod[]): Promise<void> {
  const h = await held(node);
  for (const p of wiredPods) {
    if ((await leftWiring(node, p)).length === 0) continue;
    assert.equal(h.get(p.address!), p.name, `${p.address} is held for ${h.get(p.address!)} while ${p.name}'s wiring still exists`);
  }
}

test('a DEL reaching ipamd during start-up is all or nothing, and no address goes to a new pod while the old pod is wired', async () => {
  await node.killIpamd();
  await restartSlowly();
  assert.deepEqual(await missingWiring(node, first), []);
  const outcome = await allOrNothing(first, `DEL ${first.name} during start-up`);
  await ready();
  await addPod(node, third);
  await noAddressHandedOverWhileWired([first, second, third]);
  if (outcome === 'retry') assert.equal(await allOrNothing(first, `DEL ${first.name} after start-up`), 'done');
  assert.ok(!(await held(node)).has(first.address!), `${first.address} is still held after the DEL completed`);
});

test('a DEL completed by the fallback plugin while ipamd is down, then start-up: the address is free only once the wiring is gone', async () => {
  await node.killIpamd();
  assert.equal(await allOrNothing(second, `DEL ${second.name} with ipamd down`), 'done');
  await restartSlowly();
  // the runtime's retry of the same DEL during start-up: nothing left to do, or 11
  await allOrNothing(second, `DEL ${second.name} again during start-up`);
  await ready();
  await addPod(node, fourth);
  await noAddressHandedOverWhileWired([second, third, fourth]);
  assert.deepEqual(await leftWiring(node, second), []);
  assert.notEqual((await held(node)).get(second.address!), second.name, `${second.address} is still held for ${second.name}`);
});
