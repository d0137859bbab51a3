/**
 * The EKS control plane's network side as data (issue 17): a cluster's endpoint name, what that name resolves to for
 * a client, whether the public endpoint admits a source, which Fargate profile takes a pod, and which subnets EKS
 * counts as private. Pure: the emulator serves these facts (`GET /_podnet/eks`); the lab, its DNS and explain read them.
 */
import { cidrContains, parseAddress, parseCidr } from '../net/index.js';
import type { VpcFacts } from './model.js';

export interface EksFargateSelector {
  namespace: string;
  labels?: Record<string, string>;
}

export interface EksFargateProfile {
  name: string;
  subnetIds: string[];
  selectors: EksFargateSelector[];
  status: 'CREATING' | 'ACTIVE' | 'DELETING';
}

export interface EksCluster {
  name: string;
  arn: string;
  version: string;
  status: 'CREATING' | 'ACTIVE' | 'UPDATING' | 'DELETING';
  vpcId: string;
  subnetIds: string[];
  /** the endpoint's DNS name, without scheme: <32 upper-case hex>.gr7.<region>.eks.amazonaws.com */
  hostname: string;
  clusterSecurityGroupId: string;
  /** additional groups (resourcesVpcConfig.securityGroupIds) */
  securityGroupIds: string[];
  /** the cluster's requester-managed ENIs ("Amazon EKS <name>"), 2–4, in subnetIds; their primary addresses are the private endpoint */
  enis: Array<{ eniId: string; subnetId: string; privateIp: string }>;
  /** the public endpoint's address (from the emulator's public pool); null while public access is off */
  publicAddress: string | null;
  endpointPublicAccess: boolean;
  endpointPrivateAccess: boolean;
  publicAccessCidrs: string[];
  fargateProfiles: EksFargateProfile[];
}

// FNV-1a, 128 bits: a stable hash needing no crypto module (the model imports only lib and net). The name only has to
// look like EKS's (32 upper-case hex digits) and be the same wherever it is computed; it is not a secret.
const FNV128_OFFSET = 0x6c62272e07bb014262b821756295c58dn;
const FNV128_PRIME = 0x0000000001000000000000000000013bn;
const MASK128 = (1n << 128n) - 1n;

function fnv1a128(text: string): bigint {
  let hash = FNV128_OFFSET;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= BigInt(byte);
    hash = (hash * FNV128_PRIME) & MASK128;
  }
  return hash;
}

/** deterministic: the same (account, region, name) gives the same name (lab and emulator both compute it) */
export function eksEndpointHostname(accountId: string, region: string, clusterName: string): string {
  const id = fnv1a128(`${accountId}/${region}/${clusterName}`).toString(16).toUpperCase().padStart(32, '0');
  return `${id}.gr7.${region}.eks.amazonaws.com`;
}

/**
 * What the cluster endpoint's name resolves to for a client (EKS's behaviour): from inside the cluster's VPC with
 * private access on → the private addresses; otherwise the public address when public access is on; with public
 * access off → the private addresses for everyone (they are only reachable from connected networks).
 */
export function endpointAnswer(cluster: EksCluster, clientVpcId: string | null): { kind: 'private'; addresses: string[] } | { kind: 'public'; address: string } {
  const privateAnswer = { kind: 'private' as const, addresses: cluster.enis.map((e) => e.privateIp) };
  if (cluster.endpointPrivateAccess && clientVpcId === cluster.vpcId) return privateAnswer;
  if (cluster.endpointPublicAccess && cluster.publicAddress !== null) return { kind: 'public', address: cluster.publicAddress };
  return privateAnswer;
}

/** Whether the public endpoint takes a connection whose source (as the endpoint sees it) is `source`; reason names the allow-list and the source when not. */
export function publicEndpointAdmits(cluster: EksCluster, source: string): { admitted: true } | { admitted: false; reason: string } {
  if (!cluster.endpointPublicAccess) return { admitted: false, reason: 'public endpoint access is off' };
  const address = parseAddress(source);
  const admitted = cluster.publicAccessCidrs.some((c) => {
    const cidr = parseCidr(c);
    return cidr.family === address.family && cidrContains(cidr, address);
  });
  if (admitted) return { admitted: true };
  return { admitted: false, reason: `public endpoint allow-list ${cluster.publicAccessCidrs.join(', ') || '(empty)'} does not include ${source}` };
}

function selectorMatches(selector: EksFargateSelector, pod: { namespace: string; labels: Record<string, string> }): boolean {
  if (selector.namespace !== pod.namespace) return false;
  return Object.entries(selector.labels ?? {}).every(([k, v]) => pod.labels[k] === v);
}

/** The pod label EKS reads to pick among several matching profiles. */
export const FARGATE_PROFILE_LABEL = 'eks.amazonaws.com/fargate-profile';

/**
 * The Fargate profile whose selectors match the pod (namespace equal, every selector label present with equal value);
 * first profile in name order wins; undefined: none. A pod labelled `eks.amazonaws.com/fargate-profile` gets that
 * profile when it is one of the matching ones (EKS's way to choose; without it EKS picks any match, the lab by name).
 */
export function fargateProfileFor(profiles: readonly EksFargateProfile[], pod: { namespace: string; labels: Record<string, string> }): EksFargateProfile | undefined {
  const matching = [...profiles]
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
    .filter((p) => p.selectors.some((s) => selectorMatches(s, pod)));
  const chosen = pod.labels[FARGATE_PROFILE_LABEL];
  return matching.find((p) => p.name === chosen) ?? matching[0];
}

/** A subnet is private for EKS/Fargate when its route table (explicit, else the VPC's main) has no route to an internet gateway. */
export function subnetIsPrivate(model: Pick<VpcFacts, 'subnets' | 'routeTables'>, subnetId: string): boolean {
  const tableId = model.subnets.find((s) => s.id === subnetId)?.routeTableId;
  const table = model.routeTables.find((t) => t.id === tableId);
  return !(table?.routes ?? []).some((r) => r.target.kind === 'igw');
}
