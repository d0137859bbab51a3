/**
 * PATCH bodies applied to a stored object as the API server applies them: JSON patch, JSON merge patch and, for
 * built-in kinds, strategic merge patch; server-side apply is refused with 415. Refusals are ApiErrors with the
 * codes Kubernetes answers: 400 for undecodable patches, 422 for a JSON patch operation that does not apply, 413
 * for too many operations, 415 for a content type not served.
 */
import { apiError, type KubeObject, type ResourceType } from '../types.js';
import { decodeJsonPatch, jsonKind, jsonPatch, JsonPatchFailure, JsonPatchUndecodable } from './json-patch.js';
import { mergePatch } from './merge-patch.js';
import { patchMetaFor } from './schema.js';
import { dropDirectiveKeys, strategicMergePatch, StrategicPatchError } from './strategic.js';

const jsonPatchType = 'application/json-patch+json';
const mergePatchType = 'application/merge-patch+json';
const strategicMergePatchType = 'application/strategic-merge-patch+json';
const applyPatchType = 'application/apply-patch+yaml';

/** The API server's limit on one JSON patch. */
const maxJsonPatchOperations = 10000;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function mediaType(contentType: string): string {
  return contentType.split(';')[0]!.trim().toLowerCase();
}

function unsupported(type: ResourceType, contentType: string): never {
  const accepted = [jsonPatchType, mergePatchType, ...(type.strategicMerge ? [strategicMergePatchType] : [])];
  const ssa = mediaType(contentType) === applyPatchType ? '; server-side apply (application/apply-patch+yaml) is not served by this server' : '';
  throw apiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: ${accepted.join(', ')}${ssa}`);
}

/** The body as JSON: A may hand it over raw (text or bytes) or already parsed. */
function decodeBody(patch: unknown): unknown {
  if (typeof patch !== 'string' && !(patch instanceof Uint8Array)) return patch;
  const text = typeof patch === 'string' ? patch : Buffer.from(patch).toString('utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw apiError(400, 'BadRequest', `error decoding patch: ${(e as Error).message}`);
  }
}

/** The generic 422 the server answers when a JSON patch does not apply (its Status carries no more than this). */
function jsonPatchFailed(): never {
  throw apiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
}

/** Applies a JSON patch (RFC 6902) to a copy of doc — for mutating webhooks' responses as for PATCH requests. */
export function applyJsonPatch(doc: unknown, ops: unknown): unknown {
  let decoded;
  try {
    decoded = decodeJsonPatch(ops);
  } catch (e) {
    if (e instanceof JsonPatchUndecodable) throw apiError(400, 'BadRequest', e.message);
    throw e;
  }
  if (decoded.length > maxJsonPatchOperations) {
    throw apiError(413, 'RequestEntityTooLarge', `Request entity too large: The allowed maximum operations in a JSON patch is ${maxJsonPatchOperations}, got ${decoded.length}`);
  }
  try {
    return jsonPatch(doc, decoded);
  } catch (e) {
    if (e instanceof JsonPatchFailure) jsonPatchFailed();
    throw e;
  }
}

function asObject(result: unknown, type: ResourceType): KubeObject {
  if (!isObject(result)) {
    throw apiError(400, 'BadRequest', `couldn't get version/kind; json parse error: json: cannot unmarshal ${jsonKind(result)} into Go value of type struct { APIVersion string "json:\\"apiVersion,omitempty\\""; Kind string "json:\\"kind,omitempty\\"" }`);
  }
  if (!isObject(result.metadata)) result.metadata = {};
  if (result.kind === undefined) result.kind = type.kind;
  if (result.apiVersion === undefined) result.apiVersion = type.group ? `${type.group}/${type.version}` : type.version;
  return result as KubeObject;
}

/**
 * The object current becomes under this patch (current is left untouched). Which patch it is comes from the request's
 * Content-Type; strategic merge patch uses the kind's merge keys and is refused (415) for kinds without them (CRDs).
 */
export function applyPatch(type: ResourceType, contentType: string, current: KubeObject, patch: unknown): KubeObject {
  switch (mediaType(contentType)) {
    case jsonPatchType:
      return asObject(applyJsonPatch(current, decodeBody(patch)), type);
    case mergePatchType: {
      const body = decodeBody(patch);
      if (body === null || body === undefined) throw apiError(400, 'BadRequest', 'Invalid JSON Patch');
      // a copy: the result must share nothing with the stored object, which the caller goes on comparing against
      return asObject(mergePatch(structuredClone(current), body), type);
    }
    case strategicMergePatchType: {
      if (!type.strategicMerge) unsupported(type, contentType);
      const body = decodeBody(patch);
      if (!isObject(body)) throw apiError(400, 'BadRequest', `json: cannot unmarshal ${jsonKind(body)} into Go value of type map[string]interface {}`);
      try {
        return asObject(dropDirectiveKeys(strategicMergePatch(current, body, patchMetaFor(type.group, type.kind))), type);
      } catch (e) {
        if (!(e instanceof StrategicPatchError)) throw e;
        if (e.kind === 'invalid') throw apiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
        throw apiError(400, 'BadRequest', e.message);
      }
    }
    default:
      unsupported(type, contentType);
  }
}
