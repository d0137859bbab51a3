/**
 * Subnet discovery (ENABLE_SUBNET_DISCOVERY, spec §5.5): which subnets a new ENI may go to, best first. Pure.
 */

export interface SubnetFacts {
  id: string;
  cidr: string;
  availabilityZone: string;
  availableIps: number;
  tags: Record<string, string>;
}

const CNI_ROLE_TAG = 'kubernetes.io/role/cni';
const CLUSTER_TAG_PREFIX = 'cni.networking.k8s.aws/cluster/';

/**
 * Valid candidates sorted by free addresses, most first (spec §5.5): the node's own subnet unless tagged
 * kubernetes.io/role/cni=0; any other subnet tagged kubernetes.io/role/cni with a value other than "0" whose
 * cluster tags match (no CLUSTER_NAME, no cluster tags, or a tag for this cluster). `subnets` are the same-VPC,
 * same-AZ subnets DescribeSubnets returned.
 */
export function rankEniSubnets(subnets: readonly SubnetFacts[], primarySubnetId: string, clusterName: string): SubnetFacts[] {
  return subnets
    .filter((s) => {
      const role = s.tags[CNI_ROLE_TAG];
      if (role === '0') return false;
      if (s.id === primarySubnetId) return true;
      if (role === undefined) return false;
      const clusterTags = Object.keys(s.tags).filter((k) => k.startsWith(CLUSTER_TAG_PREFIX));
      return clusterName === '' || clusterTags.length === 0 || clusterTags.includes(CLUSTER_TAG_PREFIX + clusterName);
    })
    .sort((a, b) => b.availableIps - a.availableIps || a.id.localeCompare(b.id));
}

/** A subnet whose ENIs must not carry pod addresses: tagged kubernetes.io/role/cni=0 (spec §5.5). */
export function isExcludedSubnet(s: Pick<SubnetFacts, 'tags'>): boolean {
  return s.tags[CNI_ROLE_TAG] === '0';
}
