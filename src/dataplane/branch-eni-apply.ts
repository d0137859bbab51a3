import { ExecError, run, type Netns } from '../lib/index.js';
import { vlanLinkName, branchNodeLines, branchPodLines, branchTeardownLines, branchVlanLinkLines, renderBranchEniPod, type BranchEniPodInput, type BranchEniTeardownInput } from './branch-eni.js';
import type { IpSession } from './ip-session.js';
import { checkPodNetns } from './netns.js';
import { runNodeBatch, runPodBatch, teardownPod, writeSysctls, type PodNamespaces, type WiredPod } from './pod.js';

/**
 * Wires a branch-ENI pod (spec §3.9) with the lines branch-eni.ts renders: the VLAN link (made only when
 * `createVlanLink`), its sysctls, table rt and the mode's veth, rules and route, the host veth's sysctls, then the pod
 * side. A failure removes what this call made (not a fabric-supplied VLAN link), so nothing is left half-wired; on a
 * repeated ADD (`addressHeldBefore`) the table, rules and VLAN link are the earlier ADD's and stay, and only the veth
 * this call made (re-made) goes.
 */
export async function applyBranchEniPod(input: BranchEniPodInput, ns: PodNamespaces, session?: IpSession): Promise<WiredPod> {
  checkPodNetns(ns.podNetns);
  const b = renderBranchEniPod(input);
  const viaSession = session !== undefined && !ns.nodeNetns;
  let processes = 0;
  let vethMade = false;
  try {
    await runNodeBatch(ns.nodeNetns, session, branchVlanLinkLines(b));
    await writeSysctls(b.vlanSysctls, ns.nodeNetns);
    vethMade = true;
    await runNodeBatch(ns.nodeNetns, session, branchNodeLines(b, ns.podNetns));
    if (!viaSession) processes += 2;
    await writeSysctls(b.pod.hostSysctls, ns.nodeNetns);
    processes += ns.nodeNetns ? 2 : 0;
    await runPodBatch(ns.podNetns, session, branchPodLines(b));
    processes++;
  } catch (err) {
    if (!input.addressHeldBefore) {
      await teardownBranchEniPod({ vlanId: input.vlanId, podIp: input.podIp, hostVeths: [b.pod.hostVeth], createVlanLink: input.createVlanLink }, ns.nodeNetns, session).catch(() => {});
    } else if (vethMade) {
      // the veth this call re-made (tied by its peer in the pod's namespace); no address, table or rule of the earlier ADD
      await teardownPod({ hostVeth: b.pod.hostVeth, podNetns: ns.podNetns, recordsKnown: true }, ns.nodeNetns, session).catch(() => {});
    }
    throw err;
  }
  return { hostVeth: b.pod.hostVeth, hostVethMac: b.pod.hostVethMac, ifName: b.pod.ifName, address: b.pod.address, processes };
}

/** DEL of a branch pod: the lines of {@link branchTeardownLines}, in one batch; returns them. */
export async function teardownBranchEniPod(t: BranchEniTeardownInput, nodeNetns?: Netns, session?: IpSession): Promise<string[]> {
  const lines = branchTeardownLines(t);
  try {
    await runNodeBatch(nodeNetns, session, lines, 4);
  } catch (err) {
    if (!(err instanceof ExecError && err.notFound === 'netns')) throw err;
  }
  return lines.map((l) => l.cmd);
}

/**
 * Whether `vlan.eth.<id>` is a VLAN link (kind vlan), i.e. one podnet made on a real node, rather than a link the lab's
 * fabric supplies under that name: DEL without ipamd's settings deletes the link only then.
 */
export async function isMadeVlanLink(vlanId: number, nodeNetns?: Netns): Promise<boolean> {
  try {
    const { stdout } = await run(['ip', '-d', '-j', 'link', 'show', 'dev', vlanLinkName(vlanId)], { netns: nodeNetns });
    const [link] = JSON.parse(stdout) as { linkinfo?: { info_kind?: string } }[];
    return link?.linkinfo?.info_kind === 'vlan';
  } catch (err) {
    if (err instanceof ExecError && err.notFound === 'link') return false;
    throw err;
  }
}
