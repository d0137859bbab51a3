/**
 * CustomResourceDefinitions (apiextensions.k8s.io/v1): the CRD kind itself (defaulting and validation of its names,
 * group, versions and schemas, with Kubernetes' messages), the resource types a CRD serves (one per served version,
 * validated, pruned and defaulted from the version's openAPIV3Schema; status subresource and printer columns from
 * its definition), and the status the naming controller gives it (acceptedNames, NamesAccepted, Established). Pure.
 */
import { ageColumn } from './builtin/columns.js';
import { standardVerbs, validateObjectMeta, validateObjectMetaUpdate } from './builtin/define.js';
import { dns1123Subdomain, isRecord } from './builtin/fields.js';
import { duplicate, forbiddenField, invalid, notSupported, required } from './field-errors.js';
import { applySchemaDefaults, type JsonSchema, pruneUnknownFields, structuralSchemaProblems, validateAgainstSchema } from './schema.js';
import type { Cause, KubeObject, PrinterColumn, ResourceType } from './types.js';

type Json = Record<string, unknown>;

function text(value: unknown): string {
  return typeof value === 'string' ? value : '';
}

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

export interface CrdNames {
  plural: string;
  singular: string;
  shortNames: string[];
  kind: string;
  listKind: string;
  categories: string[];
}

/** spec.names with what defaulting fills in (singular: the kind in lower case; listKind: the kind + List). */
export function crdNames(crd: KubeObject): CrdNames {
  const names = isRecord(crd['spec']) && isRecord((crd['spec'] as Json)['names']) ? ((crd['spec'] as Json)['names'] as Json) : {};
  return namesFrom(names);
}

/**
 * The names the CRD's resources are served under: status.acceptedNames once the naming controller accepted a plural
 * and kind (a later change to a name another resource uses is not served), spec.names before that.
 */
export function servedNames(crd: KubeObject): CrdNames {
  const status = isRecord(crd['status']) ? (crd['status'] as Json) : {};
  const accepted = isRecord(status['acceptedNames']) ? (status['acceptedNames'] as Json) : {};
  return text(accepted['plural']) && text(accepted['kind']) ? namesFrom(accepted) : crdNames(crd);
}

function namesFrom(names: Json): CrdNames {
  const kind = text(names['kind']);
  return {
    plural: text(names['plural']),
    singular: text(names['singular']) || kind.toLowerCase(),
    shortNames: strings(names['shortNames']),
    kind,
    listKind: text(names['listKind']) || (kind ? `${kind}List` : ''),
    categories: strings(names['categories']),
  };
}

function specOf(crd: KubeObject): Json {
  return isRecord(crd['spec']) ? (crd['spec'] as Json) : {};
}

function versionsOf(crd: KubeObject): Json[] {
  const versions = specOf(crd)['versions'];
  return Array.isArray(versions) ? versions.filter(isRecord) : [];
}

// ---------------------------------------------------------------------------------------------------------------
// The served types of a CRD

/** One ResourceType per served version of the CRD, each validating against its version's schema. */
export function crdTypes(crd: KubeObject): ResourceType[] {
  const spec = specOf(crd);
  const names = servedNames(crd);
  const group = text(spec['group']);
  const namespaced = spec['scope'] !== 'Cluster';
  return versionsOf(crd)
    .filter((version) => version['served'] === true)
    .map((version) => {
      const schemaHolder = isRecord(version['schema']) ? (version['schema'] as Json) : {};
      const schema: JsonSchema = isRecord(schemaHolder['openAPIV3Schema']) ? (schemaHolder['openAPIV3Schema'] as JsonSchema) : { type: 'object', 'x-kubernetes-preserve-unknown-fields': true };
      const subresources = isRecord(version['subresources']) ? (version['subresources'] as Json) : {};
      return {
        group,
        version: text(version['name']),
        kind: names.kind,
        listKind: names.listKind,
        plural: names.plural,
        singular: names.singular,
        shortNames: names.shortNames,
        categories: names.categories,
        namespaced,
        verbs: standardVerbs,
        subresources: isRecord(subresources['status']) ? ['status'] : [],
        strategicMerge: false,
        printerColumns: printerColumns(version['additionalPrinterColumns']),
        applyDefaults(obj: KubeObject): void {
          applySchemaDefaults(obj, schema);
        },
        unknownFields(obj: KubeObject): string[] {
          return pruneUnknownFields(structuredClone(obj), schema);
        },
        validate(obj: KubeObject, old: KubeObject | undefined): Cause[] {
          const causes = validateObjectMeta(obj, namespaced, dns1123Subdomain);
          if (old) causes.push(...validateObjectMetaUpdate(obj, old));
          pruneUnknownFields(obj, schema);
          causes.push(...validateAgainstSchema(obj, schema));
          causes.push(...rootMetadataConstraints(obj, schema));
          return causes;
        },
      };
    });
}

