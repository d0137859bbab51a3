/**
 * One pool iteration (updateIPPoolIfRequired, §4.4): decide (pure) → perform (executor) → remember timestamps →
 * decide and perform the whole-ENI free step. The daemon calls `runIteration` every pool interval; the simulator
 * calls it on a fake clock until the pool settles.
 */
import type { Clock } from './clock.js';
import { ipStats, type Datastore } from './datastore.js';
import type { ActionOutcome, PoolExecutor } from './executor.js';
import {
  decideFreeEni,
  decidePool,
  initialTimestamps,
  isInsufficientCidrCode,
  whyNoAddress,
  type LastEc2Failure,
  type PoolAction,
  type PoolConfig,
  type PoolLimits,
  type PoolTimestamps,
} from './pool.js';
import type { PodnetError } from '../lib/index.js';

export interface PoolManagerOptions {
  readonly datastore: Datastore;
  readonly executor: PoolExecutor;
  readonly config: PoolConfig;
  readonly limits: PoolLimits;
  readonly clock: Clock;
}

/** What one iteration did. */
export interface IterationResult {
  /** Every action decided, including `none` with its reason. */
  readonly decided: readonly PoolAction[];
  /** Outcomes of the actions performed. */
  readonly outcomes: readonly ActionOutcome[];
  /** Some action changed the datastore. */
  readonly changed: boolean;
  /** The earliest time a timer (throttle, backoff, ENI age, cooldown) releases an action held back now. */
  readonly retryAt?: number;
}

export class PoolManager {
  private timestampsValue: PoolTimestamps = initialTimestamps;
  private lastFailure: LastEc2Failure | undefined;
  /** lastNodeIPPoolAction: the reconcile runs when this is older than the reconcile interval (§4.13). */
  lastPoolActionAt = -Infinity;

  constructor(private readonly o: PoolManagerOptions) {}

  get timestamps(): PoolTimestamps {
    return this.timestampsValue;
  }

  get lastEc2Failure(): LastEc2Failure | undefined {
    return this.lastFailure;
  }

  async runIteration(): Promise<IterationResult> {
    const { datastore: ds, config: c, limits: l, clock, executor } = this.o;
    const startedAt = clock.now();
    const before = ds.snapshot(startedAt);
    const statsAtStart = ipStats(before);
    const decided: PoolAction[] = [...decidePool(before, c, l, this.timestampsValue, startedAt)];
    const outcomes: ActionOutcome[] = [];
    for (const action of decided) {
      if (action.kind !== 'none') outcomes.push(await executor.perform(action));
    }
    if (decided.some((a) => a.kind === 'unassign')) {
      this.timestampsValue = { ...this.timestampsValue, lastDecreaseAt: startedAt };
      this.lastPoolActionAt = startedAt;
    }
    if (outcomes.some((o) => o.changed && (o.action.kind === 'assign-ips' || o.action.kind === 'assign-prefixes' || o.action.kind === 'create-eni'))) {
      this.lastPoolActionAt = clock.now();
    }
    const free = decideFreeEni(statsAtStart, ds.snapshot(clock.now()), c, l, clock.now());
    decided.push(free);
    if (free.kind !== 'none') outcomes.push(await executor.perform(free));
    for (const o of outcomes) {
      if (!o.failure) continue;
      this.lastFailure = o.failure;
      if (isInsufficientCidrCode(o.failure.code)) this.timestampsValue = { ...this.timestampsValue, lastInsufficientCidrAt: o.failure.atMs };
    }
    const waits = decided.flatMap((a) => (a.kind === 'none' && a.retryAt !== undefined ? [a.retryAt] : []));
    return {
      decided,
      outcomes,
      changed: outcomes.some((o) => o.changed),
      ...(waits.length > 0 ? { retryAt: Math.min(...waits) } : {}),
    };
  }

  /** Why a pod found no free address right now (see `whyNoAddress`). */
  whyNoAddress(ready = true): PodnetError {
    const { datastore: ds, config, limits, clock } = this.o;
    const nowMs = clock.now();
    return whyNoAddress({
      snapshot: ds.snapshot(nowMs), config, limits, timestamps: this.timestampsValue, ready, nowMs,
      ...(this.lastFailure ? { lastEc2Failure: this.lastFailure } : {}),
    });
  }
}
