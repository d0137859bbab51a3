// `podnet explain --scenario examples/lab-sgp.yaml`: the SGP matrix scenario explained offline — trunk and branch ENIs
// made in process with the sgp-controller's own EC2 calls and decisions, each node's settings from its env — answers
// every cell as the brief expects (the same answers the synthetic world of sgp.test.ts gives).
import assert from 'node:assert/strict';
import { before, test } from 'node:test';
import { explainFlow, type AttachedEni, type Explanation, type World } from '../../../src/explain/index.js';
import { scenarioWorld, loadScenario } from '../../../src/lab/index.js';

const scenarioPath = new URL('../../../examples/lab-sgp.yaml', import.meta.url).pathname;
let world: World;
before(async () => {
  world = await scenarioWorld(await loadScenario(scenarioPath));
});

const tcp = (from: string, to: string): Explanation => explainFlow(world, { from, to, protocol: 'tcp', port: 7007 });
const address = (name: string) => world.endpoints.find((e) => e.name === name)!.address;
const drop = (e: Explanation) => {
  const hop = e.forward.find((h) => h.dropped);
  return hop && `${hop.element} ${hop.id}${/^no (ingress|egress) rule/.exec(hop.matched)?.[1] ? ` ${/^no (ingress|egress)/.exec(hop.matched)![1]}` : ''}`;
};
const group = (name: string) => world.model.filtering!.securityGroups.find((g) => g.name === name)!.id;

test('offline, a selected pod on an ENABLE_POD_ENI node that can trunk has its branch ENI\'s address, on the node\'s trunk (each typed as EC2 types it); the node settings come from its env', () => {
  const enis: readonly AttachedEni[] = world.model.enis;
  for (const node of ['strict-snat', 'strict-ext', 'std-snat', 'std-ext', 'pub']) {
    const branch = enis.find((e) => e.privateIps[0] === address(`branch-${node}`));
    assert.ok(branch?.trunk, `branch-${node}: ${address(`branch-${node}`)} is on a branch ENI`);
    const trunk = enis.find((e) => e.eniId === branch.trunk!.trunkEniId)!;
    assert.equal(world.instanceNames[trunk.instanceId!], node);
    assert.equal(branch.trunk.vlanId, 1);
    // EC2's interface types, as the emulator's mapping carries them
    assert.deepEqual([trunk.interfaceType, branch.interfaceType], ['trunk', 'branch']);
    assert.deepEqual(branch.groupIds, [group(node === 'pub' ? 'pod-open' : 'pod-sg')]);
    assert.equal(branch.instanceId, null);
  }
  // `other` (t3.small, no ENABLE_POD_ENI) has no trunk; plain pods keep pool addresses
  assert.ok(!enis.some((e) => e.instanceId && world.instanceNames[e.instanceId] === 'other' && enis.some((b) => b.trunk?.trunkEniId === e.eniId)));
  assert.ok(!enis.find((e) => e.privateIps.includes(address('plain-strict-snat')))!.trunk);
  const settings = Object.fromEntries(world.nodes.map((n) => [n.name, `${n.settings.podEni} ${n.settings.podSgEnforcingMode} ${n.settings.externalSnat}`]));
  assert.deepEqual(settings, {
    'strict-snat': 'true strict false', 'strict-ext': 'true strict true', 'std-snat': 'true standard false', 'std-ext': 'true standard true', other: 'false strict false', pub: 'true strict false',
  });
});

test('offline, the 12 cells of the SGP matrix, the scope and the public subnet answer as the brief expects', () => {
  const nat = world.model.natGateways[0]!.publicIp;
  const enis: readonly AttachedEni[] = world.model.enis;
  const pubIp = Object.values(enis.find((e) => e.instanceId && world.instanceNames[e.instanceId] === 'pub' && e.deviceIndex === 0)!.publicIps)[0];
  const rows: Array<[string, string, string, string | null, string?]> = [
    // same node
    ['branch-strict-snat', 'plain-strict-snat', 'dropped', null, `security-group ${group('nodes')} ingress`],
    ['branch-strict-ext', 'plain-strict-ext', 'dropped', null, `security-group ${group('nodes')} ingress`],
    ['branch-std-snat', 'plain-std-snat', 'delivered', address('branch-std-snat')],
    ['branch-std-ext', 'plain-std-ext', 'delivered', address('branch-std-ext')],
    // other node
    ['branch-strict-snat', 'plain-other', 'delivered', address('branch-strict-snat')],
    ['branch-strict-ext', 'plain-other', 'delivered', address('branch-strict-ext')],
    ['branch-std-snat', 'plain-other', 'delivered', address('branch-std-snat')],
    ['branch-std-ext', 'plain-other', 'delivered', address('branch-std-ext')],
    // off the VPC
    ['branch-strict-snat', 'inet', 'dropped', null, `security-group ${group('pod-sg')} egress`],
    ['branch-strict-ext', 'inet', 'dropped', null, `security-group ${group('pod-sg')} egress`],
    ['branch-std-snat', 'inet', 'delivered', nat],
    ['branch-std-ext', 'inet', 'dropped', null, `security-group ${group('pod-sg')} egress`],
    // scope Pod vs Node
    ['branch-strict-snat', 'db', 'delivered', address('branch-strict-snat')],
    ['plain-strict-snat', 'db', 'dropped', null, `security-group ${group('db-sg')} ingress`],
    // a branch ENI has no public IP
    ['branch-pub', 'inet', 'dropped', null, 'internet-gateway ' + world.model.internetGateways[0]!.id],
    ['plain-pub', 'inet', 'delivered', pubIp ?? 'none'],
  ];
  const got = rows.map(([from, to]) => {
    const e = tcp(from, to);
    return [from, to, e.verdict, e.sourceSeen, ...(drop(e) ? [drop(e)] : [])];
  });
  assert.deepEqual(got, rows);
});

test('offline, a selected pod on a node whose ENIs leave no slot for a trunk is refused, as ipamd would not advertise the feature (MAX_ENI=1)', async () => {
  const scenario = await loadScenario(scenarioPath);
  const capped = { ...scenario, nodes: scenario.nodes.map((n) => (n.instance === 'strict-snat' ? { ...n, env: { ...n.env, MAX_ENI: '1' } } : n)) };
  await assert.rejects(scenarioWorld(capped), (err: Error & { code?: string; hint?: string }) => {
    assert.equal(err.code, 'FAILED');
    assert.equal(err.message, 'simulating node strict-snat: pod branch-strict-snat gets no branch ENI: its 1 ENI leaves no slot for a trunk, so its ipamd does not advertise SecurityGroupsForPods');
    assert.match(err.hint ?? '', /leave an ENI slot for the trunk/);
    return true;
  });
});

test('offline, DISABLE_TCP_EARLY_DEMUX from the node\'s env: strict-snat (which sets it) reaches its branch pod over TCP, strict-ext (which does not) drops the reply', () => {
  assert.deepEqual(world.nodes.filter((n) => n.settings.disableTcpEarlyDemux).map((n) => n.name), ['strict-snat']);
  assert.equal(tcp('strict-snat', 'branch-strict-snat').verdict, 'delivered');
  const e = tcp('strict-ext', 'branch-strict-ext');
  assert.equal(e.verdict, 'dropped', e.reason);
  assert.ok(e.codes.includes('TCP_EARLY_DEMUX'));
  assert.equal(e.fix, "set DISABLE_TCP_EARLY_DEMUX=true on strict-ext (aws-node's init container; spec §5.2)");
});
