// The differential test's scenario generator (test/netns/explain-scenarios.ts), without a lab: every scenario it draws
// is one the lab accepts, a seed gives the same scenarios and flows again, and the flows reach every endpoint from and
// to some other one.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parse } from 'yaml';
import { parseScenario } from '../../../src/lab/index.js';
import { FORCED, generateRun, generateScenario, runSeed, scenarioSeed } from '../../netns/explain-scenarios.js';

test('100 drawn scenarios of each forced feature validate as lab scenarios', () => {
  for (const forced of FORCED) {
    for (let seed = 0; seed < 100; seed++) {
      const s = generateScenario(seed, forced, 80);
      const scenario = parseScenario(parse(s.yaml), `seed ${seed} (${forced})`);
      assert.ok(scenario.nodes.length >= 2 && scenario.nodes.length <= 3);
      assert.equal(s.flows.length, 80, `seed ${seed} (${forced}) has ${s.flows.length} flows`);
    }
  }
});

test('a forced feature is in the scenario: peering, transit gateway, VPN with a pre-1.8 node that excludes the data centre and has a pod on eth1, NAT gateway with an EXTERNALSNAT node', () => {
  for (let seed = 0; seed < 50; seed++) {
    const [peering, tgw, vpn, nat] = FORCED.map((f) => parseScenario(parse(generateScenario(seed, f, 10).yaml)));
    assert.equal(peering!.peerings.length, 1);
    assert.equal(tgw!.transitGateways.length, 1);
    assert.equal(vpn!.onPremHosts.length, 1);
    assert.ok(vpn!.nodes.some((n) => n.env.PODNET_PRE_1_8_ROUTING === 'true' && n.env.AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS === '192.168.0.0/16' && vpn!.pods.some((p) => p.node === n.instance && p.eni === 1)));
    assert.equal(nat!.natGateways.length, 1);
    assert.ok(nat!.nodes.some((n) => n.env.AWS_VPC_K8S_CNI_EXTERNALSNAT === 'true'));
  }
});

test('the same seed draws the same scenarios and flows; another seed draws others', () => {
  const a = generateRun(1234, 4, 80);
  const b = generateRun(1234, 4, 80);
  assert.deepEqual(b.map((s) => [s.yaml, s.flows]), a.map((s) => [s.yaml, s.flows]));
  assert.notDeepEqual(generateRun(1235, 4, 80).map((s) => s.yaml), a.map((s) => s.yaml));
  assert.notEqual(scenarioSeed(1234, 0), scenarioSeed(1234, 1));
});

test('every endpoint sends and is reached, flows are distinct, tcp/udp flows go to the echo port', () => {
  for (let seed = 0; seed < 50; seed++) {
    const s = generateScenario(seed, FORCED[seed % 4]!, 80);
    const doc = parseScenario(parse(s.yaml));
    const names = [...doc.pods.map((p) => p.name), ...doc.nodes.map((n) => n.instance), ...doc.hosts.map((h) => h.instance), ...doc.internetHosts.map((h) => h.name), ...doc.onPremHosts.map((h) => h.name)];
    for (const n of names) {
      assert.ok(s.flows.some((f) => f.from === n), `${n} sends (seed ${seed})`);
      assert.ok(s.flows.some((f) => f.to === n), `${n} is reached (seed ${seed})`);
    }
    assert.equal(new Set(s.flows.map((f) => `${f.from}>${f.to}/${f.protocol}`)).size, s.flows.length);
    for (const f of s.flows) {
      assert.notEqual(f.from, f.to);
      assert.equal(f.port, f.protocol === 'icmp' ? undefined : doc.lab.echoPort);
    }
  }
});

test('PODNET_EXPLAIN_SEED is the run seed; a bad one is refused', () => {
  assert.equal(runSeed({ PODNET_EXPLAIN_SEED: '42' }), 42);
  assert.throws(() => runSeed({ PODNET_EXPLAIN_SEED: 'x' }), /PODNET_EXPLAIN_SEED=x/);
  const fresh = runSeed({});
  assert.ok(Number.isInteger(fresh) && fresh >= 0);
});
