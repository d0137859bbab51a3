import { Command, CommanderError } from 'commander';
import { PodnetError, useResolvConf } from '../lib/index.js';
import { registerCni } from './cni.js';
import { registerConfig } from './config.js';
import { registerDemo } from './demo.js';
import { registerEc2 } from './ec2.js';
import { registerExplain } from './explain.js';
import { registerInit } from './init.js';
import { registerIpamd } from './ipamd.js';
import { registerK8s } from './k8s.js';
import { registerLab } from './lab.js';
import { registerMaxPods } from './max-pods.js';
import { registerPool } from './pool.js';
import { registerSgpController } from './sgp-controller.js';

/** Builds the command tree; each command group lives in its own file and only wires options to a module. */
export function buildProgram(): Command {
  const program = new Command('podnet')
    .description('VPC-native pod networking for Kubernetes: the Amazon VPC CNI, on AWS or on an emulated VPC')
    .version(process.env.npm_package_version ?? '0.1.0')
    .showSuggestionAfterError(true)
    .exitOverride()
    // errors are printed once, by reportError, as error:/hint: (or JSON); help a usage error asks for (a group run
    // without a subcommand) still goes to stderr
    .configureOutput({ outputError: () => {} });
  for (const register of commandGroups) register(program);
  return program;
}

/**
 * Every command group registers itself here; see src/cli/<group>.ts. Registering only declares names, options and
 * help: each action loads its module with `await import()`, so one command never pays for another's (the AWS SDK,
 * zod, the emulator, the lab) and `podnet --version` loads none of them.
 */
const commandGroups: ReadonlyArray<(program: Command) => void> = [registerMaxPods, registerConfig, registerEc2, registerCni, registerInit, registerPool, registerIpamd, registerLab, registerDemo, registerExplain, registerK8s, registerSgpController];

export async function main(argv: readonly string[]): Promise<void> {
  // On Node 20 the AWS SDK prints a 9-line NodeVersionSupportWarning (its releases after January 2027 need Node 22)
  // on every command that loads it. podnet runs on Node ≥ 20 with the SDK it ships, so the notice is not the user's
  // to act on; the SDK's documented switch (aws/aws-sdk-js-v3#7983) turns off that notice alone, where
  // NODE_NO_WARNINGS would hide every warning. Processes podnet starts run main too; a value the user set is kept.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const json = jsonRequested(argv.slice(2));
  // A reader that stops early (`podnet max-pods --all --json | head`) closes the pipe: the output ends, no stack trace.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(0);
    process.exitCode = reportError(err, { json });
  });
  try {
    // before anything connects: every hostname this process looks up then goes to that file's nameservers (the lab's
    // VPC DNS for its kubelets and containers), never to the host's resolver
    if (process.env.PODNET_RESOLV_CONF) useResolvConf(process.env.PODNET_RESOLV_CONF);
    await buildProgram().parseAsync([...argv]);
  } catch (err) {
    process.exitCode = reportError(err, { json });
  }
}

/**
 * Whether the command line asks for JSON: `--json` among the arguments before a `--`. Read from argv rather than
 * from commander's parse, because a usage error stops the parse before any option is known.
 */
export function jsonRequested(args: readonly string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).includes('--json');
}

/**
 * What a script reads on stderr under --json: the same message and hint as the text form, and a stable code — the
 * PodnetError's code, USAGE for every usage error commander raises, INTERNAL for a bug.
 */
export interface JsonError {
  error: string;
  hint: string | null;
  code: string;
}

/**
 * Prints the error (never a stack trace) and returns the exit status: `error:` and `hint:` lines, or with `json`
 * one JSON object ({@link JsonError}) on one line. The exit status is the same either way.
 */
export function reportError(err: unknown, options: { json?: boolean } = {}): number {
  const write = (e: JsonError) =>
    process.stderr.write(options.json ? JSON.stringify(e) + '\n' : `error: ${e.error}\n${e.hint !== null ? `hint: ${e.hint}\n` : ''}`);
  if (err instanceof CommanderError) {
    if (err.exitCode === 0) return 0; // --help, --version
    // a command group without a subcommand: its help is on stderr (groups have no --json: with it, commander
    // reports an unknown option instead)
    if (err.code === 'commander.help') return 2;
    // commander appends "(Did you mean serve?)" to the message; it reads better as the hint
    const [, message = err.message, suggestion] = /^(?:error: )?([\s\S]*?)(?:\n\(Did you mean (.+)\?\))?$/.exec(err.message) ?? [];
    const hint = suggestion ? `did you mean ${suggestion}?` : "run 'podnet help' or add --help to the command to see its usage";
    write({ error: message, hint, code: 'USAGE' });
    return 2;
  }
  if (err instanceof PodnetError) {
    write({ error: err.message, hint: err.hint || null, code: err.code });
    return err.exitStatus;
  }
  const message = err instanceof Error ? err.message : String(err);
  write({ error: message, hint: 'this is a bug in podnet; please report it with the command you ran', code: 'INTERNAL' });
  return 1;
}
