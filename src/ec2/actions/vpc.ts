import { cidrContains, cidrsOverlap, parseCidr } from '../../net/index.js';
import { MAX_IPV4_CIDRS_PER_VPC, restrictedAssociation, vpcBlockSizeAllowed } from '../../vpc/index.js';
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
    cidrBlockAssociationSet: cidrAssociations(state, vpc).map((a) => ({
      associationId: a.association_id,
      cidrBlock: a.cidr,
      cidrBlockState: { state: a.state },
    })),
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

interface CidrAssociationRow {
  association_id: string;
  vpc_id: string;
  cidr: string;
  state: 'associated' | 'disassociated';
}

/** The VPC's IPv4 associations as DescribeVpcs lists them: the primary first, then the secondary ones, disassociated included. */
function cidrAssociations(state: Ec2State, vpc: VpcRow): CidrAssociationRow[] {
  const primary: CidrAssociationRow = { association_id: vpc.cidr_association_id, vpc_id: vpc.id, cidr: vpc.cidr, state: 'associated' };
  return [primary, ...state.all<CidrAssociationRow>('SELECT * FROM vpc_cidr_blocks WHERE vpc_id = ? ORDER BY seq', vpc.id)];
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
  if (!vpcBlockSizeAllowed(prefixLength)) throw new Ec2Error(code, `The CIDR '${text}' is invalid.`);
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
    state.get("SELECT 1 FROM vpn_gateways WHERE vpc_id = ? AND attachment_state = 'attached'", vpc.id) ??
    state.get('SELECT 1 FROM route_tables WHERE vpc_id = ? AND main = 0', vpc.id) ??
    state.get("SELECT 1 FROM security_groups WHERE vpc_id = ? AND name != 'default'", vpc.id) ??
    state.get("SELECT 1 FROM vpc_peerings WHERE (requester_vpc_id = ? OR accepter_vpc_id = ?) AND status = 'active'", vpc.id, vpc.id);
  if (dependent || vpcHasCustomNetworkAcl(state, vpc.id)) {
    throw new Ec2Error('DependencyViolation', `The vpc '${vpc.id}' has dependencies and cannot be deleted.`);
  }
  deleteVpcNetworkAcls(state, vpc.id);
  state.run('DELETE FROM vpc_cidr_blocks WHERE vpc_id = ?', vpc.id);
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
  if (!state.vpcIpv4Cidrs(vpc.id).some((c) => cidrContains(parseCidr(c), cidr))) {
    throw new Ec2Error('InvalidSubnet.Range', `The CIDR '${text}' is invalid.`);
  }
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
  // a transit gateway attachment holds a network interface in each of its subnets (not modelled as an ENI here)
  const attached = state.get('SELECT 1 FROM transit_gateway_attachment_subnets WHERE subnet_id = ?', subnet.id);
  if (attached || state.get('SELECT 1 FROM enis WHERE subnet_id = ?', subnet.id)) {
    throw new Ec2Error('DependencyViolation', `The subnet '${subnet.id}' has dependencies and cannot be deleted.`);
  }
  deleteResource(state, 'subnet', subnet.id);
  // the subnet's network-ACL association goes with it (ON DELETE CASCADE): DescribeNetworkAcls changed
  state.filteringChanged();
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

/** The CIDRs of the VPCs `vpcId` is actively peered with. */
function peeredCidrs(state: Ec2State, vpcId: string): string[] {
  const peers = state.all<{ peer: string }>(
    `SELECT CASE WHEN requester_vpc_id = ? THEN accepter_vpc_id ELSE requester_vpc_id END AS peer FROM vpc_peerings
     WHERE (requester_vpc_id = ? OR accepter_vpc_id = ?) AND status = 'active'`,
    vpcId,
    vpcId,
    vpcId,
  );
  return peers.flatMap((p) => state.vpcIpv4Cidrs(p.peer));
}

const associateVpcCidrBlock: Handler = (params, state) => {
  const vpc = findRow<VpcRow>(state, 'vpc', params.req('VpcId'));
  if (params.bool('AmazonProvidedIpv6CidrBlock') === true || params.str('Ipv6CidrBlock') !== undefined || params.str('Ipv6Pool') !== undefined) {
    throw invalidParameter('Only IPv4 CIDR blocks can be associated here: the emulator gives a VPC its IPv6 block at CreateVpc.');
  }
  const text = params.str('CidrBlock');
  if (text === undefined) throw new Ec2Error('MissingParameter', 'Either an IPv4 CIDR block, an IPv6 pool or an Amazon-provided IPv6 CIDR block must be specified.');
  const cidr = parseCidrParam(text, 'cidrBlock', 4);
  checkBlockSize(text, cidr.prefixLength, 'InvalidVpc.Range');
  const current = state.vpcIpv4Cidrs(vpc.id);
  if (restrictedAssociation(current, text)) {
    throw new Ec2Error(
      'InvalidVpc.Range',
      `The CIDR '${text}' is restricted. Use a CIDR from the same private address range as the current VPC CIDR, or use a publicly-routable CIDR. For additional restrictions, see https://docs.aws.amazon.com/vpc/latest/userguide/vpc-cidr-blocks.html`,
    );
  }
  const own = current.find((c) => cidrsOverlap(parseCidr(c), cidr));
  if (own) throw new Ec2Error('CidrConflict', `The CIDR '${text}' conflicts with the CIDR block ${own} of vpc '${vpc.id}'.`);
  const peer = peeredCidrs(state, vpc.id).find((c) => cidrsOverlap(parseCidr(c), cidr));
  if (peer) throw new Ec2Error('CidrConflict', `The CIDR '${text}' conflicts with the CIDR block ${peer} of a peered VPC.`);
  // a block may not be as large as or larger than a route's destination in any of the VPC's tables (a smaller one may)
  const routes = state.all<{ destination: string; route_table_id: string }>(
    `SELECT r.destination, r.route_table_id FROM routes r JOIN route_tables t ON t.id = r.route_table_id
     WHERE t.vpc_id = ? AND r.target_kind != 'local' AND r.destination NOT LIKE '%:%' ORDER BY r.seq`,
    vpc.id,
  );
  const covered = routes.find((r) => cidrContains(cidr, parseCidr(r.destination)));
  if (covered) {
    throw new Ec2Error('CidrConflict', `The CIDR '${text}' conflicts with the route to ${covered.destination} in route table ${covered.route_table_id}.`);
  }
  if (current.length >= MAX_IPV4_CIDRS_PER_VPC) {
    throw new Ec2Error('CidrLimitExceeded', `This network '${vpc.id}' has met its maximum number of allowed CIDRs: ${MAX_IPV4_CIDRS_PER_VPC}`);
  }
  const associationId = state.newId('vpc-cidr-assoc');
  state.run("INSERT INTO vpc_cidr_blocks (association_id, vpc_id, cidr, state) VALUES (?, ?, ?, 'associated')", associationId, vpc.id, text);
  // like EC2, every route table of the VPC gets a local route for the new block
  for (const t of state.all<{ id: string }>('SELECT id FROM route_tables WHERE vpc_id = ?', vpc.id)) {
    state.run("INSERT INTO routes (route_table_id, destination, target_kind, target_id) VALUES (?, ?, 'local', 'local')", t.id, text);
  }
  return {
    cidrBlockAssociation: { associationId, cidrBlock: text, cidrBlockState: { state: 'associating' } },
    vpcId: vpc.id,
  };
};

const disassociateVpcCidrBlock: Handler = (params, state) => {
  const associationId = params.req('AssociationId');
  const primary = state.get<VpcRow>('SELECT * FROM vpcs WHERE cidr_association_id = ?', associationId);
  if (primary) {
    throw new Ec2Error(
      'OperationNotPermitted',
      `The vpc CIDR block with association ID ${associationId} may not be disassociated. It is the primary IPv4 CIDR block of the VPC`,
    );
  }
  const row = state.get<CidrAssociationRow>("SELECT * FROM vpc_cidr_blocks WHERE association_id = ? AND state = 'associated'", associationId);
  if (!row) {
    throw new Ec2Error('InvalidVpcCidrBlockAssociationID.NotFound', `The vpc CIDR block association ID '${associationId}' does not exist`);
  }
  const block = parseCidr(row.cidr);
  const inUse = state.all<SubnetRow>('SELECT * FROM subnets WHERE vpc_id = ?', row.vpc_id).some((s) => cidrContains(block, parseCidr(s.cidr)));
  if (inUse) {
    throw new Ec2Error('InvalidCidrBlock.InUse', `The vpc ${row.vpc_id} currently has a subnet within CIDR block ${row.cidr}`);
  }
  state.run("UPDATE vpc_cidr_blocks SET state = 'disassociated' WHERE association_id = ?", associationId);
  state.run(
    "DELETE FROM routes WHERE target_kind = 'local' AND destination = ? AND route_table_id IN (SELECT id FROM route_tables WHERE vpc_id = ?)",
    row.cidr,
    row.vpc_id,
  );
  return {
    cidrBlockAssociation: { associationId, cidrBlock: row.cidr, cidrBlockState: { state: 'disassociating' } },
    vpcId: row.vpc_id,
  };
};

const describeVpcs = describeAction<VpcRow>({
  select: selectRows('vpc', 'VpcId'),
  filters: {
    'vpc-id': (v) => [v.id],
    cidr: (v) => [v.cidr],
    'cidr-block-association.cidr-block': (v, state) => cidrAssociations(state, v).map((a) => a.cidr),
    'cidr-block-association.association-id': (v, state) => cidrAssociations(state, v).map((a) => a.association_id),
    'cidr-block-association.state': (v, state) => cidrAssociations(state, v).map((a) => a.state),
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
  AssociateVpcCidrBlock: associateVpcCidrBlock,
  DisassociateVpcCidrBlock: disassociateVpcCidrBlock,
  CreateSubnet: createSubnet,
  DeleteSubnet: deleteSubnet,
  ModifySubnetAttribute: modifySubnetAttribute,
  DescribeVpcs: describeVpcs,
  DescribeSubnets: describeSubnets,
};
