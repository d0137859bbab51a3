/**
 * The Cloud in process: the same action handlers (`ec2Actions`) the HTTP endpoint runs, over an Ec2State, with no
 * HTTP and no SDK — one implementation of EC2's semantics, limits and errors. A request is built as the Query
 * parameters the SDK would send and read back from the handler's response object. No throttling: simulation runs
 * with the emulator's token buckets off. Used by `podnet pool simulate` and the pool benchmark.
 */
import {
  CloudError,
  THROTTLING_CODES,
  type AddressCount,
  type AddressRelease,
  type AttachEniRequest,
  type Cloud,
  type CloudApi,
  type CloudEni,
  type CloudInstance,
  type CloudSubnet,
  type CloudTags,
  type CreateEniRequest,
  type EniFilters,
  type IpamMetrics,
  type SimulatedNode,
} from '../ipam/index.js';
import { ec2Actions } from './actions/index.js';
import { Ec2Error, type Ec2Params, type XmlObject, type XmlValue } from './protocol.js';
import { EC2_API_VERSION, parseQuery } from './query.js';
import { openEc2State, type Ec2State } from './state.js';

/** Query parameters as the SDK flattens them: `Name.1`, `Filter.1.Value.1`, … */
type Form = Array<[string, string]>;

export interface InProcessCloudOptions {
  /** Every call is reported here (counted by the simulation). */
  readonly metrics?: IpamMetrics;
}

/** The Cloud over `state`, through the emulator's action handlers. */
export function inProcessCloud(state: Ec2State, opts: InProcessCloudOptions = {}): Cloud {
  return new InProcessCloud(state, opts.metrics);
}

class InProcessCloud implements Cloud {
  constructor(
    private readonly state: Ec2State,
    private readonly metrics: IpamMetrics | undefined,
  ) {}

