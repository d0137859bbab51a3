/**
 * Mutating admission webhooks (admissionregistration.k8s.io/v1 MutatingWebhookConfiguration), as the API server
 * calls them: the webhooks whose rules, namespaceSelector and objectSelector match the request are called in order
 * (configurations by name, then webhooks as listed) with an AdmissionReview over HTTPS (`clientConfig.url`, trusting
 * `caBundle`), and their JSONPatch responses applied one after the other; `allowed: false` refuses the request with
 * the webhook's status; a webhook that cannot be called or answers nonsense refuses it too (failurePolicy Fail, the
 * default) or is skipped (Ignore). Webhooks with reinvocationPolicy IfNeeded are called once more when a later
 * webhook changed the object. Not served: `clientConfig.service` (no services here; such a webhook counts as
 * failing to be called) and matchConditions (CEL). Only ApiErrors leave this module.
 *
 * Validating admission webhooks (ValidatingWebhookConfiguration) are matched the same way and called after mutation
 * (and after the object's own validation) on the final object, all of them at once as kube-apiserver does; they
 * cannot change the object (a patch in their answer is ignored), and any `allowed: false` refuses the request with
 * `admission webhook "<name>" denied the request: <message>` (the webhook's status code, 403 when it says so). The
 * failurePolicy applies as for mutating webhooks.
 */
import { randomUUID } from 'node:crypto';
import { request as httpsRequest } from 'node:https';
import { isRecord } from './builtin/fields.js';
import { applyJsonPatch } from './patch/index.js';
import { labelSelectorMatches } from './rbac.js';
import { apiError, ApiError, type Identity, type KubeObject, type ResourceType } from './types.js';

export type AdmissionOperation = 'CREATE' | 'UPDATE' | 'DELETE';

export interface AdmissionRequest {
  operation: AdmissionOperation;
  type: ResourceType;
  object: KubeObject;
  oldObject?: KubeObject;
  namespace: string;
  userInfo: Identity;
  /** The labels of the request's namespace (for namespaceSelector); of the object itself when it is a Namespace. */
  namespaceLabels: Record<string, string>;
  /** A `?dryRun=All` request: webhooks are told so, and one with side effects refuses it (400). */
  dryRun?: boolean;
}

type Json = Record<string, unknown>;

function strings(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((item): item is string => typeof item === 'string') : [];
}

/** A webhook of a configuration, with what deciding and calling it needs. */
interface Webhook {
  name: string;
  raw: Json;
}

const DEFAULT_TIMEOUT_SECONDS = 10;
const MAX_TIMEOUT_SECONDS = 30;
const MAX_RESPONSE_BYTES = 3 * 1024 * 1024;

/**
 * Runs the mutating webhooks of configs on the request; resolves to the object as the webhooks left it (the request's
 * own object when none matched), or rejects with an ApiError (403-or-whatever the webhook said when it denied, 500
 * InternalError when a Fail webhook could not be called or its patch did not apply).
 */
export async function admitMutating(configs: KubeObject[], req: AdmissionRequest): Promise<KubeObject> {
  try {
    return await runWebhooks(configs, req);
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw internalError(error instanceof Error ? error.message : String(error));
  }
}

async function runWebhooks(configs: KubeObject[], req: AdmissionRequest): Promise<KubeObject> {
  const webhooks = orderedWebhooks(configs);
  let object = req.object;
  const called: Array<{ webhook: Webhook; after: string }> = [];
  for (const webhook of webhooks) {
    if (!webhookMatches(webhook.raw, req, object)) continue;
    object = await callWebhook(webhook, req, object);
    called.push({ webhook, after: JSON.stringify(object) });
  }
  // reinvocation: an IfNeeded webhook runs once more when the object changed after its call
  const final = JSON.stringify(object);
  for (const { webhook, after } of called) {
    if (webhook.raw['reinvocationPolicy'] !== 'IfNeeded' || after === final) continue;
    if (webhookMatches(webhook.raw, req, object)) object = await callWebhook(webhook, req, object);
  }
  return object;
}

