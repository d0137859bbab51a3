// Issue 12 item 3: installing from a container, as a DaemonSet's init container installs onto the host through a host
// mount. The sandbox's root filesystem is the container; the host is a minimal root directory built here with what an
// EKS node has for the launcher — sh, cat, coreutils' timeout, OpenBSD netcat, ip, glibc and libstdc++ — and no Node.
// `podnet cni install --host-root` and `podnet init --host-root` write under it; then, chrooted into the host, the
// launcher runs with ipamd unreachable and the fallback plugin answers on the Node runtime the install copied.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { run } from '../../src/lib/index.js';
import { podnet } from '../run-podnet.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-host-root-'));
const host = join(dir, 'host');
const hostPath = '/usr/sbin:/usr/bin:/sbin:/bin';
const conf = JSON.stringify({ cniVersion: '0.4.0', name: 'aws-cni', type: 'podnet-cni' });

/** A file of this machine copied to the same path under the host root, with the shared libraries ldd lists for it. */
function copyWithLibraries(path: string, as = path): void {
  const target = join(host, as);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(path, target);
  const ldd = spawnSync('ldd', [path], { encoding: 'utf8' }).stdout;
  for (const lib of ldd.matchAll(/(\/\S+\.so[.\d]*)/g)) {
    const libTarget = join(host, lib[1]!.replace(/^\/lib/, '/usr/lib'));
    if (existsSync(libTarget)) continue;
    mkdirSync(dirname(libTarget), { recursive: true });
    copyFileSync(lib[1]!, libTarget);
  }
}

/** Runs argv inside the host root with the host's PATH and only the given variables. */
function inHost(argv: string[], env: Record<string, string> = {}, input = ''): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync('chroot', [host, ...argv], { encoding: 'utf8', input, env: { PATH: hostPath, ...env }, timeout: 30_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

const install = (extra: string[] = ['--json']) => podnet(['cni', 'install', '--host-root', host, '--bin-dir', '/opt/cni/bin', '--conf-dir', '/etc/cni/net.d', '--socket', '/run/aws-node/ipamd.sock', ...extra], { env: {} });

before(async () => {
  // merged /usr as on Debian and Amazon Linux 2023: /bin, /sbin, /lib and /lib64 are relative links into /usr
  for (const d of ['usr/bin', 'usr/sbin', 'usr/lib', 'usr/lib64', 'opt/cni', 'etc/cni', 'run', 'proc', 'dev']) mkdirSync(join(host, d), { recursive: true });
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(host, d));
  copyWithLibraries('/usr/bin/dash');
  symlinkSync('dash', join(host, 'usr/bin/sh'));
  copyWithLibraries('/usr/bin/cat');
  copyWithLibraries('/usr/bin/timeout');
  copyWithLibraries('/usr/bin/nc.openbsd', '/usr/bin/nc');
  copyWithLibraries(spawnSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).stdout.trim(), '/usr/sbin/ip');
  copyWithLibraries(process.execPath, '/tmp/libraries-of-node'); // glibc and libstdc++, as a node of EKS has them
  rmSync(join(host, 'tmp'), { recursive: true });
  await run(['mount', '-t', 'proc', 'proc', join(host, 'proc')]);
  await run(['mount', '--rbind', '/dev', join(host, 'dev')]);
});

