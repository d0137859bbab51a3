import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Ec2Facts, EniMapping } from '../../../src/ec2/index.js';
import { LabState, defaultScenarioPath, demoCases, demoExpectations, loadScenario, planFabric, type LabRecord, type PodRecord } from '../../../src/lab/index.js';
import { defaultVpcFacts } from '../vpc/default-vpc.js';

// A lab that is "up" as far as its state files say: the default scenario with the addresses EC2 and ipamd gave out.
const dir = mkdtempSync(join(tmpdir(), 'podnet-demo-expect-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const state = new LabState(dir);
state.ensure();

const facts: Ec2Facts = {
  ...defaultVpcFacts,
  instances: [],
  securityGroups: [],
};
const eni = (eniId: string, instanceId: string | null, deviceIndex: number | null, subnetId: string, privateIps: string[], publicIps: Record<string, string> = {}): EniMapping & { wired: boolean } => ({
  eniId, mac: '02:00:00:00:00:01', vpcId: subnetId === 'subnet-peer' ? 'vpc-peer' : 'vpc-main', subnetId, instanceId, deviceIndex, privateIps, ipv4Prefixes: [], ipv6Addresses: [], ipv6Prefixes: [], publicIps, groupIds: [], wired: true,
});
const enis = [
  eni('eni-nat', null, null, 'subnet-pub', ['10.0.0.4'], { '10.0.0.4': '203.0.113.4' }),
  eni('eni-pubip0', 'i-pubip', 0, 'subnet-pub', ['10.0.0.5', '10.0.0.7'], { '10.0.0.5': '203.0.113.5' }),
  eni('eni-pubnoip0', 'i-pubnoip', 0, 'subnet-pub', ['10.0.0.6', '10.0.0.8']),
  eni('eni-priv0', 'i-priv', 0, 'subnet-priv', ['10.0.16.4', '10.0.16.10']),
  eni('eni-priv1', 'i-priv', 1, 'subnet-priv', ['10.0.16.20', '10.0.16.21']),
  eni('eni-ext0', 'i-ext', 0, 'subnet-priv', ['10.0.16.5', '10.0.16.11']),
  eni('eni-excl0', 'i-excl', 0, 'subnet-priv', ['10.0.16.6', '10.0.16.14']),
  eni('eni-old0', 'i-old', 0, 'subnet-priv', ['10.0.16.7']),
  eni('eni-old1', 'i-old', 1, 'subnet-priv', ['10.0.16.30', '10.0.16.31']),
  eni('eni-peerhost', 'i-peerhost', 0, 'subnet-peer', ['10.1.0.4']),
];
const instances: Record<string, string> = { 'pub-ip': 'i-pubip', 'pub-noip': 'i-pubnoip', priv: 'i-priv', 'priv-ext': 'i-ext', 'priv-excl': 'i-excl', 'priv-old': 'i-old' };
const lab = {
  plan: planFabric(await loadScenario(defaultScenarioPath)),
  nodes: Object.fromEntries(Object.entries(instances).map(([name, instanceId]) => [name, { name, instanceId, ns: `pn-n-${name}` }])),
  hosts: { 'peer-host': { ns: 'pn-h-peer-host', instanceId: 'i-peerhost' } },
} as unknown as LabRecord;
state.writeLab(lab);
state.writeFabric({ generation: 1, updatedAt: '', enis, eventsConnected: true, facts });
const pods: Array<[string, string, string | null]> = [
  ['web-pub', 'pub-ip', '10.0.0.7'], ['web-noip', 'pub-noip', '10.0.0.8'], ['web-priv', 'priv', '10.0.16.10'], ['web-ext', 'priv-ext', '10.0.16.11'],
  ['web-excl', 'priv-excl', '10.0.16.14'], ['web-eni1', 'priv', '10.0.16.21'], ['web-old-eni1', 'priv-old', '10.0.16.31'], ['hostnet', 'priv', null],
];
for (const [name, node, ip] of pods) state.writePod({ name, node, ns: `pn-p-${name}`, hostNetwork: ip === null, ip, containerId: name } satisfies PodRecord);

test("the demo's VPC-level expectations come from the model: the documented outcome of every check", () => {
  const outcomes = demoCases.flatMap((c) => demoExpectations(dir, c).map((e) => [`${e.from} → ${e.to}`, e.saw, e.droppedBySourceCheck ?? false]));
  assert.deepEqual(outcomes, [
    ['web-pub → inet', '203.0.113.5', false], // the node's public IP
    ['web-noip → inet', null, false], // no public IP at the internet gateway
    ['web-priv → inet', '203.0.113.4', false], // the NAT gateway's EIP
    ['web-ext → inet', '203.0.113.4', false],
    ['web-ext → peer-host', '10.0.16.11', false], // the pod's own address
    ['web-excl → peer-host', '10.0.16.14', false],
    ['web-excl → inet', '203.0.113.4', false],
    ['peer-host → web-eni1', '10.1.0.4', false], // 1.8.0+: the reply leaves the ENI that holds the pod's address
    ['peer-host → web-old-eni1', null, true], // pre-1.8.0: it leaves eth0 and the source/destination check drops it
    ['hostnet → peer-host', '10.0.16.4', false], // the node's address
    ['web-pub → web-priv', '10.0.0.7', false],
  ]);
});

test('each expectation names whose address is seen, or the element that dropped it, and the declared node behaviour', () => {
  const [pub] = demoExpectations(dir, demoCases[0]!);
  assert.equal(pub!.describe, "node pub-ip's public IP 203.0.113.5 [node SNAT]");
  const [noip] = demoExpectations(dir, demoCases[1]!);
  assert.equal(noip!.describe, 'dropped: no-public-ip at internet-gateway igw-1 [node SNAT]');
  const old = demoExpectations(dir, demoCases[5]!)[1]!;
  assert.equal(old.describe, 'reply dropped: source-destination-check at eni eni-old0 [pre-1.8.0: reply leaves eth0]');
});
