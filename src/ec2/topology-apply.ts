/**
 * Applying a topology file (src/vpc's schema) through the EC2 API with @aws-sdk/client-ec2 — the same calls any
 * client makes, so the emulator's state is built as EC2's would be. Applying it twice changes nothing: resources are
 * found by their Name tag (security groups by name and VPC). It lives beside the emulator, as its client, because
 * `podnet ec2 serve --topology` and the lab both build their VPC with it.
 */
import {
  AcceptVpcPeeringConnectionCommand,
  AllocateAddressCommand,
  AssociateRouteTableCommand,
  AssociateVpcCidrBlockCommand,
  AttachInternetGatewayCommand,
  AttachVpnGatewayCommand,
  CreateCustomerGatewayCommand,
  CreateVpnConnectionCommand,
  DescribeTransitGatewayAttachmentsCommand,
  AuthorizeSecurityGroupEgressCommand,
  AuthorizeSecurityGroupIngressCommand,
  CreateInternetGatewayCommand,
  CreateNatGatewayCommand,
  CreateNetworkAclCommand,
  CreateNetworkAclEntryCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateTransitGatewayCommand,
  CreateTransitGatewayRouteCommand,
  CreateTransitGatewayVpcAttachmentCommand,
  CreateVpcCommand,
  CreateVpcPeeringConnectionCommand,
  CreateVpnGatewayCommand,
  DetachVpnGatewayCommand,
  DeleteNetworkAclEntryCommand,
  DeleteTransitGatewayRouteCommand,
  DescribeNetworkAclsCommand,
  DisableTransitGatewayRouteTablePropagationCommand,
  EC2Client,
  EnableTransitGatewayRouteTablePropagationCommand,
  GetTransitGatewayRouteTablePropagationsCommand,
  ModifyNetworkInterfaceAttributeCommand,
  ModifySubnetAttributeCommand,
  ReplaceNetworkAclAssociationCommand,
  ReplaceNetworkAclEntryCommand,
  ReplaceRouteCommand,
  RevokeSecurityGroupEgressCommand,
  RevokeSecurityGroupIngressCommand,
  RunInstancesCommand,
  SearchTransitGatewayRoutesCommand,
  type Instance,
  type IpPermission,
  type NetworkAclEntry,
  type ResourceType,
  type Route,
  type SecurityGroup,
  type Tag,
  type Vpc,
} from '@aws-sdk/client-ec2';
import type { EKSClient } from '@aws-sdk/client-eks';
import { PodnetError } from '../lib/index.js';
import type { Topology } from '../vpc/index.js';
import { describeVpcResources, nameTagOf, type VpcResources } from './describe-vpc.js';

export interface TopologyChange {
  kind: string;
  name: string;
  id: string;
  /** What applying did: created the resource, changed it (tags, attribute, route, rule), or nothing. */
  change: 'created' | 'updated' | 'unchanged';
}

type ResourceKind = 'vpcs' | 'subnets' | 'internetGateways' | 'natGateways' | 'peerings' | 'transitGateways' | 'routeTables' | 'securityGroups' | 'networkAcls' | 'virtualPrivateGateways' | 'onPremises' | 'instances' | 'cluster' | 'fargateProfiles';

export interface TopologyApplyResult {
  changes: TopologyChange[];
  /** Name → ID, per kind, for callers that go on to use the resources (the lab). */
  ids: Record<ResourceKind, Record<string, string>>;
}

/**
 * Creates what is missing, in dependency order, through the EC2 API at `client`. Existing resources (same Name
 * tag) are kept; their tags, MapPublicIpOnLaunch, routes, associations and rules are completed where they differ.
 */
