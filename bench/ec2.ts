/**
 * EC2 emulator throughput through the real SDK: requests per second for DescribeNetworkInterfaces and for
 * AssignPrivateIpAddresses + UnassignPrivateIpAddresses pairs (so the ENI stays bounded), with N concurrent
 * clients against a local server with throttling off. Prints a table; asserts nothing.
 *
 *   npm run bench:ec2 -- [--clients N] [--seconds S] [--requests R]
 */
import {
  AssignPrivateIpAddressesCommand,
  CreateNetworkInterfaceCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeNetworkInterfacesCommand,
  EC2Client,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import { formatTable } from '../src/cli/output.js';
import { startEc2Server } from '../src/ec2/index.js';
import { numberFlag, percentile } from './stats.js';


const clients = numberFlag('clients', 16);
const seconds = numberFlag('seconds', 3);
const maxRequests = numberFlag('requests', 20000);

const server = await startEc2Server({ throttle: false });
const sdk = () => new EC2Client({ endpoint: server.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
const setup = sdk();
const vpc = await setup.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
const subnet = await setup.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId, CidrBlock: '10.0.0.0/20', AvailabilityZone: 'us-west-2a' }));
const enis: string[] = [];
for (let i = 0; i < clients; i++) {
  const eni = await setup.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet.Subnet!.SubnetId }));
  enis.push(eni.NetworkInterface!.NetworkInterfaceId!);
}

interface Result {
  workload: string;
  requests: number;
  ms: number;
  latencies: number[];
}

/** Each client loops `step` until the time or the request budget is spent; `step` returns requests made. */
async function measure(workload: string, step: (client: EC2Client, index: number) => Promise<number>): Promise<Result> {
  const pool = Array.from({ length: clients }, sdk);
  const deadline = performance.now() + seconds * 1000;
  const latencies: number[] = [];
  let requests = 0;
  const start = performance.now();
  await Promise.all(
    pool.map(async (client, index) => {
      while (performance.now() < deadline && requests < maxRequests) {
        const t = performance.now();
        const n = await step(client, index);
        requests += n;
        latencies.push((performance.now() - t) / n);
      }
    }),
  );
  const ms = performance.now() - start;
  for (const c of pool) c.destroy();
  return { workload, requests, ms, latencies };
}

const results = [
  await measure('DescribeNetworkInterfaces (1 ENI by ID)', async (client, i) => {
    await client.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [enis[i]!] }));
    return 1;
  }),
  await measure(`DescribeNetworkInterfaces (all ${clients} ENIs)`, async (client) => {
    await client.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpc.Vpc!.VpcId!] }] }));
    return 1;
  }),
  await measure('AssignPrivateIpAddresses + Unassign (1 IP)', async (client, i) => {
    const assigned = await client.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: enis[i], SecondaryPrivateIpAddressCount: 1 }));
    const ips = (assigned.AssignedPrivateIpAddresses ?? []).map((a) => a.PrivateIpAddress!);
    await client.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: enis[i], PrivateIpAddresses: ips }));
    return 2;
  }),
];

setup.destroy();
await server.close();

console.log(`EC2 emulator through @aws-sdk/client-ec2: ${clients} concurrent clients, ${seconds} s or ${maxRequests} requests per workload, throttling off`);
process.stdout.write(
  formatTable(
    ['workload', 'requests', 'req/s', 'p50 ms', 'p99 ms'],
    results.map((r) => [r.workload, r.requests, (r.requests / (r.ms / 1000)).toFixed(0), percentile(r.latencies, 50).toFixed(2), percentile(r.latencies, 99).toFixed(2)]),
  ),
);
