import { allInstanceTypes, lookupInstanceType } from '../../limits/index.js';
import { type Address, type Cidr, cidrContains, formatAddress, formatCidr, parseCidr } from '../../net/index.js';
import { privateDnsName } from '../../vpc/index.js';
import { Ec2Error, type ActionHandler, type XmlObject } from '../protocol.js';
import type { AddressRow, Ec2State, EniRow, InstanceRow, PublicIpRow, SubnetRow } from '../state.js';
import {
  applyTagSpecifications,
  combination,
  countParam,
  deleteResource,
  describeAction,
  findRow,
  invalidParameter,
  isoTime,
  ownerId,
  parseAddressParam,
  parseCidrParam,
  selectRows,
  tagSet,
} from './common.js';
import { groupSet, resolveGroups } from './security-groups.js';
import { checkTrunkAttach, dropTrunkAssociations, eniStatus } from './trunk-state.js';

type Handler = ActionHandler<Ec2State>;

/** IPv4 prefixes are /28s (16 addresses), IPv6 prefixes /80s, as EC2 hands them out (spec §4.1, §5.3). */
const ipv4PrefixLength = 28;
const ipv6PrefixLength = 80;

let largestIpv4Limit: number | undefined;
/** An ENI that is not attached is bounded by the largest per-ENI limit of any instance type. */
function unattachedIpv4Limit(): number {
  largestIpv4Limit ??= Math.max(...allInstanceTypes().map((t) => lookupInstanceType(t).IPv4Limit));
  return largestIpv4Limit;
}

export function findEni(state: Ec2State, id: string): EniRow {
  return findRow<EniRow>(state, 'eni', id);
}

const eniGroups = (state: Ec2State, eniId: string): string[] => state.eniGroupIds(eniId);

/**
 * The per-ENI address limit: the instance type's IPv4Limit when attached. The primary address counts toward it,
 * and every /28 prefix takes one slot, as on Nitro (so secondary IPs + prefixes ≤ IPv4Limit − 1, spec §9.3).
 */
function slotLimit(state: Ec2State, eni: EniRow): number {
  if (!eni.instance_id) return unattachedIpv4Limit();
  const instance = state.get<InstanceRow>('SELECT * FROM instances WHERE id = ?', eni.instance_id)!;
  return lookupInstanceType(instance.instance_type).IPv4Limit;
}

function slotsUsed(state: Ec2State, eniId: string, family: 4 | 6): number {
  return state.get<{ n: number }>('SELECT count(*) AS n FROM eni_addresses WHERE eni_id = ? AND family = ?', eniId, family)!.n;
}

function checkSlots(state: Ec2State, eni: EniRow, family: 4 | 6, adding: number): void {
  if (slotsUsed(state, eni.id, family) + adding > slotLimit(state, eni)) {
    throw new Ec2Error(
      'PrivateIpAddressLimitExceeded',
      family === 4 ? 'Number of private addresses will exceed limit.' : 'Number of IPv6 addresses will exceed limit.',
    );
  }
}

/** Prefix delegation needs a Nitro instance; an unattached ENI is not checked until it is used. */
function checkPrefixSupport(state: Ec2State, eni: EniRow): void {
  if (!eni.instance_id) return;
  const instance = state.get<InstanceRow>('SELECT * FROM instances WHERE id = ?', eni.instance_id)!;
  if (lookupInstanceType(instance.instance_type).HypervisorType !== 'nitro') {
    throw invalidParameter(`Prefix delegation is not supported for instance type ${instance.instance_type}; it needs a Nitro-based instance.`);
  }
}

function insertAddress(state: Ec2State, eni: EniRow, family: 4 | 6, kind: 'address' | 'prefix', text: string, primary = false): void {
  state.run(
    'INSERT INTO eni_addresses (eni_id, vpc_id, subnet_id, family, kind, cidr, is_primary) VALUES (?, ?, ?, ?, ?, ?, ?)',
    eni.id,
    eni.vpc_id,
    eni.subnet_id,
    family,
    kind,
    text,
    primary ? 1 : 0,
  );
  state.eniChanged(eni.id);
}

/** What one request asks an ENI to get, in one family: counts or explicit addresses/prefixes. */
export interface AddressRequest {
  count?: number;
  addresses: Address[];
  prefixCount?: number;
  prefixes: Cidr[];
}

/**
 * Takes addresses and prefixes out of the ENI's subnet: explicit ones must be inside, not reserved and free
 * (or, with allowReassignment, a secondary address of another ENI in the subnet, which moves); counted ones are
 * the lowest free addresses and the lowest free aligned prefixes. A subnet with too few free addresses fails with
 * InsufficientFreeAddressesInSubnet; one with enough addresses but no aligned free block with
 * InsufficientCidrBlocks (fragmentation, spec §4.15).
 */
