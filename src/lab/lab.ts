/**
 * The lab's lifecycle: `lab up` builds the fixed fabric, starts the EC2/IMDS emulator, the Kubernetes API server (and
 * the relays kubectl on the host reaches it through) and the fabric controller in the aws namespace, waits for EC2's
 * instances to be wired, creates deploy/, the ENIConfigs and SecurityGroupPolicies through the API, starts `podnet
 * sgp-controller` when security groups for pods are in use, the control plane and a kubelet per node (ipamd comes
 * from the aws-node DaemonSet), the echo services, and the scenario's pods as Pod objects;
 * `lab pod add/del` create and delete Pod objects; `lab down` removes everything, from the records or by name prefix.
 */
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { eniRouteTable, vlanLinkName } from '../dataplane/index.js';
import { eniHolding, privateDnsName, topologyRegion } from '../vpc/index.js';
import { PodnetError, checkCreatablePath, run, writeFileAtomicSync } from '../lib/index.js';
import { ipBatch, listNetns, setSysctls } from './apply.js';
import { buildSandboxImage, chooseRuntime, removeLabCgroups, startNodeContainerd, startNodeMounts, type RuntimeChoice } from './containerd.js';
import { DEPLOY_DIR, apiMessage, applyObjects, deletePod, latestPodWarning, podByKey, submitPod, waitForPodRunning, eniConfigObjects, hostKubeconfig, labKubeConfig, labObjects, labPodObject, loadManifests, nodeReady, securityGroupPolicyObjects, waitForApi } from './cluster.js';
import { ENDPOINT_RELAY } from './controller.js';
import { kubeletResolverEnv } from './eks-endpoint.js';
import { endpointKubeconfig, kubeconfigCaPem, nodeResolvConf, nodeVpcDns } from './eks-endpoint-lab.js';
import { labNodeEndpointVerdicts } from './endpoint-verdicts.js';
import { writeEchoScript } from './echo.js';
import { primaryAddressOf } from './endpoints.js';
import { IMDS_ADDRESS, NS_PREFIX, LINK_PREFIX, ns, planFabric, renderFixedFabric } from './plan.js';
import { renderIgwNat } from './render.js';
import { LAB_POD_LABEL, defaultScenarioPath, eniIndexProblem, labelProblems, loadScenario, type Scenario } from './scenario.js';
import { SGP_CONTROLLER, SGP_SERVICE_ACCOUNT, needsSgpController, policyGroupProblems, sgpClusterName, sgpControllerArgs, sgpControllerKubeconfig } from './sgp-lab.js';
import { DEFAULT_STATE_DIR, LabState, isLabProcess, podnetArgv, startProcess, type FabricStatus, type LabRecord, type NodeRecord, type PodRecord, type ProcRecord } from './state.js';

export type Progress = (message: string) => void;

/**
 * Settings every lab node gets unless its scenario entry says otherwise: a faster pool loop than upstream's 5 s, and
 * a 5 s reconcile (upstream 60 s), which also sets up a secondary ENI whose link appeared after ipamd first looked;
 * and branch pods' `vlan.eth.<id>` taken from the fabric (render.ts hands each branch ENI over as that link: the lab's
 * kernel may have no 802.1Q), not made on the trunk.
 */
export const labNodeDefaults: Record<string, string> = { PODNET_POOL_INTERVAL_MS: '1000', PODNET_RECONCILE_INTERVAL_MS: '5000', PODNET_BRANCH_VLAN_LINK: 'fabric' };

/** Polls `probe` until it has a value; a timeout names `what` and quotes the end of `log`, the file that tells why. */
async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined, log: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new PodnetError('LAB_FAILED', `${what} did not happen within ${Math.round(timeoutMs / 1000)} s (${log}: ${logTail(log)})`, `see ${log}`);
    await sleep(50);
  }
}

function logTail(path: string, lines = 5): string {
  try {
    return readFileSync(path, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '(no log)';
  }
}

/** Root, the tools, and the kernel features the fabric uses; each missing piece is named. */
function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new PodnetError('NOT_ROOT', 'the lab needs root: it creates network namespaces, veth pairs, routes and nft tables', 'run it as root (sudo podnet …), or inside a disposable VM');
  }
}

export async function checkPrerequisites(): Promise<void> {
  requireRoot();
  for (const tool of ['ip', 'nft', 'sysctl', 'iptables']) {
    try {
      await run([tool, tool === 'sysctl' ? '-V' : tool === 'ip' ? '-V' : '--version']);
    } catch (err) {
      if (err instanceof PodnetError && err.code === 'MISSING_TOOL') throw err;
    }
  }
  const probeNs = `${NS_PREFIX}probe-${process.pid}`;
  try {
    await ipBatch([`netns add ${probeNs}`]);
  } catch (err) {
    throw new PodnetError('KERNEL_FEATURE_MISSING', `cannot create a network namespace: ${(err as Error).message}`, 'the lab needs network namespaces (CONFIG_NET_NS) and a writable /run/netns');
  }
  try {
    await ipBatch(['link add pn-t0 type veth peer name pn-t1'], probeNs).catch((err: Error) => {
      throw new PodnetError('KERNEL_FEATURE_MISSING', `the kernel cannot create veth pairs: ${err.message}`, 'load the veth module (modprobe veth) or use a kernel with CONFIG_VETH');
    });
    await run(['nft', '-f', '-'], { netns: probeNs, input: renderIgwNat([['10.0.0.1', '203.0.113.1']]) }).catch((err: Error) => {
      throw new PodnetError('KERNEL_FEATURE_MISSING', `nftables NAT is not available: ${err.message}`, 'the lab needs nf_tables with NAT and maps (CONFIG_NF_TABLES, CONFIG_NFT_NAT)');
    });
  } finally {
    await ipBatch([`netns del ${probeNs}`]).catch(() => undefined);
  }
}

