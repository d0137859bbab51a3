/**
 * The image builder's pure parts: which libraries ldd's output names (the loader included, the vDSO not), and the
 * image config the DaemonSet relies on (podnet as the entrypoint, the tools on PATH).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { IMAGE_TOOLS, imageConfig, parseLdd } from '../../../src/lab/image.js';

test('ldd output: resolved libraries and the loader; not the vDSO, nothing for a static binary', () => {
  const out = [
    '\tlinux-vdso.so.1 (0x00007ffd4a1f2000)',
    '\tlibmnl.so.0 => /lib/x86_64-linux-gnu/libmnl.so.0 (0x00007f6203bab000)',
    '\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f6203996000)',
    '\t/lib64/ld-linux-x86-64.so.2 (0x00007f6203c7b000)',
  ].join('\n');
  assert.deepEqual(parseLdd(out), ['/lib/x86_64-linux-gnu/libmnl.so.0', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2']);
  assert.deepEqual(parseLdd('\tnot a dynamic executable\n'), []);
  // several files at once: each file's header line names no library
  assert.deepEqual(parseLdd('/usr/lib/x.so:\n\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x1)\n/usr/lib/y.so:\n\tlibm.so.6 => /lib/x86_64-linux-gnu/libm.so.6 (0x2)'),
    ['/lib/x86_64-linux-gnu/libc.so.6', '/lib/x86_64-linux-gnu/libm.so.6']);
});

test('the image runs podnet by default, finds the tools on PATH, and names its one layer', () => {
  const config = imageConfig('sha256:abc', 'amd64') as { architecture: string; os: string; config: { Entrypoint: string[]; Env: string[] }; rootfs: { diff_ids: string[] } };
  assert.deepEqual(config.config.Entrypoint, ['podnet']);
  assert.ok(config.config.Env.some((e) => /^PATH=.*\/usr\/local\/bin.*\/usr\/sbin/.test(e)));
  assert.deepEqual(config.rootfs.diff_ids, ['sha256:abc']);
  assert.deepEqual([config.os, config.architecture], ['linux', 'amd64']);
  // the DaemonSet's probes need sh, timeout and nc; podnet init's host check needs chroot
  for (const tool of ['sh', 'timeout', 'nc', 'chroot', 'ip', 'iptables', 'nft']) assert.ok((IMAGE_TOOLS as readonly string[]).includes(tool), tool);
});