export async function applyTopology(topology: Topology, client: EC2Client, opts: ApplyTopologyOptions = {}): Promise<TopologyApplyResult> {
  if (topology.cluster && !opts.eks) {
    throw new PodnetError('FAILED', `topology: the cluster section (cluster '${topology.cluster.name}') needs an EKS client beside the EC2 one`, 'pass { eks } to applyTopology: an EKSClient at the emulator, or inProcessEksClient(state, region)');
  }
  const at = { entry: 'reading the existing resources' };
  try {
    const run: ApplyRun = { client, at, existing: await describeVpcResources(client), changes: [], ids: { vpcs: {}, subnets: {}, internetGateways: {}, natGateways: {}, peerings: {}, transitGateways: {}, routeTables: {}, securityGroups: {}, networkAcls: {}, virtualPrivateGateways: {}, onPremises: {}, instances: {}, cluster: {}, fargateProfiles: {} } };
    // each step may use the ids of the ones before it: subnets their VPC's, routes their gateways', instances their groups'
    for (const step of [applyVpcs, applySubnets, applyInternetGateways, applyPeerings, applyNatGateways, applyTransitGateways, applyOnPremisesOverTransitGateways, applyVirtualPrivateGateways, applyRouteTables, applySecurityGroups, applyNetworkAcls, applyInstances]) {
      await step(topology, run);
    }
    if (topology.cluster && opts.eks) {
      // EKS's side, through the EKS API (its SDK loads only for a topology with a cluster); it refuses with a field path itself
      at.entry = `cluster '${topology.cluster.name}'`;
      const { applyCluster } = await import('./eks-topology-apply.js');
      const applied = await applyCluster(topology.cluster, opts.eks, run.ids.subnets, run.ids.securityGroups);
      for (const c of applied.changes) record(run, c.kind, c.name, c.id, c.change);
    }
    return { changes: run.changes, ids: run.ids };
  } catch (err) {
    // EC2 refusing a call (a subnet outside its VPC, an unknown instance type) is a problem of the file, not a bug
    if ((err as { $fault?: string }).$fault !== 'client') throw err;
    throw new PodnetError('CONFIG_INVALID', `topology: EC2 refused ${at.entry}: ${(err as Error).name}: ${(err as Error).message}`,
      'fix that entry of the topology file; the emulator refuses what EC2 would', { cause: err });
  }
}

export interface ApplyTopologyOptions {
  /** The EKS API (at the same emulator, or in process) for the `cluster:` section; required when there is one. */
  eks?: EKSClient;
}

/** One application: the client, what EC2 had before it began, and what it has done so far. */
interface ApplyRun extends TopologyApplyResult {
  client: EC2Client;
  existing: VpcResources;
  /** the entry being applied, for the error */
  at: { entry: string };
}

function record(run: ApplyRun, kind: ResourceKind, name: string, id: string, change: TopologyChange['change']): void {
  run.ids[kind][name] = id;
  run.changes.push({ kind, name, id, change });
}

const toTags = (n: string, extra: Record<string, string> = {}): Tag[] => [{ Key: 'Name', Value: n }, ...Object.entries(extra).map(([Key, Value]) => ({ Key, Value }))];
const tagSpec = (resourceType: ResourceType, n: string, extra?: Record<string, string>) => [{ ResourceType: resourceType, Tags: toTags(n, extra) }];

/** Adds wanted tags that are missing or different; true if it changed anything. */
async function completeTags(run: ApplyRun, id: string, have: Tag[] | undefined, want: Tag[]): Promise<boolean> {
  const missing = want.filter((t) => !(have ?? []).some((h) => h.Key === t.Key && h.Value === t.Value));
  if (missing.length > 0) await run.client.send(new CreateTagsCommand({ Resources: [id], Tags: missing }));
  return missing.length > 0;
}

async function applyVpcs(topology: Topology, run: ApplyRun): Promise<void> {
  for (const v of topology.vpcs) {
    run.at.entry = `vpcs '${v.name}'`;
    const found = run.existing.vpcs.find((x) => nameTagOf(x.Tags) === v.name);
    if (found) {
      const tagged = await completeTags(run, found.VpcId!, found.Tags, toTags(v.name, v.tags));
      const associated = await associateSecondaryCidrs(run, found, v.secondaryCidrs);
      record(run, 'vpcs', v.name, found.VpcId!, tagged || associated ? 'updated' : 'unchanged');
      continue;
    }
    const created = await run.client.send(
      new CreateVpcCommand({ CidrBlock: v.cidr, AmazonProvidedIpv6CidrBlock: v.ipv6 || undefined, TagSpecifications: tagSpec('vpc', v.name, v.tags) }),
    );
    await associateSecondaryCidrs(run, created.Vpc!, v.secondaryCidrs);
    record(run, 'vpcs', v.name, created.Vpc!.VpcId!, 'created');
  }
}

/** Associates the wanted secondary blocks the VPC does not have yet (blocks it has beyond the file stay); true if any. */
async function associateSecondaryCidrs(run: ApplyRun, vpc: Vpc, wanted: readonly string[]): Promise<boolean> {
  const have = new Set((vpc.CidrBlockAssociationSet ?? []).filter((a) => a.CidrBlockState?.State === 'associated').map((a) => a.CidrBlock));
  const missing = wanted.filter((c) => !have.has(c));
  for (const cidr of missing) await run.client.send(new AssociateVpcCidrBlockCommand({ VpcId: vpc.VpcId!, CidrBlock: cidr }));
  return missing.length > 0;
}

