import { readFileSync } from 'node:fs';
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