/** The constraints a schema may put on metadata.name and metadata.generateName (the only ones it may constrain). */
function rootMetadataConstraints(obj: KubeObject, schema: JsonSchema): Cause[] {
  const metadataSchema = schema.properties?.['metadata']?.properties;
  if (!metadataSchema) return [];
  const causes: Cause[] = [];
  for (const key of ['name', 'generateName'] as const) {
    const fieldSchema = metadataSchema[key];
    if (fieldSchema && obj.metadata[key] !== undefined) causes.push(...validateAgainstSchema(obj.metadata[key], fieldSchema, `metadata.${key}`));
  }
  return causes;
}

/** additionalPrinterColumns as table columns; a CRD without them shows NAME and AGE. */
function printerColumns(raw: unknown): PrinterColumn[] {
  if (!Array.isArray(raw) || raw.length === 0) return [ageColumn];
  return raw.filter(isRecord).map((column) => {
    const type = text(column['type']) as PrinterColumn['type'];
    const path = parseJsonPath(text(column['jsonPath']));
    const format = text(column['format']);
    const description = text(column['description']);
    const priority = typeof column['priority'] === 'number' ? column['priority'] : 0;
    return {
      name: text(column['name']),
      type,
      ...(format ? { format } : {}),
      ...(description ? { description } : {}),
      ...(priority ? { priority } : {}),
      cell: (obj: KubeObject) => cellOf(type, path ? evaluateJsonPath(path, obj) : undefined),
    };
  });
}

/** A cell as the apiextensions table convertor makes it: strings as jsonpath prints them (JSON for lists and maps). */
function cellOf(type: PrinterColumn['type'], value: unknown): unknown {
  if (value === undefined || value === null) return undefined;
  switch (type) {
    case 'string':
      return typeof value === 'string' ? value : JSON.stringify(value);
    case 'integer':
      return typeof value === 'number' ? Math.trunc(value) : undefined;
    case 'number':
      return typeof value === 'number' ? value : undefined;
    case 'boolean':
      return typeof value === 'boolean' ? value : undefined;
    default:
      return value;
  }
}

type JsonPathStep = { field: string } | { index: number } | { all: true } | { filter: { path: string[]; value: string } };

/**
 * The simple JSONPath printer columns use: `.spec.features`, `.metadata.labels['a/b']`, `.items[0]`, `.list[*]`,
 * `.status.conditions[?(@.type=="Ready")].status`. Undefined when the path is not of that form.
 */
export function parseJsonPath(path: string): JsonPathStep[] | undefined {
  const trimmed = path.trim().replace(/^\{(.*)\}$/, '$1');
  const steps: JsonPathStep[] = [];
  const pattern = /\.([A-Za-z0-9_-]+)|\[(\d+)\]|\[\*\]|\[['"]([^'"]+)['"]\]|\[\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*==\s*['"]([^'"]*)['"]\)\]/y;
  let at = 0;
  while (at < trimmed.length) {
    pattern.lastIndex = at;
    const match = pattern.exec(trimmed);
    if (!match) return undefined;
    if (match[1] !== undefined) steps.push({ field: match[1] });
    else if (match[2] !== undefined) steps.push({ index: Number(match[2]) });
    else if (match[3] !== undefined) steps.push({ field: match[3] });
    else if (match[4] !== undefined) steps.push({ filter: { path: match[4].slice(1).split('.'), value: match[5] ?? '' } });
    else steps.push({ all: true });
    at = pattern.lastIndex;
  }
  return steps;
}

/** The first value the path finds (printer columns show one). */
export function evaluateJsonPath(steps: JsonPathStep[], root: unknown): unknown {
  let current: unknown[] = [root];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if ('field' in step) {
        if (isRecord(value) && Object.hasOwn(value, step.field)) next.push(value[step.field]);
      } else if ('index' in step) {
        if (Array.isArray(value) && step.index < value.length) next.push(value[step.index]);
      } else if ('all' in step) {
        if (Array.isArray(value)) next.push(...value);
        else if (isRecord(value)) next.push(...Object.values(value));
      } else if (Array.isArray(value)) {
        const { path, value: wanted } = step.filter;
        next.push(...value.filter((item) => String(path.reduce<unknown>((acc, key) => (isRecord(acc) ? acc[key] : undefined), item)) === wanted));
      }
    }
    current = next;
  }
  return current[0];
}

