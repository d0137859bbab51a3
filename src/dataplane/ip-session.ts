import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { classifyNotFound, isNetnsName, NETNS_RUN_DIR, PodnetError } from '../lib/index.js';
import { batchFailure, batchLineFailure, type BatchLine } from './iproute.js';
import { assertOneLine, ipLine, netnsWord, pathWord } from './words.js';

/**
 * Long-lived `ip -force -batch -` processes in podnet's own network namespace: a few per address family asked for.
 * ipamd sends each pod's lines here instead of starting `ip` per pod: a process started from a Node process costs
 * time in proportion to that process's memory (fork copies its page tables: about 10 ms from ipamd), while lines
 * written to a running ip cost only the kernel's work. Lines for a pod's own namespace go as one `netns exec`, which
 * the small ip forks. A batch goes to an idle ip, or a new one up to {@link POOL_SIZE}, else queues behind the
 * shortest queue: deleting a veth waits for the kernel (an RCU grace period, tens of ms here), and only separate
 * processes wait side by side.
 */
export interface IpSession {
  readonly kind: 'ip-session';
  /** Runs the lines as {@link runIpBatch} would (same tolerated failures, same errors), without a new process. */
  run(lines: readonly BatchLine[], family?: 4 | 6): Promise<void>;
  /** Runs the lines inside the namespace named `name` under /var/run/netns, as `ip -n name -force -batch` would. */
  runInNetns(name: string, lines: readonly BatchLine[]): Promise<void>;
  /** Ends the ip processes (their stdin closes) and waits for them to exit. */
  close(): Promise<void>;
}
/**
 * After a batch's lines the session writes a barrier: a `link show` of a name no link has (`podnet-barrier` is 14
 * characters, within IFNAMSIZ, and podnet never names a link so). Its failure on stderr, `Command failed -:N`, says
 * ip has run every line before it; ip writes stderr unbuffered and runs lines in order, so failures of the batch's
 * own lines come before it.
 */
const BARRIER = 'link show dev podnet-barrier';

/** ip processes per family at most: enough for concurrent DELs to overlap their waits, few enough to start once. */
const POOL_SIZE = 8;

/** A batch not done by then kills its ip (as run() kills a command after 30 s); the batches behind it move on. */
const DEFAULT_BATCH_TIMEOUT_MS = 30_000;

interface Pending {
  lines: readonly BatchLine[];
  /** A batch for another namespace: the file holding its lines, run by the one session line `netns exec … -batch FILE`. */
  nested?: { file: string; lines: readonly BatchLine[]; failed: number };
  /** Line number (in this process's input, from 1) of the batch's first line; its barrier follows its last. */
  first: number;
  failures: string[];
  /** Sent again to a new ip once, after failing on a stale link index. */
  retried?: boolean;
  /** Kills an ip that has not finished the batch in time. */
  timer?: NodeJS.Timeout;
  resolve(): void;
  reject(err: Error): void;
}

interface IpProcess {
  /** The family option it runs with: '', '-4' or '-6'. */
  flag: string;
  child: ChildProcessByStdio<Writable, Readable, Readable>;
  written: number;
  queue: Pending[];
  /** Messages ip printed since the last `Command failed` line (the failing line's reason). */
  message: string[];
  stderrTail: string;
  exited: Promise<void>;
}

export interface IpSessionOptions {
  /**
   * Where the pod-namespace batch files go (each lives for one batch). ipamd names a directory of its own state, so a
   * killed ipamd's leftovers are removed by the next one; without it, a temporary directory removed by close().
   */
  fileDir?: string;
  /** How long a batch may take before its ip is killed (default 30 s). */
  batchTimeoutMs?: number;
}

