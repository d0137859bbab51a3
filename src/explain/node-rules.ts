/**
 * A node's rules as dataplane renders them, and an interpreter for exactly the grammar those renderers emit. The
 * rules come from the renderers themselves (renderHostRules, renderPodNetwork, renderEniNetwork, renderBranchEniPod):
 * explain holds no second encoding of them. A rule the interpreter does not understand is kept as text and, if a
 * packet reaches it, makes the answer `unknown` naming that rule — never a guess.
 */
import { eniRouteTable, formatRoute, formatRule, MAIN_TABLE, renderBranchEniPod, renderEniNetwork, renderHostRules, renderPodNetwork, type HostNetwork, type IpRule, type PodSgEnforcingMode, type Route } from '../dataplane/index.js';
import { cidrContains, formatAddress, isAddressText, parseAddress, parseCidr, subnetGateway, type Cidr } from '../net/index.js';
import { eniHolding, vpcCidrsOf } from '../vpc/index.js';
import type { AttachedEni, Endpoint, NodeView, World } from './world.js';

/** A pod's wiring on its node: the ENI holding its address, its host veth, and the rules and routes rendered for it. */
export interface NodePod {
  endpoint: Endpoint;
  eni: AttachedEni;
  hostVeth: string;
  rules: IpRule[];
  routes: Route[];
  /** the pod's own default route (in its namespace): to the node over its veth */
  podDefaultRoute: Route;
  /** a branch pod (security groups for pods): `eni` is its branch ENI, reached over `vlanLink`, wired in `mode` */
  branch?: { vlanLink: string; mode: PodSgEnforcingMode };
}

/** Everything the renderers produce for one node, plus the OS-owned routes of the primary ENI, as data. */
export interface NodeRuleSet {
  node: NodeView;
  primaryEni: AttachedEni;
  primaryIp: string;
  vpcCidrs: string[];
  host: HostNetwork;
  pods: NodePod[];
  /**
   * each attached ENI with the Linux link it is (primary: the node's primary interface; device n: eth<n>), then each
   * branch ENI the node wires for a pod of its own as its `vlan.eth.<id>` (`branch`: its address is the pod's, not the
   * node's); a branch on the trunk that no pod of the node holds, or on a node without ENABLE_POD_ENI, has no link here
   */
  enis: { eni: AttachedEni; device: string; branch?: true }[];
  /** ip rules: the host's (strict SGP's local rule at 20 too), the pods', the secondary ENIs' (not the kernel's 0, 32766, 32767) */
  ipRules: IpRule[];
  /** every route of every table: the primary ENI's (the OS's), the pods' host routes, the secondary ENIs' tables */
  routes: Route[];
}

/** The kernel's local table (RT_TABLE_LOCAL): its rule is 0, or 20 where strict SGP moved it. */
const LOCAL_TABLE = 255;

/** A veth's MAC is not part of any decision explain makes; the renderer needs one. */
const ANY_MAC = '02:00:00:00:00:00';

/** `namespace/name` or a bare name (namespace `default`), as the host veth's name is derived from both. */
function podIdentity(name: string): { namespace: string; podName: string } {
  const slash = name.indexOf('/');
  return slash > 0 ? { namespace: name.slice(0, slash), podName: name.slice(slash + 1) } : { namespace: 'default', podName: name };
}

/** The Linux link of an attached ENI: the node's primary interface for device 0, else eth<device index>. */
function deviceOf(node: NodeView, eni: AttachedEni): string {
  return (eni.deviceIndex ?? 0) === 0 ? node.primaryInterface : `eth${eni.deviceIndex}`;
}

