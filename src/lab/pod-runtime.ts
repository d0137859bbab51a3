/**
 * How the lab makes a pod's sandbox, shared by `lab pod add/del` and the lab's kubelet: the node's installed
 * podnet-cni run directly (CNI ADD/DEL, as a runtime would), or a CRI pod sandbox on the node's containerd. Either
 * way the pod's network namespace is `ns.pod(key)` afterwards, where key is the lab's name of the pod.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cniEnv } from '../cni/index.js';
import { PodnetError, run } from '../lib/index.js';
import { ipBatch } from './apply.js';
import { criPodAdd, criPodDel, labCgroupParent } from './containerd.js';
import { ns } from './plan.js';
import type { LabRecord, LabState, NodeRecord } from './state.js';

/** The pod as Kubernetes names it (CNI_ARGS' K8S_POD_*); the lab's own pods are `default/<key>`. */
export interface PodIdentity {
  namespace: string;
  name: string;
  uid?: string;
}

const labPod = (key: string): PodIdentity => ({ namespace: 'default', name: key });

/** Runs the node's installed podnet-cni as a runtime does: CNI_* env, the conflist's plugin conf on stdin, in the node namespace. */
async function callCni(node: NodeRecord, command: 'ADD' | 'DEL', containerId: string, netns: string, pod: PodIdentity): Promise<{ ip: string | null }> {
  const conflist = JSON.parse(readFileSync(join(node.confDir, '10-aws.conflist'), 'utf8')) as { cniVersion: string; name: string; plugins: Array<Record<string, unknown>> };
  const conf = { cniVersion: conflist.cniVersion, name: conflist.name, ...conflist.plugins[0] };
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    ...cniEnv({ command, containerId, netns, ifName: 'eth0', podNamespace: pod.namespace, podName: pod.name, podUid: pod.uid, path: node.binDir }),
  };
  let stdout: string;
  try {
    ({ stdout } = await run([join(node.binDir, 'podnet-cni')], { netns: node.ns, env, input: JSON.stringify(conf), timeoutMs: 60_000 }));
  } catch (err) {
    const out = (err as { stdout?: string }).stdout ?? '';
    let detail = out.trim();
    try {
      const e = JSON.parse(out) as { code?: number; msg?: string; details?: string };
      detail = `CNI error ${e.code}: ${e.msg}${e.details ? ` (${e.details})` : ''}`;
    } catch {
      detail ||= (err as Error).message;
    }
    throw new PodnetError('LAB_FAILED', `CNI ${command} for pod ${pod.name} on ${node.name} failed: ${detail}`, `see ipamd.log and plugin.log in ${join(node.dir, 'log')}`);
  }
  if (command === 'DEL') return { ip: null };
  const result = JSON.parse(stdout) as { ips?: Array<{ address: string }> };
  return { ip: result.ips?.[0]?.address.split('/')[0] ?? null };
}

/** Creates the pod's namespace and runs CNI ADD for it; the namespace goes again if ADD fails. */
async function cniAdd(node: NodeRecord, pod: PodIdentity, netns: string, containerId: string): Promise<string | null> {
  await ipBatch([`netns add ${netns}`]);
  // A failed ADD is retried for a while, as the kubelet retries a pod sandbox: ipamd answers "no free address yet"
  // while its pool grows (spec §6.1), and the next attempt gets an address once EC2 assigned more.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      return (await callCni(node, 'ADD', containerId, `/run/netns/${netns}`, pod)).ip;
    } catch (err) {
      if (Date.now() < deadline) {
        await sleep(500);
        continue;
      }
      await ipBatch([`netns del ${netns}`]).catch(() => undefined);
      throw err;
    }
  }
}

/** How the lab's runtime creates and deletes a pod; either way the pod's namespace is `ns.pod(key)` afterwards. */
export interface PodRuntime {
  /** attempt numbers the sandboxes of one pod key (the --eni search makes several); pod defaults to default/<key> */
  add(node: NodeRecord, key: string, attempt: number, pod?: PodIdentity): Promise<{ containerId: string; ip: string | null }>;
  del(node: NodeRecord, key: string, containerId: string, pod?: PodIdentity): Promise<void>;
}

const cniRuntime: PodRuntime = {
  add: async (node, key, attempt, pod = labPod(key)) => {
    const containerId = `${key}-c${attempt}`;
    return { containerId, ip: await cniAdd(node, pod, ns.pod(key), containerId) };
  },
  del: async (node, key, containerId, pod = labPod(key)) => {
    await callCni(node, 'DEL', containerId, `/run/netns/${ns.pod(key)}`, pod);
    await ipBatch([`netns del ${ns.pod(key)}`]).catch(() => undefined);
  },
};

export function podRuntime(state: LabState, lab: LabRecord): PodRuntime {
  if (lab.runtime !== 'containerd') return cniRuntime;
  const cgroupParent = labCgroupParent(state.dir);
  return { add: (node, key, attempt, pod) => criPodAdd(node, key, cgroupParent, attempt, pod), del: (node, key, containerId) => criPodDel(node, key, containerId) };
}
