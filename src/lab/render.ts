/**
 * The EC2-dependent part of the fabric as data (pure): from what EC2 says (subnets, route tables, gateways,
 * peerings, instances) and the current address ↔ ENI mapping, which ENIs are wired to which namespace, and what
 * every router, the internet gateways, the NAT gateways and the internet core must hold. The VPC's rules themselves
 * (what a route points at, what the source/destination check lets out, what the internet gateway translates) come
 * from the model in src/vpc; this file says how namespaces, ip rules and nft tables carry them out. The controller
 * diffs this against what it applied last and applies the difference (controller.ts).
 */
import { MAX_VLAN_ID, MIN_VLAN_ID, vlanLinkName } from '../dataplane/index.js';
import type { Ec2Facts, EniMapping } from '../ec2/index.js';
import { cidrsOverlap, formatAddress, isAddressText, parseCidr, subnetGateway } from '../net/index.js';
import { publicAddresses, resolveTarget, sourceCheck, vpcCidrsOf, type EksCluster, type ResolvedTarget, type TransitGateway, type TransitGatewayAttachment, type VpcDropReason, type VpcModel, type NetworkInterface, type OnPremisesNetwork } from '../vpc/index.js';
import { ENDPOINT_COUNTERS, eksClusterOfEni, fargateNamespaceOfEni, renderEndpoint, type EndpointEni } from './eks-endpoint.js';
import { FILTER_COUNTERS, renderFiltering, type FilteredPort } from './filtering.js';
import { ENI_PORT_GLOB, IMDS_ADDRESS, eniPortName, ns, type FabricPlan, type OnPremisesPlan, type TgwPlan } from './plan.js';
import type { Scenario } from './scenario.js';

/** An ENI as a veth pair: the router end in its VPC's router, the other end `eth<device index>` with the ENI's MAC. */
export interface EniLink {
  eniId: string;
  mac: string;
  routerNs: string;
  port: string;
  endNs: string;
  endDev: string;
  /**
   * the primary ENI of an instance or a NAT gateway is configured like DHCP would: address, default route; an EKS
   * cluster's ENIs all get their address, only the first the default route (the others: per-source tables)
   */
  primary?: { cidr: string; gateway: string; defaultRoute?: boolean };
  /**
   * a branch ENI (its end is `vlan.eth.<vlan id>` in its trunk's instance): its primary address is the pod's, which
   * nothing in the node's namespace holds, so the router knows the address's MAC as EC2 does rather than asking ARP
   */
  branch?: { vlanId: number; address: string };
}

export interface DesiredFabric {
  links: EniLink[];
  /** `ip route` arguments without the verb, e.g. `10.0.1.5/32 via 10.0.1.4 dev pne… onlink table 101` */
  routes: Map<string, string[]>;
  /** `ip rule` arguments without the verb, e.g. `pref 1000 iif pne… lookup 101` */
  rules: Map<string, string[]>;
  /** a whole nft table per namespace */
  nft: Map<string, string>;
  /** ENI id → addresses and prefixes the fabric routes to it (what `lab status` shows) */
  enis: EniMapping[];
  /** ENIs left unwired because what EC2 said of them cannot go into an `ip` line (the controller logs them) */
  skipped: string[];
}

const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i;

/**
 * Why an ENI's mapping cannot be wired, or undefined: its MAC, addresses and VLAN id go into `ip -batch` lines, where
 * a malformed one would fail the whole batch (or add words) and hold up every other ENI's wiring.
 */
function unwirableMapping(eni: EniMapping): string | undefined {
  if (!MAC.test(eni.mac)) return `MAC ${JSON.stringify(eni.mac)} is not six hex pairs`;
  const bad = eni.privateIps.find((ip) => !isAddressText(ip));
  if (bad !== undefined) return `address ${JSON.stringify(bad)} is not an IP address`;
  const vlanId = eni.trunk?.vlanId;
  if (vlanId !== undefined && (!Number.isInteger(vlanId) || vlanId < MIN_VLAN_ID || vlanId > MAX_VLAN_ID)) return `VLAN id ${JSON.stringify(vlanId)} is not ${MIN_VLAN_ID}–${MAX_VLAN_ID}`;
  return undefined;
}