export interface UpOptions {
  scenarioPath?: string;
  stateDir?: string;
  /** how pods are created (default auto: containerd when containerd, runc and ctr are installed, else the CNI directly) */
  runtime?: RuntimeChoice;
  progress?: Progress;
}

export async function labUp(opts: UpOptions = {}): Promise<LabRecord> {
  const progress = opts.progress ?? (() => {});
  const scenarioPath = resolve(opts.scenarioPath ?? defaultScenarioPath);
  const scenario = await loadScenario(scenarioPath);
  const state = new LabState(opts.stateDir ?? DEFAULT_STATE_DIR);
  checkCreatablePath(state.dir, '--state-dir', 'directory'); // before anything is built; state.ensure() creates it
  await checkPrerequisites();
  const runtime = chooseRuntime(opts.runtime ?? 'auto');
  if (state.exists()) {
    throw new PodnetError('LAB_EXISTS', `a lab is already up (state in ${state.dir}, started ${state.readLab()?.startedAt ?? 'earlier'})`, 'take it down first: podnet lab down');
  }
  const leftovers = (await listNetns()).filter((n) => n.startsWith(NS_PREFIX));
  if (leftovers.length > 0) {
    throw new PodnetError('LAB_EXISTS', `${leftovers.length} lab namespaces are left over (${leftovers.slice(0, 3).join(', ')}${leftovers.length > 3 ? ', …' : ''})`, 'remove them first: podnet lab down');
  }
  state.ensure();
  try {
    const plan = planFabric(scenario);

    progress('building the fabric');
    const fixed = renderFixedFabric(plan);
    const instanceNs = [...scenario.nodes.map((n) => ns.node(n.instance)), ...scenario.hosts.map((h) => ns.host(h.instance)), ...scenario.natGateways.map((n) => ns.nat(n.name))];
    await ipBatch([...fixed.netnsAdds, ...instanceNs.map((n) => `netns add ${n}`)]);
    for (const [n, values] of fixed.sysctls) await setSysctls(n, values);
    await ipBatch(fixed.linkAdds);
    for (const [n, lines] of fixed.perNs) await ipBatch(lines, n);
    for (const n of instanceNs) await ipBatch(['link set lo up'], n);
    const echoPath = state.path('echo.mjs');
    writeEchoScript(echoPath);

    const lab: LabRecord = {
      scenarioPath,
      startedAt: new Date().toISOString(),
      runtime,
      plan,
      ec2Url: `http://${plan.ec2Endpoint}`,
      imdsUrl: `http://${IMDS_ADDRESS}`,
      // the scenario's zones name the region: the emulator (and so IMDS's placement/region) and ipamd's SDK use it
      region: topologyRegion(scenario),
      instances: {},
      nodes: {},
      hosts: Object.fromEntries(scenario.hosts.map((h) => [h.instance, { ns: ns.host(h.instance), instanceId: '' }])),
      natGateways: Object.fromEntries(scenario.natGateways.map((n) => [n.name, { ns: ns.nat(n.name) }])),
    };
    state.writeLab(lab);

    progress('starting the Kubernetes API server and the EC2/IMDS emulator');
    // the control plane's API server beside the EC2 endpoint, as EKS's is reached from the VPC; its certificate also
    // names the cluster endpoint (nodes reach it through the endpoint's relay as https://<endpoint name>)
    const vpcKubeconfig = state.path('vpc-kubeconfig');
    const apiServer = startProcess(state, {
      name: 'k8s',
      ns: ns.aws,
      argv: [...podnetArgv(), 'k8s', 'serve', '--listen', `${plan.ec2Endpoint}:6443`, '--allow-non-loopback', '--db', state.path('k8s.db'), '--kubeconfig', vpcKubeconfig, ...(plan.eks ? ['--server-name', plan.eks.hostname] : []), '--json'],
    });
    lab.k8sUrl = (await waitForBanner<{ url: string }>(state, apiServer, 'the Kubernetes API server')).url;
    // EKS's DescribeCluster gives the API server's CA (certificateAuthority.data), as on AWS
    const caFile = state.path('eks-ca.pem');
    if (plan.eks) writeFileAtomicSync(caFile, kubeconfigCaPem(readFileSync(vpcKubeconfig, 'utf8')), { mode: 0o644, what: 'the cluster CA' });
    // each VPC's resolver (AmazonProvidedDNS) at its base + 2, in the aws namespace (plan.ts put the addresses there)
    const dnsListen = plan.vpcs.flatMap((v) => (v.dnsAddress ? ['--dns-listen', `${v.dnsAddress}:53`] : []));
    const emulator = startProcess(state, {
      name: 'ec2',
      ns: ns.aws,
      argv: [
        ...podnetArgv(), 'ec2', 'serve', '--listen', `${plan.ec2Endpoint}:80`, '--imds-listen', `${IMDS_ADDRESS}:80`, ...dnsListen, '--allow-non-loopback', '--region', lab.region, '--topology', scenarioPath,
        ...(plan.eks ? ['--eks-certificate-authority', caFile] : []), '--json',
      ],
      env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: lab.region },
    });
    // kubectl on the host reaches it through two relays joined by a socket in the state directory (forward.ts)
    const relaySocket = state.path('k8s.sock');
    const relays = [
      startProcess(state, { name: 'forward-aws', ns: ns.aws, argv: [...podnetArgv(), 'lab', 'forward', '--listen', relaySocket, '--connect', `${plan.ec2Endpoint}:6443`] }),
      startProcess(state, { name: 'forward-host', ns: '', argv: [...podnetArgv(), 'lab', 'forward', '--listen', '127.0.0.1:0', '--connect', relaySocket] }),
    ];
    // the cluster endpoint: a relay on :443 in its namespace to the API server (the fabric wires the cluster's ENIs)
    const endpointRelay = plan.eks ? startProcess(state, { name: ENDPOINT_RELAY, ns: plan.eks.ns, argv: [...podnetArgv(), 'lab', 'forward', '--listen', '0.0.0.0:443', '--connect', `${plan.ec2Endpoint}:6443`] }) : undefined;
    const served = await waitForBanner<{ instances: Array<{ name: string; id: string }> }>(state, emulator, 'the EC2 emulator');
    await waitForBanner(state, relays[0]!, 'the relay to the API server');
    if (endpointRelay) await waitForBanner(state, endpointRelay, 'the cluster endpoint\'s relay');
    const { listening } = await waitForBanner<{ listening: { port: number } }>(state, relays[1]!, 'the loopback relay for kubectl');
    lab.vpcKubeconfig = vpcKubeconfig;
    lab.kubeconfig = state.path('kubeconfig');
    writeFileAtomicSync(lab.kubeconfig, hostKubeconfig(readFileSync(vpcKubeconfig, 'utf8'), listening.port), { mode: 0o600, what: 'kubeconfig' });
    // what the kubelets (and the pods they run) use: the cluster endpoint by name when there is a cluster
    lab.nodeKubeconfig = vpcKubeconfig;
    if (plan.eks) {
      lab.nodeKubeconfig = state.path('node-kubeconfig');
      writeFileAtomicSync(lab.nodeKubeconfig, endpointKubeconfig(readFileSync(vpcKubeconfig, 'utf8'), plan.eks.hostname), { mode: 0o600, what: 'the nodes\' kubeconfig' });
    }
    lab.instances = Object.fromEntries(served.instances.map((i) => [i.name, i.id]));
    for (const h of Object.keys(lab.hosts)) lab.hosts[h]!.instanceId = lab.instances[h] ?? '';
    state.writeLab(lab);

    progress('starting the fabric controller');
    startProcess(state, { name: 'controller', ns: ns.aws, argv: [...podnetArgv(), 'lab', 'controller', '--state-dir', state.dir] });
    const instanceIds = [...scenario.nodes.map((n) => n.instance), ...scenario.hosts.map((h) => h.instance)].map((n) => lab.instances[n]!);
    await waitFor(
      'wiring every instance and NAT gateway',
      120_000,
      () => {
        const fabric = state.readFabric();
        if (!fabric) return undefined;
        const wiredPrimaries = new Set(fabric.enis.filter((e) => e.wired && e.deviceIndex === 0).map((e) => e.instanceId));
        const wiredIds = new Set(fabric.enis.filter((e) => e.wired).map((e) => e.eniId));
        const natWired = fabric.facts.natGateways.every((n) => wiredIds.has(n.eniId)) && fabric.facts.natGateways.length >= scenario.natGateways.length;
        // the cluster's ENIs ("Amazon EKS <name>") are the private endpoint
        const endpointWired = !plan.eks || fabric.enis.some((e) => e.wired && e.description === `Amazon EKS ${plan.eks!.cluster}`);
        return instanceIds.every((id) => wiredPrimaries.has(id)) && natWired && endpointWired ? true : undefined;
      },
      state.path('logs', 'controller.log'),
    );

    progress('preparing the nodes');
    const facts = state.readFabric()!.facts;
    for (const node of scenario.nodes) {
      lab.nodes[node.instance] = await prepareNode(state, lab, scenario, node, runtime);
    }
    state.writeLab(lab);

    // what kubectl shows is what runs: ipamd comes from deploy/'s DaemonSet (one per node with settings of its own)
    // a policy's group EC2 does not have, or of another VPC than a selected pod's node: said now, before any pod waits
    // a minute for a branch ENI the controller cannot make
    const groupProblems = policyGroupProblems(scenario, facts);
    if (groupProblems.length > 0) throw new PodnetError('CONFIG_INVALID', `invalid scenario file ${scenarioPath}: ${groupProblems.join('; ')}`, 'name security groups the scenario declares (or sg- ids EC2 has) in the VPC of the nodes whose pods the policy selects');
    progress('creating deploy/ (CRDs, RBAC, the aws-node DaemonSets), the ENIConfigs and the SecurityGroupPolicies through the API server');
    const kc = labKubeConfig(lab);
    const nodeSettings = scenario.nodes.map((n) => ({ instance: n.instance, nodeName: lab.nodes[n.instance]!.nodeName!, env: n.env }));
    await applyObjects(kc, labObjects(loadManifests(DEPLOY_DIR), nodeSettings, labNodeDefaults, [...eniConfigObjects(scenario, facts), ...securityGroupPolicyObjects(scenario, facts)]));

    if (needsSgpController(scenario, labNodeDefaults)) {
      // before the kubelets: it sees each CNINode as ipamd writes it, and its webhook is registered before any pod
      progress('starting podnet sgp-controller (trunk and branch ENIs, the pod webhooks) beside the API server');
      await startLabSgpController(state, lab, scenario, kc);
    }

    progress('starting the control plane (scheduler, DaemonSet controller) and a kubelet per node');
    // the host's mounts (as the kubelets): the Fargate nodes' namespaces it adds must be everyone's
    startProcess(state, { name: 'control-plane', ns: ns.aws, keepHostSys: true, argv: [...podnetArgv(), 'lab', 'control-plane', '--state-dir', state.dir] });
    for (const node of Object.values(lab.nodes)) {
      // in the node's network namespace but the host's mounts: the pods' namespaces it makes must be the host's; its
      // names resolve through the VPC's resolver, never the host's
      // (fail closed: a server named by hostname and no resolver known is an error, not the host's resolver)
      const env = kubeletResolverEnv(plan.eks ? `https://${plan.eks.hostname}` : undefined, node.resolvConf, `the kubelet of node ${node.name}`);
      startProcess(state, { name: `kubelet-${node.name}`, ns: node.ns, keepHostSys: true, ...(env && { env }), argv: [...podnetArgv(), 'lab', 'kubelet', '--state-dir', state.dir, '--node', node.name] });
    }

    progress('starting the echo services');
    for (const h of [...plan.internetHosts, ...plan.onPremHosts]) startEcho(state, h.ns, h.name, plan.echoPort, echoPath);
    for (const h of Object.keys(lab.hosts)) startEcho(state, lab.hosts[h]!.ns, h, plan.echoPort, echoPath);
    // started side by side above; each wait is for one of them, so a timeout quotes that one's log
    for (const n of [...plan.internetHosts.map((h) => h.ns), ...plan.onPremHosts.map((h) => h.ns), ...Object.values(lab.hosts).map((h) => h.ns)]) {
      await waitFor(`the echo service in ${n} starting`, 20_000, () => (existsSync(echoReadyFile(state, n)) ? true : undefined), echoLog(state, n));
    }

    progress('waiting for every node to be Ready (its kubelet registered it and ipamd from the DaemonSet answers)');
    const unready = await waitForNodesReady(state, kc, Object.values(lab.nodes), plan.eks !== undefined);
    // a node that cannot reach the cluster endpoint (allow-list, access, groups) stays NotReady, as on EKS: said, not fatal
    for (const [node, why] of unready) progress(`node ${node} is not Ready: ${why}`);

    if (runtime === 'containerd') {
      // after the nodes are Ready: containerd links the conflist's plugins, which the aws-node init container wrote
      // (ipamd's pods are hostNetwork: the kubelets run them without containerd, and wait for it for the others)
      progress('starting containerd on every node');
      const image = await buildSandboxImage(state);
      for (const node of Object.values(lab.nodes)) {
        // a node that never reached the API server has no conflist (aws-node's init container did not run there):
        // no containerd for it, said; its kubelet runs only hostNetwork pods should it join later
        if (unready.has(node.name) && !existsSync(join(node.confDir, '10-aws.conflist'))) {
          progress(`node ${node.name}: no containerd (no CNI configuration yet: the node has not joined)`);
          continue;
        }
        node.containerd = await startNodeContainerd(state, node, node.mountHolderPid!, image);
        state.writeLab(lab);
      }
    }

    // the nodes side by side, each node's pods in the scenario's order (as its kubelet would take them)
    await Promise.all(
      Object.keys(lab.nodes).map(async (node) => {
        for (const pod of scenario.pods.filter((p) => p.node === node)) {
          progress(`creating pod ${pod.name} on ${pod.node}`);
          await podAdd({ stateDir: state.dir, node: pod.node, name: pod.name, hostNetwork: pod.hostNetwork, eni: pod.eni, ...(pod.labels && { labels: pod.labels }) });
        }
      }),
    );
    return lab;
  } catch (err) {
    // A half-built lab must not outlive the failed command (a later `lab up` would refuse to start): remove it, as
    // `lab down` does. The logs go with it, so the message carries what they said (the tail of the one that tells).
    const hint = await labDown({ stateDir: state.dir }).then(
      () => `lab up removed what it had built (namespaces, processes, ${state.dir}); fix the cause named above and run it again`,
      (downErr: unknown) => `lab up could not remove what it had built (${(downErr as Error).message}); podnet lab down removes the half-built lab`,
    );
    if (!(err instanceof PodnetError)) throw err;
    throw new PodnetError(err.code, err.message, hint, { cause: err });
  }
}

