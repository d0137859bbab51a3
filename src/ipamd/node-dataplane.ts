/**
 * What ipamd asks of the node's network (ARCHITECTURE: ipamd asks `dataplane`, never runs commands itself): host
 * rules (SNAT, connmark, ip rules, spec §2, §3.1), secondary-ENI route tables (§3.2), pod wiring (§3.3–3.4).
 * `linuxDataplane` does it with src/dataplane; `addressOnlyDataplane` (PODNET_DATAPLANE=none) leaves the node's
 * network alone, for ipamd as a pure address manager (tests against the emulator, or a caller that wires pods).
 */
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  applyBranchEniPod,
  isMadeVlanLink,
  vlanLinkName,
  teardownBranchEniPod,
  applyEniNetwork,
  applyHostNetwork,
  applyPodNetwork,
  applyPrimaryMtu,
  checkPodNetwork,
  detectConnmarkBackend,
  detectRandomFully,
  findLinkByMac,
  hostVethMac,
  listLinks,
  teardownPod,
  checkPodNetns,
  startIpSession,
  type ConnmarkBackend,
  type IpSession,
  type PodTeardownInput,
  type RouteTable,
} from '../dataplane/index.js';
import type { PodnetConfig } from '../config/index.js';
import type { BranchTeardown, BranchWiring } from '../cni/index.js';
import { PodnetError, type Netns } from '../lib/index.js';

export interface HostFacts {
  vpcCidrs: readonly string[];
  primaryIp: string;
  primaryMac: string;
}

export interface EniFacts {
  mac: string;
  deviceNumber: number;
  networkCard: number;
  primaryIp: string;
  subnetCidr: string;
  /** The SGP trunk ENI: no prio-32765 rule (§3.2 step 7). */
  trunk?: boolean;
}

/** One pod's wiring as ipamd knows it; the host veth name follows spec §3.5 from `podNamespace`/`podName`. */
export interface PodPlumbing {
  podNamespace: string;
  podName: string;
  /** CNI_NETNS: a namespace path, or a name under /run/netns. */
  netns: Netns;
  /** The container-side interface name (CNI_IFNAME). */
  ifName: string;
  vethPrefix: string;
  address: string;
  /** The ENI's route table (254 = main for the primary ENI, device number + 1 otherwise, spec §3.2). */
  routeTable: RouteTable;
  mtu: number;
  /** The attachment held the address before this ADD: a failed wiring leaves its rules to the earlier ADD. */
  addressHeldBefore: boolean;
}

export interface NodeDataplane {
  readonly mode: 'linux' | 'none';
  /** Which connmark backend the host rules use (for awscni_connmark_backend), once known. */
  connmarkBackend(): ConnmarkBackend | undefined;
  /** SetupHostNetwork (§4.14 step 2: the primary ENI's MTU, then the rules), and again when the VPC CIDRs change (§2.1). */
  setupHost(host: HostFacts): Promise<void>;
  /** setupENINetwork (§3.2) for a secondary ENI. */
  setupEni(eni: EniFacts): Promise<void>;
  /** Host link names: the checkpoint restore keeps pods whose veth still exists (§6.4); undefined = not known. */
  hostLinkNames(): Promise<string[] | undefined>;
  /** Refuses a netns that cannot be a pod's before anything is assigned for it (src/dataplane checkPodNetns). */
  checkPodNetns(netns: Netns): void;
  wirePod(pod: PodPlumbing): Promise<void>;
  /**
   * A branch ENI pod (spec §3.9) through vlan.eth.<id>: made on the trunk link (found by `trunkMac`) on a real node,
   * the fabric's in the lab (PODNET_BRANCH_VLAN_LINK=fabric); the rest is the same code.
   */
  wireBranchPod(pod: PodPlumbing & { branch: BranchWiring; trunkMac: string | undefined }): Promise<void>;
  /** DEL of a branch pod: its table, rules, veths, and the VLAN link where podnet made it (checked when from prevResult). */
  unwireBranchPod(t: BranchTeardown): Promise<void>;
  /** Removes the pod's wiring that is tied to it (src/dataplane teardownPod). */
  unwirePod(pod: PodTeardownInput): Promise<void>;
  checkPod(pod: PodPlumbing): Promise<string[]>;
  /** Ends what the dataplane keeps running (ipamd's stop). */
  close(): Promise<void>;
}

