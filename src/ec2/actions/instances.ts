import { type InstanceLimits, allInstanceTypes, lookupInstanceType } from '../../limits/index.js';
import { privateDnsName } from '../../vpc/index.js';
import { Ec2Error, type ActionHandler, type Ec2Params, type XmlObject } from '../protocol.js';
import type { Ec2State, EniRow, InstanceRow, PublicIpRow, SubnetRow } from '../state.js';
import {
  countParam,
  describeAction,
  findRow,
  findRows,
  invalidParameter,
  isoTime,
  ownerId,
  parseAddressParam,
  selectRows,
  setTag,
  tagSet,
} from './common.js';
import { assignLaunchPublicIp, attachEni, createEni, deleteEniRow, detachEni, primaryIp, releasePublicIp, renderEni } from './enis.js';
import { groupSet } from './security-groups.js';

type Handler = ActionHandler<Ec2State>;

/** EC2's instance state codes. */
const stateCodes: Record<string, number> = { pending: 0, running: 16, 'shutting-down': 32, terminated: 48 };

function instanceState(name: string): XmlObject {
  return { code: stateCodes[name], name };
}

function limitsOf(type: string): InstanceLimits | undefined {
  return allInstanceTypes().includes(type) ? lookupInstanceType(type) : undefined;
}

function attachedEnis(state: Ec2State, instanceId: string): EniRow[] {
  return state.all<EniRow>('SELECT * FROM enis WHERE instance_id = ? ORDER BY network_card_index, device_index', instanceId);
}

function renderInstance(state: Ec2State, instance: InstanceRow, stateName = instance.state): XmlObject {
  const enis = attachedEnis(state, instance.id);
  const primary = enis.find((e) => e.device_index === 0 && e.network_card_index === 0);
  const privateIp = primary ? primaryIp(state, primary.id) : undefined;
  const publicIp = primary
    ? state.get<PublicIpRow>('SELECT * FROM public_ips WHERE eni_id = ? AND private_ip = ?', primary.id, privateIp)?.public_ip
    : undefined;
  const groups = primary
    ? state.all<{ group_id: string }>('SELECT group_id FROM eni_security_groups WHERE eni_id = ? ORDER BY rowid', primary.id).map((g) => g.group_id)
    : [];
  const limits = limitsOf(instance.instance_type);
  return {
    instanceId: instance.id,
    imageId: instance.image_id,
    instanceState: instanceState(stateName),
    privateDnsName: privateIp ? privateDnsName(privateIp, state.region) : '',
    dnsName: '',
    reason: '',
    amiLaunchIndex: instance.launch_index,
    productCodes: [],
    instanceType: instance.instance_type,
    launchTime: isoTime(instance.launch_time),
    placement: { availabilityZone: instance.az, groupName: '', tenancy: 'default' },
    monitoring: { state: 'disabled' },
    subnetId: instance.state === 'terminated' ? undefined : instance.subnet_id,
    vpcId: instance.state === 'terminated' ? undefined : instance.vpc_id,
    privateIpAddress: privateIp,
    ipAddress: publicIp,
    sourceDestCheck: primary ? primary.source_dest_check === 1 : undefined,
    groupSet: groupSet(state, groups),
    architecture: 'x86_64',
    rootDeviceType: 'ebs',
    rootDeviceName: '/dev/xvda',
    blockDeviceMapping: [],
    virtualizationType: 'hvm',
    // EC2 reports Nitro instances with hypervisor "xen" in DescribeInstances (only DescribeInstanceTypes says nitro).
    hypervisor: 'xen',
    ebsOptimized: false,
    enaSupport: limits?.HypervisorType === 'nitro',
    tagSet: tagSet(state, instance.id),
    networkInterfaceSet: enis.map((e) => renderEni(state, e, true)),
  };
}

function reservations(state: Ec2State, instances: InstanceRow[], stateName?: string): XmlObject[] {
  const byReservation = new Map<string, InstanceRow[]>();
  for (const i of instances) byReservation.set(i.reservation_id, [...(byReservation.get(i.reservation_id) ?? []), i]);
  return [...byReservation].map(([reservationId, members]) => ({
    reservationId,
    ownerId,
    groupSet: [],
    instancesSet: members.map((i) => renderInstance(state, i, stateName)),
  }));
}

/** The primary-interface settings: from NetworkInterface.1 (device 0) when given, else the top-level parameters. */
function primaryInterfaceParams(params: Ec2Params): Ec2Params | undefined {
  const interfaces = params.structs('NetworkInterface');
  const primary = interfaces.find((n) => (n.int('DeviceIndex') ?? 0) === 0);
  if (interfaces.length > 1) {
    throw invalidParameter('Only the primary network interface (DeviceIndex 0) can be given at launch in this emulator.');
  }
  return primary;
}

/**
 * Launches instances that are running at once, each with a primary ENI (device 0, DeleteOnTermination) in the
 * subnet and a public IP when the subnet maps one on launch or AssociatePublicIpAddress asks for it.
 */
