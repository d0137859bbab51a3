// EKS clusters through @aws-sdk/client-eks against the emulator's HTTP listener: CreateCluster's rules and network
// presence (cluster security group, requester-managed ENIs, the public endpoint address), DescribeCluster,
// ListClusters' pages, DeleteCluster, and EKS's errors as the SDK's exception classes.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { AllocateAddressCommand, DescribeNetworkInterfacesCommand, DescribeSecurityGroupsCommand } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  DeleteClusterCommand,
  DescribeClusterCommand,
  ListClustersCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  type CreateClusterRequest,
} from '@aws-sdk/client-eks';
import { readEksClusters } from '../../../src/ec2/index.js';
import { PodnetError } from '../../../src/lib/index.js';
import { eksEndpointHostname, type EksCluster } from '../../../src/vpc/index.js';
import { createLabVpc, eksRejects, startEksEmulator, type EksEmulator, type LabVpc } from './eks-harness.js';

let emu: EksEmulator;
let vpc: LabVpc;
before(async () => {
  emu = await startEksEmulator();
  vpc = await createLabVpc(emu.ec2);
});
after(() => emu.close());

const role = 'arn:aws:iam::111122223333:role/eks-cluster';
const request = (name: string, over: Partial<CreateClusterRequest['resourcesVpcConfig']> = {}): CreateClusterRequest => ({
  name,
  roleArn: role,
  resourcesVpcConfig: { subnetIds: [vpc.privateA, vpc.privateB], ...over },
});

async function podnetEks(): Promise<EksCluster[]> {
  const res = await fetch(`${emu.server.ec2Url}/_podnet/eks`);
  assert.equal(res.status, 200);
  return ((await res.json()) as { clusters: EksCluster[] }).clusters;
}

test('CreateCluster answers with the cluster; DescribeCluster gives endpoint, CA, the cluster security group and VPC', async () => {
  const created = await emu.eks.send(new CreateClusterCommand({ ...request('lab'), version: '1.32', tags: { team: 'net' } }));
  assert.equal(created.cluster?.name, 'lab');
  assert.equal(created.cluster?.roleArn, role);
  const { cluster } = await emu.eks.send(new DescribeClusterCommand({ name: 'lab' }));
  assert.ok(cluster);
  assert.equal(cluster.status, 'ACTIVE'); // the emulator's delay is zero here
  assert.equal(cluster.arn, 'arn:aws:eks:us-west-2:111122223333:cluster/lab');
  assert.equal(cluster.version, '1.32');
  assert.equal(cluster.endpoint, `https://${eksEndpointHostname('111122223333', 'us-west-2', 'lab')}`);
  assert.match(cluster.endpoint!, /^https:\/\/[0-9A-F]{32}\.gr7\.us-west-2\.eks\.amazonaws\.com$/);
  const pem = Buffer.from(cluster.certificateAuthority!.data!, 'base64').toString('utf8');
  assert.match(pem, /^-----BEGIN CERTIFICATE-----\n/);
  assert.ok(cluster.createdAt instanceof Date && Math.abs(cluster.createdAt.getTime() - Date.now()) < 60_000);
  assert.equal(cluster.platformVersion, 'eks.1');
  assert.deepEqual(cluster.tags, { team: 'net' });
  const v = cluster.resourcesVpcConfig!;
  assert.deepEqual(v.subnetIds, [vpc.privateA, vpc.privateB]);
  assert.deepEqual(v.securityGroupIds, []);
  assert.equal(v.vpcId, vpc.vpcId);
  assert.match(v.clusterSecurityGroupId!, /^sg-[0-9a-f]{17}$/);
  assert.equal(v.endpointPublicAccess, true);
  assert.equal(v.endpointPrivateAccess, false);
  assert.deepEqual(v.publicAccessCidrs, ['0.0.0.0/0']);
  assert.equal(cluster.kubernetesNetworkConfig?.serviceIpv4Cidr, '172.20.0.0/16');
});

