/**
 * ipamd's Prometheus metrics with upstream's names and labels (spec §6.6), on a registry of their own so several
 * daemons in one process (tests, the lab) do not share counters.
 */
import { Counter, Gauge, Histogram, Registry, Summary, collectDefaultMetrics } from 'prom-client';
import type { CloudCall, IpamMetrics } from '../ipam/index.js';
import type { ListenAddress } from '../lib/index.js';
import { startHttpEndpoint, type HttpEndpoint } from './http.js';

/** The functions upstream reports in `awscni_ipamd_action_inprogress{fn}` (spec §6.6). */
export type IpamdAction = 'nodeInit' | 'increaseDatastorePool' | 'decreaseDatastorePool' | 'nodeIPPoolReconcile';

export interface PoolGauges {
  eniMax: number;
  ipMax: number;
  enisAllocated: number;
  totalIps: number;
  assignedIps: number;
  totalPrefixes: number;
  assignedPerCidr: ReadonlyArray<{ cidr: string; assigned: number }>;
  assignedPerEni: ReadonlyArray<{ eni: string; assigned: number }>;
}

export class IpamdMetrics implements IpamMetrics {
  readonly registry = new Registry();

  readonly eniMax = this.gauge('awscni_eni_max', 'The maximum number of ENIs that can be attached to the instance, accounting for unmanaged ENIs');
  readonly ipMax = this.gauge('awscni_ip_max', 'The maximum number of IP addresses that can be allocated to the instance');
  readonly eniAllocated = this.gauge('awscni_eni_allocated', 'The number of ENIs allocated');
  readonly totalIpAddresses = this.gauge('awscni_total_ip_addresses', 'The total number of IP addresses');
  readonly assignedIpAddresses = this.gauge('awscni_assigned_ip_addresses', 'The number of IP addresses assigned to pods');
  readonly totalIpv4Prefixes = this.gauge('awscni_total_ipv4_prefixes', 'The total number of IPv4 prefixes');
  readonly assignedIpPerCidr = this.gauge('awscni_assigned_ip_per_cidr', 'The total number of IP addresses assigned per cidr', ['cidr']);
  readonly assignedIpPerEni = this.gauge('awscni_assigned_ip_per_eni', 'The number of IP addresses assigned to pods per ENI', ['eni']);
  readonly actionInProgress = this.gauge('awscni_ipamd_action_inprogress', 'The number of ipamd actions in progress', ['fn']);
  readonly connmarkBackend = this.gauge('awscni_connmark_backend', 'The connmark backend in use (1 = active)', ['backend']);
  readonly buildInfo = this.gauge('awscni_build_info', 'VPC CNI build information', ['version', 'goversion']);

  readonly ipamdErrors = this.counter('awscni_ipamd_error_count', 'The number of errors encountered in ipamd', ['fn']);
  readonly reconciles = this.counter('awscni_reconcile_count', 'The number of times ipamd reconciles on ENIs and IP/prefix addresses', ['fn']);
  readonly addIpRequests = this.counter('awscni_add_ip_req_count', 'The number of add IP address requests');
  readonly delIpRequests = this.counter('awscni_del_ip_req_count', 'The number of delete IP address requests', ['reason']);
  readonly podEniErrors = this.counter('awscni_pod_eni_error_count', 'The number of errors encountered for pod ENIs', ['fn']);
  readonly awsApiErrors = this.counter('awscni_aws_api_error_count', 'The number of times AWS API returns an error', ['api', 'error']);
  readonly awsUtilsErrors = this.counter('awscni_aws_utils_error_count', 'The number of errors not handled in awsutils library', ['fn', 'error']);
  readonly ec2ApiRequests = this.counter('awscni_ec2api_req_count', 'The number of requests made to EC2 APIs by CNI', ['fn']);
  readonly ec2ApiErrors = this.counter('awscni_ec2api_error_count', 'The number of failed EC2 APIs requests', ['fn']);
  readonly forceRemovedEnis = this.counter('awscni_force_removed_enis', 'The number of ENIs force removed while they had assigned pods');
  readonly forceRemovedIps = this.counter('awscni_force_removed_ips', 'The number of IPs force removed while they had assigned pods');
  readonly noAvailableIpAddresses = this.counter('awscni_no_available_ip_addresses', 'The number of pod IP assignments that fail due to no available IP addresses');
  readonly connmarkReconciles = this.counter('awscni_connmark_reconcile_total', 'The number of connmark rule reconciliations', ['result']);

