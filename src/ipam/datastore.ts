import { PodnetError } from '../lib/index.js';
import { addressAt, cidrContains, cidrSize, formatAddress, formatCidr, parseAddress, parseCidr, type Cidr, type Family } from '../net/index.js';

/** Identifies one pod interface, as upstream's IPAMKey (§4.3): the same key always gets the same address back. */
export interface IpamKey {
  readonly networkName: string;
  readonly containerId: string;
  readonly ifName: string;
}

/** What the checkpoint keeps about the pod behind an address (§6.4). */
export interface IpamMetadata {
  readonly k8sPodNamespace?: string;
  readonly k8sPodName?: string;
  readonly interfacesCount?: number;
}

/** The key upstream gives allocations migrated from the CRI checkpoint; DEL falls back to it (§4.11). */
export const MIGRATED_NETWORK_NAME = '_migrated-from-cri';
export const MIGRATED_IF_NAME = 'unknown';

/** One ENI as the datastore knows it. Times are milliseconds since the epoch on the caller's clock. */
export interface EniInfo {
  readonly id: string;
  readonly deviceNumber: number;
  readonly networkCard: number;
  /** The instance's primary ENI: never freed; skipped for pod addresses with custom networking (§5.1). */
  readonly primary: boolean;
  /** The SGP trunk ENI: never carries pod addresses from this pool (§5.2). */
  readonly trunk: boolean;
  readonly efa: boolean;
  /** In a subnet excluded from pod addresses (§5.5): not counted, not assigned from. */
  readonly excluded: boolean;
  readonly subnetId: string;
  readonly subnetCidr: string;
  /** The ENI's own primary address; never given to a pod. */
  readonly primaryIp: string;
  /** When the ENI was added to this datastore; the minimum-age rule counts from here (§4.1). */
  readonly createdAt: number;
}

/** A pod's address and where it lives: what the CNI handler needs to wire the pod (§6.2). */
export interface Assignment {
  readonly key: IpamKey;
  readonly metadata: IpamMetadata;
  readonly address: string;
  readonly family: Family;
  /** The /32 secondary IP, /28 prefix or IPv6 prefix the address came from. */
  readonly cidr: string;
  readonly eniId: string;
  readonly deviceNumber: number;
  readonly networkCard: number;
  /** Unix nanoseconds, as the checkpoint's allocationTimestamp. */
  readonly assignedAtNs: bigint;
}

/**
 * An address the datastore has handed out (upstream's AddressInfo, §4.3, §6.5): held by a pod, or released and kept
 * with its release time, which is how introspection shows cooldown.
 */
export interface AddressRecord {
  readonly eniId: string;
  /** The /32 secondary IP, /28 prefix or IPv6 prefix the address belongs to. */
  readonly cidr: string;
  readonly address: string;
  /** The pod's key while held; absent once released (upstream zeroes IPAMKey and IPAMMetadata). */
  readonly key?: IpamKey;
  readonly metadata: IpamMetadata;
  /** Unix nanoseconds of the last assignment; upstream keeps it on release. */
  readonly assignedAtNs: bigint;
  /** When it was released (ms), starting its IP_COOLDOWN_PERIOD; absent while held. */
  readonly unassignedAt?: number;
}

/** One CIDR of an ENI in a snapshot: enough for every pool decision. */
export interface CidrSnapshot {
  readonly cidr: string;
  /** A /28 prefix (prefix delegation) rather than a /32 secondary IP. */
  readonly prefix: boolean;
  readonly size: number;
  readonly assigned: number;
  /** Unassigned addresses still inside IP_COOLDOWN_PERIOD. */
  readonly coolingDown: number;
  /** When the last of those leaves cooldown (ms); absent when none is cooling down. */
  readonly coolingUntil?: number;
}

export interface EniSnapshot extends EniInfo {
  /** IPv4 CIDRs in the order they were attached, of both kinds (leftovers of the other mode included). */
  readonly cidrs: readonly CidrSnapshot[];
}

/** The datastore as plain data at one instant: the input of the pure pool decisions (pool.ts). */
export interface PoolSnapshot {
  readonly prefixDelegation: boolean;
  /** In creation order. */
  readonly enis: readonly EniSnapshot[];
}

/** GetIPStats (§4.3). Cooldown addresses count as available in every pool decision. */
export interface IpStats {
  /** Addresses in CIDRs of the active mode (prefixes with PD, /32s otherwise) on non-excluded ENIs. */
  readonly totalIps: number;
  readonly assignedIps: number;
  readonly cooldownIps: number;
  /** Prefixes on all ENIs. */
  readonly totalPrefixes: number;
  /** Prefixes with no assigned address, on all ENIs (GetFreePrefixes). */
  readonly freePrefixes: number;
}

