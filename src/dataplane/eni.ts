import { PodnetError, type Netns } from '../lib/index.js';
import { formatAddress, formatCidr, parseAddress, parseCidr, subnetGateway } from '../net/index.js';
import { formatRule, parseRoutes, parseRules, readIpJson, routeKey, routeWords, ruleWords, runIpBatch, type BatchLine, type IpRule, type Route } from './iproute.js';
import { MAIN_TABLE, type RouteTable } from './route-table.js';
import { ifNameWord, ipLine, numberWord, prefixWord, tableWord } from './words.js';

/**
 * Route table of an ENI (§3.2 `CalculateRouteTableId`): main for the primary ENI, d+1 on network card 0,
 * 10000 + d + 100·c on cards c>0.
 */
export function eniRouteTable(deviceNumber: number, networkCard = 0): RouteTable {
  if (networkCard > 0) return 10000 + deviceNumber + 100 * networkCard;
  return deviceNumber === 0 ? MAIN_TABLE : deviceNumber + 1;
}

export interface EniNetworkInput {
  /** The Linux link of the ENI (ipamd finds it by MAC: {@link findLinkByMac}). */
  interface: string;
  deviceNumber: number;
  networkCard?: number;
  /** The ENI's primary private address. */
  primaryIp: string;
  /** The ENI's subnet, e.g. 10.0.96.0/19. */
  subnetCidr: string;
  mtu: number;
  /** The SGP trunk ENI: set up like the others but without the prio-32765 rule (§3.2 step 7, §5.2). */
  trunk?: boolean;
}

/** A secondary ENI's desired state (§3.2 steps 2–7). */
export interface EniNetwork {
  interface: string;
  mtu: number;
  table: RouteTable;
  /** `<primary IP>/<subnet length>`. */
  address: string;
  /** The kernel's connected route in main, which must go so nothing leaves ethX through main (step 6). */
  mainSubnetRoute: Route;
  routes: Route[];
  /** `from <primary IP> lookup <table>` prio 32765 (not applied for the trunk ENI: {@link EniNetworkInput.trunk}). */
  rule: IpRule;
}

export function renderEniNetwork(input: EniNetworkInput): EniNetwork {
  const table = eniRouteTable(input.deviceNumber, input.networkCard ?? 0);
  if (table === MAIN_TABLE) {
    throw new PodnetError('CONFIG_INVALID', `device ${input.deviceNumber} on card 0 is the primary ENI (table main): its routes belong to the OS`, 'render only secondary ENIs (device number ≥ 1, or network card ≥ 1)');
  }
  const subnet = parseCidr(input.subnetCidr);
  const gw = formatAddress(subnetGateway(subnet));
  const ip = formatAddress(parseAddress(input.primaryIp));
  const dev = input.interface;
  return {
    interface: dev,
    mtu: input.mtu,
    table,
    address: `${ip}/${subnet.prefixLength}`,
    mainSubnetRoute: { dst: formatCidr(subnet), dev, scope: 'link', table: MAIN_TABLE },
    routes: [
      { dst: gw, dev, scope: 'link', table },
      { dst: 'default', via: gw, dev, table },
    ],
    rule: { family: subnet.family, priority: 32765, from: `${ip}/${subnet.family === 4 ? 32 : 128}`, table },
  };
}

interface JsonAddrLink {
  ifname: string;
  mtu: number;
  flags: string[];
  address?: string;
  addr_info?: { family: string; local: string; prefixlen: number; scope: string }[];
}

/**
 * Brings a secondary ENI to its desired state with one read (`ip -j -batch`: link with addresses, its table, main, rules)
 * and one batch of only the differences. Returns the changes (empty when it already matched).
 */
