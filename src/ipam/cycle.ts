/**
 * Recognising a pool that never settles (issue 11 item 6). As upstream, some settings cycle: with WARM_ENI_TARGET=0
 * alone, pods that exactly fill every attached ENI make the pool "too low" → a new ENI; a minute later
 * (minENILifeTime) the idle ENI is freed and the next iteration is too low again. A cycle is the pool's state at the
 * start of an iteration recurring twice at the same interval, with the same EC2 calls in between.
 */
import type { PoolSnapshot } from './datastore.js';
import type { PoolTimers, PoolTimestamps } from './pool.js';

/** A pool that never settles: its state and EC2 calls repeat with a fixed period. */
export interface Oscillation {
  /** The pod count at which the pool started cycling (pods are added one at a time). */
  readonly pods: number;
  readonly periodSeconds: number;
  /** EC2 calls in one period, by action. */
  readonly ec2CallsPerCycle: Record<string, number>;
  /** Of those, the calls that change something in EC2 (all but Describe*). */
  readonly mutatingCallsPerCycle: number;
  /** Seconds of each period in which no address is free: a pod arriving then is refused until the pool grows. */
  readonly gapSeconds: number;
  /** ENIs at the cycle's low and high points. */
  readonly enis: { readonly low: number; readonly high: number };
}

/** One pool iteration as the cycle detection sees it. */
export interface IterationRecord {
  /** When it started (fake ms). */
  readonly at: number;
  /** Addresses a pod could take when it started. */
  readonly free: number;
  readonly enis: number;
  /** Its EC2 calls, in order. */
  readonly calls: readonly string[];
}

/** A recognised cycle, and how many iterations from now lead to its high point (the most free addresses). */
export interface Cycle {
  readonly oscillation: Omit<Oscillation, 'pods'>;
  readonly highPointOffset: number;
}

/** Watches the iterations of one settle: give it each iteration's starting state, then the iteration's record. */
export class CycleWatch {
  private readonly history: IterationRecord[] = [];
  private readonly seen = new Map<string, number[]>();

  /** Called before an iteration with the pool's state (`poolState`): the cycle this state closes, if any. */
  check(state: string, nowMs: number): Cycle | undefined {
    const earlier = this.seen.get(state) ?? [];
    const cycle = earlier.length >= 2 ? findCycle(this.history, earlier.at(-2)!, earlier.at(-1)!, nowMs) : undefined;
    if (!cycle) this.seen.set(state, [...earlier, this.history.length]);
    return cycle;
  }

  /** The iteration that started after the last `check`. */
  record(iteration: IterationRecord): void {
    this.history.push(iteration);
  }
}

/**
 * Everything the pool's next decisions depend on, as a comparable string: per ENI its kind, its age up to
 * minENILifeTime (older ENIs all behave alike), its CIDRs with their use and cooldown; and the timers' ages up to
 * their length. ENI ids and addresses are left out: a new ENI in place of a freed one is the same state.
 */
export function poolState(s: PoolSnapshot, t: PoolTimestamps, timers: PoolTimers, nowMs: number): string {
  const since = (at: number, capMs: number): number => Math.min(nowMs - at, capMs + 1);
  return JSON.stringify({
    enis: s.enis.map((e) => [e.primary, e.trunk, e.excluded, since(e.createdAt, timers.eniMinAgeMs),
      e.cidrs.map((c) => [c.prefix, c.size, c.assigned, c.coolingDown, Math.max(0, (c.coolingUntil ?? 0) - nowMs)])]),
    decrease: since(t.lastDecreaseAt, timers.decreaseIntervalMs),
    insufficientCidr: since(t.lastInsufficientCidrAt, timers.insufficientCidrBackoffMs),
  });
}

/**
 * The same state began iterations `a`, `b` and now: it is a cycle when both stretches took the same iterations at
 * the same offsets with the same EC2 calls, and some call was made (a state that recurs without calls is a timer
 * running out, not a cycle). The high point is the first iteration of the period with the most free addresses.
 */
function findCycle(history: readonly IterationRecord[], a: number, b: number, nowMs: number): Cycle | undefined {
  const n = history.length;
  if (b - a !== n - b) return undefined;
  const first = history.slice(a, b);
  const second = history.slice(b, n);
  const period = nowMs - history[b]!.at;
  if (period !== history[b]!.at - history[a]!.at) return undefined;
  for (let k = 0; k < first.length; k++) {
    if (first[k]!.at - history[a]!.at !== second[k]!.at - history[b]!.at) return undefined;
    if (first[k]!.calls.join() !== second[k]!.calls.join()) return undefined;
  }
  const calls = second.flatMap((r) => r.calls);
  if (calls.length === 0) return undefined;
  const perCycle = new Map<string, number>();
  for (const c of calls) perCycle.set(c, (perCycle.get(c) ?? 0) + 1);
  // The state after iteration k lasts until iteration k + 1 starts; the period's last one wraps to `b`'s state.
  let gapMs = 0;
  for (let k = 0; k < second.length; k++) {
    const after = k + 1 < second.length ? second[k + 1]! : second[0]!;
    const until = k + 1 < second.length ? second[k + 1]!.at : nowMs;
    if (after.free === 0) gapMs += until - second[k]!.at;
  }
  const highest = Math.max(...second.map((r) => r.free));
  return {
    oscillation: {
      periodSeconds: period / 1000,
      ec2CallsPerCycle: sortedCounts(perCycle),
      mutatingCallsPerCycle: calls.filter((c) => !c.startsWith('Describe')).length,
      gapSeconds: gapMs / 1000,
      enis: { low: Math.min(...second.map((r) => r.enis)), high: Math.max(...second.map((r) => r.enis)) },
    },
    highPointOffset: second.findIndex((r) => r.free === highest),
  };
}

/** Counts by name, sorted by name, as the simulation reports EC2 calls. */
export function sortedCounts(m: ReadonlyMap<string, number>): Record<string, number> {
  return Object.fromEntries([...m.entries()].sort(([x], [y]) => x.localeCompare(y)));
}
