// Security groups for pods wired end to end in the lab: lab up starts podnet sgp-controller, creates the scenario's
// SecurityGroupPolicy, and a pod it selects ends Running with its branch ENI's address; the fabric hands the node that
// branch as vlan.eth.<vlan id> carrying the branch's MAC; packets show the branch's own group applies (a host that admits
// only that group answers the branch pods, not a plain pod on the same node); deleting the pod removes the link once
// the cooldown has passed.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { run } from '../../src/lib/index.js';
import { PodnetError } from '../../src/lib/index.js';
import { LabState, labDown, labStatus, labUp, podAdd, podDel, probe } from '../../src/lab/index.js';
import { isLabProcess, podnetArgv, startProcess } from '../../src/lab/state.js';
import { waitForFabricVlanLink } from '../../src/ipamd/node-dataplane.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-lab-sgp-wiring-'));
const stateDir = join(dir, 'state');
const scenarioPath = join(dir, 'scenario.yaml');
writeFileSync(
  scenarioPath,
  `
vpcs: [{ name: main, cidr: 10.0.0.0/16 }]
subnets:
  - { name: public-a, vpc: main, az: us-west-2a, cidr: 10.0.0.0/20 }
  - { name: private-a, vpc: main, az: us-west-2a, cidr: 10.0.16.0/20 }
internetGateways: [{ name: igw, vpc: main }]
natGateways: [{ name: nat-a, subnet: public-a }]
routeTables:
  - { name: public, vpc: main, subnets: [public-a], routes: [{ destination: 0.0.0.0/0, igw: igw }] }
  - { name: private, vpc: main, subnets: [private-a], routes: [{ destination: 0.0.0.0/0, nat: nat-a }] }
securityGroups:
  - { name: nodes, vpc: main, ingress: [{ protocol: all, cidr: 10.0.0.0/16 }] }
  - { name: pod-sg, vpc: main, ingress: [{ protocol: all, cidr: 10.0.0.0/16 }] }
  # the database admits only pods with their own group pod-sg
  - { name: db-sg, vpc: main, ingress: [{ protocol: all, sg: pod-sg }] }
instances:
  - { name: strict-a, type: m5.large, subnet: private-a, securityGroups: [nodes] }
  - { name: std-a, type: m5.large, subnet: private-a, securityGroups: [nodes] }
  - { name: db, type: t3.micro, subnet: private-a, securityGroups: [db-sg] }
nodes:
  - { instance: strict-a, env: { ENABLE_POD_ENI: "true" } }
  - { instance: std-a, env: { ENABLE_POD_ENI: "true", POD_SECURITY_GROUP_ENFORCING_MODE: standard } }
hosts: [{ instance: db }]
securityGroupPolicies:
  - { name: to-db, podSelector: { sgp: db }, securityGroups: [pod-sg] }
pods:
  - { name: b1, node: strict-a, labels: { sgp: db } }
  - { name: p1, node: strict-a }
  - { name: b2, node: std-a, labels: { sgp: db } }
lab: { branchCooldownSeconds: 2 }
`,
);

let upSeconds = 0;
before(async () => {
  const started = Date.now();
  await labUp({ scenarioPath, stateDir, runtime: 'cni' });
  upSeconds = (Date.now() - started) / 1000;
}, { timeout: 240_000 });
after(async () => {
  await labDown({ stateDir });
  rmSync(dir, { recursive: true, force: true });
}, { timeout: 60_000 });

interface Eni { NetworkInterfaceId: string; InterfaceType?: string; MacAddress: string; PrivateIpAddress: string; Description?: string; Groups?: Array<{ GroupId: string; GroupName: string }> }

/** EC2's DescribeNetworkInterfaces through the SDK, from the aws namespace (where the endpoint is). */
async function describeEnis(filters: Array<{ Name: string; Values: string[] }>): Promise<Eni[]> {
  const lab = new LabState(stateDir).readLab()!;
  const script = `
    import * as ec2 from '@aws-sdk/client-ec2';
    const c = new ec2.EC2Client({ endpoint: ${JSON.stringify(lab.ec2Url)}, region: ${JSON.stringify(lab.region)}, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const r = await c.send(new ec2.DescribeNetworkInterfacesCommand({ Filters: ${JSON.stringify(filters)} }));
    process.stdout.write(JSON.stringify(r.NetworkInterfaces ?? []));`;
  const { stdout } = await run([process.execPath, '--input-type=module', '-e', script], { netns: 'pn-aws' });
  return JSON.parse(stdout) as Eni[];
}

/** The node namespace's link of that name, or undefined. */
async function link(netns: string, name: string): Promise<{ ifname: string; address: string; ifindex: number } | undefined> {
  const { stdout } = await run(['ip', '-j', 'link', 'show'], { netns });
  return (JSON.parse(stdout) as Array<{ ifname: string; address: string; ifindex: number }>).find((l) => l.ifname === name);
}

