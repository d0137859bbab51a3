/**
 * The VPC DNS's view of the emulator: the VPCs' blocks from the EC2 state, read at each query (a VPC created or a
 * block associated after the resolver started is answered for at once), and the EKS clusters from their source.
 */
import type { EksCluster } from '../vpc/index.js';
import type { VpcDnsSource } from './dns-server.js';
import { eksClusters } from './eks-state.js';
import type { Ec2State } from './state.js';

export interface Ec2DnsSourceOptions {
  /** the EKS clusters; default: the emulator's own (settled to now at each query, as `GET /_podnet/eks` gives them; a read that writes only when EKS work has come due) */
  clusters?: () => readonly EksCluster[];
  /** see VpcDnsSource.serviceAddress */
  serviceAddress?: string;
}

export function ec2DnsSource(state: Ec2State, options: Ec2DnsSourceOptions = {}): VpcDnsSource {
  return {
    region: state.region,
    vpcs: () => state.all<{ id: string }>('SELECT id FROM vpcs ORDER BY seq').map((v) => ({ vpcId: v.id, cidrs: state.vpcIpv4Cidrs(v.id) })),
    clusters: options.clusters ?? (() => eksClusters(state)),
    serviceAddress: options.serviceAddress,
  };
}
