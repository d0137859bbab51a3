/**
 * Lease (coordination.k8s.io/v1), MutatingWebhookConfiguration and ValidatingWebhookConfiguration
 * (admissionregistration.k8s.io/v1): their defaults, validation and columns. A validating webhook is a mutating one
 * without reinvocationPolicy (the API server neither defaults nor accepts it there).
 */
import type { Cause, ResourceType } from '../types.js';
import { at, column, list } from './columns.js';
import { defineKind } from './define.js';
import { dns1123Subdomain, duplicate, invalid, isRecord, notSupported, required } from './fields.js';

type Obj = Record<string, unknown>;

export function leaseType(): ResourceType {
  return defineKind({
    group: 'coordination.k8s.io',
    version: 'v1',
    kind: 'Lease',
    plural: 'leases',
    namespaced: true,
    columns: [column('Holder', 'string', (o) => String(at(o, 'spec', 'holderIdentity') ?? ''), 0, 'holderIdentity contains the identity of the holder of a current lease.')],
    nameCheck: dns1123Subdomain,
    validate(obj) {
      const causes: Cause[] = [];
      const d = at(obj, 'spec', 'leaseDurationSeconds');
      if (typeof d === 'number' && d <= 0) causes.push(invalid('spec.leaseDurationSeconds', d, 'must be greater than 0'));
      const t = at(obj, 'spec', 'leaseTransitions');
      if (typeof t === 'number' && t < 0) causes.push(invalid('spec.leaseTransitions', t, 'must be greater than or equal to 0'));
      return causes;
    },
  });
}

function setIfUnset(o: Obj, key: string, value: unknown): void {
  if (o[key] === undefined || o[key] === null) o[key] = value;
}

function defaultWebhook(w: Obj, mutating = true): void {
  setIfUnset(w, 'failurePolicy', 'Fail');
  setIfUnset(w, 'matchPolicy', 'Equivalent');
  setIfUnset(w, 'namespaceSelector', {});
  setIfUnset(w, 'objectSelector', {});
  if (mutating) setIfUnset(w, 'reinvocationPolicy', 'Never');
  setIfUnset(w, 'timeoutSeconds', 10);
  for (const r of list(w, 'rules')) if (isRecord(r)) setIfUnset(r, 'scope', '*');
  const service = at(w, 'clientConfig', 'service');
  if (isRecord(service)) setIfUnset(service, 'port', 443);
}

