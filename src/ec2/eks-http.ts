/**
 * The EKS API on the emulator's port (REST-JSON, as @aws-sdk/client-eks and the AWS CLI send it): each request is
 * routed by method and path to an action of eks-actions.ts, run in one state transaction after settling the EKS work
 * that is due, and answered with JSON or EKS's error shape (`x-amzn-errortype` and `{message, clusterName, …}`), which
 * the SDK maps to its exception classes. The same `answerEks` serves the HTTP listener and the in-process client.
 * `GET /_podnet/eks` serves the clusters as the lab reads them.
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { PodnetError, parseSettings, sendJson, type RequestTarget } from '../lib/index.js';
import { formatAddress, formatCidr, isAddressText, isCidrText, parseAddress, parseCidr } from '../net/index.js';
import { isRegionName, type EksCluster } from '../vpc/index.js';
import { EKS_NAME, EKS_NAME_MAX, eksActions, EksError, type EksActionName, type EksOptions, type EksRequest } from './eks-actions.js';
import { eksClusters, ensureEksSchema, settleEks } from './eks-state.js';
import { Ec2Error } from './protocol.js';
import { BodyTooLarge, MAX_BODY_BYTES, readBody } from './server.js';
import type { Ec2State } from './state.js';

export interface EksWireRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  body: string;
}

export interface EksWireResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
}

interface Route {
  method: string;
  /** path segments; `{x}` binds a parameter */
  pattern: string[];
  action: EksActionName;
}

const routes: Route[] = [
  ['POST', '/clusters', 'CreateCluster'],
  ['GET', '/clusters', 'ListClusters'],
  ['GET', '/clusters/{name}', 'DescribeCluster'],
  ['DELETE', '/clusters/{name}', 'DeleteCluster'],
  ['POST', '/clusters/{name}/update-config', 'UpdateClusterConfig'],
  ['GET', '/clusters/{name}/updates', 'ListUpdates'],
  ['GET', '/clusters/{name}/updates/{updateId}', 'DescribeUpdate'],
  ['POST', '/clusters/{name}/fargate-profiles', 'CreateFargateProfile'],
  ['GET', '/clusters/{name}/fargate-profiles', 'ListFargateProfiles'],
  ['GET', '/clusters/{name}/fargate-profiles/{profile}', 'DescribeFargateProfile'],
  ['DELETE', '/clusters/{name}/fargate-profiles/{profile}', 'DeleteFargateProfile'],
].map(([method, path, action]) => ({ method: method!, pattern: path!.split('/').slice(1), action: action as EksActionName }));

/**
 * Whether a path belongs to the EKS API: everything under /clusters, and EKS's /tags/<arn> and /cluster-versions,
 * which are not implemented but must get EKS's error shape rather than EC2's XML.
 */
export function isEksPath(path: string): boolean {
  return path === '/clusters' || path.startsWith('/clusters/') || path.startsWith('/tags/') || path === '/cluster-versions';
}

function route(method: string, path: string): { action: EksActionName; params: Record<string, string> } {
  const segments = path.replace(/\/+$/, '').split('/').slice(1);
  let decoded: string[];
  try {
    decoded = segments.map((s) => decodeURIComponent(s));
  } catch {
    throw new EksError('InvalidRequestException', `The path ${path} is not validly percent-encoded.`);
  }
  let pathMatched = false;
  for (const r of routes) {
    if (r.pattern.length !== decoded.length) continue;
    const params: Record<string, string> = {};
    const ok = r.pattern.every((p, i) => {
      if (p.startsWith('{')) {
        params[p.slice(1, -1)] = decoded[i]!;
        return decoded[i] !== '';
      }
      return p === decoded[i];
    });
    if (!ok) continue;
    pathMatched = true;
    if (r.method === method) return { action: r.action, params };
  }
  throw new EksError(
    'InvalidRequestException',
    pathMatched ? `The HTTP method ${method} is not supported on ${path}.` : `podnet's EKS emulator does not implement ${method} ${path}.`,
  );
}

function parseBody(text: string): Record<string, unknown> {
  if (text.trim() === '') return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new EksError('InvalidRequestException', 'The request body is not valid JSON.');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new EksError('InvalidRequestException', 'The request body must be a JSON object.');
  return value as Record<string, unknown>;
}

