/**
 * Reading a VPC back through the EC2 API (@aws-sdk/client-ec2, any endpoint): one Describe call per kind of
 * resource, in parallel. The topology applier compares what it finds with the file; the lab's fabric controller
 * turns it into the VPC model (src/vpc) it compiles to rules.
 */
import {
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeNetworkAclsCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeTransitGatewayAttachmentsCommand,
  DescribeTransitGatewaysCommand,
  DescribeTransitGatewayVpcAttachmentsCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
  DescribeVpnGatewaysCommand,
  DescribeVpnConnectionsCommand,
  DescribeCustomerGatewaysCommand,
  type CustomerGateway,
  type VpnConnection,
  type EC2Client,
  type Instance,
  type InternetGateway,
  type IpPermission,
  type NatGateway,
  type NetworkAcl,
  type RouteTable,
  type SecurityGroup,
  type Subnet,
  type Tag,
  type TransitGateway,
  type TransitGatewayAttachment,
  type TransitGatewayRoute,
  type TransitGatewayVpcAttachment,
  type Vpc,
  type VpcPeeringConnection,
  type VpnGateway,
  SearchTransitGatewayRoutesCommand,
} from '@aws-sdk/client-ec2';
import type { Filtering, IpProtocol, PortRange, RouteTarget, SecurityGroupRule, TransitGatewayAttachment as TransitGatewayAttachmentFacts, VpcFacts } from '../vpc/index.js';

/** Every VPC resource EC2 lists, as the SDK returns them; instances without the terminated ones. */
export interface VpcResources {
  vpcs: Vpc[];
  subnets: Subnet[];
  routeTables: RouteTable[];
  internetGateways: InternetGateway[];
  natGateways: NatGateway[];
  peerings: VpcPeeringConnection[];
  securityGroups: SecurityGroup[];
  networkAcls: NetworkAcl[];
  instances: Instance[];
  transitGateways: TransitGatewayResources;
  vpnGateways: VpnGateway[];
  /** Site-to-Site VPN connections and their customer gateways (the topology applier's, for onPremises over a TGW) */
  vpnConnections: VpnConnection[];
  customerGateways: CustomerGateway[];
}

/** Transit gateways, their attachments (all resource types; VPC ones with their subnets) and each default route table's routes. */
export interface TransitGatewayResources {
  gateways: TransitGateway[];
  attachments: TransitGatewayAttachment[];
  vpcAttachments: TransitGatewayVpcAttachment[];
  /** route table id → its active and blackhole routes */
  routes: Record<string, TransitGatewayRoute[]>;
}

async function describeTransitGatewayResources(client: EC2Client): Promise<TransitGatewayResources> {
  const [gateways, attachments, vpcAttachments] = await Promise.all([
    client.send(new DescribeTransitGatewaysCommand({})),
    client.send(new DescribeTransitGatewayAttachmentsCommand({})),
    client.send(new DescribeTransitGatewayVpcAttachmentsCommand({})),
  ]);
  const live = (gateways.TransitGateways ?? []).filter((g) => g.State === 'available' || g.State === 'pending' || g.State === 'modifying');
  const tables = live.flatMap((g) => (g.Options?.AssociationDefaultRouteTableId ? [g.Options.AssociationDefaultRouteTableId] : []));
  const routes = await Promise.all(
    tables.map((id) => client.send(new SearchTransitGatewayRoutesCommand({ TransitGatewayRouteTableId: id, Filters: [{ Name: 'state', Values: ['active', 'blackhole'] }] }))),
  );
  return {
    gateways: live,
    attachments: (attachments.TransitGatewayAttachments ?? []).filter((a) => a.State === 'available'),
    vpcAttachments: (vpcAttachments.TransitGatewayVpcAttachments ?? []).filter((a) => a.State === 'available'),
    routes: Object.fromEntries(tables.map((id, i) => [id, routes[i]!.Routes ?? []])),
  };
}

