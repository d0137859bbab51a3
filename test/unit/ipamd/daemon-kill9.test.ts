/**
 * The restart test: `podnet ipamd` as a child process, killed with SIGKILL at 50 random moments spread over
 * 1,000 pod ADDs and DELs, restarted after each. The harness acts as the container runtime: a failed or cut-off ADD
 * is followed by a DEL, a cut-off DEL is repeated. At the end no address may be held twice, every address a pod
 * holds must exist on one of the node's ENIs in EC2, ipamd and EC2 must agree on the node's addresses, and no
 * ENI may be left detached (the leaked-ENI GC runs on a shortened timer). An exit that is not one of the kills fails
 * the test at once, and every failure ends with the child's last log lines.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { cniCall, daemonEnv, eventually, httpGet, startCloud, type Cloud } from './daemon-harness.js';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const OPS = 1000;
const KILLS = 50;
const MAX_LIVE_PODS = 12;

let cloud: Cloud;
let env: Record<string, string>;
let child: ChildProcess | undefined;
/** Resolves when the current child has exited and its stderr is fully read, so no log line is lost. */
let childClosed: Promise<void> = Promise.resolve();
/** Every log line of every child, in order (kept in memory: the test's temp dir is removed in after()). */
const logLines: string[] = [];

const logTail = (n = 25) => `last ${Math.min(n, logLines.length)} log lines of podnet ipamd (all starts):\n  ${logLines.slice(-n).join('\n  ')}`;
/** mulberry32, seeded: the same kill points and pod churn on every run. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), a | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

before(async () => {
  cloud = await startCloud({ instanceType: 't3.small' });
  env = daemonEnv(cloud, {
    INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
    DISABLE_METRICS: 'true',
    PODNET_LEAKED_ENI_INTERVAL_MS: '1000',
    PODNET_LEAKED_ENI_MIN_AGE_MS: '3000',
    AWS_VPC_K8S_CNI_LOGLEVEL: 'INFO',
  });
  command = ipamdCommand();
});

after(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await cloud?.close();
});

/**
 * How to start `podnet ipamd`: the compiled CLI (bin/podnet.js, as installed) when dist/ holds an output newer than
 * every source file — `npm ci` builds it through the prepare script — else tsx on the sources. The compiled CLI
 * starts in about half the time, and this test starts it 51 times.
 */
function ipamdCommand(): { argv: string[]; how: string } {
  const src = join(root, 'src');
  const stale = (readdirSync(src, { recursive: true }) as string[])
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .find((f) => {
      const out = join(root, 'dist', f.replace(/\.ts$/, '.js'));
      return !existsSync(out) || statSync(out).mtimeMs < statSync(join(src, f)).mtimeMs;
    });
  if (stale === undefined) return { argv: [join(root, 'bin/podnet.js'), 'ipamd'], how: 'the compiled CLI (dist/)' };
  const script = `import { main } from ${JSON.stringify(join(root, 'src/cli/main.ts'))}; await main(['node', 'podnet', 'ipamd']);`;
  return { argv: ['--import', 'tsx', '--input-type=module', '-e', script], how: `tsx on the sources (dist/ is missing or older than src/${stale})` };
}

let command: { argv: string[]; how: string };

async function startChild(): Promise<void> {
  const c = spawn(process.execPath, command.argv, { env: { ...process.env, ...env, NODE_NO_WARNINGS: '1' }, stdio: ['ignore', 'ignore', 'pipe'] });
  child = c;
  let partial = '';
  c.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n');
    partial = lines.pop()!;
    logLines.push(...lines);
  });
  childClosed = new Promise((resolve) => c.once('close', () => {
    if (partial) logLines.push(partial);
    resolve();
  }));
  await eventually(async () => {
    if (c.exitCode !== null || c.signalCode !== null) {
      await childClosed;
      throw new Error(`podnet ipamd exited (${c.exitCode ?? c.signalCode}) while starting`);
    }
    if (!existsSync(env.PODNET_CNI_SOCKET!)) return false;
    const ready = await httpGet({ socketPath: env.PODNET_CNI_SOCKET!, path: '/ready' }).catch(() => ({ status: 0 }));
    return ready.status === 200;
  }, 'podnet ipamd to be ready', 15_000);
}

async function kill9(): Promise<void> {
  if (child!.exitCode === null && child!.signalCode === null) child!.kill('SIGKILL');
  await childClosed;
}

test('kill -9 at 50 random points over 1,000 pod ADDs/DELs leaks no address and never gives one address to two pods', { timeout: 300_000 }, async (t) => {
  t.diagnostic(`podnet ipamd runs from ${command.how}`);
  try {
    await killAndRestart();
  } catch (err) {
    // the child's own words are the clue to any failure here; its temp dir is gone after the test
    if (err instanceof Error) err.message += `\n${logTail()}`;
    throw err;
  }
});

