/**
 * Fargate in the lab, as decisions: which pods a cluster's Fargate profiles take (the default scheduler leaves them
 * alone, as EKS's admission webhook hands them to its fargate-scheduler), the Fargate "node" each gets (its own
 * namespace, its own ENI in one of the profile's subnets, one pod), when it is bound there, and when a node goes.
 * Pure: the effects are in fargate-nodes.ts (control plane side) and kubelet-fargate.ts (the node's kubelet).
 */
import { createHash } from 'node:crypto';
import { FARGATE_PROFILE_LABEL, fargateProfileFor, privateDnsName, type EksCluster, type EksFargateProfile } from '../vpc/index.js';
import type { KubeNode, KubePod } from './control-plane-types.js';
import { FARGATE_ENI_DESCRIPTION_PREFIX } from './eks-endpoint.js';
import { ns } from './plan.js';
import { COMPUTE_TYPE_LABEL, isNodeReady, isTerminal } from './scheduler-fit.js';

/** The scheduler EKS's Fargate admission webhook names in a matching pod (the lab's control plane plays it). */
export const FARGATE_SCHEDULER = 'fargate-scheduler';
/** The node label EKS puts on Fargate nodes (aws-node's affinity excludes it) and the pod label naming the profile. */
export { COMPUTE_TYPE_LABEL, FARGATE_PROFILE_LABEL };
/** EKS taints a Fargate node so no other pod lands there. */
export const FARGATE_TAINT = { key: COMPUTE_TYPE_LABEL, value: 'fargate', effect: 'NoSchedule' } as const;
/** On the Fargate Node: the uid of the one pod it runs (the control plane binds that pod, and only it, there). */
export const FARGATE_POD_ANNOTATION = 'podnet.io/fargate-pod';
/** The description of a Fargate node's ENI: the fabric wires an ENI described so into that namespace as eth0. */
export const fargateEniDescription = (netns: string) => `${FARGATE_ENI_DESCRIPTION_PREFIX}${netns}`;

/** A Fargate node's id: 10 hex of a hash of its pod's uid (a restarted control plane finds the same node). */
export function fargateNodeId(podUid: string): string {
  return createHash('sha256').update(podUid).digest('hex').slice(0, 10);
}

/** EKS names a Fargate node after its ENI's address: `fargate-ip-10-0-16-4.us-west-2.compute.internal`. */
export function fargateNodeName(ip: string, region: string): string {
  return `fargate-${privateDnsName(ip, region)}`;
}

/** What the lab keeps of a Fargate node (state dir fargate/<id>.json): the control plane writes it, its kubelet reads it. */
export interface FargateRecord {
  id: string;
  ns: string;
  podUid: string;
  pod: { namespace: string; name: string };
  cluster: string;
  profile: string;
  subnetId: string;
  /** set once CreateNetworkInterface answered */
  eniId?: string;
  ip?: string;
  zone?: string;
  /** the Node's name (from the ENI's address) */
  nodeName?: string;
}

/**
 * A cluster whose control plane takes pods: ACTIVE, or UPDATING — an update (endpoint access, logging, version) keeps
 * EKS's API server, and with it the Fargate webhook and fargate-scheduler, serving. A CREATING cluster has no control
 * plane yet; a DELETING one is going.
 */
const servesPods = (cluster: EksCluster) => cluster.status === 'ACTIVE' || cluster.status === 'UPDATING';

/** The profile (of a cluster that serves pods, itself ACTIVE) that takes this pod, as EKS's webhook decides; undefined: none. */
export function fargateMatch(clusters: readonly EksCluster[], pod: KubePod): { cluster: EksCluster; profile: EksFargateProfile } | undefined {
  const who = { namespace: pod.metadata.namespace ?? 'default', labels: pod.metadata.labels ?? {} };
  for (const cluster of clusters) {
    if (!servesPods(cluster)) continue;
    const profile = fargateProfileFor(cluster.fargateProfiles.filter((p) => p.status === 'ACTIVE'), who);
    if (profile) return { cluster, profile };
  }
  return undefined;
}