/**
 * A VPC route table becomes a Linux routing table in its VPC's router: 100, 101, … in the order of their EC2 ids.
 * The EC2 id (rtb-…) is the route table's one name everywhere else; this number exists only inside a router.
 */
const ROUTE_TABLE_BASE = 100;

function linuxTableNumbers(tables: ReadonlyArray<{ id: string }>): Map<string, number> {
  return new Map([...tables].sort((a, b) => a.id.localeCompare(b.id)).map((t, i) => [t.id, ROUTE_TABLE_BASE + i]));
}

function gatewayOf(cidr: string): string {
  return formatAddress(subnetGateway(parseCidr(cidr)));
}

/** Which namespace an instance is, by its Name tag: lab nodes and hosts only. */
function instanceNamespaces(s: Scenario, facts: Ec2Facts): Map<string, string> {
  const byName = new Map(facts.instances.map((i) => [i.name, i.id]));
  const out = new Map<string, string>();
  for (const n of s.nodes) if (byName.has(n.instance)) out.set(byName.get(n.instance)!, ns.node(n.instance));
  for (const h of s.hosts) if (byName.has(h.instance)) out.set(byName.get(h.instance)!, ns.host(h.instance));
  return out;
}

interface WiredEni {
  link: EniLink;
  eni: EniMapping;
  vpc: string;
  subnetId: string;
}

/**
 * The lab's VPC model: what EC2 says, the ENIs, and the on-premises networks, which EC2 does not know (they are the
 * scenario's, behind its gateways, by the gateways' EC2 ids; one whose gateway EC2 does not list is left out).
 */
/** The link an instance's ENI becomes inside its namespace: eth<device index>, as EC2's Linux images name them. */
export function instanceEniLink(deviceIndex: number): string {
  return `eth${deviceIndex}`;
}

export function labModel(plan: { onPremises: ReadonlyArray<Pick<OnPremisesPlan, 'name' | 'cidr' | 'via'>> }, facts: Ec2Facts, enis: readonly NetworkInterface[]): VpcModel {
  const onPremises: OnPremisesNetwork[] = plan.onPremises.flatMap((n) => {
    const via = n.via;
    const gateway = 'vgw' in via ? facts.vpnGateways?.find((g) => g.name === via.vgw) : facts.transitGateways?.find((g) => g.name === via.tgw);
    if (!gateway) return [];
    return [{ name: n.name, cidr: n.cidr, via: 'vgw' in via ? { vgwId: gateway.id } : { tgwId: gateway.id } }];
  });
  return { ...facts, onPremises, enis: [...enis] };
}

/**
 * Compiles the VPC model (src/vpc: EC2's facts and the ENIs) to the fabric: the model decides what each route
 * points at, which sources each ENI's check lets out and which addresses the internet gateway translates; this
 * function only says how the namespaces carry it out.
 */
