/**
 * The pod mutating webhook (upstream's mpod.vpc.k8s.aws at /mutate-v1-pod): an AdmissionReview v1 for a Pod CREATE
 * is answered with a JSONPatch giving the first container `vpc.amazonaws.com/pod-eni: 1` in its limits and requests
 * when a SecurityGroupPolicy of its namespace selects it (by its labels or its service account's). The handler never
 * throws: a body that is not an AdmissionReview is a 400, a failure to read the policies denies the pod with the
 * reason (as upstream: "Failed to get Matching SGP for Pods"), anything else unexpected is allowed unchanged and logged.
 *
 * The same listener serves the pod validating webhook (upstream's vpod.vpc.k8s.aws at /validate-v1-pod, its
 * AnnotationValidator in webhooks/core/annotation_validation_webhook.go at aws/amazon-vpc-resource-controller-k8s
 * commit 84f2de0d0f229ce9581a17334158c319f3822295): ipamd wires whatever branch ENI the pod-eni annotation names, so
 * only the controller may write it — a pod CREATE carrying the annotation is denied whoever sends it (the controller
 * adds it by an update, never at create), and an UPDATE that sets, changes or removes it is denied unless the
 * request's user is the controller's own identity. Every other request is allowed.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { matchingGroups, podEniPatch, webhookPodKind, POD_ENI, type PodLike, type SecurityGroupPolicy } from './decide.js';
import type { WebhookTls } from './tls.js';

export const WEBHOOK_PATH = '/mutate-v1-pod';
export const VALIDATE_PATH = '/validate-v1-pod';
const MAX_BODY = 3 * 1024 * 1024;

export interface WebhookDeps {
  /** The policies of a namespace, read from the API server at each call (a policy made just before the pod counts). */
  policies(namespace: string): Promise<SecurityGroupPolicy[]>;
  /** A service account's labels; {} when it does not exist. */
  serviceAccountLabels(namespace: string, name: string): Promise<Record<string, string>>;
  log(level: 'info' | 'warn' | 'error', message: string): void;
  /** Counts answers by outcome (for the status line and tests). */
  counted?(outcome: 'mutated' | 'allowed' | 'denied' | 'bad-request'): void;
  /** The username the controller's own requests carry (the only one that may write the pod-eni annotation). */
  controllerUser: string;
  /** Counts the validating webhook's answers. */
  validated?(outcome: 'allowed' | 'denied'): void;
}

type Json = Record<string, unknown>;

export interface AdmissionAnswer {
  status: number;
  body: Json;
}

/**
 * An AdmissionReview body's request, and how to answer it in the review's own apiVersion; a body that is not one is
 * answered 400 here (both webhooks share it).
 */
function parseReview(bodyText: string): AdmissionAnswer | { request: Json; respond: (response: Json) => AdmissionAnswer } {
  let reviewIn: Json;
  try {
    reviewIn = JSON.parse(bodyText) as Json;
  } catch {
    return { status: 400, body: { message: 'the body is not JSON' } };
  }
  const request = reviewIn?.['request'] as Json | undefined;
  if (!request || typeof request !== 'object' || typeof request['uid'] !== 'string') return { status: 400, body: { message: 'the body is not an AdmissionReview with a request' } };
  const apiVersion = typeof reviewIn['apiVersion'] === 'string' ? reviewIn['apiVersion'] : 'admission.k8s.io/v1';
  return { request, respond: (response: Json) => ({ status: 200, body: { apiVersion, kind: 'AdmissionReview', response: { uid: request['uid'], ...response } } }) };
}

/** The answer to one request body (pure apart from the two reads in deps). */
export async function review(bodyText: string, deps: Omit<WebhookDeps, 'controllerUser' | 'validated'>): Promise<AdmissionAnswer> {
  const parsed = parseReview(bodyText);
  if ('status' in parsed) return parsed;
  const { request, respond } = parsed;
  const pod = request['object'] as PodLike | null;
  if (!pod || typeof pod !== 'object') return respond({ allowed: true });
  const namespace = pod.metadata?.namespace || (typeof request['namespace'] === 'string' ? request['namespace'] : '') || 'default';
  const kind = webhookPodKind(pod);
  if (kind.kind === 'skip') return respond({ allowed: true, status: { message: kind.reason } });
  let groups: string[];
  try {
    const policies = await deps.policies(namespace);
    const sa = pod.spec?.serviceAccountName || 'default';
    const needsSa = policies.some((p) => p.spec?.serviceAccountSelector);
    groups = matchingGroups(policies, { namespace, labels: pod.metadata?.labels ?? {} }, needsSa ? await deps.serviceAccountLabels(namespace, sa) : {});
  } catch (err) {
    const message = `Failed to get Matching SGP for Pods, rejecting event, error ${err instanceof Error ? err.message : String(err)}`;
    deps.log('warn', `webhook: pod ${namespace}/${pod.metadata?.name || '(generated name)'}: ${message}`);
    return respond({ allowed: false, status: { code: 403, message } });
  }
  if (groups.length === 0) return respond({ allowed: true, status: { message: "Pod didn't match any SGP" } });
  const patch = podEniPatch(pod);
  deps.log('info', `webhook: pod ${namespace}/${pod.metadata?.name || '(generated name)'} matches groups ${groups.join(', ')}: ${POD_ENI}: 1 on its first container`);
  return respond({ allowed: true, patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(patch)).toString('base64') });
}

