/**
 * watchObjects: an informer over one list path. It lists, then watches from the list's resourceVersion; when the
 * watch expires (410 Gone, as a server whose history moved on answers) it relists at once, and when the connection
 * drops or the server refuses (restart, network, RBAC) it tries again after a backoff capped at 5 s, from the last
 * version it saw (a restarted server no longer has it, answers 410, and the informer relists). A relist is turned
 * into the ADDED/MODIFIED/DELETED events the caller missed, so the caller's view converges without knowing a relist
 * happened. It never throws out to the caller: failures go to onConnection, and it retries until stop().
 */
import type { KubeConfig } from '@kubernetes/client-node';
import { getJson, KubeRequestError, queryPath, streamWatch } from './request.js';
import { objectKey, relistEvents, type KubeObjectLike, type WatchEventType } from './relist.js';

export interface WatchObjectsOptions<T> {
  /** The list path, e.g. `/api/v1/pods` or `/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs`. */
  path: string;
  fieldSelector?: string;
  labelSelector?: string;
  /** One change, in the order the server made them (after a relist: the differences, deletions first). */
  onEvent(type: WatchEventType, obj: T): void;
  /** After every complete list (the first one and each relist), with all objects; the events for it came first. */
  onSynced?(objs: T[]): void;
  /** When the connection comes up or goes down (and when the reason it is down changes), with a sentence why. */
  onConnection?(up: boolean, reason: string): void;
  /** Longest wait between attempts after failures (default 5,000 ms); the first retry waits 200 ms. */
  maxBackoffMs?: number;
  /** How long the server keeps one watch open before the informer opens the next (default: 5–10 min, random, as client-go). */
  watchTimeoutSeconds?: number;
}

export interface ObjectWatch<T> {
  /** Ends the watch; resolves when no request is left open and no callback will come. */
  stop(): Promise<void>;
  /** The objects as last seen. */
  list(): T[];
  /** Resolves after the first complete list (or at stop(), if none came before). */
  synced: Promise<void>;
}

const LIST_TIMEOUT_MS = 30_000;
const FIRST_BACKOFF_MS = 200;
/** A watch that ends (or expires) sooner than this counts as a failure for the backoff: no spinning on a server that ends every watch at once. */
const SHORTEST_HEALTHY_WATCH_MS = 1_000;

interface WatchStatus {
  code?: number;
  reason?: string;
  message?: string;
}

/** A watch ERROR event or HTTP status that means "your resourceVersion is too old": relist now. */
function isExpired(status: number | undefined, reason: string | undefined): boolean {
  return status === 410 || reason === 'Expired' || reason === 'Gone';
}

