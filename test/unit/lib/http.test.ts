import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { PodnetError, closeServer, createSafeServer, formatListenAddress, listenOn, parseRequestTarget, sendJson } from '../../../src/lib/index.js';

test('a listen address is named as upstream writes it: host:port, [v6]:port, unix:path', () => {
  assert.equal(formatListenAddress({ host: '127.0.0.1', port: 61679 }), '127.0.0.1:61679');
  assert.equal(formatListenAddress({ host: '::1', port: 9100 }), '[::1]:9100');
  assert.equal(formatListenAddress({ path: '/run/x.sock' }), 'unix:/run/x.sock');
});

test('a taken address is a FAILED PodnetError naming the listener, the address and the errno code, with the hint', async () => {
  const first = createServer();
  await listenOn(first, { host: '127.0.0.1', port: 0 }, 'first', 'unused');
  const port = (first.address() as AddressInfo).port;
  const second = createServer();
  try {
    await assert.rejects(listenOn(second, { host: '127.0.0.1', port }, 'metrics', 'choose another port'), (err: unknown) => {
      assert.ok(err instanceof PodnetError);
      assert.equal(err.code, 'FAILED');
      assert.equal(err.message, `metrics cannot listen on 127.0.0.1:${port}: EADDRINUSE`);
      assert.equal(err.hint, 'choose another port');
      return true;
    });
  } finally {
    await closeServer(first);
  }
});

test('sendJson answers newline-terminated JSON with its content length, and closeServer drops kept-alive connections', async () => {
  const server = createServer((_req, res) => sendJson(res, 418, { a: 1 }));
  await listenOn(server, { host: '127.0.0.1', port: 0 }, 'test', 'unused');
  const port = (server.address() as AddressInfo).port;
  const answer = await new Promise<{ status: number; length: string | undefined; body: string }>((resolve, reject) => {
    request({ host: '127.0.0.1', port, agent: false, headers: { connection: 'keep-alive' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => resolve({ status: res.statusCode ?? 0, length: res.headers['content-length'], body }));
    }).on('error', reject).end();
  });
  assert.deepEqual(answer, { status: 418, length: '8', body: '{"a":1}\n' });
  await closeServer(server);
  assert.equal(server.listening, false);
});

test('parseRequestTarget reads origin-form and absolute-form targets raw, and refuses everything else without throwing', () => {
  assert.deepEqual(parseRequestTarget('/v1/enis?x=1#f'), { path: '/v1/enis', search: 'x=1', query: new URLSearchParams('x=1') });
  assert.equal(parseRequestTarget('//x:99999/')?.path, '//x:99999/');
  assert.equal(parseRequestTarget('/..%2f')?.path, '/..%2f');
  assert.equal(parseRequestTarget('http://169.254.169.254/latest/meta-data/?a')?.path, '/latest/meta-data/');
  assert.equal(parseRequestTarget('HTTP://host')?.path, '/');
  for (const bad of [undefined, '', '*', 'host:443', '%zz', 'http://x:99999/', 'ftp://h/', '/a b', '/\u00e9', '/a\u0000', 'http://[::1']) {
    assert.equal(parseRequestTarget(bad), undefined, JSON.stringify(bad));
  }
});

test('a safe server answers 500 for a handler that throws or rejects, logs it, and keeps serving', async () => {
  const logged: string[] = [];
  const server = createSafeServer((_req, res, { path }) => {
    if (path === '/sync') throw new Error('sync boom');
    if (path === '/async') return Promise.reject(new Error('async boom'));
    res.end('fine');
  }, { what: 'test server', log: (line) => logged.push(line) });
  await listenOn(server, { host: '127.0.0.1', port: 0 }, 'test', 'unused');
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  try {
    assert.equal((await fetch(`${base}/sync`)).status, 500);
    assert.equal((await fetch(`${base}/async`)).status, 500);
    const ok = await fetch(`${base}/ok`);
    assert.deepEqual([ok.status, await ok.text()], [200, 'fine']);
    assert.equal(logged.length, 2);
    assert.match(logged[0]!, /^test server: GET \/sync failed: Error: sync boom/);
    assert.match(logged[1]!, /^test server: GET \/async failed: Error: async boom/);
  } finally {
    await closeServer(server);
  }
});

test("a safe server renders its refusals with the server's errorBody", async () => {
  const server = createSafeServer((_req, res) => void res.end(), { what: 'x', errorBody: (status, message) => ({ contentType: 'application/json', body: JSON.stringify({ status, message }) }) });
  await listenOn(server, { host: '127.0.0.1', port: 0 }, 'test', 'unused');
  const port = (server.address() as AddressInfo).port;
  try {
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      request({ host: '127.0.0.1', port, path: '*', method: 'OPTIONS', agent: false }, (res) => {
        res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve(`${res.statusCode} ${res.headers['content-type']} ${text}`));
      }).end();
    });
    assert.equal(answer, '400 application/json {"status":400,"message":"the request target must be a path (/…) or an http:// URL"}');
  } finally {
    await closeServer(server);
  }
});