/** Renders a node's rules from its settings and the world, or says why it cannot. */
export function renderNodeRules(world: World, node: NodeView): NodeRuleSet | { missing: string } {
  const attached: AttachedEni[] = world.model.enis;
  const enis = attached.filter((e) => e.instanceId === node.instanceId).sort((a, b) => (a.deviceIndex ?? 0) - (b.deviceIndex ?? 0));
  const primaryEni = enis.find((e) => (e.deviceIndex ?? 0) === 0);
  if (!primaryEni) return { missing: `node ${node.name} (${node.instanceId}) has no primary ENI (device index 0) in the model` };
  const primaryIp = primaryEni.privateIps[0];
  if (!primaryIp) return { missing: `the primary ENI ${primaryEni.eniId} of node ${node.name} has no private address` };
  const vpc = world.model.vpcs.find((v) => v.id === primaryEni.vpcId);
  if (!vpc) return { missing: `no VPC ${primaryEni.vpcId} (of node ${node.name}) in the model` };
  if (node.settings.enableIPv6) return { missing: `node ${node.name} runs in IPv6 mode, which explain does not model` };
  const s = node.settings;
  const host = renderHostRules({
    vpcCidrs: vpcCidrsOf(vpc),
    excludeSnatCidrs: s.excludeSnatCidrs,
    primaryIp,
    primaryInterface: node.primaryInterface,
    vethPrefix: s.vethPrefix,
    connmarkBackend: node.connmarkBackend,
    mark: s.connmark,
    externalSnat: s.externalSnat,
    nodePortSupport: s.nodePortSupport,
    randomizeSnat: s.randomizeSnat,
    randomFullySupported: node.randomFullySupported,
    ipv6: false,
    pre18Routing: s.pre18Routing,
    externalServiceCidrs: s.externalServiceCidrs,
    // as ipamd passes it (src/ipamd/node-dataplane.ts): the local rule moves to 20 only with ENABLE_POD_ENI in strict mode
    podSgStrict: s.podEni && s.podSgEnforcingMode === 'strict',
  });
  const ipRules: IpRule[] = [...host.ipRules];
  const routes: Route[] = [];
  const subnetOf = (eni: AttachedEni) => world.model.subnets.find((x) => x.id === eni.subnetId);
  const primarySubnet = subnetOf(primaryEni);
  if (!primarySubnet) return { missing: `no subnet ${primaryEni.subnetId} (of ${primaryEni.eniId}) in the model` };
  // the primary ENI's routes are the OS's (DHCP): its connected subnet and the default route via the subnet's router
  const primaryGateway = formatAddress(subnetGateway(parseCidr(primarySubnet.cidr)));
  routes.push({ dst: 'default', via: primaryGateway, dev: node.primaryInterface, table: MAIN_TABLE });
  routes.push({ dst: primarySubnet.cidr, dev: node.primaryInterface, scope: 'link', table: MAIN_TABLE });
  // the branch ENIs on this node's trunk; the trunk is the ENI EC2 types `trunk`, with or without branches (or, where
  // the reader did not know the type, the ENI a branch names)
  const branches = attached.filter((b) => b.trunk && enis.some((e) => e.eniId === b.trunk!.trunkEniId));
  // EC2 gives each branch of a trunk a VLAN of its own: two on one VLAN would be one link, which the model cannot be
  for (const b of branches) {
    const twin = branches.find((x) => x !== b && x.trunk!.trunkEniId === b.trunk!.trunkEniId && x.trunk!.vlanId === b.trunk!.vlanId);
    if (twin) return { missing: `branch ENIs ${b.eniId} and ${twin.eniId} are both on VLAN ${b.trunk!.vlanId} of trunk ${b.trunk!.trunkEniId} (node ${node.name}): a trunk's VLAN is one branch's` };
  }
  const trunkIds = new Set([...enis.filter((e) => e.interfaceType === 'trunk').map((e) => e.eniId), ...branches.map((b) => b.trunk!.trunkEniId)]);
  for (const eni of enis) {
    if (eni === primaryEni) continue;
    const subnet = subnetOf(eni);
    const ip = eni.privateIps[0];
    if (!subnet || !ip || eni.deviceIndex === null) return { missing: `the secondary ENI ${eni.eniId} of node ${node.name} lacks its subnet, address or device index in the model` };
    const network = renderEniNetwork({ interface: deviceOf(node, eni), deviceNumber: eni.deviceIndex, primaryIp: ip, subnetCidr: subnet.cidr, mtu: 9001 });
    routes.push(...network.routes);
    // the trunk ENI's table is set up like any secondary ENI's, but ipamd adds no prio-32765 rule for it (§3.2 step 7)
    if (!trunkIds.has(eni.eniId)) ipRules.push(network.rule);
  }
  const pods: NodePod[] = [];
  const branchLinks: { eni: AttachedEni; device: string; branch: true }[] = [];
  for (const endpoint of world.endpoints) {
    if (endpoint.kind !== 'pod' || endpoint.hostNetwork || endpoint.node !== node.name) continue;
    const { namespace, podName } = podIdentity(endpoint.name);
    // a branch pod: ipamd wires it only with ENABLE_POD_ENI (without it the pod would have had a pool address)
    const branch = s.podEni ? eniHolding(branches, endpoint.address) : undefined;
    if (branch) {
      const subnet = subnetOf(branch);
      if (!subnet) return { missing: `no subnet ${branch.subnetId} (of branch ENI ${branch.eniId}) in the model` };
      // as ipamd calls it (wireBranchPod): the conflist's mode, the configured veth prefix; the link is the fabric's or
      // made on the trunk, which changes no rule or route. What ipamd would refuse to wire (a VLAN id out of 1–4094, …)
      // the node has no rules for: the question is unanswerable, not the world's reader broken
      let b: ReturnType<typeof renderBranchEniPod>;
      try {
        b = renderBranchEniPod({
          namespace, podName, vethPrefix: s.vethPrefix, mode: s.podSgEnforcingMode, vlanId: branch.trunk!.vlanId, branchMac: ANY_MAC, podIp: endpoint.address,
          subnetCidr: subnet.cidr, mtu: 9001, hostVethMac: ANY_MAC, createVlanLink: false,
        });
      } catch (err) {
        return { missing: `ipamd cannot wire pod ${endpoint.name} through branch ENI ${branch.eniId} on node ${node.name}: ${err instanceof Error ? err.message : String(err)}` };
      }
      const podDefaultRoute = b.pod.podRoutes.find((r) => r.dst === 'default');
      if (!podDefaultRoute) return { missing: `the branch pod network rendered for ${endpoint.name} has no default route` };
      pods.push({ endpoint, eni: branch, hostVeth: b.pod.hostVeth, rules: b.pod.hostRules, routes: [...b.vlanRoutes, ...b.pod.hostRoutes], podDefaultRoute, branch: { vlanLink: b.vlanLink, mode: b.mode } });
      branchLinks.push({ eni: branch, device: b.vlanLink, branch: true });
      ipRules.push(...b.pod.hostRules);
      routes.push(...b.vlanRoutes, ...b.pod.hostRoutes);
      continue;
    }
    const eni = eniHolding(enis, endpoint.address);
    // a pod whose address no ENI of its node holds has no wiring to render (its own flows say so); the others do
    if (!eni) continue;
    const network = renderPodNetwork({
      namespace, podName, vethPrefix: s.vethPrefix, podIp: endpoint.address, routeTable: eniRouteTable(eni.deviceIndex ?? 0), mtu: 9001, hostVethMac: ANY_MAC,
    });
    const podDefaultRoute = network.podRoutes.find((r) => r.dst === 'default');
    if (!podDefaultRoute) return { missing: `the pod network rendered for ${endpoint.name} has no default route` };
    pods.push({ endpoint, eni, hostVeth: network.hostVeth, rules: network.hostRules, routes: network.hostRoutes, podDefaultRoute });
    ipRules.push(...network.hostRules);
    routes.push(...network.hostRoutes);
  }
  ipRules.sort((a, b) => a.priority - b.priority);
  return { node, primaryEni, primaryIp, vpcCidrs: vpcCidrsOf(vpc), host, pods, enis: [...enis.map((eni) => ({ eni, device: deviceOf(node, eni) })), ...branchLinks], ipRules, routes };
}

