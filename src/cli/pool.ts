import type { Command } from 'commander';
import type { StartSimulatedCloud } from '../ipamd/index.js';
import { nearestNames, usageError } from '../lib/index.js';
import { formatTable, printJson } from './output.js';
import { nonNegativeInt, positiveInt } from './parse.js';

interface SimulateFlags {
  pods: number;
  env: string[];
  maxPods?: number;
  json?: boolean;
}

/** The simulation's EC2: src/ec2's emulator on loopback, on the simulation's fake clock, throttling off. */
const startEmulator: StartSimulatedCloud = async (nowMs) => {
  const { startEc2Server } = await import('../ec2/index.js');
  return startEc2Server({ listen: { host: '127.0.0.1', port: 0 }, imdsListen: { host: '127.0.0.1', port: 0 }, throttle: false, nowMs });
};

/** `--env KEY=VALUE`, repeatable; a name that is not an upstream or PODNET_* setting is a usage error. */
async function parseEnvFlags(items: readonly string[]): Promise<Record<string, string>> {
  const { variables } = await import('../config/index.js');
  const knownNames = variables.map((v) => v.name);
  const env: Record<string, string> = {};
  for (const item of items) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw usageError(`--env expects KEY=VALUE, got '${item}'`, 'e.g. --env WARM_IP_TARGET=2 --env MINIMUM_IP_TARGET=5');
    const name = item.slice(0, eq);
    if (!knownNames.includes(name)) {
      const near = nearestNames(name, knownNames);
      throw usageError(`--env ${name}: not a setting podnet knows`,
        near.length > 0 ? `did you mean ${near.join(', ')}?` : "run 'podnet config' to list the settings");
    }
    env[name] = item.slice(eq + 1);
  }
  return env;
}

export function registerPool(program: Command): void {
  const pool = program.command('pool').description('the warm pool of pod addresses: how ipamd grows and shrinks it');
  pool
    .command('simulate')
    .description('run the real pool manager against an in-process EC2 emulator on a fake clock, adding pods one at a time')
    .argument('<instance-type>', 'an EC2 instance type, e.g. t3.small')
    .requiredOption('--pods <n>', 'pods to add, one at a time; the pool settles after each', nonNegativeInt)
    .option('--env <KEY=VALUE>', 'an ipamd setting (WARM_ENI_TARGET, WARM_IP_TARGET, MINIMUM_IP_TARGET, WARM_PREFIX_TARGET, ENABLE_PREFIX_DELEGATION, MAX_ENI, …); repeatable',
      (v: string, acc: string[]) => [...acc, v], [] as string[])
    .option('--max-pods <n>', "the kubelet's max pods, which caps the pool (default: the instance type's eni-max-pods value)", positiveInt)
    .option('--json', 'print the result as JSON')
    .action(async (instanceType: string, flags: SimulateFlags) => {
      const env = await parseEnvFlags(flags.env);
      const { simulatePool } = await import('../ipamd/index.js');
      const { result, setup } = await simulatePool({ instanceType, pods: flags.pods, env, startCloud: startEmulator, ...(flags.maxPods !== undefined ? { maxPods: flags.maxPods } : {}) });
      if (flags.json) {
        printJson(result);
        return;
      }
      const c = setup.config;
      const settings = setup.prefixDelegation
        ? (c.warmIpTarget > 0 || c.minimumIpTarget > 0 ? `WARM_IP_TARGET=${c.warmIpTarget} MINIMUM_IP_TARGET=${c.minimumIpTarget}` : `WARM_PREFIX_TARGET=${c.warmPrefixTarget}`)
        : (c.warmIpTarget > 0 || c.minimumIpTarget > 0 ? `WARM_IP_TARGET=${c.warmIpTarget} MINIMUM_IP_TARGET=${c.minimumIpTarget}` : `WARM_ENI_TARGET=${c.warmEniTarget}`);
      const mode = setup.prefixDelegation ? 'prefix delegation' : 'secondary IPs';
      const out: string[] = [`${instanceType}, ${setup.pods} pods, ${settings} (${mode}, max pods ${setup.maxPods})`, ''];
      const header = setup.prefixDelegation ? ['ENI', 'prefixes', 'pod IPs'] : ['ENI', 'pod IPs'];
      const rows = result.ipsPerEni.map((ips, i) => (setup.prefixDelegation ? [i + 1, result.prefixesPerEni?.[i] ?? 0, ips] : [i + 1, ips]));
      out.push(formatTable(header, rows));
      out.push(`${result.enis} ENI(s), ${result.totalIps} pod IPs, ${result.unusedIps} unused, ${result.refusedPods} pod(s) refused`);
      out.push(`EC2 calls: ${Object.entries(result.ec2Calls).map(([api, n]) => `${api} ${n}`).join(', ')}`);
      out.push(`fake time elapsed: ${Math.round(setup.elapsedMs / 1000)} s`);
      process.stdout.write(out.join('\n') + '\n');
      for (const note of setup.notes) process.stderr.write(`note: ${note}\n`);
    });
}
