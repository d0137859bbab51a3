import assert from 'node:assert/strict';
import { test } from 'node:test';
import { eksEndpointHostname, endpointAnswer, fargateProfileFor, publicEndpointAdmits, subnetIsPrivate, type EksCluster, type EksFargateProfile } from '../../../src/vpc/index.js';
import { defaultVpcFacts } from './default-vpc.js';

const cluster = (over: Partial<EksCluster> = {}): EksCluster => ({
  name: 'lab',
  arn: 'arn:aws:eks:us-west-2:111122223333:cluster/lab',
  version: '1.33',
  status: 'ACTIVE',
  vpcId: 'vpc-main',
  subnetIds: ['subnet-priv', 'subnet-pub'],
  hostname: eksEndpointHostname('111122223333', 'us-west-2', 'lab'),
  clusterSecurityGroupId: 'sg-cluster',
  securityGroupIds: [],
  enis: [
    { eniId: 'eni-eks0', subnetId: 'subnet-priv', privateIp: '10.0.16.100' },
    { eniId: 'eni-eks1', subnetId: 'subnet-pub', privateIp: '10.0.0.100' },
  ],
  publicAddress: '198.51.100.200',
  endpointPublicAccess: true,
  endpointPrivateAccess: false,
  publicAccessCidrs: ['0.0.0.0/0'],
  fargateProfiles: [],
  ...over,
});

test('the endpoint hostname is 32 upper-case hex digits under gr7.<region>.eks.amazonaws.com, the same for the same inputs', () => {
  const name = eksEndpointHostname('111122223333', 'us-west-2', 'lab');
  assert.match(name, /^[0-9A-F]{32}\.gr7\.us-west-2\.eks\.amazonaws\.com$/);
  assert.equal(eksEndpointHostname('111122223333', 'us-west-2', 'lab'), name);
  assert.notEqual(eksEndpointHostname('111122223333', 'us-west-2', 'lab2'), name);
  assert.notEqual(eksEndpointHostname('111122223334', 'us-west-2', 'lab'), name);
  assert.match(eksEndpointHostname('111122223333', 'eu-central-1', 'lab'), /\.gr7\.eu-central-1\.eks\.amazonaws\.com$/);
});

test('public only (EKS\'s default): every client, inside the VPC or not, gets the public address', () => {
  const c = cluster();
  assert.deepEqual(endpointAnswer(c, 'vpc-main'), { kind: 'public', address: '198.51.100.200' });
  assert.deepEqual(endpointAnswer(c, 'vpc-peer'), { kind: 'public', address: '198.51.100.200' });
  assert.deepEqual(endpointAnswer(c, null), { kind: 'public', address: '198.51.100.200' });
});

test('public and private: the cluster\'s VPC gets the private addresses, everyone else (a peered VPC too) the public one', () => {
  const c = cluster({ endpointPrivateAccess: true });
  assert.deepEqual(endpointAnswer(c, 'vpc-main'), { kind: 'private', addresses: ['10.0.16.100', '10.0.0.100'] });
  assert.deepEqual(endpointAnswer(c, 'vpc-peer'), { kind: 'public', address: '198.51.100.200' });
  assert.deepEqual(endpointAnswer(c, null), { kind: 'public', address: '198.51.100.200' });
});

test('private only: the name resolves to the private addresses for everyone, reachable only from connected networks', () => {
  const c = cluster({ endpointPublicAccess: false, endpointPrivateAccess: true, publicAddress: null });
  for (const vpc of ['vpc-main', 'vpc-peer', null]) assert.deepEqual(endpointAnswer(c, vpc), { kind: 'private', addresses: ['10.0.16.100', '10.0.0.100'] });
});

