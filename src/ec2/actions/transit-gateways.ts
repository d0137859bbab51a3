/**
 * Transit gateways: the gateway with its default route table (default association and propagation enabled, as EC2
 * creates it), VPC attachments (one subnet per availability zone), static routes, and the routes a table holds —
 * the static ones and, computed when asked, the CIDRs its propagating attachments bring (a VPC's IPv4 blocks, so a
 * block associated later is propagated too). Everything is `available` at once; deletes take effect at once and
 * answer with the state `deleting` (EC2 keeps the resource listed as deleting, then deleted, for a while).
 */
import { cidrContains, parseCidr } from '../../net/index.js';
import { Ec2Error, type ActionHandler, type Ec2Params, type XmlObject } from '../protocol.js';
import type { Ec2State, SubnetRow, VpcRow } from '../state.js';
import { deleteResource, describeAction, findRow, invalidParameter, isoTime, ownerId, parseCidrParam, selectRows, setTag, tagSet } from './common.js';

type Handler = ActionHandler<Ec2State>;

interface TgwRow {
  seq: number;
  id: string;
  description: string;
  default_route_table_id: string | null;
  state: string;
  create_time: number;
}

interface TgwRouteTableRow {
  seq: number;
  id: string;
  tgw_id: string;
  is_default: number;
  state: string;
  create_time: number;
}

/** An attachment of any resource type: `vpc` here; VPN attachments use the same rows (addTransitGatewayAttachment). */
interface AttachmentRow {
  seq: number;
  id: string;
  tgw_id: string;
  resource_type: string;
  resource_id: string;
  state: string;
  create_time: number;
  association_route_table_id: string | null;
  propagation_route_table_id: string | null;
}

interface StaticRouteRow {
  seq: number;
  route_table_id: string;
  destination: string;
  /** null: a blackhole route */
  attachment_id: string | null;
}

/** EC2's default private ASN of a new transit gateway. */
const DEFAULT_AMAZON_SIDE_ASN = 64512;

const enableDisable = (params: Ec2Params, name: string): 'enable' | 'disable' => {
  const value = params.str(name) ?? 'enable';
  if (value !== 'enable' && value !== 'disable') throw invalidParameter(`Value (${value}) for parameter ${name} is invalid. Valid values: enable, disable.`);
  return value;
};

/** TagSpecification.N (CreateTransitGateway) or TagSpecifications.N (the attachment and route actions), as the SDK sends them. */
function applyTags(state: Ec2State, params: Ec2Params, resourceType: string, id: string): void {
  for (const spec of [...params.structs('TagSpecification'), ...params.structs('TagSpecifications')]) {
    const type = spec.req('ResourceType');
    if (type !== resourceType) throw invalidParameter(`'${type}' is not a valid taggable resource type for this operation.`);
    for (const tag of spec.structs('Tag')) setTag(state, id, tag.req('Key'), tag.str('Value') ?? '');
  }
}

// ---- transit gateways ----

function renderTgw(state: Ec2State, tgw: TgwRow, stateName = tgw.state): XmlObject {
  const defaultTable = tgw.default_route_table_id ?? undefined;
  return {
    transitGatewayId: tgw.id,
    transitGatewayArn: `arn:aws:ec2:${state.region}:${ownerId}:transit-gateway/${tgw.id}`,
    state: stateName,
    ownerId,
    description: tgw.description || undefined,
    creationTime: isoTime(tgw.create_time),
    options: {
      amazonSideAsn: DEFAULT_AMAZON_SIDE_ASN,
      autoAcceptSharedAttachments: 'disable',
      defaultRouteTableAssociation: defaultTable ? 'enable' : 'disable',
      associationDefaultRouteTableId: defaultTable,
      defaultRouteTablePropagation: defaultTable ? 'enable' : 'disable',
      propagationDefaultRouteTableId: defaultTable,
      vpnEcmpSupport: 'enable',
      dnsSupport: 'enable',
      securityGroupReferencingSupport: 'disable',
      multicastSupport: 'disable',
    },
    tagSet: tagSet(state, tgw.id),
  };
}

