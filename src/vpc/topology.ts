/**
 * The topology file: one YAML schema for a VPC (VPCs, subnets, route tables, gateways, peering, security groups,
 * instances), validated with its cross-references. The lab's scenario file is this file plus the lab's own sections;
 * both files share one registry of top-level sections (SECTIONS), so the emulator reads a scenario and a misspelt
 * section is an error in either. Applying a topology through the EC2 API is an EC2 client's job (src/ec2).
 */
import { z } from 'zod';
import { PodnetError, nearestNames, parseSettings } from '../lib/index.js';
import { cidrsOverlap, parseCidr } from '../net/index.js';
import { MAX_IPV4_CIDRS_PER_VPC, restrictedAssociation, vpcBlockSizeAllowed } from './cidr-blocks.js';

const name = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a name: letters, digits, . _ -');
const isCidrOf = (family: 4 | 6) => (text: string) => {
  try {
    return parseCidr(text).family === family;
  } catch {
    return false;
  }
};
const ipv4Cidr = z.string().refine(isCidrOf(4), 'an IPv4 CIDR like 10.0.0.0/16');
/** EKS's grammar for cluster and Fargate profile names */
const eksName = z.string().max(100).regex(/^[0-9A-Za-z][A-Za-z0-9\-_]*$/, 'an EKS name: a letter or digit, then letters, digits, - and _ (at most 100)');
const ipv6Cidr = z.string().refine(isCidrOf(6), 'an IPv6 CIDR like 2600:1f14::/64');
const tags = z.record(z.string(), z.string()).default({});

/** One port (80) or an inclusive range ("30000-32767"); absent = all ports. */
const portsSchema = z.union([z.number().int().min(0).max(65535), z.string().regex(/^\d+-\d+$/, 'a port range like 30000-32767')]).optional();
/** tcp, udp, icmp, or -1 / all for every protocol (where a port range means nothing). */
const protocolSchema = z.enum(['tcp', 'udp', 'icmp', '-1', 'all']).default('-1');
const portsOnlyWithAProtocol = (r: { protocol: string; ports?: unknown }) => !((r.protocol === '-1' || r.protocol === 'all') && r.ports !== undefined);
const portsOnlyMessage = { message: 'protocol all (-1) covers every port: drop ports, or name tcp, udp or icmp', path: ['ports'] };

/** A security group rule: its peer is a CIDR or another group of the same VPC (every private address of its ENIs). */
const ruleSchema = z
  .strictObject({ protocol: protocolSchema, ports: portsSchema, cidr: ipv4Cidr.optional(), sg: name.optional() })
  .refine((r) => (r.cidr === undefined) !== (r.sg === undefined), { message: 'a rule has exactly one peer: cidr or sg (a security group name)' })
  .refine(portsOnlyWithAProtocol, portsOnlyMessage);

/** A network ACL entry: evaluated in rule-number order, the first match decides (EC2: rule numbers 1..32766). */
const aclEntrySchema = z
  .strictObject({
    rule: z.number().int().min(1).max(32766),
    protocol: protocolSchema,
    ports: portsSchema,
    cidr: ipv4Cidr,
    action: z.enum(['allow', 'deny']),
  })
  .refine(portsOnlyWithAProtocol, portsOnlyMessage);

const routeSchema = z
  .strictObject({
    destination: z.union([ipv4Cidr, ipv6Cidr]),
    /** The VPC's own CIDR: EC2 creates this route with the table; listing it documents it. */
    local: z.literal(true).optional(),
    igw: name.optional(),
    nat: name.optional(),
    pcx: name.optional(),
    /** a transit gateway (transitGateways[].name) */
    tgw: name.optional(),
    /** a virtual private gateway (virtualPrivateGateways[].name) */
    vgw: name.optional(),
  })
  .refine((r) => [r.local, r.igw, r.nat, r.pcx, r.tgw, r.vgw].filter((t) => t !== undefined).length === 1, {
    message: 'a route has exactly one target: local, igw, nat, pcx, tgw or vgw',
  });

/**
 * Every top-level section a topology or scenario file may have: the topology's, then the lab's (src/lab/scenario.ts
 * declares their schema). One registry for both files: `ec2 serve --topology` reads a lab scenario and skips the
 * lab's sections, and a name in neither list is refused. A feature that adds a section adds its name here; the
 * schemas are typed against these lists, so the two cannot drift apart.
 */
