import { nearestNames } from '../lib/index.js';
import type { ConfigProblem, LoadedConfig, NodeOs, PodnetConfig, Setting, SettingSource, TypoWarning } from './types.js';
import { notOnWindows, overrideNotes, poolOscillation, unimplemented } from './caveats.js';
import { parseGoBool } from './values.js';
import { deprecatedVariables, type ParseContext, variables } from './variables.js';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * The one way podnet reads its settings: pure, from an environment-like map. Yields upstream's effective values
 * (including its silent fallbacks), every problem with a severity (see Severity in types.ts), and probable typos.
 * `source` labels where the values came from ('file' for `podnet config --env-file`); `os: 'windows'` adds what
 * does not apply to a Windows node (the variables are aws-node's, which runs on Linux nodes only).
 */
export function loadConfig(env: Env, opts: { source?: Exclude<SettingSource, 'default'>; os?: NodeOs } = {}): LoadedConfig {
  const source = opts.source ?? 'env';
  const partial: Partial<PodnetConfig> = {};
  const problems: ConfigProblem[] = [];
  const settings: Setting[] = [];
  const texts = new Map<string, string>();

  for (const def of variables) {
    const raw = env[def.name];
    const text = raw === undefined || (raw === '' && !def.emptyIsValue) ? undefined : raw;
    if (text !== undefined) texts.set(def.name, text);
    const notes: string[] = [];
    const report = (severity: ConfigProblem['severity']) => (rule: string, message: string, fix: string) =>
      problems.push({ variable: def.name, severity, rule, message, fix });
    const ctx: ParseContext = { error: report('error'), warn: report('warning'), note: (n) => notes.push(n), earlier: partial };
    const firstProblem = problems.length;
    const value = def.parse(text, ctx);
    (partial as Record<string, unknown>)[def.field] = value;
    // a warning means aws-node starts anyway: say with which value (podnet runs with the same one)
    for (const p of problems.slice(firstProblem)) if (p.severity === 'warning') p.used = formatValue(def.field, value);
    if (raw === '' && text === undefined) notes.push('set but empty: treated as unset');
    if (def.codeDefault !== undefined) notes.push(`upstream code default ${show(def.codeDefault)}; the manifest sets ${show(def.default ?? '')}`);
    if (def.podnetOnly) notes.push('podnet-only');
    settings.push({
      name: def.name,
      value: formatValue(def.field, value),
      source: text === undefined ? 'default' : source,
      ...(text === undefined ? {} : { raw: text }),
      default: def.default,
      ...(def.codeDefault === undefined ? {} : { codeDefault: def.codeDefault }),
      ...(def.manifestDefault === undefined ? {} : { manifestDefault: def.manifestDefault }),
      notes,
      podnetOnly: def.podnetOnly ?? false,
      readBy: [...def.readBy],
      description: def.description,
    });
  }
  const config = partial as PodnetConfig;

  const cross = crossProblems(config, texts);
  problems.push(...cross, ...unimplemented(config, texts), ...poolOscillation(config, texts));
  // the both-off error already says that ENABLE_IPv4's text is not a boolean and which value ipamd uses instead
  if (cross.some((p) => p.rule === 'ipv4-and-ipv6-both-off')) dropProblem(problems, 'ENABLE_IPv4', 'malformed-bool');
  const windows = opts.os === 'windows' ? notOnWindows(config, texts) : [];
  problems.push(...windows);
  // a variable that does not apply to a Windows node is said to once: how it combines with other Linux settings
  // ("has no effect: EXTERNALSNAT=true") is beside the point there
  const notForWindows = new Set(windows.map((p) => p.variable));
  for (const [name, note] of overrideNotes(config)) settings.find((s) => s.name === name)?.notes.push(note);
  for (const def of variables) {
    const text = texts.get(def.name);
    // a value equal to podnet's or upstream's default is not a choice the user made, so it is never "ignored"
    const chosen = text !== undefined && text !== def.default && text !== def.codeDefault && !notForWindows.has(def.name);
    const why = chosen ? def.ignoredWhen?.(config) : undefined;
    if (why) problems.push({ variable: def.name, severity: 'warning', rule: 'ignored-setting', message: `"${text}" has no effect: ${why}`, fix: `unset ${def.name}, or change the settings it depends on` });
  }
  for (const dep of deprecatedVariables) {
    if (env[dep.name] !== undefined) {
      problems.push({ variable: dep.name, severity: 'warning', rule: 'deprecated', message: `${dep.name} is deprecated and ignored: ${dep.why}`, fix: `remove ${dep.name}` });
    }
  }
  return { config, settings, problems, unknown: findTypos(Object.keys(env)) };
}

/**
 * A problem as one line for people and logs: `VARIABLE: message (using VALUE) — fix`. The `(using VALUE)` part is
 * left out when the message already says what upstream runs with ("upstream silently uses 0x80", "logs at DEBUG").
 */
export function describeProblem(p: ConfigProblem): string {
  const saysFallback = /\b(?:uses|logs at) /.test(p.message);
  return `${p.variable}: ${p.message}${p.used === undefined || saysFallback ? '' : ` (using ${show(p.used)})`} — ${p.fix}`;
}

function dropProblem(problems: ConfigProblem[], variable: string, rule: string): void {
  const i = problems.findIndex((p) => p.variable === variable && p.rule === rule);
  if (i >= 0) problems.splice(i, 1);
}

function show(text: string): string {
  return text === '' ? '""' : text;
}

function formatValue(field: keyof PodnetConfig, value: unknown): string {
  if (field === 'connmark' && typeof value === 'number') return `0x${value.toString(16)}`;
  if (Array.isArray(value)) return value.join(',');
  if (typeof value === 'object' && value !== null) return JSON.stringify(value);
  return String(value);
}

/** Rules that involve more than one variable: ipamd isConfigValid and the entrypoint's validateEnvVars (spec §1). */
function crossProblems(c: PodnetConfig, texts: ReadonlyMap<string, string>): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const error = (variable: string, rule: string, message: string, fix: string) => out.push({ variable, severity: 'error', rule, message, fix });

  // ipamd isConfigValid (spec §1)
  if (c.enableIPv4 && c.enableIPv6) {
    error('ENABLE_IPv6', 'ipv4-and-ipv6-both-on', 'ENABLE_IPv4 and ENABLE_IPv6 are both true; ipamd supports one family per cluster and fails to start', 'set ENABLE_IPv4=false for an IPv6 cluster, or ENABLE_IPv6=false for IPv4');
  }
  if (!c.enableIPv4 && !c.enableIPv6) {
    const v4 = texts.get('ENABLE_IPv4');
    error('ENABLE_IPv4', 'ipv4-and-ipv6-both-off', `ENABLE_IPv4 and ENABLE_IPv6 are both false${v4 !== undefined && parseGoBool(v4) === undefined ? ` (ENABLE_IPv4=${show(v4)} is not a boolean, so ipamd uses its code default false)` : ''}; ipamd fails to start ("IPv4 and IPv6 are both disabled")`, 'set ENABLE_IPv4=true (upstream\'s code default is false, the manifest sets true)');
  }
  if (c.enableIPv6 && !c.enablePrefixDelegation) {
    error('ENABLE_IPv6', 'ipv6-needs-prefix-delegation', 'IPv6 needs prefix delegation; ipamd fails to start', 'set ENABLE_PREFIX_DELEGATION=true');
  }
  if (c.enableIPv6 && c.customNetworkCfg) {
    error('AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG', 'ipv6-with-custom-networking', 'custom networking is not supported with IPv6; ipamd fails to start', 'set AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=false');
  }

  // entrypoint validateEnvVars: with PD on, at least one target must compare greater than "0" *as a string*,
  // so "+5" is refused and "00" or "abc" pass (spec §1).
  if (c.enablePrefixDelegation) {
    const targets = ['WARM_IP_TARGET', 'WARM_PREFIX_TARGET', 'MINIMUM_IP_TARGET'].map((name) => {
      const def = variables.find((v) => v.name === name);
      return { name, text: texts.get(name) ?? def?.default ?? '0' };
    });
    if (targets.every((t) => t.text <= '0')) {
      const quirk = targets.some((t) => /^\+\d*[1-9]/.test(t.text)) ? ' (a leading + sorts before "0", so "+N" counts as no target)' : '';
      error('ENABLE_PREFIX_DELEGATION', 'prefix-delegation-needs-target',
        `prefix delegation is on but ${targets.map((t) => `${t.name}=${show(t.text)}`).join(', ')} are all <= "0" as strings${quirk}; the entrypoint exits 1 ("Setting WARM_PREFIX_TARGET = 0 is not supported while WARM_IP_TARGET/MINIMUM_IP_TARGET is not set") and aws-node never starts`,
        'set WARM_PREFIX_TARGET=1 (or WARM_IP_TARGET / MINIMUM_IP_TARGET to a number > 0)');
    }
  }

  // entrypoint validateEnvVars: MTU range depends on the family (spec §1, §3.8)
  const [low, high] = c.enableIPv6 ? [1280, 9001] : [576, 9001];
  for (const [name, mtu] of [['AWS_VPC_ENI_MTU', c.eniMtu], ['POD_MTU', c.podMtu]] as const) {
    if (texts.has(name) && (mtu < low || mtu > high)) {
      error(name, 'mtu-out-of-range', `${mtu} is outside ${low}..${high} (IPv${c.enableIPv6 ? 6 : 4}); the entrypoint refuses to start`, `set ${name} between ${low} and ${high}, e.g. 9001 (or 1500 without jumbo frames)`);
    }
  }

  // MINIMUM_IP_TARGET alone: short = max(0 - avail, MIN - total) is 0 once total >= MIN (spec §1, §4.5)
  if (c.minimumIpTarget > 0 && c.warmIpTarget === 0 && !c.enableIPv6) {
    out.push({
      variable: 'MINIMUM_IP_TARGET', severity: 'warning', rule: 'minimum-ip-target-without-warm-ip-target',
      message: `MINIMUM_IP_TARGET=${c.minimumIpTarget} without WARM_IP_TARGET: the pool never grows past ${c.minimumIpTarget} addresses, so pods beyond that get no IP`,
      fix: 'also set WARM_IP_TARGET (e.g. 2) so the pool keeps growing as pods arrive',
    });
  }
  return out;
}