/**
 * A transit gateway and, unless both defaults are disabled, its default route table, which new attachments are
 * associated with and propagate to. Association and propagation default to the same table here (EC2 lets them
 * differ only through later modification).
 */
const createTransitGateway: Handler = (params, state) => {
  const association = enableDisable(params, 'Options.DefaultRouteTableAssociation');
  const propagation = enableDisable(params, 'Options.DefaultRouteTablePropagation');
  const id = state.newId('tgw');
  const now = state.now();
  let tableId: string | null = null;
  if (association === 'enable' || propagation === 'enable') {
    tableId = state.newId('tgw-rtb');
    state.run("INSERT INTO transit_gateway_route_tables (id, tgw_id, is_default, state, create_time) VALUES (?, ?, 1, 'available', ?)", tableId, id, now);
  }
  state.run(
    "INSERT INTO transit_gateways (id, description, default_route_table_id, state, create_time) VALUES (?, ?, ?, 'available', ?)",
    id,
    params.str('Description') ?? '',
    tableId,
    now,
  );
  applyTags(state, params, 'transit-gateway', id);
  return { transitGateway: renderTgw(state, findRow<TgwRow>(state, 'tgw', id)) };
};

const describeTransitGateways = describeAction<TgwRow>({
  select: selectRows('tgw', 'TransitGatewayIds'),
  filters: {
    'transit-gateway-id': (g) => [g.id],
    state: (g) => [g.state],
    'owner-id': () => [ownerId],
    'options.association-default-route-table-id': (g) => [g.default_route_table_id],
    'options.propagation-default-route-table-id': (g) => [g.default_route_table_id],
    'options.default-route-table-association': (g) => [g.default_route_table_id ? 'enable' : 'disable'],
    'options.default-route-table-propagation': (g) => [g.default_route_table_id ? 'enable' : 'disable'],
    'options.amazon-side-asn': () => [DEFAULT_AMAZON_SIDE_ASN],
  },
  render: (page, state) => ({ transitGatewaySet: page.map((g) => renderTgw(state, g)) }),
});

const deleteTransitGateway: Handler = (params, state) => {
  const tgw = findRow<TgwRow>(state, 'tgw', params.req('TransitGatewayId'));
  const attachments = state.all<AttachmentRow>('SELECT * FROM transit_gateway_attachments WHERE tgw_id = ? ORDER BY seq', tgw.id);
  if (attachments.length > 0) {
    throw new Ec2Error('IncorrectState', `${tgw.id} has non-deleted Transit Gateway Attachments: ${attachments.map((a) => a.id).join(', ')}.`);
  }
  const rendered = renderTgw(state, tgw, 'deleting');
  for (const table of state.all<{ id: string }>('SELECT id FROM transit_gateway_route_tables WHERE tgw_id = ?', tgw.id)) {
    state.run('DELETE FROM transit_gateway_static_routes WHERE route_table_id = ?', table.id);
    deleteResource(state, 'tgwRouteTable', table.id);
  }
  deleteResource(state, 'tgw', tgw.id);
  return { transitGateway: rendered };
};

// ---- attachments ----

const subnetsOf = (state: Ec2State, attachmentId: string) =>
  state.all<{ subnet_id: string }>('SELECT subnet_id FROM transit_gateway_attachment_subnets WHERE attachment_id = ? ORDER BY subnet_id', attachmentId).map((r) => r.subnet_id);

/**
 * Attaches a resource to a transit gateway: associated with its default route table and propagating to it (the
 * defaults of a new gateway). The one entry for every resource type; a VPN connection attached to a gateway uses it
 * too, and adds its case to propagatedCidrs.
 */