test('the public endpoint admits sources inside publicAccessCidrs and names the allow-list and the source otherwise', () => {
  const c = cluster({ publicAccessCidrs: ['198.51.100.0/24'] });
  assert.deepEqual(publicEndpointAdmits(c, '198.51.100.7'), { admitted: true });
  assert.deepEqual(publicEndpointAdmits(c, '203.0.113.4'), { admitted: false, reason: 'public endpoint allow-list 198.51.100.0/24 does not include 203.0.113.4' });
  const two = cluster({ publicAccessCidrs: ['198.51.100.0/24', '203.0.113.4/32'] });
  assert.deepEqual(publicEndpointAdmits(two, '203.0.113.4'), { admitted: true });
  assert.deepEqual(publicEndpointAdmits(two, '203.0.113.5'), { admitted: false, reason: 'public endpoint allow-list 198.51.100.0/24, 203.0.113.4/32 does not include 203.0.113.5' });
  assert.deepEqual(publicEndpointAdmits(cluster(), '203.0.113.5'), { admitted: true });
});

test('with public access off the public endpoint admits nobody', () => {
  assert.deepEqual(publicEndpointAdmits(cluster({ endpointPublicAccess: false, endpointPrivateAccess: true, publicAddress: null }), '198.51.100.7'), {
    admitted: false,
    reason: 'public endpoint access is off',
  });
});

const profile = (name: string, selectors: EksFargateProfile['selectors']): EksFargateProfile => ({ name, subnetIds: ['subnet-priv'], selectors, status: 'ACTIVE' });

test('a Fargate profile takes a pod when a selector\'s namespace is the pod\'s and every selector label is on the pod', () => {
  const profiles = [profile('fp-web', [{ namespace: 'web', labels: { tier: 'front', app: 'shop' } }]), profile('fp-batch', [{ namespace: 'batch' }, { namespace: 'jobs' }])];
  assert.equal(fargateProfileFor(profiles, { namespace: 'web', labels: { tier: 'front', app: 'shop', extra: 'x' } })?.name, 'fp-web');
  assert.equal(fargateProfileFor(profiles, { namespace: 'web', labels: { tier: 'front' } }), undefined);
  assert.equal(fargateProfileFor(profiles, { namespace: 'web', labels: { tier: 'back', app: 'shop' } }), undefined);
  assert.equal(fargateProfileFor(profiles, { namespace: 'jobs', labels: {} })?.name, 'fp-batch');
  assert.equal(fargateProfileFor(profiles, { namespace: 'default', labels: {} }), undefined);
  assert.equal(fargateProfileFor([], { namespace: 'web', labels: {} }), undefined);
});

test('several matching profiles: the first in name order, unless the pod names one with eks.amazonaws.com/fargate-profile', () => {
  const profiles = [profile('zeta', [{ namespace: 'web' }]), profile('alpha', [{ namespace: 'web' }]), profile('other', [{ namespace: 'batch' }])];
  assert.equal(fargateProfileFor(profiles, { namespace: 'web', labels: {} })?.name, 'alpha');
  assert.equal(fargateProfileFor(profiles, { namespace: 'web', labels: { 'eks.amazonaws.com/fargate-profile': 'zeta' } })?.name, 'zeta');
  // a label naming a profile that does not match the pod does not move it there
  assert.equal(fargateProfileFor(profiles, { namespace: 'web', labels: { 'eks.amazonaws.com/fargate-profile': 'other' } })?.name, 'alpha');
});

test('a subnet is private when its route table has no internet gateway route (a NAT gateway default route is private)', () => {
  assert.equal(subnetIsPrivate(defaultVpcFacts, 'subnet-priv'), true);
  assert.equal(subnetIsPrivate(defaultVpcFacts, 'subnet-pub'), false);
  assert.equal(subnetIsPrivate(defaultVpcFacts, 'subnet-peer'), true);
  // an internet gateway route for a narrower destination counts too: the subnet reaches the internet gateway
  const narrow = {
    subnets: [{ id: 'subnet-x', name: 'x', vpcId: 'vpc-main', cidr: '10.0.32.0/20', routeTableId: 'rtb-x' }],
    routeTables: [{ id: 'rtb-x', vpcId: 'vpc-main', routes: [{ destination: '198.51.100.0/24', target: { kind: 'igw' as const, id: 'igw-1' } }] }],
  };
  assert.equal(subnetIsPrivate(narrow, 'subnet-x'), false);
});