function allocate(
  state: Ec2State,
  eni: EniRow,
  family: 4 | 6,
  req: AddressRequest,
  opts: { allowReassignment?: boolean; primary?: Address } = {},
): { addresses: string[]; prefixes: string[] } {
  const subnet = state.get<SubnetRow>('SELECT * FROM subnets WHERE id = ?', eni.subnet_id)!;
  const space = state.subnetSpace(subnet, family);
  if (!space) throw invalidParameter(`Subnet ${subnet.id} has no IPv6 CIDR block; associate one before assigning IPv6 addresses.`);
  const subnetCidr = space.subnet;
  const out = { addresses: [] as string[], prefixes: [] as string[] };
  const explicit = opts.primary ? [opts.primary, ...req.addresses] : req.addresses;
  for (const [i, a] of explicit.entries()) {
    const text = formatAddress(a);
    if (!cidrContains(subnetCidr, a)) {
      throw invalidParameter(`Address ${text} does not fall within the subnet's address range`);
    }
    if (!space.isFree(a)) {
      const holder = state.get<AddressRow>('SELECT * FROM eni_addresses WHERE vpc_id = ? AND cidr = ?', eni.vpc_id, text);
      if (holder && opts.allowReassignment && holder.is_primary === 0 && holder.kind === 'address' && holder.eni_id !== eni.id) {
        releasePublicIp(state, holder.eni_id, text);
        state.run('DELETE FROM eni_addresses WHERE seq = ?', holder.seq);
        state.eniChanged(holder.eni_id);
        space.release(a);
      } else if (holder) {
        throw new Ec2Error('InvalidIPAddress.InUse', `Address ${text} is in use.`);
      } else {
        throw invalidParameter(`Address ${text} is reserved by AWS in subnet ${subnet.id} (${formatCidr(subnetCidr)}).`);
      }
    }
    space.take(a);
    insertAddress(state, eni, family, 'address', text, opts.primary !== undefined && i === 0);
    out.addresses.push(text);
  }
  for (const p of req.prefixes) {
    const text = formatCidr(p);
    const expected = family === 4 ? ipv4PrefixLength : ipv6PrefixLength;
    if (p.prefixLength !== expected) throw invalidParameter(`Prefix ${text} must be a /${expected}.`);
    if (!cidrContains(subnetCidr, p)) throw invalidParameter(`Prefix ${text} does not fall within the subnet's address range`);
    if (!space.isFree(p)) throw new Ec2Error('InvalidIPAddress.InUse', `Prefix ${text} overlaps addresses in use or reserved.`);
    space.take(p);
    insertAddress(state, eni, family, 'prefix', text);
    out.prefixes.push(text);
  }
  const count = req.count ?? 0;
  if (count > 0) {
    if (space.freeAddressCount() < BigInt(count)) {
      throw new Ec2Error('InsufficientFreeAddressesInSubnet', 'The specified subnet does not have enough free addresses to satisfy the request.');
    }
    for (let i = 0; i < count; i++) {
      const text = formatAddress(space.allocateAddress());
      insertAddress(state, eni, family, 'address', text);
      out.addresses.push(text);
    }
  }
  const prefixCount = req.prefixCount ?? 0;
  if (prefixCount > 0) {
    const length = family === 4 ? ipv4PrefixLength : ipv6PrefixLength;
    const blockSize = 1n << BigInt((family === 4 ? 32 : 128) - length);
    if (space.freeAddressCount() < blockSize * BigInt(prefixCount)) {
      throw new Ec2Error('InsufficientFreeAddressesInSubnet', 'The specified subnet does not have enough free addresses to satisfy the request.');
    }
    if (space.freeBlockCount(length) < prefixCount) {
      throw new Ec2Error('InsufficientCidrBlocks', 'The specified subnet does not have enough free cidr blocks to satisfy the request.');
    }
    for (let i = 0; i < prefixCount; i++) {
      const text = formatCidr(space.allocateBlock(length));
      insertAddress(state, eni, family, 'prefix', text);
      out.prefixes.push(text);
    }
  }
  return out;
}

// ---- public IPs (launch addresses and Elastic IPs) ----

/**
 * Frees the public side of one private IP (or all of an ENI's): an auto-assigned public IP goes back to the pool,
 * an Elastic IP stays allocated but is disassociated.
 */
export function releasePublicIp(state: Ec2State, eniId: string, privateIp?: string): void {
  const rows = state.all<PublicIpRow>(
    privateIp === undefined ? 'SELECT * FROM public_ips WHERE eni_id = ?' : 'SELECT * FROM public_ips WHERE eni_id = ? AND private_ip = ?',
    ...(privateIp === undefined ? [eniId] : [eniId, privateIp]),
  );
  for (const row of rows) {
    if (row.allocation_id) {
      state.run('UPDATE public_ips SET eni_id = NULL, private_ip = NULL, association_id = NULL WHERE seq = ?', row.seq);
    } else {
      state.run('DELETE FROM public_ips WHERE seq = ?', row.seq);
    }
    state.eniChanged(eniId);
  }
}

