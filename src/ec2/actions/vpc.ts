import { cidrContains, cidrsOverlap, parseCidr } from '../../net/index.js';
import { Ec2Error, type ActionHandler, type XmlObject } from '../protocol.js';
import type { Ec2State, SubnetRow, VpcRow } from '../state.js';
import { applyTagSpecifications, deleteResource, describeAction, findRow, invalidParameter, ownerId, parseCidrParam, selectRows, tagSet } from './common.js';
import { createDefaultSecurityGroup } from './security-groups.js';
import { associateDefaultNetworkAcl, createDefaultNetworkAcl, deleteVpcNetworkAcls, vpcHasCustomNetworkAcl } from './network-acls.js';
import { createRouteTableRow } from './routing.js';

type Handler = ActionHandler<Ec2State>;

/** `us-west-2` + `b` → `usw2-az2`: EC2's AZ IDs, stable per AZ name here. */
function availabilityZoneId(state: Ec2State, az: string): string {
  const short = state.region.replace(/^([a-z]+)-([a-z])[a-z]*-(\d+)$/, '$1$2$3');
  return `${short}-az${az.charCodeAt(az.length - 1) - 96}`;
}

function renderVpc(state: Ec2State, vpc: VpcRow): XmlObject {
  return {
    vpcId: vpc.id,
    ownerId,
    state: 'available',
    cidrBlock: vpc.cidr,
    instanceTenancy: 'default',
    isDefault: false,
    cidrBlockAssociationSet: [
      { associationId: vpc.cidr_association_id, cidrBlock: vpc.cidr, cidrBlockState: { state: 'associated' } },
    ],
    ipv6CidrBlockAssociationSet: vpc.ipv6_cidr
      ? [
          {
            associationId: vpc.ipv6_association_id,
            ipv6CidrBlock: vpc.ipv6_cidr,
            ipv6CidrBlockState: { state: 'associated' },
            networkBorderGroup: state.region,
            ipv6Pool: 'Amazon',
          },
        ]
      : undefined,
    tagSet: tagSet(state, vpc.id),
  };
}

/** Free addresses as EC2 counts them: size − 5 reserved − every address and prefix in use. */
export function availableIpAddressCount(state: Ec2State, subnet: SubnetRow): number {
  return Number(state.subnetSpace(subnet, 4)!.freeAddressCount());
}

function renderSubnet(state: Ec2State, subnet: SubnetRow): XmlObject {
  return {
    subnetId: subnet.id,
    subnetArn: `arn:aws:ec2:${state.region}:${ownerId}:subnet/${subnet.id}`,
    ownerId,
    state: 'available',
    vpcId: subnet.vpc_id,
    cidrBlock: subnet.cidr,
    availableIpAddressCount: availableIpAddressCount(state, subnet),
    availabilityZone: subnet.az,
    availabilityZoneId: availabilityZoneId(state, subnet.az),
    defaultForAz: false,
    mapPublicIpOnLaunch: subnet.map_public_ip === 1,
    assignIpv6AddressOnCreation: false,
    ipv6Native: false,
    ipv6CidrBlockAssociationSet: subnet.ipv6_cidr
      ? [
          {
            associationId: subnet.ipv6_association_id,
            ipv6CidrBlock: subnet.ipv6_cidr,
            ipv6CidrBlockState: { state: 'associated' },
          },
        ]
      : undefined,
    tagSet: tagSet(state, subnet.id),
  };
}

/** EC2 accepts VPC and subnet IPv4 blocks from /16 to /28. */
function checkBlockSize(text: string, prefixLength: number, code: string): void {
  if (prefixLength < 16 || prefixLength > 28) throw new Ec2Error(code, `The CIDR '${text}' is invalid.`);
}