test('a selected pod is Running with its branch ENI\'s address, and its node has vlan.eth.<id> with the branch MAC', async () => {
  console.log(`lab up: ${upSeconds.toFixed(1)} s`);
  const state = new LabState(stateDir);
  const status = labStatus({ stateDir });
  for (const [pod, node, netns] of [['b1', 'strict-a', 'pn-n-strict-a'], ['b2', 'std-a', 'pn-n-std-a']] as const) {
    const record = state.pod(pod);
    assert.ok(record?.ip, `${pod} has an address`);
    const [eni] = await describeEnis([{ Name: 'addresses.private-ip-address', Values: [record.ip] }]);
    assert.ok(eni, `an ENI holds ${pod}'s ${record.ip}`);
    assert.equal(eni.PrivateIpAddress, record.ip, 'the pod\'s address is the ENI\'s primary');
    assert.equal(eni.Description, 'aws-k8s-branch-eni');
    assert.deepEqual(eni.Groups?.map((g) => g.GroupName), ['pod-sg']);
    const branch = status.nodes.find((n) => n.name === node)!.branches.find((b) => b.eniId === eni.NetworkInterfaceId);
    assert.ok(branch, `lab status lists ${eni.NetworkInterfaceId} on ${node}`);
    assert.equal(branch.pod, pod);
    assert.equal(status.pods.find((p) => p.name === pod)?.vlanId, branch.vlanId);
    const vlan = await link(netns, `vlan.eth.${branch.vlanId}`);
    assert.equal(vlan?.address, eni.MacAddress.toLowerCase(), `vlan.eth.${branch.vlanId} carries the branch MAC`);
  }
  // the plain pod on the same node has a pool address, not a branch
  const p1 = state.pod('p1')!;
  assert.equal(status.pods.find((p) => p.name === 'p1')?.vlanId, null);
  assert.ok(p1.ip && !status.nodes.some((n) => n.branches.some((b) => b.address === p1.ip)));
  // `lab status` prints the branches, and the controller runs as a recorded lab process
  const { stdout } = await run([...podnetArgv(), 'lab', 'status', '--state-dir', stateDir]);
  const b1 = status.nodes.find((n) => n.name === 'strict-a')!.branches.find((b) => b.pod === 'b1')!;
  assert.match(stdout, new RegExp(`strict-a +vlan\\.eth\\.${b1.vlanId} +${b1.eniId} +${b1.trunkEniId} +${b1.mac} +${b1.address!.replaceAll('.', '\\.')} +sg-[0-9a-f]+ +b1 +yes`));
  assert.ok(status.processes.some((p) => p.name === 'sgp-controller' && p.namespace === 'pn-aws' && p.running));
});

test('the branch ENI\'s own group applies: db admits the branch pods (strict and standard), not the plain pod beside one', async () => {
  const b1 = await probe('b1', 'db', { stateDir, timeoutMs: 1000 });
  assert.equal(b1.delivered, true, `b1 → db: ${JSON.stringify({ reason: b1.reason, error: b1.error })}`);
  assert.equal(b1.saw, new LabState(stateDir).pod('b1')!.ip, 'not SNATed: db sees the branch address');
  const b2 = await probe('b2', 'db', { stateDir, timeoutMs: 1000 });
  assert.equal(b2.delivered, true, `b2 → db (standard: VPC traffic leaves through the branch): ${JSON.stringify({ reason: b2.reason, error: b2.error })}`);
  const p1 = await probe('p1', 'db', { stateDir, timeoutMs: 1000 });
  assert.equal(p1.delivered, false, 'p1 leaves through the node\'s ENI, whose group db does not admit');
  assert.equal(p1.reason, 'security-group');
});