export async function describeVpcResources(client: EC2Client): Promise<VpcResources> {
  const [vpcs, subnets, tables, igws, nats, pcxs, groups, acls, reservations, tgws, vgws, vpns, cgws] = await Promise.all([
    client.send(new DescribeVpcsCommand({})),
    client.send(new DescribeSubnetsCommand({})),
    client.send(new DescribeRouteTablesCommand({})),
    client.send(new DescribeInternetGatewaysCommand({})),
    client.send(new DescribeNatGatewaysCommand({})),
    client.send(new DescribeVpcPeeringConnectionsCommand({})),
    client.send(new DescribeSecurityGroupsCommand({})),
    client.send(new DescribeNetworkAclsCommand({})),
    client.send(new DescribeInstancesCommand({})),
    describeTransitGatewayResources(client),
    client.send(new DescribeVpnGatewaysCommand({})),
    client.send(new DescribeVpnConnectionsCommand({})),
    client.send(new DescribeCustomerGatewaysCommand({})),
  ]);
  return {
    vpcs: vpcs.Vpcs ?? [],
    subnets: subnets.Subnets ?? [],
    routeTables: tables.RouteTables ?? [],
    internetGateways: igws.InternetGateways ?? [],
    natGateways: nats.NatGateways ?? [],
    peerings: pcxs.VpcPeeringConnections ?? [],
    securityGroups: groups.SecurityGroups ?? [],
    networkAcls: acls.NetworkAcls ?? [],
    instances: (reservations.Reservations ?? []).flatMap((r) => r.Instances ?? []).filter((i) => i.State?.Name !== 'terminated'),
    transitGateways: tgws,
    vpnGateways: (vgws.VpnGateways ?? []).filter((g) => g.State !== 'deleted' && g.State !== 'deleting'),
    vpnConnections: (vpns.VpnConnections ?? []).filter((v) => v.State !== 'deleted' && v.State !== 'deleting'),
    customerGateways: (cgws.CustomerGateways ?? []).filter((c) => c.State !== 'deleted' && c.State !== 'deleting'),
  };
}

/** A resource's Name tag ('' without one). */
export const nameTagOf = (tags: Tag[] | undefined): string => tags?.find((t) => t.Key === 'Name')?.Value ?? '';

/** The VPC model's facts plus what the lab needs besides: which instance and group ids have which names. */
export interface Ec2Facts extends VpcFacts {
  instances: Array<{ id: string; name: string }>;
  securityGroups: Array<{ id: string; name: string; vpcId: string }>;
}

function routeTargetOf(r: NonNullable<RouteTable['Routes']>[number]): RouteTarget {
  if (r.GatewayId === 'local') return { kind: 'local' };
  if (r.GatewayId?.startsWith('igw-')) return { kind: 'igw', id: r.GatewayId };
  if (r.GatewayId?.startsWith('vgw-')) return { kind: 'vgw', id: r.GatewayId };
  if (r.NatGatewayId) return { kind: 'nat', id: r.NatGatewayId };
  if (r.TransitGatewayId) return { kind: 'tgw', id: r.TransitGatewayId };
  if (r.VpcPeeringConnectionId) return { kind: 'pcx', id: r.VpcPeeringConnectionId };
  return { kind: 'other', id: r.NetworkInterfaceId ?? r.InstanceId ?? r.GatewayId ?? '' };
}

/** A protocol as EC2 lists it (a name or a number; -1 for all) in the model's terms. */
function modelProtocol(text: string): IpProtocol {
  const named: Record<string, IpProtocol> = { '-1': 'all', tcp: 'tcp', '6': 'tcp', udp: 'udp', '17': 'udp', icmp: 'icmp', '1': 'icmp' };
  return named[text] ?? (text === 'icmpv6' ? 58 : Number(text));
}

/**
 * The port range a rule of `protocol` keeps: tcp/udp ports, ICMP type and code; none for all protocols, for other
 * protocol numbers (EC2 allows every port there) and for ICMP's any type (-1).
 */
function modelPorts(protocol: IpProtocol, from: number | undefined, to: number | undefined): PortRange | undefined {
  if (from === undefined || to === undefined) return undefined;
  if (protocol === 'tcp' || protocol === 'udp') return { from, to };
  if (protocol === 'icmp' && from !== -1) return { from, to };
  return undefined;
}

