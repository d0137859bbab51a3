/**
 * IPv4/IPv6 addresses and CIDRs as bigints, containment, the addresses AWS reserves in a subnet, aligned prefix
 * blocks, free-space accounting for one subnet, and the AWS subnet a fleet of nodes needs. Pure: no I/O, no Linux.
 */
export {
  type Family,
  type Address,
  parseAddress,
  formatAddress,
  isAddressText,
} from './address.js';
export {
  type Cidr,
  parseCidr,
  formatCidr,
  isCidrText,
  cidrSize,
  cidrFirst,
  cidrLast,
  cidrContains,
  cidrsOverlap,
  addressAt,
  addressesOf,
  hostCidr,
  awsReservedAddresses,
  subnetGateway,
  usableAddressCount,
  alignedBlocks,
} from './cidr.js';
export { SubnetSpace } from './space.js';
export { AWS_LARGEST_SUBNET, AWS_SMALLEST_SUBNET, fitsSubnet, subnetsFor, type SubnetDemand, type SubnetPlan } from './sizing.js';
