/**
 * podnet's Kubernetes client side, over @kubernetes/client-node: where a process finds its cluster (kubeconfig,
 * KUBECONFIG or its pod's service account) and an informer that survives expired watches and API server restarts.
 * Callers use client-node's typed APIs for everything else.
 */
export { loadKubeConfig, kubeConfigSource, SERVICE_ACCOUNT_DIR, type KubeConfigSource } from './kubeconfig.js';
export { watchObjects, type ObjectWatch, type WatchObjectsOptions } from './informer.js';
export { objectKey, type KubeObjectLike, type WatchEventType } from './relist.js';
export { KubeRequestError } from './request.js';
