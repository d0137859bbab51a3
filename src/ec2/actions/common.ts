import { type Address, type Cidr, isAddressText, parseAddress, parseCidr } from '../../net/index.js';
import { Ec2Error, type ActionHandler, type Ec2Params, type XmlObject } from '../protocol.js';
import type { Ec2State } from '../state.js';

/**
 * The emulated account that owns everything: EC2's OwnerId (EC2 always reports an owner), EKS's ARNs and its endpoint
 * names, and the lab's endpoint name (computed before the emulator runs). The only place the number is written;
 * src/ec2's index exports it as EMULATOR_ACCOUNT_ID.
 */
export const ownerId = '111122223333';

/** How EC2 names each resource kind in NotFound/Malformed errors. */
const kinds = {
  vpc: { prefix: 'vpc', table: 'vpcs', code: 'InvalidVpcID', noun: 'vpc ID' },
  subnet: { prefix: 'subnet', table: 'subnets', code: 'InvalidSubnetID', noun: 'subnet ID' },
  eni: { prefix: 'eni', table: 'enis', code: 'InvalidNetworkInterfaceID', noun: 'networkInterface ID' },
  instance: { prefix: 'i', table: 'instances', code: 'InvalidInstanceID', noun: 'instance ID' },
  group: { prefix: 'sg', table: 'security_groups', code: 'InvalidGroup', noun: 'security group' },
  routeTable: { prefix: 'rtb', table: 'route_tables', code: 'InvalidRouteTableID', noun: 'routeTable ID' },
  igw: { prefix: 'igw', table: 'internet_gateways', code: 'InvalidInternetGatewayID', noun: 'internetGateway ID' },
  nat: { prefix: 'nat', table: 'nat_gateways', code: 'InvalidNatGatewayID', noun: 'natGateway ID' },
  peering: { prefix: 'pcx', table: 'vpc_peerings', code: 'InvalidVpcPeeringConnectionID', noun: 'vpcPeeringConnection ID' },
  networkAcl: { prefix: 'acl', table: 'network_acls', code: 'InvalidNetworkAclID', noun: 'networkAcl ID' },
  vgw: { prefix: 'vgw', table: 'vpn_gateways', code: 'InvalidVpnGatewayID', noun: 'vpnGateway ID' },
  cgw: { prefix: 'cgw', table: 'customer_gateways', code: 'InvalidCustomerGatewayID', noun: 'customerGateway ID' },
  vpn: { prefix: 'vpn', table: 'vpn_connections', code: 'InvalidVpnConnectionID', noun: 'vpnConnection ID' },
  tgw: { prefix: 'tgw', table: 'transit_gateways', code: 'InvalidTransitGatewayID', noun: 'transitGateway ID' },
  tgwAttachment: { prefix: 'tgw-attach', table: 'transit_gateway_attachments', code: 'InvalidTransitGatewayAttachmentID', noun: 'transitGatewayAttachment ID' },
  tgwRouteTable: { prefix: 'tgw-rtb', table: 'transit_gateway_route_tables', code: 'InvalidRouteTableID', noun: 'transitGatewayRouteTable ID' },
} as const;
export type ResourceKind = keyof typeof kinds;

/** `The networkInterface ID 'eni-…' does not exist` — ipamd parses the ID between the quotes (spec §7.1). */
function notFound(kind: ResourceKind, ids: string[]): Ec2Error {
  const k = kinds[kind];
  const message =
    ids.length === 1 ? `The ${k.noun} '${ids[0]}' does not exist` : `The ${k.noun}s '${ids.join(', ')}' do not exist`;
  return new Ec2Error(`${k.code}.NotFound`, message, 400, ids);
}

function checkIdFormat(kind: ResourceKind, id: string): void {
  const k = kinds[kind];
  if (!new RegExp(`^${k.prefix}-[0-9a-f]{8,17}$`).test(id)) {
    const code = kind === 'group' ? 'InvalidGroupId.Malformed' : `${k.code}.Malformed`;
    throw new Ec2Error(code, `Invalid id: "${id}" (expecting "${k.prefix}-...")`);
  }
}

/** The row of one resource, or EC2's Malformed/NotFound error for its kind. */
export function findRow<T>(state: Ec2State, kind: ResourceKind, id: string): T {
  checkIdFormat(kind, id);
  const row = state.get<T>(`SELECT * FROM ${kinds[kind].table} WHERE id = ?`, id);
  if (!row) throw notFound(kind, [id]);
  return row;
}

/** Deletes one resource's row and its tags (what depends on it is the caller's to check or remove first). */
export function deleteResource(state: Ec2State, kind: ResourceKind, id: string): void {
  state.run(`DELETE FROM ${kinds[kind].table} WHERE id = ?`, id);
  state.run('DELETE FROM tags WHERE resource_id = ?', id);
}

