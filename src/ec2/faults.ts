/**
 * Fault injection for tests: per action (or `*` for every action) an added latency and a rate of injected
 * errors. With a seed the sequence of injected errors is the same on every run.
 */
import { z } from 'zod';
import { parseSettings, seededRandom } from '../lib/index.js';
import { Ec2Error } from './protocol.js';

const faultRuleSchema = z.strictObject({
  /** Added before the action runs. */
  latencyMs: z.number().int().min(0).max(600_000).optional(),
  /** Probability 0..1 that the request fails with `errorCode` instead of running. */
  errorRate: z.number().min(0).max(1).optional(),
  /** Default InternalError (500); Unavailable and RequestLimitExceeded answer 503, other codes 400. */
  errorCode: z.string().regex(/^[A-Za-z][A-Za-z0-9.]*$/).optional(),
  /** Overrides the HTTP status that goes with the code. */
  status: z.number().int().min(400).max(599).optional(),
});

const faultConfigSchema = z.strictObject({
  /** Seeds the random choice of which requests fail; without it, Math.random. */
  seed: z.number().int().optional(),
  /** Keyed by action name, or `*` for actions without their own rule. */
  actions: z.record(z.string(), faultRuleSchema).default({}),
});

export type FaultRule = z.infer<typeof faultRuleSchema>;
export type FaultConfig = z.input<typeof faultConfigSchema>;

/** What happens to one request: wait this long, then fail with this error (or run). */
export interface FaultDecision {
  latencyMs: number;
  error?: Ec2Error;
}

const statusByCode: Record<string, number> = { InternalError: 500, Unavailable: 503, RequestLimitExceeded: 503 };

export class Faults {
  private config: z.infer<typeof faultConfigSchema> = { actions: {} };
  private random: () => number = Math.random;

  constructor(config: FaultConfig = {}) {
    this.reconfigure(config);
  }

  get settings(): z.infer<typeof faultConfigSchema> {
    return structuredClone(this.config);
  }

  /** Replaces the whole configuration (and restarts the seeded sequence). */
  reconfigure(config: FaultConfig): void {
    this.config = parseSettings(faultConfigSchema, config, 'fault config');
    this.random = this.config.seed === undefined ? Math.random : seededRandom(this.config.seed);
  }

  decide(action: string): FaultDecision {
    const rule = this.config.actions[action] ?? this.config.actions['*'];
    if (!rule) return { latencyMs: 0 };
    const latencyMs = rule.latencyMs ?? 0;
    const rate = rule.errorRate ?? 0;
    if (rate > 0 && this.random() < rate) {
      const code = rule.errorCode ?? 'InternalError';
      const status = rule.status ?? statusByCode[code] ?? 400;
      return { latencyMs, error: new Ec2Error(code, `Injected fault for ${action} (podnet fault injection, rate ${rate}).`, status) };
    }
    return { latencyMs };
  }
}
