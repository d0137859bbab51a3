/**
 * The demo's EKS cluster endpoint cases (issue 17, item 6): the cluster's endpoint settings are changed live (EKS's
 * UpdateClusterConfig, as `podnet lab cluster update --wait` does it), then for every node explain says whether it
 * reaches the endpoint and why not (nodeEndpointVerdicts), and two things confirm it: a real TLS connection from the
 * node's namespace to the endpoint's name as the VPC's DNS resolves it, and the node's Kubernetes readiness (a node
 * that reaches the endpoint renews its Lease after the change and is Ready; one that does not turns Unknown after the
 * control plane's grace period). An internet host probes the public endpoint the same way, and a refusal must move
 * the endpoint's `endpoint-allow-list` counter. The scenario's endpoint settings are restored at the end.
 *
 * Cases come in order, each from the state the one before left; the waits of a case run for all nodes at once.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { CoordinationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { explainFlow, type Explanation, type World } from '../explain/index.js';
import { run } from '../lib/index.js';
import type { EksCluster } from '../vpc/index.js';
import { labKubeConfig } from './cluster.js';
import { parseNftCounters } from './drops.js';
import { clusterUpdate } from './eks-cluster-update.js';
import { nodeEndpointVerdicts, type NodeEndpointVerdict } from './endpoint-verdicts.js';
import { labWorld } from './explain-world.js';
import type { Progress } from './lab.js';
import { DEFAULT_STATE_DIR, LabState, type LabRecord } from './state.js';
import type { DemoRow } from './demo.js';
import { LEASE_RENEW_MS } from './kubelet-node.js';
import { NODE_MONITOR_GRACE_MS } from './node-lifecycle.js';

/** The endpoint settings a case asks EKS for (UpdateClusterConfig's resourcesVpcConfig). */
export interface EndpointSettings {
  publicAccess: boolean;
  privateAccess: boolean;
  publicAccessCidrs: string[];
}

/** What a case's settings may depend on: the lab's internet range, and the sources the previous case's endpoint refused. */
export interface EksDemoContext {
  /** the lab's internet hosts' range (198.51.100.0/24): an allow-list that admits them and no node */
  internetRange: string;
  /** the sources (as the endpoint saw them) explain said the public endpoint refused in the previous case */
  refusedSources: string[];
}

export interface EksDemoCase {
  title: string;
  settings: (ctx: EksDemoContext) => EndpointSettings;
}

/** The internet side of the lab (scenario.ts: internet hosts live in 198.51.100.0/24, public addresses in 203.0.113.0/24). */
const INTERNET_RANGE = '198.51.100.0/24';

export const eksDemoCases: EksDemoCase[] = [
  // nodes in private subnets reach the public endpoint through the NAT gateway; open to all, its EIP is admitted
  { title: 'EKS 1 public endpoint open to all', settings: () => ({ publicAccess: true, privateAccess: false, publicAccessCidrs: ['0.0.0.0/0'] }) },
  // the users' classic: an allow-list for the office, not the NAT gateway's EIP — the private nodes cannot join
  { title: 'EKS 2 allow-list lacks the NAT gateway EIP', settings: (c) => ({ publicAccess: true, privateAccess: false, publicAccessCidrs: [c.internetRange] }) },
  // the fix explain gives: the refused addresses (the NAT gateway's EIP, the nodes' public IPs) — and not the internet
  { title: 'EKS 3 allow-list with the NAT gateway EIP', settings: (c) => ({ publicAccess: true, privateAccess: false, publicAccessCidrs: c.refusedSources.map((s) => `${s}/32`) }) },
  // private access on: inside the VPC the name resolves to the cluster's ENIs, the allow-list no longer matters to nodes
  { title: 'EKS 4 private access on', settings: (c) => ({ publicAccess: true, privateAccess: true, publicAccessCidrs: [c.internetRange] }) },
];

/**
 * How long a case waits for every node's readiness to follow the endpoint: a Lease renewal (4 s) and the control
 * plane's grace (12 s, node-lifecycle.ts) after the change, and slack for a loaded machine. A case ends as soon as
 * every node shows what explain says.
 */
const READINESS_WAIT_MS = NODE_MONITOR_GRACE_MS + LEASE_RENEW_MS + 20_000;
const CONNECT_TIMEOUT_MS = 3000;

/**
 * A TLS connection to the endpoint from inside a namespace: its name resolved at the VPC's resolver (never the host's),
 * or the address given; secureConnect means the API server answered through the endpoint.
 */