interface AddressEntry {
  key?: IpamKey;
  metadata?: IpamMetadata;
  assignedAtNs?: bigint;
  unassignedAt?: number;
}

interface CidrEntry {
  readonly text: string;
  readonly cidr: Cidr;
  readonly prefix: boolean;
  readonly addresses: Map<string, AddressEntry>;
}

interface EniEntry {
  info: EniInfo;
  readonly ipv4: Map<string, CidrEntry>;
  readonly ipv6: Map<string, CidrEntry>;
}

interface Location {
  readonly eni: EniEntry;
  readonly cidr: CidrEntry;
  readonly address: string;
}

export interface DatastoreOptions {
  /** ENABLE_PREFIX_DELEGATION: pods get addresses from /28 prefixes, and only prefixes count (§4.3). */
  readonly prefixDelegation: boolean;
  /** IP_COOLDOWN_PERIOD in ms: a released address is not handed out again for this long (§4.12). */
  readonly ipCooldownMs: number;
}

function keyText(k: IpamKey): string {
  return JSON.stringify([k.networkName, k.containerId, k.ifName]);
}

/** Accepts an address ("10.0.1.7" means its /32) or a CIDR, and returns it in canonical form. */
function normaliseCidr(text: string): Cidr {
  if (text.includes('/')) return parseCidr(text, { strict: true });
  const a = parseAddress(text);
  return { family: a.family, network: a.value, prefixLength: a.family === 4 ? 32 : 128 };
}

/**
 * The addresses of one node (one network card): ENIs, their /32 secondary IPs or /28 prefixes (and IPv6 prefixes),
 * and which pod holds which address (§4.3).
 *
 * Order is deterministic where upstream iterates Go maps (spec §9 item 1): ENIs in the order they were added,
 * CIDRs in the order they were attached, and within a CIDR the lowest address that is free and out of cooldown.
 */
export class Datastore {
  private readonly enis = new Map<string, EniEntry>();
  private readonly byKey = new Map<string, Location>();

  constructor(readonly options: DatastoreOptions) {}

  /** Adds an ENI with no CIDRs yet. */
  addEni(info: EniInfo): void {
    if (this.enis.has(info.id)) {
      throw new PodnetError('FAILED', `ENI ${info.id} is already in the datastore (device ${this.enis.get(info.id)!.info.deviceNumber})`,
        'remove it first, or update its flags with updateEni');
    }
    this.enis.set(info.id, { info, ipv4: new Map(), ipv6: new Map() });
  }

  /** Changes flags learnt later (trunk, EFA, excluded) without touching its addresses. */
  updateEni(id: string, change: Partial<Pick<EniInfo, 'trunk' | 'efa' | 'excluded' | 'subnetCidr'>>): void {
    const eni = this.requireEni(id);
    eni.info = { ...eni.info, ...change };
  }

  hasEni(id: string): boolean {
    return this.enis.has(id);
  }

  eniInfo(id: string): EniInfo | undefined {
    return this.enis.get(id)?.info;
  }

  /** ENIs in creation order. */
  eniInfos(): EniInfo[] {
    return [...this.enis.values()].map((e) => e.info);
  }

  /** CIDRs of an ENI in attach order: IPv4 (/32 and /28), then IPv6. */
  cidrsOf(id: string): string[] {
    const eni = this.requireEni(id);
    return [...eni.ipv4.keys(), ...eni.ipv6.keys()];
  }

  /**
   * Removes an ENI. With pods on it this throws ADDRESS_IN_USE unless `force` (reconcile found the ENI gone),
   * in which case the released assignments are returned so the caller can unwire those pods.
   */
  removeEni(id: string, opts: { force?: boolean } = {}): Assignment[] {
    const eni = this.requireEni(id);
    const held = this.assignmentsOn(eni);
    if (held.length > 0 && !opts.force) {
      throw new PodnetError('ADDRESS_IN_USE', `ENI ${id} still has ${held.length} pod address(es), e.g. ${held[0]!.address}`,
        'release the pods first; reconcile removes a vanished ENI with force');
    }
    for (const a of held) this.byKey.delete(keyText(a.key));
    this.enis.delete(id);
    return held;
  }

