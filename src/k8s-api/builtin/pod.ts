/**
 * Pod (v1): defaults (pod spec, status.phase Pending, qosClass), validation, the update rule that only images,
 * activeDeadlineSeconds, added tolerations and terminationGracePeriodSeconds may change, and the columns the real
 * server's pod printer computes (READY, STATUS with its waiting/terminated/Terminating reasons, RESTARTS).
 */
import { isIP } from 'node:net';
import { isDeepStrictEqual } from 'node:util';
import type { Cause, KubeObject, ResourceType } from '../types.js';
import { ageOf, at, column, list, orNone } from './columns.js';
import { defineKind } from './define.js';
import { dns1123Subdomain, duplicate, forbidden, invalid, isRecord } from './fields.js';
import { defaultPodOnly, defaultPodSpec, defaultTolerationSeconds, validatePodSpec } from './podspec.js';

type Obj = Record<string, unknown>;

function resourcesOf(c: unknown, kind: 'requests' | 'limits'): Obj {
  const r = at(c, 'resources', kind);
  return isRecord(r) ? r : {};
}

/** GetPodQOS: BestEffort without any request or limit, Guaranteed when every container's cpu and memory limits equal its requests. */
function qosClass(spec: Obj): string {
  const containers = [...list(spec, 'containers'), ...list(spec, 'initContainers')];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const requests = resourcesOf(c, 'requests');
    const limits = resourcesOf(c, 'limits');
    for (const r of ['cpu', 'memory']) {
      if (requests[r] !== undefined || limits[r] !== undefined) any = true;
      if (limits[r] === undefined || (requests[r] !== undefined && String(requests[r]) !== String(limits[r]))) guaranteed = false;
    }
  }
  if (!any) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

function defaultPod(obj: KubeObject): void {
  if (!isRecord(obj.spec)) return;
  defaultPodSpec(obj.spec, 'Pod');
  defaultPodOnly(obj.spec);
  defaultTolerationSeconds(obj.spec);
  const status = isRecord(obj.status) ? obj.status : (obj.status = {});
  if (status.phase === undefined) status.phase = 'Pending';
  if (status.qosClass === undefined) status.qosClass = qosClass(obj.spec);
}

const updatableFields =
  'pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)';

/** ValidatePodUpdate's rule on the spec: munge the allowed changes back, and what still differs is forbidden. */
function validatePodUpdate(obj: KubeObject, old: KubeObject): Cause[] {
  const spec = structuredClone(isRecord(obj.spec) ? obj.spec : {});
  const oldSpec = isRecord(old.spec) ? old.spec : {};
  for (const key of ['containers', 'initContainers']) {
    const now = spec[key];
    const was = oldSpec[key];
    if (Array.isArray(now) && Array.isArray(was) && now.length === was.length) {
      now.forEach((c, i) => {
        if (isRecord(c) && isRecord(was[i])) c.image = was[i].image;
      });
    }
  }
  const tolerationsKept = list(oldSpec, 'tolerations').every((t) => list(spec, 'tolerations').some((n) => isDeepStrictEqual(n, t)));
  if (tolerationsKept) spec.tolerations = oldSpec.tolerations;
  for (const key of ['activeDeadlineSeconds', 'terminationGracePeriodSeconds']) spec[key] = oldSpec[key];
  if (spec.tolerations === undefined) delete spec.tolerations;
  for (const key of Object.keys(spec)) if (spec[key] === undefined) delete spec[key];
  if (isDeepStrictEqual(spec, oldSpec)) return [];
  const changed = [...new Set([...Object.keys(spec), ...Object.keys(oldSpec)])].filter((k) => !isDeepStrictEqual(spec[k], oldSpec[k])).sort();
  return [forbidden('spec', `${updatableFields}\n  changed: ${changed.map((k) => `spec.${k}`).join(', ')}`)];
}

const ipMessage = 'must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)';

/** validatePodIPs / validateHostIPs: each a valid IP, no duplicates, at most one per family. */
function validateStatusIPs(status: unknown, listKey: 'podIPs' | 'hostIPs'): Cause[] {
  const field = `status.${listKey}`;
  const ips = list(status, listKey).map((x) => at(x, 'ip'));
  const causes: Cause[] = [];
  const seen = new Set<unknown>();
  ips.forEach((ip, i) => {
    if (typeof ip !== 'string' || isIP(ip) === 0) causes.push(invalid(`${field}[${i}]`, ip ?? '', ipMessage));
    else if (seen.has(ip)) causes.push(duplicate(`${field}[${i}]`, ip));
    seen.add(ip);
  });
  const families = ips.filter((ip): ip is string => typeof ip === 'string').map((ip) => isIP(ip));
  if (families.filter((f) => f === 4).length > 1 || families.filter((f) => f === 6).length > 1) {
    causes.push(invalid(field, ips, 'may specify no more than one IP for each IP family'));
  }
  return causes;
}

function state(cs: unknown, which: 'waiting' | 'terminated' | 'running'): Obj | undefined {
  const s = at(cs, 'state', which);
  return isRecord(s) ? s : undefined;
}

function exitReason(prefix: string, t: Obj): string {
  if (typeof t.signal === 'number' && t.signal !== 0) return `${prefix}Signal:${t.signal}`;
  return `${prefix}ExitCode:${typeof t.exitCode === 'number' ? t.exitCode : 0}`;
}

