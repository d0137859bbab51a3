/**
 * A CRD version's openAPIV3Schema applied to custom objects as the apiextensions server applies it: structural
 * defaulting (`default`, and nulls dropped where the field may not be null), pruning of fields the schema does not
 * know, then validation with Kubernetes' (go-openapi's) messages, e.g.
 * `spec.foo: Invalid value: "string": spec.foo in body must be of type integer: "string"`. Also the structural-schema
 * checks a CRD's own schema must pass. Pure.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { isRecord } from './builtin/fields.js';
import {
  duplicate,
  forbiddenField,
  invalid,
  notSupported,
  required,
  tooLong,
  tooMany,
  typeInvalid,
} from './field-errors.js';
import type { Cause } from './types.js';

/** The part of JSONSchemaProps (apiextensions.k8s.io/v1) the server acts on. */
export interface JsonSchema {
  type?: string;
  format?: string;
  description?: string;
  properties?: Record<string, JsonSchema>;
  additionalProperties?: JsonSchema | boolean;
  items?: JsonSchema;
  required?: string[];
  enum?: unknown[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  multipleOf?: number;
  minItems?: number;
  maxItems?: number;
  uniqueItems?: boolean;
  minProperties?: number;
  maxProperties?: number;
  nullable?: boolean;
  default?: unknown;
  allOf?: JsonSchema[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
  not?: JsonSchema;
  'x-kubernetes-int-or-string'?: boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  'x-kubernetes-embedded-resource'?: boolean;
  'x-kubernetes-list-type'?: string;
  'x-kubernetes-list-map-keys'?: string[];
  [extension: string]: unknown;
}

type Json = Record<string, unknown>;

function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** Fields every object has at its root whatever its schema says: the server owns them. */
const ROOT_FIELDS = new Set(['apiVersion', 'kind', 'metadata']);

// ---------------------------------------------------------------------------------------------------------------
// Defaulting

/**
 * Structural defaulting, in place: a missing (or null, non-nullable) field with a `default` gets a copy of it; a null
 * in a field that may not be null and has no default is dropped. Defaults apply below defaults too.
 */
export function applySchemaDefaults(value: unknown, schema: JsonSchema | undefined): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    for (const item of value) applySchemaDefaults(item, schema.items);
    return;
  }
  if (!isRecord(value)) return;
  for (const [key, propSchema] of Object.entries(schema.properties ?? {})) {
    const present = Object.hasOwn(value, key);
    if ((!present || (value[key] === null && !propSchema.nullable)) && propSchema.default !== undefined) {
      value[key] = structuredClone(propSchema.default);
    } else if (present && value[key] === null && !propSchema.nullable) {
      delete value[key];
    }
    if (Object.hasOwn(value, key)) applySchemaDefaults(value[key], propSchema);
  }
  if (isRecord(schema.additionalProperties)) {
    const valueSchema = schema.additionalProperties;
    for (const key of Object.keys(value)) {
      if (schema.properties && Object.hasOwn(schema.properties, key)) continue;
      if (value[key] === null && !valueSchema.nullable && valueSchema.default !== undefined) value[key] = structuredClone(valueSchema.default);
      applySchemaDefaults(value[key], valueSchema);
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Pruning

/**
 * Drops, in place, the fields the schema does not specify (structural pruning), keeping everything below a node with
 * x-kubernetes-preserve-unknown-fields and, at the root, apiVersion/kind/metadata (and in embedded resources too).
 * Returns the dotted paths it dropped (the newer servers' "unknown field" warnings).
 */
export function pruneUnknownFields(value: unknown, schema: JsonSchema | undefined, isRoot = true, path = ''): string[] {
  const dropped: string[] = [];
  prune(value, schema, isRoot, path, dropped);
  return dropped;
}

function prune(value: unknown, schema: JsonSchema | undefined, isRoot: boolean, path: string, dropped: string[]): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    value.forEach((item, index) => prune(item, schema.items, false, `${path}[${index}]`, dropped));
    return;
  }
  if (!isRecord(value)) return;
  const keepRoot = isRoot || schema['x-kubernetes-embedded-resource'] === true;
  const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true;
  const additional = isRecord(schema.additionalProperties) ? schema.additionalProperties : undefined;
  for (const key of Object.keys(value)) {
    const propSchema = schema.properties?.[key];
    if (keepRoot && ROOT_FIELDS.has(key)) {
      // metadata is ObjectMeta, pruned by the generic code; apiVersion and kind are strings
      continue;
    }
    if (propSchema) prune(value[key], propSchema, false, child(path, key), dropped);
    else if (additional) prune(value[key], additional, false, child(path, key), dropped);
    else if (schema.additionalProperties === true || preserve) continue;
    else {
      delete value[key];
      dropped.push(child(path, key));
    }
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Validation

/**
 * The problems of value against schema, with Kubernetes' fields and messages; path is the value's own field
 * ('' at the object's root, where apiVersion, kind and metadata are left to the server).
 */
export function validateAgainstSchema(value: unknown, schema: JsonSchema, path = ''): Cause[] {
  const causes: Cause[] = [];
  check(value, schema, path, path === '', causes);
  return causes;
}

/** go-openapi's type names for a JSON value, as its messages print them. */
function jsonTypeOf(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'number') return Number.isInteger(value) ? 'integer' : 'number';
  return typeof value;
}

function typeMatches(type: string, value: unknown): boolean {
  switch (type) {
    case 'object':
      return isRecord(value);
    case 'array':
      return Array.isArray(value);
    case 'string':
      return typeof value === 'string';
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'boolean':
      return typeof value === 'boolean';
    default:
      return true;
  }
}

function check(value: unknown, schema: JsonSchema, path: string, isRoot: boolean, causes: Cause[]): void {
  const shown = path || '.';
  const intOrString = schema['x-kubernetes-int-or-string'] === true;
  if (value === null || value === undefined) {
    if (schema.nullable) return;
    if (schema.type || intOrString) {
      const wanted = intOrString ? 'integer,string' : schema.type;
      causes.push(typeInvalid(path, 'null', `${shown} in body must be of type ${wanted}: "null"`));
    }
    return;
  }
  if (intOrString) {
    if (!(typeof value === 'string' || (typeof value === 'number' && Number.isInteger(value)))) {
      causes.push(typeInvalid(path, jsonTypeOf(value), `${shown} in body must be of type integer,string: ${JSON.stringify(jsonTypeOf(value))}`));
      return;
    }
  } else if (schema.type && !typeMatches(schema.type, value)) {
    causes.push(typeInvalid(path, jsonTypeOf(value), `${shown} in body must be of type ${schema.type}: ${JSON.stringify(jsonTypeOf(value))}`));
    return;
  }
  if (schema.enum && !schema.enum.some((allowed) => deepEqual(allowed, value))) {
    causes.push(notSupported(path, value, schema.enum));
  }
  if (typeof value === 'string') checkString(value, schema, path, causes);
  else if (typeof value === 'number') checkNumber(value, schema, path, causes);
  else if (Array.isArray(value)) checkArray(value, schema, path, causes);
  else if (isRecord(value)) checkObject(value, schema, path, isRoot, causes);
  checkCombinators(value, schema, path, causes);
}

function checkString(value: string, schema: JsonSchema, path: string, causes: Cause[]): void {
  const length = [...value].length;
  if (schema.maxLength !== undefined && length > schema.maxLength) causes.push(tooLong(path, schema.maxLength));
  if (schema.minLength !== undefined && length < schema.minLength) {
    causes.push(invalid(path, value, `${path} in body should be at least ${schema.minLength} chars long`));
  }
  if (schema.pattern !== undefined && !patternMatches(schema.pattern, value)) {
    causes.push(invalid(path, value, `${path} in body should match '${schema.pattern}'`));
  }
  if (schema.format && !formatMatches(schema.format, value)) {
    causes.push(typeInvalid(path, value, `${path} in body must be of type ${schema.format}: ${JSON.stringify(value)}`));
  }
}

function checkNumber(value: number, schema: JsonSchema, path: string, causes: Cause[]): void {
  const range = schema.format === 'int32' ? 2 ** 31 : schema.format === 'int64' ? 2 ** 63 : undefined;
  if (range !== undefined && (value < -range || value >= range)) {
    causes.push(typeInvalid(path, value, `${path} in body must be of type ${schema.format}`));
  }
  if (schema.maximum !== undefined) {
    if (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum) {
      causes.push(invalid(path, value, `${path} in body should be less than ${schema.exclusiveMaximum ? '' : 'or equal to '}${schema.maximum}`));
    }
  }
  if (schema.minimum !== undefined) {
    if (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum) {
      causes.push(invalid(path, value, `${path} in body should be greater than ${schema.exclusiveMinimum ? '' : 'or equal to '}${schema.minimum}`));
    }
  }
  if (schema.multipleOf !== undefined && schema.multipleOf > 0 && !Number.isInteger(value / schema.multipleOf)) {
    causes.push(invalid(path, value, `${path} in body should be a multiple of ${schema.multipleOf}`));
  }
}

function checkArray(value: unknown[], schema: JsonSchema, path: string, causes: Cause[]): void {
  if (schema.maxItems !== undefined && value.length > schema.maxItems) causes.push(tooMany(path, value.length, schema.maxItems));
  if (schema.minItems !== undefined && value.length < schema.minItems) {
    causes.push(invalid(path, value.length, `${path} in body should have at least ${schema.minItems} items`));
  }
  if (schema.items) value.forEach((item, index) => check(item, schema.items as JsonSchema, `${path}[${index}]`, false, causes));
  const listType = schema['x-kubernetes-list-type'];
  if (listType === 'set') {
    value.forEach((item, index) => {
      if (value.findIndex((other) => deepEqual(other, item)) < index) causes.push(duplicate(`${path}[${index}]`, item));
    });
  } else if (listType === 'map') {
    const keys = schema['x-kubernetes-list-map-keys'] ?? [];
    const identity = (item: unknown): string => JSON.stringify(keys.map((key) => (isRecord(item) ? (item[key] ?? null) : null)));
    const seen = new Set<string>();
    value.forEach((item, index) => {
      const id = identity(item);
      if (seen.has(id)) causes.push(duplicate(`${path}[${index}]`, Object.fromEntries(keys.map((key) => [key, isRecord(item) ? item[key] : undefined]))));
      seen.add(id);
    });
  }
}

function checkObject(value: Json, schema: JsonSchema, path: string, isRoot: boolean, causes: Cause[]): void {
  for (const key of schema.required ?? []) {
    if (!Object.hasOwn(value, key)) causes.push(required(child(path, key)));
  }
  const count = Object.keys(value).length;
  if (schema.maxProperties !== undefined && count > schema.maxProperties) causes.push(tooMany(path, count, schema.maxProperties));
  if (schema.minProperties !== undefined && count < schema.minProperties) {
    causes.push(invalid(path, count, `${path} in body should have at least ${schema.minProperties} properties`));
  }
  const additional = isRecord(schema.additionalProperties) ? (schema.additionalProperties as JsonSchema) : undefined;
  for (const [key, item] of Object.entries(value)) {
    if (isRoot && ROOT_FIELDS.has(key)) continue;
    const propSchema = schema.properties?.[key];
    if (propSchema) check(item, propSchema, child(path, key), false, causes);
    else if (additional) check(item, additional, child(path, key), false, causes);
  }
}

function checkCombinators(value: unknown, schema: JsonSchema, path: string, causes: Cause[]): void {
  const shown = path || '.';
  for (const part of schema.allOf ?? []) check(value, part, path, false, causes);
  if (schema.anyOf && schema.anyOf.length > 0) {
    const passing = schema.anyOf.filter((part) => validateAgainstSchema(value, part, path).length === 0);
    if (passing.length === 0) causes.push(invalid(path, value, `${shown} in body must validate at least one schema (anyOf)`));
  }
  if (schema.oneOf && schema.oneOf.length > 0) {
    const passing = schema.oneOf.filter((part) => validateAgainstSchema(value, part, path).length === 0).length;
    if (passing !== 1) causes.push(invalid(path, value, `${shown} in body must validate one and only one schema (oneOf)`));
  }
  if (schema.not && validateAgainstSchema(value, schema.not, path).length === 0) {
    causes.push(invalid(path, value, `${shown} in body must not validate the schema (not)`));
  }
}

const patternCache = new Map<string, RegExp | undefined>();

/** ECMA 262 regular expressions, as the schema's `pattern` is defined; one that does not compile matches nothing. */
function patternMatches(pattern: string, value: string): boolean {
  if (!patternCache.has(pattern)) {
    let compiled: RegExp | undefined;
    try {
      compiled = new RegExp(pattern, 'u');
    } catch {
      compiled = undefined;
    }
    patternCache.set(pattern, compiled);
  }
  const compiled = patternCache.get(pattern);
  return compiled !== undefined && compiled.test(value);
}

const FORMATS: Record<string, RegExp> = {
  'date-time': /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
  datetime: /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  uuid: /^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$/,
  byte: /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/,
  mac: /^([0-9A-Fa-f]{2}[:-]){5}[0-9A-Fa-f]{2}$/,
  hostname: /^(?=.{1,253}$)[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?)*\.?$/,
  email: /^[^@\s]+@[^@\s]+$/,
  duration: /^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w))+$/,
};

