/**
 * The controller's EC2 calls, through @aws-sdk/client-ec2 (one attempt each: the controller's own queue retries with
 * backoff, so a create that did commit is never blindly repeated) — what the VPC resource controller calls for a
 * trunk (CreateNetworkInterface InterfaceType=trunk + AttachNetworkInterface), a branch (CreateNetworkInterface +
 * AssociateTrunkInterface) and its release (DisassociateTrunkInterface + DeleteNetworkInterface). Every failure
 * becomes an Ec2CallError carrying EC2's code, once, here.
 */
import {
  AssociateTrunkInterfaceCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  DeleteNetworkInterfaceCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeTrunkInterfaceAssociationsCommand,
  DisassociateTrunkInterfaceCommand,
  type EC2Client,
  type Tag,
} from '@aws-sdk/client-ec2';
import { BRANCH_DESCRIPTION, TAG_CLUSTER, TAG_CREATED_AT, TAG_INSTANCE_ID, TAG_OWNER, TAG_OWNER_VALUE, TAG_TRUNK_ENI_ID, TAG_VLAN_ID, TRUNK_DESCRIPTION, type TaggedBranch } from './decide.js';

const THROTTLE_CODES = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'TooManyRequestsException']);

/** A failed EC2 call: EC2's code (or the SDK's error name when no answer came), whether it was throttling, the call. */
export class Ec2CallError extends Error {
  override readonly name = 'Ec2CallError';
  constructor(readonly action: string, readonly code: string, message: string, readonly throttled: boolean, options?: { cause?: unknown }) {
    super(`${action}: ${code}: ${message}`, options);
  }
}

async function call<T>(action: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    const e = err as { name?: string; Code?: string; message?: string; $metadata?: { httpStatusCode?: number } };
    const code = e.Code ?? e.name ?? 'Error';
    throw new Ec2CallError(action, code, e.message ?? String(err), THROTTLE_CODES.has(code), { cause: err });
  }
}

export interface NodeInstance {
  instanceId: string;
  instanceType: string;
  subnetId: string;
  subnetCidr: string;
  subnetV6Cidr: string;
  vpcId: string;
  /** The primary ENI's groups (CurrentInstanceSecurityGroups): the trunk's, and a branch's when no policy gives any. */
  groups: string[];
  usedDeviceIndexes: Set<number>;
  /** The attached trunk, if any. */
  trunkId: string | undefined;
}

export async function describeNodeInstance(ec2: EC2Client, instanceId: string): Promise<NodeInstance> {
  const out = await call('DescribeInstances', () => ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })));
  const inst = out.Reservations?.[0]?.Instances?.[0];
  if (!inst) throw new Ec2CallError('DescribeInstances', 'InvalidInstanceID.NotFound', `no instance ${instanceId}`, false);
  const nics = inst.NetworkInterfaces ?? [];
  const primary = nics.find((n) => n.Attachment?.DeviceIndex === 0);
  const subnetId = primary?.SubnetId ?? inst.SubnetId ?? '';
  const subnets = await call('DescribeSubnets', () => ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] })));
  const subnet = subnets.Subnets?.[0];
  return {
    instanceId,
    instanceType: inst.InstanceType ?? '',
    subnetId,
    subnetCidr: subnet?.CidrBlock ?? '',
    subnetV6Cidr: subnet?.Ipv6CidrBlockAssociationSet?.find((a) => a.Ipv6CidrBlockState?.State === 'associated')?.Ipv6CidrBlock ?? '',
    vpcId: inst.VpcId ?? subnet?.VpcId ?? '',
    groups: (primary?.Groups ?? inst.SecurityGroups ?? []).map((g) => g.GroupId!).filter(Boolean),
    usedDeviceIndexes: new Set(nics.map((n) => n.Attachment?.DeviceIndex).filter((i): i is number => typeof i === 'number')),
    trunkId: nics.find((n) => n.InterfaceType === 'trunk')?.NetworkInterfaceId,
  };
}

const tags = (pairs: Record<string, string>): Tag[] => Object.entries(pairs).map(([Key, Value]) => ({ Key, Value }));

/** Creates the trunk and attaches it; a trunk that could not be attached is deleted again (nothing half-made). */
export async function createTrunk(ec2: EC2Client, node: NodeInstance, deviceIndex: number, cluster: string): Promise<string> {
  const created = await call('CreateNetworkInterface', () => ec2.send(new CreateNetworkInterfaceCommand({
    SubnetId: node.subnetId,
    Groups: node.groups,
    InterfaceType: 'trunk',
    Description: TRUNK_DESCRIPTION,
    TagSpecifications: [{ ResourceType: 'network-interface', Tags: tags({ [TAG_INSTANCE_ID]: node.instanceId, [TAG_OWNER]: TAG_OWNER_VALUE, [TAG_CLUSTER]: cluster }) }],
  })));
  const trunkId = created.NetworkInterface!.NetworkInterfaceId!;
  try {
    await call('AttachNetworkInterface', () => ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: trunkId, InstanceId: node.instanceId, DeviceIndex: deviceIndex })));
  } catch (err) {
    await call('DeleteNetworkInterface', () => ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: trunkId }))).catch(() => undefined);
    throw err;
  }
  return trunkId;
}

