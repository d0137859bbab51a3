// kubectl against a lab (one bring-up of test/netns/fixtures/kubectl-lab.yaml): the nodes join and are Ready, a pod
// applied with kubectl runs with a VPC address, the seeds' `kubectl set env … AWS_VPC_K8S_CNI_EXTERNALSNAT=true`
// changes the source address a peered host sees, an ENIConfig selected by a node label gives its pods their subnet,
// a deleted pod's address goes back to ipamd's warm pool, an env `podnet config` refuses leaves the old ipamd
// running with an Event, ipamd's own token gets 403 beyond its ClusterRole, and `kubectl apply -f deploy/` works.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse } from 'yaml';
import { labDown, labKubeconfig, labStatus, labUp, probe } from '../../src/lab/index.js';
import { run } from '../../src/lib/index.js';

const stateDir = mkdtempSync(join(tmpdir(), 'podnet-lab-kubectl-'));
const home = mkdtempSync(join(tmpdir(), 'podnet-lab-kubectl-home-'));
let kubeconfig = '';

/** kubectl on the host (the newest installed), through the lab's loopback relay; never throws, returns the exit code. */
function kubectl(args: string[], o: { kubeconfig?: string; input?: string } = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--kubeconfig', o.kubeconfig ?? kubeconfig, ...args], { env: { PATH: process.env.PATH, HOME: home } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(o.input ?? '');
  });
}

async function ok(args: string[], o: { input?: string } = {}): Promise<string> {
  const r = await kubectl(args, o);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

async function json<T>(args: string[]): Promise<T> {
  return JSON.parse(await ok([...args, '-o', 'json'])) as T;
}

interface Pod {
  metadata: { name: string };
  spec: { nodeName?: string };
  status: { phase?: string; podIP?: string };
}

async function waitForPod(name: string, want: (p: Pod | null) => boolean, timeoutMs = 60_000): Promise<Pod | null> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await kubectl(['get', 'pod', name, '-o', 'json']);
    const pod = r.code === 0 ? (JSON.parse(r.stdout) as Pod) : null;
    if (want(pod)) return pod;
    if (Date.now() > deadline) throw new Error(`pod ${name}: still ${pod ? `${pod.status.phase} ${pod.status.podIP ?? ''}` : 'absent'} after ${timeoutMs / 1000} s`);
    await sleep(250);
  }
}

const podYaml = (name: string, nodeName: string) => `apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  nodeSelector: { kubernetes.io/hostname: ${nodeName} }
  containers: [{ name: main, image: localhost/podnet-lab/pause:1 }]
`;

/** instance → the Node's name (its EC2 private DNS name) */
const nodeNames: Record<string, string> = {};

before(async () => {
  const lab = await labUp({ stateDir, scenarioPath: join(import.meta.dirname, 'fixtures', 'kubectl-lab.yaml'), runtime: 'cni' });
  for (const [instance, n] of Object.entries(lab.nodes)) nodeNames[instance] = n.nodeName!;
  kubeconfig = labKubeconfig({ stateDir }).kubeconfig;
}, { timeout: 180_000 });

after(async () => {
  await labDown({ stateDir });
  rmSync(home, { recursive: true, force: true });
}, { timeout: 60_000 });

