/**
 * The lab's Kubernetes API server: objects in SQLite, list and watch, patches, discovery and tables, CRDs served from
 * their schemas, tokens and RBAC, mutating webhooks — faithful enough that kubectl and @kubernetes/client-node work
 * against it unmodified.
 */
export { ApiError, apiError, type Cause, type Decision, type Identity, type KubeObject, type ObjectMeta, type PrinterColumn, type RequestAttributes, type ResourceType, type Status } from './types.js';
export { authorize, forbidden, bootstrapPolicy, labelSelectorMatches, answerSelfSubjectAccessReview, answerSelfSubjectRulesReview, type RbacPolicy } from './rbac.js';
export { escalationRefusal } from './rbac-escalation.js';
export { createTokens, serviceAccountIdentity, fillServiceAccountTokenSecret, tokenOfSecret, answerTokenRequest, ADMIN_USER, SERVICE_ACCOUNT_TOKEN_TYPE, type Tokens, type IssuedToken } from './tokens.js';
export { invalidError, causeText } from './field-errors.js';
export { startKubeApiServer, type KubeApiServer, type KubeApiServerOptions } from './server.js';
export { renderKubeconfig, writeKubeconfig, type KubeconfigContent } from './kubeconfig.js';
export { crdDefinitionType, crdTypes, crdStatus, crdEstablished, crdNames, servedNames } from './crd.js';
export { admitMutating, type AdmissionRequest, type AdmissionOperation } from './webhooks.js';
