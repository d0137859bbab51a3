/**
 * `podnet lab control-plane --state-dir DIR`: the lab's scheduler and DaemonSet controller as one process, started by
 * `lab up` in the aws namespace. It reaches the API server with the lab's in-VPC admin kubeconfig (lab.vpcKubeconfig)
 * unless given another, logs one line per action to stdout, and stops on SIGTERM/SIGINT.
 */
import { loadKubeConfig } from '../k8s/index.js';
import { PodnetError } from '../lib/index.js';
import { startControlPlane } from './control-plane.js';
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
  if (!kubeconfig) {
    const lab = new LabState(o.stateDir).readLab();
    if (!lab) throw new PodnetError('USAGE', `no lab in ${o.stateDir}`, 'start one with podnet lab up, or pass --state-dir');
    if (!lab.vpcKubeconfig) throw new PodnetError('CONFIG_INVALID', `the lab in ${o.stateDir} has no Kubernetes API server (no vpcKubeconfig in its record)`, 'start the lab again with this version of podnet');
    kubeconfig = lab.vpcKubeconfig;
  }
  const log = (line: string) => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const cp = startControlPlane({ kc: loadKubeConfig({ kubeconfig }), log });
  log(`control plane: scheduler and DaemonSet controller on ${kubeconfig}`);
  void cp.synced.then(() => log('control plane: synced'));
  await o.until;
  await cp.stop();
  log('control plane: stopped');
}
