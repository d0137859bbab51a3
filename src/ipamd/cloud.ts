/**
 * The one path to the cloud (ARCHITECTURE principle 2): an EC2Client from @aws-sdk/client-ec2 with standard SDK
 * endpoint settings, a retry strategy that backs off on throttling (spec §7.3), and every call reported to the
 * IpamMetrics (IpamdMetrics counts it under upstream's metric names, spec §6.6); sdk-cloud.ts wraps it as the
 * Cloud. Also where IMDS is. AWS's default endpoints are used only when the
 * environment says this is AWS; otherwise an endpoint must be given, so nothing reaches AWS by accident.
 */
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import type { Env } from '../config/index.js';
import type { IpamMetrics } from '../ipam/index.js';
import { PodnetError } from '../lib/index.js';

export interface CloudEndpoints {
  /** undefined: the SDK's regional endpoint (AWS). */
  ec2Endpoint: string | undefined;
  imdsEndpoint: string;
  /** Explicit region from the environment; otherwise IMDS tells it. */
  region: string | undefined;
  onAws: boolean;
}

const AWS_IMDS_ENDPOINT = 'http://169.254.169.254';

const emulatorHint = 'for `podnet ec2 serve` set AWS_ENDPOINT_URL_EC2=http://127.0.0.1:PORT and AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:IMDSPORT/<instance-id>';

/**
 * Where EC2 and IMDS are, from the SDK-standard variables: AWS_ENDPOINT_URL_EC2 (or AWS_ENDPOINT_URL) and
 * AWS_EC2_METADATA_SERVICE_ENDPOINT. With neither set, AWS's endpoints are used only when AWS_REGION or
 * AWS_DEFAULT_REGION says this runs on AWS. One explicit and one default endpoint is refused: an emulated EC2
 * with the real IMDS (or the reverse) is always a mistake.
 */
export function resolveCloudEndpoints(env: Env): CloudEndpoints {
  const ec2 = nonEmpty(env.AWS_ENDPOINT_URL_EC2) ?? nonEmpty(env.AWS_ENDPOINT_URL);
  const imds = nonEmpty(env.AWS_EC2_METADATA_SERVICE_ENDPOINT);
  const region = regionOf(env);
  if (ec2 === undefined && imds === undefined) {
    if (region === undefined) {
      throw new PodnetError('CONFIG_INVALID', 'no EC2 or IMDS endpoint is configured and AWS_REGION is not set, so this is neither AWS nor an emulator',
        `${emulatorHint}; on AWS set AWS_REGION`);
    }
    return { ec2Endpoint: undefined, imdsEndpoint: AWS_IMDS_ENDPOINT, region, onAws: true };
  }
  if (ec2 === undefined || imds === undefined) {
    const missing = ec2 === undefined ? 'AWS_ENDPOINT_URL_EC2' : 'AWS_EC2_METADATA_SERVICE_ENDPOINT';
    throw new PodnetError('CONFIG_INVALID', `only one of the EC2 and IMDS endpoints is set; ${missing} is missing`,
      `set both endpoints (${emulatorHint}), or neither on AWS`);
  }
  return { ec2Endpoint: checkEndpointUrl('EC2', ec2), imdsEndpoint: checkEndpointUrl('IMDS', imds), region, onAws: false };
}

/**
 * IMDS alone, for what needs no EC2 (podnet init): AWS_EC2_METADATA_SERVICE_ENDPOINT, else AWS's own address only
 * when AWS_REGION or AWS_DEFAULT_REGION says this runs on AWS, so nothing reaches AWS by accident.
 */
export function resolveImdsEndpoint(env: Env): string {
  const imds = nonEmpty(env.AWS_EC2_METADATA_SERVICE_ENDPOINT);
  if (imds !== undefined) return checkEndpointUrl('IMDS', imds);
  if (regionOf(env) === undefined) {
    throw new PodnetError('CONFIG_INVALID', 'no IMDS is configured (AWS_EC2_METADATA_SERVICE_ENDPOINT is unset) and AWS_REGION is not set, so this is neither AWS nor an emulator',
      'set AWS_EC2_METADATA_SERVICE_ENDPOINT (podnet ec2 serve: http://127.0.0.1:IMDSPORT/<instance-id>), or AWS_REGION on AWS');
  }
  return AWS_IMDS_ENDPOINT;
}

function checkEndpointUrl(name: 'EC2' | 'IMDS', url: string): string {
  if (!/^https?:\/\/[^/]+/.test(url)) throw new PodnetError('CONFIG_INVALID', `the ${name} endpoint '${url}' is not an http(s) URL`, emulatorHint);
  return url;
}

function regionOf(env: Env): string | undefined {
  return nonEmpty(env.AWS_REGION) ?? nonEmpty(env.AWS_DEFAULT_REGION);
}

function nonEmpty(v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v.trim();
}

/** Retry settings for EC2 calls; the defaults are the SDK standard retryer's (spec §7.3). */
export interface RetrySettings {
  /** Attempts per call, first included. */
  maxAttempts: number;
  /** Backoff base for throttling errors (RequestLimitExceeded, Throttling…). */
  throttleBaseMs: number;
  /** Backoff base for 5xx and transient errors. */
  transientBaseMs: number;
  maxDelayMs: number;
}