// ---- the interpreter -------------------------------------------------------------------------------------------

/** An interface match: `-i eni+` (prefix) or `-o eth0` (exact), maybe negated. */
interface IfMatch {
  name: string;
  prefix: boolean;
  negate: boolean;
}

type IptTarget =
  | { kind: 'return' }
  | { kind: 'jump'; chain: string }
  | { kind: 'snat'; toSource: string; portFlag: '' | 'random' | 'random-fully' }
  | { kind: 'connmark-set'; value: number; mask: number }
  | { kind: 'connmark-restore'; nfmask: number; ctmask: number };

interface IptRule {
  text: string;
  /** null: the spec has something the interpreter does not understand */
  parsed: { dest?: { cidr: Cidr; negate: boolean }; iif?: IfMatch; oif?: IfMatch; dstLocal?: { negate: boolean; limitIfaceIn: boolean }; target: IptTarget } | null;
}

/** Splits a save-form spec into words; a double-quoted word (a comment) is one word. */
function words(spec: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  for (let m = re.exec(spec); m; m = re.exec(spec)) out.push(m[1] ?? m[2]!);
  return out;
}

const num = (w: string | undefined): number | null => (w !== undefined && /^(0x[0-9a-f]+|\d+)$/i.test(w) ? Number(w) : null);

