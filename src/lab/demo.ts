/**
 * `podnet demo`: the default scenario's eight cases, each a promise of the EKS documentation checked with real
 * packets — which source address the far end saw, or that nothing arrived.
 */
import { PodnetError } from '../lib/index.js';
import { labDown, labUp, type Progress } from './lab.js';
import { sourceCheckDrops } from './drops.js';
import { probe, resolveEndpoint, type ProbeResult } from './probe.js';
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
}

export interface DemoCase {
  title: string;
  checks: Array<{ from: string; to: string; expect: (a: Addresses) => Expect }>;
}

/** The addresses the cases are stated in, read from the running lab. */
export interface Addresses {
  podIp: (pod: string) => string;
  nodeIp: (node: string) => string;
  publicIp: (node: string) => string;
  natEip: string;
  peerHost: string;
}

export const demoCases: DemoCase[] = [
  {
    title: '1 public node with public IP',
    checks: [{ from: 'web-pub', to: 'inet', expect: (a) => ({ saw: a.publicIp('pub-ip'), describe: `node's public IP ${a.publicIp('pub-ip')}` }) }],
  },
  {
    title: '2 public node without public IP',
    checks: [{ from: 'web-noip', to: 'inet', expect: () => ({ saw: null, describe: 'no internet' }) }],
  },
  {
    title: '3 private node, NAT gateway, SNAT',
    checks: [{ from: 'web-priv', to: 'inet', expect: (a) => ({ saw: a.natEip, describe: `NAT gateway's EIP ${a.natEip}` }) }],
  },
  {
    title: '4 EXTERNALSNAT=true',
    checks: [
      { from: 'web-ext', to: 'inet', expect: (a) => ({ saw: a.natEip, describe: `NAT gateway's EIP ${a.natEip}` }) },
      { from: 'web-ext', to: 'peer-host', expect: (a) => ({ saw: a.podIp('web-ext'), describe: `pod's own ${a.podIp('web-ext')}` }) },
    ],
  },
  {
    title: '5 EXCLUDE_SNAT_CIDRS=peer CIDR',
    checks: [
      { from: 'web-excl', to: 'peer-host', expect: (a) => ({ saw: a.podIp('web-excl'), describe: `pod's own ${a.podIp('web-excl')}` }) },
      { from: 'web-excl', to: 'inet', expect: (a) => ({ saw: a.natEip, describe: `translated: NAT gateway's EIP ${a.natEip}` }) },
    ],
  },
  {
    title: '6 peer → pod behind eth1',
    checks: [
      { from: 'peer-host', to: 'web-eni1', expect: (a) => ({ saw: a.peerHost, describe: `works (1.8.0+): peer's ${a.peerHost}` }) },
      { from: 'peer-host', to: 'web-old-eni1', expect: () => ({ saw: null, describe: 'fails (pre-1.8.0): reply leaves eth0, src/dst check drops it', droppedBySourceCheck: true }) },
    ],
  },
  {
    title: '7 hostNetwork pod',
    checks: [{ from: 'hostnet', to: 'peer-host', expect: (a) => ({ saw: a.nodeIp('priv'), describe: `node's address ${a.nodeIp('priv')}` }) }],
  },
  {
    title: '8 pod → pod across subnets',
    checks: [{ from: 'web-pub', to: 'web-priv', expect: (a) => ({ saw: a.podIp('web-pub'), describe: `pod's own ${a.podIp('web-pub')}` }) }],
  },
];

export function labAddresses(stateDir: string): Addresses {
  const state = new LabState(stateDir);
  const lab = state.readLab()!;
  const fabric = state.readFabric();
  const natEni = fabric?.enis.find((e) => e.instanceId === null && e.wired && Object.keys(e.publicIps).length > 0);
  return {
    podIp: (pod) => resolveEndpoint(state, lab, pod).address,
    nodeIp: (node) => resolveEndpoint(state, lab, node).address,
    publicIp: (node) => resolveEndpoint(state, lab, node).publicIp ?? '(none)',
    natEip: natEni ? Object.values(natEni.publicIps)[0]! : '(no NAT gateway EIP)',
    peerHost: resolveEndpoint(state, lab, 'peer-host').address,
  };
}

function observed(r: ProbeResult, drops: number | null): string {
  if (r.delivered) return `seen as ${r.saw}`;
  return `not delivered${drops === null ? ` (${r.reason ?? r.error ?? 'no answer'})` : `; src/dst check dropped ${drops} packets`}`;
}

/** Runs one case's checks against a lab that is up (the default scenario's names). */
export async function runDemoCase(stateDir: string, c: DemoCase, progress: Progress = () => {}): Promise<DemoRow[]> {
  const rows: DemoRow[] = [];
  const addresses = labAddresses(stateDir);
  const router = new LabState(stateDir).readLab()!.plan.vpcs[0]!.router;
  for (const check of c.checks) {
    progress(`probing ${check.from} → ${check.to}`);
    const expect = check.expect(addresses);
    const before = expect.droppedBySourceCheck ? await sourceCheckDrops(router) : 0;
    const result = await probe(check.from, check.to, { stateDir, proto: 'tcp' });
    const drops = expect.droppedBySourceCheck ? (await sourceCheckDrops(router)) - before : null;
    const pass = expect.saw === null ? !result.delivered && (drops === null || drops > 0) : result.delivered && result.saw === expect.saw;
    rows.push({ case: `${c.title}: ${check.from} → ${check.to}`, expected: expect.describe, observed: observed(result, drops), pass });
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
