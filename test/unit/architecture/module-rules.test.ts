import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { checkModuleRules, commandRunnerNames, formatViolations, parseModuleTable, type Violation } from './rules.js';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));

test('the source tree keeps the module rules of docs/architecture.md', () => {
  const violations = checkModuleRules(repoRoot);
  assert.equal(violations.length, 0, `module rules broken:\n${formatViolations(violations)}`);
});

test('the table has a row with rules for every module of the layout, and the planned ones are marked', () => {
  const { rows, problems } = parseModuleTable(readFileSync(join(repoRoot, 'docs/architecture.md'), 'utf8'));
  assert.deepEqual(problems, []);
  const names = rows.map((r) => r.name);
  for (const m of ['net', 'limits', 'config', 'vpc', 'ec2', 'ipam', 'ipamd', 'dataplane', 'cni', 'node-init', 'lab', 'lib', 'cli', 'explain', 'k8s-api']) assert.ok(names.includes(m), m);
  assert.deepEqual(rows.filter((r) => !r.built).map((r) => r.name), []);
  for (const r of rows) assert.ok(r.rules.length > 0, `row ${r.name} has no machine-readable rule`);
});

test("lib's command runners are read from its code: run, not ExecError or onPath (which only reads PATH)", () => {
  const runners = commandRunnerNames(repoRoot);
  assert.ok(runners.has('run'));
  assert.ok(!runners.has('ExecError'));
  assert.ok(!runners.has('onPath'));
});

// --- the checker against small trees, one deliberate violation per rule ---

const TABLE = `# Architecture

## Modules

| module | owns | must not |
|---|---|---|
| \`lib\` | errors, exec | know any module: \`import anything but: node:*\` |
| \`net\` | addresses | know about AWS or Linux: \`import anything but: lib, ipaddr.js\` \`run commands\` |
| \`ec2\` | the emulator | be used by the core: \`be imported by: ipam\` |
| \`ipam\` | the core | \`import: @aws-sdk/*, node:http\` \`run commands\` |
| \`lab\` | the lab | \`be imported by anything but: cli\` |
| \`cli\` | wiring | \`be imported by: *\` |
| \`explain\` (not yet built) | analysis | \`run commands\` |
`;

const BASE: Record<string, string> = {
  'package.json': JSON.stringify({ dependencies: { 'ipaddr.js': '^2', '@aws-sdk/client-ec2': '^3' } }),
  'docs/architecture.md': TABLE,
  'src/lib/index.ts': "export { run, onPath, ExecError, type RunOptions } from './exec.js';\n",
  'src/lib/exec.ts': [
    "import { spawn } from 'node:child_process';",
    'export interface RunOptions { netns?: string }',
    'export class ExecError extends Error {}',
    'function start(argv: string[]) { return spawn(argv[0]!, argv.slice(1)); }',
    'export async function run(argv: string[]) { start(argv); }',
    'export function onPath(tool: string) { return tool.length > 0; }',
  ].join('\n'),
  'src/net/index.ts': "import { ExecError } from '../lib/index.js';\nimport ipaddr from 'ipaddr.js';\nexport const net = [ExecError, ipaddr];\n",
  'src/net/address.ts': 'export const address = 1;\n',
  'src/ec2/index.ts': 'export const ec2 = 1;\n',
  'src/ipam/index.ts': "import { net } from '../net/index.js';\nexport { pool } from './pool.js';\nexport const uses = net;\n",
  'src/ipam/pool.ts': "import type { RunOptions } from '../lib/index.js';\nexport const pool: RunOptions = {};\n",
  'src/lab/index.ts': "import { ec2 } from '../ec2/index.js';\nexport const lab = ec2;\n",
  'src/cli/main.ts': "import '../lab/index.js';\nconst { onPath } = await import('../lib/index.js');\nexport const found = onPath('ip');\n",
};

const scratch = mkdtempSync(join(tmpdir(), 'podnet-module-rules-'));
after(() => rmSync(scratch, { recursive: true, force: true }));
let trees = 0;