export function addTransitGatewayAttachment(state: Ec2State, tgwId: string, resourceType: string, resourceId: string): string {
  const tgw = findRow<TgwRow>(state, 'tgw', tgwId);
  const id = state.newId('tgw-attach');
  state.run(
    "INSERT INTO transit_gateway_attachments (id, tgw_id, resource_type, resource_id, state, create_time, association_route_table_id, propagation_route_table_id) VALUES (?, ?, ?, ?, 'available', ?, ?, ?)",
    id,
    tgw.id,
    resourceType,
    resourceId,
    state.now(),
    tgw.default_route_table_id,
    tgw.default_route_table_id,
  );
  return id;
}

/** The CIDRs an attachment propagates to its route table: a VPC's IPv4 blocks. */
function propagatedCidrs(state: Ec2State, attachment: AttachmentRow): string[] {
  switch (attachment.resource_type) {
    case 'vpc':
      return state.vpcIpv4Cidrs(attachment.resource_id);
    default:
      return [];
  }
}

function renderVpcAttachment(state: Ec2State, a: AttachmentRow, stateName = a.state): XmlObject {
  return {
    transitGatewayAttachmentId: a.id,
    transitGatewayId: a.tgw_id,
    vpcId: a.resource_id,
    vpcOwnerId: ownerId,
    state: stateName,
    subnetIds: subnetsOf(state, a.id),
    creationTime: isoTime(a.create_time),
    options: { dnsSupport: 'enable', securityGroupReferencingSupport: 'disable', ipv6Support: 'disable', applianceModeSupport: 'disable' },
    tagSet: tagSet(state, a.id),
  };
}

/**
 * EC2's checks, in its order: the gateway and VPC exist, every subnet exists and is in that VPC, no two subnets in one
 * zone (DuplicateSubnetsInSameZone), and the VPC is not attached to this gateway already.
 */