test('the version defaults to 1.33; an unknown version, a bad name and a second cluster of the same name are refused', async () => {
  const { cluster } = await emu.eks.send(new CreateClusterCommand(request('defaults_1')));
  assert.equal(cluster?.version, '1.33');
  await eksRejects(emu.eks.send(new CreateClusterCommand({ ...request('old'), version: '1.10' })), 'InvalidParameterException', { message: 'unsupported Kubernetes version 1.10' });
  await eksRejects(emu.eks.send(new CreateClusterCommand(request('-bad.name'))), 'InvalidParameterException', { message: /^The name parameter contains invalid characters/ });
  await eksRejects(emu.eks.send(new CreateClusterCommand(request('x'.repeat(101)))), 'InvalidParameterException');
  const dup = await eksRejects(emu.eks.send(new CreateClusterCommand(request('defaults_1'))), 'ResourceInUseException', { status: 409, message: 'Cluster already exists with name: defaults_1' });
  assert.ok(dup instanceof ResourceInUseException);
  assert.equal(dup.clusterName, 'defaults_1');
});

test('EKS\'s subnet rules: at least two availability zones, subnets that exist, in one VPC', async () => {
  await eksRejects(emu.eks.send(new CreateClusterCommand(request('one-az', { subnetIds: [vpc.privateA, vpc.privateA2] }))), 'InvalidParameterException', {
    message: 'Subnets specified must be in at least two different AZs',
  });
  await eksRejects(emu.eks.send(new CreateClusterCommand(request('one-subnet', { subnetIds: [vpc.privateA] }))), 'InvalidParameterException', {
    message: 'Subnets specified must be in at least two different AZs',
  });
  await eksRejects(emu.eks.send(new CreateClusterCommand(request('no-subnet', { subnetIds: [vpc.privateA, 'subnet-0000000000000dead'] }))), 'InvalidParameterException', {
    message: /subnet ID 'subnet-0000000000000dead' does not exist/,
  });
  // nothing of a refused cluster stays behind
  assert.deepEqual((await emu.eks.send(new ListClustersCommand({}))).clusters?.filter((n) => ['one-az', 'one-subnet', 'no-subnet'].includes(n)), []);
});

test('endpoint access: both off is refused; publicAccessCidrs must be public IPv4 CIDRs, every bad one named', async () => {
  await eksRejects(emu.eks.send(new CreateClusterCommand(request('closed', { endpointPublicAccess: false, endpointPrivateAccess: false }))), 'InvalidParameterException', {
    message: 'Both private and public endpoint access cannot be false',
  });
  await eksRejects(emu.eks.send(new CreateClusterCommand(request('cidrs', { publicAccessCidrs: ['198.51.100.0/24', 'nonsense', '10.1.0.0/16', '198.51.100.7/24'] }))), 'InvalidParameterException', {
    message: 'The following CIDRs are invalid in publicAccessCidrs: [nonsense,10.1.0.0/16,198.51.100.7/24]',
  });
});

test('the cluster security group: EKS\'s name, description, all from itself, all out, and its tags', async () => {
  const { cluster } = await emu.eks.send(new DescribeClusterCommand({ name: 'lab' }));
  const sgId = cluster!.resourcesVpcConfig!.clusterSecurityGroupId!;
  const [group] = (await emu.ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: [sgId] }))).SecurityGroups!;
  assert.match(group!.GroupName!, /^eks-cluster-sg-lab-\d{10}$/);
  assert.equal(group!.Description, 'EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, as well as any managed workloads.');
  assert.equal(group!.VpcId, vpc.vpcId);
  assert.deepEqual(group!.IpPermissions!.map((p) => [p.IpProtocol, p.UserIdGroupPairs?.map((g) => g.GroupId)]), [['-1', [sgId]]]);
  assert.deepEqual(group!.IpPermissionsEgress!.map((p) => [p.IpProtocol, p.IpRanges?.map((r) => r.CidrIp)]), [['-1', ['0.0.0.0/0']]]);
  const tags = Object.fromEntries(group!.Tags!.map((t) => [t.Key, t.Value]));
  assert.equal(tags['aws:eks:cluster-name'], 'lab');
  assert.equal(tags['kubernetes.io/cluster/lab'], 'owned');
  assert.equal(tags.Name, group!.GroupName);
});

