/**
 * A network namespace as callers name it: a name under /run/netns (the lab, `ip netns add`), or an absolute path
 * (CNI_NETNS, e.g. /var/run/netns/cni-… or /proc/<pid>/ns/net). Undefined means the namespace podnet runs in.
 */
export type NetnsRef = string;

/** Where iproute2 keeps named namespaces (`ip netns add`, and where containerd and CRI-O put pods'). */
export const NETNS_RUN_DIR = '/var/run/netns';

/** The name `ip -n` and `ip netns exec` take for a namespace: a name as is, a path under /var/run/netns (or /run/netns) by its last part; undefined for other paths. */
export function netnsName(netns: NetnsRef): string | undefined {
  if (!netns.startsWith('/')) return netns;
  const m = /^(?:\/var)?\/run\/netns\/([^/]+)$/.exec(netns);
  return m?.[1];
}

/** argv that runs `argv` inside `netns`: `ip netns exec` for names, `nsenter --net=` for paths. */
export function netnsArgv(netns: NetnsRef | undefined, argv: readonly string[]): string[] {
  if (!netns) return [...argv];
  if (netns.startsWith('/')) return ['nsenter', `--net=${netns}`, ...argv];
  return ['ip', 'netns', 'exec', netns, ...argv];
}

/** argv for `ip` in `netns`: `ip -n NAME` for named namespaces (no extra process), nsenter for other paths. */
export function ipArgv(netns: NetnsRef | undefined, args: readonly string[]): string[] {
  if (!netns) return ['ip', ...args];
  const name = netnsName(netns);
  if (name === undefined) return ['nsenter', `--net=${netns}`, 'ip', ...args];
  return ['ip', '-n', name, ...args];
}