/** Parses one spec of the renderers' grammar; null for anything else. */
export function parseIptablesSpec(spec: string, chains: ReadonlySet<string>): IptRule['parsed'] {
  const w = words(spec);
  const r: NonNullable<IptRule['parsed']> = { target: { kind: 'return' } };
  let target: IptTarget | null = null;
  let negate = false;
  for (let i = 0; i < w.length; i++) {
    const word = w[i]!;
    if (word === '!') {
      negate = true;
      continue;
    }
    if (word === '-d' || word === '-i' || word === '-o') {
      const value = w[++i];
      if (value === undefined) return null;
      if (word === '-d') {
        try {
          r.dest = { cidr: parseCidr(value.includes('/') ? value : `${value}/32`), negate };
        } catch {
          return null;
        }
      } else {
        const m: IfMatch = { name: value.endsWith('+') ? value.slice(0, -1) : value, prefix: value.endsWith('+'), negate };
        if (word === '-i') r.iif = m;
        else r.oif = m;
      }
    } else if (word === '-m' && w[i + 1] === 'comment' && w[i + 2] === '--comment' && w[i + 3] !== undefined && !negate) {
      i += 3;
    } else if (word === '-m' && w[i + 1] === 'addrtype' && !negate) {
      i += 1;
      let neg = false;
      if (w[i + 1] === '!') {
        neg = true;
        i++;
      }
      if (w[i + 1] !== '--dst-type' || w[i + 2] !== 'LOCAL') return null;
      i += 2;
      let limitIfaceIn = false;
      if (w[i + 1] === '--limit-iface-in') {
        limitIfaceIn = true;
        i++;
      }
      r.dstLocal = { negate: neg, limitIfaceIn };
    } else if (word === '-j' && !negate && target === null) {
      const t = w[++i];
      if (t === 'RETURN') target = { kind: 'return' };
      else if (t === 'SNAT') {
        // an address only: a port range or an address range is not what the renderers write
        if (w[i + 1] !== '--to-source' || !w[i + 2] || !isAddressText(w[i + 2]!)) return null;
        const toSource = w[i + 2]!;
        i += 2;
        let portFlag: '' | 'random' | 'random-fully' = '';
        if (w[i + 1] === '--random' || w[i + 1] === '--random-fully') portFlag = w[++i]!.slice(2) as 'random' | 'random-fully';
        target = { kind: 'snat', toSource, portFlag };
      } else if (t === 'CONNMARK' && w[i + 1] === '--set-xmark') {
        const [v, m] = (w[i + 2] ?? '').split('/');
        const value = num(v);
        const mask = m === undefined ? 0xffffffff : num(m);
        if (value === null || mask === null) return null;
        i += 2;
        target = { kind: 'connmark-set', value, mask };
      } else if (t === 'CONNMARK' && w[i + 1] === '--restore-mark' && w[i + 2] === '--nfmask' && w[i + 4] === '--ctmask') {
        const nfmask = num(w[i + 3]);
        const ctmask = num(w[i + 5]);
        if (nfmask === null || ctmask === null) return null;
        i += 5;
        target = { kind: 'connmark-restore', nfmask, ctmask };
      } else if (t !== undefined && chains.has(t)) target = { kind: 'jump', chain: t };
      else return null;
    } else return null;
    negate = false;
  }
  if (negate || target === null) return null;
  r.target = target;
  return r;
}