  readonly awsApiLatency = new Summary({
    name: 'awscni_aws_api_latency_ms',
    help: 'AWS API call latency in ms',
    labelNames: ['api', 'error', 'status'],
    registers: [this.registry],
  });
  readonly startupDuration = new Histogram({
    name: 'awscni_ipamd_startup_duration_seconds',
    help: 'Time taken for ipamd to start up',
    labelNames: ['success', 'with_api_server', 'failure_reason'],
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });
  readonly nodeInitDuration = new Histogram({
    name: 'awscni_ipamd_node_initialization_duration_seconds',
    help: 'Time taken for nodeInit',
    labelNames: ['success'],
    buckets: [0.5, 1, 2, 5, 10, 30, 60, 120],
    registers: [this.registry],
  });

  constructor(opts: { version: string; processMetrics?: boolean }) {
    this.buildInfo.set({ version: opts.version, goversion: process.version }, 1);
    // upstream also exports Go runtime metrics; the Node process metrics are their counterpart
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry });
  }

  /** Runs `fn` with `awscni_ipamd_action_inprogress{fn=action}` raised while it runs. */
  async track<T>(action: IpamdAction, fn: () => Promise<T>): Promise<T> {
    this.actionInProgress.inc({ fn: action });
    try {
      return await fn();
    } finally {
      this.actionInProgress.dec({ fn: action });
    }
  }

  /**
   * One EC2 call: `awscni_ec2api_req_count{fn}`, its latency in `awscni_aws_api_latency_ms`, and when it failed
   * `awscni_ec2api_error_count{fn}` and `awscni_aws_api_error_count{api,error}`.
   */
  cloudCall(call: CloudCall): void {
    const { api } = call;
    this.ec2ApiRequests.inc({ fn: api });
    this.awsApiLatency.observe({ api, error: String(call.error !== undefined), status: String(call.status ?? 0) }, call.latencyMs);
    if (call.error === undefined) return;
    this.ec2ApiErrors.inc({ fn: api });
    this.awsApiErrors.inc({ api, error: call.error });
  }

  /** Sets the pool gauges from one datastore reading (per-CIDR and per-ENI series are replaced). */
  setPool(g: PoolGauges): void {
    this.eniMax.set(g.eniMax);
    this.ipMax.set(g.ipMax);
    this.eniAllocated.set(g.enisAllocated);
    this.totalIpAddresses.set(g.totalIps);
    this.assignedIpAddresses.set(g.assignedIps);
    this.totalIpv4Prefixes.set(g.totalPrefixes);
    this.assignedIpPerCidr.reset();
    for (const c of g.assignedPerCidr) this.assignedIpPerCidr.set({ cidr: c.cidr }, c.assigned);
    this.assignedIpPerEni.reset();
    for (const e of g.assignedPerEni) this.assignedIpPerEni.set({ eni: e.eni }, e.assigned);
  }

  /** Total of `awscni_ec2api_req_count` by API name: what the bench reports as EC2 calls. */
  async ec2CallCounts(): Promise<Record<string, number>> {
    const metric = await this.ec2ApiRequests.get();
    const out: Record<string, number> = {};
    for (const v of metric.values) out[String(v.labels.fn)] = v.value;
    return out;
  }

  private gauge(name: string, help: string, labelNames: string[] = []): Gauge {
    return new Gauge({ name, help, labelNames, registers: [this.registry] });
  }

  private counter(name: string, help: string, labelNames: string[] = []): Counter {
    return new Counter({ name, help, labelNames, registers: [this.registry] });
  }
}

/** Serves `GET /metrics` in Prometheus' text format (upstream: :61678, spec §6.6); other paths are 404. */
export function startMetricsEndpoint(bind: ListenAddress, metrics: IpamdMetrics): Promise<HttpEndpoint> {
  return startHttpEndpoint(bind, 'metrics', async (req, res, { path }) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { 'content-type': 'text/plain', allow: 'GET, HEAD' }).end('metrics are read with GET /metrics\n');
      return;
    }
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('metrics are at /metrics\n');
      return;
    }
    const body = await metrics.registry.metrics();
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(body);
  });
}
