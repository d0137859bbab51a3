import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

/** Runs the CLI as a user would (through tsx), returning exit status and both streams. */
export function podnet(...args: string[]): { status: number | null; stdout: string; stderr: string } {
  const res = spawnSync(process.execPath, ['--import', 'tsx', '-e', "import('./src/cli/main.ts').then((m) => m.main(['node', 'podnet', ...process.argv.slice(1)]))", '--', ...args], { cwd: root, encoding: 'utf8' });
  return { status: res.status, stdout: res.stdout, stderr: res.stderr };
}