export async function applyEniNetwork(input: EniNetworkInput, netns?: Netns): Promise<string[]> {
  const want = renderEniNetwork(input);
  const dev = want.interface;
  const devWord = ifNameWord(dev);
  const family = want.rule.family;
  let docs: unknown[];
  try {
    docs = await readIpJson(netns, [`addr show dev ${devWord.text}`, `route show table ${tableWord(want.table).text}`, `route show table main dev ${devWord.text}`, 'rule show'], family === 6 ? 6 : undefined);
  } catch (err) {
    throw new PodnetError('LINK_NOT_FOUND', `ENI link ${dev} cannot be read: ${(err as Error).message}`, 'the ENI may not be attached yet; ipamd retries finding it by MAC (5 attempts, 3 s apart, §3.2)', { cause: err });
  }
  const [linkJson, tableJson, mainJson, rulesJson] = docs as [JsonAddrLink[], unknown, unknown, unknown];
  const link = linkJson[0];
  if (!link) throw new PodnetError('LINK_NOT_FOUND', `ENI link ${dev} does not exist`, 'check the ENI is attached and its link is in this namespace');
  const lines: BatchLine[] = [];
  if (link.mtu !== want.mtu || !link.flags.includes('UP')) lines.push({ cmd: ipLine`link set dev ${devWord} mtu ${numberWord(want.mtu, 68, 65535, 'MTU')} up` });
  const famWord = family === 4 ? 'inet' : 'inet6';
  const globals = (link.addr_info ?? []).filter((a) => a.family === famWord && a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
  for (const a of globals) if (a !== want.address) lines.push({ cmd: ipLine`addr del ${prefixWord(a)} dev ${devWord}`, absentOk: true });
  const addingAddress = !globals.includes(want.address);
  if (addingAddress) lines.push({ cmd: ipLine`addr add ${prefixWord(want.address)} dev ${devWord}` });
  const mainRoutes = parseRoutes(mainJson, MAIN_TABLE);
  if (addingAddress || mainRoutes.some((r) => routeKey(r) === routeKey(want.mainSubnetRoute))) {
    lines.push({ cmd: ipLine`route del ${routeWords(want.mainSubnetRoute)}`, absentOk: true });
  }
  const current = parseRoutes(tableJson, want.table);
  const wantKeys = new Set(want.routes.map(routeKey));
  for (const r of current) if (!wantKeys.has(routeKey(r))) lines.push({ cmd: ipLine`route del ${routeWords(r)}`, absentOk: true });
  const haveKeys = new Set(current.map(routeKey));
  for (const r of want.routes) if (addingAddress || !haveKeys.has(routeKey(r))) lines.push({ cmd: ipLine`route replace ${routeWords(r)}` });
  // the trunk ENI gets no from-rule (upstream setupENINetwork skips it for the trunk, §3.2 step 7): one found goes
  const rules = parseRules(rulesJson, family).filter((r) => r.priority === 32765 && r.from === want.rule.from);
  for (const r of rules) if (input.trunk || formatRule(r) !== formatRule(want.rule)) lines.push({ cmd: ipLine`rule del ${ruleWords(r)}`, absentOk: true });
  if (!input.trunk && !rules.some((r) => formatRule(r) === formatRule(want.rule))) lines.push({ cmd: ipLine`rule add ${ruleWords(want.rule)}`, existsOk: true });
  await runIpBatch(netns, lines, family);
  return lines.map((l) => l.cmd);
}

/** A link as `ip -j link show` describes it: the fields podnet reads. */
export interface LinkInfo {
  ifname: string;
  /** The MAC (absent on links without one). */
  address?: string;
  mtu?: number;
}

/** The links of a namespace (one `ip -j link show`). */
export async function listLinks(netns?: Netns): Promise<LinkInfo[]> {
  const [links] = await readIpJson(netns, ['link show']);
  return links as LinkInfo[];
}

/** The link whose MAC is `mac` (ENIs are found by MAC, not by name: §3.2 step 1, §9 item 3), or undefined. */
export async function findLinkByMac(mac: string, netns?: Netns): Promise<string | undefined> {
  return (await listLinks(netns)).find((l) => l.address?.toLowerCase() === mac.toLowerCase())?.ifname;
}
