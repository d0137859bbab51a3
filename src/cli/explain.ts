import { Option, type Command } from 'commander';
import type { ExplainProtocol } from '../explain/index.js';
import { usageError } from '../lib/index.js';
import { port, stateDirOption } from './lab.js';
import { printJson } from './output.js';

interface ExplainOptions {
  port?: number;
  proto: ExplainProtocol;
  json?: boolean;
  stateDir: string;
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('what address FROM\'s traffic to TO carries, whether it arrives, and why: each hop of the packet and of its reply, with the rule it matched')
    .argument('<from>', 'a lab name (pod, node, host, internet or on-premises host) or an address')
    .argument('<to>', 'a lab name or an address')
    .option('--port <port>', 'destination port for tcp and udp (default in a lab: its echo service\'s)', port)
    .addOption(new Option('--proto <proto>', 'protocol').choices(['tcp', 'udp', 'icmp']).default('tcp', 'tcp'))
    .option('--json', 'print the explanation as JSON (verdict, sourceSeen, forward, return, codes: see docs/explain.md)')
    .addOption(stateDirOption())
    .action(async (from: string, to: string, opts: ExplainOptions) => {
      if (opts.proto === 'icmp' && opts.port !== undefined) throw usageError('--port applies to tcp and udp, not icmp', 'drop --port, or pick --proto tcp or udp');
      // the world the question is asked of: the running lab
      const { labExplainSource } = await import('../lab/index.js');
      const { world, defaultPort } = await labExplainSource(opts.stateDir);
      const { explainFlow, formatExplanation } = await import('../explain/index.js');
      const explanation = explainFlow(world, { from, to, protocol: opts.proto, ...(opts.proto === 'icmp' ? {} : { port: opts.port ?? defaultPort }) });
      if (opts.json) return printJson(explanation);
      process.stdout.write(formatExplanation(explanation).replace(/\n?$/, '\n'));
    });
}
