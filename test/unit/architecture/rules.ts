/**
 * The module rules of docs/architecture.md, checked mechanically.
 *
 * The docs' module table (`| module | owns | must not |`) is the source: each row names a folder under src/, and
 * its "must not" cell carries, beside the prose, rules in backticks that this checker parses:
 *
 *   `import: a, b`                      the module's files import none of these
 *   `import anything but: a, b`         the module's files import only these (and their own files)
 *   `be imported by: a, b`              these modules do not import it (`*`: no other module does)
 *   `be imported by anything but: a`    only these modules import it
 *   `run commands`                      no node:child_process, and none of the names src/lib exports that run one
 *
 * A name in a list is a module (a row of the table), a Node built-in (`node:http`, `node:*`) or an npm package
 * (`yaml`, `@aws-sdk/*`); a name covers its subpaths (`node:fs` covers `node:fs/promises`). Besides these, every
 * module is imported by the others only through its index.ts (which every module has, except one no other module
 * may import, such as cli), and every folder under src/ has a row (a row marked "not yet built" has no folder yet).
 *
 * Imports are read with the TypeScript parser: `import … from`, `import type`, `export … from` and `import('…')`.
 * Type-only imports count: a module that must not import the AWS SDK does not use its types either.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve, sep } from 'node:path';
import ts from 'typescript';

export const TABLE_DOC = 'docs/architecture.md';

export type Rule =
  | { kind: 'import'; names: string[]; text: string }
  | { kind: 'import anything but'; names: string[]; text: string }
  | { kind: 'be imported by'; names: string[]; text: string }
  | { kind: 'be imported by anything but'; names: string[]; text: string }
  | { kind: 'run commands'; text: string };

export interface ModuleRow {
  name: string;
  /** False for a row marked "not yet built": its rules stand, its folder may not exist yet. */
  built: boolean;
  rules: Rule[];
  /** Line in the docs file, for messages. */
  line: number;
}

export interface ImportRef {
  /** Path from the tree's root, with forward slashes (src/ipam/executor.ts). */
  file: string;
  line: number;
  specifier: string;
  /** Imported names ('default' for a default import), or 'all' for a namespace import, `export *` or an unresolved dynamic import. */
  names: string[] | 'all';
  typeOnly: boolean;
}

export interface Violation {
  file: string;
  line: number;
  /** The import the violation is about, or null for a table/folder problem. */
  specifier: string | null;
  rule: string;
  message: string;
}

const RULE_KEYWORDS = ['import anything but', 'be imported by anything but', 'import', 'be imported by'] as const;

