/**
 * Why the fabric dropped a probe, as far as the fabric can tell: its counters, read before and after the probe.
 * A VPC router counts what its source/destination check drops and packets for VPC addresses no ENI holds; the
 * kernel counts, per namespace, forwarded packets it had no route for (IpExt InNoRoutes); an internet gateway counts
 * packets from VPC addresses without a public IP; with filtering (filtering.ts), what security groups and network ACLs
 * drop. For those two the counter says only which kind of element dropped the probe; the model's evaluation of the
 * probe's flow (explainDrop) names the group or ACL and the rule.
 *
 * This is a heuristic, not per-flow accounting: the fabric's counters are shared, so traffic between the reads (other
 * probes, pods' own traffic, a retransmission of an earlier probe) can be misattributed. The reason is null when no
 * counter moved or more than one did. Counting per flow was not chosen: InNoRoutes is a namespace-wide kernel counter
 * with no per-flow form, the packet's addresses change on the way (a node's SNAT, the gateway's NAT), and per-probe nft
 * state in several namespaces would have to be added and removed around every probe, failures included.
 */
import { run } from '../lib/index.js';
import { flowPath, type PathStart, type Traffic, type VpcDropReason, type VpcModel } from '../vpc/index.js';
import { ns, type FabricPlan } from './plan.js';
import { DROP_COUNTERS } from './render.js';

/** Why the fabric dropped a probe: the model's reasons (src/vpc), which the fabric's counters stand for. */
export type DropReason = VpcDropReason;

/** The sentence `lab probe` prints for each reason. */
export const DROP_REASON_SENTENCES: Record<DropReason, string> = {
  'source-destination-check': "the VPC's source/destination check dropped it: it left an ENI with a source address EC2 did not assign to that ENI",
  'no-route': 'the fabric had no route for it: no route to the destination in the route table (or in a gateway or an on-premises network on the way), or no ENI holds the address',
  'no-public-ip': 'no public IP at the internet gateway: the VPC address has no public IP, so the internet gateway does not carry it',
  'security-group': 'a security group dropped it: no rule of the groups on the sending or receiving ENI allows it (replies of allowed connections always pass)',
  'network-acl': "a subnet's network ACL dropped it: a deny rule, or no rule matched (the implicit deny *); ACLs are stateless, so replies need their own rule",
  'endpoint-allow-list': "the EKS cluster's public endpoint refused it: the source it sees (a node's public IP, or the NAT gateway's EIP) is not in the cluster's publicAccessCidrs",
  'endpoint-private-off': "the EKS cluster's network interface refused it: the cluster's private endpoint access is off",
};

/** One counter of the fabric: where, the reason it counts, and how many packets so far. */
export interface DropCounter {
  ns: string;
  counter: DropReason;
  packets: number;
}

/** The counting rules of one nft table, by the comment the fabric gives them (render.ts DROP_COUNTERS). */
export function parseNftCounters(listing: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const m of listing.matchAll(/counter packets (\d+) bytes \d+.*?comment "([^"]+)"/g)) out.set(m[2]!, (out.get(m[2]!) ?? 0) + Number(m[1]));
  return out;
}

/** IpExt InNoRoutes of /proc/net/netstat: packets the namespace had to forward but had no route for. */
export function parseInNoRoutes(netstat: string): number {
  const lines = netstat.split('\n').filter((l) => l.startsWith('IpExt:'));
  const names = lines[0]?.split(/\s+/) ?? [];
  const values = lines[1]?.split(/\s+/) ?? [];
  const i = names.indexOf('InNoRoutes');
  return i < 0 ? 0 : Number(values[i] ?? 0);
}

/** The counting rules of one of the fabric's nft tables in a namespace. */
async function nftCounters(where: string, table: string): Promise<Map<string, number>> {
  return parseNftCounters((await run(['nft', 'list', 'table', 'ip', table], { netns: where })).stdout);
}

