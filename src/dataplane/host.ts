import type { RandomizeSnat } from '../config/index.js';
import { PodnetError, run, type Netns } from '../lib/index.js';
import { formatCidr, parseCidr } from '../net/index.js';
import { applyIptables, type IptablesRule, type IptablesState } from './iptables.js';
import { parseRules, readIpJson, ruleKey, ruleWords, runIpBatch, type IpRule, type BatchLine } from './iproute.js';
import { MAIN_TABLE } from './route-table.js';
import { addressWord, ifNameWord, ifPrefixWord, ipLine } from './words.js';
import { applyNft, type NftConnmarkTable } from './nft.js';
/** Where the connmark rules live (spec §2.3 iptables, §2.4 nftables). */
export type ConnmarkBackend = 'iptables' | 'nftables';

/** What the host rules depend on; ipamd fills it from config and IMDS (spec §2.1). */
export interface HostNetworkInput {
  /** VPC CIDRs in IMDS order. */
  vpcCidrs: readonly string[];
  /** AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS, in the order given. */
  excludeSnatCidrs: readonly string[];
  /** IMDS local-ipv4: the SNAT source. */
  primaryIp: string;
  /** The link whose MAC is IMDS `mac`. */
  primaryInterface: string;
  /** AWS_VPC_K8S_CNI_VETHPREFIX (default `eni`). */
  vethPrefix: string;
  connmarkBackend: ConnmarkBackend;
  /** AWS_VPC_K8S_CNI_CONNMARK as a number (default 0x80). */
  mark?: number;
  externalSnat: boolean;
  nodePortSupport: boolean;
  randomizeSnat: RandomizeSnat;
  /** Whether this iptables supports `--random-fully` (1.6.2 and later). */
  randomFullySupported: boolean;
  ipv6: boolean;
  /** podnet-only: the routing of VPC CNI releases before 1.8.0; see {@link renderHostRules}. */
  pre18Routing: boolean;
  /** AWS_EXTERNAL_SERVICE_CIDRS: `to <cidr> lookup main` at priority 1535. */
  externalServiceCidrs: readonly string[];
  /**
   * ENABLE_POD_ENI with POD_SECURITY_GROUP_ENFORCING_MODE=strict: the local table's rule moves from priority 0 to 20,
   * so the branch pods' prio-10 `iif` rules come first (upstream SetupHostNetwork, spec §3.1, §3.9).
   */
  podSgStrict?: boolean;
}

/** The host's desired state: iptables rules and chains, the nftables connmark table (or none), and ip rules. */
export interface HostNetwork {
  iptables: IptablesState;
  nft: NftConnmarkTable | null;
  ipRules: IpRule[];
}

export const defaultMark = 0x80;
/**
 * Host-level rule priorities podnet owns (§3.1): the local table's rule of strict SGP (only as plain `lookup local`),
 * fwmark, the pre-1.8.0 `not to VPC`, external service CIDRs.
 */
export const hostRulePriorities = [20, 1024, 1025, 1535] as const;

/** The kernel's local table (RT_TABLE_LOCAL). */
const LOCAL_TABLE = 255;

const hex = (n: number) => `0x${n.toString(16)}`;

/** `-d <cidr> ` in save form; nothing for 0.0.0.0/0, which `iptables-save` omits (§2.2). */
function dest(cidr: string): string {
  return cidr === '0.0.0.0/0' ? '' : `-d ${cidr} `;
}

/**
 * Each CIDR in canonical form, once, where it first occurs: upstream checks `iptables -C` before inserting a RETURN
 * (and the nft backend keys its CIDRs by string), so a repeat adds nothing and the first-built copy is the one kept.
 */
function normalize(cidrs: readonly string[]): string[] {
  return [...new Set(cidrs.map((c) => formatCidr(parseCidr(c))))];
}

/** The SNAT rule's port flag: none → nothing; hashrandom, or an iptables without it → --random; else --random-fully. */
export function snatRandomFlag(mode: RandomizeSnat, randomFullySupported: boolean): string {
  if (mode === 'none') return '';
  return mode === 'hashrandom' || !randomFullySupported ? ' --random' : ' --random-fully';
}

