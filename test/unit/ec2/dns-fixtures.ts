import type { EksCluster } from '../../../src/vpc/index.js';

/** An EKS cluster as the emulator's state gives it, for the VPC DNS tests: public endpoint, two private ENIs in vpc-a. */
export function fakeCluster(overrides: Partial<EksCluster> = {}): EksCluster {
  return {
    name: 'lab',
    arn: 'arn:aws:eks:us-west-2:111122223333:cluster/lab',
    version: '1.31',
    status: 'ACTIVE',
    vpcId: 'vpc-a',
    subnetIds: ['subnet-1', 'subnet-2'],
    hostname: '0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com',
    clusterSecurityGroupId: 'sg-cluster',
    securityGroupIds: [],
    enis: [
      { eniId: 'eni-1', subnetId: 'subnet-1', privateIp: '10.0.16.20' },
      { eniId: 'eni-2', subnetId: 'subnet-2', privateIp: '10.0.32.20' },
    ],
    publicAddress: '203.0.113.50',
    endpointPublicAccess: true,
    endpointPrivateAccess: false,
    publicAccessCidrs: ['0.0.0.0/0'],
    fargateProfiles: [],
    ...overrides,
  };
}
