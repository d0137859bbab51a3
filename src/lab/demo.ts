/**
 * `podnet demo`: the default scenario's cases, each a promise of the EKS documentation checked with real
 * packets — which source address the far end saw, or that nothing arrived. Nothing of what should happen is written
 * here: each check's expectation is `podnet explain`'s answer over the running lab (the VPC model and the very rules
 * each node's podnet renders), and a real probe confirms it.
 */
import { explainFlow, type AttachedEni, type ExplainCode, type ExplainElement, type ExplainHop, type ExplainVerdict, type Explanation, type World } from '../explain/index.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { PodnetError, run } from '../lib/index.js';
import { labKubeConfig, setDaemonSetEnv } from './cluster.js';
import { labDown, labUp, type Progress } from './lab.js';
import { grownCounters, parseNftCounters, readDropCounters, type DropCounter, type DropReason } from './drops.js';
import { ENDPOINT_COUNTERS } from './eks-endpoint.js';
import type { FabricPlan } from './plan.js';
import { labWorld } from './explain-world.js';
import { runEksDemoCases } from './demo-eks.js';
import { runFargatePodCase, runFargateRefusalCase } from './demo-fargate.js';
import { probe, type ProbeResult } from './probe.js';
import { DEFAULT_STATE_DIR, LabState } from './state.js';

export interface DemoRow {
  case: string;
  expected: string;
  observed: string;
  pass: boolean;
}

interface Expect {
  /** explain's verdict; `unknown` fails the check (the default scenario is fully modelled) */
  verdict: ExplainVerdict;
  /** the address the receiver must see, or null: the probe must not arrive */
  saw: string | null;
  describe: string;
  /**
   * for a drop in the VPC (or at the cluster endpoint): the fabric's counter for explain's reason, which must move
   * during the probe; absent when explain drops it on a node (its own rules and routes), which no fabric counter sees
   */
  dropCounter?: DropReason;
}

/** One probe of a case: who sends to whom (lab names); what should happen is explain's to say. */
export interface DemoCheck {
  from: string;
  to: string;
}

export interface DemoCase {
  title: string;
  checks: DemoCheck[];
  /**
   * The seeds' `kubectl set env daemonset -n kube-system aws-node K=V`: the checks run before it, and again once the
   * DaemonSet rolled ipamd on its nodes (explain then reads the new ipamd's env). Last: it leaves the lab so.
   */
  setEnv?: Record<string, string>;
}

