/**
 * The core (v1) kinds other than Pod and Event: Namespace, Node, ServiceAccount, Secret and ConfigMap — their
 * defaults, validation and columns as the real server has them.
 */
import { apiError, type Cause, type KubeObject, type ResourceType } from '../types.js';
import { at, column, list, orNone } from './columns.js';
import { defineKind } from './define.js';
import { decodeQuantities, validateCapacity } from './quantity.js';
import { dns1123Label, dns1123Subdomain, duplicate, forbidden, immutable, invalid, isRecord, notSupported, qualifiedName, required, tooLong, typeInvalid } from './fields.js';

type Obj = Record<string, unknown>;

function ensure(obj: Obj, key: string): Obj {
  const v = obj[key];
  if (isRecord(v)) return v;
  const made: Obj = {};
  obj[key] = made;
  return made;
}

const standardFinalizers = ['kubernetes', 'orphan', 'foregroundDeletion'];

export function namespaceType(): ResourceType {
  return defineKind({
    group: '',
    version: 'v1',
    kind: 'Namespace',
    plural: 'namespaces',
    namespaced: false,
    shortNames: ['ns'],
    verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'],
    subresources: ['status'],
    columns: [column('Status', 'string', (o) => String(at(o, 'status', 'phase') ?? ''), 0, 'The status of the namespace')],
    nameCheck: dns1123Label,
    defaults(obj) {
      const spec = ensure(obj, 'spec');
      if (spec.finalizers === undefined) spec.finalizers = ['kubernetes'];
      const status = ensure(obj, 'status');
      if (status.phase === undefined) status.phase = 'Active';
      // the server labels every namespace with its own name (since 1.21), whatever the client sent
      if (obj.metadata.name) obj.metadata.labels = { ...(obj.metadata.labels ?? {}), 'kubernetes.io/metadata.name': obj.metadata.name };
    },
    validate(obj) {
      const causes: Cause[] = [];
      list(obj, 'spec', 'finalizers').forEach((f) => {
        const s = String(f);
        const problems = qualifiedName(s);
        for (const msg of problems) causes.push(invalid('spec.finalizers', s, msg));
        if (problems.length === 0 && !s.includes('/') && !standardFinalizers.includes(s)) {
          causes.push(invalid('spec.finalizers', s, 'name is neither a standard finalizer name nor is it fully qualified'));
        }
      });
      const phase = at(obj, 'status', 'phase');
      if (phase !== undefined && phase !== 'Active' && phase !== 'Terminating') causes.push(notSupported('status.phase', phase, ['Active', 'Terminating']));
      return causes;
    },
  });
}

function nodeStatus(node: KubeObject): string {
  const ready = list(node, 'status', 'conditions').find((c) => at(c, 'type') === 'Ready');
  const parts = [ready === undefined ? 'Unknown' : at(ready, 'status') === 'True' ? 'Ready' : 'NotReady'];
  if (at(node, 'spec', 'unschedulable') === true) parts.push('SchedulingDisabled');
  return parts.join(',');
}

function nodeRoles(node: KubeObject): string {
  const roles = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata.labels ?? {})) {
    if (k.startsWith('node-role.kubernetes.io/') && k.length > 'node-role.kubernetes.io/'.length) roles.add(k.slice('node-role.kubernetes.io/'.length));
    else if (k === 'kubernetes.io/role' && v !== '') roles.add(v);
  }
  return roles.size ? [...roles].sort().join(',') : '<none>';
}

function nodeAddress(node: KubeObject, type: string): string {
  const a = list(node, 'status', 'addresses').find((x) => at(x, 'type') === type);
  return orNone(at(a, 'address'));
}

function orUnknown(v: unknown): string {
  return typeof v === 'string' && v !== '' ? v : '<unknown>';
}

const taintEffects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];