export const defaultRetrySettings: RetrySettings = { maxAttempts: 3, throttleBaseMs: 500, transientBaseMs: 100, maxDelayMs: 20_000 };

type RetryStrategyV2 = Extract<NonNullable<EC2ClientConfig['retryStrategy']>, { refreshRetryTokenForRetry: unknown }>;
type RetryToken = Awaited<ReturnType<RetryStrategyV2['acquireInitialRetryToken']>>;
type RetryErrorInfo = Parameters<RetryStrategyV2['refreshRetryTokenForRetry']>[1];

/** Exponential backoff with full jitter on throttling, 5xx and transient errors; client errors fail at once. */
export class BackoffRetryStrategy implements RetryStrategyV2 {
  readonly mode = 'standard';
  constructor(
    private readonly settings: RetrySettings,
    private readonly random: () => number = Math.random,
  ) {}

  async acquireInitialRetryToken(): Promise<RetryToken> {
    return token(0, 0);
  }

  async refreshRetryTokenForRetry(previous: RetryToken, info: RetryErrorInfo): Promise<RetryToken> {
    const attempt = previous.getRetryCount() + 1;
    if (info.errorType === 'CLIENT_ERROR' || attempt >= this.settings.maxAttempts) throw new Error('no more retries');
    const base = info.errorType === 'THROTTLING' ? this.settings.throttleBaseMs : this.settings.transientBaseMs;
    const delayMs = Math.floor(this.random() * Math.min(this.settings.maxDelayMs, base * 2 ** (attempt - 1)));
    return token(attempt, delayMs);
  }

  recordSuccess(): void {}
}

function token(count: number, delayMs: number): RetryToken {
  return { getRetryCount: () => count, getRetryDelay: () => delayMs };
}

export interface Ec2ClientOptions {
  endpoints: CloudEndpoints;
  region: string;
  /** Every call (not every attempt) is reported here. */
  metrics: IpamMetrics;
  retry?: Partial<RetrySettings>;
  /** HTTP_TIMEOUT (spec §1): per-request timeout. */
  requestTimeoutMs?: number;
  /** VPC_CNI_VERSION goes into the user agent, as upstream. */
  version?: string;
  env: Env;
}

/** EC2's code of a failed call (the SDK puts it in `name`), or the transport's error code. */
export function ec2ErrorCode(err: unknown): string {
  if (!(err instanceof Error)) return 'Unknown';
  const code = (err as { code?: unknown }).code;
  return err.name !== 'Error' ? err.name : typeof code === 'string' ? code : 'Unknown';
}

/**
 * The EC2 client ipamd uses (sdk-cloud.ts wraps it as the Cloud). Every call (not every attempt) is reported to
 * `metrics` with its latency and, when it failed, EC2's error code and the HTTP status.
 */
export function createEc2Client(opts: Ec2ClientOptions): EC2Client {
  const retry: RetrySettings = { ...defaultRetrySettings, ...opts.retry };
  const { metrics } = opts;
  const credentials = opts.endpoints.onAws ? undefined : explicitCredentials(opts.env);
  const client = new EC2Client({
    region: opts.region,
    ...(opts.endpoints.ec2Endpoint ? { endpoint: opts.endpoints.ec2Endpoint } : {}),
    ...(credentials ? { credentials } : {}),
    retryStrategy: new BackoffRetryStrategy(retry),
    requestHandler: { requestTimeout: opts.requestTimeoutMs ?? 10_000, connectionTimeout: 2_000 },
    ...(opts.version ? { customUserAgent: `amazon-vpc-cni-k8s/${opts.version}` } : {}),
  });
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const api = (context.commandName ?? 'Unknown').replace(/Command$/, '');
      const started = performance.now();
      try {
        const out = await next(args);
        metrics.cloudCall({ api, status: 200, latencyMs: performance.now() - started });
        return out;
      } catch (err) {
        const status = (err as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode ?? 0;
        metrics.cloudCall({ api, error: ec2ErrorCode(err), status, latencyMs: performance.now() - started });
        throw err;
      }
    },
    { step: 'initialize', name: 'podnetEc2CallMetrics' },
  );
  return client;
}

/**
 * With an explicit endpoint the credentials must come from the environment: the SDK's default chain would
 * otherwise ask the instance profile on the real IMDS.
 */
function explicitCredentials(env: Env): { accessKeyId: string; secretAccessKey: string; sessionToken?: string } {
  const accessKeyId = nonEmpty(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = nonEmpty(env.AWS_SECRET_ACCESS_KEY);
  if (!accessKeyId || !secretAccessKey) {
    throw new PodnetError('CONFIG_INVALID', 'an EC2 endpoint is set but AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY are not',
      'set both (any value works with `podnet ec2 serve`, e.g. AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test)');
  }
  const sessionToken = nonEmpty(env.AWS_SESSION_TOKEN);
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) };
}