/** Reads every drop counter of the fabric: per VPC router, internet gateway and the internet core, in parallel. */
export async function readDropCounters(plan: FabricPlan): Promise<DropCounter[]> {
  const noRoutes = async (where: string) => parseInNoRoutes((await run(['cat', '/proc/net/netstat'], { netns: where })).stdout);
  const routers = plan.vpcs.map(async (v): Promise<DropCounter[]> => {
    const [counters, unrouted] = await Promise.all([nftCounters(v.router, 'pn_vpc'), noRoutes(v.router)]);
    return [
      { ns: v.router, counter: 'source-destination-check', packets: counters.get(DROP_COUNTERS.sourceCheck) ?? 0 },
      { ns: v.router, counter: 'no-route', packets: (counters.get(DROP_COUNTERS.vpcNoRoute) ?? 0) + unrouted },
      { ns: v.router, counter: 'security-group', packets: counters.get(DROP_COUNTERS.securityGroup) ?? 0 },
      { ns: v.router, counter: 'network-acl', packets: counters.get(DROP_COUNTERS.networkAcl) ?? 0 },
    ];
  });
  // a gateway's table appears with the controller's first pass; until then it drops nothing it could count
  const igws = plan.igws.map(async (g): Promise<DropCounter[]> => {
    const counters = await nftCounters(g.ns, 'pn_igw').catch(() => new Map<string, number>());
    return [{ ns: g.ns, counter: 'no-public-ip', packets: counters.get(DROP_COUNTERS.noPublicIp) ?? 0 }];
  });
  // the internet core: an address no internet host or public IP has (from the VPC through a gateway)
  const core = plan.namespaces.includes(ns.inet) ? [noRoutes(ns.inet).then((packets): DropCounter[] => [{ ns: ns.inet, counter: 'no-route', packets }])] : [];
  // a transit gateway: a destination its route table has no route for, or a blackhole route
  const tgws = plan.tgws.map(async (g): Promise<DropCounter[]> => {
    const counters = await nftCounters(g.ns, 'pn_tgw').catch(() => new Map<string, number>());
    return [{ ns: g.ns, counter: 'no-route', packets: counters.get(DROP_COUNTERS.vpcNoRoute) ?? 0 }];
  });
  // a virtual private gateway with no network behind it for the destination (or detached: no route to its VPC), and an
  // on-premises network without a route back (it routes only its gateway's VPC)
  const onPremises = [...plan.vgws.map((g) => g.ns), ...plan.onPremises.map((n) => n.ns)].map((where) =>
    noRoutes(where).then((packets): DropCounter[] => [{ ns: where, counter: 'no-route', packets }]));
  return (await Promise.all([...routers, ...igws, ...core, ...tgws, ...onPremises])).flat();
}

/**
 * The reason a probe was dropped: the one counter that grew during the probe; null when none grew, or when more than
 * one did (other traffic moved a counter too, and which one the probe moved cannot be told). A counter lower than
 * before was reset (the controller replaced its table meanwhile): whatever it counted since is growth.
 */
export function attributeDrop(before: readonly DropCounter[], after: readonly DropCounter[]): DropReason | null {
  const grew = grownCounters(before, after);
  return grew.length === 1 ? grew[0]!.counter : null;
}

/** The counters that grew between two reads (one lower than before was reset: whatever it counted since). */
export function grownCounters(before: readonly DropCounter[], after: readonly DropCounter[]): DropCounter[] {
  return after.filter((a) => {
    const was = before.find((b) => b.ns === a.ns && b.counter === a.counter)?.packets ?? 0;
    return a.packets < was ? a.packets > 0 : a.packets > was;
  });
}

/** Which security group or network ACL dropped a probe, and why, as the model evaluates the probe's flow. */
export interface DropExplanation {
  element: 'security-group' | 'network-acl';
  /** the groups checked (sg-…, joined by `,`) or the ACL (acl-…) */
  id: string;
  /** for a network ACL: the entry that denied it, or `*` for the implicit deny */
  rule?: number | '*';
  /** whether it was the reply that was dropped (ACLs are stateless: a reply needs its own entry) */
  reply: boolean;
  /** the model's sentence, e.g. `the security groups of eni-1 dropped it: no ingress rule of sg-1 (nodes) allows tcp/7007 from 10.1.0.4` */
  detail: string;
}

/**
 * Names the group or ACL behind a 'security-group' or 'network-acl' drop: the model's flowPath for the probe's traffic
 * from each of `starts` (the sender's own address, then, for a pod, the node's address its SNAT may give it), the
 * first that the model drops for the same reason. Null when the model does not drop it so (the counter moved for
 * other traffic, or the model and the fabric disagree).
 */
export function explainDrop(model: VpcModel, reason: DropReason, starts: readonly PathStart[], to: string, traffic: Traffic): DropExplanation | null {
  if (reason !== 'security-group' && reason !== 'network-acl') return null;
  for (const start of starts) {
    const flow = flowPath(model, start, to, { traffic });
    if (flow.verdict !== 'dropped' || flow.reason !== reason) continue;
    const path = flow.reply ?? flow.forward;
    const hop = path.hops.at(-1);
    if (!hop || hop.element !== reason) continue;
    const rule = reason === 'network-acl' ? / rule (\d+|\*) /.exec(hop.action)?.[1] : undefined;
    return {
      element: reason,
      id: hop.id,
      ...(rule === undefined ? {} : { rule: rule === '*' ? '*' : Number(rule) }),
      reply: flow.reply !== null,
      detail: flow.detail ?? hop.action,
    };
  }
  return null;
}