type NftRule =
  | { kind: 'fib-local-return' }
  | { kind: 'iifname-jump'; name: string; prefix: boolean; chain: string }
  | { kind: 'daddr-return'; cidr: Cidr }
  | { kind: 'ct-mark-or'; mask: number }
  | { kind: 'meta-mark-from-ct'; mask: number };

/** Parses one nft rule of the connmark table's grammar (§2.4); null for anything else. */
export function parseNftRule(text: string): NftRule | null {
  if (text === 'fib daddr type local return') return { kind: 'fib-local-return' };
  let m = /^iifname "([^"*]+)(\*?)" counter jump (\S+)$/.exec(text);
  if (m) return { kind: 'iifname-jump', name: m[1]!, prefix: m[2] === '*', chain: m[3]! };
  m = /^counter ip daddr (\S+) return$/.exec(text);
  if (m) {
    try {
      return { kind: 'daddr-return', cidr: parseCidr(m[1]!.includes('/') ? m[1]! : `${m[1]}/32`) };
    } catch {
      return null;
    }
  }
  m = /^counter ct mark set ct mark \| (0x[0-9a-f]+|\d+)$/i.exec(text);
  if (m) return { kind: 'ct-mark-or', mask: Number(m[1]) };
  m = /^counter meta mark set ct mark & (0x[0-9a-f]+|\d+)$/i.exec(text);
  if (m) return { kind: 'meta-mark-from-ct', mask: Number(m[1]) };
  return null;
}

interface CompiledIpRule {
  rule: IpRule;
  text: string;
  from?: Cidr;
  to?: Cidr;
}

interface CompiledRoute {
  route: Route;
  text: string;
  dst: Cidr;
}

/** A node's rules parsed once (per world), ready to evaluate packets against. */
export interface CompiledNode {
  set: NodeRuleSet;
  /** `<table> <chain>` → its rules in order */
  chains: Map<string, IptRule[]>;
  nft: { prerouting: { text: string; rule: NftRule | null }[]; chains: Map<string, { text: string; rule: NftRule | null }[]> } | null;
  ipRules: CompiledIpRule[];
  routes: Map<number, CompiledRoute[]>;
  /** the node's own addresses (each ENI's primary address on its link) → that link */
  local: Map<string, string>;
  /** Linux link → the ENI it is */
  devices: Map<string, AttachedEni>;
  /** host veth → the pod behind it */
  veths: Map<string, NodePod>;
}

/** `ip rule <prio>: <selector> lookup <table>`: the renderer's words (formatRule), `from all` where it selects everything. */
function ipRuleText(rule: IpRule): string {
  // ip names the local table in its output, which formatRule (made for `ip rule add`) leaves a number
  const words = formatRule(rule).replace(/ prio \d+$/, '').replace(/lookup 255$/, 'lookup local');
  return `ip rule ${rule.priority}: ${words.startsWith('lookup ') ? `from all ${words}` : words}`;
}

const hostCidr = (a: string): Cidr => parseCidr(a === 'default' ? '0.0.0.0/0' : a.includes('/') ? a : `${a}/32`);

