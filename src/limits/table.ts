import { PodnetError, nearestNames } from '../lib/index.js';
import { loadDataTable } from './data.js';

/** One network card of an instance type, as in upstream's limits table (§8). */
export interface NetworkCard {
  readonly MaximumNetworkInterfaces: number;
  readonly NetworkCardIndex: number;
}

export type HypervisorType = 'nitro' | 'xen' | 'unknown';

/**
 * The ENI/IP limits of one instance type: its name, then field for field as in data/instance-limits.json (§8). The
 * name lets per-type facts from the other tables (trunking, vCPUs) follow the limits wherever they are passed.
 */
export interface InstanceLimits {
  readonly instanceType: string;
  /** Max ENIs on the default network card. */
  readonly ENILimit: number;
  /** IPv4 addresses per ENI, including the ENI's own primary address. */
  readonly IPv4Limit: number;
  readonly DefaultNetworkCardIndex: number;
  readonly NetworkCards: readonly NetworkCard[];
  readonly HypervisorType: HypervisorType;
  readonly IsBareMetal: boolean;
}

/** Addresses per /28 prefix (§4.1). */
export const IPS_PER_PREFIX = 16;

let table: ReadonlyMap<string, InstanceLimits> | undefined;

type InstanceLimitsEntry = Omit<InstanceLimits, 'instanceType'>;

function isInstanceLimitsEntry(value: unknown): value is InstanceLimitsEntry {
  const v = value as Partial<InstanceLimitsEntry> | null;
  return typeof v === 'object' && v !== null && typeof v.ENILimit === 'number' && typeof v.IPv4Limit === 'number'
    && Array.isArray(v.NetworkCards);
}

function loadTable(): ReadonlyMap<string, InstanceLimits> {
  table ??= new Map([...loadDataTable('instance-limits.json', isInstanceLimitsEntry)]
    .map(([instanceType, entry]) => [instanceType, { instanceType, ...entry }]));
  return table;
}

/** Every known instance type, sorted by name (byte order, as upstream's eni-max-pods.txt). */
export function allInstanceTypes(): string[] {
  return [...loadTable().keys()];
}

/** The limits of an instance type; an unknown name is a usage error that suggests the nearest known names. */
export function lookupInstanceType(name: string): InstanceLimits {
  const types = loadTable();
  const limits = types.get(name);
  if (limits) return limits;
  const near = nearestNames(name, types.keys());
  throw new PodnetError('UNKNOWN_INSTANCE_TYPE', `unknown instance type '${name}' (${types.size} types are known)`,
    near.length > 0 ? `did you mean ${near.join(', ')}?` : 'instance types look like t3.small or m5.large; data/instance-limits.json lists every known type');
}

/** Upstream allows prefix delegation only on Nitro or bare-metal instances (`awsutils.go:2025`, §8). */
export function supportsPrefixDelegation(limits: InstanceLimits): boolean {
  return limits.HypervisorType === 'nitro' || limits.IsBareMetal;
}

/** ENIs on the default network card: the only card that carries pod addresses unless multi-NIC is on (§4.16). */
export function enisOnDefaultCard(limits: InstanceLimits): number {
  const card = limits.NetworkCards.find((c) => c.NetworkCardIndex === limits.DefaultNetworkCardIndex);
  return card?.MaximumNetworkInterfaces ?? limits.ENILimit;
}

/** Pod addresses one ENI can hold: the primary IP is never used for pods; with PD each slot is a /28 (§4.2). */
export function maxIpsPerEni(limits: InstanceLimits, prefixDelegation: boolean): number {
  const slots = limits.IPv4Limit - 1;
  return prefixDelegation ? slots * IPS_PER_PREFIX : slots;
}

/** /28 prefixes one ENI can hold: IPv4Limit − 1 with prefix delegation, none without (§4.2). */
export function maxPrefixesPerEni(limits: InstanceLimits, prefixDelegation: boolean): number {
  return prefixDelegation ? limits.IPv4Limit - 1 : 0;
}