/**
 * Starts `podnet sgp-controller` in the aws namespace with the podnet-sgp-controller ServiceAccount's token (deploy/'s
 * RBAC, applied just before), and waits for its banner, which it prints once its webhook configurations are applied.
 */
async function startLabSgpController(state: LabState, lab: LabRecord, scenario: Scenario, kc: KubeConfig): Promise<void> {
  const { namespace, name } = SGP_SERVICE_ACCOUNT;
  const token = await kc.makeApiClient(CoreV1Api).createNamespacedServiceAccountToken({ namespace, name, body: { spec: { audiences: [], expirationSeconds: 30 * 86_400 } } }).catch((err: unknown) => {
    throw new PodnetError('LAB_FAILED', `a token for ServiceAccount ${namespace}/${name}: ${apiMessage(err)}`, 'deploy/30-sgp-controller-rbac.yaml makes it; see logs/k8s.log');
  });
  const kubeconfig = state.path('sgp-controller.kubeconfig');
  writeFileAtomicSync(kubeconfig, sgpControllerKubeconfig(readFileSync(lab.vpcKubeconfig!, 'utf8'), token.status!.token), { mode: 0o600, what: 'the sgp-controller\'s kubeconfig' });
  const proc = startProcess(state, {
    name: SGP_CONTROLLER,
    ns: ns.aws,
    argv: [...podnetArgv(), ...sgpControllerArgs({ kubeconfig, ec2Url: lab.ec2Url, region: lab.region, cluster: sgpClusterName(scenario), branchCooldownSeconds: scenario.lab.branchCooldownSeconds })],
    env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: lab.region },
  });
  // its banner comes once it has applied its Mutating and ValidatingWebhookConfigurations: no pod is created before
  await waitForBanner(state, proc, 'podnet sgp-controller');
}

