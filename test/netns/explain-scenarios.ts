// Seeded random lab scenarios and flows for the explain differential test (explain-differential.test.ts): small
// labs (2–3 nodes, one or two VPCs joined by peering or a transit gateway, sometimes a data centre behind a virtual
// private gateway) whose routes, security groups, network ACLs and node SNAT settings are drawn at random, and flows
// between every kind of endpoint. The same seed gives the same scenarios and flows, so a disagreement is replayed with
// PODNET_EXPLAIN_SEED=<seed>. Scenario i of a run forces one feature (see FORCED) so that a run of four covers every
// hop kind whatever the dice say; the rest is random.
import { stringify as toYaml } from 'yaml';
import { seededRandom } from '../../src/lib/index.js';

class Dice {
  constructor(readonly next: () => number) {}
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** a random subset with each item kept with probability p, at least `min` of them */
  some<T>(items: readonly T[], p: number, min = 0): T[] {
    const kept = items.filter(() => this.chance(p));
    while (kept.length < min) {
      const extra = this.pick(items.filter((i) => !kept.includes(i)));
      kept.push(extra);
    }
    return kept;
  }
  shuffle<T>(items: readonly T[]): T[] {
    const out = [...items];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [out[i], out[j]] = [out[j]!, out[i]!];
    }
    return out;
  }
}

/** The seed of a run: PODNET_EXPLAIN_SEED, or a fresh one (the test prints it either way). */
export function runSeed(env: NodeJS.ProcessEnv = process.env): number {
  const given = env.PODNET_EXPLAIN_SEED;
  if (given !== undefined && given !== '') {
    const n = Number(given);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`PODNET_EXPLAIN_SEED=${given}: a whole number 0..4294967295`);
    return n;
  }
  return Math.floor(Math.random() * 0xffffffff);
}

