// Every case of `podnet demo`, with real packets, against ONE bring-up of the default scenario (examples/lab.yaml):
// nodes run podnet ipamd, pods are created through podnet-cni, the fabric follows the emulator's mapping events.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { runFargatePodCase, runFargateRefusalCase } from '../../src/lab/demo-fargate.js';
import { currentEndpointSettings, demoCases, eksDemoCases, initialEksDemoContext, labDown, labStatus, labStatusWithCluster, labUp, probe, restoreEndpointSettings, runDemoCase, runEksDemoCase, type EksDemoContext, type EndpointSettings } from '../../src/lab/index.js';

const stateDir = mkdtempSync(join(tmpdir(), 'podnet-lab-demo-'));

// lab up starts a kubelet, aws-node's init container and ipamd per node (seven), each a podnet process
before(async () => {
  await labUp({ stateDir });
}, { timeout: 480_000 });

after(async () => {
  await labDown({ stateDir });
}, { timeout: 60_000 });

function demoCaseTest(c: (typeof demoCases)[number]): void {
  // the set env case waits for the DaemonSet to roll ipamd on its nodes, one at a time
  test(`demo case ${c.title}`, { timeout: c.setEnv ? 300_000 : 60_000 }, async () => {
    const rows = await runDemoCase(stateDir, c);
    for (const row of rows) assert.ok(row.pass, `${row.case}: expected ${row.expected}, observed ${row.observed}`);
  });
}

// the set env case changes the shared aws-node's nodes for good: it runs last (below), as in podnet demo
for (const c of demoCases.filter((x) => !x.setEnv)) demoCaseTest(c);

test('every node runs ipamd and the pods asked to sit behind eth1 are there', () => {
  const status = labStatus({ stateDir });
  assert.deepEqual(status.nodes.map((n) => n.ipamd), status.nodes.map(() => 'running'));
  assert.deepEqual(status.pods.filter((p) => p.name.endsWith('eni1')).map((p) => p.eni), [1, 1]);
});

test('custom networking: web-cn sits on a secondary ENI of pub-cn in pods-a, inside the VPC\'s secondary block', () => {
  const status = labStatus({ stateDir });
  const pod = status.pods.find((p) => p.name === 'web-cn')!;
  assert.match(pod.ip ?? '', /^100\.64\.(3[2-9]|[4-5]\d|6[0-3])\.\d+$/, `web-cn has ${pod.ip}, not an address of pods-a 100.64.32.0/19`);
  assert.notEqual(pod.eni, 0, 'custom networking keeps pods off the primary ENI');
});

test('UDP and ICMP reach the internet host too; UDP is seen as the NAT gateway EIP like TCP', { timeout: 30_000 }, async () => {
  const tcp = await probe('web-priv', 'inet', { stateDir });
  const udp = await probe('web-priv', 'inet', { stateDir, proto: 'udp' });
  const icmp = await probe('web-pub', 'inet', { stateDir, proto: 'icmp' });
  assert.equal(udp.delivered, true);
  assert.equal(udp.saw, tcp.saw);
  assert.equal(icmp.delivered, true);
});

test('the internet reaches a node only at its public IP', { timeout: 30_000 }, async () => {
  const r = await probe('inet', 'pub-ip', { stateDir });
  assert.equal(r.delivered, true);
  assert.match(r.target, /^203\.0\.113\./);
  assert.equal(r.saw, '198.51.100.10');
  assert.equal((await probe('inet', 'pub-noip', { stateDir })).delivered, false);
});

// The EKS endpoint cases (issue 17): the cluster changed live, one case after the other (each starts from the
// settings the one before left, and case 3 adds what case 2's endpoint refused), then the scenario's settings back.
let eksOriginal: EndpointSettings | undefined;
let eksContext: EksDemoContext = initialEksDemoContext();
// a case waits for every node's readiness to follow the endpoint: a 4 s Lease renewal, the control plane's 12 s grace and slack
for (const c of eksDemoCases) {
  test(`demo case ${c.title}`, { timeout: 120_000 }, async (t) => {
    eksOriginal ??= currentEndpointSettings(stateDir);
    if (!eksOriginal) return t.skip('the scenario has no cluster: section');
    const outcome = await runEksDemoCase(stateDir, c, eksContext);
    eksContext = { ...eksContext, refusedSources: outcome.refusedSources };
    assert.ok(outcome.rows.length > 0);
    for (const row of outcome.rows) assert.ok(row.pass, `${row.case}: expected ${row.expected}, observed ${row.observed}`);
  });
}

test('lab status says why a node is not Ready: explain\'s reason for a node that cannot reach the endpoint', { timeout: 60_000 }, async (t) => {
  if (!eksOriginal) return t.skip('the scenario has no cluster: section');
  const status = await labStatusWithCluster({ stateDir });
  // after case 4 (private access on) every node of the VPC reaches the private endpoint: no reason to give
  for (const n of status.nodes) {
    assert.ok(n.kubernetes, `node ${n.name} has its Kubernetes status`);
    assert.equal(n.kubernetes.endpoint?.via, 'private', `node ${n.name} resolves the endpoint to its private addresses`);
    assert.equal(n.kubernetes.why, undefined);
  }
});

test('the scenario\'s endpoint settings come back', { timeout: 120_000 }, async (t) => {
  if (!eksOriginal) return t.skip('the scenario has no cluster: section');
  await restoreEndpointSettings(stateDir, eksOriginal);
  assert.deepEqual(currentEndpointSettings(stateDir), eksOriginal);
});

test('demo case Fargate 1 a profile naming a public subnet refused', { timeout: 90_000 }, async (t) => {
  if (!eksOriginal) return t.skip('the scenario has no cluster: section');
  const rows = await runFargateRefusalCase(stateDir);
  assert.equal(rows.length, 1, 'the cluster\'s VPC has a public subnet to name');
  for (const row of rows) assert.ok(row.pass, `${row.case}: expected ${row.expected}, observed ${row.observed}`);
});

test('demo case Fargate 2 a Fargate pod in a private subnet reaches the internet through the NAT gateway with its own address', { timeout: 300_000 }, async (t) => {
  if (!eksOriginal) return t.skip('the scenario has no cluster: section');
  const rows = await runFargatePodCase(stateDir);
  assert.equal(rows.length, 1, 'the scenario\'s Fargate profile selects the demo\'s pod');
  for (const row of rows) assert.ok(row.pass, `${row.case}: expected ${row.expected}, observed ${row.observed}`);
  assert.match(rows[0]!.expected, /NAT gateway/, 'explain: the NAT gateway translates the pod\'s own address');
});

for (const c of demoCases.filter((x) => x.setEnv)) demoCaseTest(c);
