/**
 * The CNI backend ipamd hosts (src/cni's CniBackend): addresses from the node's datastore (AddNetwork /
 * DelNetwork, spec §6.2) and pod wiring through the node's dataplane. ADD never calls EC2: the pool loop grows the
 * pool, and a pod that finds none is told which cause applies.
 */
import type { Allocation, AttachmentKey, BackendStatus, CniBackend, HeldAttachment, PodTeardown, PodWiring } from '../cni/index.js';
import { PodnetError } from '../lib/index.js';
import type { IpamdKube } from './kube.js';
import type { IpamdNode } from './node.js';
import type { PodAddress } from './pod-addresses.js';
import type { NodeDataplane, PodPlumbing } from './node-dataplane.js';

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

export function createIpamdBackend(node: IpamdNode, dataplane: NodeDataplane, k8s?: BackendKube): CniBackend {
  const waitingFor = () => (node.ready ? undefined : k8s?.kube.waitingFor());
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
      const { address, saved, heldBefore } = node.assignNow(key, metadata);
      // not awaited: the pod's network does not wait for the API server, and a failure is only logged (as upstream)
      if (k8s?.annotatePodIp && pod.podNamespace && pod.podName) void k8s.kube.annotatePod(pod.podNamespace, pod.podName, address.assignment.address);
      return { ...allocationOf(address), saved, heldBefore };
    },
    async lookup(key) {
      const p = node.lookup(key);
      return p ? allocationOf(p) : null;
    },
    async release(key) {
      const p = await node.release(key);
      const { k8sPodNamespace: namespace, k8sPodName: name } = p?.assignment.metadata ?? {};
      if (p && k8s?.annotatePodIp && namespace && name) void k8s.kube.clearPodAnnotation(namespace, name, p.assignment.address);
      return p ? allocationOf(p) : null;
    },
    async attachments(networkName): Promise<HeldAttachment[]> {
      node.requireReady();
      return node.datastore
        .assignments()
        .filter((a) => a.key.networkName === networkName)
        .map((a) => {
          const p = node.lookup(a.key)!;
          return {
            key: { networkName: a.key.networkName, containerId: a.key.containerId, ifName: a.key.ifName },
            pod: { podNamespace: a.metadata.k8sPodNamespace ?? '', podName: a.metadata.k8sPodName ?? '', podUid: '', infraContainerId: '', netns: '' },
            allocation: allocationOf(p),
          };
        });
    },
    async wire(pod) {
      await dataplane.wirePod(plumbing(pod));
    },
    async unwire(pod: PodTeardown) {
      // ipamd answered the lookup, so it has the records: only the container's own address goes
      await dataplane.unwirePod({ hostVeth: pod.hostVethName, recordsKnown: true, ...(pod.netns && { podNetns: pod.netns }), ...(pod.held && { ownedIp: pod.held.address }) });
    },
    async checkWiring(pod) {
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