export function renderFabric(plan: FabricPlan, s: Scenario, facts: Ec2Facts, mappings: readonly EniMapping[], clusters: readonly EksCluster[] = []): DesiredFabric {
  const model = labModel(plan, facts, mappings);
  const routes = new Map<string, string[]>();
  const rules = new Map<string, string[]>();
  const nft = new Map<string, string>();
  const add = (m: Map<string, string[]>, key: string, line: string) => (m.get(key) ?? m.set(key, []).get(key)!).push(line);
  const subnets = new Map(facts.subnets.map((x) => [x.id, x]));
  const vpcNameById = new Map(facts.vpcs.map((v) => [v.id, v.name]));
  const instanceNs = instanceNamespaces(s, facts);
  const natByEni = new Map(facts.natGateways.map((n) => [n.eniId, n]));

  // 1. Which ENIs are wired, and where.
  const links: EniLink[] = [];
  const wired: WiredEni[] = [];
  const cluster = plan.eks ? clusters.find((c) => c.name === plan.eks!.cluster) : undefined;
  // the cluster's ENIs by its description or EKS's list, eth0..ethN by ENI id: the same order before and after EKS
  // has described the cluster (the controller never renames a wired link, so an order that changed once the cluster
  // was read left eth0 with the other ENI's address while the reply tables named the devices the new way)
  const clusterEniIds = plan.eks
    ? [
        ...(cluster?.enis.map((e) => e.eniId) ?? []),
        ...mappings.filter((m) => eksClusterOfEni(m.description) === plan.eks!.cluster).map((m) => m.eniId),
      ]
        .filter((id, i, all) => all.indexOf(id) === i)
        .sort()
    : [];
  const endpointEnis: EndpointEni[] = [];
  const mappingById = new Map(mappings.map((m) => [m.eniId, m]));
  const skipped: string[] = [];
  for (const eni of mappings) {
    const unwirable = unwirableMapping(eni);
    if (unwirable) {
      skipped.push(`${eni.eniId}: ${unwirable}`);
      continue;
    }
    const subnet = subnets.get(eni.subnetId);
    const vpc = vpcNameById.get(eni.vpcId);
    const primaryIp = eni.privateIps[0];
    if (!subnet || !vpc || !primaryIp) continue;
    const nat = natByEni.get(eni.eniId);
    let endNs: string | undefined;
    let endDev: string;
    let primary = false;
    let branch: EniLink['branch'];
    const clusterIndex = clusterEniIds.indexOf(eni.eniId);
    const fargateNs = fargateNamespaceOfEni(eni.description);
    if (nat) {
      endNs = ns.nat(nat.name);
      endDev = 'eth0';
      primary = true;
    } else if (clusterIndex >= 0 && plan.eks) {
      endNs = plan.eks.ns;
      endDev = `eth${clusterIndex}`;
      primary = true;
      endpointEnis.push({ eniId: eni.eniId, dev: endDev, ip: primaryIp, gateway: gatewayOf(subnet.cidr) });
    } else if (fargateNs) {
      // a Fargate pod's node (helper D's namespace): its one ENI as eth0, configured as an instance's primary
      endNs = fargateNs;
      endDev = 'eth0';
      primary = true;
    } else if (eni.trunk) {
      // a branch ENI reaches the instance its trunk is attached to: EC2 tags its frames with the VLAN id there, and
      // the lab's kernel may have no 802.1Q, so the fabric hands the node the VLAN's link itself, named as the CNI
      // names it (ipamd with PODNET_BRANCH_VLAN_LINK=fabric uses it and does not make one); the router's end is an
      // ENI port like any other, so the source/destination check and the branch's own groups apply there
      const trunkInstance = mappingById.get(eni.trunk.trunkEniId)?.instanceId;
      if (!trunkInstance) continue; // the trunk is detached: the branch is on no wire
      endNs = instanceNs.get(trunkInstance);
      endDev = vlanLinkName(eni.trunk.vlanId);
      branch = { vlanId: eni.trunk.vlanId, address: primaryIp };
    } else {
      if (!eni.instanceId || eni.deviceIndex === null) continue; // unattached: not on any wire
      endNs = instanceNs.get(eni.instanceId);
      endDev = instanceEniLink(eni.deviceIndex);
      primary = eni.deviceIndex === 0;
    }
    if (!endNs) continue;
    const prefixLength = parseCidr(subnet.cidr).prefixLength;
    const link: EniLink = {
      eniId: eni.eniId,
      mac: eni.mac,
      routerNs: ns.router(vpc),
      port: eniPortName(eni.eniId),
      endNs,
      endDev,
      ...(primary ? { primary: { cidr: `${primaryIp}/${prefixLength}`, gateway: gatewayOf(subnet.cidr), ...(clusterIndex > 0 && { defaultRoute: false }) } } : {}),
      ...(branch && { branch }),
    };
    links.push(link);
    wired.push({ link, eni, vpc, subnetId: subnet.id });
  }
  links.sort((a, b) => a.eniId.localeCompare(b.eniId));

  // 2. Each VPC router: the mapping as routes, route tables by input port, the source/destination check.
  for (const v of plan.vpcs) {
    const r = v.router;
    const vpcFacts = facts.vpcs.find((x) => x.name === v.name);
    // the local route: every VPC destination goes to main, which holds a route per ENI address (below) and drops
    // the rest; it comes before the subnet's table, as the local route is the most specific for VPC addresses
    // every IPv4 block of the VPC is local, the secondary ones (AssociateVpcCidrBlock) as the primary
    const localCidrs = vpcFacts ? vpcCidrsOf(vpcFacts) : [v.cidr];
    for (const c of localCidrs) add(rules, r, `pref 100 to ${c} lookup main`);
    add(rules, r, `pref 101 to ${IMDS_ADDRESS} lookup main`);
    add(rules, r, `pref 102 to ${plan.ec2Endpoint} lookup main`);
    for (const c of localCidrs) add(routes, r, `unreachable ${c}`);
    add(routes, r, `${IMDS_ADDRESS}/32 via ${v.awsSideIp} dev pn-aws`);
    add(routes, r, `${plan.ec2Endpoint}/32 via ${v.awsSideIp} dev pn-aws`);
    // the VPC's resolver (base + 2) is in the aws namespace: VPC-local, so rule 100 already sends it to main
    if (v.dnsAddress) add(routes, r, `${v.dnsAddress}/32 via ${v.awsSideIp} dev pn-aws`);
    const tables = vpcFacts ? facts.routeTables.filter((t) => t.vpcId === vpcFacts.id) : [];
    const tableNumber = linuxTableNumbers(tables);
    for (const t of tables) {
      for (const route of t.routes) {
        const via = nextHop(resolveTarget(model, t.vpcId, route.target), plan, wired, v.name);
        if (via) add(routes, r, `${route.destination} ${via} table ${tableNumber.get(t.id)}`);
      }
    }
    // what a transit gateway sends in is routed by its attachment subnet's table (the VPC's own blocks by rule 100)
    for (const g of plan.tgws) {
      const link = g.attachments.find((a) => a.vpc === v.name);
      const attachment = facts.transitGateways?.find((x) => x.name === g.name)?.attachments.find((a) => a.resourceType === 'vpc' && a.vpcId === vpcFacts?.id);
      const subnetId = attachment?.resourceType === 'vpc' ? attachment.subnetIds[0] : undefined;
      const table = tableNumber.get(subnets.get(subnetId ?? '')?.routeTableId ?? '');
      if (link && table !== undefined) add(rules, r, `pref 1000 iif ${link.routerDev} lookup ${table}`);
    }
    const allowed: string[] = [];
    const unchecked: string[] = [];
    const filtered: FilteredPort[] = [];
    for (const w of wired.filter((x) => x.vpc === v.name)) {
      const port = w.link.port;
      const [first, ...rest] = w.eni.privateIps;
      add(routes, r, `${first}/32 dev ${port} scope link`);
      for (const ip of rest) add(routes, r, `${ip}/32 via ${first} dev ${port} onlink`);
      for (const p of w.eni.ipv4Prefixes) add(routes, r, `${p} via ${first} dev ${port} onlink`);
      const table = tableNumber.get(subnets.get(w.subnetId)?.routeTableId ?? '');
      if (table !== undefined) add(rules, r, `pref 1000 iif ${port} lookup ${table}`);
      const check = sourceCheck(model, w.eni);
      if (check.checked) allowed.push(...check.allowed.map((c) => `"${port}" . ${c}`));
      else unchecked.push(port);
      filtered.push({ port, eni: w.eni, natGateway: natByEni.has(w.eni.eniId) });
    }
    const filtering = renderFiltering(model, filtered, { imdsAddress: IMDS_ADDRESS, ec2Endpoint: plan.ec2Endpoint, vpcCidrs: plan.vpcs.flatMap((x) => x.cidrs), dnsAddresses: plan.vpcs.flatMap((x) => (x.dnsAddress ? [x.dnsAddress] : [])) });
    nft.set(r, renderSourceCheck(allowed, unchecked, localCidrs, filtering));
  }

  // 3. Internet gateways: the model's 1:1 translation, and the core routes each public IP to its gateway.
  plan.igws.forEach((g, i) => {
    const vpcId = facts.vpcs.find((x) => x.name === g.vpc)?.id;
    const pairs = vpcId ? publicAddresses(model, vpcId) : [];
    nft.set(g.ns, renderIgwNat(pairs));
    for (const [, pub] of pairs) add(routes, ns.inet, `${pub}/32 via ${g.inetSideIp} dev pn-g${i}`);
  });

  // 3b. A virtual private gateway routes to its VPC while EC2 has it attached there (detached, the networks behind it
  // reach nothing, as the model says).
  for (const g of plan.vgws) {
    const vpc = facts.vpcs.find((x) => x.name === g.vpc);
    const attached = vpc && facts.vpnGateways?.some((x) => x.name === g.name && x.vpcId === vpc.id);
    if (!vpc || !attached) continue;
    for (const c of vpcCidrsOf(vpc)) add(routes, g.ns, `${c} via ${g.routerSideIp} dev pn-vpc`);
  }

  // 3c. A transit gateway's namespace holds its route table: each route to its attachment's link, a blackhole as one.
  for (const g of plan.tgws) {
    const tgw = facts.transitGateways?.find((x) => x.name === g.name);
    if (!tgw) continue;
    const behind = plan.onPremises.filter((n) => 'tgw' in n.via && n.via.tgw === g.name);
    for (const line of transitGatewayRoutes(tgw, g, vpcNameById, behind)) add(routes, g.ns, line);
    nft.set(g.ns, renderTransitGatewayCounter());
  }

  // 4. NAT gateways translate what they forward to their own address.
  for (const n of facts.natGateways) {
    if (wired.some((w) => w.eni.eniId === n.eniId)) nft.set(ns.nat(n.name), renderNatGateway(n.privateIp));
  }

  // 5. The cluster endpoint's namespace: replies leave where their request came in; who may open tcp/443.
  if (plan.eks) {
    endpointEnis.sort((a, b) => a.dev.localeCompare(b.dev, 'en', { numeric: true }));
    const endpoint = renderEndpoint(plan.eks, cluster, endpointEnis);
    for (const line of endpoint.routes) add(routes, plan.eks.ns, line);
    for (const line of endpoint.rules) add(rules, plan.eks.ns, line);
    for (const line of endpoint.coreRoutes) add(routes, ns.inet, line);
    if (!routes.has(plan.eks.ns)) routes.set(plan.eks.ns, []);
    if (!rules.has(plan.eks.ns)) rules.set(plan.eks.ns, []);
    nft.set(plan.eks.ns, endpoint.nft);
  }

  for (const list of [...routes.values(), ...rules.values()]) list.sort();
  return { links, routes, rules, nft, enis: wired.map((w) => w.eni), skipped };
}

