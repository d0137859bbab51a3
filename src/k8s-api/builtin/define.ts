/**
 * One place that turns a built-in kind's description into a served ResourceType, adding what every kind shares:
 * the standard verbs, strategic merge, and ObjectMeta validation (name syntax, namespace presence, labels,
 * annotations, finalizers, owner references) in front of the kind's own checks.
 */
import type { Cause, KubeObject, PrinterColumn, ResourceType } from '../types.js';
import { ageColumn } from './columns.js';
import { dns1123Label, duplicate, forbidden, invalid, isRecord, qualifiedName, required, validateAnnotations, validateLabels } from './fields.js';

export const standardVerbs = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export interface KindSpec {
  group: string;
  version: string;
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs?: string[];
  subresources?: string[];
  /** Columns after NAME; AGE is appended unless `ageAt` places it (or `noAge` leaves it out, as for roles). */
  columns?: PrinterColumn[];
  /** Where AGE goes among the columns (before the wide ones, as kubectl shows it); defaults to the end. */
  ageAt?: number;
  noAge?: boolean;
  /** The name's syntax check (DNS-1123 subdomain for most kinds). */
  nameCheck: (name: string) => string[];
  defaults?: (obj: KubeObject) => void;
  validate?: (obj: KubeObject, old: KubeObject | undefined) => Cause[];
}

export function defineKind(spec: KindSpec): ResourceType {
  const columns = [...(spec.columns ?? [])];
  if (!spec.noAge) columns.splice(spec.ageAt ?? columns.length, 0, ageColumn);
  return {
    group: spec.group,
    version: spec.version,
    kind: spec.kind,
    listKind: `${spec.kind}List`,
    plural: spec.plural,
    singular: spec.kind.toLowerCase(),
    shortNames: spec.shortNames ?? [],
    categories: spec.categories ?? [],
    namespaced: spec.namespaced,
    verbs: spec.verbs ?? standardVerbs,
    subresources: spec.subresources ?? [],
    strategicMerge: true,
    printerColumns: columns,
    applyDefaults: spec.defaults ?? (() => {}),
    validate(obj, old) {
      const causes = validateObjectMeta(obj, spec.namespaced, spec.nameCheck);
      if (old) causes.push(...validateObjectMetaUpdate(obj, old));
      if (spec.validate) causes.push(...spec.validate(obj, old));
      return causes;
    },
  };
}

/** apimachinery's ValidateObjectMeta. */
export function validateObjectMeta(obj: KubeObject, namespaced: boolean, nameCheck: (name: string) => string[]): Cause[] {
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  const causes: Cause[] = [];
  const name = meta.name;
  if (typeof name !== 'string' || name === '') {
    causes.push(required('metadata.name', 'name or generateName is required'));
  } else {
    for (const msg of nameCheck(name)) causes.push(invalid('metadata.name', name, msg));
  }
  const ns = meta.namespace;
  if (namespaced) {
    if (typeof ns !== 'string' || ns === '') causes.push(required('metadata.namespace'));
    else for (const msg of dns1123Label(ns)) causes.push(invalid('metadata.namespace', ns, msg));
  } else if (typeof ns === 'string' && ns !== '') {
    causes.push(forbidden('metadata.namespace', 'not allowed on this type'));
  }
  if (typeof meta.generation === 'number' && meta.generation < 0) {
    causes.push(invalid('metadata.generation', meta.generation, 'must be greater than or equal to 0'));
  }
  causes.push(...validateLabels(meta.labels, 'metadata.labels'));
  causes.push(...validateAnnotations(meta.annotations, 'metadata.annotations'));
  causes.push(...validateFinalizers(meta.finalizers, 'metadata.finalizers'));
  causes.push(...validateOwnerReferences(meta.ownerReferences));
  return causes;
}

function validateFinalizers(finalizers: unknown, field: string): Cause[] {
  if (!Array.isArray(finalizers)) return [];
  const causes: Cause[] = [];
  const seen = new Set<string>();
  finalizers.forEach((f) => {
    const s = String(f);
    for (const msg of qualifiedName(s)) causes.push(invalid(field, s, msg));
    if (seen.has(s)) causes.push(duplicate(field, s));
    seen.add(s);
  });
  return causes;
}

function validateOwnerReferences(refs: unknown): Cause[] {
  if (!Array.isArray(refs)) return [];
  const causes: Cause[] = [];
  let controllers = 0;
  for (const ref of refs) {
    const r = isRecord(ref) ? ref : {};
    const field = 'metadata.ownerReferences';
    if (!r.apiVersion) causes.push(invalid(`${field}.apiVersion`, r.apiVersion ?? '', 'version must not be empty'));
    if (!r.kind) causes.push(invalid(`${field}.kind`, r.kind ?? '', 'kind must not be empty'));
    if (!r.name) causes.push(invalid(`${field}.name`, r.name ?? '', 'name must not be empty'));
    if (!r.uid) causes.push(invalid(`${field}.uid`, r.uid ?? '', 'uid must not be empty'));
    if (r.controller === true) controllers++;
  }
  if (controllers > 1) causes.push(invalid('metadata.ownerReferences', refs, 'Only one reference can have Controller set to true'));
  return causes;
}

/** ValidateObjectMetaUpdate: what may not change once stored. */
export function validateObjectMetaUpdate(obj: KubeObject, old: KubeObject): Cause[] {
  const causes: Cause[] = [];
  for (const key of ['name', 'namespace', 'uid', 'creationTimestamp'] as const) {
    const now = obj.metadata[key];
    const was = old.metadata[key];
    if (was !== undefined && now !== undefined && now !== was) causes.push(invalid(`metadata.${key}`, now, 'field is immutable'));
  }
  return causes;
}
