/**
 * The running lab as `podnet explain` sees it (a World): the VPC model from what EC2 and the fabric say, each node with
 * the settings its ipamd runs with (its env, read by the config module: ENABLE_POD_ENI and
 * POD_SECURITY_GROUP_ENFORCING_MODE too; DISABLE_TCP_EARLY_DEMUX, which aws-node's init container applies, is there as
 * well: the lab and `kubectl set env` give every container of the DaemonSet the same env, src/lab/cluster.ts
 * labDaemonSets; a value patched into the init container alone is not seen) and the iptables it finds, and every lab
 * endpoint by the name `lab probe` accepts. Security groups for pods need nothing of their own here: a branch ENI's
 * mapping carries its `trunk`, every mapping EC2's `interfaceType` (a trunk's is `trunk`, with or without branches) —
 * the World's AttachedEni fields — and a branch pod's recorded address is its branch's.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../config/index.js';
import { detectConnmarkBackend, detectRandomFully } from '../dataplane/index.js';
import { clusterEndpoints, nodeSettingsOf, type Endpoint, type NodeView, type World } from '../explain/index.js';
import { PodnetError } from '../lib/index.js';
import type { EksCluster } from '../vpc/index.js';
import { isIpamdProcess } from './cluster.js';
import { labEndpoints } from './endpoints.js';
import { requireLab } from './lab.js';
import { instanceEniLink, labModel } from './render.js';
import { LabState, isLabProcess, type FabricStatus, type LabRecord, type NodeRecord, type PodRecord } from './state.js';

/** What the nodes' iptables is, as ipamd detects it (`iptables --version`): every lab node runs the host's binary. */
export interface NodeIptables {
  connmarkBackend: NodeView['connmarkBackend'];
  randomFullySupported: boolean;
}

/**
 * The World of a lab's records (pure: lab.json, fabric.json and the pods, with the nodes' iptables), and the lab's EKS
 * cluster as the emulator describes it (its endpoint is `cluster-endpoint`).
 */
export function buildLabWorld(lab: LabRecord, fabric: FabricStatus, pods: readonly PodRecord[], iptables: NodeIptables, clusters: readonly EksCluster[] = []): World {
  const nodes: NodeView[] = Object.values(lab.nodes).map((n) => ({
    name: n.name,
    instanceId: n.instanceId,
    // the settings its ipamd runs with: its env, read as ipamd reads it
    settings: nodeSettingsOf(loadConfig(n.env ?? {}).config),
    connmarkBackend: iptables.connmarkBackend,
    // the lab wires the primary ENI (device 0) into the node's namespace under this name
    primaryInterface: instanceEniLink(0),
    randomFullySupported: iptables.randomFullySupported,
  }));
  const endpoints: Endpoint[] = labEndpoints(lab, fabric, pods).flatMap((e) =>
    // a pod on a Fargate node has no lab node: it is its own ENI (no node rules, its own address as source)
    e.address === null ? [] : [{ name: e.name, kind: e.kind, address: e.address, ...(e.node && e.node in lab.nodes ? { node: e.node } : {}), ...(e.hostNetwork !== undefined ? { hostNetwork: e.hostNetwork } : {}) }],
  );
  // only the cluster whose endpoint the lab serves (lab up's scenario `cluster:`): another one EKS describes has no endpoint here
  const served = clusters.filter((c) => c.name === lab.plan.eks?.cluster);
  const instanceNames = Object.fromEntries([...Object.values(lab.nodes).map((n) => [n.instanceId, n.name]), ...Object.entries(lab.hosts).map(([name, h]) => [h.instanceId, name])]);
  const model = { ...labModel(lab.plan, fabric.facts, fabric.enis), ...(served.length > 0 ? { eksClusters: served.map((c) => ({ ...c })) } : {}), enis: fabric.enis.map((e) => ({ ...e })) };
  return { source: 'lab', model, nodes, endpoints: [...endpoints, ...clusterEndpoints(served)], instanceNames };
}

/** The World of the lab that is up in `stateDir`. */
export async function labWorld(stateDir: string): Promise<World> {
  return (await labExplainSource(stateDir)).world;
}

/** What `podnet explain` asks of a running lab: its World, and the port a tcp/udp question means by default (the echo service's). */
export async function labExplainSource(stateDir: string): Promise<{ world: World; defaultPort: number }> {
  const state = new LabState(stateDir);
  const lab = requireLab(state);
  const fabric = state.readFabric();
  if (!fabric) throw new PodnetError('LAB_FAILED', `the lab's fabric controller has published no state in ${stateDir}`, 'wait a moment and try again; see podnet lab status');
  const nodes = Object.fromEntries(Object.entries(lab.nodes).map(([name, n]) => [name, { ...n, env: runningIpamdEnv(state, n) ?? n.env }]));
  // the clusters as the fabric applies them now (the controller's copy of /_podnet/eks, which the host cannot reach:
  // the emulator listens in the aws namespace) — what the packets meet
  const clusters = fabric.eksClusters ?? [];
  return { world: buildLabWorld({ ...lab, nodes }, fabric, state.pods(), await nodeIptables(), clusters), defaultPort: lab.plan.echoPort };
}

/**
 * The environment of the node's running ipamd — the aws-node container its kubelet started from the DaemonSet, so
 * after `kubectl set env` it is the new template's — or undefined when none runs (the record's env stands in).
 */
function runningIpamdEnv(state: LabState, node: NodeRecord): Record<string, string> | undefined {
  for (const p of state.procs().filter((x) => isIpamdProcess(x, node))) {
    if (!isLabProcess(p.pid, state.dir)) continue;
    try {
      const entries = readFileSync(`/proc/${p.pid}/environ`, 'latin1').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]);
      return Object.fromEntries(entries);
    } catch {
      // it exited meanwhile: the next one, or the record
    }
  }
  return undefined;
}

/** The nodes' iptables, detected once per process (two `iptables --version` runs): every lab node runs the host's binary. */
let detected: Promise<NodeIptables> | undefined;
function nodeIptables(): Promise<NodeIptables> {
  detected ??= Promise.all([detectConnmarkBackend(), detectRandomFully()]).then(
    ([connmarkBackend, randomFullySupported]) => ({ connmarkBackend, randomFullySupported }),
    (err: unknown) => {
      detected = undefined; // a failed detection (iptables missing) is tried again next time
      throw err;
    },
  );
  return detected;
}
