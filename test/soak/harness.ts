/**
 * Shared by the soak tier's files: `podnet ipamd` as a real child process that the test kills with SIGKILL and
 * starts again, the container runtime's side of the CNI calls (a failed or cut-off ADD is followed by a DEL, a
 * failed DEL is repeated), a counter of what EC2 answered ipamd, and the end-of-soak check that ipamd, its
 * checkpoint and EC2 agree with what the runtime believes. The cloud and the CNI client are the daemon tests'
 * (test/unit/ipamd/daemon-harness.ts), so a change of the socket protocol reaches the soak through one client.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { readCheckpoint } from '../../src/ipam/index.js';
import { cniCall, eventually, httpGet, type Cloud } from '../unit/ipamd/daemon-harness.js';

const root = fileURLToPath(new URL('../..', import.meta.url));

/**
 * The seed of a soak's random choices: PODNET_SOAK_SEED when set (to replay a failure), else `fallback`. The
 * kill moments and the pod churn follow from it; the interleaving with ipamd's own timers does not, so a replay
 * walks the same schedule, not necessarily the same race.
 */
export function soakSeed(fallback: number): number {
  const given = process.env.PODNET_SOAK_SEED;
  if (given === undefined || given === '') return fallback;
  const seed = Number(given);
  if (!Number.isSafeInteger(seed)) throw new Error(`PODNET_SOAK_SEED=${given} is not an integer`);
  return seed;
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * How to start `podnet ipamd`: the compiled CLI (bin/podnet.js, as installed) when dist/ holds an output newer than
 * every source file — `npm ci` builds it through the prepare script, scripts/test.mjs when a source is newer — else
 * tsx on the sources. The compiled CLI starts in about half the time, and a soak starts it dozens of times.
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

/** The line ipamd logs once its node is set up and it serves CNI calls. */
const isReadyLine = (line: string) => line.includes(' ready: ');

/** `podnet ipamd` as a child process of the test: started, killed with SIGKILL, started again, its log kept. */
export class IpamdProcess {
  readonly how: string;
  private readonly argv: string[];
  private child: ChildProcess | undefined;
  /** Resolves when the current child has exited and its stderr is fully read, so no log line is lost. */
  private closed: Promise<void> = Promise.resolve();
  /** Every log line of every child, in order (in memory: the test's temp dir is removed in after()). */
  readonly logLines: string[] = [];
  starts = 0;
  /** Kills of a child that had logged ready, and of one still starting (reading its checkpoint, EC2, IMDS). */
  killsAfterReady = 0;
  killsDuringStart = 0;
  private readyLogged = false;
  private disposed = false;
  /** Milliseconds from spawn to ready, per start that was waited for. */
  readonly startMs: number[] = [];

  constructor(private readonly env: Record<string, string>) {
    ({ argv: this.argv, how: this.how } = ipamdCommand());
  }

  get running(): boolean {
    return this.child !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Spawns a new ipamd; with `untilReady` (the default) waits until its socket answers GET /ready with 200. */
  async start(o: { untilReady?: boolean } = {}): Promise<void> {
    // a soak that timed out keeps running its loops for a moment: it must not leave a new ipamd behind
    if (this.disposed) throw new Error('podnet ipamd was disposed of: the test is over');
    // the test runner's own PODNET_TEST_TIER is no ipamd setting (ipamd would warn about it at every start)
    const { PODNET_TEST_TIER: _tier, ...inherited } = process.env;
    const c = spawn(process.execPath, this.argv, { env: { ...inherited, ...this.env }, stdio: ['ignore', 'ignore', 'pipe'] });
    this.child = c;
    this.starts++;
    this.readyLogged = false;
    let partial = '';
    c.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (partial + chunk).split('\n');
      partial = lines.pop()!;
      this.logLines.push(...lines);
      if (lines.some(isReadyLine)) this.readyLogged = true;
    });
    this.closed = new Promise((resolve) => c.once('close', () => {
      if (partial) this.logLines.push(partial);
      resolve();
    }));
    if (o.untilReady === false) return;
    const spawned = performance.now();
    const socket = this.env.PODNET_CNI_SOCKET!;
    await eventually(async () => {
      if (c.exitCode !== null || c.signalCode !== null) {
        await this.closed;
        throw new Error(`podnet ipamd exited (${c.exitCode ?? c.signalCode}) while starting`);
      }
      if (!existsSync(socket)) return false;
      const ready = await httpGet({ socketPath: socket, path: '/ready' }).catch(() => ({ status: 0 }));
      return ready.status === 200;
    }, 'podnet ipamd to be ready', 20_000);
    this.readyLogged = true; // answering ready counts even if its log line is still in the pipe
    this.startMs.push(performance.now() - spawned);
  }

  /** SIGKILL to the current child (counted by whether it had logged ready), and waits until it is gone. */
  async kill9(): Promise<void> {
    if (this.running) {
      this.child!.kill('SIGKILL');
      if (this.readyLogged) this.killsAfterReady++;
      else this.killsDuringStart++;
    }
    await this.closed;
  }

  /** Throws when the child has gone without a kill: a crash is a failure at once, never papered over by a restart. */
  assertNotCrashed(where: string): void {
    if (this.child && !this.running) throw new Error(`podnet ipamd exited by itself (${this.child.exitCode ?? this.child.signalCode}) ${where}`);
  }

  /** SIGTERM; resolves with the exit code. */
  async stop(): Promise<number | null> {
    if (this.running) this.child!.kill('SIGTERM');
    await this.closed;
    return this.child?.exitCode ?? null;
  }

  /** Kills the child for good (the test's after()): no start afterwards. */
  async dispose(): Promise<void> {
    this.disposed = true;
    if (this.running) this.child!.kill('SIGKILL');
    await this.closed;
  }

  /** How many starts reached ready, from ipamd's own log. */
  readyCount(): number {
    return this.logLines.filter(isReadyLine).length;
  }

  /** The introspection address the running ipamd printed (it listens on a free port). */
  introspectionUrl(): string {
    const bind = this.logLines.join('\n').match(/introspection (127\.0\.0\.1:\d+)/g)?.at(-1)?.split(' ')[1];
    if (!bind) throw new Error('podnet ipamd has not printed its introspection address');
    return `http://${bind}`;
  }

  logTail(n = 25): string {
    return `last ${Math.min(n, this.logLines.length)} log lines of podnet ipamd (all starts):\n  ${this.logLines.slice(-n).join('\n  ')}`;
  }

  /**
   * Runs `body`; on a failure the child's last log lines, the clue to it once the temp dir is gone, go to the test's
   * diagnostics (reporters print an assertion's own message and stack, not what is added to them later).
   */
  async withLogs<T>(t: { diagnostic(message: string): void }, body: () => Promise<T>): Promise<T> {
    try {
      return await body();
    } catch (err) {
      t.diagnostic(this.logTail(60));
      throw err;
    }
  }
}

