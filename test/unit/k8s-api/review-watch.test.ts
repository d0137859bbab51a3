import assert from 'node:assert/strict';
import { once } from 'node:events';
import tls from 'node:tls';
import { after, before, test } from 'node:test';
import { configMap, startTestServer, type TestServer } from './server-harness.js';

let server: TestServer;
before(async () => {
  server = await startTestServer({ watchBufferBytes: 12 * 1024 * 1024 });
});
after(() => server.dispose());

test('a watch client that stops reading loses its connection once it falls behind, rather than the server keeping its backlog', async () => {
  const url = new URL(server.url);
  const socket = tls.connect({ host: url.hostname, port: Number(url.port), ca: server.caPem, servername: 'localhost' });
  await once(socket, 'secureConnect');
  socket.write(`GET /api/v1/namespaces/default/configmaps?watch=1 HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer ${server.adminToken}\r\n\r\n`);
  socket.pause();
  const closed = once(socket, 'close');
  // 32 writes of 1 MiB: more than the watch's 12 MiB and what the kernel's socket buffers take on loopback together
  const value = 'x'.repeat(1024 * 1024);
  for (let i = 0; i < 32; i++) {
    const reply = await server.request('POST', '/api/v1/namespaces/default/configmaps', configMap(`big-${i}`, { v: value }));
    assert.equal(reply.status, 201);
  }
  // past the 5 s an ended watch's output may wait: the server has cut the connection, so what the client reads now
  // ends without the 410 the server had queued behind the backlog
  await new Promise((r) => setTimeout(r, 6000));
  let received = '';
  socket.setEncoding('utf8');
  socket.on('data', (chunk: string) => (received += chunk));
  socket.on('error', () => undefined);
  socket.resume();
  await closed;
  assert.ok(received.length < 32 * 1024 * 1024, `received ${received.length} bytes`);
  assert.equal(/"code":410/.test(received), false, 'the queued 410 was still held for the client');
  assert.equal((await server.request('GET', '/api/v1/namespaces/default/configmaps/big-0')).status, 200);
});
