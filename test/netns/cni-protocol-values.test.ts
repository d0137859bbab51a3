import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodnetNode } from '../e2e/podnet-node.js';
import { type TestPod, cni, cniError, createNetns, deleteNetns, describeCall, held, nodeState, startHostileNode, testPod } from './cni-hostile.js';

// Issue 10, class 5: CNI_* values reach ipamd (and the fallback) byte-exact and cannot split the launcher's request.
// On one emulated node through the installed launcher: a grammatical 20,000-character container id is served end to
// end; CR/LF in CNI_ARGS and a non-ASCII CNI_IFNAME are refused with code 4 naming the variable, and change nothing.
// Once with ipamd up, once with ipamd killed (the fallback plugin).
const dir = mkdtempSync(join(tmpdir(), 'podnet-protocol-values-'));
let node: PodnetNode;
const longId = `c${'0123456789abcdef'.repeat(1250)}`.slice(0, 20_000);
const pods: TestPod[] = [{ ...testPod('long-id', 1), containerId: longId }, testPod('crlf', 2), testPod('utf8', 3)];

before(async () => {
  node = await startHostileNode(dir, 'ho-node-values');
  await createNetns(pods);
});

after(async () => {
  await deleteNetns(pods);
  await node?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** The two refusals; each must leave the node and ipamd's records as they were. */
async function refusals(ipamdUp: boolean): Promise<void> {
  const before = await nodeState(node);
  const heldBefore = ipamdUp ? await held(node) : undefined;
  const args = `K8S_POD_NAMESPACE=hostile;K8S_POD_NAME=crlf\r\nX-CNI-COMMAND: DEL\r\nX-CNI-CONTAINERID: ${pods[0]!.containerId}`;
  const crlf = cniError(await cni(node, 'ADD', pods[1]!, { env: { CNI_ARGS: args } }));
  assert.equal(crlf.code, 4, crlf.msg);
  assert.match(crlf.msg, /^CNI_ARGS /);
  assert.ok(crlf.msg.includes(JSON.stringify(args).slice(1, 40)), `the value is quoted exactly: ${crlf.msg}`);
  const utf8 = cniError(await cni(node, 'ADD', pods[2]!, { env: { CNI_IFNAME: 'é' } }));
  assert.equal(utf8.code, 4, utf8.msg);
  assert.equal(utf8.msg.startsWith('CNI_IFNAME "é" '), true, utf8.msg);
  assert.deepEqual(await nodeState(node), before);
  if (heldBefore) assert.deepEqual(await held(node), heldBefore);
}

test('with ipamd up: a 20,000-character container id is added and deleted; CR/LF in CNI_ARGS and a non-ASCII ifname are refused with 4', async () => {
  const add = await cni(node, 'ADD', pods[0]!);
  assert.equal(add.code, 0, describeCall(node, 'ADD', add));
  const result = JSON.parse(add.stdout) as { ips: { address: string }[] };
  const address = result.ips[0]!.address.split('/')[0]!;
  assert.equal((await held(node)).get(address), 'long-id');
  await refusals(true);
  const del = await cni(node, 'DEL', pods[0]!, { prevResult: result });
  assert.equal(del.code, 0, describeCall(node, 'DEL', del));
  assert.equal((await held(node)).has(address), false, 'the address is released');
});

test('with ipamd down (the fallback plugin): the same refusals answer 4, and a DEL for the 20,000-character id succeeds', async () => {
  await node.killIpamd();
  await refusals(false);
  const del = await cni(node, 'DEL', pods[0]!);
  assert.equal(del.code, 0, describeCall(node, 'DEL', del));
});
