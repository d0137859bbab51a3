import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { EXPLAIN_CODES } from '../../../src/explain/index.js';

// docs/explain.md's table of codes is the --json contract's list: every code is there, and nothing else is.
test('docs/explain.md lists exactly the explanation codes, each with its meaning', () => {
  const doc = readFileSync(new URL('../../../docs/explain.md', import.meta.url), 'utf8');
  const table = doc.slice(doc.indexOf('### Codes'));
  const listed = [...table.matchAll(/^\| `([A-Z0-9_]+)` \| (.+) \|$/gm)].map((m) => m[1]!);
  assert.deepEqual(listed, Object.keys(EXPLAIN_CODES));
});
