import { Command, InvalidArgumentError, Option } from 'commander';
import type { EndpointStatus, LabStatus, Proto, RuntimeChoice } from '../lab/index.js';
import { formatTable, printJson, progress, progressDone } from './output.js';
import { nonNegativeInt, positiveInt } from './parse.js';
import { usageError } from '../lib/index.js';

export function port(value: string): number {
  const n = positiveInt(value);
  if (n > 65535) throw new InvalidArgumentError(`expected a port 1..65535, got '${value}'`);
  return n;
}

/**
 * The lab's DEFAULT_STATE_DIR, written out so that `--help` and the option defaults need no lab import (the lab
 * loads zod, the AWS SDK and the emulator); test/unit/lab/cli-defaults.test.ts keeps the two equal.
 */
export const LAB_STATE_DIR = '/run/podnet-lab';

/** The lab module, loaded by the action that needs it. */
const loadLab = () => import('../lab/index.js');

// defaults are described as a user types them (commander would quote them as JSON)
export const stateDirOption = () => new Option('--state-dir <dir>', 'where the lab keeps its records (PIDs, names, logs)').default(LAB_STATE_DIR, LAB_STATE_DIR);

export function registerLab(program: Command): void {
  const lab = program.command('lab').description('a whole EKS VPC in network namespaces, with real packets (root)');

  lab
    .command('up')
    .description('build the VPC fabric, start the EC2/IMDS emulator, the Kubernetes API server and control plane, a kubelet per node (ipamd from the aws-node DaemonSet), and the scenario\'s pods')
    .argument('[scenario]', 'scenario file (default: examples/lab.yaml)')
    .addOption(stateDirOption())
    .addOption(
      new Option('--runtime <runtime>', 'how pods are created: CRI on a containerd per node, or the node\'s podnet-cni run directly; auto takes containerd when containerd, runc and ctr are installed')
        .choices(['containerd', 'cni', 'auto'])
        .default('auto', 'auto'),
    )
    .option('--json', 'print the lab status as JSON')
    .action(async (scenarioPath: string | undefined, opts: { stateDir: string; runtime: RuntimeChoice; json?: boolean }) => {
      const { labUp, labStatusWithCluster, vlanLinkName } = await loadLab();
      const started = Date.now();
      await labUp({ scenarioPath, stateDir: opts.stateDir, runtime: opts.runtime, progress: (m) => progress(m, opts.json) });
      progressDone(opts.json);
      const status = await labStatusWithCluster({ stateDir: opts.stateDir });
      if (opts.json) return printJson(status);
      process.stdout.write(`lab up in ${((Date.now() - started) / 1000).toFixed(1)} s: ${status.nodes.length} nodes, ${status.hosts.length} hosts, ${status.pods.length} pods through ${status.runtime === 'containerd' ? 'containerd (CRI)' : 'the CNI'} (state in ${status.stateDir})\n`);
      process.stdout.write(renderStatus(status, vlanLinkName));
      process.stdout.write('\nnext: podnet lab probe FROM TO · podnet lab pod add NODE NAME · export KUBECONFIG=$(podnet lab kubeconfig); kubectl get nodes · podnet lab status · podnet lab down\n');
    });

  const pod = lab.command('pod').description('pods as Pod objects: the node\'s kubelet creates and deletes them through its CNI, as a runtime does');
  pod
    .command('add')
    .description('create Pod default/NAME bound to the node and wait until it runs (its kubelet: CNI ADD through the node\'s podnet-cni)')
    .argument('<node>')
    .argument('<name>')
    .option('--host-network', 'a hostNetwork pod: a process in the node\'s namespace, no CNI call')
    .option('--eni <device-index>', 'put the pod behind this ENI of the node', nonNegativeInt)
    .option('--label <key=value>', 'a label of the Pod, repeatable (a SecurityGroupPolicy\'s podSelector selects pods by them)', podLabel, {})
    .addOption(stateDirOption())
    .option('--json')
    .action(async (node: string, name: string, opts: { hostNetwork?: boolean; eni?: number; label: Record<string, string>; stateDir: string; json?: boolean }) => {
      const { podAdd } = await loadLab();
      const p = await podAdd({ stateDir: opts.stateDir, node, name, hostNetwork: opts.hostNetwork, eni: opts.eni, ...(Object.keys(opts.label).length > 0 && { labels: opts.label }) });
      if (opts.json) return printJson(p);
      process.stdout.write(`pod ${p.name} on ${p.node}: ${p.hostNetwork ? 'host network' : `${p.ip}${p.eni !== undefined ? ` behind eth${p.eni}` : ''}`} (namespace ${p.ns})\n`);
    });
  pod
    .command('del')
    .description('delete the pod and wait until it is gone (its kubelet: CNI DEL, then its namespace)')
    .argument('<name>')
    .addOption(stateDirOption())
    .option('--json', 'print {name, deleted} as JSON')
    .action(async (name: string, opts: { stateDir: string; json?: boolean }) => {
      const { podDel } = await loadLab();
      await podDel({ stateDir: opts.stateDir, name });
      if (opts.json) return printJson({ name, deleted: true });
      process.stdout.write(`pod ${name} deleted\n`);
    });

  lab
    .command('probe')
    .description('send one probe FROM → TO (pod, node or host names) and report whether it arrived and the source address the receiver saw')
    .argument('<from>')
    .argument('<to>')
    .option('--port <port>', 'destination port (default: the echo service\'s)', port)
    .addOption(new Option('--proto <proto>', 'protocol').choices(['tcp', 'udp', 'icmp']).default('tcp', 'tcp'))
    .addOption(stateDirOption())
    .option('--json')
    .addHelpText(
      'after',
      '\nAn undelivered probe\'s reason is a heuristic: the fabric\'s drop counters, read before and after the probe. The\n' +
        "fabric's counters are shared; traffic between the reads can be misattributed; reason is null when no counter moved\n" +
        'or more than one did.\n\nThe explain line is what `podnet explain FROM TO` says of the same flow, asked after the packet went; a\n' +
        'DISAGREEMENT line (and the disagreement field of --json) means the two differ: a podnet bug.\n',
    )
    .action(async (from: string, to: string, opts: { port?: number; proto: Proto; stateDir: string; json?: boolean }) => {
      const { probe, probeExplainLine, DROP_REASON_SENTENCES } = await loadLab();
      const r = await probe(from, to, { stateDir: opts.stateDir, port: opts.port, proto: opts.proto });
      if (opts.json) return printJson(r);
      const dest = `${r.target}${r.port ? `:${r.port}` : ''}/${r.proto}`;
      const outcome = r.delivered
        ? r.saw ? `delivered; ${to} saw source ${r.saw}${r.sawPort ? `:${r.sawPort}` : ''}` : 'delivered'
        : `not delivered (${r.error ?? 'no answer'})${r.reason ? `: ${DROP_REASON_SENTENCES[r.reason]}` : ''}${r.droppedBy ? `\n  dropped: ${r.droppedBy.detail}` : ''}`;
      process.stdout.write(`${from} (${r.sentFrom}) → ${to} (${dest}): ${outcome}\n  ${probeExplainLine(r)}\n`);
      if (r.disagreement) process.stdout.write(`${r.disagreement}\n`);
    });

  lab
    .command('status')
    .description('nodes, ENIs, addresses, prefixes, pods and lab processes')
    .addOption(stateDirOption())
    .option('--json')
    .action(async (opts: { stateDir: string; json?: boolean }) => {
      const { labStatusWithCluster, labEndpointStatus, LabState, vlanLinkName } = await loadLab();
      const status = await labStatusWithCluster({ stateDir: opts.stateDir });
      // the cluster endpoint as the fabric last read it from EKS (null: the scenario has no cluster)
      const state = new LabState(opts.stateDir);
      const endpoint = await labEndpointStatus(state, state.readLab()!);
      if (opts.json) return printJson({ ...status, endpoint });
      process.stdout.write(`lab started ${status.startedAt} from ${status.scenario}; EC2 ${status.ec2}, IMDS ${status.imds}\n`);
      if (status.fabric) process.stdout.write(`fabric: generation ${status.fabric.generation}, events ${status.fabric.eventsConnected ? 'connected' : 'DISCONNECTED'}${status.fabric.error ? `, error: ${status.fabric.error}` : ''}\n`);
      if (endpoint) process.stdout.write(renderEndpoint(endpoint));
      process.stdout.write(renderStatus(status, vlanLinkName));
      process.stdout.write('\n' + formatTable(['process', 'pid', 'namespace', 'state'], status.processes.map((p) => [p.name, p.pid, p.namespace, p.running ? 'running' : 'gone'])));
    });

  lab
    .command('down')
    .description('remove everything the lab made (also after a crash or kill -9 of any lab process)')
    .addOption(stateDirOption())
    .option('--json')
    .action(async (opts: { stateDir: string; json?: boolean }) => {
      const { labDown } = await loadLab();
      const r = await labDown({ stateDir: opts.stateDir, progress: (m) => progress(m, opts.json) });
      progressDone(opts.json);
      if (opts.json) return printJson(r);
      process.stdout.write(`lab down: stopped ${r.processes} processes, removed ${r.namespaces} namespaces, ${r.links} stray links, ${r.mounts} stray mounts\n`);
    });

  lab
    .command('controller', { hidden: true })
    .description('the fabric controller (started by lab up inside the aws namespace)')
    .requiredOption('--state-dir <dir>')
    .action(async (opts: { stateDir: string }) => (await loadLab()).runController(opts.stateDir));

  lab
    .command('kubelet', { hidden: true })
    .description("a lab node's kubelet: registers its Node and runs the pods bound to it (started by lab up in the node's namespace)")
    .requiredOption('--state-dir <dir>')
    .option('--node <instance>', "the node's instance name in the scenario")
    .option('--fargate <eni-id>', 'a Fargate node instead: the one whose ENI this is (started by the control plane in the node\'s namespace)')
    .action(async (opts: { stateDir: string; node?: string; fargate?: string }) => {
      const [{ runKubelet, runFargateKubelet }, { stopSignal }] = await Promise.all([loadLab(), import('./signals.js')]);
      if (opts.fargate !== undefined) return runFargateKubelet({ stateDir: opts.stateDir, eniId: opts.fargate }, stopSignal());
      if (opts.node === undefined) throw usageError('give --node <instance> or --fargate <eni-id>', 'lab up and the control plane start the kubelets');
      await runKubelet({ stateDir: opts.stateDir, node: opts.node }, stopSignal());
    });

  lab
    .command('control-plane', { hidden: true })
    .description("the lab's scheduler and DaemonSet controller (started by lab up inside the aws namespace)")
    .requiredOption('--state-dir <dir>')
    .option('--kubeconfig <file>', "the API server's kubeconfig (default: the lab record's in-VPC one)")
    .action(async (opts: { stateDir: string; kubeconfig?: string }) => {
      const { stopSignal } = await import('./signals.js');
      const until = stopSignal();
      await (await loadLab()).runControlPlane({ stateDir: opts.stateDir, ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), until });
    });

  const cluster = lab.command('cluster').description("the lab's EKS cluster (the scenario's cluster: section): its endpoint's access, through the emulator's EKS API");
  const bool = (name: string) => (value: string): boolean => {
    if (value === 'true') return true;
    if (value === 'false') return false;
    throw new InvalidArgumentError(`${name} takes true or false, not '${value}'`);
  };
  cluster
    .command('update')
    .description('UpdateClusterConfig: the endpoint\'s public and private access and the public allow-list (the fabric applies it within ~2 s; open connections to the endpoint are cut)')
    .option('--public-access <bool>', 'the public endpoint on (true) or off (false)', bool('--public-access'))
    .option('--public-access-cidrs <cidr...>', 'who may reach the public endpoint (source addresses as it sees them: a node\'s public IP, a NAT gateway\'s EIP)')
    .option('--private-access <bool>', 'the private endpoint (the cluster ENIs in the VPC) on (true) or off (false)', bool('--private-access'))
    .option('--wait', 'wait until EKS says Successful and the fabric has applied it')
    .addOption(stateDirOption())
    .option('--json', 'print {updateId, status, endpoint} as JSON')
    .action(async (opts: { stateDir: string; publicAccess?: boolean; publicAccessCidrs?: string[]; privateAccess?: boolean; wait?: boolean; json?: boolean }) => {
      const { clusterUpdate } = await loadLab();
      const result = await clusterUpdate({ stateDir: opts.stateDir, publicAccess: opts.publicAccess, publicAccessCidrs: opts.publicAccessCidrs, privateAccess: opts.privateAccess, wait: opts.wait });
      if (opts.json) return printJson(result);
      const e = result.endpoint;
      process.stdout.write(`update ${result.updateId}: ${result.status}${opts.wait ? ', applied by the fabric' : ''}\n`);
      if (e) process.stdout.write(renderEndpoint(e));
    });

  lab
    .command('kubeconfig')
    .description("print the path of the lab's kubeconfig for the host: export KUBECONFIG=$(podnet lab kubeconfig)")
    .addOption(stateDirOption())
    .option('--json', 'print {kubeconfig, vpcKubeconfig} as JSON')
    .action(async (opts: { stateDir: string; json?: boolean }) => {
      const { labKubeconfig } = await loadLab();
      const k = labKubeconfig({ stateDir: opts.stateDir });
      if (opts.json) return printJson(k);
      process.stdout.write(`${k.kubeconfig}\n`);
    });

  lab
    .command('forward', { hidden: true })
    .description("a byte relay (lab up starts two: 127.0.0.1:PORT on the host → a socket → the API server in the aws namespace)")
    .requiredOption('--listen <address>', 'HOST:PORT (port 0: a free one) or an absolute unix socket path')
    .requiredOption('--connect <address>', 'HOST:PORT or an absolute unix socket path')
    .action(async (opts: { listen: string; connect: string }) => {
      const { runRelay, parseRelayAddress } = await loadLab();
      await runRelay(parseRelayAddress(opts.listen), parseRelayAddress(opts.connect), (where) => process.stdout.write(`${JSON.stringify({ listening: where })}\n`));
    });
}