async function applySubnets(topology: Topology, run: ApplyRun): Promise<void> {
  for (const s of topology.subnets) {
    run.at.entry = `subnets '${s.name}'`;
    const found = run.existing.subnets.find((x) => nameTagOf(x.Tags) === s.name);
    let id: string;
    let change: TopologyChange['change'];
    let mapPublic: boolean;
    if (found) {
      id = found.SubnetId!;
      change = (await completeTags(run, id, found.Tags, toTags(s.name, s.tags))) ? 'updated' : 'unchanged';
      mapPublic = found.MapPublicIpOnLaunch ?? false;
    } else {
      const created = await run.client.send(
        new CreateSubnetCommand({ VpcId: run.ids.vpcs[s.vpc], CidrBlock: s.cidr, AvailabilityZone: s.az, Ipv6CidrBlock: s.ipv6Cidr, TagSpecifications: tagSpec('subnet', s.name, s.tags) }),
      );
      id = created.Subnet!.SubnetId!;
      change = 'created';
      mapPublic = created.Subnet!.MapPublicIpOnLaunch ?? false;
    }
    if (mapPublic !== s.mapPublicIpOnLaunch) {
      await run.client.send(new ModifySubnetAttributeCommand({ SubnetId: id, MapPublicIpOnLaunch: { Value: s.mapPublicIpOnLaunch } }));
      if (change === 'unchanged') change = 'updated';
    }
    record(run, 'subnets', s.name, id, change);
  }
}

async function applyInternetGateways(topology: Topology, run: ApplyRun): Promise<void> {
  for (const g of topology.internetGateways) {
    run.at.entry = `internetGateways '${g.name}'`;
    const found = run.existing.internetGateways.find((x) => nameTagOf(x.Tags) === g.name);
    const id = found?.InternetGatewayId ?? (await run.client.send(new CreateInternetGatewayCommand({ TagSpecifications: tagSpec('internet-gateway', g.name) }))).InternetGateway!.InternetGatewayId!;
    const attached = (found?.Attachments ?? []).some((a) => a.VpcId === run.ids.vpcs[g.vpc]);
    if (!attached) await run.client.send(new AttachInternetGatewayCommand({ InternetGatewayId: id, VpcId: run.ids.vpcs[g.vpc] }));
    record(run, 'internetGateways', g.name, id, !found ? 'created' : attached ? 'unchanged' : 'updated');
  }
}

async function applyPeerings(topology: Topology, run: ApplyRun): Promise<void> {
  for (const p of topology.peerings) {
    run.at.entry = `peerings '${p.name}'`;
    const found = run.existing.peerings.find((x) => nameTagOf(x.Tags) === p.name && !['deleted', 'rejected', 'failed', 'expired'].includes(x.Status?.Code ?? ''));
    const id =
      found?.VpcPeeringConnectionId ??
      (await run.client.send(new CreateVpcPeeringConnectionCommand({ VpcId: run.ids.vpcs[p.requester], PeerVpcId: run.ids.vpcs[p.accepter], TagSpecifications: tagSpec('vpc-peering-connection', p.name) })))
        .VpcPeeringConnection!.VpcPeeringConnectionId!;
    const active = found?.Status?.Code === 'active';
    if (!active) await run.client.send(new AcceptVpcPeeringConnectionCommand({ VpcPeeringConnectionId: id }));
    record(run, 'peerings', p.name, id, !found ? 'created' : active ? 'unchanged' : 'updated');
  }
}

async function applyNatGateways(topology: Topology, run: ApplyRun): Promise<void> {
  for (const n of topology.natGateways) {
    run.at.entry = `natGateways '${n.name}'`;
    const found = run.existing.natGateways.find((x) => nameTagOf(x.Tags) === n.name && x.State !== 'deleted' && x.State !== 'deleting' && x.State !== 'failed');
    if (found) {
      record(run, 'natGateways', n.name, found.NatGatewayId!, 'unchanged');
      continue;
    }
    const eip = await run.client.send(new AllocateAddressCommand({ Domain: 'vpc', TagSpecifications: tagSpec('elastic-ip', `${n.name}-eip`) }));
    const created = await run.client.send(
      new CreateNatGatewayCommand({ SubnetId: run.ids.subnets[n.subnet], AllocationId: eip.AllocationId, TagSpecifications: tagSpec('natgateway', n.name) }),
    );
    record(run, 'natGateways', n.name, created.NatGateway!.NatGatewayId!, 'created');
  }
}

/**
 * Transit gateways by Name tag, each VPC attachment by gateway and VPC (its subnets as first created), and the
 * gateway's route table: without `routes`, every attachment propagates its VPC's blocks and no static route is kept;
 * with `routes`, nothing propagates and the static routes are exactly those listed.
 */