  /** Adds a secondary IP ("10.0.1.7" or "/32"), a /28 prefix, or an IPv6 address/prefix. Returns false if present. */
  addCidr(eniId: string, text: string): boolean {
    const eni = this.requireEni(eniId);
    const cidr = normaliseCidr(text);
    const canonical = formatCidr(cidr);
    const map = cidr.family === 4 ? eni.ipv4 : eni.ipv6;
    if (map.has(canonical)) return false;
    map.set(canonical, { text: canonical, cidr, prefix: cidr.family === 4 && cidr.prefixLength < 32, addresses: new Map() });
    return true;
  }

  /**
   * Removes a CIDR (DelIPv4CidrFromStore). With an assigned address in it this throws ADDRESS_IN_USE unless
   * `force`; forced removal returns the released assignments (reconcile's force-removal, §4.13).
   */
  removeCidr(eniId: string, text: string, opts: { force?: boolean } = {}): Assignment[] {
    const eni = this.requireEni(eniId);
    const canonical = formatCidr(normaliseCidr(text));
    const map = canonical.includes(':') ? eni.ipv6 : eni.ipv4;
    const entry = map.get(canonical);
    if (!entry) return [];
    const held = [...entry.addresses.entries()].filter(([, a]) => a.key).map(([addr]) => this.assignmentAt({ eni, cidr: entry, address: addr }));
    if (held.length > 0 && !opts.force) {
      throw new PodnetError('ADDRESS_IN_USE', `${canonical} on ${eniId} has ${held.length} assigned address(es), e.g. ${held[0]!.address}`,
        'only CIDRs without pods are released; the pool decrease skips it and tries again next time');
    }
    for (const a of held) this.byKey.delete(keyText(a.key));
    map.delete(canonical);
    return held;
  }

  /** The assignment held by a key, if any. */
  findAssignment(key: IpamKey): Assignment | undefined {
    const loc = this.byKey.get(keyText(key));
    return loc && this.assignmentAt(loc);
  }

  /**
   * Gives the pod an address (AssignPodIPv4Address / AssignPodIPv6Address, §4.11). The same key gets the same
   * address again. Returns undefined when no address is free; `whyNoAddress` (pool.ts) says why.
   */
  assign(key: IpamKey, metadata: IpamMetadata, nowMs: number, family: Family = 4): Assignment | undefined {
    const existing = this.byKey.get(keyText(key));
    if (existing && existing.cidr.cidr.family === family) return this.assignmentAt(existing);
    for (const eni of this.enis.values()) {
      if (eni.info.excluded) continue;
      for (const cidr of this.activeCidrs(eni, family)) {
        const address = this.firstFreeAddress(cidr, nowMs);
        if (address === undefined) continue;
        this.forgetCooledAddresses(cidr, nowMs);
        const entry: AddressEntry = { key, metadata, assignedAtNs: BigInt(Math.round(nowMs)) * 1_000_000n };
        cidr.addresses.set(address, entry);
        const loc = { eni, cidr, address };
        this.byKey.set(keyText(key), loc);
        return this.assignmentAt(loc);
      }
    }
    return undefined;
  }

  /**
   * Releases the pod's address (UnassignPodIPAddress, §4.11): by key, else by the CRI-migration key. The address
   * stays on the ENI, cooling down for IP_COOLDOWN_PERIOD. Returns undefined for an unknown pod.
   */
  unassign(key: IpamKey, nowMs: number): Assignment | undefined {
    let id = keyText(key);
    let loc = this.byKey.get(id);
    if (!loc) {
      id = keyText({ networkName: MIGRATED_NETWORK_NAME, containerId: key.containerId, ifName: MIGRATED_IF_NAME });
      loc = this.byKey.get(id);
    }
    if (!loc) return undefined;
    const released = this.assignmentAt(loc);
    loc.cidr.addresses.set(loc.address, { assignedAtNs: released.assignedAtNs, unassignedAt: nowMs });
    this.byKey.delete(id);
    return released;
  }

  /**
   * Marks an address assigned with its original key and timestamp, when restoring the checkpoint (§6.4).
   * Returns false when no CIDR of this datastore contains the address (the caller logs and drops it).
   */
  restoreAssignment(a: { key: IpamKey; metadata: IpamMetadata; address: string; assignedAtNs: bigint }): boolean {
    const address = parseAddress(a.address);
    for (const eni of this.enis.values()) {
      const map = address.family === 4 ? eni.ipv4 : eni.ipv6;
      for (const cidr of map.values()) {
        if (!cidrContains(cidr.cidr, address)) continue;
        const text = formatAddress(address);
        const existing = this.byKey.get(keyText(a.key));
        if (existing) existing.cidr.addresses.delete(existing.address);
        cidr.addresses.set(text, { key: a.key, metadata: a.metadata, assignedAtNs: a.assignedAtNs });
        this.byKey.set(keyText(a.key), { eni, cidr, address: text });
        return true;
      }
    }
    return false;
  }

