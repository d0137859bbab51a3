/**
 * The lab kubelet's Node, as data: the object it registers (labels, addresses, capacity from podnet's max pods for
 * the node's mode), its Ready condition from what the node shows (the CNI conflist and ipamd's readiness), and its
 * Lease in kube-node-lease. Pure: the facts come in as arguments.
 */
import { parseAtoi, parseGoBool } from '../config/index.js';
import { maxPods, trunkLimits, vcpuCount } from '../limits/index.js';

/** What the kubelet knows of its node when it registers it. */
export interface NodeFacts {
  /** the EC2 private DNS name (`ip-10-0-16-4.us-west-2.compute.internal`) */
  nodeName: string;
  instanceId: string;
  instanceType: string;
  zone: string;
  region: string;
  /** the scenario's name (its file name without the extension) */
  scenario: string;
  /** the scenario's labels for this node */
  labels: Record<string, string>;
  /** the primary ENI's primary address */
  internalIp: string;
  /** the node's ipamd settings: they choose the mode that max pods depends on */
  env: Record<string, string>;
  kernelVersion: string;
  /** `containerd://…` under --runtime containerd, `podnet-lab://…` when the kubelet calls the CNI itself */
  containerRuntimeVersion: string;
  podnetVersion: string;
}

/** The Kubernetes version the lab's kubelet reports (the API server's; kubectl compares them). */
export const KUBELET_VERSION = 'v1.33.0';

/** The resource name security groups for pods are scheduled by (upstream's VPC resource controller advertises it). */
export const POD_ENI_RESOURCE = 'vpc.amazonaws.com/pod-eni';

const isOn = (v: string | undefined) => v !== undefined && parseGoBool(v) === true;

/** Max pods and the branch-ENI resource for the node's mode (prefix delegation, custom networking, SGP, MAX_ENI). */
export function nodeCapacity(instanceType: string, env: Record<string, string>): { pods: number; podEni: number | null; cpus: number } {
  const maxEni = env.MAX_ENI !== undefined ? parseAtoi(env.MAX_ENI) : undefined;
  const securityGroupsForPods = isOn(env.ENABLE_POD_ENI);
  const breakdown = maxPods(instanceType, {
    prefixDelegation: isOn(env.ENABLE_PREFIX_DELEGATION),
    customNetworking: isOn(env.AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG),
    securityGroupsForPods,
    ...(maxEni !== undefined && { maxEni }),
  });
  // the VPC resource controller advertises branch ENIs only on a type its table lists as trunking compatible
  const branches = securityGroupsForPods ? trunkLimits(instanceType).branchInterfaces : null;
  return { pods: breakdown.maxPods, podEni: branches && branches > 0 ? branches : null, cpus: vcpuCount(instanceType) ?? 2 };
}

/** The labels a kubelet on EKS sets (well-known labels), then the scenario's, then the lab's scenario label. */
export function nodeLabels(f: Pick<NodeFacts, 'nodeName' | 'instanceType' | 'zone' | 'region' | 'scenario' | 'labels'>): Record<string, string> {
  return {
    'kubernetes.io/hostname': f.nodeName,
    'kubernetes.io/os': 'linux',
    'kubernetes.io/arch': 'amd64',
    'beta.kubernetes.io/os': 'linux',
    'beta.kubernetes.io/arch': 'amd64',
    'node.kubernetes.io/instance-type': f.instanceType,
    'beta.kubernetes.io/instance-type': f.instanceType,
    'topology.kubernetes.io/zone': f.zone,
    'topology.kubernetes.io/region': f.region,
    'failure-domain.beta.kubernetes.io/zone': f.zone,
    'failure-domain.beta.kubernetes.io/region': f.region,
    ...f.labels,
    'podnet.io/scenario': f.scenario,
  };
}

/**
 * The Node the kubelet registers: no conditions yet (they come with the first status update, which has the times
 * the typed client would otherwise have to carry as Dates). Capacity equals allocatable: the lab reserves nothing.
 */
