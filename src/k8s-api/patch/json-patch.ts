/**
 * RFC 6902 JSON patch with the semantics of the library the API server uses (evanphx/json-patch): add, remove,
 * replace, move, copy, test; `-` appends; negative array indices count from the end; removing a missing member
 * fails, replacing one sets it. Failures are JsonPatchFailure (the server answers 422); a body that is not a list of
 * operations is JsonPatchUndecodable (400).
 */

import { setOwn } from './own.js';

export class JsonPatchUndecodable extends Error {}
export class JsonPatchFailure extends Error {}

type Json = unknown;
type Container = Record<string, Json> | Json[];

function isObject(v: unknown): v is Record<string, Json> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The pointer's reference tokens; '' is the whole document. */
function parsePointer(path: unknown, op: string): string[] {
  if (typeof path !== 'string') throw new JsonPatchFailure(`${op} operation: missing or invalid "path"`);
  if (path === '') return [];
  if (!path.startsWith('/')) throw new JsonPatchFailure(`${op} operation: path ${JSON.stringify(path)} must start with '/'`);
  return path
    .slice(1)
    .split('/')
    .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function arrayIndex(token: string, length: number, allowEnd: boolean, op: string): number {
  if (!/^-?\d+$/.test(token)) throw new JsonPatchFailure(`${op} operation: invalid array index ${JSON.stringify(token)}`);
  let i = Number(token);
  if (i < 0) {
    if (i < -length) throw new JsonPatchFailure(`${op} operation: index ${token} out of bounds`);
    i += length;
  }
  if (i > length || (!allowEnd && i === length)) throw new JsonPatchFailure(`${op} operation: index ${token} out of bounds`);
  return i;
}

/** The container that holds the pointer's last token, and that token. */
function parentOf(doc: Json, tokens: string[], op: string): { parent: Container; key: string } {
  let cur: Json = doc;
  for (const t of tokens.slice(0, -1)) {
    if (Array.isArray(cur)) cur = cur[arrayIndex(t, cur.length, false, op)];
    else if (isObject(cur) && Object.hasOwn(cur, t)) cur = cur[t];
    else throw new JsonPatchFailure(`${op} operation does not apply: doc is missing path: "/${tokens.join('/')}": missing value`);
  }
  if (!Array.isArray(cur) && !isObject(cur)) throw new JsonPatchFailure(`${op} operation does not apply: doc is missing path: "/${tokens.join('/')}": missing value`);
  return { parent: cur, key: tokens[tokens.length - 1]! };
}

function get(doc: Json, tokens: string[], op: string): Json {
  if (tokens.length === 0) return doc;
  const { parent, key } = parentOf(doc, tokens, op);
  if (Array.isArray(parent)) return parent[arrayIndex(key, parent.length, false, op)];
  if (!Object.hasOwn(parent, key)) throw new JsonPatchFailure(`${op} operation does not apply: doc is missing path: "/${tokens.join('/')}": missing value`);
  return parent[key];
}

function add(doc: Json, tokens: string[], value: Json, op: string): Json {
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens, op);
  if (Array.isArray(parent)) {
    const i = key === '-' ? parent.length : arrayIndex(key, parent.length, true, op);
    parent.splice(i, 0, value);
  } else {
    setOwn(parent, key, value);
  }
  return doc;
}

function remove(doc: Json, tokens: string[], op: string): { doc: Json; removed: Json } {
  if (tokens.length === 0) throw new JsonPatchFailure(`${op} operation: cannot remove the whole document`);
  const { parent, key } = parentOf(doc, tokens, op);
  if (Array.isArray(parent)) {
    const i = arrayIndex(key, parent.length, false, op);
    const [removed] = parent.splice(i, 1);
    return { doc, removed };
  }
  if (!Object.hasOwn(parent, key)) throw new JsonPatchFailure(`Unable to ${op} nonexistent key: ${key}: missing value`);
  const removed = parent[key];
  delete parent[key];
  return { doc, removed };
}

function replace(doc: Json, tokens: string[], value: Json): Json {
  if (tokens.length === 0) return value;
  const { parent, key } = parentOf(doc, tokens, 'replace');
  // as in the server's library, replacing a missing member of an object sets it
  if (Array.isArray(parent)) parent[arrayIndex(key, parent.length, false, 'replace')] = value;
  else setOwn(parent, key, value);
  return doc;
}

/** JSON equality: same types, same members whatever their order, same numbers. */
export function jsonEqual(a: Json, b: Json): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    return ka.length === Object.keys(b).length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** Checks the body's shape: a list of objects each naming an operation (else JsonPatchUndecodable). */
export function decodeJsonPatch(ops: unknown): Record<string, Json>[] {
  if (!Array.isArray(ops)) {
    throw new JsonPatchUndecodable(`json: cannot unmarshal ${jsonKind(ops)} into Go value of type jsonpatch.Patch`);
  }
  for (const op of ops) {
    if (!isObject(op)) throw new JsonPatchUndecodable(`json: cannot unmarshal ${jsonKind(op)} into Go value of type jsonpatch.Operation`);
  }
  return ops as Record<string, Json>[];
}

export function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (v === null) return 'null';
  if (typeof v === 'object') return 'object';
  return typeof v === 'boolean' ? 'bool' : typeof v;
}

/**
 * How much `copy` may add in total (JSON bytes): each copy can double the document, so 10,000 of them must not be
 * allowed to grow it without bound.
 */
const accumulatedCopySizeLimit = 16 * 1024 * 1024;

/** Applies the operations to a copy of doc; the input is left untouched. */
export function jsonPatch(doc: Json, ops: Record<string, Json>[]): Json {
  let out: Json = structuredClone(doc);
  let copied = 0;
  for (const o of ops) {
    const op = o.op;
    const needValue = (): Json => {
      if (!Object.hasOwn(o, 'value')) throw new JsonPatchFailure(`${String(op)} operation: missing "value"`);
      return structuredClone(o.value);
    };
    switch (op) {
      case 'add':
        out = add(out, parsePointer(o.path, op), needValue(), op);
        break;
      case 'remove':
        out = remove(out, parsePointer(o.path, op), op).doc;
        break;
      case 'replace':
        out = replace(out, parsePointer(o.path, op), needValue());
        break;
      case 'move': {
        const from = parsePointer(o.from, op);
        const to = parsePointer(o.path, op);
        if (to.length > from.length && from.every((t, i) => to[i] === t)) throw new JsonPatchFailure('move operation: path is a child of from');
        const r = remove(out, from, op);
        out = add(r.doc, to, r.removed, op);
        break;
      }
      case 'copy': {
        const source = get(out, parsePointer(o.from, op), op);
        copied += JSON.stringify(source ?? null).length;
        if (copied > accumulatedCopySizeLimit) {
          throw new JsonPatchFailure(`Unable to complete the copy, the accumulated size increase of copy is ${copied}, exceeding the limit ${accumulatedCopySizeLimit}`);
        }
        const value = structuredClone(source);
        out = add(out, parsePointer(o.path, op), value, op);
        break;
      }
      case 'test': {
        const tokens = parsePointer(o.path, op);
        let actual: Json;
        try {
          actual = get(out, tokens, op);
        } catch (e) {
          // a missing member equals an expected null, as the server's library has it
          if (e instanceof JsonPatchFailure && o.value === null) break;
          throw e;
        }
        if (!jsonEqual(actual, o.value)) throw new JsonPatchFailure(`testing value ${String(o.path)} failed: test failed`);
        break;
      }
      default:
        throw new JsonPatchFailure(`Unexpected kind: ${String(op)}`);
    }
  }
  return out;
}