function errorResponse(err: EksError, requestId: string): EksWireResponse {
  const body = JSON.stringify({ message: err.message, ...err.fields });
  return { status: err.status, headers: { 'content-type': 'application/json', 'x-amzn-errortype': err.code, 'x-amzn-requestid': requestId }, body };
}

/**
 * Answers one EKS API request against `state`. Never throws: an unexpected failure is EKS's ServerException (and
 * reported to `log`).
 */
export async function answerEks(state: Ec2State, options: EksOptions, request: EksWireRequest, log: (line: string) => void = () => {}): Promise<EksWireResponse> {
  const requestId = randomUUID();
  try {
    const { action, params } = route(request.method.toUpperCase(), request.path);
    const req: EksRequest = { path: params, query: request.query, body: parseBody(request.body) };
    // a cluster's own CA when none is configured; made before the transaction (key generation is asynchronous)
    const newCaPem = action === 'CreateCluster' && options.certificateAuthorityFile === undefined ? await (await import('./eks-ca.js')).newClusterCaPem() : undefined;
    ensureEksSchema(state);
    const result = state.transaction(() => {
      const now = state.now();
      settleEks(state, now);
      return eksActions[action](req, { state, now, options, newCaPem });
    });
    return { status: 200, headers: { 'content-type': 'application/json', 'x-amzn-requestid': requestId }, body: JSON.stringify(result) };
  } catch (err) {
    if (err instanceof EksError) return errorResponse(err, requestId);
    // an EC2 rule the cluster's resources broke (a subnet out of addresses …): EKS reports it as a bad parameter
    if (err instanceof Ec2Error) return errorResponse(new EksError('InvalidParameterException', err.message), requestId);
    log(`eks: request ${requestId} (${request.method} ${request.path}) failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    return errorResponse(new EksError('ServerException', 'An internal error has occurred.'), requestId);
  }
}

/** The EKS API and its admin view as a service of the emulator's HTTP listener (server.ts routes to it by path). */
export function eksHttpService(state: Ec2State, options: EksOptions, log: (line: string) => void) {
  return {
    handles: (path: string) => isEksPath(path) || path === '/_podnet/eks',
    async handle(req: IncomingMessage, res: ServerResponse, target: RequestTarget): Promise<void> {
      if (target.path === '/_podnet/eks') {
        if (req.method !== 'GET') return sendJson(res, 405, { error: `use GET on ${target.path}` });
        try {
          return sendJson(res, 200, { clusters: eksClusters(state) });
        } catch (err) {
          log(`eks: ${target.path} failed: ${err instanceof Error ? err.message : String(err)}`);
          return sendJson(res, 500, { error: 'internal error' });
        }
      }
      let body: string | undefined;
      try {
        body = await readBody(req);
      } catch (err) {
        if (!(err instanceof BodyTooLarge)) throw err;
      }
      const answer =
        body === undefined
          ? errorResponse(new EksError('InvalidRequestException', `The request body exceeds ${MAX_BODY_BYTES} bytes.`), randomUUID())
          : await answerEks(state, options, { method: req.method ?? 'GET', path: target.path, query: target.query, body }, log);
      res.writeHead(answer.status, { ...answer.headers, 'content-length': Buffer.byteLength(answer.body) });
      res.end(answer.body);
    },
  };
}

// ---- what `GET /_podnet/eks` may hold: names, addresses and ids from it reach nft rules, namespace names and DNS
// answers in the lab, so a reader takes them only in the grammars the EKS actions give them ----

/** an IPv4 address in its canonical text (what the state stores; refuses anything around it, a trailing newline too) */
const isIpv4Address = (text: string) => isAddressText(text) && parseAddress(text).family === 4 && formatAddress(parseAddress(text)) === text;
/** an IPv4 CIDR as the actions store it: canonical (no host bits, no leading zeros) */
const isIpv4Cidr = (text: string) => isCidrText(text) && parseCidr(text).family === 4 && formatCidr(parseCidr(text)) === text;
const ec2Id = (prefix: string) => z.string().regex(new RegExp(`^${prefix}-[0-9a-f]{8}([0-9a-f]{9})?$`), `an EC2 id like ${prefix}-0123456789abcdef0`);
const eksName = z.string().max(EKS_NAME_MAX).regex(EKS_NAME, 'an EKS name: a letter or digit, then letters, digits, - and _ (at most 100)');
const ipv4Address = z.string().refine(isIpv4Address, 'an IPv4 address');
/** `text` matches `pattern`, whose first group is a region name */
const withRegion = (pattern: RegExp) => (text: string) => isRegionName(pattern.exec(text)?.[1] ?? '');
const endpointHostname = z.string().refine(withRegion(/^[0-9A-F]{32}\.gr7\.([a-z0-9-]+)\.eks\.amazonaws\.com$/), 'an EKS endpoint name: <32 upper-case hex>.gr7.<region>.eks.amazonaws.com');
const subnetIds = z.array(ec2Id('subnet'));

const fargateProfileSchema = z.object({
  name: eksName,
  subnetIds,
  selectors: z.array(z.object({ namespace: z.string().min(1), labels: z.record(z.string(), z.string()).optional() })),
  status: z.enum(['CREATING', 'ACTIVE', 'DELETING']),
});

const clusterSchema = z
  .object({
    name: eksName,
    arn: z.string().refine(withRegion(/^arn:aws:eks:([a-z0-9-]+):\d{12}:cluster\/[0-9A-Za-z][A-Za-z0-9_-]*$/), 'an EKS cluster ARN: arn:aws:eks:<region>:<account>:cluster/<name>'),
    version: z.string().regex(/^1\.\d+$/, 'a Kubernetes minor version like 1.33'),
    status: z.enum(['CREATING', 'ACTIVE', 'UPDATING', 'DELETING']),
    vpcId: ec2Id('vpc'),
    subnetIds,
    hostname: endpointHostname,
    clusterSecurityGroupId: ec2Id('sg'),
    securityGroupIds: z.array(ec2Id('sg')),
    enis: z.array(z.object({ eniId: ec2Id('eni'), subnetId: ec2Id('subnet'), privateIp: ipv4Address })),
    publicAddress: ipv4Address.nullable(),
    endpointPublicAccess: z.boolean(),
    endpointPrivateAccess: z.boolean(),
    publicAccessCidrs: z.array(z.string().refine(isIpv4Cidr, 'an IPv4 CIDR like 198.51.100.0/24')),
    fargateProfiles: z.array(fargateProfileSchema),
  })
  .refine((c) => c.arn.endsWith(`:cluster/${c.name}`), { message: "the ARN names another cluster than `name`", path: ['arn'] }) satisfies z.ZodType<EksCluster>;

const eksDocumentSchema = z.object({ clusters: z.array(clusterSchema) });

/** The clusters of a `GET /_podnet/eks` document, or PodnetError EC2_FAILED naming each bad field (`clusters[0].hostname`). */
export function parseEksDocument(value: unknown, from: string): EksCluster[] {
  try {
    return parseSettings(eksDocumentSchema, value, `EKS cluster list from ${from}`).clusters;
  } catch (err) {
    if (!(err instanceof PodnetError)) throw err;
    throw new PodnetError('EC2_FAILED', err.message, "podnet takes the emulator's EKS facts only in EKS's grammars; is that podnet's emulator, of this version?", { cause: err });
  }
}

/** The EKS clusters an emulator serves (`GET <emulator>/_podnet/eks`), as the lab, its DNS and explain read them. */
export async function readEksClusters(emulatorUrl: string): Promise<EksCluster[]> {
  const url = `${emulatorUrl.replace(/\/+$/, '')}/_podnet/eks`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  } catch (err) {
    throw new PodnetError('EC2_FAILED', `cannot read the EKS clusters from ${url}: ${(err as Error).message}`, 'is `podnet ec2 serve` (or the lab) running at that address?', { cause: err });
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  const clusters = (body as { clusters?: unknown } | undefined)?.clusters;
  if (!response.ok || !Array.isArray(clusters)) {
    throw new PodnetError('EC2_FAILED', `${url} answered ${response.status} without a cluster list: ${text.slice(0, 200)}`, 'an emulator older than the EKS API does not serve /_podnet/eks');
  }
  return parseEksDocument(body, url);
}
