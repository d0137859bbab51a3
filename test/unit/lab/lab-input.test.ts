// Class 9 of issue 10 (lab input), the part that needs no root: a scenario that would build an empty lab, and a
// top-level section no feature declares, are errors naming the field (with the nearest known name), in the lab's
// scenario file and in the emulator's topology file alike — and the emulator still reads a whole scenario.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { loadTopology, parseTopology } from '../../../src/vpc/index.js';
import { defaultScenarioPath, parseScenario } from '../../../src/lab/index.js';
import { PodnetError } from '../../../src/lib/index.js';

const scenario = () => parseYaml(readFileSync(defaultScenarioPath, 'utf8')) as Record<string, unknown>;

/** The CONFIG_INVALID error `parse` throws for `doc`. */
function refusal(parse: (doc: unknown, source: string) => unknown, doc: unknown): PodnetError {
  try {
    parse(doc, 'scenario');
  } catch (err) {
    assert.ok(err instanceof PodnetError, String(err));
    assert.equal(err.code, 'CONFIG_INVALID');
    return err;
  }
  assert.fail('the document was accepted');
}

test('an empty scenario (an empty file, or {}) is refused naming nodes', () => {
  for (const doc of [null, {}]) {
    assert.match(refusal(parseScenario, doc).message, /^invalid scenario: nodes: no node is declared; a lab needs at least one instance that runs ipamd/);
  }
});

test('a scenario with instances and hosts but no node is refused naming nodes', () => {
  const doc = scenario();
  doc.nodes = [];
  doc.pods = [];
  assert.match(refusal(parseScenario, doc).message, /nodes: no node is declared/);
});

test('a misspelt top-level section is refused naming it and the nearest known section', () => {
  for (const [typo, meant] of [['node', 'nodes'], ['hostz', 'hosts'], ['internethost', 'internetHosts'], ['subnet', 'subnets'], ['routetables', 'routeTables']] as const) {
    const doc = scenario();
    doc[typo] = [];
    const err = refusal(parseScenario, doc);
    assert.match(err.message, new RegExp(`^invalid scenario: ${typo}: not a section of a topology or scenario file; did you mean ${meant}\\?`), typo);
    assert.match(err.hint ?? '', /the sections are vpcs, subnets, .*nodes, hosts/);
  }
});

test('a section far from every known one is refused without a guess', () => {
  const doc = scenario();
  doc.kubernetesVersion = '1.31';
  assert.match(refusal(parseScenario, doc).message, /^invalid scenario: kubernetesVersion: not a section of a topology or scenario file$/);
});

test('the topology file refuses a misspelt section too, and still reads a lab scenario (ec2 serve --topology)', async () => {
  const doc = scenario();
  doc.instanses = doc.instances;
  assert.match(refusal(parseTopology, doc).message, /instanses: not a section of a topology or scenario file; did you mean instances\?/);
  const topology = await loadTopology(defaultScenarioPath);
  assert.ok(topology.instances.length > 0);
});
