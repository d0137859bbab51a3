/**
 * Kubernetes' field errors (apimachinery's field.Error) as `Cause`s — the common ones are the built-in kinds', the
 * rest here — and the 422 Invalid they add up to: the cause's message is the error's body (`Invalid value: 599: may
 * not specify …`), the Status message prefixes each with its field, exactly as the real server words them.
 */
import { type Cause, apiError, type ApiError } from './types.js';

export { duplicate, forbidden as forbiddenField, invalid, required, typeInvalid } from './builtin/fields.js';

/** Go's rendering of a bad value in field errors: strings quoted, numbers and booleans bare, nil as "null". */
function formatValue(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (value === null || value === undefined) return '"null"';
  return JSON.stringify(value);
}

/** An enum's refusal; the supported values may be of any JSON type (CRD schemas' `enum`). */
export function notSupported(field: string, value: unknown, supported: unknown[]): Cause {
  const detail = supported.length > 0 ? `: supported values: ${supported.map(formatValue).join(', ')}` : '';
  return { reason: 'FieldValueNotSupported', message: `Unsupported value: ${formatValue(value)}${detail}`, field };
}

/** A string longer than the schema's maxLength, worded as apiextensions servers up to 1.31 word it. */
export function tooLong(field: string, max: number): Cause {
  return { reason: 'FieldValueTooLong', message: `Too long: may not be longer than ${max}`, field };
}

export function tooMany(field: string, actual: number, max: number): Cause {
  return { reason: 'FieldValueTooMany', message: `Too many: ${actual}: must have at most ${max} items`, field };
}

/** `spec.foo: Invalid value: …` — a cause as Kubernetes prints it in messages. */
export function causeText(cause: Cause): string {
  return cause.field ? `${cause.field}: ${cause.message}` : cause.message;
}

/**
 * The 422 Invalid for an object: `ENIConfig.crd.k8s.amazonaws.com "x" is invalid: spec.subnet: …` (several causes are
 * listed in brackets, comma separated, as Go's aggregate error prints them).
 */
export function invalidError(kind: string, group: string, name: string, causes: Cause[]): ApiError {
  const qualified = group ? `${kind}.${group}` : kind;
  const texts = causes.map(causeText);
  const summary = texts.length === 1 ? texts[0] : `[${texts.join(', ')}]`;
  return apiError(422, 'Invalid', `${qualified} ${JSON.stringify(name)} is invalid: ${summary}`, {
    name,
    ...(group ? { group } : {}),
    kind,
    causes,
  });
}
