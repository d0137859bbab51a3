/**
 * `lab probe` and `lab status`: real packets between lab endpoints (pods, nodes, hosts, internet and on-premises
 * hosts) and what the receiver saw, and the lab's nodes, ENIs, addresses, prefixes and pods as EC2 and the fabric see
 * them.
 */
import { explainFlow, type ExplainVerdict, type Explanation } from '../explain/index.js';
import { PodnetError, run } from '../lib/index.js';
import { attributeDrop, explainDrop, readDropCounters, type DropCounter, type DropExplanation, type DropReason } from './drops.js';
import type { EchoAnswer } from './echo.js';
import { findLabEndpoint, labEndpoints, primaryAddressOf, type LabEndpoint } from './endpoints.js';
import { clusterStatus, isIpamdProcess, labKubeConfig, type ClusterStatus } from './cluster.js';
import { labNodeEndpointVerdicts, type NodeEndpointVerdict } from './endpoint-verdicts.js';
import { ensureEcho, requireLab } from './lab.js';
import { labWorld } from './explain-world.js';
import { labModel } from './render.js';
import { eniHolding, vpcContaining, type PathStart, type Traffic, type VpcModel } from '../vpc/index.js';
import { DEFAULT_STATE_DIR, LabState, isLabProcess, type FabricStatus, type LabRecord } from './state.js';

export type Proto = 'tcp' | 'udp' | 'icmp';

/** A lab endpoint with its address: where a probe is sent from or to. */
export type Endpoint = LabEndpoint & { address: string };

/** Resolves a pod, node, host, internet or on-premises host name to where it lives and its address. */
export function resolveEndpoint(state: LabState, lab: LabRecord, name: string): Endpoint {
  return findLabEndpoint(labEndpoints(lab, state.readFabric(), state.pods()), name);
}

/** What `podnet explain` says of a probe's flow, next to what the packet did. */
export interface ProbeExplain {
  verdict: ExplainVerdict;
  sourceSeen: string | null;
  codes: string[];
  /** the hops that decided it (`element id: matched rule`): the one that dropped it, those that translated it */
  deciding: string[];
  reason?: string;
  fix?: string;
}

/** What the packet did, before explain is asked. */
export type Observation = Omit<ProbeResult, 'explain' | 'explainError' | 'disagreement'>;

export interface ProbeResult {
  from: string;
  to: string;
  proto: Proto;
  /** the address the probe was sent to (a VPC endpoint's public IP when sent from the internet) */
  target: string;
  port: number | null;
  delivered: boolean;
  /** the source address and port the receiver saw (null for ICMP, which reports only delivery) */
  saw: string | null;
  sawPort: number | null;
  /** the sender's own address */
  sentFrom: string;
  /**
   * why the fabric dropped it, read from its shared counters (drops.ts: a heuristic); null when delivered, when no
   * counter moved, or when more than one did
   */
  reason: DropReason | null;
  /**
   * for a security-group or network-acl reason: which group or ACL, the rule, and why, as the model evaluates the
   * probe's flow (drops.ts explainDrop); null otherwise, or when the model does not drop the flow that way
   */
  droppedBy: DropExplanation | null;
  error?: string;
  /** explain's account of the same flow (asked after the probe); null when explain could not answer */
  explain: ProbeExplain | null;
  /** why explain could not answer */
  explainError?: string;
  /** `DISAGREEMENT: explain says … but the probe saw … — this is a podnet bug`, or null when they agree */
  disagreement: string | null;
}

export interface ProbeOptions {
  stateDir?: string;
  port?: number;
  proto?: Proto;
  timeoutMs?: number;
}

/**
 * Sends one probe and reports what the packet did, then what explain says of the same flow, and whether the two
 * disagree. Explain is asked only after the packet's outcome is recorded: what the probe observes never depends on it.
 */
export async function probe(fromName: string, toName: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
  const observed = await observe(new LabState(stateDir), fromName, toName, opts);
  let account: ProbeExplain;
  try {
    const world = await labWorld(stateDir);
    account = probeExplain(explainFlow(world, { from: fromName, to: toName, protocol: observed.proto, ...(observed.port !== null ? { port: observed.port } : {}) }));
  } catch (err) {
    // explain failing on a lab flow is itself a podnet bug: the probe's observation still stands, and says so
    const explainError = err instanceof Error ? err.message : String(err);
    return { ...observed, explain: null, explainError, disagreement: `DISAGREEMENT: explain could not answer (${explainError}) but the probe saw ${observedText(observed)} — this is a podnet bug` };
  }
  return { ...observed, explain: account, disagreement: disagreement(observed, account) };
}

