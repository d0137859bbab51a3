import assert from 'node:assert/strict';
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { PodnetError, closeServer, formatListenTarget, listenOn, sendJson } from '../../../src/lib/index.js';

test('a listen address is named as upstream writes it: host:port, [v6]:port, unix:path', () => {
  assert.equal(formatListenTarget({ host: '127.0.0.1', port: 61679 }), '127.0.0.1:61679');
  assert.equal(formatListenTarget({ host: '::1', port: 9100 }), '[::1]:9100');
  assert.equal(formatListenTarget({ path: '/run/x.sock' }), 'unix:/run/x.sock');
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
