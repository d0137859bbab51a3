/**
 * The lab's Kubernetes API server: objects in SQLite, list and watch, patches, discovery and tables, CRDs served from
 * their schemas, tokens and RBAC, mutating and validating webhooks — faithful enough that kubectl and @kubernetes/client-node work
 * against it unmodified.
 */
export { ApiError, apiError, type Cause, type Decision, type Identity, type KubeObject, type ObjectMeta, type PrinterColumn, type RequestAttributes, type ResourceType, type Status } from './types.js';
export { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions } from './server.js';