/** What the packet did: sent for real, its outcome read from the receiver's answer and the fabric's counters. */
async function observe(state: LabState, fromName: string, toName: string, opts: ProbeOptions): Promise<Observation> {
  const lab = requireLab(state);
  const from = resolveEndpoint(state, lab, fromName);
  const to = resolveEndpoint(state, lab, toName);
  const proto = opts.proto ?? 'tcp';
  const timeoutMs = opts.timeoutMs ?? 2000;
  // From the internet, a VPC endpoint is reachable only at its public IP (if it has one).
  const target = from.kind === 'internet' && to.kind !== 'internet' ? (to.publicIp ?? to.address) : to.address;
  const base = { from: fromName, to: toName, proto, target, sentFrom: from.address, reason: null, droppedBy: null };
  // The fabric's drop counters before and after an undelivered probe say where it was dropped, unless other traffic
  // moved one too (drops.ts). From the internet, an endpoint without a public IP is tried at its private address,
  // which no internet router knows: the packet never enters the fabric (the internet host's ARP goes unanswered), and
  // the lab knows why without a counter. (An on-premises host is no VPC endpoint: no public IP is missing there.)
  const fromInternetToPrivate = from.kind === 'internet' && to.kind !== 'internet' && to.kind !== 'on-premises' && !to.publicIp;
  const counters = async (): Promise<DropCounter[]> => (fromInternetToPrivate ? [] : readDropCounters(lab.plan));
  const why = async (before: DropCounter[]): Promise<DropReason | null> => (fromInternetToPrivate ? 'no-public-ip' : attributeDrop(before, await counters()));
  if (proto === 'icmp') {
    const before = await counters();
    try {
      await run(['busybox', 'ping', '-c', '1', '-W', String(Math.max(1, Math.round(timeoutMs / 1000))), target], { netns: from.ns, timeoutMs: timeoutMs + 2000 });
      return { ...base, port: null, delivered: true, saw: null, sawPort: null };
    } catch (err) {
      if (err instanceof PodnetError && err.code === 'MISSING_TOOL') throw new PodnetError('MISSING_TOOL', 'ICMP probes use busybox ping, and busybox is not installed', 'apt-get install -y busybox-static');
      const reason = await why(before);
      return { ...base, port: null, delivered: false, saw: null, sawPort: null, reason, droppedBy: explainProbe(state, lab, fromName, from, target, reason, { protocol: 'icmp', icmp: { type: 8, code: 0 } }), error: 'no echo reply' };
    }
  }
  const port = opts.port ?? lab.plan.echoPort;
  if (port === lab.plan.echoPort && (to.kind === 'pod' || to.kind === 'node')) await ensureEcho(state, to.ns, to.name);
  const before = await counters();
  const { stdout } = await run([process.execPath, state.path('echo.mjs'), 'probe', proto, target, String(port), String(timeoutMs)], { netns: from.ns, timeoutMs: timeoutMs + 5000 });
  const answer = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as EchoAnswer;
  const reason = answer.delivered ? null : await why(before);
  return {
    ...base,
    port,
    delivered: answer.delivered,
    saw: answer.saw ?? null,
    sawPort: answer.sawPort ?? null,
    sentFrom: answer.from ?? from.address,
    reason,
    droppedBy: explainProbe(state, lab, fromName, from, target, reason, { protocol: proto, destinationPort: port }),
    ...(answer.error ? { error: answer.error } : {}),
  };
}

/** The hops that decided a flow: the one that dropped it, and those that translated the packet on its way. */
function decidingHops(e: Explanation): string[] {
  return [...e.forward.filter((h) => h.dropped || h.after), ...e.return.filter((h) => h.dropped)].map((h) => `${h.element} ${h.id}: ${h.matched}`);
}

