/**
 * Network ACLs as EC2 applies them at a subnet's edge: stateless (a reply is a packet like any other, evaluated on
 * its own with its ports swapped, so an ACL must allow the ephemeral ports replies come back on), entries in
 * rule-number order, the first that matches decides, and the implicit deny `*` when none does.
 */
import { addressInCidr, protocolAndPortsMatch, type Flow, type NetworkAcl, type NetworkAclEntry, type VpcModel } from './model.js';
import { describeProtocol, type TrafficDirection } from './security-groups.js';

/** EC2's highest rule number a user may give; 32767 is the implicit deny, shown as `*`. */
export const MAX_NETWORK_ACL_RULE_NUMBER = 32766;

/** The entries EC2 gives a VPC's default ACL: rule 100 allows everything, in and out (IPv4). */
export const DEFAULT_NETWORK_ACL_ENTRIES: readonly NetworkAclEntry[] = [
  { ruleNumber: 100, egress: false, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' },
  { ruleNumber: 100, egress: true, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' },
];

export interface NetworkAclVerdict {
  allowed: boolean;
  /** the ACL applied; null when the model has no ACL for the subnet (not modelled: nothing filtered) */
  aclId: string | null;
  /** the entry that decided, or `*` for the implicit deny; null when not modelled */
  ruleNumber: number | '*' | null;
  /** as a sentence: `acl-1 ingress rule 90 denies tcp/22 from 10.1.0.4` */
  detail: string;
}

/** The ACL a subnet uses: the one associated with it, else its VPC's default ACL. */
export function networkAclOf(model: Pick<VpcModel, 'subnets' | 'filtering'>, subnetId: string): NetworkAcl | undefined {
  const acls = model.filtering?.networkAcls ?? [];
  const associated = acls.find((a) => a.subnetIds.includes(subnetId));
  if (associated) return associated;
  const vpcId = model.subnets.find((s) => s.id === subnetId)?.vpcId;
  return acls.find((a) => a.isDefault && a.vpcId === vpcId);
}

/**
 * Whether subnet `subnetId`'s ACL lets `flow` in (`ingress`: entering the subnet; the entry's CIDR is the source's)
 * or out (`egress`: leaving it; the destination's). Ports are the destination's in both directions.
 */
export function evaluateNetworkAcl(model: Pick<VpcModel, 'subnets' | 'filtering'>, subnetId: string, direction: TrafficDirection, flow: Flow): NetworkAclVerdict {
  const acl = networkAclOf(model, subnetId);
  if (!acl) return { allowed: true, aclId: null, ruleNumber: null, detail: `the model has no network ACL for ${subnetId}` };
  const peer = direction === 'ingress' ? flow.source : flow.destination;
  const what = `${describeProtocol(flow.protocol, flow.destinationPort, flow.icmp)} ${direction === 'ingress' ? `from ${flow.source}` : `to ${flow.destination}`}`;
  const entries = acl.entries.filter((e) => e.egress === (direction === 'egress')).sort((a, b) => a.ruleNumber - b.ruleNumber);
  const entry = entries.find((e) => protocolAndPortsMatch(e, flow) && addressInCidr(peer, e.cidr));
  if (!entry) return { allowed: false, aclId: acl.id, ruleNumber: '*', detail: `${acl.id} ${direction} rule * (no rule matches) denies ${what}` };
  const allowed = entry.action === 'allow';
  return { allowed, aclId: acl.id, ruleNumber: entry.ruleNumber, detail: `${acl.id} ${direction} rule ${entry.ruleNumber} ${allowed ? 'allows' : 'denies'} ${what}` };
}
