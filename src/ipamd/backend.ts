/**
 * The CNI backend ipamd hosts (src/cni's CniBackend): addresses from the node's datastore (AddNetwork /
 * DelNetwork, spec §6.2) and pod wiring through the node's dataplane. ADD never calls EC2: the pool loop grows the
 * pool, and a pod that finds none is told which cause applies.
 */
import type { Allocation, AttachmentKey, BackendStatus, BranchAllocation, CniBackend, HeldAttachment, PodIdentity, PodTeardown, PodWiring } from '../cni/index.js';
import { PodnetError } from '../lib/index.js';
import type { IpamdKube } from './kube.js';
import type { IpamdNode } from './node.js';
import type { PodAddress } from './pod-addresses.js';
import type { NodeDataplane, PodPlumbing } from './node-dataplane.js';
import { BranchPods, branchOfPod, type BranchPodRecord } from './pod-eni.js';

function allocationOf(p: PodAddress): Allocation {
  return {
    address: p.assignment.address,
    eniId: p.assignment.eniId,
    deviceNumber: p.assignment.deviceNumber,
    routeTable: p.routeTable,
    vpcCidrs: p.vpcCidrs,
    useExternalSnat: p.useExternalSnat,
  };
}

/** The Kubernetes side, when there is one: why ipamd is not ready yet or degraded, and ANNOTATE_POD_IP. */
export interface BackendKube {
  kube: IpamdKube;
  annotatePodIp: boolean;
}

/** A branch pod's allocation as AddNetworkReply has it: the branch's address, DeviceNumber -1, RouteTableId 0 (§5.2). */
function branchAllocationOf(branch: BranchAllocation, node: IpamdNode): Allocation {
  return { address: branch.address, eniId: branch.eniId, deviceNumber: -1, routeTable: 0, vpcCidrs: [], useExternalSnat: node.config.externalSnat, branch };
}