/**
 * A transit gateway's route table as routes of its namespace: per destination the route the gateway takes (a static
 * route before a propagated one), to the link of its attachment; a blackhole route, or one whose attachment has no
 * link here, drops what it matches.
 */
function transitGatewayRoutes(tgw: TransitGateway, plan: TgwPlan, vpcNameById: ReadonlyMap<string, string>, behind: readonly OnPremisesPlan[]): string[] {
  const byDestination = new Map<string, TransitGateway['routes'][number]>();
  for (const route of [...tgw.routes].sort((a, b) => Number(b.origin === 'static') - Number(a.origin === 'static'))) {
    if (!byDestination.has(route.destination)) byDestination.set(route.destination, route);
  }
  return [...byDestination.values()].map((route) => {
    const attachment = tgw.attachments.find((a) => a.id === route.attachmentId);
    const via = attachment ? tgwNextHop(attachment, plan, vpcNameById, behind, route.destination) : undefined;
    return via ? `${route.destination} ${via}` : `blackhole ${route.destination}`;
  });
}

/** How a transit gateway's namespace reaches an attachment: the link to the attached VPC's router. */
/** `behind`: the on-premises networks linked to this gateway; a VPN attachment's route goes to the one it covers. */
function tgwNextHop(attachment: TransitGatewayAttachment, plan: TgwPlan, vpcNameById: ReadonlyMap<string, string>, behind: readonly OnPremisesPlan[], destination: string): string | undefined {
  switch (attachment.resourceType) {
    case 'vpc': {
      const link = plan.attachments.find((a) => a.vpc === vpcNameById.get(attachment.vpcId));
      return link ? `via ${link.routerIp} dev ${link.tgwDev}` : undefined;
    }
    case 'vpn': {
      const network = behind.find((n) => cidrsOverlap(parseCidr(n.cidr), parseCidr(destination)));
      return network ? `via ${network.networkSideIp} dev ${network.gatewayDev}` : undefined;
    }
  }
}

