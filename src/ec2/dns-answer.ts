/**
 * What AmazonProvidedDNS (the VPC's resolver at base + 2) answers, as data: one question and what the resolver
 * knows (the region, the VPCs' CIDRs, the EKS clusters, where the emulator's API endpoints are) in, an rcode and
 * records out. Pure: no sockets, no clock; dns-server.ts puts it on the wire.
 */
import { cidrContains, isAddressText, parseAddress, parseCidr } from '../net/index.js';
import { endpointAnswer, privateDnsName, type EksCluster } from '../vpc/index.js';

/** What the resolver knows when a question arrives. */
export interface VpcDnsView {
  region: string;
  /** every VPC's IPv4 blocks (primary and associated secondary ones) */
  vpcs: ReadonlyArray<{ vpcId: string; cidrs: readonly string[] }>;
  clusters: readonly EksCluster[];
  /**
   * The address `ec2.<region>.amazonaws.com` and `eks.<region>.amazonaws.com` resolve to: the emulator's API
   * listener, as an interface endpoint with private DNS makes those names resolve to the endpoint's address inside
   * the VPC. null: the names are unknown (NXDOMAIN), as without such an endpoint and without internet DNS.
   */
  serviceAddress: string | null;
}

export type DnsRcode = 'NOERROR' | 'FORMERR' | 'SERVFAIL' | 'NXDOMAIN' | 'NOTIMP' | 'REFUSED';

export interface DnsRecord {
  name: string;
  type: 'A' | 'PTR';
  ttl: number;
  data: string;
}

export interface DnsAnswer {
  rcode: DnsRcode;
  answers: DnsRecord[];
}

/** The cluster endpoint's answer changes with UpdateClusterConfig (private access on/off), so resolvers keep it briefly. */
export const ENDPOINT_TTL_SECONDS = 5;
/** Route 53 Resolver's TTL for EC2's own names. */
export const DEFAULT_TTL_SECONDS = 60;

const LABEL = /^[A-Za-z0-9_](?:[A-Za-z0-9_-]{0,61}[A-Za-z0-9_])?$/;

/**
 * Whether `name` (without the root's trailing dot) is a domain name by DNS's grammar as hosts use it: labels of
 * letters, digits, hyphens (not first or last) and underscores (service labels), 1–63 characters each, 253 in all.
 * A query name is checked before anything reads it: the wire allows any byte in a label, dots included.
 */
export function isDnsQueryName(name: string): boolean {
  if (name.length === 0 || name.length > 253) return false;
  return name.split('.').every((label) => LABEL.test(label));
}

/** The VPC whose IPv4 blocks hold `address`; null when none does (or it is not an IPv4 address). */
export function vpcOfAddress(vpcs: VpcDnsView['vpcs'], address: string): string | null {
  if (!isAddressText(address)) return null;
  const parsed = parseAddress(address);
  if (parsed.family !== 4) return null;
  for (const vpc of vpcs) {
    if (vpc.cidrs.some((c) => cidrContains(parseCidr(c), parsed))) return vpc.vpcId;
  }
  return null;
}

const isIpv4 = (text: string): boolean => isAddressText(text) && parseAddress(text).family === 4;

function inVpc(vpcs: VpcDnsView['vpcs'], vpcId: string | null, address: string): boolean {
  return vpcId !== null && vpcOfAddress(vpcs.filter((v) => v.vpcId === vpcId), address) === vpcId;
}

/** `ip-10-0-16-4.us-west-2.compute.internal` → 10.0.16.4, only when the name is exactly what EC2 writes for it. */
function addressOfPrivateName(name: string, region: string): string | undefined {
  const m = /^ip-(\d{1,3})-(\d{1,3})-(\d{1,3})-(\d{1,3})\./.exec(name);
  if (!m) return undefined;
  const octets = m.slice(1, 5).map(Number);
  if (octets.some((o) => o > 255)) return undefined;
  const address = octets.join('.');
  // the grammar is src/vpc's: a name EC2 would not write (ip-010-…, another region's domain) is not an EC2 name
  return privateDnsName(address, region) === name ? address : undefined;
}

/** `4.16.0.10.in-addr.arpa` → 10.0.16.4. */
function addressOfReverseName(name: string): string | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.in-addr\.arpa$/.exec(name);
  if (!m) return undefined;
  const labels = m.slice(1, 5);
  // a label with a leading zero (`010`) names no address
  if (labels.some((o) => Number(o) > 255 || String(Number(o)) !== o)) return undefined;
  return labels.reverse().join('.');
}

/**
 * The answer to one question asked from `queryVpcId` (the VPC of the resolver address it was sent to; null when
 * that address is in no VPC). Names compare without case; records carry the name as asked.
 *
 * - `ip-A-B-C-D.<region>.compute.internal` (`ec2.internal` in us-east-1) → A.B.C.D when that address is inside
 *   the asking VPC's blocks (assigned or not: the names are computed, as EC2's are). Another VPC's private names
 *   are NXDOMAIN here, peered or not: each VPC's resolver answers for its own addresses.
 * - `D.C.B.A.in-addr.arpa` → the private name, for addresses of the asking VPC.
 * - a cluster endpoint's hostname → what EKS answers to that VPC (`endpointAnswer`), TTL 5 s.
 * - `ec2.<region>.amazonaws.com`, `eks.<region>.amazonaws.com` → the emulator's address.
 * - a known name asked for another type (AAAA, MX…) → NOERROR without records; anything else → NXDOMAIN: the lab
 *   has no internet DNS to forward to.
 */
export function answerQuestion(view: VpcDnsView, queryVpcId: string | null, question: { name: string; type: string }): DnsAnswer {
  const asked = question.name.endsWith('.') ? question.name.slice(0, -1) : question.name;
  if (asked === '') return { rcode: 'REFUSED', answers: [] };
  if (!isDnsQueryName(asked)) return { rcode: 'FORMERR', answers: [] };
  const name = asked.toLowerCase();
  const records = (type: DnsRecord['type'], ttl: number, data: readonly string[]): DnsAnswer => ({
    rcode: 'NOERROR',
    answers: question.type === type ? data.map((d) => ({ name: asked, type, ttl, data: d })) : [],
  });

  const privateAddress = addressOfPrivateName(name, view.region);
  if (privateAddress !== undefined) {
    return inVpc(view.vpcs, queryVpcId, privateAddress) ? records('A', DEFAULT_TTL_SECONDS, [privateAddress]) : nxdomain();
  }
  const reverse = addressOfReverseName(name);
  if (reverse !== undefined) {
    return inVpc(view.vpcs, queryVpcId, reverse) ? records('PTR', DEFAULT_TTL_SECONDS, [privateDnsName(reverse, view.region)]) : nxdomain();
  }
  const cluster = view.clusters.find((c) => c.hostname.toLowerCase() === name);
  if (cluster) {
    const answer = endpointAnswer(cluster, queryVpcId);
    // an interface being deleted has no address left: it is left out, not answered as an empty record
    const addresses = (answer.kind === 'public' ? [answer.address] : answer.addresses).filter(isIpv4);
    return records('A', ENDPOINT_TTL_SECONDS, addresses);
  }
  if (view.serviceAddress !== null && (name === `ec2.${view.region}.amazonaws.com` || name === `eks.${view.region}.amazonaws.com`)) {
    return records('A', DEFAULT_TTL_SECONDS, [view.serviceAddress]);
  }
  return nxdomain();
}

const nxdomain = (): DnsAnswer => ({ rcode: 'NXDOMAIN', answers: [] });
