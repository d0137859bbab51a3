// Issue 10, class 6: the launcher does not scan the network config. `podnet cni install` writes ipamd's socket into
// the installed launcher, so the config's size and shape cost the launcher only the time to pass it on.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { CniCall, CniEnv } from '../../../src/cni/index.js';
import { runLauncher, serveWithLauncher } from './launcher-harness.js';
import { MemoryNode } from './memory-backend.js';

const dir = mkdtempSync(join(tmpdir(), "podnet cni 'size-"));
const netns = '/var/run/netns/cni-6';
const node = new MemoryNode(['10.0.97.60', '10.0.97.61']);
node.netnses.add(netns);
let served: Awaited<ReturnType<typeof serveWithLauncher>>;
let launcher: string;
let calls: CniCall[];

before(async () => {
  served = await serveWithLauncher(dir, 'size', node);
  ({ launcher, calls } = served);
});
after(async () => {
  await served.close();
  rmSync(dir, { recursive: true, force: true });
});

const env = (command: string, id: string): CniEnv => ({
  CNI_COMMAND: command,
  CNI_CONTAINERID: id,
  CNI_NETNS: netns,
  CNI_IFNAME: 'eth0',
  CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=web',
  CNI_PATH: '/opt/cni/bin',
});

/** A valid network config carrying an extra field of about `bytes` bytes of nested arrays (the old scanner's worst case). */
function nestedConfig(bytes: number): string {
  const depth = Math.floor(bytes / 4);
  return JSON.stringify({ cniVersion: '1.0.0', name: 'aws-cni', type: 'podnet-cni', extra: JSON.parse(`${'['.repeat(depth)}${']'.repeat(depth)}`) });
}

/** ADD then DEL through the installed launcher; stdin must reach ipamd byte for byte. */
async function addAndDelete(config: string, id: string): Promise<void> {
  const first = calls.length;
  const add = await runLauncher(launcher, env('ADD', id), config);
  assert.equal(add.code, 0, add.stdout.slice(0, 300) + add.stderr);
  assert.equal(calls[first]!.stdin, config);
  const del = await runLauncher(launcher, env('DEL', id), config);
  assert.deepEqual([del.code, node.assigned.size], [0, 0], del.stdout.slice(0, 300) + del.stderr);
}

test('16 KB of nested arrays in the config reaches ipamd whole (the scanner took more than 100 s)', { timeout: 20_000 }, async () => {
  await addAndDelete(nestedConfig(16 * 1024), 'c-nested');
});

test('a 1 MB config, with and without a trailing newline, reaches ipamd byte-exact', { timeout: 20_000 }, async () => {
  const big = JSON.stringify({ cniVersion: '1.0.0', name: 'aws-cni', type: 'podnet-cni', description: 'x'.repeat(1 << 20) });
  await addAndDelete(big, 'c-big');
  await addAndDelete(`${big}\n\n`, 'c-big-nl');
});

test('the installed launcher calls the socket install wrote, whatever the config names as ipamdSocket', async () => {
  const text = readFileSync(launcher, 'utf8');
  assert.ok(text.includes(`ipamd_socket='${served.socket.replace(/'/g, `'\\''`)}'`), 'the socket is baked in, shell-quoted');
  const decoy = JSON.stringify({ cniVersion: '1.0.0', name: 'aws-cni', type: 'podnet-cni', ipamdSocket: join(dir, 'decoy.sock') });
  await addAndDelete(decoy, 'c-decoy');
});
