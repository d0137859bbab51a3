/**
 * The node's host setup outside the rules: the sysctls upstream's init container (aws-vpc-cni-init) writes, spec
 * §3.7 — `rp_filter=2` on the primary interface and `tcp_early_demux` — and the primary ENI's MTU that ipamd's
 * SetupHostNetwork sets (§3.8). Sysctls under net/ belong to the network namespace of the process that writes them,
 * so these write the namespace podnet runs in (`podnet init` runs on the node, as upstream's hostNetwork container).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PodnetError, undoOnFailure, type Netns } from '../lib/index.js';
import { listLinks } from './eni.js';
import { runIpBatch } from './iproute.js';
import { ifNameWord, ipLine, numberWord } from './words.js';

/** One sysctl to write, by its path under /proc/sys. */
export interface SysctlSetting {
  key: string;
  value: string;
  /** Written only when the key exists: older kernels have no tcp_early_demux, and upstream checks before setting it. */
  ifExists: boolean;
}

/** What a write did: the value before (undefined when an `ifExists` key is absent and was left alone). */
export interface SysctlResult {
  key: string;
  value: string;
  before: string | undefined;
}

export interface InitSysctlsInput {
  /** The link holding the MAC IMDS reports as `mac`. */
  primaryInterface: string;
  /** DISABLE_TCP_EARLY_DEMUX */
  disableTcpEarlyDemux: boolean;
}

/**
 * The init container's sysctls (spec §3.7): loose reverse-path filtering on the primary interface, always (pods'
 * replies leave through secondary ENIs, so a strict check would drop their traffic), and tcp_early_demux 0 when
 * DISABLE_TCP_EARLY_DEMUX is true, else 1. The interface name goes through the interface-name grammar before it
 * becomes part of a path: a name such as `..` or one with a `/` could otherwise name another file under /proc/sys.
 */
export function renderInitSysctls(input: InitSysctlsInput): SysctlSetting[] {
  const primary = ifNameWord(input.primaryInterface).text;
  return [
    { key: `net/ipv4/conf/${primary}/rp_filter`, value: '2', ifExists: false },
    { key: 'net/ipv4/tcp_early_demux', value: input.disableTcpEarlyDemux ? '0' : '1', ifExists: true },
  ];
}

/** /proc/sys; a test passes a directory of plain files instead. */
const PROC_SYS = '/proc/sys';

function readSysctl(root: string, key: string): string | undefined {
  try {
    return readFileSync(join(root, key), 'utf8').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw sysctlError('read', key, err);
  }
}

function sysctlError(verb: 'read' | 'write', key: string, err: unknown): PodnetError {
  const code = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
  return new PodnetError('FAILED', `cannot ${verb} sysctl ${key.replaceAll('/', '.')}: ${code}`, code === 'EACCES' || code === 'EPERM' ? 'run podnet init as root (upstream runs its init container privileged)' : 'check the key exists on this kernel', { cause: err });
}

/**
 * Refuses settings whose required keys do not exist, before anything is written: `podnet init` checks this ahead of
 * its install, so a missing interface never leaves a half-done node.
 */
export function checkSysctls(settings: readonly SysctlSetting[], root = PROC_SYS): void {
  for (const s of settings) {
    if (s.ifExists || readSysctl(root, s.key) !== undefined) continue;
    throw new PodnetError('LINK_NOT_FOUND', `sysctl ${s.key.replaceAll('/', '.')} does not exist in this network namespace`, 'check the interface name and run podnet init in the node\'s network namespace');
  }
}

/** A done write and how to take it back. */
export interface AppliedSysctls {
  results: SysctlResult[];
  /** Writes back the values found before, last first. Returns the keys it could not restore, with why. */
  undo(): string[];
}

/**
 * Writes each setting, reading the value before. A write that fails writes back those already done, so the
 * namespace is as it was; the undo returned on success does the same for a later step that fails.
 */
export function applySysctls(settings: readonly SysctlSetting[], root = PROC_SYS): AppliedSysctls {
  const done: SysctlResult[] = [];
  const undo = (): string[] => {
    const failed: string[] = [];
    for (const r of [...done].reverse()) {
      if (r.before === undefined || r.before === r.value) continue;
      try {
        writeFileSync(join(root, r.key), r.before);
      } catch (err) {
        failed.push(`${r.key.replaceAll('/', '.')} (still ${r.value}, was ${r.before}): ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
      }
    }
    return failed;
  };
  const results = undoOnFailure(() => settings.map((s): SysctlResult => {
    const before = readSysctl(root, s.key);
    if (before === undefined && s.ifExists) return { key: s.key, value: s.value, before };
    try {
      writeFileSync(join(root, s.key), s.value);
    } catch (err) {
      throw sysctlError('write', s.key, err);
    }
    const result = { key: s.key, value: s.value, before };
    done.push(result);
    return result;
  }), undo, { notUndone: 'and could not restore' });
  return { results, undo };
}

/**
 * SetupHostNetwork's `LinkSetMTU(primary, AWS_VPC_ENI_MTU)` (spec §3.8), idempotently: one `ip link set` only when
 * the MTU differs. Returns the change made, or nothing.
 */
export async function applyPrimaryMtu(primaryInterface: string, mtu: number, netns?: Netns): Promise<string[]> {
  const dev = ifNameWord(primaryInterface);
  const want = numberWord(mtu, 68, 65535, 'MTU');
  const link = (await listLinks(netns)).find((l) => l.ifname === dev.text);
  if (!link) throw new PodnetError('LINK_NOT_FOUND', `the primary interface ${primaryInterface} does not exist`, "run ipamd in the node's network namespace, where the primary ENI is");
  if (link.mtu === mtu) return [];
  const cmd = ipLine`link set dev ${dev} mtu ${want}`;
  await runIpBatch(netns, [{ cmd }]);
  return [`ip ${cmd}`];
}
