/**
 * The watch soak: 10,000 writes to ConfigMaps (creates, updates, deletes from 4 concurrent writers, each on a
 * keep-alive connection) followed by a reflector built from @kubernetes/client-node's Watch and list calls — what
 * every controller runs — against a server whose watch history holds only 200 events. Twenty times the reflector pauses while more than the history
 * is written, resumes from its old version, is answered 410 Gone and relists. It ends with 0 missed and 0
 * duplicated events: every write made while it watched arrives exactly once, in version order, and after every
 * relist and at the end its cache equals what the writers know they stored (and what the server lists).
 * Bounded: it stops by itself and must finish within 2 minutes (about 7–40 s on the development VM, with the load).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Agent } from 'node:https';
import { CoreV1Api, Watch, type V1ConfigMap } from '@kubernetes/client-node';
import { eventually, keepAliveAgent, raw, startTestServer, type TestServer } from '../unit/k8s-api/client-node-harness.js';

const totalWrites = 10_000;
const expiries = 20;
const watchHistory = 200;
/** Writes made while the reflector is paused: more than the history, so its version expires. */
const pausedWrites = watchHistory + 50;
/** Writes of live round r (0..expiries), made while the reflector watches: the rest, shared out evenly. */
const liveWrites = (r: number) => {
  const live = totalWrites - expiries * pausedWrites;
  return Math.floor(live / (expiries + 1)) + (r < live % (expiries + 1) ? 1 : 0);
};
const writerCount = 4;
const namesPerWriter = 60;
const ns = 'soak';
/** Well inside the tier's 150 s per file (docs/testing.md); the issue asks for under 3 minutes. */
const boundMs = 120_000;
/** Bookmarks every 50 ms (kube-apiserver: about a minute), so the short watches of a fast soak get them too. */
const bookmarkIntervalMs = 50;

/** What the writers know they stored: name → [resourceVersion, data.n]. */
type Model = Map<string, { rv: string; n: string }>;

/** The writers' connections: one keep-alive HTTPS connection each, as a controller keeps its own. */
interface Writers {
  server: TestServer;
  agents: Agent[];
}

