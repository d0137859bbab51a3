import { createHash, randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { ExecError, run } from '../lib/index.js';
import { formatRoute, formatRule, netnsOf, parseRules, readIpJson, runIpBatch, runIpBatchInNetns, type BatchLine, type IpRule, type IpTarget, type Route, type RouteTable } from './iproute.js';
import { netnsArgv, type NetnsRef } from './netns.js';

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
  /** The route table of the ENI that owns the address: main for the primary ENI (§3.4). */
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

/** A pod's table from ipamd: 1 counts as main too, for old `deviceNumber+1` ids (spec §3.4). */
function isMain(t: RouteTable): boolean {
  return t === 'main' || t === 1 || t === 254;
}

/** Renders the pod's wiring (§3.3, §3.4): pure, no I/O. */
export function renderPodNetwork(input: PodNetworkInput & { hostVethMac: string }): PodNetwork {
  const index = input.index ?? 0;
  const family = input.podIp.includes(':') ? 6 : 4;
  const hostVeth = hostVethName(input.vethPrefix, input.namespace, input.podName, index);
  const ifName = input.ifName ?? (index === 0 ? 'eth0' : `mNicIf${index}`);
  const gateway = family === 4 ? `169.254.1.${index + 1}` : `fe80::${index + 1}`;
  const address = `${input.podIp}/${family === 4 ? 32 : 128}`;
  const podTable: RouteTable = index === 0 ? 'main' : index;
  const hostRules: IpRule[] = [{ family, priority: 512, to: address, table: 'main' }];
  if (!isMain(input.routeTable)) hostRules.push({ family, priority: 1536, from: address, table: input.routeTable });
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
    hostRoutes: [{ dst: address, dev: hostVeth, scope: 'link', table: 'main' }],
    hostRules,
    podRoutes: [
      { dst: gateway, dev: ifName, scope: 'link', table: podTable },
      { dst: 'default', via: gateway, dev: ifName, table: podTable },
    ],
    podRules: index > 0 ? [{ family, priority: 1, from: address, table: index }] : [],
  };
}

/**
 * Where the pod lives: the node namespace (undefined = the one podnet runs in, or an ip session running there, as ipamd
 * uses) and the pod's (name or path).
 */
export interface PodNamespaces {
  nodeNetns?: IpTarget;
  podNetns: NetnsRef;
}

/**
 * The one node-side batch: the veth (container end straight into the pod netns), the ip rules, the host end up and
 * its /32 route (a route needs an up device). The host end comes up here, before its sysctls are written: a veth has
 * no carrier until both ends are up, and the pod end comes up only after the sysctls (§3.3 step 2), so no packet,
 * router advertisement or IPv6 address reaches the host end before them.
 */
export function podCreateLines(p: PodNetwork, podNetns: NetnsRef): BatchLine[] {
  return [
    // an existing link with the host veth name is deleted first (§3.4)
    { cmd: `link del ${p.hostVeth}`, absentOk: true },
    { cmd: `link add name ${p.hostVeth} address ${p.hostVethMac} mtu ${p.mtu} type veth peer name ${p.ifName} mtu ${p.mtu} netns ${podNetns}` },
    ...p.hostRules.map((r) => ({ cmd: `rule add ${formatRule(r)}`, existsOk: true })),
    { cmd: `link set ${p.hostVeth} up` },
    ...p.hostRoutes.map((r) => ({ cmd: `route replace ${formatRoute(r)}` })),
  ];
}

/** The pod-side batch: lo and the interface up, the /32 address, the gateway routes, the permanent neighbour. */
export function podInsideLines(p: PodNetwork): BatchLine[] {
  return [
    { cmd: 'link set lo up' },
    { cmd: `link set ${p.ifName} up` },
    { cmd: `addr add ${p.address} dev ${p.ifName}`, existsOk: true },
    ...p.podRoutes.map((r) => ({ cmd: `route replace ${formatRoute(r)}` })),
    ...p.podRules.map((r) => ({ cmd: `rule add ${formatRule(r)}`, existsOk: true })),
    // no proxy ARP: the static entry stands in for ARP for the gateway (§3.6)
    { cmd: `neigh replace ${p.gateway} dev ${p.ifName} lladdr ${p.hostVethMac} nud permanent` },
  ];
}

/**
 * Writes sysctls in a namespace: directly under /proc/sys when it is podnet's own (no process), else one
 * `sysctl -e -w` (`-e`: a key that does not exist, e.g. IPv6 disabled, is ignored as upstream ignores ENOENT).
 */
