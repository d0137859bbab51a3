/**
 * `podnet explain` at cluster scale: a generated lab scenario of 50 nodes and 1,000 pods (a main VPC with a public
 * and a private subnet, an internet gateway, a NAT gateway, a peered VPC behind a network ACL, internet hosts; nodes
 * with the default SNAT, external SNAT, SNAT exclusions, prefix delegation, pre-1.8 routing; pods on secondary ENIs
 * and hostNetwork pods), built into a World by the offline reader (`--scenario`: EC2 in process, every node's ipamd
 * simulated), then explainFlow over seeded random flows between every kind of endpoint. Prints the world's build
 * time and flows explained per second; asserts nothing.
 *
 *   npm run bench:explain -- [--nodes N] [--pods-per-node P] [--flows F] [--seed S] [--json]
 */
import { explainFlow, type ExplainProtocol, type ExplainVerdict } from '../src/explain/index.js';
import { parseScenario, scenarioWorld } from '../src/lab/index.js';
import { seededRandom } from '../src/lib/index.js';
import { numberFlag } from './stats.js';

// the SDK's notice that Node 20 support ends would bury the figures (the CLI turns it off the same way)
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const nodes = numberFlag('nodes', 50, { whole: true });
const podsPerNode = numberFlag('pods-per-node', 20, { whole: true });
const flows = numberFlag('flows', 20_000, { whole: true });
const seed = numberFlag('seed', 14, { whole: true });
const json = process.argv.includes('--json');
const progress = (line: string) => {
  if (process.stderr.isTTY && !json) process.stderr.write(`\r\x1b[K${line}`);
};