/**
 * The profile a pod was given to Fargate with (its `eks.amazonaws.com/fargate-profile` label: the mark), or
 * undefined. On EKS the choice is made once, at creation (the webhook sets schedulerName fargate-scheduler); the lab
 * marks the pod at first sight and follows the mark only from then on, so a profile created or deleted later never
 * moves a pod between the two schedulers.
 */
export const fargateMark = (pod: KubePod): string | undefined => pod.metadata.labels?.[FARGATE_PROFILE_LABEL];

/** Not bound, not going, not finished: a pod some scheduler still has to place. */
const awaitsPlacement = (pod: KubePod) => !pod.spec.nodeName && !pod.metadata.deletionTimestamp && !isTerminal(pod);

/**
 * The webhook's decision at a pod's first sight: the profile to mark it with (a profile of a cluster serving pods takes
 * it), or undefined (already marked, placed already, another scheduler's, or no profile takes it: the default
 * scheduler's for good).
 */
export function fargateFirstSight(clusters: readonly EksCluster[], pod: KubePod): string | undefined {
  if (fargateMark(pod) !== undefined || !awaitsPlacement(pod)) return undefined;
  const scheduler = pod.spec.schedulerName;
  if (scheduler !== undefined && scheduler !== 'default-scheduler' && scheduler !== FARGATE_SCHEDULER) return undefined;
  return fargateMatch(clusters, pod)?.profile.name;
}

/** A marked pod waiting for its Fargate node (the default scheduler never takes it, whatever the profiles say now). */
export function isFargatePending(pod: KubePod): boolean {
  return fargateMark(pod) !== undefined && awaitsPlacement(pod);
}

/** The ACTIVE profile of that name in a cluster that serves pods (profile names are unique in a cluster; one cluster per lab). */
function activeProfile(clusters: readonly EksCluster[], name: string): { cluster: EksCluster; profile: EksFargateProfile } | undefined {
  for (const cluster of clusters) {
    if (!servesPods(cluster)) continue;
    const profile = cluster.fargateProfiles.find((p) => p.name === name && p.status === 'ACTIVE');
    if (profile) return { cluster, profile };
  }
  return undefined;
}

/** One of the profile's subnets for the pod (EKS spreads them; the lab by a hash of the uid, so a retry picks the same). */
export function fargateSubnet(profile: EksFargateProfile, podUid: string): string | undefined {
  const subnets = [...profile.subnetIds].sort();
  if (subnets.length === 0) return undefined;
  return subnets[parseInt(createHash('sha256').update(podUid).digest('hex').slice(0, 8), 16) % subnets.length];
}

export type FargateAction =
  | { kind: 'start'; record: FargateRecord; securityGroupId: string }
  | { kind: 'bind'; pod: KubePod; node: string; profile: string }
  /** the node should be running (its pod is alive): the effects restart its kubelet if it is not */
  | { kind: 'ensure'; record: FargateRecord }
  | { kind: 'stop'; record: FargateRecord; why: string }
  /** a marked pod whose profile is gone: it stays Pending (as on EKS), said once with an Event */
  | { kind: 'wait'; pod: KubePod; why: string };

/**
 * What the control plane does for Fargate, following the pods' marks only: a node started for each marked pending
 * pod (none yet), the pod bound to its node once that node is Ready, the node kept running while its pod lives, and
 * stopped when its pod is gone, finished or going, or its profile is (the pod then stays Pending).
 */
