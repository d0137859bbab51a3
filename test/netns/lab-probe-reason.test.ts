// Issue 11: a lab in eu-west-1 zones runs in eu-west-1 (emulator, IMDS, ipamd's SDK), and `lab probe` says why a
// probe was not delivered, from the fabric's counters: no public IP at the internet gateway, no route, the
// source/destination check; and none when other traffic moved another counter between the reads.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { LabState, attributeDrop, isLabProcess, probe, readDropCounters, resolveEndpoint } from '../../src/lab/index.js';
import { run } from '../../src/lib/index.js';
import { podnet } from '../run-podnet.js';
import { labForFile } from './lab-per-file.js';

const stateDir = labForFile('eu-west-1-lab.yaml');

/** One IMDSv2 GET from inside a namespace, as the node's software makes it. */
async function imds(netns: string, path: string): Promise<string> {
  const token = (await run(['curl', '-sf', '-X', 'PUT', '-H', 'X-aws-ec2-metadata-token-ttl-seconds: 60', 'http://169.254.169.254/latest/api/token'], { netns })).stdout;
  return (await run(['curl', '-sf', '-H', `X-aws-ec2-metadata-token: ${token}`, `http://169.254.169.254/latest/meta-data/${path}`], { netns })).stdout;
}

test('issue 11: a scenario in eu-west-1 zones runs in eu-west-1', { timeout: 60_000 }, async () => {
  const state = new LabState(stateDir);
  const lab = state.readLab()!;
  assert.equal(lab.region, 'eu-west-1');
  // IMDS, from the nodes' own namespaces: the emulator runs in the scenario's region
  assert.equal(await imds(lab.nodes['pub-noip']!.ns, 'placement/region'), 'eu-west-1');
  assert.equal(await imds(lab.nodes['priv']!.ns, 'placement/availability-zone'), 'eu-west-1b');
  // ipamd's SDK is given the region, and it works: the pod got an address from EC2
  // (ipamd: the aws-node DaemonSet pods' containers, which the nodes' kubelets started)
  const ipamds = state.procs().filter((x) => /^pod-kube-system-aws-node-.*-aws-node$/.test(x.name) && isLabProcess(x.pid, state.dir));
  assert.equal(ipamds.length, Object.keys(lab.nodes).length);
  for (const p of ipamds) {
    assert.ok(readFileSync(`/proc/${p.pid}/environ`, 'latin1').split('\0').includes('AWS_REGION=eu-west-1'), p.name);
  }
  assert.match(state.pod('pod-a')?.ip ?? '', /^10\.0\.\d+\.\d+$/);
});

test('issue 11: lab probe to a public address from a node without public IP says no public IP at the internet gateway', { timeout: 60_000 }, async () => {
  for (const from of ['pub-noip', 'pod-a']) {
    const r = await probe(from, 'web', { stateDir });
    assert.equal(r.delivered, false, from);
    assert.equal(r.reason, 'no-public-ip', from);
  }
  // and from the internet to a node without a public IP, which the internet can only try at its private address
  const inbound = await probe('web', 'pub-noip', { stateDir });
  assert.equal(inbound.delivered, false);
  assert.equal(inbound.reason, 'no-public-ip');
});

test('issue 11: lab probe from a subnet whose route table has no route to the destination says no route', { timeout: 60_000 }, async () => {
  const r = await probe('priv', 'web', { stateDir });
  assert.equal(r.delivered, false);
  assert.equal(r.reason, 'no-route');
  // the text form says it in a sentence; --json carries the field
  const cli = (...args: string[]) => podnet(['lab', 'probe', 'priv', 'web', '--state-dir', stateDir, ...args], { timeoutMs: 30_000 });
  const text = cli();
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /^priv \(10\.0\.\d+\.\d+\) → web \(198\.51\.100\.20:7007\/tcp\): not delivered \(\w+\): the fabric had no route for it/);
  const json = cli('--json');
  assert.equal((JSON.parse(json.stdout) as { reason: string }).reason, 'no-route');
});

test('issue 11: a packet to a VPC address no ENI holds counts as no route', { timeout: 30_000 }, async () => {
  const lab = new LabState(stateDir).readLab()!;
  const before = await readDropCounters(lab.plan);
  // 10.0.31.200 is in private-b, a subnet the node reaches through the VPC router, and no ENI holds it
  await run(['busybox', 'ping', '-c', '1', '-W', '1', '10.0.31.200'], { netns: lab.nodes['pub-noip']!.ns }).catch(() => undefined);
  assert.equal(attributeDrop(before, await readDropCounters(lab.plan)), 'no-route');
});

test('issue 11: lab probe whose packets leave an ENI with an address EC2 did not assign says source/destination check', { timeout: 60_000 }, async () => {
  const state = new LabState(stateDir);
  const lab = state.readLab()!;
  const nodeNs = lab.nodes['pub-noip']!.ns;
  const target = resolveEndpoint(state, lab, 'priv').address;
  const gateway = (await run(['ip', '-4', 'route', 'show', 'default'], { netns: nodeNs })).stdout.split(' ')[2]!;
  // the node sends to the other node from an address of its subnet that EC2 never assigned to it (inside the VPC,
  // so the node's SNAT leaves the source alone)
  await run(['ip', '-batch', '-'], { netns: nodeNs, input: `address add 10.0.15.201/32 dev eth0\nroute add ${target}/32 via ${gateway} dev eth0 src 10.0.15.201\n` });
  try {
    const r = await probe('pub-noip', 'priv', { stateDir });
    assert.equal(r.delivered, false);
    assert.equal(r.reason, 'source-destination-check');
  } finally {
    await run(['ip', '-batch', '-'], { netns: nodeNs, input: `route del ${target}/32\naddress del 10.0.15.201/32 dev eth0\n` });
  }
  assert.equal((await probe('pub-noip', 'priv', { stateDir })).delivered, true, 'with its own address again the node reaches the other');
});

test('issue 11 review 16: when other traffic is dropped for another reason between the reads, there is no reason', { timeout: 30_000 }, async () => {
  const lab = new LabState(stateDir).readLab()!;
  const before = await readDropCounters(lab.plan);
  const nodeNs = lab.nodes['pub-noip']!.ns;
  // two drops between the reads: a VPC address no ENI holds (no route), and the internet from a node without a public
  // IP (no public IP at the gateway); counters are shared, so which one was "the probe" cannot be told
  await run(['busybox', 'ping', '-c', '1', '-W', '1', '10.0.31.200'], { netns: nodeNs }).catch(() => undefined);
  await run(['busybox', 'ping', '-c', '1', '-W', '1', resolveEndpoint(new LabState(stateDir), lab, 'web').address], { netns: nodeNs }).catch(() => undefined);
  const after = await readDropCounters(lab.plan);
  const grew = after.filter((a) => a.packets > before.find((b) => b.ns === a.ns && b.counter === a.counter)!.packets).map((a) => a.counter);
  assert.deepEqual(grew.sort(), ['no-public-ip', 'no-route'], 'both drops were counted');
  assert.equal(attributeDrop(before, after), null);
});
