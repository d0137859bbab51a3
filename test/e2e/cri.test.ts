import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { run } from '../../src/lib/index.js';
import { connectCri, type CriClient } from './cri/client.js';
import { criCgroupParent, DEBIAN_CNI_BIN, importBusyboxImage, sandboxProblem, startContainerd, type Containerd } from './harness.js';

// containerd's CRI plugin + runc drive a CNI chain through RunPodSandbox / StopPodSandbox / RemovePodSandbox, the
// calls a kubelet makes. containerd runs inside an emulated node (its own netns, lab-recipes §5.3), so the plugins'
// veths, routes and portmap rules land in the node. A peer namespace on the node's subnet reaches the pod through
// the node address and a hostPort.
const skip = sandboxProblem() ?? false;
const node = 'podnet-cri-node';
const peer = 'podnet-cri-peer';
const nodeIp = '10.0.1.20';
const peerIp = '10.0.1.10';
const podSubnet = '10.0.64.0/24';
const sandboxImage = 'localhost/podnet/echo:1';
const echoPort = 8080;
const hostPort = 30080;

let containerd: Containerd;
let cri: CriClient;
let ipamDir: string;

before(async () => {
  if (skip) return;
  await run(['ip', '-batch', '-'], {
    input: [`netns add ${node}`, `netns add ${peer}`, `link add eth0 netns ${node} type veth peer name eth0 netns ${peer}`].join('\n'),
  });
  await run(['ip', '-n', node, '-batch', '-'], { input: ['link set lo up', `addr add ${nodeIp}/24 dev eth0`, 'link set eth0 up'].join('\n') });
  await run(['ip', '-n', peer, '-batch', '-'], { input: ['link set lo up', `addr add ${peerIp}/24 dev eth0`, 'link set eth0 up'].join('\n') });

  const cniPlugins = Object.fromEntries(['ptp', 'host-local', 'portmap'].map((p) => [p, join(DEBIAN_CNI_BIN, p)]));
  containerd = await startContainerd({ netns: node, cniPlugins, sandboxImage });
  ipamDir = join(containerd.dir, 'ipam');
  containerd.writeCniConfig('10-podnet-cri.conflist', {
    cniVersion: '1.0.0',
    name: 'podnet-cri',
    plugins: [
      { type: 'ptp', ipMasq: false, ipam: { type: 'host-local', ranges: [[{ subnet: podSubnet }]], routes: [{ dst: '0.0.0.0/0' }], dataDir: ipamDir } },
      { type: 'portmap', capabilities: { portMappings: true } },
    ],
  });
  // the sandbox ("pause") container is itself the workload: a persistent busybox TCP echo server
  await importBusyboxImage(containerd, sandboxImage, ['sh', 'nc', 'cat'], {
    cmd: ['/bin/nc', '-ll', '-p', String(echoPort), '-e', '/bin/cat'],
    namespace: 'k8s.io',
  });
  cri = connectCri(containerd.socket);
});

after(async () => {
  cri?.close();
  if (containerd) await containerd.stop();
  await run(['ip', '-batch', '-'], { input: `netns del ${node}\nnetns del ${peer}` }).catch(() => {});
});

test('containerd answers CRI Version over gRPC with runtime API v1', { skip }, async () => {
  const v = await cri.version();
  assert.equal(v.runtimeName, 'containerd');
  assert.equal(v.runtimeApiVersion, 'v1');
});

test('RunPodSandbox wires the pod, a hostPort carries TCP from a peer, Stop/Remove release the address', { skip }, async () => {
  const id = await cri.runPodSandbox({
    metadata: { name: 'echo-0', uid: 'uid-echo-0', namespace: 'e2e' },
    hostname: 'echo-0',
    portMappings: [{ protocol: 'TCP', containerPort: echoPort, hostPort }],
    linux: { cgroupParent: criCgroupParent },
  });
  const status = await cri.podSandboxStatus(id);
  assert.equal(status.state, 'SANDBOX_READY');
  const podIp = status.network?.ip ?? '';
  assert.match(podIp, /^10\.0\.64\.\d+$/, `PodSandboxStatus reports no ${podSubnet} address:\n${containerd.logTail()}`);
  assert.ok(existsSync(join(ipamDir, 'podnet-cri', podIp)), `host-local holds no lease for ${podIp}`);
  const nodeRoutes = (await run(['ip', '-n', node, '-4', 'route', 'show'])).stdout;
  assert.match(nodeRoutes, new RegExp(`^${podIp.replace(/\./g, '\\.')} dev \\w+`, 'm'), 'no host route to the pod in the node');

  const { stdout: echoed } = await run(['socat', '-T', '3', '-', `TCP:${nodeIp}:${hostPort}`], { netns: peer, input: 'through the hostPort\n', timeoutMs: 10_000 });
  assert.equal(echoed, 'through the hostPort\n');

  await cri.stopPodSandbox(id);
  assert.ok(!existsSync(join(ipamDir, 'podnet-cri', podIp)), `host-local still holds ${podIp} after StopPodSandbox`);
  const nat = (await run(['iptables-save', '-t', 'nat'], { netns: node })).stdout;
  assert.doesNotMatch(nat, new RegExp(`--to-destination ${podIp.replace(/\./g, '\\.')}:${echoPort}`), 'portmap DNAT left behind');
  await cri.removePodSandbox(id);
  await assert.rejects(cri.podSandboxStatus(id), /NotFound|not found/i);
});
