import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { PodnetError, readUserFile } from '../lib/index.js';
import type { ConfigProblem } from './types.js';
import { variables } from './variables.js';

/** A variable whose value Kubernetes fills in at run time (`valueFrom`, `envFrom`), so it cannot be checked offline. */
export interface UnresolvedEnv {
  /** The variable, or `envFrom` for a whole ConfigMap or Secret. */
  name: string;
  /** Where the value would come from, e.g. `fieldRef spec.nodeName`. */
  from: string;
}

export interface EnvFile {
  env: Record<string, string>;
  unresolved: UnresolvedEnv[];
  /** `env`: KEY=VALUE lines; `daemonset`: the aws-node container of a DaemonSet manifest. */
  format: 'env' | 'daemonset';
}

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
    const match = envLine.exec(trimmed);
    if (!match) {
      throw new PodnetError('USAGE', `${fileName} line ${i + 1} is not KEY=VALUE: ${JSON.stringify(trimmed.slice(0, 60))}`, 'write one NAME=value per line; # starts a comment');
    }
    const value = match[2]!.trim();
    env[match[1]!] = /^(["']).*\1$/s.test(value) && value.length >= 2 ? value.slice(1, -1) : value;
  });
  return env;
}

const envLine = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=(.*)$/;

/** KEY=VALUE lines or a DaemonSet manifest, told apart by the first line that is neither blank nor a comment. */
export function parseEnvText(text: string, fileName: string): EnvFile {
  const first = text.split(/\r?\n/).map((l) => l.trim()).find((l) => l !== '' && !l.startsWith('#'));
  if (first === undefined || envLine.test(first)) return { env: parseEnvFile(text, fileName), unresolved: [], format: 'env' };
  return parseDaemonSetEnv(text, fileName);
}

const manifestHint = 'pass the aws-node DaemonSet (`kubectl -n kube-system get ds aws-node -o yaml`, or upstream\'s aws-k8s-cni.yaml), or KEY=VALUE lines';

/**
 * The environment of the `aws-node` container of a DaemonSet manifest (YAML, one or more documents, or a `List`):
 * its `env` entries by `name` and `value`. The init container's (`aws-vpc-cni-init`) entries are added for names
 * the aws-node container does not set: upstream's init container reads DISABLE_TCP_EARLY_DEMUX and ENABLE_IPv6
 * from its own env. `valueFrom` and `envFrom` are reported as unresolved: only the kubelet can fill them in.
 */
export function parseDaemonSetEnv(text: string, fileName: string): EnvFile {
  const objects: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    const error = doc.errors[0];
    if (error) throw new PodnetError('USAGE', `${fileName} is neither KEY=VALUE lines nor valid YAML: ${error.message.split('\n')[0]}`, manifestHint);
    const value: unknown = doc.toJS();
    const items = isRecord(value) && value.kind === 'List' && Array.isArray(value.items) ? value.items : [value];
    objects.push(...items);
  }
  const daemonSets = objects.filter((o): o is Record<string, unknown> => isRecord(o) && o.kind === 'DaemonSet');
  const found = daemonSets.flatMap((ds) => {
    const pod = dig(ds, ['spec', 'template', 'spec']);
    const awsNode = containersOf(pod, 'containers').find((c) => c.name === 'aws-node');
    return awsNode ? [{ ds, awsNode, init: containersOf(pod, 'initContainers').find((c) => c.name === 'aws-vpc-cni-init') }] : [];
  });
  if (found.length === 0) {
    throw new PodnetError('USAGE', `${fileName} has no DaemonSet with a container named aws-node (${daemonSets.length} DaemonSet${daemonSets.length === 1 ? '' : 's'} in ${objects.length} document${objects.length === 1 ? '' : 's'})`, manifestHint);
  }
  if (found.length > 1) {
    const names = found.map((f) => String(dig(f.ds, ['metadata', 'name']) ?? '?')).join(', ');
    throw new PodnetError('USAGE', `${fileName} has ${found.length} DaemonSets with an aws-node container (${names})`, 'pass a file with one of them');
  }
  const { awsNode, init } = found[0]!;
  const own = readContainerEnv(awsNode, fileName);
  const env = { ...own.env };
  const unresolved = [...own.unresolved];
  if (init) {
    const fromInit = readContainerEnv(init, fileName);
    for (const [name, value] of Object.entries(fromInit.env)) if (!(name in env)) env[name] = value;
    unresolved.push(...fromInit.unresolved.filter((u) => !(u.name in env) && !unresolved.some((o) => o.name === u.name)));
  }
  return { env, unresolved, format: 'daemonset' };
}

