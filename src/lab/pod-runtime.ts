/**
 * How the lab makes a pod's sandbox, shared by `lab pod add/del` and the lab's kubelet: the node's installed
 * podnet-cni run directly (CNI ADD/DEL, as a runtime would), or a CRI pod sandbox on the node's containerd. Either
 * way the pod's network namespace is `ns.pod(key)` afterwards, where key is the lab's name of the pod.
 */
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cniEnv } from '../cni/index.js';
import { PodnetError, run, writeFileAtomicSync } from '../lib/index.js';
import { ipBatch } from './apply.js';
import { criPodAdd, criPodDel, labCgroupParent } from './containerd.js';
import { nodeResolvConf } from './eks-endpoint-lab.js';
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

/**
 * The CNI directly: no runtime writes the pod's resolv.conf, so the lab does, at `<state>/pods/<pod>/resolv.conf`
 * (its node's: the VPC's resolver), for whatever runs in the pod's namespace to read (e.g. PODNET_RESOLV_CONF).
 */
function cniRuntime(state: LabState): PodRuntime {
  const resolvDir = (key: string) => state.path('pods', key);
  return {
    add: async (node, key, attempt, pod = labPod(key)) => {
      const containerId = `${key}-c${attempt}`;
      const ip = await cniAdd(node, pod, ns.pod(key), containerId);
      if (node.dns) {
        mkdirSync(resolvDir(key), { recursive: true });
        writeFileAtomicSync(state.path('pods', key, 'resolv.conf'), nodeResolvConf(node.dns), { mode: 0o644, what: 'the pod\'s resolv.conf' });
      }
      return { containerId, ip };
    },
    del: async (node, key, containerId, pod = labPod(key)) => {
      await callCni(node, 'DEL', containerId, `/run/netns/${ns.pod(key)}`, pod);
      await ipBatch([`netns del ${ns.pod(key)}`]).catch(() => undefined);
      rmSync(resolvDir(key), { recursive: true, force: true });
    },
  };
}

export function podRuntime(state: LabState, lab: LabRecord): PodRuntime {
  if (lab.runtime !== 'containerd') return cniRuntime(state);
  const cgroupParent = labCgroupParent(state.dir);
  return { add: (node, key, attempt, pod) => criPodAdd(node, key, cgroupParent, attempt, pod), del: (node, key, containerId) => criPodDel(node, key, containerId) };
}
