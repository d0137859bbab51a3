import { readFileSync } from 'node:fs';
import { PodnetError } from '../lib/index.js';

/**
 * Reads one JSON object keyed by instance type from data/ (provenance in data/README.md), sorted by name in byte
 * order. dist/limits/ and src/limits/ are both two levels below the package root, so one relative URL serves both.
 */
export function loadDataTable<T>(file: string, isEntry: (value: unknown) => value is T): ReadonlyMap<string, T> {
  const url = new URL(`../../data/${file}`, import.meta.url);
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(url, 'utf8'));
  } catch (err) {
    throw new PodnetError('FAILED', `cannot read the instance-type table ${url.pathname}: ${(err as Error).message}`,
      'reinstall podnet; the data/ folder must sit next to dist/ and src/', { cause: err });
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new PodnetError('FAILED', `the instance-type table ${url.pathname} is not a JSON object keyed by instance type`,
      `reinstall podnet to restore data/${file}`);
  }
  const entries = Object.entries(parsed as Record<string, unknown>);
  const bad = entries.find(([, value]) => !isEntry(value));
  if (bad) {
    throw new PodnetError('FAILED', `the instance-type table ${url.pathname} has a malformed entry for '${bad[0]}'`,
      `reinstall podnet to restore data/${file}`);
  }
  return new Map((entries as [string, T][]).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
