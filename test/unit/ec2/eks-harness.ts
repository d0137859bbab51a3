/**
 * What the EKS tests share: an emulator with an EKS client beside its EC2 client, a VPC with public subnets (route to
 * an internet gateway) and private ones (the main table, no internet route) in two availability zones, and a check
 * that an EKS call fails with a given exception class, status and message.
 */
import assert from 'node:assert/strict';
import {
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  CreateInternetGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { EKSClient, EKSServiceException } from '@aws-sdk/client-eks';
import { startEc2Server, type StartEc2ServerOptions } from '../../../src/ec2/index.js';
import { sdkClient } from './sdk-harness.js';

export type Emulator = Awaited<ReturnType<typeof startEc2Server>>;

export function eksClient(endpoint: string): EKSClient {
  return new EKSClient({ endpoint, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
}

export interface EksEmulator {
  server: Emulator;
  ec2: EC2Client;
  eks: EKSClient;
  close(): Promise<void>;
}

export async function startEksEmulator(options: StartEc2ServerOptions = {}): Promise<EksEmulator> {
  const server = await startEc2Server({ throttle: false, eks: { delayMs: 0 }, ...options });
  const ec2 = sdkClient(server.ec2Url);
  const eks = eksClient(server.ec2Url);
  return {
    server,
    ec2,
    eks,
    close: async () => {
      ec2.destroy();
      eks.destroy();
      await server.close();
    },
  };
}

export interface LabVpc {
  vpcId: string;
  publicA: string;
  publicB: string;
  privateA: string;
  privateB: string;
  /** a subnet in us-west-2a only, to make a one-AZ pair with privateA */
  privateA2: string;
  nodesSg: string;
}

/** 10.0.0.0/16: public-a/b (10.0.0.0/20, 10.0.32.0/20) route 0.0.0.0/0 to an internet gateway; private-a/b do not. */
export async function createLabVpc(ec2: EC2Client): Promise<LabVpc> {
  const { Vpc } = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
  const vpcId = Vpc!.VpcId!;
  const subnet = async (cidr: string, az: string) => (await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: cidr, AvailabilityZone: az }))).Subnet!.SubnetId!;
  const publicA = await subnet('10.0.0.0/20', 'us-west-2a');
  const privateA = await subnet('10.0.16.0/20', 'us-west-2a');
  const publicB = await subnet('10.0.32.0/20', 'us-west-2b');
  const privateB = await subnet('10.0.48.0/20', 'us-west-2b');
  const privateA2 = await subnet('10.0.64.0/20', 'us-west-2a');
  const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpcId }));
  const rtb = (await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }))).RouteTable!.RouteTableId!;
  await ec2.send(new CreateRouteCommand({ RouteTableId: rtb, DestinationCidrBlock: '0.0.0.0/0', GatewayId: igw }));
  for (const s of [publicA, publicB]) await ec2.send(new AssociateRouteTableCommand({ RouteTableId: rtb, SubnetId: s }));
  const nodesSg = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpcId, GroupName: 'nodes', Description: 'nodes' }))).GroupId!;
  return { vpcId, publicA, publicB, privateA, privateB, privateA2, nodesSg };
}

/** Asserts an EKS call fails with `code` (the SDK's exception class name), the HTTP status, and a message. */
export async function eksRejects(call: Promise<unknown>, code: string, expect: { status?: number; message?: string | RegExp } = {}): Promise<EKSServiceException> {
  let failure: unknown;
  try {
    await call;
  } catch (err) {
    failure = err;
  }
  assert.ok(failure !== undefined, `expected ${code}, but the call succeeded`);
  assert.ok(failure instanceof EKSServiceException, `expected the EKS error ${code}, got ${String(failure)}`);
  assert.equal(failure.name, code, failure.message);
  assert.equal(failure.$metadata.httpStatusCode, expect.status ?? 400, `${code}: HTTP status`);
  if (typeof expect.message === 'string') assert.equal(failure.message, expect.message);
  else if (expect.message) assert.match(failure.message, expect.message);
  return failure;
}
