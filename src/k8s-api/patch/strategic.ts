/**
 * Strategic merge patch as the API server applies it (apimachinery's strategicpatch with MergeParallelList and
 * IgnoreUnmatchedNulls): lists merge by their field's merge key or are replaced, and the directives `$patch`
 * (replace, delete; merge is refused), `$setElementOrder/<list>`, `$deleteFromPrimitiveList/<list>` and
 * `$retainKeys` — with the same element order rules, so kubectl's patches land exactly as on a real cluster.
 */
import { setOwn } from './own.js';
import type { PatchMeta } from './schema.js';

/** A refusal: `bad` ones are answered 400, `invalid` ones 422 (as interpretStrategicMergePatchError sorts them). */
export class StrategicPatchError extends Error {
  constructor(readonly kind: 'bad' | 'invalid', message: string) {
    super(message);
  }
}

const directiveMarker = '$patch';
const retainKeysDirective = '$retainKeys';
const setElementOrderPrefix = '$setElementOrder';
const deleteFromPrimitiveListPrefix = '$deleteFromPrimitiveList';

const errBadPatchFormatForPrimitiveList = 'invalid patch format of primitive list';
const errBadPatchFormatForRetainKeys = 'invalid patch format of retainKeys';
const errBadPatchFormatForSetElementOrderList = 'invalid patch format of setElementOrder list';
const errNoListOfLists = 'lists of lists are not supported';

type Json = unknown;
type JsonMap = Record<string, Json>;

function isMap(v: unknown): v is JsonMap {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go's %v of a value, for error messages — cut short, as a 3 MiB patch must not make a 3 MiB message. */
function goString(v: Json): string {
  const full = goValue(v);
  return full.length > 1024 ? `${full.slice(0, 1024)}...` : full;
}

function goValue(v: Json): string {
  if (isMap(v)) return `map[${Object.keys(v).sort().map((k) => `${k}:${goValue(v[k])}`).join(' ')}]`;
  if (Array.isArray(v)) return `[${v.map(goValue).join(' ')}]`;
  if (v === null || v === undefined) return '<nil>';
  return String(v);
}

function bad(message: string): StrategicPatchError {
  return new StrategicPatchError('bad', message);
}

function noMergeKey(m: JsonMap, key: string): StrategicPatchError {
  return bad(`map: ${goString(m)} does not contain declared merge key: ${key}`);
}

function badPatchType(t: Json, m: JsonMap): StrategicPatchError {
  return bad(`unknown patch type: ${goString(t)} in map: ${goString(m)}`);
}

function kindOf(v: Json): 'map' | 'slice' | 'string' | 'number' | 'bool' | 'null' {
  if (v === null || v === undefined) return 'null';
  if (Array.isArray(v)) return 'slice';
  if (typeof v === 'object') return 'map';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'boolean') return 'bool';
  return 'string';
}

function fieldMeta(schema: PatchMeta, key: string): PatchMeta {
  return schema.fields && Object.hasOwn(schema.fields, key) ? schema.fields[key]! : {};
}

/** The strategy that governs merging (`merge,retainKeys` merges; retainKeys alone only matters to clients). */
function strategyOf(meta: PatchMeta): string {
  const parts = (meta.strategy ?? '').split(',').filter((s) => s !== 'retainKeys');
  if (parts.length > 1) throw bad(`unexpected patch strategy: ${meta.strategy}`);
  return parts[0] ?? '';
}

/** Applies a strategic merge patch to a copy of original. */
export function strategicMergePatch(original: JsonMap, patch: JsonMap, schema: PatchMeta): JsonMap {
  return mergeMap(structuredClone(original), structuredClone(patch), schema);
}

function handleDirectiveInMergeMap(directive: Json, patch: JsonMap): JsonMap {
  if (directive === 'replace') {
    delete patch[directiveMarker];
    return patch;
  }
  if (directive === 'delete') return {};
  throw badPatchType(directive, patch);
}

