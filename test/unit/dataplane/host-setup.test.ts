// The init container's sysctls (spec §3.7) as data, and their writer against a directory of plain files standing in
// for /proc/sys: what is read before, what is skipped, and how a failed write puts back the ones before it.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { applySysctls, checkSysctls, renderInitSysctls } from '../../../src/dataplane/index.js';
import { PodnetError } from '../../../src/lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-host-setup-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** A fake /proc/sys holding `values` (key in path form → value). */
function procSys(name: string, values: Record<string, string>): string {
  const root = join(dir, name);
  for (const [key, value] of Object.entries(values)) {
    mkdirSync(dirname(join(root, key)), { recursive: true });
    writeFileSync(join(root, key), `${value}\n`);
  }
  return root;
}

const read = (root: string, key: string) => readFileSync(join(root, key), 'utf8').trim();

test('issue 11 item 5: podnet init writes rp_filter=2 on the primary interface and tcp_early_demux=1 by default (aws-vpc-cni-init)', () => {
  assert.deepEqual(renderInitSysctls({ primaryInterface: 'ens5', disableTcpEarlyDemux: false }), [
    { key: 'net/ipv4/conf/ens5/rp_filter', value: '2', ifExists: false },
    { key: 'net/ipv4/tcp_early_demux', value: '1', ifExists: true },
  ]);
});

test('issue 11 item 4: DISABLE_TCP_EARLY_DEMUX=true sets net.ipv4.tcp_early_demux=0, only where the kernel has the key', () => {
  const [, demux] = renderInitSysctls({ primaryInterface: 'eth0', disableTcpEarlyDemux: true });
  assert.deepEqual(demux, { key: 'net/ipv4/tcp_early_demux', value: '0', ifExists: true });
  const root = procSys('old-kernel', { 'net/ipv4/conf/eth0/rp_filter': '1' });
  const { results } = applySysctls(renderInitSysctls({ primaryInterface: 'eth0', disableTcpEarlyDemux: true }), root);
  assert.deepEqual(results, [
    { key: 'net/ipv4/conf/eth0/rp_filter', value: '2', before: '1' },
    { key: 'net/ipv4/tcp_early_demux', value: '0', before: undefined },
  ]);
  assert.equal(read(root, 'net/ipv4/conf/eth0/rp_filter'), '2');
});

test('an interface name that could climb out of net/ipv4/conf never becomes a sysctl path', () => {
  for (const bad of ['..', '.', 'a/b', '../../kernel', 'eth0\n', '', 'a-name-longer-than-15']) {
    assert.throws(() => renderInitSysctls({ primaryInterface: bad, disableTcpEarlyDemux: false }), (err: unknown) => err instanceof PodnetError && err.code === 'INVALID_INPUT', bad);
  }
});

test('checkSysctls refuses a required key that does not exist (no such interface) before anything is written', () => {
  const root = procSys('no-iface', { 'net/ipv4/tcp_early_demux': '1' });
  assert.throws(() => checkSysctls(renderInitSysctls({ primaryInterface: 'ens5', disableTcpEarlyDemux: true }), root), /net\.ipv4\.conf\.ens5\.rp_filter does not exist/);
  assert.equal(read(root, 'net/ipv4/tcp_early_demux'), '1');
});

test('a failed write puts back the values written before it, and undo restores a successful run', () => {
  const root = procSys('rollback', { 'net/ipv4/conf/ens5/rp_filter': '1', 'net/ipv4/tcp_early_demux': '1' });
  // a directory where a value should be: reading it fails (EISDIR) after rp_filter was written
  mkdirSync(join(root, 'net/ipv4/conf/ens5/broken'));
  const settings = [...renderInitSysctls({ primaryInterface: 'ens5', disableTcpEarlyDemux: true }), { key: 'net/ipv4/conf/ens5/broken', value: '1', ifExists: false }];
  assert.throws(() => applySysctls(settings, root), /cannot (read|write) sysctl net\.ipv4\.conf\.ens5\.broken: EISDIR/);
  assert.equal(read(root, 'net/ipv4/conf/ens5/rp_filter'), '1');
  assert.equal(read(root, 'net/ipv4/tcp_early_demux'), '1');

  const applied = applySysctls(settings.slice(0, 2), root);
  assert.equal(read(root, 'net/ipv4/conf/ens5/rp_filter'), '2');
  assert.equal(read(root, 'net/ipv4/tcp_early_demux'), '0');
  assert.deepEqual(applied.undo(), []);
  assert.equal(read(root, 'net/ipv4/conf/ens5/rp_filter'), '1');
  assert.equal(read(root, 'net/ipv4/tcp_early_demux'), '1');
});
