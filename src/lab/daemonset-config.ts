/**
 * The DaemonSet controller's check of a podnet pod template: the same validation `podnet config --env-file` runs on
 * an aws-node DaemonSet manifest (the aws-node container's env, the init container's for what it leaves out,
 * valueFrom entries checked as unset), so what the controller refuses is what `podnet config` refuses. Only errors
 * stop a rollout; warnings (aws-node starts anyway) do not.
 */
import { describeProblem, loadConfig, parseDaemonSetEnv, unresolvedProblems } from '../config/index.js';
import type { Container, KubeDaemonSet } from './control-plane-types.js';
import { isPodnetImage } from './image.js';

/** The template's errors as `podnet config` words them; empty when it runs no podnet container, or a valid one. */
export function templateConfigProblems(ds: KubeDaemonSet): string[] {
  const spec = ds.spec.template.spec;
  const podnet = (c: Container) => isPodnetImage(c.image);
  const main = spec.containers.find((c) => podnet(c) && c.name === 'aws-node') ?? spec.containers.find(podnet);
  if (!main) return [];
  const init = (spec.initContainers ?? []).find((c) => podnet(c) && c.name === 'aws-vpc-cni-init');
  // the manifest as `podnet config --env-file` reads it (JSON is YAML), its podnet container under upstream's name
  const manifest = {
    apiVersion: 'apps/v1',
    kind: 'DaemonSet',
    metadata: { name: ds.metadata.name },
    spec: { template: { spec: { containers: [{ ...main, name: 'aws-node' }], initContainers: init ? [init] : [] } } },
  };
  try {
    const file = parseDaemonSetEnv(JSON.stringify(manifest), `daemonset ${ds.metadata.namespace ?? ''}/${ds.metadata.name}`);
    const loaded = loadConfig(file.env, { source: 'file' });
    return [...unresolvedProblems(file.unresolved), ...loaded.problems].filter((p) => p.severity === 'error').map(describeProblem);
  } catch (err) {
    return [err instanceof Error ? err.message : String(err)];
  }
}