export function compileNode(set: NodeRuleSet): CompiledNode {
  const userChains = new Set(set.host.iptables.chains.map((c) => c.chain));
  const chains = new Map<string, IptRule[]>();
  for (const r of set.host.iptables.rules) {
    const key = `${r.table} ${r.chain}`;
    if (!chains.has(key)) chains.set(key, []);
    chains.get(key)!.push({ text: `${r.table} ${r.chain}: ${r.spec}`, parsed: parseIptablesSpec(r.spec, userChains) });
  }
  const nftText = (chain: string, rule: string) => `table ip aws-cni chain ${chain}: ${rule}`;
  const nft = set.host.nft && {
    prerouting: set.host.nft.prerouting.map((t) => ({ text: nftText('nat-prerouting', t), rule: parseNftRule(t) })),
    chains: new Map([['snat-mark', [...set.host.nft.cidrReturns, set.host.nft.setMark].map((t) => ({ text: nftText('snat-mark', t), rule: parseNftRule(t) }))]]),
  };
  // the kernel's own rules around the CNI's: `0: from all lookup local` (unless the host rules moved the local table,
  // strict SGP's prio 20: ipamd deletes the kernel's 0 then) and `32766: from all lookup main`
  const kernelLocal: IpRule[] = set.ipRules.some((r) => r.table === LOCAL_TABLE) ? [] : [{ family: 4, priority: 0, table: LOCAL_TABLE }];
  const main: IpRule = { family: 4, priority: 32766, table: MAIN_TABLE };
  const ipRules: CompiledIpRule[] = [...kernelLocal, ...set.ipRules, main].map((rule) => ({
    rule,
    text: ipRuleText(rule),
    ...(rule.from ? { from: hostCidr(rule.from) } : {}),
    ...(rule.to ? { to: hostCidr(rule.to) } : {}),
  }));
  const routes = new Map<number, CompiledRoute[]>();
  for (const route of set.routes) {
    if (!routes.has(route.table)) routes.set(route.table, []);
    routes.get(route.table)!.push({ route, text: `route ${formatRoute(route)}`, dst: hostCidr(route.dst) });
  }
  const local = new Map<string, string>();
  const devices = new Map<string, AttachedEni>();
  for (const { eni, device, branch } of set.enis) {
    devices.set(device, eni);
    // a branch ENI's address is its pod's: the node has no address on vlan.eth.<id>
    if (eni.privateIps[0] && !branch) local.set(eni.privateIps[0], device);
  }
  return { set, chains, nft, ipRules, routes, local, devices, veths: new Map(set.pods.map((p) => [p.hostVeth, p])) };
}

// ---- evaluation ----------------------------------------------------------------------------------------------

/** One packet at a node: addresses, the link it came in by (null: sent by the node itself), its mark and its connection's. */
export interface NodePacket {
  source: string | null;
  destination: string;
  iif: string | null;
  mark: number;
  ctmark: number;
}

/** A rule the packet matched, with what it did. */
export interface NodeStep {
  kind: 'rules' | 'routing';
  matched: string;
  action: string;
  /** the SNAT rule that rewrote (or would rewrite) the source */
  snat?: { toSource: string; portFlag: '' | 'random' | 'random-fully' };
  /** the RETURN that kept the source: the rule's comment tells a VPC CIDR from an exclusion */
  snatReturn?: 'vpc' | 'excluded';
  ipRulePriority?: number;
}

export class NotUnderstood extends Error {
  constructor(readonly rule: string) {
    super(`explain does not understand the node rule \`${rule}\``);
  }
}

/** Parsed addresses, kept: the same few addresses are matched against every rule of a chain and every ip rule. */
const parsed = new Map<string, ReturnType<typeof parseAddress>>();
function address(text: string): ReturnType<typeof parseAddress> {
  let a = parsed.get(text);
  if (!a) {
    if (parsed.size > 100_000) parsed.clear();
    parsed.set(text, (a = parseAddress(text)));
  }
  return a;
}
const inCidr = (text: string | null, cidr: Cidr): boolean => text !== null && cidrContains(cidr, address(text));
const ifMatches = (m: IfMatch, name: string | null): boolean => {
  const hit = name !== null && (m.prefix ? name.startsWith(m.name) : name === m.name);
  return m.negate ? !hit : hit;
};

function iptMatches(node: CompiledNode, r: NonNullable<IptRule['parsed']>, p: NodePacket, oif: string | null): boolean {
  if (r.dest && inCidr(p.destination, r.dest.cidr) === r.dest.negate) return false;
  if (r.iif && !ifMatches(r.iif, p.iif)) return false;
  if (r.oif && !ifMatches(r.oif, oif)) return false;
  if (r.dstLocal) {
    const link = node.local.get(p.destination);
    const local = link !== undefined && (!r.dstLocal.limitIfaceIn || link === p.iif);
    if (local === r.dstLocal.negate) return false;
  }
  return true;
}

/**
 * Runs a builtin iptables chain over the packet (mutating its marks), recording every rule it matched in `steps` (a
 * SNAT step carries its target; {@link postrouting} applies it).
 */
