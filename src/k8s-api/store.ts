/**
 * The API server's objects in SQLite: one row per object, keyed by resource (`apps/daemonsets`, `/pods` for the core
 * group), namespace ('' when cluster scoped) and name, and one global resourceVersion counter that every write
 * advances (it survives a restart, as etcd's revision does). Writes are synchronous (better-sqlite3), so a handler's
 * read-modify-write never interleaves with another's. Each write is handed to `onWrite` (the watch hub).
 */
import Database from 'better-sqlite3';
import type { KubeObject } from './types.js';

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

/** A committed write, as watch sends it: the object carries the write's resourceVersion. */
export interface StoreEvent {
  type: WatchEventType;
  resource: string;
  namespace: string;
  rv: number;
  object: KubeObject;
  /** For MODIFIED: the object before the write (a filtered watch sends an object leaving its selector as DELETED). */
  previous?: KubeObject;
  /** About how much memory the event holds (its objects' JSON length): what the watch window's byte budget counts. */
  bytes?: number;
}

/** Where an object lives: its resource key (`group/plural`), namespace ('' for cluster scoped) and name. */
export interface ObjectKey {
  resource: string;
  namespace: string;
  name: string;
}

/** `apps/daemonsets`, `/pods`: how objects of one resource are filed, whichever version they are served in. */
export function resourceKey(group: string, plural: string): string {
  return `${group}/${plural}`;
}

interface ObjectRow {
  body: string;
}

export class ObjectStore {
  private rv: number;
  private readonly readRv: Database.Statement<[], { value: string }>;
  private readonly writeRv: Database.Statement<[string]>;
  private readonly selectOne: Database.Statement<[string, string, string], ObjectRow>;
  private readonly upsert: Database.Statement<[string, string, string, number, string]>;
  private readonly deleteOne: Database.Statement<[string, string, string]>;
  private readonly readMeta: Database.Statement<[string], { value: string }>;
  private readonly writeMeta: Database.Statement<[string, string]>;
  /** Called after each committed write, in order. */
  onWrite: (event: StoreEvent) => void = () => undefined;

  constructor(readonly db: Database.Database) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.exec(`
      CREATE TABLE IF NOT EXISTS k8s_objects (
        resource TEXT NOT NULL,
        namespace TEXT NOT NULL,
        name TEXT NOT NULL,
        rv INTEGER NOT NULL,
        body TEXT NOT NULL,
        PRIMARY KEY (resource, namespace, name)
      ) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS k8s_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    `);
    this.readMeta = db.prepare('SELECT value FROM k8s_meta WHERE key = ?');
    this.writeMeta = db.prepare('INSERT INTO k8s_meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
    this.readRv = db.prepare("SELECT value FROM k8s_meta WHERE key = 'resourceVersion'");
    this.writeRv = db.prepare("INSERT INTO k8s_meta (key, value) VALUES ('resourceVersion', ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value");
    this.selectOne = db.prepare('SELECT body FROM k8s_objects WHERE resource = ? AND namespace = ? AND name = ?');
    this.upsert = db.prepare(
      'INSERT INTO k8s_objects (resource, namespace, name, rv, body) VALUES (?, ?, ?, ?, ?) ON CONFLICT (resource, namespace, name) DO UPDATE SET rv = excluded.rv, body = excluded.body',
    );
    this.deleteOne = db.prepare('DELETE FROM k8s_objects WHERE resource = ? AND namespace = ? AND name = ?');
    // a fresh store starts at 1, as a new cluster's first objects have small versions
    this.rv = Number(this.readRv.get()?.value ?? '1');
  }

  /** The version of the last write: what a list's metadata.resourceVersion says. */
  currentRv(): number {
    return this.rv;
  }

  get(key: ObjectKey): KubeObject | undefined {
    const row = this.selectOne.get(key.resource, key.namespace, key.name);
    return row ? (JSON.parse(row.body) as KubeObject) : undefined;
  }

  /**
   * Objects of a resource in namespace order then name order: in one namespace, or in all of them (namespace
   * undefined); after `after` (a continue token's position). Filtering and paging (limit) happen in the caller.
   */
  *scan(resource: string, namespace: string | undefined, after?: { namespace: string; name: string }): Generator<KubeObject> {
    const conditions = ['resource = ?'];
    const params: unknown[] = [resource];
    if (namespace !== undefined) {
      conditions.push('namespace = ?');
      params.push(namespace);
    }
    if (after) {
      conditions.push('(namespace > ? OR (namespace = ? AND name > ?))');
      params.push(after.namespace, after.namespace, after.name);
    }
    const rows = this.db.prepare(`SELECT body FROM k8s_objects WHERE ${conditions.join(' AND ')} ORDER BY namespace, name`).iterate(...params) as IterableIterator<ObjectRow>;
    for (const row of rows) yield JSON.parse(row.body) as KubeObject;
  }

  /** Whether any object is filed in namespace (any resource): namespace deletion waits for none to be left. */
  namespaceIsEmpty(namespace: string): boolean {
    return this.db.prepare('SELECT 1 FROM k8s_objects WHERE namespace = ? LIMIT 1').get(namespace) === undefined;
  }

  /** The resources that have objects in namespace. */
  resourcesIn(namespace: string): string[] {
    return (this.db.prepare('SELECT DISTINCT resource FROM k8s_objects WHERE namespace = ?').all(namespace) as Array<{ resource: string }>).map((r) => r.resource);
  }

  /** Stores obj (created or replaced) at a new resourceVersion, which it returns in the object it gives back. */
  put(resource: string, obj: KubeObject, type: 'ADDED' | 'MODIFIED', previous?: KubeObject): KubeObject {
    const rv = this.rv + 1;
    const stored: KubeObject = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    const namespace = stored.metadata.namespace ?? '';
    const body = JSON.stringify(stored);
    this.db.transaction(() => {
      this.upsert.run(resource, namespace, stored.metadata.name!, rv, body);
      this.writeRv.run(String(rv));
    })();
    this.rv = rv;
    // the previous object is counted as the same size as the new one rather than serialized again
    this.onWrite({ type, resource, namespace, rv, object: stored, ...(previous ? { previous } : {}), bytes: previous ? 2 * body.length : body.length });
    return stored;
  }

  /** Removes the object; the DELETED event (and the answer) carries the deletion's own resourceVersion. */
  remove(resource: string, obj: KubeObject): KubeObject {
    const rv = this.rv + 1;
    const namespace = obj.metadata.namespace ?? '';
    const gone: KubeObject = { ...obj, metadata: { ...obj.metadata, resourceVersion: String(rv) } };
    this.db.transaction(() => {
      this.deleteOne.run(resource, namespace, obj.metadata.name!);
      this.writeRv.run(String(rv));
    })();
    this.rv = rv;
    this.onWrite({ type: 'DELETED', resource, namespace, rv, object: gone, bytes: JSON.stringify(gone).length });
    return gone;
  }

  /** Every object of a resource, in every namespace: a CRD's objects go when the CRD goes. */
  removeAll(resource: string): void {
    for (const obj of [...this.scan(resource, undefined)]) this.remove(resource, obj);
  }

  getMeta(key: string): string | undefined {
    return this.readMeta.get(key)?.value;
  }

  setMeta(key: string, value: string): void {
    this.writeMeta.run(key, value);
  }
}