/** The JSON banner a `podnet … serve --json` process prints once it listens; its JSON refusal, or its exit, fails lab up. */
async function waitForBanner<T extends object>(state: LabState, proc: ProcRecord, what: string): Promise<T> {
  return waitFor(
    `${what} start`,
    90_000,
    () => {
      const exited = () => new PodnetError('LAB_FAILED', `${what} exited: ${logTail(proc.log)}`, `see ${proc.log}`);
      if (!isLabProcess(proc.pid, state.dir)) throw exited();
      // a process that logs JSON lines (pino's, which begin with their level) shares the file with its banner
      const line = readFileSync(proc.log, 'utf8').split('\n').find((l) => l.startsWith('{') && !l.startsWith('{"level":'));
      if (!line) return undefined;
      // under --json a refusal is a JSON line too ({error, hint, code}), written just before the process exits
      const banner = JSON.parse(line) as T | { error: string };
      if ('error' in banner) throw exited();
      return banner;
    },
    proc.log,
  );
}

/** A node's record and directories; its ipamd comes later, from the aws-node DaemonSet through its kubelet. */
async function prepareNode(
  state: LabState,
  lab: LabRecord,
  scenario: Scenario,
  node: Scenario['nodes'][number],
  runtime: 'containerd' | 'cni',
): Promise<NodeRecord> {
  const dir = state.path('nodes', node.instance);
  // `cni install` creates only the last component of --bin-dir and --conf-dir: their parent comes first
  for (const sub of ['log', 'cni']) mkdirSync(join(dir, sub), { recursive: true });
  // the node's /etc/resolv.conf: its VPC's resolver (base + 2), EC2's search domain
  const dns = nodeVpcDns(lab.plan, scenario, node.instance, lab.region);
  const resolvConf = join(dir, 'resolv.conf');
  if (dns) writeFileAtomicSync(resolvConf, nodeResolvConf(dns), { mode: 0o644, what: 'the node\'s resolv.conf' });
  const record: NodeRecord = {
    name: node.instance,
    instanceId: lab.instances[node.instance]!,
    instanceType: scenario.instances.find((i) => i.name === node.instance)!.type,
    nodeName: privateDnsName(primaryAddressOf(state.readFabric()!, lab.instances[node.instance]!)!.ip, lab.region),
    ns: ns.node(node.instance),
    dir,
    socket: join(dir, 'ipamd.sock'),
    binDir: join(dir, 'cni', 'bin'),
    confDir: join(dir, 'cni', 'net.d'),
    ...(dns && { resolvConf, dns }),
    // the node's settings (the kubelet sizes the node by them) and every path of this node under its own directory:
    // nodes share one mount namespace, so the kubelet gives the node's containers these paths (ipamd reads its Node
    // and the ENIConfigs from the API server, with the token the kubelet gives it)
    env: {
      ...labNodeDefaults,
      AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
      AWS_VPC_K8S_PLUGIN_LOG_FILE: join(dir, 'log', 'plugin.log'),
      AWS_VPC_K8S_CNI_LOG_FILE: join(dir, 'log', 'ipamd.log'),
      ...node.env,
    },
  };
  if (runtime === 'containerd') record.mountHolderPid = await startNodeMounts(state, record);
  return record;
}

