import { Option, type Command } from 'commander';
import type { ExplainProtocol, World } from '../explain/index.js';
import { usageError } from '../lib/index.js';
import { port, stateDirOption } from './lab.js';
import { printJson } from './output.js';

interface ExplainOptions {
  port?: number;
  proto: ExplainProtocol;
  json?: boolean;
  stateDir: string;
  scenario?: string;
  aws?: boolean;
  region?: string;
  endpointUrl?: string;
  nodeConfig?: string;
  cluster?: string;
}

export function registerExplain(program: Command): void {
  program
    .command('explain')
    .description('what address FROM\'s traffic to TO carries, whether it arrives, and why: each hop of the packet and of its reply, with the rule it matched')
    .argument('<from>', 'a lab (or --scenario) name: pod, node, host, internet or on-premises host; an address; with --aws an instance id or Name tag')
    .argument('<to>', 'the same kinds of name, or an address')
    .option('--port <port>', 'destination port for tcp and udp (default in a lab: its echo service\'s)', port)
    .addOption(new Option('--proto <proto>', 'protocol').choices(['tcp', 'udp', 'icmp']).default('tcp', 'tcp'))
    .option('--json', 'print the explanation as JSON (verdict, sourceSeen, forward, return, codes: see docs/explain.md)')
    .addOption(stateDirOption())
    .option('--scenario <file>', 'explain a lab scenario file with no lab: its VPC built in process, pod addresses from a simulation of each node\'s ipamd')
    .option('--aws', 'explain a real account: read-only describe calls through the AWS SDK (credentials and region as the SDK finds them; IAM policy in docs/iam-policy.md)')
    .option('--region <region>', 'with --aws: the region (default: the SDK\'s, e.g. AWS_REGION)')
    .option('--endpoint-url <url>', 'with --aws: another EC2 endpoint, e.g. podnet\'s emulator')
    .option('--node-config <file>', 'with --aws: the nodes\' settings, KEY=VALUE lines or the aws-node DaemonSet manifest (as podnet config --env-file reads them)')
    .option('--cluster <name>', 'with --aws: the EKS cluster whose instances are the nodes (by their eks:cluster-name or kubernetes.io/cluster/<name> tag)')
    .action(async (from: string, to: string, opts: ExplainOptions) => {
      if (opts.proto === 'icmp' && opts.port !== undefined) throw usageError('--port applies to tcp and udp, not icmp', 'drop --port, or pick --proto tcp or udp');
      const { world, defaultPort } = await explainSource(opts);
      const { explainFlow, formatExplanation } = await import('../explain/index.js');
      const explanation = explainFlow(world, { from, to, protocol: opts.proto, ...(opts.proto === 'icmp' ? {} : { port: opts.port ?? defaultPort }) });
      if (opts.json) return printJson(explanation);
      process.stdout.write(formatExplanation(explanation).replace(/\n?$/, '\n'));
    });
}

/** The world the question is asked of: a scenario file (offline), an AWS account, or the running lab. */
async function explainSource(opts: ExplainOptions): Promise<{ world: World; defaultPort?: number }> {
  const awsOnly = (['region', 'endpointUrl', 'nodeConfig', 'cluster'] as const).filter((k) => opts[k] !== undefined);
  if (opts.scenario !== undefined && opts.aws) throw usageError('--scenario and --aws ask two different worlds', 'pick one: a scenario file, or the account --aws reads');
  if (!opts.aws && awsOnly.length > 0) throw usageError(`--${awsOnly.map((k) => k.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)).join(', --')} go with --aws`, 'add --aws, or drop them');
  if (opts.scenario !== undefined) {
    const { scenarioExplainSource } = await import('../lab/index.js');
    return scenarioExplainSource(opts.scenario);
  }
  if (opts.aws) {
    if (opts.nodeConfig === undefined) throw usageError('--aws needs --node-config FILE: the settings the nodes\' ipamd runs with', 'pass the aws-node DaemonSet (kubectl -n kube-system get ds aws-node -o yaml > aws-node.yaml) or KEY=VALUE lines');
    if (opts.proto !== 'icmp' && opts.port === undefined) throw usageError(`--aws has no default port: give --port for ${opts.proto}`, 'e.g. --port 443, or --proto icmp');
    const { awsExplainSource } = await import('../ec2/index.js');
    return awsExplainSource({ nodeConfig: opts.nodeConfig, ...(opts.region ? { region: opts.region } : {}), ...(opts.endpointUrl ? { endpointUrl: opts.endpointUrl } : {}), ...(opts.cluster ? { cluster: opts.cluster } : {}) });
  }
  const { labExplainSource } = await import('../lab/index.js');
  return labExplainSource(opts.stateDir);
}
