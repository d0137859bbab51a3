import type { Command } from 'commander';
import type { SimulatedOs, SimulationResult, SimulationSetup, StartSimulatedCloud, WindowsPoolSettings } from '../ipam/index.js';
import { nearestNames, usageError } from '../lib/index.js';
import { formatTable, printJson } from './output.js';
import { nonNegativeInt, osOption, positiveInt } from './parse.js';

interface SimulateFlags {
  pods: number;
  env: string[];
  maxPods?: number;
  os: SimulatedOs;
  nodes?: number;
  windowsWarmIpTarget?: number;
  windowsMinimumIpTarget?: number;
  windowsPrefixDelegation?: boolean;
  json?: boolean;
}

/** The simulation's EC2: src/ec2's action handlers in process (no HTTP, no SDK), on the fake clock, no throttling. */
const startInProcessCloud: StartSimulatedCloud = async (opts) => {
  const { startSimulatedNode } = await import('../ec2/index.js');
  return startSimulatedNode(opts);
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
    .option('--max-pods <n>', "the kubelet's max pods, which caps the pool (default: podnet max-pods for the node's mode)", positiveInt)
    .addOption(osOption("the node's OS; windows: one ENI per node, the VPC resource controller's pool rules (not aws-node's --env pool settings), no custom networking or ENABLE_POD_ENI"))
    .option('--windows-warm-ip-target <n>', "with --os windows: the amazon-vpc-cni ConfigMap's warm-ip-target (default: the controller's 3, or 1 with prefix delegation)", nonNegativeInt)
    .option('--windows-minimum-ip-target <n>', "with --os windows: the ConfigMap's minimum-ip-target (default: the controller's 3)", nonNegativeInt)
    .option('--windows-prefix-delegation', "with --os windows: the ConfigMap's enable-windows-prefix-delegation=true")
    .option('--nodes <n>', 'answer for N nodes of this type, each with --pods pods: addresses held and the subnet size they need', positiveInt)
    .option('--json', 'print the result as JSON')
    .action(async (instanceType: string, flags: SimulateFlags) => {
      const env = await parseEnvFlags(flags.env);
      const { simulatePool } = await import('../ipam/index.js');
      const { result, setup } = await simulatePool({
        instanceType, pods: flags.pods, env, startCloud: startInProcessCloud, os: flags.os,
        ...(flags.maxPods !== undefined ? { maxPods: flags.maxPods } : {}),
        ...(flags.nodes !== undefined ? { nodes: flags.nodes } : {}),
        ...(windowsSettings(flags) ? { windows: windowsSettings(flags) } : {}),
      });
      // ENABLE_POD_ENI: branch capacity (vpc.amazonaws.com/pod-eni, the controller's branch limit) beside the pool's IPs
      const podEni = setup.config.podEni ? (await import('../limits/index.js')).trunkLimits(instanceType).branchInterfaces : undefined;
      if (flags.json) {
        printJson(podEni !== undefined ? { ...result, podEni } : result);
        return;
      }
      process.stdout.write(formatSimulation(instanceType, result, setup));
      if (podEni !== undefined) process.stdout.write(`pod-eni: ${podEni ?? 'unknown'} branch ENIs for pods with their own security groups, beside the ${result.totalIps} pod IPs (not simulated: the controller's, one per pod)\n`);
      for (const warning of result.warnings) process.stderr.write(`warning: ${warning}\n`);
      for (const note of result.notes) process.stderr.write(`note: ${note}\n`);
    });
}

/** The --windows-* flags as the controller's settings; undefined when none is given. */
function windowsSettings(flags: SimulateFlags): WindowsPoolSettings | undefined {
  const s: WindowsPoolSettings = {
    ...(flags.windowsWarmIpTarget !== undefined ? { warmIpTarget: flags.windowsWarmIpTarget } : {}),
    ...(flags.windowsMinimumIpTarget !== undefined ? { minimumIpTarget: flags.windowsMinimumIpTarget } : {}),
    ...(flags.windowsPrefixDelegation ? { prefixDelegation: true } : {}),
  };
  return Object.keys(s).length > 0 ? s : undefined;
}