/**
 * The nat SNAT chain and its POSTROUTING jump (§2.2). Upstream inserts each CIDR RETURN at position 1, so the final
 * order is the reverse of its build list: exclusions last-listed first, then VPC CIDRs last-listed first, then the
 * SNAT rule. With external SNAT the chain exists but stays empty and nothing jumps to it (§2.5).
 */
/**
 * The host rules' values that are not CIDRs (those go through parseCidr): each is checked against its grammar before
 * any rule text is built from it (words.ts).
 */
function checkHostInput(input: HostNetworkInput): void {
  addressWord(input.primaryIp);
  ifNameWord(input.primaryInterface);
  ifPrefixWord(input.vethPrefix);
}

export function renderSnatRules(input: HostNetworkInput): IptablesState {
  checkHostInput(input);
  if (input.ipv6) return { chains: [], rules: [] };
  const chain = 'AWS-SNAT-CHAIN-0';
  const state: IptablesState = { chains: [{ table: 'nat', chain }], rules: [] };
  if (input.externalSnat) return state;
  const nat = (c: string, spec: string): IptablesRule => ({ table: 'nat', chain: c, spec });
  state.rules.push(nat('POSTROUTING', `-m comment --comment "AWS SNAT CHAIN" -j ${chain}`));
  for (const c of normalize(input.excludeSnatCidrs).reverse()) state.rules.push(nat(chain, `${dest(c)}-m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN`));
  for (const c of normalize(input.vpcCidrs).reverse()) state.rules.push(nat(chain, `${dest(c)}-m comment --comment "AWS SNAT CHAIN" -j RETURN`));
  state.rules.push(nat(chain, `! -o vlan+ -m comment --comment "AWS, SNAT" -m addrtype ! --dst-type LOCAL -j SNAT --to-source ${input.primaryIp}${snatRandomFlag(input.randomizeSnat, input.randomFullySupported)}`));
  return state;
}

/** Connmark marking is in use unless external SNAT (upstream's Cleanup), IPv6 mode, or the pre-1.8.0 routing. */
function usesConnmark(input: HostNetworkInput): boolean {
  return !input.ipv6 && !input.externalSnat && !input.pre18Routing;
}

/** CIDRs that are never marked: VPC CIDRs then exclusions (§2.3 `exemptCIDRs`), in upstream's final (reversed) order. */
function exemptCidrs(input: HostNetworkInput): string[] {
  return normalize([...input.vpcCidrs, ...input.excludeSnatCidrs]).reverse();
}

/**
 * The whole host rule set (§2.2–§2.5, §3.1). Rules come out in `iptables-save` form (§2.6).
 *
 * `pre18Routing` (podnet-only, for the lab): before VPC CNI 1.8.0 there was no connmark marking. Instead one ip rule,
 * `1025: not to <VPC CIDR> lookup main`, sent every packet bound outside the VPC through the main table — out of the
 * primary ENI, where the SNAT chain rewrites it to the node IP. That works for the internet, but it also catches
 * destinations the SNAT chain exempts (AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS, e.g. a peered VPC): a pod on a secondary
 * ENI then leaves through the primary ENI with its own, un-translated address, which the primary ENI does not own,
 * so the VPC drops it (source/destination check). 1.8.0 replaced the rule with the connmark chain (§2.3, §2.7 step 3),
 * which marks only connections whose destination is neither in the VPC nor excluded, so excluded destinations follow
 * rule 1536 out of the pod's own ENI. In this mode podnet renders no connmark rules (in either backend) and the 1025
 * rule for the first (primary) VPC CIDR, as the original proposal shows it (`docs/cni-proposal.md`); a second VPC
 * CIDR cannot be expressed with a single `not to`, and the old releases did not try.
 */
