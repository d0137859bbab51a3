/**
 * What a relist means to an informer's user: the objects it knew against the fresh list, as the events it missed.
 * Pure: objects are keyed by namespace/name and compared by resourceVersion.
 */

export interface KubeObjectLike {
  metadata?: { name?: string; namespace?: string; resourceVersion?: string; uid?: string };
}

export type WatchEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export function objectKey(o: KubeObjectLike): string {
  return `${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
}

/**
 * The events that turn `known` into `listed`: ADDED for new keys, MODIFIED for a changed resourceVersion, DELETED (with
 * the last known object) for keys gone. An object deleted and made again under the same name (new uid) is a DELETED
 * then an ADDED, as a watch would have shown it.
 */
export function relistEvents<T extends KubeObjectLike>(known: ReadonlyMap<string, T>, listed: readonly T[]): Array<{ type: WatchEventType; obj: T }> {
  const events: Array<{ type: WatchEventType; obj: T }> = [];
  const seen = new Set<string>();
  for (const obj of listed) {
    const key = objectKey(obj);
    seen.add(key);
    const old = known.get(key);
    if (!old) events.push({ type: 'ADDED', obj });
    else if (old.metadata?.uid !== undefined && obj.metadata?.uid !== undefined && old.metadata.uid !== obj.metadata.uid) events.push({ type: 'DELETED', obj: old }, { type: 'ADDED', obj });
    else if (old.metadata?.resourceVersion !== obj.metadata?.resourceVersion) events.push({ type: 'MODIFIED', obj });
  }
  const gone = [...known].filter(([key]) => !seen.has(key)).map(([, obj]) => ({ type: 'DELETED' as const, obj }));
  return [...gone, ...events];
}