/**
 * The validating webhook's answer to one request body (pure): upstream's words, "pod cannot be created with <key>
 * annotation" and "annotation is not set by vpc-resource-controller", as a 403 Forbidden status (controller-runtime's
 * admission.Denied). A missing annotation counts as the empty value, as upstream's map lookup does.
 */
export function validatePodAnnotation(bodyText: string, controllerUser: string): AdmissionAnswer {
  const parsed = parseReview(bodyText);
  if ('status' in parsed) return parsed;
  const { request, respond } = parsed;
  const deny = (message: string) => respond({ allowed: false, status: { code: 403, reason: 'Forbidden', message } });
  const annotation = (o: unknown): string | undefined => {
    const annotations = (o as PodLike | null)?.metadata?.annotations;
    return annotations && typeof annotations === 'object' ? annotations[POD_ENI] : undefined;
  };
  if (request['operation'] === 'CREATE') {
    return annotation(request['object']) === undefined ? respond({ allowed: true }) : deny(`pod cannot be created with ${POD_ENI} annotation`);
  }
  if (request['operation'] === 'UPDATE') {
    const changed = (annotation(request['object']) ?? '') !== (annotation(request['oldObject']) ?? '');
    const user = (request['userInfo'] as { username?: unknown } | undefined)?.username;
    if (changed && user !== controllerUser) return deny('annotation is not set by vpc-resource-controller');
  }
  return respond({ allowed: true });
}

export interface WebhookServer {
  /** https://host:port of the listener. */
  url: string;
  port: number;
  close(): Promise<void>;
}

function readBody(req: IncomingMessage): Promise<string | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        resolve(undefined);
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse, deps: WebhookDeps): Promise<void> {
  const send = (status: number, body: Json) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };
  const path = (req.url ?? '').split('?')[0];
  if (req.method === 'GET' && (path === '/healthz' || path === '/readyz')) return void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
  if (path !== WEBHOOK_PATH && path !== VALIDATE_PATH) return send(404, { message: `no webhook at ${path}` });
  if (req.method !== 'POST') return send(405, { message: 'POST an AdmissionReview' });
  if (path === VALIDATE_PATH) {
    const text = await readBody(req);
    if (text === undefined) return send(413, { message: `body over ${MAX_BODY} bytes` });
    const answer = validatePodAnnotation(text, deps.controllerUser);
    const response = answer.body['response'] as Json | undefined;
    if (response?.['allowed'] === false) {
      const pod = (JSON.parse(text) as { request?: { namespace?: string; name?: string; userInfo?: { username?: string } } }).request;
      deps.log('warn', `validating webhook: denied ${pod?.namespace ?? ''}/${pod?.name ?? ''} by ${pod?.userInfo?.username ?? '(unknown user)'}: ${String((response['status'] as Json)['message'])}`);
    }
    if (answer.status === 200) deps.validated?.(response?.['allowed'] === false ? 'denied' : 'allowed');
    return send(answer.status, answer.body);
  }
  const body = await readBody(req);
  if (body === undefined) {
    deps.counted?.('bad-request');
    return send(413, { message: `body over ${MAX_BODY} bytes` });
  }
  const answer = await review(body, deps);
  const response = answer.body['response'] as Json | undefined;
  deps.counted?.(answer.status !== 200 ? 'bad-request' : response?.['allowed'] === false ? 'denied' : response?.['patch'] ? 'mutated' : 'allowed');
  send(answer.status, answer.body);
}

export function startWebhookServer(listen: { host: string; port: number }, tls: WebhookTls, deps: WebhookDeps): Promise<WebhookServer> {
  const server: Server = createServer({ cert: tls.certPem, key: tls.keyPem }, (req, res) => {
    handle(req, res, deps).catch((err: unknown) => {
      // never out of the handler: log, and answer 500 if nothing went out yet
      deps.log('error', `webhook: ${err instanceof Error ? err.message : String(err)}`);
      if (!res.headersSent) res.writeHead(500, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: 'internal error' }));
    });
  });
  server.requestTimeout = 15_000;
  server.headersTimeout = 5_000;
  server.on('tlsClientError', () => undefined);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, listen.host, () => {
      server.off('error', reject);
      const { port } = server.address() as AddressInfo;
      const host = listen.host.includes(':') ? `[${listen.host}]` : listen.host;
      resolve({
        url: `https://${host}:${port}`,
        port,
        close: () => new Promise<void>((r) => {
          server.closeAllConnections();
          server.close(() => r());
        }),
      });
    });
  });
}
