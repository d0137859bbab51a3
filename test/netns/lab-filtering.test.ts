// Security groups enforced with real packets, and changed live: a group with no ingress rule keeps the internet from a
// node's public IP (lab probe names the group); AuthorizeSecurityGroupIngress through the SDK lets it in, Revoke shuts
// it again. The time from the SDK call's answer until packets follow is measured and printed, never asserted.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../src/lib/index.js';
import { LabState, labDown, labUp, probe, type ProbeResult } from '../../src/lab/index.js';
import type { FabricStatus } from '../../src/lab/state.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-lab-sg-'));
const stateDir = join(dir, 'state');
const scenarioPath = join(dir, 'scenario.yaml');
writeFileSync(
  scenarioPath,
  `
vpcs: [{ name: main, cidr: 10.0.0.0/16 }]
subnets: [{ name: public-a, vpc: main, az: us-west-2a, cidr: 10.0.0.0/20 }]
internetGateways: [{ name: igw, vpc: main }]
routeTables: [{ name: public, vpc: main, subnets: [public-a], routes: [{ destination: 0.0.0.0/0, igw: igw }] }]
securityGroups: [{ name: web, vpc: main }]
instances: [{ name: node-a, type: t3.small, subnet: public-a, publicIp: true, securityGroups: [web] }]
nodes: [{ instance: node-a }]
internetHosts: [{ name: inet, address: 198.51.100.20 }]
`,
);

before(async () => {
  await labUp({ scenarioPath, stateDir, runtime: 'cni' });
}, { timeout: 180_000 });
after(async () => {
  await labDown({ stateDir });
  rmSync(dir, { recursive: true, force: true });
}, { timeout: 60_000 });

/**
 * EC2 calls through the SDK from the aws namespace (where the endpoint is): `body` uses `c` (the client) and `ec2`
 * (the SDK module) and may set `out`; returns the time of the last answer (ms since the epoch) and `out`.
 */
async function ec2(body: string): Promise<{ at: number; out: string }> {
  const lab = new LabState(stateDir).readLab()!;
  const script = `
    import * as ec2 from '@aws-sdk/client-ec2';
    const c = new ec2.EC2Client({ endpoint: ${JSON.stringify(lab.ec2Url)}, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    let out = '';
    ${body}
    process.stdout.write(JSON.stringify({ at: Date.now(), out }));`;
  const { stdout } = await run([process.execPath, '--input-type=module', '-e', script], { netns: 'pn-aws' });
  return JSON.parse(stdout.trim()) as { at: number; out: string };
}

/**
 * When the controller published a fabric for which `applied` holds (it publishes after applying, with the time): the
 * ms from `since` to then.
 */