test('both nodes joined under their EC2 private DNS names and are Ready; each runs its own aws-node DaemonSet pod', { timeout: 120_000 }, async () => {
  const nodes = await json<{ items: Array<{ metadata: { name: string; labels: Record<string, string> }; status: { conditions: Array<{ type: string; status: string }> } }> }>(['get', 'nodes']);
  assert.deepEqual(nodes.items.map((n) => n.metadata.name).sort(), Object.values(nodeNames).sort());
  for (const n of nodes.items) {
    assert.match(n.metadata.name, /^ip-10-0-\d+-\d+\.us-west-2\.compute\.internal$/);
    assert.equal(n.status.conditions.find((c) => c.type === 'Ready')?.status, 'True', n.metadata.name);
    assert.equal(n.metadata.labels['podnet.io/scenario'], 'kubectl-lab');
  }
  // a Node is Ready once ipamd answers; its pod's Ready (the readiness probe) and so the DaemonSet's count may follow
  const deadline = Date.now() + 30_000;
  let counts: Array<[string, number, number]> = [];
  for (;;) {
    const ds = await json<{ items: Array<{ metadata: { name: string }; status: { numberReady: number; desiredNumberScheduled: number } }> }>(['get', 'daemonsets', '-n', 'kube-system']);
    counts = ds.items.map((d): [string, number, number] => [d.metadata.name, d.status.desiredNumberScheduled, d.status.numberReady]).sort();
    if (counts.every(([, desired, ready]) => ready === desired) || Date.now() > deadline) break;
    await sleep(500);
  }
  assert.deepEqual(counts, [['aws-node', 1, 1], ['aws-node-cn', 1, 1]]);
});

let webIp = '';

test('a pod applied with kubectl is scheduled, runs with a VPC address, and the peered host sees the node\'s address (SNAT)', { timeout: 60_000 }, async () => {
  await ok(['apply', '-f', '-'], { input: podYaml('web', nodeNames.priv!) });
  const pod = (await waitForPod('web', (p) => p?.status.phase === 'Running' && !!p.status.podIP))!;
  assert.equal(pod.spec.nodeName, nodeNames.priv);
  webIp = pod.status.podIP!;
  assert.match(webIp, /^10\.0\.(1[6-9]|2\d|3[01])\.\d+$/, `web has ${webIp}, not an address of private-a`);
  const r = await probe('web', 'peer-host', { stateDir });
  assert.equal(r.delivered, true, r.error);
  assert.equal(r.saw, labStatus({ stateDir }).nodes.find((n) => n.name === 'priv')!.enis.find((e) => e.device === 0)!.addresses[0]);
});

test("the seeds' kubectl set env AWS_VPC_K8S_CNI_EXTERNALSNAT=true rolls ipamd and the peered host then sees the pod's own address", { timeout: 90_000 }, async () => {
  await ok(['set', 'env', 'daemonset', '-n', 'kube-system', 'aws-node', 'AWS_VPC_K8S_CNI_EXTERNALSNAT=true']);
  await ok(['rollout', 'status', 'daemonset', '-n', 'kube-system', 'aws-node', '--timeout=60s']);
  const deadline = Date.now() + 30_000;
  let saw: string | null = null;
  // the new ipamd removes the SNAT rule once it has started: probe until it has
  while (Date.now() < deadline) {
    saw = (await probe('web', 'peer-host', { stateDir })).saw;
    if (saw === webIp) break;
    await sleep(500);
  }
  assert.equal(saw, webIp);
});

