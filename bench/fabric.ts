/**
 * The fabric controller at 100 ENIs: how long rendering the VPC router takes (pure: routes, rules, the nft table with
 * the source/destination check, 6 security groups with group references and 2 network ACLs), how long the whole first
 * reconcile takes (veth pairs, routes, rules, nft), one address added (an `eni` event until the router holds it), and a
 * security-group change (render + replace the router's table, what a `filtering` event costs after its Describe). The
 * same render without filtering is the peer, side by side. Runs itself inside a disposable sandbox (new PID, mount and
 * network namespaces, private /run/netns). Root only. Prints a table; asserts nothing.
 *
 *   npm run bench:fabric -- [--enis N] [--runs R]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { formatTable } from '../src/cli/output.js';
import type { Ec2Facts, EniMapping } from '../src/ec2/index.js';
import { LabState, parseScenario, planFabric, renderFabric, renderFixedFabric, type LabRecord } from '../src/lab/index.js';
import { ipBatch, replaceNftTable, setSysctls } from '../src/lab/apply.js';
import { FabricController } from '../src/lab/controller.js';
import { labNamespaces as ns } from '../src/lab/index.js';
import type { Filtering, SecurityGroup } from '../src/vpc/index.js';
import { numberFlag, percentile, reexecInSandbox } from './stats.js';

reexecInSandbox('fabric', import.meta.url);

const enis = numberFlag('enis', 100, { whole: true });
const runs = numberFlag('runs', 20, { whole: true });
const nodes = Math.ceil(enis / 2);
const names = Array.from({ length: nodes }, (_, i) => `node-${i + 1}`);

// Two subnets, each with its own ACL; two ENIs per node with 10 addresses each (one node in ten with a /28 prefix).
const scenario = parseScenario({
  vpcs: [{ name: 'main', cidr: '10.0.0.0/16' }],
  subnets: [
    { name: 'a', vpc: 'main', az: 'us-west-2a', cidr: '10.0.0.0/18' },
    { name: 'b', vpc: 'main', az: 'us-west-2b', cidr: '10.0.64.0/18' },
  ],
  instances: names.map((n, i) => ({ name: n, type: 'm5.large', subnet: i % 2 === 0 ? 'a' : 'b' })),
  nodes: names.map((n) => ({ instance: n })),
});
const plan = planFabric(scenario);
const rule = (protocol: 'tcp' | 'all', peer: { cidr: string } | { groupId: string }, port?: number) => ({ protocol, ...(port ? { ports: { from: port, to: port } } : {}), peer });
const groups: SecurityGroup[] = Array.from({ length: 6 }, (_, g) => ({
  id: `sg-${g}`,
  name: `group-${g}`,
  vpcId: 'vpc-main',
  ingress: [rule('all', { groupId: `sg-${g}` }), rule('tcp', { groupId: `sg-${(g + 1) % 6}` }, 7007), rule('tcp', { cidr: '10.1.0.0/16' }, 443 + g)],
  egress: [rule('all', { cidr: '0.0.0.0/0' })],
}));
const acl = (id: string, subnet: string) => ({
  id,
  vpcId: 'vpc-main',
  isDefault: false,
  subnetIds: [subnet],
  entries: [
    { ruleNumber: 90, egress: false, protocol: 'tcp' as const, ports: { from: 22, to: 22 }, cidr: '0.0.0.0/0', action: 'deny' as const },
    { ruleNumber: 100, egress: false, protocol: 'all' as const, cidr: '0.0.0.0/0', action: 'allow' as const },
    { ruleNumber: 100, egress: true, protocol: 'all' as const, cidr: '0.0.0.0/0', action: 'allow' as const },
  ],
});
const filtering: Filtering = { securityGroups: groups, networkAcls: [acl('acl-a', 'subnet-a'), acl('acl-b', 'subnet-b')] };
const facts: Ec2Facts = {
  vpcs: [{ id: 'vpc-main', name: 'main', cidr: '10.0.0.0/16' }],
  subnets: [
    { id: 'subnet-a', name: 'a', vpcId: 'vpc-main', cidr: '10.0.0.0/18', routeTableId: 'rtb-main' },
    { id: 'subnet-b', name: 'b', vpcId: 'vpc-main', cidr: '10.0.64.0/18', routeTableId: 'rtb-main' },
  ],
  routeTables: [{ id: 'rtb-main', vpcId: 'vpc-main', routes: [{ destination: '10.0.0.0/16', target: { kind: 'local' } }] }],
  internetGateways: [],
  natGateways: [],
  peerings: [],
  instances: names.map((n, i) => ({ id: `i-${i}`, name: n })),
  securityGroups: groups.map(({ id, name, vpcId }) => ({ id, name, vpcId })),
  filtering,
};
const hex = (n: number) => n.toString(16).padStart(2, '0');
const mappings: EniMapping[] = Array.from({ length: enis }, (_, e) => {
  const node = Math.floor(e / 2);
  const base = (node % 2 === 0 ? 0 : 64) * 256 + Math.floor(node / 2) * 32 + (e % 2) * 16 + 4;
  const ip = (n: number) => `10.0.${Math.floor(n / 256)}.${n % 256}`;
  return {
    eniId: `eni-${e}`,
    mac: `02:00:00:00:${hex(Math.floor(e / 256))}:${hex(e % 256)}`,
    vpcId: 'vpc-main',
    subnetId: node % 2 === 0 ? 'subnet-a' : 'subnet-b',
    instanceId: `i-${node}`,
    deviceIndex: e % 2,
    privateIps: Array.from({ length: 10 }, (_, k) => ip(base + k)),
    ipv4Prefixes: node % 10 === 0 ? [`10.0.${128 + Math.floor(e / 16)}.${(e % 16) * 16}/28`] : [],
    ipv6Addresses: [],
    ipv6Prefixes: [],
    publicIps: {},
    groupIds: [`sg-${node % 6}`, ...(node % 3 === 0 ? [`sg-${(node + 1) % 6}`] : [])],
    description: '',
    requesterManaged: false,
  };
});

const timeRender = (f: Ec2Facts) => {
  const samples: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    renderFabric(plan, scenario, f, mappings);
    samples.push(performance.now() - t);
  }
  return samples;
};
const renderWith = timeRender(facts);
const renderWithout = timeRender({ ...facts, filtering: undefined });

// The namespaces, as lab up builds them: the fixed fabric and one namespace per node.
const fixed = renderFixedFabric(plan);
const nodeNs = names.map((n) => ns.node(n));
await ipBatch([...fixed.netnsAdds, ...nodeNs.map((n) => `netns add ${n}`)]);
for (const [n, values] of fixed.sysctls) await setSysctls(n, values);
await ipBatch(fixed.linkAdds);
for (const [n, lines] of fixed.perNs) await ipBatch(lines, n);

const stateDir = mkdtempSync(join(tmpdir(), 'podnet-bench-fabric-'));
process.on('exit', () => rmSync(stateDir, { recursive: true, force: true }));
const state = new LabState(stateDir);
state.ensure();
const lab = { plan } as unknown as LabRecord;
const controller = new FabricController(state, lab, scenario, facts, () => {});
/** Sends an event and waits until the controller has published the reconcile it caused. */
const reconcileAfter = async (event: Parameters<FabricController['onEvent']>[0]) => {
  const before = state.readFabric()?.generation ?? 0;
  const t = performance.now();
  controller.onEvent(event);
  while ((state.readFabric()?.generation ?? 0) <= before) await sleep(1);
  const fabric = state.readFabric()!;
  if (fabric.error) throw new Error(fabric.error);
  return performance.now() - t;
};
const first = await reconcileAfter({ type: 'snapshot', enis: mappings });
const addressAdded: number[] = [];
for (let i = 0; i < Math.min(runs, 10); i++) {
  const eni = mappings[i]!;
  eni.privateIps = [...eni.privateIps, `10.0.200.${i + 1}`];
  addressAdded.push(await reconcileAfter({ type: 'eni', eni }));
}

