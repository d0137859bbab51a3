/**
 * Event, in both its versions: v1 (what client-go's recorders write) and events.k8s.io/v1 — Kubernetes' validation
 * rules for each and the table the real event printer builds (no leading NAME, no AGE).
 */
import type { Cause, KubeObject, PrinterColumn, ResourceType } from '../types.js';
import { ageOf, at, column } from './columns.js';
import { defineKind, type KindSpec } from './define.js';
import { dns1123Subdomain, invalid, isRecord, qualifiedName, required } from './fields.js';

/** A field of an Event under its v1 name or its events.k8s.io/v1 name (one stored kind, two versions). */
function eventField(o: KubeObject, v1: string, eventsV1: string): unknown {
  return o[v1] ?? o[eventsV1];
}

function microAge(t: unknown): string {
  return typeof t === 'string' && t !== '' ? ageOf(t) : '<unknown>';
}

/** The event printer's cells: first and last seen, count, from either version's fields. */
function eventTimes(o: KubeObject): { first: string; last: string; count: number } {
  const firstTs = eventField(o, 'firstTimestamp', 'deprecatedFirstTimestamp');
  const first = firstTs ? microAge(firstTs) : microAge(o.eventTime);
  const lastTs = eventField(o, 'lastTimestamp', 'deprecatedLastTimestamp');
  let last = lastTs ? microAge(lastTs) : first;
  let count = Number(eventField(o, 'count', 'deprecatedCount') ?? 0);
  const series = o.series;
  if (isRecord(series)) {
    last = microAge(series.lastObservedTime);
    count = Number(series.count ?? 0);
  } else if (count === 0) {
    count = 1;
  }
  return { first, last, count };
}

function eventObject(o: KubeObject): string {
  const ref = eventField(o, 'involvedObject', 'regarding');
  const kind = String(at(ref, 'kind') ?? '').toLowerCase();
  const name = at(ref, 'name');
  return typeof name === 'string' && name !== '' ? `${kind}/${name}` : kind;
}

function eventSource(o: KubeObject): string {
  const source = eventField(o, 'source', 'deprecatedSource');
  const component = String(at(source, 'component') ?? '') || String(o.reportingController ?? o.reportingComponent ?? '');
  const instance = String(at(source, 'host') ?? '') || String(o.reportingInstance ?? '');
  if (component === '') return '<unknown>';
  return instance === '' ? component : `${component}, ${instance}`;
}

/** The real event printer's table: no leading NAME (it is a wide column at the end) and no AGE. */
function eventColumns(): PrinterColumn[] {
  return [
    column('Last Seen', 'string', (o) => eventTimes(o).last),
    column('Type', 'string', (o) => String(o.type ?? '')),
    column('Reason', 'string', (o) => String(o.reason ?? '')),
    column('Object', 'string', eventObject),
    column('Subobject', 'string', (o) => String(at(eventField(o, 'involvedObject', 'regarding'), 'fieldPath') ?? ''), 1),
    column('Source', 'string', eventSource, 1),
    column('Message', 'string', (o) => String(eventField(o, 'message', 'note') ?? '').trim()),
    column('First Seen', 'string', (o) => eventTimes(o).first, 1),
    column('Count', 'integer', (o) => eventTimes(o).count, 1),
    column('Name', 'string', (o) => String(o.metadata.name ?? ''), 1),
  ];
}

/**
 * legacyValidateEvent: what every Event must satisfy, in either version. An event without eventTime (the v1 way)
 * only has its namespace checked against its object's; one with eventTime needs the reporting fields too.
 */
function legacyEventCauses(obj: KubeObject, version: 'v1' | 'events.k8s.io/v1'): Cause[] {
  const causes: Cause[] = [];
  const ns = obj.metadata.namespace ?? '';
  const refField = version === 'v1' ? 'involvedObject' : 'regarding';
  const refNs = String(at(obj, refField, 'namespace') ?? '');
  if (!obj.eventTime) {
    if (refNs === '' ? ns !== '' && ns !== 'default' : ns !== refNs) causes.push(invalid('involvedObject.namespace', refNs, 'does not match event.namespace'));
  } else {
    if (refNs === '' && ns !== 'default' && ns !== 'kube-system') causes.push(invalid('involvedObject.namespace', refNs, 'does not match event.namespace'));
    const controllerField = version === 'v1' ? 'reportingComponent' : 'reportingController';
    const controller = String(obj[controllerField] ?? '');
    if (controller === '') causes.push(required(controllerField));
    for (const msg of qualifiedName(controller)) causes.push(invalid(controllerField, controller, msg));
    const limits: Array<[string, number]> = [['reportingInstance', 128], ['action', 128], ['reason', 128]];
    for (const [key, limit] of limits) {
      const value = String(obj[key] ?? '');
      if (value === '') causes.push(required(key));
      if (value.length > limit) causes.push(invalid(key, '', `can have at most ${limit} characters`));
    }
    const message = String(obj[version === 'v1' ? 'message' : 'note'] ?? '');
    if (message.length > 1024) causes.push(invalid('message', '', 'can have at most 1024 characters'));
  }
  return causes;
}

/** What the v1 and events.k8s.io/v1 Events share: names, columns, scope; the group, defaults and checks are each one's. */
function eventKind(spec: Pick<KindSpec, 'group' | 'defaults' | 'validate'>): ResourceType {
  return defineKind({
    version: 'v1',
    kind: 'Event',
    plural: 'events',
    namespaced: true,
    shortNames: ['ev'],
    columns: eventColumns(),
    noAge: true,
    nameCheck: dns1123Subdomain,
    ...spec,
  });
}

export function coreEventType(): ResourceType {
  return eventKind({
    group: '',
    defaults(obj) {
      if (obj.reportingComponent === undefined) obj.reportingComponent = '';
      if (obj.reportingInstance === undefined) obj.reportingInstance = '';
      if (obj.eventTime === undefined) obj.eventTime = null;
    },
    validate: (obj) => legacyEventCauses(obj, 'v1'),
  });
}

export function eventsEventType(): ResourceType {
  return eventKind({
    group: 'events.k8s.io',
    validate(obj) {
      const causes = legacyEventCauses(obj, 'events.k8s.io/v1');
      if (!obj.eventTime) causes.push(required('eventTime'));
      if (obj.type !== 'Normal' && obj.type !== 'Warning') causes.push(invalid('type', '', `has invalid value: ${String(obj.type ?? '')}`));
      for (const key of ['deprecatedFirstTimestamp', 'deprecatedLastTimestamp']) if (obj[key]) causes.push(invalid(key.replace('deprecatedF', 'f').replace('deprecatedL', 'l'), '', 'needs to be unset'));
      if (obj.deprecatedCount) causes.push(invalid('count', '', 'needs to be unset'));
      if (at(obj, 'deprecatedSource', 'component') || at(obj, 'deprecatedSource', 'host')) causes.push(invalid('source', '', 'needs to be unset'));
      return causes;
    },
  });
}
