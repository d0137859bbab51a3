/**
 * The topology file: one YAML schema for a VPC (VPCs, subnets, route tables, gateways, peering, security groups,
 * instances). It is applied through the EC2 API with @aws-sdk/client-ec2 — the same calls any client makes — and
 * applying it twice changes nothing: resources are found by their Name tag (security groups by name).
 * The lab's scenario file is this file plus the lab's own sections; both files share one registry of top-level
 * sections (SECTIONS), so the emulator reads a scenario and a misspelt section is an error in either.
 */
import {
  AcceptVpcPeeringConnectionCommand,
  AllocateAddressCommand,
  AssociateRouteTableCommand,
  AttachInternetGatewayCommand,
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateNatGatewayCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  CreateVpcPeeringConnectionCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
  EC2Client,
  ModifySubnetAttributeCommand,
  RunInstancesCommand,
  type IpPermission,
  type ResourceType,
  type Tag,
} from '@aws-sdk/client-ec2';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PodnetError, nearestNames, readUserFile } from '../lib/index.js';
import { parseCidr } from '../net/index.js';
import { parseSettings } from './settings.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a name: letters, digits, . _ -');
const isCidrOf = (family: 4 | 6) => (text: string) => {
  try {
    return parseCidr(text).family === family;
  } catch {
    return false;
  }
};
const ipv4Cidr = z.string().refine(isCidrOf(4), 'an IPv4 CIDR like 10.0.0.0/16');
const ipv6Cidr = z.string().refine(isCidrOf(6), 'an IPv6 CIDR like 2600:1f14::/64');
const tags = z.record(z.string(), z.string()).default({});

const ruleSchema = z.strictObject({
  /** tcp, udp, icmp, or -1 / all for every protocol. */
  protocol: z.enum(['tcp', 'udp', 'icmp', '-1', 'all']).default('-1'),
  /** One port (80) or a range ("30000-32767"); absent = all ports. */
  ports: z.union([z.number().int().min(0).max(65535), z.string().regex(/^\d+-\d+$/, 'a port range like 30000-32767')]).optional(),
  cidr: ipv4Cidr,
});

const routeSchema = z
  .strictObject({
    destination: z.union([ipv4Cidr, ipv6Cidr]),
    /** The VPC's own CIDR: EC2 creates this route with the table; listing it documents it. */
    local: z.literal(true).optional(),
    igw: name.optional(),
    nat: name.optional(),
    pcx: name.optional(),
  })
  .refine((r) => [r.local, r.igw, r.nat, r.pcx].filter((t) => t !== undefined).length === 1, {
    message: 'a route has exactly one target: local, igw, nat or pcx',
  });

/**
 * Every top-level section a topology or scenario file may have: the topology's, then the lab's (src/lab/scenario.ts
 * declares their schema). One registry for both files: `ec2 serve --topology` reads a lab scenario and skips the
 * lab's sections, and a name in neither list is refused. A feature that adds a section adds its name here; the
 * schemas are typed against these lists, so the two cannot drift apart.
 */
const SECTIONS = {
  topology: ['vpcs', 'subnets', 'internetGateways', 'natGateways', 'peerings', 'routeTables', 'securityGroups', 'instances'],
  lab: ['nodes', 'hosts', 'internetHosts', 'eniConfigs', 'pods', 'lab'],
} as const;
type TopologySection = (typeof SECTIONS.topology)[number];
export type LabSection = (typeof SECTIONS.lab)[number];
const allSections: readonly string[] = [...SECTIONS.topology, ...SECTIONS.lab];

/**
 * Refuses a document with a top-level key outside SECTIONS, naming each such key and the nearest known section
 * (a misspelt `node:` would otherwise be ignored, and the lab built without its nodes).
 */
export function rejectUnknownSections(document: unknown, source: string): void {
  if (typeof document !== 'object' || document === null || Array.isArray(document)) return; // the schema says what it should be
  const problems = Object.keys(document)
    .filter((key) => !allSections.includes(key))
    .map((key) => {
      const near = nearestNames(key, allSections, 1);
      return `${key}: not a section of a topology or scenario file${near.length > 0 ? `; did you mean ${near[0]}?` : ''}`;
    });
  if (problems.length > 0) {
    throw new PodnetError('CONFIG_INVALID', `invalid ${source}: ${problems.join('; ')}`, `rename or remove it; the sections are ${allSections.join(', ')}`);
  }
}

