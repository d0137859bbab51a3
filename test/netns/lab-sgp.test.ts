// `podnet demo --sgp` with real packets, against ONE bring-up of examples/lab-sgp.yaml: the sgp-controller gives the
// selected pods branch ENIs, the fabric wires them into their nodes as vlan.eth.<id>, the VPC router enforces their
// groups. Every demo row must pass (explain's expectation confirmed by a probe); then, independently of explain, the
// matrix's facts are probed against what the spec says (§3.9, §5.2), so a wrong explain cannot make a wrong lab pass.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { grownCounters, readDropCounters, type DropReason } from '../../src/lab/drops.js';
import { labDown, labUp, LabState, probe, runDemoCase, sgpDemoCases, sgpScenarioPath, type ProbeResult } from '../../src/lab/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-lab-sgp-'));
const stateDir = join(dir, 'state');

// six nodes (four that trunk), a host, the sgp-controller: lab up waits until every scenario pod has its address
before(async () => {
  await labUp({ scenarioPath: sgpScenarioPath, stateDir });
}, { timeout: 300_000 });

after(async () => {
  await labDown({ stateDir });
  rmSync(dir, { recursive: true, force: true });
}, { timeout: 60_000 });

for (const c of sgpDemoCases) {
  test(`demo case ${c.title}`, { timeout: 60_000 }, async () => {
    const rows = await runDemoCase(stateDir, c);
    assert.equal(rows.length, c.checks.length);
    for (const row of rows) assert.ok(row.pass, `${row.case}: expected ${row.expected}, observed ${row.observed}`);
  });
}

/** What EC2 and the lab say, read without explain: pods' addresses, branch ENIs, the NAT gateway's EIP, public IPs. */
function labFacts() {
  const state = new LabState(stateDir);
  const lab = state.readLab()!;
  const fabric = state.readFabric()!;
  const ipOf = (pod: string): string => {
    const ip = state.pod(pod)?.ip;
    assert.ok(ip, `pod ${pod} has an address`);
    return ip;
  };
  const instanceId = (name: string): string => fabric.facts.instances.find((i) => i.name === name)!.id;
  const groupId = (name: string): string => fabric.facts.securityGroups.find((g) => g.name === name)!.id;
  const enis = fabric.enis;
  return { lab, fabric, enis, ipOf, instanceId, groupId };
}

const seen = (r: ProbeResult): string => (r.delivered ? `seen as ${r.saw}` : `not delivered (${r.reason ?? r.error ?? 'no answer'})`);

/** A probe that must not arrive, and the fabric counter that must move meanwhile (the drop's kind, read by the lab). */
async function assertDropped(from: string, to: string, by: DropReason): Promise<void> {
  const plan = new LabState(stateDir).readLab()!.plan;
  const before = await readDropCounters(plan);
  const r = await probe(from, to, { stateDir });
  const grew = grownCounters(before, await readDropCounters(plan));
  assert.equal(r.delivered, false, `${from} → ${to}: ${seen(r)}`);
  assert.ok(grew.some((g) => g.counter === by), `${from} → ${to}: the ${by} counter moved (moved: ${grew.map((g) => `${g.counter} in ${g.ns}`).join(', ') || 'none'})`);
}

test('each selected pod\'s address is the primary address of a branch ENI on its node\'s trunk, with its policy\'s group; plain pods keep node ENIs', () => {
  const { enis, ipOf, instanceId, groupId } = labFacts();
  const branches: Array<[pod: string, node: string, group: string]> = [
    ['branch-strict-snat', 'strict-snat', 'pod-sg'],
    ['branch-strict-ext', 'strict-ext', 'pod-sg'],
    ['branch-std-snat', 'std-snat', 'pod-sg'],
    ['branch-std-ext', 'std-ext', 'pod-sg'],
    ['branch-pub', 'pub', 'pod-open'],
  ];
  for (const [pod, node, group] of branches) {
    const branch = enis.find((e) => e.privateIps[0] === ipOf(pod));
    assert.ok(branch?.trunk, `${pod}'s address ${ipOf(pod)} is a branch ENI's (associated with a trunk)`);
    const trunk = enis.find((e) => e.eniId === branch.trunk!.trunkEniId);
    assert.equal(trunk?.instanceId, instanceId(node), `${pod}'s branch ${branch.eniId} is on ${node}'s trunk`);
    assert.deepEqual(branch.groupIds, [groupId(group)], `${pod}'s branch carries ${group}`);
    assert.deepEqual(branch.publicIps, {}, `${pod}'s branch has no public IP`);
    assert.ok(branch.wired, `the fabric wired ${pod}'s branch`);
  }
  for (const pod of ['plain-strict-snat', 'plain-std-snat', 'plain-other', 'plain-pub']) {
    const eni = enis.find((e) => e.privateIps.includes(ipOf(pod)));
    assert.ok(eni && !eni.trunk && eni.instanceId, `${pod} has an address of its node's own ENIs`);
  }
});

