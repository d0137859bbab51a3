/**
 * podnet's Kubernetes client side, over @kubernetes/client-node: where a process finds its cluster (kubeconfig,
 * KUBECONFIG or its pod's service account) and an informer that survives expired watches and API server restarts.
 * Callers use client-node's typed APIs for everything else, with the helpers every caller needs alike (a failed
 * call's code and message, the merge-patch header, an Event body).
 */
export { loadKubeConfig, kubeConfigSource, SERVICE_ACCOUNT_DIR, type KubeConfigSource } from './kubeconfig.js';
export { watchObjects, type ObjectWatch, type WatchObjectsOptions } from './informer.js';
export { objectKey, type KubeObjectLike, type WatchEventType } from './relist.js';
export { KubeRequestError } from './request.js';
export { apiCode, describeKubeError, eventBody, mergePatch, type EventOf } from './api.js';