async function appliedAfter(applied: (f: FabricStatus) => boolean, since: number): Promise<number> {
  const state = new LabState(stateDir);
  for (let i = 0; i < 500; i++) {
    const fabric = state.readFabric();
    if (fabric && applied(fabric)) return Date.parse(fabric.updatedAt) - since;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  assert.fail('the controller did not apply the change within 5 s');
}
const opensEcho = (f: FabricStatus, groupId: string) => f.facts.filtering?.securityGroups.find((g) => g.id === groupId)?.ingress.some((r) => r.ports?.from === 7007) ?? false;

const echoFromAnywhere = `IpPermissions: [{ IpProtocol: 'tcp', FromPort: 7007, ToPort: 7007, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }]`;

/**
 * Probes until `done` says the packets follow the change: the time from `since` to the start of the first probe that
 * did, and how many probes it took (when the first one did, the time is an upper bound).
 */
async function until(done: (r: ProbeResult) => boolean, since: number): Promise<{ ms: number; probes: number; r: ProbeResult }> {
  for (let i = 0; i < 60; i++) {
    const start = Date.now();
    const r = await probe('inet', 'node-a', { stateDir, timeoutMs: 300 });
    if (done(r)) return { ms: start - since, probes: i + 1, r };
  }
  assert.fail('the packets did not follow the security group change within 60 probes');
}

test('a group without an ingress rule drops the internet at the node; authorize lets it in, revoke shuts it; the time until packets follow', { timeout: 120_000 }, async (t) => {
  const blocked = await probe('inet', 'node-a', { stateDir });
  assert.equal(blocked.delivered, false);
  assert.equal(blocked.reason, 'security-group');
  const groupId = new LabState(stateDir).readFabric()!.facts.securityGroups.find((g) => g.name === 'web')!.id;
  assert.equal(blocked.droppedBy?.element, 'security-group');
  assert.match(blocked.droppedBy!.detail, new RegExp(`no ingress rule of ${groupId} \\(web\\) allows tcp/7007 from 198\\.51\\.100\\.20`));

  const authorize = await ec2(`await c.send(new ec2.AuthorizeSecurityGroupIngressCommand({ GroupId: '${groupId}', ${echoFromAnywhere} }));`);
  const authorizeApplied = await appliedAfter((f) => opensEcho(f, groupId), authorize.at);
  const authorized = await until((r) => r.delivered, authorize.at);
  assert.equal(authorized.r.saw, '198.51.100.20');
  t.diagnostic(`AuthorizeSecurityGroupIngress answered → the router's table replaced ${authorizeApplied} ms later`);
  t.diagnostic(`AuthorizeSecurityGroupIngress answered → probe ${authorized.probes} (started ${authorized.ms} ms after the answer; 300 ms probes) was the first delivered`);

  const revoke = await ec2(`await c.send(new ec2.RevokeSecurityGroupIngressCommand({ GroupId: '${groupId}', ${echoFromAnywhere} }));`);
  const revokeApplied = await appliedAfter((f) => !opensEcho(f, groupId), revoke.at);
  const revoked = await until((r) => !r.delivered, revoke.at);
  assert.equal(revoked.r.reason, 'security-group');
  t.diagnostic(`RevokeSecurityGroupIngress answered → the router's table replaced ${revokeApplied} ms later`);
  t.diagnostic(`RevokeSecurityGroupIngress answered → probe ${revoked.probes} (started ${revoked.ms} ms after the answer; 300 ms probes) was the first dropped`);
});

test('ModifyNetworkInterfaceAttribute moves the ENI into a group that allows it, and back: packets follow', { timeout: 120_000 }, async (t) => {
  const state = new LabState(stateDir);
  const lab = state.readLab()!;
  const fabric = state.readFabric()!;
  const eni = fabric.enis.find((e) => e.instanceId === lab.nodes['node-a']!.instanceId && e.deviceIndex === 0)!;
  const web = fabric.facts.securityGroups.find((g) => g.name === 'web')!;
  assert.equal((await probe('inet', 'node-a', { stateDir })).reason, 'security-group');
  const moved = await ec2(`
    const { GroupId } = await c.send(new ec2.CreateSecurityGroupCommand({ GroupName: 'open', Description: 'echo from anywhere', VpcId: '${web.vpcId}' }));
    await c.send(new ec2.AuthorizeSecurityGroupIngressCommand({ GroupId, ${echoFromAnywhere} }));
    await c.send(new ec2.ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: '${eni.eniId}', Groups: [GroupId] }));
    out = GroupId;`);
  const delivered = await until((r) => r.delivered, moved.at);
  t.diagnostic(`ModifyNetworkInterfaceAttribute (into the open group ${moved.out}) answered → probe ${delivered.probes} (started ${delivered.ms} ms after) was the first delivered`);
  const back = await ec2(`await c.send(new ec2.ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: '${eni.eniId}', Groups: ['${web.id}'] }));`);
  const dropped = await until((r) => !r.delivered, back.at);
  assert.equal(dropped.r.reason, 'security-group');
  assert.equal(dropped.r.droppedBy?.id, web.id);
  t.diagnostic(`ModifyNetworkInterfaceAttribute (back to web) answered → probe ${dropped.probes} (started ${dropped.ms} ms after) was the first dropped`);
});