export interface Association {
  associationId: string;
  branchId: string;
  vlanId: number;
}

export async function trunkAssociations(ec2: EC2Client, filter: { trunkId: string } | { branchId: string }): Promise<Association[]> {
  const name = 'trunkId' in filter ? 'trunk-interface-association.trunk-interface-id' : 'trunk-interface-association.branch-interface-id';
  const value = 'trunkId' in filter ? filter.trunkId : filter.branchId;
  const found: Association[] = [];
  let NextToken: string | undefined;
  do {
    const out = await call('DescribeTrunkInterfaceAssociations', () => ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: [{ Name: name, Values: [value] }], MaxResults: 255, NextToken })));
    for (const a of out.InterfaceAssociations ?? []) found.push({ associationId: a.AssociationId!, branchId: a.BranchInterfaceId!, vlanId: a.VlanId ?? 0 });
    NextToken = out.NextToken;
  } while (NextToken);
  return found;
}

/** The groups of `ids` EC2 does not know (asked by filter, so one missing group does not hide the others). */
export async function missingGroups(ec2: EC2Client, ids: readonly string[]): Promise<string[]> {
  if (ids.length === 0) return [];
  const out = await call('DescribeSecurityGroups', () => ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-id', Values: [...ids] }] })));
  const known = new Set((out.SecurityGroups ?? []).map((g) => g.GroupId));
  return ids.filter((id) => !known.has(id));
}

export interface NewBranch {
  eniId: string;
  mac: string;
  privateIp: string;
  ipv6: string;
}

export async function createBranch(ec2: EC2Client, o: { subnetId: string; groups: string[]; vlanId: number; trunkId: string; instanceId: string; cluster: string; now: Date }): Promise<NewBranch> {
  const out = await call('CreateNetworkInterface', () => ec2.send(new CreateNetworkInterfaceCommand({
    SubnetId: o.subnetId,
    Groups: o.groups,
    Description: BRANCH_DESCRIPTION,
    TagSpecifications: [{
      ResourceType: 'network-interface',
      Tags: tags({ [TAG_VLAN_ID]: String(o.vlanId), [TAG_TRUNK_ENI_ID]: o.trunkId, [TAG_INSTANCE_ID]: o.instanceId, [TAG_OWNER]: TAG_OWNER_VALUE, [TAG_CLUSTER]: o.cluster, [TAG_CREATED_AT]: o.now.toISOString() }),
    }],
  })));
  const eni = out.NetworkInterface!;
  return { eniId: eni.NetworkInterfaceId!, mac: eni.MacAddress ?? '', privateIp: eni.PrivateIpAddress ?? '', ipv6: eni.Ipv6Address ?? eni.Ipv6Addresses?.[0]?.Ipv6Address ?? '' };
}

export async function associateBranch(ec2: EC2Client, trunkId: string, branchId: string, vlanId: number): Promise<string> {
  const out = await call('AssociateTrunkInterface', () => ec2.send(new AssociateTrunkInterfaceCommand({ TrunkInterfaceId: trunkId, BranchInterfaceId: branchId, VlanId: vlanId })));
  return out.InterfaceAssociation!.AssociationId!;
}

/**
 * Disassociates (when associated) and deletes a branch; an association or ENI already gone counts as done. Without
 * an association id the association is looked up (a crash may have left one the annotation never named).
 */
export async function deleteBranch(ec2: EC2Client, eniId: string, associationId: string | undefined): Promise<void> {
  const ids = associationId ? [associationId] : (await trunkAssociations(ec2, { branchId: eniId })).map((a) => a.associationId);
  for (const id of ids) {
    try {
      await call('DisassociateTrunkInterface', () => ec2.send(new DisassociateTrunkInterfaceCommand({ AssociationId: id })));
    } catch (err) {
      if (!(err instanceof Ec2CallError && err.code === 'InvalidAssociationID.NotFound')) throw err;
    }
  }
  try {
    await call('DeleteNetworkInterface', () => ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId })));
  } catch (err) {
    if (!(err instanceof Ec2CallError && err.code === 'InvalidNetworkInterfaceID.NotFound')) throw err;
  }
}

/** The branch ENIs this controller (cluster) made, by its tag and upstream's description. */
export async function taggedBranches(ec2: EC2Client, cluster: string): Promise<TaggedBranch[]> {
  const found: TaggedBranch[] = [];
  let NextToken: string | undefined;
  do {
    const out = await call('DescribeNetworkInterfaces', () => ec2.send(new DescribeNetworkInterfacesCommand({
      Filters: [{ Name: `tag:${TAG_CLUSTER}`, Values: [cluster] }, { Name: 'description', Values: [BRANCH_DESCRIPTION] }],
      MaxResults: 1000,
      NextToken,
    })));
    for (const e of out.NetworkInterfaces ?? []) {
      const created = e.TagSet?.find((t) => t.Key === TAG_CREATED_AT)?.Value;
      found.push({ eniId: e.NetworkInterfaceId!, createdAt: created ? Date.parse(created) : Number.NaN });
    }
    NextToken = out.NextToken;
  } while (NextToken);
  return found;
}