test('the cluster\'s network interfaces: 2 to 4, spread over its subnets, requester-managed, "Amazon EKS <name>", cluster SG + additional groups', async () => {
  const { cluster } = await emu.eks.send(new CreateClusterCommand({ ...request('wide', { subnetIds: [vpc.privateA, vpc.privateB, vpc.publicA, vpc.publicB, vpc.privateA2], securityGroupIds: [vpc.nodesSg] }) }));
  const sgId = cluster!.resourcesVpcConfig!.clusterSecurityGroupId!;
  const enis = (await emu.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'description', Values: ['Amazon EKS wide'] }] }))).NetworkInterfaces!;
  assert.equal(enis.length, 4);
  assert.deepEqual(enis.map((e) => e.SubnetId), [vpc.privateA, vpc.privateB, vpc.publicA, vpc.publicB]);
  for (const e of enis) {
    assert.equal(e.RequesterManaged, true);
    assert.ok(e.RequesterId);
    assert.equal(e.Attachment, undefined);
    assert.deepEqual(e.Groups!.map((g) => g.GroupId), [sgId, vpc.nodesSg]);
  }
  const two = (await emu.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'description', Values: ['Amazon EKS lab'] }] }))).NetworkInterfaces!;
  assert.deepEqual(two.map((e) => e.SubnetId), [vpc.privateA, vpc.privateB]);
  // requester-managed: the account cannot delete them
  const eks = (await podnetEks()).find((c) => c.name === 'wide')!;
  assert.deepEqual(eks.enis.map((e) => e.eniId), enis.map((e) => e.NetworkInterfaceId));
  assert.deepEqual(eks.enis.map((e) => e.privateIp), enis.map((e) => e.PrivateIpAddress));
});

test('mapping events carry the cluster ENIs with their description and requesterManaged', async () => {
  const controller = new AbortController();
  const res = await fetch(`${emu.server.ec2Url}/_podnet/events`, { signal: controller.signal });
  const reader = res.body!.getReader();
  let text = '';
  while (!text.includes('\n')) text += new TextDecoder().decode((await reader.read()).value);
  controller.abort();
  const snapshot = JSON.parse(text.split('\n')[0]!) as { type: string; enis: Array<{ description: string; requesterManaged: boolean; instanceId: string | null; groupIds: string[] }> };
  const eksEnis = snapshot.enis.filter((e) => e.description === 'Amazon EKS lab');
  assert.equal(eksEnis.length, 2);
  for (const e of eksEnis) {
    assert.equal(e.requesterManaged, true);
    assert.equal(e.instanceId, null);
    assert.equal(e.groupIds.length, 1);
  }
});

test('GET /_podnet/eks: the clusters as the lab reads them (hostname, ENIs, public address from the pool, access)', async () => {
  // an Elastic IP allocated now must not take the endpoint's address
  const eip = (await emu.ec2.send(new AllocateAddressCommand({ Domain: 'vpc' }))).PublicIp!;
  const clusters = await podnetEks();
  const lab = clusters.find((c) => c.name === 'lab')!;
  assert.equal(lab.hostname, eksEndpointHostname('111122223333', 'us-west-2', 'lab'));
  assert.equal(lab.status, 'ACTIVE');
  assert.equal(lab.vpcId, vpc.vpcId);
  assert.deepEqual(lab.subnetIds, [vpc.privateA, vpc.privateB]);
  assert.equal(lab.enis.length, 2);
  assert.match(lab.publicAddress!, /^203\.0\.113\.\d+$/);
  assert.notEqual(lab.publicAddress, eip);
  assert.equal(new Set(clusters.map((c) => c.publicAddress)).size, clusters.length);
  assert.deepEqual([lab.endpointPublicAccess, lab.endpointPrivateAccess, lab.publicAccessCidrs], [true, false, ['0.0.0.0/0']]);
  assert.deepEqual(lab.fargateProfiles, []);
  assert.deepEqual(lab.securityGroupIds, []);
});

test('readEksClusters reads /_podnet/eks; an address that does not serve it is an error naming the URL', async () => {
  assert.deepEqual(await readEksClusters(emu.server.ec2Url), await podnetEks());
  await assert.rejects(readEksClusters(emu.server.imdsUrl), (err: unknown) => err instanceof PodnetError && err.message.includes(`${emu.server.imdsUrl}/_podnet/eks answered`));
});

test('a private-only cluster has no public address', async () => {
  await emu.eks.send(new CreateClusterCommand(request('private-only', { endpointPublicAccess: false, endpointPrivateAccess: true })));
  const c = (await podnetEks()).find((x) => x.name === 'private-only')!;
  assert.equal(c.publicAddress, null);
  assert.deepEqual([c.endpointPublicAccess, c.endpointPrivateAccess], [false, true]);
});