/** One IpPermission as the model's rules: one per IPv4 range and one per referenced group (IPv6 is not modelled). */
function modelRules(permissions: IpPermission[] | undefined): SecurityGroupRule[] {
  return (permissions ?? []).flatMap((p) => {
    const protocol = modelProtocol(p.IpProtocol!);
    const ports = modelPorts(protocol, p.FromPort, p.ToPort);
    const base = { protocol, ...(ports ? { ports } : {}) };
    return [
      ...(p.IpRanges ?? []).map((r): SecurityGroupRule => ({ ...base, peer: { cidr: r.CidrIp! } })),
      ...(p.UserIdGroupPairs ?? []).map((g): SecurityGroupRule => ({ ...base, peer: { groupId: g.GroupId! } })),
    ];
  });
}

/**
 * Security groups with their rules and network ACLs with their IPv4 entries in rule-number order (the implicit
 * deny EC2 lists as 32767 is the model's end of the list, not an entry) and their subnets.
 */
function filteringOf(resources: VpcResources): Filtering {
  return {
    securityGroups: resources.securityGroups.map((g) => ({
      id: g.GroupId!,
      name: g.GroupName!,
      vpcId: g.VpcId!,
      ingress: modelRules(g.IpPermissions),
      egress: modelRules(g.IpPermissionsEgress),
    })),
    networkAcls: resources.networkAcls.map((a) => ({
      id: a.NetworkAclId!,
      vpcId: a.VpcId!,
      isDefault: a.IsDefault ?? false,
      subnetIds: (a.Associations ?? []).flatMap((x) => (x.SubnetId ? [x.SubnetId] : [])),
      entries: (a.Entries ?? [])
        .filter((e) => e.CidrBlock && e.RuleNumber! <= 32766)
        .sort((x, y) => Number(x.Egress) - Number(y.Egress) || x.RuleNumber! - y.RuleNumber!)
        .map((e) => {
          const protocol = modelProtocol(e.Protocol!);
          const ports = e.PortRange ? modelPorts(protocol, e.PortRange.From, e.PortRange.To) : e.IcmpTypeCode ? modelPorts(protocol, e.IcmpTypeCode.Type, e.IcmpTypeCode.Code) : undefined;
          return { ruleNumber: e.RuleNumber!, egress: e.Egress ?? false, protocol, ...(ports ? { ports } : {}), cidr: e.CidrBlock!, action: e.RuleAction === 'deny' ? ('deny' as const) : ('allow' as const) };
        }),
    })),
  };
}

/**
 * The model's transit gateways: VPC attachments with their subnets (other resource types are not modelled yet) and the
 * default route table's routes, a blackhole or one whose attachment is not modelled carrying no attachment.
 */
function transitGatewaysOf(t: TransitGatewayResources): NonNullable<VpcFacts['transitGateways']> {
  return t.gateways.map((g) => {
    const attachments: TransitGatewayAttachmentFacts[] = [
      ...t.vpcAttachments
        .filter((a) => a.TransitGatewayId === g.TransitGatewayId)
        .map((a) => ({ id: a.TransitGatewayAttachmentId!, resourceType: 'vpc' as const, vpcId: a.VpcId!, subnetIds: a.SubnetIds ?? [] })),
      // a Site-to-Site VPN connection's attachment: the way to the on-premises networks behind the gateway
      ...t.attachments
        .filter((a) => a.TransitGatewayId === g.TransitGatewayId && a.ResourceType === 'vpn')
        .map((a) => ({ id: a.TransitGatewayAttachmentId!, resourceType: 'vpn' as const, resourceId: a.ResourceId! })),
    ];
    const table = g.Options?.AssociationDefaultRouteTableId;
    const routes = (table ? (t.routes[table] ?? []) : []).flatMap((r) => {
      if (!r.DestinationCidrBlock) return [];
      const id = r.State === 'active' ? r.TransitGatewayAttachments?.[0]?.TransitGatewayAttachmentId : undefined;
      const attachmentId = id !== undefined && attachments.some((a) => a.id === id) ? id : null;
      return [{ destination: r.DestinationCidrBlock, attachmentId, origin: r.Type === 'static' ? ('static' as const) : ('propagated' as const) }];
    });
    return { id: g.TransitGatewayId!, name: nameTagOf(g.Tags), attachments, routes };
  });
}

