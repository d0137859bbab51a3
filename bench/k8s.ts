/**
 * The lab as a cluster: pods per second from `kubectl apply` of P pods (no node named: the lab's scheduler places
 * them) to all Running on N lab nodes (their kubelets make the sandboxes through the CNI, ipamd from the aws-node
 * DaemonSet gives the addresses), with `lab pod add`'s rate beside it (a Pod object bound to a node, waited for one at
 * a time per node). Each node's warm pool is sized by its scenario env (MINIMUM_IP_TARGET: a DaemonSet per node), so
 * the number measures pod start, not EC2 pool growth. Runs itself inside a disposable sandbox (new PID, mount and
 * network namespaces, private /run/netns). Root only. Prints a table; asserts nothing.
 *
 *   npm run bench:k8s -- [--nodes N] [--pods P] [--lab-pods Q]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { formatTable } from '../src/cli/output.js';
import { labDown, labKubeconfig, labUp, podAdd } from '../src/lab/index.js';
import { numberFlag, reexecInSandbox } from './stats.js';

reexecInSandbox('k8s', import.meta.url);

const nodes = numberFlag('nodes', 10, { whole: true });
const pods = numberFlag('pods', 200, { whole: true });
const labPods = numberFlag('lab-pods', 40, { whole: true });
const perNode = Math.ceil((pods + labPods) / nodes);
const dir = mkdtempSync(join(tmpdir(), 'podnet-bench-k8s-'));
const stateDir = join(dir, 'state');
const scenarioPath = join(dir, 'scenario.yaml');
const names = Array.from({ length: nodes }, (_, i) => `node-${i + 1}`);
// m5.large holds 29 pods (3 ENIs × 9 secondary IPs + 2)
writeFileSync(
  scenarioPath,
  [
    'vpcs: [{ name: main, cidr: 10.0.0.0/16 }]',
    'subnets: [{ name: nodes, vpc: main, az: us-west-2a, cidr: 10.0.0.0/19 }]',
    'internetGateways: [{ name: igw, vpc: main }]',
    'routeTables: [{ name: public, vpc: main, subnets: [nodes], routes: [{ destination: 0.0.0.0/0, igw: igw }] }]',
    'instances:',
    ...names.map((n) => `  - { name: ${n}, type: m5.large, subnet: nodes, publicIp: true }`),
    'nodes:',
    ...names.map((n) => `  - { instance: ${n}, env: { MINIMUM_IP_TARGET: "${perNode}", WARM_IP_TARGET: "1" } }`),
    'internetHosts: [{ name: web, address: 198.51.100.10 }]',
  ].join('\n') + '\n',
);

function kubectl(args: string[], input = ''): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], { env: { PATH: process.env.PATH, HOME: dir } });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`kubectl ${args.join(' ')}: ${err.trim()}`))));
    child.stdin.end(input);
  });
}

const t0 = performance.now();
await labUp({ scenarioPath, stateDir, runtime: 'cni' });
const upSeconds = (performance.now() - t0) / 1000;
const kubeconfig = labKubeconfig({ stateDir }).kubeconfig;
const kc = new KubeConfig();
kc.loadFromFile(kubeconfig);
const core = kc.makeApiClient(CoreV1Api);

const manifest = Array.from({ length: pods }, (_, i) => `apiVersion: v1\nkind: Pod\nmetadata: { name: b${i + 1} }\nspec:\n  containers: [{ name: main, image: localhost/podnet-lab/pause:1 }]\n`).join('---\n');
const t2 = performance.now();
await kubectl(['apply', '-f', '-'], manifest);
const appliedSeconds = (performance.now() - t2) / 1000;
for (;;) {
  const listed = await core.listNamespacedPod({ namespace: 'default' });
  const running = listed.items.filter((p) => p.status?.phase === 'Running' && p.status.podIP).length;
  if (running >= pods) break;
  if (performance.now() - t2 > 600_000) throw new Error(`only ${running} of ${pods} pods Running after 600 s`);
  await new Promise((r) => setTimeout(r, 100));
}
const applySeconds = (performance.now() - t2) / 1000;
const spread = (await core.listNamespacedPod({ namespace: 'default' })).items.reduce<Record<string, number>>((acc, p) => ({ ...acc, [p.spec?.nodeName ?? '-']: (acc[p.spec?.nodeName ?? '-'] ?? 0) + 1 }), {});

const t3 = performance.now();
await Promise.all(names.map(async (node, i) => {
  for (let k = i; k < labPods; k += nodes) await podAdd({ stateDir, node, name: `l${k + 1}` });
}));
const labPodSeconds = (performance.now() - t3) / 1000;

await labDown({ stateDir });
rmSync(dir, { recursive: true, force: true });

const counts = Object.values(spread);
process.stdout.write(
  formatTable(
    ['measure', 'value'],
    [
      ['nodes (kubelet + ipamd from the aws-node DaemonSet each)', nodes],
      ['lab up (fabric, emulator, API server, control plane, kubelets, nodes Ready)', `${upSeconds.toFixed(1)} s`],
      [`kubectl apply of ${pods} pods (the request)`, `${appliedSeconds.toFixed(1)} s`],
      [`kubectl apply → all ${pods} Running with an address`, `${applySeconds.toFixed(1)} s = ${(pods / applySeconds).toFixed(1)} pods/s`],
      ['pods per node (scheduler spread)', `${Math.min(...counts)}–${Math.max(...counts)}`],
      [`lab pod add × ${labPods} (${nodes} nodes in parallel, one at a time each)`, `${labPodSeconds.toFixed(1)} s = ${(labPods / labPodSeconds).toFixed(1)} pods/s`],
    ],
  ),
);