/** An auto-assigned public IP for an ENI's primary address (MapPublicIpOnLaunch / AssociatePublicIpAddress). */
export function assignLaunchPublicIp(state: Ec2State, eni: EniRow): void {
  const publicIp = state.allocatePublicIp();
  if (!publicIp) {
    throw new Ec2Error('AddressLimitExceeded', `The public IP pool ${formatCidr(state.publicIpPool)} has no free address left.`);
  }
  state.run('INSERT INTO public_ips (public_ip, eni_id, private_ip) VALUES (?, ?, ?)', publicIp, eni.id, primaryIp(state, eni.id));
  state.eniChanged(eni.id);
}

export function primaryIp(state: Ec2State, eniId: string): string | undefined {
  return state.get<{ cidr: string }>('SELECT cidr FROM eni_addresses WHERE eni_id = ? AND is_primary = 1 AND family = 4', eniId)?.cidr;
}

// ---- creating and removing ENIs ----

export interface NewEni {
  subnet: SubnetRow;
  description?: string;
  /** Security groups by ID (none → the VPC's default group); null for requester-managed ENIs, which have none. */
  groupIds: string[] | null;
  interfaceType?: string;
  requesterManaged?: boolean;
  primary?: Address;
  ipv4: AddressRequest;
  ipv6: AddressRequest;
}