function mergeMap(original: JsonMap | null, patch: JsonMap, schema: PatchMeta): JsonMap {
  if (Object.hasOwn(patch, directiveMarker)) return handleDirectiveInMergeMap(patch[directiveMarker], patch);
  const out: JsonMap = original ?? {};
  applyRetainKeysDirective(out, patch);
  mergePatchIntoOriginal(out, patch, schema);
  for (let [k, patchV] of Object.entries(patch)) {
    let isDeleteList = false;
    if (k.startsWith(deleteFromPrimitiveListPrefix)) {
      k = extractKey(k, deleteFromPrimitiveListPrefix);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete out[k];
      continue;
    }
    if (!Object.hasOwn(out, k) || kindOf(out[k]) !== kindOf(patchV)) {
      if (!isDeleteList) {
        discardNullValuesFromPatch(patchV);
        const [v, keep] = removeDirectives(patchV);
        if (keep) setOwn(out, k, v);
        else delete out[k];
      }
      continue;
    }
    const meta = fieldMeta(schema, k);
    const strategy = strategyOf(meta);
    if (isMap(patchV)) {
      setOwn(out, k, strategy === 'replace' ? patchV : mergeMap(out[k] as JsonMap, patchV, meta));
    } else if (Array.isArray(patchV)) {
      setOwn(out, k, mergeSliceHandler(out[k] as Json[], patchV, meta.items ?? {}, strategy, meta.mergeKey ?? '', isDeleteList));
    } else {
      setOwn(out, k, patchV);
    }
  }
  return out;
}

function extractKey(s: string, prefix: string): string {
  const slash = s.indexOf('/');
  if (slash < 0 || s.slice(0, slash) !== prefix) {
    throw bad(prefix === deleteFromPrimitiveListPrefix ? errBadPatchFormatForPrimitiveList : errBadPatchFormatForSetElementOrderList);
  }
  return s.slice(slash + 1);
}

function applyRetainKeysDirective(original: JsonMap, patch: JsonMap): void {
  if (!Object.hasOwn(patch, retainKeysDirective)) return;
  const list = patch[retainKeysDirective];
  delete patch[retainKeysDirective];
  if (!Array.isArray(list)) throw bad(errBadPatchFormatForRetainKeys);
  const keep = new Set(list);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(deleteFromPrimitiveListPrefix) || k.startsWith(setElementOrderPrefix)) continue;
    if (!keep.has(k)) throw bad(errBadPatchFormatForRetainKeys);
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

/** `$setElementOrder/<list>`: merges the list now and orders it by the directive, then by patch, then by live order. */
function mergePatchIntoOriginal(original: JsonMap, patch: JsonMap, schema: PatchMeta): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(setElementOrderPrefix)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw bad(errBadPatchFormatForSetElementOrderList);
    const originalKey = extractKey(key, setElementOrderPrefix);
    const foundOriginal = Object.hasOwn(original, originalKey);
    const foundPatch = Object.hasOwn(patch, originalKey);
    let originalList: Json[] = [];
    let patchList: Json[] = [];
    if (foundOriginal) {
      if (!Array.isArray(original[originalKey])) throw bad(`expected []interface{}, but got ${goString(original[originalKey])}`);
      originalList = original[originalKey] as Json[];
    }
    if (foundPatch) {
      if (!Array.isArray(patch[originalKey])) throw bad(`expected []interface{}, but got ${goString(patch[originalKey])}`);
      patchList = patch[originalKey] as Json[];
    }
    const meta = fieldMeta(schema, originalKey);
    const strategy = strategyOf(meta);
    const mergeKey = meta.mergeKey ?? '';
    validatePatchWithSetOrderList(patchList, order, mergeKey);
    let merged: Json[];
    let serverOrder = originalList;
    if (foundOriginal && !foundPatch) merged = originalList;
    else if (!foundOriginal && foundPatch) merged = removeDirectives(patchList)[0] as Json[];
    else if (foundOriginal && foundPatch) {
      const mapsMerged = strategy === 'merge' && mergeKey !== '' && [...originalList, ...patchList].every(isMap);
      if (mapsMerged) serverOrder = aliasedLiveList(originalList, patchList, mergeKey);
      merged = mergeSliceHandler(originalList, patchList, meta.items ?? {}, strategy, mergeKey, false);
    } else continue;
    const [patchItems, serverOnly] = mergeKey === '' ? partitionPrimitives(merged, order) : partitionMaps(merged, order, mergeKey);
    const kind = sliceElementKind(originalList, patchList);
    setOwn(original, originalKey, normalizeElementOrder(patchItems, serverOnly, order, serverOrder, mergeKey, kind));
    delete patch[originalKey];
  }
}

