// Class 10 of issue 10 (inputs that write where they should not), the lab's part: `lab up --state-dir` creates at
// most the directory's last component, and only when its parent exists — checked before anything is built; and
// `lab down --state-dir` naming a directory the lab did not make leaves it alone.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, test } from 'node:test';
import { labDown, labUp } from '../../src/lab/index.js';
import { PodnetError } from '../../src/lib/index.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-lab-paths-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('lab up --state-dir under a missing directory is refused before anything is built, and creates nothing', { timeout: 60_000 }, async (t) => {
  const stateDir = join(dir, 'missing', 'state');
  t.after(() => labDown({ stateDir }).then(() => undefined));
  const scenarioPath = fileURLToPath(new URL('./fixtures/one-node-lab.yaml', import.meta.url));
  await assert.rejects(labUp({ scenarioPath, stateDir, runtime: 'cni' }), (err: unknown) => {
    assert.ok(err instanceof PodnetError, String(err));
    assert.equal(err.exitStatus, 2);
    assert.match(err.message, /--state-dir .*\/missing\/state: its parent .*\/missing does not exist/);
    assert.ok(err.hint);
    return true;
  });
  assert.deepEqual(readdirSync(dir), [], 'no directory was created');
  assert.deepEqual(existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith('pn-')) : [], [], 'no namespace was created');
});

test('lab down --state-dir naming a directory the lab did not make removes nothing in it', { timeout: 30_000 }, async () => {
  const notLab = join(dir, 'home');
  mkdirSync(notLab);
  writeFileSync(join(notLab, 'notes.txt'), 'mine\n');
  await labDown({ stateDir: notLab });
  assert.deepEqual(readdirSync(notLab), ['notes.txt']);
  assert.equal(readFileSync(join(notLab, 'notes.txt'), 'utf8'), 'mine\n');
});
