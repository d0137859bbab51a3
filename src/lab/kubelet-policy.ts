/**
 * What the lab's kubelet lets a pod run on a node: its podnet processes and exec probes run as root in the node's
 * namespaces, so only podnet's own DaemonSet pods (kube-system, owned by a DaemonSet) get them, only `podnet ipamd`
 * and `podnet init`, only with the environment podnet reads (src/config's variables, MY_*, the downward API), and
 * only with absolute paths that the node's stand-ins for the hostPath volumes map. Pure.
 */
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { deprecatedVariables, variables } from '../config/index.js';
import { containerEnv, hostPathMounts, labPath, podnetContainerArgv, runsProcess, type NodeCniPaths, type PodFacts } from './kubelet-pod.js';

/** The podnet subcommands a container may run (deploy/'s containers: the init container and ipamd). */
export const ALLOWED_SUBCOMMANDS: readonly string[] = ['ipamd', 'init'];

/** Why the pod may not run processes or exec probes on the node, or null when it may. */
export function processRefusal(pod: V1Pod): string | null {
  const namespace = pod.metadata?.namespace ?? 'default';
  const byDaemonSet = (pod.metadata?.ownerReferences ?? []).some((o) => o.kind === 'DaemonSet');
  if (namespace === 'kube-system' && byDaemonSet) return null;
  return `the lab runs podnet's image only for DaemonSet pods in kube-system (this pod is in ${namespace}${byDaemonSet ? '' : ', not owned by a DaemonSet'})`;
}

const KNOWN_NAMES = new Set([...variables.map((v) => v.name), ...deprecatedVariables.map((v) => v.name)]);

/** Names a process of the node never takes from a pod: they change what runs (the loader, node's options, the search path). */
const NEVER = (name: string) => name === 'PATH' || name.startsWith('NODE_') || name.startsWith('LD_');

/**
 * The container env a podnet process gets: names podnet's config knows, MY_* and those whose value comes from the
 * downward API (fieldRef); PATH, NODE_* and LD_* never. What is left out is named.
 */
export function allowedEnv(env: Record<string, string>, container: V1Container): { env: Record<string, string>; dropped: string[] } {
  const downward = new Set((container.env ?? []).filter((e) => e.valueFrom?.fieldRef).map((e) => e.name));
  const out: Record<string, string> = {};
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (!NEVER(name) && (KNOWN_NAMES.has(name) || name.startsWith('MY_') || downward.has(name))) out[name] = value;
    else dropped.push(name);
  }
  return { env: out, dropped };
}

/** Why the container's podnet argv (entrypoint dropped) is refused, or null: its first word must be an allowed subcommand. */
export function commandRefusal(args: readonly string[]): string | null {
  const first = args[0];
  return first !== undefined && ALLOWED_SUBCOMMANDS.includes(first) ? null : `the lab runs only 'podnet ${ALLOWED_SUBCOMMANDS.join("' and 'podnet ")}', not 'podnet ${args.join(' ')}'`;
}

/**
 * The absolute paths among a container's podnet argv (`--flag=/path` too, after mapping) and env values (before)
 * that the node's stand-ins for the hostPath volumes do not map: the process would use the host's own files. A path
 * under a stand-in directory is the node's already.
 */
export function unmappedPaths(values: readonly string[], mounts: ReadonlyArray<[string, string]>, standIns: ReadonlyArray<[string, string]>): string[] {
  const nodes = (v: string) => standIns.some(([, dir]) => v === dir || v.startsWith(`${dir}/`));
  const paths = values.map((w) => /^--[a-z-]+=(.*)$/.exec(w)?.[1] ?? w);
  return [...new Set(paths.filter((v) => v.startsWith('/') && !nodes(v) && labPath(v, mounts, standIns) === v))];
}

/**
 * Why a pod's podnet containers may not run on the node, or null (also for a pod without any): not podnet's
 * DaemonSet, a command other than ipamd/init, or a path the node's stand-ins do not map.
 */
export function podProcessRefusal(pod: V1Pod, facts: PodFacts, standIns: ReadonlyArray<[string, string]>, cni: NodeCniPaths): string | null {
  const processes = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])].filter(runsProcess);
  if (processes.length === 0) return null;
  const refused = processRefusal(pod);
  if (refused) return refused;
  for (const spec of processes) {
    const { env } = containerEnv(spec.env, pod, facts);
    const mounts = hostPathMounts(spec, pod.spec?.volumes);
    const args = podnetContainerArgv(spec, env, mounts, [...standIns], cni);
    const unmapped = unmappedPaths([...args, ...Object.values(allowedEnv(env, spec).env)], mounts, standIns);
    const problem = commandRefusal(args) ?? (unmapped.length > 0 ? `${unmapped.join(', ')} ${unmapped.length === 1 ? 'is' : 'are'} not under a hostPath volume the lab's node stands in for (${standIns.map(([h]) => h).join(', ')})` : null);
    if (problem) return `container ${spec.name}: ${problem}`;
  }
  return null;
}