/** Parses the module table of docs/architecture.md; a rule it cannot read is a violation, not a silent skip. */
export function parseModuleTable(markdown: string): { rows: ModuleRow[]; problems: Violation[] } {
  const lines = markdown.split('\n');
  const rows: ModuleRow[] = [];
  const problems: Violation[] = [];
  const header = lines.findIndex((l) => /^\|\s*module\s*\|\s*owns\s*\|\s*must not\s*\|\s*$/.test(l));
  if (header < 0) {
    problems.push(tableProblem(0, 'table', `${TABLE_DOC} has no module table (a row '| module | owns | must not |')`));
    return { rows, problems };
  }
  for (let i = header + 2; i < lines.length && lines[i]!.startsWith('|'); i++) {
    const cells = lines[i]!.split('|').slice(1, -1).map((c) => c.trim());
    const lineNo = i + 1;
    if (cells.length !== 3) {
      problems.push(tableProblem(lineNo, 'table', `row has ${cells.length} cells, not 3: ${lines[i]}`));
      continue;
    }
    const name = cells[0]!.match(/^`([a-z0-9-]+)`/)?.[1];
    if (!name) {
      problems.push(tableProblem(lineNo, 'table', `the module cell must start with the folder name in backticks: ${cells[0]}`));
      continue;
    }
    const built = !/not yet built/.test(cells[0]!);
    const rules: Rule[] = [];
    for (const [, span] of cells[2]!.matchAll(/`([^`]*)`/g)) {
      const rule = parseRule(span!);
      if (typeof rule === 'string') problems.push(tableProblem(lineNo, 'table', `row ${name}: ${rule}`));
      else rules.push(rule);
    }
    rows.push({ name, built, rules, line: lineNo });
  }
  return { rows, problems };
}

function parseRule(span: string): Rule | string {
  const text = span.trim();
  if (text === 'run commands') return { kind: 'run commands', text };
  for (const kind of RULE_KEYWORDS) {
    if (text.startsWith(`${kind}:`)) {
      const names = text.slice(kind.length + 1).split(',').map((n) => n.trim()).filter((n) => n !== '');
      if (names.length === 0) return `rule '${text}' lists no names`;
      return { kind, names, text };
    }
  }
  return `'${text}' is not a rule (one of: ${[...RULE_KEYWORDS].map((k) => `'${k}: …'`).join(', ')}, 'run commands')`;
}

function tableProblem(line: number, rule: string, message: string): Violation {
  return { file: TABLE_DOC, line, specifier: null, rule, message };
}

/** Every import of every .ts file under src/ of the tree at root. */
export function collectImports(root: string): ImportRef[] {
  const refs: ImportRef[] = [];
  for (const path of listTsFiles(join(root, 'src'))) {
    const file = toPosix(relative(root, path));
    const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
    const lineOf = (node: ts.Node) => sf.getLineAndCharacterOfPosition(node.getStart(sf)).line + 1;
    const visit = (node: ts.Node): void => {
      if (ts.isImportDeclaration(node) && ts.isStringLiteral(node.moduleSpecifier)) {
        refs.push({ file, line: lineOf(node), specifier: node.moduleSpecifier.text, ...importClauseNames(node.importClause) });
      } else if (ts.isExportDeclaration(node) && node.moduleSpecifier && ts.isStringLiteral(node.moduleSpecifier)) {
        const clause = node.exportClause;
        const names = clause && ts.isNamedExports(clause) ? clause.elements.map((e) => (e.propertyName ?? e.name).text) : 'all';
        const typeOnly = node.isTypeOnly || (clause !== undefined && ts.isNamedExports(clause) && clause.elements.every((e) => e.isTypeOnly));
        refs.push({ file, line: lineOf(node), specifier: node.moduleSpecifier.text, names, typeOnly });
      } else if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
        const arg = node.arguments[0];
        const specifier = arg && ts.isStringLiteralLike(arg) ? arg.text : `<computed: ${arg?.getText(sf) ?? ''}>`;
        refs.push({ file, line: lineOf(node), specifier, names: dynamicImportNames(node), typeOnly: false });
      }
      ts.forEachChild(node, visit);
    };
    visit(sf);
  }
  return refs;
}

function importClauseNames(clause: ts.ImportClause | undefined): { names: string[] | 'all'; typeOnly: boolean } {
  if (!clause) return { names: [], typeOnly: false }; // `import 'x'`, for its side effects
  const names: string[] = clause.name ? ['default'] : [];
  const bindings = clause.namedBindings;
  if (bindings && ts.isNamespaceImport(bindings)) return { names: 'all', typeOnly: clause.isTypeOnly };
  const elements = bindings && ts.isNamedImports(bindings) ? bindings.elements : [];
  names.push(...elements.map((e) => (e.propertyName ?? e.name).text));
  const typeOnly = clause.isTypeOnly || (!clause.name && elements.length > 0 && elements.every((e) => e.isTypeOnly));
  return { names, typeOnly };
}

/** Names taken from `const { a } = await import('x')` or `const [{ a }, …] = await Promise.all([import('x'), …])`; otherwise 'all'. */
function dynamicImportNames(call: ts.CallExpression): string[] | 'all' {
  let node: ts.Node = call;
  let index: number | null = null;
  if (ts.isArrayLiteralExpression(node.parent)) {
    index = node.parent.elements.indexOf(call);
    const all = node.parent.parent;
    if (!ts.isCallExpression(all) || !/^Promise\.all(Settled)?$/.test(all.expression.getText())) return 'all';
    node = all;
  }
  if (!ts.isAwaitExpression(node.parent) || !ts.isVariableDeclaration(node.parent.parent)) return 'all';
  let pattern: ts.BindingName | undefined = node.parent.parent.name;
  if (index !== null) {
    const element: ts.ArrayBindingElement | undefined = ts.isArrayBindingPattern(pattern) ? pattern.elements[index] : undefined;
    pattern = element && ts.isBindingElement(element) ? element.name : undefined;
  }
  if (!pattern || !ts.isObjectBindingPattern(pattern)) return 'all';
  const names: string[] = [];
  for (const e of pattern.elements) {
    const key = e.propertyName ?? e.name;
    if (e.dotDotDotToken || !ts.isIdentifier(key)) return 'all';
    names.push(key.text);
  }
  return names;
}

/**
 * The names src/lib/index.ts exports that run a command: exported functions whose body calls something imported
 * from node:child_process, or another such function of the same file. Read from the code, so a new runner in
 * lib is covered without editing the table; ExecError and onPath (which only reads PATH) are not runners.
 */
export function commandRunnerNames(root: string): Set<string> {
  const indexPath = join(root, 'src/lib/index.ts');
  const runners = new Set<string>();
  if (!existsSync(indexPath)) return runners;
  const index = ts.createSourceFile(indexPath, readFileSync(indexPath, 'utf8'), ts.ScriptTarget.Latest, true);
  for (const stmt of index.statements) {
    if (!ts.isExportDeclaration(stmt) || stmt.isTypeOnly || !stmt.moduleSpecifier || !ts.isStringLiteral(stmt.moduleSpecifier)) continue;
    const target = resolveTsFile(join(root, 'src/lib'), stmt.moduleSpecifier.text);
    if (!target || !existsSync(target)) continue;
    const inFile = runnersOfFile(target);
    const clause = stmt.exportClause;
    if (!clause) for (const n of inFile) runners.add(n);
    else if (ts.isNamedExports(clause)) {
      for (const e of clause.elements) if (!e.isTypeOnly && inFile.has((e.propertyName ?? e.name).text)) runners.add(e.name.text);
    }
  }
  return runners;
}

function runnersOfFile(path: string): Set<string> {
  const sf = ts.createSourceFile(path, readFileSync(path, 'utf8'), ts.ScriptTarget.Latest, true);
  const spawners = new Set<string>();
  const bodies = new Map<string, ts.Node>();
  for (const stmt of sf.statements) {
    if (ts.isImportDeclaration(stmt) && ts.isStringLiteral(stmt.moduleSpecifier) && /^(node:)?child_process$/.test(stmt.moduleSpecifier.text)) {
      const b = stmt.importClause?.namedBindings;
      if (b && ts.isNamedImports(b)) for (const e of b.elements) spawners.add(e.name.text);
      if (b && ts.isNamespaceImport(b)) spawners.add(b.name.text);
      if (stmt.importClause?.name) spawners.add(stmt.importClause.name.text);
    } else if (ts.isFunctionDeclaration(stmt) && stmt.name && stmt.body) {
      bodies.set(stmt.name.text, stmt.body);
    } else if (ts.isVariableStatement(stmt)) {
      for (const d of stmt.declarationList.declarations) if (ts.isIdentifier(d.name) && d.initializer) bodies.set(d.name.text, d.initializer);
    }
  }
  const runners = new Set<string>();
  const calls = (body: ts.Node, names: Set<string>): boolean => {
    let found = false;
    const visit = (n: ts.Node): void => {
      if (found) return;
      if (ts.isCallExpression(n) || ts.isNewExpression(n)) {
        const callee = n.expression;
        const head = ts.isPropertyAccessExpression(callee) ? callee.expression : callee;
        if (ts.isIdentifier(head) && names.has(head.text)) found = true;
      }
      ts.forEachChild(n, visit);
    };
    visit(body);
    return found;
  };
  for (let changed = true; changed; ) {
    changed = false;
    for (const [name, body] of bodies) {
      if (!runners.has(name) && calls(body, new Set([...spawners, ...runners]))) {
        runners.add(name);
        changed = true;
      }
    }
  }
  return runners;
}

type Target =
  | { kind: 'module'; module: string; viaIndex: boolean }
  | { kind: 'builtin'; name: string }
  | { kind: 'package'; name: string }
  | { kind: 'outside' }
  | { kind: 'computed' };

function classify(root: string, ref: ImportRef): Target {
  const spec = ref.specifier;
  if (spec.startsWith('<computed')) return { kind: 'computed' };
  if (spec.startsWith('.') || spec.startsWith('/')) {
    const path = toPosix(relative(join(root, 'src'), resolve(root, dirname(ref.file), spec)));
    if (path.startsWith('..') || !path.includes('/')) return { kind: 'outside' };
    const [module, ...rest] = path.split('/');
    return { kind: 'module', module: module!, viaIndex: rest.length === 1 && /^index\.(js|ts)$/.test(rest[0]!) };
  }
  if (spec.startsWith('node:') || isBuiltin(spec)) return { kind: 'builtin', name: spec.startsWith('node:') ? spec : `node:${spec}` };
  return { kind: 'package', name: spec };
}

/** Whether a rule's name (a module, `node:…` or a package, with `*` as a wildcard) covers the target. */
function covers(pattern: string, target: Target): boolean {
  if (target.kind === 'module') return pattern === target.module;
  if (target.kind !== 'builtin' && target.kind !== 'package') return false;
  const glob = new RegExp(`^${pattern.split('*').map(escapeRegExp).join('.*')}(/.*)?$`);
  return glob.test(target.name);
}

function escapeRegExp(s: string): string {
  return s.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** The module a source file belongs to (its first folder under src/), or null for a file directly in src/. */
function moduleOf(file: string): string | null {
  const parts = file.split('/');
  return parts[0] === 'src' && parts.length > 2 ? parts[1]! : null;
}

/** Checks the tree at root against its docs/architecture.md module table. */
export function checkModuleRules(root: string): Violation[] {
  const { rows, problems } = parseModuleTable(readFileSync(join(root, TABLE_DOC), 'utf8'));
  const violations = [...problems, ...checkFolders(root, rows), ...checkRuleNames(root, rows)];
  const byName = new Map(rows.map((r) => [r.name, r]));
  const runners = commandRunnerNames(root);
  const where = (r: ModuleRow) => `${TABLE_DOC}:${r.line}`;

  for (const ref of collectImports(root)) {
    const importer = moduleOf(ref.file);
    if (!importer) continue;
    const target = classify(root, ref);
    const at = (rule: string, message: string) =>
      violations.push({ file: ref.file, line: ref.line, specifier: ref.specifier, rule, message: `${ref.file}:${ref.line}: imports '${ref.specifier}'${ref.typeOnly ? ' (types only)' : ''}: ${message}` });
    if (target.kind === 'computed') {
      at('checkable imports', 'a dynamic import with a computed specifier cannot be checked against the module rules; import a literal path');
      continue;
    }
    if (target.kind === 'module' && target.module !== importer && !target.viaIndex) {
      at('index only', `other modules are imported only through their index.ts: import '${target.module}/index.js' (export what you need from there)`);
    }
    const row = byName.get(importer);
    for (const rule of row?.rules ?? []) {
      const crossing = target.kind !== 'module' || target.module !== importer;
      const named = rule.kind === 'run commands' ? undefined : rule.names.find((n) => covers(n, target));
      if (rule.kind === 'import' && crossing && named) {
        at(`${importer}: ${rule.text}`, `${importer} must not import ${named} (rule '${rule.text}', ${where(row!)})`);
      } else if (rule.kind === 'import anything but' && crossing && target.kind !== 'outside' && !named) {
        at(`${importer}: ${rule.text}`, `${importer} must not import anything but ${rule.names.join(', ')} (rule '${rule.text}', ${where(row!)})`);
      } else if (rule.kind === 'run commands') {
        const childProcess = target.kind === 'builtin' && covers('node:child_process', target);
        const fromLib = target.kind === 'module' && target.module === 'lib' && importer !== 'lib';
        const ran = fromLib ? (ref.names === 'all' ? ['* (all of lib, runners included)'] : ref.names.filter((n) => runners.has(n))) : [];
        if (childProcess || ran.length > 0) {
          const what = childProcess ? 'node:child_process' : `lib's ${ran.join(', ')}`;
          at(`${importer}: run commands`, `${importer} must not run commands (${what}; ask the module that owns the command; ${where(row!)})`);
        }
      }
    }
    if (target.kind === 'module' && target.module !== importer) {
      const targetRow = byName.get(target.module);
      for (const rule of targetRow?.rules ?? []) {
        const listed = rule.kind !== 'run commands' && (rule.names.includes(importer) || rule.names.includes('*'));
        if ((rule.kind === 'be imported by' && listed) || (rule.kind === 'be imported by anything but' && !listed)) {
          at(`${target.module}: ${rule.text}`, `${target.module} must not be imported by ${importer} (rule '${rule.text}', ${where(targetRow!)})`);
        }
      }
    }
  }
  return violations;
}

