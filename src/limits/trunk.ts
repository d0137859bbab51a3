import { loadDataTable } from './data.js';

/** One row of data/trunk-limits.json: the VPC resource controller's SGP facts for an instance type. */
interface TrunkEntry {
  readonly IsTrunkingCompatible: boolean;
  /** Branch ENIs (pods with their own security groups) the trunk ENI can carry. */
  readonly BranchInterface: number;
}

/** What podnet knows about security groups for pods on one instance type. */
export interface TrunkLimits {
  /** Whether the VPC resource controller's table lists the type (data/trunk-limits.json). */
  readonly listed: boolean;
  /**
   * Whether the type takes a trunk: ipamd holds an ENI slot for it and advertises SecurityGroupsForPods, and the EC2
   * emulator attaches one. A type the table does not list is not supported, as the VPC resource controller decides
   * (it attaches a trunk only when the type is found and IsTrunkingCompatible): one rule for ipamd, max-pods and the
   * emulator.
   */
  readonly trunkingCompatible: boolean;
  /** Branch ENIs the controller offers as `vpc.amazonaws.com/pod-eni`; 0 when not compatible or not listed. */
  readonly branchInterfaces: number;
}

let table: ReadonlyMap<string, TrunkEntry> | undefined;

function isTrunkEntry(value: unknown): value is TrunkEntry {
  const v = value as Partial<TrunkEntry> | null;
  return typeof v === 'object' && v !== null && typeof v.IsTrunkingCompatible === 'boolean' && typeof v.BranchInterface === 'number';
}

function loadTable(): ReadonlyMap<string, TrunkEntry> {
  table ??= loadDataTable('trunk-limits.json', isTrunkEntry);
  return table;
}

/** The trunk facts of an instance type; never throws for a name the table lacks (see TrunkLimits). */
export function trunkLimits(instanceType: string): TrunkLimits {
  const entry = loadTable().get(instanceType);
  if (!entry) return { listed: false, trunkingCompatible: false, branchInterfaces: 0 };
  return { listed: true, trunkingCompatible: entry.IsTrunkingCompatible, branchInterfaces: entry.IsTrunkingCompatible ? entry.BranchInterface : 0 };
}

/** Whether ipamd holds an ENI slot for the SGP trunk on this type (hasRoomForEni, §4.8); false for an unlisted type. */
export function trunkingCompatible(instanceType: string): boolean {
  return trunkLimits(instanceType).trunkingCompatible;
}
