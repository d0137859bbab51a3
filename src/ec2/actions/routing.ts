import { cidrsOverlap, parseCidr } from '../../net/index.js';
import { Ec2Error, type ActionHandler, type XmlObject } from '../protocol.js';
import type { Ec2State, PublicIpRow, SubnetRow, VpcRow } from '../state.js';
import {
  applyTagSpecifications,
  combination,
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
import { createEni, findEni, primaryIp } from './enis.js';
import { checkTransitGatewayRouteTarget } from './transit-gateways.js';
import { checkVpnGatewayForRoute, propagatingVgws, vgwRouteState } from './vpn-gateways.js';

type Handler = ActionHandler<Ec2State>;

interface RouteTableRow {
  seq: number;
  id: string;
  vpc_id: string;
  main: number;
}

interface RouteRow {
  route_table_id: string;
  destination: string;
  target_kind: 'local' | 'gateway' | 'nat' | 'peering' | 'eni' | 'instance' | 'tgw';
  target_id: string;
}

interface AssociationRow {
  id: string;
  route_table_id: string;
  subnet_id: string | null;
  main: number;
}

interface IgwRow {
  seq: number;
  id: string;
  vpc_id: string | null;
}

interface NatRow {
  seq: number;
  id: string;
  vpc_id: string;
  subnet_id: string;
  eni_id: string;
  allocation_id: string | null;
  connectivity_type: string;
  create_time: number;
}

interface PeeringRow {
  seq: number;
  id: string;
  requester_vpc_id: string;
  accepter_vpc_id: string;
  status: string;
}

// ---- route tables ----

/** A route table with the VPC's local routes (IPv4 and, when the VPC has one, IPv6); `main` also associates it. */
export function createRouteTableRow(state: Ec2State, vpcId: string, main: boolean): string {
  const vpc = findRow<VpcRow>(state, 'vpc', vpcId);
  const id = state.newId('rtb');
  state.run('INSERT INTO route_tables (id, vpc_id, main) VALUES (?, ?, ?)', id, vpcId, main ? 1 : 0);
  for (const cidr of [...state.vpcIpv4Cidrs(vpc.id), vpc.ipv6_cidr]) {
    if (cidr) {
      state.run("INSERT INTO routes (route_table_id, destination, target_kind, target_id) VALUES (?, ?, 'local', 'local')", id, cidr);
    }
  }
  if (main) state.run('INSERT INTO route_table_associations (id, route_table_id, main) VALUES (?, ?, 1)', state.newId('rtbassoc'), id);
  return id;
}

/** `state`: a route to a virtual private gateway that is no longer attached to the table's VPC is a blackhole. */
function renderRoute(r: RouteRow, state: 'active' | 'blackhole' = 'active'): XmlObject {
  const v6 = r.destination.includes(':');
  return {
    destinationCidrBlock: v6 ? undefined : r.destination,
    destinationIpv6CidrBlock: v6 ? r.destination : undefined,
    gatewayId: r.target_kind === 'local' ? 'local' : r.target_kind === 'gateway' ? r.target_id : undefined,
    natGatewayId: r.target_kind === 'nat' ? r.target_id : undefined,
    vpcPeeringConnectionId: r.target_kind === 'peering' ? r.target_id : undefined,
    networkInterfaceId: r.target_kind === 'eni' ? r.target_id : undefined,
    instanceId: r.target_kind === 'instance' ? r.target_id : undefined,
    transitGatewayId: r.target_kind === 'tgw' ? r.target_id : undefined,
    origin: r.target_kind === 'local' ? 'CreateRouteTable' : 'CreateRoute',
    state,
  };
}

function renderRouteTable(state: Ec2State, rtb: RouteTableRow): XmlObject {
  const routes = state.all<RouteRow>('SELECT * FROM routes WHERE route_table_id = ? ORDER BY seq', rtb.id);
  const associations = state.all<AssociationRow>('SELECT * FROM route_table_associations WHERE route_table_id = ? ORDER BY seq', rtb.id);
  return {
    routeTableId: rtb.id,
    vpcId: rtb.vpc_id,
    ownerId,
    routeSet: routes.map((r) => renderRoute(r, r.target_id.startsWith('vgw-') ? vgwRouteState(state, r.target_id, rtb.vpc_id) : 'active')),
    associationSet: associations.map((a) => ({
      main: a.main === 1,
      routeTableAssociationId: a.id,
      routeTableId: rtb.id,
      subnetId: a.subnet_id ?? undefined,
      associationState: { state: 'associated' },
    })),
    propagatingVgwSet: propagatingVgws(state, rtb.id),
    tagSet: tagSet(state, rtb.id),
  };
}

const createRouteTable: Handler = (params, state) => {
  const vpc = findRow<VpcRow>(state, 'vpc', params.req('VpcId'));
  const id = createRouteTableRow(state, vpc.id, false);
  applyTagSpecifications(state, params, 'route-table', id);
  return { routeTable: renderRouteTable(state, findRow<RouteTableRow>(state, 'routeTable', id)) };
};

function destinationOf(params: Parameters<Handler>[0]): string {
  const v4 = params.str('DestinationCidrBlock');
  const v6 = params.str('DestinationIpv6CidrBlock');
  if (v4 !== undefined && v6 !== undefined) {
    throw combination('Only one of destinationCidrBlock and destinationIpv6CidrBlock may be given.');
  }
  if (v4 !== undefined) return (parseCidrParam(v4, 'destinationCidrBlock', 4), v4);
  if (v6 !== undefined) return (parseCidrParam(v6, 'destinationIpv6CidrBlock', 6), v6);
  throw new Ec2Error('MissingParameter', 'The request must contain the parameter destinationCidrBlock or destinationIpv6CidrBlock');
}

/** The one target a CreateRoute or ReplaceRoute names, checked as EC2 checks it against the table's VPC. */
function routeTarget(params: Parameters<Handler>[0], state: Ec2State, rtb: RouteTableRow): [RouteRow['target_kind'], string] {
  const candidates: Array<[RouteRow['target_kind'], string | undefined]> = [
    ['gateway', params.str('GatewayId')],
    ['nat', params.str('NatGatewayId')],
    ['peering', params.str('VpcPeeringConnectionId')],
    ['eni', params.str('NetworkInterfaceId')],
    ['instance', params.str('InstanceId')],
    ['tgw', params.str('TransitGatewayId')],
  ];
  const targets = candidates.filter((t): t is [RouteRow['target_kind'], string] => t[1] !== undefined);
  if (targets.length === 0) {
    throw new Ec2Error('MissingParameter', 'The request must contain exactly one of gatewayId, natGatewayId, vpcPeeringConnectionId, networkInterfaceId, instanceId, transitGatewayId');
  }
  if (targets.length > 1) throw combination('The parameters gatewayId, natGatewayId, vpcPeeringConnectionId, networkInterfaceId, instanceId and transitGatewayId are mutually exclusive.');
  const [kind, targetId] = targets[0]!;
  const differentNetworks = () => invalidParameter(`route table ${rtb.id} and network gateway ${targetId} belong to different networks`);
  if (kind === 'gateway' && targetId.startsWith('vgw-')) {
    checkVpnGatewayForRoute(state, targetId, rtb.vpc_id);
  } else if (kind === 'gateway') {
    const igw = findRow<IgwRow>(state, 'igw', targetId);
    if (igw.vpc_id !== rtb.vpc_id) throw differentNetworks();
  } else if (kind === 'nat') {
    const nat = findRow<NatRow>(state, 'nat', targetId);
    if (nat.vpc_id !== rtb.vpc_id) throw differentNetworks();
  } else if (kind === 'peering') {
    const pcx = findRow<PeeringRow>(state, 'peering', targetId);
    if (pcx.requester_vpc_id !== rtb.vpc_id && pcx.accepter_vpc_id !== rtb.vpc_id) throw differentNetworks();
    if (pcx.status !== 'active') throw invalidParameter(`The VPC peering connection ${pcx.id} is not active (${pcx.status}).`);
  } else if (kind === 'eni') {
    if (findEni(state, targetId).vpc_id !== rtb.vpc_id) throw differentNetworks();
  } else if (kind === 'tgw') {
    checkTransitGatewayRouteTarget(state, targetId, rtb.vpc_id);
  } else {
    const instance = findRow<{ vpc_id: string }>(state, 'instance', targetId);
    if (instance.vpc_id !== rtb.vpc_id) throw differentNetworks();
  }
  return [kind, targetId];
}

const createRoute: Handler = (params, state) => {
  const rtb = findRow<RouteTableRow>(state, 'routeTable', params.req('RouteTableId'));
  const destination = destinationOf(params);
  const [kind, targetId] = routeTarget(params, state, rtb);
  if (state.get('SELECT 1 FROM routes WHERE route_table_id = ? AND destination = ?', rtb.id, destination)) {
    throw new Ec2Error('RouteAlreadyExists', `The route identified by ${destination} already exists.`);
  }
  state.run('INSERT INTO routes (route_table_id, destination, target_kind, target_id) VALUES (?, ?, ?, ?)', rtb.id, destination, kind, targetId);
  return { return: true };
};

/** A route's new target; the route must exist (a local route keeps its target here). */
const replaceRoute: Handler = (params, state) => {
  const rtb = findRow<RouteTableRow>(state, 'routeTable', params.req('RouteTableId'));
  const destination = destinationOf(params);
  const route = state.get<RouteRow>('SELECT * FROM routes WHERE route_table_id = ? AND destination = ?', rtb.id, destination);
  if (!route) {
    throw new Ec2Error('InvalidRoute.NotFound', `No route with destination-cidr-block ${destination} in route table ${rtb.id}`);
  }
  if (route.target_kind === 'local') throw invalidParameter(`cannot replace local route ${destination} in route table ${rtb.id}`);
  const [kind, targetId] = routeTarget(params, state, rtb);
  state.run('UPDATE routes SET target_kind = ?, target_id = ? WHERE route_table_id = ? AND destination = ?', kind, targetId, rtb.id, destination);
  return { return: true };
};

const deleteRoute: Handler = (params, state) => {
  const rtb = findRow<RouteTableRow>(state, 'routeTable', params.req('RouteTableId'));
  const destination = destinationOf(params);
  const route = state.get<RouteRow>('SELECT * FROM routes WHERE route_table_id = ? AND destination = ?', rtb.id, destination);
  if (!route) {
    throw new Ec2Error('InvalidRoute.NotFound', `No route with destination-cidr-block ${destination} in route table ${rtb.id}`);
  }
  if (route.target_kind === 'local') throw invalidParameter(`cannot remove local route ${destination} in route table ${rtb.id}`);
  state.run('DELETE FROM routes WHERE route_table_id = ? AND destination = ?', rtb.id, destination);
  return { return: true };
};

const associateRouteTable: Handler = (params, state) => {
  const rtb = findRow<RouteTableRow>(state, 'routeTable', params.req('RouteTableId'));
  const subnet = findRow<SubnetRow>(state, 'subnet', params.req('SubnetId'));
  if (subnet.vpc_id !== rtb.vpc_id) {
    throw invalidParameter(`Route table ${rtb.id} and subnet ${subnet.id} belong to different networks`);
  }
  const existing = state.get<AssociationRow>('SELECT * FROM route_table_associations WHERE subnet_id = ?', subnet.id);
  if (existing) {
    throw new Ec2Error(
      'Resource.AlreadyAssociated',
      `the specified association for route table ${rtb.id} conflicts with an existing association`,
    );
  }
  const id = state.newId('rtbassoc');
  state.run('INSERT INTO route_table_associations (id, route_table_id, subnet_id) VALUES (?, ?, ?)', id, rtb.id, subnet.id);
  return { associationId: id, associationState: { state: 'associated' } };
};

const associationsOf = (state: Ec2State, rtb: RouteTableRow) =>
  state.all<AssociationRow>('SELECT * FROM route_table_associations WHERE route_table_id = ?', rtb.id);
const routesOf = (state: Ec2State, rtb: RouteTableRow) => state.all<RouteRow>('SELECT * FROM routes WHERE route_table_id = ?', rtb.id);
const routeTargets = (state: Ec2State, rtb: RouteTableRow, kinds: readonly RouteRow['target_kind'][]) =>
  routesOf(state, rtb).filter((r) => kinds.includes(r.target_kind)).map((r) => r.target_id);

const describeRouteTables = describeAction<RouteTableRow>({
  select: selectRows('routeTable', 'RouteTableId'),
  filters: {
    'route-table-id': (r) => [r.id],
    'vpc-id': (r) => [r.vpc_id],
    'association.subnet-id': (r, state) => associationsOf(state, r).map((a) => a.subnet_id),
    'association.route-table-association-id': (r, state) => associationsOf(state, r).map((a) => a.id),
    'association.main': (r) => [r.main === 1],
    'route.destination-cidr-block': (r, state) => routesOf(state, r).filter((route) => !route.destination.includes(':')).map((route) => route.destination),
    'route.gateway-id': (r, state) => routeTargets(state, r, ['gateway', 'local']),
    'route.nat-gateway-id': (r, state) => routeTargets(state, r, ['nat']),
    'route.transit-gateway-id': (r, state) => routeTargets(state, r, ['tgw']),
    'route.vpc-peering-connection-id': (r, state) => routeTargets(state, r, ['peering']),
    'owner-id': () => [ownerId],
  },
  paging: { min: 5, max: 100 },
  render: (page, state) => ({ routeTableSet: page.map((r) => renderRouteTable(state, r)) }),
});

// ---- internet gateways ----

function renderIgw(state: Ec2State, igw: IgwRow): XmlObject {
  return {
    internetGatewayId: igw.id,
    ownerId,
    attachmentSet: igw.vpc_id ? [{ vpcId: igw.vpc_id, state: 'available' }] : [],
    tagSet: tagSet(state, igw.id),
  };
}

const createInternetGateway: Handler = (params, state) => {
  const id = state.newId('igw');
  state.run('INSERT INTO internet_gateways (id) VALUES (?)', id);
  applyTagSpecifications(state, params, 'internet-gateway', id);
  return { internetGateway: renderIgw(state, findRow<IgwRow>(state, 'igw', id)) };
};

const attachInternetGateway: Handler = (params, state) => {
  const igw = findRow<IgwRow>(state, 'igw', params.req('InternetGatewayId'));
  const vpc = findRow<VpcRow>(state, 'vpc', params.req('VpcId'));
  if (igw.vpc_id) {
    throw new Ec2Error('Resource.AlreadyAssociated', `resource ${igw.id} is already attached to network ${igw.vpc_id}`);
  }
  const other = state.get<IgwRow>('SELECT * FROM internet_gateways WHERE vpc_id = ?', vpc.id);
  if (other) {
    throw new Ec2Error('Resource.AlreadyAssociated', `Network ${vpc.id} already has an internet gateway attached (${other.id})`);
  }
  state.run('UPDATE internet_gateways SET vpc_id = ? WHERE id = ?', vpc.id, igw.id);
  return { return: true };
};

const describeInternetGateways = describeAction<IgwRow>({
  select: selectRows('igw', 'InternetGatewayId'),
  filters: {
    'internet-gateway-id': (g) => [g.id],
    'attachment.vpc-id': (g) => [g.vpc_id],
    'attachment.state': (g) => [g.vpc_id ? 'available' : null],
    'owner-id': () => [ownerId],
  },
  render: (page, state) => ({ internetGatewaySet: page.map((g) => renderIgw(state, g)) }),
});

// ---- NAT gateways ----

function renderNat(state: Ec2State, nat: NatRow): XmlObject {
  const privateIp = primaryIp(state, nat.eni_id);
  const eip = state.get<PublicIpRow>('SELECT * FROM public_ips WHERE eni_id = ? AND private_ip = ?', nat.eni_id, privateIp);
  return {
    natGatewayId: nat.id,
    vpcId: nat.vpc_id,
    subnetId: nat.subnet_id,
    state: 'available',
    connectivityType: nat.connectivity_type,
    createTime: isoTime(nat.create_time),
    natGatewayAddressSet: [
      {
        allocationId: eip?.allocation_id ?? undefined,
        associationId: eip?.association_id ?? undefined,
        networkInterfaceId: nat.eni_id,
        privateIp,
        publicIp: eip?.public_ip,
        isPrimary: true,
        status: 'succeeded',
      },
    ],
    tagSet: tagSet(state, nat.id),
  };
}

/**
 * A NAT gateway takes a requester-managed ENI in its subnet (so its private IP counts against the subnet) and,
 * when public, the Elastic IP it is given.
 */
const createNatGateway: Handler = (params, state) => {
  const subnet = findRow<SubnetRow>(state, 'subnet', params.req('SubnetId'));
  const connectivity = params.str('ConnectivityType') ?? 'public';
  if (connectivity !== 'public' && connectivity !== 'private') {
    throw invalidParameter(`Value (${connectivity}) for parameter connectivityType is invalid.`);
  }
  const allocationId = params.str('AllocationId');
  if (connectivity === 'public' && allocationId === undefined) {
    throw new Ec2Error('MissingParameter', 'The request must contain the parameter AllocationId for a public NAT gateway');
  }
  if (connectivity === 'private' && allocationId !== undefined) {
    throw combination('A private NAT gateway cannot have an Elastic IP address (AllocationId).');
  }
  let eip: PublicIpRow | undefined;
  if (allocationId !== undefined) {
    eip = state.get<PublicIpRow>('SELECT * FROM public_ips WHERE allocation_id = ?', allocationId);
    if (!eip) throw new Ec2Error('InvalidAllocationID.NotFound', `The allocation ID '${allocationId}' does not exist`);
    if (eip.eni_id) {
      throw new Ec2Error('Resource.AlreadyAssociated', `Elastic IP address [${allocationId}] is already associated`);
    }
  }
  const privateText = params.str('PrivateIpAddress');
  const id = state.newId('nat');
  const eni = createEni(state, {
    subnet,
    description: `Interface for NAT Gateway ${id}`,
    groupIds: null,
    interfaceType: 'nat_gateway',
    requesterManaged: true,
    primary: privateText === undefined ? undefined : parseAddressParam(privateText, 'privateIpAddress', 4),
    ipv4: { addresses: [], prefixes: [] },
    ipv6: { addresses: [], prefixes: [] },
  });
  if (eip) {
    state.run(
      'UPDATE public_ips SET eni_id = ?, private_ip = ?, association_id = ? WHERE seq = ?',
      eni.id,
      primaryIp(state, eni.id),
      state.newId('eipassoc'),
      eip.seq,
    );
    state.eniChanged(eni.id);
  }
  state.run(
    'INSERT INTO nat_gateways (id, vpc_id, subnet_id, eni_id, allocation_id, connectivity_type, create_time) VALUES (?, ?, ?, ?, ?, ?, ?)',
    id,
    subnet.vpc_id,
    subnet.id,
    eni.id,
    allocationId ?? null,
    connectivity,
    state.now(),
  );
  applyTagSpecifications(state, params, 'natgateway', id);
  return { natGateway: renderNat(state, findRow<NatRow>(state, 'nat', id)) };
};

const describeNatGateways = describeAction<NatRow>({
  // EC2 answers unknown NAT gateway IDs with its own code, not InvalidNatGatewayID.NotFound
  select(params, state) {
    const ids = params.list('NatGatewayId');
    if (ids.length === 0) return { items: state.all<NatRow>('SELECT * FROM nat_gateways ORDER BY seq'), named: false };
    const items = ids.map((id) => state.get<NatRow>('SELECT * FROM nat_gateways WHERE id = ?', id));
    const missing = ids.filter((_, i) => items[i] === undefined);
    if (missing.length > 0) throw new Ec2Error('NatGatewayNotFound', `NAT gateway ${missing.join(', ')} was not found`);
    return { items: items as NatRow[], named: true };
  },
  filters: {
    'nat-gateway-id': (n) => [n.id],
    state: () => ['available'],
    'subnet-id': (n) => [n.subnet_id],
    'vpc-id': (n) => [n.vpc_id],
  },
  render: (page, state) => ({ natGatewaySet: page.map((n) => renderNat(state, n)) }),
});

// ---- VPC peering ----

function peeringVpcInfo(state: Ec2State, vpcId: string): XmlObject {
  const vpc = state.get<VpcRow>('SELECT * FROM vpcs WHERE id = ?', vpcId);
  return {
    vpcId,
    ownerId,
    region: state.region,
    cidrBlock: vpc?.cidr,
    cidrBlockSet: state.vpcIpv4Cidrs(vpcId).map((cidrBlock) => ({ cidrBlock })),
    ipv6CidrBlockSet: vpc?.ipv6_cidr ? [{ ipv6CidrBlock: vpc.ipv6_cidr }] : [],
  };
}

const peeringMessages: Record<string, string> = {
  'pending-acceptance': 'Pending Acceptance by ' + ownerId,
  active: 'Active',
  failed: 'Failed due to incorrect VPC-ID, Account ID, or overlapping CIDR range.',
};

function renderPeering(state: Ec2State, p: PeeringRow): XmlObject {
  return {
    vpcPeeringConnectionId: p.id,
    requesterVpcInfo: peeringVpcInfo(state, p.requester_vpc_id),
    accepterVpcInfo: peeringVpcInfo(state, p.accepter_vpc_id),
    status: { code: p.status, message: peeringMessages[p.status] ?? p.status },
    tagSet: tagSet(state, p.id),
  };
}

/** Overlapping CIDRs make the request fail, as on EC2 (the connection exists in state `failed`). */
const createVpcPeeringConnection: Handler = (params, state) => {
  const vpc = findRow<VpcRow>(state, 'vpc', params.req('VpcId'));
  const peerId = params.req('PeerVpcId');
  if (peerId === vpc.id) throw invalidParameter(`The requester VPC ${vpc.id} and the accepter VPC are the same.`);
  const peer = findRow<VpcRow>(state, 'vpc', peerId);
  const peerCidrs = state.vpcIpv4Cidrs(peer.id).map((c) => parseCidr(c));
  const overlap = state.vpcIpv4Cidrs(vpc.id).some((c) => peerCidrs.some((p) => cidrsOverlap(parseCidr(c), p)));
  const id = state.newId('pcx');
  state.run(
    'INSERT INTO vpc_peerings (id, requester_vpc_id, accepter_vpc_id, status) VALUES (?, ?, ?, ?)',
    id,
    vpc.id,
    peer.id,
    overlap ? 'failed' : 'pending-acceptance',
  );
  applyTagSpecifications(state, params, 'vpc-peering-connection', id);
  return { vpcPeeringConnection: renderPeering(state, findRow<PeeringRow>(state, 'peering', id)) };
};

const acceptVpcPeeringConnection: Handler = (params, state) => {
  const pcx = findRow<PeeringRow>(state, 'peering', params.req('VpcPeeringConnectionId'));
  if (pcx.status !== 'pending-acceptance') {
    throw new Ec2Error('InvalidStateTransition', `Cannot accept VPC peering connection ${pcx.id} in state ${pcx.status}.`);
  }
  state.run("UPDATE vpc_peerings SET status = 'active' WHERE id = ?", pcx.id);
  return { vpcPeeringConnection: renderPeering(state, findRow<PeeringRow>(state, 'peering', pcx.id)) };
};

const vpcCidr = (state: Ec2State, vpcId: string) => state.get<VpcRow>('SELECT * FROM vpcs WHERE id = ?', vpcId)?.cidr;

const describeVpcPeeringConnections = describeAction<PeeringRow>({
  select: selectRows('peering', 'VpcPeeringConnectionId'),
  filters: {
    'vpc-peering-connection-id': (p) => [p.id],
    'status-code': (p) => [p.status],
    'requester-vpc-info.vpc-id': (p) => [p.requester_vpc_id],
    'accepter-vpc-info.vpc-id': (p) => [p.accepter_vpc_id],
    'requester-vpc-info.cidr-block': (p, state) => [vpcCidr(state, p.requester_vpc_id)],
    'accepter-vpc-info.cidr-block': (p, state) => [vpcCidr(state, p.accepter_vpc_id)],
  },
  render: (page, state) => ({ vpcPeeringConnectionSet: page.map((p) => renderPeering(state, p)) }),
});

export const routingActions: Record<string, Handler> = {
  CreateRouteTable: createRouteTable,
  CreateRoute: createRoute,
  ReplaceRoute: replaceRoute,
  DeleteRoute: deleteRoute,
  AssociateRouteTable: associateRouteTable,
  DescribeRouteTables: describeRouteTables,
  CreateInternetGateway: createInternetGateway,
  AttachInternetGateway: attachInternetGateway,
  DescribeInternetGateways: describeInternetGateways,
  CreateNatGateway: createNatGateway,
  DescribeNatGateways: describeNatGateways,
  CreateVpcPeeringConnection: createVpcPeeringConnection,
  AcceptVpcPeeringConnection: acceptVpcPeeringConnection,
  DescribeVpcPeeringConnections: describeVpcPeeringConnections,
};