async function killAndRestart(): Promise<void> {
  const random = seeded(20261122);
  const killAt = new Set<number>();
  while (killAt.size < KILLS) killAt.add(1 + Math.floor(random() * (OPS - 1)));
  const live = new Map<string, string>(); // container → address, as the runtime believes
  const toDelete = new Set<string>(); // containers whose ADD or DEL was cut off or refused: DEL them (again)
  let next = 0;
  let refused = 0;

  await startChild();
  for (let op = 0; op < OPS; op++) {
    const add = live.size === 0 || (live.size < MAX_LIVE_PODS && random() < 0.55);
    const id = add ? `pod${next++}` : [...live.keys()][Math.floor(random() * live.size)]!;
    const call = cniCall(env.PODNET_CNI_SOCKET!, add ? 'ADD' : 'DEL', id).catch(() => undefined); // a kill cuts it off
    if (killAt.has(op)) {
      // the kill lands during this call or right after it, while the pool loop may be mid-action
      await new Promise((r) => setTimeout(r, random() * 12));
      await kill9();
    }
    const reply = await call;
    if (add) {
      const address = (reply?.body.ips as { address: string }[] | undefined)?.[0]?.address.replace(/\/32$/, '');
      if (reply?.exitCode === 0 && address) live.set(id, address);
      else {
        toDelete.add(id);
        if (reply) refused++;
      }
    } else {
      live.delete(id);
      if (reply?.exitCode !== 0) toDelete.add(id);
    }
    if (!killAt.has(op) && (child!.exitCode !== null || child!.signalCode !== null)) {
      await childClosed;
      throw new Error(`podnet ipamd exited by itself (${child!.exitCode ?? child!.signalCode}) at operation ${op}, not a kill point`);
    }
    if (killAt.has(op)) await startChild();
    for (const gone of [...toDelete]) {
      const del = await cniCall(env.PODNET_CNI_SOCKET!, 'DEL', gone).catch(() => undefined);
      if (del?.exitCode === 0) toDelete.delete(gone);
    }
  }
  assert.equal(toDelete.size, 0, 'every DEL eventually succeeded');

  // the leaked-ENI GC removes ENIs a kill left created but never attached
  const detached = async () => (await cloud.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'status', Values: ['available'] }, { Name: 'vpc-id', Values: [cloud.vpcId] }] }))).NetworkInterfaces ?? [];
  await eventually(async () => (await detached()).length === 0, 'no detached ENI left (leaked-ENI GC)', 15_000);

  // ipamd's view (introspection) against the runtime's and EC2's
  const bind = logLines.join('\n').match(/introspection (127\.0\.0\.1:\d+)/g)!.at(-1)!.split(' ')[1];
  const enis = JSON.parse((await httpGet(`http://${bind}/v1/enis`)).text)['0'].ENIs as Record<string, { AvailableIPv4Cidrs: Record<string, { IPAddresses: Record<string, { IPAMMetadata: { k8sPodName?: string } }> }> }>;
  const held = Object.values(enis).flatMap((e) => Object.values(e.AvailableIPv4Cidrs).flatMap((c) => Object.entries(c.IPAddresses).map(([ip, a]) => [a.IPAMMetadata.k8sPodName!, ip] as const)));
  const addresses = held.map(([, ip]) => ip);
  assert.equal(new Set(addresses).size, addresses.length, 'no address is held by two pods');
  assert.deepEqual(new Map(held), live, 'ipamd holds exactly the addresses the runtime believes its pods have');

  const attached = (await cloud.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [cloud.instanceId] }] }))).NetworkInterfaces!;
  const ec2Cidrs = attached.flatMap((n) => (n.PrivateIpAddresses ?? []).filter((p) => !p.Primary).map((p) => p.PrivateIpAddress!)).sort();
  const ipamdCidrs = Object.values(enis).flatMap((e) => Object.keys(e.AvailableIPv4Cidrs).map((c) => c.replace('/32', ''))).sort();
  assert.deepEqual(ipamdCidrs, ec2Cidrs, 'ipamd and EC2 agree on every secondary address of the node: none leaked');
  assert.deepEqual(Object.keys(enis).sort(), attached.map((n) => n.NetworkInterfaceId!).sort());
  for (const ip of addresses) assert.ok(ec2Cidrs.includes(ip), `${ip} exists in EC2`);

  const killsSeen = logLines.filter((line) => line.includes(' ready: ')).length;
  assert.equal(killsSeen, KILLS + 1, 'ipamd started once plus once after every kill');
  assert.ok(refused < OPS / 4, `most ADDs found an address (${refused} refused while the pool grew)`);

  child!.kill('SIGTERM');
  await childClosed;
  assert.equal(child!.exitCode, 0, 'podnet ipamd stops cleanly on SIGTERM');
}
