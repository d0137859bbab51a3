/**
 * EC2 request-rate throttling: one token bucket per API (per account and region on AWS; per server here).
 * Each request takes one token; buckets refill continuously at their rate up to their capacity; an empty bucket
 * answers RequestLimitExceeded (HTTP 503). Sizes are AWS's defaults (users-and-peers §3, EC2 API throttling doc).
 */
import { z } from 'zod';
import { parseSettings } from '../lib/index.js';
import { Ec2Error, type Ec2Params } from './protocol.js';

export interface BucketSize {
  /** Tokens when full: the burst. */
  capacity: number;
  /** Tokens added per second. */
  refillPerSecond: number;
}

export interface ThrottleConfig {
  /** Multiplies every capacity and refill rate (e.g. 10 for tests that are not about throttling). Default 1. */
  scale?: number;
  /**
   * Overrides by bucket: an action name (`AssignPrivateIpAddresses`), `DescribeNetworkInterfaces:unfiltered`,
   * or a class: `non-mutating` (every read without its own entry), `mutating` (every write without its own entry).
   */
  buckets?: Record<string, Partial<BucketSize>>;
}

const positive = z.number().positive().finite();
export const throttleConfigSchema = z.strictObject({
  scale: positive.optional(),
  buckets: z.record(z.string(), z.strictObject({ capacity: positive.optional(), refillPerSecond: positive.optional() })).optional(),
});

/** AWS's per-API defaults for the actions ipamd calls (users-and-peers §3); everything else falls in a class. */
export const defaultBuckets: Readonly<Record<string, BucketSize>> = {
  AssignPrivateIpAddresses: { capacity: 100, refillPerSecond: 5 },
  UnassignPrivateIpAddresses: { capacity: 100, refillPerSecond: 5 },
  AssignIpv6Addresses: { capacity: 100, refillPerSecond: 5 },
  UnassignIpv6Addresses: { capacity: 100, refillPerSecond: 5 },
  CreateNetworkInterface: { capacity: 100, refillPerSecond: 5 },
  DeleteNetworkInterface: { capacity: 100, refillPerSecond: 5 },
  ModifyNetworkInterfaceAttribute: { capacity: 100, refillPerSecond: 5 },
  CreateTags: { capacity: 100, refillPerSecond: 10 },
  DescribeNetworkInterfaces: { capacity: 100, refillPerSecond: 20 },
  'DescribeNetworkInterfaces:unfiltered': { capacity: 50, refillPerSecond: 10 },
  // AWS's documented defaults for the two general classes; Attach/DetachNetworkInterface fall in "mutating".
  'non-mutating': { capacity: 100, refillPerSecond: 20 },
  mutating: { capacity: 50, refillPerSecond: 5 },
};

const nonMutatingPrefixes = ['Describe', 'Get', 'List'];

/**
 * Which bucket a request draws from. DescribeNetworkInterfaces without filters, IDs or pagination uses the
 * smaller "unfiltered" bucket, as AWS does ("filter your Describe calls", users-and-peers §3).
 */
export function bucketFor(params: Ec2Params): string {
  const action = params.action;
  if (action === 'DescribeNetworkInterfaces') {
    const scoped =
      params.structs('Filter').length > 0 ||
      params.list('NetworkInterfaceId').length > 0 ||
      params.str('MaxResults') !== undefined ||
      params.str('NextToken') !== undefined;
    return scoped ? action : `${action}:unfiltered`;
  }
  return action;
}

function classOf(bucket: string): 'non-mutating' | 'mutating' {
  return nonMutatingPrefixes.some((p) => bucket.startsWith(p)) ? 'non-mutating' : 'mutating';
}

/** The effective size of one bucket under a config: own override, else own default, else its class. */
export function bucketSize(bucket: string, config: ThrottleConfig): BucketSize {
  const cls = classOf(bucket);
  const base = { ...(defaultBuckets[bucket] ?? defaultBuckets[cls]!) };
  const override = config.buckets?.[bucket] ?? (defaultBuckets[bucket] ? undefined : config.buckets?.[cls]);
  const size = { ...base, ...override };
  const scale = config.scale ?? 1;
  return { capacity: size.capacity * scale, refillPerSecond: size.refillPerSecond * scale };
}

interface Bucket {
  size: BucketSize;
  tokens: number;
  updatedMs: number;
}

export interface BucketState {
  bucket: string;
  capacity: number;
  refillPerSecond: number;
  tokens: number;
}

/** Token buckets, created full on first use. The clock is injectable so tests can refill without waiting. */
export class Throttle {
  private buckets = new Map<string, Bucket>();

  constructor(
    private config: ThrottleConfig,
    private readonly nowMs: () => number = Date.now,
  ) {
    validateThrottleConfig(config);
  }

  get settings(): ThrottleConfig {
    return structuredClone(this.config);
  }

  /** New sizes apply at once; every bucket starts full again. */
  reconfigure(config: ThrottleConfig): void {
    validateThrottleConfig(config);
    this.config = config;
    this.buckets.clear();
  }

  /** Takes one token for the request or throws RequestLimitExceeded (503). */
  take(params: Ec2Params): void {
    const name = bucketFor(params);
    const bucket = this.refilled(name);
    if (bucket.tokens < 1) {
      throw new Ec2Error('RequestLimitExceeded', 'Request limit exceeded.', 503);
    }
    bucket.tokens -= 1;
  }

  /** Buckets used so far, with their current tokens. */
  state(): BucketState[] {
    return [...this.buckets.keys()].sort().map((name) => {
      const b = this.refilled(name);
      return { bucket: name, capacity: b.size.capacity, refillPerSecond: b.size.refillPerSecond, tokens: Math.floor(b.tokens) };
    });
  }

  private refilled(name: string): Bucket {
    const now = this.nowMs();
    let bucket = this.buckets.get(name);
    if (!bucket) {
      const size = bucketSize(name, this.config);
      bucket = { size, tokens: size.capacity, updatedMs: now };
      this.buckets.set(name, bucket);
      return bucket;
    }
    const elapsed = Math.max(0, now - bucket.updatedMs) / 1000;
    bucket.tokens = Math.min(bucket.size.capacity, bucket.tokens + elapsed * bucket.size.refillPerSecond);
    bucket.updatedMs = now;
    return bucket;
  }
}

function validateThrottleConfig(config: ThrottleConfig): void {
  parseSettings(throttleConfigSchema, config, 'throttle config');
}
