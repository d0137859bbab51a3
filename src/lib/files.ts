import { randomBytes } from 'node:crypto';
import { closeSync, fchmodSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { PodnetError } from './errors.js';

/**
 * Reads a UTF-8 file the user named (an env file, a topology, a fault config). An unreadable one is a usage error
 * (FILE_UNREADABLE, exit 2): `cannot read <what> <path>: it does not exist`, with the caller's hint.
 */
export function readUserFile(path: string, what: string, hint: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'it does not exist' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new PodnetError('FILE_UNREADABLE', `cannot read ${what} ${path}: ${reason}`, hint, { cause: err });
  }
}

/** What is at `path`: a directory, something else, or nothing (a dangling or looping link counts as nothing). */
function kindAt(path: string): 'directory' | 'file' | 'none' {
  try {
    return statSync(path).isDirectory() ? 'directory' : 'file';
  } catch {
    return 'none';
  }
}

/**
 * The rule for every path option podnet creates something at (a directory, a database file): `path` either exists
 * as that `kind`, or only its last component is missing and its parent is a directory. A mistyped path must fail
 * at once, not grow a tree on the root filesystem. `what` names the option (`--bin-dir`). Throws USAGE (exit 2).
 */
export function checkCreatablePath(path: string, what: string, kind: 'directory' | 'file'): void {
  const full = resolve(path);
  const found = kindAt(full);
  if (found !== 'none') {
    if (found === kind) return;
    throw new PodnetError('USAGE', `${what} ${path} ${kind === 'directory' ? 'is not a directory' : 'is a directory'}`, `give ${what} the path of a ${kind}`);
  }
  const parent = dirname(full);
  const parentKind = kindAt(parent);
  if (parentKind === 'directory') return;
  throw new PodnetError(
    'USAGE',
    `${what} ${path}: its parent ${parent} ${parentKind === 'none' ? 'does not exist' : 'is not a directory'}`,
    `podnet creates only the last component of ${what}: create ${parent} first, or check the path for a typo`,
  );
}

/**
 * Makes `path` a directory under checkCreatablePath's rule: creates its last component only. mkdir is not recursive:
 * recursive mkdir loops forever under /proc, where mkdir answers ENOENT although the parent exists.
 */
export function ensureDirectory(path: string, what: string): void {
  checkCreatablePath(path, what, 'directory');
  try {
    mkdirSync(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' && kindAt(path) === 'directory') return; // made meanwhile by someone else
    if (code === 'ENOENT') {
      throw new PodnetError('USAGE', `${what} ${path}: ${dirname(resolve(path))} takes no new directories (a filesystem such as /proc or /sys)`, `give ${what} a directory on a regular filesystem`, { cause: err });
    }
    throw new PodnetError('FAILED', `cannot create ${what} ${path}: ${code ?? (err as Error).message}`, code === 'EACCES' || code === 'EPERM' ? 'run as root, or choose a directory you can write' : 'choose a directory on a writable filesystem', { cause: err });
  }
}

/** What writeFileAtomic writes and how it names the file in its error. */
export interface AtomicWrite {
  /** The file's permission bits, exactly: set on the handle, so the umask does not narrow them. */
  mode: number;
  /** Names the file in an error (`cannot write the IPAM checkpoint PATH: …`); the path alone without it. */
  what?: string;
}

/**
 * A temporary name beside `path`, in the same directory so the rename stays on one filesystem. Random, as Go's
 * os.CreateTemp names upstream's checkpoint temp file: a predictable name (`.tmp-<pid>`) lets another local user
 * place a file or link there first. The `.tmp…` suffix keeps it out of a CNI runtime's `*.conflist` scan.
 */
function temporaryPath(path: string): string {
  return join(dirname(path), `${basename(path)}.tmp${randomBytes(6).toString('hex')}`);
}

function writeFailed(path: string, o: AtomicWrite, err: unknown): PodnetError {
  const e = err as NodeJS.ErrnoException;
  const code = e.code ?? e.message;
  return new PodnetError('FAILED', `cannot write ${o.what === undefined ? '' : `${o.what} `}${path}: ${code}`,
    code === 'EACCES' || code === 'EPERM' ? 'run as root, or choose a directory you can write' : 'check that the directory exists and is writable', { cause: err });
}

/**
 * Replaces `path` whole, so a reader sees the old file or the new one, never a part: the data goes to a new file
 * beside it, created exclusively (O_EXCL: an existing file or link at the temporary name is never followed or
 * reused) with `mode`, is fsynced, then renamed over `path`. Whatever fails, the temporary file is removed; the
 * error is FAILED `cannot write …` with the errno. ipamd's checkpoint uses this one; the synchronous twin below is
 * for `cni install`, whose undo runs inside synchronous code.
 */
export async function writeFileAtomic(path: string, data: string | Buffer, o: AtomicWrite): Promise<void> {
  const tmp = temporaryPath(path);
  let created = false;
  try {
    const file = await open(tmp, 'wx', o.mode);
    created = true;
    try {
      await file.chmod(o.mode);
      await file.writeFile(data);
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(tmp, path);
  } catch (err) {
    if (created) await unlink(tmp).catch(() => undefined);
    throw writeFailed(path, o, err);
  }
}

/** writeFileAtomic for synchronous callers: the same steps, the same cleanup and error. */
export function writeFileAtomicSync(path: string, data: string | Buffer, o: AtomicWrite): void {
  const tmp = temporaryPath(path);
  let created = false;
  try {
    const fd = openSync(tmp, 'wx', o.mode);
    created = true;
    try {
      fchmodSync(fd, o.mode);
      writeFileSync(fd, data);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, path);
  } catch (err) {
    if (created) {
      try {
        unlinkSync(tmp);
      } catch {
        // the write's error is the one to report; a temp file that cannot be removed either has nothing to add
      }
    }
    throw writeFailed(path, o, err);
  }
}
