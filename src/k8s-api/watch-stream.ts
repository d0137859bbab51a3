/**
 * A watch as the client sees it: a chunked JSON stream of `{"type":…,"object":…}` lines. It starts from the
 * requested version (or with the current objects as ADDED when none is given), filters by the selectors (an object
 * that stops or starts matching is sent as DELETED or ADDED, as the watch cache does), sends BOOKMARKs when asked,
 * ends after timeoutSeconds, and sends an ERROR event with a 410 Status when its version is no longer in the window.
 */
import type { ServerResponse } from 'node:http';
import { ObjectFilter, groupVersion, type ObjectApi } from './rest.js';
import type { StoreEvent } from './store.js';
import { toTable } from './table.js';
import { apiError, type KubeObject, type ResourceType } from './types.js';
import type { WatchHub, Watcher } from './watch.js';

export interface WatchRequest {
  type: ResourceType;
  namespace: string | undefined;
  labelSelector: string;
  fieldSelector: string;
  resourceVersion: string;
  timeoutSeconds: number | undefined;
  allowBookmarks: boolean;
  sendInitialEvents: boolean;
  /** Set when the watch asked for Tables: what each row includes of its object. */
  table: 'None' | 'Metadata' | 'Object' | undefined;
}

export interface WatchLimits {
  maxWatches: number;
  bookmarkIntervalMs: number;
  /** The longest a watch stays open (kube-apiserver: 30–60 minutes). */
  maxTimeoutSeconds: number;
  /** A watcher with this much unsent output is too slow and is ended with 410. */
  maxBufferedBytes: number;
  /** What all watches' unsent output may add up to: each open watch gets an equal share (at most maxBufferedBytes). */
  totalBufferedBytes: number;
  /**
   * How long an ended watch's unsent output may wait for its client to read it before the connection is cut: a
   * client that stopped reading must not keep its backlog in memory once its watch no longer counts as open.
   */
  drainMs: number;
}

/** The ERROR event's Status for an expired version, worded as the watch cache words it. */
function gone(requested: number, oldest: number) {
  return apiError(410, 'Expired', `too old resource version: ${requested} (${oldest})`);
}

/**
 * Serves one watch on res. Throws (before anything is written) the 400 for a bad version and the 429 when too many
 * watches are open.
 */
