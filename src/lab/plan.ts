/**
 * The lab's fixed fabric as data, from the scenario alone: which namespaces exist, the point-to-point links between
 * them (aws ↔ each VPC router, router ↔ internet gateway ↔ internet core, router ↔ router for each peering, router ↔
 * transit gateway for each attachment, core ↔
 * internet host, router ↔ virtual private gateway ↔ on-premises network ↔ its hosts) and their transit addresses. What depends on EC2 (ENIs, addresses, route tables) is in render.ts.
 * Every namespace is `pn-…` and every link podnet names is `pn…`, so `lab down` can sweep by prefix.
 */
import { createHash } from 'node:crypto';
import { EMULATOR_ACCOUNT_ID } from '../ec2/index.js';
import { addressAt, formatAddress, parseCidr, subnetGateway } from '../net/index.js';
import { eksEndpointHostname, topologyRegion } from '../vpc/index.js';
import { LAB_LINK_RANGE, defaultEc2Endpoint, type Scenario } from './scenario.js';

export const NS_PREFIX = 'pn-';
export const LINK_PREFIX = 'pn';
/** IMDS lives at the link-local address, as on AWS; the aws namespace owns it. */
export const IMDS_ADDRESS = '169.254.169.254';
/** Transit links between fabric namespaces take /30s from the shared address space (RFC 6598), never a subnet's. */
const TRANSIT_BASE = Number(LAB_LINK_RANGE.network);

export const ns = {
  aws: `${NS_PREFIX}aws`,
  inet: `${NS_PREFIX}inet`,
  router: (vpc: string) => `${NS_PREFIX}r-${vpc}`,
  igw: (igw: string) => `${NS_PREFIX}igw-${igw}`,
  tgw: (tgw: string) => `${NS_PREFIX}tgw-${tgw}`,
  nat: (nat: string) => `${NS_PREFIX}nat-${nat}`,
  node: (node: string) => `${NS_PREFIX}n-${node}`,
  host: (host: string) => `${NS_PREFIX}h-${host}`,
  vgw: (vgw: string) => `${NS_PREFIX}vgw-${vgw}`,
  onPrem: (network: string) => `${NS_PREFIX}op-${network}`,
  pod: (pod: string) => `${NS_PREFIX}p-${pod}`,
  /** an EKS cluster's endpoint: its ENIs ("Amazon EKS <name>") as eth0..ethN and a public link to the internet core */
  eks: (cluster: string) => `${NS_PREFIX}eks-${cluster}`,
  /** a Fargate node (one pod), by its id: `pn-f-<10 lower-case hex>` */
  fargate: (id: string) => `${NS_PREFIX}f-${id}`,
};

/** The router-side link of an ENI: `pne` + 12 hex characters of a hash of the ENI id (15 characters, IFNAMSIZ). */
export function eniPortName(eniId: string): string {
  return `${LINK_PREFIX}e${createHash('sha256').update(eniId).digest('hex').slice(0, 12)}`;
}
export const ENI_PORT_GLOB = `${LINK_PREFIX}e*`;

export interface LinkEnd {
  ns: string;
  dev: string;
  /** address/prefix, absent for unnumbered ends */
  cidr?: string;
}
export interface TransitLink {
  a: LinkEnd;
  b: LinkEnd;
}

export interface VpcPlan {
  name: string;
  cidr: string;
  /** every IPv4 block of the VPC, the primary first (its secondaryCidrs after it) */
  cidrs: string[];
  router: string;
  /** the router's address on its link to the aws namespace, and the aws side's */
  awsRouterIp: string;
  awsSideIp: string;
  /** each subnet's gateway (network + 1), an address of the router as in a VPC (§9 item 3) */
  gateways: string[];
  /**
   * the VPC's resolver (AmazonProvidedDNS): the primary block's base + 2. It lives in the aws namespace (the emulator
   * serves DNS there) and the router sends it there ahead of the subnet tables, as it does the EC2 endpoint.
   */
  dnsAddress: string;
}

/**
 * An EKS cluster's endpoint (the scenario's `cluster:`): a namespace that holds the cluster's ENIs (wired by the
 * controller, render.ts) and a link to the internet core for the public endpoint; a relay in it forwards tcp/443 to
 * the API server in the aws namespace.
 */
