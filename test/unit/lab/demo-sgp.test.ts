// `podnet demo --sgp`'s table reads as the matrix only if each row's title says what its pods are: these checks hold the
// cases of src/lab/demo-sgp.ts to examples/lab-sgp.yaml without a lab (test/netns/lab-sgp.test.ts runs them).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';
import { loadScenario, sgpDemoCases, sgpMatrixCases, sgpScenarioPath, sgpScopeCases, sgpStrictSameNodeInCase } from '../../../src/lab/index.js';
import { matchingGroups, type SecurityGroupPolicy } from '../../../src/sgp-controller/index.js';

const scenario = await loadScenario(sgpScenarioPath);
const pod = (name: string) => scenario.pods.find((p) => p.name === name);
/** The scenario's policies as the lab creates them, the groups by their scenario names. */
const policies: SecurityGroupPolicy[] = scenario.securityGroupPolicies.map((p) => ({
  metadata: { name: p.name, namespace: p.namespace },
  spec: {
    ...(p.podSelector && { podSelector: { matchLabels: p.podSelector } }),
    ...(p.serviceAccountSelector && { serviceAccountSelector: { matchLabels: p.serviceAccountSelector } }),
    securityGroups: { groupIds: p.securityGroups },
  },
}));
/** The groups of the policies selecting a pod, by the controller's own matching (a scenario pod: its labels, namespace default, the default service account, which has none). */
const policyGroups = (name: string): string[] => matchingGroups(policies, { namespace: 'default', labels: pod(name)?.labels ?? {} }, {});
const settingsOf = (node: string) => loadConfig(scenario.nodes.find((n) => n.instance === node)!.env).config;

test('every probe names a pod, node, host or internet host of lab-sgp.yaml', () => {
  const names = new Set([...scenario.pods.map((p) => p.name), ...scenario.nodes.map((n) => n.instance), ...scenario.hosts.map((h) => h.instance), ...scenario.internetHosts.map((h) => h.name)]);
  for (const c of sgpDemoCases) for (const { from, to } of c.checks) assert.ok(names.has(from) && names.has(to), `${c.title}: ${from} → ${to}`);
});

test('the matrix is 12 cells: each row a node whose mode and EXTERNALSNAT are the title\'s, probing from its branch pod', () => {
  assert.equal(sgpMatrixCases.length, 12);
  for (const c of sgpMatrixCases) {
    const [check] = c.checks;
    assert.equal(c.checks.length, 1, c.title);
    const from = pod(check!.from)!;
    const settings = settingsOf(from.node);
    assert.ok(settings.enablePodEni, `${from.node} sets ENABLE_POD_ENI`);
    assert.ok(c.title.startsWith(`SGP ${settings.podSecurityGroupEnforcingMode}, EXTERNALSNAT=${settings.externalSnat}: `), `${c.title} is probed from ${from.node}`);
    assert.deepEqual(policyGroups(from.name), ['pod-sg'], `${from.name} is a branch pod with pod-sg`);
    const column = c.title.split(': ')[1];
    const to = pod(check!.to);
    if (column === 'same node') assert.equal(to?.node, from.node, c.title);
    else if (column === 'other node') assert.ok(to && to.node !== from.node, c.title);
    else assert.equal(column, 'off VPC', c.title);
    if (to) assert.deepEqual(policyGroups(to.name), [], `${to.name} is a plain pod`);
  }
});

test('scope Pod vs Node: a branch pod and a plain pod of the same node probe the same destination', () => {
  for (const c of sgpScopeCases) {
    const [branch, plain] = c.checks.map((x) => pod(x.from)!);
    assert.equal(branch!.node, plain!.node, c.title);
    assert.equal(c.checks[0]!.to, c.checks[1]!.to, c.title);
    assert.deepEqual(policyGroups(branch!.name), ['pod-sg']);
    assert.deepEqual(policyGroups(plain!.name), []);
  }
});

test('strict, the other way: the plain pod and the node itself probe the branch pod of that strict node', () => {
  const [plain, node] = sgpStrictSameNodeInCase.checks;
  const branch = pod(plain!.to)!;
  assert.equal(node!.to, branch.name);
  assert.equal(settingsOf(branch.node).podSecurityGroupEnforcingMode, 'strict');
  assert.deepEqual(policyGroups(branch.name), ['pod-sg']);
  assert.equal(pod(plain!.from)?.node, branch.node);
  assert.deepEqual(policyGroups(plain!.from), []);
  assert.equal(node!.from, branch.node, 'the node itself (the kubelet\'s probes)');
});
