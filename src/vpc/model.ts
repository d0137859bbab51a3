/**
 * The VPC as data, in EC2's terms (resources by their ids, as the Describe calls return them): what the lab's fabric
 * compiles to rules and what the path evaluation reads. Security groups and network ACLs are optional sections
 * (issue 13; evaluated by security-groups.ts and network-acls.ts); transit gateways are a later section.
 */
import { cidrContains, parseAddress, parseCidr } from '../net/index.js';
import type { EksCluster } from './eks.js';

/** A route's target as EC2 describes it. */
export type RouteTarget =
  | { kind: 'local' }
  | { kind: 'igw'; id: string }
  | { kind: 'nat'; id: string }
  | { kind: 'pcx'; id: string }
  /** a transit gateway (tgw-…): the VPC must be attached to it, as EC2 checks at CreateRoute */
  | { kind: 'tgw'; id: string }
  /** a virtual private gateway (vgw-…): EC2 takes the route only while the gateway is attached to the VPC */
  | { kind: 'vgw'; id: string }
  /** a network interface or instance target: EC2 accepts it; neither the model nor the lab forwards by it yet */
  | { kind: 'other'; id: string };

export interface VpcRoute {
  destination: string;
  target: RouteTarget;
}

/** What EC2 says about the VPCs (names are the resources' Name tags). */
export interface VpcFacts {
  /** cidr: the primary IPv4 block; cidrs: every associated IPv4 block, primary first (absent: the primary only) */
  vpcs: Array<{ id: string; name: string; cidr: string; cidrs?: string[] }>;
  /** routeTableId: the explicitly associated table, else the VPC's main table */
  subnets: Array<{ id: string; name: string; vpcId: string; cidr: string; routeTableId: string | null }>;
  routeTables: Array<{ id: string; vpcId: string; routes: VpcRoute[] }>;
  internetGateways: Array<{ id: string; name: string; vpcId: string | null }>;
  natGateways: Array<{ id: string; name: string; eniId: string; privateIp: string; publicIp: string | null }>;
  peerings: Array<{ id: string; name: string; requesterVpcId: string; accepterVpcId: string }>;
  /** Transit gateways with their attachments and route table (transit-gateways.ts looks routes up). Absent: none. */
  transitGateways?: TransitGateway[];
  /** Virtual private gateways, with the VPC each is attached to now (null: detached). Absent: none. */
  vpnGateways?: VpnGateway[];
  /**
   * The networks outside AWS behind a virtual private gateway or a transit gateway. EC2 does not know them (they are
   * the customer's side of a VPN or Direct Connect): whoever builds the model supplies them (the lab, from its
   * scenario). Absent: none.
   */
  onPremises?: OnPremisesNetwork[];
  /**
   * Security groups with their rules and network ACLs with their entries. Absent: the model says nothing about them
   * and nothing is filtered (a section of its own because the lab's Ec2Facts already lists groups, by name only).
   */
  filtering?: Filtering;
  /** EKS clusters in these VPCs (their endpoint, ENIs, Fargate profiles: eks.ts), as the emulator serves them. Absent: none. */
  eksClusters?: EksCluster[];
}

/**
 * A transit gateway with its one route table (the default association and propagation table, which every attachment
 * uses here): the propagated routes of its attachments and the static ones.
 */
export interface TransitGateway {
  id: string;
  name: string;
  attachments: TransitGatewayAttachment[];
  routes: TransitGatewayRoute[];
}

/** An attachment, by EC2's resource type: a VPC through some of its subnets (one per availability zone). */
export type TransitGatewayAttachment =
  | { id: string; resourceType: 'vpc'; vpcId: string; subnetIds: string[] }
  /** a Site-to-Site VPN connection (vpn-…): the way to the on-premises networks behind the gateway */
  | { id: string; resourceType: 'vpn'; resourceId: string };

/** A route of a transit gateway's route table; `attachmentId` null: a blackhole route (drops what it matches). */
export interface TransitGatewayRoute {
  destination: string;
  attachmentId: string | null;
  origin: 'propagated' | 'static';
}

