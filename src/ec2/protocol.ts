/**
 * The contract inside the EC2 emulator between the HTTP side (server.ts: Query parsing, XML, throttling,
 * faults, IMDS, event stream) and the state side (state.ts + actions/: SQLite model and EC2 semantics).
 */

/** An EC2 API error: rendered as EC2's error XML (Response/Errors/Error/Code, Message; RequestID). */
export class Ec2Error extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** HTTP status: 400 for client errors, 503 for RequestLimitExceeded/Unavailable, 500 for InternalError. */
    readonly status = 400,
    /** For `*.NotFound`: the ids EC2 does not know (the message names them too, for the wire). */
    readonly missingIds: readonly string[] = [],
  ) {
    super(message);
  }
}

/**
 * Reader over one request's form-encoded Query parameters (as @aws-sdk/client-ec2 serializes them).
 * Lists are flattened with 1-based indexes: `PrivateIpAddress.1`, `Filter.1.Name`, `Filter.1.Value.1`,
 * `TagSpecification.1.Tag.1.Key`. Every accessor throws Ec2Error with EC2's code on bad input
 * (MissingParameter, InvalidParameterValue).
 */
export interface Ec2Params {
  readonly action: string;
  str(name: string): string | undefined;
  /** Throws MissingParameter when absent or empty. */
  req(name: string): string;
  /** Integer parameter; throws InvalidParameterValue when not an integer. */
  int(name: string): number | undefined;
  /** `true`/`false`; throws InvalidParameterValue otherwise. */
  bool(name: string): boolean | undefined;
  /** Flattened scalar list `Name.1`, `Name.2`, … in index order (empty when absent). */
  list(name: string): string[];
  /** Flattened structure list `Name.1.X`, `Name.2.X`, … as sub-readers, in index order. */
  structs(name: string): Ec2Params[];
  /** `Filter.N.Name` / `Filter.N.Value.M` → name → values. */
  filters(): Map<string, string[]>;
  /** `TagSpecification.N.ResourceType` / `.Tag.M.Key|Value`. */
  tagSpecifications(): Array<{ resourceType: string; tags: Array<{ key: string; value: string }> }>;
}

/**
 * A response body as plain data. Keys are EC2's element names (camelCase, as in EC2's XML: `networkInterfaceSet`,
 * `privateIpAddress`). Arrays render as `<item>` children (EC2's list convention); undefined/null are omitted;
 * booleans render as `true`/`false`. The server adds the `<ActionResponse>` wrapper and `<requestId>`.
 */
export type XmlValue = string | number | boolean | null | undefined | XmlObject | XmlValue[];
export interface XmlObject {
  [element: string]: XmlValue;
}

/** Performs one EC2 action against the state. Runs inside one SQLite transaction (the state side ensures it). */
export type ActionHandler<S> = (params: Ec2Params, state: S) => XmlObject;

/** Which addresses and prefixes an ENI holds and where it is attached: what the lab's VPC router routes by. */
export interface EniMapping {
  eniId: string;
  mac: string;
  vpcId: string;
  subnetId: string;
  instanceId: string | null;
  deviceIndex: number | null;
  /** Primary first. */
  privateIps: string[];
  ipv4Prefixes: string[];
  ipv6Addresses: string[];
  ipv6Prefixes: string[];
  /** privateIp → public IP (public IP on launch or an associated EIP). */
  publicIps: Record<string, string>;
  /** The ENI's security groups (ModifyNetworkInterfaceAttribute changes them: an `eni` event); none for a NAT gateway's. */
  groupIds: string[];
  /** EC2's description: `Amazon EKS <cluster>` for an EKS cluster's ENIs, `[fargate] <node namespace>` for a Fargate pod's. */
  description: string;
  /** Created by a service on the account's behalf (a NAT gateway, an EKS cluster): EC2's requesterManaged. */
  requesterManaged: boolean;
  /** A branch ENI associated with a trunk ENI (AssociateTrunkInterface): the trunk and the VLAN its frames carry; absent otherwise. */
  trunk?: { trunkEniId: string; vlanId: number };
  /**
   * EC2's InterfaceType as DescribeNetworkInterfaces reports it: `interface`, `trunk`, `branch` (while associated),
   * `efa`, `nat_gateway`, …. The emulator always sets it; a lab record written before podnet carried it lacks it.
   */
  interfaceType?: string;
}

/**
 * Published on every change of the address ↔ ENI ↔ instance ↔ group mapping; `filtering` after a transaction that
 * changed security groups, their rules, network ACLs, their entries or associations (a follower re-describes them).
 */
export type MappingEvent =
  | { type: 'snapshot'; enis: EniMapping[] }
  | { type: 'eni'; eni: EniMapping }
  | { type: 'eni-deleted'; eniId: string }
  | { type: 'filtering' };

/** What IMDS serves for one instance (behaviour spec §7.4). */
export interface ImdsInstance {
  instanceId: string;
  instanceType: string;
  availabilityZone: string;
  region: string;
  localIpv4: string;
  publicIpv4?: string;
  ipv6?: string;
  /** MAC of the primary ENI. */
  mac: string;
  interfaces: ImdsInterface[];
}

export interface ImdsInterface {
  mac: string;
  interfaceId: string;
  deviceNumber: number;
  networkCard: number;
  subnetId: string;
  vpcId: string;
  securityGroupIds: string[];
  /** Primary first. */
  localIpv4s: string[];
  ipv4Prefixes: string[];
  ipv6s: string[];
  ipv6Prefixes: string[];
  subnetIpv4CidrBlock: string;
  subnetIpv6CidrBlocks: string[];
  vpcIpv4CidrBlocks: string[];
  vpcIpv6CidrBlocks: string[];
  publicIpv4s: string[];
}