/** Creates an ENI in a subnet with its primary IPv4 address (explicit or the lowest free) and what else is asked. */
export function createEni(state: Ec2State, spec: NewEni): EniRow {
  const groups = spec.groupIds === null ? [] : resolveGroups(state, spec.groupIds, spec.subnet.vpc_id);
  const id = state.newId('eni');
  state.run(
    `INSERT INTO enis (id, vpc_id, subnet_id, az, mac, description, interface_type, requester_managed)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    id,
    spec.subnet.vpc_id,
    spec.subnet.id,
    spec.subnet.az,
    state.newMac(id),
    spec.description ?? '',
    spec.interfaceType ?? 'interface',
    spec.requesterManaged ? 1 : 0,
  );
  for (const g of groups) state.run('INSERT INTO eni_security_groups (eni_id, group_id) VALUES (?, ?)', id, g);
  const eni = findEni(state, id);
  const secondaries = (spec.ipv4.count ?? 0) + spec.ipv4.addresses.length + (spec.ipv4.prefixCount ?? 0) + spec.ipv4.prefixes.length;
  checkSlots(state, eni, 4, 1 + secondaries);
  const v6 = (spec.ipv6.count ?? 0) + spec.ipv6.addresses.length + (spec.ipv6.prefixCount ?? 0) + spec.ipv6.prefixes.length;
  checkSlots(state, eni, 6, v6);
  if (spec.primary) {
    allocate(state, eni, 4, { addresses: [], prefixes: [] }, { primary: spec.primary });
  } else {
    const subnetSpace = state.subnetSpace(spec.subnet, 4)!;
    if (subnetSpace.freeAddressCount() === 0n) {
      throw new Ec2Error('InsufficientFreeAddressesInSubnet', 'The specified subnet does not have enough free addresses to satisfy the request.');
    }
    insertAddress(state, eni, 4, 'address', formatAddress(subnetSpace.allocateAddress()), true);
  }
  allocate(state, eni, 4, spec.ipv4);
  if (v6 > 0) allocate(state, eni, 6, spec.ipv6);
  return eni;
}

/** Deletes an ENI and everything on it: addresses, prefixes, group memberships, tags, its public IPs. */
export function deleteEniRow(state: Ec2State, eni: EniRow): void {
  dropTrunkAssociations(state, eni.id);
  releasePublicIp(state, eni.id);
  state.run('DELETE FROM eni_addresses WHERE eni_id = ?', eni.id);
  state.run('DELETE FROM eni_security_groups WHERE eni_id = ?', eni.id);
  deleteResource(state, 'eni', eni.id);
  state.eniDeleted(eni.id);
}

/** Attaches after every check EC2 makes: state, AZ, card, device index, ENI count and address count of the type. */
export function attachEni(
  state: Ec2State,
  eni: EniRow,
  instance: InstanceRow,
  deviceIndex: number,
  networkCardIndex: number,
  deleteOnTermination: boolean,
): string {
  if (eni.instance_id) throw new Ec2Error('InvalidNetworkInterface.InUse', `Interface: ${eni.id} in use.`);
  if (instance.state !== 'running') {
    throw new Ec2Error('IncorrectInstanceState', `The instance '${instance.id}' is not in a valid state for this operation.`);
  }
  if (eni.vpc_id !== instance.vpc_id) {
    throw invalidParameter(`Network interface ${eni.id} and instance ${instance.id} are in different VPCs.`);
  }
  if (eni.az !== instance.az) {
    throw combination('You may not attach a network interface to an instance if they are not in the same availability zone');
  }
  checkTrunkAttach(state, eni, instance);
  const limits = lookupInstanceType(instance.instance_type);
  const card = limits.NetworkCards.find((c) => c.NetworkCardIndex === networkCardIndex);
  if (!card) {
    throw invalidParameter(`Network card index ${networkCardIndex} is invalid for instance type ${instance.instance_type}.`);
  }
  if (deviceIndex < 0) throw invalidParameter(`Value (${deviceIndex}) for parameter deviceIndex is invalid.`);
  if (
    state.get(
      'SELECT 1 FROM enis WHERE instance_id = ? AND network_card_index = ? AND device_index = ?',
      instance.id,
      networkCardIndex,
      deviceIndex,
    )
  ) {
    throw invalidParameter(`Instance '${instance.id}' already has an interface attached at device index '${deviceIndex}'.`);
  }
  const onCard = state.get<{ n: number }>(
    'SELECT count(*) AS n FROM enis WHERE instance_id = ? AND network_card_index = ?',
    instance.id,
    networkCardIndex,
  )!.n;
  if (onCard + 1 > card.MaximumNetworkInterfaces) {
    throw new Ec2Error('AttachmentLimitExceeded', `Interface count ${onCard + 1} exceeds the limit for ${instance.instance_type}`);
  }
  const attached = { ...eni, instance_id: instance.id };
  checkSlots(state, attached, 4, 0);
  checkSlots(state, attached, 6, 0);
  if (state.get("SELECT 1 FROM eni_addresses WHERE eni_id = ? AND kind = 'prefix'", eni.id)) checkPrefixSupport(state, attached);
  const attachmentId = state.newId('eni-attach');
  state.run(
    `UPDATE enis SET instance_id = ?, device_index = ?, network_card_index = ?, attachment_id = ?, delete_on_termination = ?,
     attach_time = ? WHERE id = ?`,
    instance.id,
    deviceIndex,
    networkCardIndex,
    attachmentId,
    deleteOnTermination ? 1 : 0,
    state.now(),
    eni.id,
  );
  state.eniChanged(eni.id);
  return attachmentId;
}

export function detachEni(state: Ec2State, eni: EniRow): void {
  state.run(
    `UPDATE enis SET instance_id = NULL, device_index = NULL, network_card_index = NULL, attachment_id = NULL,
     delete_on_termination = 0, attach_time = NULL WHERE id = ?`,
    eni.id,
  );
  state.eniChanged(eni.id);
}

// ---- rendering ----

function association(row: PublicIpRow | undefined): XmlObject | undefined {
  if (!row) return undefined;
  return {
    publicIp: row.public_ip,
    publicDnsName: '',
    ipOwnerId: row.allocation_id ? ownerId : 'amazon',
    allocationId: row.allocation_id ?? undefined,
    associationId: row.association_id ?? undefined,
  };
}

/**
 * One ENI in EC2's NetworkInterface shape (DescribeNetworkInterfaces, CreateNetworkInterface); with `forInstance`,
 * the InstanceNetworkInterface shape DescribeInstances nests (no AZ, attachment without instance ID).
 */
export function renderEni(state: Ec2State, eni: EniRow, forInstance = false): XmlObject {
  const rows = state.addressesOf(eni.id);
  const publicIps = new Map(
    state.all<PublicIpRow>('SELECT * FROM public_ips WHERE eni_id = ?', eni.id).map((p) => [p.private_ip, p]),
  );
  const v4 = rows.filter((r) => r.family === 4 && r.kind === 'address');
  const primary = v4.find((r) => r.is_primary === 1);
  const primaryAssociation = association(primary ? publicIps.get(primary.cidr) : undefined);
  return {
    networkInterfaceId: eni.id,
    subnetId: eni.subnet_id,
    vpcId: eni.vpc_id,
    availabilityZone: forInstance ? undefined : eni.az,
    description: eni.description,
    ownerId,
    requesterId: eni.requester_managed ? 'amazon' : undefined,
    requesterManaged: forInstance ? undefined : eni.requester_managed === 1,
    status: eniStatus(state, eni),
    macAddress: eni.mac,
    privateIpAddress: primary?.cidr,
    privateDnsName: primary ? privateDnsName(primary.cidr, state.region) : undefined,
    sourceDestCheck: eni.source_dest_check === 1,
    groupSet: groupSet(state, eniGroups(state, eni.id)),
    attachment: eni.attachment_id
      ? {
          attachmentId: eni.attachment_id,
          instanceId: forInstance ? undefined : eni.instance_id,
          instanceOwnerId: forInstance ? undefined : ownerId,
          deviceIndex: eni.device_index,
          networkCardIndex: eni.network_card_index,
          status: 'attached',
          attachTime: eni.attach_time === null ? undefined : isoTime(eni.attach_time),
          deleteOnTermination: eni.delete_on_termination === 1,
        }
      : undefined,
    association: primaryAssociation,
    tagSet: forInstance ? undefined : tagSet(state, eni.id),
    privateIpAddressesSet: v4.map((r) => ({
      privateIpAddress: r.cidr,
      privateDnsName: privateDnsName(r.cidr, state.region),
      primary: r.is_primary === 1,
      association: association(publicIps.get(r.cidr)),
    })),
    ipv4PrefixSet: rows.filter((r) => r.family === 4 && r.kind === 'prefix').map((r) => ({ ipv4Prefix: r.cidr })),
    ipv6AddressesSet: rows
      .filter((r) => r.family === 6 && r.kind === 'address')
      .map((r) => ({ ipv6Address: r.cidr, isPrimaryIpv6: false })),
    ipv6PrefixSet: rows.filter((r) => r.family === 6 && r.kind === 'prefix').map((r) => ({ ipv6Prefix: r.cidr })),
    interfaceType: eni.interface_type,
  };
}

// ---- request parsing ----

/** How one family's addresses and prefixes are asked for: Query parameter and the name EC2's messages use. */
interface FamilyParams {
  count: { param: string; name: string };
  /** `listName` is how EC2's combination messages name the list (IPv4: privateIpAddresses, not privateIpAddress). */
  addresses: { param: string; name: string; listName: string };
  prefixCount: { param: string; name: string };
  prefixes: { param: string; name: string; listName: string };
}

const familyParams: Record<4 | 6, FamilyParams> = {
  4: {
    count: { param: 'SecondaryPrivateIpAddressCount', name: 'secondaryPrivateIpAddressCount' },
    addresses: { param: 'PrivateIpAddress', name: 'privateIpAddress', listName: 'privateIpAddresses' },
    prefixCount: { param: 'Ipv4PrefixCount', name: 'ipv4PrefixCount' },
    prefixes: { param: 'Ipv4Prefix', name: 'ipv4Prefix', listName: 'ipv4Prefixes' },
  },
  6: {
    count: { param: 'Ipv6AddressCount', name: 'ipv6AddressCount' },
    addresses: { param: 'Ipv6Addresses', name: 'ipv6Addresses', listName: 'ipv6Addresses' },
    prefixCount: { param: 'Ipv6PrefixCount', name: 'ipv6PrefixCount' },
    prefixes: { param: 'Ipv6Prefix', name: 'ipv6Prefix', listName: 'ipv6Prefixes' },
  },
};

function parseAddresses(family: 4 | 6, list: string[], name: string): Address[] {
  return list.map((t) => parseAddressParam(t, name, family));
}

function parsePrefixes(family: 4 | 6, list: string[], name: string): Cidr[] {
  return list.map((t) => parseCidrParam(t, name, family));
}

/** EC2 refuses a count together with explicit values, and addresses together with prefixes, in one request. */
function checkAddressRequest(req: AddressRequest, names: FamilyParams): void {
  if (req.count !== undefined && req.addresses.length > 0) {
    throw combination(`You may specify ${names.count.name} or ${names.addresses.listName}, but not both.`);
  }
  if (req.prefixCount !== undefined && req.prefixes.length > 0) {
    throw combination(`You may specify ${names.prefixCount.name} or ${names.prefixes.listName}, but not both.`);
  }
  const wantsAddresses = req.count !== undefined || req.addresses.length > 0;
  const wantsPrefixes = req.prefixCount !== undefined || req.prefixes.length > 0;
  if (wantsAddresses && wantsPrefixes) {
    throw combination('Addresses and prefixes cannot be assigned or unassigned in the same request.');
  }
}

function requestSize(req: AddressRequest): number {
  return (req.count ?? 0) + req.addresses.length + (req.prefixCount ?? 0) + req.prefixes.length;
}

function checkPositive(value: number | undefined, name: string): void {
  if (value === 0) throw invalidParameter(`Value (0) for parameter ${name} is invalid. It must be at least 1.`);
}

// ---- actions ----

const createNetworkInterface: Handler = (params, state) => {
  const subnet = findRow<SubnetRow>(state, 'subnet', params.req('SubnetId'));
  const listed = params.structs('PrivateIpAddresses').map((p) => ({
    address: parseAddressParam(p.req('PrivateIpAddress'), 'privateIpAddresses', 4),
    primary: p.bool('Primary') === true,
  }));
  if (listed.filter((p) => p.primary).length > 1) {
    throw invalidParameter('Only one primary private IP address can be specified.');
  }
  const primaryText = params.str('PrivateIpAddress');
  const markedPrimary = listed.find((p) => p.primary)?.address;
  if (primaryText !== undefined && markedPrimary !== undefined && formatAddress(markedPrimary) !== primaryText) {
    throw combination('PrivateIpAddress and the primary entry of PrivateIpAddresses name different addresses.');
  }
  const primary = primaryText !== undefined ? parseAddressParam(primaryText, 'privateIpAddress', 4) : (markedPrimary ?? listed[0]?.address);
  const ipv4: AddressRequest = {
    count: countParam(params, 'SecondaryPrivateIpAddressCount'),
    addresses: listed.map((p) => p.address).filter((a) => !primary || formatAddress(a) !== formatAddress(primary)),
    prefixCount: countParam(params, 'Ipv4PrefixCount'),
    prefixes: parsePrefixes(4, params.structs('Ipv4Prefix').map((p) => p.req('Ipv4Prefix')), 'ipv4Prefix'),
  };
  checkAddressRequest(ipv4, familyParams[4]);
  const ipv6: AddressRequest = {
    count: countParam(params, 'Ipv6AddressCount'),
    addresses: parseAddresses(6, params.structs('Ipv6Addresses').map((p) => p.req('Ipv6Address')), 'ipv6Addresses'),
    prefixCount: countParam(params, 'Ipv6PrefixCount'),
    prefixes: parsePrefixes(6, params.structs('Ipv6Prefix').map((p) => p.req('Ipv6Prefix')), 'ipv6Prefix'),
  };
  checkAddressRequest(ipv6, familyParams[6]);
  const interfaceType = params.str('InterfaceType');
  // EC2's NetworkInterfaceCreationType: efa | efa-only | branch | trunk (@aws-sdk/client-ec2 3.1169); `interface` is the default
  if (interfaceType !== undefined && !['efa', 'efa-only', 'branch', 'trunk', 'interface'].includes(interfaceType)) {
    throw invalidParameter(`Value (${interfaceType}) for parameter interfaceType is invalid.`);
  }
  const eni = createEni(state, {
    subnet,
    description: params.str('Description'),
    groupIds: params.list('SecurityGroupId'),
    interfaceType,
    primary,
    ipv4,
    ipv6,
  });
  applyTagSpecifications(state, params, 'network-interface', eni.id);
  return { networkInterface: renderEni(state, findEni(state, eni.id)) };
};

const deleteNetworkInterface: Handler = (params, state) => {
  const eni = findEni(state, params.req('NetworkInterfaceId'));
  if (eni.instance_id) {
    throw new Ec2Error('InvalidNetworkInterface.InUse', `The network interface '${eni.id}' is currently in use.`);
  }
  if (eni.requester_managed) {
    throw new Ec2Error('OperationNotPermitted', `The network interface '${eni.id}' is managed by AWS and cannot be deleted.`);
  }
  deleteEniRow(state, eni);
  return { return: true };
};

const attachNetworkInterface: Handler = (params, state) => {
  const eni = findEni(state, params.req('NetworkInterfaceId'));
  const instance = findRow<InstanceRow>(state, 'instance', params.req('InstanceId'));
  const deviceIndex = params.int('DeviceIndex');
  if (deviceIndex === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter deviceIndex');
  const card = params.int('NetworkCardIndex') ?? 0;
  const attachmentId = attachEni(state, eni, instance, deviceIndex, card, false);
  return { attachmentId, networkCardIndex: card };
};

function findByAttachment(state: Ec2State, attachmentId: string): EniRow {
  const eni = state.get<EniRow>('SELECT * FROM enis WHERE attachment_id = ?', attachmentId);
  if (!eni) throw new Ec2Error('InvalidAttachmentID.NotFound', `The attachment ID '${attachmentId}' does not exist`, 400, [attachmentId]);
  return eni;
}

const detachNetworkInterface: Handler = (params, state) => {
  const eni = findByAttachment(state, params.req('AttachmentId'));
  if (eni.device_index === 0 && eni.network_card_index === 0) {
    throw new Ec2Error(
      'OperationNotPermitted',
      'The network interface at device index 0 and networkCard index 0 cannot be detached.',
    );
  }
  detachEni(state, eni);
  return { return: true };
};

const modifyNetworkInterfaceAttribute: Handler = (params, state) => {
  const eni = findEni(state, params.req('NetworkInterfaceId'));
  const description = params.str('Description.Value');
  const sourceDestCheck = params.bool('SourceDestCheck.Value');
  const groups = params.list('SecurityGroupId');
  const attachmentId = params.str('Attachment.AttachmentId');
  const deleteOnTermination = params.bool('Attachment.DeleteOnTermination');
  const given = [
    description !== undefined && 'description',
    sourceDestCheck !== undefined && 'sourceDestCheck',
    groups.length > 0 && 'groupSet',
    (attachmentId !== undefined || deleteOnTermination !== undefined) && 'attachment',
  ].filter((x): x is string => typeof x === 'string');
  if (given.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain an attribute to modify.');
  if (given.length > 1) throw combination(`Fields for multiple attribute types specified: ${given.join(', ')}`);
  if (description !== undefined) state.run('UPDATE enis SET description = ? WHERE id = ?', description, eni.id);
  if (sourceDestCheck !== undefined) state.run('UPDATE enis SET source_dest_check = ? WHERE id = ?', sourceDestCheck ? 1 : 0, eni.id);
  if (groups.length > 0) {
    const resolved = resolveGroups(state, groups, eni.vpc_id);
    state.run('DELETE FROM eni_security_groups WHERE eni_id = ?', eni.id);
    for (const g of resolved) state.run('INSERT INTO eni_security_groups (eni_id, group_id) VALUES (?, ?)', eni.id, g);
    state.eniChanged(eni.id);
  }
  if (given[0] === 'attachment') {
    if (attachmentId === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter attachment.attachmentId');
    if (deleteOnTermination === undefined) {
      throw new Ec2Error('MissingParameter', 'The request must contain the parameter attachment.deleteOnTermination');
    }
    if (eni.attachment_id !== attachmentId) {
      throw new Ec2Error('InvalidAttachmentID.NotFound', `The attachment ID '${attachmentId}' does not exist`, 400, [attachmentId]);
    }
    state.run('UPDATE enis SET delete_on_termination = ? WHERE id = ?', deleteOnTermination ? 1 : 0, eni.id);
  }
  return { return: true };
};

/** AssignPrivateIpAddresses (4) and AssignIpv6Addresses (6): a count or a list, of addresses or of prefixes. */
function assignAddresses(family: 4 | 6, render: (eniId: string, assigned: { addresses: string[]; prefixes: string[] }) => XmlObject): Handler {
  const p = familyParams[family];
  return (params, state) => {
    const eni = findEni(state, params.req('NetworkInterfaceId'));
    const req: AddressRequest = {
      count: countParam(params, p.count.param),
      addresses: parseAddresses(family, params.list(p.addresses.param), p.addresses.name),
      prefixCount: countParam(params, p.prefixCount.param),
      prefixes: parsePrefixes(family, params.list(p.prefixes.param), p.prefixes.name),
    };
    checkAddressRequest(req, p);
    if (requestSize(req) === 0 && req.count === undefined && req.prefixCount === undefined) {
      throw new Ec2Error(
        'MissingParameter',
        `The request must contain the parameter ${p.count.name}, ${p.addresses.listName}, ${p.prefixCount.name} or ${p.prefixes.listName}`,
      );
    }
    checkPositive(req.count, p.count.name);
    checkPositive(req.prefixCount, p.prefixCount.name);
    if (req.prefixCount !== undefined || req.prefixes.length > 0) checkPrefixSupport(state, eni);
    checkSlots(state, eni, family, requestSize(req));
    // only AssignPrivateIpAddresses has AllowReassignment
    const allowReassignment = family === 4 && params.bool('AllowReassignment') === true;
    return render(eni.id, allocate(state, eni, family, req, { allowReassignment }));
  };
}

/** Removes listed addresses/prefixes of one family; all must be on the ENI and none may be the primary IP. */
function unassign(state: Ec2State, eni: EniRow, family: 4 | 6, addresses: string[], prefixes: string[]): void {
  const rows = state.addressesOf(eni.id).filter((r) => r.family === family);
  for (const text of addresses) {
    const row = rows.find((r) => r.kind === 'address' && r.cidr === text);
    if (row?.is_primary === 1) {
      throw invalidParameter(`The primary private IP address ${text} of ${eni.id} cannot be unassigned.`);
    }
    if (!row) throw invalidParameter(`Some of the specified addresses are not assigned to interface ${eni.id}`);
  }
  for (const text of prefixes) {
    if (!rows.some((r) => r.kind === 'prefix' && r.cidr === text)) {
      throw invalidParameter(`Some of the specified prefixes are not assigned to interface ${eni.id}`);
    }
  }
  for (const text of addresses) {
    releasePublicIp(state, eni.id, text);
    state.run("DELETE FROM eni_addresses WHERE eni_id = ? AND kind = 'address' AND cidr = ?", eni.id, text);
  }
  for (const text of prefixes) state.run("DELETE FROM eni_addresses WHERE eni_id = ? AND kind = 'prefix' AND cidr = ?", eni.id, text);
  state.eniChanged(eni.id);
}

/**
 * UnassignPrivateIpAddresses (4) and UnassignIpv6Addresses (6): listed addresses or prefixes. The IPv4 action
 * refuses addresses with prefixes in one request; the IPv6 one takes both.
 */
function unassignAddresses(family: 4 | 6, render: (eniId: string, addresses: string[], prefixes: string[]) => XmlObject): Handler {
  const p = familyParams[family];
  return (params, state) => {
    const eni = findEni(state, params.req('NetworkInterfaceId'));
    const addresses = parseAddresses(family, params.list(p.addresses.param), p.addresses.name).map(formatAddress);
    const prefixes = parsePrefixes(family, params.list(p.prefixes.param), p.prefixes.name).map(formatCidr);
    if (addresses.length === 0 && prefixes.length === 0) {
      throw new Ec2Error('MissingParameter', `The request must contain the parameter ${p.addresses.name} or ${p.prefixes.name}`);
    }
    if (family === 4 && addresses.length > 0 && prefixes.length > 0) {
      throw combination('Addresses and prefixes cannot be assigned or unassigned in the same request.');
    }
    unassign(state, eni, family, addresses, prefixes);
    return render(eni.id, addresses, prefixes);
  };
}

const assignPrivateIpAddresses = assignAddresses(4, (eniId, assigned) => ({
  networkInterfaceId: eniId,
  assignedPrivateIpAddressesSet: assigned.addresses.map((a) => ({ privateIpAddress: a })),
  assignedIpv4PrefixSet: assigned.prefixes.map((prefix) => ({ ipv4Prefix: prefix })),
}));
const assignIpv6Addresses = assignAddresses(6, (eniId, assigned) => ({
  networkInterfaceId: eniId,
  assignedIpv6Addresses: assigned.addresses,
  assignedIpv6PrefixSet: assigned.prefixes,
}));
const unassignPrivateIpAddresses = unassignAddresses(4, () => ({ return: true }));
const unassignIpv6Addresses = unassignAddresses(6, (eniId, addresses, prefixes) => ({
  networkInterfaceId: eniId,
  unassignedIpv6Addresses: addresses,
  unassignedIpv6PrefixSet: prefixes,
}));

const v4Addresses = (state: Ec2State, eni: EniRow) => state.addressesOf(eni.id).filter((r) => r.family === 4 && r.kind === 'address');

const describeNetworkInterfaces = describeAction<EniRow>({
  select: selectRows('eni', 'NetworkInterfaceId'),
  filters: {
    'network-interface-id': (e) => [e.id],
    'attachment.instance-id': (e) => [e.instance_id],
    'attachment.attachment-id': (e) => [e.attachment_id],
    'attachment.device-index': (e) => [e.device_index],
    'attachment.status': (e) => [e.attachment_id ? 'attached' : null],
    'attachment.delete-on-termination': (e) => [e.attachment_id ? e.delete_on_termination === 1 : null],
    'attachment.instance-owner-id': (e) => [e.instance_id ? ownerId : null],
    status: (e, state) => [eniStatus(state, e)],
    'vpc-id': (e) => [e.vpc_id],
    'subnet-id': (e) => [e.subnet_id],
    description: (e) => [e.description],
    'availability-zone': (e) => [e.az],
    'mac-address': (e) => [e.mac],
    'private-ip-address': (e, state) => v4Addresses(state, e).map((r) => r.cidr),
    'addresses.private-ip-address': (e, state) => v4Addresses(state, e).map((r) => r.cidr),
    'addresses.primary': (e, state) => v4Addresses(state, e).map((r) => r.is_primary === 1),
    'group-id': (e, state) => eniGroups(state, e.id),
    'group-name': (e, state) => groupSet(state, eniGroups(state, e.id)).map((g) => g.groupName as string),
    'interface-type': (e) => [e.interface_type],
    'requester-managed': (e) => [e.requester_managed === 1],
    'source-dest-check': (e) => [e.source_dest_check === 1],
    'owner-id': () => [ownerId],
    'ipv6-addresses.ipv6-address': (e, state) =>
      state.addressesOf(e.id).filter((r) => r.family === 6 && r.kind === 'address').map((r) => r.cidr),
    'association.public-ip': (e, state) =>
      state.all<{ public_ip: string }>('SELECT public_ip FROM public_ips WHERE eni_id = ?', e.id).map((p) => p.public_ip),
  },
  render: (page, state) => ({ networkInterfaceSet: page.map((e) => renderEni(state, e)) }),
});

export const eniActions: Record<string, Handler> = {
  CreateNetworkInterface: createNetworkInterface,
  DeleteNetworkInterface: deleteNetworkInterface,
  AttachNetworkInterface: attachNetworkInterface,
  DetachNetworkInterface: detachNetworkInterface,
  ModifyNetworkInterfaceAttribute: modifyNetworkInterfaceAttribute,
  AssignPrivateIpAddresses: assignPrivateIpAddresses,
  UnassignPrivateIpAddresses: unassignPrivateIpAddresses,
  AssignIpv6Addresses: assignIpv6Addresses,
  UnassignIpv6Addresses: unassignIpv6Addresses,
  DescribeNetworkInterfaces: describeNetworkInterfaces,
};
