import { InvalidArgumentError } from 'commander';

/** commander argument parser for counts: a non-negative integer, or a usage error naming the bad value. */
export function nonNegativeInt(value: string): number {
  if (!/^\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected a whole number ≥ 0, got '${value}'`);
  return Number(value);
}

export function positiveInt(value: string): number {
  if (!/^\d+$/.test(value.trim()) || Number(value) < 1) throw new InvalidArgumentError(`expected a whole number ≥ 1, got '${value}'`);
  return Number(value);
}
