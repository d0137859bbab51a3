/**
 * What the fallback plugin needs on a node that has no Node (EKS nodes have none): a Node runtime and the compiled
 * plugin with every file it imports, listed here so `podnet cni install` can copy them under `<bin-dir>/podnet/`.
 * The plugin's files are found by following the imports of the compiled entry, so the copy follows the code: a module
 * the plugin starts to import is copied without a list to keep up to date.
 */
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { isBuiltin } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { PodnetError } from '../lib/index.js';

/** One file of the runtime: its path inside the runtime directory, where its bytes come from, and its mode. */
export interface RuntimeFile {
  target: string;
  source: { path: string } | { text: string };
  mode: number;
}

/** The runtime directory's entry point and the Node binary, relative to it. */
export const runtimeNode = 'node';
export const runtimePlugin = join('bin', 'podnet-cni-plugin.js');

/**
 * The static imports as tsc emits them, each at the start of a line: `import … from '…';`, `export … from '…';`
 * (which may span lines) and `import '…';`. A comment line starts with `*` or `//`, so a quoted example is not one.
 */
const staticImport = /^(?:import|export)\b[^;]*?\bfrom\s*['"]([^'"]+)['"];|^import\s*['"]([^'"]+)['"];/gm;
/** A dynamic import outside a comment line: its module may be computed, so the copy could not follow it. */
const dynamicImport = /^(?!\s*(?:\*|\/\/|\/\*)).*\bimport\(/m;

/**
 * The runtime's files for the package at packageRoot (its bin/podnet-cni-plugin.js and dist/): the running Node
 * binary, a package.json that makes the copied .js files ES modules, the plugin's entry, each compiled file it
 * reaches through its imports, and each package it imports from node_modules (with the packages those depend on).
 */
export function fallbackRuntimeFiles(packageRoot: string, nodeBinary: string): RuntimeFile[] {
  const entry = join(packageRoot, runtimePlugin);
  const files: RuntimeFile[] = [
    { target: runtimeNode, source: { path: nodeBinary }, mode: 0o755 },
    { target: 'package.json', source: { text: `${JSON.stringify({ name: 'podnet-cni-fallback', private: true, type: 'module' })}\n` }, mode: 0o644 },
  ];
  const seen = new Set<string>();
  const packages = new Map<string, string>();
  const pending = [entry];
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (seen.has(file)) continue;
    seen.add(file);
    const target = relative(packageRoot, file);
    if (target.startsWith('..')) throw new PodnetError('FAILED', `the fallback plugin imports ${file}, outside ${packageRoot}`, 'rebuild podnet (npm run build) from a clean checkout');
    files.push({ target, source: { path: file }, mode: 0o644 });
    for (const specifier of importsOf(file)) {
      if (specifier.startsWith('.')) pending.push(resolve(dirname(file), specifier));
      else if (!isBuiltin(specifier)) addPackage(packageName(specifier), dirname(file), packages);
    }
  }
  for (const [name, dir] of packages) {
    for (const path of filesUnder(dir)) files.push({ target: join('node_modules', name, relative(dir, path)), source: { path }, mode: 0o644 });
  }
  return files;
}

function importsOf(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new PodnetError('FAILED', `the fallback plugin needs ${file}, which cannot be read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, 'run `npm run build` in the podnet checkout, then install again', { cause: err });
  }
  const dynamic = dynamicImport.exec(text);
  if (dynamic) {
    throw new PodnetError('FAILED', `the fallback plugin's ${file} imports a module dynamically (${dynamic[0].trim()}), which the install cannot follow to copy it`,
      'a bug in podnet: the fallback plugin must import its modules statically');
  }
  return [...text.matchAll(staticImport)].map((m) => (m[1] ?? m[2])!);
}

/** `@scope/name/sub` → `@scope/name`; `name/sub` → `name`. */
function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

/** A package as Node finds it from `from` (the nearest node_modules up the tree), and the packages it depends on. */
function addPackage(name: string, from: string, packages: Map<string, string>): void {
  if (packages.has(name)) return;
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) {
      packages.set(name, candidate);
      const manifest = JSON.parse(readFileSync(join(candidate, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      for (const dependency of Object.keys(manifest.dependencies ?? {})) addPackage(dependency, candidate, packages);
      return;
    }
    if (dirname(dir) === dir) {
      throw new PodnetError('FAILED', `the fallback plugin imports the package ${name}, which is not installed beside ${from}`, 'run `npm ci` in the podnet checkout, then install again');
    }
  }
}

/** Every regular file under dir (links are not followed: a package's files are its own). */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    // parentPath is Node 20.12's name for what 20.1–20.11 call path
    .map((e) => join(e.parentPath ?? (e as unknown as { path: string }).path, e.name));
}