/** A region name: us-west-2, us-gov-west-1, eusc-de-east-1 (an availability zone is one plus a letter). */
const regionGrammar = '[a-z]{2,4}(?:-[a-z]+)+-\\d{1,2}';

/** Whether `text` is a region name as AWS spells them (the zone grammar without the zone letter). */
export function isRegionName(text: string): boolean {
  return new RegExp(`^${regionGrammar}$`).test(text);
}

const topologySections = {
  vpcs: z.array(z.strictObject({ name, cidr: ipv4Cidr, ipv6: z.boolean().default(false), tags })).default([]),
  subnets: z
    .array(
      z.strictObject({
        name,
        vpc: name,
        // a region (us-west-2, us-gov-west-1, eusc-de-east-1) and one zone letter; local and Wavelength zones have no
        // model in the emulator
        az: z
          .string()
          .regex(new RegExp(`^${regionGrammar}[a-z]$`), 'an availability zone: a region and a letter, like us-west-2a, eu-west-1b or us-gov-west-1a (local and Wavelength zones such as us-west-2-lax-1a are not modelled)'),
        cidr: ipv4Cidr,
        ipv6Cidr: ipv6Cidr.optional(),
        mapPublicIpOnLaunch: z.boolean().default(false),
        tags,
      }),
    )
    .default([]),
  internetGateways: z.array(z.strictObject({ name, vpc: name })).default([]),
  natGateways: z.array(z.strictObject({ name, subnet: name })).default([]),
  peerings: z.array(z.strictObject({ name, requester: name, accepter: name })).default([]),
  routeTables: z
    .array(z.strictObject({ name, vpc: name, subnets: z.array(name).default([]), routes: z.array(routeSchema).default([]) }))
    .default([]),
  securityGroups: z
    .array(
      z.strictObject({
        name,
        vpc: name,
        description: z.string().default('podnet topology'),
        ingress: z.array(ruleSchema).default([]),
        egress: z.array(ruleSchema).default([]),
      }),
    )
    .default([]),
  instances: z
    .array(
      z.strictObject({
        name,
        type: z.string().min(1),
        subnet: name,
        publicIp: z.boolean().optional(),
        securityGroups: z.array(name).default([]),
        tags,
      }),
    )
    .default([]),
} satisfies Record<TopologySection, z.ZodType>;

/** Loose: the lab's sections pass through (rejectUnknownSections refuses everything else before parsing). */
export const topologySchema = z.looseObject(topologySections);

export type Topology = z.infer<typeof topologySchema>;

/** Cross-references: every name a section points at is declared, and names are unique per section. */
function checkReferences(t: Topology): string[] {
  const problems: string[] = [];
  const declared = (section: keyof Topology & string, items: Array<{ name: string }>) => {
    const seen = new Set<string>();
    items.forEach((item, i) => {
      if (seen.has(item.name)) problems.push(`${section}[${i}].name: '${item.name}' is declared twice`);
      seen.add(item.name);
    });
    return seen;
  };
  const vpcs = declared('vpcs', t.vpcs);
  const subnets = declared('subnets', t.subnets);
  const igws = declared('internetGateways', t.internetGateways);
  const nats = declared('natGateways', t.natGateways);
  const pcxs = declared('peerings', t.peerings);
  const groups = declared('securityGroups', t.securityGroups);
  declared('routeTables', t.routeTables);
  declared('instances', t.instances);
  const ref = (set: Set<string>, value: string, path: string, kind: string) => {
    if (!set.has(value)) problems.push(`${path}: no ${kind} named '${value}' (declared: ${[...set].join(', ') || 'none'})`);
  };
  t.subnets.forEach((s, i) => ref(vpcs, s.vpc, `subnets[${i}].vpc`, 'VPC'));
  t.internetGateways.forEach((g, i) => ref(vpcs, g.vpc, `internetGateways[${i}].vpc`, 'VPC'));
  t.natGateways.forEach((g, i) => ref(subnets, g.subnet, `natGateways[${i}].subnet`, 'subnet'));
  t.peerings.forEach((p, i) => {
    ref(vpcs, p.requester, `peerings[${i}].requester`, 'VPC');
    ref(vpcs, p.accepter, `peerings[${i}].accepter`, 'VPC');
  });
  t.routeTables.forEach((rt, i) => {
    ref(vpcs, rt.vpc, `routeTables[${i}].vpc`, 'VPC');
    rt.subnets.forEach((s, j) => ref(subnets, s, `routeTables[${i}].subnets[${j}]`, 'subnet'));
    rt.routes.forEach((r, j) => {
      if (r.igw) ref(igws, r.igw, `routeTables[${i}].routes[${j}].igw`, 'internet gateway');
      if (r.nat) ref(nats, r.nat, `routeTables[${i}].routes[${j}].nat`, 'NAT gateway');
      if (r.pcx) ref(pcxs, r.pcx, `routeTables[${i}].routes[${j}].pcx`, 'peering');
    });
  });
  t.securityGroups.forEach((g, i) => ref(vpcs, g.vpc, `securityGroups[${i}].vpc`, 'VPC'));
  t.instances.forEach((inst, i) => {
    ref(subnets, inst.subnet, `instances[${i}].subnet`, 'subnet');
    inst.securityGroups.forEach((g, j) => ref(groups, g, `instances[${i}].securityGroups[${j}]`, 'security group'));
  });
  return problems;
}

