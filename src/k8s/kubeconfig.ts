/**
 * Where a podnet process finds its cluster, in the order client-go's callers use: a kubeconfig named explicitly,
 * then `KUBECONFIG`, then the pod's service account (in-cluster). The environment is passed in, never read here from
 * process.env, so a caller decides what counts.
 */
import { existsSync } from 'node:fs';
import { isIPv6 } from 'node:net';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';
import { PodnetError } from '../lib/index.js';

/** Where the kubelet mounts a pod's service-account token, CA and namespace. */
export const SERVICE_ACCOUNT_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

export interface KubeConfigSource {
  /** A kubeconfig file; wins over everything else. */
  kubeconfig?: string;
  /** The environment to read `KUBECONFIG` and `KUBERNETES_SERVICE_HOST`/`_PORT` from (default: process.env). */
  env?: Record<string, string | undefined>;
  /** The service account's files (default /var/run/secrets/kubernetes.io/serviceaccount; tests point elsewhere). */
  serviceAccountDir?: string;
}

/** Which source loadKubeConfig would use, or undefined when there is none: lets a daemon decide whether it runs with Kubernetes at all. */
export function kubeConfigSource(o: KubeConfigSource = {}): { kind: 'file'; path: string } | { kind: 'in-cluster'; server: string } | undefined {
  const env = o.env ?? process.env;
  if (o.kubeconfig) return { kind: 'file', path: o.kubeconfig };
  const listed = (env.KUBECONFIG ?? '').split(':').filter((p) => p !== '');
  // kubectl merges a list; podnet takes the first file that exists (or the first named, to report it missing)
  if (listed.length > 0) return { kind: 'file', path: listed.find((p) => existsSync(p)) ?? listed[0]! };
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (host && port) return { kind: 'in-cluster', server: `https://${isIPv6(host) ? `[${host}]` : host}:${port}` };
  return undefined;
}

export function loadKubeConfig(o: KubeConfigSource = {}): KubeConfig {
  const source = kubeConfigSource(o);
  if (!source) {
    throw new PodnetError(
      'CONFIG_INVALID',
      'no Kubernetes configuration: no kubeconfig given, KUBECONFIG is unset and KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT are not set (not in a pod)',
      'export KUBECONFIG=<file> (in the lab: export KUBECONFIG=$(podnet lab kubeconfig)), or run in a pod with a service account',
    );
  }
  const kc = new KubeConfig();
  if (source.kind === 'file') {
    if (!existsSync(source.path)) throw new PodnetError('FILE_UNREADABLE', `kubeconfig ${source.path} does not exist`, 'check the path given or KUBECONFIG');
    try {
      kc.loadFromFile(source.path);
    } catch (err) {
      throw new PodnetError('CONFIG_INVALID', `kubeconfig ${source.path} could not be read: ${(err as Error).message}`, 'it must be a kubeconfig YAML file (kubectl config view --raw shows one)', { cause: err });
    }
    if (!kc.getCurrentCluster()) {
      throw new PodnetError('CONFIG_INVALID', `kubeconfig ${source.path} has no current context with a cluster (current-context: ${JSON.stringify(kc.getCurrentContext())})`, 'kubectl config use-context <name> --kubeconfig <file>');
    }
    return kc;
  }
  const dir = o.serviceAccountDir ?? SERVICE_ACCOUNT_DIR;
  const tokenFile = join(dir, 'token');
  if (!existsSync(tokenFile)) {
    throw new PodnetError('CONFIG_INVALID', `in a pod (KUBERNETES_SERVICE_HOST is set) but there is no service-account token at ${tokenFile}`, 'give the pod a service account and leave automountServiceAccountToken on');
  }
  kc.loadFromOptions({
    clusters: [{ name: 'in-cluster', server: source.server, caFile: join(dir, 'ca.crt'), skipTLSVerify: false }],
    // the token file is read again for every request: the kubelet rotates projected tokens
    users: [{ name: 'service-account', authProvider: { name: 'tokenFile', config: { tokenFile } } }],
    contexts: [{ name: 'in-cluster', cluster: 'in-cluster', user: 'service-account' }],
    currentContext: 'in-cluster',
  });
  return kc;
}
