/**
 * The cloud as ipamd needs it (in the spirit of Cilium's NodeOperations): exactly the EC2 operations the pool, node
 * discovery and leaked-ENI collection perform, in podnet's own plain types. Two adapters implement it: src/ipamd's
 * over @aws-sdk/client-ec2 (real AWS and the emulator's HTTP endpoint) and src/ec2's in-process one over the
 * emulator's action handlers (simulation). Both fail with CloudError only, so callers switch on EC2's code and
 * never read messages.
 */

export type IpFamily = 'ipv4' | 'ipv6';
/** Secondary addresses one by one, or delegated prefixes (/28 in IPv4, /80 in IPv6). */
export type AddressUnit = 'address' | 'prefix';
/** Tag key → value. */
export type CloudTags = Readonly<Record<string, string>>;

/** An ENI's attachment to an instance. */
export interface CloudEniAttachment {
  readonly attachmentId: string;
  /** Absent where EC2 leaves it out (an instance's own ENI list). */
  readonly instanceId?: string;
  readonly deviceIndex: number;
  readonly networkCardIndex: number;
  readonly deleteOnTermination: boolean;
}

/** One ENI (DescribeNetworkInterfaces, CreateNetworkInterface). */
export interface CloudEni {
  readonly id: string;
  readonly subnetId: string;
  readonly vpcId: string;
  readonly availabilityZone: string;
  readonly description: string;
  /** EC2's status: `available` (detached), `in-use`, … */
  readonly status: string;
  /** `interface`, `trunk`, `efa`, `branch`, … */
  readonly interfaceType: string;
  readonly macAddress: string;
  /** The ENI's primary IPv4 address ('' when it has none). */
  readonly primaryIpv4: string;
  /** IPv4 addresses besides the primary, in EC2's order. */
  readonly secondaryIpv4s: readonly string[];
  readonly ipv4Prefixes: readonly string[];
  readonly ipv6Addresses: readonly string[];
  readonly ipv6Prefixes: readonly string[];
  readonly securityGroupIds: readonly string[];
  readonly tags: CloudTags;
  readonly attachment?: CloudEniAttachment;
}

/** One ENI as the instance lists it: where it is attached. */
export interface InstanceEni {
  readonly eniId: string;
  readonly attachmentId: string;
  readonly deviceIndex: number;
  readonly networkCardIndex: number;
}

/** One instance (DescribeInstances). */
export interface CloudInstance {
  readonly id: string;
  readonly instanceType: string;
  readonly availabilityZone: string;
  readonly subnetId: string;
  readonly vpcId: string;
  readonly enis: readonly InstanceEni[];
}

/** One subnet (DescribeSubnets). */
export interface CloudSubnet {
  readonly id: string;
  readonly vpcId: string;
  readonly availabilityZone: string;
  /** IPv4 CIDR. */
  readonly cidr: string;
  readonly ipv6Cidrs: readonly string[];
  /** AvailableIpAddressCount: free IPv4 addresses. */
  readonly availableIpv4s: number;
  readonly tags: CloudTags;
}

/** ENI filters (DescribeNetworkInterfaces' Filter); every given field must match. */
export interface EniFilters {
  readonly vpcId?: string;
  readonly status?: string;
  /** The ENI carries each of these tag keys (`tag-key`). */
  readonly tagKeys?: readonly string[];
  /** The ENI carries each of these tags with this value (`tag:KEY`). */
  readonly tags?: CloudTags;
  readonly attachedInstanceId?: string;
}

/** Addresses or prefixes to ask for (by count). */
export interface AddressCount {
  readonly family: IpFamily;
  readonly unit: AddressUnit;
  readonly count: number;
}

export interface CreateEniRequest {
  readonly subnetId: string;
  readonly description: string;
  readonly securityGroupIds: readonly string[];
  /** Secondary addresses or prefixes to assign in the same call. */
  readonly addresses?: AddressCount;
  readonly tags: CloudTags;
}

export interface AttachEniRequest {
  readonly eniId: string;
  readonly instanceId: string;
  readonly deviceIndex: number;
  readonly networkCardIndex: number;
}