/** Name prefixes that are certainly ours: an unknown name with one is always reported. */
const ownPrefixes = ['AWS_VPC_', 'WARM_', 'MINIMUM_', 'PODNET_'];
/** Prefixes shared with other software: an unknown name with one is reported only when a known name is close. */
const sharedPrefixes = ['ENABLE_', 'DISABLE_', 'POD_', 'ENI_', 'IP_', 'MAX_', 'NETWORK_POLICY', 'AWS_MANAGE_', 'AWS_EXTERNAL_', 'AWS_EC2_ENDPOINT', 'ADDITIONAL_', 'ANNOTATE_', 'MANAGE_', 'INTROSPECTION_', 'CLUSTER_', 'HTTP_TIMEOUT', 'HOST_CNI_'];

const knownNames: readonly string[] = [...variables.map((v) => v.name), ...deprecatedVariables.map((d) => d.name)];
const knownSet = new Set(knownNames);

/** Unknown names that look like ours, with the nearest known names (case-insensitive: ENABLE_IPV6 → ENABLE_IPv6). */
export function findTypos(names: Iterable<string>): TypoWarning[] {
  const out: TypoWarning[] = [];
  for (const name of [...names].sort()) {
    if (knownSet.has(name)) continue;
    const upper = name.toUpperCase();
    const own = ownPrefixes.some((p) => upper.startsWith(p));
    if (!own && !sharedPrefixes.some((p) => upper.startsWith(p))) continue;
    const suggestions = nearestNames(name, knownNames, 3, Math.max(2, Math.floor(name.length / 4)));
    const best = suggestions[0];
    if (best === undefined && !own) continue;
    out.push(best === undefined
      ? { variable: name, suggestions, message: 'not a variable podnet or the VPC CNI reads', fix: "remove it, or see 'podnet config' for the known names" }
      : {
          variable: name, suggestions,
          message: best.toUpperCase() === upper
            ? `not read: names are case-sensitive; probable typo of ${best}`
            : `not a known variable; probable typo of ${best}`,
          fix: `rename it to ${best}`,
        });
  }
  return out;
}
