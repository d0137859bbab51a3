import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parse, stringify } from 'yaml';
import { explainFlow, type AttachedEni, type World } from '../../../src/explain/index.js';
import { PodnetError } from '../../../src/lib/index.js';
import { scenarioExplainSource } from '../../../src/lab/explain-offline.js';
import { defaultScenarioPath, loadScenario, parseScenario, scenarioWorld, type Scenario } from '../../../src/lab/index.js';
import { FORCED, generateScenario } from '../../netns/explain-scenarios.js';
import { cidrContains, parseAddress, parseCidr } from '../../../src/net/index.js';
import { eniHolding } from '../../../src/vpc/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-explain-offline-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function writeScenario(name: string, document: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, stringify(document));
  return path;
}

const endpoint = (w: World, name: string) => {
  const found = w.endpoints.find((e) => e.name === name);
  assert.ok(found, `endpoint ${name}`);
  return found;
};
const instanceId = (w: World, name: string) => Object.entries(w.instanceNames).find(([, n]) => n === name)![0];

describe('explain --scenario: the default lab scenario, explained with no lab', () => {
  let scenario: Scenario;
  let world: World;
  let port: number;
  before(async () => {
    scenario = await loadScenario(defaultScenarioPath);
    ({ world, defaultPort: port } = await scenarioExplainSource(defaultScenarioPath));
  });

  test('every pod, node, host and internet host of the scenario is an endpoint; addresses from the simulation say so', () => {
    assert.equal(world.source, 'scenario');
    const names = [...scenario.pods.map((p) => p.name), ...scenario.nodes.map((n) => n.instance), ...scenario.hosts.map((h) => h.instance), ...scenario.internetHosts.map((h) => h.name), ...scenario.onPremHosts.map((h) => h.name), ...(scenario.cluster ? ['cluster-endpoint'] : [])];
    assert.deepEqual(world.endpoints.map((e) => e.name).sort(), names.sort());
    for (const p of scenario.pods) assert.equal(endpoint(world, p.name).simulated, true, p.name);
    assert.equal(port, scenario.lab.echoPort);
    assert.deepEqual(world.nodes.map((n) => n.name), scenario.nodes.map((n) => n.instance));
  });

  test('each pod holds an address of an ENI of its own node; eni: N puts it behind device N; hostNetwork uses the primary IP', () => {
    for (const p of scenario.pods) {
      const e = endpoint(world, p.name);
      const eni = eniHolding(world.model.enis, e.address);
      assert.ok(eni, `${p.name} ${e.address} is on an ENI`);
      assert.equal(eni.instanceId, instanceId(world, p.node), `${p.name} is on its node`);
      if (p.hostNetwork) assert.equal(e.address, eni.privateIps[0]);
      else assert.notEqual(e.address, eni.privateIps[0], `${p.name} does not take an ENI's primary address`);
      if (p.eni !== undefined) assert.equal(eni.deviceIndex, p.eni, `${p.name} behind device ${p.eni}`);
    }
  });

  test('custom networking: the pod of the node selecting ENIConfig pods-a is in that subnet, on a secondary ENI', () => {
    const node = scenario.nodes.find((n) => n.env.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG === 'true')!;
    const pod = scenario.pods.find((p) => p.node === node.instance && !p.hostNetwork)!;
    const subnet = scenario.subnets.find((s) => s.name === scenario.eniConfigs[0]!.subnet)!;
    const e = endpoint(world, pod.name);
    assert.ok(cidrContains(parseCidr(subnet.cidr), parseAddress(e.address)), `${e.address} in ${subnet.cidr}`);
    assert.ok(eniHolding(world.model.enis, e.address)!.deviceIndex! > 0);
  });

  test('the same scenario gives the same world on every run', async () => {
    const again = (await scenarioExplainSource(defaultScenarioPath)).world;
    assert.deepEqual(again, world);
  });

  test('the engine answers over it, and says the addresses are simulated', () => {
    const pub = scenario.pods.find((p) => p.node === 'pub-ip')!;
    const e = explainFlow(world, { from: pub.name, to: scenario.internetHosts[0]!.name, protocol: 'tcp', port });
    assert.equal(e.verdict, 'delivered');
    const enis: AttachedEni[] = world.model.enis;
    const node = enis.find((x) => x.instanceId === instanceId(world, 'pub-ip') && x.deviceIndex === 0)!;
    assert.equal(e.sourceSeen, node.publicIps[node.privateIps[0]!], 'the internet sees the node\'s public IP');
    assert.equal(e.simulated, true);
  });
});

describe('explain --scenario: node settings the simulation follows', () => {
  test('prefix delegation: pods get addresses from a /28 on the node\'s ENI', async () => {
    const s = structuredClone(await loadScenario(defaultScenarioPath)) as Record<string, unknown> & Scenario;
    s.nodes = [{ instance: 'priv', env: { ENABLE_PREFIX_DELEGATION: 'true' }, labels: {} }];
    s.pods = [{ name: 'a', node: 'priv', hostNetwork: false }, { name: 'b', node: 'priv', hostNetwork: false }];
    const { world } = await scenarioExplainSource(writeScenario('prefix.yaml', s));
    for (const name of ['a', 'b']) {
      const e = endpoint(world, name);
      const eni = eniHolding(world.model.enis, e.address)!;
      assert.ok(eni.ipv4Prefixes.some((p) => cidrContains(parseCidr(p), parseAddress(e.address))), `${name} ${e.address} in a prefix of ${eni.eniId}`);
    }
  });
});

describe('explain --scenario: the differential test\'s random scenarios, offline', () => {
  test('each builds; every pod sits on an ENI of its node; no generated flow is unknown', async () => {
    for (const forced of FORCED) {
      for (let seed = 0; seed < 4; seed++) {
        const generated = generateScenario(seed, forced, 30);
        const scenario = parseScenario(parse(generated.yaml), `seed ${seed} (${forced})`);
        const world = await scenarioWorld(scenario);
        for (const p of scenario.pods) {
          const eni = eniHolding(world.model.enis, endpoint(world, p.name).address);
          assert.equal(eni?.instanceId, instanceId(world, p.node), `seed ${seed} (${forced}): ${p.name} on its node`);
        }
        for (const f of generated.flows) {
          const e = explainFlow(world, f);
          assert.notEqual(e.verdict, 'unknown', `seed ${seed} (${forced}) ${f.from} → ${f.to}: ${e.reason}`);
        }
      }
    }
  });
});

describe('explain --scenario: bad input', () => {
  test('a scenario that does not validate is a usage error naming the field', async () => {
    const s = structuredClone(await loadScenario(defaultScenarioPath)) as Scenario;
    s.pods = [{ name: 'lost', node: 'no-such-node', hostNetwork: false }];
    const err = await scenarioExplainSource(writeScenario('bad.yaml', s)).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof PodnetError);
    assert.equal(err.exitStatus, 2);
    assert.match(err.message, /pods\[0\]\.node: no node named 'no-such-node'/);
    assert.ok(err.hint);
  });

  test('a missing file is a usage error', async () => {
    const err = await scenarioExplainSource(join(dir, 'absent.yaml')).then(() => undefined, (e: unknown) => e);
    assert.ok(err instanceof PodnetError);
    assert.equal(err.exitStatus, 2);
  });
});
