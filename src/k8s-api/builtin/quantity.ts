/**
 * Resource quantities (`250m`, `4Gi`, `9`) as the server reads them: a value that is not a quantity fails decoding
 * (400), a JSON number is stored as its quantity string, and the checks ValidateResourceRequirements makes
 * (non-negative, integers for extended resources, requests equal to limits for resources that cannot be
 * overcommitted).
 */
import { apiError, type Cause } from '../types.js';
import { invalid, isRecord, required } from './fields.js';

const quantityRe = /^[+-]?(\d+(\.\d*)?|\.\d+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?\d+)?$/;
const quantityMessage = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";

const factors: Record<string, number> = {
  n: 1e-9, u: 1e-6, m: 1e-3, '': 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
  Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
};

/** The quantity's value as a number, or undefined when it is not a quantity. */
function quantityValue(q: unknown): number | undefined {
  if (typeof q === 'number') return Number.isFinite(q) ? q : undefined;
  if (typeof q !== 'string' || !quantityRe.test(q)) return undefined;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(.*)$/.exec(q)!;
  const suffix = m[2]!;
  if (/^[eE]/.test(suffix)) return Number(m[1]) * 10 ** Number(suffix.slice(1));
  return Number(m[1]) * factors[suffix]!;
}

/** A JSON number as the quantity string the server stores (2 → "2", 0.5 → "500m"). */
function quantityString(n: number): string {
  if (Number.isInteger(n)) return String(n);
  const milli = Math.round(n * 1000);
  return Math.abs(n * 1000 - milli) < 1e-9 ? `${milli}m` : String(n);
}

/** Decodes a map of quantities in place: numbers become strings; anything else that is not a quantity is a 400. */
export function decodeQuantities(map: unknown, kind: string): void {
  if (!isRecord(map)) return;
  for (const [name, q] of Object.entries(map)) {
    if (typeof q === 'number' && Number.isFinite(q)) map[name] = quantityString(q);
    else if (quantityValue(q) === undefined) throw apiError(400, 'BadRequest', `${kind} in version "v1" cannot be handled as a ${kind}: ${quantityMessage}`);
  }
}

/** A resource of the core's own (no domain, or a kubernetes.io one): it may be overcommitted; extended ones may not. */
function isNative(name: string): boolean {
  return !name.includes('/') || name.split('/')[0]!.endsWith('kubernetes.io');
}

function checkValue(name: string, q: unknown, field: string): Cause[] {
  const v = quantityValue(q) ?? 0;
  if (v < 0) return [invalid(field, String(q), 'must be greater than or equal to 0')];
  if (!isNative(name) && !Number.isInteger(v)) return [invalid(field, String(q), 'must be an integer')];
  return [];
}

/** ValidateResourceRequirements for one container's `resources`. */
export function validateResources(resources: unknown, field: string): Cause[] {
  if (!isRecord(resources)) return [];
  const limits = isRecord(resources.limits) ? resources.limits : {};
  const requests = isRecord(resources.requests) ? resources.requests : {};
  const causes: Cause[] = [];
  for (const [name, q] of Object.entries(limits)) causes.push(...checkValue(name, q, `${field}.limits[${name}]`));
  for (const [name, q] of Object.entries(requests)) {
    causes.push(...checkValue(name, q, `${field}.requests[${name}]`));
    const request = quantityValue(q) ?? 0;
    if (Object.hasOwn(limits, name)) {
      const limit = quantityValue(limits[name]) ?? 0;
      if (request !== limit && !isNative(name)) causes.push(invalid(`${field}.requests`, String(q), `must be equal to ${name} limit of ${String(limits[name])}`));
      else if (request > limit) causes.push(invalid(`${field}.requests`, String(q), `must be less than or equal to ${name} limit of ${String(limits[name])}`));
    } else if (!isNative(name)) {
      causes.push(required(`${field}.limits`, 'Limit must be set for non overcommitable resources'));
    }
  }
  return causes;
}

/** A node's capacity or allocatable: values non-negative, extended resources whole numbers. */
export function validateCapacity(map: unknown, field: string): Cause[] {
  if (!isRecord(map)) return [];
  return Object.entries(map).flatMap(([name, q]) => checkValue(name, q, `${field}[${name}]`));
}
