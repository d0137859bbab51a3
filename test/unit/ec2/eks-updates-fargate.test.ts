// EKS's asynchronous side through @aws-sdk/client-eks, on an emulator whose clock the test moves: a cluster CREATING
// then ACTIVE, endpoint-access updates (InProgress → Successful, one at a time, DescribeUpdate, ListUpdates), and
// Fargate profiles (private subnets only, selectors, one profile changing at a time, DeleteCluster refused while
// profiles exist).
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  CreateClusterCommand,
  CreateFargateProfileCommand,
  DeleteClusterCommand,
  DeleteFargateProfileCommand,
  DescribeClusterCommand,
  DescribeFargateProfileCommand,
  DescribeUpdateCommand,
  ListFargateProfilesCommand,
  ListUpdatesCommand,
  UpdateClusterConfigCommand,
  type CreateFargateProfileRequest,
} from '@aws-sdk/client-eks';
import { eksClusters, openEc2State, type Ec2State } from '../../../src/ec2/index.js';
import type { EksCluster } from '../../../src/vpc/index.js';
import { createLabVpc, eksRejects, startEksEmulator, type EksEmulator, type LabVpc } from './eks-harness.js';

let clock = Date.parse('2026-12-04T12:00:00Z');
const DELAY = 2000;
let state: Ec2State;
let emu: EksEmulator;
let vpc: LabVpc;
before(async () => {
  state = openEc2State({ now: () => clock });
  emu = await startEksEmulator({ state, eks: { delayMs: DELAY } });
  vpc = await createLabVpc(emu.ec2);
});
after(async () => {
  await emu.close();
  state.close();
});

const role = 'arn:aws:iam::111122223333:role/eks-cluster';
const podRole = 'arn:aws:iam::111122223333:role/eks-fargate-pods';
const view = (name: string): EksCluster => eksClusters(state).find((c) => c.name === name)!;
const profile = (name: string, over: Partial<CreateFargateProfileRequest> = {}): CreateFargateProfileRequest => ({
  clusterName: 'lab',
  fargateProfileName: name,
  podExecutionRoleArn: podRole,
  subnets: [vpc.privateA, vpc.privateB],
  selectors: [{ namespace: 'serverless', labels: { tier: 'web' } }],
  ...over,
});