  async describeInstance(instanceId: string): Promise<CloudInstance> {
    const out = this.call('DescribeInstances', list('InstanceId', [instanceId]));
    const i = items(items(out.reservationSet)[0]?.instancesSet)[0];
    if (!i) throw new CloudError('DescribeInstances', 'InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`, { missingIds: [instanceId] });
    return {
      id: str(i.instanceId),
      instanceType: str(i.instanceType),
      availabilityZone: str(obj(i.placement).availabilityZone),
      subnetId: str(i.subnetId),
      vpcId: str(i.vpcId),
      enis: items(i.networkInterfaceSet).flatMap((n) => {
        const a = obj(n.attachment);
        return a.attachmentId ? [{ eniId: str(n.networkInterfaceId), attachmentId: str(a.attachmentId), deviceIndex: num(a.deviceIndex), networkCardIndex: num(a.networkCardIndex) }] : [];
      }),
    };
  }

  async describeEnis(eniIds: readonly string[]): Promise<CloudEni[]> {
    return items(this.call('DescribeNetworkInterfaces', list('NetworkInterfaceId', eniIds)).networkInterfaceSet).map(cloudEni);
  }

  async findEnis(filters: EniFilters): Promise<CloudEni[]> {
    const found: CloudEni[] = [];
    let token: string | undefined;
    do {
      const out = this.call('DescribeNetworkInterfaces', [...eniFilterForm(filters), ['MaxResults', '1000'], ...(token ? [['NextToken', token] as [string, string]] : [])]);
      found.push(...items(out.networkInterfaceSet).map(cloudEni));
      token = typeof out.nextToken === 'string' ? out.nextToken : undefined;
    } while (token);
    return found;
  }

  async describeSubnets(subnetIds: readonly string[]): Promise<CloudSubnet[]> {
    return items(this.call('DescribeSubnets', list('SubnetId', subnetIds)).subnetSet).map(cloudSubnet);
  }

  async findSubnets(vpcId: string, availabilityZone: string): Promise<CloudSubnet[]> {
    return items(this.call('DescribeSubnets', filterForm([['vpc-id', vpcId], ['availability-zone', availabilityZone]])).subnetSet).map(cloudSubnet);
  }

  async createEni(r: CreateEniRequest): Promise<CloudEni> {
    const tags = Object.entries(r.tags);
    const out = this.call('CreateNetworkInterface', [
      ['SubnetId', r.subnetId],
      ['Description', r.description],
      ...list('SecurityGroupId', r.securityGroupIds),
      ...(r.addresses ? [[countParam(r.addresses), String(r.addresses.count)] as [string, string]] : []),
      ...(tags.length > 0 ? [['TagSpecification.1.ResourceType', 'network-interface'] as [string, string], ...tagForm('TagSpecification.1.Tag', r.tags)] : []),
    ]);
    return cloudEni(obj(out.networkInterface));
  }

  async attachEni(r: AttachEniRequest): Promise<string> {
    const out = this.call('AttachNetworkInterface', [
      ['NetworkInterfaceId', r.eniId], ['InstanceId', r.instanceId], ['DeviceIndex', String(r.deviceIndex)], ['NetworkCardIndex', String(r.networkCardIndex)],
    ]);
    return str(out.attachmentId);
  }

  async setDeleteOnTermination(eniId: string, attachmentId: string, deleteOnTermination: boolean): Promise<void> {
    this.call('ModifyNetworkInterfaceAttribute', [
      ['NetworkInterfaceId', eniId], ['Attachment.AttachmentId', attachmentId], ['Attachment.DeleteOnTermination', String(deleteOnTermination)],
    ]);
  }

  async setSecurityGroups(eniId: string, groupIds: readonly string[]): Promise<void> {
    this.call('ModifyNetworkInterfaceAttribute', [['NetworkInterfaceId', eniId], ...list('SecurityGroupId', groupIds)]);
  }

  async detachEni(attachmentId: string): Promise<void> {
    this.call('DetachNetworkInterface', [['AttachmentId', attachmentId]]);
  }

  async deleteEni(eniId: string): Promise<void> {
    this.call('DeleteNetworkInterface', [['NetworkInterfaceId', eniId]]);
  }

  async assignAddresses(eniId: string, r: AddressCount): Promise<string[]> {
    const form: Form = [['NetworkInterfaceId', eniId], [countParam(r), String(r.count)]];
    if (r.family === 'ipv6') {
      const out = this.call('AssignIpv6Addresses', form);
      return strings(r.unit === 'prefix' ? out.assignedIpv6PrefixSet : out.assignedIpv6Addresses);
    }
    const out = this.call('AssignPrivateIpAddresses', form);
    return r.unit === 'prefix'
      ? items(out.assignedIpv4PrefixSet).map((p) => str(p.ipv4Prefix))
      : items(out.assignedPrivateIpAddressesSet).map((p) => str(p.privateIpAddress));
  }

  async unassignAddresses(eniId: string, r: AddressRelease): Promise<void> {
    const name = r.family === 'ipv6' ? (r.unit === 'prefix' ? 'Ipv6Prefix' : 'Ipv6Addresses') : (r.unit === 'prefix' ? 'Ipv4Prefix' : 'PrivateIpAddress');
    this.call(r.family === 'ipv6' ? 'UnassignIpv6Addresses' : 'UnassignPrivateIpAddresses', [['NetworkInterfaceId', eniId], ...list(name, r.values)]);
  }

  async createTags(resourceIds: readonly string[], tags: CloudTags): Promise<void> {
    this.call('CreateTags', [...list('ResourceId', resourceIds), ...tagForm('Tag', tags)]);
  }

  /** One action as the HTTP endpoint runs it (parameters read by parseQuery, one transaction), reported to metrics. */
  private call(api: CloudApi, form: Form): XmlObject {
    const started = performance.now();
    try {
      const out = runAction(this.state, api, form);
      this.metrics?.cloudCall({ api, status: 200, latencyMs: performance.now() - started });
      return out;
    } catch (err) {
      const failure = toCloudError(api, err);
      const status = err instanceof Ec2Error ? err.status : 500;
      this.metrics?.cloudCall({ api, error: failure.code, status, latencyMs: performance.now() - started });
      throw failure;
    }
  }
}

/** Runs one EC2 action against `state` as the HTTP endpoint does (one transaction); throws Ec2Error for what EC2 refuses. */
export function performAction(state: Ec2State, params: Ec2Params): XmlObject {
  const handler = Object.hasOwn(ec2Actions, params.action) ? ec2Actions[params.action] : undefined;
  if (!handler) throw new Ec2Error('InvalidAction', `The action ${params.action} is not valid for this web service.`);
  return state.transaction(() => handler(params, state));
}

function runAction(state: Ec2State, action: string, form: Form): XmlObject {
  return performAction(state, parseQuery(new URLSearchParams([['Action', action], ['Version', EC2_API_VERSION], ...form])));
}

/** An emulator failure as the SDK adapter would report the same answer over HTTP. */
function toCloudError(api: CloudApi, err: unknown): CloudError {
  if (err instanceof Ec2Error) {
    return new CloudError(api, err.code, err.message, { throttled: THROTTLING_CODES.has(err.code), missingIds: err.missingIds, cause: err });
  }
  // the HTTP endpoint answers an unexpected failure with InternalError
  return new CloudError(api, 'InternalError', 'An internal error has occurred.', { cause: err });
}

function countParam(r: AddressCount): string {
  if (r.family === 'ipv6') return r.unit === 'prefix' ? 'Ipv6PrefixCount' : 'Ipv6AddressCount';
  return r.unit === 'prefix' ? 'Ipv4PrefixCount' : 'SecondaryPrivateIpAddressCount';
}

function list(name: string, values: readonly string[]): Form {
  return values.map((v, i) => [`${name}.${i + 1}`, v]);
}

function tagForm(head: string, tags: CloudTags): Form {
  return Object.entries(tags).flatMap(([key, value], i): Form => [[`${head}.${i + 1}.Key`, key], [`${head}.${i + 1}.Value`, value]]);
}

function filterForm(filters: ReadonlyArray<readonly [string, string]>): Form {
  return filters.flatMap(([name, value], i): Form => [[`Filter.${i + 1}.Name`, name], [`Filter.${i + 1}.Value.1`, value]]);
}

function eniFilterForm(f: EniFilters): Form {
  return filterForm([
    ...(f.tagKeys ?? []).map((k) => ['tag-key', k] as const),
    ...(f.status !== undefined ? [['status', f.status] as const] : []),
    ...(f.vpcId !== undefined ? [['vpc-id', f.vpcId] as const] : []),
    ...(f.attachedInstanceId !== undefined ? [['attachment.instance-id', f.attachedInstanceId] as const] : []),
    ...Object.entries(f.tags ?? {}).map(([k, v]) => [`tag:${k}`, v] as const),
  ]);
}

// ---- reading the handlers' response objects (EC2's element names) ----

function obj(v: XmlValue): XmlObject {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v : {};
}

function items(v: XmlValue): XmlObject[] {
  return Array.isArray(v) ? v.map(obj) : [];
}

function str(v: XmlValue): string {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

/** A list of plain values (`<item>text</item>`), e.g. assignedIpv6Addresses. */
function strings(v: XmlValue): string[] {
  return Array.isArray(v) ? v.map(str) : [];
}

function num(v: XmlValue): number {
  return typeof v === 'number' ? v : Number(v ?? 0);
}

function tagsOf(v: XmlValue): CloudTags {
  return Object.fromEntries(items(v).map((t) => [str(t.key), str(t.value)]));
}

function cloudEni(n: XmlObject): CloudEni {
  const a = obj(n.attachment);
  const v4 = items(n.privateIpAddressesSet);
  return {
    id: str(n.networkInterfaceId),
    subnetId: str(n.subnetId),
    vpcId: str(n.vpcId),
    availabilityZone: str(n.availabilityZone),
    description: str(n.description),
    status: str(n.status),
    interfaceType: str(n.interfaceType) || 'interface',
    macAddress: str(n.macAddress),
    primaryIpv4: str(n.privateIpAddress),
    secondaryIpv4s: v4.filter((p) => p.primary !== true).map((p) => str(p.privateIpAddress)),
    ipv4Prefixes: items(n.ipv4PrefixSet).map((p) => str(p.ipv4Prefix)),
    ipv6Addresses: items(n.ipv6AddressesSet).map((p) => str(p.ipv6Address)),
    ipv6Prefixes: items(n.ipv6PrefixSet).map((p) => str(p.ipv6Prefix)),
    securityGroupIds: items(n.groupSet).map((g) => str(g.groupId)),
    tags: tagsOf(n.tagSet),
    ...(a.attachmentId ? {
      attachment: {
        attachmentId: str(a.attachmentId),
        ...(a.instanceId ? { instanceId: str(a.instanceId) } : {}),
        deviceIndex: num(a.deviceIndex),
        networkCardIndex: num(a.networkCardIndex),
        deleteOnTermination: a.deleteOnTermination === true,
      },
    } : {}),
  };
}

function cloudSubnet(s: XmlObject): CloudSubnet {
  return {
    id: str(s.subnetId),
    vpcId: str(s.vpcId),
    availabilityZone: str(s.availabilityZone),
    cidr: str(s.cidrBlock),
    ipv6Cidrs: items(s.ipv6CidrBlockAssociationSet).map((b) => str(b.ipv6CidrBlock)),
    availableIpv4s: num(s.availableIpAddressCount),
    tags: tagsOf(s.tagSet),
  };
}

// ---- simulated nodes: a VPC, a subnet and instances in a state of their own or a shared one ----

/** A VPC with one subnet, created straight through the handlers (not counted as ipamd's calls). */
export interface SimulatedNetwork {
  readonly state: Ec2State;
  readonly vpcId: string;
  readonly subnetId: string;
  readonly subnetCidr: string;
  /** The subnet's IPv6 /64 (the first of the VPC's /56), when asked for. */
  readonly subnetIpv6Cidr?: string;
}

/** One launched instance: what ipamd's init would learn from IMDS. */
export interface SimulatedInstance {
  readonly instanceId: string;
  readonly primaryEniId: string;
}

/** Creates a VPC and one subnet spanning it (default 10.0.0.0/16) in `state`; with `ipv6`, dual-stack. */
export function simulatedNetwork(state: Ec2State, cidr = '10.0.0.0/16', opts: { ipv6?: boolean } = {}): SimulatedNetwork {
  const vpc = obj(runAction(state, 'CreateVpc', [['CidrBlock', cidr], ...(opts.ipv6 ? [['AmazonProvidedIpv6CidrBlock', 'true'] as [string, string]] : [])]).vpc);
  const vpcId = str(vpc.vpcId);
  const ipv6Cidr = opts.ipv6 ? str(items(vpc.ipv6CidrBlockAssociationSet)[0]?.ipv6CidrBlock).replace(/\/56$/, '/64') : undefined;
  const subnet = obj(runAction(state, 'CreateSubnet', [['VpcId', vpcId], ['CidrBlock', cidr], ...(ipv6Cidr ? [['Ipv6CidrBlock', ipv6Cidr] as [string, string]] : [])]).subnet);
  return { state, vpcId, subnetId: str(subnet.subnetId), subnetCidr: str(subnet.cidrBlock), ...(ipv6Cidr ? { subnetIpv6Cidr: ipv6Cidr } : {}) };
}

/** Launches one instance of `instanceType` in the network's subnet. */
export function launchSimulatedInstance(network: SimulatedNetwork, instanceType: string): SimulatedInstance {
  const out = runAction(network.state, 'RunInstances', [
    ['ImageId', 'ami-0podnet00simulate'], ['InstanceType', instanceType], ['SubnetId', network.subnetId], ['MinCount', '1'], ['MaxCount', '1'],
  ]);
  const instance = items(out.instancesSet)[0] ?? {};
  return { instanceId: str(instance.instanceId), primaryEniId: str(items(instance.networkInterfaceSet)[0]?.networkInterfaceId) };
}

/**
 * One simulated node for `simulatePool`: an in-memory EC2 state on the simulation's clock, a VPC, one instance, and
 * the in-process Cloud reporting to the simulation's counter.
 */
export async function startSimulatedNode(opts: { instanceType: string; nowMs: () => number; metrics: IpamMetrics }): Promise<SimulatedNode> {
  const state = openEc2State({ now: opts.nowMs });
  try {
    const network = simulatedNetwork(state);
    const instance = launchSimulatedInstance(network, opts.instanceType);
    return {
      cloud: inProcessCloud(state, { metrics: opts.metrics }),
      ...instance,
      subnetCidr: network.subnetCidr,
      close: async () => state.close(),
    };
  } catch (err) {
    state.close();
    throw err;
  }
}
