// Issue 11 items 4 and 5 with real kernel state. The sandbox's own network namespace is the node: its primary ENI is
// a veth with the MAC the emulator's IMDS reports (sysctls under net/ are per network namespace, tcp_early_demux
// included, so nothing here reaches the machine's own). `podnet init` runs as a user runs it, from source, with the
// emulator's IMDS given explicitly; ipamd runs in process with the Linux dataplane.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { applyPrimaryMtu } from '../../src/dataplane/index.js';
import { run } from '../../src/lib/index.js';
import { podnetArgv, root } from '../run-podnet.js';
import { daemonEnv, startCloud, startDaemon, type Cloud } from '../unit/ipamd/daemon-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-init-'));
const pod = 'pn-init-pod';
let cloud: Cloud;
let primaryMac: string;

const sysctl = (key: string) => readFileSync(`/proc/sys/${key}`, 'utf8').trim();
const setSysctl = (key: string, value: string) => writeFileSync(`/proc/sys/${key}`, value);

/**
 * `podnet init ARGS` from source with only `env` (and PATH) set. Asynchronous: the emulator answering its IMDS calls
 * runs in this process. Killed after 30 s, so a hang fails the test.
 */
function podnetInit(args: string[], env: Record<string, string> = {}): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...podnetArgv, 'init', ...args], {
      cwd: root, env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', ...env },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    child.on('error', reject);
    child.on('close', (status, signal) => {
      clearTimeout(timer);
      if (signal) reject(new Error(`podnet init ${args.join(' ')} was killed by ${signal}: ${stderr}`));
      else resolve({ status, stdout, stderr });
    });
  });
}

/** A fresh node directory and the flags that put the CNI files there. */
function nodeDirs(name: string): { bin: string; conf: string; flags: string[] } {
  const base = join(dir, name);
  mkdirSync(base);
  const bin = join(base, 'bin');
  const conf = join(base, 'net.d');
  return { bin, conf, flags: ['--bin-dir', bin, '--conf-dir', conf, '--socket', join(base, 'ipamd.sock')] };
}

const imdsEnv = () => ({ AWS_EC2_METADATA_SERVICE_ENDPOINT: `${cloud.emulator.imdsUrl}/${cloud.instanceId}` });

before(async () => {
  await run(['ip', 'link', 'set', 'lo', 'up']);
  cloud = await startCloud({ instanceType: 't3.medium' });
  const instance = (await cloud.ec2.send(new DescribeInstancesCommand({ InstanceIds: [cloud.instanceId] }))).Reservations![0]!.Instances![0]!;
  const eni = instance.NetworkInterfaces![0]!;
  primaryMac = eni.MacAddress!;
  await run(['ip', 'link', 'add', 'ens5', 'address', primaryMac, 'mtu', '1500', 'type', 'veth', 'peer', 'name', 'pn-init-gw0']);
  await run(['ip', 'addr', 'add', `${eni.PrivateIpAddress}/24`, 'dev', 'ens5']);
  await run(['ip', 'link', 'set', 'ens5', 'up']);
  // a second link, whose rp_filter must stay as it is
  await run(['ip', 'link', 'add', 'ens6', 'type', 'veth', 'peer', 'name', 'pn-init-gw1']);
});

