import { PodnetError, readUserFile } from '../lib/index.js';

/**
 * KEY=VALUE lines as in a .env file or `kubectl set env --list` output: blank lines and `#` comments are skipped,
 * an `export ` prefix is allowed, and one pair of matching surrounding quotes is stripped. A line that is not a
 * pair is a usage error naming its number.
 */
export function parseEnvFile(text: string, fileName: string): Record<string, string> {
  const env: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/.exec(trimmed);
    if (!match) {
      throw new PodnetError('USAGE', `${fileName} line ${i + 1} is not KEY=VALUE: ${JSON.stringify(trimmed.slice(0, 60))}`, 'write one NAME=value per line; # starts a comment');
    }
    const value = match[2]!.trim();
    env[match[1]!] = /^(["']).*\1$/s.test(value) && value.length >= 2 ? value.slice(1, -1) : value;
  });
  return env;
}

/** Reads and parses an env file; an unreadable file is a usage error (exit 2). */
export function readEnvFile(path: string): Record<string, string> {
  return parseEnvFile(readUserFile(path, 'env file', 'check the path; the file holds KEY=VALUE lines'), path);
}
