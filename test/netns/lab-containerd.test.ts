// Lab pods through containerd, as the kubelet makes them: `lab up --runtime containerd` runs a containerd per node
// inside the node's namespace, `lab pod add` is CRI RunPodSandbox (CNI ADD by containerd), probes reach the sandbox's
// namespace, `lab pod del` is StopPodSandbox + RemovePodSandbox, and `lab down` leaves no containerd, shim, pause
// process, namespace, mount or cgroup — also after kill -9 of a containerd.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { containerdMissing, labCgroupParent, labNamespaces, LabState, labDown, labStatus, labUp, podAdd, podDel, probe } from '../../src/lab/index.js';
import { fileURLToPath } from 'node:url';

const missing = containerdMissing();
const skip = missing.length > 0 ? `containerd pods need ${missing.join(', ')}` : false;

const scenarioPath = fileURLToPath(new URL('./fixtures/one-node-lab.yaml', import.meta.url));

const dir = mkdtempSync(join(tmpdir(), 'podnet-lab-ctr-'));
const stateDir = join(dir, 'state');

/** Processes running the named binary; the netns tier's sandbox has its own PID namespace, so all of them are ours. */
function processesNamed(name: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).map(Number).filter((pid) => {
    try {
      const argv0 = readFileSync(`/proc/${pid}/cmdline`, 'latin1').split('\0')[0] ?? '';
      return argv0 === name || argv0.endsWith(`/${name}`);
    } catch {
      return false;
    }
  });
}

before(async () => {
  if (skip) return;
  await labUp({ scenarioPath, stateDir, runtime: 'containerd' });
});

after(async () => {
  if (!skip) await labDown({ stateDir });
});

test('lab up --runtime containerd records the runtime and runs one containerd per node', { skip, timeout: 60_000 }, () => {
  const status = labStatus({ stateDir });
  assert.equal(status.runtime, 'containerd');
  const node = new LabState(stateDir).readLab()!.nodes['node-a']!;
  assert.ok(node.containerd, 'node-a has no containerd record');
  assert.deepEqual(processesNamed('containerd'), [node.containerd.pid]);
});

test('a scenario pod is a CRI sandbox: its address comes from PodSandboxStatus and it reaches the internet as the node\'s public IP', { skip, timeout: 60_000 }, async () => {
  const pod = new LabState(stateDir).pod('pod-a')!;
  assert.match(pod.containerId, /^[0-9a-f]{64}$/, 'the container id is not a CRI sandbox id');
  assert.match(pod.ip ?? '', /^10\.0\.\d+\.\d+$/);
  const r = await probe('pod-a', 'web', { stateDir });
  const publicIp = labStatus({ stateDir }).nodes[0]!.enis.find((e) => e.device === 0)!.publicIps[0];
  assert.equal(r.delivered, true, JSON.stringify(r));
  assert.equal(r.saw, publicIp);
});

test('lab pod add through CRI: pod to pod keeps both addresses; lab pod del stops and removes the sandbox', { skip, timeout: 90_000 }, async () => {
  const b = await podAdd({ stateDir, node: 'node-a', name: 'pod-b' });
  const r = await probe('pod-a', 'pod-b', { stateDir });
  assert.equal(r.delivered, true, JSON.stringify(r));
  assert.equal(r.saw, new LabState(stateDir).pod('pod-a')!.ip);
  assert.equal(r.target, b.ip);
  await podDel({ stateDir, name: 'pod-b' });
  assert.equal(existsSync(`/run/netns/${labNamespaces.pod('pod-b')}`), false, 'the pod namespace is left');
  const after = await probe('pod-a', 'web', { stateDir });
  assert.equal(after.delivered, true, 'the other pod still works');
});

test('lab down after kill -9 of containerd leaves no containerd, shim or pause process, namespace, mount or cgroup', { skip, timeout: 60_000 }, async () => {
  const lab = new LabState(stateDir).readLab()!;
  process.kill(lab.nodes['node-a']!.containerd!.pid, 'SIGKILL');
  await labDown({ stateDir });
  let left = { containerd: processesNamed('containerd'), shims: processesNamed('containerd-shim-runc-v2'), sleepers: processesNamed('sleep') };
  for (let i = 0; i < 20 && Object.values(left).some((l) => l.length > 0); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    left = { containerd: processesNamed('containerd'), shims: processesNamed('containerd-shim-runc-v2'), sleepers: processesNamed('sleep') };
  }
  assert.deepEqual(left, { containerd: [], shims: [], sleepers: [] });
  assert.deepEqual(readdirSync('/run/netns').filter((n) => n.startsWith('pn-')), []);
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes(dir) || l.includes('podnet-lab-'));
  assert.deepEqual(mounts, []);
  const parent = labCgroupParent(stateDir).slice(1);
  assert.deepEqual(readdirSync('/sys/fs/cgroup').filter((h) => existsSync(join('/sys/fs/cgroup', h, parent))), []);
  assert.equal(existsSync(stateDir), false);
});