/** A virtual private gateway: the VPC side of a Site-to-Site VPN or Direct Connect, attached to one VPC at a time. */
export interface VpnGateway {
  id: string;
  name: string;
  vpcId: string | null;
}

/**
 * A network outside AWS and the gateway it is reached over. Its side routes every CIDR of the VPC (or, over a transit
 * gateway, everything the gateway routes) back over that same gateway, and nothing else.
 */
export interface OnPremisesNetwork {
  name: string;
  cidr: string;
  via: { vgwId: string } | { tgwId: string };
}

export interface Filtering {
  securityGroups: SecurityGroup[];
  networkAcls: NetworkAcl[];
}

/** A rule's protocol as EC2 takes it: a name, `all` (EC2's -1), or an IP protocol number. */
export type IpProtocol = 'tcp' | 'udp' | 'icmp' | 'all' | number;

/**
 * A rule's port range, inclusive, matched against the destination port. For ICMP, as EC2 encodes it: `from` is the
 * ICMP type and `to` the code, -1 meaning any. Absent: every port (protocol `all` and protocols without ports).
 */
export interface PortRange {
  from: number;
  to: number;
}

/** One security group rule: who (a CIDR, or every private address of the ENIs in a group) may use which ports. */
export interface SecurityGroupRule {
  protocol: IpProtocol;
  ports?: PortRange;
  peer: { cidr: string } | { groupId: string };
}

/**
 * A security group, with exactly the rules EC2 lists for it: EC2 gives a new group one egress rule (all traffic to
 * 0.0.0.0/0) and no ingress, and the VPC's default group an ingress rule from itself; those are rules here too.
 */
export interface SecurityGroup {
  id: string;
  name: string;
  vpcId: string;
  ingress: SecurityGroupRule[];
  egress: SecurityGroupRule[];
}

/** One network ACL entry; `ruleNumber` 1–32766 (the implicit deny `*` after them is not an entry). */
export interface NetworkAclEntry {
  ruleNumber: number;
  egress: boolean;
  protocol: IpProtocol;
  ports?: PortRange;
  cidr: string;
  action: 'allow' | 'deny';
}

/** A network ACL: the subnets associated with it, and its entries in both directions. */
export interface NetworkAcl {
  id: string;
  vpcId: string;
  /** the VPC's default ACL: every subnet without an explicit association uses it */
  isDefault: boolean;
  subnetIds: string[];
  entries: NetworkAclEntry[];
}

/**
 * One packet as security groups and network ACLs see it. Ports for tcp and udp; `icmp` for ICMP (type and code).
 * A protocol name and its number (6, 17, 1) are the same protocol.
 */
export interface Flow {
  protocol: 'tcp' | 'udp' | 'icmp' | number;
  source: string;
  destination: string;
  sourcePort?: number;
  destinationPort?: number;
  icmp?: { type: number; code: number };
}

/** A network interface as the VPC sees it: which addresses EC2 assigned to it. */
export interface NetworkInterface {
  eniId: string;
  vpcId: string;
  subnetId: string;
  /** primary first */
  privateIps: string[];
  ipv4Prefixes: string[];
  /** private address → public IP (a public IP on launch or an associated Elastic IP) */
  publicIps: Record<string, string>;
  /** the security groups EC2 lists for this ENI; absent: not modelled (nothing filters it) */
  groupIds?: string[];
}

/** The VPCs and the network interfaces in them. */
export interface VpcModel extends VpcFacts {
  enis: NetworkInterface[];
}

/** The network interface that holds `address`: as its primary or a secondary address, or inside a delegated prefix. */
export function eniHolding<E extends Pick<NetworkInterface, 'privateIps' | 'ipv4Prefixes'>>(enis: readonly E[], address: string): E | undefined {
  const a = parseAddress(address);
  return enis.find((e) => e.privateIps.includes(address) || e.ipv4Prefixes.some((p) => cidrContains(parseCidr(p), a)));
}

