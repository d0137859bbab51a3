/**
 * One lab for a whole test file: brought up from a fixture scenario before the file's tests (the lab's pods through
 * podnet-cni) and taken down after them, its state in a temporary directory that goes with it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before } from 'node:test';
import { labDown, labUp } from '../../src/lab/index.js';

/** Registers the file's before/after hooks for the lab of `fixtures/<fixture>`; returns its state directory. */
export function labForFile(fixture: string, opts: { upTimeoutMs?: number } = {}): string {
  const scenarioPath = fileURLToPath(new URL(`./fixtures/${fixture}`, import.meta.url));
  const dir = mkdtempSync(join(tmpdir(), `podnet-${fixture.replace(/\.yaml$/, '')}-`));
  const stateDir = join(dir, 'state');
  before(async () => {
    await labUp({ scenarioPath, stateDir, runtime: 'cni' });
  }, { timeout: opts.upTimeoutMs ?? 180_000 });
  after(async () => {
    await labDown({ stateDir });
    rmSync(dir, { recursive: true, force: true });
  }, { timeout: 60_000 });
  return stateDir;
}