function probeExplain(e: Explanation): ProbeExplain {
  return { verdict: e.verdict, sourceSeen: e.sourceSeen, codes: e.codes, deciding: decidingHops(e), ...(e.reason ? { reason: e.reason } : {}), ...(e.fix ? { fix: e.fix } : {}) };
}

/** A refused TCP connection reached its destination (nothing listened there): the network delivered it. */
function arrived(o: Observation): boolean {
  return o.delivered || o.error === 'ECONNREFUSED';
}

function observedText(o: Observation): string {
  if (o.delivered) return o.saw ? `it arrive with source ${o.saw}` : 'it arrive';
  if (arrived(o)) return 'it arrive (refused: nothing listens on that port)';
  return `nothing arrive (${o.error ?? 'no answer'})`;
}

function explainText(e: ProbeExplain): string {
  if (e.verdict === 'delivered') return `delivered${e.sourceSeen ? `, seen as ${e.sourceSeen}` : ''}`;
  return `${e.verdict}${e.reason ? ` (${e.reason})` : ''}`;
}

/**
 * Where explain and the packet differ — whether it arrived, or the source address seen — as the loud sentence the
 * probe prints; null when they agree. `unknown` is a disagreement too: the lab is fully modelled.
 */
export function disagreement(o: Observation, e: ProbeExplain): string | null {
  const differs = e.verdict === 'unknown' || arrived(o) !== (e.verdict === 'delivered') || (o.delivered && o.saw !== null && o.saw !== e.sourceSeen);
  return differs ? `DISAGREEMENT: explain says ${explainText(e)} but the probe saw ${observedText(o)} — this is a podnet bug` : null;
}

/** Explain's account as one line for the probe's text: verdict, source seen, codes, the deciding hops. */
export function probeExplainLine(r: ProbeResult): string {
  if (!r.explain) return `explain: could not answer (${r.explainError ?? 'no answer'})`;
  const e = r.explain;
  const parts = [explainText(e), ...(e.codes.length ? [e.codes.join(', ')] : []), ...e.deciding];
  return `explain: ${parts.join('; ')}${e.fix ? `\n  fix: ${e.fix}` : ''}`;
}

/**
 * The model's account of a security-group or network-acl drop: the probe's flow from the sender's own address, and for
 * a pod also from its node's primary address (the node's SNAT may have translated it; src/vpc has no node — explain's account does — so
 * the translated start goes first when the destination is outside the sender's VPC, where SNAT is the default).
 */
function explainProbe(state: LabState, lab: LabRecord, fromName: string, from: Endpoint, target: string, reason: DropReason | null, traffic: Traffic): DropExplanation | null {
  if (reason !== 'security-group' && reason !== 'network-acl') return null;
  const fabric = state.readFabric();
  if (!fabric) return null;
  const model: VpcModel = labModel(lab.plan, fabric.facts, fabric.enis);
  const starts: PathStart[] = [];
  if (from.kind === 'internet') starts.push({ internet: from.address });
  else if (from.kind === 'on-premises') starts.push({ onPremises: from.address });
  else {
    const own = eniHolding(fabric.enis, from.address);
    if (own) starts.push({ eniId: own.eniId, source: from.address });
    const node = lab.nodes[state.pod(fromName)?.node ?? ''];
    const primary = node && primaryAddressOf(fabric, node.instanceId);
    const primaryEni = primary && eniHolding(fabric.enis, primary.ip);
    if (primary && primaryEni && primary.ip !== from.address) {
      const leavesVpc = vpcContaining(model, target)?.id !== primaryEni.vpcId;
      starts[leavesVpc ? 'unshift' : 'push']({ eniId: primaryEni.eniId, source: primary.ip });
    }
  }
  return explainDrop(model, reason, starts, target, traffic);
}