const runInstances: Handler = (params, state) => {
  const minCount = params.int('MinCount');
  const maxCount = params.int('MaxCount');
  if (minCount === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter MinCount');
  if (maxCount === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter MaxCount');
  if (minCount < 1) throw invalidParameter(`Value (${minCount}) for parameter minCount is invalid. Expected a value greater than 0.`);
  if (maxCount < minCount) {
    throw invalidParameter(`Value (${maxCount}) for parameter maxCount is invalid. It must be at least minCount (${minCount}).`);
  }
  const type = params.str('InstanceType') ?? 'm1.small';
  if (!limitsOf(type)) throw invalidParameter(`Invalid value '${type}' for InstanceType.`);
  const nic = primaryInterfaceParams(params);
  const subnetId = nic?.str('SubnetId') ?? params.str('SubnetId');
  if (subnetId === undefined) throw new Ec2Error('VPCIdNotSpecified', 'No default VPC for this user');
  const subnet = findRow<SubnetRow>(state, 'subnet', subnetId);
  const primaryText = nic?.str('PrivateIpAddress') ?? params.str('PrivateIpAddress');
  if (primaryText !== undefined && maxCount > 1) {
    throw invalidParameter('A private IP address can only be given when launching a single instance.');
  }
  const primary = primaryText === undefined ? undefined : parseAddressParam(primaryText, 'privateIpAddress', 4);
  const groupIds = nic ? nic.list('SecurityGroupId') : params.list('SecurityGroupId');
  const publicIp = nic?.bool('AssociatePublicIpAddress') ?? subnet.map_public_ip === 1;
  const deleteOnTermination = nic?.bool('DeleteOnTermination') ?? true;
  const secondaryCount = nic ? countParam(nic, 'SecondaryPrivateIpAddressCount') : undefined;
  const ipv6Count = (nic ? countParam(nic, 'Ipv6AddressCount') : undefined) ?? countParam(params, 'Ipv6AddressCount');
  const tagSpecs = params.tagSpecifications();
  for (const spec of tagSpecs) {
    if (!['instance', 'network-interface', 'volume'].includes(spec.resourceType)) {
      throw invalidParameter(`'${spec.resourceType}' is not a valid taggable resource type for this operation.`);
    }
  }
  // Launch as many as fit, at least MinCount: each instance needs one address (plus what its ENI asks for).
  const perInstance = 1 + (secondaryCount ?? 0);
  const free = Number(state.subnetSpace(subnet, 4)!.freeAddressCount());
  const count = Math.min(maxCount, Math.floor(free / perInstance));
  if (count < minCount) {
    throw new Ec2Error('InsufficientFreeAddressesInSubnet', 'The specified subnet does not have enough free addresses to satisfy the request.');
  }
  const reservationId = state.newId('r');
  const launched: InstanceRow[] = [];
  for (let index = 0; index < count; index++) {
    const id = state.newId('i');
    state.run(
      `INSERT INTO instances (id, instance_type, image_id, subnet_id, vpc_id, az, state, launch_time, reservation_id, launch_index)
       VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?)`,
      id, type, params.str('ImageId') ?? 'ami-00000000000000000', subnet.id, subnet.vpc_id, subnet.az, state.now(), reservationId, index,
    );
    const instance = findRow<InstanceRow>(state, 'instance', id);
    const eni = createEni(state, {
      subnet,
      description: nic?.str('Description') ?? '',
      groupIds,
      primary,
      ipv4: { count: secondaryCount, addresses: [], prefixes: [] },
      ipv6: { count: ipv6Count, addresses: [], prefixes: [] },
    });
    attachEni(state, eni, instance, 0, lookupInstanceType(type).DefaultNetworkCardIndex, deleteOnTermination);
    if (publicIp) assignLaunchPublicIp(state, eni);
    for (const spec of tagSpecs) {
      const target = spec.resourceType === 'instance' ? id : spec.resourceType === 'network-interface' ? eni.id : undefined;
      if (target) for (const tag of spec.tags) setTag(state, target, tag.key, tag.value);
    }
    launched.push(instance);
  }
  return { ...reservations(state, launched, 'pending')[0] };
};

/** Terminates: DeleteOnTermination ENIs are deleted, the others detached; auto-assigned public IPs are released. */
const terminateInstances: Handler = (params, state) => {
  const ids = params.list('InstanceId');
  if (ids.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter InstanceId');
  const instances = findRows<InstanceRow>(state, 'instance', ids);
  const changes = instances.map((instance) => {
    const previous = instance.state;
    if (previous !== 'terminated') {
      for (const eni of attachedEnis(state, instance.id)) {
        if (eni.delete_on_termination === 1) {
          deleteEniRow(state, eni);
        } else {
          for (const p of state.all<PublicIpRow>('SELECT * FROM public_ips WHERE eni_id = ? AND allocation_id IS NULL', eni.id)) {
            releasePublicIp(state, eni.id, p.private_ip ?? undefined);
          }
          detachEni(state, eni);
        }
      }
      state.run("UPDATE instances SET state = 'terminated' WHERE id = ?", instance.id);
    }
    return {
      instanceId: instance.id,
      previousState: instanceState(previous),
      currentState: instanceState(previous === 'terminated' ? 'terminated' : 'shutting-down'),
    };
  });
  return { instancesSet: changes };
};

/** The ENIs attached to an instance and its primary ENI (device 0 on card 0). */
function instanceEnis(state: Ec2State, instance: InstanceRow): { enis: EniRow[]; primary?: EniRow } {
  const enis = attachedEnis(state, instance.id);
  return { enis, primary: enis.find((e) => e.device_index === 0 && e.network_card_index === 0) };
}

const describeInstances = describeAction<InstanceRow>({
  select: selectRows('instance', 'InstanceId'),
  filters: {
    'instance-id': (i) => [i.id],
    'instance-type': (i) => [i.instance_type],
    'instance-state-name': (i) => [i.state],
    'instance-state-code': (i) => [stateCodes[i.state]],
    'subnet-id': (i) => [i.subnet_id],
    'vpc-id': (i) => [i.vpc_id],
    'private-ip-address': (i, state) => {
      const { primary } = instanceEnis(state, i);
      return [primary ? primaryIp(state, primary.id) : null];
    },
    'ip-address': (i, state) => {
      const { primary } = instanceEnis(state, i);
      return primary ? state.all<{ public_ip: string }>('SELECT public_ip FROM public_ips WHERE eni_id = ?', primary.id).map((p) => p.public_ip) : [];
    },
    'availability-zone': (i) => [i.az],
    'network-interface.network-interface-id': (i, state) => instanceEnis(state, i).enis.map((e) => e.id),
    'network-interface.addresses.private-ip-address': (i, state) =>
      instanceEnis(state, i).enis.flatMap((e) => state.addressesOf(e.id).filter((a) => a.family === 4 && a.kind === 'address').map((a) => a.cidr)),
    'reservation-id': (i) => [i.reservation_id],
    'image-id': (i) => [i.image_id],
    'owner-id': () => [ownerId],
  },
  render: (page, state) => ({ reservationSet: reservations(state, page) }),
});

function maximumNetworkInterfaces(limits: InstanceLimits): number {
  return limits.NetworkCards.reduce((n, c) => n + c.MaximumNetworkInterfaces, 0);
}

function renderInstanceType(type: string, limits: InstanceLimits): XmlObject {
  return {
    instanceType: type,
    currentGeneration: true,
    bareMetal: limits.IsBareMetal,
    hypervisor: limits.HypervisorType === 'unknown' ? undefined : limits.HypervisorType,
    networkInfo: {
      maximumNetworkInterfaces: maximumNetworkInterfaces(limits),
      maximumNetworkCards: limits.NetworkCards.length,
      defaultNetworkCardIndex: limits.DefaultNetworkCardIndex,
      networkCards: limits.NetworkCards.map((c) => ({
        networkCardIndex: c.NetworkCardIndex,
        maximumNetworkInterfaces: c.MaximumNetworkInterfaces,
      })),
      ipv4AddressesPerInterface: limits.IPv4Limit,
      ipv6AddressesPerInterface: limits.IPv4Limit,
      ipv6Supported: true,
      enaSupport: limits.HypervisorType === 'nitro' ? 'required' : 'unsupported',
    },
  };
}

/** From data/instance-limits.json (spec §8): the fields ipamd builds its limits from. Types have no tags. */
const describeInstanceTypes = describeAction<string>({
  select(params) {
    const requested = params.list('InstanceType');
    const unknown = requested.filter((t) => !limitsOf(t));
    if (unknown.length > 0) {
      throw new Ec2Error('InvalidInstanceType', `The following supplied instance types do not exist: [${unknown.join(', ')}]`);
    }
    // EC2 pages a list of named types too (it has no resource IDs to refuse MaxResults with)
    return { items: requested.length > 0 ? requested : allInstanceTypes(), named: false };
  },
  filters: {
    'instance-type': (t) => [t],
    hypervisor: (t) => [lookupInstanceType(t).HypervisorType],
    'bare-metal': (t) => [lookupInstanceType(t).IsBareMetal],
    'network-info.maximum-network-interfaces': (t) => [maximumNetworkInterfaces(lookupInstanceType(t))],
    'network-info.ipv4-addresses-per-interface': (t) => [lookupInstanceType(t).IPv4Limit],
  },
  tags: () => [],
  paging: { min: 5, max: 100, defaultMax: 100 },
  render: (page) => ({ instanceTypeSet: page.map((t) => renderInstanceType(t, lookupInstanceType(t))) }),
});

export const instanceActions: Record<string, Handler> = {
  RunInstances: runInstances,
  TerminateInstances: terminateInstances,
  DescribeInstances: describeInstances,
  DescribeInstanceTypes: describeInstanceTypes,
};
