/**
 * `podnet lab control-plane --state-dir DIR`: the lab's scheduler and DaemonSet controller as one process, started by
 * `lab up` in the aws namespace. It reaches the API server with the lab's in-VPC admin kubeconfig (lab.vpcKubeconfig)
 * unless given another, logs one line per action to stdout, and stops on SIGTERM/SIGINT.
 */
import { loadKubeConfig } from '../k8s/index.js';
import { PodnetError } from '../lib/index.js';
import { startControlPlane } from './control-plane.js';
import { labFargate } from './fargate-nodes.js';
import { LabState } from './state.js';

export interface ControlPlaneRunOptions {
  stateDir: string;
  /** Another kubeconfig than the lab's in-VPC one. */
  kubeconfig?: string;
  /** Resolves when the process should stop. */
  until: Promise<void>;
}

export async function runControlPlane(o: ControlPlaneRunOptions): Promise<void> {
  let kubeconfig = o.kubeconfig;
  const state = new LabState(o.stateDir);
  const labRecord = state.readLab();
  if (!kubeconfig) {
    const lab = labRecord;
    if (!lab) throw new PodnetError('USAGE', `no lab in ${o.stateDir}`, 'start one with podnet lab up, or pass --state-dir');
    if (!lab.vpcKubeconfig) throw new PodnetError('CONFIG_INVALID', `the lab in ${o.stateDir} has no Kubernetes API server (no vpcKubeconfig in its record)`, 'start the lab again with this version of podnet');
    kubeconfig = lab.vpcKubeconfig;
  }
  const log = (line: string) => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const kc = loadKubeConfig({ kubeconfig });
  // Fargate nodes only in a lab (they need its fabric and emulator); resync picks up what the Fargate effects did
  const fargate = labRecord ? labFargate(state, labRecord, kc, log) : undefined;
  const cp = startControlPlane({ kc, log, ...(fargate && { fargate }) });
  log(`control plane: scheduler, DaemonSet controller${fargate ? ' and Fargate' : ''} on ${kubeconfig}`);
  void cp.synced.then(() => log('control plane: synced'));
  await o.until;
  await cp.stop();
  await fargate?.stop();
  log('control plane: stopped');
}