async function applyTransitGateways(topology: Topology, run: ApplyRun): Promise<void> {
  for (const g of topology.transitGateways) {
    run.at.entry = `transitGateways '${g.name}'`;
    const found = run.existing.transitGateways.gateways.find((x) => nameTagOf(x.Tags) === g.name);
    const gateway = found ?? (await run.client.send(new CreateTransitGatewayCommand({ TagSpecifications: tagSpec('transit-gateway', g.name) }))).TransitGateway!;
    const id = gateway.TransitGatewayId!;
    const tableId = gateway.Options!.AssociationDefaultRouteTableId!;
    let changed = false;
    const attachmentIds: Record<string, string> = {};
    for (const a of g.attachments) {
      const vpcId = run.ids.vpcs[a.vpc]!;
      const existing = run.existing.transitGateways.vpcAttachments.find((x) => x.TransitGatewayId === id && x.VpcId === vpcId);
      attachmentIds[a.vpc] =
        existing?.TransitGatewayAttachmentId ??
        (await run.client.send(new CreateTransitGatewayVpcAttachmentCommand({
          TransitGatewayId: id, VpcId: vpcId, SubnetIds: a.subnets.map((s) => run.ids.subnets[s]!), TagSpecifications: tagSpec('transit-gateway-attachment', `${g.name}-${a.vpc}`),
        }))).TransitGatewayVpcAttachment!.TransitGatewayAttachmentId!;
      changed ||= !existing;
    }
    const propagating = new Set(
      ((await run.client.send(new GetTransitGatewayRouteTablePropagationsCommand({ TransitGatewayRouteTableId: tableId }))).TransitGatewayRouteTablePropagations ?? []).map((p) => p.TransitGatewayAttachmentId!),
    );
    for (const attachmentId of Object.values(attachmentIds)) {
      const want = g.routes === undefined;
      if (want === propagating.has(attachmentId)) continue;
      const request = { TransitGatewayRouteTableId: tableId, TransitGatewayAttachmentId: attachmentId };
      await run.client.send(want ? new EnableTransitGatewayRouteTablePropagationCommand(request) : new DisableTransitGatewayRouteTablePropagationCommand(request));
      changed = true;
    }
    const wanted = new Map((g.routes ?? []).map((r) => [r.destination, attachmentIds[r.attachment]!]));
    const statics = (await run.client.send(new SearchTransitGatewayRoutesCommand({ TransitGatewayRouteTableId: tableId, Filters: [{ Name: 'type', Values: ['static'] }] }))).Routes ?? [];
    for (const r of statics) {
      // a route to a VPN attachment is an on-premises network's (applyOnPremisesOverTransitGateways)
      if (r.TransitGatewayAttachments?.[0]?.ResourceType === 'vpn') continue;
      if (wanted.get(r.DestinationCidrBlock!) === r.TransitGatewayAttachments?.[0]?.TransitGatewayAttachmentId) {
        wanted.delete(r.DestinationCidrBlock!);
        continue;
      }
      await run.client.send(new DeleteTransitGatewayRouteCommand({ TransitGatewayRouteTableId: tableId, DestinationCidrBlock: r.DestinationCidrBlock }));
      changed = true;
    }
    for (const [destination, attachmentId] of wanted) {
      await run.client.send(new CreateTransitGatewayRouteCommand({ TransitGatewayRouteTableId: tableId, DestinationCidrBlock: destination, TransitGatewayAttachmentId: attachmentId }));
      changed = true;
    }
    record(run, 'transitGateways', g.name, id, !found ? 'created' : changed ? 'updated' : 'unchanged');
  }
}

/**
 * An on-premises network over a transit gateway: a customer gateway (`<network>-cgw`; its address is a TEST-NET-1
 * placeholder, nothing is sent to it), a static-routes VPN connection to the gateway (`<network>-vpn`), which EC2
 * makes an attachment, and the network's CIDR as a static route to that attachment in the gateway's default table.
 */