test('an env podnet config refuses is not rolled out: a Warning Event names it and the running ipamd stays', { timeout: 60_000 }, async () => {
  const before = (await json<{ items: Pod[] }>(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=aws-node'])).items.map((p) => p.metadata.name).sort();
  // IPv6 pods are not implemented in podnet: `podnet config` calls it an error (ipamd would refuse to start)
  await ok(['set', 'env', 'daemonset', '-n', 'kube-system', 'aws-node', 'ENABLE_IPv6=true']);
  const deadline = Date.now() + 20_000;
  let events = '';
  while (Date.now() < deadline && !/ENABLE_IPv6/.test(events)) {
    events = await ok(['get', 'events', '-n', 'kube-system', '--field-selector', 'involvedObject.name=aws-node', '-o', 'custom-columns=TYPE:.type,MSG:.message']);
    await sleep(500);
  }
  assert.match(events, /Warning\s+.*ENABLE_IPv6/);
  const after = (await json<{ items: Pod[] }>(['get', 'pods', '-n', 'kube-system', '-l', 'k8s-app=aws-node'])).items.map((p) => p.metadata.name).sort();
  assert.deepEqual(after, before);
  await ok(['set', 'env', 'daemonset', '-n', 'kube-system', 'aws-node', 'ENABLE_IPv6=false']);
  await ok(['rollout', 'status', 'daemonset', '-n', 'kube-system', 'aws-node', '--timeout=45s']);
});

test("the ENIConfig the node's label names gives its pods addresses of that subnet", { timeout: 60_000 }, async () => {
  const eniConfigs = await json<{ items: Array<{ metadata: { name: string }; spec: { subnet: string } }> }>(['get', 'eniconfigs']);
  assert.deepEqual(eniConfigs.items.map((c) => c.metadata.name), ['pods-a']);
  assert.match(eniConfigs.items[0]!.spec.subnet, /^subnet-/);
  await ok(['apply', '-f', '-'], { input: podYaml('cn-web', nodeNames.cn!) });
  const pod = (await waitForPod('cn-web', (p) => p?.status.phase === 'Running' && !!p.status.podIP))!;
  assert.match(pod.status.podIP!, /^100\.64\.(3[2-9]|[4-5]\d|6[0-3])\.\d+$/, `cn-web has ${pod.status.podIP}, not an address of pods-a`);
});

/** ipamd's introspection on the node: how many addresses it holds and how many pods have one. */
async function warmPool(instance: string): Promise<{ total: number; assigned: number }> {
  const script = "const r = await fetch('http://127.0.0.1:61679/v1/enis'); const j = await r.json(); const c = j['0']; console.log(JSON.stringify({ total: c.TotalIPs, assigned: c.AssignedIPs }));";
  const { stdout } = await run([process.execPath, '--input-type=module', '-e', script], { netns: labStatus({ stateDir }).nodes.find((n) => n.name === instance)!.namespace });
  return JSON.parse(stdout) as { total: number; assigned: number };
}

test('deleting a pod with kubectl runs CNI DEL: its address goes back to the warm pool and the record goes', { timeout: 60_000 }, async () => {
  const before = await warmPool('priv');
  await ok(['delete', 'pod', 'web', '--wait=true']);
  await waitForPod('web', (p) => p === null);
  const deadline = Date.now() + 10_000;
  while (labStatus({ stateDir }).pods.some((p) => p.name === 'web') && Date.now() < deadline) await sleep(200);
  assert.equal(labStatus({ stateDir }).pods.some((p) => p.name === 'web'), false);
  const after = await warmPool('priv');
  assert.equal(after.assigned, before.assigned - 1);
  assert.equal(after.total, before.total, 'the node keeps the address (warm), it is not given back to EC2');
});

test("ipamd's service-account token gets 403 for what its ClusterRole does not grant", { timeout: 30_000 }, async () => {
  const podsDir = join(stateDir, 'nodes', 'priv', 'pods');
  const dir = readdirSync(podsDir).find((d) => d.startsWith('kube-system_aws-node-'))!;
  const token = join(podsDir, dir, 'kubeconfig');
  // its server is the in-VPC address: from the host, the same server through the relay (the certificate names both)
  const server = ['--server', (parse(readFileSync(kubeconfig, 'utf8')) as { clusters: Array<{ cluster: { server: string } }> }).clusters[0]!.cluster.server];
  const allowed = await kubectl([...server, 'get', 'nodes'], { kubeconfig: token });
  assert.equal(allowed.code, 0, allowed.stderr);
  const refused = await kubectl([...server, 'get', 'secrets', '-n', 'kube-system'], { kubeconfig: token });
  assert.notEqual(refused.code, 0);
  assert.match(refused.stderr, /Forbidden.*system:serviceaccount:kube-system:aws-node.*cannot list resource "secrets"/);
});

test('kubectl apply -f deploy/ works against the lab', { timeout: 60_000 }, async () => {
  const out = await ok(['apply', '-f', join(import.meta.dirname, '..', '..', 'deploy')]);
  assert.match(out, /customresourcedefinition\.apiextensions\.k8s\.io\/eniconfigs\.crd\.k8s\.amazonaws\.com (unchanged|configured)/);
  assert.match(out, /daemonset\.apps\/aws-node (unchanged|configured)/);
  assert.match(out, /serviceaccount\/aws-node (unchanged|configured)/);
});
