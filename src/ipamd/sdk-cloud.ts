/**
 * The Cloud over @aws-sdk/client-ec2: what ipamd uses against real AWS and the emulator's HTTP endpoint. The client
 * (endpoint, credentials, retry strategy, per-call metrics) comes from cloud.ts; this file maps the SDK's shapes to
 * podnet's and converts every SDK exception into CloudError here, once, so nothing past it reads messages.
 */
import {
  AssignIpv6AddressesCommand,
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfaceCommand,
  CreateTagsCommand,
  DeleteNetworkInterfaceCommand,
  DescribeInstancesCommand,
  DescribeNetworkInterfacesCommand,
  DescribeSubnetsCommand,
  DetachNetworkInterfaceCommand,
  ModifyNetworkInterfaceAttributeCommand,
  UnassignIpv6AddressesCommand,
  UnassignPrivateIpAddressesCommand,
  paginateDescribeNetworkInterfaces,
  type EC2Client,
  type Filter,
  type NetworkInterface,
  type Subnet,
  type Tag,
} from '@aws-sdk/client-ec2';
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
} from '../ipam/index.js';
import { ec2ErrorCode } from './cloud.js';

/** The Cloud over one EC2Client (the caller creates and destroys the client). */
export function sdkCloud(ec2: EC2Client): Cloud {
  return new SdkCloud(ec2);
}

class SdkCloud implements Cloud {
  constructor(private readonly ec2: EC2Client) {}

