// The EKS cluster endpoint with real packets (fixtures/eks-endpoint.yaml: a public node with a public IP, a private
// node behind a NAT gateway, an internet host, the cluster's ENIs in two private subnets): the VPC's DNS answers the
// endpoint's name (public, then private once private access is on), the nodes join through it, an allow-list without
// the NAT gateway's EIP cuts the private node off (its Lease stops, Ready goes Unknown) until the EIP is added, and
// with private access on the nodes use the private endpoint whatever the allow-list says; an internet host outside
// the allow-list is dropped (counter endpoint-allow-list), inside it gets in.
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { test } from 'node:test';
import { CoordinationV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { run } from '../../src/lib/index.js';
import { LabState, clusterUpdate, parseNftCounters } from '../../src/lab/index.js';
import { labForFile } from './lab-per-file.js';

const stateDir = labForFile('eks-endpoint.yaml', { upTimeoutMs: 480_000 });

function lab() {
  return new LabState(stateDir).readLab()!;
}

function kube(): { core: CoreV1Api; leases: CoordinationV1Api } {
  const kc = new KubeConfig();
  kc.loadFromFile(lab().kubeconfig!);
  return { core: kc.makeApiClient(CoreV1Api), leases: kc.makeApiClient(CoordinationV1Api) };
}

/** The endpoint name's A records as the VPC resolver (base + 2) answers a query from `netns`. */
async function resolveIn(netns: string, name: string): Promise<string[]> {
  const script = `const r = new (require('node:dns').promises.Resolver)({ timeout: 2000, tries: 2 }); r.setServers(['10.0.0.2']); r.resolve4(${JSON.stringify(name)}).then((a) => console.log(JSON.stringify(a.sort())), (e) => console.log(JSON.stringify(e.code)));`;
  const { stdout } = await run([process.execPath, '-e', script], { netns });
  const answer = JSON.parse(stdout) as string[] | string;
  if (typeof answer === 'string') throw new Error(`${name} from ${netns}: ${answer}`);
  return answer;
}

/** Whether a TCP connection from `netns` to address:443 opens within `ms`. */
async function connects(netns: string, address: string, ms = 3000): Promise<boolean> {
  const script = `const s = require('node:net').connect({ host: ${JSON.stringify(address)}, port: 443, timeout: ${ms} }); s.on('connect', () => { console.log('open'); s.destroy(); }); s.on('timeout', () => { console.log('timeout'); s.destroy(); }); s.on('error', (e) => console.log(e.code));`;
  const { stdout } = await run([process.execPath, '-e', script], { netns, timeoutMs: ms + 10_000 });
  return stdout.trim() === 'open';
}

async function readiness(): Promise<Map<string, string>> {
  const nodes = await kube().core.listNode();
  return new Map(nodes.items.map((n) => [n.metadata!.name!, n.status?.conditions?.find((c) => c.type === 'Ready')?.status ?? 'none']));
}

async function waitForReady(node: string, want: string, timeoutMs: number): Promise<number> {
  const start = Date.now();
  for (;;) {
    const status = (await readiness().catch(() => new Map<string, string>())).get(node);
    if (status === want) return Date.now() - start;
    if (Date.now() - start > timeoutMs) assert.fail(`node ${node} Ready ${status}, not ${want}, after ${timeoutMs / 1000} s`);
    await sleep(1000);
  }
}

function facts() {
  const state = new LabState(stateDir);
  const l = state.readLab()!;
  const fabric = state.readFabric()!;
  const primary = (name: string) => fabric.enis.find((e) => e.instanceId === l.instances[name] && e.deviceIndex === 0)!;
  const cluster = fabric.eksClusters!.find((c) => c.name === 'lab')!;
  return {
    pub: l.nodes.pub!.nodeName!,
    priv: l.nodes.priv!.nodeName!,
    pubPublicIp: Object.values(primary('pub').publicIps)[0]!,
    natEip: fabric.facts.natGateways[0]!.publicIp!,
    cluster,
  };
}

test('the VPC resolver answers the endpoint name with the public address (private access off); both nodes joined through it', { timeout: 120_000 }, async () => {
  const l = lab();
  const { cluster, pub, priv } = facts();
  assert.equal(cluster.endpointPrivateAccess, false);
  assert.ok(cluster.publicAddress);
  for (const node of ['pn-n-pub', 'pn-n-priv']) assert.deepEqual(await resolveIn(node, l.plan.eks!.hostname), [cluster.publicAddress]);
  // the kubelets' kubeconfig names the endpoint, and both nodes are Ready through it
  assert.match(l.nodeKubeconfig!, /node-kubeconfig$/);
  const ready = await readiness();
  assert.equal(ready.get(pub), 'True');
  assert.equal(ready.get(priv), 'True');
});

test('an allow-list without the NAT EIP: the internet host and the private node are dropped (Ready Unknown); adding them restores both', { timeout: 300_000 }, async () => {
  const { pub, priv, pubPublicIp, natEip, cluster } = facts();
  assert.equal(await connects('pn-h-inet', cluster.publicAddress!), true, 'open to 0.0.0.0/0');
  const allowListDrops = async () => parseNftCounters((await run(['nft', 'list', 'table', 'ip', 'pn_eks'], { netns: 'pn-eks-lab' })).stdout).get('endpoint-allow-list') ?? 0;
  const before = await allowListDrops();
  const cut = await clusterUpdate({ stateDir, publicAccessCidrs: [`${pubPublicIp}/32`], wait: true });
  assert.equal(cut.status, 'Successful');
  assert.deepEqual(cut.endpoint?.publicAccessCidrs, [`${pubPublicIp}/32`]);
  assert.equal(await connects('pn-h-inet', cluster.publicAddress!), false, 'outside the allow-list');
  assert.ok((await allowListDrops()) > before, 'the endpoint-allow-list counter moved');
  // the private node's kubelet cannot renew its Lease: the control plane sets Ready Unknown after 20 s
  const lost = await waitForReady(priv, 'Unknown', 120_000);
  const node = (await kube().core.readNode({ name: priv })).status!.conditions!.find((c) => c.type === 'Ready')!;
  assert.equal(node.reason, 'NodeStatusUnknown');
  assert.equal(node.message, 'Kubelet stopped posting node status.');
  assert.equal((await readiness()).get(pub), 'True', 'the public node is in the allow-list');
  await clusterUpdate({ stateDir, publicAccessCidrs: [`${pubPublicIp}/32`, `${natEip}/32`, '198.51.100.0/24'], wait: true });
  assert.equal(await connects('pn-h-inet', cluster.publicAddress!), true, 'inside the allow-list');
  const back = await waitForReady(priv, 'True', 120_000);
  process.stdout.write(`# private node: Ready Unknown ${Math.round(lost / 1000)} s after the allow-list lost the NAT EIP, Ready ${Math.round(back / 1000)} s after it was added\n`);
});

test('private access on: the nodes resolve the private addresses and stay Ready whatever the allow-list says', { timeout: 240_000 }, async () => {
  const { pub, priv } = facts();
  await clusterUpdate({ stateDir, privateAccess: true, publicAccessCidrs: ['198.51.100.0/24'], wait: true });
  const { cluster } = facts();
  const privateAddresses = cluster.enis.map((e) => e.privateIp).sort();
  assert.equal(privateAddresses.length >= 2, true);
  for (const node of ['pn-n-pub', 'pn-n-priv']) assert.deepEqual(await resolveIn(node, lab().plan.eks!.hostname), privateAddresses);
  assert.equal(await connects('pn-n-priv', privateAddresses[0]!), true, 'the private endpoint answers on tcp/443');
  // neither node is in the allow-list any more: they renew their Leases over the private endpoint
  await sleep(25_000);
  const leases = kube().leases;
  for (const name of [pub, priv]) {
    const lease = await leases.readNamespacedLease({ name, namespace: 'kube-node-lease' });
    const age = Date.now() - new Date(lease.spec!.renewTime as unknown as string).getTime();
    assert.ok(age < 20_000, `${name}'s Lease renewed ${Math.round(age / 1000)} s ago`);
  }
  const ready = await readiness();
  assert.equal(ready.get(pub), 'True');
  assert.equal(ready.get(priv), 'True');
});