const SECTIONS = {
  topology: [
    'vpcs', 'subnets', 'internetGateways', 'natGateways', 'peerings', 'routeTables', 'securityGroups', 'networkAcls',
    'transitGateways', 'virtualPrivateGateways', 'onPremises', 'instances', 'cluster',
  ],
  lab: ['nodes', 'hosts', 'internetHosts', 'onPremHosts', 'eniConfigs', 'securityGroupPolicies', 'pods', 'lab'],
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
  vpcs: z
    .array(
      z.strictObject({
        name,
        cidr: ipv4Cidr,
        /** More IPv4 blocks (AssociateVpcCidrBlock), e.g. 100.64.0.0/16 for custom networking. */
        secondaryCidrs: z.array(ipv4Cidr).default([]),
        ipv6: z.boolean().default(false),
        tags,
      }),
    )
    .default([]),
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
        /** Absent: all egress allowed (EC2's default rule); present: exactly these rules. */
        egress: z.array(ruleSchema).optional(),
      }),
    )
    .default([]),
  /** Network ACLs (stateless, per subnet); a subnet not listed keeps its VPC's default ACL, which allows everything. */
  networkAcls: z
    .array(
      z.strictObject({
        name,
        vpc: name,
        subnets: z.array(name).default([]),
        ingress: z.array(aclEntrySchema).default([]),
        egress: z.array(aclEntrySchema).default([]),
      }),
    )
    .default([]),
  /**
   * Transit gateways: each attachment joins a VPC through some of its subnets; without `routes`, every attachment's
   * VPC CIDRs are propagated into the gateway's route table.
   */
  transitGateways: z
    .array(
      z.strictObject({
        name,
        attachments: z.array(z.strictObject({ vpc: name, subnets: z.array(name).min(1) })).default([]),
        routes: z.array(z.strictObject({ destination: ipv4Cidr, attachment: name })).optional(),
      }),
    )
    .default([]),
  /** Virtual private gateways (the VPC side of a VPN or Direct Connect), one VPC each. */
  virtualPrivateGateways: z.array(z.strictObject({ name, vpc: name })).default([]),
  /** Networks outside AWS, reached over a virtual private gateway or a transit gateway. */
  onPremises: z
    .array(
      z.strictObject({
        name,
        cidr: ipv4Cidr,
        via: z.union([z.strictObject({ vgw: name }), z.strictObject({ tgw: name })]),
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
  /**
   * One EKS cluster, named as the EKS API names its fields (CreateCluster's resourcesVpcConfig, CreateFargateProfile);
   * the defaults are EKS's: public endpoint on, open to 0.0.0.0/0, private endpoint off.
   */
  cluster: z
    .strictObject({
      name: eksName,
      /** Kubernetes version; EKS's default when absent (the emulator refuses versions EKS does not offer) */
      version: z.string().regex(/^1\.\d+$/, 'a Kubernetes minor version like 1.33').optional(),
      /** at least two availability zones among them, as EKS requires */
      subnets: z.array(name).min(1),
      /** additional security groups for the cluster's network interfaces (EKS adds its cluster security group) */
      securityGroups: z.array(name).max(5).default([]),
      endpointPublicAccess: z.boolean().default(true),
      endpointPrivateAccess: z.boolean().default(false),
      publicAccessCidrs: z.array(ipv4Cidr).min(1).default(['0.0.0.0/0']),
      fargateProfiles: z
        .array(
          z.strictObject({
            name: eksName,
            /** private subnets only (no route to an internet gateway), as EKS requires; absent: the cluster's */
            subnets: z.array(name).min(1).optional(),
            selectors: z.array(z.strictObject({ namespace: z.string().min(1), labels: z.record(z.string(), z.string()).optional() })).min(1).max(5),
          }),
        )
        .default([]),
    })
    .optional(),
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
  const tgws = declared('transitGateways', t.transitGateways);
  const vgws = declared('virtualPrivateGateways', t.virtualPrivateGateways);
  declared('networkAcls', t.networkAcls);
  declared('onPremises', t.onPremises);
  declared('routeTables', t.routeTables);
  declared('instances', t.instances);
  const ref = (set: Set<string>, value: string, path: string, kind: string) => {
    if (!set.has(value)) problems.push(`${path}: no ${kind} named '${value}' (declared: ${[...set].join(', ') || 'none'})`);
  };
  t.subnets.forEach((s, i) => ref(vpcs, s.vpc, `subnets[${i}].vpc`, 'VPC'));
  t.vpcs.forEach((v, i) => problems.push(...secondaryCidrProblems(t, v, i)));
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
      if (r.tgw) ref(tgws, r.tgw, `routeTables[${i}].routes[${j}].tgw`, 'transit gateway');
      if (r.vgw) ref(vgws, r.vgw, `routeTables[${i}].routes[${j}].vgw`, 'virtual private gateway');
    });
  });
  const vpcOf = (kind: 'subnet' | 'group', itemName: string) =>
    (kind === 'subnet' ? t.subnets : t.securityGroups).find((x) => x.name === itemName)?.vpc;
  t.securityGroups.forEach((g, i) => {
    ref(vpcs, g.vpc, `securityGroups[${i}].vpc`, 'VPC');
    for (const direction of ['ingress', 'egress'] as const) {
      (g[direction] ?? []).forEach((r, j) => {
        if (r.sg === undefined) return;
        const path = `securityGroups[${i}].${direction}[${j}].sg`;
        ref(groups, r.sg, path, 'security group');
        const peerVpc = vpcOf('group', r.sg);
        if (peerVpc !== undefined && peerVpc !== g.vpc) problems.push(`${path}: '${r.sg}' is in VPC '${peerVpc}', not '${g.vpc}' (a rule names groups of its own VPC)`);
      });
    }
  });
  t.networkAcls.forEach((acl, i) => {
    ref(vpcs, acl.vpc, `networkAcls[${i}].vpc`, 'VPC');
    acl.subnets.forEach((s, j) => {
      ref(subnets, s, `networkAcls[${i}].subnets[${j}]`, 'subnet');
      const subnetVpc = vpcOf('subnet', s);
      if (subnetVpc !== undefined && subnetVpc !== acl.vpc) problems.push(`networkAcls[${i}].subnets[${j}]: '${s}' is in VPC '${subnetVpc}', not '${acl.vpc}'`);
      const earlier = t.networkAcls.findIndex((other, k) => k < i && other.subnets.includes(s));
      if (earlier >= 0) problems.push(`networkAcls[${i}].subnets[${j}]: '${s}' is already associated with networkAcls[${earlier}] (a subnet has one ACL)`);
    });
    for (const direction of ['ingress', 'egress'] as const) {
      const numbers = new Set<number>();
      acl[direction].forEach((e, j) => {
        if (numbers.has(e.rule)) problems.push(`networkAcls[${i}].${direction}[${j}].rule: ${e.rule} is used twice (rule numbers are unique per direction)`);
        numbers.add(e.rule);
      });
    }
  });
  t.transitGateways.forEach((g, i) => {
    const attached = new Set<string>();
    g.attachments.forEach((a, j) => {
      ref(vpcs, a.vpc, `transitGateways[${i}].attachments[${j}].vpc`, 'VPC');
      if (attached.has(a.vpc)) problems.push(`transitGateways[${i}].attachments[${j}].vpc: '${a.vpc}' is attached twice`);
      attached.add(a.vpc);
      a.subnets.forEach((s, k) => {
        ref(subnets, s, `transitGateways[${i}].attachments[${j}].subnets[${k}]`, 'subnet');
        const subnetVpc = vpcOf('subnet', s);
        if (subnetVpc !== undefined && subnetVpc !== a.vpc) problems.push(`transitGateways[${i}].attachments[${j}].subnets[${k}]: '${s}' is in VPC '${subnetVpc}', not '${a.vpc}'`);
        // EC2 refuses two subnets of one zone in an attachment (DuplicateSubnetsInSameZone)
        const zoneOf = (name: string) => t.subnets.find((x) => x.name === name)?.az;
        const sameZone = a.subnets.slice(0, k).find((other) => zoneOf(other) !== undefined && zoneOf(other) === zoneOf(s));
        if (sameZone !== undefined) problems.push(`transitGateways[${i}].attachments[${j}].subnets[${k}]: '${s}' is in ${zoneOf(s)} like '${sameZone}' (an attachment takes one subnet per availability zone)`);
      });
    });
    (g.routes ?? []).forEach((r, j) => {
      if (!attached.has(r.attachment)) problems.push(`transitGateways[${i}].routes[${j}].attachment: '${r.attachment}' is not a VPC attached to '${g.name}' (attached: ${[...attached].join(', ') || 'none'})`);
    });
  });
  const vgwVpcs = new Set<string>();
  t.virtualPrivateGateways.forEach((g, i) => {
    ref(vpcs, g.vpc, `virtualPrivateGateways[${i}].vpc`, 'VPC');
    if (vgwVpcs.has(g.vpc)) problems.push(`virtualPrivateGateways[${i}].vpc: '${g.vpc}' already has a virtual private gateway (one per VPC)`);
    vgwVpcs.add(g.vpc);
  });
  t.onPremises.forEach((n, i) => {
    if ('vgw' in n.via) ref(vgws, n.via.vgw, `onPremises[${i}].via.vgw`, 'virtual private gateway');
    else ref(tgws, n.via.tgw, `onPremises[${i}].via.tgw`, 'transit gateway');
    // an on-premises network is routed to by its CIDR: it may not overlap a VPC's blocks or another such network
    const cidr = parseCidr(n.cidr);
    t.vpcs.forEach((v, j) => {
      const block = [v.cidr, ...v.secondaryCidrs].find((b) => cidrsOverlap(parseCidr(b), cidr));
      if (block) problems.push(`onPremises[${i}].cidr: ${n.cidr} overlaps vpcs[${j}] '${v.name}' (${block}); an on-premises network needs addresses of its own`);
    });
    const earlier = t.onPremises.findIndex((other, k) => k < i && cidrsOverlap(parseCidr(other.cidr), cidr));
    if (earlier >= 0) problems.push(`onPremises[${i}].cidr: ${n.cidr} overlaps onPremises[${earlier}] '${t.onPremises[earlier]!.name}' (${t.onPremises[earlier]!.cidr})`);
  });
  t.instances.forEach((inst, i) => {
    ref(subnets, inst.subnet, `instances[${i}].subnet`, 'subnet');
    inst.securityGroups.forEach((g, j) => ref(groups, g, `instances[${i}].securityGroups[${j}]`, 'security group'));
  });
  if (t.cluster) {
    const c = t.cluster;
    c.subnets.forEach((s, j) => ref(subnets, s, `cluster.subnets[${j}]`, 'subnet'));
    c.securityGroups.forEach((g, j) => ref(groups, g, `cluster.securityGroups[${j}]`, 'security group'));
    declared('cluster.fargateProfiles', c.fargateProfiles);
    c.fargateProfiles.forEach((p, i) => (p.subnets ?? []).forEach((s, j) => ref(subnets, s, `cluster.fargateProfiles[${i}].subnets[${j}]`, 'subnet')));
  }
  return problems;
}

