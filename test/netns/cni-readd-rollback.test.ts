import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodnetNode } from '../e2e/podnet-node.js';
import { addPod, cni, cniError, createNetns, deleteNetns, held, missingWiring, nodeState, startHostileNode, testPod } from './cni-hostile.js';

// Issue 10, class 3: a failed ADD destroys what an earlier ADD built. A second ADD for the same container and ifname
// with a bad CNI_NETNS fails, and its rollback must undo only what that call created: the first pod stays wired and
// its address stays held. Once with ipamd up, once with ipamd killed (the launcher's fallback plugin).
const dir = mkdtempSync(join(tmpdir(), 'podnet-readd-'));
const pod = testPod('first', 1);
let node: PodnetNode;

const badNetns = () => [`/run/netns/ho-missing`, join(dir, 'not-a-netns'), `/run/netns/${pod.netns}/x`];

before(async () => {
  node = await startHostileNode(dir, 'ho-node-readd');
  writeFileSync(join(dir, 'not-a-netns'), '');
  await createNetns([pod]);
  await addPod(node, pod);
});

after(async () => {
  await node?.stop();
  await deleteNetns([pod]);
  rmSync(dir, { recursive: true, force: true });
});

async function reAddWithBadNetns(ipamdUp: boolean): Promise<void> {
  const before = await nodeState(node);
  for (const netns of badNetns()) {
    const c = await cni(node, 'ADD', pod, { netns });
    const e = cniError(c);
    assert.deepEqual(await missingWiring(node, pod), [], `a failed re-ADD with CNI_NETNS=${netns} (${e.msg}) unwired the first pod`);
    assert.deepEqual(await nodeState(node), before, `a failed re-ADD with CNI_NETNS=${netns} changed the node`);
    if (ipamdUp) assert.equal((await held(node)).get(pod.address!), pod.name, `a failed re-ADD with CNI_NETNS=${netns} released the first pod's address`);
  }
}

test('with ipamd up, a failed re-ADD with a bad CNI_NETNS leaves the first pod wired and its address held', async () => {
  await reAddWithBadNetns(true);
  const check = await cni(node, 'CHECK', pod, { prevResult: pod.result });
  assert.deepEqual([check.code, check.stdout], [0, ''], check.stderr);
});

test('with ipamd down (the fallback plugin), a failed re-ADD leaves the first pod wired', async () => {
  await node.killIpamd();
  await reAddWithBadNetns(false);
});
