import type { Command } from 'commander';
import type { ConfigProblem, TypoWarning } from '../config/index.js';
import { PodnetError } from '../lib/index.js';
import { formatTable, printJson } from './output.js';

export function registerConfig(program: Command): void {
  program
    .command('config')
    .description('show the effective VPC CNI configuration and every invalid or conflicting setting')
    .option('--env-file <file>', 'read KEY=VALUE lines from FILE instead of the process environment (only the file is read)')
    .option('--json', 'print {valid, config, settings, problems, typos} as JSON')
    .action(async (opts: { envFile?: string; json?: boolean }) => {
      const { loadConfig, readEnvFile } = await import('../config/index.js');
      const env = opts.envFile === undefined ? process.env : readEnvFile(opts.envFile);
      const { config, settings, problems, unknown } = loadConfig(env, { source: opts.envFile === undefined ? 'env' : 'file' });
      const errors = problems.filter((p) => p.severity === 'error').length;
      if (opts.json) {
        printJson({ valid: errors === 0, config, settings, problems, typos: unknown });
      } else {
        const rows = settings.map((s) => [s.name, s.value === '' ? '""' : s.value, s.source, s.notes.join('; ')]);
        process.stdout.write(formatTable(['VARIABLE', 'VALUE', 'SOURCE', 'NOTE'], rows));
        process.stdout.write(renderFindings(problems, unknown));
      }
      if (errors > 0) {
        throw new PodnetError('CONFIG_INVALID', `${errors} setting${errors === 1 ? '' : 's'} would stop aws-node from starting or ${errors === 1 ? 'is' : 'are'} malformed`, 'fix each `error` line above; `warning` lines do not change the exit status');
      }
    });
}

function renderFindings(problems: readonly ConfigProblem[], typos: readonly TypoWarning[]): string {
  const ordered = [...problems].sort((a, b) => (a.severity === b.severity ? 0 : a.severity === 'error' ? -1 : 1));
  const lines = ordered.map((p) => `${p.severity.padEnd(7)}  ${p.variable}: ${p.message} — ${p.fix}`);
  const typoLines = typos.map((t) => `warning  ${t.variable}: ${t.message} — ${t.fix}`);
  const errors = problems.filter((p) => p.severity === 'error').length;
  const warnings = problems.length - errors + typos.length;
  const counts = `${errors} error${errors === 1 ? '' : 's'}, ${warnings} warning${warnings === 1 ? '' : 's'}`;
  return [
    '',
    ...(lines.length ? ['problems:', ...lines, ''] : []),
    ...(typoLines.length ? ['probable typos (not read):', ...typoLines, ''] : []),
    errors > 0 ? `configuration invalid: ${counts}` : `configuration valid: ${counts}`,
    '',
  ].join('\n');
}
