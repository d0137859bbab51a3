/**
 * The admin kubeconfig a server writes for its users (`podnet k8s serve --kubeconfig`, the lab's state dir): the
 * server's URL, its CA (so clients verify it) and a bearer token, in the layout kubectl and client-node read.
 */
import { stringify } from 'yaml';
import { writeFileAtomicSync } from '../lib/index.js';

export interface KubeconfigContent {
  server: string;
  caPem: string;
  token: string;
  /** Names the cluster, user and context (default `podnet`). */
  name?: string;
  user?: string;
  namespace?: string;
}

export function renderKubeconfig(c: KubeconfigContent): string {
  const name = c.name ?? 'podnet';
  const user = c.user ?? 'kubernetes-admin';
  const context = `${user}@${name}`;
  return stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name, cluster: { server: c.server, 'certificate-authority-data': Buffer.from(c.caPem).toString('base64') } }],
    users: [{ name: user, user: { token: c.token } }],
    contexts: [{ name: context, context: { cluster: name, user, ...(c.namespace ? { namespace: c.namespace } : {}) } }],
    'current-context': context,
    preferences: {},
  });
}

/** Writes the kubeconfig atomically, readable by its owner only (it holds a token). */
export function writeKubeconfig(path: string, c: KubeconfigContent): void {
  writeFileAtomicSync(path, renderKubeconfig(c), { mode: 0o600, what: 'kubeconfig' });
}
