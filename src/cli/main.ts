import { Command, CommanderError } from 'commander';
import { PodnetError } from '../lib/index.js';
import { registerCni } from './cni.js';
import { registerConfig } from './config.js';
import { registerDemo } from './demo.js';
import { registerEc2 } from './ec2.js';
import { registerIpamd } from './ipamd.js';
import { registerLab } from './lab.js';
import { registerMaxPods } from './max-pods.js';
import { registerPool } from './pool.js';

/** Builds the command tree; each command group lives in its own file and only wires options to a module. */
export function buildProgram(): Command {
  const program = new Command('podnet')
    .description('VPC-native pod networking for Kubernetes: the Amazon VPC CNI, on AWS or on an emulated VPC')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showSuggestionAfterError(true)
    .exitOverride()
    // errors are printed once, by reportError, as error:/hint:; help a usage error asks for (a group run without a
    // subcommand) still goes to stderr
    .configureOutput({ outputError: () => {} });
  for (const register of commandGroups) register(program);
  return program;
}

/**
 * Every command group registers itself here; see src/cli/<group>.ts. Registering only declares names, options and
 * help: each action loads its module with `await import()`, so one command never pays for another's (the AWS SDK,
 * zod, the emulator, the lab) and `podnet --version` loads none of them.
 */
const commandGroups: ReadonlyArray<(program: Command) => void> = [registerMaxPods, registerConfig, registerEc2, registerCni, registerPool, registerIpamd, registerLab, registerDemo];

export async function main(argv: readonly string[]): Promise<void> {
  // A reader that stops early (`podnet max-pods --all --json | head`) closes the pipe: the output ends, no stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    process.exitCode = reportError(err);
  });
  try {
    await buildProgram().parseAsync([...argv]);
  } catch (err) {
    process.exitCode = reportError(err);
  }
}

/** Prints `error:` and `hint:` lines (never a stack trace) and returns the exit status. */
export function reportError(err: unknown): number {
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return 0; // --help, --version
    if (err.code === 'commander.help') return 2; // a command group without a subcommand: its help is on stderr
    // commander appends "(Did you mean serve?)" to the message; it reads better as the hint
    const [, message = err.message, suggestion] = /^(?:error: )?([\s\S]*?)(?:\n\(Did you mean (.+)\?\))?$/.exec(err.message) ?? [];
    const hint = suggestion ? `did you mean ${suggestion}?` : "run 'podnet help' or add --help to the command to see its usage";
    process.stderr.write(`error: ${message}\nhint: ${hint}\n`);
    return 2;
  }
  if (err instanceof PodnetError) {
    process.stderr.write(`error: ${err.message}\n${err.hint ? `hint: ${err.hint}\n` : ''}`);
    return err.exitStatus;
  }
  const message = err instanceof Error ? err.message : String(err);
  process.stderr.write(`error: ${message}\nhint: this is a bug in podnet; please report it with the command you ran\n`);
  return 1;
}