/**
 * Every node's Node Ready (the kubelet's condition: its conflist written and ipamd's /ready 200); a gone kubelet fails
 * at once. Behind a cluster endpoint (`tolerant`), a node may be unable to reach it (its allow-list, access, groups):
 * explain's verdict for each node's connection to the endpoint (labNodeEndpointVerdicts) names the nodes that cannot,
 * which are returned at once with explain's reason (and fix) while the wait goes on for the others; a node explain
 * cannot decide for is waited for ENDPOINT_GRACE_MS once another is Ready, then returned with its condition's reason.
 */
async function waitForNodesReady(state: LabState, kc: KubeConfig, nodes: NodeRecord[], tolerant = false): Promise<Map<string, string>> {
  const core = kc.makeApiClient(CoreV1Api);
  const timeoutMs = 120_000 + 15_000 * nodes.length;
  const unready = new Map<string, string>();
  const started = Date.now();
  // lab node → explain's reason it cannot reach the endpoint; undefined until the lab's world could be built
  let refused: Map<string, string> | undefined;
  let triedAt = 0;
  const endpointRefusals = async (): Promise<Map<string, string> | undefined> => {
    if (!tolerant || refused || Date.now() - triedAt < 5_000) return refused;
    triedAt = Date.now();
    try {
      const verdicts = await labNodeEndpointVerdicts(state.dir);
      // no verdicts: the fabric has not published the cluster yet (explain's world has no endpoint); tried again later
      if (verdicts.length > 0) refused = new Map(verdicts.filter((v) => !v.reaches && v.verdict !== 'unknown').map((v) => [v.node, `${v.reason ?? 'cannot reach the cluster endpoint'}${v.fix ? ` (fix: ${v.fix})` : ''}`]));
    } catch {
      // the world needs every node's ipamd, which may not answer yet: tried again on a later poll
    }
    return refused;
  };
  // each node starts three podnet processes (kubelet, aws-node's init container, ipamd): the wait grows with the nodes
  await waitForApi('every node Ready', timeoutMs, async () => {
    for (const n of nodes) {
      const kubelet = state.procs().find((p) => p.name === `kubelet-${n.name}`);
      if (kubelet && !isLabProcess(kubelet.pid, state.dir)) throw new PodnetError('LAB_FAILED', `the kubelet of ${n.name} exited: ${logTail(kubelet.log)}`, `see ${kubelet.log}`);
    }
    const listed = await core.listNode();
    const notReady = nodes.filter((n) => {
      const node = listed.items.find((x) => x.metadata?.name === n.nodeName);
      return !node || !nodeReady(node).ready;
    });
    const refusals = notReady.length > 0 ? await endpointRefusals() : undefined;
    const pending = notReady.filter((n) => !refusals?.has(n.name));
    if (pending.length === 0) {
      for (const n of notReady) unready.set(n.name, refusals!.get(n.name)!);
      return { done: undefined };
    }
    const why = (n: NodeRecord) => {
      const node = listed.items.find((x) => x.metadata?.name === n.nodeName);
      return node ? nodeReady(node).reason : 'not registered yet (its kubelet has not reached the API server)';
    };
    // behind the endpoint: the nodes not Ready after ENDPOINT_GRACE_MS (the whole wait if none is) are reported
    if (tolerant && Date.now() - started > (pending.length < nodes.length ? Math.min(timeoutMs - 1_000, ENDPOINT_GRACE_MS) : timeoutMs - 1_000)) {
      for (const n of notReady) unready.set(n.name, refusals?.get(n.name) ?? why(n));
      return { done: undefined };
    }
    return { seen: pending.map((n) => `${n.name}: ${why(n)}`).join('; ') };
  });
  return unready;
}

