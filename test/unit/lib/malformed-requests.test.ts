/**
 * Issue 10, class 1: one request must never kill a server. A deterministic corpus of malformed requests, sent as raw
 * bytes, is thrown at every HTTP server podnet runs (in process): ipamd's introspection and metrics, the EC2
 * endpoint, IMDS, and ipamd's CNI socket. Each request must get a status below 500 or a closed connection within
 * 2 s, and a well-formed request sent right after it must succeed.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { createCniHandler, startCniSocketServer, type CniSocketServer } from '../../../src/cni/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { startEc2Server, type Ec2Emulator } from '../../../src/ec2/index.js';
import { Datastore } from '../../../src/ipam/index.js';
import type { HttpEndpoint } from '../../../src/ipamd/http.js';
import { startIntrospection } from '../../../src/ipamd/introspection.js';
import { IpamdMetrics, startMetricsEndpoint } from '../../../src/ipamd/metrics.js';
import { MemoryNode } from '../cni/memory-backend.js';

const DEADLINE_MS = 2000;

/** Bytes to write, or a pause between writes (split and slow senders). */
type Part = Buffer | { waitMs: number };

interface Entry {
  category: string;
  name: string;
  parts: Part[];
  /** The exact status a legal request must get (absolute-form targets of a real route); else any status < 500. */
  expect?: number;
}

interface Outcome {
  status?: number;
  closed: boolean;
  hung: boolean;
  ms: number;
}

/** One exchange on a fresh connection: the first final (non-1xx) status line, or the close, or the deadline. */
function exchange(open: () => Socket, parts: Part[]): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = open();
    socket.setNoDelay(true);
    let received = '';
    let settled = false;
    const settle = (o: Omit<Outcome, 'ms'>) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      socket.destroy();
      resolve({ ...o, ms: Date.now() - started });
    };
    const deadline = setTimeout(() => settle({ closed: false, hung: true }), DEADLINE_MS);
    socket.on('data', (chunk: Buffer) => {
      received += chunk.toString('latin1');
      for (const m of received.matchAll(/(?:^|\r\n)HTTP\/1\.[01] (\d{3})/g)) {
        const status = Number(m[1]);
        if (status >= 200) return settle({ status, closed: false, hung: false });
      }
    });
    socket.on('error', () => undefined); // a reset is a close; 'close' follows
    socket.on('close', () => settle({ closed: true, hung: false }));
    socket.once('connect', async () => {
      for (const part of parts) {
        if (settled || socket.destroyed) return;
        if (Buffer.isBuffer(part)) socket.write(part);
        else await new Promise((r) => setTimeout(r, part.waitMs));
      }
    });
  });
}

const b = (text: string) => Buffer.from(text, 'latin1');

/** The well-formed request a server must answer with `status`, as parts that build the malformed variants. */
interface WellFormed {
  method: string;
  path: string;
  headers: string[];
  body: string;
  status: number;
}

function render(w: WellFormed, over: { method?: string; target?: string; headers?: string[]; body?: string; version?: string } = {}): string {
  const body = over.body ?? w.body;
  const headers = over.headers ?? [...w.headers, ...(body !== '' ? [`Content-Length: ${Buffer.byteLength(body, 'latin1')}`] : [])];
  return `${over.method ?? w.method} ${over.target ?? w.path} ${over.version ?? 'HTTP/1.1'}\r\nHost: podnet.test\r\nConnection: close\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n${body}`;
}

/** Splits text into chunks of n bytes with a short pause between them, so the server's parser sees each alone. */
function split(text: string, n: number, waitMs = 1): Part[] {
  const parts: Part[] = [];
  for (let i = 0; i < text.length; i += n) parts.push(b(text.slice(i, i + n)), { waitMs });
  return parts;
}

