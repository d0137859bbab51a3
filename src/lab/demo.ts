/**
 * `podnet demo`: the default scenario's eight cases, each a promise of the EKS documentation checked with real
 * packets — which source address the far end saw, or that nothing arrived.
 */
import { PodnetError } from '../lib/index.js';
import { labDown, labUp, type Progress } from './lab.js';
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
}

interface DemoCase {
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
    title: '1 public subnet, node with public IP: pod → internet',
    checks: [{ from: 'web-pub', to: 'inet', expect: (a) => ({ saw: a.publicIp('pub-ip'), describe: `seen as the node's public IP ${a.publicIp('pub-ip')}` }) }],
  },
  {
    title: '2 public subnet, node without public IP: pod → internet',
    checks: [{ from: 'web-noip', to: 'inet', expect: () => ({ saw: null, describe: 'no internet (dropped at the internet gateway)' }) }],
  },
  {
    title: '3 private subnet, NAT gateway route, default SNAT: pod → internet',
    checks: [{ from: 'web-priv', to: 'inet', expect: (a) => ({ saw: a.natEip, describe: `seen as the NAT gateway's EIP ${a.natEip}` }) }],
  },
  {
    title: '4 AWS_VPC_K8S_CNI_EXTERNALSNAT=true: pod → internet, pod → peer VPC',
    checks: [
      { from: 'web-ext', to: 'inet', expect: (a) => ({ saw: a.natEip, describe: `internet sees the NAT gateway's EIP ${a.natEip}` }) },
      { from: 'web-ext', to: 'peer-host', expect: (a) => ({ saw: a.podIp('web-ext'), describe: `peer sees the pod's own ${a.podIp('web-ext')}` }) },
    ],
  },
  {
    title: '5 AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS=<peer CIDR>: pod → peer VPC, pod → internet',
    checks: [
      { from: 'web-excl', to: 'peer-host', expect: (a) => ({ saw: a.podIp('web-excl'), describe: `peer sees the pod's own ${a.podIp('web-excl')}` }) },
      { from: 'web-excl', to: 'inet', expect: (a) => ({ saw: a.natEip, describe: `internet sees a translated address (NAT gateway EIP ${a.natEip})` }) },
    ],
  },
  {
    title: '6 peer host → pod behind a secondary ENI (1.8.0+ routing, then pre-1.8.0)',
    checks: [
      { from: 'peer-host', to: 'web-eni1', expect: (a) => ({ saw: a.peerHost, describe: `connects; the pod sees ${a.peerHost}` }) },
      { from: 'peer-host', to: 'web-old-eni1', expect: () => ({ saw: null, describe: 'fails: the reply leaves eth0 with the pod address and the source/destination check drops it' }) },
    ],
  },
  {
    title: '7 hostNetwork pod → peer VPC',
    checks: [{ from: 'hostnet', to: 'peer-host', expect: (a) => ({ saw: a.nodeIp('priv'), describe: `seen as the node's address ${a.nodeIp('priv')}` }) }],
  },
  {
    title: '8 pod → pod across nodes and subnets',
    checks: [{ from: 'web-pub', to: 'web-priv', expect: (a) => ({ saw: a.podIp('web-pub'), describe: `pod address preserved: ${a.podIp('web-pub')}` }) }],
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

function observed(r: ProbeResult): string {
  return r.delivered ? `seen as ${r.saw}` : `not delivered (${r.error ?? 'no answer'})`;
}

/** Runs every case against a lab that is up (the default scenario's names). */
export async function runDemoCases(stateDir: string, progress: Progress = () => {}): Promise<DemoRow[]> {
  const rows: DemoRow[] = [];
  const addresses = labAddresses(stateDir);
  for (const c of demoCases) {
    for (const check of c.checks) {
      progress(`probing ${check.from} → ${check.to}`);
      const expect = check.expect(addresses);
      const result = await probe(check.from, check.to, { stateDir, proto: 'tcp' });
      const pass = expect.saw === null ? !result.delivered : result.delivered && result.saw === expect.saw;
      rows.push({ case: `${c.title}: ${check.from} → ${check.to}`, expected: expect.describe, observed: observed(result), pass });
    }
  }
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
