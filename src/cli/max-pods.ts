import type { Command } from 'commander';
import { usageError } from '../lib/index.js';
import type { MaxPodsOptions } from '../limits/index.js';
import { printJson } from './output.js';
import { osOption, positiveInt } from './parse.js';

interface MaxPodsFlags {
  all?: boolean;
  os: 'linux' | 'windows';
  prefixDelegation?: boolean;
  customNetworking?: boolean;
  securityGroupsForPods?: boolean;
  maxEni?: number;
  cpus?: number;
  /** false with --no-cap (commander's negatable option). */
  cap: boolean;
  fargate?: boolean;
  json?: boolean;
}

/** aws-node and EKS-calculator options that have no meaning on a Windows node, with why. */
const linuxOnly: readonly (readonly [flag: string, set: (f: MaxPodsFlags) => boolean, why: string])[] = [
  ['--custom-networking', (f) => Boolean(f.customNetworking), 'custom networking is not supported on Windows nodes'],
  ['--security-groups-for-pods', (f) => Boolean(f.securityGroupsForPods), 'security groups for pods are not supported on Windows nodes'],
  ['--max-eni', (f) => f.maxEni !== undefined, 'Windows nodes use one network interface, and MAX_ENI is an aws-node setting'],
  ['--cpus', (f) => f.cpus !== undefined, "the 110/250 vCPU ceiling is the Linux max-pods calculator's"],
  ['--no-cap', (f) => !f.cap, "the 110/250 vCPU ceiling is the Linux max-pods calculator's"],
];

/** The mode options that mean nothing on Fargate (aws-node's and the calculator's). */
function fargateConflicts(f: MaxPodsFlags): string[] {
  return [
    f.prefixDelegation && '--prefix-delegation',
    f.customNetworking && '--custom-networking',
    f.securityGroupsForPods && '--security-groups-for-pods',
    f.maxEni !== undefined && '--max-eni',
    f.cpus !== undefined && '--cpus',
    !f.cap && '--no-cap',
  ].filter((x): x is string => typeof x === 'string');
}

export function registerMaxPods(program: Command): void {
  program
    .command('max-pods')
    .description('how many pods fit on an instance type, and the arithmetic behind it')
    .argument('[instance-type]', 'an EC2 instance type, e.g. t3.small')
    .option('--all', 'one "<instance type> <max pods>" line per known type, as upstream misc/eni-max-pods.txt')
    .addOption(osOption("the node's OS; windows: one ENI, IPv4 addresses per ENI − 1 (× 16 with prefixes)"))
    .option('--prefix-delegation', 'ENABLE_PREFIX_DELEGATION=true: /28 prefixes instead of single IPs (Nitro or bare metal only); applies the EKS 110/250 vCPU ceiling')
    .option('--custom-networking', 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true: the primary ENI gets no pod addresses')
    .option('--security-groups-for-pods', 'ENABLE_POD_ENI=true: the trunk ENI takes one ENI slot on trunking-compatible types')
    .option('--max-eni <n>', 'MAX_ENI: cap the ENIs per node', positiveInt)
    .option('--cpus <n>', "the node's vCPUs: apply the EKS calculator's ceiling (110 up to 30 vCPUs, else 250) with this count", positiveInt)
    .option('--no-cap', 'with --prefix-delegation: the raw figure, without the vCPU ceiling (without it a usage error: nothing is capped)')
    .option('--fargate', 'an EKS Fargate node: always 1 (one pod per node); no instance type or mode option applies')
    .option('--json', 'print the breakdown as JSON')
    .action(async (instanceType: string | undefined, flags: MaxPodsFlags) => {
      const { allInstanceTypes, maxPods, windowsLimits, fargateLimits } = await import('../limits/index.js');
      if (flags.fargate) {
        const given = [instanceType !== undefined && `instance type '${instanceType}'`, flags.all && '--all', flags.os === 'windows' && '--os windows', ...fargateConflicts(flags)].filter(Boolean);
        if (given.length > 0) throw usageError(`--fargate does not take ${given.join(', ')}: a Fargate node has no instance type and runs one pod`, "run 'podnet max-pods --fargate'");
        const f = fargateLimits();
        if (flags.json) return printJson(f);
        process.stdout.write(`fargate: ${f.maxPods} max pods = ${f.formula}\n`);
        for (const note of f.notes) process.stderr.write(`note: ${note}\n`);
        return;
      }
      if (flags.all && instanceType !== undefined) throw usageError(`give an instance type or --all, not both (got '${instanceType}' and --all)`, `run 'podnet max-pods ${instanceType}' or 'podnet max-pods --all'`);
      let compute: (type: string) => { maxPods: number; formula: string; notes: readonly string[]; podEni?: number | null };
      if (flags.os === 'windows') {
        const conflict = linuxOnly.find(([, set]) => set(flags));
        if (conflict) {
          throw usageError(`${conflict[0]} does not apply with --os windows: ${conflict[2]}`,
            `drop ${conflict[0]}; Windows max pods depends only on the instance type and --prefix-delegation`);
        }
        compute = (type) => windowsLimits(type, { prefixDelegation: flags.prefixDelegation });
      } else {
        const opts: MaxPodsOptions = {
          prefixDelegation: flags.prefixDelegation,
          customNetworking: flags.customNetworking,
          securityGroupsForPods: flags.securityGroupsForPods,
          maxEni: flags.maxEni,
          cpus: flags.cpus,
          noCap: !flags.cap,
        };
        compute = (type) => maxPods(type, opts);
      }
      if (flags.all) {
        const rows = allInstanceTypes().map((t) => {
          const b = compute(t);
          // with --security-groups-for-pods the JSON rows carry branch capacity beside IP capacity; the text keeps eni-max-pods.txt's shape
          return { instanceType: t, maxPods: b.maxPods, ...(b.podEni !== undefined && { podEni: b.podEni }) };
        });
        if (flags.json) printJson(rows);
        else process.stdout.write(rows.map((r) => `${r.instanceType} ${r.maxPods}\n`).join(''));
        return;
      }
      if (instanceType === undefined) throw usageError('no instance type given', "run 'podnet max-pods t3.small', or 'podnet max-pods --all' for every type");
      const breakdown = compute(instanceType);
      if (flags.json) {
        printJson(breakdown);
        return;
      }
      process.stdout.write(`${instanceType}: ${breakdown.maxPods} max pods = ${breakdown.formula}\n`);
      if (breakdown.podEni !== undefined) process.stdout.write(`${instanceType}: pod-eni ${breakdown.podEni ?? 'unknown'} (branch ENIs for pods with their own security groups, beside the ${breakdown.maxPods} above)\n`);
      for (const note of breakdown.notes) process.stderr.write(`note: ${note}\n`);
    });
}