/** Validates a parsed document (YAML or JSON) as a topology; `source` names it in errors. */
export function parseTopology(document: unknown, source = 'topology'): Topology {
  rejectUnknownSections(document, source);
  const topology = parseSettings(topologySchema, document ?? {}, source);
  const problems = checkReferences(topology);
  if (problems.length > 0) {
    throw new PodnetError('CONFIG_INVALID', `invalid ${source}: ${problems.join('; ')}`, 'declare the names the file refers to, once each');
  }
  // one emulator answers for one region, as one EC2 endpoint does on AWS
  const region = topologyRegion(topology);
  const elsewhere = topology.subnets.flatMap((x, i) => (zoneRegion(x.az) === region ? [] : [
    `subnets[${i}].az: ${x.az} is in region ${zoneRegion(x.az)}, but subnets[0].az ${topology.subnets[0]!.az} is in ${region}`]));
  if (elsewhere.length > 0) {
    throw new PodnetError('CONFIG_INVALID', `invalid ${source}: ${elsewhere.join('; ')}; a VPC model here is one region`, 'put every subnet in zones of one region');
  }
  return topology;
}

/** The region of a topology without a subnet (and so without a zone to take it from). */
export const DEFAULT_REGION = 'us-west-2';

/**
 * The region an availability zone is in: its name without the zone letter (eu-west-1a → eu-west-1, us-gov-west-1a →
 * us-gov-west-1). The schema has checked the grammar already; local and Wavelength zones (us-west-2-lax-1a) are
 * not modelled, so every zone here is a region plus one letter.
 */
export function zoneRegion(az: string): string {
  return az.slice(0, -1);
}

/** The region a topology's zones are in (parseTopology has checked there is one): its EC2 and IMDS answer for it. */
export function topologyRegion(t: Pick<Topology, 'subnets'>): string {
  const first = t.subnets[0];
  return first ? zoneRegion(first.az) : DEFAULT_REGION;
}

/**
 * Reads a YAML file the user named (`what`: "topology file", "scenario file"): FILE_UNREADABLE with `hint` if it
 * cannot be read, CONFIG_INVALID if it is not YAML; the document is not validated.
 */
export function readYamlFile(path: string, what: string, hint: string): unknown {
  const text = readUserFile(path, what, hint);
  try {
    return parseYaml(text);
  } catch (err) {
    throw new PodnetError('CONFIG_INVALID', `${what} ${path} is not valid YAML: ${(err as Error).message}`, 'fix the YAML syntax at the position named above');
  }
}

/** Reads and validates a topology YAML file. */
export async function loadTopology(path: string): Promise<Topology> {
  return parseTopology(readYamlFile(path, 'topology file', 'check the path'), `topology file ${path}`);
}

export interface TopologyChange {
  kind: string;
  name: string;
  id: string;
  /** What applying did: created the resource, changed it (tags, attribute, route, rule), or nothing. */
  change: 'created' | 'updated' | 'unchanged';
}

export interface TopologyApplyResult {
  changes: TopologyChange[];
  /** Name → ID, per kind, for callers that go on to use the resources (the lab). */
  ids: Record<'vpcs' | 'subnets' | 'internetGateways' | 'natGateways' | 'peerings' | 'routeTables' | 'securityGroups' | 'instances', Record<string, string>>;
}