/** How long lab up waits for a node behind the cluster endpoint once another node is Ready. */
const ENDPOINT_GRACE_MS = 90_000;

function echoReadyFile(state: LabState, netns: string): string {
  return state.path('logs', `echo-${netns}.ready`);
}

/** startProcess logs a process named NAME to logs/NAME.log. */
function echoLog(state: LabState, netns: string): string {
  return state.path('logs', `echo-${netns}.log`);
}

function startEcho(state: LabState, netns: string, label: string, port: number, echoPath: string): void {
  startProcess(state, { name: `echo-${netns}`, ns: netns, argv: [process.execPath, echoPath, 'serve', String(port), label, echoReadyFile(state, netns)] });
}

/** The echo service in a namespace, started now if it is not running (nodes and pods get one on first probe). */
/** Echo services this process is starting, by namespace: concurrent probes to one destination share the start. */
const echoStarts = new Map<string, Promise<void>>();

export async function ensureEcho(state: LabState, netns: string, label: string): Promise<void> {
  const lab = requireLab(state);
  const key = `${state.dir}/${netns}`;
  const pending = echoStarts.get(key);
  if (pending) return pending;
  const proc = state.procs().find((p) => p.name === `echo-${netns}`);
  const ready = () => (existsSync(echoReadyFile(state, netns)) ? true : undefined);
  const wait = () => waitFor(`the echo service in ${netns}`, 10_000, ready, echoLog(state, netns));
  // a live echo (perhaps started by another probe a moment ago) is waited for, never started twice: a second one
  // would find the port taken and the first one's ready file gone
  if (proc && isLabProcess(proc.pid, state.dir)) {
    if (!ready()) await wait();
    return;
  }
  const start = (async () => {
    rmSync(echoReadyFile(state, netns), { force: true });
    startEcho(state, netns, label, lab.plan.echoPort, state.path('echo.mjs'));
    await wait();
  })().finally(() => echoStarts.delete(key));
  echoStarts.set(key, start);
  return start;
}

export function requireLab(state: LabState): LabRecord {
  const lab = state.readLab();
  if (!lab) throw new PodnetError('LAB_NOT_UP', `no lab is up (no ${state.path('lab.json')})`, 'start one: podnet lab up [SCENARIO]');
  return lab;
}

// ---- pods ----

export interface PodAddOptions {
  stateDir?: string;
  node: string;
  name: string;
  hostNetwork?: boolean;
  /** put the pod behind this ENI (device index) */
  eni?: number;
  /** the Pod object's labels (a SecurityGroupPolicy's podSelector picks pods by them) */
  labels?: Record<string, string>;
}

