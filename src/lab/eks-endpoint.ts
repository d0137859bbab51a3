/**
 * The EKS cluster endpoint in the lab (pure): what the endpoint namespace `pn-eks-<cluster>` holds besides the
 * cluster's ENIs (which render.ts wires into it as eth0..ethN like any ENI, so the VPC router's source/destination
 * check and the cluster's security groups apply to them). Per-source routing tables make a reply leave the interface
 * its request came in on: the ENI a VPC client connected to, or the public link for a client on the internet. The
 * public address is a local route on the public link while EKS gives the cluster one (public access on), and the
 * internet core routes it there. One nft table decides who may open tcp/443: on the public link only sources inside
 * `publicAccessCidrs` while public access is on, on the ENIs only while private access is on — the two drop counters
 * (`endpoint-allow-list`, `endpoint-private-off`) are what `lab probe` names. A relay (`podnet lab forward`) listens
 * on :443 in the namespace and connects to the API server in the aws namespace, which is what answers on both.
 *
 * Not modelled: the endpoint's load balancers and their addresses per zone (the private answer is the ENIs' own
 * addresses), TLS termination (the relay passes TLS through; the API server's certificate names the endpoint), IAM
 * authentication (the API server takes bearer tokens).
 */
import { isIP } from 'node:net';
import { PodnetError } from '../lib/index.js';
import type { EksCluster } from '../vpc/index.js';
import type { EksEndpointPlan } from './plan.js';

/** The drop counters of the endpoint namespace's nft table (read by `lab probe`, as render.ts's DROP_COUNTERS). */
export const ENDPOINT_COUNTERS = { allowList: 'endpoint-allow-list', privateOff: 'endpoint-private-off' } as const;

/** The endpoint's port: clients reach `https://<hostname>` (443); the relay forwards to the API server's 6443. */
export const ENDPOINT_PORT = 443;

/** An ENI's description names what EC2 created it for (EKS and Fargate set it so). */
export const EKS_ENI_DESCRIPTION_PREFIX = 'Amazon EKS ';
export const FARGATE_ENI_DESCRIPTION_PREFIX = '[fargate] ';

/**
 * The environment a lab kubelet starts with so that it resolves the API server's name through its VPC's resolver:
 * `PODNET_RESOLV_CONF` when the resolver is known; nothing when the server is an address (nothing to resolve).
 * Fails closed: a server named by hostname with no resolver known would be resolved by the host's resolver, which no
 * lab namespace may ever ask, so that is an error (`who` names the kubelet in it).
 */
export function kubeletResolverEnv(server: string | undefined, resolvConf: string | undefined, who: string): { PODNET_RESOLV_CONF: string } | undefined {
  if (resolvConf) return { PODNET_RESOLV_CONF: resolvConf };
  let host = '';
  try {
    host = server ? new URL(server).hostname.replace(/^\[|\]$/g, '') : '';
  } catch {
    host = '';
  }
  if (!host || isIP(host) !== 0 || host === 'localhost') return undefined;
  throw new PodnetError('LAB_FAILED', `${who}: the API server is ${host}, a name, and no VPC resolver is known to resolve it (the host's resolver is never asked from the lab)`, 'the node\'s VPC has no AmazonProvidedDNS address in the lab plan; see the controller log');
}

/** The cluster an ENI belongs to, from its description (`Amazon EKS <cluster name>`), or null. */
export function eksClusterOfEni(description: string | undefined): string | null {
  return description?.startsWith(EKS_ENI_DESCRIPTION_PREFIX) ? description.slice(EKS_ENI_DESCRIPTION_PREFIX.length).trim() || null : null;
}

/** The Fargate node namespace an ENI is for (`[fargate] pn-f-<10 hex>`), or null. */
export function fargateNamespaceOfEni(description: string | undefined): string | null {
  const rest = description?.startsWith(FARGATE_ENI_DESCRIPTION_PREFIX) ? description.slice(FARGATE_ENI_DESCRIPTION_PREFIX.length).trim() : '';
  return /^pn-f-[0-9a-f]{10}$/.test(rest) ? rest : null;
}

