/**
 * The lab's Kubernetes API server under load, over HTTPS with bearer tokens as every client reaches it: p50/p99
 * latency and rate of ConfigMap creates and merge patches from N concurrent clients (each with one keep-alive
 * connection, as Go clients and kubectl keep theirs), list throughput (objects/s of full lists of every object),
 * and watch throughput: the objects/s of watches that start with every object as an ADDED event (what an informer
 * without a list gets), and the events/s delivered to N watchers while the same clients patch. The server runs in this
 * process with its state in a temporary directory, removed at the end. Prints a table; asserts nothing.
 *
 *   npm run bench:k8s-api -- [--clients N] [--objects M] [--seconds S]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatTable } from '../src/cli/output.js';
import { startKubeApiServer } from '../src/k8s-api/index.js';
import { numberFlag, percentile } from './stats.js';

const clients = numberFlag('clients', 20, { whole: true });
const objects = numberFlag('objects', 2000, { whole: true });
const seconds = numberFlag('seconds', 3);

const dir = mkdtempSync(join(tmpdir(), 'podnet-bench-k8s-'));
// removed however the bench ends, a failed request included
process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
const server = await startKubeApiServer({ listen: '127.0.0.1:0', dbPath: join(dir, 'k8s.db'), maxWatches: clients * 2 + 10, log: () => undefined });

interface Answer {
  status: number;
  body: string;
}

/** One HTTPS request on agent, answered in full. */
function call(agent: Agent, method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Answer> {
  const text = body === undefined ? undefined : JSON.stringify(body);
  const headers: Record<string, string> = { authorization: `Bearer ${server.adminToken}`, accept: 'application/json' };
  if (text !== undefined) Object.assign(headers, { 'content-type': contentType, 'content-length': String(Buffer.byteLength(text)) });
  return new Promise((resolve, reject) => {
    const r = request(new URL(path, server.url), { method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    // a kept-alive connection the server closed as it was reused: sent again on a new one, as Node's docs advise
    r.on('error', (err: NodeJS.ErrnoException) => (r.reusedSocket && err.code === 'ECONNRESET' ? call(agent, method, path, body, contentType).then(resolve, reject) : reject(err)));
    r.end(text);
  });
}

function expect(answer: Answer, status: number, what: string): Answer {
  if (answer.status !== status) throw new Error(`${what}: HTTP ${answer.status}: ${answer.body.slice(0, 300)}`);
  return answer;
}

const agents = Array.from({ length: clients }, () => new Agent({ keepAlive: true, maxSockets: 1, ca: server.caPem }));
const ns = '/api/v1/namespaces/bench/configmaps';
expect(await call(agents[0]!, 'POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } }), 201, 'create the namespace');

interface Result {
  workload: string;
  count: number;
  ms: number;
  unit: string;
  latencies: number[];
}

/** Each client runs step until its share of total is done (or the time is up when total is Infinity). */
async function measure(workload: string, unit: string, total: number, step: (agent: Agent, client: number, i: number) => Promise<number>): Promise<Result> {
  const latencies: number[] = [];
  let count = 0;
  let started = 0;
  const deadline = performance.now() + seconds * 1000;
  const t0 = performance.now();
  await Promise.all(
    agents.map(async (agent, client) => {
      while (started < total && (total !== Infinity || performance.now() < deadline)) {
        const i = started++;
        const t = performance.now();
        const n = await step(agent, client, i);
        latencies.push(performance.now() - t);
        count += n;
      }
    }),
  );
  return { workload, unit, count, ms: performance.now() - t0, latencies };
}

const configMap = (name: string) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { bench: 'yes' } }, data: { n: '0', text: 'x'.repeat(200) } });
const nameOf = (i: number) => `cm-${i}`;
let patches = 0;
const patchOne = async (agent: Agent, client: number) => {
  const name = nameOf((client + clients * patches++) % objects);
  expect(await call(agent, 'PATCH', `${ns}/${name}`, { data: { n: String(patches) } }, 'application/merge-patch+json'), 200, 'patch');
  return 1;
};

const results: Result[] = [];
results.push(
  await measure('create ConfigMap', 'creates', objects, async (agent, _client, i) => {
    expect(await call(agent, 'POST', ns, configMap(nameOf(i))), 201, 'create');
    return 1;
  }),
);
results.push(await measure('merge patch ConfigMap', 'patches', Infinity, patchOne));
results.push(
  await measure(`list all ${objects} ConfigMaps`, 'objects', Infinity, async (agent) => {
    const list = JSON.parse(expect(await call(agent, 'GET', ns), 200, 'list').body) as { items: unknown[] };
    return list.items.length;
  }),
);

/** Opens a watch with no resourceVersion (the current objects as ADDED events, then changes) and resolves once all are in. */
function watchInitial(agent: Agent): Promise<number> {
  return new Promise((resolve, reject) => {
    let added = 0;
    let partial = '';
    const r = request(new URL(`${ns}?watch=true`, server.url), { headers: { authorization: `Bearer ${server.adminToken}` }, agent }, (res) => {
      if (res.statusCode !== 200) reject(new Error(`watch: HTTP ${res.statusCode}`));
      res.on('data', (c: Buffer) => {
        const lines = (partial + c.toString()).split('\n');
        partial = lines.pop()!;
        added += lines.filter((l) => l.includes('"type":"ADDED"')).length;
        if (added >= objects) {
          r.destroy();
          resolve(added);
        }
      });
      res.on('error', () => undefined);
    });
    r.on('error', (err) => (added >= objects ? undefined : reject(err)));
    r.end();
  });
}
// a watch is ended by closing its connection: each client gets a fresh agent for it
results.push(await measure(`watch from now: ${objects} ADDED events`, 'objects', Infinity, () => watchInitial(new Agent({ ca: server.caPem }))));

/** N watchers (raw HTTPS streams) count the events they receive while the clients patch for the bench's seconds. */
async function watchThroughput(): Promise<Result> {
  let events = 0;
  const streams = await Promise.all(
    agents.map(
      () =>
        new Promise<() => void>((resolve, reject) => {
          const r = request(new URL(`${ns}?watch=true`, server.url), { headers: { authorization: `Bearer ${server.adminToken}` }, ca: server.caPem, agent: false }, (res) => {
            if (res.statusCode !== 200) reject(new Error(`watch: HTTP ${res.statusCode}`));
            let partial = '';
            res.on('data', (c: Buffer) => {
              const lines = (partial + c.toString()).split('\n');
              partial = lines.pop()!;
              events += lines.filter((l) => l.includes('"type":"MODIFIED"')).length;
            });
            res.on('error', () => undefined);
            resolve(() => r.destroy());
          });
          r.on('error', () => undefined);
          r.end();
        }),
    ),
  );
  const t0 = performance.now();
  const writes = await measure('', '', Infinity, patchOne);
  const expected = writes.count * streams.length;
  while (events < expected && performance.now() - t0 < (seconds + 30) * 1000) await new Promise((r) => setTimeout(r, 10));
  const ms = performance.now() - t0;
  for (const close of streams) close();
  return { workload: `watch: ${streams.length} watchers, ${writes.count} patches`, unit: 'events', count: events, ms, latencies: [] };
}
results.push(await watchThroughput());

for (const a of agents) a.destroy();
await server.close();

console.log(`Kubernetes API server (podnet k8s serve, in process, HTTPS): ${clients} concurrent clients, ${objects} objects, ${seconds} s per timed workload`);
process.stdout.write(
  formatTable(
    ['workload', 'count', 'per second', 'p50 ms', 'p99 ms'],
    results.map((r) => [
      r.workload,
      `${r.count} ${r.unit}`,
      `${(r.count / (r.ms / 1000)).toFixed(0)} ${r.unit}/s`,
      r.latencies.length ? percentile(r.latencies, 50).toFixed(1) : '-',
      r.latencies.length ? percentile(r.latencies, 99).toFixed(1) : '-',
    ]),
  ),
);