  async describeInstance(instanceId: string): Promise<CloudInstance> {
    const out = await this.call('DescribeInstances', () => this.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })));
    const i = out.Reservations?.[0]?.Instances?.[0];
    if (!i) throw new CloudError('DescribeInstances', 'InvalidInstanceID.NotFound', `The instance ID '${instanceId}' does not exist`, { missingIds: [instanceId] });
    return {
      id: i.InstanceId ?? instanceId,
      instanceType: i.InstanceType ?? '',
      availabilityZone: i.Placement?.AvailabilityZone ?? '',
      subnetId: i.SubnetId ?? '',
      vpcId: i.VpcId ?? '',
      enis: (i.NetworkInterfaces ?? []).flatMap((n) => n.NetworkInterfaceId && n.Attachment?.AttachmentId ? [{
        eniId: n.NetworkInterfaceId,
        attachmentId: n.Attachment.AttachmentId,
        deviceIndex: n.Attachment.DeviceIndex ?? 0,
        networkCardIndex: n.Attachment.NetworkCardIndex ?? 0,
      }] : []),
    };
  }

  async describeEnis(eniIds: readonly string[]): Promise<CloudEni[]> {
    const out = await this.call('DescribeNetworkInterfaces', () => this.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [...eniIds] })));
    return (out.NetworkInterfaces ?? []).map(cloudEni);
  }

  async findEnis(filters: EniFilters): Promise<CloudEni[]> {
    return this.call('DescribeNetworkInterfaces', async () => {
      const found: CloudEni[] = [];
      for await (const page of paginateDescribeNetworkInterfaces({ client: this.ec2, pageSize: 1000 }, { Filters: eniFilters(filters) })) {
        for (const n of page.NetworkInterfaces ?? []) found.push(cloudEni(n));
      }
      return found;
    });
  }

  async describeSubnets(subnetIds: readonly string[]): Promise<CloudSubnet[]> {
    const out = await this.call('DescribeSubnets', () => this.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [...subnetIds] })));
    return (out.Subnets ?? []).map(cloudSubnet);
  }

  async findSubnets(vpcId: string, availabilityZone: string): Promise<CloudSubnet[]> {
    const out = await this.call('DescribeSubnets', () => this.ec2.send(new DescribeSubnetsCommand({
      Filters: [{ Name: 'vpc-id', Values: [vpcId] }, { Name: 'availability-zone', Values: [availabilityZone] }],
    })));
    return (out.Subnets ?? []).map(cloudSubnet);
  }

  async createEni(r: CreateEniRequest): Promise<CloudEni> {
    const a = r.addresses;
    const out = await this.call('CreateNetworkInterface', () => this.ec2.send(new CreateNetworkInterfaceCommand({
      SubnetId: r.subnetId,
      Description: r.description,
      Groups: [...r.securityGroupIds],
      ...(a && a.family === 'ipv4' ? (a.unit === 'prefix' ? { Ipv4PrefixCount: a.count } : { SecondaryPrivateIpAddressCount: a.count }) : {}),
      ...(a && a.family === 'ipv6' ? (a.unit === 'prefix' ? { Ipv6PrefixCount: a.count } : { Ipv6AddressCount: a.count }) : {}),
      TagSpecifications: [{ ResourceType: 'network-interface', Tags: sdkTags(r.tags) }],
    })));
    if (!out.NetworkInterface?.NetworkInterfaceId) throw new CloudError('CreateNetworkInterface', 'Unknown', 'EC2 returned no network interface');
    return cloudEni(out.NetworkInterface);
  }

  async attachEni(r: AttachEniRequest): Promise<string> {
    const out = await this.call('AttachNetworkInterface', () => this.ec2.send(new AttachNetworkInterfaceCommand({
      NetworkInterfaceId: r.eniId, InstanceId: r.instanceId, DeviceIndex: r.deviceIndex, NetworkCardIndex: r.networkCardIndex,
    })));
    if (!out.AttachmentId) throw new CloudError('AttachNetworkInterface', 'Unknown', 'EC2 returned no attachment id');
    return out.AttachmentId;
  }

  async setDeleteOnTermination(eniId: string, attachmentId: string, deleteOnTermination: boolean): Promise<void> {
    await this.call('ModifyNetworkInterfaceAttribute', () => this.ec2.send(new ModifyNetworkInterfaceAttributeCommand({
      NetworkInterfaceId: eniId, Attachment: { AttachmentId: attachmentId, DeleteOnTermination: deleteOnTermination },
    })));
  }

  async setSecurityGroups(eniId: string, groupIds: readonly string[]): Promise<void> {
    await this.call('ModifyNetworkInterfaceAttribute', () => this.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: eniId, Groups: [...groupIds] })));
  }

  async detachEni(attachmentId: string): Promise<void> {
    await this.call('DetachNetworkInterface', () => this.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachmentId })));
  }

  async deleteEni(eniId: string): Promise<void> {
    await this.call('DeleteNetworkInterface', () => this.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId })));
  }

  async assignAddresses(eniId: string, r: AddressCount): Promise<string[]> {
    if (r.family === 'ipv6') {
      const out = await this.call('AssignIpv6Addresses', () => this.ec2.send(new AssignIpv6AddressesCommand({
        NetworkInterfaceId: eniId, ...(r.unit === 'prefix' ? { Ipv6PrefixCount: r.count } : { Ipv6AddressCount: r.count }),
      })));
      return r.unit === 'prefix' ? [...(out.AssignedIpv6Prefixes ?? [])] : [...(out.AssignedIpv6Addresses ?? [])];
    }
    const out = await this.call('AssignPrivateIpAddresses', () => this.ec2.send(new AssignPrivateIpAddressesCommand({
      NetworkInterfaceId: eniId, ...(r.unit === 'prefix' ? { Ipv4PrefixCount: r.count } : { SecondaryPrivateIpAddressCount: r.count }),
    })));
    return r.unit === 'prefix'
      ? defined((out.AssignedIpv4Prefixes ?? []).map((p) => p.Ipv4Prefix))
      : defined((out.AssignedPrivateIpAddresses ?? []).map((p) => p.PrivateIpAddress));
  }

  async unassignAddresses(eniId: string, r: AddressRelease): Promise<void> {
    const values = [...r.values];
    if (r.family === 'ipv6') {
      await this.call('UnassignIpv6Addresses', () => this.ec2.send(new UnassignIpv6AddressesCommand({
        NetworkInterfaceId: eniId, ...(r.unit === 'prefix' ? { Ipv6Prefixes: values } : { Ipv6Addresses: values }),
      })));
      return;
    }
    await this.call('UnassignPrivateIpAddresses', () => this.ec2.send(new UnassignPrivateIpAddressesCommand({
      NetworkInterfaceId: eniId, ...(r.unit === 'prefix' ? { Ipv4Prefixes: values } : { PrivateIpAddresses: values }),
    })));
  }

  async createTags(resourceIds: readonly string[], tags: CloudTags): Promise<void> {
    await this.call('CreateTags', () => this.ec2.send(new CreateTagsCommand({ Resources: [...resourceIds], Tags: sdkTags(tags) })));
  }

  /** Runs one SDK call (retried by the client's strategy) and turns its failure into a CloudError. */
  private async call<T>(api: CloudApi, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (err) {
      throw toCloudError(api, err);
    }
  }
}