/**
 * How long ADD waits for the fabric's `vlan.eth.<id>` (PODNET_BRANCH_VLAN_LINK=fabric): the fabric makes it when EC2
 * reports the association, which usually lands before the controller annotates the pod, but not always.
 */
export const FABRIC_VLAN_LINK_WAIT_MS = 5_000;

/**
 * Waits for the fabric's link of a branch: `vlan.eth.<id>` carrying the branch's MAC (a link of that name with
 * another MAC is an earlier branch's on the same VLAN, not gone yet). Not there in time: "try again later" (CNI 11),
 * so the runtime retries the pod rather than failing it for good.
 */
export async function waitForFabricVlanLink(vlanId: number, mac: string, pod: string, waitMs = FABRIC_VLAN_LINK_WAIT_MS): Promise<void> {
  const name = vlanLinkName(vlanId);
  const deadline = Date.now() + waitMs;
  // name and MAC on one listing: the first link with the MAC need not be the one of that name
  const isTheLink = (l: { ifname: string; address?: string }) => l.ifname === name && l.address?.toLowerCase() === mac.toLowerCase();
  while (!(await listLinks()).some(isTheLink)) {
    if (Date.now() >= deadline) {
      throw new PodnetError('IPAMD_NOT_READY', `pod ${pod}: the fabric has not handed this node ${name} with the branch ENI's MAC ${mac} within ${waitMs / 1000} s`, 'with PODNET_BRANCH_VLAN_LINK=fabric the lab\'s fabric makes the link once EC2 reports the branch associated with the trunk; the kubelet retries the pod (see the fabric controller\'s log)');
    }
    await sleep(100);
  }
}

export function addressOnlyDataplane(): NodeDataplane {
  const skip = async () => {};
  return {
    mode: 'none',
    connmarkBackend: () => undefined,
    setupHost: skip,
    setupEni: skip,
    hostLinkNames: async () => undefined,
    // nothing is wired, so a namespace is only a name here
    checkPodNetns: () => {},
    wirePod: skip,
    wireBranchPod: skip,
    unwirePod: skip,
    unwireBranchPod: skip,
    checkPod: async () => [],
    close: skip,
  };
}

