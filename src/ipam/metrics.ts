/**
 * What the ipam core reports: one record per cloud call. ipamd's Prometheus-backed IpamdMetrics turns these into
 * upstream's awscni_* series; a simulation counts them with CloudCallCounter, without a prom-client registry.
 */

/** One finished cloud call, as an adapter saw it (one per EC2 request, not per retry attempt). */
export interface CloudCall {
  /** EC2's action name, e.g. `AssignPrivateIpAddresses`. */
  readonly api: string;
  /** EC2's error code when the call failed. */
  readonly error?: string;
  /** HTTP status where there is one (0 when the request got no answer). */
  readonly status?: number;
  readonly latencyMs: number;
}

export interface IpamMetrics {
  cloudCall(call: CloudCall): void;
}

/** Counts cloud calls by API, and lists the calls made since the last `takeRecent()` (cycle detection compares them). */
export class CloudCallCounter implements IpamMetrics {
  private readonly counts = new Map<string, number>();
  private recent: string[] = [];

  cloudCall(call: CloudCall): void {
    this.counts.set(call.api, (this.counts.get(call.api) ?? 0) + 1);
    this.recent.push(call.api);
  }

  /** Calls so far by API. */
  byApi(): ReadonlyMap<string, number> {
    return this.counts;
  }

  total(): number {
    let n = 0;
    for (const c of this.counts.values()) n += c;
    return n;
  }

  /** The calls since the previous takeRecent(), in order. */
  takeRecent(): string[] {
    const out = this.recent;
    this.recent = [];
    return out;
  }
}