/** Every file under src/ is in a module folder; every folder has a built row and an index.ts; every built row has its folder; a planned row has none yet. */
function checkFolders(root: string, rows: ModuleRow[]): Violation[] {
  const out: Violation[] = [];
  const src = join(root, 'src');
  const entries = readdirSync(src, { withFileTypes: true });
  const folders = entries.filter((e) => e.isDirectory()).map((e) => e.name);
  for (const loose of entries.filter((e) => e.isFile() && e.name.endsWith('.ts'))) {
    out.push({ file: `src/${loose.name}`, line: 0, specifier: null, rule: 'every module has a row', message: `src/${loose.name} belongs to no module: move it into the folder of the module it serves` });
  }
  const byName = new Map(rows.map((r) => [r.name, r]));
  for (const folder of folders) {
    const row = byName.get(folder);
    if (!row) out.push(tableProblem(0, 'every module has a row', `src/${folder} has no row in the module table of ${TABLE_DOC}: add '| \`${folder}\` | what it owns | what it must not |'`));
    else if (!row.built) out.push(tableProblem(row.line, 'every module has a row', `src/${folder} exists but its row says 'not yet built': drop those words`));
    const importedByNone = row?.rules.some((r) => r.kind === 'be imported by' && r.names.includes('*'));
    if (!importedByNone && !existsSync(join(src, folder, 'index.ts'))) out.push({ file: `src/${folder}`, line: 0, specifier: null, rule: 'index only', message: `src/${folder} has no index.ts, its public surface` });
  }
  for (const row of rows) {
    if (row.built && !folders.includes(row.name)) out.push(tableProblem(row.line, 'every module has a row', `row ${row.name} has no folder src/${row.name}: mark it 'not yet built' or remove it`));
  }
  return out;
}