function validateNode(obj: KubeObject, old: KubeObject | undefined): Cause[] {
  const causes: Cause[] = [];
  const seen = new Set<string>();
  list(obj, 'spec', 'taints').forEach((t, i) => {
    const tf = `spec.taints[${i}]`;
    const key = at(t, 'key');
    if (typeof key !== 'string' || key === '') causes.push(required(`${tf}.key`));
    else for (const msg of qualifiedName(key)) causes.push(invalid(`${tf}.key`, key, msg));
    const effect = at(t, 'effect');
    if (effect === undefined || effect === '') causes.push(required(`${tf}.effect`));
    else if (!taintEffects.includes(String(effect))) causes.push(notSupported(`${tf}.effect`, effect, taintEffects));
    const id = `${String(key)}:${String(effect)}`;
    if (seen.has(id)) causes.push({ reason: 'FieldValueDuplicate', message: `Duplicate value: ${JSON.stringify(t)}: taints must be unique by key and effect pair`, field: tf });
    seen.add(id);
  });
  for (const which of ['capacity', 'allocatable']) {
    const m = at(obj, 'status', which);
    if (isRecord(m)) for (const k of Object.keys(m)) for (const msg of qualifiedName(k)) causes.push(invalid(`status.${which}[${k}]`, k, msg));
    causes.push(...validateCapacity(m, `status.${which}`));
  }
  if (old) {
    for (const key of ['podCIDR', 'providerID']) {
      const was = at(old, 'spec', key);
      const now = at(obj, 'spec', key);
      if (typeof was === 'string' && was !== '' && now !== was) causes.push(forbidden(`spec.${key}`, `node updates may not change ${key} except from "" to valid`));
    }
  }
  return causes;
}

export function nodeType(): ResourceType {
  return defineKind({
    group: '',
    version: 'v1',
    kind: 'Node',
    plural: 'nodes',
    namespaced: false,
    shortNames: ['no'],
    subresources: ['status'],
    columns: [
      column('Status', 'string', nodeStatus, 0, 'The status of the node'),
      column('Roles', 'string', nodeRoles, 0, 'The roles of the node'),
      column('Version', 'string', (o) => String(at(o, 'status', 'nodeInfo', 'kubeletVersion') ?? ''), 0, 'Kubelet Version reported by the node.'),
      column('Internal-IP', 'string', (o) => nodeAddress(o, 'InternalIP'), 1, 'List of internal IPs for the node.'),
      column('External-IP', 'string', (o) => nodeAddress(o, 'ExternalIP'), 1, 'List of external IPs for the node.'),
      column('OS-Image', 'string', (o) => orUnknown(at(o, 'status', 'nodeInfo', 'osImage')), 1, 'OS image reported by the node.'),
      column('Kernel-Version', 'string', (o) => orUnknown(at(o, 'status', 'nodeInfo', 'kernelVersion')), 1, 'Kernel version reported by the node.'),
      column('Container-Runtime', 'string', (o) => orUnknown(at(o, 'status', 'nodeInfo', 'containerRuntimeVersion')), 1, 'Container runtime version reported by the node.'),
    ],
    ageAt: 2,
    nameCheck: dns1123Subdomain,
    defaults(obj) {
      ensure(obj, 'spec');
      const status = ensure(obj, 'status');
      decodeQuantities(status.capacity, 'Node');
      decodeQuantities(status.allocatable, 'Node');
      // SetDefaults_NodeStatus: allocatable is the capacity until the kubelet says otherwise
      if (status.allocatable === undefined && isRecord(status.capacity)) status.allocatable = { ...status.capacity };
      const endpoints = ensure(status, 'daemonEndpoints');
      const kubelet = ensure(endpoints, 'kubeletEndpoint');
      if (kubelet.Port === undefined) kubelet.Port = 0;
      const info = ensure(status, 'nodeInfo');
      for (const k of ['machineID', 'systemUUID', 'bootID', 'kernelVersion', 'osImage', 'containerRuntimeVersion', 'kubeletVersion', 'kubeProxyVersion', 'operatingSystem', 'architecture']) {
        if (info[k] === undefined) info[k] = '';
      }
    },
    validate: validateNode,
  });
}