// ---------------------------------------------------------------------------------------------------------------
// The CustomResourceDefinition kind

const CRD_GROUP = 'apiextensions.k8s.io';
const SCOPES = ['Cluster', 'Namespaced'];
const COLUMN_TYPES = ['boolean', 'date', 'integer', 'number', 'string'];
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const DNS1035_MESSAGE =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";

function dns1035Label(value: string): string[] {
  const problems: string[] = [];
  if (value.length > 63) problems.push('must be no more than 63 characters');
  if (!DNS1035_LABEL.test(value)) problems.push(DNS1035_MESSAGE);
  return problems;
}

/** The CustomResourceDefinition resource (apiextensions.k8s.io/v1 customresourcedefinitions, short name crd). */
export const crdDefinitionType: ResourceType = {
  group: CRD_GROUP,
  version: 'v1',
  kind: 'CustomResourceDefinition',
  listKind: 'CustomResourceDefinitionList',
  plural: 'customresourcedefinitions',
  singular: 'customresourcedefinition',
  shortNames: ['crd', 'crds'],
  categories: ['api-extensions'],
  namespaced: false,
  verbs: standardVerbs,
  subresources: ['status'],
  strategicMerge: true,
  // the real printer's CREATED AT is the RFC 3339 time itself (a string cell), and the table has no AGE
  printerColumns: [{ name: 'Created At', type: 'string', cell: (obj) => obj.metadata.creationTimestamp }],
  applyDefaults: defaultCrd,
  validate: validateCrd,
};

/** SetDefaults for a CRD: names' singular and listKind, conversion None, versions' served/storage flags kept. */
function defaultCrd(crd: KubeObject): void {
  const spec = specOf(crd);
  if (!isRecord(crd['spec'])) return;
  const names = isRecord(spec['names']) ? (spec['names'] as Json) : undefined;
  if (names && typeof names['kind'] === 'string' && names['kind'] !== '') {
    if (!names['singular']) names['singular'] = names['kind'].toLowerCase();
    if (!names['listKind']) names['listKind'] = `${names['kind']}List`;
  }
  if (!isRecord(spec['conversion'])) spec['conversion'] = { strategy: 'None' };
}

function validateCrd(crd: KubeObject, old: KubeObject | undefined): Cause[] {
  const causes = validateObjectMeta(crd, false, dns1123Subdomain);
  if (old) causes.push(...validateObjectMetaUpdate(crd, old));
  if (!isRecord(crd['spec'])) return [...causes, required('spec')];
  const spec = specOf(crd);
  const group = text(spec['group']);
  const names = isRecord(spec['names']) ? (spec['names'] as Json) : {};
  const plural = text(names['plural']);
  const name = crd.metadata.name ?? '';
  if (name && plural && group && name !== `${plural}.${group}`) {
    causes.push(invalid('metadata.name', name, 'must be spec.names.plural+"."+spec.group'));
  }
  if (!group) causes.push(required('spec.group'));
  else {
    for (const problem of dns1123Subdomain(group)) causes.push(invalid('spec.group', group, problem));
    if (group.split('.').length < 2) causes.push(invalid('spec.group', group, 'should be a domain with at least one dot'));
  }
  const scope = spec['scope'];
  if (scope === undefined || scope === '') causes.push(required('spec.scope'));
  else if (!SCOPES.includes(String(scope))) causes.push(notSupported('spec.scope', scope, SCOPES));
  causes.push(...validateNames(names));
  if (spec['preserveUnknownFields'] === true) {
    causes.push(invalid('spec.preserveUnknownFields', true, 'cannot set to true, set x-kubernetes-preserve-unknown-fields to true in spec.versions[*].schema instead'));
  }
  causes.push(...validateVersions(spec['versions']));
  if (old) {
    const oldSpec = specOf(old);
    if (oldSpec['scope'] !== spec['scope']) causes.push(invalid('spec.scope', spec['scope'], 'field is immutable'));
    const stored = isRecord(old['status']) ? strings((old['status'] as Json)['storedVersions']) : [];
    const served = new Set(versionsOf(crd).map((version) => text(version['name'])));
    for (const version of stored) {
      if (!served.has(version)) {
        causes.push(invalid('status.storedVersions[0]', version, 'must appear in spec.versions'));
        break;
      }
    }
  }
  return causes;
}