/**
 * A transit gateway's count of what it drops for want of a route (none, or a blackhole): `lab probe` reads it as
 * no-route. nft's fib lookup finds no output interface for either.
 */
export function renderTransitGatewayCounter(): string {
  return [
    'table ip pn_tgw {',
    '  chain unrouted {',
    '    type filter hook prerouting priority filter; policy accept;',
    `    fib daddr oif missing counter comment "${DROP_COUNTERS.vpcNoRoute}"`,
    '  }',
    '}',
  ].join('\n');
}

/** How a router carries a route to what the model resolved its target to; undefined: not carried (local: rule 100). */
function nextHop(target: ResolvedTarget, plan: FabricPlan, wired: readonly WiredEni[], vpc: string): string | undefined {
  switch (target.kind) {
    case 'igw': {
      const i = plan.igws.findIndex((g) => g.name === target.igw.name);
      return i < 0 ? undefined : `via ${plan.igws[i]!.vpcSideIp} dev pn-igw${i}`;
    }
    case 'nat': {
      const w = wired.find((x) => x.eni.eniId === target.eni.eniId);
      return w ? `via ${target.nat.privateIp} dev ${w.link.port} onlink` : undefined;
    }
    case 'vgw': {
      const g = plan.vgws.find((x) => x.name === target.vgw.name);
      return g ? `via ${g.vgwSideIp} dev ${g.routerDev}` : undefined;
    }
    case 'pcx': {
      const p = plan.peerings.find((x) => x.name === target.peering.name);
      if (!p) return undefined;
      return `via ${p.requester === vpc ? p.accepterIp : p.requesterIp} dev ${p.dev}`;
    }
    case 'tgw': {
      const link = plan.tgws.find((g) => g.name === target.tgw.name)?.attachments.find((a) => a.vpc === vpc);
      return link ? `via ${link.tgwIp} dev ${link.routerDev}` : undefined;
    }
    default:
      return undefined;
  }
}