const createVpc: Handler = (params, state) => {
  const text = params.req('CidrBlock');
  const cidr = parseCidrParam(text, 'cidrBlock', 4);
  checkBlockSize(text, cidr.prefixLength, 'InvalidVpc.Range');
  const id = state.newId('vpc');
  const ipv6 = params.bool('AmazonProvidedIpv6CidrBlock') === true ? state.newVpcIpv6Block() : null;
  state.run(
    'INSERT INTO vpcs (id, cidr, cidr_association_id, ipv6_cidr, ipv6_association_id) VALUES (?, ?, ?, ?, ?)',
    id,
    text,
    state.newId('vpc-cidr-assoc'),
    ipv6,
    ipv6 ? state.newId('vpc-cidr-assoc') : null,
  );
  applyTagSpecifications(state, params, 'vpc', id);
  // Like EC2, a VPC comes with a main route table (local routes), a default security group and a default network ACL.
  createRouteTableRow(state, id, true);
  createDefaultSecurityGroup(state, id);
  const vpc = findRow<VpcRow>(state, 'vpc', id);
  createDefaultNetworkAcl(state, vpc);
  return { vpc: renderVpc(state, vpc) };
};

const deleteVpc: Handler = (params, state) => {
  const vpc = findRow<VpcRow>(state, 'vpc', params.req('VpcId'));
  const dependent =
    state.get('SELECT 1 FROM subnets WHERE vpc_id = ?', vpc.id) ??
    state.get('SELECT 1 FROM internet_gateways WHERE vpc_id = ?', vpc.id) ??
    state.get('SELECT 1 FROM route_tables WHERE vpc_id = ? AND main = 0', vpc.id) ??
    state.get("SELECT 1 FROM security_groups WHERE vpc_id = ? AND name != 'default'", vpc.id) ??
    state.get("SELECT 1 FROM vpc_peerings WHERE (requester_vpc_id = ? OR accepter_vpc_id = ?) AND status = 'active'", vpc.id, vpc.id);
  if (dependent || vpcHasCustomNetworkAcl(state, vpc.id)) {
    throw new Ec2Error('DependencyViolation', `The vpc '${vpc.id}' has dependencies and cannot be deleted.`);
  }
  deleteVpcNetworkAcls(state, vpc.id);
  for (const rtb of state.all<{ id: string }>('SELECT id FROM route_tables WHERE vpc_id = ?', vpc.id)) {
    deleteResource(state, 'routeTable', rtb.id);
  }
  for (const sg of state.all<{ id: string }>('SELECT id FROM security_groups WHERE vpc_id = ?', vpc.id)) {
    state.run('DELETE FROM security_group_rules WHERE source_group_id = ?', sg.id);
    deleteResource(state, 'group', sg.id);
  }
  deleteResource(state, 'vpc', vpc.id);
  return { return: true };
};

const createSubnet: Handler = (params, state) => {
  const vpc = findRow<VpcRow>(state, 'vpc', params.req('VpcId'));
  const text = params.req('CidrBlock');
  const cidr = parseCidrParam(text, 'cidrBlock', 4);
  if (!cidrContains(parseCidr(vpc.cidr), cidr)) throw new Ec2Error('InvalidSubnet.Range', `The CIDR '${text}' is invalid.`);
  checkBlockSize(text, cidr.prefixLength, 'InvalidSubnet.Range');
  const zones = state.availabilityZones();
  const az = params.str('AvailabilityZone') ?? zones[0]!;
  if (!zones.includes(az)) {
    throw invalidParameter(
      `Value (${az}) for parameter availabilityZone is invalid. Subnets can currently only be created in the following availability zones: ${zones.join(', ')}.`,
    );
  }
  const siblings = state.all<SubnetRow>('SELECT * FROM subnets WHERE vpc_id = ?', vpc.id);
  if (siblings.some((s) => cidrsOverlap(parseCidr(s.cidr), cidr))) {
    throw new Ec2Error('InvalidSubnet.Conflict', `The CIDR '${text}' conflicts with another subnet`);
  }
  const ipv6Text = params.str('Ipv6CidrBlock');
  if (ipv6Text !== undefined) {
    const ipv6 = parseCidrParam(ipv6Text, 'ipv6CidrBlock', 6);
    if (!vpc.ipv6_cidr || !cidrContains(parseCidr(vpc.ipv6_cidr), ipv6) || ipv6.prefixLength !== 64) {
      throw new Ec2Error('InvalidSubnet.Range', `The IPv6 CIDR '${ipv6Text}' is invalid.`);
    }
    if (siblings.some((s) => s.ipv6_cidr && cidrsOverlap(parseCidr(s.ipv6_cidr), ipv6))) {
      throw new Ec2Error('InvalidSubnet.Conflict', `The CIDR '${ipv6Text}' conflicts with another subnet`);
    }
  }
  const id = state.newId('subnet');
  state.run(
    `INSERT INTO subnets (id, vpc_id, cidr, az, cidr_association_id, ipv6_cidr, ipv6_association_id)
     VALUES (?, ?, ?, ?, ?, ?, ?)`,
    id,
    vpc.id,
    text,
    az,
    state.newId('subnet-cidr-assoc'),
    ipv6Text ?? null,
    ipv6Text ? state.newId('subnet-cidr-assoc') : null,
  );
  associateDefaultNetworkAcl(state, vpc, id);
  applyTagSpecifications(state, params, 'subnet', id);
  return { subnet: renderSubnet(state, findRow<SubnetRow>(state, 'subnet', id)) };
};