export function createIpamdBackend(node: IpamdNode, dataplane: NodeDataplane, k8s?: BackendKube): CniBackend {
  const waitingFor = () => (node.ready ? undefined : k8s?.kube.waitingFor());
  // ENABLE_POD_ENI: the branch pods wired, kept beside the checkpoint so DEL works without the pod or its annotation
  const branches = node.config.enablePodEni ? new BranchPods(node.config.backingStore) : undefined;
  /** The pod's branch ENI when ENABLE_POD_ENI is on and the controller annotated it (upstream AddNetwork, §5.2). */
  const branchOf = async (pod: PodIdentity): Promise<BranchAllocation | undefined> => {
    if (!branches || !k8s || !pod.podNamespace || !pod.podName) return undefined;
    return branchOfPod(await k8s.kube.readPod(pod.podNamespace, pod.podName), `${pod.podNamespace}/${pod.podName}`);
  };
  const recordAllocation = (r: BranchPodRecord): Allocation => branchAllocationOf(r.branch, node);
  // the handler passes the names it hashed the host veth name from, so the dataplane names it the same (spec §3.5)
  const plumbing = (pod: PodWiring): PodPlumbing => ({
    ...pod.vethOwner,
    netns: pod.netns,
    ifName: pod.ifName,
    address: pod.address,
    routeTable: pod.routeTable,
    mtu: pod.mtu,
    addressHeldBefore: pod.addressHeldBefore,
  });

  return {
    async allocate(key: AttachmentKey, pod) {
      const metadata = { ...(pod.podNamespace && { k8sPodNamespace: pod.podNamespace }), ...(pod.podName && { k8sPodName: pod.podName }), interfacesCount: 1 };
      const waiting = waitingFor();
      if (waiting) throw new PodnetError('IPAMD_NOT_READY', `ipamd is ${waiting}`, 'the kubelet retries the pod; ipamd keeps trying the API server (its log says why it fails)');
      const branch = await branchOf(pod);
      if (branch && branches) {
        // no pool address: the pod's address is its branch ENI's, reached over the trunk (upstream needs the trunk too)
        if (!(await node.trunkEni())) {
          throw new PodnetError('IPAMD_NOT_READY', `pod ${pod.podNamespace}/${pod.podName} has branch ENI ${branch.eniId} (VLAN ${branch.vlanId}) but ipamd has found no trunk ENI on this node yet`, 'the VPC resource controller attaches the trunk once the CNINode advertises SecurityGroupsForPods; ipamd finds it at its next reconcile, and the kubelet retries');
        }
        // the annotation names the branch; one already wired for another container is not taken over (a second pod's
        // rules on its VLAN would carry the first one's traffic): 110, and the first pod keeps it
        const conflict = branches.conflict(key, branch);
        if (conflict) {
          throw new PodnetError('DATAPLANE_APPLY_FAILED', `pod ${pod.podNamespace}/${pod.podName} cannot be wired through branch ENI ${branch.eniId} (VLAN ${branch.vlanId}, ${branch.address}): ${conflict}`, 'the VPC resource controller gives each pod its own branch; delete the pod so it gets one, and check what wrote its vpc.amazonaws.com/pod-eni annotation');
        }
        const heldBefore = branches.get(key) !== undefined;
        branches.put(key, pod, branch);
        return { ...branchAllocationOf(branch, node), heldBefore };
      }
      const { address, saved, heldBefore } = node.assignNow(key, metadata);
      // not awaited: the pod's network does not wait for the API server, and a failure is only logged (as upstream)
      if (k8s?.annotatePodIp && pod.podNamespace && pod.podName) void k8s.kube.annotatePod(pod.podNamespace, pod.podName, address.assignment.address);
      return { ...allocationOf(address), saved, heldBefore };
    },
    async lookup(key) {
      const b = branches?.get(key);
      if (b) return recordAllocation(b);
      const p = node.lookup(key);
      return p ? allocationOf(p) : null;
    },
    async release(key) {
      const b = branches?.remove(key);
      if (b) return recordAllocation(b);
      const p = await node.release(key);
      const { k8sPodNamespace: namespace, k8sPodName: name } = p?.assignment.metadata ?? {};
      if (p && k8s?.annotatePodIp && namespace && name) void k8s.kube.clearPodAnnotation(namespace, name, p.assignment.address);
      return p ? allocationOf(p) : null;
    },
    async attachments(networkName): Promise<HeldAttachment[]> {
      node.requireReady();
      const branchPods = (branches?.all() ?? [])
        .filter((r) => r.key.networkName === networkName)
        .map((r) => ({ key: r.key, pod: { podNamespace: r.podNamespace, podName: r.podName, podUid: r.podUid, infraContainerId: '', netns: '' }, allocation: recordAllocation(r) }));
      return [...branchPods, ...node.datastore
        .assignments()
        .filter((a) => a.key.networkName === networkName)
        .map((a) => {
          const p = node.lookup(a.key)!;
          return {
            key: { networkName: a.key.networkName, containerId: a.key.containerId, ifName: a.key.ifName },
            pod: { podNamespace: a.metadata.k8sPodNamespace ?? '', podName: a.metadata.k8sPodName ?? '', podUid: '', infraContainerId: '', netns: '' },
            allocation: allocationOf(p),
          };
        })];
    },
    async wire(pod) {
      if (pod.branch) {
        await dataplane.wireBranchPod({ ...plumbing(pod), branch: pod.branch, trunkMac: (await node.trunkEni())?.mac });
        return;
      }
      await dataplane.wirePod(plumbing(pod));
    },
    async unwire(pod: PodTeardown) {
      if (pod.branch) {
        // from prevResult (no record for this container): while another container's record holds that VLAN or address,
        // its table, rules and VLAN link are that pod's; only this pod's own veths (tied by their peer) go
        const holder = pod.branch.fromPrevResult ? branches?.all().find((r) => r.branch.vlanId === pod.branch!.vlanId || r.branch.address === pod.branch!.address) : undefined;
        if (holder) {
          for (const hostVeth of pod.branch.hostVeths) await dataplane.unwirePod({ hostVeth, recordsKnown: true, ...(pod.netns && { podNetns: pod.netns }) });
          return;
        }
        await dataplane.unwireBranchPod(pod.branch);
        return;
      }
      // ipamd answered the lookup, so it has the records: only the container's own address goes
      await dataplane.unwirePod({ hostVeth: pod.hostVethName, recordsKnown: true, ...(pod.netns && { podNetns: pod.netns }), ...(pod.held && { ownedIp: pod.held.address }) });
    },
    async checkWiring(pod) {
      // a branch pod's CHECK is ipamd's record only (the handler compared it with prevResult); its links are not read
      if (pod.branch) return [];
      return dataplane.checkPod(plumbing(pod));
    },
    checkNetns: (netns) => dataplane.checkPodNetns(netns),
    async status(): Promise<BackendStatus> {
      if (node.ready) {
        const degraded = k8s?.kube.degraded();
        return { ready: true, ...(degraded && { degraded }) };
      }
      const waiting = waitingFor();
      return { ready: false, reason: waiting ? `ipamd is ${waiting}` : 'ipamd is still initialising the node (IMDS, EC2, checkpoint)' };
    },
  };
}