/**
 * An SDK exception as CloudError. EC2's errors carry only Code and Message, so for `*.NotFound` the missing ids are
 * read from the message here (`The networkInterface ID 'eni-…' does not exist`), as upstream does, and nowhere else.
 */
function toCloudError(api: CloudApi, err: unknown): CloudError {
  if (err instanceof CloudError) return err;
  const code = ec2ErrorCode(err);
  const message = err instanceof Error ? err.message : String(err);
  const missingIds = code.endsWith('NotFound') ? idsInMessage(message) : [];
  return new CloudError(api, code, message, { throttled: THROTTLING_CODES.has(code), missingIds, cause: err });
}

function idsInMessage(message: string): string[] {
  const quoted = /'([^']+)'/.exec(message)?.[1] ?? '';
  return quoted.split(/[\s,]+/).filter((id) => /^[a-z]+(-[a-z]+)*-[0-9a-f]+$/.test(id));
}

function defined(values: readonly (string | undefined)[]): string[] {
  return values.filter((v): v is string => !!v);
}

function sdkTags(tags: CloudTags): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}

function tagsOf(tags: readonly Tag[] | undefined): CloudTags {
  return Object.fromEntries((tags ?? []).filter((t) => t.Key !== undefined).map((t) => [t.Key!, t.Value ?? '']));
}

function eniFilters(f: EniFilters): Filter[] {
  return [
    ...(f.tagKeys ?? []).map((k) => ({ Name: 'tag-key', Values: [k] })),
    ...(f.status !== undefined ? [{ Name: 'status', Values: [f.status] }] : []),
    ...(f.vpcId !== undefined ? [{ Name: 'vpc-id', Values: [f.vpcId] }] : []),
    ...(f.attachedInstanceId !== undefined ? [{ Name: 'attachment.instance-id', Values: [f.attachedInstanceId] }] : []),
    ...Object.entries(f.tags ?? {}).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] })),
  ];
}

function cloudEni(n: NetworkInterface): CloudEni {
  const a = n.Attachment;
  return {
    id: n.NetworkInterfaceId ?? '',
    subnetId: n.SubnetId ?? '',
    vpcId: n.VpcId ?? '',
    availabilityZone: n.AvailabilityZone ?? '',
    description: n.Description ?? '',
    status: n.Status ?? '',
    interfaceType: n.InterfaceType ?? 'interface',
    macAddress: n.MacAddress ?? '',
    primaryIpv4: n.PrivateIpAddress ?? '',
    secondaryIpv4s: defined((n.PrivateIpAddresses ?? []).filter((p) => !p.Primary).map((p) => p.PrivateIpAddress)),
    ipv4Prefixes: defined((n.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix)),
    ipv6Addresses: defined((n.Ipv6Addresses ?? []).map((p) => p.Ipv6Address)),
    ipv6Prefixes: defined((n.Ipv6Prefixes ?? []).map((p) => p.Ipv6Prefix)),
    securityGroupIds: defined((n.Groups ?? []).map((g) => g.GroupId)),
    tags: tagsOf(n.TagSet),
    ...(a?.AttachmentId ? {
      attachment: {
        attachmentId: a.AttachmentId,
        ...(a.InstanceId ? { instanceId: a.InstanceId } : {}),
        deviceIndex: a.DeviceIndex ?? 0,
        networkCardIndex: a.NetworkCardIndex ?? 0,
        deleteOnTermination: a.DeleteOnTermination ?? false,
      },
    } : {}),
  };
}

function cloudSubnet(s: Subnet): CloudSubnet {
  return {
    id: s.SubnetId ?? '',
    vpcId: s.VpcId ?? '',
    availabilityZone: s.AvailabilityZone ?? '',
    cidr: s.CidrBlock ?? '',
    ipv6Cidrs: defined((s.Ipv6CidrBlockAssociationSet ?? []).map((b) => b.Ipv6CidrBlock)),
    availableIpv4s: s.AvailableIpAddressCount ?? 0,
    tags: tagsOf(s.Tags),
  };
}