/** A tree: the base fixture with files added or replaced (null removes one); returns its violations. */
function check(changes: Record<string, string | null> = {}): Violation[] {
  const root = join(scratch, String(trees++));
  for (const [path, text] of Object.entries({ ...BASE, ...changes })) {
    if (text === null) continue;
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return checkModuleRules(root);
}

/** Exactly one violation, of this rule, whose message names the file:line and the import. */
function assertOne(violations: Violation[], rule: string, fileLine: string, specifier: string | null): Violation {
  assert.equal(violations.length, 1, formatViolations(violations));
  const [v] = violations;
  assert.equal(v!.rule, rule);
  assert.equal(v!.specifier, specifier);
  assert.match(formatViolations(violations), new RegExp(`^${fileLine.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `));
  if (specifier !== null) assert.ok(v!.message.includes(`'${specifier}'`), v!.message);
  return v!;
}

test('the base fixture keeps every rule (type imports, own files, non-runner lib names, destructured dynamic import)', () => {
  assert.deepEqual(check(), []);
});

test('index only: a module imports another module only through its index.ts', () => {
  const v = assertOne(check({ 'src/ipam/deep.ts': "import { address } from '../net/address.js';\nexport const a = address;\n" }), 'index only', 'src/ipam/deep.ts:1', '../net/address.js');
  assert.match(v.message, /only through their index\.ts/);
});

test("import: a listed package is refused, types-only imports and `export … from` too", () => {
  const v = assertOne(check({ 'src/ipam/cloud.ts': "import type { EC2Client } from '@aws-sdk/client-ec2';\nexport type C = EC2Client;\n" }), 'ipam: import: @aws-sdk/*, node:http', 'src/ipam/cloud.ts:1', '@aws-sdk/client-ec2');
  assert.match(v.message, /ipam must not import @aws-sdk\/\* .*\(types only\)|\(types only\).*ipam must not import @aws-sdk\/\*/);
  assertOne(check({ 'src/ipam/serve.ts': "\nexport { createServer } from 'node:http';\n" }), 'ipam: import: @aws-sdk/*, node:http', 'src/ipam/serve.ts:2', 'node:http');
});

test('import anything but: an import outside the list is refused, with the list in the message', () => {
  const v = assertOne(check({ 'src/net/read.ts': "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;\n" }), 'net: import anything but: lib, ipaddr.js', 'src/net/read.ts:1', 'node:fs');
  assert.match(v.message, /net must not import anything but lib, ipaddr\.js/);
});

test('be imported by: a listed importer is refused, also through a dynamic import', () => {
  const v = assertOne(check({ 'src/ipam/sim.ts': "export async function sim() {\n  const { ec2 } = await import('../ec2/index.js');\n  return ec2;\n}\n" }), 'ec2: be imported by: ipam', 'src/ipam/sim.ts:2', '../ec2/index.js');
  assert.match(v.message, /ec2 must not be imported by ipam/);
});

test('be imported by anything but: an importer outside the list is refused', () => {
  const v = assertOne(check({ 'src/ipam/lab.ts': "import { lab } from '../lab/index.js';\nexport const l = lab;\n" }), 'lab: be imported by anything but: cli', 'src/ipam/lab.ts:1', '../lab/index.js');
  assert.match(v.message, /lab must not be imported by ipam/);
  // net's own allow-list refuses the same import: both rules are named
  const both = check({ 'src/net/lab.ts': "import { lab } from '../lab/index.js';\nexport const l = lab;\n" });
  assert.deepEqual(both.map((x) => x.rule), ['net: import anything but: lib, ipaddr.js', 'lab: be imported by anything but: cli']);
});

test('be imported by: * — nothing imports cli (which therefore needs no index.ts)', () => {
  const violations = check({ 'src/lab/main.ts': "import { found } from '../cli/main.js';\nexport const f = found;\n" });
  assert.deepEqual(violations.map((v) => v.rule).sort(), ['cli: be imported by: *', 'index only']);
  assert.ok(violations.every((v) => v.message.startsWith("src/lab/main.ts:1: imports '../cli/main.js'")), formatViolations(violations));
});

test('run commands: node:child_process is refused', () => {
  const v = assertOne(check({ 'src/ipam/shell.ts': "import { execFileSync } from 'node:child_process';\nexport const e = execFileSync;\n" }), 'ipam: run commands', 'src/ipam/shell.ts:1', 'node:child_process');
  assert.match(v.message, /ipam must not run commands \(node:child_process/);
});

test("run commands: importing lib's runner is refused, its other names are not", () => {
  const v = assertOne(check({ 'src/ipam/links.ts': "import { ExecError, onPath, run } from '../lib/index.js';\nexport const l = [ExecError, onPath, run];\n" }), 'ipam: run commands', 'src/ipam/links.ts:1', '../lib/index.js');
  assert.match(v.message, /lib's run/);
  assertOne(check({ 'src/ipam/all.ts': "\n\nimport * as lib from '../lib/index.js';\nexport const l = lib;\n" }), 'ipam: run commands', 'src/ipam/all.ts:3', '../lib/index.js');
  assertOne(check({ 'src/net/dyn.ts': "export async function f() {\n  const [{ run }] = await Promise.all([import('../lib/index.js')]);\n  return run;\n}\n" }), 'net: run commands', 'src/net/dyn.ts:2', '../lib/index.js');
  assert.deepEqual(check({ 'src/ipam/ok.ts': "export async function f() {\n  const [{ onPath }] = await Promise.all([import('../lib/index.js')]);\n  return onPath;\n}\n" }), []);
});

test('a dynamic import with a computed specifier cannot be checked and is refused', () => {
  assertOne(check({ 'src/ipam/any.ts': "export const load = (m: string) => import(`../${m}/index.js`);\n" }), 'checkable imports', 'src/ipam/any.ts:1', '<computed: `../${m}/index.js`>');
});

test('every folder under src/ has a row: a new module without one is refused', () => {
  const v = assertOne(check({ 'src/vpc/index.ts': 'export const vpc = 1;\n' }), 'every module has a row', 'docs/architecture.md', null);
  assert.match(v.message, /src\/vpc has no row/);
});

test('a source file directly in src/, outside every module, is refused', () => {
  const v = assertOne(check({ 'src/helpers.ts': 'export const h = 1;\n' }), 'every module has a row', 'src/helpers.ts', null);
  assert.match(v.message, /belongs to no module/);
});

test('a built row without its folder, and a folder whose row still says not yet built, are refused', () => {
  const withRow = TABLE.replace('| `cli` |', '| `k8s-api` | the API server | `be imported by: ipam` |\n| `cli` |');
  const v = assertOne(check({ 'docs/architecture.md': withRow }), 'every module has a row', 'docs/architecture.md:12', null);
  assert.match(v.message, /row k8s-api has no folder src\/k8s-api/);
  const w = assertOne(check({ 'src/explain/index.ts': 'export const e = 1;\n' }), 'every module has a row', 'docs/architecture.md:13', null);
  assert.match(w.message, /src\/explain exists but its row says 'not yet built'/);
});

test('a module without index.ts is refused', () => {
  const v = assertOne(check({ 'src/ec2/index.ts': null, 'src/lab/index.ts': 'export const lab = 1;\n', 'src/ec2/state.ts': 'export const s = 1;\n' }), 'index only', 'src/ec2', null);
  assert.match(v.message, /src\/ec2 has no index\.ts/);
});

test('a rule the checker cannot read, or a name that is no module, built-in or package, is refused (a typo cannot switch a rule off)', () => {
  const v = assertOne(check({ 'docs/architecture.md': TABLE.replace('`run commands` |\n| `ec2`', '`runs commands` |\n| `ec2`') }), 'table', 'docs/architecture.md:8', null);
  assert.match(v.message, /'runs commands' is not a rule/);
  const typos = check({ 'docs/architecture.md': TABLE.replace('`import: @aws-sdk/*, node:http`', '`import: @aws-sdk/*, node:htp, ipamd`') });
  assert.deepEqual(typos.map((t) => [t.rule, t.file, t.line]), [['table', 'docs/architecture.md', 10], ['table', 'docs/architecture.md', 10]]);
  assert.match(typos[0]!.message, /'node:htp' in 'import: @aws-sdk\/\*, node:htp, ipamd' is neither a module/);
  assert.match(typos[1]!.message, /'ipamd' in/);
  const x = assertOne(check({ 'docs/architecture.md': '# no table here\n' }).filter((y) => y.rule === 'table'), 'table', 'docs/architecture.md', null);
  assert.match(x.message, /has no module table/);
});
