import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { ExecError, netnsName, run, type Netns } from '../lib/index.js';
import { formatRoute, formatRule, parseRules, readIpJson, routeWords, ruleWords, runIpBatch, type BatchLine, type IpRule, type Route } from './iproute.js';
import type { IpSession } from './ip-session.js';
import { checkPodNetns } from './netns.js';
import { isMainTable, MAIN_TABLE, type RouteTable } from './route-table.js';
import { addressWord, ifNameWord, ipLine, macWord, netnsWord, numberWord, prefixWord } from './words.js';

/**
 * Host veth name: prefix + the first 11 hex digits of sha1("<namespace>.<podName>"); for interface index i>0 the pod
 * name becomes "<podName>.<i>" (spec §3.5). With a prefix of at most 4 characters the name fits IFNAMSIZ (15).
 */
export function hostVethName(prefix: string, namespace: string, podName: string, index = 0): string {
  const name = index > 0 ? `${podName}.${index}` : podName;
  return prefix + createHash('sha1').update(`${namespace}.${name}`).digest('hex').slice(0, 11);
}

/** A locally administered unicast MAC from 6 random bytes: first octet `(b | 2) & 0xfe` (spec §3.6). */
export function hostVethMac(bytes: Uint8Array = randomBytes(6)): string {
  const b = Array.from(bytes.slice(0, 6));
  b[0] = (b[0]! | 2) & 0xfe;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

export interface PodNetworkInput {
  namespace: string;
  podName: string;
  /** Interface index (0 for the pod's only interface; i>0 for multi-homed pods). */
  index?: number;
  /**
   * The container-side interface name the runtime chose (CNI_IFNAME). Without one, the names upstream's runtimes
   * pass: eth0 for index 0, mNicIf<i> for i>0 (§3.3 step 1).
   */
  ifName?: string;
  vethPrefix: string;
  /** The pod's address (no prefix length: it becomes /32 or /128). */
  podIp: string;
  /** The route table of the ENI that owns the address: main (254, or a legacy 1) for the primary ENI (§3.4). */
  routeTable: RouteTable;
  mtu: number;
  /** The host veth's MAC; {@link applyPodNetwork} generates one when absent. */
  hostVethMac?: string;
}

/** Everything that wires one pod, as data: what goes in the node namespace and what goes in the pod's. */
export interface PodNetwork {
  hostVeth: string;
  hostVethMac: string;
  ifName: string;
  family: 4 | 6;
  /** `<podIp>/32` or `/128`. */
  address: string;
  gateway: string;
  mtu: number;
  /** Host veth sysctls, set before it comes up (§3.3 step 2). Keys in /proc/sys path form. */
  hostSysctls: Record<string, string>;
  /** Pod-side sysctls (IPv6 pods only, §3.3 step 2). */
  podSysctls: Record<string, string>;
  hostRoutes: Route[];
  hostRules: IpRule[];
  podRoutes: Route[];
  /** Pod-side rules (only for index > 0: `from <podIp> lookup <i>` prio 1). */
  podRules: IpRule[];
}

/** Renders the pod's wiring (§3.3, §3.4): pure, no I/O. */
export function renderPodNetwork(input: PodNetworkInput & { hostVethMac: string }): PodNetwork {
  const index = input.index ?? 0;
  const family = input.podIp.includes(':') ? 6 : 4;
  const hostVeth = hostVethName(input.vethPrefix, input.namespace, input.podName, index);
  const ifName = input.ifName ?? (index === 0 ? 'eth0' : `mNicIf${index}`);
  const gateway = family === 4 ? `169.254.1.${index + 1}` : `fe80::${index + 1}`;
  const address = `${input.podIp}/${family === 4 ? 32 : 128}`;
  const podTable: RouteTable = index === 0 ? MAIN_TABLE : index;
  const hostRules: IpRule[] = [{ family, priority: 512, to: address, table: MAIN_TABLE }];
  if (!isMainTable(input.routeTable)) hostRules.push({ family, priority: 1536, from: address, table: input.routeTable });
  const v6 = `net/ipv6/conf/${hostVeth}`;
  return {
    hostVeth,
    hostVethMac: input.hostVethMac,
    ifName,
    family,
    address,
    gateway,
    mtu: input.mtu,
    hostSysctls: { [`${v6}/accept_ra`]: '0', [`${v6}/accept_redirects`]: '1', [`${v6}/forwarding`]: '0' },
    podSysctls: family === 6 ? { [`net/ipv6/conf/${ifName}/disable_ipv6`]: '0', 'net/ipv6/conf/lo/disable_ipv6': '0' } : {},
    hostRoutes: [{ dst: address, dev: hostVeth, scope: 'link', table: MAIN_TABLE }],
    hostRules,
    podRoutes: [
      { dst: gateway, dev: ifName, scope: 'link', table: podTable },
      { dst: 'default', via: gateway, dev: ifName, table: podTable },
    ],
    podRules: index > 0 ? [{ family, priority: 1, from: address, table: index }] : [],
  };
}

/** Where the pod lives: the node namespace (undefined = the one podnet runs in) and the pod's (name or path). */
export interface PodNamespaces {
  nodeNetns?: Netns;
  podNetns: Netns;
}

/**
 * Runs node-side lines: through the session when there is one (it runs in podnet's own namespace, so only for that
 * node namespace), else in one `ip` process in nodeNetns.
 */
export function runNodeBatch(nodeNetns: Netns | undefined, session: IpSession | undefined, lines: readonly BatchLine[], family?: 4 | 6): Promise<void> {
  if (session && !nodeNetns) return session.run(lines, family);
  return runIpBatch(nodeNetns, lines, family);
}

/**
 * Runs lines inside the pod's namespace: through the session when there is one and the namespace has a name (its
 * `netns exec` forks the small ip, not podnet), else in one process of its own.
 */
export function runPodBatch(podNetns: Netns, session: IpSession | undefined, lines: readonly BatchLine[]): Promise<void> {
  const name = netnsName(podNetns);
  if (session && name !== undefined) return session.runInNetns(name, lines);
  return runIpBatch(podNetns, lines);
}

/**
 * The one node-side batch: the veth (container end straight into the pod netns), the ip rules, the host end up and
 * its /32 route (a route needs an up device). The host end comes up here, before its sysctls are written: a veth has
 * no carrier until both ends are up, and the pod end comes up only after the sysctls (§3.3 step 2), so no packet,
 * router advertisement or IPv6 address reaches the host end before them.
 */
export function podCreateLines(p: PodNetwork, podNetns: Netns): BatchLine[] {
  const veth = ifNameWord(p.hostVeth);
  const mtu = numberWord(p.mtu, 68, 65535, 'MTU');
  return [
    // an existing link with the host veth name is deleted first (§3.4)
    { cmd: ipLine`link del ${veth}`, absentOk: true },
    { cmd: ipLine`link add name ${veth} address ${macWord(p.hostVethMac)} mtu ${mtu} type veth peer name ${ifNameWord(p.ifName)} mtu ${mtu} netns ${netnsWord(podNetns)}` },
    ...p.hostRules.map((r) => ({ cmd: ipLine`rule add ${ruleWords(r)}`, existsOk: true })),
    { cmd: ipLine`link set ${veth} up` },
    ...p.hostRoutes.map((r) => ({ cmd: ipLine`route replace ${routeWords(r)}` })),
  ];
}

/** The pod-side batch: lo and the interface up, the /32 address, the gateway routes, the permanent neighbour. */
export function podInsideLines(p: PodNetwork): BatchLine[] {
  const ifName = ifNameWord(p.ifName);
  return [
    { cmd: ipLine`link set lo up` },
    { cmd: ipLine`link set ${ifName} up` },
    { cmd: ipLine`addr add ${prefixWord(p.address)} dev ${ifName}`, existsOk: true },
    ...p.podRoutes.map((r) => ({ cmd: ipLine`route replace ${routeWords(r)}` })),
    ...p.podRules.map((r) => ({ cmd: ipLine`rule add ${ruleWords(r)}`, existsOk: true })),
    // no proxy ARP: the static entry stands in for ARP for the gateway (§3.6)
    { cmd: ipLine`neigh replace ${addressWord(p.gateway)} dev ${ifName} lladdr ${macWord(p.hostVethMac)} nud permanent` },
  ];
}

/**
 * Writes sysctls in a namespace: directly under /proc/sys when it is podnet's own (no process), else one
 * `sysctl -e -w` (`-e`: a key that does not exist, e.g. IPv6 disabled, is ignored as upstream ignores ENOENT).
 */
export async function writeSysctls(values: Record<string, string>, netns?: Netns): Promise<void> {
  const entries = Object.entries(values);
  if (entries.length === 0) return;
  if (!netns) {
    // synchronous: a /proc/sys write takes microseconds, less than a trip through libuv's thread pool
    for (const [k, v] of entries) {
      try {
        writeFileSync(`/proc/sys/${k}`, v);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      }
    }
    return;
  }
  await run(['sysctl', '-q', '-e', '-w', ...entries.map(([k, v]) => `${k}=${v}`)], { netns });
}

/** A pod as {@link applyPodNetwork} wired it. */
export interface WiredPod {
  hostVeth: string;
  hostVethMac: string;
  ifName: string;
  address: string;
  /** Processes started for this ADD (the pod waits on them). */
  processes: number;
}

/**
 * Wires a pod: the node batch (veth, rules, host end up, /32 route), the host veth sysctls, then the pod batch that
 * brings the pod end up (and with it the veth's carrier). 2 processes when the node namespace is podnet's own
 * (sysctls written directly under /proc/sys), 3 otherwise, 1 through an ip session (its `netns exec` of the pod batch);
 * IPv6 pods add one for their sysctls. A failure removes what was created, so nothing is left half-wired. `session`
 * (ipamd's running ip, in podnet's own namespace) carries the batches instead of new processes where it can.
 */
export async function applyPodNetwork(input: PodNetworkInput & { addressHeldBefore?: boolean }, ns: PodNamespaces, session?: IpSession): Promise<WiredPod> {
  checkPodNetns(ns.podNetns);
  const p = renderPodNetwork({ ...input, hostVethMac: input.hostVethMac ?? hostVethMac() });
  const viaSession = session !== undefined && !ns.nodeNetns;
  let processes = 0;
  try {
    await runNodeBatch(ns.nodeNetns, session, podCreateLines(p, ns.podNetns));
    if (!viaSession) processes++;
    const podSysctls = Object.keys(p.podSysctls).length > 0;
    await Promise.all([writeSysctls(p.hostSysctls, ns.nodeNetns), podSysctls ? writeSysctls(p.podSysctls, ns.podNetns) : undefined]);
    processes += (ns.nodeNetns ? 1 : 0) + (podSysctls ? 1 : 0);
    await runPodBatch(ns.podNetns, session, podInsideLines(p));
    processes++;
  } catch (err) {
    // undo only what this call made: the veth whose peer it put in the pod's namespace (or that carries the new
    // address), and the address's rules unless an earlier ADD of the same attachment made them
    await teardownPod({ hostVeth: p.hostVeth, podNetns: ns.podNetns, recordsKnown: true, ...(!input.addressHeldBefore && { ownedIp: input.podIp }) }, ns.nodeNetns, session).catch(() => {});
    throw err;
  }
  return { hostVeth: p.hostVeth, hostVethMac: p.hostVethMac, ifName: p.ifName, address: p.address, processes };
}

export interface PodTeardownInput {
  /** The host veth name podnet computed for the pod (spec §3.5): the only link teardown may delete, once tied to the pod. */
  hostVeth: string;
  /** The pod's network namespace (CNI_NETNS), when known: a host veth whose peer is in it is the pod's. */
  podNetns?: Netns;
  /**
   * Whether the caller has the records of which address the container holds (ipamd): then exactly `ownedIp` is
   * removed (none when undefined). Without records (ipamd down) the addresses routed over the pod's tied veth are.
   */
  recordsKnown: boolean;
  /** The container's address in ipamd's records: its 512/1536 rules go, and a veth whose /32 route it is is the pod's. */
  ownedIp?: string;
  /** Without records: the address prevResult reports. It only ties a veth whose /32 route it is; nothing is removed for it. */
  claimedIp?: string;
}

interface JsonVeth {
  ifindex: number;
  link_index?: number;
}

/**
 * DEL (§3.4) under the rule that podnet touches only what it can tie to this pod: the host veth (by its computed name)
 * counts as the pod's when its peer is in the pod's namespace or its /32 (or /128) route is the pod's address (ipamd's
 * record, or the address prevResult claims); then the veth and its route go. The 512 rule and every 1536 rule of an
 * address go when the address is the container's in ipamd's records, or, without records, when the tied veth routes
 * it or it is the claimed address and no link routes it at all. Anything already gone counts as removed, so a second
 * DEL succeeds. Returns the commands it ran.
 */
export async function teardownPod(input: PodTeardownInput, nodeNetns?: Netns, session?: IpSession): Promise<string[]> {
  const veth = ifNameWord(input.hostVeth);
  const owned = input.ownedIp === undefined ? undefined : addressWord(input.ownedIp.split('/')[0]!).text;
  const claimed = claimedAddress(input.claimedIp);
  const families = new Set<4 | 6>([4]);
  for (const a of [owned, claimed]) if (a?.includes(':')) families.add(6);
  let link: JsonVeth | undefined;
  const routed: string[] = [];
  for (const family of families) {
    try {
      const [links, routes] = (await readIpJson(nodeNetns, [`link show dev ${veth.text}`, `route show table main dev ${veth.text}`], family)) as [JsonVeth[], { dst: string }[]];
      link = links[0];
      // `ip -j route` prints a host route's dst without its length; anything with a shorter prefix is not a pod address
      routed.push(...routes.map((r) => r.dst).filter((dst) => dst !== 'default' && !/\/(?!32$|128$)/.test(dst)).map((dst) => dst.replace(/\/\d+$/, '')));
    } catch (err) {
      if (!(err instanceof ExecError && err.notFound === 'link')) throw err;
      break; // no such link: nothing of it to tie or remove
    }
  }
  const tied = link !== undefined && ((owned !== undefined && routed.includes(owned)) || (claimed !== undefined && routed.includes(claimed)) || (await peerIn(input.podNetns, link)));
  const addresses = input.recordsKnown ? (owned === undefined ? [] : [owned]) : tied ? routed : [];
  // without records, the rules of a claimed address that no link on the node routes are no pod's (the veth went with
  // its namespace): they go too. A live pod's address always has its /32 route, so a foreign claim never reaches one.
  if (!input.recordsKnown && claimed !== undefined && !addresses.includes(claimed) && !(await isRouted(claimed, nodeNetns))) addresses.push(claimed);
  const ran: string[] = [];
  for (const family of [4, 6] as const) {
    const lines: BatchLine[] = [];
    for (const a of addresses.filter((x) => (x.includes(':') ? 6 : 4) === family)) {
      const host = prefixWord(a);
      lines.push({ cmd: ipLine`rule flush to ${host} prio 512` }, { cmd: ipLine`rule flush from ${host} prio 1536` });
      if (tied) lines.push({ cmd: ipLine`route del ${host} dev ${veth} table main`, absentOk: true });
    }
    if (tied && family === 4) lines.push({ cmd: ipLine`link del ${veth}`, absentOk: true });
    await runNodeBatch(nodeNetns, session, lines, family);
    ran.push(...lines.map((l) => l.cmd));
  }
  return ran;
}

/** The address of a claim that is exactly `<address>` or `<address>/<length>`; anything else claims nothing. */
function claimedAddress(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  try {
    return prefixWord(text).text.split('/')[0];
  } catch {
    return undefined;
  }
}

/** Whether any route in main leads to the address itself (a pod's /32 or /128 on whatever link). */
async function isRouted(address: string, nodeNetns: Netns | undefined): Promise<boolean> {
  const [routes] = (await readIpJson(nodeNetns, [`route show table main ${prefixWord(address).text}`], address.includes(':') ? 6 : 4)) as [unknown[]];
  return routes.length > 0;
}

/**
 * Whether the host veth's peer is in the pod's namespace: a veth there whose index is the host veth's peer index and
 * whose own peer index is the host veth's, in another namespace. A namespace that is not a pod's never ties.
 */
async function peerIn(podNetns: Netns | undefined, host: JsonVeth): Promise<boolean> {
  if (!podNetns || host.link_index === undefined) return false;
  try {
    checkPodNetns(podNetns);
    const [links] = (await readIpJson(podNetns, ['link show'])) as [(JsonVeth & { link_netnsid?: number })[]];
    return links.some((l) => l.ifindex === host.link_index && l.link_index === host.ifindex && l.link_netnsid !== undefined);
  } catch {
    return false;
  }
}

export interface PodCheckResult {
  ok: boolean;
  /** What is missing or wrong, one line each, in words a CNI CHECK error can carry. */
  problems: string[];
}

interface JsonLink {
  ifname: string;
  address?: string;
  mtu?: number;
  flags?: string[];
}

/**
 * CHECK: reads the node side and the pod side (one `ip -j -batch` each) and lists what differs from the rendering:
 * links, MAC, MTU, address, routes, neighbour, host route and rules.
 */
export async function checkPodNetwork(input: PodNetworkInput & { hostVethMac?: string }, ns: PodNamespaces): Promise<PodCheckResult> {
  const problems: string[] = [];
  const family = input.podIp.includes(':') ? 6 : 4;
  const [linksJson, rulesJson, routesJson] = await readIpJson(ns.nodeNetns, ['link show', 'rule show', 'route show table main'], family);
  const links = linksJson as JsonLink[];
  const expected = renderPodNetwork({ ...input, hostVethMac: input.hostVethMac ?? '' });
  const host = links.find((l) => l.ifname === expected.hostVeth);
  if (!host) problems.push(`host veth ${expected.hostVeth} does not exist`);
  else {
    if (!host.flags?.includes('UP')) problems.push(`host veth ${expected.hostVeth} is down`);
    if (input.hostVethMac && host.address !== input.hostVethMac) problems.push(`host veth ${expected.hostVeth} has MAC ${host.address}, expected ${input.hostVethMac}`);
  }
  const mac = input.hostVethMac ?? host?.address ?? '';
  const p = renderPodNetwork({ ...input, hostVethMac: mac });
  const rules = new Set(parseRules(rulesJson, family).map((r) => formatRule(r)));
  for (const r of p.hostRules) if (!rules.has(formatRule(r))) problems.push(`ip rule "${formatRule(r)}" is missing`);
  const routes = routesJson as { dst: string; dev?: string }[];
  for (const r of p.hostRoutes) if (!routes.some((x) => (x.dst === r.dst || `${x.dst}/${family === 4 ? 32 : 128}` === r.dst) && x.dev === r.dev)) problems.push(`host route "${formatRoute(r)}" is missing`);
  let pod: unknown[];
  try {
    // `addr show` carries the link fields too (and `addr show` after `link show` in one batch loses addr_info)
    pod = await readIpJson(ns.podNetns, ['addr show', 'route show', 'neigh show'], family === 6 ? 6 : undefined);
  } catch (err) {
    if (err instanceof ExecError) return { ok: false, problems: [...problems, `pod network namespace ${ns.podNetns} cannot be entered: ${err.stderr.trim()}`] };
    throw err;
  }
  const [addrsJson, podRoutesJson, neighJson] = pod as [(JsonLink & { addr_info?: { local: string; prefixlen: number }[] })[], { dst: string; gateway?: string; dev?: string }[], { dst: string; dev?: string; lladdr?: string; state?: string[] }[]];
  const ifl = addrsJson.find((l) => l.ifname === p.ifName);
  if (!ifl) problems.push(`pod interface ${p.ifName} does not exist`);
  else {
    if (!ifl.flags?.includes('UP')) problems.push(`pod interface ${p.ifName} is down`);
    if (ifl.mtu !== input.mtu) problems.push(`pod interface ${p.ifName} has MTU ${ifl.mtu}, expected ${input.mtu}`);
  }
  const addrs = ifl?.addr_info ?? [];
  if (!addrs.some((a) => `${a.local}/${a.prefixlen}` === p.address)) problems.push(`pod address ${p.address} is not on ${p.ifName}`);
  if (index0(input) && !podRoutesJson.some((r) => r.dst === 'default' && r.gateway === p.gateway && r.dev === p.ifName)) problems.push(`pod default route via ${p.gateway} dev ${p.ifName} is missing`);
  if (index0(input) && !podRoutesJson.some((r) => r.dst === p.gateway && r.dev === p.ifName)) problems.push(`pod route ${p.gateway} dev ${p.ifName} scope link is missing`);
  const neigh = neighJson.find((n) => n.dst === p.gateway && n.dev === p.ifName);
  if (!neigh) problems.push(`pod neighbour ${p.gateway} on ${p.ifName} is missing`);
  else {
    if (!neigh.state?.includes('PERMANENT')) problems.push(`pod neighbour ${p.gateway} is not permanent`);
    if (mac && neigh.lladdr !== mac) problems.push(`pod neighbour ${p.gateway} points at ${neigh.lladdr}, not the host veth MAC ${mac}`);
  }
  return { ok: problems.length === 0, problems };
}

function index0(input: PodNetworkInput): boolean {
  return (input.index ?? 0) === 0;
}

