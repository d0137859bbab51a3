/**
 * `podnet demo`: the default scenario's cases, each a promise of the EKS documentation checked with real
 * packets — which source address the far end saw, or that nothing arrived. What the VPC does (route tables, the
 * source/destination check, the internet and NAT gateways, peering, security groups, network ACLs) is not written here: the expectation comes from
 * evaluating the VPC model (src/vpc flowPath) over what EC2 says about the running lab, and the packets confirm it.
 * What the node does (its SNAT chain, which ENI a reply leaves by) is declared per check until `podnet explain`
 * models the node (issue 14).
 */
import type { Ec2Facts } from '../ec2/index.js';
import { PodnetError } from '../lib/index.js';
import { eniHolding, flowPath, type NetworkInterface, type PathStart, type Traffic, type VpcDropReason, type VpcModel } from '../vpc/index.js';
import { labDown, labUp, type Progress } from './lab.js';
import { grownCounters, readDropCounters, sourceCheckDrops, type DropCounter } from './drops.js';
import { labModel } from './render.js';
import { probe, resolveEndpoint, type Endpoint, type ProbeResult } from './probe.js';
import { DEFAULT_STATE_DIR, LabState } from './state.js';

export interface DemoRow {
  case: string;
  expected: string;
  observed: string;
  pass: boolean;
}

interface Expect {
  /** the address the receiver must see, or null: the probe must not arrive */
  saw: string | null;
  describe: string;
  /** the VPC router's source/destination check must drop packets during the probe (the reason it fails) */
  droppedBySourceCheck?: boolean;
  /** a security group or network ACL must drop it: the probe's reason (the fabric counter that moved) must be this */
  droppedByFilter?: Extract<VpcDropReason, 'security-group' | 'network-acl'>;
}

/** One probe of a case, with what its nodes do to it (declared: the model has no node yet). */
export interface DemoCheck {
  from: string;
  to: string;
  /**
   * The sender's node translates the pod's address to its primary IP (the SNAT chain, spec §2: the destination is
   * outside the VPC, not excluded, EXTERNALSNAT unset); the reason, as the table shows it. Absent: it leaves with the
   * pod's own address, from the ENI that holds it.
   */
  snat?: string;
  /** The receiver's node sends the reply out its primary ENI, whichever ENI holds the address (routing before 1.8.0). */
  replyByPrimaryEni?: string;
}

export interface DemoCase {
  title: string;
  checks: DemoCheck[];
}

/** The SNAT chain translates the pod's address to the node's primary IP. */
const snatToNode = 'node SNAT';