async function applyOnPremisesOverTransitGateways(topology: Topology, run: ApplyRun): Promise<void> {
  for (const [k, n] of topology.onPremises.entries()) {
    if (!('tgw' in n.via)) continue;
    run.at.entry = `onPremises '${n.name}'`;
    const tgwId = run.ids.transitGateways[n.via.tgw]!;
    let changed = false;
    const cgwFound = run.existing.customerGateways.find((c) => nameTagOf(c.Tags) === `${n.name}-cgw`);
    const cgwId =
      cgwFound?.CustomerGatewayId ??
      (await run.client.send(new CreateCustomerGatewayCommand({ Type: 'ipsec.1', BgpAsn: 65000, IpAddress: `192.0.2.${(k % 254) + 1}`, TagSpecifications: tagSpec('customer-gateway', `${n.name}-cgw`) })))
        .CustomerGateway!.CustomerGatewayId!;
    const vpnFound = run.existing.vpnConnections.find((v) => nameTagOf(v.Tags) === `${n.name}-vpn` && v.TransitGatewayId === tgwId);
    const vpnId =
      vpnFound?.VpnConnectionId ??
      (await run.client.send(new CreateVpnConnectionCommand({ Type: 'ipsec.1', CustomerGatewayId: cgwId, TransitGatewayId: tgwId, Options: { StaticRoutesOnly: true }, TagSpecifications: tagSpec('vpn-connection', `${n.name}-vpn`) })))
        .VpnConnection!.VpnConnectionId!;
    changed ||= !cgwFound || !vpnFound;
    const attachments = (await run.client.send(new DescribeTransitGatewayAttachmentsCommand({ Filters: [{ Name: 'resource-id', Values: [vpnId] }] }))).TransitGatewayAttachments ?? [];
    const attachmentId = attachments[0]!.TransitGatewayAttachmentId!;
    const tableId = attachments[0]!.Association?.TransitGatewayRouteTableId ?? run.existing.transitGateways.gateways.find((g) => g.TransitGatewayId === tgwId)?.Options?.AssociationDefaultRouteTableId!;
    const routes = (await run.client.send(new SearchTransitGatewayRoutesCommand({ TransitGatewayRouteTableId: tableId, Filters: [{ Name: 'route-search.exact-match', Values: [n.cidr] }] }))).Routes ?? [];
    if (!routes.some((r) => r.TransitGatewayAttachments?.[0]?.TransitGatewayAttachmentId === attachmentId)) {
      await run.client.send(new CreateTransitGatewayRouteCommand({ TransitGatewayRouteTableId: tableId, DestinationCidrBlock: n.cidr, TransitGatewayAttachmentId: attachmentId }));
      changed = true;
    }
    record(run, 'onPremises', n.name, vpnId, !vpnFound ? 'created' : changed ? 'updated' : 'unchanged');
  }
}

/**
 * Virtual private gateways, each attached to its VPC (one moved to another VPC in the file is detached first). The
 * networks behind them (onPremises) are no EC2 resources: nothing to apply.
 */
async function applyVirtualPrivateGateways(topology: Topology, run: ApplyRun): Promise<void> {
  for (const g of topology.virtualPrivateGateways) {
    run.at.entry = `virtualPrivateGateways '${g.name}'`;
    const found = run.existing.vpnGateways.find((x) => nameTagOf(x.Tags) === g.name);
    const id = found?.VpnGatewayId ?? (await run.client.send(new CreateVpnGatewayCommand({ Type: 'ipsec.1', TagSpecifications: tagSpec('vpn-gateway', g.name) }))).VpnGateway!.VpnGatewayId!;
    const vpcId = run.ids.vpcs[g.vpc]!;
    const attachedTo = found?.VpcAttachments?.find((a) => a.State === 'attached')?.VpcId;
    if (attachedTo !== vpcId) {
      if (attachedTo) await run.client.send(new DetachVpnGatewayCommand({ VpnGatewayId: id, VpcId: attachedTo }));
      await run.client.send(new AttachVpnGatewayCommand({ VpnGatewayId: id, VpcId: vpcId }));
    }
    record(run, 'virtualPrivateGateways', g.name, id, !found ? 'created' : attachedTo === vpcId ? 'unchanged' : 'updated');
  }
}