/** A cluster ENI as wired in the endpoint namespace. */
export interface EndpointEni {
  eniId: string;
  dev: string;
  ip: string;
  gateway: string;
}

/** The Linux table of the k-th ENI's replies, and of the public link's. */
const ENI_TABLE_BASE = 200;
const PUBLIC_TABLE = 250;

export interface EndpointRender {
  /** `ip route` / `ip rule` argument lines in the endpoint namespace */
  routes: string[];
  rules: string[];
  /** the internet core's route to the public address (when there is one) */
  coreRoutes: string[];
  nft: string;
}

/**
 * The endpoint namespace's routes, rules and filter for the cluster as EKS describes it now (undefined: the emulator
 * has not described it yet — nothing is admitted).
 */
export function renderEndpoint(plan: EksEndpointPlan, cluster: EksCluster | undefined, enis: readonly EndpointEni[]): EndpointRender {
  const routes: string[] = [];
  const rules: string[] = [];
  const coreRoutes: string[] = [];
  enis.forEach((e, k) => {
    rules.push(`pref 100 from ${e.ip} lookup ${ENI_TABLE_BASE + k}`);
    routes.push(`default via ${e.gateway} dev ${e.dev} onlink table ${ENI_TABLE_BASE + k}`);
  });
  const publicAddress = cluster?.publicAddress ?? null;
  if (publicAddress) {
    // the address without an `addr add`: a local route is all the kernel needs to accept (and ARP) for it
    routes.push(`local ${publicAddress} dev ${plan.publicDev} table local`);
    rules.push(`pref 100 from ${publicAddress} lookup ${PUBLIC_TABLE}`);
    routes.push(`default dev ${plan.publicDev} table ${PUBLIC_TABLE}`);
    coreRoutes.push(`${publicAddress}/32 dev ${plan.coreDev}`);
  }
  return { routes: routes.sort(), rules: rules.sort(), coreRoutes, nft: renderEndpointFilter(plan, cluster, enis) };
}

/**
 * Who may open the endpoint. Every packet is checked, established or not (no `ct state established` exemption): a
 * connection the new rules no longer allow stops at once, and the relay cuts the rest when the configuration changes
 * (controller.ts), so clients reconnect and resolve the name again, as they must after an EKS endpoint change.
 */
export function renderEndpointFilter(plan: EksEndpointPlan, cluster: EksCluster | undefined, enis: readonly EndpointEni[]): string {
  const publicOn = cluster?.endpointPublicAccess === true;
  const privateOn = cluster?.endpointPrivateAccess === true;
  const cidrs = publicOn ? cluster!.publicAccessCidrs.filter((c) => !c.includes(':')) : [];
  const allow = cidrs.length > 0 ? ` elements = { ${cidrs.join(', ')} };` : '';
  const eniDevs = enis.map((e) => `"${e.dev}"`);
  const lines = [
    `table ip pn_eks {`,
    `  set public_allow { type ipv4_addr; flags interval; auto-merge;${allow} }`,
    `  chain input {`,
    `    type filter hook input priority filter; policy accept;`,
    `    iifname "lo" accept`,
    ...(publicOn ? [`    iifname "${plan.publicDev}" meta l4proto 6 th dport ${ENDPOINT_PORT} ip saddr @public_allow accept`] : []),
    `    iifname "${plan.publicDev}" counter drop comment "${ENDPOINT_COUNTERS.allowList}"`,
    ...(!privateOn && eniDevs.length > 0 ? [`    iifname { ${eniDevs.join(', ')} } meta l4proto 6 th dport ${ENDPOINT_PORT} counter drop comment "${ENDPOINT_COUNTERS.privateOff}"`] : []),
    `  }`,
    `}`,
  ];
  return lines.join('\n');
}

/** What changes the endpoint's behaviour for clients: when it differs, the relay's open connections are cut. */
export function endpointConfigKey(cluster: EksCluster | undefined): string {
  if (!cluster) return '';
  return JSON.stringify([cluster.endpointPublicAccess, cluster.endpointPrivateAccess, [...cluster.publicAccessCidrs].sort(), cluster.publicAddress, cluster.enis.map((e) => e.privateIp)]);
}