/** Kubernetes' supported string formats; unknown formats (and `password`, `int-or-string`) are not checked. */
function formatMatches(format: string, value: string): boolean {
  switch (format) {
    case 'ipv4':
      return isIPv4(value);
    case 'ipv6':
      return isIPv6(value);
    case 'cidr': {
      const [address, bits, ...rest] = value.split('/');
      if (rest.length > 0 || address === undefined || bits === undefined || !/^\d{1,3}$/.test(bits)) return false;
      const max = isIPv4(address) ? 32 : isIPv6(address) ? 128 : -1;
      return Number(bits) <= max;
    }
    case 'date-time':
    case 'datetime':
    case 'date': {
      const pattern = FORMATS[format] as RegExp;
      return pattern.test(value) && !Number.isNaN(Date.parse(format === 'date' ? `${value}T00:00:00Z` : value.replace(' ', 'T')));
    }
    default: {
      const pattern = FORMATS[format];
      return pattern === undefined || pattern.test(value);
    }
  }
}

function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((item, index) => deepEqual(item, b[index]));
  if (isRecord(a) && isRecord(b)) {
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((key) => Object.hasOwn(b, key) && deepEqual(a[key], b[key]));
  }
  return false;
}

// ---------------------------------------------------------------------------------------------------------------
// Structural schema checks (for the CRD's own validation)

