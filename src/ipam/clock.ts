/**
 * Time (and chance) as ipamd sees them: injectable so pool timers run on a fake clock in tests and
 * `podnet pool simulate` (§9 item 2), and a fake-clock run makes the same random choices every time.
 */
import { seededRandom } from '../lib/index.js';

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (a stopping daemon leaves no timer behind). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
  /** A number in [0, 1), for jitter: Math.random on the system clock, a seeded sequence on a fake one. */
  random(): number;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done);
    }),
  random: () => Math.random(),
};

/** A clock that only moves when told to; `sleep` advances it at once, so nothing really waits. */
export class FakeClock implements Clock {
  private readonly nextRandom: () => number;

  /** `seed` picks the sequence `random()` returns (the same seed, the same numbers). */
  constructor(private ms: number, opts: { seed?: number } = {}) {
    this.nextRandom = seededRandom(opts.seed ?? 1);
  }

  now(): number {
    return this.ms;
  }

  async sleep(ms: number): Promise<void> {
    this.advance(ms);
  }

  random(): number {
    return this.nextRandom();
  }

  advance(ms: number): void {
    this.ms += Math.max(0, ms);
  }

  /** Moves forward to `ms` (never backward). */
  advanceTo(ms: number): void {
    this.ms = Math.max(this.ms, ms);
  }
}