/**
 * What AssociateVpcCidrBlock would refuse of `vpcs[i].secondaryCidrs`, in the order the applier associates them:
 * a size outside /16../28, a range the primary block's range restricts, an overlap with the VPC's own blocks or
 * with a peered VPC's, more than EC2's 5 blocks per VPC.
 */
function secondaryCidrProblems(t: Topology, v: Topology['vpcs'][number], i: number): string[] {
  const problems: string[] = [];
  const blocks = [v.cidr];
  const peerNames = t.peerings.flatMap((p) => (p.requester === v.name ? [p.accepter] : p.accepter === v.name ? [p.requester] : []));
  const peerBlocks = t.vpcs.filter((x) => peerNames.includes(x.name)).flatMap((x) => [x.cidr, ...x.secondaryCidrs].map((b) => ({ vpc: x.name, b })));
  v.secondaryCidrs.forEach((c, j) => {
    const path = `vpcs[${i}].secondaryCidrs[${j}]`;
    const cidr = parseCidr(c);
    if (!vpcBlockSizeAllowed(cidr.prefixLength)) problems.push(`${path}: ${c} is not /16 to /28 (the sizes of a VPC block)`);
    const restricted = restrictedAssociation(blocks, c);
    if (restricted) problems.push(`${path}: ${c} is a restricted range for VPC '${v.name}' (${restricted}); 100.64.0.0/10 or a publicly routable block is allowed`);
    const own = blocks.find((b) => cidrsOverlap(parseCidr(b), cidr));
    if (own) problems.push(`${path}: ${c} overlaps ${own}, already a block of VPC '${v.name}'`);
    const peer = peerBlocks.find(({ b }) => cidrsOverlap(parseCidr(b), cidr));
    if (peer) problems.push(`${path}: ${c} overlaps ${peer.b} of the peered VPC '${peer.vpc}' (EC2 refuses a block that overlaps a peered VPC's)`);
    blocks.push(c);
  });
  if (blocks.length > MAX_IPV4_CIDRS_PER_VPC) problems.push(`vpcs[${i}].secondaryCidrs: ${blocks.length} blocks with the primary; EC2 allows ${MAX_IPV4_CIDRS_PER_VPC} per VPC`);
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