const connectScript = String.raw`
const [hostname, dnsServer, address, timeoutMs] = process.argv.slice(1);
const tls = require('node:tls');
const dns = require('node:dns');
const done = (r) => { process.stdout.write(JSON.stringify(r) + '\n'); process.exit(0); };
const timer = setTimeout(() => done({ connected: false, address: target, error: 'timed out after ' + timeoutMs + ' ms' }), Number(timeoutMs));
let target = address || null;
const connect = () => {
  const s = tls.connect({ host: target, port: 443, servername: hostname, rejectUnauthorized: false });
  s.on('secureConnect', () => { clearTimeout(timer); s.destroy(); done({ connected: true, address: target }); });
  s.on('error', (e) => { clearTimeout(timer); done({ connected: false, address: target, error: e.code || e.message }); });
};
if (target) connect();
else {
  const r = new dns.Resolver({ timeout: 1000, tries: 2 });
  r.setServers([dnsServer]);
  r.resolve4(hostname, (err, addrs) => {
    if (err || !addrs.length) { clearTimeout(timer); return done({ connected: false, address: null, error: 'DNS: ' + (err ? err.code : 'no answer') }); }
    target = addrs[0];
    connect();
  });
}
`;

interface ConnectResult {
  connected: boolean;
  /** the address it connected to (the DNS answer) */
  address: string | null;
  error?: string;
}

async function connectProbe(netns: string, hostname: string, via: { dns: string } | { address: string }): Promise<ConnectResult> {
  const args = 'dns' in via ? [hostname, via.dns, ''] : [hostname, '', via.address];
  const { stdout } = await run([process.execPath, '-e', connectScript, ...args, String(CONNECT_TIMEOUT_MS)], { netns, timeoutMs: CONNECT_TIMEOUT_MS + 5000 });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as ConnectResult;
}

/** The endpoint namespace's drop counter for the allow-list. */
async function allowListDrops(lab: LabRecord): Promise<number> {
  const eks = lab.plan.eks!;
  const { stdout } = await run(['nft', 'list', 'table', 'ip', 'pn_eks'], { netns: eks.ns });
  return parseNftCounters(stdout).get('endpoint-allow-list') ?? 0;
}

interface Readiness {
  ready: 'True' | 'False' | 'Unknown' | 'none';
  reason: string;
  /** the Lease's renewTime, ms */
  renewedAt: number;
}

async function readiness(kc: KubeConfig, nodeName: string): Promise<Readiness> {
  const core = kc.makeApiClient(CoreV1Api);
  const coordination = kc.makeApiClient(CoordinationV1Api);
  const [node, lease] = await Promise.all([
    core.readNode({ name: nodeName }).catch(() => undefined),
    coordination.readNamespacedLease({ namespace: 'kube-node-lease', name: nodeName }).catch(() => undefined),
  ]);
  const c = node?.status?.conditions?.find((x) => x.type === 'Ready');
  const renew = lease?.spec?.renewTime as unknown;
  const renewedAt = renew instanceof Date ? renew.getTime() : typeof renew === 'string' ? Date.parse(renew) : 0;
  return { ready: (c?.status as Readiness['ready'] | undefined) ?? 'none', reason: c ? `${c.reason ?? ''}${c.message ? `: ${c.message}` : ''}` : 'no Ready condition', renewedAt: Number.isFinite(renewedAt) ? renewedAt : 0 };
}

/** Whether a node's readiness shows what explain expects since `sinceMs`: Ready with its Lease renewed after it, or not Ready. */
function readinessMatches(r: Readiness, reaches: boolean, sinceMs: number): boolean {
  return reaches ? r.ready === 'True' && r.renewedAt > sinceMs : r.ready !== 'True';
}

function readinessText(r: Readiness, sinceMs: number): string {
  const ready = r.ready === 'True' ? 'Ready' : r.ready === 'Unknown' ? 'Unknown' : r.ready === 'none' ? 'not registered' : 'NotReady';
  const lease = r.renewedAt > sinceMs ? `lease renewed ${((r.renewedAt - sinceMs) / 1000).toFixed(1)} s after the update` : 'lease not renewed since the update';
  return `Node ${ready}${r.ready === 'True' ? '' : ` (${r.reason})`}, ${lease}`;
}

/** The sentence of explain's expectation for a node. */
function expectedText(v: NodeEndpointVerdict, whose: (a: string) => string): string {
  const codes = v.codes.length ? ` [${v.codes.join(', ')}]` : '';
  if (v.reaches) return `reaches the ${v.via ?? ''} endpoint ${v.address}, seen as ${whose(v.sourceSeen ?? '')}${codes} → Ready`;
  return `${v.reason ?? 'does not reach it'}${codes} → NotReady`;
}

