import { constants as osConstants } from 'node:os';
import { dirname } from 'node:path';
import type { Command } from 'commander';
import type { Log } from '../ipamd/index.js';
import { PodnetError, ensureDirectory } from '../lib/index.js';

export function registerIpamd(program: Command): void {
  program
    .command('ipamd')
    .description('run the node IP address manager in the foreground (configured by the VPC CNI env vars; SIGTERM/SIGINT stop it)')
    .action(async () => {
      // the daemon's modules (AWS SDK, Kubernetes client) load after the settings and the log file are known good, so
      // a refusal answers at once
      const { loadConfig, describeProblem } = await import('../config/index.js');
      const env = process.env;
      const loaded = loadConfig(env);
      const errors = loaded.problems.filter((p) => p.severity === 'error');
      if (errors.length > 0) {
        throw new PodnetError('CONFIG_INVALID', `ipamd refuses to start: ${errors.map((p) => `${p.variable}: ${p.message}`).join('; ')}`, 'fix the settings named above; `podnet config` lists every problem with its fix');
      }
      // upstream's default log file only exists in the aws-node pod, so an unset variable means stderr here
      const logFileSet = loaded.settings.some((s) => s.name === 'AWS_VPC_K8S_CNI_LOG_FILE' && s.source !== 'default');
      const log = await openLog(loaded.config.logLevel, logFileSet ? loaded.config.logFile : undefined);
      // aws-node starts on these, so podnet does too, with the value upstream would use (`using …` in each line)
      for (const p of loaded.problems.filter((x) => x.severity === 'warning')) log('warn', describeProblem(p));
      for (const t of loaded.unknown) log('warn', `${t.variable}: ${t.message} — ${t.fix}`);

      // The handlers are in place before start-up: without a listener Node takes the signal's default action at
      // once, so a SIGTERM right after "listening" would kill ipamd without its shutdown. During start-up a signal
      // ends the process as that default would (a restart cleans up after it, as after kill -9).
      let stopSignal: ((signal: NodeJS.Signals) => void) | undefined;
      const onSignal = (signal: NodeJS.Signals) => {
        if (stopSignal) return stopSignal(signal);
        log('info', `${signal} during start-up: exiting`);
        process.exit(128 + osConstants.signals[signal]);
      };
      process.once('SIGTERM', onSignal);
      process.once('SIGINT', onSignal);
      const { startIpamd } = await import('../ipamd/index.js');
      const ipamd = await startIpamd({ env, config: loaded.config, log });
      const signal = await new Promise<NodeJS.Signals>((resolve) => { stopSignal = resolve; });
      log('info', `${signal}: stopping (no more ENI or address changes; closing the socket; writing the checkpoint)`);
      await ipamd.stop().catch((err: unknown) => log('error', `shutdown: ${err instanceof Error ? err.message : String(err)}`));
      log('info', 'stopped');
    });
}

/**
 * Log lines as JSON (pino) on stderr, or in AWS_VPC_K8S_CNI_LOG_FILE when that variable is set (upstream's default
 * file under /host/var/log only exists in the aws-node pod, so an unset variable means stderr here).
 * Writes are synchronous so a kill -9 loses no line.
 */
async function openLog(level: string, file: string | undefined): Promise<Log> {
  const { pino } = await import('pino');
  const dest = !file || file === 'stderr' ? 2 : file === 'stdout' ? 1 : file;
  // upstream creates the log's directory; podnet only its last component (pino's recursive mkdir spins under /proc)
  if (typeof dest === 'string') ensureDirectory(dirname(dest), 'the directory of AWS_VPC_K8S_CNI_LOG_FILE');
  const logger = pino(
    { level: ({ DEBUG: 'debug', INFO: 'info', WARN: 'warn', ERROR: 'error', FATAL: 'fatal' } as Record<string, string>)[level.toUpperCase()] ?? 'debug', base: undefined, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest, sync: true }),
  );
  return (lvl, message) => logger[lvl](message);
}
