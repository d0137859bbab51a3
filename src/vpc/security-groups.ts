/**
 * Security groups as EC2 applies them to one ENI: the union of the rules of every group the ENI carries (a packet
 * passes when any rule of any group allows it; there are no deny rules), stateful (the reply of a connection a group
 * let through passes both ways without a rule). The evaluator only evaluates rules: EC2's default egress rule and
 * the default group's self-reference are rules the emulator creates.
 */
import { addressInCidr, eniHolding, protocolAndPortsMatch, protocolNumber, reverseFlow, type Flow, type IpProtocol, type NetworkInterface, type SecurityGroup, type SecurityGroupRule, type VpcModel } from './model.js';

export type TrafficDirection = 'ingress' | 'egress';

export interface SecurityGroupVerdict {
  allowed: boolean;
  /** the group and rule that let it through; null when denied, for a tracked connection's reply, or not modelled */
  match: { groupId: string; ruleIndex: number; rule: SecurityGroupRule } | null;
  /** the groups checked, in the ENI's order */
  groupIds: string[];
  /** as a sentence: `sg-1 (web) ingress rule 0 allows tcp/22 from 10.1.0.4`, `no rule of sg-1 (web) allows …` */
  detail: string;
}

/**
 * Whether the security groups of `eni` let `flow` in (`ingress`: the ENI receives it; the rule's peer is the source)
 * or out (`egress`: the rule's peer is the destination); ports are the destination's in both directions.
 * `established` are the flows this ENI's groups already let through in either direction: the reply of one of them
 * is allowed by connection tracking, whatever the rules say.
 */
export function evaluateSecurityGroups(model: VpcModel, eni: NetworkInterface, direction: TrafficDirection, flow: Flow, established: readonly Flow[] = []): SecurityGroupVerdict {
  const groupIds = eni.groupIds ?? [];
  if (eni.groupIds === undefined || model.filtering === undefined) {
    return { allowed: true, match: null, groupIds, detail: `the model has no security groups for ${eni.eniId}` };
  }
  if (established.some((opened) => isReplyOf(flow, opened))) {
    return { allowed: true, match: null, groupIds, detail: `${describeFlow(flow, direction)} is the reply of a tracked connection (security groups are stateful)` };
  }
  const peer = direction === 'ingress' ? flow.source : flow.destination;
  for (const groupId of groupIds) {
    const group = model.filtering.securityGroups.find((g) => g.id === groupId);
    const rules = group?.[direction] ?? [];
    const ruleIndex = rules.findIndex((rule) => protocolAndPortsMatch(rule, flow) && peerMatches(model, rule.peer, peer));
    if (ruleIndex >= 0) {
      const rule = rules[ruleIndex]!;
      return { allowed: true, match: { groupId, ruleIndex, rule }, groupIds, detail: `${groupLabel(model, groupId)} ${direction} rule ${ruleIndex} (${describeRule(rule)}) allows ${describeFlow(flow, direction)}` };
    }
  }
  const checked = groupIds.length > 0 ? groupIds.map((id) => groupLabel(model, id)).join(', ') : `(no groups on ${eni.eniId})`;
  return { allowed: false, match: null, groupIds, detail: `no ${direction} rule of ${checked} allows ${describeFlow(flow, direction)}` };
}

/**
 * The reply direction of a flow the groups allowed: the reply (addresses and ports swapped) and the direction it
 * crosses the same ENI in. Security groups always let it through; pass the original as `established`.
 */
export function securityGroupReply(flow: Flow, direction: TrafficDirection): { flow: Flow; direction: TrafficDirection } {
  return { flow: reverseFlow(flow), direction: direction === 'ingress' ? 'egress' : 'ingress' };
}

/** Every private address a group reference stands for: of every ENI in the group, primary, secondary and prefixes. */
export function groupMemberCidrs(model: Pick<VpcModel, 'enis'>, groupId: string): string[] {
  return model.enis
    .filter((e) => e.groupIds?.includes(groupId))
    .flatMap((e) => [...e.privateIps.map((ip) => `${ip}/${ip.includes(':') ? 128 : 32}`), ...e.ipv4Prefixes]);
}

function peerMatches(model: VpcModel, peer: SecurityGroupRule['peer'], address: string): boolean {
  if ('cidr' in peer) return addressInCidr(address, peer.cidr);
  return eniHolding(model.enis.filter((e) => e.groupIds?.includes(peer.groupId)), address) !== undefined;
}

/** Whether `flow` is the reply of `opened`: the same protocol, addresses and ports the other way round. */
function isReplyOf(flow: Flow, opened: Flow): boolean {
  return (
    protocolNumber(flow.protocol) === protocolNumber(opened.protocol) &&
    flow.source === opened.destination &&
    flow.destination === opened.source &&
    flow.sourcePort === opened.destinationPort &&
    flow.destinationPort === opened.sourcePort
  );
}

function groupLabel(model: VpcModel, groupId: string): string {
  const group: SecurityGroup | undefined = model.filtering?.securityGroups.find((g) => g.id === groupId);
  return group ? `${group.id} (${group.name})` : `${groupId} (not in the model: no rules)`;
}

/** `tcp/7007`, `udp/53`, `icmp 8/0`, `all`, `proto 47`: what a rule or packet is. */
export function describeProtocol(protocol: IpProtocol, port?: number | { from: number; to: number }, icmp?: { type: number; code: number }): string {
  const number = protocolNumber(protocol);
  if (number === -1) return 'all';
  const name = number === 6 ? 'tcp' : number === 17 ? 'udp' : number === 1 ? 'icmp' : `proto ${number}`;
  if (number === 1 && icmp) return `icmp ${icmp.type}/${icmp.code}`;
  if (port === undefined) return name;
  if (typeof port === 'number') return `${name}/${port}`;
  if (number === 1) return `icmp ${port.from === -1 ? 'any' : port.from}/${port.to === -1 ? 'any' : port.to}`;
  return port.from === port.to ? `${name}/${port.from}` : `${name}/${port.from}-${port.to}`;
}

function describeRule(rule: SecurityGroupRule): string {
  const peer = 'cidr' in rule.peer ? rule.peer.cidr : rule.peer.groupId;
  return `${describeProtocol(rule.protocol, rule.ports)} ${peer}`;
}

function describeFlow(flow: Flow, direction: TrafficDirection): string {
  const what = describeProtocol(flow.protocol, flow.destinationPort, flow.icmp);
  return direction === 'ingress' ? `${what} from ${flow.source}` : `${what} to ${flow.destination}`;
}
