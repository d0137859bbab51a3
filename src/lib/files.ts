import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
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
