import { PodnetError } from '../lib/index.js';
import { formatAddress, parseAddress, parseCidr, subnetGateway } from '../net/index.js';
import { routeWords, type BatchLine, type Route } from './iproute.js';
import { hostVethName, podCreateLines, podInsideLines, renderPodNetwork, type PodNetwork } from './pod.js';
import { MAIN_TABLE, type RouteTable } from './route-table.js';
import { ifNameWord, ipLine, macWord, numberWord, prefixWord, tableWord } from './words.js';

/**
 * A pod with its own security groups: its address is the primary address of a branch ENI that EC2 delivers to the
 * node's trunk ENI tagged with the branch's VLAN id (spec §3.9, upstream `SetupBranchENIPodNetwork`/`setupVlan`).
 * This file renders that datapath as data — the VLAN link, the branch's route table, the mode's rules and routes, the
 * pod side — and the teardown; applying it is branch-eni-apply.ts.
 */

/** POD_SECURITY_GROUP_ENFORCING_MODE (spec §5.2). */
export type PodSgEnforcingMode = 'strict' | 'standard';

/** The VLAN ids 802.1Q leaves for use (0 and 4095 are reserved), and so the ids EC2 gives branch associations. */
export const MIN_VLAN_ID = 1;
export const MAX_VLAN_ID = 4094;

/** Rule priority of the strict mode's `iif` rules (upstream VlanRulePriority, spec §3.1). */
export const VLAN_RULE_PRIORITY = 10;

/** The host veth prefix of strict-mode branch pods (upstream `sgpp.BuildHostVethNamePrefix`, spec §3.5). */
export const STRICT_VETH_PREFIX = 'vlan';

export interface BranchEniPodInput {
  namespace: string;
  podName: string;
  /** CNI_IFNAME (default eth0). */
  ifName?: string;
  /** AWS_VPC_K8S_CNI_VETHPREFIX: the host veth prefix in standard mode (strict always uses `vlan`). */
  vethPrefix: string;
  mode: PodSgEnforcingMode;
  /** The branch association's VLAN id (1–4094). */
  vlanId: number;
  /** The branch ENI's MAC: the VLAN link carries it, so the trunk's traffic for that VLAN is the branch's. */
  branchMac: string;
  /** The branch ENI's primary address = the pod's address (no prefix length). */
  podIp: string;
  /** The branch ENI's subnet CIDR: its gateway (network + 1) is the VLAN table's next hop. */
  subnetCidr: string;
  /** The Linux link of the node's trunk ENI (found by the trunk's MAC), parent of the VLAN link; needed only to create it. */
  trunkLink?: string;
  mtu: number;
  hostVethMac: string;
  /**
   * Whether podnet makes (and on DEL deletes) the VLAN link. True on a real node. False in the lab, whose kernel may
   * lack 802.1Q: there the fabric hands the node a link already named `vlan.eth.<id>` carrying the branch MAC, and it
   * stays the fabric's — the only difference between the two (docs/node-programming.md).
   */
  createVlanLink: boolean;
  /**
   * A repeated ADD of an attachment that already held this branch: a failure then undoes only what this call made —
   * never the earlier ADD's table, rules or VLAN link (the pool path's rule, §6.1 step 4).
   */
  addressHeldBefore?: boolean;
}

/** One branch-ENI pod's wiring as data. */
export interface BranchEniPodNetwork {
  mode: PodSgEnforcingMode;
  vlanId: number;
  /** `vlan.eth.<id>`. */
  vlanLink: string;
  trunkLink: string | undefined;
  branchMac: string;
  createVlanLink: boolean;
  /** `100 + vlanId`. */
  table: RouteTable;
  /** The branch subnet's gateway (network + 1). */
  gateway: string;
  /** The VLAN link's IPv6 sysctls (accept_ra=0, accept_redirects=1, forwarding=0; spec §3.7). */
  vlanSysctls: Record<string, string>;
  /** Table `rt`: `<gw> dev vlan.eth.<id> scope link` and `default via <gw> dev vlan.eth.<id>`. */
  vlanRoutes: Route[];
  /** The veth, the host route and rules of the mode, and the pod side (veth, /32, 169.254.1.1 routes, static ARP). */
  pod: PodNetwork;
}

