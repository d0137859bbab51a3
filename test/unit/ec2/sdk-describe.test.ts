/**
 * The nine Describe* actions share one select → filter → paginate → render path: each is checked here through the
 * real SDK for the same EC2 semantics — MaxResults/NextToken paging (bounds per action, refused with explicit IDs,
 * a bad token refused), filters by name with wildcards, `tag:` filters, and an unknown filter refused.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  AcceptVpcPeeringConnectionCommand,
  CreateInternetGatewayCommand,
  CreateNatGatewayCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateTagsCommand,
  CreateVpcCommand,
  CreateVpcPeeringConnectionCommand,
  DescribeInstanceTypesCommand,
  DescribeInstancesCommand,
  DescribeInternetGatewaysCommand,
  DescribeNatGatewaysCommand,
  DescribeNetworkInterfacesCommand,
  DescribeRouteTablesCommand,
  DescribeSecurityGroupsCommand,
  DescribeSubnetsCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
  type EC2Client,
  type Filter,
} from '@aws-sdk/client-ec2';
import { launch, rejectsWith, startEmulator, type EmulatorHandle } from './sdk-harness.js';

let h: EmulatorHandle;

/** A Describe* call reduced to what paging and filtering need: the IDs of one page and the next token. */
interface Page {
  ids: string[];
  next?: string;
}
interface DescribeInput {
  ids?: string[];
  filters?: Filter[];
  maxResults?: number;
  nextToken?: string;
}

interface Described {
  action: string;
  call(ec2: EC2Client, input: DescribeInput): Promise<Page>;
  /** The largest MaxResults EC2 takes for this action (the smallest is 5 for all nine). */
  max: number;
  /** The filter that names one item by its ID. */
  idFilter: string;
  /** Whether the action takes resource IDs (DescribeInstanceTypes takes type names, and pages them). */
  takesIds: boolean;
  taggable: boolean;
}

/** An SDK Describe command class, taken loosely: the table below passes each its own input shape. */
type DescribeCommand = new (...args: never[]) => object;

/** How one action is called through the SDK: its command, the IDs parameter, and where the answer lists the IDs. */
function viaSdk(Command: DescribeCommand, idsParam: string, listed: (out: Record<string, unknown>) => string[], filtersParam = 'Filters') {
  return async (ec2: EC2Client, i: DescribeInput): Promise<Page> => {
    const input = { [idsParam]: i.ids, [filtersParam]: i.filters, MaxResults: i.maxResults, NextToken: i.nextToken };
    const out = (await ec2.send(new Command(input as never) as Parameters<EC2Client['send']>[0])) as unknown as Record<string, unknown> & { NextToken?: string };
    return { ids: listed(out), next: out.NextToken };
  };
}

type Item = Record<string, string>;
const ids = (list: string, key: string) => (out: Record<string, unknown>) => (out[list] as Item[]).map((x) => x[key]!);

const actions: Described[] = [
  { action: 'DescribeVpcs', max: 1000, idFilter: 'vpc-id', takesIds: true, taggable: true, call: viaSdk(DescribeVpcsCommand, 'VpcIds', ids('Vpcs', 'VpcId')) },
  { action: 'DescribeSubnets', max: 1000, idFilter: 'subnet-id', takesIds: true, taggable: true, call: viaSdk(DescribeSubnetsCommand, 'SubnetIds', ids('Subnets', 'SubnetId')) },
  {
    action: 'DescribeRouteTables', max: 100, idFilter: 'route-table-id', takesIds: true, taggable: true,
    call: viaSdk(DescribeRouteTablesCommand, 'RouteTableIds', ids('RouteTables', 'RouteTableId')),
  },
  {
    action: 'DescribeInternetGateways', max: 1000, idFilter: 'internet-gateway-id', takesIds: true, taggable: true,
    call: viaSdk(DescribeInternetGatewaysCommand, 'InternetGatewayIds', ids('InternetGateways', 'InternetGatewayId')),
  },
  {
    // the SDK names this action's filter list Filter, not Filters
    action: 'DescribeNatGateways', max: 1000, idFilter: 'nat-gateway-id', takesIds: true, taggable: true,
    call: viaSdk(DescribeNatGatewaysCommand, 'NatGatewayIds', ids('NatGateways', 'NatGatewayId'), 'Filter'),
  },
  {
    action: 'DescribeVpcPeeringConnections', max: 1000, idFilter: 'vpc-peering-connection-id', takesIds: true, taggable: true,
    call: viaSdk(DescribeVpcPeeringConnectionsCommand, 'VpcPeeringConnectionIds', ids('VpcPeeringConnections', 'VpcPeeringConnectionId')),
  },
  {
    action: 'DescribeSecurityGroups', max: 1000, idFilter: 'group-id', takesIds: true, taggable: true,
    call: viaSdk(DescribeSecurityGroupsCommand, 'GroupIds', ids('SecurityGroups', 'GroupId')),
  },
  {
    action: 'DescribeNetworkInterfaces', max: 1000, idFilter: 'network-interface-id', takesIds: true, taggable: true,
    call: viaSdk(DescribeNetworkInterfacesCommand, 'NetworkInterfaceIds', ids('NetworkInterfaces', 'NetworkInterfaceId')),
  },
  {
    action: 'DescribeInstances', max: 1000, idFilter: 'instance-id', takesIds: true, taggable: true,
    call: viaSdk(DescribeInstancesCommand, 'InstanceIds', (out) => (out.Reservations as Array<{ Instances: Item[] }>).flatMap((r) => r.Instances.map((i) => i.InstanceId!))),
  },
  {
    action: 'DescribeInstanceTypes', max: 100, idFilter: 'instance-type', takesIds: false, taggable: false,
    call: viaSdk(DescribeInstanceTypesCommand, 'InstanceTypes', ids('InstanceTypes', 'InstanceType')),
  },
];