export function startIpSession(options: IpSessionOptions = {}): IpSession {
  const processes = new Map<string, IpProcess[]>();
  /** Every ip still running, including retired ones finishing their queue. */
  const live = new Set<IpProcess>();
  let closed = false;
  let fileDir: string | undefined;
  let files = 0;

  function argvFor(flag: string): string[] {
    return ['ip', ...(flag ? [flag] : []), '-force', '-batch', '-'];
  }

  function launch(flag: string): IpProcess {
    const child = spawn('ip', argvFor(flag).slice(1), { stdio: ['pipe', 'pipe', 'pipe'] });
    let exitedResolve!: () => void;
    const p: IpProcess = { flag, child, written: 0, queue: [], message: [], stderrTail: '', exited: new Promise((r) => (exitedResolve = r)) };
    child.stdout.resume(); // `link show` of existing links would print here; nothing podnet reads
    child.stdin.on('error', () => {}); // a dead ip is reported through 'close'
    child.stderr.setEncoding('utf8').on('data', (text: string) => onStderr(p, text));
    child.on('error', (err: NodeJS.ErrnoException) => {
      const e = err.code === 'ENOENT' ? new PodnetError('MISSING_TOOL', 'ip is not installed', 'install it (apt-get install -y iproute2)', { cause: err }) : err;
      for (const q of p.queue.splice(0)) q.reject(e);
    });
    child.on('close', (code, signal) => {
      live.delete(p);
      exitedResolve();
      forget(p);
      onExit(flag, p, code, signal);
    });
    processes.set(flag, [...(processes.get(flag) ?? []), p]);
    live.add(p);
    return p;
  }

  function onStderr(p: IpProcess, text: string): void {
    const lines = (p.stderrTail + text).split('\n');
    p.stderrTail = lines.pop() ?? '';
    for (const line of lines) {
      const m = /^Command failed (\S+):(\d+)$/.exec(line.trim());
      if (!m) {
        if (line.trim()) p.message.push(line.trim());
        continue;
      }
      const n = Number(m[2]);
      const reason = p.message.join(' ');
      p.message = [];
      const head = p.queue[0];
      if (!head) continue;
      if (head.nested && m[1] === head.nested.file) {
        // a line of the batch running inside the pod's namespace, numbered in its file
        head.nested.failed++;
        const failure = batchLineFailure(head.nested.lines[n - 1], n, reason);
        if (failure) head.failures.push(failure);
        continue;
      }
      // a stray number (iproute2's forked `netns exec` child can report a line twice) belongs to no queued batch
      if (m[1] !== '-' || n < head.first || n > head.first + head.lines.length) continue;
      if (n === head.first + head.lines.length) {
        p.queue.shift();
        if (head.failures.length && !head.nested && !head.retried && head.failures.some((f) => /No such device/.test(f))) {
          // ip remembers the index of each link it has looked up by name; a link deleted behind its back (a pod's veth
          // goes with its netns) leaves that index stale, which the kernel answers with ENODEV ("No such device") —
          // unlike a name ip cannot resolve at all, which lib counts as the same missing link and a retry would not
          // help. A new ip looks names up afresh: retire this one, run again.
          head.retried = true;
          retire(p);
          send(p.flag, head);
        } else if (head.failures.length) head.reject(batchFailure(`ip -force -batch - (ipamd's session)${head.nested ? ` → ${head.lines[0]!.cmd}` : ''}`, head.failures, head.nested?.lines.length ?? head.lines.length));
        else head.resolve();
      } else if (head.nested) {
        // `netns exec` fails when the batch inside did (judged line by line above) or when it could not run at all
        if (!(head.nested.failed > 0 && reason === '')) head.failures.push(`${head.lines[0]!.cmd}: ${reason || 'failed'}`);
      } else {
        const failure = batchLineFailure(head.lines[n - head.first], n - head.first + 1, reason);
        if (failure) head.failures.push(failure);
      }
    }
  }

  /**
   * ip exits on a line it cannot parse or a namespace it cannot open (it does not `-force` past those). The batch at
   * the head of the queue held that line and fails with ip's message; the batches behind it never ran and go to a
   * new process.
   */
  function onExit(flag: string, p: IpProcess, code: number | null, signal: NodeJS.Signals | null): void {
    const [head, ...rest] = p.queue.splice(0);
    if (head) {
      const said = [...p.message, p.stderrTail.trim()].filter(Boolean).join(' | ');
      if (classifyNotFound(argvFor(flag), said) === 'netns') {
        head.reject(new PodnetError('NETNS_NOT_FOUND', `a network namespace named in the batch does not exist: ${said}`, 'the pod sandbox is gone or the path is wrong; the runtime must pass the netns it created'));
      } else {
        head.reject(new PodnetError('DATAPLANE_APPLY_FAILED', `${argvFor(flag).join(' ')} ${signal ? `was killed by ${signal}` : `exited ${code}`}: ${said || 'no message'}`, 'the batch was aborted; the message names the line iproute2 refused'));
      }
    }
    for (const q of rest) send(flag, q);
  }

  /** Lets p finish what it was sent and exit; the next batch starts a new ip. */
  function retire(p: IpProcess): void {
    forget(p);
    p.child.stdin.end();
  }

  /** Sends no more batches to p. */
  function forget(p: IpProcess): void {
    processes.set(p.flag, (processes.get(p.flag) ?? []).filter((x) => x !== p));
  }

  function pick(flag: string): IpProcess {
    const pool = processes.get(flag) ?? [];
    const idle = pool.find((x) => x.queue.length === 0);
    if (idle) return idle;
    if (pool.length < POOL_SIZE) return launch(flag);
    return pool.reduce((a, b) => (b.queue.length < a.queue.length ? b : a));
  }

  function send(flag: string, q: Pending): void {
    if (closed) {
      q.reject(new PodnetError('DATAPLANE_APPLY_FAILED', 'ipamd\'s ip session is closed', 'ipamd is shutting down; the runtime retries the pod'));
      return;
    }
    const p = pick(flag);
    q.first = p.written + 1;
    q.failures = [];
    if (q.nested) q.nested.failed = 0;
    p.queue.push(q);
    clearTimeout(q.timer);
    q.timer = setTimeout(() => p.queue.includes(q) && p.child.kill('SIGKILL'), options.batchTimeoutMs ?? DEFAULT_BATCH_TIMEOUT_MS).unref();
    p.written += q.lines.length + 1;
    p.child.stdin.write(`${q.lines.map((l) => assertOneLine(l.cmd)).join('\n')}\n${BARRIER}\n`);
  }

  function enqueue(flag: string, lines: readonly BatchLine[], nested?: Pending['nested']): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const q: Pending = {
        lines,
        ...(nested && { nested }),
        first: 0,
        failures: [],
        resolve: () => (clearTimeout(q.timer), resolve()),
        reject: (err) => (clearTimeout(q.timer), reject(err)),
      };
      send(flag, q);
    });
  }

  return {
    kind: 'ip-session',
    run(lines, family) {
      if (lines.length === 0) return Promise.resolve();
      return enqueue(family ? `-${family}` : '', lines);
    },
    async runInNetns(name, lines) {
      if (lines.length === 0) return;
      // checked here because iproute2's forked child, failing to enter a namespace, would go on reading the session's input
      if (!isNetnsName(name) || !existsSync(join(NETNS_RUN_DIR, name))) {
        throw new PodnetError('NETNS_NOT_FOUND', `network namespace ${join(NETNS_RUN_DIR, name)} does not exist`, 'the pod sandbox is gone or the path is wrong; the runtime must pass the netns it created');
      }
      fileDir ??= batchFileDir(options.fileDir);
      const file = join(fileDir, `${++files}.batch`);
      const cmd = ipLine`netns exec ${netnsWord(name)} ip -force -batch ${pathWord(file)}`;
      writeFileSync(file, `${lines.map((l) => assertOneLine(l.cmd)).join('\n')}\n`); // a few hundred bytes: quicker than the thread pool
      try {
        await enqueue('', [{ cmd }], { file, lines, failed: 0 });
      } finally {
        rmSync(file, { force: true });
      }
    },
    async close() {
      closed = true;
      const running = [...live];
      for (const p of running) p.child.stdin.end();
      await Promise.all(running.map((p) => p.exited));
      if (fileDir) rmSync(fileDir, { recursive: true, force: true });
      fileDir = undefined;
    },
  };
}

/** The batch file directory, created, and emptied of files a killed predecessor left. */
function batchFileDir(wanted: string | undefined): string {
  if (!wanted) return mkdtempSync(join(tmpdir(), 'podnet-ip-'));
  mkdirSync(wanted, { recursive: true, mode: 0o700 });
  for (const name of readdirSync(wanted)) if (name.endsWith('.batch')) rmSync(join(wanted, name), { force: true });
  return wanted;
}