function whoseIn(world: World): (address: string) => string {
  return (address) => {
    const nat = world.model.natGateways.find((n) => n.publicIp === address);
    if (nat) return `NAT gateway ${nat.name}'s EIP ${address}`;
    const node = world.endpoints.find((e) => e.address === address && e.kind === 'node');
    if (node) return `its own address ${address}`;
    return address;
  };
}

/** The source the public endpoint saw and refused, from explain's dropped eks-endpoint hop. */
function refusedSource(e: Explanation): string | undefined {
  const hop = e.forward.find((h) => h.dropped && h.element === 'eks-endpoint');
  return hop ? /does not include (?:.* )?(\d+\.\d+\.\d+\.\d+)$/.exec(hop.action)?.[1] : undefined;
}

/** What a case learnt for the next one. */
export interface CaseOutcome {
  rows: DemoRow[];
  refusedSources: string[];
}

/** Runs one EKS case against a lab that is up with a cluster. */
export async function runEksDemoCase(stateDir: string, c: EksDemoCase, ctx: EksDemoContext, progress: Progress = () => {}): Promise<CaseOutcome> {
  const state = new LabState(stateDir);
  const lab = state.readLab()!;
  const eks = lab.plan.eks!;
  const settings = c.settings(ctx);
  progress(`${c.title}: podnet lab cluster update --public-access ${settings.publicAccess} --private-access ${settings.privateAccess} --public-access-cidrs ${settings.publicAccessCidrs.join(' ')}`);
  await clusterUpdate({ stateDir, ...settings, wait: true });
  const since = Date.now();
  const world = await labWorld(stateDir);
  const nodeNames = Object.fromEntries(Object.values(lab.nodes).map((n) => [n.name, n.nodeName]));
  const verdicts = nodeEndpointVerdicts(world, nodeNames);
  const whose = whoseIn(world);
  const refused = new Set<string>();
  for (const v of verdicts) {
    if (v.reaches) continue;
    const source = refusedSource(explainFlow(world, { from: v.node, to: 'cluster-endpoint', protocol: 'tcp', port: 443 }));
    if (source) refused.add(source);
  }

  // packets: every node at once (each to the name as its VPC's resolver answers it), then the internet host alone
  const vpcDns = (node: string) => {
    const record = lab.nodes[node]!;
    const primary = state.readFabric()?.enis.find((e) => e.instanceId === record.instanceId && e.deviceIndex === 0);
    const vpc = world.model.vpcs.find((v) => v.id === primary?.vpcId);
    return lab.plan.vpcs.find((p) => p.name === vpc?.name)?.dnsAddress ?? lab.plan.vpcs[0]!.dnsAddress;
  };
  const dropsBefore = await allowListDrops(lab);
  const probes = await Promise.all(verdicts.map((v) => connectProbe(lab.nodes[v.node]!.ns, eks.hostname, { dns: vpcDns(v.node) })));
  const nodeDrops = (await allowListDrops(lab)) - dropsBefore;

  // readiness: every node's Node follows what explain says, within the grace period and some slack; the internet
  // hosts' probes run meanwhile (the wait sends nothing to the endpoint, so the counters stay theirs)
  const kc = labKubeConfig(lab);
  const deadline = since + READINESS_WAIT_MS;
  const waitReadiness = async (): Promise<Readiness[]> => {
    for (;;) {
      const now = await Promise.all(verdicts.map((v) => (v.nodeName ? readiness(kc, v.nodeName) : Promise.resolve<Readiness>({ ready: 'none', reason: 'no Node name recorded', renewedAt: 0 }))));
      if (now.every((r, i) => readinessMatches(r, verdicts[i]!.reaches, since)) || Date.now() > deadline) return now;
      await sleep(500);
    }
  };
  const [ready, internetRows] = await Promise.all([waitReadiness(), internetProbes(lab, world, c.title)]);

  const rows: DemoRow[] = verdicts.map((v, i) => {
    const p = probes[i]!;
    const r = ready[i]!;
    const viaAllowList = !v.reaches && v.codes.includes('ENDPOINT_PUBLIC_ACCESS_DENY');
    const packetsAgree = p.connected === v.reaches && (!viaAllowList || nodeDrops > 0) && (!v.reaches || p.address === v.address);
    const observed = `${p.connected ? `TLS to ${p.address}:443 answered` : `no TLS to ${p.address ?? eks.hostname}:443 (${p.error ?? 'no answer'})${viaAllowList ? `; endpoint-allow-list counter +${nodeDrops}` : ''}`}; ${readinessText(r, since)}`;
    return { case: `${c.title}: ${v.node} → cluster-endpoint`, expected: expectedText(v, whose), observed, pass: v.verdict !== 'unknown' && packetsAgree && readinessMatches(r, v.reaches, since) };
  });

  rows.push(...internetRows);
  return { rows, refusedSources: [...refused].sort() };
}

