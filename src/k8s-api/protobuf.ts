/**
 * Protobuf request bodies, as far as kubectl sends them. Since client-go 1.32, typed clients send built-in objects as
 * `application/vnd.kubernetes.protobuf` (they accept JSON answers), so kubectl 1.32+ POSTs protobuf for `create
 * namespace|configmap|secret|serviceaccount|role|rolebinding|clusterrole|clusterrolebinding`, `create token`,
 * `auth can-i` and `auth can-i --list`; client-go never falls back to JSON for a refused protobuf body. This module
 * turns such a body into the JSON object the same command sends to older servers: Kubernetes' envelope (the 4 bytes
 * `k8s\0`, then a runtime.Unknown carrying apiVersion, kind and the object's bytes) and the fields of those kinds, by
 * their numbers in Kubernetes' generated.proto. Answers stay JSON. Other kinds are 415, as on a server that has no
 * protobuf for them. Pure.
 */
import protobuf from 'protobufjs';
import { apiError, type KubeObject } from './types.js';

const { Reader } = protobuf;

export const PROTOBUF_CONTENT_TYPE = 'application/vnd.kubernetes.protobuf';

/** How one field is read: scalars, a nested message, a map (entries key = 1, value = 2), or Kubernetes' Time. */
type Kind = 'string' | 'bool' | 'int' | 'bytes' | 'time' | 'rawJson' | Message | { map: 'string' | 'bytes' };
interface Field {
  name: string;
  kind: Kind;
  repeated?: boolean;
}
type Message = { [num: number]: Field };

const f = (name: string, kind: Kind, repeated = false): Field => ({ name, kind, repeated });

