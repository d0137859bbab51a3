// Issue 11 items 4 and 5 in the lab: every node's init step is `podnet init` in the node's namespace, so the node's
// primary ENI gets rp_filter=2 and tcp_early_demux follows the node's DISABLE_TCP_EARLY_DEMUX; with DISABLE_POD_V6 the
// node's containerd chains the tuning plugin from the conflist, and the pod it creates has IPv6 off.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import { containerdMissing, labDown, labNamespaces, labStatus, labUp } from '../../src/lab/index.js';
import { run } from '../../src/lib/index.js';

const missing = containerdMissing();
const skip = missing.length > 0 ? `containerd pods need ${missing.join(', ')}` : false;
const scenarioPath = fileURLToPath(new URL('./fixtures/init-lab.yaml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'podnet-init-lab-'));
const stateDir = join(dir, 'state');
const node = labNamespaces.node('node-a');

const sysctlIn = async (netns: string, keys: string[]) => (await run(['ip', 'netns', 'exec', netns, 'sysctl', '-n', ...keys])).stdout.trim().split('\n');

before(async () => {
  if (!skip) await labUp({ scenarioPath, stateDir, runtime: 'containerd' });
});

after(async () => {
  if (!skip) await labDown({ stateDir });
  rmSync(dir, { recursive: true, force: true });
});

test('issue 11 item 5: a lab node\'s init sets rp_filter=2 on its primary ENI and, with DISABLE_TCP_EARLY_DEMUX=true, tcp_early_demux=0', { skip, timeout: 60_000 }, async () => {
  const primary = labStatus({ stateDir }).nodes[0]!.enis.find((e) => e.device === 0)!;
  const { stdout } = await run(['ip', '-n', node, '-j', 'link', 'show']);
  const link = (JSON.parse(stdout) as { ifname: string; address: string }[]).find((l) => l.address === primary.mac);
  assert.ok(link, `no link in ${node} has the primary ENI's MAC ${primary.mac}`);
  assert.deepEqual(await sysctlIn(node, [`net.ipv4.conf.${link.ifname}.rp_filter`, 'net.ipv4.tcp_early_demux']), ['2', '0']);
});

test('issue 11 item 4: DISABLE_POD_V6=true chains tuning with disable_ipv6 sysctls and the lab pod (through containerd) has no IPv6 address', { skip, timeout: 60_000 }, async () => {
  const pod = labNamespaces.pod('pod-a');
  assert.deepEqual(await sysctlIn(pod, ['net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.default.disable_ipv6', 'net.ipv6.conf.lo.disable_ipv6', 'net.ipv6.conf.eth0.disable_ipv6']), ['1', '1', '1', '1']);
  const { stdout } = await run(['ip', '-n', pod, '-6', '-o', 'addr', 'show']);
  assert.equal(stdout.trim(), '', 'no IPv6 address in the pod, not even on lo');
  const { stdout: v4 } = await run(['ip', '-n', pod, '-4', '-o', 'addr', 'show', 'dev', 'eth0']);
  assert.match(v4, /inet 10\.0\.\d+\.\d+\/32/, 'the pod still has its IPv4 address');
});