export async function podAdd(opts: PodAddOptions): Promise<PodRecord> {
  const state = new LabState(opts.stateDir ?? DEFAULT_STATE_DIR);
  const lab = requireLab(state);
  const node = lab.nodes[opts.node];
  if (!node) throw new PodnetError('USAGE', `no node named '${opts.node}' in the lab`, `nodes: ${Object.keys(lab.nodes).join(', ')}`);
  if (!/^[a-z0-9][a-z0-9-]{0,30}$/.test(opts.name)) throw new PodnetError('USAGE', `'${opts.name}' is not a pod name`, 'lowercase letters, digits and -, at most 31 characters');
  if (state.pod(opts.name) || Object.keys(lab.instances).includes(opts.name) || [...lab.plan.internetHosts, ...lab.plan.onPremHosts].some((h) => h.name === opts.name)) {
    throw new PodnetError('USAGE', `the name '${opts.name}' is taken`, 'pick another pod name (pods, nodes and hosts share one namespace of names)');
  }
  // the scenario's label grammar (Kubernetes'), said before any pod is made; the lab's own label names the pod
  const labelErrors = [...labelProblems(opts.labels, 'labels'), ...(opts.labels && LAB_POD_LABEL in opts.labels ? [`labels.${LAB_POD_LABEL}: the lab sets this label to the pod's name`] : [])];
  if (labelErrors.length > 0) throw new PodnetError('USAGE', `--label: ${labelErrors.join('; ')}`, `a label key is [prefix/]name (name: 1–63 letters, digits, -, _ or ., starting and ending with a letter or digit), a value the same or empty; use a key other than ${LAB_POD_LABEL}`);
  if (opts.eni !== undefined) {
    // checked as the scenario loader checks a pod's eni: a device the type lacks would only fail after 64 ADDs
    if (opts.hostNetwork) throw new PodnetError('USAGE', '--eni with --host-network: a hostNetwork pod uses the node\'s addresses', 'drop --eni or --host-network');
    const problem = eniIndexProblem(node.instanceType, opts.eni);
    if (problem) throw new PodnetError('USAGE', `--eni ${opts.eni}: ${problem}`, 'pick one of the ENIs named above, or a node of a larger instance type');
  }
  const kc = labKubeConfig(lab);
  if (opts.eni === undefined) return addOnePod(state, kc, node, opts.name, opts.hostNetwork ?? false, opts.labels);
  return addPodOnEni(state, kc, node, opts.name, opts.eni, opts.labels);
}

/** The Pod object, bound to the node; its kubelet makes the sandbox (or none: hostNetwork) and writes the lab's record. */
async function addOnePod(state: LabState, kc: KubeConfig, node: NodeRecord, name: string, hostNetwork: boolean, labels?: Record<string, string>): Promise<PodRecord> {
  await submitPod(kc, labPodObject(name, { nodeName: node.nodeName, hostNetwork, ...(labels && { labels }) }));
  try {
    const created = await waitForPodRunning(kc, 'default', name);
    // the record of this pod (a hostNetwork pod's has no address of its own)
    const mine = (r: PodRecord | undefined) => (r && (hostNetwork ? r.hostNetwork : r.ip === created.status?.podIP) ? r : undefined);
    const pod = await waitFor(`the kubelet of ${node.name} recording pod ${name}`, 30_000, () => mine(state.pod(name)), kubeletLog(state, node.name));
    if (pod.ip && !pod.hostNetwork) await waitForRoute(state, pod.ip);
    return pod;
  } catch (err) {
    // no half-made pod: the Pod goes (its kubelet undoes whatever it made), and the error says why it never ran —
    // its newest Warning Event (a selected pod without a branch: the controller's, or the kubelet's sandbox failure)
    const warning = await latestPodWarning(kc, 'default', name);
    await removePod(state, kc, node, name).catch(() => undefined);
    const message = err instanceof Error ? err.message : String(err);
    throw new PodnetError(err instanceof PodnetError ? err.code : 'LAB_FAILED', `pod ${name} on ${node.name} did not run${warning ? ` (${warning})` : ''}: ${message}`, `the Pod was deleted; fix the cause and add it again (its node's kubelet log: ${kubeletLog(state, node.name)})`, { cause: err });
  }
}

const kubeletLog = (state: LabState, node: string) => state.path('logs', `kubelet-${node}.log`);

/** Deletes the Pod and waits until its kubelet has torn it down (CNI DEL, its record gone). */
async function removePod(state: LabState, kc: KubeConfig, node: NodeRecord, name: string): Promise<void> {
  await deletePod(kc, 'default', name);
  await waitFor(`the kubelet of ${node.name} removing pod ${name}`, 30_000, () => (state.pod(name) ? undefined : true), kubeletLog(state, node.name));
}

/** The fabric routes an address once EC2 put it on a wired ENI; returns that ENI (a branch ENI has `trunk`, no device index). */
async function waitForRoute(state: LabState, ip: string): Promise<FabricStatus['enis'][number]> {
  return waitFor(`the fabric routing ${ip}`, 15_000, () => eniHolding(state.readFabric()?.enis.filter((e) => e.wired) ?? [], ip), state.path('logs', 'controller.log'));
}

/** ipamd has set up a secondary ENI once its route table (device + 1, spec §3.2) has the default route. */
async function waitForEniTable(node: NodeRecord, device: number): Promise<void> {
  const table = eniRouteTable(device);
  await waitFor(`ipamd on ${node.name} setting up eth${device} (route table ${table})`, 30_000, async () => {
    // until ipamd writes it, the table does not exist and `ip route show table N` fails
    const stdout = await run(['ip', '-j', 'route', 'show', 'table', String(table)], { netns: node.ns }).then((r) => r.stdout, () => '[]');
    return (JSON.parse(stdout || '[]') as Array<{ dst: string }>).some((r) => r.dst === 'default') ? true : undefined;
  }, join(node.dir, 'log', 'ipamd.log'));
}

