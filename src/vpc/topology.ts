/**
 * The topology file: one YAML schema for a VPC (VPCs, subnets, route tables, gateways, peering, security groups,
 * instances), validated with its cross-references. The lab's scenario file is this file plus the lab's own sections;
 * both files share one registry of top-level sections (SECTIONS), so the emulator reads a scenario and a misspelt
 * section is an error in either. Applying a topology through the EC2 API is an EC2 client's job (src/ec2).
 */
import { z } from 'zod';
import { PodnetError, nearestNames, parseSettings } from '../lib/index.js';
import { parseCidr } from '../net/index.js';

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