/** A name in a rule is a module of the table, a `node:` built-in or a package of package.json, so a typo cannot switch a rule off. */
function checkRuleNames(root: string, rows: ModuleRow[]): Violation[] {
  const pkgPath = join(root, 'package.json');
  const pkg = existsSync(pkgPath) ? (JSON.parse(readFileSync(pkgPath, 'utf8')) as { dependencies?: object; devDependencies?: object }) : {};
  const packages = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.devDependencies ?? {})];
  const modules = new Set(rows.map((r) => r.name));
  const out: Violation[] = [];
  for (const row of rows) {
    for (const rule of row.rules) {
      if (rule.kind === 'run commands') continue;
      for (const name of rule.names) {
        const known = rule.kind.startsWith('be imported by')
          ? name === '*' || modules.has(name)
          : modules.has(name) || (name.startsWith('node:') && (name.includes('*') || isBuiltin(name))) || packages.some((p) => covers(name, { kind: 'package', name: p }));
        if (!known) out.push(tableProblem(row.line, 'table', `row ${row.name}: '${name}' in '${rule.text}' is neither a module of the table, a node: built-in nor a package of package.json`));
      }
    }
  }
  return out;
}

function listTsFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...listTsFiles(path));
    else if (entry.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** `./x.js` names the compiled file; the source beside it is `./x.ts`. */
function resolveTsFile(fromDir: string, spec: string): string | null {
  if (!spec.startsWith('.')) return null;
  const path = resolve(fromDir, spec);
  return path.endsWith('.js') ? `${path.slice(0, -3)}.ts` : path;
}

function toPosix(path: string): string {
  return path.split(sep).join('/');
}

/** One line per violation, for an assertion message. */
export function formatViolations(violations: Violation[]): string {
  return violations.map((v) => (v.specifier === null ? `${v.file}${v.line ? `:${v.line}` : ''}: ${v.message}` : v.message)).join('\n');
}