/**
 * Runs the validating webhooks of configs on the request's (final) object; resolves when every matching webhook allowed
 * it (or an Ignore one could not be called), rejects with the denial or the failure of the first webhook, in order
 * (configurations by name, then webhooks as listed), that refused.
 */
export async function admitValidating(configs: KubeObject[], req: AdmissionRequest): Promise<void> {
  const webhooks = orderedWebhooks(configs).filter((webhook) => webhookMatches(webhook.raw, req, req.object));
  const outcomes = await Promise.all(webhooks.map(async (webhook): Promise<ApiError | undefined> => {
    try {
      await validate(webhook, req);
      return undefined;
    } catch (error) {
      return error instanceof ApiError ? error : internalError(error instanceof Error ? error.message : String(error));
    }
  }));
  const refusal = outcomes.find((outcome) => outcome !== undefined);
  if (refusal) throw refusal;
}

function orderedWebhooks(configs: KubeObject[]): Webhook[] {
  return [...configs]
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''))
    .flatMap((config) => (Array.isArray(config['webhooks']) ? (config['webhooks'] as unknown[]) : []))
    .filter(isRecord)
    .map((raw): Webhook => ({ name: typeof raw['name'] === 'string' ? raw['name'] : '', raw }));
}

async function validate(webhook: Webhook, req: AdmissionRequest): Promise<void> {
  if (req.dryRun && webhook.raw['sideEffects'] !== 'None' && webhook.raw['sideEffects'] !== 'NoneOnDryRun') {
    throw apiError(400, 'BadRequest', `admission webhook ${JSON.stringify(webhook.name)} does not support dry run`);
  }
  let response: Json;
  try {
    response = await reviewRequest(webhook, req, req.object);
  } catch (error) {
    if (webhook.raw['failurePolicy'] === 'Ignore') return;
    throw internalError(`failed calling webhook ${JSON.stringify(webhook.name)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (response['allowed'] !== true) throw deniedBy(webhook.name, response['status']);
}

/** rules (operations, apiGroups, apiVersions, resources, scope), namespaceSelector and objectSelector. */
export function webhookMatches(webhook: Json, req: AdmissionRequest, object: KubeObject): boolean {
  const rules = Array.isArray(webhook['rules']) ? (webhook['rules'] as unknown[]).filter(isRecord) : [];
  if (!rules.some((rule) => ruleMatches(rule, req))) return false;
  const isNamespace = req.type.group === '' && req.type.plural === 'namespaces';
  if ((req.type.namespaced || isNamespace) && webhook['namespaceSelector'] !== undefined && webhook['namespaceSelector'] !== null) {
    const labels = isNamespace ? (object.metadata.labels ?? {}) : req.namespaceLabels;
    if (!labelSelectorMatches(webhook['namespaceSelector'], labels)) return false;
  }
  const objectSelector = webhook['objectSelector'];
  if (objectSelector !== undefined && objectSelector !== null) {
    const candidates = [req.operation === 'DELETE' ? undefined : object, req.oldObject].filter((o): o is KubeObject => o !== undefined);
    if (!candidates.some((candidate) => labelSelectorMatches(objectSelector, candidate.metadata.labels ?? {}))) return false;
  }
  return true;
}

function ruleMatches(rule: Json, req: AdmissionRequest): boolean {
  const has = (key: string, value: string) => {
    const values = strings(rule[key]);
    return values.includes('*') || values.includes(value);
  };
  if (!has('operations', req.operation) || !has('apiGroups', req.type.group) || !has('apiVersions', req.type.version)) return false;
  const resources = strings(rule['resources']);
  if (!resources.some((resource) => resource === '*' || resource === req.type.plural || resource === `${req.type.plural}/*`)) return false;
  const scope = typeof rule['scope'] === 'string' ? rule['scope'] : '*';
  if (scope === 'Cluster') return !req.type.namespaced;
  if (scope === 'Namespaced') return req.type.namespaced;
  return true;
}

async function callWebhook(webhook: Webhook, req: AdmissionRequest, object: KubeObject): Promise<KubeObject> {
  if (req.dryRun && webhook.raw['sideEffects'] !== 'None' && webhook.raw['sideEffects'] !== 'NoneOnDryRun') {
    throw apiError(400, 'BadRequest', `admission webhook ${JSON.stringify(webhook.name)} does not support dry run`);
  }
  const failurePolicy = webhook.raw['failurePolicy'] === 'Ignore' ? 'Ignore' : 'Fail';
  let response: Json;
  try {
    response = await reviewRequest(webhook, req, object);
  } catch (error) {
    if (failurePolicy === 'Ignore') return object;
    throw internalError(`failed calling webhook ${JSON.stringify(webhook.name)}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (response['allowed'] !== true) throw deniedBy(webhook.name, response['status']);
  if (response['patch'] === undefined || response['patch'] === null || req.operation === 'DELETE') return object;
  if (response['patchType'] !== 'JSONPatch') {
    throw internalError(`received invalid webhook response: expected patchType JSONPatch, got ${JSON.stringify(response['patchType'] ?? '')}`);
  }
  let ops: unknown;
  try {
    ops = JSON.parse(Buffer.from(String(response['patch']), 'base64').toString('utf8'));
  } catch (error) {
    throw internalError(`received invalid webhook response: the patch is not base64 JSON: ${(error as Error).message}`);
  }
  let patched: unknown;
  try {
    patched = applyJsonPatch(object, ops);
  } catch (error) {
    throw internalError(`JSON patch of webhook ${JSON.stringify(webhook.name)} failed: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (!isRecord(patched) || !isRecord(patched['metadata'])) throw internalError(`the patch of webhook ${JSON.stringify(webhook.name)} left no object`);
  return patched as KubeObject;
}

/** Sends the AdmissionReview and returns its checked `response`; errors are the reasons a call failed. */
async function reviewRequest(webhook: Webhook, req: AdmissionRequest, object: KubeObject): Promise<Json> {
  const versions = strings(webhook.raw['admissionReviewVersions']);
  const version = versions.includes('v1') ? 'v1' : versions.includes('v1beta1') ? 'v1beta1' : undefined;
  if (!version) throw new Error(`webhook does not accept v1 or v1beta1 AdmissionReview`);
  const clientConfig = isRecord(webhook.raw['clientConfig']) ? webhook.raw['clientConfig'] : {};
  const url = typeof clientConfig['url'] === 'string' ? clientConfig['url'] : undefined;
  if (!url) throw new Error('failed to call webhook: clientConfig.service is not served here, only clientConfig.url');
  const rawTimeout = webhook.raw['timeoutSeconds'];
  const timeoutSeconds = typeof rawTimeout === 'number' && rawTimeout >= 1 ? Math.min(rawTimeout, MAX_TIMEOUT_SECONDS) : DEFAULT_TIMEOUT_SECONDS;
  const uid = randomUUID();
  const review = admissionReview(version, uid, req, object);
  const target = new URL(url);
  target.searchParams.set('timeout', `${timeoutSeconds}s`);
  const ca = typeof clientConfig['caBundle'] === 'string' && clientConfig['caBundle'] ? Buffer.from(clientConfig['caBundle'], 'base64').toString('utf8') : undefined;
  const answer = await postJson(target, JSON.stringify(review), ca, timeoutSeconds * 1000);
  const response = isRecord(answer) && isRecord(answer['response']) ? answer['response'] : undefined;
  if (!isRecord(answer) || !response) throw new Error('received invalid webhook response: the body is not an AdmissionReview with a response');
  if (version === 'v1') {
    if (answer['apiVersion'] !== 'admission.k8s.io/v1' || answer['kind'] !== 'AdmissionReview') {
      throw new Error(`received invalid webhook response: expected admission.k8s.io/v1, Kind=AdmissionReview, got ${JSON.stringify(answer['apiVersion'] ?? '')}, Kind=${JSON.stringify(answer['kind'] ?? '')}`);
    }
    if (response['uid'] !== uid) throw new Error(`received invalid webhook response: expected response.uid=${JSON.stringify(uid)}, got ${JSON.stringify(response['uid'] ?? '')}`);
  }
  return response;
}

function admissionReview(version: string, uid: string, req: AdmissionRequest, object: KubeObject): Json {
  const { group, version: apiVersion, kind, plural } = req.type;
  const operationOptions: Record<AdmissionOperation, string> = { CREATE: 'CreateOptions', UPDATE: 'UpdateOptions', DELETE: 'DeleteOptions' };
  return {
    apiVersion: `admission.k8s.io/${version}`,
    kind: 'AdmissionReview',
    request: {
      uid,
      kind: { group, version: apiVersion, kind },
      resource: { group, version: apiVersion, resource: plural },
      requestKind: { group, version: apiVersion, kind },
      requestResource: { group, version: apiVersion, resource: plural },
      name: object.metadata.name ?? '',
      ...(req.namespace ? { namespace: req.namespace } : {}),
      operation: req.operation,
      userInfo: { username: req.userInfo.user, ...(req.userInfo.uid ? { uid: req.userInfo.uid } : {}), groups: req.userInfo.groups },
      object: req.operation === 'DELETE' ? null : object,
      oldObject: req.operation === 'DELETE' ? (req.oldObject ?? object) : (req.oldObject ?? null),
      dryRun: req.dryRun === true,
      options: { kind: operationOptions[req.operation], apiVersion: 'meta.k8s.io/v1' },
    },
  };
}

/** POSTs JSON over HTTPS and resolves to the decoded answer; rejects with the call's failure worded as Go's client does. */
function postJson(url: URL, body: string, ca: string | undefined, timeoutMs: number): Promise<unknown> {
  const shown = `Post ${JSON.stringify(url.toString())}`;
  return new Promise((resolve, reject) => {
    if (url.protocol !== 'https:') {
      reject(new Error(`failed to call webhook: ${shown}: webhooks are called over https only`));
      return;
    }
    let settled = false;
    const finish = (error: Error | undefined, value?: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (error) reject(error);
      else resolve(value);
    };
    const request = httpsRequest(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'application/json, */*', 'content-length': Buffer.byteLength(body) },
        ...(ca ? { ca } : {}),
      },
      (response) => {
        const chunks: Buffer[] = [];
        let size = 0;
        response.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_RESPONSE_BYTES) {
            request.destroy();
            finish(new Error(`received invalid webhook response: the response is larger than ${MAX_RESPONSE_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', (error) => finish(new Error(`failed to call webhook: ${shown}: ${error.message}`)));
        response.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          const status = response.statusCode ?? 0;
          if (status < 200 || status >= 300) {
            finish(new Error(`failed to call webhook: an error on the server (${JSON.stringify(text.trim().slice(0, 200))}) has prevented the request from succeeding`));
            return;
          }
          try {
            finish(undefined, JSON.parse(text));
          } catch (error) {
            finish(new Error(`received invalid webhook response: ${(error as Error).message}`));
          }
        });
      },
    );
    const timer = setTimeout(() => {
      finish(new Error(`failed to call webhook: ${shown}: context deadline exceeded`));
      request.destroy();
    }, timeoutMs);
    request.on('error', (error) => finish(new Error(`failed to call webhook: ${shown}: ${error.message}`)));
    request.end(body);
  });
}

/** webhookerrors.ToStatusErr: the webhook's status, at least 400, its message prefixed with who denied it. */
function deniedBy(name: string, rawStatus: unknown): ApiError {
  const status = isRecord(rawStatus) ? rawStatus : {};
  const who = `admission webhook ${JSON.stringify(name)} denied the request`;
  const message = typeof status['message'] === 'string' && status['message'] ? status['message'] : '';
  const reason = typeof status['reason'] === 'string' ? status['reason'] : '';
  const code = typeof status['code'] === 'number' && status['code'] >= 400 && status['code'] <= 599 ? status['code'] : 400;
  const text = message ? `${who}: ${message}` : reason ? `${who}: ${reason}` : `${who} without explanation`;
  const details = isRecord(status['details']) ? (status['details'] as ApiError['status']['details']) : undefined;
  return apiError(code, reason, text, details);
}

function internalError(message: string): ApiError {
  return apiError(500, 'InternalError', `Internal error occurred: ${message}`, { causes: [{ reason: '', message, field: '' }] });
}
