import type { Command } from 'commander';
import { usageError } from '../lib/index.js';
import type { MaxPodsOptions } from '../limits/index.js';
import { printJson } from './output.js';
import { positiveInt } from './parse.js';

interface MaxPodsFlags {
  all?: boolean;
  prefixDelegation?: boolean;
  customNetworking?: boolean;
  securityGroupsForPods?: boolean;
  maxEni?: number;
  cpus?: number;
  json?: boolean;
}

export function registerMaxPods(program: Command): void {
  program
    .command('max-pods')
    .description('how many pods fit on an instance type, and the arithmetic behind it')
    .argument('[instance-type]', 'an EC2 instance type, e.g. t3.small')
    .option('--all', 'one "<instance type> <max pods>" line per known type, as upstream misc/eni-max-pods.txt')
    .option('--prefix-delegation', 'ENABLE_PREFIX_DELEGATION=true: /28 prefixes instead of single IPs (Nitro or bare metal only)')
    .option('--custom-networking', 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true: the primary ENI gets no pod addresses')
    .option('--security-groups-for-pods', 'ENABLE_POD_ENI=true: the trunk ENI takes one ENI slot')
    .option('--max-eni <n>', 'MAX_ENI: cap the ENIs per node', positiveInt)
    .option('--cpus <n>', "the node's vCPUs: apply the EKS calculator's ceiling (110 up to 30 vCPUs, else 250)", positiveInt)
    .option('--json', 'print the breakdown as JSON')
    .action(async (instanceType: string | undefined, flags: MaxPodsFlags) => {
      const { allInstanceTypes, maxPods } = await import('../limits/index.js');
      const opts: MaxPodsOptions = {
        prefixDelegation: flags.prefixDelegation,
        customNetworking: flags.customNetworking,
        securityGroupsForPods: flags.securityGroupsForPods,
        maxEni: flags.maxEni,
        cpus: flags.cpus,
      };
      if (flags.all) {
        if (instanceType !== undefined) throw usageError(`give an instance type or --all, not both (got '${instanceType}' and --all)`, `run 'podnet max-pods ${instanceType}' or 'podnet max-pods --all'`);
        const rows = allInstanceTypes().map((t) => ({ instanceType: t, maxPods: maxPods(t, opts).maxPods }));
        if (flags.json) printJson(rows);
        else process.stdout.write(rows.map((r) => `${r.instanceType} ${r.maxPods}\n`).join(''));
        return;
      }
      if (instanceType === undefined) throw usageError('no instance type given', "run 'podnet max-pods t3.small', or 'podnet max-pods --all' for every type");
      const breakdown = maxPods(instanceType, opts);
      if (flags.json) {
        printJson(breakdown);
        return;
      }
      process.stdout.write(`${instanceType}: ${breakdown.maxPods} max pods = ${breakdown.formula}\n`);
      for (const note of breakdown.notes) process.stderr.write(`note: ${note}\n`);
    });
}
