import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/lib/index.js';
import { importBusyboxImage, sandboxProblem, startContainerd, type Containerd } from './harness.js';

// The runtime half of the e2e tier: a private containerd answers, and `ctr run --cni` drives a CNI chain end to end
// (here the reference ptp + host-local plugins; podnet's own plugin takes their place later).
const skip = sandboxProblem() ?? false;
const image = 'localhost/podnet/busybox:1';
const podSubnet = '10.0.64.0/24';
let containerd: Containerd;

before(async () => {
  if (skip) return;
  containerd = await startContainerd();
});

after(async () => {
  if (containerd) await containerd.stop();
});

test('the private containerd answers ctr version on its own socket', { skip }, async () => {
  const { stdout } = await containerd.ctr(['version']);
  assert.match(stdout, /Server:\s*\n\s*Version:\s*1\.\d+/);
});

const ipamDir = () => join(containerd.dir, 'ipam');
const addressIn = (out: string) => out.match(/inet (10\.0\.64\.\d+)\/24/)?.[1];

test('ctr run --cni wires a detached container through ptp + host-local (ADD)', { skip }, async () => {
  containerd.writeCniConfig('10-podnet-e2e.conflist', {
    cniVersion: '1.0.0',
    name: 'podnet-e2e',
    plugins: [{ type: 'ptp', ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: podSubnet }]], dataDir: ipamDir() } }],
  });
  await importBusyboxImage(containerd, image, ['sh', 'ip', 'sleep']);

  await containerd.ctr(['run', '--detach', '--cni', image, 'e2e-add', 'sleep', '60']);
  const { stdout } = await containerd.ctr(['tasks', 'exec', '--exec-id', 'addr', 'e2e-add', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  const address = addressIn(stdout);
  assert.ok(address, `no ${podSubnet} address on the container's eth0:\n${stdout}\n${containerd.logTail()}`);
  // ptp wires the host side: a veth and a /32 route to the pod in the runtime's (the sandbox's) namespace
  const routes = (await run(['ip', '-4', 'route', 'show'])).stdout;
  assert.match(routes, new RegExp(`^${address.replace(/\./g, '\\.')} dev veth\\w+`, 'm'));
  assert.ok(existsSync(join(ipamDir(), 'podnet-e2e', address)), `host-local holds no lease for ${address}`);
  // ctr runs CNI DEL only for `run --rm` (next test); a killed detached task just takes its netns and veth with it
  await containerd.ctr(['tasks', 'kill', '--signal', 'SIGKILL', 'e2e-add']);
  await containerd.ctr(['tasks', 'delete', '--force', 'e2e-add']);
  await containerd.ctr(['containers', 'delete', 'e2e-add']);
});

test('ctr run --rm --cni runs DEL when the container exits: the address is released', { skip }, async () => {
  const { stdout } = await containerd.ctr(['run', '--rm', '--cni', image, 'e2e-del', 'ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
  const address = addressIn(stdout);
  assert.ok(address, `no ${podSubnet} address on the container's eth0:\n${stdout}\n${containerd.logTail()}`);
  assert.ok(existsSync(join(ipamDir(), 'podnet-e2e')), 'host-local did not use the configured dataDir');
  assert.ok(!existsSync(join(ipamDir(), 'podnet-e2e', address)), `host-local still holds ${address} after DEL`);
  const routes = (await run(['ip', '-4', 'route', 'show'])).stdout;
  assert.doesNotMatch(routes, new RegExp(`^${address.replace(/\./g, '\\.')} `, 'm'));
});