/**
 * The comments on the fabric's counting rules: `lab probe` reads these counters before and after a probe to say why
 * it was not delivered (drops.ts).
 */
export const DROP_COUNTERS = { sourceCheck: 'source-destination-check', vpcNoRoute: 'no-route', noPublicIp: 'no-public-ip', ...FILTER_COUNTERS } as const satisfies Record<string, VpcDropReason>;

/** The cluster endpoint's drop counters (eks-endpoint.ts), in the endpoint namespace's `pn_eks` table. */
export { ENDPOINT_COUNTERS };

/**
 * A VPC router's nft table. The VPC's source/destination check: a packet entering the fabric from an ENI must carry
 * a source address that EC2 assigned to that ENI (primary, secondary or inside a delegated prefix), else it is
 * dropped. And a count of packets for an address of the VPC that no ENI holds, which the router's `unreachable` route
 * for the VPC CIDR drops: nft's route lookup has no input port, which is right here, since rule 100 sends every VPC
 * destination to the main table whatever port it came in on. `filtering`: the security groups and network ACLs
 * (filtering.ts), in the same table so that one transaction replaces all of it.
 */
export function renderSourceCheck(allowed: readonly string[], unchecked: readonly string[], vpcCidrs: string | readonly string[], filtering: readonly string[] = []): string {
  const elements = (items: readonly string[]) => (items.length > 0 ? ` elements = { ${items.join(', ')} };` : '');
  const cidrs = typeof vpcCidrs === 'string' ? [vpcCidrs] : vpcCidrs;
  const vpcCidr = cidrs.length === 1 ? cidrs[0]! : `{ ${cidrs.join(', ')} }`;
  return [
    'table ip pn_vpc {',
    `  set eni_sources { type ifname . ipv4_addr; flags interval;${elements(allowed)} }`,
    `  set unchecked { type ifname;${elements(unchecked.map((u) => `"${u}"`))} }`,
    '  chain source_check {',
    '    type filter hook prerouting priority raw; policy accept;',
    '    iifname @unchecked accept',
    '    iifname . ip saddr @eni_sources accept',
    `    iifname "${ENI_PORT_GLOB}" counter drop comment "${DROP_COUNTERS.sourceCheck}"`,
    '  }',
    '  chain unheld_destination {',
    '    type filter hook prerouting priority filter; policy accept;',
    `    ip daddr ${vpcCidr} fib daddr oif missing counter comment "${DROP_COUNTERS.vpcNoRoute}"`,
    '  }',
    ...filtering,
    '}',
  ].join('\n');
}