/** Every IPv4 block of a VPC, primary first: all are local to it (EC2 gives each a local route). */
export function vpcCidrsOf(vpc: Pick<VpcFacts['vpcs'][number], 'cidr' | 'cidrs'>): string[] {
  return vpc.cidrs && vpc.cidrs.length > 0 ? vpc.cidrs : [vpc.cidr];
}

/** The VPC one of whose CIDRs (primary or secondary) contains `address`. */
export function vpcContaining(model: Pick<VpcFacts, 'vpcs'>, address: string): VpcFacts['vpcs'][number] | undefined {
  const a = parseAddress(address);
  return model.vpcs.find((v) => vpcCidrsOf(v).some((c) => cidrContains(parseCidr(c), a)));
}

/**
 * What the source/destination check lets out of an ENI: every address and prefix EC2 assigned to it (as CIDRs), or
 * everything for a NAT gateway's ENI, for which AWS turns the check off (it forwards for others).
 */
export function sourceCheck(model: Pick<VpcFacts, 'natGateways'>, eni: NetworkInterface): { checked: false } | { checked: true; allowed: string[] } {
  if (model.natGateways.some((n) => n.eniId === eni.eniId)) return { checked: false };
  return { checked: true, allowed: [...eni.privateIps.map((ip) => `${ip}/32`), ...eni.ipv4Prefixes] };
}

/** Whether the source/destination check lets a packet with `source` leave `eni`. */
export function sourceCheckPasses(model: Pick<VpcFacts, 'natGateways'>, eni: NetworkInterface, source: string): boolean {
  const check = sourceCheck(model, eni);
  if (!check.checked) return true;
  const a = parseAddress(source);
  return check.allowed.some((c) => cidrContains(parseCidr(c), a));
}

/**
 * The internet gateway's 1:1 translation for a VPC: each private address with a public IP, and that public IP, sorted
 * by private address. A NAT gateway's Elastic IP counts too (EC2 may list it on the NAT gateway only).
 */
export function publicAddresses(model: VpcModel, vpcId: string): Array<[privateIp: string, publicIp: string]> {
  const pairs: Array<[string, string]> = [];
  for (const eni of model.enis.filter((e) => e.vpcId === vpcId)) {
    for (const [priv, pub] of Object.entries(eni.publicIps)) pairs.push([priv, pub]);
    const nat = model.natGateways.find((n) => n.eniId === eni.eniId);
    if (nat?.publicIp && !pairs.some(([p]) => p === nat.privateIp)) pairs.push([nat.privateIp, nat.publicIp]);
  }
  return pairs.sort((a, b) => a[0].localeCompare(b[0]));
}

/** A route target with the resources it names looked up, from the side of the VPC whose table holds the route. */
export type ResolvedTarget =
  | { kind: 'local'; vpcId: string }
  | { kind: 'igw'; igw: VpcFacts['internetGateways'][number] }
  | { kind: 'nat'; nat: VpcFacts['natGateways'][number]; eni: NetworkInterface }
  | { kind: 'pcx'; peering: VpcFacts['peerings'][number]; peerVpcId: string }
  /** the transit gateway, entered through the VPC's attachment */
  | { kind: 'tgw'; tgw: TransitGateway; attachment: TransitGatewayAttachment }
  /** the virtual private gateway attached to the VPC */
  | { kind: 'vgw'; vgw: VpnGateway }
  /** a target the model cannot follow: gone (a deleted gateway), in another VPC, or of a kind not modelled */
  | { kind: 'unresolved'; why: string };