/** Rows for explicitly listed IDs (in the order given), or NotFound naming every missing one. */
export function findRows<T>(state: Ec2State, kind: ResourceKind, ids: string[]): T[] {
  for (const id of ids) checkIdFormat(kind, id);
  const rows = ids.map((id) => state.get<T>(`SELECT * FROM ${kinds[kind].table} WHERE id = ?`, id));
  const missing = ids.filter((_, i) => rows[i] === undefined);
  if (missing.length > 0) throw notFound(kind, missing);
  return rows as T[];
}

export function invalidParameter(message: string): Ec2Error {
  return new Ec2Error('InvalidParameterValue', message);
}

export function combination(message: string): Ec2Error {
  return new Ec2Error('InvalidParameterCombination', message);
}

/** An address parameter of one family (EC2 refuses the other family's address as "not a valid IPvN address"). */
export function parseAddressParam(text: string, name: string, family: 4 | 6): Address {
  if (!isAddressText(text) || parseAddress(text).family !== family) {
    throw invalidParameter(`Value (${text}) for parameter ${name} is invalid. Not a valid IPv${family} address.`);
  }
  return parseAddress(text);
}

/** A CIDR parameter; host bits must be zero (EC2 refuses 10.0.1.5/24 as a block). */
export function parseCidrParam(text: string, name: string, family?: 4 | 6): Cidr {
  let cidr: Cidr;
  try {
    cidr = parseCidr(text, { strict: true });
  } catch {
    throw invalidParameter(`Value (${text}) for parameter ${name} is invalid. This is not a valid CIDR block.`);
  }
  if (family !== undefined && cidr.family !== family) {
    throw invalidParameter(`Value (${text}) for parameter ${name} is invalid. This is not a valid IPv${family} CIDR block.`);
  }
  return cidr;
}

/** A non-negative count parameter (absent → undefined). */
export function countParam(params: Ec2Params, name: string): number | undefined {
  const n = params.int(name);
  if (n !== undefined && n < 0) throw invalidParameter(`Value (${n}) for parameter ${name} is invalid. It must not be negative.`);
  return n;
}

// ---- tags ----

export function tagSet(state: Ec2State, resourceId: string): XmlObject[] {
  return state
    .all<{ key: string; value: string }>('SELECT key, value FROM tags WHERE resource_id = ? ORDER BY key', resourceId)
    .map((t) => ({ key: t.key, value: t.value }));
}

export function setTag(state: Ec2State, resourceId: string, key: string, value: string): void {
  if (key === '' || key.length > 128) throw invalidParameter(`Tag key '${key}' must be 1 to 128 characters`);
  if (key.toLowerCase().startsWith('aws:')) throw invalidParameter(`Tag keys starting with 'aws:' are reserved for internal use`);
  state.run(
    'INSERT INTO tags (resource_id, key, value) VALUES (?, ?, ?) ON CONFLICT (resource_id, key) DO UPDATE SET value = excluded.value',
    resourceId,
    key,
    value,
  );
}

/** Applies the TagSpecification entries of one resource type (EC2 ignores none: a wrong type is an error). */
export function applyTagSpecifications(state: Ec2State, params: Ec2Params, resourceType: string, resourceId: string): void {
  for (const spec of params.tagSpecifications()) {
    if (spec.resourceType !== resourceType) {
      throw invalidParameter(`'${spec.resourceType}' is not a valid taggable resource type for this operation.`);
    }
    for (const tag of spec.tags) setTag(state, resourceId, tag.key, tag.value);
  }
}

// ---- filters and pagination ----

/**
 * A filter value as a matcher: `*` any run of characters, `?` one. Matched without regular expressions, by the
 * greedy star-backtracking walk, so a value full of `*` costs at most text × pattern steps (a `.*` regex
 * backtracks exponentially in the number of stars).
 */
function wildcard(pattern: string): { test(text: string): boolean } {
  const p = pattern.replace(/\*+/g, '*');
  return {
    test(text: string): boolean {
      let pi = 0;
      let ti = 0;
      let star = -1;
      let resume = 0;
      while (ti < text.length) {
        if (pi < p.length && (p[pi] === '?' || (p[pi] !== '*' && p[pi] === text[ti]))) {
          pi++;
          ti++;
        } else if (pi < p.length && p[pi] === '*') {
          star = pi++;
          resume = ti;
        } else if (star >= 0) {
          pi = star + 1;
          ti = ++resume;
        } else {
          return false;
        }
      }
      while (pi < p.length && p[pi] === '*') pi++;
      return pi === p.length;
    },
  };
}

/** What one resource offers a filter: the values the filter's patterns are matched against (null/undefined: none). */
export type FilterValue = string | number | boolean | null | undefined;

/** A Describe* action's filters: filter name → the values one item offers it, computed only when a request uses it. */
export type FilterFields<Item> = Readonly<Record<string, (item: Item, state: Ec2State) => readonly FilterValue[]>>;

type Tag = { key: string; value: string };

/**
 * EC2 filter semantics: every filter must match (AND); within a filter any value may match (OR); `*` and `?` are
 * wildcards; `tag:<key>`, `tag-key` and `tag-value` work on every taggable resource. Unknown names are errors.
 */