after(async () => {
  await cloud?.close();
  await run(['ip', 'netns', 'del', pod]).catch(() => {});
  for (const link of ['ens5', 'ens6']) await run(['ip', 'link', 'del', link]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

test('issue 11 item 5: podnet init sets rp_filter=2 on the primary interface (the link with IMDS mac), tcp_early_demux=1, and installs the CNI files', async () => {
  for (const link of ['ens5', 'ens6']) setSysctl(`net/ipv4/conf/${link}/rp_filter`, '1');
  setSysctl('net/ipv4/tcp_early_demux', '0');
  const node = nodeDirs('imds');
  const r = await podnetInit([...node.flags, '--json'], imdsEnv());
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { primaryInterface: unknown; sysctls: unknown; install: { launcher: string; plugins: string[]; conflist: string } };
  assert.deepEqual(out.primaryInterface, { name: 'ens5', from: 'imds', mac: primaryMac });
  assert.deepEqual(out.sysctls, [
    { key: 'net.ipv4.conf.ens5.rp_filter', value: '2', before: '1' },
    { key: 'net.ipv4.tcp_early_demux', value: '1', before: '0' },
  ]);
  assert.equal(sysctl('net/ipv4/conf/ens5/rp_filter'), '2');
  assert.equal(sysctl('net/ipv4/conf/ens6/rp_filter'), '1', 'only the primary interface');
  assert.equal(sysctl('net/ipv4/tcp_early_demux'), '1');
  assert.deepEqual(out.install.plugins, [join(node.bin, 'loopback'), join(node.bin, 'portmap')]);
  for (const f of [out.install.launcher, ...out.install.plugins, out.install.conflist]) assert.ok(existsSync(f), f);
});

test('issue 11 item 4: DISABLE_TCP_EARLY_DEMUX=true makes podnet init set net.ipv4.tcp_early_demux=0 (false sets 1)', async () => {
  setSysctl('net/ipv4/tcp_early_demux', '1');
  const r = await podnetInit([...nodeDirs('demux-off').flags], { ...imdsEnv(), DISABLE_TCP_EARLY_DEMUX: 'true' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(sysctl('net/ipv4/tcp_early_demux'), '0');
  assert.match(r.stdout, /^net\.ipv4\.tcp_early_demux\s+0 \(was 1\)$/m);
  assert.match(r.stdout, /^primary interface: ens5 \(the link with IMDS mac /m);
  const back = await podnetInit([...nodeDirs('demux-on').flags], { ...imdsEnv(), DISABLE_TCP_EARLY_DEMUX: 'false' });
  assert.equal(back.status, 0, back.stderr);
  assert.equal(sysctl('net/ipv4/tcp_early_demux'), '1');
});

test('issue 11 item 5: --primary-interface names the link without IMDS; a name that is not a link is refused with a suggestion', async () => {
  setSysctl('net/ipv4/conf/ens6/rp_filter', '1');
  const r = await podnetInit([...nodeDirs('option').flags, '--primary-interface', 'ens6', '--json']);
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual((JSON.parse(r.stdout) as { primaryInterface: unknown }).primaryInterface, { name: 'ens6', from: 'option' });
  assert.equal(sysctl('net/ipv4/conf/ens6/rp_filter'), '2');

  const typo = nodeDirs('typo');
  const bad = await podnetInit([...typo.flags, '--primary-interface', 'ens7']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /^error: --primary-interface ens7: no such link in this network namespace .*\nhint: did you mean ens5\?\n$/);
  const climb = await podnetInit([...typo.flags, '--primary-interface', '../../kernel']);
  assert.equal(climb.status, 2);
  assert.match(climb.stderr, /^error: --primary-interface "\.\.\/\.\.\/kernel" is not an interface name\nhint: /);
  assert.equal(existsSync(typo.bin) || existsSync(typo.conf), false, 'a refused init writes nothing');
});

test('issue 11 item 5: a sysctl write that fails leaves nothing behind: rp_filter is put back and the CNI files this run wrote are removed', async () => {
  setSysctl('net/ipv4/conf/ens5/rp_filter', '1');
  // tcp_early_demux exists but cannot be written: a read-only file bound over it (this sandbox's mount namespace)
  const stand = join(dir, 'tcp_early_demux');
  writeFileSync(stand, '1\n');
  const key = '/proc/sys/net/ipv4/tcp_early_demux';
  await run(['mount', '--bind', stand, key]);
  try {
    await run(['mount', '-o', 'remount,bind,ro', key]);
    const node = nodeDirs('rollback');
    const r = await podnetInit(node.flags, imdsEnv());
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^error: cannot write sysctl net\.ipv4\.tcp_early_demux: EROFS; the CNI files this run wrote were taken back\nhint: /);
    assert.equal(sysctl('net/ipv4/conf/ens5/rp_filter'), '1', 'rp_filter is as it was');
    assert.equal(existsSync(node.bin) || existsSync(node.conf), false, 'the directories init created are gone');
  } finally {
    await run(['umount', key]);
  }
});

test('issue 11 item 4: DISABLE_POD_V6=true chains tuning with disable_ipv6 sysctls and the pod has no IPv6 address', async () => {
  const node = nodeDirs('pod-v6');
  const r = await podnetInit([...node.flags, '--json'], { ...imdsEnv(), DISABLE_POD_V6: 'true' });
  assert.equal(r.status, 0, r.stderr);
  const out = JSON.parse(r.stdout) as { install: { conflist: string; plugins: string[] } };
  assert.ok(out.install.plugins.includes(join(node.bin, 'tuning')), 'init copies the tuning plugin the conflist chains');
  const conflist = JSON.parse(readFileSync(out.install.conflist, 'utf8')) as { cniVersion: string; name: string; plugins: Record<string, unknown>[] };
  const tuning = conflist.plugins.find((p) => p.type === 'tuning');
  assert.deepEqual(tuning, { type: 'tuning', sysctl: { 'net.ipv6.conf.all.disable_ipv6': '1', 'net.ipv6.conf.default.disable_ipv6': '1', 'net.ipv6.conf.lo.disable_ipv6': '1' } });

  // a pod as the main plugin leaves it (eth0 and lo up, so IPv6 gives both addresses), then the chained tuning ADD
  // exactly as a runtime runs it: the installed binary, the conflist's entry, the previous plugin's result
  await run(['ip', 'netns', 'add', pod]);
  await run(['ip', 'link', 'add', 'pn-init-veth', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', pod]);
  await run(['ip', '-n', pod, 'link', 'set', 'lo', 'up']);
  await run(['ip', '-n', pod, 'link', 'set', 'eth0', 'up']);
  const { stdout: v6Before } = await run(['ip', '-n', pod, '-6', '-o', 'addr', 'show']);
  assert.match(v6Before, /inet6 ::1\/128/, 'IPv6 is on in a new pod');
  const prevResult = { cniVersion: conflist.cniVersion, interfaces: [{ name: 'eth0', sandbox: `/var/run/netns/${pod}` }], ips: [{ version: '4', address: '10.0.1.50/32', interface: 0 }] };
  await run([join(node.bin, 'tuning')], {
    input: JSON.stringify({ cniVersion: conflist.cniVersion, name: conflist.name, ...tuning, prevResult }),
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'pn-init-pod', CNI_NETNS: `/var/run/netns/${pod}`, CNI_IFNAME: 'eth0', CNI_PATH: node.bin },
  });
  const { stdout: values } = await run(['ip', 'netns', 'exec', pod, 'sysctl', '-n', 'net.ipv6.conf.all.disable_ipv6', 'net.ipv6.conf.default.disable_ipv6', 'net.ipv6.conf.lo.disable_ipv6', 'net.ipv6.conf.eth0.disable_ipv6']);
  assert.deepEqual(values.trim().split('\n'), ['1', '1', '1', '1']);
  const { stdout: v6After } = await run(['ip', '-n', pod, '-6', '-o', 'addr', 'show']);
  assert.equal(v6After.trim(), '', 'no IPv6 address in the pod, not even on lo');
});

test('issue 11 item 5: ipamd sets AWS_VPC_ENI_MTU (9001 by default) on the primary ENI, once', async () => {
  await run(['ip', 'link', 'set', 'ens5', 'mtu', '1500']);
  const ipamd = await startDaemon(daemonEnv(cloud, { PODNET_DATAPLANE: 'linux', WARM_IP_TARGET: '1', AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json') }));
  try {
    const { stdout } = await run(['ip', '-j', 'link', 'show', 'dev', 'ens5']);
    assert.equal((JSON.parse(stdout) as { mtu: number }[])[0]!.mtu, 9001);
  } finally {
    await ipamd.stop();
  }
  assert.deepEqual(await applyPrimaryMtu('ens5', 9001), [], 'the MTU already set: no change');
  assert.deepEqual(await applyPrimaryMtu('ens5', 1500), ['ip link set dev ens5 mtu 1500']);
  await assert.rejects(applyPrimaryMtu('ens9', 9001), (err: Error & { code?: string }) => err.code === 'LINK_NOT_FOUND' && /ens9 does not exist/.test(err.message));
});
