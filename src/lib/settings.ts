/** Validation of settings and input files (the emulator's throttle and faults, topology and scenario files): zod, with errors that name the bad field. */
import type { z } from 'zod';
import { PodnetError } from './errors.js';

/** Parses `value` with `schema` or throws CONFIG_INVALID listing each bad field by its path (`subnets[1].cidr`). */
export function parseSettings<T extends z.ZodType>(schema: T, value: unknown, what: string): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`);
  throw new PodnetError('CONFIG_INVALID', `invalid ${what}: ${problems.join('; ')}`, `fix the field${problems.length > 1 ? 's' : ''} named above`);
}

function formatPath(path: ReadonlyArray<PropertyKey>): string {
  if (path.length === 0) return '(top level)';
  return path.map((p, i) => (typeof p === 'number' ? `[${p}]` : `${i === 0 ? '' : '.'}${String(p)}`)).join('');
}
