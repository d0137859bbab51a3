/** Output helpers shared by every command: a plain aligned table for people, JSON for scripts. */
export function printJson(value: unknown): void {
  process.stdout.write(JSON.stringify(value, null, 2) + '\n');
}

export function formatTable(header: readonly string[], rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  const cells = [header, ...rows].map((r) => r.map(String));
  const widths = header.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return cells.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ').trimEnd()).join('\n') + '\n';
}

/** Progress for long work: shown on a terminal, silent when piped or with --json. */
export function progress(message: string, quiet = false): void {
  if (!quiet && process.stderr.isTTY) process.stderr.write(`\r\x1b[K${message}`);
}

export function progressDone(quiet = false): void {
  if (!quiet && process.stderr.isTTY) process.stderr.write('\r\x1b[K');
}
