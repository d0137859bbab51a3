import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../', import.meta.url));

/**
 * The argv that runs the CLI from source (through tsx), as `bin/podnet.js` runs it from dist/. Under
 * PODNET_COMPILED_CLI=1 (scripts/test.mjs sets it once it has built dist/ from this source) it is `bin/podnet.js`
 * itself: the same code, started in about half the CPU time, which is most of what the CLI tests spend.
 */
export const podnetArgv: readonly string[] =
  process.env.PODNET_COMPILED_CLI === '1'
    ? ['--', fileURLToPath(new URL('../bin/podnet.js', import.meta.url))] // `--`: as bin/podnet.js's own shebang, so node does not take `--env-file` for itself (nodejs/node#54232)
    : ['--import', 'tsx', '-e', "import('./src/cli/main.ts').then((m) => m.main(['node', 'podnet', ...process.argv.slice(1)]))", '--'];

export interface PodnetRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  /** The child's whole environment besides PATH; without it the child inherits this process's environment. */
  env?: Record<string, string>;
  /** Standard input. */
  input?: string;
  /** A run that takes longer fails the test (default 60 s: a loaded machine, not a performance claim). */
  timeoutMs?: number;
}

/** Runs `podnet ARGS` as a user would, returning its exit status and both streams. */
export function podnet(args: readonly string[], opts: RunOptions = {}): PodnetRun {
  const timeout = opts.timeoutMs ?? 60_000;
  const res = spawnSync(process.execPath, [...podnetArgv, ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout,
    env: opts.env ? { PATH: process.env.PATH ?? '/usr/bin:/bin', ...opts.env } : process.env,
    ...(opts.input !== undefined && { input: opts.input }),
  });
  assert.equal(res.signal, null, `podnet ${args.join(' ')} did not finish within ${timeout / 1000} s`);
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}