export interface EksEndpointPlan {
  cluster: string;
  ns: string;
  /** what the endpoint's name is (the emulator computes the same one) */
  hostname: string;
  /** the internet core's port to it, and its own port to the core (unnumbered: the public address comes and goes) */
  coreDev: string;
  publicDev: string;
}

export interface IgwPlan {
  name: string;
  vpc: string;
  ns: string;
  /** the IGW's address on the router link (the router's next hop for 0.0.0.0/0 → igw) */
  vpcSideIp: string;
  /** the IGW's address on the core link (the core's next hop for the IGW's public IPs) */
  inetSideIp: string;
  routerSideIp: string;
  coreSideIp: string;
}

export interface PeeringPlan {
  name: string;
  requester: string;
  accepter: string;
  /** router port name on both sides */
  dev: string;
  requesterIp: string;
  accepterIp: string;
}

/**
 * A transit gateway: a namespace of its own with a link to the router of each attached VPC. Its routes are its route
 * table (render.ts, from EC2's facts); a VPC route → tgw goes to tgwIp over routerDev.
 */
export interface TgwPlan {
  name: string;
  ns: string;
  attachments: Array<{ vpc: string; routerDev: string; tgwDev: string; routerIp: string; tgwIp: string }>;
}

export interface InternetHostPlan {
  name: string;
  address: string;
  ns: string;
  coreDev: string;
}

/** A virtual private gateway: a namespace between its VPC's router and the on-premises networks behind it. */
export interface VgwPlan {
  name: string;
  vpc: string;
  ns: string;
  /** the router's port to it and the two ends' addresses (the router's next hop for a route → vgw is vgwSideIp) */
  routerDev: string;
  routerSideIp: string;
  vgwSideIp: string;
}

/** An on-premises network: a namespace routing for its hosts, linked to the gateway it is reached over. */
export interface OnPremisesPlan {
  name: string;
  cidr: string;
  /** the gateway it is reached over (a virtual private gateway or a transit gateway), by its scenario name */
  via: { vgw: string } | { tgw: string };
  ns: string;
  /** the gateway's namespace, its port to this network and the two ends' addresses */
  gatewayNs: string;
  gatewayDev: string;
  gatewaySideIp: string;
  networkSideIp: string;
  /**
   * what this network routes over its gateway: every IPv4 CIDR of the VGW's VPC, or `default` over a transit gateway
   * (which routes on by its own table)
   */
  routesBack: string[];
}

export interface OnPremHostPlan {
  name: string;
  network: string;
  address: string;
  ns: string;
  /** the network namespace's port to the host */
  networkDev: string;
}

export interface FabricPlan {
  ec2Endpoint: string;
  echoPort: number;
  vpcs: VpcPlan[];
  igws: IgwPlan[];
  peerings: PeeringPlan[];
  tgws: TgwPlan[];
  internetHosts: InternetHostPlan[];
  vgws: VgwPlan[];
  onPremises: OnPremisesPlan[];
  onPremHosts: OnPremHostPlan[];
  /** the cluster endpoint, when the scenario has a `cluster:` (absent in older records) */
  eks?: EksEndpointPlan;
  links: TransitLink[];
  /** every namespace of the fixed fabric (nodes, hosts, NAT gateways and pods come on top) */
  namespaces: string[];
}

function transit(index: number): [string, string] {
  const base = TRANSIT_BASE + index * 4;
  const fmt = (n: number) => [24, 16, 8, 0].map((s) => (n >>> s) & 255).join('.');
  return [fmt(base + 1), fmt(base + 2)];
}