export interface RuntimeCounts {
  adds: number;
  addsOk: number;
  /** ADDs ipamd answered with an error (no address yet, not ready, EC2 failing). */
  addsRefused: number;
  /** ADDs cut off: the connection failed or was reset (ipamd killed or down). */
  addsCutOff: number;
  dels: number;
  delsOk: number;
  delsFailed: number;
}

/**
 * The container runtime's side for a set of pods: what it believes each pod holds, and which containers still
 * need a DEL. As kubelet does, a failed or cut-off ADD is followed by a DEL, and a DEL is repeated until it succeeds.
 */
export class PodRuntime {
  /** container → address, as the runtime believes. */
  readonly live = new Map<string, string>();
  /** Containers whose ADD or DEL failed or was cut off: they get a DEL (again). */
  readonly toDelete = new Set<string>();
  readonly counts: RuntimeCounts = { adds: 0, addsOk: 0, addsRefused: 0, addsCutOff: 0, dels: 0, delsOk: 0, delsFailed: 0 };

  constructor(private readonly socketPath: string) {}

  /** One ADD; 'cut-off' when ipamd could not be reached or the connection broke. */
  async add(id: string): Promise<'ok' | 'refused' | 'cut-off'> {
    this.counts.adds++;
    const reply = await cniCall(this.socketPath, 'ADD', id).catch(() => undefined);
    const address = (reply?.body.ips as { address: string }[] | undefined)?.[0]?.address.replace(/\/32$/, '');
    if (reply?.exitCode === 0 && address) {
      this.counts.addsOk++;
      this.live.set(id, address);
      return 'ok';
    }
    this.toDelete.add(id);
    if (reply) this.counts.addsRefused++;
    else this.counts.addsCutOff++;
    return reply ? 'refused' : 'cut-off';
  }