/** Looks up what a route of VPC `vpcId`'s table points at. */
export function resolveTarget(model: VpcModel, vpcId: string, target: RouteTarget): ResolvedTarget {
  switch (target.kind) {
    case 'local':
      return { kind: 'local', vpcId };
    case 'igw': {
      const igw = model.internetGateways.find((g) => g.id === target.id);
      if (!igw || igw.vpcId !== vpcId) return { kind: 'unresolved', why: `internet gateway ${target.id} is not attached to ${vpcId}` };
      return { kind: 'igw', igw };
    }
    case 'nat': {
      const nat = model.natGateways.find((n) => n.id === target.id);
      const eni = nat && model.enis.find((e) => e.eniId === nat.eniId);
      if (!nat || !eni || eni.vpcId !== vpcId) return { kind: 'unresolved', why: `NAT gateway ${target.id} has no network interface in ${vpcId}` };
      return { kind: 'nat', nat, eni };
    }
    case 'pcx': {
      const peering = model.peerings.find((p) => p.id === target.id);
      if (!peering || (peering.requesterVpcId !== vpcId && peering.accepterVpcId !== vpcId)) return { kind: 'unresolved', why: `peering ${target.id} does not connect ${vpcId}` };
      return { kind: 'pcx', peering, peerVpcId: peering.requesterVpcId === vpcId ? peering.accepterVpcId : peering.requesterVpcId };
    }
    case 'tgw': {
      const tgw = model.transitGateways?.find((g) => g.id === target.id);
      const attachment = tgw?.attachments.find((a) => a.resourceType === 'vpc' && a.vpcId === vpcId);
      if (!tgw || !attachment) return { kind: 'unresolved', why: `transit gateway ${target.id} has no attachment in ${vpcId}` };
      return { kind: 'tgw', tgw, attachment };
    }
    case 'vgw': {
      const vgw = model.vpnGateways?.find((g) => g.id === target.id);
      if (!vgw || vgw.vpcId !== vpcId) return { kind: 'unresolved', why: `virtual private gateway ${target.id} is not attached to ${vpcId}` };
      return { kind: 'vgw', vgw };
    }
    default:
      return { kind: 'unresolved', why: `route target ${target.id} (a network interface or instance) is not modelled` };
  }
}

const PROTOCOL_NUMBERS = { tcp: 6, udp: 17, icmp: 1, all: -1 } as const;

/** EC2's number for a protocol: tcp 6, udp 17, icmp 1, all -1. */
export function protocolNumber(protocol: IpProtocol): number {
  return typeof protocol === 'number' ? protocol : PROTOCOL_NUMBERS[protocol];
}

/**
 * Whether a rule's protocol and port range (the same encoding for security groups and network ACLs) cover a packet:
 * `all` covers everything; tcp and udp match the destination port; ICMP the type and code (-1: any); any other
 * protocol number has no ports.
 */
export function protocolAndPortsMatch(rule: { protocol: IpProtocol; ports?: PortRange }, flow: Flow): boolean {
  const wanted = protocolNumber(rule.protocol);
  if (wanted === -1) return true;
  const number = protocolNumber(flow.protocol);
  if (wanted !== number) return false;
  if (!rule.ports) return true;
  if (number === 6 || number === 17) {
    const port = flow.destinationPort;
    return port !== undefined && port >= rule.ports.from && port <= rule.ports.to;
  }
  if (number === 1) {
    const anyType = rule.ports.from === -1;
    const anyCode = rule.ports.to === -1;
    return anyType || (flow.icmp?.type === rule.ports.from && (anyCode || flow.icmp?.code === rule.ports.to));
  }
  return true;
}

/** The reply to a packet: addresses and ports swapped, an ICMP echo request (type 8) answered by an echo reply (0). */
export function reverseFlow(flow: Flow): Flow {
  const { sourcePort, destinationPort, icmp, ...rest } = flow;
  return {
    ...rest,
    source: flow.destination,
    destination: flow.source,
    ...(destinationPort !== undefined ? { sourcePort: destinationPort } : {}),
    ...(sourcePort !== undefined ? { destinationPort: sourcePort } : {}),
    ...(icmp ? { icmp: icmp.type === 8 ? { type: 0, code: icmp.code } : icmp } : {}),
  };
}

/** Whether `address` is inside `cidr` (false across address families). */
export function addressInCidr(address: string, cidr: string): boolean {
  return cidrContains(parseCidr(cidr), parseAddress(address));
}
