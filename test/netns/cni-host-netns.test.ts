import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodnetNode } from '../e2e/podnet-node.js';
import { cni, cniError, held, nodeState, startHostileNode, testPod } from './cni-hostile.js';

// Issue 10, class 4: ADD wires a namespace that is not a pod's. A CNI_NETNS that is the node's own network namespace
// (ipamd's, the plugin's, PID 1's) or that is not a network namespace at all is refused with code 4 and a message
// that says so, and nothing on the node changes. Once with ipamd up, once with ipamd killed (the fallback plugin).
const dir = mkdtempSync(join(tmpdir(), 'podnet-host-netns-'));
let node: PodnetNode;

const hostNamespaces = () => ['/proc/self/ns/net', '/proc/1/ns/net', `/run/netns/${node.netns}`, '/proc/thread-self/ns/net'];
const notNamespaces = () => ['/proc/self/ns/mnt', '/proc/1/ns/uts', join(dir, 'plain-file'), '/run/netns', '/dev/null'];

before(async () => {
  node = await startHostileNode(dir, 'ho-node-hostns');
  writeFileSync(join(dir, 'plain-file'), '');
});

after(async () => {
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

async function refused(ipamdUp: boolean): Promise<number> {
  const before = await nodeState(node);
  const heldBefore = ipamdUp ? await held(node) : undefined;
  let i = ipamdUp ? 0x100 : 0x200;
  let tried = 0;
  for (const [netns, why] of [...hostNamespaces().map((n) => [n, /host's network namespace/] as const), ...notNamespaces().map((n) => [n, /not a network namespace/] as const)]) {
    const c = await cni(node, 'ADD', testPod(`intruder-${i}`, i++), { netns });
    const e = cniError(c);
    assert.equal(e.code, 4, `ADD into ${netns}: ${c.stdout}`);
    assert.match(e.msg, why, `ADD into ${netns}: ${c.stdout}`);
    assert.ok(e.msg.includes(netns), `the message names ${netns}: ${e.msg}`);
    assert.deepEqual(await nodeState(node), before, `ADD into ${netns} changed the node`);
    if (heldBefore) assert.deepEqual(await held(node), heldBefore, `ADD into ${netns} left an address assigned`);
    tried++;
  }
  return tried;
}

test('with ipamd up, ADD into the host network namespace or into something that is not a network namespace answers 4 and changes nothing', async (t) => {
  t.diagnostic(`${await refused(true)} CNI_NETNS values refused`);
});

test('with ipamd down (the fallback plugin), the same ADDs answer 4, not 11', async (t) => {
  await node.killIpamd();
  t.diagnostic(`${await refused(false)} CNI_NETNS values refused`);
});