  /** One DEL; 'cut-off' when ipamd could not be reached or the connection broke (the runtime backs off then). */
  async del(id: string): Promise<'ok' | 'refused' | 'cut-off'> {
    this.counts.dels++;
    this.live.delete(id);
    const reply = await cniCall(this.socketPath, 'DEL', id).catch(() => undefined);
    if (reply?.exitCode === 0) {
      this.counts.delsOk++;
      this.toDelete.delete(id);
      return 'ok';
    }
    this.counts.delsFailed++;
    this.toDelete.add(id);
    return reply ? 'refused' : 'cut-off';
  }

  /** One DEL for every container that still needs one, until ipamd cannot be reached; true when none is left. */
  async retryDeletes(): Promise<boolean> {
    for (const id of [...this.toDelete]) if ((await this.del(id)) === 'cut-off') break;
    return this.toDelete.size === 0;
  }
}

export function sumCounts(all: readonly RuntimeCounts[]): RuntimeCounts {
  const total: RuntimeCounts = { adds: 0, addsOk: 0, addsRefused: 0, addsCutOff: 0, dels: 0, delsOk: 0, delsFailed: 0 };
  for (const c of all) for (const k of Object.keys(total) as (keyof RuntimeCounts)[]) total[k] += c[k];
  return total;
}

export interface Ec2CallCounts {
  /** Requests received (an answer may still be on its way). */
  requests: number;
  /** Requests answered. */
  calls: number;
  /** Answered with the emulator's injected fault. */
  faults: number;
  /** Answered RequestLimitExceeded by the token buckets. */
  throttled: number;
  /** Injected faults by action. */
  faultsByAction: Record<string, number>;
}

export interface Ec2Counter {
  url: string;
  counts: Ec2CallCounts;
  close(): Promise<void>;
}

/**
 * A loopback pass-through in front of the emulator's EC2 endpoint that counts what ipamd was answered: the
 * emulator injects faults and throttles without keeping a tally, and the soak's report needs one. A request whose
 * caller is killed still reaches EC2 and completes there, as a call in flight does on AWS.
 */
export async function countEc2Answers(ec2Url: string): Promise<Ec2Counter> {
  const target = new URL(ec2Url);
  const counts: Ec2CallCounts = { requests: 0, calls: 0, faults: 0, throttled: 0, faultsByAction: {} };
  const server: Server = createServer((req, res) => {
    const body: Buffer[] = [];
    req.on('data', (c: Buffer) => body.push(c));
    req.on('end', () => {
      const sent = Buffer.concat(body);
      const action = new URLSearchParams(sent.toString('utf8')).get('Action') ?? '?';
      counts.requests++;
      const upstream = request({ host: target.hostname, port: target.port, path: req.url, method: req.method, headers: req.headers }, (answer) => {
        const chunks: Buffer[] = [];
        answer.on('data', (c: Buffer) => chunks.push(c));
        answer.on('end', () => {
          const text = Buffer.concat(chunks);
          counts.calls++;
          if (text.includes('podnet fault injection')) {
            counts.faults++;
            counts.faultsByAction[action] = (counts.faultsByAction[action] ?? 0) + 1;
          } else if (text.includes('<Code>RequestLimitExceeded</Code>')) counts.throttled++;
          res.writeHead(answer.statusCode ?? 502, answer.headers).end(text);
        });
      });
      upstream.on('error', () => res.destroy());
      upstream.end(sent);
    });
    req.on('error', () => {}); // the caller was killed; the upstream call still completes
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    counts,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    }),
  };
}

