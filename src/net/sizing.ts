import { PodnetError } from '../lib/index.js';
import { awsReservedAddresses, parseCidr } from './cidr.js';

/**
 * Subnet sizing for a fleet of identical members (nodes), each holding single addresses and aligned /28 prefixes.
 * AWS creates IPv4 subnets from /16 to /28 (a VPC CIDR block has the same bounds), and reserves the first four
 * addresses and the last one of every subnet.
 */
export const AWS_LARGEST_SUBNET = 16;
export const AWS_SMALLEST_SUBNET = 28;
/** The five addresses AWS reserves in any subnet of these sizes (cidr.ts says which). */
const AWS_RESERVED_PER_SUBNET = awsReservedAddresses(parseCidr('10.0.0.0/24')).length;
const PREFIX_SIZE = 16;
/** The subnet's first /28 keeps 12 usable addresses and its last 15: room for single addresses only. */
const EDGE_BLOCK_ADDRESSES = 2 * PREFIX_SIZE - AWS_RESERVED_PER_SUBNET;

/** What one member needs in its subnet. */
export interface SubnetDemand {
  /** Addresses that may sit anywhere (secondary IPs, ENI primaries). */
  readonly singleAddresses: number;
  /** /28 prefixes, each an aligned block of 16 that holds none of AWS's reserved addresses. */
  readonly prefixes: number;
}

/** The subnets a fleet needs: one subnet when a /16 or smaller holds it, else that many /16s. */
export interface SubnetPlan {
  /** Prefix length of each subnet, 16 to 28. */
  readonly prefixLength: number;
  /** Addresses of one such subnet after AWS's 5 reserves. */
  readonly usableAddresses: number;
  /** Subnets of that length; above 1 only at /16, AWS's largest (each needs a VPC CIDR block of its own). */
  readonly subnets: number;
  /** The most members one such subnet holds (all of them when a member needs no address). */
  readonly membersPerSubnet: number;
}

/** Whether `members` members fit a subnet of this prefix length. */
export function fitsSubnet(prefixLength: number, members: number, each: SubnetDemand): boolean {
  const size = 2 ** (32 - prefixLength);
  const singles = members * each.singleAddresses;
  const prefixes = members * each.prefixes;
  if (prefixes === 0) return size - AWS_RESERVED_PER_SUBNET >= singles;
  const blocks = size / PREFIX_SIZE;
  if (blocks < 2) return false; // a /28's one block holds reserved addresses
  // singles fill the two edge blocks first, then take whole blocks
  const singleBlocks = Math.max(0, Math.ceil((singles - EDGE_BLOCK_ADDRESSES) / PREFIX_SIZE));
  return prefixes <= blocks - 2 - singleBlocks;
}

/** The smallest AWS subnet for the fleet, or as many /16 subnets as it needs when no single subnet holds it. */
export function subnetsFor(members: number, each: SubnetDemand): SubnetPlan {
  if (!fitsSubnet(AWS_LARGEST_SUBNET, 1, each)) {
    throw new PodnetError('RANGE_TOO_LARGE',
      `one node's ${each.singleAddresses} address(es) and ${each.prefixes} /28 prefix(es) do not fit a /${AWS_LARGEST_SUBNET}, AWS's largest subnet`,
      'fewer pods per node, or a smaller instance type');
  }
  let length = AWS_SMALLEST_SUBNET;
  while (length > AWS_LARGEST_SUBNET && !fitsSubnet(length, members, each)) length--;
  const perSubnet = each.singleAddresses + each.prefixes === 0 ? Math.max(members, 1) : mostMembers(length, each);
  return {
    prefixLength: length,
    usableAddresses: 2 ** (32 - length) - AWS_RESERVED_PER_SUBNET,
    subnets: Math.ceil(members / perSubnet),
    membersPerSubnet: perSubnet,
  };
}

/** The most members a subnet of this length holds (fitting is monotonic in the member count: binary search). */
function mostMembers(prefixLength: number, each: SubnetDemand): number {
  let low = 0;
  let high = 2 ** (32 - prefixLength);
  while (low < high) {
    const mid = Math.ceil((low + high) / 2);
    if (fitsSubnet(prefixLength, mid, each)) low = mid;
    else high = mid - 1;
  }
  return low;
}