function readContainerEnv(container: Record<string, unknown>, fileName: string): Omit<EnvFile, 'format'> {
  const env: Record<string, string> = {};
  const unresolved: UnresolvedEnv[] = [];
  const where = `${fileName}: container ${String(container.name)}`;
  const entries = container.env ?? [];
  if (!Array.isArray(entries)) throw new PodnetError('USAGE', `${where}: env is not a list`, 'write env as a list of {name, value} entries');
  entries.forEach((entry: unknown, i) => {
    if (!isRecord(entry) || typeof entry.name !== 'string' || entry.name === '') {
      throw new PodnetError('USAGE', `${where}: env entry ${i + 1} has no name`, 'each env entry needs name: and value: (or valueFrom:)');
    }
    const { name, value, valueFrom } = entry;
    if (valueFrom !== undefined) {
      delete env[name];
      unresolved.push({ name, from: describeSource(valueFrom) });
      return;
    }
    // Kubernetes decodes value as a string: a bare `true` or `5` makes the API server refuse the manifest
    if (value !== undefined && value !== null && typeof value !== 'string') {
      throw new PodnetError('USAGE', `${where}: ${name} has the ${typeof value} value ${JSON.stringify(value)}; Kubernetes refuses a value that is not a string`, `quote it: value: "${String(value)}"`);
    }
    env[name] = value ?? ''; // an entry without a value sets the variable to ""
  });
  const envFrom = container.envFrom ?? [];
  if (Array.isArray(envFrom)) for (const source of envFrom) unresolved.push({ name: 'envFrom', from: describeSource(source) });
  return { env, unresolved };
}

/** `fieldRef spec.nodeName`, `configMapKeyRef amazon-vpc-cni/key`, `configMapRef amazon-vpc-cni`… */
function describeSource(source: unknown): string {
  if (!isRecord(source)) return 'valueFrom';
  const [kind, ref] = Object.entries(source).find(([k]) => k !== 'prefix') ?? ['valueFrom', undefined];
  if (!isRecord(ref)) return kind;
  const detail = ref.fieldPath ?? ref.resource ?? (ref.key !== undefined ? `${String(ref.name ?? '')}/${String(ref.key)}` : ref.name);
  return detail === undefined ? kind : `${kind} ${String(detail)}`;
}

function containersOf(pod: unknown, key: 'containers' | 'initContainers'): Array<Record<string, unknown>> {
  const list = isRecord(pod) ? pod[key] : undefined;
  return Array.isArray(list) ? list.filter(isRecord) : [];
}

function dig(value: unknown, path: readonly string[]): unknown {
  return path.reduce<unknown>((v, k) => (isRecord(v) ? v[k] : undefined), value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Reads and parses an env file or DaemonSet manifest; `-` reads standard input. An unreadable file is a usage
 * error (exit 2).
 */
export function readEnvFile(path: string): EnvFile {
  if (path === '-') return parseEnvText(readFileSync(0, 'utf8'), 'standard input');
  return parseEnvText(readUserFile(path, 'env file', 'check the path; the file holds KEY=VALUE lines or the aws-node DaemonSet'), path);
}

/**
 * A warning for each unresolved variable whose value the check looks at: podnet checks the configuration as if it
 * were unset. Variables podnet takes as given (MY_NODE_NAME from `fieldRef spec.nodeName` in every real manifest)
 * and names podnet does not read get none: not knowing them hides nothing. `envFrom` may hold any variable.
 */
export function unresolvedProblems(unresolved: readonly UnresolvedEnv[]): ConfigProblem[] {
  const checked = (name: string) => variables.some((v) => v.name === name && !v.unchecked);
  return unresolved.flatMap((u): ConfigProblem[] => {
    if (u.name === 'envFrom') {
      return [{ variable: 'envFrom', severity: 'warning', rule: 'value-from-unresolved', message: `the aws-node container takes variables from ${u.from}, which cannot be read offline; they are not checked`, fix: 'to check them, give their values with --env-file in KEY=VALUE form, or in the manifest as env entries with value:' }];
    }
    if (!checked(u.name)) return [];
    return [{ variable: u.name, severity: 'warning', rule: 'value-from-unresolved', message: `set with valueFrom (${u.from}), which only the kubelet resolves; not resolvable offline, so it is checked as unset`, fix: `to check a value, give it with --env-file in KEY=VALUE form (${u.name}=VALUE), or in the manifest as value:` }];
  });
}
