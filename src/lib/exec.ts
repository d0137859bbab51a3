import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { PodnetError } from './errors.js';

/**
 * Where a command runs, as every module names it: undefined is the network namespace podnet runs in; a name is one
 * under /run/netns (`ip netns add`, the lab); an absolute path is a namespace file (CNI_NETNS: /var/run/netns/cni-…,
 * /proc/<pid>/ns/net). {@link netnsArgv} is the one place that checks it and turns it into argv.
 */
export type Netns = string;

/** Where iproute2 keeps named namespaces (`ip netns add`, and where containerd and CRI-O put pods'). */
export const NETNS_RUN_DIR = '/var/run/netns';

/** A namespace name as `ip netns` takes it: no path, nothing that would read as an option or climb out of /run/netns. */
export function isNetnsName(value: string): boolean {
  return typeof value === 'string' && /^[A-Za-z0-9_.][A-Za-z0-9_.-]{0,254}$/.test(value) && value !== '.' && value !== '..';
}

/** The name `ip -n` and `ip netns exec` take for a namespace: a name as is, a path under /var/run/netns (or /run/netns) by its last part; undefined for other paths. */
export function netnsName(netns: Netns): string | undefined {
  if (!netns.startsWith('/')) return netns;
  return /^(?:\/var)?\/run\/netns\/([^/]+)$/.exec(netns)?.[1];
}

/**
 * argv that runs `argv` inside `netns`: `ip -n NAME` for ip itself in a named namespace (no extra process),
 * `ip netns exec NAME` for other commands, `nsenter --net=PATH` for other paths; argv as is for podnet's own.
 * Refuses a name outside the namespace-name grammar and a path that is not absolute or climbs with `..`.
 */
export function netnsArgv(netns: Netns | undefined, argv: readonly string[]): string[] {
  if (!netns) return [...argv];
  const isPath = netns.startsWith('/');
  if (isPath ? /[\0\n]/.test(netns) || netns.split('/').includes('..') : !isNetnsName(netns)) {
    throw new PodnetError('INVALID_INPUT', `network namespace ${JSON.stringify(netns)} is neither a name under ${NETNS_RUN_DIR} nor an absolute path`, 'a namespace name is 1 to 255 of A-Z a-z 0-9 _ . - and does not start with -; a path is absolute, without ..');
  }
  const name = netnsName(netns);
  if (argv[0] === 'ip' && name !== undefined) return ['ip', '-n', name, ...argv.slice(1)];
  if (isPath) return ['nsenter', `--net=${netns}`, ...argv];
  return ['ip', 'netns', 'exec', netns, ...argv];
}

/**
 * What a failed command said does not exist, recognised from the texts ip, nsenter, nft and iptables print (the one
 * place that reads them): a network namespace, a link, an address, a route, an ip rule, an nft or iptables table,
 * an iptables chain. Callers branch on this kind, never on stderr.
 */
export type NotFound = 'netns' | 'link' | 'address' | 'route' | 'rule' | 'table' | 'chain';

const netnsMissing = /Cannot open network namespace|Invalid "netns" value|^nsenter: cannot open .*: No such file or directory|setting the network namespace .* failed/m;
const linkMissing = /Cannot find device|Device "[^"]*" does not exist|No such device/;
const ipObjectMissing = /No such file or directory|No such process|Cannot assign requested address|does not exist|not found/i;

/** The kind of thing argv's stderr says is missing, or undefined when it says something else. argv may be wrapped by {@link netnsArgv}. */
export function classifyNotFound(argv: readonly string[], stderr: string): NotFound | undefined {
  if (netnsMissing.test(stderr)) return 'netns';
  const words = innerArgv(argv);
  switch (basename(words[0] ?? '')) {
    case 'ip':
      if (linkMissing.test(stderr)) return 'link';
      if (/FIB table does not exist/.test(stderr)) return 'table';
      return ipObjectMissing.test(stderr) ? ipObject(words) : undefined;
    case 'nft':
      // nft names no object in its message ("Error: No such file or directory" under the command it refused)
      return /No such file or directory/.test(stderr) ? (words.find((w): w is 'chain' | 'rule' => w === 'chain' || w === 'rule') ?? 'table') : undefined;
    case 'iptables':
    case 'ip6tables':
    case 'iptables-restore':
    case 'ip6tables-restore':
      if (/No chain\/target\/match by that name/.test(stderr)) return 'chain';
      if (/Bad rule \(does a matching rule exist/.test(stderr)) return 'rule';
      if (/Table does not exist/.test(stderr)) return 'table';
      return undefined;
    default:
      return undefined;
  }
}

/** argv without the netns wrapper {@link netnsArgv} put around it (`ip -n NAME` stays ip). */
function innerArgv(argv: readonly string[]): readonly string[] {
  if (argv[0] === 'nsenter') {
    const command = argv.findIndex((w, i) => i > 0 && !w.startsWith('-'));
    return command < 0 ? [] : argv.slice(command);
  }
  if (argv[0] === 'ip' && argv[1] === 'netns' && argv[2] === 'exec') return argv.slice(4);
  return argv;
}

/** What an ip command works on, from its first word after the options: `ip -n X -4 route del …` → route. */
function ipObject(words: readonly string[]): NotFound | undefined {
  for (let i = 1; i < words.length; i++) {
    const w = words[i]!;
    if (w === '-n' || w === '-netns' || w === '-batch') i++;
    else if (!w.startsWith('-')) return ipObjects.get(w);
  }
  return undefined;
}

const ipObjects = new Map<string, NotFound>([['link', 'link'], ['addr', 'address'], ['address', 'address'], ['route', 'route'], ['rule', 'rule']]);

export interface RunOptions {
  /** Written to the child's stdin (for `ip -batch -`, `iptables-restore`, `nft -f -`). */
  input?: string;
  /** Run inside this network namespace (see {@link netnsArgv}); undefined: the one podnet runs in. */
  netns?: Netns;
  /** Kill the child after this many milliseconds (default 30 s). */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface RunResult {
  stdout: string;
  stderr: string;
}

/** A command that failed: carries everything needed to debug it without re-running, and what it found missing. */
export class ExecError extends PodnetError {
  /** What the command said does not exist (see {@link classifyNotFound}), or undefined for any other failure. */
  readonly notFound: NotFound | undefined;

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
    this.notFound = classifyNotFound(argv, stderr);
  }
}

/** Runs argv (never a shell string) and resolves with its output; rejects with ExecError on a non-zero exit. */
export async function run(argv: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const full = netnsArgv(opts.netns, argv);
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