/** The pod printer: READY, STATUS and RESTARTS cells, computed together as printPod does. */
export function podSummary(pod: KubeObject, now = Date.now()): { ready: string; status: string; restarts: string } {
  const status = isRecord(pod.status) ? pod.status : {};
  const phase = typeof status.phase === 'string' ? status.phase : '';
  let reason = typeof status.reason === 'string' && status.reason !== '' ? status.reason : phase;
  const total = list(pod.spec, 'containers').length;
  let ready = 0;
  let restarts = 0;
  let lastRestart = 0;
  const noteRestart = (cs: unknown): void => {
    restarts += typeof at(cs, 'restartCount') === 'number' ? (at(cs, 'restartCount') as number) : 0;
    const finished = at(cs, 'lastState', 'terminated', 'finishedAt');
    if (typeof finished === 'string') lastRestart = Math.max(lastRestart, Date.parse(finished) || 0);
  };
  let initializing = false;
  const inits = list(status, 'initContainerStatuses');
  const initCount = list(pod.spec, 'initContainers').length;
  for (let i = 0; i < inits.length; i++) {
    const cs = inits[i];
    noteRestart(cs);
    const terminated = state(cs, 'terminated');
    const waiting = state(cs, 'waiting');
    if (terminated && (terminated.exitCode ?? 0) === 0) continue;
    if (terminated) reason = typeof terminated.reason === 'string' && terminated.reason ? `Init:${terminated.reason}` : exitReason('Init:', terminated);
    else if (waiting && typeof waiting.reason === 'string' && waiting.reason && waiting.reason !== 'PodInitializing') reason = `Init:${waiting.reason}`;
    else reason = `Init:${i}/${initCount}`;
    initializing = true;
    break;
  }
  if (!initializing) {
    restarts = 0;
    lastRestart = 0;
    let hasRunning = false;
    const statuses = list(status, 'containerStatuses');
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      noteRestart(cs);
      const waiting = state(cs, 'waiting');
      const terminated = state(cs, 'terminated');
      if (waiting && typeof waiting.reason === 'string' && waiting.reason) reason = waiting.reason;
      else if (terminated && typeof terminated.reason === 'string' && terminated.reason) reason = terminated.reason;
      else if (terminated) reason = exitReason('', terminated);
      else if (at(cs, 'ready') === true && state(cs, 'running')) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === 'Completed' && hasRunning) {
      const readyCondition = list(status, 'conditions').some((c) => at(c, 'type') === 'Ready' && at(c, 'status') === 'True');
      reason = readyCondition ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata.deletionTimestamp && status.reason === 'NodeLost') reason = 'Unknown';
  else if (pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') reason = 'Terminating';
  const restartsCell = lastRestart > 0 ? `${restarts} (${ageOf(new Date(lastRestart).toISOString(), now)} ago)` : String(restarts);
  return { ready: `${ready}/${total}`, status: reason, restarts: restartsCell };
}

function readinessGates(pod: KubeObject): string {
  const gates = list(pod.spec, 'readinessGates');
  if (gates.length === 0) return '<none>';
  const conditions = list(pod.status, 'conditions');
  const trueCount = gates.filter((g) => conditions.some((c) => at(c, 'type') === at(g, 'conditionType') && at(c, 'status') === 'True')).length;
  return `${trueCount}/${gates.length}`;
}

export function podType(): ResourceType {
  return defineKind({
    group: '',
    version: 'v1',
    kind: 'Pod',
    plural: 'pods',
    namespaced: true,
    shortNames: ['po'],
    categories: ['all'],
    // only what the server serves (the real list adds eviction, ephemeralcontainers, exec, log, …)
    subresources: ['binding', 'status'],
    columns: [
      column('Ready', 'string', (p) => podSummary(p).ready, 0, 'The aggregate readiness state of this pod for accepting traffic.'),
      column('Status', 'string', (p) => podSummary(p).status, 0, 'The aggregate status of the containers in this pod.'),
      column('Restarts', 'string', (p) => podSummary(p).restarts, 0, 'The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.'),
      column('IP', 'string', (p) => orNone(at(p, 'status', 'podIP')), 1, 'IP address allocated to the pod. Routable at least within the cluster. Empty if not yet allocated.'),
      column('Node', 'string', (p) => orNone(at(p, 'spec', 'nodeName')), 1, 'NodeName is a request to schedule this pod onto a specific node.'),
      column('Nominated Node', 'string', (p) => orNone(at(p, 'status', 'nominatedNodeName')), 1, 'nominatedNodeName is set only when this pod preempts other pods on the node.'),
      column('Readiness Gates', 'string', readinessGates, 1, 'If specified, all readiness gates will be evaluated for pod readiness.'),
    ],
    ageAt: 3,
    nameCheck: dns1123Subdomain,
    defaults: defaultPod,
    validate(obj, old) {
      const causes = validatePodSpec(obj.spec, 'spec');
      causes.push(...validateStatusIPs(obj.status, 'podIPs'), ...validateStatusIPs(obj.status, 'hostIPs'));
      if (old && causes.length === 0) causes.push(...validatePodUpdate(obj, old));
      return causes;
    },
  });
}