export function renderHostRules(input: HostNetworkInput): HostNetwork {
  const mark = input.mark ?? defaultMark;
  const m = hex(mark);
  const state = renderSnatRules(input);
  const rules = state.rules;
  const ipRules: IpRule[] = [];
  const family = input.ipv6 ? 6 : 4;
  let nft: NftConnmarkTable | null = null;
  if (input.ipv6) {
    // §2.5 IPv6 mode: no nat/mangle rules; pods must not reach node-local IPv4 addresses
    rules.push({ table: 'filter', chain: 'FORWARD', first: true, spec: '-d 169.254.172.0/22 -m conntrack --ctstate NEW -m comment --comment "Block Node Local Pod access via IPv4" -j REJECT --reject-with icmp-port-unreachable' });
  } else {
    if (usesConnmark(input) && input.connmarkBackend === 'iptables') {
      const chain = 'AWS-CONNMARK-CHAIN-0';
      state.chains.push({ table: 'nat', chain });
      // the restore rule is deleted and re-appended by upstream so it always sits after the jump (§2.3)
      rules.push({ table: 'nat', chain: 'PREROUTING', spec: `-i ${input.vethPrefix}+ -m comment --comment "AWS, outbound connections" -j ${chain}` });
      rules.push({ table: 'nat', chain: 'PREROUTING', spec: `-m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --nfmask ${m} --ctmask ${m}` });
      for (const c of exemptCidrs(input)) rules.push({ table: 'nat', chain, spec: `${dest(c)}-m comment --comment "AWS CONNMARK CHAIN" -j RETURN` });
      rules.push({ table: 'nat', chain, spec: `-m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark ${m}/${m}` });
    }
    if (usesConnmark(input) && input.connmarkBackend === 'nftables') nft = renderNftConnmark(input);
    const mangle = (spec: string): IptablesRule => ({ table: 'mangle', chain: 'PREROUTING', spec });
    if (input.nodePortSupport) rules.push(mangle(`-i ${input.primaryInterface} -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark ${m}/${m}`));
    if (input.nodePortSupport || !input.externalSnat) rules.push(mangle(`-i ${input.vethPrefix}+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask ${m} --ctmask ${m}`));
    if (input.nodePortSupport) rules.push(mangle(`-i vlan+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask ${m} --ctmask ${m}`));
    if (input.podSgStrict) ipRules.push({ family: 4, priority: 20, table: LOCAL_TABLE });
    const primaryVpc = input.vpcCidrs[0];
    if (input.pre18Routing && !input.externalSnat && primaryVpc) ipRules.push({ family: 4, priority: 1025, not: true, to: formatCidr(parseCidr(primaryVpc)), table: MAIN_TABLE });
  }
  if (input.nodePortSupport || !input.externalSnat) ipRules.push({ family, priority: 1024, fwmark: { value: mark, mask: mark }, table: MAIN_TABLE });
  for (const c of input.externalServiceCidrs) {
    const cidr = parseCidr(c);
    ipRules.push({ family: cidr.family, priority: 1535, to: formatCidr(cidr), table: MAIN_TABLE });
  }
  ipRules.sort((a, b) => a.priority - b.priority);
  return { iptables: state, nft, ipRules };
}

/** The `table ip aws-cni` of §2.4 for this input (the caller decides whether the nft backend is in use). */
export function renderNftConnmark(input: HostNetworkInput): NftConnmarkTable {
  checkHostInput(input);
  const mark = `0x${(input.mark ?? defaultMark).toString(16).padStart(8, '0')}`;
  return {
    prerouting: ['fib daddr type local return', `iifname "${input.vethPrefix}*" counter jump snat-mark`, `counter meta mark set ct mark & ${mark}`],
    cidrReturns: exemptCidrs(input).map((c) => `counter ip daddr ${c} return`),
    setMark: `counter ct mark set ct mark | ${mark}`,
  };
}

/** Upstream's choice (§9 item 5): the iptables connmark rules when `iptables --version` says legacy, else nftables. */
export async function detectConnmarkBackend(netns?: Netns): Promise<ConnmarkBackend> {
  const { stdout } = await run(['iptables', '--version'], { netns });
  return /legacy/.test(stdout) ? 'iptables' : 'nftables';
}