/** Beyond this many element moves the aliasing below is not reproduced (the live list is used as given). */
const aliasingBudget = 1_000_000;

/**
 * The live list as the server's Go code sees it after merging a patch list into it under `$setElementOrder`: a
 * deletion shifts the remaining elements down within the same array (leaving a stale copy at the end) and new
 * elements are appended into the freed slots, and the server then orders the result by that array rather than by
 * the list it started from. Which element goes first depends on it, so it is reproduced here.
 */
function aliasedLiveList(original: Json[], patch: Json[], mergeKey: string): Json[] {
  const backing = [...original];
  const keyOf = (v: Json): Json => (isMap(v) && Object.hasOwn(v, mergeKey) ? v[mergeKey] : undefined);
  const deletes = patch.filter((p) => isMap(p) && p[directiveMarker] === 'delete');
  if (deletes.length * backing.length > aliasingBudget) return original;
  let length = backing.length;
  for (const d of deletes) {
    const key = keyOf(d);
    for (;;) {
      let k = -1;
      for (let i = 0; i < length; i++) {
        if (isMap(backing[i]) && Object.hasOwn(backing[i] as JsonMap, mergeKey) && keyOf(backing[i]) === key) {
          k = i;
          break;
        }
      }
      if (k < 0) break;
      backing.copyWithin(k, k + 1, length);
      length--;
    }
  }
  // a `$patch: replace` element makes the server merge into the patch list instead: nothing is appended here
  if (patch.some((p) => isMap(p) && p[directiveMarker] === 'replace')) return backing;
  const present = new Set(backing.slice(0, length).map(keyOf));
  for (const p of patch) {
    if (!isMap(p) || Object.hasOwn(p, directiveMarker) || present.has(keyOf(p))) continue;
    present.add(keyOf(p));
    if (length >= backing.length) break;
    backing[length++] = p;
  }
  return backing;
}

