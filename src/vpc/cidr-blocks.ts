/**
 * AWS's rules for a VPC's IPv4 blocks (the VPC User Guide's "IPv4 CIDR block association restrictions"): what
 * AssociateVpcCidrBlock refuses by address range, size and count. The emulator answers them with EC2's codes, the
 * topology loader with field paths, from this one place.
 */
import { cidrContains, parseCidr, type Cidr } from '../net/index.js';

/** EC2's default quota of IPv4 CIDR blocks per VPC, the primary included. */
export const MAX_IPV4_CIDRS_PER_VPC = 5;

/** VPC and subnet IPv4 blocks are /16 to /28. */
export function vpcBlockSizeAllowed(prefixLength: number): boolean {
  return prefixLength >= 16 && prefixLength <= 28;
}

const RFC1918 = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((c) => parseCidr(c));
const BENCHMARK_198_19 = parseCidr('198.19.0.0/16');

const within = (range: Cidr | string, c: Cidr) => cidrContains(typeof range === 'string' ? parseCidr(range) : range, c);

/**
 * Why the association restrictions refuse `candidate` for a VPC whose blocks are `cidrs` (primary first), in a few
 * words, or undefined when they permit it. They follow the range the primary block is in: a VPC in one RFC 1918
 * range may add blocks of that range, of 100.64.0.0/10 or publicly routable ones, never of another RFC 1918 range;
 * 198.19.0.0/16 only to a VPC in it; in 10.0.0.0/8, nothing of 10.0.0.0/16 once a block is in 10.0.0.0/15; in
 * 172.16.0.0/12, nothing of 172.31.0.0/16. A VPC whose primary block is in 100.64.0.0/10, 198.19.0.0/16 or public
 * space may add no RFC 1918 block.
 */
export function restrictedAssociation(cidrs: readonly string[], candidate: string): string | undefined {
  const blocks = cidrs.map((c) => parseCidr(c));
  const primary = blocks[0]!;
  const wanted = parseCidr(candidate);
  const primaryRange = RFC1918.find((r) => within(r, primary));
  const wantedRange = RFC1918.find((r) => within(r, wanted));
  if (wantedRange && wantedRange !== primaryRange) {
    return primaryRange ? `a VPC in ${cidrText(primaryRange)} takes no block of another private range` : 'a VPC outside the private ranges takes no private (RFC 1918) block';
  }
  if (within(BENCHMARK_198_19, wanted) && !within(BENCHMARK_198_19, primary)) return 'only a VPC in 198.19.0.0/16 takes a block of it';
  if (primaryRange === RFC1918[0] && within('10.0.0.0/16', wanted) && blocks.some((c) => within('10.0.0.0/15', c))) {
    return 'a VPC with a block in 10.0.0.0/15 takes no block of 10.0.0.0/16';
  }
  if (primaryRange === RFC1918[1] && within('172.31.0.0/16', wanted)) return 'a VPC in 172.16.0.0/12 takes no block of 172.31.0.0/16';
  return undefined;
}

function cidrText(c: Cidr): string {
  return ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'][RFC1918.indexOf(c)]!;
}