/** The cluster endpoint's lines (lab status, lab cluster update). */
export function renderEndpoint(e: EndpointStatus): string {
  const on = (b: boolean) => (b ? 'on' : 'off');
  return [
    `cluster ${e.cluster} (${e.status}): endpoint https://${e.hostname}${e.applied ? '' : ' (the fabric has not applied this yet)'}`,
    `  public access ${on(e.publicAccess)}${e.publicAccess ? ` at ${e.publicAddress ?? '-'} from ${e.publicAccessCidrs.join(', ') || 'nowhere'}` : ''}`,
    `  private access ${on(e.privateAccess)} at ${e.privateAddresses.join(', ') || '-'}`,
    '',
  ].join('\n');
}

/** `--label key=value`, collected into one map; podAdd checks keys and values with the scenario's label grammar. */
function podLabel(value: string, labels: Record<string, string>): Record<string, string> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError(`expected key=value, got '${value}'`);
  return { ...labels, [value.slice(0, eq)]: value.slice(eq + 1) };
}

/** `linkName`: the dataplane's vlanLinkName (loaded with the lab's module, as every action's code). */
function renderStatus(status: LabStatus, linkName: (vlanId: number) => string): string {
  const eniRows = status.nodes.flatMap((n) =>
    n.enis.map((e) => [n.name, e.device === null ? '-' : `eth${e.device}`, e.eniId, e.mac, [...e.addresses, ...e.prefixes].join(' '), e.publicIps.join(' ') || '-', n.ipamd]),
  );
  let out = status.kubeconfig ? `Kubernetes API ${status.k8s} (from the lab's namespaces), kubeconfig ${status.kubeconfig}\n` : '';
  out += '\n' + formatTable(['node', 'dev', 'eni', 'mac', 'addresses / prefixes (primary first)', 'public', 'ipamd'], eniRows);
  const branchRows = status.nodes.flatMap((n) => n.branches.map((b) => [n.name, linkName(b.vlanId), b.eniId, b.trunkEniId, b.mac, b.address ?? '-', b.groups.join(' ') || '-', b.pod ?? '-', b.wired ? 'yes' : 'no']));
  if (branchRows.length > 0) out += '\n' + formatTable(['node', 'link', 'branch eni', 'trunk eni', 'mac', 'address', 'groups', 'pod', 'wired'], branchRows);
  const cluster = status.cluster;
  if (cluster?.error) out += `\nthe API server did not answer: ${cluster.error}\n`;
  else if (cluster) {
    // each node's readiness, and why it is not Ready when explain says it cannot reach the cluster endpoint
    const labNode = (name: string) => status.nodes.find((n) => n.kubernetes?.nodeName === name);
    const unregistered = status.nodes.filter((n) => n.kubernetes?.ready === 'NotRegistered').map((n) => [`(${n.name}: not registered)`, 'NotRegistered', '-', n.kubernetes?.why ?? n.kubernetes?.reason ?? '']);
    const rows = cluster.nodes.map((n) => [n.name, n.ready ? 'Ready' : `${n.condition === 'Unknown' ? 'Unknown' : 'NotReady'} (${n.reason})`, n.pods, labNode(n.name)?.kubernetes?.why ?? '']);
    out += '\n' + formatTable(['kubernetes node', 'ready', 'allocatable pods', 'why'], [...rows, ...unregistered]);
  }
  // the lab's pods are default/<name> (the kubelet names others <namespace>-<name>)
  const phase = (name: string) => cluster?.pods.find((p) => (p.namespace === 'default' ? p.name : `${p.namespace}-${p.name}`) === name)?.phase ?? '-';
  out += '\n' + formatTable(['pod', 'node', 'ip', 'eni', ...(cluster ? ['phase'] : [])], status.pods.map((p) => [p.name, p.node, p.hostNetwork ? '(host network)' : (p.ip ?? '-'), p.vlanId !== null ? linkName(p.vlanId) : p.eni === null ? '-' : `eth${p.eni}`, ...(cluster ? [phase(p.name)] : [])]));
  out += '\n' + formatTable(['host', 'namespace', 'address'], status.hosts.map((h) => [h.name, h.namespace, h.address ?? '-']));
  return out;
}
