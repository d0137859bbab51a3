/**
 * Starts an emulator and an SDK client pointed at it (explicit endpoint, region, dummy credentials), and the
 * few SDK calls the ec2 tests repeat: a VPC with a subnet, a launched instance, one ENI, and an error check.
 */
import assert from 'node:assert/strict';
import { after, before } from 'node:test';
import {
  CreateNetworkInterfaceCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
  type CreateNetworkInterfaceRequest,
  type Instance,
  type NetworkInterface,
  type RunInstancesRequest,
  type _InstanceType,
} from '@aws-sdk/client-ec2';
import { startEc2Server, type StartEc2ServerOptions } from '../../../src/ec2/index.js';

export type Emulator = Awaited<ReturnType<typeof startEc2Server>>;

export function sdkClient(endpoint: string, maxAttempts = 1): EC2Client {
  return new EC2Client({ endpoint, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts });
}

export interface EmulatorHandle {
  server: Emulator;
  /** An SDK client with maxAttempts 1, so errors arrive as the emulator sent them. */
  ec2: EC2Client;
  close: () => Promise<void>;
}

export async function startEmulator(options: StartEc2ServerOptions = {}): Promise<EmulatorHandle> {
  const server = await startEc2Server({ throttle: false, ...options });
  const ec2 = sdkClient(server.ec2Url);
  return { server, ec2, close: async () => { ec2.destroy(); await server.close(); } };
}

/**
 * One emulator for the whole test file: registers before() to start it and after() to close it, and returns the
 * handle those fill in (use it inside tests, not at module load).
 */
export function emulatorForFile(options: StartEc2ServerOptions = {}): EmulatorHandle {
  const handle = {} as EmulatorHandle;
  before(async () => {
    Object.assign(handle, await startEmulator(options));
  });
  after(() => handle.close());
  return handle;
}

/** POSTs a raw form body (for requests the SDK cannot send). */
export async function postForm(url: string, body: string): Promise<{ status: number; text: string }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
  return { status: res.status, text: await res.text() };
}

/**
 * Asserts that an SDK call fails with an EC2 error: the code as the SDK's error name and Code, the HTTP status
 * (400 unless told), and, when given, a message pattern or a text the message contains.
 */
export async function rejectsWith(
  call: Promise<unknown>,
  code: string,
  expect: { message?: RegExp | string; status?: number } = {},
): Promise<EC2ServiceException> {
  let failure: unknown;
  try {
    await call;
  } catch (err) {
    failure = err;
  }
  assert.ok(failure !== undefined, `expected ${code}, but the call succeeded`);
  assert.ok(failure instanceof EC2ServiceException, `expected the EC2 error ${code}, got ${String(failure)}`);
  assert.equal(failure.name, code, failure.message);
  assert.equal((failure as EC2ServiceException & { Code?: string }).Code, code);
  assert.equal(failure.$metadata.httpStatusCode, expect.status ?? 400, `${code}: HTTP status`);
  if (typeof expect.message === 'string') assert.ok(failure.message.includes(expect.message), `${code}: ${failure.message}`);
  else if (expect.message) assert.match(failure.message, expect.message);
  return failure;
}

/**
 * A VPC (10.0.0.0/16 unless told) and one subnet in us-west-2a (10.0.1.0/24 unless told); unless `ipv6` is false
 * the VPC gets an Amazon-provided /56 and the subnet its first /64.
 */
export async function createVpcWithSubnet(
  ec2: EC2Client,
  opts: { vpcCidr?: string; subnetCidr?: string; ipv6?: boolean } = {},
): Promise<{ vpcId: string; subnetId: string }> {
  const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: opts.vpcCidr ?? '10.0.0.0/16', AmazonProvidedIpv6CidrBlock: opts.ipv6 ?? true }));
  const v6 = Vpc!.Ipv6CidrBlockAssociationSet?.[0]?.Ipv6CidrBlock;
  const { Subnet } = await ec2.send(new CreateSubnetCommand({
    VpcId: Vpc!.VpcId!, CidrBlock: opts.subnetCidr ?? '10.0.1.0/24', AvailabilityZone: 'us-west-2a', Ipv6CidrBlock: v6?.replace('/56', '/64'),
  }));
  return { vpcId: Vpc!.VpcId!, subnetId: Subnet!.SubnetId! };
}

/** Launches one instance of a type in a subnet; returns it, its ID and its primary ENI's ID. */
export async function launch(
  ec2: EC2Client,
  subnetId: string,
  type: string,
  extra: Partial<RunInstancesRequest> = {},
): Promise<{ instanceId: string; eniId: string; instance: Instance }> {
  const res = await ec2.send(new RunInstancesCommand({
    ImageId: 'ami-12345678', InstanceType: type as _InstanceType, MinCount: 1, MaxCount: 1, SubnetId: subnetId, ...extra,
  }));
  const instance = res.Instances![0]!;
  return { instanceId: instance.InstanceId!, eniId: instance.NetworkInterfaces![0]!.NetworkInterfaceId!, instance };
}

/** Creates an ENI in a subnet and returns it. */
export async function createEni(ec2: EC2Client, subnetId: string, extra: Partial<CreateNetworkInterfaceRequest> = {}): Promise<NetworkInterface> {
  return (await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnetId, ...extra }))).NetworkInterface!;
}

export async function describeEni(ec2: EC2Client, eniId: string): Promise<NetworkInterface> {
  return (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }))).NetworkInterfaces![0]!;
}

/** The subnet's AvailableIpAddressCount. */
export async function freeAddresses(ec2: EC2Client, subnetId: string): Promise<number> {
  return (await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }))).Subnets![0]!.AvailableIpAddressCount!;
}
