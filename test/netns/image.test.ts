// podnet's offline image (src/lab/image.ts): built from this host's node, tools and the built app, imported into a
// private containerd with `ctr images import` (no registry; a node imports into k8s.io), and run: `podnet --version`,
// `podnet ipamd` loads all it imports, the tools the probes and ipamd use start (their libraries came along), and
// `podnet init --host-root /host` installs the CNI launcher, plugins and conflist into a temp dir mounted as the
// host's root. containerd runs in a mount namespace of its own (tmpfs on /run/containerd and /var/lib/cni, as the
// lab's nodes do); ctr joins it.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, readlinkSync, rmdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { buildPodnetImage, PODNET_IMAGE } from '../../src/lab/image.js';
import { renderContainerdConfig } from '../../src/lab/index.js';
import { onPath, run, type ExecError } from '../../src/lib/index.js';

const needed = ['containerd', 'ctr', 'runc', 'unshare', 'nsenter'].filter((t) => !onPath(t));
const built = existsSync(new URL('../../dist/cli/main.js', import.meta.url));
const skip = needed.length > 0 ? `needs ${needed.join(', ')}` : !built ? 'needs the build (npm run build)' : false;

const dir = mkdtempSync(join(tmpdir(), 'podnet-image-test-'));
const socket = join(dir, 'containerd.sock');
// ctr's namespace for this test alone (a node imports into k8s.io, the CRI plugin's): runc's cgroup directories are
// named after it, so the test can remove what it left without touching anyone else's
const NS = 'podnet-image-test';
let containerd: ChildProcess | undefined;
const ids: string[] = [];

/** ctr inside containerd's mount namespace (its FIFOs and shim sockets live in that namespace's /run/containerd). */
const ctr = (args: readonly string[], timeoutMs = 60_000) =>
  run(['nsenter', '-t', String(containerd!.pid), '-m', 'ctr', '--address', socket, '--namespace', NS, ...args], { timeoutMs });

/** Runs a command in a fresh container of the image, removed afterwards; returns its output. */
async function inImage(name: string, argv: readonly string[], opts: readonly string[] = []): Promise<string> {
  const id = `podnet-image-${name}`;
  ids.push(id);
  const { stdout } = await ctr(['run', '--rm', ...opts, PODNET_IMAGE, id, ...argv]);
  return stdout;
}

