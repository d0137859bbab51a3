// The ip session ipamd wires pods through: a running `ip -force -batch -` in the test's own namespace (the sandbox's).
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { startIpSession, type BatchLine } from '../../src/dataplane/index.js';
import { PodnetError, run } from '../../src/lib/index.js';

const session = startIpSession();
after(() => session.close());

async function linkNames(): Promise<string[]> {
  return (JSON.parse((await run(['ip', '-j', 'link', 'show'])).stdout) as { ifname: string }[]).map((l) => l.ifname);
}

test('50 concurrent batches all apply, each resolving once its own lines have run', async () => {
  await Promise.all(Array.from({ length: 50 }, (_, i) => session.run([{ cmd: `link add sess${i} type veth peer name sess${i}p` }, { cmd: `link set sess${i} up` }])));
  const names = await linkNames();
  for (let i = 0; i < 50; i++) assert.ok(names.includes(`sess${i}`), `sess${i} exists`);
  await session.run(Array.from({ length: 50 }, (_, i) => ({ cmd: `link del sess${i}` })));
  assert.equal((await linkNames()).filter((n) => n.startsWith('sess')).length, 0);
});

test('a tolerated failure resolves; a refused line rejects its batch with the line and the kernel message, and the next batch runs', async () => {
  await session.run([{ cmd: 'link del no-such-link', absentOk: true }, { cmd: 'link add sess-a type veth peer name sess-ap' }]);
  const refused: BatchLine[] = [{ cmd: 'link add sess-a type veth peer name sess-ap' }, { cmd: 'link add sess-b type veth peer name sess-bp' }];
  await assert.rejects(session.run(refused), (err: unknown) => {
    assert.ok(err instanceof PodnetError);
    assert.equal(err.code, 'DATAPLANE_APPLY_FAILED');
    assert.match(err.message, /1 of 2 commands failed: line 1 "link add sess-a type veth peer name sess-ap": .*File exists/);
    return true;
  });
  await session.run([{ cmd: 'link del sess-a' }, { cmd: 'link del sess-b' }]);
  assert.deepEqual((await linkNames()).filter((n) => n.startsWith('sess')), []);
});

test('a line naming a missing namespace fails its batch with NETNS_NOT_FOUND; batches queued behind it run on a new ip', async () => {
  // more batches than the pool has processes, so some queue behind the one that makes ip exit
  const doomed = session.run([{ cmd: 'link add sess-c type veth peer name eth0 netns /run/netns/no-such-pod' }]);
  const behind = Array.from({ length: 20 }, (_, i) => session.run([{ cmd: `link add sess-d${i} type veth peer name sess-d${i}p` }]));
  await assert.rejects(doomed, (err: unknown) => err instanceof PodnetError && err.code === 'NETNS_NOT_FOUND');
  await Promise.all(behind);
  const names = await linkNames();
  for (let i = 0; i < 20; i++) assert.ok(names.includes(`sess-d${i}`), `sess-d${i} exists`);
  await session.run(Array.from({ length: 20 }, (_, i) => ({ cmd: `link del sess-d${i}` })));
});

test('a link deleted behind the session and made again under its name is found afresh (ip\'s cached index is not reused)', async () => {
  const wire = [{ cmd: 'link del sess-x', absentOk: true }, { cmd: 'link add name sess-x type veth peer name sess-xp' }, { cmd: 'link set sess-x up' }, { cmd: 'route replace 10.9.1.1/32 dev sess-x' }];
  await session.run(wire);
  await run(['ip', 'link', 'del', 'sess-x']); // as a pod's veth goes when the runtime deletes its netns
  await session.run(wire);
  assert.match((await run(['ip', 'route', 'show', '10.9.1.1/32'])).stdout, /dev sess-x/);
  await session.run([{ cmd: 'link del sess-x' }]);
});

test('IPv6 batches go to their own ip -6', async () => {
  await session.run([{ cmd: 'link add sess-6 type veth peer name sess-6p' }, { cmd: 'link set sess-6 up' }]);
  await session.run([{ cmd: 'rule add to 2001:db8::7/128 lookup main prio 512' }], 6);
  assert.match((await run(['ip', '-6', 'rule', 'show', 'prio', '512'])).stdout, /2001:db8::7 lookup main/);
  await session.run([{ cmd: 'rule flush to 2001:db8::7/128 prio 512' }], 6);
  assert.doesNotMatch((await run(['ip', '-6', 'rule', 'show', 'prio', '512'])).stdout, /2001:db8::7/);
  await session.run([{ cmd: 'link del sess-6' }]);
});

test('lines for a named namespace run inside it; a tolerated failure there passes, a refused line names its line and message', async () => {
  await run(['ip', 'netns', 'add', 'sess-pod']);
  try {
    await session.runInNetns('sess-pod', [{ cmd: 'link set lo up' }, { cmd: 'addr add 10.9.0.7/32 dev lo' }, { cmd: 'link del gone', absentOk: true }]);
    assert.match((await run(['ip', '-n', 'sess-pod', 'addr', 'show', 'dev', 'lo'])).stdout, /inet 10\.9\.0\.7\/32/);
    assert.doesNotMatch((await run(['ip', 'addr', 'show', 'dev', 'lo'])).stdout, /10\.9\.0\.7/, 'not in the session\'s own namespace');
    await assert.rejects(session.runInNetns('sess-pod', [{ cmd: 'link set lo up' }, { cmd: 'link set gone up' }]), (err: unknown) => {
      assert.ok(err instanceof PodnetError);
      assert.match(err.message, /1 of 2 commands failed: line 2 "link set gone up": Cannot find device "gone"/);
      return true;
    });
    await assert.rejects(session.runInNetns('no-such-pod', [{ cmd: 'link set lo up' }]), (err: unknown) => err instanceof PodnetError && err.code === 'NETNS_NOT_FOUND');
    await session.run([{ cmd: 'link show dev lo' }]); // the session still answers
  } finally {
    await run(['ip', 'netns', 'del', 'sess-pod']);
  }
});

test('a session given a directory removes the batch files a killed predecessor left there, and the directory on close', async () => {
  const dir = join(mkdtempSync(join(tmpdir(), 'podnet-session-')), 'ip-batches');
  mkdirSync(dir);
  writeFileSync(join(dir, '17.batch'), 'link set lo up\n');
  const own = startIpSession({ fileDir: dir });
  await run(['ip', 'netns', 'add', 'sess-dir']);
  try {
    await own.runInNetns('sess-dir', [{ cmd: 'link set lo up' }]);
    assert.deepEqual(readdirSync(dir), []);
  } finally {
    await own.close();
    await run(['ip', 'netns', 'del', 'sess-dir']);
  }
  assert.equal(existsSync(dir), false);
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

test('a batch that does not finish in time kills its ip and fails; the session goes on with a new one', async () => {
  const slow = startIpSession({ batchTimeoutMs: 300 });
  try {
    // `monitor` never ends by itself: it stands for an ip stuck in the kernel
    await assert.rejects(slow.run([{ cmd: 'monitor link' }]), (err: unknown) => err instanceof PodnetError && /killed by SIGKILL/.test(err.message));
    await slow.run([{ cmd: 'link show dev lo' }]);
  } finally {
    await slow.close();
  }
});

test('after close, a batch is refused instead of starting ip again', async () => {
  const closing = startIpSession();
  await closing.run([{ cmd: 'link show dev lo' }]);
  await closing.close();
  await assert.rejects(closing.run([{ cmd: 'link show dev lo' }]), /closed/);
});