/** What EC2 says about the VPCs, as the model's facts (IPv4 routes; names from Name tags). */
export function factsOf(resources: VpcResources): Ec2Facts {
  const routeTables = resources.routeTables.map((t) => ({
    id: t.RouteTableId!,
    vpcId: t.VpcId!,
    main: (t.Associations ?? []).some((a) => a.Main),
    subnets: (t.Associations ?? []).flatMap((a) => (a.SubnetId ? [a.SubnetId] : [])),
    routes: (t.Routes ?? []).filter((r) => r.DestinationCidrBlock).map((r) => ({ destination: r.DestinationCidrBlock!, target: routeTargetOf(r) })),
  }));
  return {
    vpcs: resources.vpcs.map((v) => ({
      id: v.VpcId!,
      name: nameTagOf(v.Tags),
      cidr: v.CidrBlock!,
      // the primary block first (EC2 lists it first), then the associated secondary ones
      cidrs: [v.CidrBlock!, ...(v.CidrBlockAssociationSet ?? []).filter((a) => a.CidrBlockState?.State === 'associated' && a.CidrBlock !== v.CidrBlock).map((a) => a.CidrBlock!)],
    })),
    subnets: resources.subnets.map((s) => ({
      id: s.SubnetId!,
      name: nameTagOf(s.Tags),
      vpcId: s.VpcId!,
      cidr: s.CidrBlock!,
      // a subnet without an explicit association uses its VPC's main route table
      routeTableId: routeTables.find((t) => t.subnets.includes(s.SubnetId!))?.id ?? routeTables.find((t) => t.main && t.vpcId === s.VpcId)?.id ?? null,
    })),
    routeTables: routeTables.map(({ id, vpcId, routes }) => ({ id, vpcId, routes })),
    internetGateways: resources.internetGateways.map((g) => ({ id: g.InternetGatewayId!, name: nameTagOf(g.Tags), vpcId: g.Attachments?.[0]?.VpcId ?? null })),
    natGateways: resources.natGateways
      .filter((n) => n.State !== 'deleted' && n.State !== 'deleting')
      .map((n) => {
        const a = n.NatGatewayAddresses?.[0];
        return { id: n.NatGatewayId!, name: nameTagOf(n.Tags), eniId: a?.NetworkInterfaceId ?? '', privateIp: a?.PrivateIp ?? '', publicIp: a?.PublicIp ?? null };
      }),
    peerings: resources.peerings
      .filter((p) => p.Status?.Code === 'active')
      .map((p) => ({ id: p.VpcPeeringConnectionId!, name: nameTagOf(p.Tags), requesterVpcId: p.RequesterVpcInfo?.VpcId ?? '', accepterVpcId: p.AccepterVpcInfo?.VpcId ?? '' })),
    securityGroups: resources.securityGroups.map((g) => ({ id: g.GroupId!, name: g.GroupName!, vpcId: g.VpcId! })),
    filtering: filteringOf(resources),
    transitGateways: transitGatewaysOf(resources.transitGateways),
    vpnGateways: resources.vpnGateways.map((g) => ({
      id: g.VpnGatewayId!,
      name: nameTagOf(g.Tags),
      vpcId: g.VpcAttachments?.find((a) => a.State === 'attached')?.VpcId ?? null,
    })),
    instances: resources.instances.map((i) => ({ id: i.InstanceId!, name: nameTagOf(i.Tags) })),
  };
}

/** Describes the VPCs through `client` and returns their facts. */
export async function describeFacts(client: EC2Client): Promise<Ec2Facts> {
  return factsOf(await describeVpcResources(client));
}
