/** Helpers the benches share: latency percentiles, numeric flags, and the sandbox the root benches run in. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The nearest-rank p-th percentile (p in 0–100) of the values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** `--name N` from argv, or fallback; a value that is not a number above 0 (whole when asked) stops the bench. */
export function numberFlag(name: string, fallback: number, opts: { whole?: boolean } = {}): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  const valid = opts.whole ? Number.isInteger(value) && value > 0 : Number.isFinite(value) && value > 0;
  if (!valid) throw new Error(`--${name} needs a ${opts.whole ? 'whole number' : 'number'} > 0`);
  return value;
}

/**
 * Runs this bench again inside a disposable sandbox (new PID, mount and network namespaces, a private /run/netns)
 * and exits with its status; returns only inside the sandbox. Root only.
 */
export function reexecInSandbox(bench: string, selfUrl: string): void {
  if (process.env.PODNET_BENCH_SANDBOX === '1') return;
  if (process.getuid?.() !== 0) {
    process.stderr.write(`error: bench:${bench} needs root (network namespaces)\nhint: run it as root, e.g. sudo npm run bench:${bench}\n`);
    process.exit(2);
  }
  const inner = `mkdir -p /run/netns && mount -t tmpfs none /run/netns && ip link set lo up && exec "$0" --import tsx "$1" "$@"`;
  const r = spawnSync('unshare', ['--fork', '--pid', '--mount-proc', '--mount', '--net', '--propagation', 'private', 'bash', '-c', inner, process.execPath, fileURLToPath(selfUrl), ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, PODNET_BENCH_SANDBOX: '1', NODE_NO_WARNINGS: '1' },
  });
  process.exit(r.status ?? 1);
}
