/**
 * `lab probe` and `lab status`: real packets between lab endpoints (pods, nodes, hosts, internet and on-premises
 * hosts) and what the receiver saw, and the lab's nodes, ENIs, addresses, prefixes and pods as EC2 and the fabric see
 * them.
 */
import { PodnetError, run } from '../lib/index.js';
import { attributeDrop, explainDrop, readDropCounters, type DropCounter, type DropExplanation, type DropReason } from './drops.js';
import type { EchoAnswer } from './echo.js';
import { ensureEcho, requireLab } from './lab.js';
import { labModel } from './render.js';
import { eniHolding, vpcContaining, type PathStart, type Traffic, type VpcModel } from '../vpc/index.js';
import { DEFAULT_STATE_DIR, LabState, isLabProcess, type FabricStatus, type LabRecord } from './state.js';

export type Proto = 'tcp' | 'udp' | 'icmp';

export interface Endpoint {
  name: string;
  kind: 'pod' | 'node' | 'host' | 'internet' | 'on-premises';
  ns: string;
  /** the address it sends from and listens on */
  address: string;
  /** its public IP, if EC2 gave it one */
  publicIp?: string;
}

function primaryOf(fabric: FabricStatus | undefined, instanceId: string): { ip: string; publicIp?: string } | undefined {
  const eni = fabric?.enis.find((e) => e.instanceId === instanceId && e.deviceIndex === 0);
  const ip = eni?.privateIps[0];
  return ip ? { ip, publicIp: eni.publicIps[ip] } : undefined;
}

/** Resolves a pod, node, host or internet-host name to where it lives and its address. */
export function resolveEndpoint(state: LabState, lab: LabRecord, name: string): Endpoint {
  const fabric = state.readFabric();
  const inet = lab.plan.internetHosts.find((h) => h.name === name);
  if (inet) return { name, kind: 'internet', ns: inet.ns, address: inet.address };
  const onPrem = lab.plan.onPremHosts.find((h) => h.name === name);
  if (onPrem) return { name, kind: 'on-premises', ns: onPrem.ns, address: onPrem.address };
  const pod = state.pod(name);
  if (pod) {
    if (pod.hostNetwork) {
      const node = lab.nodes[pod.node]!;
      const p = primaryOf(fabric, node.instanceId);
      if (!p) throw new PodnetError('LAB_FAILED', `node ${pod.node} has no wired primary ENI`, 'see podnet lab status');
      return { name, kind: 'pod', ns: node.ns, address: p.ip, publicIp: p.publicIp };
    }
    if (!pod.ip) throw new PodnetError('LAB_FAILED', `pod ${name} has no IPv4 address`, 'delete and add it again');
    return { name, kind: 'pod', ns: pod.ns, address: pod.ip };
  }
  const node = lab.nodes[name];
  const host = lab.hosts[name];
  const instanceId = node?.instanceId ?? host?.instanceId;
  if (instanceId) {
    const p = primaryOf(fabric, instanceId);
    if (!p) throw new PodnetError('LAB_FAILED', `${name} has no wired primary ENI`, 'see podnet lab status');
    return { name, kind: node ? 'node' : 'host', ns: node?.ns ?? host!.ns, address: p.ip, publicIp: p.publicIp };
  }
  const known = [...state.pods().map((p) => p.name), ...Object.keys(lab.nodes), ...Object.keys(lab.hosts), ...lab.plan.internetHosts.map((h) => h.name), ...lab.plan.onPremHosts.map((h) => h.name)];
  throw new PodnetError('USAGE', `no pod, node or host named '${name}'`, `known names: ${known.join(', ')}`);
}

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
}

export interface ProbeOptions {
  stateDir?: string;
  port?: number;
  proto?: Proto;
  timeoutMs?: number;
}

export async function probe(fromName: string, toName: string, opts: ProbeOptions = {}): Promise<ProbeResult> {
  const state = new LabState(opts.stateDir ?? DEFAULT_STATE_DIR);
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

/**
 * The model's account of a security-group or network-acl drop: the probe's flow from the sender's own address, and for
 * a pod also from its node's primary address (the node's SNAT may have translated it; the model has no node yet, so
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
    const primary = node && primaryOf(fabric, node.instanceId);
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
  fabric: { generation: number; eventsConnected: boolean; error?: string } | null;
  nodes: Array<{ name: string; instanceId: string; namespace: string; ipamd: 'running' | 'stopped'; enis: Array<{ device: number | null; eniId: string; mac: string; addresses: string[]; prefixes: string[]; publicIps: string[]; wired: boolean }> }>;
  hosts: Array<{ name: string; namespace: string; address: string | null }>;
  pods: Array<{ name: string; node: string; namespace: string; ip: string | null; hostNetwork: boolean; eni: number | null }>;
  processes: Array<{ name: string; pid: number; namespace: string; running: boolean }>;
}

export function labStatus(opts: { stateDir?: string } = {}): LabStatus {
  const state = new LabState(opts.stateDir ?? DEFAULT_STATE_DIR);
  const lab = requireLab(state);
  const fabric = state.readFabric();
  const procs = state.procs();
  const enis = fabric?.enis ?? [];
  return {
    stateDir: state.dir,
    startedAt: lab.startedAt,
    scenario: lab.scenarioPath,
    runtime: lab.runtime ?? 'cni',
    ec2: lab.ec2Url,
    imds: lab.imdsUrl,
    fabric: fabric ? { generation: fabric.generation, eventsConnected: fabric.eventsConnected, ...(fabric.error ? { error: fabric.error } : {}) } : null,
    nodes: Object.values(lab.nodes).map((n) => {
      const proc = procs.find((p) => p.name === `ipamd-${n.name}`);
      return {
        name: n.name,
        instanceId: n.instanceId,
        namespace: n.ns,
        ipamd: proc && isLabProcess(proc.pid, state.dir) ? 'running' : 'stopped',
        enis: enis
          .filter((e) => e.instanceId === n.instanceId)
          .sort((a, b) => (a.deviceIndex ?? 99) - (b.deviceIndex ?? 99))
          .map((e) => ({ device: e.deviceIndex, eniId: e.eniId, mac: e.mac, addresses: e.privateIps, prefixes: e.ipv4Prefixes, publicIps: Object.values(e.publicIps), wired: e.wired })),
      };
    }),
    hosts: [
      ...Object.entries(lab.hosts).map(([name, h]) => ({ name, namespace: h.ns, address: enis.find((e) => e.instanceId === h.instanceId && e.deviceIndex === 0)?.privateIps[0] ?? null })),
      ...[...lab.plan.internetHosts, ...lab.plan.onPremHosts].map((h) => ({ name: h.name, namespace: h.ns, address: h.address })),
    ],
    pods: state.pods().map((p) => {
      const eni = p.ip ? eniHolding(enis, p.ip) : undefined;
      return { name: p.name, node: p.node, namespace: p.ns, ip: p.ip, hostNetwork: p.hostNetwork, eni: eni?.deviceIndex ?? p.eni ?? null };
    }),
    processes: procs.map((p) => ({ name: p.name, pid: p.pid, namespace: p.ns, running: isLabProcess(p.pid, state.dir) })),
  };
}