const nameOf = (tagsOf: Tag[] | undefined) => tagsOf?.find((t) => t.Key === 'Name')?.Value;
const toTags = (n: string, extra: Record<string, string> = {}): Tag[] => [{ Key: 'Name', Value: n }, ...Object.entries(extra).map(([Key, Value]) => ({ Key, Value }))];
const tagSpec = (resourceType: ResourceType, n: string, extra?: Record<string, string>) => [{ ResourceType: resourceType, Tags: toTags(n, extra) }];

function ipPermission(rule: z.infer<typeof ruleSchema>): IpPermission {
  const protocol = rule.protocol === 'all' ? '-1' : rule.protocol;
  const [from, to] =
    rule.ports === undefined ? [undefined, undefined] : typeof rule.ports === 'number' ? [rule.ports, rule.ports] : rule.ports.split('-').map(Number);
  return { IpProtocol: protocol, FromPort: protocol === '-1' ? undefined : from, ToPort: protocol === '-1' ? undefined : to, IpRanges: [{ CidrIp: rule.cidr }] };
}

function hasPermission(existing: IpPermission[] | undefined, wanted: IpPermission): boolean {
  return (existing ?? []).some(
    (p) =>
      p.IpProtocol === wanted.IpProtocol &&
      (wanted.IpProtocol === '-1' || (p.FromPort === wanted.FromPort && p.ToPort === wanted.ToPort)) &&
      (p.IpRanges ?? []).some((r) => r.CidrIp === wanted.IpRanges![0]!.CidrIp),
  );
}

/**
 * Creates what is missing, in dependency order, through the EC2 API at `client`. Existing resources (same Name
 * tag) are kept; their tags, MapPublicIpOnLaunch, routes, associations and rules are completed where they differ.
 */
export async function applyTopology(topology: Topology, client: EC2Client): Promise<TopologyApplyResult> {
  const at = { entry: 'reading the existing resources' };
  try {
    return await applyEntries(topology, client, at);
  } catch (err) {
    // EC2 refusing a call (a subnet outside its VPC, an unknown instance type) is a problem of the file, not a bug
    if ((err as { $fault?: string }).$fault !== 'client') throw err;
    throw new PodnetError('CONFIG_INVALID', `topology: EC2 refused ${at.entry}: ${(err as Error).name}: ${(err as Error).message}`,
      'fix that entry of the topology file; the emulator refuses what EC2 would', { cause: err });
  }
}