function validateNames(names: Json): Cause[] {
  const causes: Cause[] = [];
  const plural = text(names['plural']);
  if (!plural) causes.push(required('spec.names.plural'));
  else for (const problem of dns1035Label(plural)) causes.push(invalid('spec.names.plural', plural, problem));
  const singular = text(names['singular']);
  if (singular) for (const problem of dns1035Label(singular)) causes.push(invalid('spec.names.singular', singular, problem));
  const kind = text(names['kind']);
  if (!kind) causes.push(required('spec.names.kind'));
  else {
    for (const problem of dns1035Label(kind.toLowerCase())) causes.push(invalid('spec.names.kind', kind, `may have mixed case, but should otherwise match: ${problem}`));
  }
  const listKind = text(names['listKind']);
  if (listKind) {
    for (const problem of dns1035Label(listKind.toLowerCase())) causes.push(invalid('spec.names.listKind', listKind, `may have mixed case, but should otherwise match: ${problem}`));
    if (listKind === kind) causes.push(invalid('spec.names.listKind', listKind, 'kind and listKind may not be the same'));
  }
  strings(names['shortNames']).forEach((shortName, index) => {
    for (const problem of dns1035Label(shortName)) causes.push(invalid(`spec.names.shortNames[${index}]`, shortName, problem));
  });
  strings(names['categories']).forEach((category, index) => {
    for (const problem of dns1035Label(category)) causes.push(invalid(`spec.names.categories[${index}]`, category, problem));
  });
  return causes;
}

function validateVersions(raw: unknown): Cause[] {
  const causes: Cause[] = [];
  const versions = Array.isArray(raw) ? raw : [];
  if (versions.length === 0) return [required('spec.versions', 'must have exactly one version marked as storage version')];
  const seen = new Set<string>();
  let storage = 0;
  let served = 0;
  versions.forEach((rawVersion, index) => {
    const path = `spec.versions[${index}]`;
    const version = isRecord(rawVersion) ? rawVersion : {};
    const name = text(version['name']);
    if (!name) causes.push(required(`${path}.name`));
    else {
      for (const problem of dns1035Label(name)) causes.push(invalid(`${path}.name`, name, problem));
      if (seen.has(name)) causes.push(duplicate(`${path}.name`, name));
      seen.add(name);
    }
    if (version['storage'] === true) storage++;
    if (version['served'] === true) served++;
    const schema = isRecord(version['schema']) ? (version['schema'] as Json)['openAPIV3Schema'] : undefined;
    causes.push(...structuralSchemaProblems(schema, `${path}.schema.openAPIV3Schema`));
    causes.push(...validateSubresources(version['subresources'], `${path}.subresources`));
    causes.push(...validatePrinterColumns(version['additionalPrinterColumns'], `${path}.additionalPrinterColumns`));
  });
  if (storage !== 1) causes.push(invalid('spec.versions', versions, 'must have exactly one version marked as storage version'));
  if (served === 0) causes.push(invalid('spec.versions', versions, 'must have at least one served version'));
  return causes;
}

function validateSubresources(raw: unknown, path: string): Cause[] {
  if (raw === undefined || raw === null) return [];
  if (!isRecord(raw)) return [invalid(path, raw, 'must be an object')];
  const causes: Cause[] = [];
  for (const key of Object.keys(raw)) {
    if (key !== 'status' && key !== 'scale') causes.push(forbiddenField(`${path}.${key}`, 'not a supported subresource'));
  }
  if (raw['status'] !== undefined && !isRecord(raw['status'])) causes.push(invalid(`${path}.status`, raw['status'], 'must be an empty object'));
  if (raw['scale'] !== undefined) causes.push(forbiddenField(`${path}.scale`, 'the scale subresource is not served by this server'));
  return causes;
}

