/**
 * Small pieces every caller of client-node's typed APIs needs alike: the HTTP code and a one-line message of a failed
 * call, the header options of a JSON merge patch, and a core/v1 Event as `kubectl describe` lists it.
 */
import { ApiException, PatchStrategy, setHeaderOptions, type CoreV1Event } from '@kubernetes/client-node';
import { KubeRequestError } from './request.js';

/** The options a client-node patch call needs to send a JSON merge patch (RFC 7386). */
export const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

/** The HTTP status the API server answered a failed call with; undefined when there was no answer. */
export function apiCode(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  if (err instanceof KubeRequestError && err.status !== 0) return err.status;
  return undefined;
}

/** One line for a failed call: the code and the API server's Status message when it sent one, else what failed. */
export function describeKubeError(err: unknown): string {
  if (!(err instanceof ApiException)) return err instanceof Error ? err.message : String(err);
  const body: unknown = err.body;
  let text = typeof body === 'string' ? body : '';
  try {
    const status = (typeof body === 'string' ? JSON.parse(body) : body) as { message?: unknown } | null;
    if (typeof status?.message === 'string' && status.message !== '') return `${err.code}: ${status.message}`;
    text = '';
  } catch {
    // not JSON: the text itself may say what happened (a proxy's page, a plain-text error)
  }
  return text.trim() === '' ? `HTTP ${err.code}` : `HTTP ${err.code}: ${text.trim().slice(0, 200)}`;
}

export interface EventOf {
  /** The object the Event is about (its uid and resourceVersion are recorded when known). */
  involved: { kind: string; apiVersion: string; metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string } };
  type: 'Normal' | 'Warning';
  /** CamelCase, as Kubernetes' reasons: Scheduled, FailedScheduling, SuccessfulCreate … */
  reason: string;
  message: string;
  /** Who reports it: default-scheduler, daemonset-controller, kubelet. */
  component: string;
  /** The reporter's node, for a kubelet: source.host and reportingInstance. */
  host?: string;
  now?: Date;
}

// names are <object>.<hex time>, as client-go's recorder makes them; the counter and a per-process start keep two
// Events in one millisecond (from this process or another reporter) apart
let eventSeq = Math.floor(Math.random() * 1000);

/** A core/v1 Event for createNamespacedEvent, in the involved object's namespace (default for a cluster-scoped one). */
export function eventBody(e: EventOf): CoreV1Event {
  const namespace = e.involved.metadata.namespace ?? 'default';
  const when = e.now ?? new Date();
  const name = e.involved.metadata.name ?? '';
  return {
    metadata: { name: `${name}.${(when.getTime() * 1000 + (eventSeq++ % 1000)).toString(16)}`, namespace },
    involvedObject: { kind: e.involved.kind, apiVersion: e.involved.apiVersion, namespace, name, uid: e.involved.metadata.uid, resourceVersion: e.involved.metadata.resourceVersion },
    type: e.type,
    reason: e.reason,
    message: e.message,
    source: { component: e.component, ...(e.host !== undefined && { host: e.host }) },
    reportingComponent: e.component,
    reportingInstance: e.host ?? e.component,
    firstTimestamp: when,
    lastTimestamp: when,
    count: 1,
  };
}