export const demoCases: DemoCase[] = [
  { title: '1 public node with public IP', checks: [{ from: 'web-pub', to: 'inet', snat: snatToNode }] },
  { title: '2 public node without public IP', checks: [{ from: 'web-noip', to: 'inet', snat: snatToNode }] },
  { title: '3 private node, NAT gateway, SNAT', checks: [{ from: 'web-priv', to: 'inet', snat: snatToNode }] },
  // EXTERNALSNAT=true: the node translates nothing, the NAT gateway does
  { title: '4 EXTERNALSNAT=true', checks: [{ from: 'web-ext', to: 'inet' }, { from: 'web-ext', to: 'peer-host' }] },
  // the peer CIDR is excluded from the SNAT chain; the internet is not
  { title: '5 EXCLUDE_SNAT_CIDRS=peer CIDR', checks: [{ from: 'web-excl', to: 'peer-host' }, { from: 'web-excl', to: 'inet', snat: snatToNode }] },
  {
    title: '6 peer → pod behind eth1',
    checks: [
      { from: 'peer-host', to: 'web-eni1' },
      { from: 'peer-host', to: 'web-old-eni1', replyByPrimaryEni: 'pre-1.8.0: reply leaves eth0' },
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
  { title: '11 network ACL deny', checks: [{ from: 'web-pub', to: 'peer-host', snat: snatToNode }] },
  // as case 6, from a data centre behind the VPC's virtual private gateway
  {
    title: '12 on-premises → pod behind eth1',
    checks: [
      { from: 'dc-host', to: 'web-eni1' },
      { from: 'dc-host', to: 'web-old-eni1', replyByPrimaryEni: 'pre-1.8.0: reply leaves eth0' },
    ],
  },
  // as case 6, from a VPC attached with main to the transit gateway hub
  {
    title: '13 transit-gateway VPC → pod behind eth1',
    checks: [
      { from: 'transit-host', to: 'web-eni1' },
      { from: 'transit-host', to: 'web-old-eni1', replyByPrimaryEni: 'pre-1.8.0: reply leaves eth0' },
    ],
  },
  // custom networking: web-cn's address is in the VPC's secondary block 100.64.0.0/16; the node's SNAT chain returns
  // for every VPC block, so the primary block sees the pod's own address and only the internet the node's
  { title: 'custom networking, pod in 100.64.0.0/16', checks: [{ from: 'web-cn', to: 'web-priv' }, { from: 'web-cn', to: 'inet', snat: snatToNode }] },
];

/** The running lab as the model sees it, and its endpoints by name. */
interface DemoWorld {
  model: VpcModel;
  endpoint: (name: string) => Endpoint;
  /** the primary ENI of the node a pod runs on (of the node itself for a node or host) */
  primaryEniOf: (name: string) => NetworkInterface;
  /** a few words naming an address: `node pub-ip's public IP`, `pod's own`, `NAT gateway nat-a's EIP` */
  whose: (address: string) => string;
  /** what the demo's probes are, for the security groups and network ACLs: TCP to the echo port */
  traffic: Traffic;
}

function demoWorld(stateDir: string): DemoWorld {
  const state = new LabState(stateDir);
  const lab = state.readLab()!;
  const fabric = state.readFabric();
  if (!fabric) throw new PodnetError('LAB_FAILED', `the fabric controller has published no state in ${stateDir}`, 'see podnet lab status');
  const facts: Ec2Facts = fabric.facts;
  const model: VpcModel = labModel(lab.plan, facts, fabric.enis);
  const endpoint = (name: string) => resolveEndpoint(state, lab, name);
  const instanceOf = (name: string) => {
    const node = state.pod(name)?.node ?? name;
    return lab.nodes[node]?.instanceId ?? lab.hosts[name]?.instanceId;
  };
  const primaryEniOf = (name: string) => {
    const eni = fabric.enis.find((e) => e.instanceId === instanceOf(name) && e.deviceIndex === 0);
    if (!eni) throw new PodnetError('LAB_FAILED', `${name} has no primary ENI in the fabric`, 'see podnet lab status');
    return eni;
  };
  const names = [...state.pods().filter((p) => !p.hostNetwork).map((p) => p.name), ...Object.keys(lab.nodes), ...Object.keys(lab.hosts), ...lab.plan.onPremHosts.map((h) => h.name)];
  const whose = (address: string) => {
    const nat = facts.natGateways.find((n) => n.publicIp === address);
    if (nat) return `NAT gateway ${nat.name}'s EIP`;
    for (const n of names) {
      const e = endpoint(n);
      if (e.address === address) return e.kind === 'pod' ? `pod's own` : `${e.kind} ${n}'s address`;
      if (e.publicIp === address) return `${e.kind} ${n}'s public IP`;
    }
    return 'internet address';
  };
  return { model, endpoint, primaryEniOf, whose, traffic: { protocol: 'tcp', destinationPort: lab.plan.echoPort } };
}

/** The model's expectation for one check: where the packet starts (after the sender's node), and what the VPC does. */
function expectFromModel(world: DemoWorld, check: DemoCheck): Expect {
  const from = world.endpoint(check.from);
  const to = world.endpoint(check.to);
  let start: PathStart;
  if (from.kind === 'internet') start = { internet: from.address };
  else if (from.kind === 'on-premises') start = { onPremises: from.address };
  else if (check.snat) {
    const primary = world.primaryEniOf(check.from);
    start = { eniId: primary.eniId, source: primary.privateIps[0]! };
  } else start = { eniId: (eniHolding(world.model.enis, from.address) ?? world.primaryEniOf(check.from)).eniId, source: from.address };
  const replyFromEniId = check.replyByPrimaryEni ? world.primaryEniOf(check.to).eniId : undefined;
  const flow = flowPath(world.model, start, to.address, { traffic: world.traffic, ...(replyFromEniId ? { replyFromEniId } : {}) });
  const node = [check.snat, check.replyByPrimaryEni].filter(Boolean).join('; ');
  const declared = node ? ` [${node}]` : '';
  if (flow.verdict === 'delivered') {
    return { saw: flow.sourceSeen, describe: `${world.whose(flow.sourceSeen!)} ${flow.sourceSeen}${declared}` };
  }
  if (flow.verdict === 'unknown') throw new PodnetError('LAB_FAILED', `the VPC model cannot tell what happens to ${check.from} → ${check.to}: ${flow.detail}`, 'this is a podnet bug: the default scenario is fully modelled');
  // the element that dropped it: the last hop of the packet, or of the reply when the packet arrived
  const failed = flow.reply ?? flow.forward;
  const at = failed.hops.at(-1);
  const where = at ? ` at ${at.element} ${at.id}` : '';
  const filter = flow.reason === 'security-group' || flow.reason === 'network-acl' ? flow.reason : undefined;
  const why = filter && at ? ` (${at.action})` : '';
  return {
    saw: null,
    describe: `${flow.reply ? 'reply ' : ''}dropped: ${flow.reason}${where}${why}${declared}`,
    droppedBySourceCheck: flow.reason === 'source-destination-check',
    ...(filter ? { droppedByFilter: filter } : {}),
  };
}

/** What the model expects of each check of a case in the lab that is up (`saw`: null when nothing may arrive). */
export function demoExpectations(stateDir: string, c: DemoCase): Array<DemoCheck & Expect> {
  const world = demoWorld(stateDir);
  return c.checks.map((check) => ({ ...check, ...expectFromModel(world, check) }));
}

function observed(r: ProbeResult, drops: number | null, grew: readonly DropCounter[] = []): string {
  if (r.delivered) return `seen as ${r.saw}`;
  if (r.droppedBy) return `not delivered (${r.reason}: ${r.droppedBy.detail})`;
  if (grew.length > 0) return `not delivered (${r.error ?? 'no answer'}); counters moved: ${grew.map((g) => `${g.counter} in ${g.ns}`).join(', ')}`;
  return `not delivered${drops === null ? ` (${r.reason ?? r.error ?? 'no answer'})` : `; src/dst check dropped ${drops} packets`}`;
}

/** Runs one case's checks against a lab that is up (the default scenario's names). */
export async function runDemoCase(stateDir: string, c: DemoCase, progress: Progress = () => {}): Promise<DemoRow[]> {
  const rows: DemoRow[] = [];
  const plan = new LabState(stateDir).readLab()!.plan;
  const router = plan.vpcs[0]!.router;
  for (const expect of demoExpectations(stateDir, c)) {
    progress(`probing ${expect.from} → ${expect.to}`);
    const before = expect.droppedBySourceCheck ? await sourceCheckDrops(router) : 0;
    // a group or ACL drop: that counter of the fabric must move during the probe (whatever other counters do meanwhile)
    const countersBefore = expect.droppedByFilter ? await readDropCounters(plan) : [];
    const result = await probe(expect.from, expect.to, { stateDir, proto: 'tcp' });
    const drops = expect.droppedBySourceCheck ? (await sourceCheckDrops(router)) - before : null;
    const grew = expect.droppedByFilter ? grownCounters(countersBefore, await readDropCounters(plan)) : [];
    const filterCounted = expect.droppedByFilter === undefined || grew.some((g) => g.counter === expect.droppedByFilter);
    const dropMatches = (drops === null || drops > 0) && filterCounted;
    const pass = expect.saw === null ? !result.delivered && dropMatches : result.delivered && result.saw === expect.saw;
    rows.push({ case: `${c.title}: ${expect.from} → ${expect.to}`, expected: expect.describe, observed: observed(result, drops, grew), pass });
  }
  return rows;
}

export async function runDemoCases(stateDir: string, progress: Progress = () => {}): Promise<DemoRow[]> {
  const rows: DemoRow[] = [];
  for (const c of demoCases) rows.push(...(await runDemoCase(stateDir, c, progress)));
  return rows;
}

export async function runDemo(opts: { keep?: boolean; stateDir?: string; progress?: Progress } = {}): Promise<DemoRow[]> {
  const stateDir = opts.stateDir ?? DEFAULT_STATE_DIR;
  if (new LabState(stateDir).exists()) {
    throw new PodnetError('LAB_EXISTS', `a lab is already up (state in ${stateDir})`, 'the demo brings up its own: take the running one down first (podnet lab down)');
  }
  try {
    await labUp({ stateDir, progress: opts.progress });
    return await runDemoCases(stateDir, opts.progress);
  } finally {
    if (!opts.keep) {
      opts.progress?.('taking the lab down');
      await labDown({ stateDir });
    }
  }
}