export function serviceAccountType(): ResourceType {
  return defineKind({
    group: '',
    version: 'v1',
    kind: 'ServiceAccount',
    plural: 'serviceaccounts',
    namespaced: true,
    shortNames: ['sa'],
    subresources: ['token'],
    columns: [column('Secrets', 'integer', (o) => list(o, 'secrets').length, 0, 'Secrets is a list of the secrets in the same namespace that pods running using this ServiceAccount are allowed to use.')],
    nameCheck: dns1123Subdomain,
  });
}

const configKeyRe = /^[-._a-zA-Z0-9]+$/;
const configKeyMsg =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

/** validation.IsConfigMapKey. */
function configKey(key: string): string[] {
  const errs: string[] = [];
  if (key.length > 253) errs.push('must be no more than 253 characters');
  if (!configKeyRe.test(key)) errs.push(configKeyMsg);
  if (key === '.') errs.push("must not be '.'");
  else if (key === '..') errs.push("must not be '..'");
  else if (key.startsWith('..')) errs.push("must not start with '..'");
  return errs;
}

const maxSecretSize = 1024 * 1024;

/**
 * Where Go's base64 decoder (StdEncoding, which skips CR and LF) stops on this text, or -1 when it decodes; the server
 * answers such a Secret with 400 "illegal base64 data at input byte N", as its JSON decoding does.
 */
export function base64ErrorAt(text: string): number {
  const s = text.replace(/[\r\n]/g, '');
  const valid = /^[A-Za-z0-9+/]$/;
  let i = 0;
  for (; i < s.length; i++) if (!valid.test(s[i]!)) break;
  const dataEnd = i;
  if (dataEnd === s.length) return s.length % 4 === 0 ? -1 : dataEnd - (dataEnd % 4);
  // padding: only at the end, completing the last quantum
  const pad = s.slice(dataEnd);
  const rem = dataEnd % 4;
  if (rem < 2) return dataEnd;
  const wantPad = 4 - rem;
  if (/^=+$/.test(pad) && pad.length === wantPad) return -1;
  for (let j = 0; j < pad.length; j++) if (pad[j] !== '=' || j >= wantPad) return dataEnd + j;
  return s.length;
}

function secretBytes(v: string): number {
  return Buffer.from(v, 'base64').length;
}

