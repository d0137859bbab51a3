import { InvalidArgumentError, Option } from 'commander';

/** commander argument parser for counts: a non-negative integer, or a usage error naming the bad value. */
export function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number ≥ 0, got '${value}'`);
  return Number(value);
}

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError(`expected a whole number ≥ 1, got '${value}'`);
  return Number(value);
}

/** `--os linux|windows`, the node's OS, for the commands whose answer differs on Windows nodes. */
export function osOption(description: string): Option {
  // the default is described as a user types it; commander would quote it as JSON
  return new Option('--os <os>', description).choices(['linux', 'windows']).default('linux', 'linux');
}
