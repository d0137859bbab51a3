/**
 * OpenAPI, as far as kubectl needs it. kubectl's client-side validation (on by default for `apply`, `create -f`,
 * `replace`) downloads `/openapi/v2` — only as protobuf (gnostic's openapi.v2.Document) — and fails the command when
 * it cannot ("failed to download openapi"); 1.27+ ask `/openapi/v3` first and fall back to v2 when it is 404. A kind
 * the document has no definition for is not validated client-side (the server validates it anyway), and `apply`
 * then computes its patch from kubectl's compiled-in types (strategic merge) or as a JSON merge patch (CRDs).
 * So the smallest faithful answer is a valid v2 document that publishes no definitions and no paths: it also tells
 * kubectl that no endpoint takes `fieldValidation`, so it never asks for server-side field validation. `/openapi/v3`
 * is not served (404), as on servers before 1.27; `kubectl explain` therefore finds no schemas.
 * Pure.
 */
import type { DiscoveryResponse } from './discovery.js';
import { admitsJson, parseAccept } from './media.js';

/** The media type kubectl asks for (`@`) and the one kube-apiserver answers with (`.`). */
const protobufV2 = ['application/com.github.proto-openapi.spec.v2@v1.0+protobuf', 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf'];
const protobufV2Answer = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';

const title = 'Kubernetes';

/** A protobuf length-delimited field (wire type 2) of a string or message under 128 bytes. */
function lengthDelimited(field: number, bytes: string): string {
  if (bytes.length >= 128 || field >= 16) throw new Error(`openapi: field ${field} needs a multi-byte tag or length`);
  return String.fromCharCode((field << 3) | 2, bytes.length) + bytes;
}

/**
 * The v2 document as protobuf: openapi.v2.Document { swagger = 1: "2.0", info = 2: Info { title = 1, version = 2 } }.
 * Every byte is ASCII, so it travels in DiscoveryResponse's string body unchanged.
 */
export function openApiV2Protobuf(version: string): string {
  return lengthDelimited(1, '2.0') + lengthDelimited(2, lengthDelimited(1, title) + lengthDelimited(2, version));
}

/** The same document as JSON, for clients that ask for JSON. */
export function openApiV2Json(version: string): Record<string, unknown> {
  return { swagger: '2.0', info: { title, version }, paths: {}, definitions: {} };
}

function status(code: number, reason: string, message: string): DiscoveryResponse {
  return { status: code, contentType: 'application/json', body: JSON.stringify({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message, reason, code }) };
}

/**
 * The OpenAPI answer for `path` (`/openapi/v2`, `/openapi/v3…`) with `version` as the document's info.version, or
 * undefined when path is not an OpenAPI path.
 */
export function serveOpenApi(path: string, accept: string, version: string): DiscoveryResponse | undefined {
  const clean = path.split('?')[0] ?? '';
  if (clean === '/openapi/v3' || clean.startsWith('/openapi/v3/')) return status(404, 'NotFound', 'the server could not find the requested resource');
  if (clean !== '/openapi/v2') return undefined;
  for (const range of parseAccept(accept)) {
    if (protobufV2.includes(range.type)) return { status: 200, contentType: protobufV2Answer, body: openApiV2Protobuf(version) };
    if (admitsJson(range)) return { status: 200, contentType: 'application/json', body: JSON.stringify(openApiV2Json(version)) };
  }
  return status(406, 'NotAcceptable', `only the following media types are accepted: application/json, ${protobufV2Answer}`);
}