export const demoCases: DemoCase[] = [
  { title: '1 public node with public IP', checks: [{ from: 'web-pub', to: 'inet' }] },
  { title: '2 public node without public IP', checks: [{ from: 'web-noip', to: 'inet' }] },
  { title: '3 private node, NAT gateway, SNAT', checks: [{ from: 'web-priv', to: 'inet' }] },
  // EXTERNALSNAT=true: the node translates nothing, the NAT gateway does
  { title: '4 EXTERNALSNAT=true', checks: [{ from: 'web-ext', to: 'inet' }, { from: 'web-ext', to: 'peer-host' }] },
  // the peer CIDR is excluded from the SNAT chain; the internet is not
  { title: '5 EXCLUDE_SNAT_CIDRS=peer CIDR', checks: [{ from: 'web-excl', to: 'peer-host' }, { from: 'web-excl', to: 'inet' }] },
  {
    title: '6 peer → pod behind eth1',
    checks: [
      { from: 'peer-host', to: 'web-eni1' },
      { from: 'peer-host', to: 'web-old-eni1' },
    ],
  },
  // a hostNetwork pod sends with the node's own address: no SNAT needed
  { title: '7 hostNetwork pod', checks: [{ from: 'hostnet', to: 'peer-host' }] },
  { title: '8 pod → pod across subnets', checks: [{ from: 'web-pub', to: 'web-priv' }] },
  // security groups, per ENI: priv-excl's group (guarded) takes traffic only from the members of the nodes group
  { title: '9 security group blocks the peered VPC', checks: [{ from: 'peer-host', to: 'web-excl' }] },
  // the nodes group allows the peer CIDR; guarded allows a pod of a nodes-group node (a secondary IP of its ENI)
  { title: '10 security group allows it', checks: [{ from: 'peer-host', to: 'web-priv' }, { from: 'web-pub', to: 'web-excl' }] },
  // the peer subnet's ACL denies the echo port from the public subnet (rule 90), whatever the groups say
  { title: '11 network ACL deny', checks: [{ from: 'web-pub', to: 'peer-host' }] },
  // as case 6, from a data centre behind the VPC's virtual private gateway
  {
    title: '12 on-premises → pod behind eth1',
    checks: [
      { from: 'dc-host', to: 'web-eni1' },
      { from: 'dc-host', to: 'web-old-eni1' },
    ],
  },
  // as case 6, from a VPC attached with main to the transit gateway hub
  {
    title: '13 transit-gateway VPC → pod behind eth1',
    checks: [
      { from: 'transit-host', to: 'web-eni1' },
      { from: 'transit-host', to: 'web-old-eni1' },
    ],
  },
  // custom networking: web-cn's address is in the VPC's secondary block 100.64.0.0/16; the node's SNAT chain returns
  // for every VPC block, so the primary block sees the pod's own address and only the internet the node's
  { title: 'custom networking, pod in 100.64.0.0/16', checks: [{ from: 'web-cn', to: 'web-priv' }, { from: 'web-cn', to: 'inet' }] },
  // priv runs the shared aws-node DaemonSet: SNAT to its address until the set env, then the peer sees the pod's own
  { title: 'kubectl set env aws-node EXTERNALSNAT=true', checks: [{ from: 'web-priv', to: 'peer-host' }], setEnv: { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' } },
];

/** A few words naming an address of the world: `node pub-ip's public IP`, `pod's own`, `NAT gateway nat-a's EIP`. */
function whoseIn(world: World): (address: string) => string {
  const nodes = new Set(world.nodes.map((n) => n.name));
  return (address) => {
    const nat = world.model.natGateways.find((n) => n.publicIp === address);
    if (nat) return `NAT gateway ${nat.name}'s EIP`;
    // a hostNetwork pod's address is its node's: named by the node
    const own = world.endpoints.find((e) => e.address === address && !e.hostNetwork);
    if (own) return own.kind === 'pod' ? `pod's own` : `${own.kind} ${own.name}'s address`;
    const enis: readonly AttachedEni[] = world.model.enis;
    const eni = enis.find((e) => Object.values(e.publicIps).includes(address));
    const name = eni?.instanceId ? world.instanceNames[eni.instanceId] : undefined;
    if (name) return `${nodes.has(name) ? 'node' : 'host'} ${name}'s public IP`;
    return 'internet address';
  };
}

/** The hop that dropped a flow, and whether it was on the reply's way. */
function dropHop(e: Explanation): { hop: ExplainHop; onReply: boolean } | undefined {
  const forward = e.forward.find((h) => h.dropped);
  if (forward) return { hop: forward, onReply: false };
  const reply = e.return.find((h) => h.dropped);
  return reply ? { hop: reply, onReply: true } : undefined;
}

/** Explain's answer for one check, as the demo table shows it and as the probe must confirm it. */
function expectFromExplain(world: World, check: DemoCheck, port: number): Expect {
  const e = explainFlow(world, { from: check.from, to: check.to, protocol: 'tcp', port });
  const codes = e.codes.length ? ` [${e.codes.join(', ')}]` : '';
  if (e.verdict === 'delivered') return { verdict: e.verdict, saw: e.sourceSeen, describe: `delivered, seen as ${whoseIn(world)(e.sourceSeen ?? '')} ${e.sourceSeen}${codes}` };
  if (e.verdict === 'unknown') return { verdict: e.verdict, saw: null, describe: `unknown: ${e.reason ?? 'explain cannot tell'}${codes}` };
  const drop = dropHop(e);
  const at = drop ? ` at ${drop.hop.element} ${drop.hop.id} (${drop.hop.matched})` : e.reason ? ` (${e.reason})` : '';
  const counter = drop ? fabricCounter(e, drop.hop) : undefined;
  return { verdict: e.verdict, saw: null, describe: `${drop?.onReply ? 'reply ' : ''}dropped${at}${codes}`, ...(counter ? { dropCounter: counter } : {}) };
}

/** The hops a node plays in a flow: a drop there is the node's own (no route, …), which no fabric counter sees. */
const NODE_ELEMENTS: ReadonlySet<ExplainElement> = new Set(['pod', 'node-rules', 'node-routing', 'destination']);

/** Explain's code for the VPC's reason of a drop (src/vpc's reasons, as the engine names them), as the fabric's counter. */
const COUNTER_OF_CODE: Partial<Record<ExplainCode, DropReason>> = {
  SOURCE_DEST_CHECK: 'source-destination-check',
  NO_ROUTE: 'no-route',
  NO_PUBLIC_IP: 'no-public-ip',
  SECURITY_GROUP_DENY: 'security-group',
  NETWORK_ACL_DENY: 'network-acl',
  ENDPOINT_PUBLIC_ACCESS_DENY: 'endpoint-allow-list',
  ENDPOINT_PRIVATE_ACCESS_OFF: 'endpoint-private-off',
};

/**
 * The fabric counter that counts a drop explain predicts at `hop`: the VPC's reason, which the engine gives as the
 * drop's code (the fabric is compiled from the same model, one counter per reason: render.ts DROP_COUNTERS). A code
 * such as NO_ROUTE is the node's too when the node drops it: a node's hop has no counter.
 */
export function fabricCounter(e: Explanation, hop: ExplainHop): DropReason | undefined {
  if (NODE_ELEMENTS.has(hop.element)) return undefined;
  const code = e.codes.findLast((c): c is ExplainCode => c in COUNTER_OF_CODE);
  return code ? COUNTER_OF_CODE[code] : undefined;
}

/** What explain expects of each check of a case, over a lab's World (`saw`: null when nothing may arrive). */
export function demoExpectations(world: World, c: DemoCase, port: number): Array<DemoCheck & Expect> {
  return c.checks.map((check) => ({ ...check, ...expectFromExplain(world, check, port) }));
}

function observed(r: ProbeResult, expect: Expect, grew: readonly DropCounter[]): string {
  if (r.delivered) return `seen as ${r.saw}`;
  if (r.droppedBy) return `not delivered (${r.reason}: ${r.droppedBy.detail})`;
  if (expect.dropCounter === 'source-destination-check') {
    return `not delivered; src/dst check dropped ${grew.filter((g) => g.counter === expect.dropCounter).reduce((n, g) => n + g.packets, 0)} packets`;
  }
  if (r.reason) return `not delivered (${r.reason})`;
  if (grew.length > 0) return `not delivered (${r.error ?? 'no answer'}); counters moved: ${grew.map((g) => `${g.counter} in ${g.ns}`).join(', ')}`;
  return `not delivered (${r.error ?? 'no answer'})`;
}

/** The counters that moved between two reads, each by how many packets (one lower than before was reset: all it counts). */
function growth(before: readonly DropCounter[], after: readonly DropCounter[]): DropCounter[] {
  return grownCounters(before, after).map((a) => {
    const was = before.find((b) => b.ns === a.ns && b.counter === a.counter)?.packets ?? 0;
    return { ...a, packets: a.packets < was ? a.packets : a.packets - was };
  });
}

/**
 * The fabric's drop counters a check's expected drop is counted by: the VPC's (drops.ts), or for a refusal at the cluster
 * endpoint the endpoint's own table (eks-endpoint.ts), which readDropCounters does not read.
 */
async function countersFor(plan: FabricPlan, counter: DropReason): Promise<DropCounter[]> {
  if (counter !== ENDPOINT_COUNTERS.allowList && counter !== ENDPOINT_COUNTERS.privateOff) return readDropCounters(plan);
  if (!plan.eks) return [];
  const counts = parseNftCounters((await run(['nft', 'list', 'table', 'ip', 'pn_eks'], { netns: plan.eks.ns })).stdout);
  return [{ ns: plan.eks.ns, counter, packets: counts.get(counter) ?? 0 }];
}

/** Runs one case's checks against a lab that is up (names of its scenario: the default one's, or lab-sgp.yaml's). */
export async function runDemoCase(stateDir: string, c: DemoCase, progress: Progress = () => {}): Promise<DemoRow[]> {
  if (!c.setEnv) return runChecks(stateDir, c, c.title, progress);
  const before = await runChecks(stateDir, c, `${c.title}: before`, progress);
  const lab = new LabState(stateDir).readLab()!;
  progress(`kubectl set env daemonset -n kube-system aws-node ${Object.entries(c.setEnv).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  await setDaemonSetEnv(labKubeConfig(lab), 'aws-node', c.setEnv);
  // the new ipamd is Ready before it has rewritten the node's rules at most a moment: a failed check is asked again
  const deadline = Date.now() + 20_000;
  for (;;) {
    const after = await runChecks(stateDir, c, `${c.title}: after`, progress);
    if (after.every((r) => r.pass) || Date.now() > deadline) return [...before, ...after];
    await sleep(1000);
  }
}

async function runChecks(stateDir: string, c: DemoCase, title: string, progress: Progress): Promise<DemoRow[]> {
  const rows: DemoRow[] = [];
  const plan = new LabState(stateDir).readLab()!.plan;
  const world = await labWorld(stateDir);
  for (const expect of demoExpectations(world, c, plan.echoPort)) {
    progress(`probing ${expect.from} → ${expect.to}`);
    // a drop in the fabric: the counter for explain's reason must move during the probe (whatever others do meanwhile)
    const counter = expect.dropCounter;
    const before = counter ? await countersFor(plan, counter) : [];
    const result = await probe(expect.from, expect.to, { stateDir, proto: 'tcp' });
    const grew = counter ? growth(before, await countersFor(plan, counter)) : [];
    const counted = counter === undefined || grew.some((g) => g.counter === counter);
    const pass = expect.verdict !== 'unknown' && (expect.saw === null ? !result.delivered && counted : result.delivered && result.saw === expect.saw);
    rows.push({ case: `${title}: ${expect.from} → ${expect.to}`, expected: expect.describe, observed: observed(result, expect, grew), pass });
  }
  return rows;
}

/**
 * Every case: the packet cases, then (with a cluster: section) the EKS endpoint cases of demo-eks.ts, which change the
 * cluster live and restore it, and the Fargate cases (the hook below), then the set-env case, which leaves the lab
 * changed for good.
 */
export async function runDemoCases(stateDir: string, progress: Progress = () => {}): Promise<DemoRow[]> {
  const rows: DemoRow[] = [];
  for (const c of demoCases.filter((x) => !x.setEnv)) rows.push(...(await runDemoCase(stateDir, c, progress)));
  rows.push(...(await runEksDemoCases(stateDir, progress)));
  rows.push(...(await runFargateDemoCases(stateDir, progress)));
  for (const c of demoCases.filter((x) => x.setEnv)) rows.push(...(await runDemoCase(stateDir, c, progress)));
  return rows;
}

/**
 * The hook for the Fargate cases of issue 17 (a Fargate pod in a private subnet reaching the internet through the NAT
 * gateway with its own address; a Fargate profile naming a public subnet refused): rows like the others, run after
 * the EKS endpoint cases with the scenario's endpoint settings restored (demo-fargate.ts).
 */
async function runFargateDemoCases(stateDir: string, progress: Progress): Promise<DemoRow[]> {
  return [...(await runFargateRefusalCase(stateDir, progress)), ...(await runFargatePodCase(stateDir, progress))];
}

/** How a demo runs: where the lab keeps its records, whether it stays up afterwards, where progress goes. */
export interface DemoOptions {
  keep?: boolean;
  stateDir?: string;
  progress?: Progress;
}

export async function runDemo(opts: DemoOptions = {}): Promise<DemoRow[]> {
  return runScenarioDemo(undefined, runDemoCases, opts);
}

/**
 * Brings up a scenario's lab (undefined: the default scenario), runs `runCases` against it and takes it down unless
 * `keep`: `podnet demo` and `podnet demo --sgp` (demo-sgp.ts) alike.
 */
export async function runScenarioDemo(
  scenarioPath: string | undefined,
  runCases: (stateDir: string, progress?: Progress) => Promise<DemoRow[]>,
  opts: DemoOptions = {},
): Promise<DemoRow[]> {
  const stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
  if (new LabState(stateDir).exists()) {
    throw new PodnetError('LAB_EXISTS', `a lab is already up (state in ${stateDir})`, 'the demo brings up its own: take the running one down first (podnet lab down)');
  }
  try {
    await labUp({ scenarioPath, stateDir, progress: opts.progress });
    return await runCases(stateDir, opts.progress);
  } finally {
    if (!opts.keep) {
      opts.progress?.('taking the lab down');
      await labDown({ stateDir });
    }
  }
}