export async function writeSysctls(values: Record<string, string>, netns?: NetnsRef): Promise<void> {
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
  await run(netnsArgv(netns, ['sysctl', '-q', '-e', '-w', ...entries.map(([k, v]) => `${k}=${v}`)]));
}

export interface PodWiring {
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
 * IPv6 pods add one for their sysctls. A failure removes what was created, so nothing is left half-wired.
 */
export async function applyPodNetwork(input: PodNetworkInput, ns: PodNamespaces): Promise<PodWiring> {
  const p = renderPodNetwork({ ...input, hostVethMac: input.hostVethMac ?? hostVethMac() });
  let processes = 0;
  try {
    await runIpBatch(ns.nodeNetns, podCreateLines(p, ns.podNetns));
    if (typeof ns.nodeNetns !== 'object') processes++;
    const podSysctls = Object.keys(p.podSysctls).length > 0;
    const nodeNetns = netnsOf(ns.nodeNetns);
    await Promise.all([writeSysctls(p.hostSysctls, nodeNetns), podSysctls ? writeSysctls(p.podSysctls, ns.podNetns) : undefined]);
    processes += (nodeNetns ? 1 : 0) + (podSysctls ? 1 : 0);
    await runIpBatchInNetns(ns.nodeNetns, ns.podNetns, podInsideLines(p));
    processes++;
  } catch (err) {
    await teardownPodNetwork({ hostVeth: p.hostVeth, podIp: input.podIp }, ns.nodeNetns).catch(() => {});
    throw err;
  }
  return { hostVeth: p.hostVeth, hostVethMac: p.hostVethMac, ifName: p.ifName, address: p.address, processes };
}

export interface PodTeardownInput {
  hostVeth: string;
  podIp: string;
}

/**
 * DEL (§3.4, and the "DEL removes the pod's links"): the 512 rule, every 1536 rule from the pod address
 * (upstream loops until ENOENT; `rule flush` with the selector removes them all, and none is no error), the /32
 * route via the host veth, and the host veth itself (its peer goes with it). Needs no pod netns; anything already
 * gone counts as removed, so a second DEL succeeds. One process. Returns the commands it ran.
 */
export async function teardownPodNetwork(input: PodTeardownInput, nodeNetns?: IpTarget): Promise<string[]> {
  const family = input.podIp.includes(':') ? 6 : 4;
  const address = `${input.podIp.split('/')[0]}/${family === 4 ? 32 : 128}`;
  const lines: BatchLine[] = [
    { cmd: `rule flush to ${address} prio 512` },
    { cmd: `rule flush from ${address} prio 1536` },
    { cmd: `route del ${address} dev ${input.hostVeth} table main`, absentOk: true },
    { cmd: `link del ${input.hostVeth}`, absentOk: true },
  ];
  await runIpBatch(nodeNetns, lines, family);
  return lines.map((l) => l.cmd);
}

/**
 * DEL when only the host veth's name is known (no ipamd, no prevResult: CRI's second DEL). The pod's address is read
 * back from the /32 (or /128) route the veth carries in main (§3.3 step 3, host side) and torn down as
 * {@link teardownPodNetwork} does; a veth without such a route is deleted alone, and a missing veth means an earlier
 * DEL already removed everything. Returns what it removed (nothing when the veth was gone).
 */
export async function teardownPodByHostVeth(hostVeth: string, nodeNetns?: IpTarget): Promise<string[]> {
  const addresses: string[] = [];
  for (const family of [4, 6] as const) {
    let routes: { dst: string }[];
    try {
      routes = (await readIpJson(nodeNetns, [`route show table main dev ${hostVeth}`], family))[0] as { dst: string }[];
    } catch (err) {
      if (err instanceof ExecError && /Cannot find device/.test(err.stderr)) return [];
      throw err;
    }
    // `ip -j route` prints a host route's dst without its length; anything with a shorter prefix is not a pod address
    addresses.push(...routes.map((r) => r.dst).filter((dst) => dst !== 'default' && !/\/(?!32$|128$)/.test(dst)).map((dst) => dst.replace(/\/\d+$/, '')));
  }
  if (addresses.length === 0) {
    const lines: BatchLine[] = [{ cmd: `link del ${hostVeth}`, absentOk: true }];
    await runIpBatch(nodeNetns, lines);
    return lines.map((l) => l.cmd);
  }
  const removed: string[] = [];
  for (const podIp of addresses) removed.push(...(await teardownPodNetwork({ hostVeth, podIp }, nodeNetns)));
  return removed;
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

