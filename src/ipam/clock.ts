/** Time as ipamd sees it: injectable so pool timers run on a fake clock in tests and `podnet pool simulate` (§9 item 2). */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`, or at once when `signal` aborts (a stopping daemon leaves no timer behind). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
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
};

/** A clock that only moves when told to; `sleep` advances it at once, so nothing really waits. */
export class FakeClock implements Clock {
  constructor(private ms: number) {}

  now(): number {
    return this.ms;
  }

  async sleep(ms: number): Promise<void> {
    this.advance(ms);
  }

  advance(ms: number): void {
    this.ms += Math.max(0, ms);
  }

  /** Moves forward to `ms` (never backward). */
  advanceTo(ms: number): void {
    this.ms = Math.max(this.ms, ms);
  }
}
