/**
 * When leaked-ENI collection (spec §7.5, leaked-enis.ts) runs on the node's clock, and what each run logs: every
 * interval, the first run after a random part of one, as upstream sleeps a random [0, 300) s before its first.
 */
import type { Cloud, Clock } from '../ipam/index.js';
import { cleanUpLeakedEnis } from './leaked-enis.js';
import type { Log } from './log.js';

export interface LeakedEniScheduleOptions {
  cloud: Cloud;
  clock: Clock;
  log: Log;
  intervalMs: number;
  /** ENIs younger than this may still be on their way to being attached (upstream: 5 min). */
  minAgeMs: number;
  clusterName: string;
}

export class LeakedEniSchedule {
  private lastRun: number;

  constructor(private readonly o: LeakedEniScheduleOptions) {
    // upstream's [0, 300) s first delay, scaled down for intervals shorter than an hour
    this.lastRun = o.clock.now() - o.intervalMs + o.clock.random() * Math.min(300_000, o.intervalMs / 12);
  }

  due(): boolean {
    return this.o.clock.now() - this.lastRun >= this.o.intervalMs;
  }

  async run(vpcId: string): Promise<void> {
    const { clock, log } = this.o;
    this.lastRun = clock.now();
    const report = await cleanUpLeakedEnis(this.o.cloud, { vpcId, clusterName: this.o.clusterName, nowMs: clock.now(), minAgeMs: this.o.minAgeMs });
    if (report.deleted.length) log('info', `leaked-ENI GC deleted ${report.deleted.join(', ')}`);
    if (report.tagged.length) log('info', `leaked-ENI GC found ${report.tagged.join(', ')} detached without a createdAt tag; tagged, deleted on a later run`);
    for (const f of report.failed) log('warn', `leaked-ENI GC could not delete ${f.eniId}: ${f.code}`);
  }
}