async function send(w: Writers, agent: Agent, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Record<string, any>> {
  const res = await raw(w.server, path, { method, agent, ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': contentType } }) });
  if (res.status >= 300) throw new Error(`${method} ${path}: HTTP ${res.status}: ${res.text.slice(0, 300)}`);
  return res.json;
}

/**
 * `count` writes from the writers, each on its own name range so writes never conflict: a write to an absent name
 * creates it, else it is an update (a merge patch) three times in four and a delete otherwise. Each write's expected
 * watch event is recorded.
 */
async function write(w: Writers, model: Model, count: number, expected: string[]): Promise<void> {
  const path = `/api/v1/namespaces/${ns}/configmaps`;
  let left = count;
  await Promise.all(
    w.agents.map(async (agent, i) => {
      while (left > 0) {
        left--;
        const name = `cm-${i}-${Math.floor(Math.random() * namesPerWriter)}`;
        const n = String(Math.floor(Math.random() * 1e9));
        if (!model.has(name)) {
          const o = await send(w, agent, 'POST', path, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n } });
          model.set(name, { rv: o.metadata.resourceVersion, n });
          expected.push(`ADDED ${name} ${o.metadata.resourceVersion}`);
        } else if (Math.random() < 0.75) {
          const o = await send(w, agent, 'PATCH', `${path}/${name}`, { data: { n } }, 'application/merge-patch+json');
          model.set(name, { rv: o.metadata.resourceVersion, n });
          expected.push(`MODIFIED ${name} ${o.metadata.resourceVersion}`);
        } else {
          await send(w, agent, 'DELETE', `${path}/${name}`);
          model.delete(name);
          // a delete's version is known only from its event: matched by name
          expected.push(`DELETED ${name}`);
        }
      }
    }),
  );
}

/** A controller's reflector: list, then watch from the list's version; on 410 Gone, list again. */
class Reflector {
  cache: Model = new Map();
  version = '';
  /** Events of the current stretch of watching (since the last relist), as `OP name rv`. */
  delivered: string[] = [];
  gone = 0;
  relists = 0;
  bookmarks = 0;
  outOfOrder: string[] = [];
  private abort: AbortController | undefined;
  private paused = false;
  private failure: unknown;

  constructor(
    private readonly core: CoreV1Api,
    private readonly watch: Watch,
  ) {}

  async relist(): Promise<void> {
    const list = await this.core.listNamespacedConfigMap({ namespace: ns });
    this.cache = new Map(list.items.map((o) => [o.metadata!.name!, { rv: o.metadata!.resourceVersion!, n: o.data?.n ?? '' }]));
    this.version = list.metadata!.resourceVersion!;
    this.delivered = [];
    this.relists++;
  }

  async run(): Promise<void> {
    this.paused = false;
    this.abort = await this.watch.watch(
      `/api/v1/namespaces/${ns}/configmaps`,
      { resourceVersion: this.version, allowWatchBookmarks: true },
      (type: string, obj: V1ConfigMap & { code?: number }) => this.event(type, obj),
      (err: unknown) => this.done(err),
    );
  }

  pause(): void {
    this.paused = true;
    this.abort?.abort();
  }

  check(): void {
    if (this.failure !== undefined) throw this.failure;
  }

  private event(type: string, obj: V1ConfigMap & { code?: number }): void {
    if (type === 'ERROR') {
      if (obj.code === 410) this.gone++;
      else this.failure = new Error(`watch ERROR event: ${JSON.stringify(obj)}`);
      this.version = '';
      return;
    }
    const rv = obj.metadata!.resourceVersion!;
    // a bookmark may repeat the version of the last event; an event never does
    const behind = type === 'BOOKMARK' ? Number(rv) < Number(this.version) : Number(rv) <= Number(this.version);
    if (behind) this.outOfOrder.push(`${type} ${obj.metadata?.name ?? ''} ${rv} after ${this.version}`);
    this.version = rv;
    if (type === 'BOOKMARK') {
      this.bookmarks++;
      return;
    }
    const name = obj.metadata!.name!;
    this.delivered.push(`${type} ${name} ${rv}`);
    if (type === 'DELETED') this.cache.delete(name);
    else this.cache.set(name, { rv, n: obj.data?.n ?? '' });
  }

  /** The stream ended: relist after 410 (as an event or as the response), else resume from the version held. */
  private done(err: unknown): void {
    if (this.paused) return;
    const code = (err as { statusCode?: number } | null)?.statusCode;
    if (err && code !== 410) {
      this.failure = err;
      return;
    }
    if (code === 410) {
      this.gone++;
      this.version = '';
    }
    const again = this.version === '' ? this.relist().then(() => this.run()) : this.run();
    again.catch((e: unknown) => (this.failure = e));
  }
}

/** Events expected but not delivered, and delivered more often than written (deletes matched by name). */
function compare(expected: string[], delivered: string[]): { missed: string[]; duplicated: string[] } {
  const key = (e: string) => (e.startsWith('DELETED ') ? e.split(' ').slice(0, 2).join(' ') : e);
  const counts = new Map<string, number>();
  for (const e of expected) counts.set(key(e), (counts.get(key(e)) ?? 0) + 1);
  const duplicated: string[] = [];
  for (const e of delivered) {
    const left = counts.get(key(e)) ?? 0;
    if (left === 0) duplicated.push(e);
    else counts.set(key(e), left - 1);
  }
  const missed = [...counts].flatMap(([k, n]) => Array.from({ length: n }, () => k));
  return { missed, duplicated };
}

const asText = (m: Model) => [...m].map(([name, v]) => `${name}@${v.rv}=${v.n}`).sort();

test(`watch soak: ${totalWrites} writes, ${expiries} forced expiries, 0 missed and 0 duplicated events`, { timeout: 150_000 }, async () => {
  const started = performance.now();
  const server = await startTestServer({ watchHistory, bookmarkIntervalMs });
  try {
    const core = server.kc.makeApiClient(CoreV1Api);
    await core.createNamespace({ body: { metadata: { name: ns } } });
    const writers: Writers = { server, agents: Array.from({ length: writerCount }, () => keepAliveAgent(server)) };
    const model: Model = new Map();
    const reflector = new Reflector(core, new Watch(server.kc));
    await reflector.relist();
    await reflector.run();
    let writes = 0;
    const missed: string[] = [];
    const duplicated: string[] = [];
    const staleRelists: string[] = [];

    for (let round = 0; round <= expiries; round++) {
      // live: every write made while the reflector watches arrives once
      const expected: string[] = [];
      await write(writers, model, liveWrites(round), expected);
      writes += expected.length;
      const lastRv = Math.max(0, ...expected.map((e) => Number(e.split(' ')[2] ?? 0)));
      // a missed event shows as a count short at the end of the wait, not as a timeout
      await eventually(`round ${round}'s events`, () => {
        reflector.check();
        return reflector.delivered.length >= expected.length && Number(reflector.version) >= lastRv;
      }, 30_000).catch(() => undefined);
      const seen = compare(expected, reflector.delivered);
      missed.push(...seen.missed);
      duplicated.push(...seen.duplicated);
      assert.deepEqual(asText(reflector.cache), asText(model), `round ${round}: the watched cache equals what was written`);
      if (round === expiries) break;

      // paused: more writes than the history holds; on resuming, 410 Gone and a relist that equals the writes
      reflector.pause();
      const goneBefore = reflector.gone;
      const relistsBefore = reflector.relists;
      const unseen: string[] = [];
      await write(writers, model, pausedWrites, unseen);
      writes += unseen.length;
      await reflector.run();
      await eventually(`the relist in round ${round}`, () => {
        reflector.check();
        return reflector.relists > relistsBefore && reflector.version !== '';
      }, 30_000);
      assert.equal(reflector.gone, goneBefore + 1, `round ${round}: the resumed watch was answered 410 Gone once`);
      if (JSON.stringify(asText(reflector.cache)) !== JSON.stringify(asText(model))) staleRelists.push(`round ${round}`);
    }

    const listed = await core.listNamespacedConfigMap({ namespace: ns });
    const stored: Model = new Map(listed.items.map((o) => [o.metadata!.name!, { rv: o.metadata!.resourceVersion!, n: o.data?.n ?? '' }]));
    const ms = performance.now() - started;
    process.stdout.write(
      `soak: ${writes} writes, ${reflector.gone} expiries (410), ${reflector.relists} lists, ${missed.length} missed, ${duplicated.length} duplicated, ` +
        `${reflector.bookmarks} bookmarks, ${reflector.outOfOrder.length} out of order, ${(ms / 1000).toFixed(1)} s\n`,
    );
    assert.equal(writes, totalWrites);
    assert.equal(reflector.gone, expiries);
    assert.deepEqual(missed, []);
    assert.deepEqual(duplicated, []);
    assert.deepEqual(reflector.outOfOrder, []);
    assert.ok(reflector.bookmarks > 0, 'the watches asked for bookmarks and got some');
    assert.deepEqual(staleRelists, [], 'every relist equals what was written');
    assert.deepEqual(asText(reflector.cache), asText(stored), 'the cache equals what the server lists');
    assert.deepEqual(asText(stored), asText(model), 'the server stored what the writers wrote');
    assert.ok(ms < boundMs, `took ${Math.round(ms / 1000)} s; the bound is ${boundMs / 1000} s`);
    for (const a of writers.agents) a.destroy();
  } finally {
    await server.close();
  }
});