/** Addresses or prefixes to give back. */
export interface AddressRelease {
  readonly family: IpFamily;
  readonly unit: AddressUnit;
  /** Addresses without a length (`10.0.1.7`), prefixes as CIDRs. */
  readonly values: readonly string[];
}

/** The EC2 operations of ipamd. Every method fails with CloudError only. */
export interface Cloud {
  describeInstance(instanceId: string): Promise<CloudInstance>;
  /** By id, in EC2's order; any unknown id fails with InvalidNetworkInterfaceID.NotFound naming it. */
  describeEnis(eniIds: readonly string[]): Promise<CloudEni[]>;
  /** Every ENI the filters match (all pages). */
  findEnis(filters: EniFilters): Promise<CloudEni[]>;
  describeSubnets(subnetIds: readonly string[]): Promise<CloudSubnet[]>;
  /** The subnets of one VPC in one AZ. */
  findSubnets(vpcId: string, availabilityZone: string): Promise<CloudSubnet[]>;
  createEni(request: CreateEniRequest): Promise<CloudEni>;
  /** Gives the attachment id. */
  attachEni(request: AttachEniRequest): Promise<string>;
  setDeleteOnTermination(eniId: string, attachmentId: string, deleteOnTermination: boolean): Promise<void>;
  /** Replaces an ENI's security groups (ModifyNetworkInterfaceAttribute Groups). */
  setSecurityGroups(eniId: string, groupIds: readonly string[]): Promise<void>;
  detachEni(attachmentId: string): Promise<void>;
  deleteEni(eniId: string): Promise<void>;
  /** Gives what EC2 assigned: addresses without a length, prefixes as CIDRs. */
  assignAddresses(eniId: string, request: AddressCount): Promise<string[]>;
  unassignAddresses(eniId: string, release: AddressRelease): Promise<void>;
  createTags(resourceIds: readonly string[], tags: CloudTags): Promise<void>;
}

/** Which operation failed, as EC2 names its action. */
export type CloudApi =
  | 'DescribeInstances'
  | 'DescribeNetworkInterfaces'
  | 'DescribeSubnets'
  | 'CreateNetworkInterface'
  | 'AttachNetworkInterface'
  | 'ModifyNetworkInterfaceAttribute'
  | 'DetachNetworkInterface'
  | 'DeleteNetworkInterface'
  | 'AssignPrivateIpAddresses'
  | 'UnassignPrivateIpAddresses'
  | 'AssignIpv6Addresses'
  | 'UnassignIpv6Addresses'
  | 'CreateTags';

/**
 * A failed cloud call, converted once at the adapter. `code` is EC2's error code (`InvalidNetworkInterfaceID.NotFound`,
 * `InsufficientFreeAddressesInSubnet`, …) or the transport's; `throttled` says EC2 asked to slow down (after the
 * adapter's retries); for `*.NotFound` codes `missingIds` names the resources EC2 does not know.
 */
export class CloudError extends Error {
  override readonly name = 'CloudError';
  readonly throttled: boolean;
  readonly missingIds: readonly string[];
  constructor(
    readonly api: CloudApi,
    readonly code: string,
    message: string,
    extra: { throttled?: boolean; missingIds?: readonly string[]; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.throttled = extra.throttled ?? false;
    this.missingIds = extra.missingIds ?? [];
  }

  /** EC2's `*.NotFound` codes (and NatGatewayNotFound-style ones): the resource is not there (any more). */
  get notFound(): boolean {
    return /NotFound$/.test(this.code);
  }
}

/** AWS's codes for "slow down" (the SDK's throttling set, plus EC2's own). */
export const THROTTLING_CODES: ReadonlySet<string> = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'RequestThrottled', 'TooManyRequestsException', 'SlowDown']);

/** EC2's code of a failure from a Cloud call ('Unknown' for anything that is not a CloudError). */
export function cloudErrorCode(err: unknown): string {
  return err instanceof CloudError ? err.code : 'Unknown';
}