export function decideFargate(pods: readonly KubePod[], nodes: readonly KubeNode[], clusters: readonly EksCluster[], records: readonly FargateRecord[]): FargateAction[] {
  const actions: FargateAction[] = [];
  const byUid = new Map(pods.filter((p) => p.metadata.uid).map((p) => [p.metadata.uid!, p]));
  const recorded = new Set(records.map((r) => r.podUid));
  for (const pod of pods) {
    const uid = pod.metadata.uid;
    if (!uid || !isFargatePending(pod)) continue;
    const name = fargateMark(pod)!;
    const match = activeProfile(clusters, name);
    if (!match) {
      actions.push({ kind: 'wait', pod, why: `Fargate profile ${name} is not an ACTIVE profile of an ACTIVE (or UPDATING) cluster: the pod stays Pending (it was given to Fargate when created)` });
      continue;
    }
    if (!recorded.has(uid)) {
      const subnetId = fargateSubnet(match.profile, uid);
      if (!subnetId) continue;
      const id = fargateNodeId(uid);
      const record: FargateRecord = { id, ns: ns.fargate(id), podUid: uid, pod: { namespace: pod.metadata.namespace ?? 'default', name: pod.metadata.name }, cluster: match.cluster.name, profile: match.profile.name, subnetId };
      actions.push({ kind: 'start', record, securityGroupId: match.cluster.clusterSecurityGroupId });
      continue;
    }
    const node = nodes.find((n) => n.metadata.annotations?.[FARGATE_POD_ANNOTATION] === uid && isNodeReady(n));
    if (node) actions.push({ kind: 'bind', pod, node: node.metadata.name, profile: match.profile.name });
  }
  for (const record of records) {
    const pod = byUid.get(record.podUid);
    const why = !pod ? 'its pod is gone' : pod.metadata.deletionTimestamp ? 'its pod is being deleted' : isTerminal(pod) ? `its pod has ${pod.status?.phase}` : null;
    // a pod still pending whose profile went away: EKS leaves it pending; the lab stops the node it started for it
    const orphaned = pod && !pod.spec.nodeName && !activeProfile(clusters, fargateMark(pod) ?? record.profile) ? 'no ACTIVE Fargate profile takes its pod any more' : null;
    const reason = why ?? orphaned;
    actions.push(reason ? { kind: 'stop', record, why: reason } : { kind: 'ensure', record });
  }
  return actions;
}

/** What the Fargate kubelet registers: EKS's labels and taint, one pod, the ENI's address. */
export interface FargateNodeFacts {
  nodeName: string;
  ip: string;
  zone: string;
  region: string;
  podUid: string;
  eniId: string;
  profile: string;
  kubeletVersion: string;
  kernelVersion: string;
}

export function fargateNodeObject(f: FargateNodeFacts) {
  const resources = { cpu: '2', memory: '4Gi', 'ephemeral-storage': '20Gi', pods: '1' };
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: f.nodeName,
      labels: {
        'kubernetes.io/hostname': f.nodeName,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': f.zone,
        'topology.kubernetes.io/region': f.region,
        'failure-domain.beta.kubernetes.io/zone': f.zone,
        'failure-domain.beta.kubernetes.io/region': f.region,
        [COMPUTE_TYPE_LABEL]: 'fargate',
        [FARGATE_PROFILE_LABEL]: f.profile,
      },
      annotations: { [FARGATE_POD_ANNOTATION]: f.podUid, 'podnet.io/eni': f.eniId, 'node.alpha.kubernetes.io/ttl': '0' },
    },
    spec: { providerID: `aws:///${f.zone}/${f.eniId}`, taints: [{ ...FARGATE_TAINT }] },
    status: {
      capacity: resources,
      allocatable: resources,
      addresses: [
        { type: 'InternalIP', address: f.ip },
        { type: 'InternalDNS', address: f.nodeName.replace(/^fargate-/, '') },
        { type: 'Hostname', address: f.nodeName.replace(/^fargate-/, '') },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
      nodeInfo: {
        machineID: f.eniId,
        systemUUID: f.eniId,
        bootID: f.eniId,
        kernelVersion: f.kernelVersion,
        osImage: 'podnet lab Fargate node',
        containerRuntimeVersion: 'podnet-lab://fargate',
        kubeletVersion: `${f.kubeletVersion}-eks-fargate`,
        kubeProxyVersion: '',
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    },
  };
}