/** `--random-fully` exists from iptables 1.6.2 on. */
export async function detectRandomFully(netns?: Netns): Promise<boolean> {
  const { stdout } = await run(['iptables', '--version'], { netns });
  const v = /v(\d+)\.(\d+)\.(\d+)/.exec(stdout);
  if (!v) return false;
  const [maj, min, patch] = [Number(v[1]), Number(v[2]), Number(v[3])];
  return maj > 1 || (maj === 1 && (min > 6 || (min === 6 && patch >= 2)));
}

/** `lookup local` and nothing else (any selector makes it someone else's rule, not the node's local rule). */
function isPlainLocalRule(r: IpRule): boolean {
  return r.family === 4 && r.table === LOCAL_TABLE && !r.from && !r.to && !r.not && !r.fwmark && !r.iif && !r.otherSelectors?.length;
}

/**
 * Adds and deletes for the host-level ip rules of one family: 1024, 1025, 1535, and the local table's rule at 20 (strict
 * security groups for pods). Priority 20 is podnet's only as the plain `lookup local` rule. The local rule moves
 * between 0 and 20 without a moment where the node has none (loopback and the node's own addresses would stop working):
 * to strict, 20 is added before the kernel's 0 is deleted (last in the batch); back from strict (standard mode, or
 * ENABLE_POD_ENI off), `lookup local prio 0` is put back first, when no prio-0 local rule exists, then 20 goes.
 */
export function planHostRules(current: readonly IpRule[], desired: readonly IpRule[]): BatchLine[] {
  const owned = current.filter((r) => (r.priority === 20 ? isPlainLocalRule(r) : (hostRulePriorities as readonly number[]).includes(r.priority)));
  const want = new Set(desired.map(ruleKey));
  const have = new Set(owned.map(ruleKey));
  const localAt = (rules: readonly IpRule[], priority: number) => rules.some((r) => r.priority === priority && isPlainLocalRule(r));
  const lines: BatchLine[] = [];
  const local0 = { family: 4 as const, priority: 0, table: LOCAL_TABLE };
  if (localAt(current, 20) && !localAt(desired, 20) && !localAt(current, 0)) lines.push({ cmd: ipLine`rule add ${ruleWords(local0)}`, existsOk: true });
  for (const r of owned) if (!want.has(ruleKey(r))) lines.push({ cmd: ipLine`rule del ${ruleWords(r)}`, absentOk: true });
  for (const r of desired) if (!have.has(ruleKey(r))) lines.push({ cmd: ipLine`rule add ${ruleWords(r)}`, existsOk: true });
  // strict: the kernel's prio-0 local rule goes once the prio-20 one is in (added above in this batch)
  if (localAt(desired, 20) && localAt(current, 0)) lines.push({ cmd: ipLine`rule del ${ruleWords(local0)}`, absentOk: true });
  return lines;
}

/**
 * Reconciles the host: iptables (one `iptables-save`, at most one `iptables-restore --noflush`), the nft connmark
 * table (one list, at most one `nft -f`; the other backend's leftovers go too), and the ip rules. Returns the changes
 * made: empty when the host already matched.
 */
export async function applyHostNetwork(input: HostNetworkInput, netns?: Netns): Promise<string[]> {
  if (!input.ipv6 && input.vpcCidrs.length === 0) {
    throw new PodnetError('CONFIG_INVALID', 'no VPC CIDRs to exempt from SNAT and connmark: the list is empty', 'ipamd reads them from IMDS network/interfaces/macs/<mac>/vpc-ipv4-cidr-blocks; check that IMDS answers');
  }
  const desired = renderHostRules(input);
  const changes = [...(await applyIptables(desired.iptables, netns)), ...(await applyNft(desired.nft, netns))];
  const families: (4 | 6)[] = input.ipv6 || desired.ipRules.some((r) => r.family === 6) ? [4, 6] : [4];
  for (const family of families) {
    const want = desired.ipRules.filter((r) => r.family === family);
    const [json] = await readIpJson(netns, ['rule show'], family);
    const current = parseRules(json, family);
    const lines = planHostRules(current, want);
    await runIpBatch(netns, lines, family);
    changes.push(...lines.map((l) => `ip -${family} ${l.cmd}`));
  }
  return changes;
}
