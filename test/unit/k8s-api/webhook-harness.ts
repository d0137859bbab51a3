/**
 * A mutating admission webhook on loopback, as the VPC resource controller runs one: HTTPS with a certificate from
 * its own CA (made by @peculiar/x509 through the server's tls.ts), answering each AdmissionReview by path.
 */
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { createServingMaterial } from '../../../src/k8s-api/tls.js';
import type { KubeObject } from '../../../src/k8s-api/index.js';

export type Review = { apiVersion: string; kind: string; request: Record<string, unknown> & { uid: string; operation: string; object: KubeObject } };

export interface WebhookServer {
  /** https://127.0.0.1:PORT */
  base: string;
  /** The webhook CA, base64, as clientConfig.caBundle carries it. */
  caBundle: string;
  /** Every review received, in order, with its path and query. */
  received: Array<{ path: string; query: string; review: Review }>;
  close(): Promise<void>;
}

/** Answers a review for one path; `undefined` leaves the request unanswered (a webhook that hangs). */
export type Answer = (review: Review, path: string) => unknown;

/** A webhook response that applies the JSON patch ops, for the review's uid. */
export function patchResponse(review: Review, ops: unknown[]): unknown {
  return allowResponse(review, { patchType: 'JSONPatch', patch: Buffer.from(JSON.stringify(ops)).toString('base64') });
}

export function allowResponse(review: Review, extra: Record<string, unknown> = {}): unknown {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: true, ...extra } };
}

export function denyResponse(review: Review, status: Record<string, unknown> | undefined): unknown {
  return { apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response: { uid: review.request.uid, allowed: false, ...(status ? { status } : {}) } };
}

export async function startWebhookServer(answer: Answer): Promise<WebhookServer> {
  const material = await createServingMaterial(['127.0.0.1']);
  const received: WebhookServer['received'] = [];
  const server = createServer({ cert: material.certPem, key: material.keyPem }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'https://webhook');
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Review;
      received.push({ path: url.pathname, query: url.search, review });
      const body = answer(review, url.pathname);
      if (body === undefined) return;
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    caBundle: Buffer.from(material.caPem).toString('base64'),
    received,
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** Another CA's bundle: a webhook served under it is not trusted. */
export async function untrustedCaBundle(): Promise<string> {
  return Buffer.from((await createServingMaterial(['127.0.0.1'])).caPem).toString('base64');
}