function mergeKeyValueEqual(left: Json, right: Json, mergeKey: string): boolean {
  if (mergeKey === '') return left === right;
  if (!isMap(left) || !isMap(right)) throw bad(`expected map[string]interface{}, but got ${goString(isMap(left) ? right : left)}`);
  if (!Object.hasOwn(left, mergeKey)) throw noMergeKey(left, mergeKey);
  if (!Object.hasOwn(right, mergeKey)) throw noMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

function validatePatchWithSetOrderList(patchList: Json[], order: Json[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey === '' ? patchList : extractToDeleteItems(patchList)[0];
  let p = 0;
  let s = 0;
  while (p < nonDelete.length && s < order.length) {
    if (isMap(nonDelete[p]) && Object.hasOwn(nonDelete[p] as JsonMap, directiveMarker)) {
      p++;
      continue;
    }
    if (mergeKeyValueEqual(nonDelete[p], order[s], mergeKey)) p++;
    s++;
  }
  if (p < nonDelete.length && s >= order.length) {
    throw bad(`the order in patch list:\n${goString(patchList)}\n doesn't match ${setElementOrderPrefix} list:\n${goString(order)}`);
  }
}

function partitionPrimitives(list: Json[], by: Json[]): [Json[], Json[]] {
  const inPatch = new Set(by);
  return [list.filter((v) => inPatch.has(v)), list.filter((v) => !inPatch.has(v))];
}

function partitionMaps(list: Json[], by: Json[], mergeKey: string): [Json[], Json[]] {
  const keys = keyValues(by, mergeKey);
  const patchItems: Json[] = [];
  const serverOnly: Json[] = [];
  for (const v of list) {
    if (!isMap(v)) throw bad(`expected map[string]interface{}, but got ${goString(v)}`);
    if (!Object.hasOwn(v, mergeKey)) throw noMergeKey(v, mergeKey);
    if (keys.has(v[mergeKey])) patchItems.push(v);
    else serverOnly.push(v);
  }
  return [patchItems, serverOnly];
}

/** The merge key values present in a list of maps (the list's elements must all be maps). */
function keyValues(list: Json[], key: string): Set<Json> {
  const keys = new Set<Json>();
  list.forEach((v, i) => {
    if (!isMap(v)) throw bad(`value for key ${i} is not a map.`);
    if (Object.hasOwn(v, key)) keys.add(v[key]);
  });
  return keys;
}

/** Removes maps that carry `$patch` (they are directives, not content), recursively. */
function removeDirectives(v: Json): [Json, boolean] {
  if (isMap(v)) {
    if (Object.hasOwn(v, directiveMarker)) return [null, false];
    for (const k of Object.keys(v)) {
      const [nv, keep] = removeDirectives(v[k]);
      if (keep) setOwn(v, k, nv);
      else delete v[k];
    }
    return [v, true];
  }
  if (Array.isArray(v)) {
    const out: Json[] = [];
    for (const item of v) {
      const [nv, keep] = removeDirectives(item);
      if (keep) out.push(nv);
    }
    return [out, true];
  }
  return [v, true];
}

function discardNullValuesFromPatch(v: Json): void {
  if (isMap(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else discardNullValuesFromPatch(v[k]);
    }
  } else if (Array.isArray(v)) {
    for (const item of v) discardNullValuesFromPatch(item);
  }
}

function mergeSliceHandler(original: Json[], patch: Json[], schema: PatchMeta, strategy: string, mergeKey: string, isDeleteList: boolean): Json[] {
  if (strategy === 'merge' || isDeleteList) return mergeSlice(original, patch, schema, mergeKey, isDeleteList);
  return patch;
}

function sliceElementKind(...lists: Json[][]): ReturnType<typeof kindOf> {
  let prev: ReturnType<typeof kindOf> | undefined;
  for (const list of lists) {
    for (const v of list) {
      const k = kindOf(v);
      if (prev === undefined) {
        if (k === 'slice') throw new StrategicPatchError('invalid', errNoListOfLists);
        prev = k;
      } else if (prev !== k) {
        throw bad(`list element types are not identical: ${goString(lists)}`);
      }
    }
  }
  if (prev === undefined) throw bad('no elements in any of the given slices');
  return prev;
}

function mergeSlice(original: Json[], patch: Json[], schema: PatchMeta, mergeKey: string, isDeleteList: boolean): Json[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementKind(original, patch);
  let merged: Json[];
  if (kind !== 'map') {
    if (isDeleteList) {
      const drop = new Set(patch);
      return original.filter((v) => !drop.has(v));
    }
    merged = [...new Set([...original, ...patch])];
  } else {
    if (mergeKey === '') throw bad(`cannot merge lists without merge key for ${schema.name ?? 'field'}`);
    const [o, p] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    original = o;
    patch = p;
    merged = mergeSliceWithoutSpecialElements([...o], p, mergeKey, schema);
  }
  const [patchItems, serverOnly] = mergeKey === '' ? partitionPrimitives(merged, patch) : partitionMaps(merged, patch, mergeKey);
  return normalizeElementOrder(patchItems, serverOnly, patch, original, mergeKey, kind);
}

function mergeSliceWithSpecialElements(original: Json[], patch: Json[], mergeKey: string): [Json[], Json[]] {
  const plain: Json[] = [];
  const deleted = new Set<Json>();
  let replace = false;
  for (const v of patch) {
    const m = v as JsonMap;
    if (!Object.hasOwn(m, directiveMarker)) {
      plain.push(v);
      continue;
    }
    switch (m[directiveMarker]) {
      case 'delete':
        if (!Object.hasOwn(m, mergeKey)) throw noMergeKey(m, mergeKey);
        deleted.add(m[mergeKey]);
        break;
      case 'replace':
        replace = true;
        break;
      case 'merge':
        throw bad('merging lists cannot yet be specified in the patch');
      default:
        throw badPatchType(m[directiveMarker], m);
    }
  }
  if (deleted.size > 0) {
    keyValues(original, mergeKey);
    original = original.filter((o) => !(Object.hasOwn(o as JsonMap, mergeKey) && deleted.has((o as JsonMap)[mergeKey])));
  }
  return replace ? [plain, []] : [original, plain];
}

function mergeSliceWithoutSpecialElements(original: Json[], patch: Json[], mergeKey: string, schema: PatchMeta): Json[] {
  // the first element with each merge key value, as a linear search from the start finds it
  const at = new Map<Json, number>();
  original.forEach((o, i) => {
    if (!isMap(o)) throw bad(`value for key ${i} is not a map.`);
    if (Object.hasOwn(o, mergeKey) && !at.has(o[mergeKey])) at.set(o[mergeKey], i);
  });
  for (const v of patch) {
    const m = v as JsonMap;
    if (!Object.hasOwn(m, mergeKey)) throw noMergeKey(m, mergeKey);
    const i = at.get(m[mergeKey]);
    if (i !== undefined) {
      original[i] = mergeMap(original[i] as JsonMap, m, schema);
    } else {
      at.set(m[mergeKey], original.length);
      original.push(v);
    }
  }
  return original;
}

function valueForOrder(item: Json, mergeKey: string, kind: string): Json {
  if (kind !== 'map') return item;
  return isMap(item) ? item[mergeKey] : null;
}

/** Where each item's value (its merge key's, for maps) first appears in list, -1 when absent. */
function positionsIn(list: Json[], mergeKey: string, kind: string): (item: Json) => number {
  const first = new Map<Json, number>();
  list.forEach((v, i) => {
    const key = valueForOrder(v, mergeKey, kind);
    if (!first.has(key)) first.set(key, i);
  });
  return (item) => first.get(valueForOrder(item, mergeKey, kind)) ?? -1;
}

/**
 * sort.SliceStable by position in order. When every item has a position this is an ordinary stable sort; otherwise
 * it is run as Go runs it on short lists (insertion sort) with the server's not-quite-strict comparator.
 */
function normalizeSliceOrder(toSort: Json[], order: Json[], mergeKey: string, kind: string): Json[] {
  let items = toSort;
  let toDelete: Json[] = [];
  if (kind === 'map') {
    for (const list of [toSort, order]) {
      for (const item of list) {
        if (!isMap(item)) throw bad(`expected map[string]interface{}, but got ${goString(item)}`);
        if (!Object.hasOwn(item, mergeKey)) throw noMergeKey(item, mergeKey);
      }
    }
    [items, toDelete] = extractToDeleteItems(toSort);
  }
  const position = positionsIn(order, mergeKey, kind);
  const ranked = items.map((item) => ({ item, at: position(item) }));
  if (ranked.every((r) => r.at >= 0)) {
    ranked.sort((a, b) => a.at - b.at);
  } else {
    const less = (a: { at: number }, b: { at: number }): boolean => (a.at >= 0 && b.at >= 0 ? a.at < b.at : true);
    for (let i = 1; i < ranked.length; i++) {
      for (let j = i; j > 0 && less(ranked[j]!, ranked[j - 1]!); j--) [ranked[j], ranked[j - 1]] = [ranked[j - 1]!, ranked[j]!];
    }
  }
  return [...ranked.map((r) => r.item), ...toDelete];
}

function extractToDeleteItems(list: Json[]): [Json[], Json[]] {
  const keep: Json[] = [];
  const del: Json[] = [];
  for (const v of list) {
    if (!isMap(v)) throw bad(`expected map[string]interface{}, but got ${goString(v)}`);
    if (v[directiveMarker] === 'delete') del.push(v);
    else keep.push(v);
  }
  return [keep, del];
}

/**
 * Patch items in patch order, server-only items in live order, then interleaved: a server-only item goes before a
 * patch item only when both are in the live list and it came first there (so new items land before server-only ones).
 */
function normalizeElementOrder(patchItems: Json[], serverOnly: Json[], patchOrder: Json[], serverOrder: Json[], mergeKey: string, kind: string): Json[] {
  const right = normalizeSliceOrder(patchItems, patchOrder, mergeKey, kind);
  const left = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  const live = positionsIn(serverOrder, mergeKey, kind);
  const out: Json[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]);
    else if (j >= right.length) out.push(left[i++]);
    else {
      const li = live(left[i]);
      const ri = live(right[j]);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]);
      else out.push(right[j++]);
    }
  }
  return out;
}

/** What decoding into the kind's Go types does to directive keys left in the result: drops them. */
export function dropDirectiveKeys(v: Json): Json {
  if (Array.isArray(v)) return v.map(dropDirectiveKeys);
  if (!isMap(v)) return v;
  const out: JsonMap = {};
  for (const [k, x] of Object.entries(v)) {
    if (k === directiveMarker || k === retainKeysDirective || k.startsWith(`${setElementOrderPrefix}/`) || k.startsWith(`${deleteFromPrimitiveListPrefix}/`)) continue;
    setOwn(out, k, dropDirectiveKeys(x));
  }
  return out;
}
