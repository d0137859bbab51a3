import { type BigIntStats, readFileSync, readlinkSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NETNS_RUN_DIR, PodnetError, type Netns } from '../lib/index.js';

/**
 * Refuses a namespace that cannot be a pod's before anything is changed for it: one that does not exist
 * (NETNS_NOT_FOUND), the node's own (the one podnet runs in, or PID 1's: same device and inode of the nsfs file), or
 * a file that is not a network namespace (INVALID_INPUT, which the CNI answers with code 4). Wiring a pod into the
 * node's own namespace would replace the node's default route.
 */
export function checkPodNetns(netns: Netns): void {
  const path = netns.startsWith('/') ? netns : join(NETNS_RUN_DIR, netns);
  let st: BigIntStats;
  try {
    st = statSync(path, { bigint: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw new PodnetError('NETNS_NOT_FOUND', `network namespace ${netns} does not exist`, 'the pod sandbox is gone or the path is wrong; the runtime must pass the netns it created');
    }
    throw notANetns(netns, `it cannot be read (${code ?? (err as Error).message})`);
  }
  const host = hostNamespaces();
  for (const o of host) {
    if (o.dev === st.dev && o.ino === st.ino) {
      throw new PodnetError('INVALID_INPUT', `CNI_NETNS ${netns} is the host's network namespace (${o.whose}), not a pod's`, 'the runtime must pass the network namespace it created for the pod sandbox');
    }
  }
  const nsfs = host[0]!.dev;
  if (st.dev !== nsfs || !isNetNamespace(path, st.ino)) throw notANetns(netns, st.isDirectory() ? 'it is a directory' : st.dev !== nsfs ? 'it is an ordinary file' : 'it is another kind of namespace');
}

let hostNetns: { dev: bigint; ino: bigint; whose: string }[] | undefined;

/**
 * The node's own network namespaces, the one podnet runs in first, read once: podnet never changes its own (it
 * enters pods' namespaces only in child processes), so ipamd does not stat them again on every ADD.
 */
function hostNamespaces(): { dev: bigint; ino: bigint; whose: string }[] {
  if (hostNetns) return hostNetns;
  const own = statSync('/proc/self/ns/net', { bigint: true });
  hostNetns = [{ dev: own.dev, ino: own.ino, whose: 'the one podnet runs in' }];
  try {
    const init = statSync('/proc/1/ns/net', { bigint: true });
    hostNetns.push({ dev: init.dev, ino: init.ino, whose: "PID 1's" });
  } catch {
    // PID 1's namespace cannot be read (no /proc/1, or a PID namespace that hides it): only podnet's own is known
  }
  return hostNetns;
}

function notANetns(netns: string, why: string): PodnetError {
  return new PodnetError('INVALID_INPUT', `CNI_NETNS ${netns} is not a network namespace: ${why}`, 'the runtime must pass the network namespace it created for the pod sandbox (a /var/run/netns/… or /proc/<pid>/ns/net path)');
}

/**
 * Whether the nsfs file at path (inode ino) is a network namespace: its name says so (`net:[ino]`) as a /proc/<pid>/ns
 * link, or, bind-mounted (`ip netns add`, runtimes), as the root of its nsfs mount.
 */
function isNetNamespace(path: string, ino: bigint): boolean {
  const kind = `net:[${ino}]`;
  try {
    if (readlinkSync(path) === kind) return true;
  } catch {
    // not a link: a bind mount
  }
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => line.split(' ')[3] === kind && line.includes(' - nsfs '));
}