async function applyRouteTables(topology: Topology, run: ApplyRun): Promise<void> {
  for (const rt of topology.routeTables) {
    run.at.entry = `routeTables '${rt.name}'`;
    const found = run.existing.routeTables.find((x) => nameTagOf(x.Tags) === rt.name);
    const id = found?.RouteTableId ?? (await run.client.send(new CreateRouteTableCommand({ VpcId: run.ids.vpcs[rt.vpc], TagSpecifications: tagSpec('route-table', rt.name) }))).RouteTable!.RouteTableId!;
    let changed = false;
    for (const r of rt.routes) {
      if (r.local) continue; // EC2 adds the local route itself
      const v6 = r.destination.includes(':');
      const route = {
        RouteTableId: id,
        DestinationCidrBlock: v6 ? undefined : r.destination,
        DestinationIpv6CidrBlock: v6 ? r.destination : undefined,
        GatewayId: r.igw ? run.ids.internetGateways[r.igw] : r.vgw ? run.ids.virtualPrivateGateways[r.vgw] : undefined,
        NatGatewayId: r.nat ? run.ids.natGateways[r.nat] : undefined,
        TransitGatewayId: r.tgw ? run.ids.transitGateways[r.tgw] : undefined,
        VpcPeeringConnectionId: r.pcx ? run.ids.peerings[r.pcx] : undefined,
      };
      const existing = (found?.Routes ?? []).find((x) => (v6 ? x.DestinationIpv6CidrBlock : x.DestinationCidrBlock) === r.destination);
      const targetOf = (x: Pick<Route, 'GatewayId' | 'NatGatewayId' | 'TransitGatewayId' | 'VpcPeeringConnectionId'>) => x.GatewayId ?? x.NatGatewayId ?? x.TransitGatewayId ?? x.VpcPeeringConnectionId;
      if (existing && targetOf(existing) === targetOf(route)) continue;
      // a route the file points elsewhere is replaced, not added twice
      await run.client.send(existing ? new ReplaceRouteCommand(route) : new CreateRouteCommand(route));
      changed = true;
    }
    for (const s of rt.subnets) {
      const subnetId = run.ids.subnets[s]!;
      if ((found?.Associations ?? []).some((a) => a.SubnetId === subnetId)) continue;
      await run.client.send(new AssociateRouteTableCommand({ RouteTableId: id, SubnetId: subnetId }));
      changed = true;
    }
    record(run, 'routeTables', rt.name, id, !found ? 'created' : changed ? 'updated' : 'unchanged');
  }
}

type SecurityGroupRule = Topology['securityGroups'][number]['ingress'][number];
type AclEntry = Topology['networkAcls'][number]['ingress'][number];

/** A topology port field as EC2's pair: one port, a "from-to" range, or absent (every port: 0-65535). */
function portPair(ports: number | string | undefined): [number, number] {
  if (ports === undefined) return [0, 65535];
  if (typeof ports === 'number') return [ports, ports];
  const [from, to] = ports.split('-').map(Number);
  return [from!, to!];
}

/** An ICMP rule's ports as EC2's type and code: `8` is type 8 with any code, "3-4" type 3 code 4, absent any (-1). */
function icmpPair(ports: number | string | undefined): [number, number] {
  if (ports === undefined) return [-1, -1];
  return typeof ports === 'number' ? [ports, -1] : portPair(ports);
}

/**
 * One rule as one single-peer IpPermission in the form EC2 stores and lists it (all protocols without ports, ICMP
 * as type/code, TCP/UDP without ports as 0-65535), so a listed rule compares equal to the file's.
 */
function ipPermission(rule: SecurityGroupRule, groupIds: Record<string, string>): IpPermission {
  const protocol = rule.protocol === 'all' ? '-1' : rule.protocol;
  const [from, to] = protocol === '-1' ? [undefined, undefined] : protocol === 'icmp' ? icmpPair(rule.ports) : portPair(rule.ports);
  const peer: IpPermission = rule.sg !== undefined ? { UserIdGroupPairs: [{ GroupId: groupIds[rule.sg] }] } : { IpRanges: [{ CidrIp: rule.cidr }] };
  return { IpProtocol: protocol, FromPort: from, ToPort: to, ...peer };
}

/** The IpPermissions EC2 lists (several peers each), one per peer; IPv6 ranges are left as they are. */
function singlePeerPermissions(permissions: IpPermission[] | undefined): IpPermission[] {
  return (permissions ?? []).flatMap((p) => {
    const base = { IpProtocol: p.IpProtocol, FromPort: p.IpProtocol === '-1' ? undefined : p.FromPort, ToPort: p.IpProtocol === '-1' ? undefined : p.ToPort };
    return [
      ...(p.IpRanges ?? []).map((r) => ({ ...base, IpRanges: [{ CidrIp: r.CidrIp }] })),
      ...(p.UserIdGroupPairs ?? []).map((g) => ({ ...base, UserIdGroupPairs: [{ GroupId: g.GroupId }] })),
    ];
  });
}

const permissionKey = (p: IpPermission): string =>
  [p.IpProtocol, p.FromPort ?? '', p.ToPort ?? '', p.IpRanges?.[0]?.CidrIp ?? '', p.UserIdGroupPairs?.[0]?.GroupId ?? ''].join('|');

/** What is in `a` and not in `b`, as permission keys compare them. */
const missingFrom = (a: IpPermission[], b: IpPermission[]): IpPermission[] => a.filter((p) => !b.some((q) => permissionKey(q) === permissionKey(p)));

/**
 * Groups first, all of them, so a rule may name a group declared after its own; then each group's rules. A group
 * gets exactly the ingress rules the file lists (the VPC's default group keeps EC2's rule from its own members
 * besides); a group that lists `egress` gets exactly those egress rules (EC2's allow-all rule and any other
 * revoked), without `egress` it keeps what it has. IPv6 rules, which the file cannot name, are left alone.
 */
