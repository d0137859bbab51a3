/**
 * What `podnet explain` answers, as data: the verdict, the address (and port class) the destination sees, every hop
 * of the packet and of its reply with the rule it matched, and explanation codes. `--json` prints this shape; it is
 * a contract (docs/explain.md): fields are added, never renamed or removed.
 */

export type ExplainVerdict = 'delivered' | 'dropped' | 'unknown';

export type ExplainProtocol = 'tcp' | 'udp' | 'icmp';

/** What is being asked: the connection FROM opens to TO. */
export interface ExplainQuery {
  /** an endpoint name of the world, or an address */
  from: string;
  to: string;
  protocol: ExplainProtocol;
  /** the destination port (tcp, udp) */
  port?: number;
}

/** The elements a hop can be: the node's side, then the VPC's (src/vpc's hop elements), then the far end. */
export type ExplainElement =
  | 'pod'
  | 'node-rules'
  | 'node-routing'
  | 'eni'
  | 'source-destination-check'
  | 'security-group'
  | 'network-acl'
  | 'route-table'
  | 'internet-gateway'
  | 'nat-gateway'
  | 'peering'
  | 'transit-gateway'
  | 'virtual-private-gateway'
  | 'on-premises'
  | 'internet'
  /** an EKS cluster's endpoint: its public endpoint's allow-list, or its private endpoint on the cluster's network interfaces */
  | 'eks-endpoint'
  | 'destination';

/** A packet's header as far as explain follows it. */
export interface PacketHeader {
  source: string;
  destination: string;
  /** tcp/udp source port: a number when known, else how it is chosen (`ephemeral`) */
  sourcePort?: number | 'ephemeral';
  destinationPort?: number | 'ephemeral';
}

export interface ExplainHop {
  element: ExplainElement;
  /** which one: a pod or node name, eni-…, sg-…, acl-…, rtb-…, igw-…, nat-…, pcx-…, tgw-…, vgw-…, a network's name */
  id: string;
  /**
   * the exact rule it matched, as the element shows it: `nat AWS-SNAT-CHAIN-0: -d 10.0.0.0/16 -m comment --comment
   * "AWS SNAT CHAIN" -j RETURN`, `ip rule 1536: from 10.0.1.7 lookup 3`, `route 0.0.0.0/0 → igw-…`, an SG or NACL rule;
   * `no rule allows …` when nothing matched and that dropped it
   */
  matched: string;
  /** what it did, as a clause a sentence can carry */
  action: string;
  /** the header before and after, only when this hop changed it */
  before?: PacketHeader;
  after?: PacketHeader;
  /** set on the hop that dropped the packet */
  dropped?: boolean;
}

/** How the source port the destination sees is chosen. */
export type SourcePortClass =
  /** untranslated: the sender's own port */
  | 'original'
  /** the node's SNAT with --random-fully (AWS_VPC_K8S_CNI_RANDOMIZESNAT=prng, the default) */
  | 'random-fully'
  /** the node's SNAT with --random (hashrandom, or an iptables without --random-fully) */
  | 'random'
  /** the node's SNAT without a port flag (RANDOMIZESNAT=none): kept when free */
  | 'kept-if-free'
  /** a NAT gateway's own port */
  | 'nat-gateway';

export interface Explanation {
  verdict: ExplainVerdict;
  query: ExplainQuery;
  /** the endpoints as resolved: name (or the address given), kind, address */
  from: { name: string; kind: string; address: string };
  to: { name: string; kind: string; address: string };
  /** the address the destination sees, or null when nothing arrives (or unknown) */
  sourceSeen: string | null;
  sourcePortClass: SourcePortClass | null;
  forward: ExplainHop[];
  /** the reply's hops; empty when the packet never arrived */
  return: ExplainHop[];
  /** explanation codes, in path order (SNAT_TO_PRIMARY_IP, EXCLUDED_FROM_SNAT, EXTERNAL_SNAT, HOST_NETWORK, …) */
  codes: string[];
  /** dropped: the element, its rule and why, as a sentence; unknown: what is missing to decide */
  reason?: string;
  /** the setting that would change the outcome, where there is one */
  fix?: string;
  /** addresses from podnet's simulation of a scenario (offline), not from a running node */
  simulated?: boolean;
  /** the world's warnings: what its reader could not read (e.g. a describe call the credentials may not make) */
  warnings?: string[];
}
