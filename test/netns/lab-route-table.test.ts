// The VPC router applies each subnet's route table as EC2 has it, including a route added while the lab runs.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../src/lib/index.js';
import { LabState, labDown, labUp, probe } from '../../src/lab/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-lab-rt-'));
const stateDir = join(dir, 'state');
const scenarioPath = join(dir, 'scenario.yaml');
// The subnet's route table has no 0.0.0.0/0 route yet: the internet is unreachable although the node has a public IP.
writeFileSync(
  scenarioPath,
  `
vpcs: [{ name: main, cidr: 10.0.0.0/16 }]
subnets: [{ name: public-a, vpc: main, az: us-west-2a, cidr: 10.0.0.0/20 }]
internetGateways: [{ name: igw, vpc: main }]
routeTables: [{ name: public, vpc: main, subnets: [public-a] }]
instances: [{ name: node-a, type: t3.small, subnet: public-a, publicIp: true }]
nodes: [{ instance: node-a }]
internetHosts: [{ name: web, address: 198.51.100.20 }]
pods: [{ name: pod-a, node: node-a }]
`,
);

before(async () => {
  await labUp({ scenarioPath, stateDir });
}, { timeout: 180_000 });
after(async () => {
  await labDown({ stateDir });
  rmSync(dir, { recursive: true, force: true });
}, { timeout: 60_000 });

test('without a 0.0.0.0/0 route the pod has no internet; after CreateRoute to the internet gateway it is seen as the node\'s public IP', { timeout: 60_000 }, async () => {
  assert.equal((await probe('pod-a', 'web', { stateDir })).delivered, false);
  const lab = new LabState(stateDir).readLab()!;
  // CreateRoute through the SDK, from the aws namespace where the EC2 endpoint is
  const script = `
    import { EC2Client, CreateRouteCommand, DescribeRouteTablesCommand, DescribeInternetGatewaysCommand } from '@aws-sdk/client-ec2';
    const c = new EC2Client({ endpoint: ${JSON.stringify(lab.ec2Url)}, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    const rt = (await c.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'tag:Name', Values: ['public'] }] }))).RouteTables[0];
    const igw = (await c.send(new DescribeInternetGatewaysCommand({}))).InternetGateways[0];
    await c.send(new CreateRouteCommand({ RouteTableId: rt.RouteTableId, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw.InternetGatewayId }));`;
  await run([process.execPath, '--input-type=module', '-e', script], { netns: 'pn-aws', env: { ...process.env, AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } });
  const publicIp = new LabState(stateDir).readFabric()!.enis.find((e) => e.instanceId === lab.instances['node-a'] && e.deviceIndex === 0)!.publicIps;
  let r = await probe('pod-a', 'web', { stateDir });
  for (let i = 0; i < 20 && !r.delivered; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    r = await probe('pod-a', 'web', { stateDir, timeoutMs: 1000 });
  }
  assert.equal(r.delivered, true);
  assert.equal(r.saw, Object.values(publicIp)[0]);
});