function defaultSecret(obj: KubeObject): void {
  if (obj.type === undefined || obj.type === '') obj.type = 'Opaque';
  // stringData is write-only: it is merged into data (base64) and never stored
  if (isRecord(obj.stringData)) {
    const data = ensure(obj, 'data');
    for (const [k, v] of Object.entries(obj.stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  }
  delete obj.stringData;
  if (obj.data !== undefined && isRecord(obj.data)) {
    for (const v of Object.values(obj.data)) {
      if (typeof v !== 'string') continue;
      const at = base64ErrorAt(v);
      if (at >= 0) throw apiError(400, 'BadRequest', `Secret in version "v1" cannot be handled as a Secret: illegal base64 data at input byte ${at}`);
    }
  }
}

/** The keys' syntax, into causes; returns the values' size in bytes (base64-decoded for `base64` maps). */
function validateDataKeys(data: unknown, field: string, base64: boolean, causes: Cause[]): number {
  if (data === undefined || data === null) return 0;
  if (!isRecord(data)) {
    causes.push(typeInvalid(field, data, 'must be a map of strings'));
    return 0;
  }
  let size = 0;
  for (const [k, v] of Object.entries(data)) {
    for (const msg of configKey(k)) causes.push(invalid(`${field}[${k}]`, k, msg));
    if (typeof v !== 'string') causes.push(typeInvalid(`${field}[${k}]`, v, 'must be a string'));
    else size += base64 ? secretBytes(v) : Buffer.byteLength(v);
  }
  return size;
}

function validateSecret(obj: KubeObject, old: KubeObject | undefined): Cause[] {
  const causes: Cause[] = [];
  const size = validateDataKeys(obj.data, 'data', true, causes);
  if (size > maxSecretSize) causes.push(tooLong('data', maxSecretSize));
  const data = isRecord(obj.data) ? obj.data : {};
  switch (obj.type) {
    case 'kubernetes.io/service-account-token':
      if (!obj.metadata.annotations?.['kubernetes.io/service-account.name']) {
        causes.push(required('metadata.annotations[kubernetes.io/service-account.name]'));
      }
      break;
    case 'kubernetes.io/dockerconfigjson':
      if (data['.dockerconfigjson'] === undefined) causes.push(required('data[.dockerconfigjson]'));
      break;
    case 'kubernetes.io/tls':
      for (const k of ['tls.crt', 'tls.key']) if (data[k] === undefined) causes.push(required(`data[${k}]`));
      break;
    case 'kubernetes.io/basic-auth':
      if (data.username === undefined && data.password === undefined) causes.push(required('data[username]'));
      break;
    case 'kubernetes.io/ssh-auth':
      if (data['ssh-privatekey'] === undefined) causes.push(required('data[ssh-privatekey]'));
      break;
  }
  if (old) {
    if (old.type !== obj.type) causes.push(immutable('type', obj.type));
    causes.push(...immutableData(obj, old, ['data']));
  }
  return causes;
}

function immutableData(obj: KubeObject, old: KubeObject, fields: string[]): Cause[] {
  if (old.immutable !== true) return [];
  const causes: Cause[] = [];
  if (obj.immutable !== true) causes.push(forbidden('immutable', 'field is immutable when `immutable` is set'));
  for (const f of fields) {
    if (JSON.stringify(obj[f] ?? {}) !== JSON.stringify(old[f] ?? {})) causes.push(forbidden(f, 'field is immutable when `immutable` is set'));
  }
  return causes;
}

export function secretType(): ResourceType {
  return defineKind({
    group: '',
    version: 'v1',
    kind: 'Secret',
    plural: 'secrets',
    namespaced: true,
    columns: [
      column('Type', 'string', (o) => String(o.type ?? ''), 0, 'Used to facilitate programmatic handling of secret data.'),
      column('Data', 'integer', (o) => (isRecord(o.data) ? Object.keys(o.data).length : 0), 0, 'Data contains the secret data.'),
    ],
    nameCheck: dns1123Subdomain,
    defaults: defaultSecret,
    validate: validateSecret,
  });
}

export function configMapType(): ResourceType {
  return defineKind({
    group: '',
    version: 'v1',
    kind: 'ConfigMap',
    plural: 'configmaps',
    namespaced: true,
    shortNames: ['cm'],
    columns: [
      column('Data', 'integer', (o) => (isRecord(o.data) ? Object.keys(o.data).length : 0) + (isRecord(o.binaryData) ? Object.keys(o.binaryData).length : 0), 0, 'Data contains the configuration data.'),
    ],
    nameCheck: dns1123Subdomain,
    validate(obj, old) {
      const causes: Cause[] = [];
      let size = validateDataKeys(obj.data, 'data', false, causes);
      size += validateDataKeys(obj.binaryData, 'binaryData', true, causes);
      if (isRecord(obj.data) && isRecord(obj.binaryData)) {
        for (const k of Object.keys(obj.binaryData)) if (Object.hasOwn(obj.data, k)) causes.push(duplicate(`data[${k}]`, k));
      }
      if (size > maxSecretSize) causes.push(tooLong('', maxSecretSize));
      if (old) causes.push(...immutableData(obj, old, ['data', 'binaryData']));
      return causes;
    },
  });
}

