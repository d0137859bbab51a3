/** ipamd's log: a level and a line; the CLI decides where lines go. */
import { CloudError } from '../ipam/index.js';
import { PodnetError } from '../lib/index.js';

export type LogLevel = 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, message: string) => void;

/** One line for a caught error: the stable code first (podnet's, or EC2's for a cloud call), then the message. */
export function describeError(err: unknown): string {
  if (err instanceof PodnetError) return `${err.code}: ${err.message}`;
  if (err instanceof CloudError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
