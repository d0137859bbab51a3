/**
 * Virtual private gateways: the VPC side of a Site-to-Site VPN or of Direct Connect. A gateway is attached to at most
 * one VPC and a VPC has at most one; a route table may route to it (CreateRoute GatewayId vgw-…, routing.ts) once it is
 * attached, and may let it propagate routes. Customer gateways and VPN connections record the other side: a
 * connection ends on a virtual private gateway or on a transit gateway, where it is an attachment of resource type
 * vpn. Tunnels, BGP and the connection's own routes are not modelled; what lies behind (the customer's networks) is
 * not an EC2 resource: the lab supplies it from its scenario.
 */
import { Ec2Error, type ActionHandler, type XmlObject } from '../protocol.js';
import type { Ec2State, VpcRow } from '../state.js';
import { applyTagSpecifications, combination, deleteResource, describeAction, findRow, invalidParameter, parseAddressParam, selectRows, tagSet } from './common.js';
import { addTransitGatewayAttachment } from './transit-gateways.js';

type Handler = ActionHandler<Ec2State>;

interface VpnGatewayRow {
  seq: number;
  id: string;
  type: string;
  amazon_side_asn: number;
  /** the VPC of the latest attachment (kept after a detach, which EC2 still lists as `detached`) */
  vpc_id: string | null;
  attachment_state: 'attached' | 'detached' | null;
}

/** EC2's default Amazon-side ASN for a gateway created without one. */
const DEFAULT_AMAZON_SIDE_ASN = 64512;

/** The VPC a gateway is attached to now, or undefined. */
function attachedVpcOf(vgw: Pick<VpnGatewayRow, 'vpc_id' | 'attachment_state'>): string | undefined {
  return vgw.attachment_state === 'attached' && vgw.vpc_id ? vgw.vpc_id : undefined;
}

/** A route's GatewayId vgw-… (CreateRoute): EC2 answers a gateway it cannot use in that VPC (unknown or not attached there) as unknown. */
export function checkVpnGatewayForRoute(state: Ec2State, vgwId: string, vpcId: string): void {
  const vgw = state.get<VpnGatewayRow>('SELECT * FROM vpn_gateways WHERE id = ?', vgwId);
  if (!vgw || attachedVpcOf(vgw) !== vpcId) throw new Ec2Error('InvalidGatewayID.NotFound', `The gateway ID '${vgwId}' does not exist`);
}

/** Whether a route to `vgwId` carries traffic in `vpcId` (`active`) or not, the gateway being detached (`blackhole`). */
export function vgwRouteState(state: Ec2State, vgwId: string, vpcId: string): 'active' | 'blackhole' {
  const vgw = state.get<VpnGatewayRow>('SELECT * FROM vpn_gateways WHERE id = ?', vgwId);
  return vgw && attachedVpcOf(vgw) === vpcId ? 'active' : 'blackhole';
}

/** The gateways that propagate routes to a route table (DescribeRouteTables' PropagatingVgws). */
export function propagatingVgws(state: Ec2State, routeTableId: string): XmlObject[] {
  return state
    .all<{ vgw_id: string }>('SELECT vgw_id FROM vgw_route_propagations WHERE route_table_id = ? ORDER BY vgw_id', routeTableId)
    .map((p) => ({ gatewayId: p.vgw_id }));
}

function renderAttachment(vgw: VpnGatewayRow): XmlObject[] {
  return vgw.vpc_id && vgw.attachment_state ? [{ vpcId: vgw.vpc_id, state: vgw.attachment_state }] : [];
}

function renderVpnGateway(state: Ec2State, vgw: VpnGatewayRow): XmlObject {
  return {
    vpnGatewayId: vgw.id,
    state: 'available',
    type: vgw.type,
    attachments: renderAttachment(vgw),
    amazonSideAsn: vgw.amazon_side_asn,
    tagSet: tagSet(state, vgw.id),
  };
}

