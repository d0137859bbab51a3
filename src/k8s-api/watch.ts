/**
 * The watch hub: the last `history` writes kept in memory (the watch cache's window), and the live watchers. A
 * watch from version N gets every write after N from the window, then the live ones; when N has left the window (or
 * predates this process: history does not survive a restart) it gets 410 Gone, as from an etcd compaction, and the
 * client relists. A watcher too slow to take its events is also sent 410, rather than holding memory without end.
 */
import type { StoreEvent } from './store.js';

export interface Watcher {
  /** Which writes it wants: the resource, and the namespace ('' for every namespace when namespaced). */
  resource: string;
  namespace: string | undefined;
  /** Receives each write in order; returns false when it cannot take more (its connection is backed up). */
  send(event: StoreEvent): boolean;
  /** Ends the watch because its version expired (410) or the server stops. */
  expire(reason: 'gone' | 'closing'): void;
}

export class WatchHub {
  private readonly events: StoreEvent[] = [];
  /** Every version up to and including this one is no longer in the window. */
  private compactedRv: number;
  private readonly watchers = new Set<Watcher>();

  private readonly history: number;
  /** The window's events' `bytes` added up: large objects shorten the window rather than grow memory without end. */
  private bytes = 0;

  constructor(
    history: number,
    startRv: number,
    private readonly maxBytes = Infinity,
  ) {
    // the window holds at least the last write, so a watch from the current version always starts
    this.history = Math.max(1, Math.floor(history));
    this.compactedRv = startRv;
  }

  get size(): number {
    return this.watchers.size;
  }

  /** The oldest version a watch may still start from. */
  oldestRv(): number {
    return this.compactedRv;
  }

  publish(event: StoreEvent): void {
    this.events.push(event);
    this.bytes += event.bytes ?? 0;
    if (this.events.length > this.history || this.bytes > this.maxBytes) this.compact();
    for (const w of this.watchers) {
      if (!matches(w, event)) continue;
      if (!w.send(event)) {
        this.watchers.delete(w);
        w.expire('gone');
      }
    }
  }

  /**
   * Drops the oldest writes, in batches so that a full window costs one splice per tenth of it rather than one per
   * write: a tenth of the count when over it, and down to nine tenths of the byte budget when over that. The last
   * write always stays.
   */
  private compact(): void {
    const drop = this.events.length > this.history ? Math.max(1, Math.floor(this.history / 10)) : 0;
    let n = 0;
    let bytes = this.bytes;
    while (n < this.events.length - 1 && (n < drop || bytes > this.maxBytes * 0.9)) bytes -= this.events[n++]!.bytes ?? 0;
    if (n === 0) return;
    const dropped = this.events.splice(0, n);
    this.bytes = bytes;
    this.compactedRv = dropped[dropped.length - 1]!.rv;
  }

  /**
   * Starts w from version fromRv: the window's writes after it are sent at once, then w gets live writes. Returns
   * false (w is not added) when fromRv is older than the window.
   */
  watchFrom(w: Watcher, fromRv: number): boolean {
    if (fromRv < this.compactedRv) return false;
    for (const event of this.events) {
      if (event.rv <= fromRv || !matches(w, event)) continue;
      if (!w.send(event)) return false;
    }
    this.watchers.add(w);
    return true;
  }

  /** Starts w with live writes only (its initial state was sent from a list). */
  watchLive(w: Watcher): void {
    this.watchers.add(w);
  }

  stop(w: Watcher): void {
    this.watchers.delete(w);
  }

  /** Ends every watch (server shutdown). */
  closeAll(): void {
    for (const w of [...this.watchers]) {
      this.watchers.delete(w);
      w.expire('closing');
    }
  }
}

function matches(w: Watcher, event: StoreEvent): boolean {
  return event.resource === w.resource && (w.namespace === undefined || event.namespace === w.namespace);
}