export function watchObjects<T extends KubeObjectLike>(kc: KubeConfig, o: WatchObjectsOptions<T>): ObjectWatch<T> {
  const cache = new Map<string, T>();
  const maxBackoff = o.maxBackoffMs ?? 5_000;
  let stopped = false;
  let current: AbortController | undefined;
  let wake: (() => void) | undefined;
  let connection: { up: boolean; reason: string } | undefined;
  let resolveSynced!: () => void;
  const synced = new Promise<void>((r) => (resolveSynced = r));

  // a caller's callback that throws must not end the informer; its failure is the caller's bug, so it is shown
  const guard = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (err) {
      process.stderr.write(`podnet k8s: the ${what} callback of the watch on ${o.path} threw: ${(err as Error).stack ?? String(err)}\n`);
    }
  };
  const report = (up: boolean, reason: string) => {
    if (connection && connection.up === up && (up || connection.reason === reason)) return;
    connection = { up, reason };
    if (o.onConnection) guard('onConnection', () => o.onConnection!(up, reason));
  };
  const emit = (type: WatchEventType, obj: T) => {
    if (type === 'DELETED') cache.delete(objectKey(obj));
    else cache.set(objectKey(obj), obj);
    guard('onEvent', () => o.onEvent(type, obj));
  };
  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    }).finally(() => (wake = undefined));
  const selectors = { labelSelector: o.labelSelector, fieldSelector: o.fieldSelector };

  async function list(signal: AbortSignal): Promise<string> {
    const answer = await getJson<{ items?: T[]; metadata?: { resourceVersion?: string } }>(kc, queryPath(o.path, selectors), AbortSignal.any([signal, AbortSignal.timeout(LIST_TIMEOUT_MS)]));
    const items = answer.items ?? [];
    if (stopped) return '';
    for (const e of relistEvents(cache, items)) emit(e.type, e.obj);
    report(true, `listed ${items.length} object(s) from ${o.path}`);
    if (o.onSynced) guard('onSynced', () => o.onSynced!([...cache.values()]));
    resolveSynced();
    return answer.metadata?.resourceVersion ?? '';
  }

  /** The version the next watch goes on from; undefined when a list is needed first. */
  let rv: string | undefined;

  /** One watch from rv, moving rv on with each event; a 410 (expired) clears rv so that the next round relists. */
  async function watch(from: string, controller: AbortController, onOpen: () => void): Promise<void> {
    const timeoutSeconds = o.watchTimeoutSeconds ?? Math.floor(300 + Math.random() * 300);
    // the server ends the watch after timeoutSeconds; a connection that went silent (a host gone) is ended here
    const deadline = setTimeout(() => controller.abort(), (timeoutSeconds + 30) * 1000);
    let error: WatchStatus | undefined;
    try {
      const path = queryPath(o.path, { ...selectors, watch: 'true', resourceVersion: from, allowWatchBookmarks: 'true', timeoutSeconds: String(timeoutSeconds) });
      await streamWatch(kc, path, controller.signal, onOpen, (e) => {
        const obj = e.object as T & WatchStatus;
        if (e.type === 'ERROR') {
          error = obj;
          controller.abort();
          return;
        }
        const version = obj.metadata?.resourceVersion;
        if (version) rv = version;
        if (e.type === 'ADDED' || e.type === 'MODIFIED' || e.type === 'DELETED') emit(e.type, obj);
      });
    } catch (err) {
      if (!error) throw err;
    } finally {
      clearTimeout(deadline);
    }
    // the server may end the stream after its ERROR event before the abort does: the event decides, either way
    if (error) throw new KubeRequestError(`watch ${o.path}: ${error.message ?? error.reason ?? 'an ERROR event'}`, error.code ?? 0, error.reason);
  }

  async function run(): Promise<void> {
    let backoff = 0;
    let quickExpiries = 0;
    const longer = () => (backoff = backoff === 0 ? FIRST_BACKOFF_MS : Math.min(maxBackoff, backoff * 2));
    while (!stopped) {
      if (backoff > 0) await sleep(backoff);
      if (stopped) break;
      const controller = new AbortController();
      current = controller;
      let watchStarted: number | undefined;
      try {
        if (rv === undefined) rv = await list(controller.signal);
        if (stopped) break;
        // a clean end (the server's timeoutSeconds) goes on from the last version seen, without a relist
        watchStarted = Date.now();
        await watch(rv, controller, () => report(true, `watching ${o.path}`));
      } catch (err) {
        if (stopped) break;
        if (err instanceof KubeRequestError && isExpired(err.status, err.reason)) {
          // what changed meanwhile is no longer in the server's window: relist and diff — at once, unless the
          // watches keep expiring as soon as they start
          rv = undefined;
          const quick = watchStarted === undefined || Date.now() - watchStarted < SHORTEST_HEALTHY_WATCH_MS;
          quickExpiries = quick ? quickExpiries + 1 : 0;
          if (quickExpiries > 1) longer();
          else backoff = 0;
          continue;
        }
        // a dropped connection or a refusal: try again after a backoff, from the last version seen (a server that
        // restarted meanwhile answers 410, and the informer relists then)
        report(false, err instanceof Error ? err.message : String(err));
      }
      // a watch that lasted is health: the backoff starts over; one that ended at once (or never opened) grows it
      if (watchStarted !== undefined && Date.now() - watchStarted >= SHORTEST_HEALTHY_WATCH_MS) {
        backoff = 0;
        quickExpiries = 0;
      } else {
        longer();
      }
    }
  }

  const running = run();
  return {
    synced,
    list: () => [...cache.values()],
    async stop() {
      stopped = true;
      current?.abort();
      wake?.();
      await running;
      resolveSynced();
    },
  };
}