const createVpnGateway: Handler = (params, state) => {
  const type = params.req('Type');
  if (type !== 'ipsec.1') throw invalidParameter(`Value (${type}) for parameter type is invalid. Valid value: ipsec.1`);
  const asn = params.int('AmazonSideAsn') ?? DEFAULT_AMAZON_SIDE_ASN;
  // the private 16-bit and 32-bit ASN ranges, as EC2 accepts for the Amazon side
  const privateAsn = (asn >= 64512 && asn <= 65534) || (asn >= 4200000000 && asn <= 4294967294);
  if (!privateAsn) throw invalidParameter(`Value (${asn}) for parameter amazonSideAsn is invalid. It must be a private ASN: 64512-65534 or 4200000000-4294967294.`);
  const id = state.newId('vgw');
  state.run('INSERT INTO vpn_gateways (id, type, amazon_side_asn) VALUES (?, ?, ?)', id, type, asn);
  applyTagSpecifications(state, params, 'vpn-gateway', id);
  return { vpnGateway: renderVpnGateway(state, findRow<VpnGatewayRow>(state, 'vgw', id)) };
};

const attachVpnGateway: Handler = (params, state) => {
  const vgw = findRow<VpnGatewayRow>(state, 'vgw', params.req('VpnGatewayId'));
  const vpc = findRow<VpcRow>(state, 'vpc', params.req('VpcId'));
  const current = attachedVpcOf(vgw);
  if (current === vpc.id) return { attachment: { vpcId: vpc.id, state: 'attached' } };
  if (current) throw new Ec2Error('VpnGatewayAttachmentLimitExceeded', `The virtual private gateway ${vgw.id} is already attached to ${current}; a virtual private gateway is attached to one VPC at a time.`);
  const other = state.get<{ id: string }>("SELECT id FROM vpn_gateways WHERE vpc_id = ? AND attachment_state = 'attached'", vpc.id);
  if (other) throw new Ec2Error('InvalidVpcState', `The VPC ${vpc.id} already has a virtual private gateway attached (${other.id}).`);
  state.run("UPDATE vpn_gateways SET vpc_id = ?, attachment_state = 'attached' WHERE id = ?", vpc.id, vgw.id);
  return { attachment: { vpcId: vpc.id, state: 'attached' } };
};

const detachVpnGateway: Handler = (params, state) => {
  const vgw = findRow<VpnGatewayRow>(state, 'vgw', params.req('VpnGatewayId'));
  const vpc = findRow<VpcRow>(state, 'vpc', params.req('VpcId'));
  if (attachedVpcOf(vgw) !== vpc.id) {
    throw new Ec2Error('InvalidVpnGatewayAttachment.NotFound', `The attachment with vpn gateway ID '${vgw.id}' and vpc ID '${vpc.id}' does not exist`);
  }
  // routes to it stay and turn blackhole; its propagation to the VPC's tables ends with the attachment
  state.run("UPDATE vpn_gateways SET attachment_state = 'detached' WHERE id = ?", vgw.id);
  state.run('DELETE FROM vgw_route_propagations WHERE vgw_id = ?', vgw.id);
  return { return: true };
};

const deleteVpnGateway: Handler = (params, state) => {
  const vgw = findRow<VpnGatewayRow>(state, 'vgw', params.req('VpnGatewayId'));
  const vpcId = attachedVpcOf(vgw);
  if (vpcId) throw new Ec2Error('IncorrectState', `The VPN gateway ${vgw.id} is in use: it is attached to ${vpcId}. Detach it first.`);
  const vpn = state.get<{ id: string }>('SELECT id FROM vpn_connections WHERE vpn_gateway_id = ?', vgw.id);
  if (vpn) throw new Ec2Error('IncorrectState', `The VPN gateway ${vgw.id} is in use by VPN connection ${vpn.id}.`);
  deleteResource(state, 'vgw', vgw.id);
  return { return: true };
};

const describeVpnGateways = describeAction<VpnGatewayRow>({
  select: selectRows('vgw', 'VpnGatewayId'),
  filters: {
    'vpn-gateway-id': (g) => [g.id],
    'attachment.vpc-id': (g) => [g.attachment_state ? g.vpc_id : null],
    'attachment.state': (g) => [g.attachment_state],
    'amazon-side-asn': (g) => [g.amazon_side_asn],
    state: () => ['available'],
    type: (g) => [g.type],
  },
  render: (page, state) => ({ vpnGatewaySet: page.map((g) => renderVpnGateway(state, g)) }),
});

