/**
 * The IPAM checkpoint in upstream's format and path semantics (§6.4), so a node can move between aws-node and
 * podnet without losing track of its pods.
 */
import { readFile } from 'node:fs/promises';
import { hostVethName } from '../dataplane/index.js';
import { PodnetError, writeFileAtomic } from '../lib/index.js';
import type { Assignment, Datastore, IpamKey, IpamMetadata } from './datastore.js';

export const CHECKPOINT_VERSION = 'vpc-cni-ipam/1';

/** One allocation as upstream writes it: IPAMKey fields inlined, Unix-nanosecond timestamp, metadata. */
export interface CheckpointAllocation {
  readonly networkName: string;
  readonly containerID: string;
  readonly ifName: string;
  readonly ipv4?: string;
  readonly ipv6?: string;
  readonly allocationTimestamp: bigint;
  readonly metadata: IpamMetadata;
}

export interface Checkpoint {
  readonly version: typeof CHECKPOINT_VERSION;
  readonly allocations: readonly CheckpointAllocation[];
}

/** The checkpoint of a network card: the base path for card 0, `<base>-nic-<N>.json` for card N > 0 (§6.4). */
export function checkpointPath(base: string, networkCard: number): string {
  return networkCard === 0 ? base : `${base.replace(/\.json$/, '')}-nic-${networkCard}.json`;
}

/** The checkpoint recording every assignment of a datastore. */
export function checkpointOf(assignments: readonly Assignment[]): Checkpoint {
  return {
    version: CHECKPOINT_VERSION,
    allocations: assignments.map((a) => ({
      networkName: a.key.networkName,
      containerID: a.key.containerId,
      ifName: a.key.ifName,
      ...(a.family === 4 ? { ipv4: a.address } : { ipv6: a.address }),
      allocationTimestamp: a.assignedAtNs,
      metadata: a.metadata,
    })),
  };
}

/** Upstream's encoding: compact JSON, omitempty fields left out, nanoseconds as a JSON integer, trailing newline. */
export function renderCheckpoint(cp: Checkpoint): string {
  const allocations = cp.allocations.map((a) => ({
    networkName: a.networkName,
    containerID: a.containerID,
    ifName: a.ifName,
    ...(a.ipv4 ? { ipv4: a.ipv4 } : {}),
    ...(a.ipv6 ? { ipv6: a.ipv6 } : {}),
    allocationTimestamp: `${a.allocationTimestamp}`,
    metadata: {
      ...(a.metadata.k8sPodNamespace ? { k8sPodNamespace: a.metadata.k8sPodNamespace } : {}),
      ...(a.metadata.k8sPodName ? { k8sPodName: a.metadata.k8sPodName } : {}),
      ...(a.metadata.interfacesCount ? { interfacesCount: a.metadata.interfacesCount } : {}),
    },
  }));
  // A JSON number cannot carry 19-digit nanoseconds exactly through JS numbers, so write the digits unquoted.
  return JSON.stringify({ version: cp.version, allocations }).replace(/"allocationTimestamp":"(-?\d+)"/g, '"allocationTimestamp":$1') + '\n';
}

function corrupt(path: string, why: string, cause?: unknown): PodnetError {
  return new PodnetError('CHECKPOINT_CORRUPT', `IPAM checkpoint ${path} is unusable: ${why}`,
    'ipamd rebuilds the datastore from IMDS/EC2 without it; pods already running keep their addresses only if they are re-added, so check them, and move the file aside to keep it for inspection',
    cause === undefined ? undefined : { cause });
}

