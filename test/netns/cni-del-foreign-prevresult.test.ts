import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PodnetNode } from '../e2e/podnet-node.js';
import { addPod, cni, createNetns, deleteNetns, describeCall, held, leftWiring, missingWiring, nodeState, startHostileNode, testPod, withoutPods, type TestPod } from './cni-hostile.js';

// Issue 10, class 2: DEL trusts names and addresses from prevResult. A runtime's DEL carries a prevResult that is not
// this pod's (eth0, another pod's veth, a name with a newline, another pod's address, another pod's whole result, or
// a container ipamd never saw): it must change nothing the caller's pod does not own, and still tear the caller's
// own pod down and succeed. Once with ipamd up, once with ipamd killed (the launcher's fallback plugin).
const dir = mkdtempSync(join(tmpdir(), 'podnet-del-foreign-'));
const marker = join(dir, 'pwned');
const victim = testPod('victim', 1);
const upCallers = Array.from({ length: 7 }, (_, i) => testPod(`up-${i}`, 0x10 + i));
const downCallers = Array.from({ length: 7 }, (_, i) => testPod(`down-${i}`, 0x20 + i));
const pods = [victim, ...upCallers, ...downCallers];
let node: PodnetNode;

before(async () => {
  node = await startHostileNode(dir, 'ho-node-del');
  await createNetns(pods);
  for (const pod of pods) await addPod(node, pod);
});

after(async () => {
  await node?.stop();
  await deleteNetns(pods);
  rmSync(dir, { recursive: true, force: true });
});

interface Variant {
  label: string;
  prevResult: (caller: TestPod) => unknown;
  /** A DEL for another container than the caller's (ipamd never saw it): nothing at all may change. */
  ghost?: boolean;
}

const own = (caller: TestPod) => [{ address: `${caller.address}/32`, interface: 1 }];
const variants: Variant[] = [
  { label: 'names eth0 as the host veth', prevResult: (c) => ({ cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }, { name: 'eth0', sandbox: `/run/netns/${c.netns}` }], ips: own(c) }) },
  { label: "names another pod's veth", prevResult: (c) => ({ cniVersion: '1.0.0', interfaces: [{ name: victim.hostVeth }, { name: 'eth0', sandbox: `/run/netns/${c.netns}` }], ips: own(c) }) },
  {
    label: 'has a newline in the veth name (further ip -batch lines)',
    prevResult: (c) => ({ cniVersion: '1.0.0', interfaces: [{ name: `eni0\nlink add pwned0 type veth peer name pwned1\nnetns exec ${victim.netns} touch ${marker}\nlink del eth0` }, { name: 'eth0', sandbox: `/run/netns/${c.netns}` }], ips: own(c) }),
  },
  { label: 'has a newline in the address', prevResult: (c) => ({ cniVersion: '1.0.0', interfaces: [{ name: c.hostVeth }, { name: 'eth0', sandbox: `/run/netns/${c.netns}` }], ips: [{ address: `${c.address}/32\nlink del eth0`, interface: 1 }] }) },
  { label: "reports an address another pod owns", prevResult: (c) => ({ cniVersion: '1.0.0', interfaces: [{ name: c.hostVeth }, { name: 'eth0', sandbox: `/run/netns/${c.netns}` }], ips: [{ address: `${victim.address}/32`, interface: 1 }] }) },
  { label: "is another pod's whole ADD result", prevResult: () => victim.result },
  { label: "is another pod's result, for a container ipamd never saw", prevResult: () => victim.result, ghost: true },
];

async function delWithForeignPrevResult(caller: TestPod, v: Variant, ipamdUp: boolean): Promise<void> {
  const before = await nodeState(node);
  const heldBefore = ipamdUp ? await held(node) : undefined;
  const target = v.ghost ? { ...testPod('ghost', 0xdead), netns: caller.netns } : caller;
  const c = await cni(node, 'DEL', target, { prevResult: v.prevResult(caller), ...(v.ghost && { netns: '' }) });
  assert.deepEqual([c.code, c.stdout], [0, ''], describeCall(node, `DEL ${caller.name} whose prevResult ${v.label}`, c));
  const afterState = await nodeState(node);
  const removed = v.ghost ? [] : [caller];
  assert.deepEqual(withoutPods(afterState, removed), withoutPods(before, removed), `DEL whose prevResult ${v.label} changed what ${caller.name} does not own`);
  assert.deepEqual(await missingWiring(node, victim), [], `the victim pod lost wiring to a DEL whose prevResult ${v.label}`);
  assert.ok(!afterState.links.some((l) => l.startsWith('pwned')), 'a line smuggled into ip -batch ran');
  assert.ok(!existsSync(marker), 'a command smuggled into ip -batch ran');
  if (v.ghost) {
    assert.deepEqual(await missingWiring(node, caller), []);
  } else {
    assert.deepEqual(await leftWiring(node, caller), [], `DEL whose prevResult ${v.label} left the caller's own pod wired`);
  }
  if (heldBefore) {
    const expected = new Map(heldBefore);
    if (!v.ghost) expected.delete(caller.address!);
    assert.deepEqual(await held(node), expected, `ipamd's assignments after a DEL whose prevResult ${v.label}`);
  }
  if (v.ghost) {
    // the caller's own DEL still works afterwards
    const own = await cni(node, 'DEL', caller, { prevResult: caller.result });
    assert.deepEqual([own.code, own.stdout], [0, ''], describeCall(node, `DEL ${caller.name}`, own));
    assert.deepEqual(await leftWiring(node, caller), []);
  }
}

test('with ipamd up, DEL with a foreign prevResult changes nothing the pod does not own and tears the pod down', async () => {
  for (const [i, v] of variants.entries()) await delWithForeignPrevResult(upCallers[i]!, v, true);
});

test('with ipamd down (the fallback plugin), DEL with a foreign prevResult changes nothing the pod does not own and tears the pod down', async () => {
  await node.killIpamd();
  for (const [i, v] of variants.entries()) await delWithForeignPrevResult(downCallers[i]!, v, false);
});
