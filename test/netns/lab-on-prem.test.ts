// On-premises networks with real packets: behind a virtual private gateway, the data centre reaches a pod behind a
// secondary ENI and is answered; a pod reaches the data centre as its node (the SNAT chain: outside the VPC); the
// fabric follows EC2 when the gateway is detached and attached again through the SDK. And a branch behind a transit
// gateway (a VPN attachment with a static route) reaches the same pod.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../src/lib/index.js';
import { LabState, labDown, labUp, probe } from '../../src/lab/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-lab-onprem-'));
const stateDir = join(dir, 'state');
const scenarioPath = join(dir, 'scenario.yaml');
writeFileSync(
  scenarioPath,
  `
vpcs: [{ name: main, cidr: 10.0.0.0/16 }]
subnets: [{ name: private-a, vpc: main, az: us-west-2a, cidr: 10.0.16.0/20 }]
virtualPrivateGateways: [{ name: dc-vgw, vpc: main }]
transitGateways: [{ name: hub, attachments: [{ vpc: main, subnets: [private-a] }] }]
onPremises:
  - { name: dc, cidr: 192.168.0.0/16, via: { vgw: dc-vgw } }
  - { name: branch, cidr: 172.20.0.0/16, via: { tgw: hub } }
routeTables: [{ name: private, vpc: main, subnets: [private-a], routes: [{ destination: 192.168.0.0/16, vgw: dc-vgw }, { destination: 172.20.0.0/16, tgw: hub }] }]
securityGroups: [{ name: nodes, vpc: main, ingress: [{ protocol: all, cidr: 10.0.0.0/16 }, { protocol: all, cidr: 192.168.0.0/16 }, { protocol: all, cidr: 172.20.0.0/16 }] }]
instances: [{ name: node-a, type: t3.small, subnet: private-a, securityGroups: [nodes] }]
nodes: [{ instance: node-a }]
onPremHosts: [{ name: dc-host, network: dc, address: 192.168.10.10 }, { name: branch-host, network: branch, address: 172.20.0.5 }]
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
  return { delivered: r.delivered, saw: r.saw, reason: r.reason, ms: Date.now() - start };
}

test('the data centre reaches a pod behind eth1 over the VGW and sees its own address answered; a pod reaches the data centre as its node', { timeout: 60_000 }, async () => {
  const state = new LabState(stateDir);
  const inbound = await probe('dc-host', 'pod-eni1', { stateDir });
  assert.equal(inbound.delivered, true, inbound.error);
  assert.equal(inbound.saw, '192.168.10.10');
  const lab = state.readLab()!;
  const primary = state.readFabric()!.enis.find((e) => e.instanceId === lab.instances['node-a'] && e.deviceIndex === 0)!.privateIps[0];
  const outbound = await probe('pod-a', 'dc-host', { stateDir });
  assert.equal(outbound.delivered, true, outbound.error);
  assert.equal(outbound.saw, primary, 'the SNAT chain translates what leaves the VPC, on-premises included');
});

test('DetachVpnGateway through the SDK cuts the data centre off; AttachVpnGateway brings it back (the fabric follows EC2)', { timeout: 90_000 }, async () => {
  const lab = new LabState(stateDir).readLab()!;
  const sdk = (action: 'Detach' | 'Attach') => `
    import { EC2Client, DescribeVpcsCommand, DescribeVpnGatewaysCommand, ${action}VpnGatewayCommand } from '@aws-sdk/client-ec2';
    const c = new EC2Client({ endpoint: ${JSON.stringify(lab.ec2Url)}, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const vpc = (await c.send(new DescribeVpcsCommand({ Filters: [{ Name: 'tag:Name', Values: ['main'] }] }))).Vpcs[0];
    const vgw = (await c.send(new DescribeVpnGatewaysCommand({ Filters: [{ Name: 'tag:Name', Values: ['dc-vgw'] }] }))).VpnGateways[0];
    await c.send(new ${action}VpnGatewayCommand({ VpnGatewayId: vgw.VpnGatewayId, VpcId: vpc.VpcId }));`;
  const call = (action: 'Detach' | 'Attach') => run([process.execPath, '--input-type=module', '-e', sdk(action)], { netns: 'pn-aws', env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } });
  await call('Detach');
  const cut = await probeUntil('dc-host', 'pod-a', false);
  assert.equal(cut.delivered, false);
  assert.equal(cut.reason, 'no-route', 'the detached VGW has no route to the VPC');
  await call('Attach');
  const back = await probeUntil('dc-host', 'pod-a', true);
  assert.equal(back.delivered, true);
  assert.equal(back.saw, '192.168.10.10');
  process.stdout.write(`# VGW detach → data centre cut off in ${cut.ms} ms; attach → reachable again in ${back.ms} ms\n`);
});

test('a branch behind the transit gateway reaches the pod behind eth1 over its VPN attachment and is answered', { timeout: 30_000 }, async () => {
  const r = await probe('branch-host', 'pod-eni1', { stateDir });
  assert.equal(r.delivered, true, r.error);
  assert.equal(r.saw, '172.20.0.5');
});
