// The running lab's reader (buildLabWorld) over a lab of examples/lab-sgp.yaml as its state files would have it — the
// fabric's mappings (branch ENIs carrying `trunk`), the nodes' env, the pods' recorded addresses (a branch pod's is its
// branch's) — taken from the offline simulation of the same scenario: both readers must give explain the same world,
// so every SGP check answers the same.
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import type { Ec2Facts, EniMapping } from '../../../src/ec2/index.js';
import { explainFlow, type AttachedEni, type World } from '../../../src/explain/index.js';
import { buildLabWorld, loadScenario, planFabric, scenarioWorld, sgpDemoCases, type LabRecord, type PodRecord } from '../../../src/lab/index.js';
import type { FabricStatus } from '../../../src/lab/state.js';

const scenarioPath = new URL('../../../examples/lab-sgp.yaml', import.meta.url).pathname;
let offline: World;
let lab: World;

before(async () => {
  const scenario = await loadScenario(scenarioPath);
  offline = await scenarioWorld(scenario);
  const { enis: attached, onPremises: _onPremises, ...vpcFacts } = offline.model;
  const facts: Ec2Facts = {
    ...vpcFacts,
    instances: Object.entries(offline.instanceNames).map(([id, name]) => ({ id, name })),
    securityGroups: (offline.model.filtering?.securityGroups ?? []).map((g) => ({ id: g.id, name: g.name, vpcId: g.vpcId })),
  };
  const enis = (attached as AttachedEni[]).map((e): EniMapping & { wired: boolean } => ({
    ...e, mac: '02:00:00:00:00:01', ipv6Addresses: [], ipv6Prefixes: [], groupIds: e.groupIds ?? [], description: '', requesterManaged: false, wired: true,
  }));
  const fabric: FabricStatus = { generation: 1, updatedAt: '', enis, eventsConnected: true, facts };
  const idOf = (name: string) => Object.entries(offline.instanceNames).find(([, n]) => n === name)![0];
  const record = {
    plan: planFabric(scenario),
    nodes: Object.fromEntries(scenario.nodes.map((n) => [n.instance, { name: n.instance, instanceId: idOf(n.instance), ns: `pn-n-${n.instance}`, env: n.env }])),
    hosts: Object.fromEntries(scenario.hosts.map((h) => [h.instance, { ns: `pn-h-${h.instance}`, instanceId: idOf(h.instance) }])),
  } as unknown as LabRecord;
  const pods = offline.endpoints.filter((e) => e.kind === 'pod').map((e): PodRecord => ({ name: e.name, node: e.node!, ns: `pn-p-${e.name}`, hostNetwork: e.hostNetwork ?? false, ip: e.address, containerId: e.name }));
  lab = buildLabWorld(record, fabric, pods, { connmarkBackend: 'nftables', randomFullySupported: true });
});

test("the lab's world has the branch ENIs' trunks, the ENIs' interface types and each node's pod-ENI settings from its env", () => {
  const enis: readonly AttachedEni[] = lab.model.enis;
  const branch = enis.find((e) => e.privateIps[0] === lab.endpoints.find((p) => p.name === 'branch-std-ext')!.address)!;
  assert.equal(branch.trunk?.vlanId, 1);
  // each mapping's interface type too: the trunk is known as one without asking its branches
  assert.deepEqual([enis.find((e) => e.eniId === branch.trunk!.trunkEniId)?.interfaceType, branch.interfaceType], ['trunk', 'branch']);
  const settings = Object.fromEntries(lab.nodes.map((n) => [n.name, `${n.settings.podEni} ${n.settings.podSgEnforcingMode}`]));
  assert.deepEqual(settings, { 'strict-snat': 'true strict', 'strict-ext': 'true strict', 'std-snat': 'true standard', 'std-ext': 'true standard', other: 'false strict', pub: 'true strict' });
});

test("every check of podnet demo --sgp answers the same over the lab's world as offline", () => {
  const checks = sgpDemoCases.flatMap((c) => c.checks);
  assert.ok(checks.length >= 16);
  const answer = (w: World, from: string, to: string) => {
    const e = explainFlow(w, { from, to, protocol: 'tcp', port: 7007 });
    return `${from} → ${to}: ${e.verdict} ${e.sourceSeen} ${e.codes.join(',')}`;
  };
  assert.deepEqual(checks.map((c) => answer(lab, c.from, c.to)), checks.map((c) => answer(offline, c.from, c.to)));
  assert.ok(checks.every((c) => answer(lab, c.from, c.to).includes(': delivered') || answer(lab, c.from, c.to).includes(': dropped')));
});

test("the lab's world has each node's DISABLE_TCP_EARLY_DEMUX from its env: the node's TCP to its strict branch pod answers as offline", () => {
  assert.deepEqual(lab.nodes.filter((n) => n.settings.disableTcpEarlyDemux).map((n) => n.name), ['strict-snat']);
  const answer = (w: World, from: string, to: string) => explainFlow(w, { from, to, protocol: 'tcp', port: 7007 }).verdict;
  assert.equal(answer(lab, 'strict-snat', 'branch-strict-snat'), 'delivered');
  assert.equal(answer(lab, 'strict-ext', 'branch-strict-ext'), 'dropped');
  assert.equal(answer(offline, 'strict-ext', 'branch-strict-ext'), 'dropped');
});
