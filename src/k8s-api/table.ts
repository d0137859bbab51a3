/**
 * Server-side printing: `kubectl get` asks for a meta.k8s.io/v1 Table (Accept `application/json;as=Table;v=v1;
 * g=meta.k8s.io`) and prints its columns as they come: NAME and the type's printer columns. A `date` column's cell is
 * the time since the timestamp the column reads (`5m`), as the API server prints CRD date columns.
 * Pure: the clock comes in as an argument.
 */
import { admitsJson, parseAccept } from './media.js';
import type { KubeObject, PrinterColumn, ResourceType } from './types.js';

/** Whether the request asks for a Table (meta.k8s.io/v1) before any other representation it accepts. */
export function wantsTable(accept: string): boolean {
  for (const range of parseAccept(accept)) {
    if (!admitsJson(range)) continue;
    const { as, g, v } = range.params;
    if (as === undefined) return false;
    if (as === 'Table' && g === 'meta.k8s.io' && v === 'v1') return true;
  }
  return false;
}

/** Kubernetes' column descriptions for the two columns every table has. */
const nameColumn = {
  name: 'Name',
  type: 'string',
  format: 'name',
  description: 'Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names',
  priority: 0,
};
/**
 * The columns before the type's own: NAME, unless the type places a Name column itself (events print LAST SEEN first
 * and NAME only with -o wide). AGE is never added here: each type lists it where its real table has it (and kinds
 * whose real table has none, such as roles, do not), as CRDs list the `Age` column the API server defaults for them.
 */
export function leadingColumns(type: ResourceType): Array<typeof nameColumn> {
  return type.printerColumns.some((c) => c.name.toLowerCase() === 'name') ? [] : [nameColumn];
}

/**
 * Kubernetes' human duration (`duration.HumanDuration`): 2s … 119s, then 2m5s … 9m59s, 10m … 179m, 3h … 7h59m,
 * 8h … 47h, 2d … 7d23h, 8d … 729d, 2y … 7y364d, then years.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) return hours % 24 === 0 ? `${days}d` : `${days}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) return days % 365 === 0 ? `${years}y` : `${years}y${days % 365}d`;
  return `${years}y`;
}

/** A date cell as the API server prints it: the time since then, `<unknown>` when unset, `<invalid>` when unparsable. */
function dateCell(value: unknown, now: number): string {
  if (value === undefined || value === null || value === '') return '<unknown>';
  const t = typeof value === 'string' ? Date.parse(value) : NaN;
  return Number.isNaN(t) ? '<invalid>' : humanDuration(now - t);
}

/** A cell as JSON carries it: dates as ages; a missing value is null (kubectl prints `<none>`). */
function cellValue(column: PrinterColumn, obj: KubeObject, now: number): unknown {
  const value = column.cell(obj);
  if (column.type === 'date') return dateCell(value, now);
  return value ?? null;
}

/** What a row carries besides its cells, as `?includeObject=` asks (Metadata is kube-apiserver's default). */
function rowObject(obj: KubeObject, includeObject: 'None' | 'Metadata' | 'Object'): Record<string, unknown> {
  if (includeObject === 'None') return {};
  if (includeObject === 'Object') return { object: obj };
  return { object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: obj.metadata } };
}

/**
 * The meta.k8s.io/v1 Table for objects of one type. A watch that asked for a Table gets one such Table per event
 * (one row), with columnDefinitions only in the first event, as kube-apiserver sends it.
 */
export function toTable(
  type: ResourceType,
  objects: KubeObject[],
  listMeta: { resourceVersion: string; continue?: string },
  includeObject: 'None' | 'Metadata' | 'Object',
  now: number = Date.now(),
): object {
  const columns = type.printerColumns;
  const leading = leadingColumns(type);
  const metadata: Record<string, string> = { resourceVersion: listMeta.resourceVersion };
  if (listMeta.continue) metadata.continue = listMeta.continue;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: [
      ...leading,
      ...columns.map((c) => ({ name: c.name, type: c.type, format: c.format ?? '', description: c.description ?? '', priority: c.priority ?? 0 })),
    ],
    rows: objects.map((obj) => ({
      cells: [...leading.map(() => obj.metadata.name ?? ''), ...columns.map((c) => cellValue(c, obj, now))],
      ...rowObject(obj, includeObject),
    })),
  };
}