function runIptables(node: CompiledNode, table: string, chain: string, p: NodePacket, oif: string | null, steps: NodeStep[]): void {
  const walk = (name: string, depth: number): 'return' | 'accept' => {
    if (depth > 16) throw new NotUnderstood(`${table} ${name}: jumps nest deeper than 16 chains`);
    for (const rule of node.chains.get(`${table} ${name}`) ?? []) {
      if (!rule.parsed) throw new NotUnderstood(rule.text);
      if (!iptMatches(node, rule.parsed, p, oif)) continue;
      const t = rule.parsed.target;
      switch (t.kind) {
        case 'return': {
          const excluded = /EXCLUSION/.test(rule.text);
          steps.push({ kind: 'rules', matched: rule.text, action: `returned from ${name}`, ...(name.startsWith('AWS-SNAT-CHAIN') ? { snatReturn: excluded ? 'excluded' as const : 'vpc' as const } : {}) });
          return 'return';
        }
        case 'jump': {
          steps.push({ kind: 'rules', matched: rule.text, action: `jumped to ${t.chain}` });
          if (walk(t.chain, depth + 1) === 'accept') return 'accept';
          break;
        }
        case 'snat':
          steps.push({ kind: 'rules', matched: rule.text, action: p.source === t.toSource ? `SNAT to ${t.toSource}, already the source: unchanged` : `source ${p.source} → ${t.toSource}`, snat: { toSource: t.toSource, portFlag: t.portFlag } });
          return 'accept';
        case 'connmark-set':
          p.ctmark = (p.ctmark & ~t.mask) ^ t.value;
          steps.push({ kind: 'rules', matched: rule.text, action: `connection mark set to 0x${p.ctmark.toString(16)}` });
          break;
        case 'connmark-restore':
          p.mark = (p.mark & ~t.nfmask) | (p.ctmark & t.ctmask);
          steps.push({ kind: 'rules', matched: rule.text, action: `packet mark restored from the connection: 0x${p.mark.toString(16)}` });
          break;
      }
    }
    return 'return';
  };
  walk(chain, 0);
}

/** The nft table's prerouting chain (priority -90, after iptables' nat PREROUTING at -100). */
function runNft(node: CompiledNode, p: NodePacket, steps: NodeStep[]): void {
  if (!node.nft) return;
  const walk = (rules: { text: string; rule: NftRule | null }[], depth: number): 'return' | 'done' => {
    for (const { text, rule } of rules) {
      if (!rule) throw new NotUnderstood(text);
      switch (rule.kind) {
        case 'fib-local-return':
          if (node.local.has(p.destination)) {
            steps.push({ kind: 'rules', matched: text, action: `${p.destination} is the node's own address: no mark` });
            return 'return';
          }
          break;
        case 'iifname-jump': {
          const hit = p.iif !== null && (rule.prefix ? p.iif.startsWith(rule.name) : p.iif === rule.name);
          if (!hit) break;
          const chain = node.nft!.chains.get(rule.chain);
          if (!chain || depth > 4) throw new NotUnderstood(text);
          steps.push({ kind: 'rules', matched: text, action: `jumped to ${rule.chain}` });
          walk(chain, depth + 1);
          break;
        }
        case 'daddr-return':
          if (inCidr(p.destination, rule.cidr)) {
            steps.push({ kind: 'rules', matched: text, action: 'returned: not marked' });
            return 'return';
          }
          break;
        case 'ct-mark-or':
          p.ctmark |= rule.mask;
          steps.push({ kind: 'rules', matched: text, action: `connection mark set to 0x${p.ctmark.toString(16)}` });
          break;
        case 'meta-mark-from-ct':
          p.mark = p.ctmark & rule.mask;
          steps.push({ kind: 'rules', matched: text, action: `packet mark set from the connection: 0x${p.mark.toString(16)}` });
          break;
      }
    }
    return 'done';
  };
  walk(node.nft.prerouting, 0);
}

/**
 * PREROUTING of a packet entering the node: mangle (every packet), then nat and the nft connmark table (only the
 * first packet of a connection: the nat hooks do not see the rest).
 */
export function prerouting(node: CompiledNode, p: NodePacket, firstPacket: boolean, steps: NodeStep[]): void {
  runIptables(node, 'mangle', 'PREROUTING', p, null, steps);
  if (!firstPacket) return;
  runIptables(node, 'nat', 'PREROUTING', p, null, steps);
  runNft(node, p, steps);
}