test('strict: a branch pod reaches neither the plain pod on its own node (node group refuses pod-sg) nor the internet (pod-sg egress)', { timeout: 60_000 }, async () => {
  for (const node of ['strict-snat', 'strict-ext']) {
    await assertDropped(`branch-${node}`, `plain-${node}`, 'security-group');
    await assertDropped(`branch-${node}`, 'inet', 'security-group');
  }
});

test('standard: same-node traffic stays on the node, delivered with the branch address', { timeout: 30_000 }, async () => {
  const { ipOf } = labFacts();
  for (const node of ['std-snat', 'std-ext']) {
    const r = await probe(`branch-${node}`, `plain-${node}`, { stateDir });
    assert.equal(r.saw, ipOf(`branch-${node}`), `branch-${node} → plain-${node}: ${seen(r)}`);
  }
});

test('every mode: the plain pod on the other node (accept-pods admits pod-sg) sees the branch address', { timeout: 30_000 }, async () => {
  const { ipOf } = labFacts();
  for (const node of ['strict-snat', 'strict-ext', 'std-snat', 'std-ext']) {
    const r = await probe(`branch-${node}`, 'plain-other', { stateDir });
    assert.equal(r.saw, ipOf(`branch-${node}`), `branch-${node} → plain-other: ${seen(r)}`);
  }
});

test('standard, EXTERNALSNAT=false: off-VPC traffic is SNATed through eth0 (node groups) and seen as the NAT gateway\'s EIP; with EXTERNALSNAT it leaves by the branch and pod-sg refuses it', { timeout: 30_000 }, async () => {
  const { fabric } = labFacts();
  const eip = fabric.facts.natGateways.find((n) => n.name === 'nat-a')?.publicIp;
  assert.ok(eip, 'nat-a has an EIP');
  const snat = await probe('branch-std-snat', 'inet', { stateDir });
  assert.equal(snat.saw, eip, `branch-std-snat → inet: ${seen(snat)}`);
  await assertDropped('branch-std-ext', 'inet', 'security-group');
});

test('scope Pod vs Node: db admits the branch pods (pod-sg) and not the plain pods beside them (nodes)', { timeout: 30_000 }, async () => {
  const { ipOf } = labFacts();
  for (const node of ['strict-snat', 'std-snat']) {
    const branch = await probe(`branch-${node}`, 'db', { stateDir });
    assert.equal(branch.saw, ipOf(`branch-${node}`), `branch-${node} → db: ${seen(branch)}`);
    await assertDropped(`plain-${node}`, 'db', 'security-group');
  }
});

test('public subnet: the strict branch pod has no internet (its branch has no public IP); the plain pod is seen as the node\'s public IP', { timeout: 30_000 }, async () => {
  const { enis, instanceId } = labFacts();
  const primary = enis.find((e) => e.instanceId === instanceId('pub') && e.deviceIndex === 0)!;
  const publicIp = primary.publicIps[primary.privateIps[0]!];
  assert.ok(publicIp, 'pub has a public IP');
  await assertDropped('branch-pub', 'inet', 'no-public-ip');
  const plain = await probe('plain-pub', 'inet', { stateDir });
  assert.equal(plain.saw, publicIp, `plain-pub → inet: ${seen(plain)}`);
});
