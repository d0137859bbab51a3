/** Helpers the benches share: latency percentiles and numeric flags. */

/** The nearest-rank p-th percentile (p in 0–100) of the values; NaN when there are none. */
export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

/** `--name N` from argv, or fallback; a value that is not a number above 0 (whole when asked) stops the bench. */
export function numberFlag(name: string, fallback: number, opts: { whole?: boolean } = {}): number {
  const i = process.argv.indexOf(`--${name}`);
  const value = i >= 0 ? Number(process.argv[i + 1]) : fallback;
  const valid = opts.whole ? Number.isInteger(value) && value > 0 : Number.isFinite(value) && value > 0;
  if (!valid) throw new Error(`--${name} needs a ${opts.whole ? 'whole number' : 'number'} > 0`);
  return value;
}