/** `vlan.eth.<id>` (upstream's name): at most 13 characters for ids up to 4094, so within IFNAMSIZ. */
export function vlanLinkName(vlanId: number): string {
  numberWord(vlanId, MIN_VLAN_ID, MAX_VLAN_ID, 'VLAN id');
  return `vlan.eth.${vlanId}`;
}

/** The branch pod's route table: `100 + vlanId` (spec §3.9). */
export function branchRouteTable(vlanId: number): RouteTable {
  numberWord(vlanId, MIN_VLAN_ID, MAX_VLAN_ID, 'VLAN id');
  return 100 + vlanId;
}

/** The host veth prefix a branch pod gets: `vlan` in strict mode, the configured prefix (`eni`) in standard mode. */
export function branchVethPrefix(mode: PodSgEnforcingMode, vethPrefix: string): string {
  return mode === 'strict' ? STRICT_VETH_PREFIX : vethPrefix;
}

/** The host veth name of a branch pod (spec §3.5 with the mode's prefix). */
export function branchHostVethName(mode: PodSgEnforcingMode, vethPrefix: string, namespace: string, podName: string): string {
  return hostVethName(branchVethPrefix(mode, vethPrefix), namespace, podName);
}

/** Renders a branch pod's datapath (spec §3.9): pure, every name checked against its grammar. IPv4 only. */
export function renderBranchEniPod(input: BranchEniPodInput): BranchEniPodNetwork {
  const vlanLink = vlanLinkName(input.vlanId);
  const table = branchRouteTable(input.vlanId);
  if (input.trunkLink !== undefined) ifNameWord(input.trunkLink);
  else if (input.createVlanLink) throw new PodnetError('LINK_NOT_FOUND', `VLAN ${input.vlanId} for pod ${input.namespace}/${input.podName}: no trunk link to make vlan.eth.${input.vlanId} on`, 'the node has no trunk ENI link yet; the VPC resource controller attaches the trunk, and ipamd finds its link by MAC');
  const branchMac = macWord(input.branchMac).text;
  if (input.mode !== 'strict' && input.mode !== 'standard') {
    throw new PodnetError('INVALID_INPUT', `POD_SECURITY_GROUP_ENFORCING_MODE "${String(input.mode)}" is not strict or standard`, 'set strict or standard');
  }
  const podIp = parseAddress(input.podIp);
  const subnet = parseCidr(input.subnetCidr);
  if (podIp.family !== 4 || subnet.family !== 4) {
    throw new PodnetError('INVALID_INPUT', `branch ENI pod ${input.namespace}/${input.podName}: ${input.podIp} in ${input.subnetCidr} is not IPv4`, 'podnet wires IPv4 branch ENI pods only (upstream\'s IPv6 branch path, gateway fe80:ec2::1, is not built)');
  }
  const gateway = formatAddress(subnetGateway(subnet));
  const vethPrefix = branchVethPrefix(input.mode, input.vethPrefix);
  // the pod side is a normal pod's (§3.3): eth0, /32, 169.254.1.1 and its static neighbour; in standard mode the host
  // side is §3.4's with rt = 100 + vlan id (512 to main, 1536 from the pod to rt)
  const base = renderPodNetwork({ namespace: input.namespace, podName: input.podName, ...(input.ifName !== undefined && { ifName: input.ifName }), vethPrefix, podIp: input.podIp, routeTable: table, mtu: input.mtu, hostVethMac: input.hostVethMac });
  const pod: PodNetwork =
    input.mode === 'standard'
      ? base
      : {
          ...base,
          // strict: the pod's /32 only in rt, and everything in from the VLAN or from the pod looks up rt first (prio
          // 10, before the local table, which ipamd moved to 20), so all of it crosses the branch ENI and its groups
          hostRoutes: [{ dst: base.address, dev: base.hostVeth, table }],
          hostRules: [
            { family: 4, priority: VLAN_RULE_PRIORITY, iif: vlanLink, table },
            { family: 4, priority: VLAN_RULE_PRIORITY, iif: base.hostVeth, table },
          ],
        };
  const v6 = `net/ipv6/conf/${vlanLink}`;
  return {
    mode: input.mode,
    vlanId: input.vlanId,
    vlanLink,
    trunkLink: input.trunkLink,
    branchMac,
    createVlanLink: input.createVlanLink,
    table,
    gateway,
    vlanSysctls: { [`${v6}/accept_ra`]: '0', [`${v6}/accept_redirects`]: '1', [`${v6}/forwarding`]: '0' },
    vlanRoutes: [
      { dst: gateway, dev: vlanLink, scope: 'link', table },
      { dst: 'default', via: gateway, dev: vlanLink, table },
    ],
    pod,
  };
}

