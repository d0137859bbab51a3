import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '../../src/lib/index.js';
import { connectCri, type CriClient } from '../../src/lab/index.js';
import { criCgroupParent, DEBIAN_CNI_BIN, importBusyboxImage, sandboxProblem, startContainerd, type Containerd } from './harness.js';
import { heldAddresses, introspectedEnis, startPodnetNode, type PodnetNode } from './podnet-node.js';

// The kubelet's path to podnet: containerd's CRI plugin + runc run podnet-cni (the launcher → ipamd's socket) with
// portmap chained after it, through RunPodSandbox / StopPodSandbox / RemovePodSandbox. containerd and ipamd run
// inside the emulated node's namespace (lab-recipes §5.3), so the pod wiring and portmap's rules land there;
// ipamd gets its addresses from an in-sandbox `podnet ec2 serve`. The sandbox's root namespace plays the VPC and
// reaches the pod through the node address and a hostPort.
const skip = sandboxProblem() ?? false;
const sandboxImage = 'localhost/podnet/echo:1';
const echoPort = 8080;
const hostPort = 30080;

let dir: string;
let node: PodnetNode;
let containerd: Containerd;
let cri: CriClient;

before(async () => {
  if (skip) return;
  dir = mkdtempSync(join(tmpdir(), 'podnet-cri-'));
  // t3.medium: 5 secondary addresses on the primary ENI; the warm pool stays on it (the node has one link)
  node = await startPodnetNode({ dir, netns: 'podnet-cri-node', instanceType: 't3.medium', ipamdEnv: { WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '3' } });
  containerd = await startContainerd({
    netns: node.netns,
    cniPlugins: { 'podnet-cni': join(node.binDir, 'podnet-cni'), portmap: join(DEBIAN_CNI_BIN, 'portmap') },
    sandboxImage,
  });
  // upstream's conflist as `podnet cni install` wrote it, at CNI 1.0.0 (the newest Debian's portmap supports)
  containerd.writeCniConfig('10-aws.conflist', { ...node.conflist, cniVersion: '1.0.0' });
  // the sandbox ("pause") container is itself the workload: a persistent busybox TCP echo server
  await importBusyboxImage(containerd, sandboxImage, ['sh', 'nc', 'cat'], {
    cmd: ['/bin/nc', '-ll', '-p', String(echoPort), '-e', '/bin/cat'],
    namespace: 'k8s.io',
  });
  cri = connectCri(containerd.socket);
});

after(async () => {
  cri?.close();
  await containerd?.stop();
  await node?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** Sends a line over TCP from the sandbox's root namespace (the VPC side) and resolves with what comes back. */
function echoThrough(host: string, port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: 5_000 });
    let got = '';
    socket.setEncoding('utf8');
    socket.on('connect', () => socket.end(line));
    socket.on('data', (d: string) => (got += d));
    socket.on('end', () => resolve(got));
    socket.on('timeout', () => socket.destroy(new Error(`no answer from ${host}:${port} within 5 s`)));
    socket.on('error', reject);
  });
}

/** Every /32 in the node's warm pool, held or free (introspection /v1/enis). */
function poolAddresses(enis: unknown): Set<string> {
  return new Set(introspectedEnis(enis).flatMap((e) => Object.keys(e.AvailableIPv4Cidrs)).map((c) => c.replace(/\/32$/, '')));
}

test('containerd answers CRI Version over gRPC with runtime API v1', { skip }, async () => {
  const v = await cri.version();
  assert.equal(v.runtimeName, 'containerd');
  assert.equal(v.runtimeApiVersion, 'v1');
});

test('RunPodSandbox gets a VPC address from ipamd, a hostPort carries TCP to the pod, Stop/Remove free the address', { skip }, async () => {
  const id = await cri.runPodSandbox({
    metadata: { name: 'echo-0', uid: 'uid-echo-0', namespace: 'e2e' },
    hostname: 'echo-0',
    portMappings: [{ protocol: 'TCP', containerPort: echoPort, hostPort }],
    linux: { cgroupParent: criCgroupParent },
  });
  const status = await cri.podSandboxStatus(id);
  assert.equal(status.state, 'SANDBOX_READY');
  const podIp = status.network?.ip ?? '';
  const held = heldAddresses(await node.introspect('/v1/enis'));
  assert.equal(held.get(podIp), 'echo-0', `PodSandboxStatus shows ${podIp || 'no address'}; ipamd holds ${JSON.stringify([...held])}\n${node.logTail()}\n${containerd.logTail()}`);
  assert.match(podIp, /^10\.0\.1\.\d+$/, 'the pod address is not from the node subnet');
  // spec §3.3: the node routes the pod's /32 to its host veth
  const routes = (await run(['ip', '-4', 'route', 'show', `${podIp}/32`], { netns: node.netns })).stdout;
  assert.match(routes, new RegExp(`^${podIp.replace(/\./g, '\\.')} dev eni[0-9a-f]{11} scope link`, 'm'));

  assert.equal(await echoThrough(node.nodeIp, hostPort, 'through the hostPort\n'), 'through the hostPort\n');

  await cri.stopPodSandbox(id); // CNI DEL with the netns and prevResult
  const nat = (await run(['iptables-save', '-t', 'nat'], { netns: node.netns })).stdout;
  assert.doesNotMatch(nat, new RegExp(`--to-destination ${podIp.replace(/\./g, '\\.')}:${echoPort}`), 'portmap DNAT left behind');
  await cri.removePodSandbox(id); // CNI DEL again, with neither
  await assert.rejects(cri.podSandboxStatus(id), /NotFound|not found/i);
  const enis = await node.introspect('/v1/enis');
  assert.ok(!heldAddresses(enis).has(podIp), `ipamd still holds ${podIp} after RemovePodSandbox`);
  assert.ok(poolAddresses(enis).has(podIp), `${podIp} left the warm pool instead of becoming free`);
  assert.equal((await run(['ip', '-4', 'route', 'show', `${podIp}/32`], { netns: node.netns })).stdout, '', 'the host route to the pod is left');
});