/** The route table and gateway of a propagation request; EC2 answers a gateway not attached to the table's VPC so. */
function propagationOf(params: Parameters<Handler>[0], state: Ec2State): { routeTableId: string; vgwId: string } {
  const rtb = findRow<{ id: string; vpc_id: string }>(state, 'routeTable', params.req('RouteTableId'));
  const vgwId = params.req('GatewayId');
  const vgw = state.get<VpnGatewayRow>('SELECT * FROM vpn_gateways WHERE id = ?', vgwId);
  if (!vgw || attachedVpcOf(vgw) !== rtb.vpc_id) throw new Ec2Error('Gateway.NotAttached', `resource ${vgwId} is not attached to network ${rtb.vpc_id}`);
  return { routeTableId: rtb.id, vgwId: vgw.id };
}

/**
 * Propagation is recorded and listed; it adds no route here, since the routes a gateway propagates are those of its
 * VPN connections (static or BGP), which the emulator does not model.
 */
const enableVgwRoutePropagation: Handler = (params, state) => {
  const { routeTableId, vgwId } = propagationOf(params, state);
  state.run('INSERT OR IGNORE INTO vgw_route_propagations (route_table_id, vgw_id) VALUES (?, ?)', routeTableId, vgwId);
  return { return: true };
};

const disableVgwRoutePropagation: Handler = (params, state) => {
  const { routeTableId, vgwId } = propagationOf(params, state);
  state.run('DELETE FROM vgw_route_propagations WHERE route_table_id = ? AND vgw_id = ?', routeTableId, vgwId);
  return { return: true };
};

// ---- customer gateways and VPN connections ----

interface CustomerGatewayRow {
  seq: number;
  id: string;
  type: string;
  ip_address: string;
  bgp_asn: number;
}

interface VpnConnectionRow {
  seq: number;
  id: string;
  type: string;
  customer_gateway_id: string;
  vpn_gateway_id: string | null;
  transit_gateway_id: string | null;
  transit_gateway_attachment_id: string | null;
  static_routes_only: number;
}

function checkIpsecType(type: string): void {
  if (type !== 'ipsec.1') throw invalidParameter(`Value (${type}) for parameter type is invalid. Valid value: ipsec.1`);
}

function renderCustomerGateway(state: Ec2State, c: CustomerGatewayRow): XmlObject {
  return { customerGatewayId: c.id, state: 'available', type: c.type, ipAddress: c.ip_address, bgpAsn: String(c.bgp_asn), tagSet: tagSet(state, c.id) };
}

const createCustomerGateway: Handler = (params, state) => {
  const type = params.req('Type');
  checkIpsecType(type);
  const ip = params.req('IpAddress');
  parseAddressParam(ip, 'ipAddress', 4);
  const asn = params.int('BgpAsn') ?? 65000;
  if (asn < 1 || asn > 4294967294) throw invalidParameter(`Value (${asn}) for parameter bgpAsn is invalid.`);
  const id = state.newId('cgw');
  state.run('INSERT INTO customer_gateways (id, type, ip_address, bgp_asn) VALUES (?, ?, ?, ?)', id, type, ip, asn);
  applyTagSpecifications(state, params, 'customer-gateway', id);
  return { customerGateway: renderCustomerGateway(state, findRow<CustomerGatewayRow>(state, 'cgw', id)) };
};

const deleteCustomerGateway: Handler = (params, state) => {
  const cgw = findRow<CustomerGatewayRow>(state, 'cgw', params.req('CustomerGatewayId'));
  const vpn = state.get<{ id: string }>('SELECT id FROM vpn_connections WHERE customer_gateway_id = ?', cgw.id);
  if (vpn) throw new Ec2Error('IncorrectState', `The customer gateway ${cgw.id} is in use by VPN connection ${vpn.id}.`);
  deleteResource(state, 'cgw', cgw.id);
  return { return: true };
};

const describeCustomerGateways = describeAction<CustomerGatewayRow>({
  select: selectRows('cgw', 'CustomerGatewayId'),
  filters: {
    'customer-gateway-id': (c) => [c.id],
    'ip-address': (c) => [c.ip_address],
    'bgp-asn': (c) => [c.bgp_asn],
    state: () => ['available'],
    type: (c) => [c.type],
  },
  render: (page, state) => ({ customerGatewaySet: page.map((c) => renderCustomerGateway(state, c)) }),
});

