/**
 * What kubectl's tables show for built-in kinds, computed as the real server's printers compute them: ages,
 * `<none>` for absent values, label maps and selectors in their `k=v,k2=v2` form.
 */
import type { KubeObject, PrinterColumn } from '../types.js';
import { humanDuration } from '../table.js';
import { isRecord } from './fields.js';

/** The printers' translateTimestampSince. */
export function ageOf(timestamp: unknown, now = Date.now()): string {
  if (typeof timestamp !== 'string' || timestamp === '') return '<unknown>';
  const t = Date.parse(timestamp);
  return Number.isNaN(t) ? '<unknown>' : humanDuration(now - t);
}

export const ageColumn: PrinterColumn = {
  name: 'Age',
  type: 'string',
  description: 'CreationTimestamp is a timestamp representing the server time when this object was created.',
  cell: (obj) => ageOf(obj.metadata.creationTimestamp),
};

export function column(name: string, type: PrinterColumn['type'], cell: (obj: KubeObject) => unknown, priority = 0, description = ''): PrinterColumn {
  return { name, type, ...(description ? { description } : {}), ...(priority ? { priority } : {}), cell };
}

/** A nested field, or undefined when any step is missing. */
export function at(obj: unknown, ...path: Array<string | number>): unknown {
  let cur: unknown = obj;
  for (const step of path) {
    if (typeof step === 'number') cur = Array.isArray(cur) ? cur[step] : undefined;
    else cur = isRecord(cur) ? cur[step] : undefined;
    if (cur === undefined) return undefined;
  }
  return cur;
}

export function list(obj: unknown, ...path: string[]): unknown[] {
  const v = at(obj, ...path);
  return Array.isArray(v) ? v : [];
}

export function orNone(v: unknown): string {
  return typeof v === 'string' && v !== '' ? v : '<none>';
}

/** labels.FormatLabels: sorted `k=v` pairs, `<none>` when empty. */
export function formatLabels(m: unknown): string {
  if (!isRecord(m)) return '<none>';
  const pairs = Object.keys(m).sort().map((k) => `${k}=${String(m[k])}`);
  return pairs.length ? pairs.join(',') : '<none>';
}

/** metav1.FormatLabelSelector: `app=x,tier in (a,b)`, `<none>` for an empty selector. */
export function formatLabelSelector(sel: unknown): string {
  if (!isRecord(sel)) return '<none>';
  const parts: string[] = [];
  const labels = isRecord(sel.matchLabels) ? sel.matchLabels : {};
  for (const k of Object.keys(labels).sort()) parts.push(`${k}=${String(labels[k])}`);
  for (const e of Array.isArray(sel.matchExpressions) ? sel.matchExpressions : []) {
    if (!isRecord(e)) continue;
    const values = Array.isArray(e.values) ? [...e.values].map(String).sort() : [];
    switch (e.operator) {
      case 'In': parts.push(`${String(e.key)} in (${values.join(',')})`); break;
      case 'NotIn': parts.push(`${String(e.key)} notin (${values.join(',')})`); break;
      case 'Exists': parts.push(String(e.key)); break;
      case 'DoesNotExist': parts.push(`!${String(e.key)}`); break;
    }
  }
  return parts.length ? parts.join(',') : '<none>';
}