const deleteSubnet: Handler = (params, state) => {
  const subnet = findRow<SubnetRow>(state, 'subnet', params.req('SubnetId'));
  if (state.get('SELECT 1 FROM enis WHERE subnet_id = ?', subnet.id)) {
    throw new Ec2Error('DependencyViolation', `The subnet '${subnet.id}' has dependencies and cannot be deleted.`);
  }
  deleteResource(state, 'subnet', subnet.id);
  return { return: true };
};

const modifySubnetAttribute: Handler = (params, state) => {
  const subnet = findRow<SubnetRow>(state, 'subnet', params.req('SubnetId'));
  const mapPublic = params.bool('MapPublicIpOnLaunch.Value');
  if (mapPublic === undefined) {
    throw new Ec2Error('InvalidParameterCombination', 'No attributes specified: give MapPublicIpOnLaunch.');
  }
  state.run('UPDATE subnets SET map_public_ip = ? WHERE id = ?', mapPublic ? 1 : 0, subnet.id);
  return { return: true };
};

const describeVpcs = describeAction<VpcRow>({
  select: selectRows('vpc', 'VpcId'),
  filters: {
    'vpc-id': (v) => [v.id],
    cidr: (v) => [v.cidr],
    'cidr-block-association.cidr-block': (v) => [v.cidr],
    'ipv6-cidr-block-association.ipv6-cidr-block': (v) => [v.ipv6_cidr],
    state: () => ['available'],
    'is-default': () => ['false'],
    'owner-id': () => [ownerId],
  },
  render: (page, state) => ({ vpcSet: page.map((v) => renderVpc(state, v)) }),
});

const describeSubnets = describeAction<SubnetRow>({
  select: selectRows('subnet', 'SubnetId'),
  filters: {
    'subnet-id': (s) => [s.id],
    'vpc-id': (s) => [s.vpc_id],
    'availability-zone': (s) => [s.az],
    'availability-zone-id': (s, state) => [availabilityZoneId(state, s.az)],
    'cidr-block': (s) => [s.cidr],
    cidr: (s) => [s.cidr],
    cidrBlock: (s) => [s.cidr],
    state: () => ['available'],
    'default-for-az': () => ['false'],
    'map-public-ip-on-launch': (s) => [s.map_public_ip === 1],
    'ipv6-cidr-block-association.ipv6-cidr-block': (s) => [s.ipv6_cidr],
    'available-ip-address-count': (s, state) => [availableIpAddressCount(state, s)],
    'owner-id': () => [ownerId],
  },
  render: (page, state) => ({ subnetSet: page.map((s) => renderSubnet(state, s)) }),
});

export const vpcActions: Record<string, Handler> = {
  CreateVpc: createVpc,
  DeleteVpc: deleteVpc,
  CreateSubnet: createSubnet,
  DeleteSubnet: deleteSubnet,
  ModifySubnetAttribute: modifySubnetAttribute,
  DescribeVpcs: describeVpcs,
  DescribeSubnets: describeSubnets,
};