/** applyTopology's steps; `at.entry` names the entry being applied, for the error. */
async function applyEntries(topology: Topology, client: EC2Client, at: { entry: string }): Promise<TopologyApplyResult> {
  const changes: TopologyChange[] = [];
  const ids: TopologyApplyResult['ids'] = { vpcs: {}, subnets: {}, internetGateways: {}, natGateways: {}, peerings: {}, routeTables: {}, securityGroups: {}, instances: {} };
  const record = (kind: keyof TopologyApplyResult['ids'], n: string, id: string, change: TopologyChange['change']) => {
    ids[kind][n] = id;
    changes.push({ kind, name: n, id, change });
  };
  /** Adds wanted tags that are missing or different; true if it changed anything. */
  const completeTags = async (id: string, have: Tag[] | undefined, want: Tag[]) => {
    const missing = want.filter((t) => !(have ?? []).some((h) => h.Key === t.Key && h.Value === t.Value));
    if (missing.length > 0) await client.send(new CreateTagsCommand({ Resources: [id], Tags: missing }));
    return missing.length > 0;
  };

  const vpcs = (await client.send(new DescribeVpcsCommand({}))).Vpcs ?? [];
  for (const v of topology.vpcs) {
    at.entry = `vpcs '${v.name}'`;
    const found = vpcs.find((x) => nameOf(x.Tags) === v.name);
    if (found) {
      record('vpcs', v.name, found.VpcId!, (await completeTags(found.VpcId!, found.Tags, toTags(v.name, v.tags))) ? 'updated' : 'unchanged');
      continue;
    }
    const created = await client.send(
      new CreateVpcCommand({ CidrBlock: v.cidr, AmazonProvidedIpv6CidrBlock: v.ipv6 || undefined, TagSpecifications: tagSpec('vpc', v.name, v.tags) }),
    );
    record('vpcs', v.name, created.Vpc!.VpcId!, 'created');
  }

  const subnets = (await client.send(new DescribeSubnetsCommand({}))).Subnets ?? [];
  for (const s of topology.subnets) {
    at.entry = `subnets '${s.name}'`;
    const found = subnets.find((x) => nameOf(x.Tags) === s.name);
    let id: string;
    let change: TopologyChange['change'];
    let mapPublic: boolean;
    if (found) {
      id = found.SubnetId!;
      change = (await completeTags(id, found.Tags, toTags(s.name, s.tags))) ? 'updated' : 'unchanged';
      mapPublic = found.MapPublicIpOnLaunch ?? false;
    } else {
      const created = await client.send(
        new CreateSubnetCommand({
          VpcId: ids.vpcs[s.vpc],
          CidrBlock: s.cidr,
          AvailabilityZone: s.az,
          Ipv6CidrBlock: s.ipv6Cidr,
          TagSpecifications: tagSpec('subnet', s.name, s.tags),
        }),
      );
      id = created.Subnet!.SubnetId!;
      change = 'created';
      mapPublic = created.Subnet!.MapPublicIpOnLaunch ?? false;
    }
    if (mapPublic !== s.mapPublicIpOnLaunch) {
      await client.send(new ModifySubnetAttributeCommand({ SubnetId: id, MapPublicIpOnLaunch: { Value: s.mapPublicIpOnLaunch } }));
      if (change === 'unchanged') change = 'updated';
    }
    record('subnets', s.name, id, change);
  }

  const igws = (await client.send(new DescribeInternetGatewaysCommand({}))).InternetGateways ?? [];
  for (const g of topology.internetGateways) {
    at.entry = `internetGateways '${g.name}'`;
    const found = igws.find((x) => nameOf(x.Tags) === g.name);
    const id = found?.InternetGatewayId ?? (await client.send(new CreateInternetGatewayCommand({ TagSpecifications: tagSpec('internet-gateway', g.name) }))).InternetGateway!.InternetGatewayId!;
    const attached = (found?.Attachments ?? []).some((a) => a.VpcId === ids.vpcs[g.vpc]);
    if (!attached) await client.send(new AttachInternetGatewayCommand({ InternetGatewayId: id, VpcId: ids.vpcs[g.vpc] }));
    record('internetGateways', g.name, id, !found ? 'created' : attached ? 'unchanged' : 'updated');
  }

  const peerings = (await client.send(new DescribeVpcPeeringConnectionsCommand({}))).VpcPeeringConnections ?? [];
  for (const p of topology.peerings) {
    at.entry = `peerings '${p.name}'`;
    const found = peerings.find((x) => nameOf(x.Tags) === p.name && !['deleted', 'rejected', 'failed', 'expired'].includes(x.Status?.Code ?? ''));
    const id =
      found?.VpcPeeringConnectionId ??
      (await client.send(new CreateVpcPeeringConnectionCommand({ VpcId: ids.vpcs[p.requester], PeerVpcId: ids.vpcs[p.accepter], TagSpecifications: tagSpec('vpc-peering-connection', p.name) })))
        .VpcPeeringConnection!.VpcPeeringConnectionId!;
    const active = found?.Status?.Code === 'active';
    if (!active) await client.send(new AcceptVpcPeeringConnectionCommand({ VpcPeeringConnectionId: id }));
    record('peerings', p.name, id, !found ? 'created' : active ? 'unchanged' : 'updated');
  }

  const nats = (await client.send(new DescribeNatGatewaysCommand({}))).NatGateways ?? [];
  for (const n of topology.natGateways) {
    at.entry = `natGateways '${n.name}'`;
    const found = nats.find((x) => nameOf(x.Tags) === n.name && x.State !== 'deleted' && x.State !== 'deleting' && x.State !== 'failed');
    if (found) {
      record('natGateways', n.name, found.NatGatewayId!, 'unchanged');
      continue;
    }
    const eip = await client.send(new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: tagSpec('elastic-ip', `${n.name}-eip`) }));
    const created = await client.send(
      new CreateNatGatewayCommand({ SubnetId: ids.subnets[n.subnet], AllocationId: eip.AllocationId, TagSpecifications: tagSpec('natgateway', n.name) }),
    );
    record('natGateways', n.name, created.NatGateway!.NatGatewayId!, 'created');
  }

  const tables = (await client.send(new DescribeRouteTablesCommand({}))).RouteTables ?? [];
  for (const rt of topology.routeTables) {
    at.entry = `routeTables '${rt.name}'`;
    const found = tables.find((x) => nameOf(x.Tags) === rt.name);
    const id = found?.RouteTableId ?? (await client.send(new CreateRouteTableCommand({ VpcId: ids.vpcs[rt.vpc], TagSpecifications: tagSpec('route-table', rt.name) }))).RouteTable!.RouteTableId!;
    let changed = false;
    for (const r of rt.routes) {
      if (r.local) continue; // EC2 adds the local route itself
      const v6 = r.destination.includes(':');
      const exists = (found?.Routes ?? []).some((x) => (v6 ? x.DestinationIpv6CidrBlock : x.DestinationCidrBlock) === r.destination);
      if (exists) continue;
      await client.send(
        new CreateRouteCommand({
          RouteTableId: id,
          DestinationCidrBlock: v6 ? undefined : r.destination,
          DestinationIpv6CidrBlock: v6 ? r.destination : undefined,
          GatewayId: r.igw ? ids.internetGateways[r.igw] : undefined,
          NatGatewayId: r.nat ? ids.natGateways[r.nat] : undefined,
          VpcPeeringConnectionId: r.pcx ? ids.peerings[r.pcx] : undefined,
        }),
      );
      changed = true;
    }
    for (const s of rt.subnets) {
      const subnetId = ids.subnets[s]!;
      if ((found?.Associations ?? []).some((a) => a.SubnetId === subnetId)) continue;
      await client.send(new AssociateRouteTableCommand({ RouteTableId: id, SubnetId: subnetId }));
      changed = true;
    }
    record('routeTables', rt.name, id, !found ? 'created' : changed ? 'updated' : 'unchanged');
  }

  const groups = (await client.send(new DescribeSecurityGroupsCommand({}))).SecurityGroups ?? [];
  for (const g of topology.securityGroups) {
    at.entry = `securityGroups '${g.name}'`;
    const found = groups.find((x) => x.GroupName === g.name && x.VpcId === ids.vpcs[g.vpc]);
    const id =
      found?.GroupId ??
      (await client.send(new CreateSecurityGroupCommand({ GroupName: g.name, Description: g.description, VpcId: ids.vpcs[g.vpc], TagSpecifications: tagSpec('security-group', g.name) })))
        .GroupId!;
    let changed = false;
    const ingress = g.ingress.map(ipPermission).filter((p) => !hasPermission(found?.IpPermissions, p));
    if (ingress.length > 0) await client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: ingress }));
    // A new group already allows all egress (EC2's default rule), so an all-traffic 0.0.0.0/0 rule is skipped.
    const currentEgress = found?.IpPermissionsEgress ?? [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];
    const egress = g.egress.map(ipPermission).filter((p) => !hasPermission(currentEgress, p));
    if (egress.length > 0) await client.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: egress }));
    changed = ingress.length + egress.length > 0;
    record('securityGroups', g.name, id, !found ? 'created' : changed ? 'updated' : 'unchanged');
  }

  const reservations = (await client.send(new DescribeInstancesCommand({}))).Reservations ?? [];
  const instances = reservations.flatMap((r) => r.Instances ?? []).filter((i) => !['terminated', 'shutting-down'].includes(i.State?.Name ?? ''));
  for (const inst of topology.instances) {
    at.entry = `instances '${inst.name}'`;
    const found = instances.find((x) => nameOf(x.Tags) === inst.name);
    if (found) {
      const changed = await completeTags(found.InstanceId!, found.Tags, toTags(inst.name, inst.tags));
      record('instances', inst.name, found.InstanceId!, changed ? 'updated' : 'unchanged');
      continue;
    }
    const groupIds = inst.securityGroups.map((g) => ids.securityGroups[g]!);
    const created = await client.send(
      new RunInstancesCommand({
        ImageId: 'ami-0123456789abcdef0',
        InstanceType: inst.type as never,
        MinCount: 1,
        MaxCount: 1,
        NetworkInterfaces: [
          {
            DeviceIndex: 0,
            SubnetId: ids.subnets[inst.subnet],
            AssociatePublicIpAddress: inst.publicIp,
            Groups: groupIds.length > 0 ? groupIds : undefined,
          },
        ],
        TagSpecifications: tagSpec('instance', inst.name, inst.tags),
      }),
    );
    record('instances', inst.name, created.Instances![0]!.InstanceId!, 'created');
  }
  return { changes, ids };
}