export function serveWatch(api: ObjectApi, hub: WatchHub, limits: WatchLimits, open: Set<() => void>, res: ServerResponse, w: WatchRequest): void {
  const filter = new ObjectFilter(w.type, w.labelSelector, w.fieldSelector);
  const rvText = w.resourceVersion;
  if (rvText !== '' && !/^\d+$/.test(rvText)) {
    throw apiError(400, 'BadRequest', `resourceVersion: Invalid value: ${JSON.stringify(rvText)}: must be a non-negative integer`);
  }
  if (open.size >= limits.maxWatches) {
    throw apiError(429, 'TooManyRequests', 'Too many requests, please try again later.', { retryAfterSeconds: 1 });
  }
  const resource = `${w.type.group}/${w.type.plural}`;
  let firstTable = true;
  let ended = false;
  /** The version of the last event sent: where a client that falls behind would have to resume from. */
  let sentRv = rvText === '' ? 0 : Number(rvText);

  res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-cache, private', 'transfer-encoding': 'chunked' });
  // a watch's headers go out at once, so a client knows the watch started before any event
  res.flushHeaders();

  const encode = (type: string, object: unknown) => {
    let out = object;
    if (w.table && (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED')) {
      const obj = object as KubeObject;
      const t = toTable(w.type, [obj], { resourceVersion: obj.metadata.resourceVersion ?? '' }, w.table) as Record<string, unknown>;
      if (!firstTable) t['columnDefinitions'] = [];
      firstTable = false;
      out = t;
    }
    return JSON.stringify({ type, object: out }) + '\n';
  };
  const write = (type: string, object: unknown): boolean => {
    if (ended) return false;
    // too slow is still holding more than its share of unsent output when the next event comes (so one large event
    // does not end a watch that keeps up): an equal share of the total for every open watch, at most the per-watch limit
    const behind = res.writableLength;
    res.write(encode(type, object));
    return behind <= Math.min(limits.maxBufferedBytes, limits.totalBufferedBytes / Math.max(1, open.size));
  };

  const end = () => {
    if (ended) return;
    ended = true;
    hub.stop(watcher);
    clearTimeout(timeout);
    clearInterval(bookmarks);
    clearTimeout(lastBookmark);
    open.delete(end);
    res.end();
    if (!res.writableFinished) {
      const cut = setTimeout(() => res.destroy(), limits.drainMs);
      cut.unref();
      res.once('finish', () => clearTimeout(cut));
    }
  };
  const expireWith = (status: ReturnType<typeof gone>) => {
    if (ended) return;
    res.write(encode('ERROR', status.status));
    end();
  };

  const watcher: Watcher = {
    resource,
    namespace: w.type.namespaced ? w.namespace : undefined,
    send(event: StoreEvent): boolean {
      // a watch from a version ahead of the store's waits for it: what comes before is not sent, as the watch cache's
      // watchers skip events up to the version they were asked to start from
      if (event.rv <= sentRv) return true;
      const now = filter.matches(event.object);
      let type: string = event.type;
      if (event.type === 'MODIFIED') {
        const before = event.previous ? filter.matches(event.previous) : now;
        if (!now && !before) return true;
        if (now && !before) type = 'ADDED';
        else if (!now && before) type = 'DELETED';
      } else if (!now) {
        return true;
      }
      sentRv = event.rv;
      return write(type, served(w.type, event.object));
    },
    expire(reason) {
      if (reason === 'gone') expireWith(gone(sentRv, hub.oldestRv()));
      else end();
    },
  };

  open.add(end);
  // the response closes when the client goes (its connection closes) as well as when the watch ends
  res.on('close', end);
  const seconds = Math.min(w.timeoutSeconds !== undefined && w.timeoutSeconds > 0 ? w.timeoutSeconds : limits.maxTimeoutSeconds, limits.maxTimeoutSeconds);
  const timeout = setTimeout(end, seconds * 1000);
  const sendBookmark = () => write('BOOKMARK', bookmark(w.type, String(api.store.currentRv())));
  const bookmarks = w.allowBookmarks ? setInterval(sendBookmark, limits.bookmarkIntervalMs) : undefined;
  bookmarks?.unref();
  // and one 2 s before the watch times out, as the watch cache sends it: the client resumes from a recent version
  // even when nothing it watches changed, rather than from one that may have left the window meanwhile (410)
  const lastBookmark = w.allowBookmarks && seconds > 2 ? setTimeout(sendBookmark, seconds * 1000 - 2000) : undefined;
  lastBookmark?.unref();

  const fromRv = rvText === '' ? undefined : Number(rvText);
  if (fromRv === undefined || fromRv === 0 || w.sendInitialEvents) {
    // the current state as ADDED events, then live writes: listed and subscribed in one turn, so nothing falls between
    const list = api.list(w.type, w.namespace, { labelSelector: w.labelSelector, fieldSelector: w.fieldSelector });
    for (const obj of list.items) {
      if (!write('ADDED', obj)) return expireWith(gone(Number(list.resourceVersion), hub.oldestRv()));
    }
    if (w.sendInitialEvents && w.allowBookmarks) {
      const mark = bookmark(w.type, list.resourceVersion);
      mark.metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
      write('BOOKMARK', mark);
    }
    hub.watchLive(watcher);
    return;
  }
  if (!hub.watchFrom(watcher, fromRv)) expireWith(gone(fromRv, hub.oldestRv()));
}

function served(type: ResourceType, obj: KubeObject): KubeObject {
  return { ...obj, apiVersion: groupVersion(type), kind: type.kind };
}

function bookmark(type: ResourceType, resourceVersion: string): KubeObject {
  return { kind: type.kind, apiVersion: groupVersion(type), metadata: { resourceVersion } };
}