test('ListClusters pages by maxResults and nextToken, in name order; a bad maxResults or token is refused', async () => {
  const all = (await emu.eks.send(new ListClustersCommand({}))).clusters!;
  assert.deepEqual(all, [...all].sort());
  assert.ok(all.length >= 4);
  const seen: string[] = [];
  let token: string | undefined;
  do {
    const page = await emu.eks.send(new ListClustersCommand({ maxResults: 2, nextToken: token }));
    assert.ok(page.clusters!.length <= 2);
    seen.push(...page.clusters!);
    token = page.nextToken;
  } while (token);
  assert.deepEqual(seen, all);
  await eksRejects(emu.eks.send(new ListClustersCommand({ maxResults: 0 })), 'InvalidParameterException');
  await eksRejects(emu.eks.send(new ListClustersCommand({ nextToken: '!!' })), 'InvalidParameterException');
});

test('DescribeCluster and DeleteCluster of an unknown cluster: ResourceNotFoundException (404) naming it', async () => {
  const err = await eksRejects(emu.eks.send(new DescribeClusterCommand({ name: 'ghost' })), 'ResourceNotFoundException', { status: 404, message: 'No cluster found for name: ghost.' });
  assert.ok(err instanceof ResourceNotFoundException);
  assert.equal(err.clusterName, 'ghost');
  await eksRejects(emu.eks.send(new DeleteClusterCommand({ name: 'ghost' })), 'ResourceNotFoundException', { status: 404 });
});

test('DeleteCluster answers DELETING and removes the ENIs, the cluster security group and the endpoint address', async () => {
  const before = (await podnetEks()).find((c) => c.name === 'wide')!;
  const { cluster } = await emu.eks.send(new DeleteClusterCommand({ name: 'wide' }));
  assert.equal(cluster?.status, 'DELETING');
  await eksRejects(emu.eks.send(new DescribeClusterCommand({ name: 'wide' })), 'ResourceNotFoundException', { status: 404 });
  const enis = (await emu.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'description', Values: ['Amazon EKS wide'] }] }))).NetworkInterfaces!;
  assert.deepEqual(enis, []);
  const groups = (await emu.ec2.send(new DescribeSecurityGroupsCommand({ Filters: [{ Name: 'group-id', Values: [before.clusterSecurityGroupId] }] }))).SecurityGroups!;
  assert.deepEqual(groups, []);
  // the address goes back to the pool: the next cluster may take it
  assert.ok(!(await podnetEks()).some((c) => c.publicAddress === before.publicAddress));
});

test('a request the emulator does not implement gets an EKS error, not a crash; a malformed body too', async () => {
  const res = await fetch(`${emu.server.ec2Url}/clusters/lab/node-groups`, { method: 'GET' });
  assert.equal(res.status, 400);
  assert.equal(res.headers.get('x-amzn-errortype'), 'InvalidRequestException');
  assert.match(((await res.json()) as { message: string }).message, /does not implement GET \/clusters\/lab\/node-groups/);
  const tags = await fetch(`${emu.server.ec2Url}/tags/${encodeURIComponent('arn:aws:eks:us-west-2:111122223333:cluster/lab')}`);
  assert.equal(tags.headers.get('x-amzn-errortype'), 'InvalidRequestException');
  const bad = await fetch(`${emu.server.ec2Url}/clusters`, { method: 'POST', body: '{not json' });
  assert.equal(bad.status, 400);
  assert.equal(bad.headers.get('x-amzn-errortype'), 'InvalidRequestException');
  const wrongType = await fetch(`${emu.server.ec2Url}/clusters`, { method: 'POST', body: JSON.stringify({ name: 'typed', roleArn: role, resourcesVpcConfig: { subnetIds: 'subnet-1' } }) });
  assert.equal(wrongType.status, 400);
  assert.equal(wrongType.headers.get('x-amzn-errortype'), 'InvalidParameterException');
  // EC2 still answers on the same port
  const ec2 = await fetch(`${emu.server.ec2Url}/?Action=DescribeVpcs&Version=2016-11-15`);
  assert.equal(ec2.status, 200);
});