const createTransitGatewayVpcAttachment: Handler = (params, state) => {
  const tgw = findRow<TgwRow>(state, 'tgw', params.req('TransitGatewayId'));
  const vpc = findRow<VpcRow>(state, 'vpc', params.req('VpcId'));
  const subnetIds = params.list('SubnetIds');
  if (subnetIds.length === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter SubnetIds');
  const subnets = subnetIds.map((id) => findRow<SubnetRow>(state, 'subnet', id));
  for (const subnet of subnets) {
    if (subnet.vpc_id !== vpc.id) throw invalidParameter(`Subnet ${subnet.id} does not belong to the VPC ${vpc.id}.`);
  }
  const zones = new Set(subnets.map((s) => s.az));
  if (zones.size !== new Set(subnetIds).size) throw new Ec2Error('DuplicateSubnetsInSameZone', 'Duplicate Subnets for same AZ');
  if (state.get("SELECT 1 FROM transit_gateway_attachments WHERE tgw_id = ? AND resource_type = 'vpc' AND resource_id = ?", tgw.id, vpc.id)) {
    throw new Ec2Error('DuplicateTransitGatewayAttachment', `${tgw.id} has non-deleted Transit Gateway Attachments with same VPC ID.`);
  }
  const id = addTransitGatewayAttachment(state, tgw.id, 'vpc', vpc.id);
  for (const subnet of subnets) state.run('INSERT INTO transit_gateway_attachment_subnets (attachment_id, subnet_id) VALUES (?, ?)', id, subnet.id);
  applyTags(state, params, 'transit-gateway-attachment', id);
  return { transitGatewayVpcAttachment: renderVpcAttachment(state, findRow<AttachmentRow>(state, 'tgwAttachment', id)) };
};

const vpcAttachmentOnly = (params: Ec2Params, state: Ec2State) => {
  const ids = params.list('TransitGatewayAttachmentIds');
  const { items, named } = selectRows<AttachmentRow>('tgwAttachment', 'TransitGatewayAttachmentIds')(params, state);
  const others = items.filter((a) => a.resource_type !== 'vpc');
  if (ids.length > 0 && others.length > 0) throw notFoundVpcAttachment(others[0]!.id);
  return { items: items.filter((a) => a.resource_type === 'vpc'), named };
};

const notFoundVpcAttachment = (id: string) => new Ec2Error('InvalidTransitGatewayAttachmentID.NotFound', `Transit Gateway VPC Attachment ${id} was deleted or does not exist.`);

const describeTransitGatewayVpcAttachments = describeAction<AttachmentRow>({
  select: vpcAttachmentOnly,
  filters: {
    'transit-gateway-attachment-id': (a) => [a.id],
    'transit-gateway-id': (a) => [a.tgw_id],
    'vpc-id': (a) => [a.resource_id],
    state: (a) => [a.state],
  },
  render: (page, state) => ({ transitGatewayVpcAttachments: page.map((a) => renderVpcAttachment(state, a)) }),
});

const describeTransitGatewayAttachments = describeAction<AttachmentRow>({
  select: selectRows('tgwAttachment', 'TransitGatewayAttachmentIds'),
  filters: {
    'transit-gateway-attachment-id': (a) => [a.id],
    'transit-gateway-id': (a) => [a.tgw_id],
    'transit-gateway-owner-id': () => [ownerId],
    'resource-owner-id': () => [ownerId],
    'resource-type': (a) => [a.resource_type],
    'resource-id': (a) => [a.resource_id],
    state: (a) => [a.state],
    'association.transit-gateway-route-table-id': (a) => [a.association_route_table_id],
    'association.state': (a) => [a.association_route_table_id ? 'associated' : null],
  },
  render: (page, state) => ({
    transitGatewayAttachments: page.map((a) => ({
      transitGatewayAttachmentId: a.id,
      transitGatewayId: a.tgw_id,
      transitGatewayOwnerId: ownerId,
      resourceOwnerId: ownerId,
      resourceType: a.resource_type,
      resourceId: a.resource_id,
      state: a.state,
      association: a.association_route_table_id ? { transitGatewayRouteTableId: a.association_route_table_id, state: 'associated' } : undefined,
      creationTime: isoTime(a.create_time),
      tagSet: tagSet(state, a.id),
    })),
  }),
});

/** Deleting an attachment takes its static routes with it (its propagated routes go as it stops propagating). */
const deleteTransitGatewayVpcAttachment: Handler = (params, state) => {
  const id = params.req('TransitGatewayAttachmentId');
  const attachment = findRow<AttachmentRow>(state, 'tgwAttachment', id);
  if (attachment.resource_type !== 'vpc') throw notFoundVpcAttachment(id);
  const rendered = renderVpcAttachment(state, attachment, 'deleting');
  state.run('DELETE FROM transit_gateway_static_routes WHERE attachment_id = ?', id);
  state.run('DELETE FROM transit_gateway_attachment_subnets WHERE attachment_id = ?', id);
  deleteResource(state, 'tgwAttachment', id);
  return { transitGatewayVpcAttachment: rendered };
};

// ---- route tables and routes ----

function renderRouteTable(state: Ec2State, t: TgwRouteTableRow): XmlObject {
  return {
    transitGatewayRouteTableId: t.id,
    transitGatewayId: t.tgw_id,
    state: t.state,
    defaultAssociationRouteTable: t.is_default === 1,
    defaultPropagationRouteTable: t.is_default === 1,
    creationTime: isoTime(t.create_time),
    tagSet: tagSet(state, t.id),
  };
}

const describeTransitGatewayRouteTables = describeAction<TgwRouteTableRow>({
  select: selectRows('tgwRouteTable', 'TransitGatewayRouteTableIds'),
  filters: {
    'transit-gateway-route-table-id': (t) => [t.id],
    'transit-gateway-id': (t) => [t.tgw_id],
    state: (t) => [t.state],
    'default-association-route-table': (t) => [t.is_default === 1],
    'default-propagation-route-table': (t) => [t.is_default === 1],
  },
  render: (page, state) => ({ transitGatewayRouteTables: page.map((t) => renderRouteTable(state, t)) }),
});

/** One route of a table as EC2 lists it. */
interface TableRoute {
  destination: string;
  type: 'static' | 'propagated';
  attachment: AttachmentRow | null;
}

/**
 * What a table holds: its static routes, and the propagated CIDRs of the attachments propagating to it that no static
 * route of the same destination overrides (a static route takes precedence).
 */
function tableRoutes(state: Ec2State, tableId: string): TableRoute[] {
  const attachments = state.all<AttachmentRow>('SELECT * FROM transit_gateway_attachments ORDER BY seq');
  const byId = new Map(attachments.map((a) => [a.id, a]));
  const statics: TableRoute[] = state
    .all<StaticRouteRow>('SELECT * FROM transit_gateway_static_routes WHERE route_table_id = ? ORDER BY seq', tableId)
    .map((r) => ({ destination: r.destination, type: 'static', attachment: r.attachment_id === null ? null : (byId.get(r.attachment_id) ?? null) }));
  const propagated: TableRoute[] = attachments
    .filter((a) => a.propagation_route_table_id === tableId)
    .flatMap((a) => propagatedCidrs(state, a).map((destination) => ({ destination, type: 'propagated' as const, attachment: a })))
    .filter((r) => !statics.some((s) => s.destination === r.destination));
  return [...statics, ...propagated];
}

function renderRoute(r: TableRoute): XmlObject {
  return {
    destinationCidrBlock: r.destination,
    transitGatewayAttachments: r.attachment
      ? [{ resourceId: r.attachment.resource_id, transitGatewayAttachmentId: r.attachment.id, resourceType: r.attachment.resource_type }]
      : [],
    type: r.type,
    state: r.attachment ? 'active' : 'blackhole',
  };
}

const findTable = (state: Ec2State, id: string) => findRow<TgwRouteTableRow>(state, 'tgwRouteTable', id);

/**
 * A static route to an attachment of the table's gateway, or a blackhole. One static route per destination and table
 * (RouteAlreadyExists); the attachment must be associated with a table of the same gateway.
 */
const createTransitGatewayRoute: Handler = (params, state) => {
  const text = params.req('DestinationCidrBlock');
  parseCidrParam(text, 'DestinationCidrBlock');
  const table = findTable(state, params.req('TransitGatewayRouteTableId'));
  const blackhole = params.bool('Blackhole') ?? false;
  const attachmentId = params.str('TransitGatewayAttachmentId');
  if (blackhole && attachmentId !== undefined) {
    throw new Ec2Error('InvalidParameterCombination', 'The parameters blackhole and transitGatewayAttachmentId cannot be used together.');
  }
  if (!blackhole && attachmentId === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter TransitGatewayAttachmentId');
  let attachment: AttachmentRow | null = null;
  if (attachmentId !== undefined) {
    attachment = findRow<AttachmentRow>(state, 'tgwAttachment', attachmentId);
    if (attachment.tgw_id !== table.tgw_id) {
      throw invalidParameter(`Transit Gateway Attachment ${attachment.id} does not belong to Transit Gateway ${table.tgw_id}.`);
    }
  }
  if (state.get('SELECT 1 FROM transit_gateway_static_routes WHERE route_table_id = ? AND destination = ?', table.id, text)) {
    throw new Ec2Error('RouteAlreadyExists', `Route ${text} already exists in Transit Gateway Route Table ${table.id}.`);
  }
  state.run('INSERT INTO transit_gateway_static_routes (route_table_id, destination, attachment_id) VALUES (?, ?, ?)', table.id, text, attachment?.id ?? null);
  return { route: { ...renderRoute({ destination: text, type: 'static', attachment }), state: attachment ? 'active' : 'blackhole' } };
};

const deleteTransitGatewayRoute: Handler = (params, state) => {
  const table = findTable(state, params.req('TransitGatewayRouteTableId'));
  const text = params.req('DestinationCidrBlock');
  const row = state.get<StaticRouteRow>('SELECT * FROM transit_gateway_static_routes WHERE route_table_id = ? AND destination = ?', table.id, text);
  if (!row) throw new Ec2Error('InvalidRoute.NotFound', `No route with destination-cidr-block ${text} in Transit Gateway Route Table ${table.id}`);
  const attachment = row.attachment_id === null ? null : (state.get<AttachmentRow>('SELECT * FROM transit_gateway_attachments WHERE id = ?', row.attachment_id) ?? null);
  state.run('DELETE FROM transit_gateway_static_routes WHERE seq = ?', row.seq);
  return { route: { ...renderRoute({ destination: text, type: 'static', attachment }), state: 'deleting' } };
};

/** The filters SearchTransitGatewayRoutes takes; the route-search ones compare CIDRs, the rest match values. */
const ROUTE_VALUE_FILTERS: Record<string, (r: TableRoute) => string[]> = {
  'attachment.transit-gateway-attachment-id': (r) => (r.attachment ? [r.attachment.id] : []),
  'attachment.resource-id': (r) => (r.attachment ? [r.attachment.resource_id] : []),
  'attachment.resource-type': (r) => (r.attachment ? [r.attachment.resource_type] : []),
  type: (r) => [r.type],
  state: (r) => [r.attachment ? 'active' : 'blackhole'],
  'route-search.exact-match': (r) => [r.destination],
};
const ROUTE_SEARCH_CIDR_FILTERS = ['route-search.longest-prefix-match', 'route-search.subnet-of-match', 'route-search.supernet-of-match'];

/** Routes of one table matching every filter (EC2 requires at least one); up to MaxResults (default 1000). */
const searchTransitGatewayRoutes: Handler = (params, state) => {
  const table = findTable(state, params.req('TransitGatewayRouteTableId'));
  const filters = params.filters();
  if (filters.size === 0) throw new Ec2Error('MissingParameter', 'The request must contain the parameter Filters');
  let routes = tableRoutes(state, table.id);
  for (const [name, values] of filters) {
    if (ROUTE_VALUE_FILTERS[name]) {
      const offered = ROUTE_VALUE_FILTERS[name];
      routes = routes.filter((r) => offered(r).some((v) => values.includes(v)));
    } else if (ROUTE_SEARCH_CIDR_FILTERS.includes(name)) {
      const cidrs = values.map((v) => parseCidrParam(v, name));
      if (name === 'route-search.subnet-of-match') routes = routes.filter((r) => cidrs.some((c) => cidrContains(c, parseCidr(r.destination))));
      else if (name === 'route-search.supernet-of-match') routes = routes.filter((r) => cidrs.some((c) => cidrContains(parseCidr(r.destination), c)));
      else {
        // the most specific routes that contain the given block (one per block)
        const containing = routes.filter((r) => cidrs.some((c) => cidrContains(parseCidr(r.destination), c)));
        const longest = Math.max(-1, ...containing.map((r) => parseCidr(r.destination).prefixLength));
        routes = containing.filter((r) => parseCidr(r.destination).prefixLength === longest);
      }
    } else {
      throw invalidParameter(`The filter '${name}' is invalid`);
    }
  }
  const max = params.int('MaxResults') ?? 1000;
  if (max < 5 || max > 1000) throw invalidParameter(`Value ( ${max} ) for parameter maxResults is invalid. Parameter must be between 5 and 1000.`);
  return { routeSet: routes.slice(0, max).map(renderRoute), additionalRoutesAvailable: routes.length > max };
};

// ---- propagation ----

function renderPropagation(a: AttachmentRow, tableId: string, stateName: string): XmlObject {
  return { transitGatewayAttachmentId: a.id, resourceId: a.resource_id, resourceType: a.resource_type, transitGatewayRouteTableId: tableId, state: stateName };
}

/** The table and attachment of a propagation request: one gateway's (an attachment propagates to one table here). */
function propagationParams(params: Ec2Params, state: Ec2State): { table: TgwRouteTableRow; attachment: AttachmentRow } {
  const table = findTable(state, params.req('TransitGatewayRouteTableId'));
  const attachment = findRow<AttachmentRow>(state, 'tgwAttachment', params.req('TransitGatewayAttachmentId'));
  if (attachment.tgw_id !== table.tgw_id) {
    throw invalidParameter(`Transit Gateway Attachment ${attachment.id} does not belong to Transit Gateway ${table.tgw_id}.`);
  }
  return { table, attachment };
}

const enableTransitGatewayRouteTablePropagation: Handler = (params, state) => {
  const { table, attachment } = propagationParams(params, state);
  if (attachment.propagation_route_table_id !== null) {
    throw invalidParameter(`Transit Gateway Attachment ${attachment.id} already propagates to Transit Gateway Route Table ${attachment.propagation_route_table_id}.`);
  }
  state.run('UPDATE transit_gateway_attachments SET propagation_route_table_id = ? WHERE id = ?', table.id, attachment.id);
  return { propagation: renderPropagation(attachment, table.id, 'enabling') };
};

const disableTransitGatewayRouteTablePropagation: Handler = (params, state) => {
  const { table, attachment } = propagationParams(params, state);
  if (attachment.propagation_route_table_id !== table.id) {
    throw invalidParameter(`Transit Gateway Attachment ${attachment.id} does not propagate to Transit Gateway Route Table ${table.id}.`);
  }
  state.run('UPDATE transit_gateway_attachments SET propagation_route_table_id = NULL WHERE id = ?', attachment.id);
  return { propagation: renderPropagation(attachment, table.id, 'disabling') };
};

const getTransitGatewayRouteTablePropagations: Handler = (params, state) => {
  const table = findTable(state, params.req('TransitGatewayRouteTableId'));
  const rows = state.all<AttachmentRow>('SELECT * FROM transit_gateway_attachments WHERE propagation_route_table_id = ? ORDER BY seq', table.id);
  return {
    transitGatewayRouteTablePropagations: rows.map((a) => ({ transitGatewayAttachmentId: a.id, resourceId: a.resource_id, resourceType: a.resource_type, state: 'enabled' })),
  };
};

// ---- for CreateRoute ----

/** The gateway a VPC route may target: it exists and has an attachment of that VPC (else EC2 answers NotFound). */
export function checkTransitGatewayRouteTarget(state: Ec2State, tgwId: string, vpcId: string): void {
  const tgw = findRow<TgwRow>(state, 'tgw', tgwId);
  if (!state.get("SELECT 1 FROM transit_gateway_attachments WHERE tgw_id = ? AND resource_type = 'vpc' AND resource_id = ?", tgw.id, vpcId)) {
    throw new Ec2Error('InvalidTransitGatewayID.NotFound', `The transitGateway ID '${tgw.id}' does not exist`);
  }
}

export const transitGatewayActions: Record<string, Handler> = {
  CreateTransitGateway: createTransitGateway,
  DescribeTransitGateways: describeTransitGateways,
  DeleteTransitGateway: deleteTransitGateway,
  CreateTransitGatewayVpcAttachment: createTransitGatewayVpcAttachment,
  DescribeTransitGatewayVpcAttachments: describeTransitGatewayVpcAttachments,
  DescribeTransitGatewayAttachments: describeTransitGatewayAttachments,
  DeleteTransitGatewayVpcAttachment: deleteTransitGatewayVpcAttachment,
  DescribeTransitGatewayRouteTables: describeTransitGatewayRouteTables,
  CreateTransitGatewayRoute: createTransitGatewayRoute,
  DeleteTransitGatewayRoute: deleteTransitGatewayRoute,
  SearchTransitGatewayRoutes: searchTransitGatewayRoutes,
  EnableTransitGatewayRouteTablePropagation: enableTransitGatewayRouteTablePropagation,
  DisableTransitGatewayRouteTablePropagation: disableTransitGatewayRouteTablePropagation,
  GetTransitGatewayRouteTablePropagations: getTransitGatewayRouteTablePropagations,
};
