import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PodnetError, closeServer, formatListenAddress, listenOn, parseListenAddress } from '../../../src/lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-listen-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('parseListenAddress reads HOST:PORT, [V6]:PORT, :PORT (every interface) and unix:PATH', () => {
  assert.deepEqual(parseListenAddress('127.0.0.1:61679'), { host: '127.0.0.1', port: 61679 });
  assert.deepEqual(parseListenAddress('[::1]:9100'), { host: '::1', port: 9100 });
  assert.deepEqual(parseListenAddress(':61678'), { host: '0.0.0.0', port: 61678 });
  assert.deepEqual(parseListenAddress('localhost:0'), { host: 'localhost', port: 0 });
  assert.deepEqual(parseListenAddress('unix:/run/introspect.sock'), { path: '/run/introspect.sock' });
});

test('parseListenAddress refuses a bare port, a port above 65535, a named port, an empty socket path and an unbracketed v6', () => {
  for (const text of ['61678', '127.0.0.1:65536', 'localhost:metrics', 'unix:', '::1:9100', '', 'nope', '127.0.0.1:']) {
    assert.equal(parseListenAddress(text), undefined, text);
  }
});

test('formatListenAddress writes back what parseListenAddress reads', () => {
  for (const text of ['127.0.0.1:61679', '[::1]:9100', '0.0.0.0:61678', 'unix:/run/x.sock']) {
    assert.equal(formatListenAddress(parseListenAddress(text)!), text);
  }
});

test('listenOn a unix socket path: a socket left by a killed process is removed and the path taken', async () => {
  const path = join(dir, 'stale.sock');
  await killedListener(path);
  assert.ok(existsSync(path), 'the stale socket file is there');
  const server = createServer();
  await listenOn(server, { path }, 'introspection', 'unused');
  await closeServer(server);
});

/** Leaves a socket file nobody listens on: a listener process killed with SIGKILL (as when ipamd crashes). */
async function killedListener(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(path)}, () => console.log('up'))`]);
  await new Promise<void>((resolve) => child.stdout.once('data', () => resolve()));
  child.kill('SIGKILL');
  await new Promise((resolve) => child.once('close', resolve));
}

test('listenOn a unix socket a live process listens on is SOCKET_IN_USE naming the listener and the path, and leaves it alone', async () => {
  const path = join(dir, 'live.sock');
  const live = createNetServer();
  await new Promise<void>((resolve) => live.listen(path, resolve));
  try {
    await assert.rejects(listenOn(createServer(), { path }, 'introspection', 'stop the other ipamd'), (err: unknown) => {
      assert.ok(err instanceof PodnetError);
      assert.equal(err.code, 'SOCKET_IN_USE');
      assert.equal(err.message, `introspection cannot listen on ${path}: another process is listening on it`);
      assert.equal(err.hint, 'stop the other ipamd');
      return true;
    });
    assert.ok(existsSync(path), 'the live socket is not removed');
  } finally {
    await new Promise<void>((resolve) => live.close(() => resolve()));
  }
});

test('listenOn a path that holds a regular file is SOCKET_IN_USE and the file is kept', async () => {
  const path = join(dir, 'file.sock');
  writeFileSync(path, 'data');
  await assert.rejects(listenOn(createServer(), { path }, 'metrics', 'unused'), (err: unknown) => {
    assert.ok(err instanceof PodnetError);
    assert.equal(err.code, 'SOCKET_IN_USE');
    assert.match(err.message, /is not a socket/);
    return true;
  });
  assert.ok(existsSync(path));
});
