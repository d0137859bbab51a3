/**
 * The VPC model (pure: runs nothing, knows no Linux): the topology file's schema and loader, the VPC as data in EC2's
 * terms, route-table lookup, the source/destination check, security groups and network ACLs, the internet gateway's
 * 1:1 translation, NAT gateways, peering, transit gateways, and the evaluation of a packet's and a connection's path through them. The
 * lab compiles it to rules, its demo takes its VPC-level expectations from it, and `podnet explain` (issue 14) grows
 * from forwardPath.
 */
export { topologySchema, parseTopology, rejectUnknownSections, topologyRegion, zoneRegion, isRegionName, DEFAULT_REGION, type Topology, type LabSection } from './topology.js';
export { loadTopology, readYamlFile } from './load.js';
export { privateDnsName } from './dns-names.js';
export {
  eniHolding,
  vpcContaining,
  vpcCidrsOf,
  sourceCheck,
  sourceCheckPasses,
  publicAddresses,
  resolveTarget,
  protocolNumber,
  protocolAndPortsMatch,
  reverseFlow,
  type RouteTarget,
  type VpcRoute,
  type VpcFacts,
  type NetworkInterface,
  type VpcModel,
  type ResolvedTarget,
  type TransitGateway,
  type TransitGatewayAttachment,
  type TransitGatewayRoute,
  type VpnGateway,
  type OnPremisesNetwork,
  type Filtering,
  type IpProtocol,
  type PortRange,
  type SecurityGroup,
  type SecurityGroupRule,
  type NetworkAcl,
  type NetworkAclEntry,
  type Flow,
} from './model.js';
export { evaluateSecurityGroups, securityGroupReply, groupMemberCidrs, describeProtocol, type SecurityGroupVerdict, type TrafficDirection } from './security-groups.js';
export { evaluateNetworkAcl, networkAclOf, DEFAULT_NETWORK_ACL_ENTRIES, MAX_NETWORK_ACL_RULE_NUMBER, type NetworkAclVerdict } from './network-acls.js';
export { routeTableOf, lookupRoute } from './routing.js';
export { restrictedAssociation, vpcBlockSizeAllowed, MAX_IPV4_CIDRS_PER_VPC } from './cidr-blocks.js';
export { onPremisesHolding, onPremisesBehind } from './on-premises.js';
export { lookupTransitGatewayRoute, transitGatewayNext, type TransitGatewayNext } from './transit-gateways.js';
export { forwardPath, flowPath, type PathStart, type PathResult, type FlowResult, type Hop, type HopElement, type Verdict, type VpcDropReason, type NatTranslation, type Traffic } from './path.js';
export {
  eksEndpointHostname,
  endpointAnswer,
  publicEndpointAdmits,
  fargateProfileFor,
  subnetIsPrivate,
  FARGATE_PROFILE_LABEL,
  type EksCluster,
  type EksFargateProfile,
  type EksFargateSelector,
} from './eks.js';