  /** Every assigned address, ENIs and CIDRs in order: what the checkpoint records. */
  assignments(): Assignment[] {
    return [...this.enis.values()].flatMap((eni) => this.assignmentsOn(eni));
  }

  /** Every address handed out and not yet forgotten, held or released, ENIs and CIDRs in order (GetENIInfos, §6.5). */
  addressRecords(): AddressRecord[] {
    const out: AddressRecord[] = [];
    for (const eni of this.enis.values()) {
      for (const cidr of [...eni.ipv4.values(), ...eni.ipv6.values()]) {
        for (const [address, a] of cidr.addresses) {
          out.push({
            eniId: eni.info.id,
            cidr: cidr.text,
            address,
            ...(a.key && { key: a.key }),
            metadata: a.metadata ?? {},
            assignedAtNs: a.assignedAtNs ?? 0n,
            ...(a.unassignedAt !== undefined && { unassignedAt: a.unassignedAt }),
          });
        }
      }
    }
    return out;
  }

  stats(nowMs: number): IpStats {
    return ipStats(this.snapshot(nowMs));
  }

  /** The datastore as plain data at `nowMs`, for the pure pool decisions. */
  snapshot(nowMs: number): PoolSnapshot {
    const cooldown = this.options.ipCooldownMs;
    const enis = [...this.enis.values()].map((eni): EniSnapshot => ({
      ...eni.info,
      cidrs: [...eni.ipv4.values()].map((c): CidrSnapshot => {
        let assigned = 0;
        let coolingDown = 0;
        let coolingUntil: number | undefined;
        for (const a of c.addresses.values()) {
          if (a.key) assigned++;
          else if (a.unassignedAt !== undefined && nowMs - a.unassignedAt < cooldown) {
            coolingDown++;
            coolingUntil = Math.max(coolingUntil ?? 0, a.unassignedAt + cooldown);
          }
        }
        return { cidr: c.text, prefix: c.prefix, size: Number(cidrSize(c.cidr)), assigned, coolingDown, ...(coolingUntil !== undefined ? { coolingUntil } : {}) };
      }),
    }));
    return { prefixDelegation: this.options.prefixDelegation, enis };
  }

  private requireEni(id: string): EniEntry {
    const eni = this.enis.get(id);
    if (!eni) throw new PodnetError('FAILED', `ENI ${id} is not in the datastore (${this.enis.size} ENIs known)`, 'add the ENI before its addresses');
    return eni;
  }

  /** Only CIDRs of the active mode give addresses: leftovers of the other mode are skipped (§4.11). */
  private activeCidrs(eni: EniEntry, family: Family): CidrEntry[] {
    if (family === 6) return [...eni.ipv6.values()];
    return [...eni.ipv4.values()].filter((c) => c.prefix === this.options.prefixDelegation);
  }

  private firstFreeAddress(c: CidrEntry, nowMs: number): string | undefined {
    const size = cidrSize(c.cidr);
    // Walk the entries we know plus one past them: a never-used address is free, so no need to scan a whole /80.
    const limit = size < BigInt(c.addresses.size + 1) ? size : BigInt(c.addresses.size + 1);
    for (let off = 0n; off < limit; off++) {
      const text = formatAddress(addressAt(c.cidr, off));
      const entry = c.addresses.get(text);
      if (!entry) return text;
      if (!entry.key && (entry.unassignedAt === undefined || nowMs - entry.unassignedAt >= this.options.ipCooldownMs)) return text;
    }
    return undefined;
  }

  /**
   * Drops the released addresses of a CIDR whose cooldown is over, as upstream's getUnusedIP does whenever the CIDR
   * hands out an address: until then they stay listed with their release time.
   */
  private forgetCooledAddresses(c: CidrEntry, nowMs: number): void {
    for (const [address, a] of c.addresses) {
      if (!a.key && (a.unassignedAt === undefined || nowMs - a.unassignedAt >= this.options.ipCooldownMs)) c.addresses.delete(address);
    }
  }

  private assignmentsOn(eni: EniEntry): Assignment[] {
    const out: Assignment[] = [];
    for (const cidr of [...eni.ipv4.values(), ...eni.ipv6.values()]) {
      for (const [address, a] of cidr.addresses) if (a.key) out.push(this.assignmentAt({ eni, cidr, address }));
    }
    return out;
  }

