// writeFileAtomic / writeFileAtomicSync: the one way podnet replaces a file (ipamd's checkpoint, the CNI launcher,
// plugins and conflist). Review finding 10 of issue 11: a failed write left its temporary file, and cni install wrote
// as root to a predictable `.tmp-<pid>` name without O_EXCL.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, describe, test } from 'node:test';
import { PodnetError, writeFileAtomic, writeFileAtomicSync } from '../../../src/lib/index.js';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'podnet-files-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const flavours = {
  async: (path: string, data: string | Buffer, mode: number, what?: string) => writeFileAtomic(path, data, { mode, ...(what === undefined ? {} : { what }) }),
  sync: async (path: string, data: string | Buffer, mode: number, what?: string) => writeFileAtomicSync(path, data, { mode, ...(what === undefined ? {} : { what }) }),
};

for (const [flavour, write] of Object.entries(flavours)) {
  describe(`writeFileAtomic (${flavour})`, () => {
    const base = join(dir, flavour);
    mkdirSync(base);

    test('creates the file with exactly the mode asked for, whatever the umask', async () => {
      const old = process.umask(0o077);
      try {
        await write(join(base, 'new'), 'one\n', 0o755);
      } finally {
        process.umask(old);
      }
      assert.equal(readFileSync(join(base, 'new'), 'utf8'), 'one\n');
      assert.equal(statSync(join(base, 'new')).mode & 0o7777, 0o755);
    });

    test('replaces an existing file whole, with the new mode, and leaves no temporary file', async () => {
      const path = join(base, 'replaced');
      writeFileSync(path, 'old content that is longer\n', { mode: 0o644 });
      await write(path, 'new\n', 0o600);
      assert.equal(readFileSync(path, 'utf8'), 'new\n');
      assert.equal(statSync(path).mode & 0o777, 0o600);
      assert.deepEqual(readdirSync(base).filter((f) => f.startsWith('replaced')), ['replaced']);
    });

    test('a link at the path is replaced by the file; its target is not written through', async () => {
      const target = join(base, 'link-target');
      writeFileSync(target, 'target\n');
      symlinkSync(target, join(base, 'link'));
      await write(join(base, 'link'), 'file\n', 0o644);
      assert.equal(statSync(join(base, 'link')).isFile(), true);
      assert.equal(readFileSync(target, 'utf8'), 'target\n');
    });

    test('a rename that fails (a directory at the path) removes the temporary file and says what it could not write', async () => {
      const path = join(base, 'a-directory');
      mkdirSync(path);
      await assert.rejects(write(path, 'x', 0o600, 'the IPAM checkpoint'), (err: unknown) => {
        assert.ok(err instanceof PodnetError);
        assert.equal(err.code, 'FAILED');
        assert.equal(err.message, `cannot write the IPAM checkpoint ${path}: EISDIR`);
        return true;
      });
      assert.deepEqual(readdirSync(base).filter((f) => f.startsWith('a-directory')), ['a-directory']);
    });

    test('a directory that does not exist is FAILED with the errno, and nothing is created', async () => {
      await assert.rejects(write(join(base, 'missing', 'file'), 'x', 0o600), (err: unknown) => err instanceof PodnetError && /^cannot write .*missing\/file: ENOENT$/.test(err.message));
    });

    test('a write that fails after the temporary file was created (EFBIG over the file-size limit) removes it and keeps the old file', () => {
      const sub = join(base, 'efbig');
      mkdirSync(sub);
      const path = join(sub, 'ipam.json');
      writeFileSync(path, 'old\n');
      // a child with RLIMIT_FSIZE at 1 MiB writes 2 MiB: the write fails with EFBIG (Node ignores SIGXFSZ)
      const script = `import('./src/lib/index.ts').then(async (lib) => {
        try { await lib.${flavour === 'async' ? 'writeFileAtomic' : 'writeFileAtomicSync'}(${JSON.stringify(path)}, Buffer.alloc(2 << 20), { mode: 0o600 }); console.log('written'); }
        catch (err) { console.log(err.code + ' ' + err.message); }
      })`;
      const r = spawnSync('sh', ['-c', 'ulimit -f 2048 && exec "$0" --import tsx -e "$1"', process.execPath, script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout.trim(), `FAILED cannot write ${path}: EFBIG`);
      assert.deepEqual(readdirSync(sub), ['ipam.json'], 'no temporary file is left');
      assert.equal(readFileSync(path, 'utf8'), 'old\n');
    });
  });
}