function renderVpnConnection(state: Ec2State, v: VpnConnectionRow): XmlObject {
  return {
    vpnConnectionId: v.id,
    state: 'available',
    type: v.type,
    category: 'VPN',
    customerGatewayId: v.customer_gateway_id,
    vpnGatewayId: v.vpn_gateway_id ?? undefined,
    transitGatewayId: v.transit_gateway_id ?? undefined,
    options: { staticRoutesOnly: v.static_routes_only === 1 },
    routes: [],
    tagSet: tagSet(state, v.id),
  };
}

/**
 * A VPN connection from a customer gateway to a virtual private gateway or a transit gateway (exactly one); on a
 * transit gateway it becomes an attachment of resource type vpn, associated with the default route table (its routes
 * are static: CreateTransitGatewayRoute, as BGP is not modelled).
 */
const createVpnConnection: Handler = (params, state) => {
  const type = params.req('Type');
  checkIpsecType(type);
  const cgw = findRow<CustomerGatewayRow>(state, 'cgw', params.req('CustomerGatewayId'));
  const vgwId = params.str('VpnGatewayId');
  const tgwId = params.str('TransitGatewayId');
  if (vgwId === undefined && tgwId === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter VpnGatewayId or TransitGatewayId');
  if (vgwId !== undefined && tgwId !== undefined) throw combination('The parameters VpnGatewayId and TransitGatewayId are mutually exclusive.');
  if (vgwId !== undefined) findRow<VpnGatewayRow>(state, 'vgw', vgwId);
  const id = state.newId('vpn');
  const attachmentId = tgwId === undefined ? null : addTransitGatewayAttachment(state, tgwId, 'vpn', id);
  state.run(
    'INSERT INTO vpn_connections (id, type, customer_gateway_id, vpn_gateway_id, transit_gateway_id, transit_gateway_attachment_id, static_routes_only) VALUES (?, ?, ?, ?, ?, ?, ?)',
    id, type, cgw.id, vgwId ?? null, tgwId ?? null, attachmentId, params.bool('Options.StaticRoutesOnly') === true ? 1 : 0,
  );
  applyTagSpecifications(state, params, 'vpn-connection', id);
  return { vpnConnection: renderVpnConnection(state, findRow<VpnConnectionRow>(state, 'vpn', id)) };
};

/** Deletes the connection; on a transit gateway its attachment and the static routes to it go too. */
const deleteVpnConnection: Handler = (params, state) => {
  const vpn = findRow<VpnConnectionRow>(state, 'vpn', params.req('VpnConnectionId'));
  const attachmentId = vpn.transit_gateway_attachment_id;
  if (attachmentId) {
    state.run('DELETE FROM transit_gateway_static_routes WHERE attachment_id = ?', attachmentId);
    deleteResource(state, 'tgwAttachment', attachmentId);
  }
  deleteResource(state, 'vpn', vpn.id);
  return { return: true };
};

const describeVpnConnections = describeAction<VpnConnectionRow>({
  select: selectRows('vpn', 'VpnConnectionId'),
  filters: {
    'vpn-connection-id': (v) => [v.id],
    'customer-gateway-id': (v) => [v.customer_gateway_id],
    'vpn-gateway-id': (v) => [v.vpn_gateway_id],
    'transit-gateway-id': (v) => [v.transit_gateway_id],
    'option.static-routes-only': (v) => [v.static_routes_only === 1],
    state: () => ['available'],
    type: (v) => [v.type],
  },
  render: (page, state) => ({ vpnConnectionSet: page.map((v) => renderVpnConnection(state, v)) }),
});

export const vpnGatewayActions: Record<string, Handler> = {
  CreateCustomerGateway: createCustomerGateway,
  DeleteCustomerGateway: deleteCustomerGateway,
  DescribeCustomerGateways: describeCustomerGateways,
  CreateVpnConnection: createVpnConnection,
  DeleteVpnConnection: deleteVpnConnection,
  DescribeVpnConnections: describeVpnConnections,
  CreateVpnGateway: createVpnGateway,
  AttachVpnGateway: attachVpnGateway,
  DetachVpnGateway: detachVpnGateway,
  DeleteVpnGateway: deleteVpnGateway,
  DescribeVpnGateways: describeVpnGateways,
  EnableVgwRoutePropagation: enableVgwRoutePropagation,
  DisableVgwRoutePropagation: disableVgwRoutePropagation,
};