function validatePrinterColumns(raw: unknown, path: string): Cause[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) return [invalid(path, raw, 'must be a list')];
  const causes: Cause[] = [];
  raw.forEach((rawColumn, index) => {
    const column = isRecord(rawColumn) ? rawColumn : {};
    const columnPath = `${path}[${index}]`;
    if (!text(column['name'])) causes.push(required(`${columnPath}.name`));
    const type = text(column['type']);
    if (!type) causes.push(required(`${columnPath}.type`));
    else if (!COLUMN_TYPES.includes(type)) causes.push(notSupported(`${columnPath}.type`, type, COLUMN_TYPES));
    const jsonPath = text(column['jsonPath']);
    if (!jsonPath) causes.push(required(`${columnPath}.jsonPath`));
    else if (!parseJsonPath(jsonPath)) causes.push(invalid(`${columnPath}.jsonPath`, jsonPath, 'must be a simple json path'));
  });
  return causes;
}

// ---------------------------------------------------------------------------------------------------------------
// Status: what the naming and establishing controllers write

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
}

/**
 * The CRD's status as Kubernetes' controllers leave it: acceptedNames (the names no other served resource of the group
 * uses), NamesAccepted (False, `"x" is already in use`, when one is taken) and Established, and storedVersions.
 * `taken` is every other served resource type (the CRD's own are not in it).
 */
export function crdStatus(crd: KubeObject, taken: ResourceType[], now: () => Date = () => new Date()): Record<string, unknown> {
  const spec = specOf(crd);
  const group = text(spec['group']);
  const requested = crdNames(crd);
  const oldStatus = isRecord(crd['status']) ? (crd['status'] as Json) : {};
  const oldAccepted = isRecord(oldStatus['acceptedNames']) ? (oldStatus['acceptedNames'] as Json) : {};
  const sameGroup = taken.filter((type) => type.group === group);
  const used = (pick: (type: ResourceType) => string[]) => new Set(sameGroup.flatMap(pick));
  const resourceNames = used((type) => [type.plural, type.singular, ...type.shortNames]);
  const kindNames = used((type) => [type.kind, type.listKind]);
  // each name is accepted on its own (the others keep their accepted value); the last conflict names the condition
  const accepted: Json = { ...oldAccepted };
  let conflict: { reason: string; name: string } | undefined;
  const accept = (field: keyof CrdNames, reason: string, inUse: Set<string>) => {
    const value = requested[field];
    const clash = (Array.isArray(value) ? value : [value]).find((name) => name !== '' && inUse.has(name));
    if (clash === undefined) accepted[field] = value;
    else conflict = { reason, name: clash };
  };
  accept('plural', 'PluralConflict', resourceNames);
  accept('singular', 'SingularConflict', resourceNames);
  accept('shortNames', 'ShortNamesConflict', resourceNames);
  accept('kind', 'KindConflict', kindNames);
  accept('listKind', 'ListKindConflict', kindNames);
  accept('categories', '', new Set());
  for (const [key, value] of Object.entries(accepted)) if (value === '' || (Array.isArray(value) && value.length === 0)) delete accepted[key];

  const oldConditions = Array.isArray(oldStatus['conditions']) ? (oldStatus['conditions'] as Condition[]) : [];
  const condition = (type: string, status: Condition['status'], reason: string, message: string): Condition => {
    const old = oldConditions.find((c) => isRecord(c) && c.type === type);
    const lastTransitionTime = old && old.status === status ? old.lastTransitionTime : rfc3339(now());
    return { type, status, reason, message, lastTransitionTime };
  };
  const namesAccepted = conflict
    ? condition('NamesAccepted', 'False', conflict.reason, `${JSON.stringify(conflict.name)} is already in use`)
    : condition('NamesAccepted', 'True', 'NoConflicts', 'no conflicts found');
  const wasEstablished = oldConditions.some((c) => isRecord(c) && c.type === 'Established' && c.status === 'True');
  const established =
    conflict && !wasEstablished
      ? condition('Established', 'False', 'NotAccepted', 'not all names are accepted')
      : condition('Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted');
  const storageVersion = versionsOf(crd).find((version) => version['storage'] === true);
  const storedVersions = strings(oldStatus['storedVersions']);
  const storage = text(storageVersion?.['name']);
  if (storage && !storedVersions.includes(storage)) storedVersions.push(storage);
  return { conditions: [namesAccepted, established], acceptedNames: accepted, storedVersions };
}

/** Whether the CRD's status says its resources are served (A registers its types then). */
export function crdEstablished(crd: KubeObject): boolean {
  const status = isRecord(crd['status']) ? (crd['status'] as Json) : {};
  const conditions = Array.isArray(status['conditions']) ? status['conditions'] : [];
  return conditions.some((c) => isRecord(c) && c['type'] === 'Established' && c['status'] === 'True');
}

function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
