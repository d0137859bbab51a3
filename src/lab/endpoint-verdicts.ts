/**
 * Whether each lab node reaches its EKS cluster's endpoint, and if not why — explain's answer for the node's own
 * connection (kubelet, ipamd: the node's address, hostNetwork) to `cluster-endpoint` on 443/tcp, over the World of
 * the running lab. `lab status` says with it why a node is NotReady, `lab up`'s wait why a node never became Ready,
 * and the demo takes its endpoint expectations from it.
 */
import { explainFlow, type ExplainVerdict, type Explanation, type World } from '../explain/index.js';
import { ENDPOINT_PORT } from './eks-endpoint.js';
import { labWorld } from './explain-world.js';
import { requireLab } from './lab.js';
import { LabState } from './state.js';

export interface NodeEndpointVerdict {
  /** the lab's node name (the scenario's instance) */
  node: string;
  /** its Kubernetes Node name (the EC2 private DNS name), when the lab recorded it */
  nodeName: string | null;
  /** explain says the connection opens (and its replies come back) */
  reaches: boolean;
  verdict: ExplainVerdict;
  /** which endpoint the node's DNS answer names: the cluster's private addresses or its public one */
  via: 'private' | 'public' | null;
  /** the address the node connects to (the DNS answer) */
  address: string;
  /** the source the endpoint sees (the node's own address, its public IP, the NAT gateway's EIP); null when nothing arrives */
  sourceSeen: string | null;
  /** not reached: `cannot reach the cluster endpoint: <why>`, the element and rule that stop it */
  reason?: string;
  fix?: string;
  codes: string[];
}

/** The hop that stopped a flow, on its way or its reply's. */
function dropHop(e: Explanation) {
  return e.forward.find((h) => h.dropped) ?? e.return.find((h) => h.dropped);
}

/** Why a node does not reach the endpoint, as `lab status` prints it after the node's readiness. */
function why(e: Explanation): string {
  const hop = dropHop(e);
  // the endpoint's own refusal reads best as its rule ("public endpoint allow-list … does not include the NAT gateway's …")
  const what = hop?.element === 'eks-endpoint' ? hop.action : (e.reason ?? 'explain cannot tell');
  return `cannot reach the cluster endpoint${e.verdict === 'unknown' ? ' (explain cannot decide)' : ''}: ${what}`;
}

/**
 * Each node of a World to its cluster endpoint (the first `cluster-endpoint` endpoint); empty when the World has no
 * cluster. `nodeNames` maps lab node names to Kubernetes Node names.
 */
export function nodeEndpointVerdicts(world: World, nodeNames: Readonly<Record<string, string | undefined>> = {}): NodeEndpointVerdict[] {
  const endpoint = world.endpoints.find((e) => e.kind === 'cluster-endpoint' && e.cluster !== undefined);
  if (!endpoint) return [];
  return world.nodes.map((n) => {
    const e = explainFlow(world, { from: n.name, to: endpoint.name, protocol: 'tcp', port: ENDPOINT_PORT });
    const via = e.codes.includes('ENDPOINT_PRIVATE_ACCESS') ? 'private' : e.codes.includes('ENDPOINT_PUBLIC_ACCESS') ? 'public' : null;
    const reaches = e.verdict === 'delivered';
    return {
      node: n.name,
      nodeName: nodeNames[n.name] ?? null,
      reaches,
      verdict: e.verdict,
      via,
      address: e.to.address,
      sourceSeen: e.sourceSeen,
      ...(reaches ? {} : { reason: why(e) }),
      ...(e.fix ? { fix: e.fix } : {}),
      codes: e.codes,
    };
  });
}

/** {@link nodeEndpointVerdicts} over the lab that is up in `stateDir` (empty: the lab has no cluster). */
export async function labNodeEndpointVerdicts(stateDir: string): Promise<NodeEndpointVerdict[]> {
  const lab = requireLab(new LabState(stateDir));
  if (!lab.plan.eks) return [];
  const world = await labWorld(stateDir);
  return nodeEndpointVerdicts(world, Object.fromEntries(Object.values(lab.nodes).map((n) => [n.name, n.nodeName])));
}