/** Parses checkpoint text; a file that is not upstream's format is a CHECKPOINT_CORRUPT error naming the path. */
export function parseCheckpoint(text: string, path: string): Checkpoint {
  let doc: unknown;
  try {
    doc = JSON.parse(text.replace(/("allocationTimestamp"\s*:\s*)(-?\d+)/g, '$1"$2"'));
  } catch (err) {
    throw corrupt(path, `not JSON (${(err as Error).message})`, err);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw corrupt(path, 'not a JSON object');
  const { version, allocations } = doc as { version?: unknown; allocations?: unknown };
  if (version !== CHECKPOINT_VERSION) throw corrupt(path, `version ${JSON.stringify(version)}, podnet reads ${CHECKPOINT_VERSION} only`);
  if (allocations !== null && allocations !== undefined && !Array.isArray(allocations)) throw corrupt(path, '"allocations" is not a list');
  const list = (allocations ?? []) as unknown[];
  return {
    version: CHECKPOINT_VERSION,
    allocations: list.map((raw, i) => {
      const a = raw as Record<string, unknown>;
      const str = (k: string): string | undefined => (typeof a[k] === 'string' ? (a[k] as string) : undefined);
      if (typeof raw !== 'object' || raw === null || str('containerID') === undefined || (!str('ipv4') && !str('ipv6'))) {
        throw corrupt(path, `allocation ${i + 1} of ${list.length} lacks containerID or an address`);
      }
      const ts = str('allocationTimestamp');
      const m = (typeof a.metadata === 'object' && a.metadata !== null ? a.metadata : {}) as Record<string, unknown>;
      return {
        networkName: str('networkName') ?? '',
        containerID: str('containerID')!,
        ifName: str('ifName') ?? '',
        ...(str('ipv4') ? { ipv4: str('ipv4')! } : {}),
        ...(str('ipv6') ? { ipv6: str('ipv6')! } : {}),
        allocationTimestamp: ts === undefined ? 0n : BigInt(ts),
        metadata: {
          ...(typeof m.k8sPodNamespace === 'string' && m.k8sPodNamespace ? { k8sPodNamespace: m.k8sPodNamespace } : {}),
          ...(typeof m.k8sPodName === 'string' && m.k8sPodName ? { k8sPodName: m.k8sPodName } : {}),
          ...(typeof m.interfacesCount === 'number' && m.interfacesCount ? { interfacesCount: m.interfacesCount } : {}),
        },
      };
    }),
  };
}

/** Reads the checkpoint; undefined when the file does not exist (a fresh node). */
export async function readCheckpoint(path: string): Promise<Checkpoint | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw corrupt(path, `cannot read it (${(err as Error).message})`, err);
  }
  return parseCheckpoint(text, path);
}

/**
 * Atomic rewrite as upstream: a temp file in the same directory, fsync, then rename over the checkpoint; a failed
 * write leaves no temp file. The temp file is created afresh with mode 0600, as Go's os.CreateTemp makes it (the
 * file names every pod on the node), so the rename also replaces an older checkpoint written with another mode.
 */
export async function writeCheckpoint(path: string, cp: Checkpoint): Promise<void> {
  await writeFileAtomic(path, renderCheckpoint(cp), { mode: 0o600, what: 'the IPAM checkpoint' });
}

/** The last 11 hex digits of a pod's host veth name (§3.5): the veth name without its prefix, as the dataplane hashes it. */
export function podLinkSuffix(namespace: string, name: string): string {
  return hostVethName('', namespace, name);
}

/**
 * Splits allocations into live and stale (§6.4): an allocation naming a pod (namespace and name) is stale unless a
 * host link's name ends with that pod's veth suffix. Allocations without pod names are kept.
 */
function partitionStale(
  allocations: readonly CheckpointAllocation[],
  hostLinkNames: readonly string[],
): { live: CheckpointAllocation[]; stale: CheckpointAllocation[] } {
  const live: CheckpointAllocation[] = [];
  const stale: CheckpointAllocation[] = [];
  for (const a of allocations) {
    const { k8sPodNamespace: ns, k8sPodName: name } = a.metadata;
    if (ns && name && !hostLinkNames.some((l) => l.endsWith(podLinkSuffix(ns, name)))) stale.push(a);
    else live.push(a);
  }
  return { live, stale };
}

/** What restoring a checkpoint into a datastore did. */
export interface RestoreResult {
  readonly restored: CheckpointAllocation[];
  /** Pods whose host link is gone: their rules should be deleted (§6.4). */
  readonly stale: CheckpointAllocation[];
  /** Addresses no ENI of the datastore holds any more (removed outside podnet): dropped. */
  readonly unknown: CheckpointAllocation[];
}

/**
 * ReadBackingStore (§6.4), after the datastore's ENIs and CIDRs were rebuilt from IMDS/EC2: prunes stale pods,
 * marks each remaining address assigned with its original key and timestamp. The caller rewrites the checkpoint.
 */
export function restoreCheckpoint(ds: Datastore, cp: Checkpoint, hostLinkNames: readonly string[], family: 4 | 6 = 4): RestoreResult {
  const { live, stale } = partitionStale(cp.allocations, hostLinkNames);
  const restored: CheckpointAllocation[] = [];
  const unknown: CheckpointAllocation[] = [];
  for (const a of live) {
    const address = family === 4 ? a.ipv4 : a.ipv6;
    const key: IpamKey = { networkName: a.networkName, containerId: a.containerID, ifName: a.ifName };
    if (address && ds.restoreAssignment({ key, metadata: a.metadata, address, assignedAtNs: a.allocationTimestamp })) restored.push(a);
    else unknown.push(a);
  }
  return { restored, stale, unknown };
}