function formatSimulation(instanceType: string, result: SimulationResult, setup: SimulationSetup): string {
  const c = setup.config;
  const settings = setup.windows ? `VPC resource controller, Windows: ${setup.windows.summary}` : setup.prefixDelegation
    ? (c.warmIpTarget > 0 || c.minimumIpTarget > 0 ? `WARM_IP_TARGET=${c.warmIpTarget} MINIMUM_IP_TARGET=${c.minimumIpTarget}` : `WARM_PREFIX_TARGET=${c.warmPrefixTarget}`)
    : (c.warmIpTarget > 0 || c.minimumIpTarget > 0 ? `WARM_IP_TARGET=${c.warmIpTarget} MINIMUM_IP_TARGET=${c.minimumIpTarget}` : `WARM_ENI_TARGET=${c.warmEniTarget}`);
  const modes = [setup.prefixDelegation ? 'prefix delegation' : 'secondary IPs'];
  if (c.customNetworking) modes.push('custom networking');
  if (c.podEni) modes.push('ENABLE_POD_ENI');
  const out: string[] = [`${instanceType}, ${setup.pods} pods, ${settings} (${modes.join(', ')}, max pods ${setup.maxPods})`, ''];
  const header = setup.prefixDelegation ? ['ENI', 'prefixes', 'pod IPs'] : ['ENI', 'pod IPs'];
  const rows = result.ipsPerEni.map((ips, i) => (setup.prefixDelegation ? [i + 1, result.prefixesPerEni?.[i] ?? 0, ips] : [i + 1, ips]));
  out.push(formatTable(header, rows));
  out.push(`${result.enis} ENI(s), ${result.totalIps} pod IPs, ${result.unusedIps} unused, ${result.refusedPods} pod(s) refused`);
  for (const r of result.refusals) out.push(`  refused (${r.reason}): ${r.pods} pod(s) from pod ${r.firstPod}: ${r.message}`);
  for (const o of result.oscillations) {
    const calls = Object.entries(o.ec2CallsPerCycle).map(([api, n]) => `${api} ${n}`).join(', ');
    out.push(`oscillates at ${o.pods} pod(s): every ${o.periodSeconds} s the pool goes from ${o.enis.low} to ${o.enis.high} ENI(s) and back, `
      + `with ${callCount(o.ec2CallsPerCycle)} EC2 calls per cycle, ${o.mutatingCallsPerCycle} of them mutating (${calls}); for ${o.gapSeconds} s of each cycle no address is free and a pod arriving then is refused`);
  }
  if (result.oscillations.length > 0) {
    out.push(result.settled
      ? `the pool settled after pod ${setup.pods}; pods after a cycle were added while the extra ENI was attached`
      : `the pool still oscillates after pod ${setup.pods}; shown while the extra ENI is attached; WARM_IP_TARGET ≥ 1 keeps it steady`);
  }
  const f = result.fleet;
  if (f) {
    const held = f.podAddressesPerNode + f.eniPrimaryAddressesPerNode;
    const subnet = f.subnets === 1
      ? `smallest subnet: /${f.subnetPrefixLength} (${f.subnetUsableAddresses} usable after the 5 AWS reserves)`
      : `no single subnet holds them: AWS subnets are /16 to /28, and a /16 (${f.subnetUsableAddresses} usable after the 5 AWS reserves) holds ${f.nodesPerSubnet} of these nodes, `
        + `so ${f.subnets} /16 subnets are needed, each in a VPC CIDR block of its own (a VPC CIDR block is at most /16 too: add secondary CIDR blocks)`;
    out.push(`${f.nodes} node(s): ${f.nodes} × (${f.podAddressesPerNode} pod addresses + ${f.eniPrimaryAddressesPerNode} ENI primary address(es)) = ${f.addresses} addresses `
      + `(${held} per node); ${subnet}`);
    out.push('  counted: pod addresses the settled pool holds (with the extra ENI attached when it oscillates) and each ENI\'s primary address'
      + `${c.customNetworking ? ' except the node\'s primary ENI, which stays in the node subnet' : ', the node\'s own address included'}`
      + `${setup.prefixDelegation ? '; every prefix needs an aligned /28 of its own' : ''}; one simulation times N, as identical nodes hold the same`);
  }
  out.push(`EC2 calls: ${Object.entries(result.ec2Calls).map(([api, n]) => `${api} ${n}`).join(', ')}`);
  out.push(`fake time elapsed: ${Math.round(setup.elapsedMs / 1000)} s`);
  return out.join('\n') + '\n';
}

function callCount(calls: Readonly<Record<string, number>>): number {
  return Object.values(calls).reduce((n, c) => n + c, 0);
}
