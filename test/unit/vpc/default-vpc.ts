// The default lab scenario's VPCs (examples/lab.yaml) as EC2 describes them: a public and a private subnet in main,
// a peered VPC, main's virtual private gateway (the private subnet routes the data centre's 192.168.0.0/16 to it). Shared by the model's tests and the lab's renderer and demo tests.
import type { VpcFacts } from '../../../src/vpc/index.js';

export const defaultVpcFacts: VpcFacts = {
  vpcs: [
    { id: 'vpc-main', name: 'main', cidr: '10.0.0.0/16' },
    { id: 'vpc-peer', name: 'peer', cidr: '10.1.0.0/16' },
  ],
  subnets: [
    { id: 'subnet-pub', name: 'public-a', vpcId: 'vpc-main', cidr: '10.0.0.0/20', routeTableId: 'rtb-public' },
    { id: 'subnet-priv', name: 'private-a', vpcId: 'vpc-main', cidr: '10.0.16.0/20', routeTableId: 'rtb-private' },
    { id: 'subnet-peer', name: 'peer-a', vpcId: 'vpc-peer', cidr: '10.1.0.0/24', routeTableId: 'rtb-peer' },
  ],
  routeTables: [
    { id: 'rtb-public', vpcId: 'vpc-main', routes: [{ destination: '10.0.0.0/16', target: { kind: 'local' } }, { destination: '0.0.0.0/0', target: { kind: 'igw', id: 'igw-1' } }, { destination: '10.1.0.0/16', target: { kind: 'pcx', id: 'pcx-1' } }] },
    { id: 'rtb-private', vpcId: 'vpc-main', routes: [{ destination: '10.0.0.0/16', target: { kind: 'local' } }, { destination: '0.0.0.0/0', target: { kind: 'nat', id: 'nat-1' } }, { destination: '10.1.0.0/16', target: { kind: 'pcx', id: 'pcx-1' } }, { destination: '192.168.0.0/16', target: { kind: 'vgw', id: 'vgw-1' } }] },
    { id: 'rtb-peer', vpcId: 'vpc-peer', routes: [{ destination: '10.1.0.0/16', target: { kind: 'local' } }, { destination: '10.0.0.0/16', target: { kind: 'pcx', id: 'pcx-1' } }] },
  ],
  internetGateways: [{ id: 'igw-1', name: 'main-igw', vpcId: 'vpc-main' }],
  natGateways: [{ id: 'nat-1', name: 'nat-a', eniId: 'eni-nat', privateIp: '10.0.0.4', publicIp: '203.0.113.4' }],
  peerings: [{ id: 'pcx-1', name: 'main-peer', requesterVpcId: 'vpc-main', accepterVpcId: 'vpc-peer' }],
  vpnGateways: [{ id: 'vgw-1', name: 'main-vgw', vpcId: 'vpc-main' }],
};