/** Sets the emulator's fault injection and throttling through its admin endpoints (the setup itself runs calm). */
export async function setEc2Weather(cloud: Cloud, faults: unknown, throttle: unknown): Promise<void> {
  for (const [path, body] of [['faults', faults], ['throttle', throttle]] as const) {
    const res = await fetch(`${cloud.emulator.ec2Url}/_podnet/${path}`, { method: 'POST', body: JSON.stringify(body) });
    if (res.status !== 200) throw new Error(`POST /_podnet/${path} answered ${res.status}: ${await res.text()}`);
  }
}

export interface NodeAgreement {
  /** Pods holding an address, in ipamd's view (equal to the runtime's and the checkpoint's). */
  pods: number;
  /** Secondary addresses on the node's ENIs (equal in ipamd and EC2). */
  addresses: number;
  /** ENIs attached to the node (equal in ipamd and EC2). */
  enis: number;
  /** ENIs in the VPC attached to nothing, plus ENIs attached to the node that ipamd does not know. */
  leakedEnis: number;
  /** Addresses on the node in EC2 that ipamd does not know, plus addresses ipamd holds for a pod the runtime deleted. */
  leakedAddresses: number;
  /** Addresses held by more than one pod, in ipamd or in the checkpoint. */
  doubleHeld: number;
}

type IntrospectedEnis = Record<string, { AvailableIPv4Cidrs: Record<string, { IPAddresses: Record<string, { IPAMKey: { networkName: string }; IPAMMetadata: { k8sPodName?: string } }> }> }>;

/** How long the node must hold still before the end-of-soak check: longer than freeing an ENI (detach, 2 s, delete). */
const SETTLED_MS = 3_000;

/**
 * The end of a soak: waits (bounded) until the node has settled — the leaked-ENI GC has removed ENIs a kill left
 * detached, ipamd's view matches EC2's, and nothing changed for SETTLED_MS — then asserts that ipamd, its
 * checkpoint, EC2 and the runtime agree, each count explicitly. Settling matters: ipamd keeps shrinking its pool
 * after the last DELs, and a snapshot taken inside one of its actions (an ENI out of the datastore and detached,
 * not yet deleted) is not a disagreement. A disagreement that lasts is still one: the asserts run on the last
 * snapshot taken, settled or not, and say how it differs.
 */
