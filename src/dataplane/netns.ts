/**
 * A network namespace as callers name it: a name under /run/netns (the lab, `ip netns add`), or an absolute path
 * (CNI_NETNS, e.g. /var/run/netns/cni-… or /proc/<pid>/ns/net). Undefined means the namespace podnet runs in.
 */
export type NetnsRef = string;

/** argv that runs `argv` inside `netns`: `ip netns exec` for names, `nsenter --net=` for paths. */
export function netnsArgv(netns: NetnsRef | undefined, argv: readonly string[]): string[] {
  if (!netns) return [...argv];
  if (netns.startsWith('/')) return ['nsenter', `--net=${netns}`, ...argv];
  return ['ip', 'netns', 'exec', netns, ...argv];
}

/** argv for `ip` in `netns`: `ip -n NAME` for names (no extra process), nsenter for paths (`ip -n` takes names only). */
export function ipArgv(netns: NetnsRef | undefined, args: readonly string[]): string[] {
  if (!netns) return ['ip', ...args];
  if (netns.startsWith('/')) return ['nsenter', `--net=${netns}`, 'ip', ...args];
  return ['ip', '-n', netns, ...args];
}