/** The real node, in the namespace ipamd runs in (the lab starts ipamd inside the node's namespace). */
export function linuxDataplane(config: PodnetConfig): NodeDataplane {
  let backend: ConnmarkBackend | undefined;
  let randomFully: boolean | undefined;
  // pods' node-side batches go through one running ip: a process per pod started from ipamd costs ~10 ms (fork)
  let session: IpSession | undefined;
  const ipSession = () => (session ??= startIpSession({ fileDir: join(dirname(config.backingStore), 'ip-batches') }));
  return {
    mode: 'linux',
    connmarkBackend: () => backend,
    async setupHost(host) {
      backend ??= await detectConnmarkBackend();
      randomFully ??= await detectRandomFully();
      const primaryInterface = await findLinkByMac(host.primaryMac);
      if (!primaryInterface) {
        throw new PodnetError('LINK_NOT_FOUND', `no link has the primary ENI's MAC ${host.primaryMac}`, 'run ipamd in the node\'s network namespace, where the primary ENI is');
      }
      // SetupHostNetwork sets AWS_VPC_ENI_MTU on the primary ENI before its rules (spec §3.8)
      await applyPrimaryMtu(primaryInterface, config.eniMtu);
      await applyHostNetwork({
        vpcCidrs: host.vpcCidrs,
        excludeSnatCidrs: config.excludeSnatCidrs,
        primaryIp: host.primaryIp,
        primaryInterface,
        vethPrefix: config.vethPrefix,
        connmarkBackend: backend,
        mark: config.connmark,
        externalSnat: config.externalSnat,
        nodePortSupport: config.nodePortSupport,
        randomizeSnat: config.randomizeSnat,
        randomFullySupported: randomFully,
        ipv6: config.enableIPv6,
        pre18Routing: config.pre18Routing,
        externalServiceCidrs: config.externalServiceCidrs,
        podSgStrict: config.enablePodEni && config.podSecurityGroupEnforcingMode === 'strict',
      });
    },
    async setupEni(eni) {
      const link = await findLinkByMac(eni.mac);
      if (!link) {
        throw new PodnetError('LINK_NOT_FOUND', `ENI with MAC ${eni.mac} (device ${eni.deviceNumber}) has no link yet`, 'check the ENI is attached to this instance and its link is in the namespace ipamd runs in');
      }
      await applyEniNetwork({ interface: link, deviceNumber: eni.deviceNumber, networkCard: eni.networkCard, primaryIp: eni.primaryIp, subnetCidr: eni.subnetCidr, mtu: config.eniMtu, ...(eni.trunk && { trunk: true }) });
    },
    async hostLinkNames() {
      return (await listLinks()).map((l) => l.ifname);
    },
    checkPodNetns,
    async wirePod(pod) {
      await applyPodNetwork(
        { namespace: pod.podNamespace, podName: pod.podName, ifName: pod.ifName, vethPrefix: pod.vethPrefix, podIp: pod.address, routeTable: pod.routeTable, mtu: pod.mtu, addressHeldBefore: pod.addressHeldBefore },
        { podNetns: pod.netns },
        ipSession(),
      );
    },
    async unwirePod(pod) {
      await teardownPod(pod, undefined, ipSession());
    },
    async wireBranchPod(pod) {
      const createVlanLink = config.branchVlanLink === 'create';
      const trunkLink = createVlanLink && pod.trunkMac ? await findLinkByMac(pod.trunkMac) : undefined;
      if (createVlanLink && !trunkLink) {
        throw new PodnetError('LINK_NOT_FOUND', `the trunk ENI${pod.trunkMac ? ` (MAC ${pod.trunkMac})` : ''} has no link in ipamd's namespace: vlan.eth.${pod.branch.vlanId} cannot be made`, 'check the trunk ENI is attached to this instance; in the lab, set PODNET_BRANCH_VLAN_LINK=fabric');
      }
      if (!createVlanLink) await waitForFabricVlanLink(pod.branch.vlanId, pod.branch.mac, `${pod.podNamespace}/${pod.podName}`);
      await applyBranchEniPod(
        {
          namespace: pod.podNamespace, podName: pod.podName, ifName: pod.ifName, vethPrefix: pod.vethPrefix, mode: pod.branch.mode, vlanId: pod.branch.vlanId,
          branchMac: pod.branch.mac, podIp: pod.branch.address, subnetCidr: pod.branch.subnetCidr, mtu: pod.mtu, hostVethMac: hostVethMac(), createVlanLink,
          addressHeldBefore: pod.addressHeldBefore,
          ...(trunkLink !== undefined && { trunkLink }),
        },
        { podNetns: pod.netns },
        ipSession(),
      );
    },
    async unwireBranchPod(t) {
      // a teardown from prevResult is unchecked: the VLAN link goes only if it is one podnet made (kind vlan)
      const createVlanLink = config.branchVlanLink === 'create' && (!t.fromPrevResult || (await isMadeVlanLink(t.vlanId)));
      await teardownBranchEniPod({ vlanId: t.vlanId, podIp: t.address, hostVeths: t.hostVeths, createVlanLink }, undefined, ipSession());
    },
    async checkPod(pod) {
      const result = await checkPodNetwork(
        { namespace: pod.podNamespace, podName: pod.podName, ifName: pod.ifName, vethPrefix: pod.vethPrefix, podIp: pod.address, routeTable: pod.routeTable, mtu: pod.mtu },
        { podNetns: pod.netns },
      );
      return result.problems;
    },
    async close() {
      await session?.close();
      session = undefined;
    },
  };
}