export interface LabStatus {
  stateDir: string;
  startedAt: string;
  scenario: string;
  /** how pods are created: CRI on each node's containerd, or the node's podnet-cni run directly */
  runtime: 'containerd' | 'cni';
  ec2: string;
  imds: string;
  /** The Kubernetes API server and the admin kubeconfig lab up wrote (null for a lab started before it had one). */
  k8s: string | null;
  kubeconfig: string | null;
  fabric: { generation: number; eventsConnected: boolean; error?: string } | null;
  nodes: Array<{
    name: string; instanceId: string; namespace: string; ipamd: 'running' | 'stopped'; enis: Array<{ device: number | null; eniId: string; mac: string; addresses: string[]; prefixes: string[]; publicIps: string[]; wired: boolean }>;
    /**
     * branch ENIs associated with a trunk attached to this node (security groups for pods): each is the node's link
     * `vlan.eth.<vlanId>` (render.ts); `pod` is the lab pod whose address is the branch's
     */
    branches: Array<{ vlanId: number; eniId: string; trunkEniId: string; mac: string; address: string | null; groups: string[]; pod: string | null; wired: boolean }>;
    /** the node's Kubernetes readiness and why it is not Ready (labStatusWithCluster; absent from labStatus) */
    kubernetes?: NodeKubernetesStatus;
  }>;
  hosts: Array<{ name: string; namespace: string; address: string | null }>;
  /** vlanId: a branch pod's (its address is a branch ENI's), null otherwise */
  pods: Array<{ name: string; node: string; namespace: string; ip: string | null; hostNetwork: boolean; eni: number | null; vlanId: number | null }>;
  processes: Array<{ name: string; pid: number; namespace: string; running: boolean }>;
  /** node readiness and pod phases from the API server (labStatusWithCluster; absent from labStatus) */
  cluster?: ClusterStatus;
}

/** A lab node as the API server has it, and (with an EKS cluster) whether it reaches the cluster endpoint. */
export interface NodeKubernetesStatus {
  /** its Node name (the EC2 private DNS name), null when the lab has not recorded it */
  nodeName: string | null;
  ready: 'Ready' | 'NotReady' | 'Unknown' | 'NotRegistered';
  /** the Ready condition's reason and message, or why there is none */
  reason: string;
  /** not Ready and the node does not reach the endpoint: explain's reason (`cannot reach the cluster endpoint: …`) */
  why?: string;
  /** explain's answer for the node's connection to the cluster endpoint (443/tcp); absent without a cluster */
  endpoint?: NodeEndpointVerdict;
}

/**
 * Each node's readiness beside explain's verdict for its connection to the cluster endpoint: a node that is not
 * Ready, or not registered at all, and cannot reach the endpoint gets that as its `why` (pure).
 */
export function nodeKubernetesStatus(nodes: readonly { name: string; nodeName?: string }[], cluster: ClusterStatus, verdicts: readonly NodeEndpointVerdict[]): Map<string, NodeKubernetesStatus> {
  const out = new Map<string, NodeKubernetesStatus>();
  for (const n of nodes) {
    const k8s = n.nodeName ? cluster.nodes.find((x) => x.name === n.nodeName) : undefined;
    const endpoint = verdicts.find((v) => v.node === n.name);
    const ready: NodeKubernetesStatus['ready'] = !k8s ? 'NotRegistered' : k8s.ready ? 'Ready' : k8s.condition === 'Unknown' ? 'Unknown' : 'NotReady';
    const reason = k8s ? k8s.reason : n.nodeName ? `no Node ${n.nodeName} in the API server` : 'the lab has not recorded its Node name';
    const why = ready !== 'Ready' && endpoint && !endpoint.reaches ? endpoint.reason : undefined;
    out.set(n.name, { nodeName: n.nodeName ?? null, ready, reason, ...(why ? { why } : {}), ...(endpoint ? { endpoint } : {}) });
  }
  return out;
}