/** The scenario: node i's settings and pods follow i, so the same flags give the same scenario. */
function generatedScenario(): unknown {
  const pad = (i: number) => String(i).padStart(2, '0');
  const envOf = (i: number): Record<string, string> => {
    switch (i % 5) {
      case 1: return { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' };
      case 2: return { AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: '10.1.0.0/16' };
      case 3: return { ENABLE_PREFIX_DELEGATION: 'true' };
      case 4: return { PODNET_PRE_1_8_ROUTING: 'true' };
      default: return {};
    }
  };
  const instances = Array.from({ length: nodes }, (_, i) => ({
    name: `node-${pad(i)}`, type: 'm5.xlarge', subnet: i % 4 === 0 ? 'public-a' : 'private-a', publicIp: i % 8 === 0, securityGroups: ['nodes'],
  }));
  const pods = instances.flatMap((inst, i) => Array.from({ length: podsPerNode }, (_, k) => ({
    name: `p-${pad(i)}-${pad(k)}`, node: inst.name,
    ...(k === 0 ? { hostNetwork: true } : {}),
    // a pod behind the second ENI on every other node (prefix nodes keep theirs in the primary ENI's prefixes)
    ...(k === 1 && i % 2 === 0 && i % 5 !== 3 ? { eni: 1 } : {}),
  })));
  return {
    vpcs: [{ name: 'main', cidr: '10.0.0.0/16' }, { name: 'peer', cidr: '10.1.0.0/16' }],
    subnets: [
      { name: 'public-a', vpc: 'main', az: 'us-west-2a', cidr: '10.0.0.0/19' },
      { name: 'private-a', vpc: 'main', az: 'us-west-2a', cidr: '10.0.32.0/19' },
      { name: 'peer-a', vpc: 'peer', az: 'us-west-2a', cidr: '10.1.0.0/24' },
    ],
    internetGateways: [{ name: 'main-igw', vpc: 'main' }],
    natGateways: [{ name: 'nat-a', subnet: 'public-a' }],
    peerings: [{ name: 'main-peer', requester: 'main', accepter: 'peer' }],
    routeTables: [
      { name: 'public', vpc: 'main', subnets: ['public-a'], routes: [{ destination: '0.0.0.0/0', igw: 'main-igw' }, { destination: '10.1.0.0/16', pcx: 'main-peer' }] },
      { name: 'private', vpc: 'main', subnets: ['private-a'], routes: [{ destination: '0.0.0.0/0', nat: 'nat-a' }, { destination: '10.1.0.0/16', pcx: 'main-peer' }] },
      { name: 'peer', vpc: 'peer', subnets: ['peer-a'], routes: [{ destination: '10.0.0.0/16', pcx: 'main-peer' }] },
    ],
    securityGroups: [
      { name: 'nodes', vpc: 'main', ingress: [{ protocol: 'all', cidr: '10.0.0.0/16' }, { protocol: 'all', cidr: '10.1.0.0/16' }, { protocol: 'tcp', ports: 7007, cidr: '0.0.0.0/0' }] },
      { name: 'peer-hosts', vpc: 'peer', ingress: [{ protocol: 'all', cidr: '10.0.0.0/17' }] },
    ],
    networkAcls: [{
      name: 'peer-acl', vpc: 'peer', subnets: ['peer-a'],
      ingress: [{ rule: 90, protocol: 'udp', cidr: '10.0.0.0/16', action: 'deny' }, { rule: 100, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' }],
      egress: [{ rule: 100, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' }],
    }],
    instances: [...instances, { name: 'peer-host', type: 't3.micro', subnet: 'peer-a', securityGroups: ['peer-hosts'] }],
    nodes: instances.map((inst, i) => ({ instance: inst.name, env: envOf(i) })),
    hosts: [{ instance: 'peer-host' }],
    internetHosts: [{ name: 'inet-a', address: '198.51.100.10' }, { name: 'inet-b', address: '198.51.100.20' }],
    pods,
  };
}

progress('building the world (EC2 in process, every node\'s ipamd simulated)…');
const buildStarted = performance.now();
const world = await scenarioWorld(parseScenario(generatedScenario(), 'generated scenario'));
const buildMs = performance.now() - buildStarted;

const names = world.endpoints.map((e) => e.name);
// the few endpoints outside the cluster (internet hosts, the peered VPC's host) take part in a fifth of the flows
const outside = world.endpoints.filter((e) => e.kind === 'internet' || e.kind === 'host').map((e) => e.name);
const random = seededRandom(seed);
const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
const endpointName = () => (random() < 0.1 ? pick(outside) : pick(names));
const protocols: ExplainProtocol[] = ['tcp', 'tcp', 'udp', 'icmp'];
const queries = Array.from({ length: flows }, () => {
  const protocol = pick(protocols);
  return { from: endpointName(), to: endpointName(), protocol, ...(protocol === 'icmp' ? {} : { port: random() < 0.8 ? 7007 : 443 }) };
});

const verdicts: Record<ExplainVerdict | 'refused', number> = { delivered: 0, dropped: 0, unknown: 0, refused: 0 };
const runStarted = performance.now();
const cpuStarted = process.cpuUsage();
for (let i = 0; i < queries.length; i++) {
  try {
    verdicts[explainFlow(world, queries[i]!).verdict]++;
  } catch {
    // a question the engine refuses as asked (e.g. FROM and TO the same endpoint)
    verdicts.refused++;
  }
  if (i % 1000 === 0) progress(`explaining: ${i}/${flows} flows`);
}
const runMs = performance.now() - runStarted;
const cpu = process.cpuUsage(cpuStarted);
const cpuMs = (cpu.user + cpu.system) / 1000;
progress('');

const pods = world.endpoints.filter((e) => e.kind === 'pod').length;
const result = {
  nodes: world.nodes.length,
  pods,
  endpoints: world.endpoints.length,
  enis: world.model.enis.length,
  worldBuildMs: Math.round(buildMs),
  flows,
  explainMs: Math.round(runMs),
  flowsPerSecond: Math.round(flows / (runMs / 1000)),
  microsecondsPerFlow: Math.round((runMs * 1000) / flows),
  // on a busy machine wall time includes waiting for a core; CPU time is what explaining cost
  explainCpuMs: Math.round(cpuMs),
  flowsPerCpuSecond: Math.round(flows / (cpuMs / 1000)),
  verdicts,
  seed,
};
if (json) {
  process.stdout.write(JSON.stringify(result, null, 2) + '\n');
} else {
  console.log(`world: ${result.nodes} nodes, ${pods} pods (${world.endpoints.length} endpoints), ${result.enis} ENIs — built by the offline reader in ${result.worldBuildMs} ms`);
  console.log(`explainFlow: ${flows} random flows (seed ${seed}) in ${result.explainMs} ms — ${result.flowsPerSecond} flows/s, ${result.microsecondsPerFlow} µs per flow (CPU ${result.explainCpuMs} ms: ${result.flowsPerCpuSecond} flows per CPU second)`);
  console.log(`  verdicts: ${Object.entries(verdicts).map(([v, n]) => `${v} ${n}`).join(', ')}`);
}