/** The fixed fabric of a scenario (pure). */
export function planFabric(s: Scenario): FabricPlan {
  const links: TransitLink[] = [];
  let next = 0;
  const vpcs: VpcPlan[] = s.vpcs.map((v, i) => {
    const [routerIp, awsIp] = transit(next++);
    links.push({ a: { ns: ns.router(v.name), dev: `${LINK_PREFIX}-aws`, cidr: `${routerIp}/30` }, b: { ns: ns.aws, dev: `${LINK_PREFIX}-r${i}`, cidr: `${awsIp}/30` } });
    const gateways = s.subnets.filter((x) => x.vpc === v.name).map((x) => formatAddress(subnetGateway(parseCidr(x.cidr))));
    return { name: v.name, cidr: v.cidr, cidrs: [v.cidr, ...v.secondaryCidrs], router: ns.router(v.name), awsRouterIp: routerIp, awsSideIp: awsIp, gateways, dnsAddress: vpcDnsAddress(v.cidr) };
  });
  const igws: IgwPlan[] = s.internetGateways.map((g, i) => {
    const [routerIp, vpcSideIp] = transit(next++);
    const [coreIp, inetSideIp] = transit(next++);
    const igwNs = ns.igw(g.name);
    links.push({ a: { ns: ns.router(g.vpc), dev: `${LINK_PREFIX}-igw${i}`, cidr: `${routerIp}/30` }, b: { ns: igwNs, dev: `${LINK_PREFIX}-vpc`, cidr: `${vpcSideIp}/30` } });
    links.push({ a: { ns: ns.inet, dev: `${LINK_PREFIX}-g${i}`, cidr: `${coreIp}/30` }, b: { ns: igwNs, dev: `${LINK_PREFIX}-inet`, cidr: `${inetSideIp}/30` } });
    return { name: g.name, vpc: g.vpc, ns: igwNs, vpcSideIp, inetSideIp, routerSideIp: routerIp, coreSideIp: coreIp };
  });
  const peerings: PeeringPlan[] = s.peerings.map((p, i) => {
    const [reqIp, accIp] = transit(next++);
    const dev = `${LINK_PREFIX}-x${i}`;
    links.push({ a: { ns: ns.router(p.requester), dev, cidr: `${reqIp}/30` }, b: { ns: ns.router(p.accepter), dev, cidr: `${accIp}/30` } });
    return { name: p.name, requester: p.requester, accepter: p.accepter, dev, requesterIp: reqIp, accepterIp: accIp };
  });
  const tgws: TgwPlan[] = s.transitGateways.map((g, i) => {
    const tgwNs = ns.tgw(g.name);
    const attachments = g.attachments.map((a, j) => {
      const [routerIp, tgwIp] = transit(next++);
      const routerDev = `${LINK_PREFIX}-t${i}`;
      const tgwDev = `${LINK_PREFIX}-a${j}`;
      links.push({ a: { ns: ns.router(a.vpc), dev: routerDev, cidr: `${routerIp}/30` }, b: { ns: tgwNs, dev: tgwDev, cidr: `${tgwIp}/30` } });
      return { vpc: a.vpc, routerDev, tgwDev, routerIp, tgwIp };
    });
    return { name: g.name, ns: tgwNs, attachments };
  });
  const internetHosts: InternetHostPlan[] = s.internetHosts.map((h, i) => {
    const hostNs = ns.host(h.name);
    const coreDev = `${LINK_PREFIX}-h${i}`;
    links.push({ a: { ns: ns.inet, dev: coreDev }, b: { ns: hostNs, dev: 'eth0', cidr: `${h.address}/32` } });
    return { name: h.name, address: h.address, ns: hostNs, coreDev };
  });
  const vgws: VgwPlan[] = s.virtualPrivateGateways.map((g, i) => {
    const [routerIp, vgwIp] = transit(next++);
    const vgwNs = ns.vgw(g.name);
    const routerDev = `${LINK_PREFIX}-vgw${i}`;
    links.push({ a: { ns: ns.router(g.vpc), dev: routerDev, cidr: `${routerIp}/30` }, b: { ns: vgwNs, dev: `${LINK_PREFIX}-vpc`, cidr: `${vgwIp}/30` } });
    return { name: g.name, vpc: g.vpc, ns: vgwNs, routerDev, routerSideIp: routerIp, vgwSideIp: vgwIp };
  });
  const onPremises: OnPremisesPlan[] = s.onPremises.map((n, k) => {
    const [gatewayIp, networkIp] = transit(next++);
    const networkNs = ns.onPrem(n.name);
    let gatewayNs: string;
    let gatewayDev: string;
    let routesBack: string[];
    const via = n.via;
    if ('vgw' in via) {
      const vgw = vgws.find((g) => g.name === via.vgw)!;
      const vpc = s.vpcs.find((v) => v.name === vgw.vpc)!;
      [gatewayNs, gatewayDev, routesBack] = [vgw.ns, `${LINK_PREFIX}-o${k}`, [vpc.cidr, ...vpc.secondaryCidrs]];
    } else {
      [gatewayNs, gatewayDev, routesBack] = [ns.tgw(via.tgw), `${LINK_PREFIX}-vpn${k}`, ['default']];
    }
    links.push({ a: { ns: gatewayNs, dev: gatewayDev, cidr: `${gatewayIp}/30` }, b: { ns: networkNs, dev: `${LINK_PREFIX}-gw`, cidr: `${networkIp}/30` } });
    return { name: n.name, cidr: n.cidr, via: n.via, ns: networkNs, gatewayNs, gatewayDev, gatewaySideIp: gatewayIp, networkSideIp: networkIp, routesBack };
  });
  const onPremHosts: OnPremHostPlan[] = s.onPremHosts.flatMap((h, j) => {
    const network = onPremises.find((n) => n.name === h.network);
    if (!network) return [];
    const hostNs = ns.host(h.name);
    const networkDev = `${LINK_PREFIX}-h${j}`;
    links.push({ a: { ns: network.ns, dev: networkDev }, b: { ns: hostNs, dev: 'eth0', cidr: `${h.address}/32` } });
    return [{ name: h.name, network: h.network, address: h.address, ns: hostNs, networkDev }];
  });
  const cluster = scenarioCluster(s);
  let eks: EksEndpointPlan | undefined;
  if (cluster) {
    eks = { cluster: cluster.name, ns: ns.eks(cluster.name), hostname: eksEndpointHostname(LAB_ACCOUNT_ID, topologyRegion(s), cluster.name), coreDev: `${LINK_PREFIX}-k0`, publicDev: `${LINK_PREFIX}-inet` };
    links.push({ a: { ns: ns.inet, dev: eks.coreDev }, b: { ns: eks.ns, dev: eks.publicDev } });
  }
  const first = s.vpcs[0];
  const ec2Endpoint = s.lab.ec2Endpoint ?? (first ? defaultEc2Endpoint(first.cidr) : '10.0.255.254');
  const namespaces = [
    ns.aws, ...vpcs.map((v) => v.router), ...igws.map((g) => g.ns), ...(igws.length + internetHosts.length > 0 || eks ? [ns.inet] : []), ...internetHosts.map((h) => h.ns),
    ...vgws.map((g) => g.ns), ...onPremises.map((n) => n.ns), ...onPremHosts.map((h) => h.ns), ...tgws.map((g) => g.ns), ...(eks ? [eks.ns] : []),
  ];
  return { ec2Endpoint, echoPort: s.lab.echoPort, vpcs, igws, peerings, tgws, internetHosts, vgws, onPremises, onPremHosts, ...(eks && { eks }), links, namespaces };
}