function filterMatcher<Item>(params: Ec2Params, fields: FilterFields<Item>): (item: Item, state: Ec2State, tags: () => Tag[]) => boolean {
  const filters = [...params.filters()].map(([name, patterns]) => {
    if (!Object.hasOwn(fields, name) && !name.startsWith('tag:') && name !== 'tag-key' && name !== 'tag-value') {
      throw invalidParameter(`The filter '${name}' is invalid`);
    }
    return { name, patterns: patterns.map(wildcard) };
  });
  return (item, state, tags) =>
    filters.every(({ name, patterns }) => {
      let candidates: string[];
      if (name.startsWith('tag:')) candidates = tags().filter((t) => t.key === name.slice(4)).map((t) => t.value);
      else if (name === 'tag-key') candidates = tags().map((t) => t.key);
      else if (name === 'tag-value') candidates = tags().map((t) => t.value);
      else candidates = fields[name]!(item, state).filter((v) => v !== null && v !== undefined).map(String);
      return candidates.some((c) => patterns.some((p) => p.test(c)));
    });
}

function tagsOf(state: Ec2State, resourceId: string): Tag[] {
  return state.all<Tag>('SELECT key, value FROM tags WHERE resource_id = ?', resourceId);
}

/** MaxResults bounds of one Describe* action, and the page size when none is asked; most take 5 to 1000. */
export interface PageLimits {
  min: number;
  max: number;
  defaultMax?: number;
}

/**
 * MaxResults/NextToken paging over an ordered list. The token is the position of the next item, opaque to
 * clients; MaxResults must lie in [min, max], and EC2 refuses it together with explicit IDs.
 */
function paginate<T>(items: T[], params: Ec2Params, limits: PageLimits, idsGiven: boolean): { page: T[]; nextToken?: string } {
  const given = params.int('MaxResults');
  const token = params.str('NextToken');
  if (given !== undefined && idsGiven) {
    throw combination('The parameter MaxResults cannot be used with the parameter of resource IDs');
  }
  if (given !== undefined && (given < limits.min || given > limits.max)) {
    throw invalidParameter(`Value ( ${given} ) for parameter maxResults is invalid. Parameter must be between ${limits.min} and ${limits.max}.`);
  }
  const maxResults = given ?? limits.defaultMax;
  let start = 0;
  if (token !== undefined) {
    const decoded = /^p([0-9]+)$/.exec(Buffer.from(token, 'base64url').toString('utf8'));
    if (!decoded) throw invalidParameter(`The token '${token}' is invalid.`);
    start = Number(decoded[1]);
  }
  if (maxResults === undefined) return { page: items.slice(start) };
  const end = start + maxResults;
  return {
    page: items.slice(start, end),
    nextToken: end < items.length ? Buffer.from(`p${end}`).toString('base64url') : undefined,
  };
}

/** The items a Describe* request names explicitly (it then may not page), or every item in EC2's order. */
export interface Selection<Item> {
  items: Item[];
  named: boolean;
}

/** One Describe* action: which items it selects, its filters and page limits, and how a page renders. */
export interface DescribeSpec<Item> {
  select(params: Ec2Params, state: Ec2State): Selection<Item>;
  filters: FilterFields<Item>;
  /** Default: MaxResults 5 to 1000, everything when none is given. */
  paging?: PageLimits;
  /** The tags `tag:…` filters look at (read once per item, and only for those filters); default: the tags of the item's `id`. */
  tags?: (item: Item, state: Ec2State) => Tag[];
  /** The page as the response's item set, e.g. `{ vpcSet: [...] }` (the helper adds `nextToken`). */
  render(page: Item[], state: Ec2State): XmlObject;
}

/** A Describe* handler: select → filter → paginate → render, with EC2's semantics for each step. */
export function describeAction<Item>(spec: DescribeSpec<Item>): ActionHandler<Ec2State> {
  const tags = spec.tags ?? ((item: Item, state: Ec2State) => tagsOf(state, (item as { id: string }).id));
  return (params, state) => {
    const matches = filterMatcher(params, spec.filters);
    const { items, named } = spec.select(params, state);
    const selected = items.filter((item) => {
      let itemTags: Tag[] | undefined;
      return matches(item, state, () => (itemTags ??= tags(item, state)));
    });
    const { page, nextToken } = paginate(selected, params, spec.paging ?? { min: 5, max: 1000 }, named);
    return { ...spec.render(page, state), nextToken };
  };
}

/** The usual selection: the IDs listed in idParam (Malformed/NotFound as findRows), else every row by creation. */
export function selectRows<Row>(kind: ResourceKind, idParam: string): DescribeSpec<Row>['select'] {
  return (params, state) => {
    const ids = params.list(idParam);
    if (ids.length > 0) return { items: findRows<Row>(state, kind, ids), named: true };
    return { items: state.all<Row>(`SELECT * FROM ${kinds[kind].table} ORDER BY seq`), named: false };
  };
}

export function isoTime(ms: number): string {
  return new Date(ms).toISOString();
}
