/**
 * What `podnet explain` reasons over, whichever source it came from (a running lab, a scenario file explained
 * offline, or a real account read through the SDK): the VPC model, the Kubernetes nodes with the configuration
 * their ipamd runs, and the named endpoints. The explain engine reads only this; the readers that build it live
 * with their sources (lab, ec2's describe calls, the CLI's wiring).
 */
import type { PodnetConfig } from '../config/index.js';
import type { EksCluster, NetworkInterface, VpcModel } from '../vpc/index.js';

/** An ENI as a node sees it: the model's ENI plus where it is attached. */
export interface AttachedEni extends NetworkInterface {
  instanceId: string | null;
  /** EC2's device index: 0 is the primary ENI (Linux table main); n > 0 routes through table n + 1 */
  deviceIndex: number | null;
  /**
   * A branch ENI (security groups for pods) associated with a trunk ENI: EC2 delivers its frames to the trunk's
   * instance tagged with `vlanId`, and that node sees it as the link `vlan.eth.<vlanId>`; it has no instance of its own
   */
  trunk?: { trunkEniId: string; vlanId: number };
  /**
   * EC2's InterfaceType (`interface`, `trunk`, `branch`, …, as DescribeNetworkInterfaces reports it); absent where
   * the reader did not know it. A `trunk` is what ipamd sets up without a prio-32765 rule, branch or none.
   */
  interfaceType?: string;
}

/** The node settings the node half of explain evaluates: a node's ipamd configuration (spec §1). */
export type NodeSettings = Pick<
  PodnetConfig,
  'externalSnat' | 'excludeSnatCidrs' | 'randomizeSnat' | 'nodePortSupport' | 'connmark' | 'externalServiceCidrs' | 'vethPrefix' | 'enableIPv6' | 'pre18Routing'
  /** DISABLE_TCP_EARLY_DEMUX, which aws-node's init container reads (net.ipv4.tcp_early_demux=0 when true, spec §5.2) */
  | 'disableTcpEarlyDemux'
> & {
  /** ENABLE_POD_ENI: the node wires branch pods (security groups for pods); with strict mode it moves the local rule to 20 */
  podEni: boolean;
  /** POD_SECURITY_GROUP_ENFORCING_MODE, how its branch pods are wired (spec §3.9) */
  podSgEnforcingMode: 'strict' | 'standard';
};

/** The node settings out of a node's ipamd configuration, however it was read (env, env file, DaemonSet manifest). */
export function nodeSettingsOf(c: PodnetConfig): NodeSettings {
  return {
    externalSnat: c.externalSnat,
    excludeSnatCidrs: c.excludeSnatCidrs,
    randomizeSnat: c.randomizeSnat,
    nodePortSupport: c.nodePortSupport,
    connmark: c.connmark,
    externalServiceCidrs: c.externalServiceCidrs,
    vethPrefix: c.vethPrefix,
    enableIPv6: c.enableIPv6,
    pre18Routing: c.pre18Routing,
    disableTcpEarlyDemux: c.disableTcpEarlyDemux,
    podEni: c.enablePodEni,
    podSgEnforcingMode: c.podSecurityGroupEnforcingMode,
  };
}

/** A Kubernetes node: an instance running podnet's (or aws-node's) ipamd with these settings. */
export interface NodeView {
  name: string;
  instanceId: string;
  settings: NodeSettings;
  /**
   * `iptables` when the node's iptables is the legacy one, else `nftables` (upstream's choice, spec §9 item 5); the
   * lab's nodes use nftables
   */
  connmarkBackend: 'iptables' | 'nftables';
  /** the primary ENI's Linux link (the rules name it; `eth0` where unknown) */
  primaryInterface: string;
  /** whether the node's iptables has `--random-fully` (1.6.2 and later; true where unknown) */
  randomFullySupported: boolean;
}

export type EndpointKind = 'pod' | 'node' | 'host' | 'internet' | 'on-premises' | 'cluster-endpoint';

/**
 * Something that sends and answers: a pod, a node, a plain instance, an internet or on-premises host, or an EKS
 * cluster's endpoint (a destination only: the address a sender reaches it at is what VPC DNS answers that sender).
 */
export interface Endpoint {
  name: string;
  kind: EndpointKind;
  /**
   * the address it sends from and listens on (a hostNetwork pod: its node's primary IP); a cluster endpoint: its
   * public address, else its first private one (explain replaces it by the address the sender's DNS answer gives)
   */
  address: string;
  /** a cluster endpoint's cluster, by name (model.eksClusters) */
  cluster?: string;
  /** a pod's node, by name */
  node?: string;
  hostNetwork?: boolean;
  /** the address came from podnet's deterministic simulation of the scenario, not from a running node */
  simulated?: boolean;
}

export interface World {
  /** where the facts came from, for the text: a running lab, a scenario explained offline, an AWS account */
  source: 'lab' | 'scenario' | 'aws';
  /** the VPC model with the attached ENIs; `eksClusters` holds the EKS clusters whose endpoints are `cluster-endpoint` endpoints */
  model: VpcModel & { enis: AttachedEni[] };
  nodes: NodeView[];
  endpoints: Endpoint[];
  /** instance id → name (nodes and plain instances), for the sentences */
  instanceNames: Record<string, string>;
  /** what the reader could not read and what answers miss for it, as sentences every explanation repeats */
  warnings?: string[];
}

/** The World's name for a cluster's endpoint: `cluster-endpoint` for a world's only cluster, `cluster-endpoint-<name>` for each of several. */
export function clusterEndpointName(clusters: readonly Pick<EksCluster, 'name'>[], cluster: Pick<EksCluster, 'name'>): string {
  return clusters.length === 1 ? 'cluster-endpoint' : `cluster-endpoint-${cluster.name}`;
}

/** The endpoints of a model's EKS clusters (their endpoint as a destination), for the readers that build a World. */
export function clusterEndpoints(clusters: readonly EksCluster[]): Endpoint[] {
  return clusters.flatMap((c): Endpoint[] => {
    const address = c.publicAddress ?? c.enis[0]?.privateIp;
    return address ? [{ name: clusterEndpointName(clusters, c), kind: 'cluster-endpoint', address, cluster: c.name }] : [];
  });
}
