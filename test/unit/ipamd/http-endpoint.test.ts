// ipamd's small HTTP endpoints (introspection, metrics) on a unix socket: served there, and never taking over a
// socket another live process answers on (issue 12: as the CNI socket refuses one).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startHttpEndpoint } from '../../../src/ipamd/http.js';
import { PodnetError } from '../../../src/lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-endpoint-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function getOverSocket(socketPath: string, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('an endpoint at unix:PATH serves there and reports the path as its address', async () => {
  const path = join(dir, 'metrics.sock');
  const endpoint = await startHttpEndpoint({ path }, 'metrics', (_req, res) => void res.end('ok'));
  try {
    assert.deepEqual(endpoint.address, { path });
    assert.deepEqual(await getOverSocket(path, '/metrics'), { status: 200, body: 'ok' });
  } finally {
    await endpoint.close();
  }
});

test('an endpoint refuses a unix socket a live process listens on (SOCKET_IN_USE), and leaves that socket working', async () => {
  const path = join(dir, 'introspection.sock');
  const other = createServer((c) => c.end());
  await new Promise<void>((resolve) => other.listen(path, resolve));
  try {
    await assert.rejects(startHttpEndpoint({ path }, 'introspection', () => undefined), (err: unknown) => {
      assert.ok(err instanceof PodnetError);
      assert.equal(err.code, 'SOCKET_IN_USE');
      assert.equal(err.message, `introspection cannot listen on ${path}: another process is listening on it`);
      assert.match(err.hint ?? '', /another podnet ipamd/);
      return true;
    });
    assert.ok(existsSync(path));
  } finally {
    await new Promise<void>((resolve) => other.close(() => resolve()));
  }
});
