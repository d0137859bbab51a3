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
  EC2Client,
  ModifySubnetAttributeCommand,
  RunInstancesCommand,
  type IpPermission,
  type ResourceType,
  type Tag,
} from '@aws-sdk/client-ec2';
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

type ResourceKind = 'vpcs' | 'subnets' | 'internetGateways' | 'natGateways' | 'peerings' | 'routeTables' | 'securityGroups' | 'instances';

export interface TopologyApplyResult {
  changes: TopologyChange[];
  /** Name → ID, per kind, for callers that go on to use the resources (the lab). */
  ids: Record<ResourceKind, Record<string, string>>;
}

/**
 * Creates what is missing, in dependency order, through the EC2 API at `client`. Existing resources (same Name
 * tag) are kept; their tags, MapPublicIpOnLaunch, routes, associations and rules are completed where they differ.
 */
export async function applyTopology(topology: Topology, client: EC2Client): Promise<TopologyApplyResult> {
  const at = { entry: 'reading the existing resources' };
  try {
    const run: ApplyRun = { client, at, existing: await describeVpcResources(client), changes: [], ids: { vpcs: {}, subnets: {}, internetGateways: {}, natGateways: {}, peerings: {}, routeTables: {}, securityGroups: {}, instances: {} } };
    // each step may use the ids of the ones before it: subnets their VPC's, routes their gateways', instances their groups'
    for (const step of [applyVpcs, applySubnets, applyInternetGateways, applyPeerings, applyNatGateways, applyRouteTables, applySecurityGroups, applyInstances]) {
      await step(topology, run);
    }
    return { changes: run.changes, ids: run.ids };
  } catch (err) {
    // EC2 refusing a call (a subnet outside its VPC, an unknown instance type) is a problem of the file, not a bug
    if ((err as { $fault?: string }).$fault !== 'client') throw err;
    throw new PodnetError('CONFIG_INVALID', `topology: EC2 refused ${at.entry}: ${(err as Error).name}: ${(err as Error).message}`,
      'fix that entry of the topology file; the emulator refuses what EC2 would', { cause: err });
  }
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
      record(run, 'vpcs', v.name, found.VpcId!, (await completeTags(run, found.VpcId!, found.Tags, toTags(v.name, v.tags))) ? 'updated' : 'unchanged');
      continue;
    }
    const created = await run.client.send(
      new CreateVpcCommand({ CidrBlock: v.cidr, AmazonProvidedIpv6CidrBlock: v.ipv6 || undefined, TagSpecifications: tagSpec('vpc', v.name, v.tags) }),
    );
    record(run, 'vpcs', v.name, created.Vpc!.VpcId!, 'created');
  }
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

async function applyRouteTables(topology: Topology, run: ApplyRun): Promise<void> {
  for (const rt of topology.routeTables) {
    run.at.entry = `routeTables '${rt.name}'`;
    const found = run.existing.routeTables.find((x) => nameTagOf(x.Tags) === rt.name);
    const id = found?.RouteTableId ?? (await run.client.send(new CreateRouteTableCommand({ VpcId: run.ids.vpcs[rt.vpc], TagSpecifications: tagSpec('route-table', rt.name) }))).RouteTable!.RouteTableId!;
    let changed = false;
    for (const r of rt.routes) {
      if (r.local) continue; // EC2 adds the local route itself
      const v6 = r.destination.includes(':');
      const exists = (found?.Routes ?? []).some((x) => (v6 ? x.DestinationIpv6CidrBlock : x.DestinationCidrBlock) === r.destination);
      if (exists) continue;
      await run.client.send(
        new CreateRouteCommand({
          RouteTableId: id,
          DestinationCidrBlock: v6 ? undefined : r.destination,
          DestinationIpv6CidrBlock: v6 ? r.destination : undefined,
          GatewayId: r.igw ? run.ids.internetGateways[r.igw] : undefined,
          NatGatewayId: r.nat ? run.ids.natGateways[r.nat] : undefined,
          VpcPeeringConnectionId: r.pcx ? run.ids.peerings[r.pcx] : undefined,
        }),
      );
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

function ipPermission(rule: SecurityGroupRule): IpPermission {
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

async function applySecurityGroups(topology: Topology, run: ApplyRun): Promise<void> {
  // a VPC created by this run came with its default group, which a group named `default` in the file completes
  const groups = run.changes.some((c) => c.kind === 'vpcs' && c.change === 'created') ? (await describeVpcResources(run.client)).securityGroups : run.existing.securityGroups;
  for (const g of topology.securityGroups) {
    run.at.entry = `securityGroups '${g.name}'`;
    const found = groups.find((x) => x.GroupName === g.name && x.VpcId === run.ids.vpcs[g.vpc]);
    const id =
      found?.GroupId ??
      (await run.client.send(new CreateSecurityGroupCommand({ GroupName: g.name, Description: g.description, VpcId: run.ids.vpcs[g.vpc], TagSpecifications: tagSpec('security-group', g.name) })))
        .GroupId!;
    const ingress = g.ingress.map(ipPermission).filter((p) => !hasPermission(found?.IpPermissions, p));
    if (ingress.length > 0) await run.client.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: id, IpPermissions: ingress }));
    // A new group already allows all egress (EC2's default rule), so an all-traffic 0.0.0.0/0 rule is skipped.
    const currentEgress = found?.IpPermissionsEgress ?? [{ IpProtocol: '-1', IpRanges: [{ CidrIp: '0.0.0.0/0' }] }];
    const egress = (g.egress ?? []).map(ipPermission).filter((p) => !hasPermission(currentEgress, p));
    if (egress.length > 0) await run.client.send(new AuthorizeSecurityGroupEgressCommand({ GroupId: id, IpPermissions: egress }));
    record(run, 'securityGroups', g.name, id, !found ? 'created' : ingress.length + egress.length > 0 ? 'updated' : 'unchanged');
  }
}

async function applyInstances(topology: Topology, run: ApplyRun): Promise<void> {
  const running = run.existing.instances.filter((i) => i.State?.Name !== 'shutting-down');
  for (const inst of topology.instances) {
    run.at.entry = `instances '${inst.name}'`;
    const found = running.find((x) => nameTagOf(x.Tags) === inst.name);
    if (found) {
      const changed = await completeTags(run, found.InstanceId!, found.Tags, toTags(inst.name, inst.tags));
      record(run, 'instances', inst.name, found.InstanceId!, changed ? 'updated' : 'unchanged');
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