/** The corpus for one server, built around its well-formed request (so absolute-form variants hit a real route). */
function corpus(w: WellFormed): Entry[] {
  const entries: Entry[] = [];
  const add = (category: string, name: string, parts: Part[] | string, expect?: number) =>
    entries.push({ category, name, parts: typeof parts === 'string' ? [b(parts)] : parts, ...(expect !== undefined && { expect }) });
  const get = (target: string, headers: string[] = []) => `GET ${target} HTTP/1.1\r\nHost: podnet.test\r\nConnection: close\r\n${headers.map((h) => `${h}\r\n`).join('')}\r\n`;

  // odd request targets
  const odd = [
    '//x:99999/', '*', '%zz', '/%zz', '/..%2f', '/..%2f..%2f..%2fetc%2fpasswd', '', '//', '///', '//[::1', '//@', '//x:0/', '//x:-1/',
    '//:/', '/?%', '/?a=%zz&b', '/%', '/%%', '/%00', '/%0d%0a', '/%ff%fe', '/%ed%a0%80', '/%C0%AE%C0%AE/', '/\\..\\', '/..', '/../..',
    '/./', '?x', '#x', '/#x', ':', '::', '[', ']', 'a', '@', 'x:y', `${w.path}/..`, `${w.path}%2f`, `${w.path}?${'a=1&'.repeat(2000)}`,
    `/${'a'.repeat(8000)}`, `/${'a'.repeat(70000)}`, `/${'%'.repeat(3000)}`, '/\u00e9t\u00e9', '/a b',
  ];
  for (const t of odd) add('odd target', JSON.stringify(t.slice(0, 40)), get(t));

  // absolute-form (legal: routed by its path) and authority-form targets
  for (const origin of ['http://podnet.test', 'http://127.0.0.1:1', 'HTTP://PODNET.TEST', 'http://podnet.test:80', 'http://[::1]']) {
    add('absolute-form', `${origin}${w.path}`, render(w, { target: `${origin}${w.path}` }), w.status);
  }
  const absolute = [
    'http://x:99999/', 'http://[::1', 'http://', 'http:///', 'https://podnet.test/', 'ftp://podnet.test/', 'file:///etc/passwd',
    'http://u:p@podnet.test/', 'http://podnet.test/%zz', 'http://podnet.test/..%2f', 'http://podnet.test?x', 'javascript:alert(1)',
    'mailto:x@y', 'data:,x', 'http:podnet.test', `http://podnet.test${'/a'.repeat(3000)}`, 'http://256.256.256.256/',
    'http://podnet.test\\x/', 'urn:x', `http://podnet.test//x:99999${w.path}`,
  ];
  for (const t of absolute) add('absolute-form', JSON.stringify(t.slice(0, 40)), get(t));
  const authority = [
    'CONNECT podnet.test:443', 'CONNECT [::1]:80', 'CONNECT podnet.test:99999', 'CONNECT podnet.test', 'CONNECT :443', 'CONNECT 127.0.0.1:61679',
    `CONNECT ${w.path}`, 'CONNECT *', 'CONNECT http://podnet.test/', 'CONNECT user@podnet.test:443', 'CONNECT [::1]', 'GET podnet.test:443',
    'POST podnet.test:443', 'PUT podnet.test:443', 'OPTIONS podnet.test:80', 'HEAD podnet.test:80', 'DELETE podnet.test:80', 'OPTIONS *',
    'PUT *', 'GET localhost:61678',
  ];
  for (const line of authority) add('authority-form', line, `${line} HTTP/1.1\r\nHost: podnet.test:443\r\n\r\n`);
  add('authority-form', 'CONNECT then bytes', 'CONNECT podnet.test:443 HTTP/1.1\r\nHost: podnet.test:443\r\n\r\n\x16\x03\x01\x00\x05hello');
  add('authority-form', 'CONNECT HTTP/1.0', 'CONNECT podnet.test:443 HTTP/1.0\r\n\r\n');

  // bad methods
  const methods = [
    'FOO', 'get', 'Get', 'G ET', 'GET\t', '\x00GET', 'GE\x01T', 'DELETE', 'PATCH', 'TRACE', 'PROPFIND', 'MKCOL', 'M-SEARCH', 'LINK',
    'PURGE', 'SEARCH', 'X'.repeat(100), '', '123', 'GET GET', 'ACL', 'QUERY', 'SOURCE', 'UNLOCK', 'BIND',
  ];
  for (const m of methods) add('bad method', JSON.stringify(m.slice(0, 20)), render(w, { method: m }));
  add('bad method', 'HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
  add('bad method', 'POST without a length', `POST ${w.path} HTTP/1.1\r\nHost: podnet.test\r\nConnection: close\r\n\r\n`);

  // huge headers (beyond the parser's 16 KiB limit) and many headers
  for (const size of [16_385, 17_000, 20_000, 32_768, 65_536, 100_000]) add('huge headers', `one ${size}-byte value`, render(w, { headers: [...w.headers, `X-Big: ${'v'.repeat(size)}`] }));
  for (const size of [20_000, 70_000]) add('huge headers', `${size}-byte name`, render(w, { headers: [...w.headers, `X-${'n'.repeat(size)}: v`] }));
  for (const count of [100, 200, 2100, 5000]) add('huge headers', `${count} headers of 200 bytes`, render(w, { headers: [...w.headers, ...Array.from({ length: count }, (_, i) => `X-H${i}: ${'h'.repeat(200)}`)] }));
  add('huge headers', 'request line of 20 kB', render(w, { target: `${w.path}?q=${'x'.repeat(20_000)}` }));
  add('huge headers', 'token header of 20 kB', render(w, { headers: [...w.headers, `X-aws-ec2-metadata-token: ${'t'.repeat(20_000)}`] }));
  add('huge headers', '20 kB container id header', render(w, { headers: [...w.headers, `X-CNI-CONTAINERID: ${'c'.repeat(20_000)}`] }));
  add('huge headers', 'cookie of 40 kB', render(w, { headers: [...w.headers, `Cookie: ${'a=b; '.repeat(8000)}`] }));
  add('huge headers', 'huge header in 4 kB pieces', split(render(w, { headers: [...w.headers, `X-Big: ${'v'.repeat(40_000)}`] }), 4096));
  add('huge headers', 'huge host', render(w, { headers: [...w.headers, `Host: ${'h'.repeat(30_000)}`] }));
  add('huge headers', 'ttl header of 20 kB', render(w, { headers: [...w.headers, `X-aws-ec2-metadata-token-ttl-seconds: ${'9'.repeat(20_000)}`] }));
  add('huge headers', 'content-type of 20 kB', render(w, { headers: [...w.headers, `Content-Type: ${'t'.repeat(20_000)}`] }));

  // split headers: legal requests in tiny chunks must succeed; malformed ones split must still be refused
  const good = render(w);
  for (const n of [1, 2, 3, 5, 7]) add('split headers', `well-formed in ${n}-byte chunks`, split(good, n), w.status);
  add('split headers', 'split at every CRLF', good.split('\r\n').flatMap((line, i, all) => (i < all.length - 1 ? [b(`${line}\r`), { waitMs: 2 }, b('\n')] : [b(line)])), w.status);
  for (const n of [1, 3]) add('split headers', `odd target in ${n}-byte chunks`, split(get('//x:99999/'), n));
  add('split headers', 'obs-fold continuation', render(w, { headers: [...w.headers, 'X-Fold: a', ' b'] }));
  add('split headers', 'obs-fold with tab', render(w, { headers: [...w.headers, 'X-Fold: a', '\tb'] }));
  add('split headers', 'header without a colon', render(w, { headers: [...w.headers, 'X-No-Colon'] }));
  add('split headers', 'space before the colon', render(w, { headers: [...w.headers, 'X-Space : v'] }));
  add('split headers', 'empty header name', render(w, { headers: [...w.headers, ': v'] }));
  add('split headers', 'header name with a slash', render(w, { headers: [...w.headers, 'X/Y: v'] }));
  add('split headers', 'a lone CR line', render(w, { headers: [...w.headers, '\r'] }));
  add('split headers', 'bare LF line endings', `GET ${w.path} HTTP/1.1\nHost: podnet.test\nConnection: close\n\n`);
  add('split headers', 'mixed CRLF and LF', `GET ${w.path} HTTP/1.1\r\nHost: podnet.test\nConnection: close\r\n\r\n`);
  add('split headers', 'obs-fold split in chunks', split(render(w, { headers: [...w.headers, 'X-Fold: a', ' b'] }), 2));
  add('split headers', 'two Host headers', render(w, { headers: [...w.headers, 'Host: other.test'] }));
  add('split headers', 'missing version', `GET ${w.path}\r\nHost: podnet.test\r\n\r\n`);
  add('split headers', 'HTTP/9.9', render(w, { version: 'HTTP/9.9' }));
  add('split headers', 'HTTP/1.1 without Host', `GET ${w.path} HTTP/1.1\r\nConnection: close\r\n\r\n`);

  // control characters, CR, LF and NUL in targets and header values
  for (const c of ['\x00', '\x01', '\x07', '\x08', '\x0b', '\x0c', '\x1b', '\x7f', '\r', '\n', '\t', '\xff']) {
    const name = `0x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
    add('control characters', `${name} in the target`, get(`${w.path}${c}x`));
    add('control characters', `${name} in a header value`, render(w, { headers: [...w.headers, `X-Test: a${c}b`] }));
  }
  add('control characters', 'NUL in a header name', render(w, { headers: [...w.headers, 'X-\x00: v'] }));
  add('control characters', 'CR LF injection in a header value', render(w, { headers: [...w.headers, 'X-Test: a\r\nX-Injected: yes'] }));

  // bad chunked encoding
  const chunked = (body: string, te = 'chunked', extra: string[] = []) =>
    `${w.method === 'GET' ? 'POST' : w.method} ${w.path} HTTP/1.1\r\nHost: podnet.test\r\nConnection: close\r\nTransfer-Encoding: ${te}\r\n${extra.map((h) => `${h}\r\n`).join('')}\r\n${body}`;
  const chunkBodies = [
    'zz\r\n', '5\r\nab\r\n0\r\n\r\n', '-1\r\n', `${'f'.repeat(20)}\r\n`, '5;ext=\x00\r\nhello\r\n0\r\n\r\n', '5\nhello\n0\n\n', '5\r\nhelloXX\r\n0\r\n\r\n',
    '0x5\r\nhello\r\n0\r\n\r\n', ' 5\r\nhello\r\n0\r\n\r\n', '5 \r\nhello\r\n0\r\n\r\n', '0\r\nX-Trailer: a\x01b\r\n\r\n', '0\r\n\r\n0\r\n\r\n',
    `${'1\r\na\r\n'.repeat(1000)}0\r\n\r\n`, '5;a="\r\nhello\r\n0\r\n\r\n', `1;${'e'.repeat(20_000)}\r\na\r\n0\r\n\r\n`,
  ];
  for (const body of chunkBodies) add('bad chunking', JSON.stringify(body.slice(0, 30)), chunked(body));
  for (const te of ['chunked, identity', 'identity', 'xchunked', 'chunked, gzip', 'gzip, chunked', 'CHUNKED ', 'chunked\x00']) {
    add('bad chunking', `Transfer-Encoding: ${JSON.stringify(te)}`, chunked('5\r\nhello\r\n0\r\n\r\n', te));
  }
  add('bad chunking', 'chunked and Content-Length', chunked('5\r\nhello\r\n0\r\n\r\n', 'chunked', ['Content-Length: 3']));
  add('bad chunking', 'Transfer-Encoding twice', chunked('5\r\nhello\r\n0\r\n\r\n', 'chunked', ['Transfer-Encoding: chunked']));
  add('bad chunking', 'chunked on HTTP/1.0', chunked('5\r\nhello\r\n0\r\n\r\n').replace('HTTP/1.1', 'HTTP/1.0'));

  // wrong Content-Length
  const withLength = (length: string, body: string) =>
    `POST ${w.path} HTTP/1.1\r\nHost: podnet.test\r\nConnection: close\r\nContent-Length: ${length}\r\n\r\n${body}`;
  for (const [length, body] of [
    ['-1', ''], ['abc', ''], ['1e3', ''], ['+5', 'hello'], ['5, 6', 'hello'], ['99999999999999999999', ''], ['18446744073709551616', ''],
    ['0x10', ''], ['', ''], ['5\x00', 'hello'], ['2', 'hello world'], ['0', 'GARBAGE / HTTP/1.1\r\n\r\n'], ['1', 'xGET //x:99999/ HTTP/1.1\r\n\r\n'],
    ['5 5', 'hello'], ['4294967296', ''], ['-0', ''], ['05', 'hello'],
  ] as const) {
    add('wrong content-length', `Content-Length: ${JSON.stringify(length)}`, withLength(length, body));
  }
  add('wrong content-length', 'two different lengths', `POST ${w.path} HTTP/1.1\r\nHost: podnet.test\r\nConnection: close\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`);
  add('wrong content-length', 'a body larger than every limit', withLength(String(2 << 20), 'x'.repeat(2 << 20)));
  add('wrong content-length', 'length on a GET', `GET ${w.path} HTTP/1.1\r\nHost: podnet.test\r\nConnection: close\r\nContent-Length: 5\r\n\r\nhello`);

  // slow senders: stalls and dribbles; the server answers or closes within the deadline
  const dribble = (text: string, every: number): Part[] => [...text].flatMap((c) => [b(c), { waitMs: every }]);
  add('slow sender', 'connects and sends nothing', []);
  add('slow sender', 'one byte then silence', 'G');
  add('slow sender', 'request line then silence', `GET ${w.path} HTTP/1.1\r\n`);
  add('slow sender', 'headers without the blank line', `GET ${w.path} HTTP/1.1\r\nHost: podnet.test\r\n`);
  add('slow sender', 'half a header line', `GET ${w.path} HTTP/1.1\r\nHost: podnet.test\r\nX-Slow: `);
  add('slow sender', 'one byte every 300 ms', dribble(good, 300));
  add('slow sender', 'one byte every 100 ms', dribble(good, 100));
  add('slow sender', 'body shorter than Content-Length', withLength('100', 'only part'));
  add('slow sender', 'body never sent', withLength('10', ''));
  add('slow sender', 'chunked body stalls mid-chunk', chunked('10\r\nhello'));
  add('slow sender', 'chunked body without the last chunk', chunked('5\r\nhello\r\n'));
  add('slow sender', 'chunked body without the final CRLF', chunked('0\r\n'));
  add('slow sender', 'Expect: 100-continue and no body', `POST ${w.path} HTTP/1.1\r\nHost: podnet.test\r\nExpect: 100-continue\r\nContent-Length: 10\r\n\r\n`);
  add('slow sender', 'body dribbled every 300 ms', [b(withLength('20', '')), ...dribble('x'.repeat(20), 300)]);
  add('slow sender', 'headers dribbled in 1 kB pieces every 300 ms', [b(`GET ${w.path} HTTP/1.1\r\n`), ...Array.from({ length: 10 }, (_, i) => [b(`X-${i}: ${'v'.repeat(1000)}\r\n`), { waitMs: 300 }]).flat()]);
  add('slow sender', 'CONNECT then silence', 'CONNECT podnet.test:443 HTTP/1.1\r\n');
  add('slow sender', 'odd target then silence', 'GET //x:99999/ HTTP/1.1\r\nHost: podnet.test\r\n');
  add('slow sender', 'CR then silence', `GET ${w.path} HTTP/1.1\r`);
  add('slow sender', 'keep-alive request then silence', [b(`GET ${w.path} HTTP/1.1\r\nHost: podnet.test\r\n\r\nGET ${w.path} HTTP/1.1\r\n`)]);
  add('slow sender', 'pipelined odd target after a good request', `GET ${w.path} HTTP/1.1\r\nHost: podnet.test\r\n\r\nGET //x:99999/ HTTP/1.1\r\nHost: podnet.test\r\n\r\n`);
  return entries;
}

interface ServerUnderTest {
  name: string;
  open: () => Socket;
  wellFormed: WellFormed;
}

/** Runs the corpus against one server, a few requests at a time; returns every failure and the counts per category. */
async function throwCorpus(s: ServerUnderTest): Promise<{ failures: string[]; counts: Map<string, number>; outcomes: Map<string, number>; total: number; ms: number }> {
  const started = Date.now();
  const entries = corpus(s.wellFormed);
  const failures: string[] = [];
  const counts = new Map<string, number>();
  const outcomes = new Map<string, number>();
  const good = [b(render(s.wellFormed))];
  let next = 0;
  const worker = async () => {
    while (next < entries.length) {
      const e = entries[next++]!;
      counts.set(e.category, (counts.get(e.category) ?? 0) + 1);
      const o = await exchange(s.open, e.parts);
      const outcome = o.status !== undefined ? String(o.status) : o.hung ? 'hung' : 'closed';
      outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
      const label = `${s.name} ${e.category} ${e.name}`;
      if (o.hung) failures.push(`${label}: neither answered nor closed within ${DEADLINE_MS} ms`);
      else if (e.expect !== undefined && o.status !== e.expect) failures.push(`${label}: ${o.status ?? 'closed'}, expected ${e.expect}`);
      else if (o.status !== undefined && o.status >= 500) failures.push(`${label}: ${o.status}`);
      const after = await exchange(s.open, good);
      if (after.status !== s.wellFormed.status) failures.push(`${label}: the well-formed request after it got ${after.status ?? (after.hung ? 'no answer' : 'a closed connection')}`);
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return { failures, counts, outcomes, total: entries.length, ms: Date.now() - started };
}

function assertCorpus(t: { diagnostic(message: string): void }, r: Awaited<ReturnType<typeof throwCorpus>>): void {
  t.diagnostic(`${r.total} requests in ${r.ms} ms: ${[...r.counts].map(([c, n]) => `${c} ${n}`).join(', ')}`);
  t.diagnostic(`outcomes: ${[...r.outcomes].sort().map(([o, n]) => `${o} ×${n}`).join(', ')}`);
  assert.ok(r.total >= 200, `${r.total} requests`);
  for (const [category, n] of r.counts) assert.ok(n >= 20, `${category}: ${n} requests`);
  assert.deepEqual(r.failures, []);
}

const tcp = (port: number) => () => connect({ host: '127.0.0.1', port });
const ec2Body = 'Action=DescribeVpcs&Version=2016-11-15';

let emulator: Ec2Emulator;
let introspection: HttpEndpoint;
let metrics: HttpEndpoint;
let cni: CniSocketServer;
let dir: string;
before(async () => {
  emulator = await startEc2Server({ throttle: false });
  const { config } = loadConfig({});
  const datastore = new Datastore({ prefixDelegation: false, ipCooldownMs: 30_000 });
  introspection = await startIntrospection({ host: '127.0.0.1', port: 0 }, {
    config, datastores: () => new Map([[0, datastore]]), eniConfigName: () => 'default', nowMs: () => Date.now(),
  }, () => undefined);
  metrics = await startMetricsEndpoint({ host: '127.0.0.1', port: 0 }, new IpamdMetrics({ version: 'test', processMetrics: false }));
  dir = mkdtempSync(join(tmpdir(), 'podnet-corpus-'));
  cni = await startCniSocketServer(join(dir, 'ipamd.sock'), createCniHandler(new MemoryNode(['10.0.0.10'])));
});
after(async () => {
  await Promise.all([emulator?.close(), introspection?.close(), metrics?.close(), cni?.close()]);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

const port = (url: string) => Number(new URL(url).port);
const portOf = (e: HttpEndpoint) => ('port' in e.address ? e.address.port : 0);

test('ipamd introspection answers every malformed request below 500 (or closes) and keeps serving', async (t) => {
  assertCorpus(t, await throwCorpus({ name: 'introspection', open: tcp(portOf(introspection)), wellFormed: { method: 'GET', path: '/v1/enis', headers: [], body: '', status: 200 } }));
});

test('ipamd metrics answers every malformed request below 500 (or closes) and keeps serving', async (t) => {
  assertCorpus(t, await throwCorpus({ name: 'metrics', open: tcp(portOf(metrics)), wellFormed: { method: 'GET', path: '/metrics', headers: [], body: '', status: 200 } }));
});

test('the EC2 endpoint answers every malformed request below 500 (or closes) and keeps serving', async (t) => {
  const wellFormed = { method: 'POST', path: '/', headers: ['Content-Type: application/x-www-form-urlencoded'], body: ec2Body, status: 200 };
  assertCorpus(t, await throwCorpus({ name: 'ec2', open: tcp(port(emulator.ec2Url)), wellFormed }));
});

test('IMDS answers every malformed request below 500 (or closes) and keeps serving', async (t) => {
  const wellFormed = { method: 'PUT', path: '/latest/api/token', headers: ['X-aws-ec2-metadata-token-ttl-seconds: 60'], body: '', status: 200 };
  assertCorpus(t, await throwCorpus({ name: 'imds', open: tcp(port(emulator.imdsUrl)), wellFormed }));
});

// src/cni/server.ts is being rewritten by the lead (issue 10, class 5); until it builds its server with
// createSafeServer (src/lib/http.ts), this fails on absolute-form targets (routed as 404) and on slow senders (held open).
test("ipamd's CNI socket answers every malformed request below 500 (or closes) and keeps serving", async (t) => {
  const wellFormed = { method: 'GET', path: '/ready', headers: [], body: '', status: 200 };
  assertCorpus(t, await throwCorpus({ name: 'cni socket', open: () => connect(cni.path), wellFormed }));
});