async function applySecurityGroups(topology: Topology, run: ApplyRun): Promise<void> {
  // a VPC created by this run came with its default group, which a group named `default` in the file completes
  const groups = run.changes.some((c) => c.kind === 'vpcs' && c.change === 'created') ? (await describeVpcResources(run.client)).securityGroups : run.existing.securityGroups;
  const found = new Map<string, SecurityGroup>();
  for (const g of topology.securityGroups) {
    run.at.entry = `securityGroups '${g.name}'`;
    const existing = groups.find((x) => x.GroupName === g.name && x.VpcId === run.ids.vpcs[g.vpc]);
    if (existing) found.set(g.name, existing);
    run.ids.securityGroups[g.name] =
      existing?.GroupId ??
      (await run.client.send(new CreateSecurityGroupCommand({ GroupName: g.name, Description: g.description, VpcId: run.ids.vpcs[g.vpc], TagSpecifications: tagSpec('security-group', g.name) })))
        .GroupId!;
  }
  for (const g of topology.securityGroups) {
    run.at.entry = `securityGroups '${g.name}'`;
    const id = run.ids.securityGroups[g.name]!;
    const existing = found.get(g.name);
    const ownMembers = (p: IpPermission) => g.name === 'default' && p.IpProtocol === '-1' && p.UserIdGroupPairs?.[0]?.GroupId === id;
    const currentIngress = singlePeerPermissions(existing?.IpPermissions).filter((p) => !ownMembers(p));
    const wantedIngress = g.ingress.map((r) => ipPermission(r, run.ids.securityGroups));
    const unlistedIngress = missingFrom(currentIngress, wantedIngress);
    const ingress = missingFrom(wantedIngress, currentIngress);
    if (unlistedIngress.length > 0) await run.client.send(new RevokeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: unlistedIngress }));
    if (ingress.length > 0) await run.client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: ingress }));
    let changes = unlistedIngress.length + ingress.length;
    if (g.egress !== undefined) {
      // a group created by this run has EC2's one default egress rule
      const current = existing ? singlePeerPermissions(existing.IpPermissionsEgress) : [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];
      const wanted = g.egress.map((r) => ipPermission(r, run.ids.securityGroups));
      const unlisted = missingFrom(current, wanted);
      const added = missingFrom(wanted, current);
      if (unlisted.length > 0) await run.client.send(new RevokeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: unlisted }));
      if (added.length > 0) await run.client.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: added }));
      changes += unlisted.length + added.length;
    }
    record(run, 'securityGroups', g.name, id, !existing ? 'created' : changes > 0 ? 'updated' : 'unchanged');
  }
}

/** An entry as EC2 takes it: protocol numbers, ports for TCP/UDP (absent: all), type and code for ICMP. */
type WantedEntry = Required<Pick<NetworkAclEntry, 'RuleNumber' | 'Egress' | 'Protocol' | 'RuleAction' | 'CidrBlock'>> & Pick<NetworkAclEntry, 'PortRange' | 'IcmpTypeCode'>;

function aclEntry(e: AclEntry, egress: boolean): WantedEntry {
  const protocol = { tcp: '6', udp: '17', icmp: '1', all: '-1', '-1': '-1' }[e.protocol];
  const [from, to] = protocol === '1' ? icmpPair(e.ports) : portPair(e.ports);
  return {
    RuleNumber: e.rule,
    Egress: egress,
    Protocol: protocol,
    RuleAction: e.action,
    CidrBlock: e.cidr,
    PortRange: protocol === '6' || protocol === '17' ? { From: from, To: to } : undefined,
    IcmpTypeCode: protocol === '1' ? { Type: from, Code: to } : undefined,
  };
}

const entryKey = (e: NetworkAclEntry): string =>
  [e.RuleNumber, e.Egress, e.Protocol, e.RuleAction, e.CidrBlock, e.PortRange?.From ?? '', e.PortRange?.To ?? '', e.IcmpTypeCode?.Type ?? '', e.IcmpTypeCode?.Code ?? ''].join('|');

/**
 * Network ACLs by Name tag in their VPC: each gets exactly the entries the file lists (created, replaced where a
 * rule number's entry differs, deleted where the file has none), and each listed subnet is moved to it from the ACL
 * it is associated with now. A subnet the file stops listing keeps its ACL.
 */