/** Scenario i's own seed, derived from the run's seed (so one scenario can be replayed alone). */
export function scenarioSeed(runSeedValue: number, index: number): number {
  return seededRandom((runSeedValue ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0)() * 0xffffffff >>> 0;
}

export type FlowProtocol = 'tcp' | 'udp' | 'icmp';

export interface GeneratedFlow {
  from: string;
  to: string;
  protocol: FlowProtocol;
  /** the echo port for tcp and udp */
  port?: number;
}

export interface GeneratedScenario {
  seed: number;
  /** what this scenario was forced to contain */
  forced: Feature;
  /** the scenario document (src/lab/scenario.ts schema) */
  document: Record<string, unknown>;
  yaml: string;
  flows: GeneratedFlow[];
}

/** One feature each scenario index guarantees, so four scenarios cover every hop kind. */
export type Feature = 'peering' | 'transit-gateway' | 'vpn-and-pre-1.8' | 'nat-and-external-snat';
export const FORCED: readonly Feature[] = ['peering', 'transit-gateway', 'vpn-and-pre-1.8', 'nat-and-external-snat'];

export const ECHO_PORT = 7007;
const MAIN = { cidr: '10.0.0.0/16', publicSubnet: '10.0.0.0/20', privateSubnet: '10.0.16.0/20' };
const PEER = { cidr: '10.1.0.0/16', subnet: '10.1.0.0/24' };
const DC = { cidr: '192.168.0.0/16', host: '192.168.10.10' };
const INTERNET_HOSTS = ['198.51.100.10', '198.51.100.20'];

type Rule = Record<string, unknown>;

/** A security group ingress rule drawn from what users write: CIDRs, group references, right and wrong ports. */
function ingressRules(d: Dice, own: string, other: string | undefined, peerVpc: boolean, fromDataCentre: boolean): Rule[] {
  const candidates: Array<[number, Rule]> = [
    [0.7, { protocol: 'all', cidr: MAIN.cidr }],
    [0.5, { protocol: 'all', sg: own }],
    [0.4, { protocol: 'tcp', ports: ECHO_PORT, cidr: '0.0.0.0/0' }],
    [0.25, { protocol: 'tcp', ports: '7000-7010', cidr: '198.51.100.0/24' }],
    [0.25, { protocol: 'udp', ports: ECHO_PORT, cidr: '10.0.0.0/8' }],
    [0.3, { protocol: 'icmp', cidr: '0.0.0.0/0' }],
    [0.2, { protocol: 'tcp', ports: 22, cidr: '0.0.0.0/0' }],
    [0.3, { protocol: 'all', cidr: MAIN.privateSubnet }],
  ];
  if (other) candidates.push([0.5, { protocol: 'tcp', ports: ECHO_PORT, sg: other }]);
  if (peerVpc) candidates.push([0.5, { protocol: 'tcp', ports: ECHO_PORT, cidr: PEER.cidr }], [0.2, { protocol: 'all', cidr: PEER.cidr }]);
  candidates.push([fromDataCentre ? 1 : 0.3, { protocol: 'all', cidr: DC.cidr }]);
  return candidates.filter(([p]) => d.chance(p)).map(([, r]) => r);
}

/**
 * A network ACL: deny entries before an allow-all (rule 100), or an allow list that lets in the echo port from some
 * network plus TCP replies (ephemeral ports) and so drops UDP replies and everything else by the implicit deny.
 */
function networkAcl(d: Dice, name: string, vpc: string, subnet: string, sources: string[]): Record<string, unknown> {
  const allowAll = { rule: 100, protocol: 'all', cidr: '0.0.0.0/0', action: 'allow' };
  if (d.chance(0.5)) {
    return {
      name,
      vpc,
      subnets: [subnet],
      ingress: [{ rule: 90, protocol: d.pick(['tcp', 'udp']), ports: ECHO_PORT, cidr: d.pick(sources), action: 'deny' }, allowAll],
      egress: d.chance(0.3) ? [{ rule: 90, protocol: 'icmp', cidr: d.pick(sources), action: 'deny' }, allowAll] : [allowAll],
    };
  }
  return {
    name,
    vpc,
    subnets: [subnet],
    ingress: [
      { rule: 100, protocol: 'tcp', ports: ECHO_PORT, cidr: d.pick(sources), action: 'allow' },
      { rule: 110, protocol: 'tcp', ports: '1024-65535', cidr: '0.0.0.0/0', action: 'allow' },
      ...(d.chance(0.5) ? [{ rule: 120, protocol: 'icmp', cidr: '0.0.0.0/0', action: 'allow' }] : []),
    ],
    egress: [allowAll],
  };
}

/** One random scenario, with `forced` guaranteed, and its flows. */
export function generateScenario(seed: number, forced: Feature, flowCount: number): GeneratedScenario {
  const d = new Dice(seededRandom(seed));
  const peerVpc = forced === 'peering' || forced === 'transit-gateway' || d.chance(0.6);
  const viaTgw = forced === 'transit-gateway' || (forced !== 'peering' && peerVpc && d.chance(0.4));
  const vpn = forced === 'vpn-and-pre-1.8' || d.chance(0.25);
  const nat = forced === 'nat-and-external-snat' || d.chance(0.6);

  const vpcs: Rule[] = [{ name: 'main', cidr: MAIN.cidr }];
  const subnets: Rule[] = [
    { name: 'public-a', vpc: 'main', az: 'us-west-2a', cidr: MAIN.publicSubnet },
    { name: 'private-a', vpc: 'main', az: 'us-west-2a', cidr: MAIN.privateSubnet },
  ];
  if (peerVpc) {
    vpcs.push({ name: 'peer', cidr: PEER.cidr });
    subnets.push({ name: 'peer-a', vpc: 'peer', az: 'us-west-2a', cidr: PEER.subnet });
  }
  // routes: each present or missing (a missing one is a drop the engine must name)
  const publicRoutes: Rule[] = [];
  const privateRoutes: Rule[] = [];
  const peerRoutes: Rule[] = [];
  if (d.chance(0.85) || nat) publicRoutes.push({ destination: '0.0.0.0/0', igw: 'main-igw' });
  if (nat && (forced === 'nat-and-external-snat' || d.chance(0.85))) privateRoutes.push({ destination: '0.0.0.0/0', nat: 'nat-a' });
  if (peerVpc && !viaTgw) {
    if (d.chance(0.7)) publicRoutes.push({ destination: PEER.cidr, pcx: 'main-peer' });
    if (forced === 'peering' || d.chance(0.8)) privateRoutes.push({ destination: PEER.cidr, pcx: 'main-peer' });
    if (d.chance(0.85)) peerRoutes.push({ destination: MAIN.cidr, pcx: 'main-peer' });
  }
  if (viaTgw) {
    // the attachment sits in private-a: only that subnet gets a route to the gateway
    if (forced === 'transit-gateway' || d.chance(0.85)) privateRoutes.push({ destination: PEER.cidr, tgw: 'hub' });
    if (d.chance(0.85)) peerRoutes.push({ destination: MAIN.cidr, tgw: 'hub' });
  }
  if (vpn) privateRoutes.push({ destination: DC.cidr, vgw: 'main-vgw' });
  const routeTables: Rule[] = [
    { name: 'public', vpc: 'main', subnets: ['public-a'], routes: publicRoutes },
    { name: 'private', vpc: 'main', subnets: ['private-a'], routes: privateRoutes },
  ];
  if (peerVpc) routeTables.push({ name: 'peer', vpc: 'peer', subnets: ['peer-a'], routes: peerRoutes });

  // security groups: two node groups referencing each other, the peer host's
  // the forced VPN scenario lets the data centre in, so its packets reach the pre-1.8 node's pod behind eth1 and the
  // reply's path (out of eth0, dropped by the source/destination check) is always in the corpus
  const forcedVpn = forced === 'vpn-and-pre-1.8';
  const securityGroups: Rule[] = [
    { name: 'nodes-a', vpc: 'main', ingress: ingressRules(d, 'nodes-a', 'nodes-b', peerVpc, forcedVpn) },
    { name: 'nodes-b', vpc: 'main', ingress: ingressRules(d, 'nodes-b', 'nodes-a', peerVpc, forcedVpn) },
    { name: 'main-hosts', vpc: 'main', ingress: ingressRules(d, 'main-hosts', 'nodes-a', peerVpc, false) },
  ];
  if (peerVpc) {
    const peerHosts: Rule = { name: 'peer-hosts', vpc: 'peer', ingress: d.some([{ protocol: 'all', cidr: MAIN.cidr }, { protocol: 'tcp', ports: ECHO_PORT, cidr: MAIN.privateSubnet }, { protocol: 'icmp', cidr: '0.0.0.0/0' }, { protocol: 'udp', ports: ECHO_PORT, cidr: MAIN.cidr }], 0.5, 1) };
    // an egress list: what the peer host itself may open
    if (d.chance(0.3)) peerHosts.egress = [{ protocol: 'tcp', cidr: '0.0.0.0/0' }];
    securityGroups.push(peerHosts);
  }
  const networkAcls: Rule[] = [];
  const aclSources = [MAIN.publicSubnet, MAIN.privateSubnet, MAIN.cidr, ...(peerVpc ? [PEER.cidr] : []), '198.51.100.0/24'];
  if (!forcedVpn && d.chance(0.4)) networkAcls.push(networkAcl(d, 'private-acl', 'main', 'private-a', aclSources));
  if (d.chance(0.25)) networkAcls.push(networkAcl(d, 'public-acl', 'main', 'public-a', aclSources));
  if (peerVpc && (forced === 'peering' || d.chance(0.6))) networkAcls.push(networkAcl(d, 'peer-acl', 'peer', 'peer-a', aclSources));

  // nodes: 2–3 (the forced scenarios' features need a node each), public or private, random SNAT settings
  const nodeCount = d.int(2, 3);
  const instances: Rule[] = [];
  const nodes: Rule[] = [];
  const pods: Rule[] = [];
  for (let i = 0; i < nodeCount; i++) {
    const name = `node-${String.fromCharCode(97 + i)}`;
    const publicSubnet = i === 0 ? true : i === 1 ? false : d.chance(0.5);
    const groups = d.some(['nodes-a', 'nodes-b'], 0.5, 1);
    instances.push({ name, type: 't3.small', subnet: publicSubnet ? 'public-a' : 'private-a', publicIp: publicSubnet && d.chance(0.6), securityGroups: groups });
    const env: Record<string, string> = {};
    // the forced pre-1.8 node excludes the data centre from SNAT: its secondary-ENI pod's packets there leave eth0
    // with the pod's own address, which the source/destination check drops
    if (forced === 'vpn-and-pre-1.8' && i === 1) env.AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS = DC.cidr;
    else if ((forced === 'nat-and-external-snat' && i === 1) || d.chance(0.2)) env.AWS_VPC_K8S_CNI_EXTERNALSNAT = 'true';
    else if (d.chance(0.35)) env.AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS = d.pick([...(peerVpc ? [PEER.cidr] : []), '198.51.100.0/24', DC.cidr]);
    const pre18 = (forced === 'vpn-and-pre-1.8' && i === 1) || d.chance(0.2);
    if (pre18) env.PODNET_PRE_1_8_ROUTING = 'true';
    if (d.chance(0.3)) env.AWS_VPC_K8S_CNI_RANDOMIZESNAT = d.pick(['prng', 'hashrandom', 'none']);
    nodes.push({ instance: name, ...(Object.keys(env).length > 0 ? { env } : {}) });
    pods.push({ name: `pod-${String.fromCharCode(97 + i)}`, node: name });
    // a pod behind the secondary ENI on the pre-1.8 node (its replies' path is the point) and now and then elsewhere
    if (pre18 || (i === 1 && forced !== 'vpn-and-pre-1.8' && d.chance(0.5))) pods.push({ name: `eni-${String.fromCharCode(97 + i)}`, node: name, eni: 1 });
  }
  pods.push({ name: 'hostnet', node: d.pick(nodes.map((n) => n.instance as string)), hostNetwork: true });

  const hosts: Rule[] = [];
  if (peerVpc) {
    instances.push({ name: 'peer-host', type: 't3.micro', subnet: 'peer-a', securityGroups: ['peer-hosts'] });
    hosts.push({ instance: 'peer-host' });
  }
  if (!peerVpc || d.chance(0.4)) {
    instances.push({ name: 'main-host', type: 't3.micro', subnet: d.pick(['public-a', 'private-a']), publicIp: d.chance(0.4), securityGroups: ['main-hosts'] });
    hosts.push({ instance: 'main-host' });
  }
  const internetHosts = INTERNET_HOSTS.slice(0, d.int(1, 2)).map((address, i) => ({ name: `inet-${i + 1}`, address }));

  const document: Record<string, unknown> = {
    vpcs,
    subnets,
    internetGateways: [{ name: 'main-igw', vpc: 'main' }],
    ...(nat ? { natGateways: [{ name: 'nat-a', subnet: 'public-a' }] } : {}),
    ...(peerVpc && !viaTgw ? { peerings: [{ name: 'main-peer', requester: 'main', accepter: 'peer' }] } : {}),
    routeTables,
    ...(viaTgw ? { transitGateways: [{ name: 'hub', attachments: [{ vpc: 'main', subnets: ['private-a'] }, { vpc: 'peer', subnets: ['peer-a'] }] }] } : {}),
    ...(vpn ? { virtualPrivateGateways: [{ name: 'main-vgw', vpc: 'main' }], onPremises: [{ name: 'dc', cidr: DC.cidr, via: { vgw: 'main-vgw' } }] } : {}),
    securityGroups,
    networkAcls,
    instances,
    nodes,
    hosts,
    internetHosts,
    ...(vpn ? { onPremHosts: [{ name: 'dc-host', network: 'dc', address: DC.host }] } : {}),
    pods,
  };
  const endpoints = [
    ...pods.map((p) => p.name as string),
    ...nodes.map((n) => n.instance as string),
    ...hosts.map((h) => h.instance as string),
    ...internetHosts.map((h) => h.name),
    ...(vpn ? ['dc-host'] : []),
  ];
  // the flows whose node-side answer is the point of the features: a pod behind eth1 to and from what is outside its
  // VPC (pre-1.8 replies, SNAT of secondary-ENI pods), and every pod to each of those (SNAT, exclusions, the gateways)
  const outside = [...(peerVpc ? ['peer-host'] : []), ...(vpn ? ['dc-host'] : []), 'inet-1'];
  const eniPods = pods.filter((p) => p.eni !== undefined).map((p) => p.name as string);
  const targeted: Array<[string, string]> = [
    ...eniPods.flatMap((p) => outside.flatMap((o): Array<[string, string]> => [[p, o], [o, p]])),
    ...pods.filter((p) => !p.hostNetwork && p.eni === undefined).flatMap((p) => outside.map((o): [string, string] => [p.name as string, o])),
  ];
  return { seed, forced, document, yaml: toYaml(document), flows: generateFlows(d, endpoints, targeted, flowCount) };
}

/**
 * `count` distinct flows: the targeted pairs, then every endpoint sends at least once and is reached at least once (so
 * every kind of endpoint is on both ends), the rest random pairs; mostly TCP to the echo port, some UDP and ICMP.
 */
function generateFlows(d: Dice, endpoints: string[], targeted: Array<[string, string]>, count: number): GeneratedFlow[] {
  const protocol = (): FlowProtocol => {
    const r = d.next();
    return r < 0.75 ? 'tcp' : r < 0.9 ? 'udp' : 'icmp';
  };
  const flows: GeneratedFlow[] = [];
  const seen = new Set<string>();
  const add = (from: string, to: string) => {
    const p = protocol();
    const key = `${from}>${to}/${p}`;
    if (from === to || seen.has(key)) return;
    seen.add(key);
    flows.push({ from, to, protocol: p, ...(p === 'icmp' ? {} : { port: ECHO_PORT }) });
  };
  const others = (e: string) => endpoints.filter((x) => x !== e);
  for (const [from, to] of targeted) add(from, to);
  for (const e of d.shuffle(endpoints)) {
    add(e, d.pick(others(e)));
    add(d.pick(others(e)), e);
  }
  // half the random flows start outside the main VPC (the internet, the peered VPC, the data centre), where routes,
  // public IPs, groups and ACLs drop most: the corpus needs its drops (≥ 30 %)
  const outsiders = endpoints.filter((e) => /^(inet-|peer-host|dc-host)/.test(e));
  for (let tries = 0; flows.length < count && tries < count * 20; tries++) add(d.chance(0.5) ? d.pick(outsiders) : d.pick(endpoints), d.pick(endpoints));
  return flows.slice(0, count);
}

/** The run's scenarios: `count` of them, scenario i forced to FORCED[i % 4]. */
export function generateRun(seed: number, count: number, flowsPerScenario: number): GeneratedScenario[] {
  return Array.from({ length: count }, (_, i) => generateScenario(scenarioSeed(seed, i), FORCED[i % FORCED.length]!, flowsPerScenario));
}
