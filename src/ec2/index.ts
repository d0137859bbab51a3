/**
 * The EC2 + IMDS emulator: an EC2 Query endpoint and an IMDS endpoint over one SQLite state, with AWS's
 * throttling, fault injection, and a stream of address ↔ ENI ↔ instance mapping events.
 */
import { ec2Actions } from './actions/index.js';
import type { EksOptions } from './eks-actions.js';
import { eksHttpService } from './eks-http.js';
import { startEc2HttpServer, type Ec2ListenOptions, type Ec2Server } from './server.js';
import { openEc2State, type Ec2State } from './state.js';

export interface StartEc2ServerOptions extends Ec2ListenOptions {
  /** An opened state (the caller closes it), or else a database file the server opens and closes. */
  state?: Ec2State;
  /** SQLite file; default in memory. Ignored when `state` is given. */
  dbPath?: string;
  region?: string;
  publicIpPool?: string;
  /** The EKS API served beside EC2 (delays, the certificate authority DescribeCluster gives). */
  eks?: EksOptions;
}

export type Ec2Emulator = Ec2Server<Ec2State>;

/** Starts the emulator: `{ ec2Url, imdsUrl, state, close() }`. */
export async function startEc2Server(options: StartEc2ServerOptions = {}): Promise<Ec2Emulator> {
  const ownsState = options.state === undefined;
  const state = options.state ?? openEc2State({ dbPath: options.dbPath, region: options.region, publicIpPool: options.publicIpPool });
  try {
    const log = options.log ?? ((line: string) => void process.stderr.write(line + '\n'));
    const services = [eksHttpService(state, options.eks ?? {}, log)];
    return await startEc2HttpServer({ ...options, state, actions: ec2Actions, ownsState, services });
  } catch (err) {
    if (ownsState) state.close();
    throw err;
  }
}

export { Ec2Error, type ActionHandler, type Ec2Params, type EniMapping, type ImdsInstance, type ImdsInterface, type MappingEvent, type XmlObject } from './protocol.js';
export { openEc2State, type Ec2State, type Ec2StateOptions } from './state.js';
export { ec2Actions } from './actions/index.js';
export { inProcessCloud, launchSimulatedInstance, simulatedNetwork, startSimulatedNode, type InProcessCloudOptions, type SimulatedInstance, type SimulatedNetwork } from './in-process.js';
export { defaultBuckets, type BucketSize, type ThrottleConfig } from './throttle.js';
export { type FaultConfig, type FaultRule } from './faults.js';
export { type ImdsOptions } from './imds.js';
export type { TopologyApplyResult, TopologyChange } from './topology-apply.js';
export type { Ec2Facts } from './describe-vpc.js';
export type { AwsExplainOptions } from './explain-reader.js';
export { startVpcDns, type DnsListen, type VpcDnsOptions, type VpcDnsServer, type VpcDnsSource } from './dns-server.js';
export { ec2DnsSource, type Ec2DnsSourceOptions } from './dns-source.js';
export { eksClusters } from './eks-state.js';
export { ownerId as EMULATOR_ACCOUNT_ID } from './actions/common.js';
export { answerEks, readEksClusters, type EksWireRequest, type EksWireResponse } from './eks-http.js';
export { DEFAULT_EKS_VERSION, DEFAULT_EKS_DELAY_MS, type EksOptions } from './eks-actions.js';

// The EC2 clients below load @aws-sdk/client-ec2; they are loaded on first use so that what needs only the
// emulator's state (pool simulate's in-process cloud) does not pay the SDK's start-up (about 1 s of CPU here).
type ApplyTopology = typeof import('./topology-apply.js').applyTopology;
type DescribeFacts = typeof import('./describe-vpc.js').describeFacts;
type InProcessEc2Client = typeof import('./in-process-client.js').inProcessEc2Client;
type AwsExplainSource = typeof import('./explain-reader.js').awsExplainSource;

/** Creates what a topology declares through EC2's API (see topology-apply.ts). */
export async function applyTopology(...args: Parameters<ApplyTopology>): ReturnType<ApplyTopology> {
  return (await import('./topology-apply.js')).applyTopology(...args);
}

/** Reads a VPC back from EC2 as the model's facts (see describe-vpc.ts). */
export async function describeFacts(...args: Parameters<DescribeFacts>): ReturnType<DescribeFacts> {
  return (await import('./describe-vpc.js')).describeFacts(...args);
}

/** An SDK EC2Client whose calls run against `state` in this process, with no socket (see in-process-client.ts). */
export async function inProcessEc2Client(...args: Parameters<InProcessEc2Client>): Promise<ReturnType<InProcessEc2Client>> {
  return (await import('./in-process-client.js')).inProcessEc2Client(...args);
}

/** A real account (or the emulator) as `podnet explain --aws` sees it, read with describe calls only (see explain-reader.ts). */
export async function awsExplainSource(...args: Parameters<AwsExplainSource>): ReturnType<AwsExplainSource> {
  return (await import('./explain-reader.js')).awsExplainSource(...args);
}

type InProcessEksClient = typeof import('./eks-client.js').inProcessEksClient;

/** An SDK EKSClient whose calls run against `state` in this process, with no socket (see eks-client.ts). */
export async function inProcessEksClient(...args: Parameters<InProcessEksClient>): Promise<ReturnType<InProcessEksClient>> {
  return (await import('./eks-client.js')).inProcessEksClient(...args);
}
