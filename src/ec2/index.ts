/**
 * The EC2 + IMDS emulator: an EC2 Query endpoint and an IMDS endpoint over one SQLite state, with AWS's
 * throttling, fault injection, and a stream of address ↔ ENI ↔ instance mapping events.
 */
import { ec2Actions } from './actions/index.js';
import type { FaultConfig } from './faults.js';
import type { ImdsOptions } from './imds.js';
import { startEc2HttpServer, type Ec2Server, type ListenAddress } from './server.js';
import { openEc2State, type Ec2State } from './state.js';
import type { ThrottleConfig } from './throttle.js';

export interface StartEc2ServerOptions {
  /** EC2 endpoint; default 127.0.0.1 on a free port. */
  listen?: ListenAddress;
  /** IMDS endpoint; default the EC2 host on a free port. */
  imdsListen?: ListenAddress;
  /** An opened state (the caller closes it), or else a database file the server opens and closes. */
  state?: Ec2State;
  /** SQLite file; default in memory. Ignored when `state` is given. */
  dbPath?: string;
  region?: string;
  publicIpPool?: string;
  /** AWS's default token buckets unless false; a config scales or overrides them. */
  throttle?: ThrottleConfig | false;
  faults?: FaultConfig;
  imds?: ImdsOptions;
  /** Clock for token buckets and IMDS token expiry. */
  nowMs?: () => number;
  log?: (line: string) => void;
}

export type Ec2Emulator = Ec2Server<Ec2State>;

/** Starts the emulator: `{ ec2Url, imdsUrl, state, close() }`. */
export async function startEc2Server(options: StartEc2ServerOptions = {}): Promise<Ec2Emulator> {
  const ownsState = options.state === undefined;
  const state = options.state ?? openEc2State({ dbPath: options.dbPath, region: options.region, publicIpPool: options.publicIpPool });
  try {
    return await startEc2HttpServer({ ...options, state, actions: ec2Actions, ownsState });
  } catch (err) {
    if (ownsState) state.close();
    throw err;
  }
}

export { Ec2Error, type ActionHandler, type Ec2Params, type EniMapping, type ImdsInstance, type ImdsInterface, type MappingEvent, type XmlObject } from './protocol.js';
export { openEc2State, type Ec2State, type Ec2StateOptions } from './state.js';
export { ec2Actions } from './actions/index.js';
export { defaultBuckets, type BucketSize, type ThrottleConfig } from './throttle.js';
export { type FaultConfig, type FaultRule } from './faults.js';
export { type ImdsOptions } from './imds.js';
export { type ListenAddress } from './server.js';
export { topologySchema, loadTopology, parseTopology, topologyRegion, zoneRegion, isRegionName, DEFAULT_REGION, rejectUnknownSections, readYamlFile, applyTopology, type LabSection, type Topology, type TopologyApplyResult } from './topology.js';
export { parseSettings } from './settings.js';