after(async () => {
  await run(['umount', '-R', join(host, 'dev')]).catch(() => {});
  await run(['umount', join(host, 'proc')]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

test('the host has no node', () => {
  assert.notEqual(inHost(['sh', '-c', 'command -v node']).status, 0);
  assert.equal(inHost(['sh', '-c', 'command -v nc && command -v timeout && command -v ip']).status, 0);
});

test('cni install --host-root writes under the host root, with the host\'s paths inside the files, and copies the Node runtime and plugin', () => {
  const r = install();
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { launcher: string; conflist: string; runtime: string; fallbackArgv: string[]; hostRoot: string };
  assert.deepEqual([out.launcher, out.conflist, out.runtime, out.hostRoot], ['/opt/cni/bin/podnet-cni', '/etc/cni/net.d/10-aws.conflist', '/opt/cni/bin/podnet', host]);
  assert.deepEqual(out.fallbackArgv, ['/opt/cni/bin/podnet/node', '/opt/cni/bin/podnet/bin/podnet-cni-plugin.js']);
  const launcher = readFileSync(join(host, out.launcher), 'utf8');
  assert.match(launcher, /^fallback_plugin=.*'\/opt\/cni\/bin\/podnet\/node'.*'\/opt\/cni\/bin\/podnet\/bin\/podnet-cni-plugin\.js'/m);
  assert.match(launcher, /^ipamd_socket='\/run\/aws-node\/ipamd\.sock'$/m);
  assert.ok(!launcher.includes(host) && !readFileSync(join(host, out.conflist), 'utf8').includes(host), 'no path of the installer in the files');
  assert.equal((JSON.parse(readFileSync(join(host, out.conflist), 'utf8')) as { plugins: { ipamdSocket?: string }[] }).plugins[0]!.ipamdSocket, '/run/aws-node/ipamd.sock');
  const link = readlinkSync(join(host, out.runtime));
  assert.match(link, /^podnet\.[0-9a-f]{12}$/, 'a relative link, so it resolves on the host');
  assert.equal(lstatSync(join(host, '/opt/cni/bin/podnet/node')).size, lstatSync(process.execPath).size);
});

test('chrooted into the host, the installed launcher without ipamd runs the copied fallback: VERSION works, ADD answers 11, DEL succeeds', () => {
  const version = inHost(['/opt/cni/bin/podnet-cni'], { CNI_COMMAND: 'VERSION' }, conf);
  assert.equal(version.status, 0, version.stderr);
  assert.deepEqual((JSON.parse(version.stdout) as { supportedVersions: string[] }).supportedVersions, ['0.3.1', '0.4.0', '1.0.0', '1.1.0']);
  const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c1', CNI_NETNS: '/var/run/netns/cni-1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };
  const add = inHost(['/opt/cni/bin/podnet-cni'], env, conf);
  assert.equal(add.status, 1, add.stderr);
  const e = JSON.parse(add.stdout) as { code: number; msg: string };
  assert.equal(e.code, 11);
  assert.match(e.msg, /^IPAMD_UNREACHABLE: ipamd's socket \/run\/aws-node\/ipamd\.sock does not exist/);
  const del = inHost(['/opt/cni/bin/podnet-cni'], { ...env, CNI_COMMAND: 'DEL', CNI_NETNS: '' }, conf);
  assert.deepEqual([del.status, del.stdout], [0, ''], del.stderr);
});

test('a reinstall replaces the runtime whole: the new podnet.<id> directory and the one it replaced are left, and the launcher still falls back', () => {
  const before = readlinkSync(join(host, 'opt/cni/bin/podnet'));
  const r = install();
  assert.equal(r.status, 0, r.stderr);
  const now = readlinkSync(join(host, 'opt/cni/bin/podnet'));
  assert.notEqual(now, before);
  assert.deepEqual(readdirSync(join(host, 'opt/cni/bin')).filter((n) => n.startsWith('podnet.')).sort(), [before, now].sort());
  assert.equal(inHost(['/opt/cni/bin/podnet-cni'], { CNI_COMMAND: 'VERSION' }, conf).status, 0);
});

test("the host's tools are checked, not the installer's: a host whose nc is busybox's, or without timeout, is refused and nothing changes", () => {
  const bin = join(host, 'opt/cni/bin');
  const listing = readdirSync(bin).sort();
  const nc = join(host, 'usr/bin/nc');
  const saved = join(dir, 'nc');
  copyFileSync(nc, saved);
  unlinkSync(nc);
  try {
    copyFileSync('/bin/busybox', join(host, 'usr/bin/busybox'));
    symlinkSync('/usr/bin/busybox', nc); // absolute, as a host's own link: it resolves only inside the host root
    const busybox = install([]);
    assert.equal(busybox.status, 1);
    assert.match(busybox.stderr, /^error: the nc on the host \(.* under --host-root .*\) cannot connect to unix sockets/);
    unlinkSync(nc);
    const none = install([]);
    assert.equal(none.status, 1);
    assert.match(none.stderr, /^error: podnet-cni talks to ipamd with nc, and no nc is on the host/);
  } finally {
    rmSync(nc, { force: true });
    copyFileSync(saved, nc);
  }
  const timeout = join(host, 'usr/bin/timeout');
  copyFileSync(timeout, join(dir, 'timeout'));
  unlinkSync(timeout);
  try {
    const r = install([]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error: podnet-cni bounds its call to ipamd with timeout, and no timeout is on the host/);
  } finally {
    copyFileSync(join(dir, 'timeout'), timeout);
  }
  assert.deepEqual(readdirSync(bin).sort(), listing, 'a refused install changes nothing');
});

test("a Node the host cannot start (here: the host lacks libstdc++) is refused before the runtime link moves, and the install is taken back", () => {
  const bin = join(host, 'opt/cni/bin');
  const listing = readdirSync(bin).sort();
  const link = readlinkSync(join(bin, 'podnet'));
  const lib = readdirSync(join(host, 'usr/lib/x86_64-linux-gnu')).find((n) => n.startsWith('libstdc++'));
  assert.ok(lib, 'the host root has libstdc++');
  const path = join(host, 'usr/lib/x86_64-linux-gnu', lib);
  copyFileSync(path, join(dir, lib));
  unlinkSync(path);
  try {
    const r = install([]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error: the Node runtime copied for the fallback plugin \(.*\) does not start on the host: .*libstdc\+\+/);
  } finally {
    copyFileSync(join(dir, lib), path);
  }
  assert.deepEqual(readdirSync(bin).sort(), listing, 'the new runtime directory is gone');
  assert.equal(readlinkSync(join(bin, 'podnet')), link, 'the link still points at the runtime that works');
});

test('a --bin-dir that a link with an absolute target takes out of the host root is refused, and what the install made is taken back', () => {
  const outside = join(dir, 'outside');
  mkdirSync(outside);
  symlinkSync(outside, join(host, 'opt/elsewhere')); // absolute: the installer resolves it in its own filesystem
  try {
    const r = podnet(['cni', 'install', '--host-root', host, '--bin-dir', '/opt/elsewhere/bin', '--conf-dir', '/etc/cni/net.d', '--socket', '/run/aws-node/ipamd.sock'], { env: {} });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /^error: --bin-dir .*\/opt\/elsewhere\/bin resolves to .*\/outside\/bin, outside --host-root .*\nhint: /);
    assert.deepEqual(readdirSync(outside), [], 'the bin dir it created outside the host root is gone');
  } finally {
    unlinkSync(join(host, 'opt/elsewhere'));
  }
});

test('podnet init --host-root writes the CNI files and plugins under the host root and sets the sysctls of its network namespace', async () => {
  await run(['ip', 'link', 'add', 'pn-hr-eth0', 'type', 'veth', 'peer', 'name', 'pn-hr-peer']);
  try {
    const r = podnet(['init', '--host-root', host, '--bin-dir', '/opt/cni/bin', '--conf-dir', '/etc/cni/net.d', '--socket', '/run/aws-node/ipamd.sock', '--plugins-dir', '/usr/lib/cni', '--primary-interface', 'pn-hr-eth0', '--json'], { env: {} });
    assert.equal(r.status, 0, r.stderr);
    const out = JSON.parse(r.stdout) as { install: { plugins: string[]; hostRoot: string } };
    assert.deepEqual(out.install.plugins, ['/opt/cni/bin/loopback', '/opt/cni/bin/portmap']);
    for (const p of out.install.plugins) assert.ok(existsSync(join(host, p)), p);
    assert.equal(readFileSync('/proc/sys/net/ipv4/conf/pn-hr-eth0/rp_filter', 'utf8').trim(), '2');
    assert.equal(inHost(['/opt/cni/bin/podnet-cni'], { CNI_COMMAND: 'VERSION' }, conf).status, 0);
  } finally {
    await run(['ip', 'link', 'del', 'pn-hr-eth0']).catch(() => {});
  }
});