/** nat POSTROUTING of a connection's first packet leaving by `oif`: the SNAT chain. Returns the rewritten source. */
export function postrouting(node: CompiledNode, p: NodePacket, oif: string, steps: NodeStep[]): void {
  const before = steps.length;
  runIptables(node, 'nat', 'POSTROUTING', p, oif, steps);
  const taken = steps.slice(before);
  const snat = taken.find((s) => s.snat)?.snat;
  if (snat) p.source = snat.toSource;
  else if (taken.length > 0 && !taken.some((s) => s.snatReturn)) {
    // the chain ran out without a RETURN: say which SNAT rule the outgoing link kept it from (`! -o vlan+`, a branch
    // pod's VLAN link), so the kept source is not a silence
    for (const rules of node.chains.values()) {
      const rule = rules.find((r) => r.parsed?.target.kind === 'snat' && r.parsed.oif && !ifMatches(r.parsed.oif, oif));
      if (rule) {
        steps.push({ kind: 'rules', matched: rule.text, action: `not applied: the packet leaves by ${oif}, which the rule's ${rule.parsed!.oif!.negate ? '! ' : ''}-o ${rule.parsed!.oif!.name}${rule.parsed!.oif!.prefix ? '+' : ''} excludes; the source stays ${p.source}` });
        return;
      }
    }
  }
}

export type RouteDecision =
  | { kind: 'local'; device: string }
  | { kind: 'out'; device: string; via?: string; eni: AttachedEni; source: string }
  | { kind: 'pod'; pod: NodePod }
  | { kind: 'none' };

/**
 * ip rules by priority → table → route; the link the packet leaves by. The local table is a rule like the others (0,
 * or 20 in strict SGP, after the branch pods' prio-10 `iif` rules); a packet the node sends itself has no `iif`.
 */
export function route(node: CompiledNode, p: NodePacket, steps: NodeStep[]): RouteDecision {
  const dst = address(p.destination);
  for (const r of node.ipRules) {
    const rule = r.rule;
    if (rule.otherSelectors?.length) throw new NotUnderstood(r.text);
    let hit = true;
    if (r.from && !inCidr(p.source, r.from)) hit = false;
    if (r.to && !cidrContains(r.to, dst)) hit = false;
    if (rule.fwmark && (p.mark & rule.fwmark.mask) !== rule.fwmark.value) hit = false;
    if (rule.iif !== undefined && rule.iif !== p.iif) hit = false;
    if (rule.not) hit = !hit;
    if (!hit) continue;
    if (rule.table === LOCAL_TABLE) {
      const local = node.local.get(p.destination);
      if (local === undefined) continue;
      steps.push({ kind: 'routing', matched: r.text, action: 'lookup local', ipRulePriority: rule.priority });
      steps.push({ kind: 'routing', matched: `route local ${p.destination} dev ${local} table local`, action: `${p.destination} is the node's own address (on ${local}): delivered to the node` });
      return { kind: 'local', device: local };
    }
    // the longest prefix of the table wins; a table without a match sends the lookup on to the next rule
    let best: CompiledRoute | undefined;
    for (const c of node.routes.get(rule.table) ?? []) if (cidrContains(c.dst, dst) && (!best || c.dst.prefixLength > best.dst.prefixLength)) best = c;
    if (!best) continue;
    steps.push({ kind: 'routing', matched: r.text, action: `lookup ${rule.table === MAIN_TABLE ? 'main' : rule.table}`, ipRulePriority: rule.priority });
    const pod = node.veths.get(best.route.dev);
    if (pod) {
      steps.push({ kind: 'routing', matched: best.text, action: `to pod ${pod.endpoint.name} through ${best.route.dev}` });
      return { kind: 'pod', pod };
    }
    const eni = node.devices.get(best.route.dev);
    if (!eni) throw new NotUnderstood(best.text);
    const source = p.source ?? eni.privateIps[0]!;
    steps.push({ kind: 'routing', matched: best.text, action: `out ${best.route.dev} (${eni.eniId})` });
    return { kind: 'out', device: best.route.dev, ...(best.route.via ? { via: best.route.via } : {}), eni, source };
  }
  steps.push({ kind: 'routing', matched: `no route to ${p.destination}`, action: 'no table has a route' });
  return { kind: 'none' };
}
