import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PodnetError } from '../../../src/lib/index.js';
import { type CniAnswer, type CniEnv, createCniHandler } from '../../../src/cni/index.js';
import { MemoryNode } from './memory-backend.js';

// Issue 10, classes 2, 3, 4 and 7 at the handler: what DEL hands the backend to tear down, what a failed re-ADD
// undoes, where an ADD into the host namespace stops, and what a DEL does while ipamd is not ready.
const netns = '/var/run/netns/cni-1';
const args = 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx';
const env = (command: string, extra: CniEnv = {}): CniEnv => ({ CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_ARGS: args, CNI_PATH: '/opt/cni/bin', ...extra });
const conf = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'aws-cni', type: 'podnet-cni', ...extra });
const json = (a: CniAnswer) => JSON.parse(a.stdout) as Record<string, unknown>;
const ownVeth = 'enic440f455693';

function node(): MemoryNode {
  const n = new MemoryNode(['10.0.97.30', '10.0.97.31']);
  n.netnses.add(netns);
  return n;
}

const foreign = [
  { interfaces: [{ name: 'eth0' }], ips: [{ address: '10.0.97.31/32' }] },
  { interfaces: [{ name: 'eni0\nlink del eth0' }, { name: 'eth0', sandbox: netns }], ips: [{ address: '10.0.97.30/32\nlink del eth0', interface: 1 }] },
  { interfaces: [{ name: 'enif00000000000' }, { name: 'eth0', mac: '7', sandbox: netns }], ips: [{ address: '10.0.97.99/32', interface: 1 }] },
];

test('with ipamd up, DEL tears down the computed veth and ipamd\'s address, whatever prevResult names', async () => {
  for (const prevResult of foreign) {
    const n = node();
    const h = createCniHandler(n);
    await h({ env: env('ADD'), stdin: conf() });
    n.calls.length = 0;
    assert.deepEqual(await h({ env: env('DEL'), stdin: conf({ prevResult }) }), { exitCode: 0, stdout: '' });
    assert.deepEqual(n.calls, ['lookup c1', `unwire ${ownVeth} 10.0.97.30 254`, 'release c1']);
  }
});

test('with ipamd up, DEL of a container ipamd never saw touches no address, whatever prevResult claims', async () => {
  const n = node();
  const h = createCniHandler(n);
  await h({ env: env('ADD', { CNI_CONTAINERID: 'other', CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=other' }), stdin: conf() });
  n.calls.length = 0;
  const a = await h({ env: env('DEL', { CNI_CONTAINERID: 'ghost', CNI_NETNS: '' }), stdin: conf({ prevResult: foreign[0] }) });
  assert.deepEqual(a, { exitCode: 0, stdout: '' });
  assert.deepEqual(n.calls, ['lookup ghost', `unwire ${ownVeth} - -`, 'release ghost']);
  assert.equal(n.assigned.size, 1);
});

test('with ipamd unreachable, DEL passes the prevResult address only as a claim, with the computed veth name', async () => {
  for (const prevResult of foreign) {
    const n = node();
    n.unreachable = true;
    const a = await createCniHandler(n, { log: () => {} })({ env: env('DEL'), stdin: conf({ prevResult }) });
    assert.deepEqual(a, { exitCode: 0, stdout: '' });
    assert.equal(n.calls[1], `unwire ${ownVeth} claimed:${prevResult.ips[0]!.address} -`);
  }
});

test('a DEL while ipamd is not ready changes nothing and answers 11', async () => {
  const n = node();
  const h = createCniHandler(n);
  const add = await h({ env: env('ADD'), stdin: conf() });
  n.notReady = 'ipamd is still reading the checkpoint';
  n.calls.length = 0;
  const e = json(await h({ env: env('DEL'), stdin: conf({ prevResult: json(add) }) }));
  assert.equal(e.code, 11);
  assert.deepEqual(n.calls, ['lookup c1']);
  assert.equal(n.wired.size, 1);
});

test('a repeated ADD whose wiring fails keeps the address the first ADD holds', async () => {
  const n = node();
  const h = createCniHandler(n);
  await h({ env: env('ADD'), stdin: conf() });
  n.calls.length = 0;
  const e = json(await h({ env: env('ADD', { CNI_NETNS: '/var/run/netns/gone' }), stdin: conf() }));
  assert.equal(e.code, 110);
  assert.deepEqual(n.calls, ['allocate c1', `wire ${ownVeth} 10.0.97.30`]);
  assert.equal(n.assigned.size, 1);
});

test('ADD into the host network namespace answers 4 before any address is assigned', async () => {
  const n = node();
  const e = json(await createCniHandler(n)({ env: env('ADD', { CNI_NETNS: '/proc/self/ns/net' }), stdin: conf() }));
  assert.equal(e.code, 4);
  assert.match(e.msg as string, /host's network namespace/);
  assert.deepEqual(n.calls, []);
});

test('a failed save of a new assignment unwires what this ADD wired, tied by the new address', async () => {
  const n = node();
  n.saveError = new PodnetError('FAILED', 'cannot write the IPAM checkpoint: ENOSPC', 'check the disk');
  const e = json(await createCniHandler(n)({ env: env('ADD'), stdin: conf() }));
  assert.match(e.msg as string, /cannot write the IPAM checkpoint/);
  assert.deepEqual(n.calls, ['allocate c1', `wire ${ownVeth} 10.0.97.30`, 'saved c1 failed', `unwire ${ownVeth} 10.0.97.30 254`, 'release c1']);
});