/**
 * The emulator's account id (its resources' OwnerId and EKS's ARNs: src/ec2's ownerId): the endpoint's name is made
 * of it, and lab up needs that name before the emulator runs (the API server's certificate names it).
 */
export const LAB_ACCOUNT_ID = EMULATOR_ACCOUNT_ID;

/** A VPC's resolver address (AmazonProvidedDNS): its primary block's base + 2, as on AWS. */
export function vpcDnsAddress(cidr: string): string {
  return formatAddress(addressAt(parseCidr(cidr), 2n));
}

/** The scenario's EKS cluster (`cluster:`, one per file), or null. */
export function scenarioCluster(s: Scenario): { name: string } | null {
  return (s as { cluster?: { name: string } | null }).cluster ?? null;
}

/**
 * What builds the fixed fabric: namespaces, sysctls (set before the links exist, so `default.*` reaches every
 * port), veth pairs created directly in their namespaces, addresses and static routes.
 */
export interface FixedFabric {
  /** `ip -batch` lines for the default namespace: one `netns add` each (run first, then the sysctls) */
  netnsAdds: string[];
  /** then the veth pairs, created directly in their namespaces */
  linkAdds: string[];
  perNs: Map<string, string[]>;
  sysctls: Map<string, Record<string, string>>;
}

