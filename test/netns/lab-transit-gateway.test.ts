// A transit gateway with real packets: a host in a VPC attached to the gateway reaches a pod behind a secondary ENI
// of the other attached VPC and is answered; a pod reaches the host as its node (the SNAT chain: outside the VPC);
// and the fabric follows EC2 when a blackhole route is added to the gateway's table and removed through the SDK.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../src/lib/index.js';
import { LabState, labDown, labUp, probe } from '../../src/lab/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-lab-tgw-'));
const stateDir = join(dir, 'state');
const scenarioPath = join(dir, 'scenario.yaml');
writeFileSync(
  scenarioPath,
  `
vpcs: [{ name: main, cidr: 10.0.0.0/16 }, { name: transit, cidr: 10.2.0.0/16 }]
subnets:
  - { name: private-a, vpc: main, az: us-west-2a, cidr: 10.0.16.0/20 }
  - { name: transit-a, vpc: transit, az: us-west-2a, cidr: 10.2.0.0/24 }
transitGateways: [{ name: hub, attachments: [{ vpc: main, subnets: [private-a] }, { vpc: transit, subnets: [transit-a] }] }]
routeTables:
  - { name: private, vpc: main, subnets: [private-a], routes: [{ destination: 10.2.0.0/16, tgw: hub }] }
  - { name: transit, vpc: transit, subnets: [transit-a], routes: [{ destination: 10.0.0.0/16, tgw: hub }] }
securityGroups:
  - { name: nodes, vpc: main, ingress: [{ protocol: all, cidr: 10.0.0.0/16 }, { protocol: all, cidr: 10.2.0.0/16 }] }
  - { name: hosts, vpc: transit, ingress: [{ protocol: all, cidr: 10.0.0.0/16 }] }
instances:
  - { name: node-a, type: t3.small, subnet: private-a, securityGroups: [nodes] }
  - { name: transit-host, type: t3.micro, subnet: transit-a, securityGroups: [hosts] }
nodes: [{ instance: node-a }]
hosts: [{ instance: transit-host }]
pods: [{ name: pod-a, node: node-a }, { name: pod-eni1, node: node-a, eni: 1 }]
`,
);

before(async () => {
  await labUp({ scenarioPath, stateDir });
}, { timeout: 180_000 });
after(async () => {
  await labDown({ stateDir });
  rmSync(dir, { recursive: true, force: true });
}, { timeout: 60_000 });

/** Probes until `want` (the controller re-reads EC2 every few seconds), returning the last result and the time taken. */
async function probeUntil(from: string, to: string, want: boolean): Promise<{ delivered: boolean; saw: string | null; reason: string | null; ms: number }> {
  const start = Date.now();
  let r = await probe(from, to, { stateDir, timeoutMs: 1000 });
  while (r.delivered !== want && Date.now() - start < 20_000) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    r = await probe(from, to, { stateDir, timeoutMs: 1000 });
  }
  return { delivered: r.delivered, saw: r.saw, reason: r.reason ?? null, ms: Date.now() - start };
}

test('a host in the attached VPC reaches a pod behind eth1 through the gateway and is answered; a pod reaches the host as its node', { timeout: 60_000 }, async () => {
  const state = new LabState(stateDir);
  const lab = state.readLab()!;
  const enis = state.readFabric()!.enis;
  const hostIp = enis.find((e) => e.instanceId === lab.hosts['transit-host']!.instanceId && e.deviceIndex === 0)!.privateIps[0];
  const inbound = await probe('transit-host', 'pod-eni1', { stateDir });
  assert.equal(inbound.delivered, true, inbound.error);
  assert.equal(inbound.saw, hostIp, 'a transit gateway translates nothing');
  const primary = enis.find((e) => e.instanceId === lab.nodes['node-a']!.instanceId && e.deviceIndex === 0)!.privateIps[0];
  const outbound = await probe('pod-a', 'transit-host', { stateDir });
  assert.equal(outbound.delivered, true, outbound.error);
  assert.equal(outbound.saw, primary, 'the SNAT chain translates what leaves the VPC');
});

test('a blackhole route for the private subnet in the gateway table (SDK) drops the host\'s probe as no-route; deleting it restores it', { timeout: 90_000 }, async () => {
  const lab = new LabState(stateDir).readLab()!;
  const sdk = (action: 'Create' | 'Delete') => `
    import { EC2Client, DescribeTransitGatewaysCommand, ${action}TransitGatewayRouteCommand } from '@aws-sdk/client-ec2';
    const c = new EC2Client({ endpoint: ${JSON.stringify(lab.ec2Url)}, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const tgw = (await c.send(new DescribeTransitGatewaysCommand({ Filters: [{ Name: 'tag:Name', Values: ['hub'] }] }))).TransitGateways[0];
    await c.send(new ${action}TransitGatewayRouteCommand({ TransitGatewayRouteTableId: tgw.Options.AssociationDefaultRouteTableId, DestinationCidrBlock: '10.0.16.0/20'${action === 'Create' ? ', Blackhole: true' : ''} }));`;
  const call = (action: 'Create' | 'Delete') => run([process.execPath, '--input-type=module', '-e', sdk(action)], { netns: 'pn-aws', env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } });
  await call('Create');
  const cut = await probeUntil('transit-host', 'pod-a', false);
  assert.equal(cut.delivered, false);
  assert.equal(cut.reason, 'no-route', 'the gateway counts what it has no route for');
  await call('Delete');
  const back = await probeUntil('transit-host', 'pod-a', true);
  assert.equal(back.delivered, true);
  process.stdout.write(`# blackhole route → host cut off in ${cut.ms} ms; route deleted → reachable again in ${back.ms} ms\n`);
});