/** Every page of a listing with MaxResults pageSize, in order, following NextToken until none comes. */
async function allPages(d: Described, pageSize: number, filters?: Filter[]): Promise<string[][]> {
  const pages: string[][] = [];
  let next: string | undefined;
  do {
    const page = await d.call(h.ec2, { maxResults: pageSize, nextToken: next, filters });
    pages.push(page.ids);
    next = page.next;
  } while (next !== undefined);
  return pages;
}

// Seven of every resource, so a page of five leaves a second page: seven VPCs (each with its main route table and
// default security group), subnets, internet gateways, private NAT gateways (each with its ENI), peerings and instances.
before(async () => {
  h = await startEmulator();
  const ec2 = h.ec2;
  const vpcs: string[] = [];
  for (let i = 0; i < 7; i++) vpcs.push((await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${i}.0.0/16` }))).Vpc!.VpcId!);
  const subnets: string[] = [];
  for (let i = 0; i < 7; i++) {
    subnets.push((await ec2.send(new CreateSubnetCommand({ VpcId: vpcs[0], CidrBlock: `10.0.${i}.0/24`, AvailabilityZone: 'us-west-2a' }))).Subnet!.SubnetId!);
  }
  for (let i = 0; i < 7; i++) {
    await ec2.send(new CreateInternetGatewayCommand({}));
    await ec2.send(new CreateNatGatewayCommand({ SubnetId: subnets[i], ConnectivityType: 'private' }));
    await launch(ec2, subnets[i]!, 't3.small');
  }
  for (let i = 1; i < 7; i++) await ec2.send(new CreateVpcPeeringConnectionCommand({ VpcId: vpcs[0], PeerVpcId: vpcs[i] }));
  const last = await ec2.send(new CreateVpcPeeringConnectionCommand({ VpcId: vpcs[1], PeerVpcId: vpcs[2] }));
  await ec2.send(new AcceptVpcPeeringConnectionCommand({ VpcPeeringConnectionId: last.VpcPeeringConnection!.VpcPeeringConnectionId }));
  await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'web servers', VpcId: vpcs[0] }));
});
after(() => h.close());

for (const d of actions) {
  test(`${d.action} pages with MaxResults/NextToken: pages of 5 in order, together the whole listing, the last without a token`, async () => {
    const whole = (await d.call(h.ec2, {})).ids;
    assert.ok(whole.length > 5, `${d.action} has ${whole.length} items`);
    if (!d.takesIds) {
      // DescribeInstanceTypes answers 100 of its 1391 types without MaxResults; two pages of 5 start that listing
      assert.equal(whole.length, 100);
      const first = await d.call(h.ec2, { maxResults: 5 });
      const second = await d.call(h.ec2, { maxResults: 5, nextToken: first.next });
      assert.deepEqual([...first.ids, ...second.ids], whole.slice(0, 10));
      assert.notEqual(second.next, undefined);
      return;
    }
    const pages = await allPages(d, 5);
    assert.ok(pages.length >= 2);
    for (const page of pages.slice(0, -1)) assert.equal(page.length, 5);
    assert.deepEqual(pages.flat(), whole);
  });

  test(`${d.action} refuses MaxResults below 5 or above ${d.max}, a token it did not issue, and an unknown filter`, async () => {
    await rejectsWith(d.call(h.ec2, { maxResults: 4 }), 'InvalidParameterValue', { message: `between 5 and ${d.max}` });
    await rejectsWith(d.call(h.ec2, { maxResults: d.max + 1 }), 'InvalidParameterValue', { message: `between 5 and ${d.max}` });
    await rejectsWith(d.call(h.ec2, { maxResults: 5, nextToken: 'garbage' }), 'InvalidParameterValue', { message: "The token 'garbage' is invalid." });
    await rejectsWith(d.call(h.ec2, { filters: [{ Name: 'colour', Values: ['blue'] }] }), 'InvalidParameterValue', { message: "The filter 'colour' is invalid" });
  });

  test(`${d.action} filters by ${d.idFilter}: any of the values, with * and ? wildcards`, async () => {
    const whole = (await d.call(h.ec2, { maxResults: 10 })).ids;
    const [a, b] = whole;
    assert.deepEqual((await d.call(h.ec2, { filters: [{ Name: d.idFilter, Values: [a!] }] })).ids, [a]);
    assert.deepEqual((await d.call(h.ec2, { filters: [{ Name: d.idFilter, Values: [b!, a!] }] })).ids, [a, b]);
    assert.deepEqual((await d.call(h.ec2, { filters: [{ Name: d.idFilter, Values: [a!.slice(0, -1) + '?'] }] })).ids.includes(a!), true);
    assert.deepEqual((await d.call(h.ec2, { filters: [{ Name: d.idFilter, Values: ['no-such-*'] }] })).ids, []);
    // filters and paging together: the pages hold the filtered items only
    const pages = await allPages(d, 5, [{ Name: d.idFilter, Values: [a!, b!] }]);
    assert.deepEqual(pages.flat(), [a, b]);
  });

  if (d.takesIds) {
    test(`${d.action} refuses MaxResults together with explicit IDs (InvalidParameterCombination), and answers the IDs named`, async () => {
      const [a, b] = (await d.call(h.ec2, { maxResults: 5 })).ids;
      await rejectsWith(d.call(h.ec2, { ids: [a!], maxResults: 5 }), 'InvalidParameterCombination');
      assert.deepEqual((await d.call(h.ec2, { ids: [b!, a!] })).ids.sort(), [a, b].sort());
    });
  }

  if (d.taggable) {
    test(`${d.action} filters by tag:KEY, tag-key and tag-value`, async () => {
      const [, second] = (await d.call(h.ec2, { maxResults: 5 })).ids;
      const role = `${d.action}-role`;
      await h.ec2.send(new CreateTagsCommand({ Resources: [second!], Tags: [{ Key: role, Value: 'chosen' }] }));
      assert.deepEqual((await d.call(h.ec2, { filters: [{ Name: `tag:${role}`, Values: ['cho*'] }] })).ids, [second]);
      assert.deepEqual((await d.call(h.ec2, { filters: [{ Name: 'tag-key', Values: [role] }] })).ids, [second]);
      assert.deepEqual((await d.call(h.ec2, { filters: [{ Name: `tag:${role}`, Values: ['other'] }] })).ids, []);
      // every filter must match (AND)
      assert.deepEqual((await d.call(h.ec2, { filters: [{ Name: 'tag-key', Values: [role] }, { Name: d.idFilter, Values: ['no-such'] }] })).ids, []);
    });
  }
}

test('DescribeInstanceTypes pages named types too, and refuses an unknown one', async () => {
  const types = ['t3.small', 't3.medium', 't3.large', 'm5.large', 'm5.xlarge', 'c5.large'];
  const d = actions.find((x) => x.action === 'DescribeInstanceTypes')!;
  const first = await d.call(h.ec2, { ids: types, maxResults: 5 });
  assert.equal(first.ids.length, 5);
  const rest = await d.call(h.ec2, { ids: types, maxResults: 5, nextToken: first.next });
  assert.deepEqual([...first.ids, ...rest.ids].sort(), [...types].sort());
  await rejectsWith(d.call(h.ec2, { ids: ['t3.galactic'] }), 'InvalidInstanceType', { message: 't3.galactic' });
});

test('DescribeNatGateways names unknown IDs with NatGatewayNotFound; the others with their kind\'s NotFound', async () => {
  await rejectsWith(h.ec2.send(new DescribeNatGatewaysCommand({ NatGatewayIds: ['nat-0123456789abcdef0'] })), 'NatGatewayNotFound');
  await rejectsWith(h.ec2.send(new DescribeVpcsCommand({ VpcIds: ['vpc-0123456789abcdef0'] })), 'InvalidVpcID.NotFound', { message: "'vpc-0123456789abcdef0'" });
  await rejectsWith(h.ec2.send(new DescribeSubnetsCommand({ SubnetIds: ['subnet-nope'] })), 'InvalidSubnetID.Malformed');
});

test('DescribeSecurityGroups selects by GroupName, refuses an unknown name, and refuses MaxResults with names', async () => {
  const r = await h.ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['web'] }));
  assert.deepEqual(r.SecurityGroups!.map((g) => g.Description), ['web servers']);
  await rejectsWith(h.ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['nope'] })), 'InvalidGroup.NotFound', { message: "'nope'" });
  await rejectsWith(h.ec2.send(new DescribeSecurityGroupsCommand({ GroupNames: ['web'], MaxResults: 5 })), 'InvalidParameterCombination');
});

test('filters that look past the row: route tables by association.main, ENIs by attachment.status, instances by private-ip-address', async () => {
  const main = await h.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'association.main', Values: ['true'] }] }));
  assert.equal(main.RouteTables!.length, 7, 'one main route table per VPC');
  const attached = await h.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.status', Values: ['attached'] }] }));
  assert.equal(attached.NetworkInterfaces!.length, 7, 'one primary ENI per instance');
  const anInstance = (await h.ec2.send(new DescribeInstancesCommand({ MaxResults: 5 }))).Reservations![0]!.Instances![0]!;
  const byIp = await h.ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'private-ip-address', Values: [anInstance.PrivateIpAddress!] }] }));
  assert.deepEqual(byIp.Reservations!.flatMap((x) => x.Instances!.map((i) => i.InstanceId)), [anInstance.InstanceId]);
});
