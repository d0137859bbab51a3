/**
 * The client-side rate limit on EC2 calls, as the VPC resource controller's (main.go: --user-client-qps 12,
 * --user-client-burst 18, a token bucket per EC2 client): a burst of pods waits here instead of throttling the account.
 */
import type { EC2Client } from '@aws-sdk/client-ec2';

export interface RateLimit {
  /** Tokens added per second. */
  qps: number;
  /** Bucket size: calls that may go at once after a quiet spell. */
  burst: number;
}

export const DEFAULT_RATE_LIMIT: RateLimit = { qps: 12, burst: 18 };

/** A token bucket; `take` resolves when a token is free (callers are served in order). */
export class TokenBucket {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();
  /** Calls that had to wait, and the total wait (for the log and tests). */
  waited = { calls: 0, ms: 0 };

  constructor(private readonly limit: RateLimit, private readonly now: () => number = Date.now) {
    this.tokens = limit.burst;
    this.last = now();
  }

  /** How long the next caller would wait now, in ms (pure over the bucket's state). */
  private delay(): number {
    const t = this.now();
    this.tokens = Math.min(this.limit.burst, this.tokens + ((t - this.last) / 1000) * this.limit.qps);
    this.last = t;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return 0;
    }
    const ms = Math.ceil(((1 - this.tokens) / this.limit.qps) * 1000);
    // the token that refills during the wait is this caller's
    this.tokens -= 1;
    return ms;
  }

  take(): Promise<void> {
    const turn = this.queue.then(async () => {
      const ms = this.delay();
      if (ms > 0) {
        this.waited.calls += 1;
        this.waited.ms += ms;
        await new Promise((r) => setTimeout(r, ms));
      }
    });
    this.queue = turn;
    return turn;
  }
}

/** Makes every request the client sends take a token first (once per call: the controller's clients make one attempt). */
export function rateLimitClient(client: EC2Client, bucket: TokenBucket): void {
  client.middlewareStack.add(
    (next) => async (args) => {
      await bucket.take();
      return next(args);
    },
    { step: 'initialize', name: 'podnetSgpRateLimit' },
  );
}
