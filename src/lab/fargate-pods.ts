/**
 * Fargate pods from outside the lab (tests, the demo): a Pod object with no node whose namespace and labels a Fargate
 * profile of the lab's cluster selects; the control plane starts its Fargate node and binds it there, the node's
 * kubelet runs it and writes the lab's record (so `lab probe <name>` works). Deleting it goes through `podDel`.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { PodnetError } from '../lib/index.js';
import { createPod, labKubeConfig, labPodObject } from './cluster.js';
import { FARGATE_SCHEDULER } from './fargate.js';
import { podKey } from './kubelet-pod.js';
import { ns } from './plan.js';
import { DEFAULT_STATE_DIR, LabState, type PodRecord } from './state.js';

export interface FargatePodOptions {
  stateDir?: string;
  /** the pod's name in namespace default (the lab's name of it) */
  name: string;
  /** labels a profile's selector asks for */
  labels?: Record<string, string>;
  /** how long to wait for Running (a Fargate node is a namespace, an ENI and a kubelet: several seconds) */
  timeoutMs?: number;
}

/** Creates the pod and waits until it runs on its Fargate node and the lab has its record; returns the record and the Pod. */
export async function fargatePodAdd(o: FargatePodOptions): Promise<{ record: PodRecord; pod: V1Pod }> {
  const state = new LabState(o.stateDir ?? DEFAULT_STATE_DIR);
  const lab = state.readLab();
  if (!lab) throw new PodnetError('LAB_NOT_UP', `no lab is up (no ${state.path('lab.json')})`, 'start one: podnet lab up [SCENARIO]');
  const key = podKey('default', o.name);
  if (!key) throw new PodnetError('USAGE', `'${o.name}' is not a pod name`, 'lowercase letters, digits and -, at most 31 characters');
  const pod = await createPod(labKubeConfig(lab), labPodObject(o.name, { ...(o.labels && { labels: o.labels }) }), o.timeoutMs ?? 300_000);
  if (!pod.spec?.nodeName?.startsWith('fargate-')) {
    throw new PodnetError('USAGE', `pod ${o.name} runs on ${pod.spec?.nodeName ?? 'no node'}, not on a Fargate node: no Fargate profile of the lab's cluster selects it`, `give it the labels a profile's selector names (${FARGATE_SCHEDULER} takes namespace default pods only through a profile)`);
  }
  // the kubelet writes the record before it posts Running; the fabric wired the ENI before the kubelet started
  const record = state.pod(key);
  if (!record || !record.ns.startsWith(ns.fargate(''))) throw new PodnetError('LAB_FAILED', `pod ${o.name} runs but the lab has no record of it in a Fargate namespace`, `see ${state.path('logs')}`);
  return { record, pod };
}
