// Security groups enforced with real packets, and changed live: a group with no ingress rule keeps the internet from a
// node's public IP (lab probe names the group); AuthorizeSecurityGroupIngress through the SDK lets it in, Revoke shuts
// it again. The time from the SDK call's answer until packets follow is measured and printed, never asserted.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../src/lib/index.js';
import { LabState, labDown, labUp, probe, type ProbeResult } from '../../src/lab/index.js';

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
}, { timeout: 60_000 });

/** One EC2 call through the SDK from the aws namespace (where the endpoint is); its answer's time, in ms since the epoch. */
async function ec2(command: 'AuthorizeSecurityGroupIngressCommand' | 'RevokeSecurityGroupIngressCommand', groupId: string): Promise<number> {
  const lab = new LabState(stateDir).readLab()!;
  const script = `
    import { EC2Client, ${command} } from '@aws-sdk/client-ec2';
    const c = new EC2Client({ endpoint: ${JSON.stringify(lab.ec2Url)}, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    await c.send(new ${command}({ GroupId: ${JSON.stringify(groupId)}, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 7007, ToPort: 7007, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
    process.stdout.write(String(Date.now()));`;
  const { stdout } = await run([process.execPath, '--input-type=module', '-e', script], { netns: 'pn-aws' });
  return Number(stdout.trim());
}

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

  const authorized = await until((r) => r.delivered, await ec2('AuthorizeSecurityGroupIngressCommand', groupId));
  assert.equal(authorized.r.saw, '198.51.100.20');
  t.diagnostic(`AuthorizeSecurityGroupIngress answered → probe ${authorized.probes} (started ${authorized.ms} ms after the answer; 300 ms probes) was the first delivered`);

  const revoked = await until((r) => !r.delivered, await ec2('RevokeSecurityGroupIngressCommand', groupId));
  assert.equal(revoked.r.reason, 'security-group');
  t.diagnostic(`RevokeSecurityGroupIngress answered → probe ${revoked.probes} (started ${revoked.ms} ms after the answer; 300 ms probes) was the first dropped`);
});
