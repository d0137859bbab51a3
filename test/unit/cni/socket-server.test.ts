/**
 * The CNI socket server's own behaviour: during a rollout an old ipamd that stops after the new one bound the same
 * path must leave the new one's socket alone, and GET /ready carries a degraded note while it stays 200.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { createCniHandler, startCniSocketServer } from '../../../src/cni/index.js';
import { MemoryNode } from './memory-backend.js';

function getReady(socketPath: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    request({ socketPath, path: '/ready', method: 'GET' }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject).end();
  });
}

test('an old server closing after a new one bound its path leaves the new socket in place', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-cni-socket-'));
  const path = join(dir, 'ipamd.sock');
  const node = new MemoryNode([]);
  const old = await startCniSocketServer(path, createCniHandler(node), { status: async () => ({ ready: true }) });
  let replacement: Awaited<ReturnType<typeof startCniSocketServer>> | undefined;
  try {
    // a request still arriving holds the old server's close() open after it stopped listening, as a CNI call does
    const held = connect(path);
    await new Promise<void>((resolve, reject) => held.once('connect', resolve).once('error', reject));
    held.write('GET /ready HTTP/1.0\r\n');
    await new Promise((r) => setTimeout(r, 50));
    const closing = old.close();
    replacement = await startCniSocketServer(path, createCniHandler(node), { status: async () => ({ ready: true }) });
    held.destroy();
    await closing;
    assert.deepEqual(await getReady(path), { status: 200, body: 'ready\n' }, "the new server's socket still answers");
  } finally {
    await replacement?.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('GET /ready stays 200 and names why service is degraded', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-cni-socket-'));
  const path = join(dir, 'ipamd.sock');
  const server = await startCniSocketServer(path, createCniHandler(new MemoryNode([])), { status: async () => ({ ready: true, degraded: 'Kubernetes API server unreachable' }) });
  try {
    assert.deepEqual(await getReady(path), { status: 200, body: 'ready (degraded: Kubernetes API server unreachable)\n' });
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
