/**
 * Secondary IPv4 CIDR blocks through the SDK: AssociateVpcCidrBlock / DisassociateVpcCidrBlock, DescribeVpcs'
 * association set and filters, the local route per block in every route table, subnets in a secondary block,
 * IMDS vpc-ipv4-cidr-blocks, and each refusal with EC2's code.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AcceptVpcPeeringConnectionCommand,
  AssociateVpcCidrBlockCommand,
  CreateRouteCommand,
  CreateRouteTableCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  CreateVpcPeeringConnectionCommand,
  DeleteVpcCommand,
  DeleteSubnetCommand,
  DescribeRouteTablesCommand,
  DescribeVpcPeeringConnectionsCommand,
  DescribeVpcsCommand,
  DisassociateVpcCidrBlockCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { applyTopology, describeFacts } from '../../../src/ec2/index.js';
import { parseTopology } from '../../../src/vpc/index.js';
import { createVpcWithSubnet, emulatorForFile, launch, rejectsWith } from './sdk-harness.js';

const h = emulatorForFile({ imds: { v1Allowed: true } });

async function vpcCidrs(ec2: EC2Client, vpcId: string): Promise<string[]> {
  const vpc = (await ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs![0]!;
  return vpc.CidrBlockAssociationSet!.map((a) => `${a.CidrBlock} ${a.CidrBlockState!.State}`);
}

async function localRoutes(ec2: EC2Client, vpcId: string): Promise<string[][]> {
  const tables = (await ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).RouteTables!;
  return tables.map((t) => t.Routes!.filter((r) => r.GatewayId === 'local' && r.DestinationCidrBlock).map((r) => r.DestinationCidrBlock!));
}

async function associate(ec2: EC2Client, vpcId: string, cidr: string): Promise<string> {
  const res = await ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpcId, CidrBlock: cidr }));
  assert.equal(res.VpcId, vpcId);
  assert.equal(res.CidrBlockAssociation!.CidrBlock, cidr);
  assert.equal(res.CidrBlockAssociation!.CidrBlockState!.State, 'associating');
  return res.CidrBlockAssociation!.AssociationId!;
}

test('a secondary block: association set, local routes in every table, a subnet in it, IMDS, filters, disassociation', async () => {
  const { vpcId, subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.10.0.0/16', subnetCidr: '10.10.1.0/24', ipv6: false });
  await rejectsWith(
    h.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '100.64.1.0/24', AvailabilityZone: 'us-west-2a' })),
    'InvalidSubnet.Range',
  );
  const assoc = await associate(h.ec2, vpcId, '100.64.0.0/16');
  assert.match(assoc, /^vpc-cidr-assoc-[0-9a-f]{17}$/);
  assert.deepEqual(await vpcCidrs(h.ec2, vpcId), ['10.10.0.0/16 associated', '100.64.0.0/16 associated']);
  // the main table got the block's local route, and a table created afterwards starts with both
  await h.ec2.send(new CreateRouteTableCommand({ VpcId: vpcId }));
  assert.deepEqual(await localRoutes(h.ec2, vpcId), [['10.10.0.0/16', '100.64.0.0/16'], ['10.10.0.0/16', '100.64.0.0/16']]);

  const byBlock = await h.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'cidr-block-association.cidr-block', Values: ['100.64.0.0/16'] }] }));
  assert.deepEqual(byBlock.Vpcs!.map((v) => v.VpcId), [vpcId]);
  const byAssoc = await h.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'cidr-block-association.association-id', Values: [assoc] }] }));
  assert.deepEqual(byAssoc.Vpcs!.map((v) => v.VpcId), [vpcId]);
  const byPrimary = await h.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'cidr', Values: ['100.64.0.0/16'] }] }));
  assert.deepEqual(byPrimary.Vpcs, [], '`cidr` is the primary block only');

  const { Subnet } = await h.ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: '100.64.1.0/24', AvailabilityZone: 'us-west-2a' }));
  const { instanceId } = await launch(h.ec2, subnetId, 't3.small');
  const base = `${h.server.imdsUrl}/${instanceId}/latest/meta-data`;
  const mac = (await (await fetch(`${base}/mac`)).text()).trim();
  const imds = async (path: string) => (await fetch(`${base}/network/interfaces/macs/${mac}/${path}`)).text();
  assert.equal(await imds('vpc-ipv4-cidr-blocks'), '10.10.0.0/16\n100.64.0.0/16');
  assert.equal(await imds('vpc-ipv4-cidr-block'), '10.10.0.0/16');

  // a block with a subnet stays; without, it goes, with its local routes, and is listed as disassociated
  await rejectsWith(h.ec2.send(new DisassociateVpcCidrBlockCommand({ AssociationId: assoc })), 'InvalidCidrBlock.InUse', { message: '100.64.0.0/16' });
  await h.ec2.send(new DeleteSubnetCommand({ SubnetId: Subnet!.SubnetId! }));
  const gone = await h.ec2.send(new DisassociateVpcCidrBlockCommand({ AssociationId: assoc }));
  assert.equal(gone.CidrBlockAssociation!.CidrBlockState!.State, 'disassociating');
  assert.deepEqual(await vpcCidrs(h.ec2, vpcId), ['10.10.0.0/16 associated', '100.64.0.0/16 disassociated']);
  assert.deepEqual(await localRoutes(h.ec2, vpcId), [['10.10.0.0/16'], ['10.10.0.0/16']]);
  assert.equal(await imds('vpc-ipv4-cidr-blocks'), '10.10.0.0/16');
  await rejectsWith(h.ec2.send(new DisassociateVpcCidrBlockCommand({ AssociationId: assoc })), 'InvalidVpcCidrBlockAssociationID.NotFound');
  // associated again: a new association
  const again = await associate(h.ec2, vpcId, '100.64.0.0/16');
  assert.notEqual(again, assoc);

  // a VPC with secondary blocks is deleted like any other once its dependencies are gone
  const lone = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.11.0.0/16' }))).Vpc!.VpcId!;
  await associate(h.ec2, lone, '100.64.0.0/16');
  await h.ec2.send(new DeleteVpcCommand({ VpcId: lone }));
  assert.deepEqual((await h.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'vpc-id', Values: [lone] }] }))).Vpcs, []);
});

test('the association restrictions of the range the primary block is in, and the size limits', async () => {
  const ten = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }))).Vpc!.VpcId!;
  const restricted = { message: /^The CIDR '.*' is restricted\. Use a CIDR from the same private address range/ };
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: ten, CidrBlock: '172.20.0.0/16' })), 'InvalidVpc.Range', restricted);
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: ten, CidrBlock: '192.168.0.0/16' })), 'InvalidVpc.Range', restricted);
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: ten, CidrBlock: '198.19.0.0/16' })), 'InvalidVpc.Range', restricted);
  // 10.1.0.0/16 is in 10.0.0.0/15, so nothing of 10.0.0.0/16 may join it
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: ten, CidrBlock: '10.0.4.0/24' })), 'InvalidVpc.Range', restricted);
  await associate(h.ec2, ten, '10.2.0.0/16');
  await associate(h.ec2, ten, '100.64.0.0/16');
  await associate(h.ec2, ten, '198.51.100.0/24');

  const pub = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '100.65.0.0/16' }))).Vpc!.VpcId!;
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: pub, CidrBlock: '10.9.0.0/16' })), 'InvalidVpc.Range', restricted);
  const b172 = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '172.20.0.0/16' }))).Vpc!.VpcId!;
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: b172, CidrBlock: '172.31.0.0/16' })), 'InvalidVpc.Range', restricted);
  await associate(h.ec2, b172, '172.21.0.0/16');

  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: pub, CidrBlock: '100.66.0.0/15' })), 'InvalidVpc.Range', { message: "The CIDR '100.66.0.0/15' is invalid." });
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: pub, CidrBlock: '100.66.0.0/29' })), 'InvalidVpc.Range');
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: pub, CidrBlock: '100.66.0.0/33' })), 'InvalidParameterValue');
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: pub, CidrBlock: '100.66.0.1/16' })), 'InvalidParameterValue');
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: 'vpc-0000000000000dead', CidrBlock: '100.66.0.0/16' })), 'InvalidVpcID.NotFound');
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: pub })), 'MissingParameter');
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: pub, AmazonProvidedIpv6CidrBlock: true })), 'InvalidParameterValue', { message: 'IPv4' });
});

test('conflicts: the VPC\'s own blocks, a peered VPC\'s blocks, a route as large; the limit of 5; the primary stays', async () => {
  const { vpcId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.20.0.0/16', subnetCidr: '10.20.1.0/24', ipv6: false });
  const peerVpc = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.30.0.0/16' }))).Vpc!.VpcId!;
  const pcx = (await h.ec2.send(new CreateVpcPeeringConnectionCommand({ VpcId: vpcId, PeerVpcId: peerVpc }))).VpcPeeringConnection!.VpcPeeringConnectionId!;
  await h.ec2.send(new AcceptVpcPeeringConnectionCommand({ VpcPeeringConnectionId: pcx }));
  await associate(h.ec2, peerVpc, '100.64.0.0/16');

  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpcId, CidrBlock: '10.20.128.0/17' })), 'CidrConflict', { message: '10.20.0.0/16' });
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpcId, CidrBlock: '10.30.0.0/16' })), 'CidrConflict', { message: 'peered VPC' });
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpcId, CidrBlock: '100.64.0.0/20' })), 'CidrConflict', { message: 'peered VPC' });
  const peering = (await h.ec2.send(new DescribeVpcPeeringConnectionsCommand({ VpcPeeringConnectionIds: [pcx] }))).VpcPeeringConnections![0]!;
  assert.deepEqual(peering.AccepterVpcInfo!.CidrBlockSet!.map((c) => c.CidrBlock), ['10.30.0.0/16', '100.64.0.0/16']);

  // a route to 10.40.0.0/24: a block as large or larger is refused, a smaller one is fine
  const main = (await h.ec2.send(new DescribeRouteTablesCommand({ Filters: [{ Name: 'vpc-id', Values: [vpcId] }] }))).RouteTables![0]!;
  await h.ec2.send(new CreateRouteCommand({ RouteTableId: main.RouteTableId!, DestinationCidrBlock: '10.40.0.0/24', VpcPeeringConnectionId: pcx }));
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpcId, CidrBlock: '10.40.0.0/16' })), 'CidrConflict', { message: '10.40.0.0/24' });
  await associate(h.ec2, vpcId, '10.40.0.0/25');

  await associate(h.ec2, vpcId, '10.21.0.0/16');
  await associate(h.ec2, vpcId, '10.22.0.0/16');
  await associate(h.ec2, vpcId, '10.23.0.0/16');
  await rejectsWith(h.ec2.send(new AssociateVpcCidrBlockCommand({ VpcId: vpcId, CidrBlock: '10.24.0.0/16' })), 'CidrLimitExceeded', {
    message: `This network '${vpcId}' has met its maximum number of allowed CIDRs: 5`,
  });

  const primary = (await h.ec2.send(new DescribeVpcsCommand({ VpcIds: [vpcId] }))).Vpcs![0]!.CidrBlockAssociationSet![0]!;
  assert.equal(primary.CidrBlock, '10.20.0.0/16');
  await rejectsWith(h.ec2.send(new DisassociateVpcCidrBlockCommand({ AssociationId: primary.AssociationId! })), 'OperationNotPermitted');
  await rejectsWith(h.ec2.send(new DisassociateVpcCidrBlockCommand({ AssociationId: 'vpc-cidr-assoc-00000000000000000' })), 'InvalidVpcCidrBlockAssociationID.NotFound');
});

test('the topology applier associates vpcs[].secondaryCidrs once, and the facts list every block', async () => {
  const topology = parseTopology({
    vpcs: [{ name: 'cn', cidr: '10.50.0.0/16', secondaryCidrs: ['100.64.0.0/16'] }],
    subnets: [
      { name: 'cn-nodes', vpc: 'cn', az: 'us-west-2a', cidr: '10.50.1.0/24' },
      { name: 'cn-pods', vpc: 'cn', az: 'us-west-2a', cidr: '100.64.0.0/19' },
    ],
  });
  const first = await applyTopology(topology, h.ec2);
  const vpcId = first.ids.vpcs.cn!;
  assert.deepEqual(first.changes.filter((c) => c.kind === 'vpcs').map((c) => c.change), ['created']);
  assert.deepEqual(await vpcCidrs(h.ec2, vpcId), ['10.50.0.0/16 associated', '100.64.0.0/16 associated']);
  const again = await applyTopology(topology, h.ec2);
  assert.deepEqual(again.changes.filter((c) => c.kind === 'vpcs').map((c) => c.change), ['unchanged']);
  assert.deepEqual(await vpcCidrs(h.ec2, vpcId), ['10.50.0.0/16 associated', '100.64.0.0/16 associated']);

  const facts = await describeFacts(h.ec2);
  assert.deepEqual(facts.vpcs.find((v) => v.id === vpcId), { id: vpcId, name: 'cn', cidr: '10.50.0.0/16', cidrs: ['10.50.0.0/16', '100.64.0.0/16'] });
  const main = facts.routeTables.find((t) => t.vpcId === vpcId)!;
  assert.deepEqual(main.routes.filter((r) => r.target.kind === 'local').map((r) => r.destination), ['10.50.0.0/16', '100.64.0.0/16']);
});