/** The internet side of the public endpoint: every internet host, to the address explain says it connects to. */
async function internetProbes(lab: LabRecord, world: World, title: string): Promise<DemoRow[]> {
  const eks = lab.plan.eks!;
  const rows: DemoRow[] = [];
  for (const host of lab.plan.internetHosts) {
    const e = explainFlow(world, { from: host.name, to: 'cluster-endpoint', protocol: 'tcp', port: 443 });
    const before = await allowListDrops(lab);
    const p = await connectProbe(host.ns, eks.hostname, { address: e.to.address });
    const grew = (await allowListDrops(lab)) - before;
    const deny = e.codes.includes('ENDPOINT_PUBLIC_ACCESS_DENY');
    const expected = e.verdict === 'delivered' ? `admitted by the public endpoint ${e.to.address} [${e.codes.join(', ')}]` : `${e.reason ?? e.verdict} [${e.codes.join(', ')}]`;
    const observed = p.connected ? `TLS to ${p.address}:443 answered` : `no TLS to ${p.address}:443 (${p.error ?? 'no answer'}); endpoint-allow-list counter +${grew}`;
    rows.push({ case: `${title}: ${host.name} → cluster-endpoint`, expected, observed, pass: e.verdict !== 'unknown' && p.connected === (e.verdict === 'delivered') && (!deny || grew > 0) });
  }
  return rows;
}

/** The cluster's endpoint settings as EKS describes them now (restored after the cases); undefined without a cluster. */
export function currentEndpointSettings(stateDir: string): EndpointSettings | undefined {
  const lab = new LabState(stateDir).readLab()!;
  if (!lab.plan.eks) return undefined;
  // as the fabric applies it (the emulator's /_podnet/eks listens in the aws namespace, out of the host's reach)
  const cluster: EksCluster | undefined = new LabState(stateDir).readFabric()?.eksClusters?.find((c) => c.name === lab.plan.eks?.cluster);
  return cluster && { publicAccess: cluster.endpointPublicAccess, privateAccess: cluster.endpointPrivateAccess, publicAccessCidrs: [...cluster.publicAccessCidrs] };
}

/** Puts the endpoint settings back and waits (bounded) until the nodes that reach the endpoint again are Ready. */
export async function restoreEndpointSettings(stateDir: string, settings: EndpointSettings): Promise<void> {
  await clusterUpdate({ stateDir, ...settings, wait: true });
  await nodesReadyAgain(stateDir, new LabState(stateDir).readLab()!);
}

/** The context the first case starts from. */
export function initialEksDemoContext(): EksDemoContext {
  return { internetRange: INTERNET_RANGE, refusedSources: [] };
}

/**
 * Every EKS case in order, then the scenario's endpoint settings back (and every node Ready again, bounded); empty
 * when the lab has no cluster.
 */
export async function runEksDemoCases(stateDir: string = DEFAULT_STATE_DIR, progress: Progress = () => {}, cases: readonly EksDemoCase[] = eksDemoCases): Promise<DemoRow[]> {
  const original = currentEndpointSettings(stateDir);
  if (!original) return [];
  const rows: DemoRow[] = [];
  let ctx = initialEksDemoContext();
  let failed: unknown;
  try {
    for (const c of cases) {
      const outcome = await runEksDemoCase(stateDir, c, ctx, progress);
      rows.push(...outcome.rows);
      ctx = { ...ctx, refusedSources: outcome.refusedSources };
    }
  } catch (err) {
    failed = err;
  }
  progress("restoring the scenario's endpoint settings");
  try {
    await restoreEndpointSettings(stateDir, original);
  } catch (err) {
    // a case's own failure is the one to report; the restore's only when the cases went through
    if (failed === undefined) throw err;
    progress(`restoring the endpoint settings failed too: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (failed !== undefined) throw failed;
  return rows;
}

/** After the restore: the nodes that reach the endpoint again are Ready again (bounded; later cases need their ipamd). */
async function nodesReadyAgain(stateDir: string, lab: LabRecord): Promise<void> {
  const since = Date.now();
  const verdicts = nodeEndpointVerdicts(await labWorld(stateDir), Object.fromEntries(Object.values(lab.nodes).map((n) => [n.name, n.nodeName])));
  const kc = labKubeConfig(lab);
  while (Date.now() < since + READINESS_WAIT_MS) {
    const states = await Promise.all(verdicts.filter((v) => v.reaches && v.nodeName).map((v) => readiness(kc, v.nodeName!)));
    if (states.every((r) => r.ready === 'True')) return;
    await sleep(1000);
  }
}