/**
 * The node-side batch that makes the VLAN link (real node only: an existing link of that name is deleted first, §3.9
 * step 2) and brings it up. Its sysctls are written between this batch and {@link branchNodeLines}.
 */
export function branchVlanLinkLines(b: BranchEniPodNetwork): BatchLine[] {
  const vlan = ifNameWord(b.vlanLink);
  const lines: BatchLine[] = [];
  if (b.createVlanLink) {
    lines.push(
      { cmd: ipLine`link del ${vlan}`, absentOk: true },
      { cmd: ipLine`link add link ${ifNameWord(b.trunkLink ?? '')} name ${vlan} address ${macWord(b.branchMac)} type vlan id ${numberWord(b.vlanId, MIN_VLAN_ID, MAX_VLAN_ID, 'VLAN id')}` },
    );
  }
  lines.push({ cmd: ipLine`link set ${vlan} up` });
  return lines;
}

/**
 * The node-side batch after the VLAN link: table rt's gateway routes, old prio-10 rules of the host veth removed
 * (§3.9 step 1), then the pod's veth, rules and host route as {@link podCreateLines} writes them.
 */
export function branchNodeLines(b: BranchEniPodNetwork, podNetns: string): BatchLine[] {
  return [
    ...b.vlanRoutes.map((r) => ({ cmd: ipLine`route replace ${routeWords(r)}` })),
    { cmd: ipLine`rule flush iif ${ifNameWord(b.pod.hostVeth)} prio ${numberWord(VLAN_RULE_PRIORITY, 0, 0xffffffff, 'rule priority')}` },
    ...podCreateLines(b.pod, podNetns),
  ];
}

/** The pod-side batch: the same as a normal pod's (§3.3). */
export function branchPodLines(b: BranchEniPodNetwork): BatchLine[] {
  return podInsideLines(b.pod);
}

/** What DEL of a branch pod needs: all of it is in the checkpoint's branch record or the prevResult (§6.3). */
export interface BranchEniTeardownInput {
  vlanId: number;
  /** The pod's address (no length). */
  podIp: string;
  /** The host veth name computed for the pod (either mode's: DEL removes whichever exists). */
  hostVeths: string[];
  createVlanLink: boolean;
}

/**
 * DEL (§3.9 step 5): the VLAN link (real node), every prio-10 rule that looks up rt, and the IP-based rules of §3.4,
 * covering both modes so a pod wired before a mode change goes too; table rt flushed (in the lab the link stays, so its
 * routes would); the host veth and its /32. Anything already gone counts as removed, so a second DEL succeeds.
 */
export function branchTeardownLines(t: BranchEniTeardownInput): BatchLine[] {
  const vlan = ifNameWord(vlanLinkName(t.vlanId));
  const rt = tableWord(branchRouteTable(t.vlanId));
  const host = prefixWord(t.podIp);
  const prio = numberWord(VLAN_RULE_PRIORITY, 0, 0xffffffff, 'rule priority');
  const lines: BatchLine[] = [
    { cmd: ipLine`rule flush lookup ${rt} prio ${prio}` },
    { cmd: ipLine`rule flush to ${host} prio 512` },
    { cmd: ipLine`rule flush from ${host} prio 1536` },
    // a table with no routes left does not exist: nothing to flush
    { cmd: ipLine`route flush table ${rt}`, absentOk: true },
  ];
  for (const veth of t.hostVeths) {
    const v = ifNameWord(veth);
    lines.push({ cmd: ipLine`route del ${host} dev ${v} table ${tableWord(MAIN_TABLE)}`, absentOk: true }, { cmd: ipLine`link del ${v}`, absentOk: true });
  }
  if (t.createVlanLink) lines.push({ cmd: ipLine`link del ${vlan}`, absentOk: true });
  return lines;
}
