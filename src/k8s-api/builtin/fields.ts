/**
 * Kubernetes' field errors (apimachinery's field.Error) as `details.causes` entries, with the same reasons and the
 * same message bodies (`Invalid value: "Foo": …`, `Required value`, `Unsupported value: …`), and the name, label and
 * annotation syntax checks with Kubernetes' wording.
 */
import type { Cause } from '../types.js';

function shown(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (value === null || value === undefined) return '"null"';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  return JSON.stringify(value);
}

function withDetail(body: string, detail: string): string {
  return detail ? `${body}: ${detail}` : body;
}

export function invalid(field: string, value: unknown, detail: string): Cause {
  return { reason: 'FieldValueInvalid', message: withDetail(`Invalid value: ${shown(value)}`, detail), field };
}

export function required(field: string, detail = ''): Cause {
  return { reason: 'FieldValueRequired', message: withDetail('Required value', detail), field };
}

export function forbidden(field: string, detail: string): Cause {
  return { reason: 'FieldValueForbidden', message: withDetail('Forbidden', detail), field };
}

export function duplicate(field: string, value: unknown): Cause {
  return { reason: 'FieldValueDuplicate', message: `Duplicate value: ${shown(value)}`, field };
}

export function notSupported(field: string, value: unknown, supported: readonly string[]): Cause {
  const list = supported.map((s) => JSON.stringify(s)).join(', ');
  return { reason: 'FieldValueNotSupported', message: withDetail(`Unsupported value: ${shown(value)}`, supported.length ? `supported values: ${list}` : ''), field };
}

export function tooLong(field: string, max: number): Cause {
  return { reason: 'FieldValueTooLong', message: `Too long: must have at most ${max} bytes`, field };
}

export function typeInvalid(field: string, value: unknown, detail: string): Cause {
  return { reason: 'FieldValueTypeInvalid', message: withDetail(`Invalid value: ${shown(value)}`, detail), field };
}

export function immutable(field: string, value: unknown): Cause {
  return invalid(field, value, 'field is immutable');
}

const dns1123LabelRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const dns1123SubdomainRe = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const qualifiedNamePartRe = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const labelValueRe = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;

const dns1123LabelMsg =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const dns1123SubdomainMsg =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const qualifiedNameMsg =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const qualifiedNameWholeMsg =
  "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')";
const labelValueMsg =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** validation.IsDNS1123Label: the problems, empty when valid. */
export function dns1123Label(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!dns1123LabelRe.test(value)) errs.push(dns1123LabelMsg);
  return errs;
}

/** validation.IsDNS1123Subdomain. */
export function dns1123Subdomain(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 253) errs.push('must be no more than 253 characters');
  if (!dns1123SubdomainRe.test(value)) errs.push(dns1123SubdomainMsg);
  return errs;
}

/** path.IsValidPathSegmentName: what RBAC objects' names must satisfy. */
export function pathSegmentName(value: string): string[] {
  if (value === '.' || value === '..') return [`may not be '${value}'`];
  const errs: string[] = [];
  for (const c of ['/', '%']) if (value.includes(c)) errs.push(`may not contain '${c}'`);
  return errs;
}

/** validation.IsQualifiedName: `[prefix/]name` as label and annotation keys are. */
export function qualifiedName(value: string): string[] {
  const parts = value.split('/');
  let name: string;
  const errs: string[] = [];
  if (parts.length === 1) {
    name = parts[0]!;
  } else if (parts.length === 2) {
    const prefix = parts[0]!;
    name = parts[1]!;
    if (prefix.length === 0) errs.push('prefix part must be non-empty');
    else for (const e of dns1123Subdomain(prefix)) errs.push(`prefix part ${e}`);
  } else {
    return [qualifiedNameWholeMsg];
  }
  if (name.length === 0) errs.push('name part must be non-empty');
  else if (name.length > 63) errs.push('name part must be no more than 63 characters');
  if (name.length > 0 && !qualifiedNamePartRe.test(name)) errs.push(qualifiedNameMsg);
  return errs;
}

function labelValue(value: string): string[] {
  const errs: string[] = [];
  if (value.length > 63) errs.push('must be no more than 63 characters');
  if (!labelValueRe.test(value)) errs.push(labelValueMsg);
  return errs;
}

/** ValidateLabels: keys are qualified names, values label values; the field is the map's. */
export function validateLabels(labels: unknown, field: string): Cause[] {
  if (labels === undefined || labels === null) return [];
  if (!isRecord(labels)) return [typeInvalid(field, labels, 'must be a map of strings')];
  const causes: Cause[] = [];
  for (const [k, v] of Object.entries(labels)) {
    for (const msg of qualifiedName(k)) causes.push(invalid(field, k, msg));
    if (typeof v !== 'string') causes.push(typeInvalid(`${field}.${k}`, v, 'must be a string'));
    else for (const msg of labelValue(v)) causes.push(invalid(field, v, msg));
  }
  return causes;
}

const totalAnnotationSizeLimit = 256 * 1024;

/** ValidateAnnotations: keys are qualified names (lower-cased first), the whole map at most 256 KiB. */
export function validateAnnotations(annotations: unknown, field: string): Cause[] {
  if (annotations === undefined || annotations === null) return [];
  if (!isRecord(annotations)) return [typeInvalid(field, annotations, 'must be a map of strings')];
  const causes: Cause[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) {
    for (const msg of qualifiedName(k.toLowerCase())) causes.push(invalid(field, k, msg));
    if (typeof v !== 'string') causes.push(typeInvalid(`${field}.${k}`, v, 'must be a string'));
    else size += Buffer.byteLength(k) + Buffer.byteLength(v);
  }
  if (size > totalAnnotationSizeLimit) causes.push(tooLong(field, totalAnnotationSizeLimit));
  return causes;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