before(async () => {
  if (skip) return;
  for (const d of ['/run/containerd', '/var/lib/cni']) mkdirSync(d, { recursive: true });
  writeFileSync(join(dir, 'config.toml'), renderContainerdConfig({ dir, socket, cniBinDir: '/usr/lib/cni', cniConfDir: join(dir, 'net.d') }));
  const log = openSync(join(dir, 'containerd.log'), 'a');
  const body = 'set -e; mount -t tmpfs podnet-image-ctrd /run/containerd; mount -t tmpfs podnet-image-cni /var/lib/cni; exec containerd --config "$1"';
  // without --fork unshare execs sh, which execs containerd: the child's pid is containerd's
  containerd = spawn('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', body, 'sh', join(dir, 'config.toml')], { stdio: ['ignore', log, log] });
  closeSync(log);
  const deadline = Date.now() + 15_000;
  while (!(existsSync(socket) && (await ctr(['version'], 2_000).then(() => true, () => false)))) {
    if (containerd.exitCode !== null || Date.now() > deadline) throw new Error(`containerd did not start: ${readFileSync(join(dir, 'containerd.log'), 'utf8').slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 50));
  }
});

after(async () => {
  if (containerd && containerd.exitCode === null) {
    const left = await ctr(['containers', 'list', '--quiet'], 5_000).then((r) => r.stdout.split('\n').filter(Boolean), () => ids);
    for (const id of left) {
      await ctr(['tasks', 'kill', '--signal', 'SIGKILL', id], 5_000).catch(() => {});
      await ctr(['tasks', 'delete', '--force', id], 5_000).catch(() => {});
      await ctr(['containers', 'delete', id], 5_000).catch(() => {});
    }
    const exited = new Promise((r) => containerd!.once('exit', r));
    containerd.kill('SIGTERM');
    const timer = setTimeout(() => containerd!.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }
  // runc's cgroup directories live outside every namespace: remove the empty ones this namespace left
  for (const hierarchy of existsSync('/sys/fs/cgroup') ? readdirSync('/sys/fs/cgroup') : []) {
    for (const path of [...ids.map((id) => join(NS, id)), NS]) {
      try {
        rmdirSync(join('/sys/fs/cgroup', hierarchy, path));
      } catch {
        // absent (runc removed it), or not empty
      }
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

test('the image builds offline, imports into containerd and runs podnet: --version, its tools, init onto a host root', { skip, timeout: 180_000 }, async (t) => {
  const started = Date.now();
  const archive = await buildPodnetImage(join(dir, 'podnet-image.tar'));
  const builtMs = Date.now() - started;
  assert.ok(statSync(archive).size > 50e6, 'node, the tools and the app are in it');
  await ctr(['images', 'import', archive], 120_000);
  const importedMs = Date.now() - started - builtMs;
  assert.match((await ctr(['images', 'list', '--quiet'])).stdout, new RegExp(`^${PODNET_IMAGE.replace(/[.]/g, '\\.')}$`, 'm'));

  const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  assert.equal((await inImage('version', ['podnet', '--version'])).trim(), version);

  // ipamd loads with everything it imports (the SDK, client-node, pino) and stops where it should: no cloud configured
  const ipamd = await inImage('ipamd', ['podnet', 'ipamd']).then(
    () => assert.fail('podnet ipamd started without EC2, IMDS or AWS_REGION'),
    (err: unknown) => err as ExecError,
  );
  assert.equal(ipamd.exitCode, 1, ipamd.message);
  assert.match(ipamd.stderr, /AWS_REGION is not set/);

  // the DaemonSet's probe shell and what ipamd and init run start with their libraries
  const tools = await inImage('tools', ['sh', '-c', 'ip -V && nft --version && iptables --version && ip6tables-save --version && sysctl --version && timeout --version && nc -h 2>&1 | head -n 1 || true; command -v nc']);
  assert.match(tools, /iproute2/);
  assert.match(tools, /nftables v/);
  assert.match(tools, /iptables v[\d.]+ \(nf_tables\)/);
  assert.match(tools, /\/nc$/m);

  // podnet init onto a host root mounted as the DaemonSet mounts it: the host's / read-only at /host (here a root
  // made of this machine's /usr and its merged-/usr links) with the CNI dirs writable; its own network namespace
  // (ctr's default) takes the sysctls
  const hostRoot = join(dir, 'host');
  for (const d of ['usr', 'opt/cni/bin', 'etc/cni/net.d']) mkdirSync(join(hostRoot, d), { recursive: true });
  for (const d of ['bin', 'sbin', 'lib', 'lib64']) symlinkSync(`usr/${d}`, join(hostRoot, d));
  // Debian's nc, iptables, … are links through /etc/alternatives
  mkdirSync(join(hostRoot, 'etc/alternatives'));
  for (const link of readdirSync('/etc/alternatives', { withFileTypes: true }).filter((e) => e.isSymbolicLink())) {
    symlinkSync(readlinkSync(join('/etc/alternatives', link.name)), join(hostRoot, 'etc/alternatives', link.name));
  }
  const bind = (src: string, dst: string, mode: 'ro' | 'rw') => ['--mount', `type=bind,src=${src},dst=${dst},options=rbind:${mode}`];
  const out = await inImage('init', ['podnet', 'init', '--host-root', '/host', '--primary-interface', 'lo', '--json'], [
    '--privileged', ...bind(hostRoot, '/host', 'ro'), ...bind('/usr', '/host/usr', 'ro'),
    ...bind(join(hostRoot, 'opt/cni/bin'), '/host/opt/cni/bin', 'rw'), ...bind(join(hostRoot, 'etc/cni/net.d'), '/host/etc/cni/net.d', 'rw'),
    '--env', 'ENABLE_IPv4=true',
  ]);
  const result = JSON.parse(out) as { primaryInterface: { name: string }; sysctls: { key: string; value: string }[] };
  assert.equal(result.primaryInterface.name, 'lo');
  assert.ok(result.sysctls.some((s) => s.key === 'net.ipv4.conf.lo.rp_filter' && s.value === '2'));
  for (const file of ['opt/cni/bin/podnet-cni', 'opt/cni/bin/loopback', 'opt/cni/bin/portmap', 'etc/cni/net.d/10-aws.conflist']) {
    assert.ok(existsSync(join(hostRoot, file)), `${file} installed on the host root`);
  }
  const conflist = JSON.parse(readFileSync(join(hostRoot, 'etc/cni/net.d/10-aws.conflist'), 'utf8')) as { name: string };
  assert.equal(conflist.name, 'aws-cni');
  t.diagnostic(`image: built in ${(builtMs / 1000).toFixed(1)} s, ${(statSync(archive).size / 1e6).toFixed(0)} MB, imported in ${(importedMs / 1000).toFixed(1)} s; whole test ${((Date.now() - started) / 1000).toFixed(1)} s`);
});
