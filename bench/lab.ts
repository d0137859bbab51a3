/**
 * The lab at scale: `lab up` time for a 10-node scenario (EC2/IMDS emulator, fabric controller, ipamd per node),
 * then pods per second for 200 pods created through the CNI, one runtime per node in parallel (as 10 kubelets
 * would), each counted when the fabric routes its address; then `lab down` time. Runs itself inside a disposable
 * sandbox (new PID, mount and network namespaces, private /run/netns), so nothing touches the machine. Root only.
 * Prints a table; asserts nothing.
 *
 *   npm run bench:lab -- [--nodes N] [--pods P]
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable } from '../src/cli/output.js';
import { labDown, labUp, podAdd, probe } from '../src/lab/index.js';
import { numberFlag, reexecInSandbox } from './stats.js';

reexecInSandbox('lab', import.meta.url);

const nodes = numberFlag('nodes', 10, { whole: true });
const pods = numberFlag('pods', 200, { whole: true });
const perNode = Math.ceil(pods / nodes);
const dir = mkdtempSync(join(tmpdir(), 'podnet-bench-lab-'));
const stateDir = join(dir, 'state');
const scenarioPath = join(dir, 'scenario.yaml');
const names = Array.from({ length: nodes }, (_, i) => `node-${i + 1}`);
// m5.large holds 29 pods (3 ENIs × 9 secondary IPs + 2); MINIMUM_IP_TARGET keeps the addresses ready, so the
// number measures pod creation, not EC2 pool growth.
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

const t0 = performance.now();
await labUp({ scenarioPath, stateDir });
const upSeconds = (performance.now() - t0) / 1000;

const t1 = performance.now();
await Promise.all(
  names.map(async (node, i) => {
    for (let k = 0; k < perNode && i * perNode + k < pods; k++) await podAdd({ stateDir, node, name: `p${i + 1}-${k + 1}` });
  }),
);
const podSeconds = (performance.now() - t1) / 1000;
const check = await probe(`p1-1`, 'web', { stateDir });

const t2 = performance.now();
const down = await labDown({ stateDir });
const downSeconds = (performance.now() - t2) / 1000;

process.stdout.write(
  formatTable(
    ['measure', 'value'],
    [
      ['nodes (ipamd each)', nodes],
      ['lab up (fabric, emulator, controller, ipamd ready)', `${upSeconds.toFixed(1)} s`],
      [`pods through the CNI (${nodes} in parallel)`, pods],
      ['pod creation', `${podSeconds.toFixed(1)} s = ${(pods / podSeconds).toFixed(1)} pods/s (${((podSeconds * 1000 * nodes) / pods).toFixed(0)} ms per pod per node)`],
      ['probe p1-1 → internet', check.delivered ? `delivered, seen as ${check.saw}` : `NOT delivered (${check.error})`],
      ['lab down', `${downSeconds.toFixed(1)} s (${down.namespaces} namespaces, ${down.processes} processes)`],
    ],
  ),
);
