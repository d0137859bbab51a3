/**
 * Explanation codes: one stable word per thing that shaped a flow, listed in an explanation in path order. The list is
 * part of the `--json` contract (docs/explain.md): codes are added, never renamed.
 */
export const EXPLAIN_CODES = {
  // the node's SNAT chain (spec §2.2)
  SNAT_TO_PRIMARY_IP: "the node's SNAT rule rewrote the pod's source to the node's primary IP",
  VPC_CIDR_NOT_TRANSLATED: "the destination is in the node's VPC CIDRs: the SNAT chain returns and the pod's address is kept",
  EXCLUDED_FROM_SNAT: 'the destination is in AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: the SNAT chain returns and the pod\'s address is kept',
  EXTERNAL_SNAT: 'AWS_VPC_K8S_CNI_EXTERNALSNAT=true: the node translates nothing and the pod\'s address leaves the node',
  // who sends
  HOST_NETWORK: "a hostNetwork pod or the node itself: it sends from the node's own address, out of the primary ENI",
  SAME_NODE: 'both ends are on one node: the node delivers it (rule 512 or its own address), the VPC never sees it',
  POD_ON_SECONDARY_ENI: "a pod's address belongs to a secondary ENI, whose route table (rule 1536) it leaves by",
  // the node's routing (spec §2.3, §3.1)
  CONNMARK_VIA_PRIMARY_ENI: 'the connection is marked (destination outside the VPC and not excluded): rule 1024 sends it through main, out of the primary ENI',
  PRE_1_8_ROUTING_VIA_ETH0: 'PODNET_PRE_1_8_ROUTING: rule 1025 `not to <VPC CIDR> lookup main` sends it out of the primary ENI',
  REPLY_VIA_ETH0_SRC_DST_CHECK: "pre-1.8 routing sends the reply out of the primary ENI with an address of a secondary ENI: the VPC's source/destination check drops it",
  ASYMMETRIC_REPLY: 'the reply comes back from another address than the one the connection was opened to (its way back translated its source): the sender does not take it as the reply',
  // the VPC (src/vpc)
  ROUTE_TO_INTERNET_GATEWAY: 'a route table sends it to an internet gateway',
  PUBLIC_IP_TRANSLATION: "the internet gateway translates between a private address and its public IP",
  NO_PUBLIC_IP: 'the internet gateway drops it: the source has no public IP',
  NAT_GATEWAY_TRANSLATION: "a NAT gateway rewrites the source to its own address",
  NO_ROUTE: 'nothing routes it to its destination',
  SOURCE_DEST_CHECK: "an ENI's source/destination check drops it: the source is not an address of that ENI",
  SECURITY_GROUP_DENY: 'no security group rule allows it',
  NETWORK_ACL_DENY: 'a network ACL denies it',
  PEERING: 'it crosses a VPC peering connection',
  TRANSIT_GATEWAY: 'it crosses a transit gateway',
  VPN_GATEWAY: 'it crosses a virtual private gateway to or from an on-premises network',
  // the EKS cluster endpoint (issue 17)
  ENDPOINT_PRIVATE_ACCESS: "the cluster endpoint's name resolves to its private addresses for this sender (private access on, sender in the cluster's VPC; or public access off): it goes to a cluster network interface in the VPC",
  ENDPOINT_PUBLIC_ACCESS: "the cluster endpoint's name resolves to its public address for this sender: it leaves through the internet side, and the public endpoint admits only sources in its allow-list (publicAccessCidrs)",
  ENDPOINT_PUBLIC_ACCESS_DENY: "the public endpoint refused it: the source it sees (the node's public IP, the NAT gateway's EIP, an internet host's address) is not in the cluster's publicAccessCidrs",
  ENDPOINT_PRIVATE_ACCESS_OFF: "a cluster network interface refused it: the cluster's private endpoint access is off",
  // security groups for pods (issue 18, spec §3.9, §5.2)
  BRANCH_ENI: "the pod's address is the primary address of its own branch ENI (security groups for pods): where it crosses the VPC it does so through vlan.eth.<vlan id> on the node's trunk ENI, under the branch ENI's security groups",
  SGP_STRICT: "POD_SECURITY_GROUP_ENFORCING_MODE=strict: the prio-10 `iif` rules send all of the branch pod's traffic, to its own node and its node's pods too, through the branch ENI, never SNATed (the local table's rule waits at 20)",
  SGP_STANDARD: "POD_SECURITY_GROUP_ENFORCING_MODE=standard: the node delivers the branch pod's traffic with its own node and its pods by rule 512 (the branch's groups do not see it), a destination outside the VPC goes by the connmark through the primary ENI and the node's groups unless AWS_VPC_K8S_CNI_EXTERNALSNAT=true, the rest leaves through the branch ENI by rule 1536",
  TCP_EARLY_DEMUX: "net.ipv4.tcp_early_demux=1 (DISABLE_TCP_EARLY_DEMUX not true): a TCP packet that enters the node from its own strict branch pod for the node's own address (the reply to the node's connection, or the pod's next packet to a node's server) is handed the node's socket by early demux before routing, the prio-10 rule then forwards it through vlan.eth.<vlan id>, and Linux never forwards a packet that carries a socket: the node drops it",
} as const;

export type ExplainCode = keyof typeof EXPLAIN_CODES;