test('a new cluster is CREATING, without endpoint or CA, until the delay has passed; then ACTIVE', async () => {
  const { cluster } = await emu.eks.send(new CreateClusterCommand({ name: 'lab', roleArn: role, resourcesVpcConfig: { subnetIds: [vpc.privateA, vpc.privateB] } }));
  assert.equal(cluster?.status, 'CREATING');
  assert.equal(cluster?.endpoint, undefined);
  assert.equal(cluster?.certificateAuthority?.data, undefined);
  assert.equal(view('lab').status, 'CREATING');
  // a Fargate profile needs an ACTIVE cluster; so does an update
  await eksRejects(emu.eks.send(new CreateFargateProfileCommand(profile('early'))), 'InvalidRequestException', { message: /CREATING/ });
  await eksRejects(emu.eks.send(new UpdateClusterConfigCommand({ name: 'lab', resourcesVpcConfig: { endpointPrivateAccess: true } })), 'ResourceInUseException', { status: 409 });
  clock += DELAY;
  const active = await emu.eks.send(new DescribeClusterCommand({ name: 'lab' }));
  assert.equal(active.cluster?.status, 'ACTIVE');
  assert.match(active.cluster!.endpoint!, /^https:\/\//);
  assert.ok(active.cluster?.certificateAuthority?.data);
  assert.equal(view('lab').status, 'ACTIVE');
});

test('UpdateClusterConfig: an EndpointAccessUpdate InProgress (cluster UPDATING), applied when done; a second one meanwhile is refused', async () => {
  const before = view('lab');
  const { update } = await emu.eks.send(new UpdateClusterConfigCommand({ name: 'lab', resourcesVpcConfig: { endpointPrivateAccess: true, publicAccessCidrs: ['198.51.100.0/24'] } }));
  assert.ok(update?.id);
  assert.match(update.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  assert.equal(update.status, 'InProgress');
  assert.equal(update.type, 'EndpointAccessUpdate');
  assert.deepEqual(update.params, [
    { type: 'EndpointPrivateAccess', value: 'true' },
    { type: 'PublicAccessCidrs', value: '["198.51.100.0/24"]' },
  ]);
  assert.equal((await emu.eks.send(new DescribeClusterCommand({ name: 'lab' }))).cluster?.status, 'UPDATING');
  // not applied yet
  assert.deepEqual([view('lab').endpointPrivateAccess, view('lab').publicAccessCidrs], [false, ['0.0.0.0/0']]);
  await eksRejects(emu.eks.send(new UpdateClusterConfigCommand({ name: 'lab', resourcesVpcConfig: { endpointPublicAccess: false } })), 'ResourceInUseException', {
    status: 409,
    message: `Cannot EndpointAccessUpdate because cluster lab currently has update ${update.id} in progress`,
  });
  clock += DELAY;
  const done = await emu.eks.send(new DescribeUpdateCommand({ name: 'lab', updateId: update.id }));
  assert.equal(done.update?.status, 'Successful');
  assert.deepEqual(done.update?.errors, []);
  const after = view('lab');
  assert.equal(after.status, 'ACTIVE');
  assert.deepEqual([after.endpointPublicAccess, after.endpointPrivateAccess, after.publicAccessCidrs], [true, true, ['198.51.100.0/24']]);
  assert.equal(after.publicAddress, before.publicAddress);
  const described = (await emu.eks.send(new DescribeClusterCommand({ name: 'lab' }))).cluster!.resourcesVpcConfig!;
  assert.deepEqual([described.endpointPrivateAccess, described.publicAccessCidrs], [true, ['198.51.100.0/24']]);
});

test('an update to the configuration the cluster has, or to both endpoints off, is refused as EKS does', async () => {
  await eksRejects(emu.eks.send(new UpdateClusterConfigCommand({ name: 'lab', resourcesVpcConfig: { endpointPrivateAccess: true } })), 'InvalidParameterException', {
    message: 'Cluster is already at the desired configuration with endpointPrivateAccess: true , endpointPublicAccess: true, and Public Endpoint Restrictions: [198.51.100.0/24]',
  });
  await eksRejects(emu.eks.send(new UpdateClusterConfigCommand({ name: 'lab', resourcesVpcConfig: { endpointPrivateAccess: false, endpointPublicAccess: false } })), 'InvalidParameterException', {
    message: 'Both private and public endpoint access cannot be false',
  });
  await eksRejects(emu.eks.send(new UpdateClusterConfigCommand({ name: 'lab', resourcesVpcConfig: { publicAccessCidrs: ['192.168.0.0/16'] } })), 'InvalidParameterException', {
    message: 'The following CIDRs are invalid in publicAccessCidrs: [192.168.0.0/16]',
  });
  await eksRejects(emu.eks.send(new UpdateClusterConfigCommand({ name: 'ghost', resourcesVpcConfig: { endpointPrivateAccess: true } })), 'ResourceNotFoundException', { status: 404 });
  await eksRejects(emu.eks.send(new DescribeUpdateCommand({ name: 'lab', updateId: '00000000-0000-0000-0000-000000000000' })), 'ResourceNotFoundException', { status: 404 });
});

test('public access off gives the endpoint address back; on again takes one from the pool; ListUpdates lists every update in order', async () => {
  const off = await emu.eks.send(new UpdateClusterConfigCommand({ name: 'lab', resourcesVpcConfig: { endpointPublicAccess: false } }));
  clock += DELAY;
  assert.equal((await emu.eks.send(new DescribeUpdateCommand({ name: 'lab', updateId: off.update!.id! }))).update?.status, 'Successful');
  assert.equal(view('lab').publicAddress, null);
  assert.equal(view('lab').endpointPublicAccess, false);
  const on = await emu.eks.send(new UpdateClusterConfigCommand({ name: 'lab', resourcesVpcConfig: { endpointPublicAccess: true } }));
  clock += DELAY;
  assert.match(view('lab').publicAddress!, /^203\.0\.113\.\d+$/);
  const ids = (await emu.eks.send(new ListUpdatesCommand({ name: 'lab' }))).updateIds!;
  assert.equal(ids.length, 3);
  assert.deepEqual(ids.slice(1), [off.update!.id, on.update!.id]);
  const first = await emu.eks.send(new ListUpdatesCommand({ name: 'lab', maxResults: 2 }));
  assert.equal(first.updateIds!.length, 2);
  const second = await emu.eks.send(new ListUpdatesCommand({ name: 'lab', maxResults: 2, nextToken: first.nextToken }));
  assert.deepEqual([...first.updateIds!, ...second.updateIds!], ids);
  assert.equal(second.nextToken, undefined);
});

test('a Fargate profile naming a public subnet (route to an internet gateway) is refused with EKS\'s message', async () => {
  const err = await eksRejects(emu.eks.send(new CreateFargateProfileCommand(profile('public', { subnets: [vpc.privateA, vpc.publicB] }))), 'InvalidParameterException', {
    message: `Subnet ${vpc.publicB} provided in Fargate Profile is not a private subnet`,
  });
  assert.equal((err as { fargateProfileName?: string }).fargateProfileName, 'public');
  await eksRejects(emu.eks.send(new CreateFargateProfileCommand(profile('bad-sel', { selectors: [] }))), 'InvalidParameterException');
  const six = Array.from({ length: 6 }, (_, i) => ({ namespace: `ns${i}` }));
  await eksRejects(emu.eks.send(new CreateFargateProfileCommand(profile('too-many', { selectors: six }))), 'InvalidParameterException', { message: /at most 5 selectors/ });
  await eksRejects(emu.eks.send(new CreateFargateProfileCommand(profile('no-ns', { selectors: [{ labels: { a: 'b' } }] }))), 'InvalidParameterException', { message: /namespace is required/ });
  await eksRejects(emu.eks.send(new CreateFargateProfileCommand(profile('bad name'))), 'InvalidParameterException', { message: /^The fargateProfileName parameter contains invalid characters/ });
  await eksRejects(emu.eks.send(new CreateFargateProfileCommand(profile('orphan', { clusterName: 'ghost' }))), 'ResourceNotFoundException', { status: 404 });
});

test('CreateFargateProfile: CREATING, then ACTIVE; another profile cannot be created meanwhile; Describe and List', async () => {
  const { fargateProfile } = await emu.eks.send(new CreateFargateProfileCommand(profile('web', { tags: { app: 'shop' } })));
  assert.equal(fargateProfile?.status, 'CREATING');
  assert.equal(fargateProfile?.clusterName, 'lab');
  assert.equal(fargateProfile?.podExecutionRoleArn, podRole);
  assert.match(fargateProfile!.fargateProfileArn!, /^arn:aws:eks:us-west-2:111122223333:fargateprofile\/lab\/web\/[0-9a-f-]{36}$/);
  assert.deepEqual(fargateProfile?.subnets, [vpc.privateA, vpc.privateB]);
  assert.deepEqual(fargateProfile?.selectors, [{ namespace: 'serverless', labels: { tier: 'web' } }]);
  await eksRejects(emu.eks.send(new CreateFargateProfileCommand(profile('batch', { selectors: [{ namespace: 'batch' }] }))), 'ResourceInUseException', {
    status: 409,
    message: 'Cannot Create Fargate Profile batch because cluster lab currently has Fargate profile web in status CREATING',
  });
  await eksRejects(emu.eks.send(new CreateFargateProfileCommand(profile('web'))), 'ResourceInUseException', { status: 409, message: 'Fargate Profile already exists with name: web' });
  clock += DELAY;
  assert.equal((await emu.eks.send(new DescribeFargateProfileCommand({ clusterName: 'lab', fargateProfileName: 'web' }))).fargateProfile?.status, 'ACTIVE');
  const batch = await emu.eks.send(new CreateFargateProfileCommand(profile('batch', { subnets: undefined, selectors: [{ namespace: 'batch' }, { namespace: 'jobs', labels: { fargate: 'yes' } }] })));
  assert.deepEqual(batch.fargateProfile?.subnets, [vpc.privateA, vpc.privateB]);
  clock += DELAY;
  assert.deepEqual((await emu.eks.send(new ListFargateProfilesCommand({ clusterName: 'lab' }))).fargateProfileNames, ['batch', 'web']);
  const page = await emu.eks.send(new ListFargateProfilesCommand({ clusterName: 'lab', maxResults: 1 }));
  assert.deepEqual(page.fargateProfileNames, ['batch']);
  assert.deepEqual((await emu.eks.send(new ListFargateProfilesCommand({ clusterName: 'lab', nextToken: page.nextToken }))).fargateProfileNames, ['web']);
  await eksRejects(emu.eks.send(new DescribeFargateProfileCommand({ clusterName: 'lab', fargateProfileName: 'nope' })), 'ResourceNotFoundException', {
    status: 404,
    message: 'No Fargate Profile found with name: nope.',
  });
  assert.deepEqual(view('lab').fargateProfiles, [
    { name: 'batch', subnetIds: [vpc.privateA, vpc.privateB], selectors: [{ namespace: 'batch' }, { namespace: 'jobs', labels: { fargate: 'yes' } }], status: 'ACTIVE' },
    { name: 'web', subnetIds: [vpc.privateA, vpc.privateB], selectors: [{ namespace: 'serverless', labels: { tier: 'web' } }], status: 'ACTIVE' },
  ]);
});

test('DeleteCluster is refused while Fargate profiles exist; profiles are deleted one at a time; then the cluster goes', async () => {
  await eksRejects(emu.eks.send(new DeleteClusterCommand({ name: 'lab' })), 'ResourceInUseException', { status: 409, message: 'Cluster has Fargate Profiles in ACTIVE state' });
  const { fargateProfile } = await emu.eks.send(new DeleteFargateProfileCommand({ clusterName: 'lab', fargateProfileName: 'web' }));
  assert.equal(fargateProfile?.status, 'DELETING');
  await eksRejects(emu.eks.send(new DeleteFargateProfileCommand({ clusterName: 'lab', fargateProfileName: 'batch' })), 'ResourceInUseException', {
    status: 409,
    message: 'Cannot Delete Fargate Profile batch because cluster lab currently has Fargate profile web in status DELETING',
  });
  await eksRejects(emu.eks.send(new DeleteClusterCommand({ name: 'lab' })), 'ResourceInUseException', { status: 409, message: 'Cluster has Fargate Profiles in ACTIVE/DELETING state' });
  clock += DELAY;
  assert.deepEqual((await emu.eks.send(new ListFargateProfilesCommand({ clusterName: 'lab' }))).fargateProfileNames, ['batch']);
  await emu.eks.send(new DeleteFargateProfileCommand({ clusterName: 'lab', fargateProfileName: 'batch' }));
  clock += DELAY;
  const { cluster } = await emu.eks.send(new DeleteClusterCommand({ name: 'lab' }));
  assert.equal(cluster?.status, 'DELETING');
  assert.deepEqual(eksClusters(state), []);
});