const SCHEMA_TYPES = ['array', 'boolean', 'integer', 'number', 'object', 'string'];

/**
 * The problems that make a CRD version's openAPIV3Schema unusable (not structural, or a default that its own schema
 * refuses), as the apiextensions server reports them; path is the schema's field
 * (`spec.versions[0].schema.openAPIV3Schema`).
 */
export function structuralSchemaProblems(schema: unknown, path: string): Cause[] {
  const causes: Cause[] = [];
  if (!isRecord(schema)) return [required(path, 'schemas are required')];
  if (schema['type'] !== 'object') {
    causes.push(schema['type'] === undefined ? required(`${path}.type`, 'must not be empty at the root') : invalid(`${path}.type`, schema['type'], 'must be object at the root'));
  }
  checkSchemaNode(schema, path, true, causes, '');
  return causes;
}

function checkSchemaNode(node: Json, path: string, isRoot: boolean, causes: Cause[], dataPath: string): void {
  const type = node['type'];
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (type !== undefined && (typeof type !== 'string' || !SCHEMA_TYPES.includes(type))) {
    causes.push(notSupported(`${path}.type`, type, SCHEMA_TYPES));
  }
  if (type === undefined && !intOrString && !preserve && !isRoot) {
    causes.push(required(`${path}.type`, 'must not be empty for specified object fields'));
  }
  if (intOrString && type !== undefined) causes.push(forbiddenField(`${path}.type`, 'must be empty to be structural'));
  if (node['uniqueItems'] === true) causes.push(forbiddenField(`${path}.uniqueItems`, 'uniqueItems cannot be set to true since the runtime complexity becomes quadratic'));
  if (node['additionalProperties'] === false) causes.push(forbiddenField(`${path}.additionalProperties`, 'must not be used in structural schemas'));
  if (node['properties'] !== undefined && node['additionalProperties'] !== undefined) {
    causes.push(forbiddenField(`${path}.additionalProperties`, 'additionalProperties and properties are mutual exclusive'));
  }
  if (node['$ref'] !== undefined) causes.push(forbiddenField(`${path}.$ref`, '$ref is not supported'));
  if (type === 'array' && !isRecord(node['items'])) causes.push(required(`${path}.items`, 'must be specified'));
  if (node['pattern'] !== undefined) {
    try {
      new RegExp(String(node['pattern']), 'u');
    } catch {
      causes.push(invalid(`${path}.pattern`, node['pattern'], 'must be a valid regular expression'));
    }
  }
  const properties = node['properties'];
  if (isRecord(properties)) {
    for (const [key, prop] of Object.entries(properties)) {
      const propPath = `${path}.properties[${key}]`;
      if (!isRecord(prop)) {
        causes.push(invalid(propPath, prop, 'must be a schema object'));
        continue;
      }
      if (isRoot && key === 'metadata') checkRootMetadata(prop, propPath, causes);
      checkSchemaNode(prop, propPath, false, causes, child(dataPath, key));
    }
  }
  if (isRecord(node['additionalProperties'])) checkSchemaNode(node['additionalProperties'], `${path}.additionalProperties`, false, causes, dataPath);
  if (isRecord(node['items'])) checkSchemaNode(node['items'], `${path}.items`, false, causes, dataPath);
  if (node['default'] !== undefined) {
    if (isRoot) causes.push(forbiddenField(`${path}.default`, 'must not be set at the root'));
    else {
      // the default's problems are worded with the object's field path, as the server checks them
      for (const problem of validateAgainstSchema(node['default'], node as JsonSchema, dataPath)) causes.push({ ...problem, field: `${path}.default` });
    }
  }
}

/** At the root, metadata may only constrain name and generateName (the server owns the rest). */
function checkRootMetadata(prop: Json, path: string, causes: Cause[]): void {
  if (prop['type'] !== undefined && prop['type'] !== 'object') causes.push(invalid(`${path}.type`, prop['type'], 'must be object'));
  const nested = prop['properties'];
  if (isRecord(nested)) {
    for (const key of Object.keys(nested)) {
      if (key !== 'name' && key !== 'generateName') {
        causes.push(forbiddenField(`${path}.properties[${key}]`, 'must not be specified, only name and generateName may be'));
      }
    }
  }
}