const time: Kind = 'time';
const ownerReference: Message = { 1: f('kind', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'), 5: f('apiVersion', 'string'), 6: f('controller', 'bool'), 7: f('blockOwnerDeletion', 'bool') };
const managedFieldsEntry: Message = { 1: f('manager', 'string'), 2: f('operation', 'string'), 3: f('apiVersion', 'string'), 4: f('time', time), 6: f('fieldsType', 'string'), 7: f('fieldsV1', { 1: f('', 'rawJson') }), 8: f('subresource', 'string') };
const objectMeta: Message = {
  1: f('name', 'string'), 2: f('generateName', 'string'), 3: f('namespace', 'string'), 4: f('selfLink', 'string'), 5: f('uid', 'string'),
  6: f('resourceVersion', 'string'), 7: f('generation', 'int'), 8: f('creationTimestamp', time), 9: f('deletionTimestamp', time),
  10: f('deletionGracePeriodSeconds', 'int'), 11: f('labels', { map: 'string' }), 12: f('annotations', { map: 'string' }),
  13: f('ownerReferences', ownerReference, true), 14: f('finalizers', 'string', true), 17: f('managedFields', managedFieldsEntry, true),
};
const selectorRequirement: Message = { 1: f('key', 'string'), 2: f('operator', 'string'), 3: f('values', 'string', true) };
const labelSelector: Message = { 1: f('matchLabels', { map: 'string' }), 2: f('matchExpressions', selectorRequirement, true) };
const objectReference: Message = { 1: f('kind', 'string'), 2: f('namespace', 'string'), 3: f('name', 'string'), 4: f('uid', 'string'), 5: f('apiVersion', 'string'), 6: f('resourceVersion', 'string'), 7: f('fieldPath', 'string') };
const policyRule: Message = { 1: f('verbs', 'string', true), 2: f('apiGroups', 'string', true), 3: f('resources', 'string', true), 4: f('resourceNames', 'string', true), 5: f('nonResourceURLs', 'string', true) };
const binding: Message = {
  1: f('metadata', objectMeta),
  2: f('subjects', { 1: f('kind', 'string'), 2: f('apiGroup', 'string'), 3: f('name', 'string'), 4: f('namespace', 'string') }, true),
  3: f('roleRef', { 1: f('apiGroup', 'string'), 2: f('kind', 'string'), 3: f('name', 'string') }),
};
const selectorAttributes: Message = { 1: f('rawSelector', 'string'), 2: f('requirements', selectorRequirement, true) };

/** The kinds kubectl's typed client sends, by `apiVersion/kind`. */
const kinds: Record<string, Message> = {
  'v1/Namespace': {
    1: f('metadata', objectMeta),
    2: f('spec', { 1: f('finalizers', 'string', true) }),
    3: f('status', { 1: f('phase', 'string'), 2: f('conditions', { 1: f('type', 'string'), 2: f('status', 'string'), 4: f('lastTransitionTime', time), 5: f('reason', 'string'), 6: f('message', 'string') }, true) }),
  },
  'v1/ConfigMap': { 1: f('metadata', objectMeta), 2: f('data', { map: 'string' }), 3: f('binaryData', { map: 'bytes' }), 4: f('immutable', 'bool') },
  'v1/Secret': { 1: f('metadata', objectMeta), 2: f('data', { map: 'bytes' }), 3: f('type', 'string'), 4: f('stringData', { map: 'string' }), 5: f('immutable', 'bool') },
  'v1/ServiceAccount': { 1: f('metadata', objectMeta), 2: f('secrets', objectReference, true), 3: f('imagePullSecrets', { 1: f('name', 'string') }, true), 4: f('automountServiceAccountToken', 'bool') },
  'rbac.authorization.k8s.io/v1/Role': { 1: f('metadata', objectMeta), 2: f('rules', policyRule, true) },
  'rbac.authorization.k8s.io/v1/ClusterRole': { 1: f('metadata', objectMeta), 2: f('rules', policyRule, true), 3: f('aggregationRule', { 1: f('clusterRoleSelectors', labelSelector, true) }) },
  'rbac.authorization.k8s.io/v1/RoleBinding': binding,
  'rbac.authorization.k8s.io/v1/ClusterRoleBinding': binding,
  'authorization.k8s.io/v1/SelfSubjectAccessReview': {
    1: f('metadata', objectMeta),
    2: f('spec', {
      1: f('resourceAttributes', {
        1: f('namespace', 'string'), 2: f('verb', 'string'), 3: f('group', 'string'), 4: f('version', 'string'), 5: f('resource', 'string'),
        6: f('subresource', 'string'), 7: f('name', 'string'), 8: f('fieldSelector', selectorAttributes), 9: f('labelSelector', selectorAttributes),
      }),
      2: f('nonResourceAttributes', { 1: f('path', 'string'), 2: f('verb', 'string') }),
    }),
  },
  'authorization.k8s.io/v1/SelfSubjectRulesReview': { 1: f('metadata', objectMeta), 2: f('spec', { 1: f('namespace', 'string') }) },
  'authentication.k8s.io/v1/TokenRequest': {
    1: f('metadata', objectMeta),
    2: f('spec', { 1: f('audiences', 'string', true), 3: f('boundObjectRef', { 1: f('kind', 'string'), 2: f('apiVersion', 'string'), 3: f('name', 'string'), 4: f('uid', 'string') }), 4: f('expirationSeconds', 'int') }),
  },
};

/** The protobuf kinds decoded, as `apiVersion/kind` (for documentation and tests). */
export const protobufKinds = (): string[] => Object.keys(kinds);

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** int64 as JSON carries it: a number (protobufjs reads a Long where the long package is present). */
function int64(v: number | protobuf.Long): number {
  return typeof v === 'number' ? v : protobuf.util.LongBits.from(v).toNumber(false);
}

/** Kubernetes' Time as JSON: RFC 3339 in UTC to the second; the zero time (an unset value field) is left out. */
function decodeTime(bytes: Uint8Array): string | undefined {
  const t = decodeMessage(bytes, { 1: f('seconds', 'int'), 2: f('nanos', 'int') });
  const seconds = typeof t.seconds === 'number' ? t.seconds : 0;
  if (seconds === 0 && !t.nanos) return undefined;
  return new Date(seconds * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function decodeMap(bytes: Uint8Array, value: 'string' | 'bytes'): [string, string] {
  const entry = decodeMessage(bytes, { 1: f('key', 'string'), 2: f('value', value) });
  return [typeof entry.key === 'string' ? entry.key : '', typeof entry.value === 'string' ? entry.value : ''];
}

/**
 * One message as JSON: fields by their JSON names; unset value fields (empty strings, zero numbers, zero times, empty
 * lists and maps) are left out, as Kubernetes' JSON encoding omits them; fields not in the schema are skipped.
 */
function decodeMessage(bytes: Uint8Array, schema: Message): Record<string, unknown> {
  const r = Reader.create(bytes);
  const out: Record<string, unknown> = {};
  while (r.pos < r.len) {
    const key = r.uint32();
    const num = key >>> 3;
    const wire = key & 7;
    const field = schema[num];
    if (!field) {
      r.skipType(wire);
      continue;
    }
    const value = decodeField(r, wire, field);
    if (value === undefined) continue;
    // lists and maps grow in place: a 3 MiB body can hold a million entries
    if (field.repeated) {
      let list = out[field.name] as unknown[] | undefined;
      if (!list) out[field.name] = list = [];
      list.push(value);
    } else if (typeof field.kind === 'object' && 'map' in field.kind) {
      const [k, v] = value as [string, string];
      let map = out[field.name] as Record<string, string> | undefined;
      if (!map) out[field.name] = map = {};
      // an own property even for `__proto__`, as JSON.parse makes it
      Object.defineProperty(map, k, { value: v, enumerable: true, writable: true, configurable: true });
    } else out[field.name] = value;
  }
  return out;
}

function decodeField(r: protobuf.Reader, wire: number, field: Field): unknown {
  const kind = field.kind;
  if (kind === 'bool' || kind === 'int') {
    if (wire !== 0) throw new Error(`field ${field.name}: wire type ${wire}, expected a varint`);
    if (kind === 'bool') return r.bool();
    const v = int64(r.int64());
    return v === 0 ? undefined : v;
  }
  if (wire !== 2) throw new Error(`field ${field.name}: wire type ${wire}, expected length-delimited`);
  const bytes = r.bytes();
  if (kind === 'string') {
    const s = utf8.decode(bytes);
    return s === '' && !field.repeated ? undefined : s;
  }
  if (kind === 'bytes') return Buffer.from(bytes).toString('base64');
  if (kind === 'time') return decodeTime(bytes);
  if (kind === 'rawJson') return bytes.length === 0 ? undefined : JSON.parse(utf8.decode(bytes));
  if ('map' in kind) return decodeMap(bytes, kind.map);
  return decodeMessage(bytes, kind);
}

const magic = [0x6b, 0x38, 0x73, 0x00];

/**
 * The JSON object of a Kubernetes protobuf body (`k8s\0` + runtime.Unknown). Throws ApiError: 400 BadRequest when the
 * bytes are not a well-formed envelope or message, 415 UnsupportedMediaType for a kind not decoded here.
 */
export function decodeProtobufObject(body: Uint8Array): KubeObject {
  if (body.length < 4 || magic.some((b, i) => body[i] !== b)) {
    throw apiError(400, 'BadRequest', 'the protobuf body does not start with the Kubernetes envelope prefix "k8s\\x00"');
  }
  let envelope: Record<string, unknown>;
  try {
    envelope = decodeMessage(body.subarray(4), { 1: f('typeMeta', { 1: f('apiVersion', 'string'), 2: f('kind', 'string') }), 2: f('raw', 'bytes'), 3: f('contentEncoding', 'string') });
  } catch (err) {
    throw apiError(400, 'BadRequest', `unable to decode the protobuf envelope: ${(err as Error).message}`);
  }
  const typeMeta = (envelope.typeMeta ?? {}) as { apiVersion?: string; kind?: string };
  const apiVersion = typeMeta.apiVersion ?? '';
  const kind = typeMeta.kind ?? '';
  const schema = kinds[`${apiVersion}/${kind}`];
  if (!schema || envelope.contentEncoding !== undefined) {
    throw apiError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (protobuf is decoded only for ${protobufKinds().join(', ')})`);
  }
  try {
    const raw = typeof envelope.raw === 'string' ? Buffer.from(envelope.raw, 'base64') : new Uint8Array();
    const obj = decodeMessage(raw, schema);
    return { apiVersion, kind, ...obj, metadata: (obj.metadata ?? {}) as KubeObject['metadata'] };
  } catch (err) {
    throw apiError(400, 'BadRequest', `unable to decode the protobuf ${kind}: ${(err as Error).message}`);
  }
}