export function nodeObject(f: NodeFacts) {
  const cap = nodeCapacity(f.instanceType, f.env);
  const resources: Record<string, string> = {
    cpu: String(cap.cpus),
    memory: `${cap.cpus * 4}Gi`,
    'ephemeral-storage': '20Gi',
    pods: String(cap.pods),
    ...(cap.podEni !== null && { [POD_ENI_RESOURCE]: String(cap.podEni) }),
  };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: f.nodeName, labels: nodeLabels(f), annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'podnet.io/instance': f.instanceId } },
    spec: { providerID: `aws:///${f.zone}/${f.instanceId}` },
    status: {
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: 'InternalIP', address: f.internalIp },
        { type: 'InternalDNS', address: f.nodeName },
        { type: 'Hostname', address: f.nodeName },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: f.instanceId,
        systemUUID: f.instanceId,
        bootID: f.instanceId,
        kernelVersion: f.kernelVersion,
        osImage: `podnet lab node (podnet ${f.podnetVersion})`,
        containerRuntimeVersion: f.containerRuntimeVersion,
        kubeletVersion: KUBELET_VERSION,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}

/** What the kubelet saw on the node: the CNI config and ipamd's readiness (GET /ready on its CNI socket). */
export interface NetworkProbe {
  conflist: boolean;
  confDir: string;
  /** null: the socket answered 200; else why not (503's body, connection refused, no socket) */
  ipamdNotReady: string | null;
}

/** Whether the node's network is ready and why not, in the words the kubelet uses for NetworkReady=false. */
export function networkReadiness(p: NetworkProbe): { ready: true } | { ready: false; message: string } {
  // upstream ipamd's init container writes the conflist only once ipamd is up, so a missing conflist is the
  // "cni plugin not initialized" a node shows before aws-node runs
  if (!p.conflist) return { ready: false, message: `container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized (no CNI configuration in ${p.confDir})` };
  if (p.ipamdNotReady !== null) return { ready: false, message: `container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:ipamd is not ready: ${p.ipamdNotReady}` };
  return { ready: true };
}

export interface NodeCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastHeartbeatTime: string;
  lastTransitionTime: string;
}

/**
 * The node's conditions: Ready from the network, and the pressure conditions a kubelet always posts (the lab's nodes
 * have none). A condition keeps its lastTransitionTime while its status stays the same.
 */
export function nodeConditions(readiness: ReturnType<typeof networkReadiness>, previous: readonly NodeCondition[], now: string): NodeCondition[] {
  const make = (type: string, status: 'True' | 'False', reason: string, message: string): NodeCondition => {
    const before = previous.find((c) => c.type === type);
    return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: before && before.status === status ? before.lastTransitionTime : now };
  };
  return [
    make('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
    make('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
    make('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
    readiness.ready ? make('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status') : make('Ready', 'False', 'KubeletNotReady', readiness.message),
  ];
}

/** Whether the posted conditions differ from the new ones in anything but the heartbeat time. */
export function conditionsChanged(posted: readonly NodeCondition[], next: readonly NodeCondition[]): boolean {
  const key = (cs: readonly NodeCondition[]) => JSON.stringify(cs.map((c) => [c.type, c.status, c.reason, c.message]));
  return key(posted) !== key(next);
}

export const NODE_LEASE_NAMESPACE = 'kube-node-lease';
/**
 * The lab's kubelet renews its Lease every 4 s (upstream's every 10 s: a quarter of the 40 s lease, which stays
 * upstream's), three renewals within the lab's 12 s node grace period (node-lifecycle.ts; upstream 40 s) — so a node
 * that loses the API server (an EKS endpoint change) turns Unknown, and one that gets it back is seen, in seconds.
 */
export const LEASE_RENEW_MS = 4_000;
export const LEASE_DURATION_SECONDS = 40;

/** A MicroTime, as Kubernetes writes one: six fractional digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** The node's Lease, owned by its Node so it goes with it. */
export function leaseObject(nodeName: string, nodeUid: string, nowMs: number) {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: nodeName, namespace: NODE_LEASE_NAMESPACE, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: nodeName, uid: nodeUid }] },
    spec: { holderIdentity: nodeName, leaseDurationSeconds: LEASE_DURATION_SECONDS, renewTime: microTime(nowMs) },
  };
}