/**
 * ipamd picks a pod's address itself (as upstream's datastore does), so a pod lands behind ENI N by asking until it
 * does: an address on another ENI is given back at once (CNI DEL), which puts it in ipamd's cooldown (spec §4.12),
 * so the next ADD gets another address, and ipamd's warm pool attaches ENI N as the earlier ENIs run dry.
 */
async function addPodOnEni(state: LabState, kc: KubeConfig, node: NodeRecord, name: string, device: number, labels?: Record<string, string>): Promise<PodRecord> {
  for (let attempt = 0; attempt < 64; attempt++) {
    const added = await addOnePod(state, kc, node, name, false, labels);
    const eni = added.ip ? await waitForRoute(state, added.ip) : undefined;
    if (eni?.trunk) {
      // a policy selected the pod: its address is its branch ENI's and will never be behind a device; asking again
      // would only burn branch ENIs (each deleted one waits out the cooldown)
      await removePod(state, kc, node, name);
      throw new PodnetError('USAGE', `--eni ${device}: a SecurityGroupPolicy selects pod ${name}, so its address ${added.ip} is its branch ENI ${eni.eniId}'s (${vlanLinkName(eni.trunk.vlanId)}), behind no device of ${node.name}`, 'drop --eni (or the labels the policy selects): a branch pod\'s address is its branch ENI\'s');
    }
    const landed = eni ? eni.deviceIndex : null;
    if (landed === device) {
      const pod: PodRecord = { ...added, eni: device };
      state.writePod(pod);
      if (device > 0) await waitForEniTable(node, device);
      return pod;
    }
    // the next pod of this name only once the kubelet has torn this one down
    await removePod(state, kc, node, name);
  }
  throw new PodnetError('LAB_FAILED', `pod ${name} did not land on ENI ${device} of ${node.name} after 64 addresses`, "check that the node's instance type has that ENI and that its warm-pool settings let ipamd attach it");
}

/** Deletes the Pod object; its kubelet runs CNI DEL and removes the lab's record. */
export async function podDel(opts: { stateDir?: string; name: string }): Promise<void> {
  const state = new LabState(opts.stateDir ?? DEFAULT_STATE_DIR);
  const lab = requireLab(state);
  const pod = state.pod(opts.name);
  if (!pod) throw new PodnetError('USAGE', `no pod named '${opts.name}'`, `pods: ${state.pods().map((p) => p.name).join(', ') || 'none'}`);
  if (!pod.hostNetwork) {
    const echo = state.procs().find((p) => p.name === `echo-${pod.ns}`);
    if (echo && isLabProcess(echo.pid, state.dir)) process.kill(echo.pid, 'SIGKILL');
  }
  const kc = labKubeConfig(lab);
  const object = await podByKey(kc, pod.name);
  if (object) await deletePod(kc, object.namespace, object.name);
  await waitFor(`the kubelet of ${pod.node} removing pod ${pod.name}`, 30_000, () => (state.pod(pod.name) ? undefined : true), kubeletLog(state, pod.node));
}

// ---- down ----

export interface DownReport {
  processes: number;
  namespaces: number;
  links: number;
  mounts: number;
}

async function pidsIn(netns: string): Promise<number[]> {
  try {
    const { stdout } = await run(['ip', 'netns', 'pids', netns]);
    return stdout.split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Removes everything the lab made: its processes (by record, then every process left in a lab namespace), namespaces, stray links and mounts. */
export async function labDown(opts: { stateDir?: string; progress?: Progress } = {}): Promise<DownReport> {
  requireRoot();
  const state = new LabState(opts.stateDir ?? DEFAULT_STATE_DIR);
  const report: DownReport = { processes: 0, namespaces: 0, links: 0, mounts: 0 };
  const victims = new Set<number>();
  for (const p of state.procs()) if (isLabProcess(p.pid, state.dir)) victims.add(p.pid);
  for (const pid of victims) process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + 3000;
  while ([...victims].some(alive) && Date.now() < deadline) await sleep(50);
  for (const pid of victims) if (alive(pid)) process.kill(pid, 'SIGKILL');
  report.processes = victims.size;

  const labNamespaces = (await listNetns()).filter((n) => n.startsWith(NS_PREFIX));
  for (const n of labNamespaces) {
    // whatever still runs inside a lab namespace was started by the lab (a crashed lab leaves no records)
    for (const pid of await pidsIn(n)) {
      if (alive(pid)) {
        process.kill(pid, 'SIGKILL');
        report.processes++;
      }
    }
  }
  // runc's sandbox cgroups live outside every namespace (and hold a pause process whose shim was killed -9)
  report.processes += await removeLabCgroups(state.dir);
  opts.progress?.(`removing ${labNamespaces.length} namespaces`);
  await ipBatch(labNamespaces.map((n) => `netns del ${n}`), undefined, { force: true }).catch(() => undefined);
  report.namespaces = labNamespaces.length;

  const { stdout } = await run(['ip', '-j', 'link', 'show']);
  const strays = (JSON.parse(stdout || '[]') as Array<{ ifname: string }>).map((l) => l.ifname).filter((n) => n.startsWith(LINK_PREFIX));
  await ipBatch(strays.map((n) => `link del ${n}`), undefined, { force: true }).catch(() => undefined);
  report.links = strays.length;

  for (const mount of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const target = mount.split(' ')[4];
    if (target?.startsWith(`/run/netns/${NS_PREFIX}`)) {
      await run(['umount', '-l', target]).catch(() => undefined);
      rmSync(target, { force: true });
      report.mounts++;
    }
  }
  state.remove();
  return report;
}
