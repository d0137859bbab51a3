/**
 * podnet-only daemon settings that src/config does not carry (yet): the metrics bind address, the ENIConfig file
 * that stands in for the Kubernetes API, the leaked-ENI GC timers, and whether ipamd wires pods itself.
 * Parsed strictly; a bad value is a CONFIG_INVALID problem, like src/config's.
 */
import type { Env } from './cloud.js';
import { parseBindAddress, type BindAddress } from './http.js';

export type DataplaneMode = 'linux' | 'none';

export interface DaemonSettings {
  /** PODNET_METRICS_BIND_ADDRESS, default upstream's `:61678` (all interfaces). */
  metricsBind: BindAddress;
  /** PODNET_ENI_CONFIG_FILE: ENIConfigs and the node's labels/annotations (YAML), '' for none. */
  eniConfigFile: string;
  /** PODNET_LEAKED_ENI_INTERVAL_MS: leaked-ENI GC period (upstream 1 h). */
  leakedEniIntervalMs: number;
  /** PODNET_LEAKED_ENI_MIN_AGE_MS: a detached ENI younger than this is left alone (upstream 5 min). */
  leakedEniMinAgeMs: number;
  /** PODNET_DATAPLANE: `linux` wires pods and host rules (root); `none` only manages addresses. */
  dataplane: DataplaneMode;
}

export interface DaemonSettingProblem {
  variable: string;
  message: string;
  fix: string;
}

export const daemonSettingNames = [
  'PODNET_METRICS_BIND_ADDRESS',
  'PODNET_ENI_CONFIG_FILE',
  'PODNET_LEAKED_ENI_INTERVAL_MS',
  'PODNET_LEAKED_ENI_MIN_AGE_MS',
  'PODNET_DATAPLANE',
] as const;

export function readDaemonSettings(env: Env): { settings: DaemonSettings; problems: DaemonSettingProblem[] } {
  const problems: DaemonSettingProblem[] = [];
  const ms = (name: string, fallback: number, min: number): number => {
    const text = env[name];
    if (text === undefined || text === '') return fallback;
    if (!/^\d+$/.test(text) || Number(text) < min) {
      problems.push({ variable: name, message: `${name}=${text} is not a whole number of milliseconds ≥ ${min}`, fix: `e.g. ${name}=${fallback}` });
      return fallback;
    }
    return Number(text);
  };
  let metricsBind: BindAddress = { kind: 'tcp', host: '0.0.0.0', port: 61678 };
  const bindText = env.PODNET_METRICS_BIND_ADDRESS;
  if (bindText) {
    try {
      metricsBind = parseBindAddress(bindText, 'PODNET_METRICS_BIND_ADDRESS');
    } catch (err) {
      problems.push({ variable: 'PODNET_METRICS_BIND_ADDRESS', message: (err as Error).message, fix: 'e.g. 127.0.0.1:61678, or :0 for a free port' });
    }
  }
  const dataplaneText = env.PODNET_DATAPLANE ?? 'linux';
  if (dataplaneText !== 'linux' && dataplaneText !== 'none') {
    problems.push({ variable: 'PODNET_DATAPLANE', message: `PODNET_DATAPLANE=${dataplaneText} is neither linux nor none`, fix: 'linux wires pods (needs root); none only hands out addresses' });
  }
  return {
    settings: {
      metricsBind,
      eniConfigFile: env.PODNET_ENI_CONFIG_FILE ?? '',
      leakedEniIntervalMs: ms('PODNET_LEAKED_ENI_INTERVAL_MS', 3_600_000, 1),
      leakedEniMinAgeMs: ms('PODNET_LEAKED_ENI_MIN_AGE_MS', 300_000, 0),
      dataplane: dataplaneText === 'none' ? 'none' : 'linux',
    },
    problems,
  };
}