export async function assertNodeAgrees(cloud: Cloud, ipamd: IpamdProcess, checkpointFile: string, live: ReadonlyMap<string, string>): Promise<NodeAgreement> {
  const detached = async () => (await cloud.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'status', Values: ['available'] }, { Name: 'vpc-id', Values: [cloud.vpcId] }] }))).NetworkInterfaces ?? [];
  const attached = async () => (await cloud.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [cloud.instanceId] }] }))).NetworkInterfaces ?? [];
  const ipamdEnis = async () => JSON.parse((await httpGet(`${ipamd.introspectionUrl()}/v1/enis`)).text)['0'].ENIs as IntrospectedEnis;
  const secondary = (enis: Awaited<ReturnType<typeof attached>>) => enis.flatMap((n) => (n.PrivateIpAddresses ?? []).filter((p) => !p.Primary).map((p) => p.PrivateIpAddress!)).sort();
  const ipamdCidrs = (enis: IntrospectedEnis) => Object.values(enis).flatMap((e) => Object.keys(e.AvailableIPv4Cidrs).map((c) => c.replace('/32', ''))).sort();

  const snapshot = async () => {
    const [leftDetached, inEc2, enis, checkpoint] = [await detached(), await attached(), await ipamdEnis(), await readCheckpoint(checkpointFile)];
    const agrees = leftDetached.length === 0
      && JSON.stringify([secondary(inEc2), inEc2.map((n) => n.NetworkInterfaceId!).sort()]) === JSON.stringify([ipamdCidrs(enis), Object.keys(enis).sort()]);
    return { leftDetached, inEc2, enis, checkpoint, agrees, text: JSON.stringify([leftDetached, inEc2, enis, checkpoint], (_, v: unknown) => (typeof v === 'bigint' ? String(v) : v)), atMs: Date.now() };
  };
  // a kill can leave an ENI created but never attached (the GC runs on a shortened timer), or a pool action in flight
  let last = await snapshot();
  let stillSince = last.atMs;
  for (const until = Date.now() + 45_000; Date.now() < until;) {
    await sleep(250);
    const next = await snapshot();
    if (!next.agrees || next.text !== last.text) stillSince = next.atMs;
    last = next;
    if (last.agrees && last.atMs - stillSince >= SETTLED_MS) break;
  }

  const { leftDetached, inEc2, enis, checkpoint } = last;
  // released addresses are listed with an empty IPAMKey (cooldown, spec §6.5)
  const held = Object.values(enis).flatMap((e) => Object.values(e.AvailableIPv4Cidrs).flatMap((c) => Object.entries(c.IPAddresses).filter(([, a]) => a.IPAMKey.networkName).map(([ip, a]) => [a.IPAMMetadata.k8sPodName!, ip] as const)));
  const recorded = (checkpoint?.allocations ?? []).map((a) => [a.containerID, a.ipv4 ?? a.ipv6 ?? ''] as const);
  const ec2Addresses = secondary(inEc2);
  const poolAddresses = ipamdCidrs(enis);

  const doubles = (pairs: readonly (readonly [string, string])[]) => pairs.length - new Set(pairs.map(([, ip]) => ip)).size;
  const unknownEnis = inEc2.filter((n) => !(n.NetworkInterfaceId! in enis)).map((n) => n.NetworkInterfaceId!);
  const unknownAddresses = ec2Addresses.filter((ip) => !poolAddresses.includes(ip));
  const heldForDeleted = held.filter(([pod]) => !live.has(pod));
  const agreement: NodeAgreement = {
    pods: held.length,
    addresses: ec2Addresses.length,
    enis: inEc2.length,
    leakedEnis: leftDetached.length + unknownEnis.length,
    leakedAddresses: unknownAddresses.length + heldForDeleted.length,
    doubleHeld: doubles(held) + doubles(recorded),
  };
  assert.equal(agreement.doubleHeld, 0, `no address is held by two pods (ipamd: ${JSON.stringify(held)}, checkpoint: ${JSON.stringify(recorded)})`);
  assert.equal(agreement.leakedEnis, 0, `no leaked ENI (detached: ${leftDetached.map((n) => n.NetworkInterfaceId).join(', ') || 'none'}; attached, unknown to ipamd: ${unknownEnis.join(', ') || 'none'})`);
  assert.equal(agreement.leakedAddresses, 0, `no leaked address (in EC2, unknown to ipamd: ${unknownAddresses.join(', ') || 'none'}; held for deleted pods: ${JSON.stringify(heldForDeleted)})`);
  assert.deepEqual(new Map(held), live, 'ipamd holds exactly the addresses the runtime believes its pods have');
  assert.deepEqual(new Map(recorded), live, 'the checkpoint records exactly the pods the runtime believes it has, with their addresses');
  assert.deepEqual(poolAddresses, ec2Addresses, 'ipamd and EC2 agree on every secondary address of the node');
  assert.deepEqual(Object.keys(enis).sort(), inEc2.map((n) => n.NetworkInterfaceId!).sort(), 'ipamd and EC2 agree on the node\'s ENIs');
  for (const [, ip] of held) assert.ok(ec2Addresses.includes(ip), `${ip} exists in EC2`);
  return agreement;
}