export function labStatus(opts: { stateDir?: string } = {}): LabStatus {
  const state = new LabState(opts.stateDir ?? DEFAULT_STATE_DIR);
  const lab = requireLab(state);
  const fabric = state.readFabric();
  const procs = state.procs();
  const enis = fabric?.enis ?? [];
  const pods = state.pods();
  return {
    stateDir: state.dir,
    startedAt: lab.startedAt,
    scenario: lab.scenarioPath,
    runtime: lab.runtime ?? 'cni',
    ec2: lab.ec2Url,
    imds: lab.imdsUrl,
    k8s: lab.k8sUrl ?? null,
    kubeconfig: lab.kubeconfig ?? null,
    fabric: fabric ? { generation: fabric.generation, eventsConnected: fabric.eventsConnected, ...(fabric.error ? { error: fabric.error } : {}) } : null,
    nodes: Object.values(lab.nodes).map((n) => {
      // ipamd is the aws-node container of a DaemonSet pod, a process the node's kubelet started in the node's namespace
      const ipamd = procs.filter((p) => isIpamdProcess(p, n));
      return {
        name: n.name,
        instanceId: n.instanceId,
        namespace: n.ns,
        ipamd: ipamd.some((p) => isLabProcess(p.pid, state.dir)) ? 'running' : 'stopped',
        enis: enis
          .filter((e) => e.instanceId === n.instanceId)
          .sort((a, b) => (a.deviceIndex ?? 99) - (b.deviceIndex ?? 99))
          .map((e) => ({ device: e.deviceIndex, eniId: e.eniId, mac: e.mac, addresses: e.privateIps, prefixes: e.ipv4Prefixes, publicIps: Object.values(e.publicIps), wired: e.wired })),
        branches: enis
          .filter((e) => e.trunk && enis.some((t) => t.eniId === e.trunk!.trunkEniId && t.instanceId === n.instanceId))
          .sort((a, b) => a.trunk!.vlanId - b.trunk!.vlanId)
          .map((e) => ({ vlanId: e.trunk!.vlanId, eniId: e.eniId, trunkEniId: e.trunk!.trunkEniId, mac: e.mac, address: e.privateIps[0] ?? null, groups: e.groupIds, pod: pods.find((p) => p.ip !== null && p.ip === e.privateIps[0])?.name ?? null, wired: e.wired })),
      };
    }),
    hosts: [
      ...Object.entries(lab.hosts).map(([name, h]) => ({ name, namespace: h.ns, address: enis.find((e) => e.instanceId === h.instanceId && e.deviceIndex === 0)?.privateIps[0] ?? null })),
      ...[...lab.plan.internetHosts, ...lab.plan.onPremHosts].map((h) => ({ name: h.name, namespace: h.ns, address: h.address })),
    ],
    pods: pods.map((p) => {
      const eni = p.ip ? eniHolding(enis, p.ip) : undefined;
      return { name: p.name, node: p.node, namespace: p.ns, ip: p.ip, hostNetwork: p.hostNetwork, eni: eni?.deviceIndex ?? p.eni ?? null, vlanId: eni?.trunk?.vlanId ?? null };
    }),
    processes: procs.map((p) => ({ name: p.name, pid: p.pid, namespace: p.ns, running: isLabProcess(p.pid, state.dir) })),
  };
}

/**
 * labStatus plus what the API server says of the nodes and pods (through the host kubeconfig), and for each node its
 * readiness with, when it is not Ready, explain's reason if it cannot reach the cluster endpoint.
 */
export async function labStatusWithCluster(opts: { stateDir?: string } = {}): Promise<LabStatus> {
  const status = labStatus(opts);
  const lab = requireLab(new LabState(opts.stateDir ?? DEFAULT_STATE_DIR));
  if (!lab.kubeconfig) return status;
  const cluster = await clusterStatus(labKubeConfig(lab));
  if (cluster.error) return { ...status, cluster };
  let verdicts: NodeEndpointVerdict[] = [];
  try {
    verdicts = await labNodeEndpointVerdicts(status.stateDir);
  } catch {
    // explain could not build the lab's World (the fabric has published nothing yet, the emulator is gone): readiness alone
  }
  const kubernetes = nodeKubernetesStatus(Object.values(lab.nodes), cluster, verdicts);
  return { ...status, nodes: status.nodes.map((n) => ({ ...n, ...(kubernetes.get(n.name) ? { kubernetes: kubernetes.get(n.name)! } : {}) })), cluster };
}

/** `lab kubeconfig`: the host kubeconfig's path (kubectl on the host reaches the API server through the relay). */
export function labKubeconfig(opts: { stateDir?: string } = {}): { kubeconfig: string; vpcKubeconfig: string | null } {
  const lab = requireLab(new LabState(opts.stateDir ?? DEFAULT_STATE_DIR));
  if (!lab.kubeconfig) throw new PodnetError('LAB_FAILED', 'this lab has no kubeconfig (it was started by an older podnet)', 'take it down and up again: podnet lab down && podnet lab up');
  return { kubeconfig: lab.kubeconfig, vpcKubeconfig: lab.vpcKubeconfig ?? null };
}
