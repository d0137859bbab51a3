import type { Command } from 'commander';
import type { ConfigProblem, NodeOs, TypoWarning } from '../config/index.js';
import { PodnetError } from '../lib/index.js';
import { formatTable, printJson } from './output.js';
import { osOption } from './parse.js';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('show the effective VPC CNI configuration and every invalid or conflicting setting')
    .option('--env-file <file>', 'read KEY=VALUE lines, or the aws-node DaemonSet manifest (YAML), from FILE (- for standard input) instead of the process environment (only the file is read)')
    .addOption(osOption("the node's OS: on windows, also say which settings do not apply there"))
    .option('--problems', 'print only the findings (problems and probable typos), not every variable; same exit status')
    .option('--json', 'print {valid, config, settings, problems, typos} as JSON ({valid, problems, typos} with --problems)')
    .action(async (opts: { envFile?: string; os: NodeOs; problems?: boolean; json?: boolean }) => {
      const { loadConfig, readEnvFile, unresolvedProblems, describeProblem } = await import('../config/index.js');
      const file = opts.envFile === undefined ? undefined : readEnvFile(opts.envFile);
      const loaded = loadConfig(file?.env ?? process.env, { source: file ? 'file' : 'env', os: opts.os });
      const { config, settings, unknown } = loaded;
      // every unresolved variable is said beside its row, checked or not (only checked ones are also warnings)
      for (const u of file?.unresolved ?? []) settings.find((s) => s.name === u.name)?.notes.push(`valueFrom ${u.from}: filled in by the kubelet, shown as unset`);
      const problems = [...unresolvedProblems(file?.unresolved ?? []), ...loaded.problems];
      const errors = problems.filter((p) => p.severity === 'error').length;
      if (opts.json) {
        printJson(opts.problems ? { valid: errors === 0, problems, typos: unknown } : { valid: errors === 0, config, settings, problems, typos: unknown });
      } else {
        if (!opts.problems) {
          const rows = settings.map((s) => [s.name, s.value === '' ? '""' : s.value, s.source, s.notes.join('; ')]);
          process.stdout.write(formatTable(['VARIABLE', 'VALUE', 'SOURCE', 'NOTE'], rows) + '\n');
        }
        process.stdout.write(renderFindings(problems, unknown, describeProblem));
      }
      if (errors > 0) {
        throw new PodnetError('CONFIG_INVALID', `${errors} setting${errors === 1 ? '' : 's'} would stop aws-node from starting or ${errors === 1 ? 'is' : 'are'} not implemented yet in podnet`, 'fix each `error` line above; `warning` lines do not change the exit status');
      }
    });
}

function renderFindings(problems: readonly ConfigProblem[], typos: readonly TypoWarning[], describeProblem: (p: ConfigProblem) => string): string {
  const ordered = [...problems].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  const typoLines = typos.map((t) => `warning  ${t.variable}: ${t.message} — ${t.fix}`);
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors + typos.length;
  const counts = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  return [
    ...(ordered.length ? ['problems:', ...ordered.map((p) => `${p.severity.padEnd(7)}  ${describeProblem(p)}`), ''] : []),
    ...(typoLines.length ? ['probable typos (not read):', ...typoLines, ''] : []),
    errors > 0 ? `configuration invalid: ${counts}` : `configuration valid: ${counts}`,
    '',
  ].join('\n');
}
