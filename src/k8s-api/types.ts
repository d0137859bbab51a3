/**
 * The shapes the API server's parts share: objects as stored and served, the description of a served resource
 * (built-in or from a CRD), the Kubernetes `Status` that every refusal is answered with, and who is asking.
 */
import { PodnetError } from '../lib/index.js';

/** Any Kubernetes object as JSON: the server reads `apiVersion`, `kind` and `metadata`, and keeps the rest as given. */
export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  ownerReferences?: Array<Record<string, unknown>>;
  managedFields?: unknown[];
  [field: string]: unknown;
}

/** One field problem, as Kubernetes names it in `details.causes` (`FieldValueRequired`, `spec.containers[0].name`). */
export interface Cause {
  reason: string;
  message: string;
  field: string;
}

/** A column of `kubectl get`'s table (meta.k8s.io/v1 TableColumnDefinition) and how to read its cell from an object. */
export interface PrinterColumn {
  name: string;
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date';
  format?: string;
  description?: string;
  priority?: number;
  /** The cell's value for obj; for CRDs, read from the column's jsonPath. */
  cell(obj: KubeObject): unknown;
}

/**
 * A served resource: where it lives in the URL space, what discovery says about it, and the per-kind behaviour the
 * generic REST code calls. Built-in kinds are described in code; a CRD's versions are described from its definition.
 */
export interface ResourceType {
  /** '' for the core group (`/api/v1`). */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  /** URL name: `pods`, `eniconfigs`. */
  plural: string;
  singular: string;
  shortNames: string[];
  categories: string[];
  namespaced: boolean;
  /** Discovery's verbs: get, list, watch, create, update, patch, delete, deletecollection. */
  verbs: string[];
  /** Subresources served: `status` (and, for service accounts, `token`). */
  subresources: string[];
  /** Whether strategic merge patch applies (built-in kinds); CRDs answer 415 to it, as Kubernetes does. */
  strategicMerge: boolean;
  /** kubectl get's columns after NAME (AGE is added by the table code when not listed). */
  printerColumns: PrinterColumn[];
  /** Server-side defaulting: fills unset fields in place, on create and update. */
  applyDefaults(obj: KubeObject): void;
  /**
   * Validation after defaulting: the problems found, empty when valid (422 Invalid with these causes otherwise).
   * `old` is the stored object on update. CRDs also prune unknown fields here (in place), as structural schemas do.
   */
  validate(obj: KubeObject, old: KubeObject | undefined): Cause[];
  /**
   * The fields of obj its schema does not declare (`spec.extra`), as `?fieldValidation=Strict` refuses them (400
   * `strict decoding error: unknown field "spec.extra"`) and Warn reports them; obj is left untouched. Only kinds that
   * know their schema (CRDs) have it.
   */
  unknownFields?(obj: KubeObject): string[];
}

/** Kubernetes' `Status` (meta/v1), the body of every refusal. */
export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, never>;
  status: 'Failure' | 'Success';
  message: string;
  reason: string;
  details?: { name?: string; group?: string; kind?: string; uid?: string; causes?: Cause[]; retryAfterSeconds?: number };
  code: number;
}

/**
 * A refusal the server answers with a `Status`: it is a PodnetError (the project's one error type) that carries the
 * Kubernetes status it is served as.
 */
export class ApiError extends PodnetError {
  constructor(readonly status: Status) {
    super(status.code >= 500 ? 'FAILED' : 'INVALID_INPUT', status.message);
  }
}

/** Builds an ApiError: `apiError(404, 'NotFound', 'pods "x" not found', { name: 'x', kind: 'pods' })`. */
export function apiError(code: number, reason: string, message: string, details?: Status['details']): ApiError {
  return new ApiError({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, ...(details ? { details } : {}), code });
}

/** Who is asking: from a bearer token (the admin, or a service account), as Kubernetes' user.Info. */
export interface Identity {
  user: string;
  uid?: string;
  groups: string[];
}

/** What a request asks to do, as RBAC reads it (authorizer.Attributes). */
export type RequestAttributes =
  | { resourceRequest: true; verb: string; apiGroup: string; resource: string; subresource: string; namespace: string; name: string }
  | { resourceRequest: false; verb: string; path: string };

/** The authorizer's answer; `reason` names the rule that allowed it, or is empty. */
export interface Decision {
  allowed: boolean;
  reason: string;
}