test('a restarted fabric controller adopts the branch links as they are (the same links), and the branch pods still reach db', async () => {
  const state = new LabState(stateDir);
  const branches = labStatus({ stateDir }).nodes.flatMap((n) => n.branches.map((b) => ({ netns: `pn-n-${n.name}`, name: `vlan.eth.${b.vlanId}`, eniId: b.eniId })));
  assert.equal(branches.length, 2);
  const before = await Promise.all(branches.map((b) => link(b.netns, b.name)));
  // the lab does not supervise its controller: stopped by its recorded PID and started as lab up starts it
  const old = state.procs().find((p) => p.name === 'controller')!;
  process.kill(old.pid, 'SIGTERM');
  for (let i = 0; i < 100 && isLabProcess(old.pid, stateDir); i++) await sleep(100);
  assert.ok(!isLabProcess(old.pid, stateDir), 'the controller stopped');
  const restartedAt = new Date().toISOString();
  startProcess(state, { name: 'controller', ns: 'pn-aws', argv: [...podnetArgv(), 'lab', 'controller', '--state-dir', stateDir] });
  let fabric = state.readFabric();
  const adopted = () => fabric !== undefined && fabric.updatedAt > restartedAt && fabric.eventsConnected && !fabric.error && branches.every((b) => fabric!.enis.some((e) => e.eniId === b.eniId && e.wired));
  for (let i = 0; i < 300 && !adopted(); i++) {
    await sleep(100);
    fabric = state.readFabric();
  }
  assert.ok(adopted(), `the new controller wired both branches: ${JSON.stringify({ updatedAt: fabric?.updatedAt, error: fabric?.error })}`);
  const after = await Promise.all(branches.map((b) => link(b.netns, b.name)));
  assert.deepEqual(after.map((l) => l?.ifindex), before.map((l) => l?.ifindex), 'the links were taken over, not made again');
  for (const pod of ['b1', 'b2']) {
    const r = await probe(pod, 'db', { stateDir, timeoutMs: 1000 });
    assert.equal(r.delivered, true, `${pod} → db after the restart: ${JSON.stringify({ reason: r.reason, error: r.error })}`);
  }
});

test('lab pod add --eni for a pod a policy selects is refused after its first address, the Pod gone; a label the lab owns is refused before any pod', async () => {
  const err = await podAdd({ stateDir, node: 'strict-a', name: 'b3', eni: 0, labels: { sgp: 'db' } }).then(() => undefined, (e: unknown) => e);
  assert.ok(err instanceof PodnetError && err.code === 'USAGE', String(err));
  assert.match(err.message, /--eni 0: a SecurityGroupPolicy selects pod b3, so its address \S+ is its branch ENI eni-[0-9a-f]+'s \(vlan\.eth\.\d+\)/);
  assert.equal(new LabState(stateDir).pod('b3'), undefined, 'no record left');
  const bad = await podAdd({ stateDir, node: 'strict-a', name: 'b4', labels: { 'podnet.io/lab-pod': 'x', 'bad key!': 'v' } }).then(() => undefined, (e: unknown) => e);
  assert.ok(bad instanceof PodnetError && bad.code === 'USAGE', String(bad));
  assert.match(bad.message, /--label: labels\.bad key!: a label key's name .*; labels\.podnet\.io\/lab-pod: the lab sets this label/);
});

test('deleting the pod removes its branch ENI and the node\'s link after the cooldown', async () => {
  const status = labStatus({ stateDir });
  const branch = status.nodes.find((n) => n.name === 'strict-a')!.branches.find((b) => b.pod === 'b1')!;
  const started = Date.now();
  await podDel({ stateDir, name: 'b1' });
  let gone = false;
  while (!gone && Date.now() - started < 30_000) {
    gone = (await link('pn-n-strict-a', `vlan.eth.${branch.vlanId}`)) === undefined && (await describeEnis([{ Name: 'network-interface-id', Values: [branch.eniId] }])).length === 0;
    if (!gone) await sleep(250);
  }
  assert.ok(gone, `vlan.eth.${branch.vlanId} and ${branch.eniId} gone within 30 s of the delete`);
  // the CNI's DEL took its part: no rule from the VLAN or table 100 + vlan id left on the node
  const { stdout: rules } = await run(['ip', 'rule', 'show'], { netns: 'pn-n-strict-a' });
  assert.ok(!rules.includes(`vlan.eth.${branch.vlanId}`) && !rules.includes(`lookup ${100 + branch.vlanId}`), rules);
  console.log(`b1 deleted → branch and link gone in ${((Date.now() - started) / 1000).toFixed(1)} s (cooldown 2 s)`);
});

test('ipamd in fabric mode waits for vlan.eth.<id> with the branch MAC: a link of that name with another MAC does not count', async () => {
  // in this sandbox's own namespace, as ipamd runs in the node's: veth pairs as the fabric makes them
  await run(['ip', 'link', 'add', 'vlan.eth.4000', 'address', '02:00:5e:00:53:01', 'type', 'veth', 'peer', 'name', 'pnw4000']);
  try {
    const started = Date.now();
    const waited = waitForFabricVlanLink(4000, '02:00:5e:00:53:02', 'default/w', 3000);
    setTimeout(() => void run(['ip', '-batch', '-'], { input: 'link del vlan.eth.4000\nlink add vlan.eth.4000 address 02:00:5e:00:53:02 type veth peer name pnw4000\n' }), 400);
    await waited;
    assert.ok(Date.now() - started >= 400, 'the earlier branch\'s link (another MAC) was not taken');
  } finally {
    await run(['ip', 'link', 'del', 'vlan.eth.4000']).catch(() => undefined);
  }
});
