/**
 * IMDSv2 session tokens: each belongs to the source address that asked for it and the instance it was issued for,
 * and the table stays bounded however many tokens are asked for.
 */
import { randomBytes } from 'node:crypto';

interface TokenRecord {
  source: string;
  instanceId: string | null;
  expiresAt: number;
}

export interface ImdsTokenLimits {
  /** Live tokens one source address may hold; its oldest goes first beyond that. */
  perSource: number;
  /** Live tokens in all; the oldest goes first beyond that. */
  total: number;
}

/**
 * A real instance's clients take one token and reuse it until it expires, so a few per address are normal; 1,000
 * per address and 10,000 in all (about 2 MB) leave room for many processes behind one address while a flood from
 * one address only pushes out its own tokens.
 */
export const defaultTokenLimits: ImdsTokenLimits = { perSource: 1000, total: 10_000 };

/** Expired tokens are swept at most this often (and checked on every use). */
const SWEEP_INTERVAL_MS = 60_000;

export class ImdsTokens {
  /** In issue order, so the first entry is the oldest. */
  private readonly tokens = new Map<string, TokenRecord>();
  /** Each source's tokens, oldest first. */
  private readonly bySource = new Map<string, string[]>();
  private nextSweepAt = 0;

  constructor(
    private readonly nowMs: () => number,
    private readonly limits: ImdsTokenLimits = defaultTokenLimits,
  ) {}

  issue(source: string, instanceId: string | null, ttlSeconds: number): string {
    const now = this.nowMs();
    if (now >= this.nextSweepAt) {
      for (const [token, record] of this.tokens) if (record.expiresAt <= now) this.remove(token);
      this.nextSweepAt = now + SWEEP_INTERVAL_MS;
    }
    const own = this.bySource.get(source);
    if (own && own.length >= this.limits.perSource) this.remove(own[0]!);
    if (this.tokens.size >= this.limits.total) this.remove(this.tokens.keys().next().value!);
    const token = randomBytes(32).toString('base64url');
    this.tokens.set(token, { source, instanceId, expiresAt: now + ttlSeconds * 1000 });
    if (own) own.push(token);
    else this.bySource.set(source, [token]);
    return token;
  }

  /** True when the token is live and was issued to this source address for this instance. */
  valid(token: string, source: string, instanceId: string | null): boolean {
    const record = this.tokens.get(token);
    if (!record) return false;
    if (record.expiresAt <= this.nowMs()) {
      this.remove(token);
      return false;
    }
    return record.source === source && record.instanceId === instanceId;
  }

  private remove(token: string): void {
    const record = this.tokens.get(token);
    if (!record) return;
    this.tokens.delete(token);
    const own = this.bySource.get(record.source)!;
    own.splice(own.indexOf(token), 1);
    if (own.length === 0) this.bySource.delete(record.source);
  }
}