async function applyNetworkAcls(topology: Topology, run: ApplyRun): Promise<void> {
  if (topology.networkAcls.length === 0) return;
  // subnets created by this run were associated with their VPC's default ACL after the first describe
  let acls = (await run.client.send(new DescribeNetworkAclsCommand({}))).NetworkAcls ?? [];
  for (const acl of topology.networkAcls) {
    run.at.entry = `networkAcls '${acl.name}'`;
    const vpcId = run.ids.vpcs[acl.vpc];
    const found = acls.find((a) => !a.IsDefault && a.VpcId === vpcId && nameTagOf(a.Tags) === acl.name);
    const id = found?.NetworkAclId ?? (await run.client.send(new CreateNetworkAclCommand({ VpcId: vpcId, TagSpecifications: tagSpec('network-acl', acl.name) }))).NetworkAcl!.NetworkAclId!;
    let changed = false;
    const have = (found?.Entries ?? []).filter((e) => e.RuleNumber! <= 32766 && e.CidrBlock !== undefined);
    const wanted = [...acl.ingress.map((e) => aclEntry(e, false)), ...acl.egress.map((e) => aclEntry(e, true))];
    for (const e of wanted) {
      const current = have.find((h) => h.RuleNumber === e.RuleNumber && h.Egress === e.Egress);
      if (current && entryKey(current) === entryKey(e)) continue;
      const entry = { NetworkAclId: id, ...e };
      await run.client.send(current ? new ReplaceNetworkAclEntryCommand(entry) : new CreateNetworkAclEntryCommand(entry));
      changed = true;
    }
    for (const h of have.filter((h) => !wanted.some((e) => e.RuleNumber === h.RuleNumber && e.Egress === h.Egress))) {
      await run.client.send(new DeleteNetworkAclEntryCommand({ NetworkAclId: id, RuleNumber: h.RuleNumber, Egress: h.Egress }));
      changed = true;
    }
    for (const s of acl.subnets) {
      const subnetId = run.ids.subnets[s]!;
      const association = acls.flatMap((a) => a.Associations ?? []).find((a) => a.SubnetId === subnetId);
      if (association?.NetworkAclId === id) continue;
      if (!association) throw new PodnetError('EC2_FAILED', `topology: subnet ${subnetId} has no network ACL association`, 'EC2 associates every subnet with its VPC\'s default ACL; check the endpoint');
      await run.client.send(new ReplaceNetworkAclAssociationCommand({ AssociationId: association.NetworkAclAssociationId, NetworkAclId: id }));
      changed = true;
    }
    if (changed) acls = (await run.client.send(new DescribeNetworkAclsCommand({}))).NetworkAcls ?? [];
    record(run, 'networkAcls', acl.name, id, !found ? 'created' : changed ? 'updated' : 'unchanged');
  }
}

/**
 * Gives a running instance's primary ENI the groups the file names, when they differ (ModifyNetworkInterfaceAttribute,
 * as a console edit would); an instance that names none keeps what it has.
 */
async function completePrimaryGroups(run: ApplyRun, instance: Instance, groupNames: string[]): Promise<boolean> {
  if (groupNames.length === 0) return false;
  const primary = instance.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0);
  if (!primary) return false;
  const wanted = groupNames.map((g) => run.ids.securityGroups[g]!);
  const have = (primary.Groups ?? []).map((g) => g.GroupId!);
  if ([...wanted].sort().join() === [...have].sort().join()) return false;
  await run.client.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: primary.NetworkInterfaceId, Groups: wanted }));
  return true;
}

async function applyInstances(topology: Topology, run: ApplyRun): Promise<void> {
  const running = run.existing.instances.filter((i) => i.State?.Name !== 'shutting-down');
  for (const inst of topology.instances) {
    run.at.entry = `instances '${inst.name}'`;
    const found = running.find((x) => nameTagOf(x.Tags) === inst.name);
    if (found) {
      const tagged = await completeTags(run, found.InstanceId!, found.Tags, toTags(inst.name, inst.tags));
      const regrouped = await completePrimaryGroups(run, found, inst.securityGroups);
      record(run, 'instances', inst.name, found.InstanceId!, tagged || regrouped ? 'updated' : 'unchanged');
      continue;
    }
    const groupIds = inst.securityGroups.map((g) => run.ids.securityGroups[g]!);
    const created = await run.client.send(
      new RunInstancesCommand({
        ImageId: 'ami-0123456789abcdef0',
        InstanceType: inst.type as never,
        MinCount: 1,
        MaxCount: 1,
        NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: run.ids.subnets[inst.subnet], AssociatePublicIpAddress: inst.publicIp, Groups: groupIds.length > 0 ? groupIds : undefined }],
        TagSpecifications: tagSpec('instance', inst.name, inst.tags),
      }),
    );
    record(run, 'instances', inst.name, created.Instances![0]!.InstanceId!, 'created');
  }
}
