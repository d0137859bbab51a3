/**
 * IPv4/IPv6 addresses and CIDRs as bigints, containment, the addresses AWS reserves in a subnet, aligned prefix
 * blocks, and free-space accounting for one subnet. Pure: no I/O, no Linux.
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