  private assignmentAt(loc: Location): Assignment {
    const a = loc.cidr.addresses.get(loc.address)!;
    return {
      key: a.key!,
      metadata: a.metadata ?? {},
      address: loc.address,
      family: loc.cidr.cidr.family,
      cidr: loc.cidr.text,
      eniId: loc.eni.info.id,
      deviceNumber: loc.eni.info.deviceNumber,
      networkCard: loc.eni.info.networkCard,
      assignedAtNs: a.assignedAtNs ?? 0n,
    };
  }
}

/** Whether a snapshot CIDR belongs to the active mode: prefixes with PD, /32 secondary IPs otherwise (§4.3). */
export function isActiveCidr(c: CidrSnapshot, prefixDelegation: boolean): boolean {
  return c.prefix === prefixDelegation;
}

/** GetIPStats over a snapshot (§4.3). */
export function ipStats(s: PoolSnapshot): IpStats {
  let totalIps = 0;
  let assignedIps = 0;
  let cooldownIps = 0;
  let totalPrefixes = 0;
  let freePrefixes = 0;
  for (const eni of s.enis) {
    for (const c of eni.cidrs) {
      if (c.prefix) {
        totalPrefixes++;
        if (c.assigned === 0) freePrefixes++;
      }
      if (eni.excluded || !isActiveCidr(c, s.prefixDelegation)) continue;
      totalIps += c.size;
      assignedIps += c.assigned;
      cooldownIps += c.coolingDown;
    }
  }
  return { totalIps, assignedIps, cooldownIps, totalPrefixes, freePrefixes };
}

/** FindFreeableCidrs over a snapshot ENI: active-mode CIDRs with no pod (cooling ones count as free). */
export function freeableCidrs(eni: EniSnapshot, prefixDelegation: boolean): string[] {
  return eni.cidrs.filter((c) => isActiveCidr(c, prefixDelegation) && c.assigned === 0).map((c) => c.cidr);
}

/** The warm targets that can keep an otherwise idle ENI attached (§4.10). */
export interface EniKeepTargets {
  readonly warmIpTarget: number;
  readonly minimumIpTarget: number;
  readonly warmPrefixTarget: number;
}

/** getDeletableENI's answer: the ENI to free, or when an idle ENI will become free (age or cooldown). */
export interface DeletableEni {
  readonly eniId?: string;
  readonly retryAt?: number;
}

/**
 * getDeletableENI (§4.10): the first ENI in creation order that is not primary, trunk or EFA, holds no pod, is at
 * least `minAgeMs` old, has no address in cooldown, and is not needed to meet WARM_IP_TARGET, MINIMUM_IP_TARGET or
 * WARM_PREFIX_TARGET with the other ENIs. When idle ENIs are held back only by age or cooldown, `retryAt` says when
 * the first of them becomes deletable.
 */
export function findDeletableEni(s: PoolSnapshot, targets: EniKeepTargets, minAgeMs: number, nowMs: number): DeletableEni {
  const pd = s.prefixDelegation;
  // In PD mode the IP targets count whole prefixes (roundUp16 in upstream's isRequiredFor* checks).
  const roundUp = (n: number): number => (pd ? Math.ceil(n / 16) * 16 : n);
  let retryAt: number | undefined;
  for (const eni of s.enis) {
    if (eni.primary || eni.trunk || eni.efa) continue;
    if (eni.cidrs.some((c) => c.assigned > 0)) continue;
    const others = s.enis.filter((o) => o.id !== eni.id && !o.excluded);
    const active = others.flatMap((o) => o.cidrs.filter((c) => isActiveCidr(c, pd)));
    const totalOther = active.reduce((n, c) => n + c.size, 0);
    const freeOther = active.reduce((n, c) => n + c.size - c.assigned, 0);
    const freePrefixesOther = others.flatMap((o) => o.cidrs).filter((c) => c.prefix && c.assigned === 0).length;
    if (targets.warmIpTarget !== 0 && freeOther < roundUp(targets.warmIpTarget)) continue;
    if (targets.minimumIpTarget !== 0 && totalOther < roundUp(targets.minimumIpTarget)) continue;
    if (pd && targets.warmPrefixTarget !== 0 && freePrefixesOther < targets.warmPrefixTarget) continue;
    const readyAt = Math.max(eni.createdAt + minAgeMs, ...eni.cidrs.map((c) => c.coolingUntil ?? 0));
    if (nowMs - eni.createdAt >= minAgeMs && eni.cidrs.every((c) => c.coolingDown === 0)) return { eniId: eni.id };
    retryAt = Math.min(retryAt ?? Infinity, readyAt);
  }
  return retryAt === undefined ? {} : { retryAt };
}