/**
 * An internet gateway: 1:1 NAT both ways for addresses with a public IP; anything else from the VPC is dropped
 * (a private address without a public IP has no way out), and from the internet only mapped public IPs get in.
 */
export function renderIgwNat(pairs: ReadonlyArray<readonly [string, string]>): string {
  const map = (items: string[]) => (items.length > 0 ? ` elements = { ${items.join(', ')} };` : '');
  return [
    'table ip pn_igw {',
    `  map public_of { type ipv4_addr : ipv4_addr;${map(pairs.map(([a, b]) => `${a} : ${b}`))} }`,
    `  map private_of { type ipv4_addr : ipv4_addr;${map(pairs.map(([a, b]) => `${b} : ${a}`))} }`,
    `  set has_public { type ipv4_addr;${map(pairs.map(([a]) => a))} }`,
    '  chain inbound { type nat hook prerouting priority dstnat; policy accept; iifname "pn-inet" dnat to ip daddr map @private_of; }',
    '  chain outbound { type nat hook postrouting priority srcnat; policy accept; oifname "pn-inet" snat to ip saddr map @public_of; }',
    '  chain forward {',
    '    type filter hook forward priority filter; policy drop;',
    '    ct state established,related accept',
    '    iifname "pn-vpc" ip saddr @has_public accept',
    '    iifname "pn-inet" ct status dnat accept',
    `    iifname "pn-vpc" counter drop comment "${DROP_COUNTERS.noPublicIp}"`,
    '  }',
    '}',
  ].join('\n');
}

export function renderNatGateway(privateIp: string): string {
  return [
    'table ip pn_nat {',
    `  chain post { type nat hook postrouting priority srcnat; policy accept; oifname "eth0" ip saddr != ${privateIp} snat to ${privateIp}; }`,
    '}',
  ].join('\n');
}