export function renderFixedFabric(plan: FabricPlan): FixedFabric {
  const netnsAdds = plan.namespaces.map((n) => `netns add ${n}`);
  const linkAdds: string[] = [];
  const perNs = new Map<string, string[]>(plan.namespaces.map((n) => [n, ['link set lo up']]));
  const sysctls = new Map<string, Record<string, string>>();
  const lines = (n: string) => perNs.get(n)!;
  for (const l of plan.links) {
    linkAdds.push(`link add ${l.a.dev} netns ${l.a.ns} type veth peer name ${l.b.dev} netns ${l.b.ns}`);
    for (const end of [l.a, l.b]) {
      if (end.cidr) lines(end.ns).push(`addr add ${end.cidr} dev ${end.dev}`);
      lines(end.ns).push(`link set ${end.dev} up`);
    }
  }
  // Forwarding, no redirects (a router that sends a packet back out the port it came in on must not tell the
  // sender to go direct: in a VPC every packet goes through the fabric), no reverse-path filter (the router's
  // source/destination check is an nft set per ENI instead).
  const routerish = { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.send_redirects': '0', 'net.ipv4.conf.default.send_redirects': '0', 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv4.conf.default.rp_filter': '0' };
  lines(ns.aws).push(`addr add ${IMDS_ADDRESS}/32 dev lo`, `addr add ${plan.ec2Endpoint}/32 dev lo`);
  // each VPC's resolver (base + 2): the emulator's DNS listens there (older records have none)
  for (const v of plan.vpcs) if (v.dnsAddress) lines(ns.aws).push(`addr add ${v.dnsAddress}/32 dev lo`);
  for (const v of plan.vpcs) {
    for (const c of v.cidrs) lines(ns.aws).push(`route add ${c} via ${v.awsRouterIp}`);
    for (const gw of v.gateways) lines(v.router).push(`addr add ${gw}/32 dev lo`);
    // every router reaches the EC2 endpoint (an interface endpoint of the first VPC) and IMDS through the aws link
    sysctls.set(v.router, { ...routerish, 'net.ipv4.conf.default.proxy_arp': '1' });
  }
  // a transit gateway routes by its route table (render.ts); the kernel's routes for its links are all it starts with
  for (const g of plan.tgws) sysctls.set(g.ns, routerish);
  for (const g of plan.igws) {
    const vpc = plan.vpcs.find((v) => v.name === g.vpc)!;
    lines(g.ns).push(...vpc.cidrs.map((c) => `route add ${c} via ${g.routerSideIp}`), `route add default via ${g.coreSideIp}`);
    sysctls.set(g.ns, routerish);
  }
  if (plan.namespaces.includes(ns.inet)) sysctls.set(ns.inet, { ...routerish, 'net.ipv4.conf.default.proxy_arp': '1' });
  if (plan.eks) {
    // not a router: it answers on its own addresses only, and a reply may leave another port than the route to its
    // client names (per-source tables: render.ts), so no reverse-path filter
    sysctls.set(plan.eks.ns, { 'net.ipv4.conf.all.rp_filter': '0', 'net.ipv4.conf.default.rp_filter': '0' });
  }
  for (const h of plan.internetHosts) {
    lines(ns.inet).push(`route add ${h.address}/32 dev ${h.coreDev}`);
    // unnumbered: the host ARPs for every destination and the core answers by proxy ARP
    lines(h.ns).push(`route add default dev eth0`);
  }
  // A VGW forwards to the networks behind it (its routes to the VPC follow EC2's attachment: render.ts); an
  // on-premises network routes the VPC's CIDRs back over its gateway and nothing else, and its hosts as the core does.
  for (const g of plan.vgws) sysctls.set(g.ns, routerish);
  for (const n of plan.onPremises) {
    // a transit gateway's routes to the network are its route table's (render.ts)
    if ('vgw' in n.via) lines(n.gatewayNs).push(`route add ${n.cidr} via ${n.networkSideIp} dev ${n.gatewayDev}`);
    for (const c of n.routesBack) lines(n.ns).push(`route add ${c} via ${n.gatewaySideIp} dev pn-gw`);
    sysctls.set(n.ns, { ...routerish, 'net.ipv4.conf.default.proxy_arp': '1' });
  }
  for (const h of plan.onPremHosts) {
    lines(plan.onPremises.find((n) => n.name === h.network)!.ns).push(`route add ${h.address}/32 dev ${h.networkDev}`);
    lines(h.ns).push(`route add default dev eth0`);
  }
  return { netnsAdds, linkAdds, perNs, sysctls };
}
