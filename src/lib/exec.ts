import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { PodnetError } from './errors.js';

export interface RunOptions {
  /** Written to the child's stdin (for `ip -batch -`, `iptables-restore`, `nft -f -`). */
  input?: string;
  /** Run inside this named network namespace (`ip netns exec NAME ...`). */
  netns?: string;
  /** Kill the child after this many milliseconds (default 30 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** A command that failed: carries everything needed to debug it without re-running. */
export class ExecError extends PodnetError {
  constructor(
    readonly argv: readonly string[],
    readonly exitCode: number | null,
    readonly signal: NodeJS.Signals | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    const how = signal ? `was killed by ${signal}` : `exited ${exitCode}`;
    const detail = stderr.trim().split('\n').slice(-3).join(' | ');
    super('EXEC_FAILED', `${argv.join(' ')} ${how}${detail ? `: ${detail}` : ''}`);
  }
}

/** Runs argv (never a shell string) and resolves with its output; rejects with ExecError on a non-zero exit. */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const full = opts.netns ? ['ip', 'netns', 'exec', opts.netns, ...argv] : [...argv];
  const [cmd, ...args] = full;
  if (!cmd) throw new PodnetError('USAGE', 'run() was given an empty argv', 'pass the command as an array of words');
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 30_000);
    child.on('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      if (err.code === 'ENOENT') {
        reject(new PodnetError('MISSING_TOOL', `${cmd} is not installed`, `install it (apt-get install -y ${debianPackageFor(cmd)})`, { cause: err }));
      } else reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) resolve({ stdout, stderr });
      else reject(new ExecError(full, code, signal, stdout, stderr));
    });
    child.stdin.on('error', () => {}); // a child that exits before reading its input is reported through 'close'
    child.stdin.end(opts.input ?? '');
  });
}

/** Whether an executable named tool is in a directory on PATH (no process started). */
export function onPath(tool: string): boolean {
  return (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':').some((d) => d !== '' && existsSync(join(d, tool)));
}

function debianPackageFor(cmd: string): string {
  const known: Record<string, string> = { ip: 'iproute2', iptables: 'iptables', 'iptables-save': 'iptables', 'iptables-restore': 'iptables', nft: 'nftables', conntrack: 'conntrack', unshare: 'util-linux', containerd: 'containerd', runc: 'runc', nc: 'netcat-openbsd' };
  return known[cmd] ?? cmd;
}