// A security-group change: one rule more in a group, rendered and the router's table replaced (the controller's work
// after the filtering event's Describe).
const sgChange: number[] = [];
for (let i = 0; i < Math.min(runs, 10); i++) {
  groups[0]!.ingress.push(rule('tcp', { cidr: `10.2.${i}.0/24` }, 8000 + i));
  const t = performance.now();
  const desired = renderFabric(plan, scenario, facts, mappings);
  await replaceNftTable(plan.vpcs[0]!.router, desired.nft.get(plan.vpcs[0]!.router)!);
  sgChange.push(performance.now() - t);
}
// the peer: the same replacement of the router's table without filtering (the source/destination check only)
const plainTable: number[] = [];
for (let i = 0; i < Math.min(runs, 10); i++) {
  const t = performance.now();
  const desired = renderFabric(plan, scenario, { ...facts, filtering: undefined }, mappings);
  await replaceNftTable(plan.vpcs[0]!.router, desired.nft.get(plan.vpcs[0]!.router)!);
  plainTable.push(performance.now() - t);
}
await ipBatch([...plan.namespaces, ...nodeNs].map((n) => `netns del ${n}`)).catch(() => undefined);

const ms = (v: number) => v.toFixed(1);
const row = (what: string, samples: number[]) => [what, String(samples.length), ms(percentile(samples, 50)), ms(percentile(samples, 90)), ms(Math.max(...samples))];
process.stdout.write(`fabric with ${enis} ENIs on ${nodes} nodes, 6 security groups (group references), 2 network ACLs\n`);
process.stdout.write(
  formatTable(
    ['what', 'runs', 'p50 ms', 'p90 ms', 'max ms'],
    [
      row('render, with filtering', renderWith),
      row('render, without filtering (peer)', renderWithout),
      row('first reconcile (links, routes, rules, nft)', [first]),
      row('reconcile after one address added', addressAdded),
      row('security-group change: render + nft table', sgChange),
      row('render + nft table without filtering (peer)', plainTable),
    ],
  ) + '\n',
);
process.stdout.write(`render with filtering / without: ${(percentile(renderWith, 50) / percentile(renderWithout, 50)).toFixed(2)}×\n`);