function validateWebhooks(webhooks: unknown[], mutating = true): Cause[] {
  const causes: Cause[] = [];
  const names = new Set<string>();
  webhooks.forEach((raw, i) => {
    const wf = `webhooks[${i}]`;
    const w = isRecord(raw) ? raw : {};
    const name = typeof w.name === 'string' ? w.name : '';
    if (name === '') causes.push(required(`${wf}.name`));
    else {
      for (const msg of dns1123Subdomain(name)) causes.push(invalid(`${wf}.name`, name, msg));
      if (name.split('.').length < 3) causes.push(invalid(`${wf}.name`, name, 'should be a domain with at least three segments separated by dots'));
      if (names.has(name)) causes.push(duplicate(`${wf}.name`, name));
      names.add(name);
    }
    const versions = list(w, 'admissionReviewVersions');
    if (versions.length === 0) causes.push(required(`${wf}.admissionReviewVersions`, 'must specify one of v1, v1beta1'));
    else if (!versions.some((v) => v === 'v1' || v === 'v1beta1')) causes.push(invalid(`${wf}.admissionReviewVersions`, versions, 'must include at least one of v1, v1beta1'));
    if (w.sideEffects === undefined) causes.push(required(`${wf}.sideEffects`, 'must specify one of None, NoneOnDryRun'));
    else if (w.sideEffects !== 'None' && w.sideEffects !== 'NoneOnDryRun') causes.push(notSupported(`${wf}.sideEffects`, w.sideEffects, ['None', 'NoneOnDryRun']));
    for (const [key, values] of [['failurePolicy', ['Fail', 'Ignore']], ['matchPolicy', ['Equivalent', 'Exact']], ['reinvocationPolicy', ['IfNeeded', 'Never']]] as const) {
      // the v1 ValidatingWebhook has no reinvocationPolicy field: the server drops it as an unknown field
      if (key === 'reinvocationPolicy' && !mutating) continue;
      if (w[key] !== undefined && !values.includes(String(w[key]) as never)) causes.push(notSupported(`${wf}.${key}`, w[key], [...values]));
    }
    const timeout = w.timeoutSeconds;
    if (typeof timeout === 'number' && (timeout < 1 || timeout > 30)) causes.push(invalid(`${wf}.timeoutSeconds`, timeout, 'the timeout value must be between 1 and 30 seconds'));
    const cc = isRecord(w.clientConfig) ? w.clientConfig : {};
    const hasUrl = typeof cc.url === 'string' && cc.url !== '';
    const hasService = isRecord(cc.service);
    if (hasUrl === hasService) causes.push(required(`${wf}.clientConfig`, 'exactly one of url or service is required'));
    else if (hasUrl) {
      const url = cc.url as string;
      let parsed: URL | undefined;
      try {
        parsed = new URL(url);
      } catch {
        causes.push(invalid(`${wf}.clientConfig.url`, url, 'host must be specified'));
      }
      if (parsed && parsed.protocol !== 'https:') causes.push(invalid(`${wf}.clientConfig.url`, url, "'https' is the only allowed URL scheme"));
      if (parsed && (parsed.hash !== '' || url.includes('#'))) causes.push(invalid(`${wf}.clientConfig.url`, url, 'fragments are not permitted in the URL'));
      if (parsed && parsed.search !== '') causes.push(invalid(`${wf}.clientConfig.url`, url, 'query parameters are not permitted in the URL'));
    }
    list(w, 'rules').forEach((r, j) => {
      const rf = `${wf}.rules[${j}]`;
      for (const key of ['operations', 'apiGroups', 'apiVersions', 'resources']) {
        if (list(r, key).length === 0) causes.push(required(`${rf}.${key}`));
      }
      const ops = ['*', 'CONNECT', 'CREATE', 'DELETE', 'UPDATE'];
      for (const op of list(r, 'operations')) if (!ops.includes(String(op))) causes.push(notSupported(`${rf}.operations`, op, ops));
      const scope = at(r, 'scope');
      if (scope !== undefined && !['*', 'Cluster', 'Namespaced'].includes(String(scope))) causes.push(notSupported(`${rf}.scope`, scope, ['*', 'Cluster', 'Namespaced']));
    });
  });
  return causes;
}

export function mutatingWebhookConfigurationType(): ResourceType {
  return defineKind({
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'MutatingWebhookConfiguration',
    plural: 'mutatingwebhookconfigurations',
    namespaced: false,
    categories: ['api-extensions'],
    columns: [column('Webhooks', 'integer', (o) => list(o, 'webhooks').length, 0, 'Webhooks indicates the number of webhooks in this configuration.')],
    nameCheck: dns1123Subdomain,
    defaults(obj) {
      for (const w of list(obj, 'webhooks')) if (isRecord(w)) defaultWebhook(w);
    },
    validate: (obj) => validateWebhooks(list(obj, 'webhooks')),
  });
}

export function validatingWebhookConfigurationType(): ResourceType {
  return defineKind({
    group: 'admissionregistration.k8s.io',
    version: 'v1',
    kind: 'ValidatingWebhookConfiguration',
    plural: 'validatingwebhookconfigurations',
    namespaced: false,
    categories: ['api-extensions'],
    columns: [column('Webhooks', 'integer', (o) => list(o, 'webhooks').length, 0, 'Webhooks indicates the number of webhooks in this configuration.')],
    nameCheck: dns1123Subdomain,
    defaults(obj) {
      for (const w of list(obj, 'webhooks')) {
        if (!isRecord(w)) continue;
        delete w['reinvocationPolicy'];
        defaultWebhook(w, false);
      }
    },
    validate: (obj) => validateWebhooks(list(obj, 'webhooks'), false),
  });
}
