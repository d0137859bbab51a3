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
import { eniPortName, labDown, labUp, LabState, probe, runDemoCase, sgpDemoCases, sgpScenarioPath, type ProbeResult } from '../../src/lab/index.js';
import { run } from '../../src/lib/index.js';

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

/**
 * The security-group drop counters of the VPC router, per chain: the fabric gives each set of groups and direction a
 * chain of its own (filtering.ts), so the chain that counted a drop says whose groups refused it, and which way.
 */
async function groupChainDrops(router: string): Promise<Map<string, number>> {
  const { stdout } = await run(['nft', 'list', 'table', 'ip', 'pn_vpc'], { netns: router });
  const out = new Map<string, number>();
  let chain = '';
  for (const line of stdout.split('\n')) {
    chain = /^\s*chain (\S+) \{/.exec(line)?.[1] ?? chain;
    const m = /counter packets (\d+) .*comment "security-group"/.exec(line);
    if (m) out.set(chain, (out.get(chain) ?? 0) + Number(m[1]));
  }
  return out;
}

/** The group chain the router's filter sends an ENI's traffic to: leaving it (egress) or entering it (ingress). */
async function groupChainOf(router: string, eniId: string, direction: 'ingress' | 'egress'): Promise<string> {
  const { stdout } = await run(['nft', 'list', 'chain', 'ip', 'pn_vpc', 'filter'], { netns: router });
  const chain = new RegExp(`"${eniPortName(eniId)}" : jump (sg\\d+_${direction})`).exec(stdout)?.[1];
  assert.ok(chain, `the router filters ${eniId}'s ${direction}`);
  return chain;
}

/** Where a drop must be counted: the namespace, and for a group, the ENI whose groups refuse it and which way. */
type DropAt = { ns: string } & ({ by: 'security-group'; eniId: string; direction: 'ingress' | 'egress' } | { by: Exclude<DropReason, 'security-group'> });

/** A probe that must not arrive, and the fabric counter that must move meanwhile, where (the drop's kind, read by the lab). */
async function assertDropped(from: string, to: string, at: DropAt): Promise<void> {
  const plan = new LabState(stateDir).readLab()!.plan;
  const chain = at.by === 'security-group' ? await groupChainOf(at.ns, at.eniId, at.direction) : undefined;
  const chains = async () => (chain ? groupChainDrops(at.ns) : new Map<string, number>());
  const [before, chainsBefore] = await Promise.all([readDropCounters(plan), chains()]);
  const r = await probe(from, to, { stateDir });
  const [after, chainsAfter] = await Promise.all([readDropCounters(plan), chains()]);
  assert.equal(r.delivered, false, `${from} → ${to}: ${seen(r)}`);
  const grew = grownCounters(before, after);
  const moved = grew.map((g) => `${g.counter} in ${g.ns}`).join(', ') || 'none';
  assert.ok(grew.some((g) => g.counter === at.by && g.ns === at.ns), `${from} → ${to}: the ${at.by} counter moved in ${at.ns} (moved: ${moved})`);
  if (chain && at.by === 'security-group') {
    const counted = [...chainsAfter].filter(([c, n]) => n > (chainsBefore.get(c) ?? 0)).map(([c]) => c);
    assert.ok(counted.includes(chain), `${from} → ${to}: the groups of ${at.eniId} refused it on ${at.direction} (chain ${chain}; chains that counted: ${counted.join(', ') || 'none'})`);
  }
}

/** The ENI that holds an address (a pod's branch, or the node ENI its address is on). */
function eniHolding(address: string): string {
  const eni = labFacts().enis.find((e) => e.privateIps.includes(address));
  assert.ok(eni, `an ENI holds ${address}`);
  return eni.eniId;
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
  const { lab, ipOf } = labFacts();
  const router = lab.plan.vpcs[0]!.router;
  for (const node of ['strict-snat', 'strict-ext']) {
    // refused coming in at the plain pod's node ENI (nodes), not leaving the branch (pod-sg allows the VPC)
    await assertDropped(`branch-${node}`, `plain-${node}`, { by: 'security-group', ns: router, eniId: eniHolding(ipOf(`plain-${node}`)), direction: 'ingress' });
    await assertDropped(`branch-${node}`, 'inet', { by: 'security-group', ns: router, eniId: eniHolding(ipOf(`branch-${node}`)), direction: 'egress' });
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
  const { fabric, lab, ipOf } = labFacts();
  const eip = fabric.facts.natGateways.find((n) => n.name === 'nat-a')?.publicIp;
  assert.ok(eip, 'nat-a has an EIP');
  const snat = await probe('branch-std-snat', 'inet', { stateDir });
  assert.equal(snat.saw, eip, `branch-std-snat → inet: ${seen(snat)}`);
  await assertDropped('branch-std-ext', 'inet', { by: 'security-group', ns: lab.plan.vpcs[0]!.router, eniId: eniHolding(ipOf('branch-std-ext')), direction: 'egress' });
});

test('scope Pod vs Node: db admits the branch pods (pod-sg) and not the plain pods beside them (nodes)', { timeout: 30_000 }, async () => {
  const { lab, ipOf, fabric } = labFacts();
  const db = fabric.facts.instances.find((i) => i.name === 'db')!;
  const dbEni = labFacts().enis.find((e) => e.instanceId === db.id && e.deviceIndex === 0)!.eniId;
  for (const node of ['strict-snat', 'std-snat']) {
    const branch = await probe(`branch-${node}`, 'db', { stateDir });
    assert.equal(branch.saw, ipOf(`branch-${node}`), `branch-${node} → db: ${seen(branch)}`);
    await assertDropped(`plain-${node}`, 'db', { by: 'security-group', ns: lab.plan.vpcs[0]!.router, eniId: dbEni, direction: 'ingress' });
  }
});

test('public subnet: the strict branch pod has no internet (its branch has no public IP); the plain pod is seen as the node\'s public IP', { timeout: 30_000 }, async () => {
  const { enis, instanceId, lab } = labFacts();
  const primary = enis.find((e) => e.instanceId === instanceId('pub') && e.deviceIndex === 0)!;
  const publicIp = primary.publicIps[primary.privateIps[0]!];
  assert.ok(publicIp, 'pub has a public IP');
  await assertDropped('branch-pub', 'inet', { by: 'no-public-ip', ns: lab.plan.igws[0]!.ns });
  const plain = await probe('plain-pub', 'inet', { stateDir });
  assert.equal(plain.saw, publicIp, `plain-pub → inet: ${seen(plain)}`);
});

test('strict, the other way: the plain pod beside a branch pod and the node itself reach it by the VPC, untranslated', { timeout: 30_000 }, async () => {
  const { ipOf, fabric } = labFacts();
  const plain = await probe('plain-strict-snat', 'branch-strict-snat', { stateDir });
  assert.equal(plain.saw, ipOf('plain-strict-snat'), `plain-strict-snat → branch-strict-snat: ${seen(plain)}`);
  const nodeIp = fabric.enis.find((e) => e.instanceId === fabric.facts.instances.find((i) => i.name === 'strict-snat')!.id && e.deviceIndex === 0)!.privateIps[0];
  const node = await probe('strict-snat', 'branch-strict-snat', { stateDir });
  assert.equal(node.saw, nodeIp, `strict-snat → branch-strict-snat: ${seen(node)}`);
});
