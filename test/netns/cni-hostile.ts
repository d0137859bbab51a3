// Shared by the netns tests of CNI calls on one node (cni-node, and issue 10's cni-del-foreign-prevresult, cni-readd-rollback,
// cni-host-netns, cni-startup-del): one emulated node (test/e2e/podnet-node.ts) per file, pods added and deleted
// through the installed podnet-cni launcher as a runtime does it, and snapshots of everything on the node a DEL or a
// failed ADD could damage: links, main routes, ip rules, and what ipamd holds.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { cniEnv } from '../../src/cni/index.js';
import { readIpJson } from '../../src/dataplane/index.js';
import { run } from '../../src/lib/index.js';
import { heldAddresses, startPodnetNode, type PodnetNode } from '../e2e/podnet-node.js';

export const K8S_NAMESPACE = 'hostile';
const EC2_PORT = 7311;

export interface TestPod {
  name: string;
  /** Its network namespace's name under /run/netns. */
  netns: string;
  containerId: string;
  address?: string;
  hostVeth?: string;
  result?: Record<string, unknown>;
}

export interface Call {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A node with a warm pool big enough for every pod of a file, on the primary ENI's 29 addresses. */
export async function startHostileNode(dir: string, netns: string): Promise<PodnetNode> {
  return startPodnetNode({ dir, netns, instanceType: 'm5.4xlarge', ipamdEnv: { MINIMUM_IP_TARGET: '20', WARM_IP_TARGET: '2' } });
}

export function testPod(name: string, index: number): TestPod {
  return { name, netns: `ho-${name}`, containerId: index.toString(16).padStart(64, 'a') };
}

export async function createNetns(pods: readonly TestPod[]): Promise<void> {
  await run(['ip', '-batch', '-'], { input: pods.map((p) => `netns add ${p.netns}`).join('\n') });
}

export async function deleteNetns(pods: readonly TestPod[]): Promise<void> {
  await run(['ip', '-force', '-batch', '-'], { input: pods.map((p) => `netns del ${p.netns}`).join('\n') }).catch(() => {});
}

/**
 * Runs the installed launcher in the node's namespace with the CNI_* variables a runtime sets for the pod (`env`
 * replaces some) and the conflist's plugin entry (CNI 1.0.0) plus prevResult on stdin.
 */
export function cni(node: PodnetNode, command: 'ADD' | 'CHECK' | 'DEL', pod: TestPod, o: { prevResult?: unknown; netns?: string; env?: Record<string, string> } = {}): Promise<Call> {
  const plugin = node.conflist.plugins[0]!;
  const stdin = JSON.stringify({ ...plugin, cniVersion: '1.0.0', name: node.conflist.name, ...(o.prevResult !== undefined && { prevResult: o.prevResult }) });
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    ...cniEnv({ command, containerId: pod.containerId, netns: o.netns ?? `/run/netns/${pod.netns}`, ifName: 'eth0', podNamespace: K8S_NAMESPACE, podName: pod.name, podUid: `uid-${pod.name}`, path: node.binDir }),
    ...o.env,
  };
  return runLauncherOnNode(node, env, stdin);
}

/** Runs the node's installed launcher in the node's network namespace, as the runtime on the node does. */
export function runLauncherOnNode(node: PodnetNode, env: Record<string, string>, stdin: string): Promise<Call> {
  return new Promise((resolve, reject) => {
    const child = spawn('nsenter', [`--net=/run/netns/${node.netns}`, '--', join(node.binDir, 'podnet-cni')], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

export const describeCall = (node: PodnetNode, what: string, c: Call) => `${what} exited ${c.code}: ${c.stdout.trim()} ${c.stderr.trim()}\n${node.logTail()}`;

/** ADD through the launcher; records the pod's address, host veth and result. */
export async function addPod(node: PodnetNode, pod: TestPod): Promise<void> {
  const c = await cni(node, 'ADD', pod);
  assert.equal(c.code, 0, describeCall(node, `ADD ${pod.name}`, c));
  const result = JSON.parse(c.stdout) as { interfaces: { name: string; sandbox?: string }[]; ips: { address: string }[] };
  pod.address = result.ips[0]!.address.replace(/\/32$/, '');
  pod.hostVeth = result.interfaces.find((i) => i.sandbox === undefined)!.name;
  pod.result = result as unknown as Record<string, unknown>;
}

/** The CNI error JSON a failed call printed. */
export function cniError(c: Call): { code: number; msg: string; details?: string } {
  assert.notEqual(c.code, 0, `expected a failure, got exit 0: ${c.stdout}`);
  const e = JSON.parse(c.stdout) as { code: number; msg: string; details?: string };
  assert.equal(typeof e.code, 'number', c.stdout);
  assert.equal(typeof e.msg, 'string', c.stdout);
  return e;
}

/** Everything on the node a CNI call could change, as sorted lines: links (name, state, MAC, MTU), IPv4 routes of every table, rules. */
export interface NodeState {
  links: string[];
  routes: string[];
  rules: string[];
}

export async function nodeState(node: PodnetNode): Promise<NodeState> {
  // IPv4 only: IPv6 link-local routes come and go with each veth's address autoconfiguration
  const [links, routes, rules] = (await readIpJson(node.netns, ['link show', 'route show table all', 'rule show'], 4)) as [
    { ifname: string; operstate: string; address?: string; mtu: number }[],
    { dst: string; dev?: string; gateway?: string; table?: string }[],
    { priority: number; src: string; dst?: string; table: string; fwmark?: string }[],
  ];
  return {
    links: links.map((l) => `${l.ifname} ${l.operstate} ${l.address ?? ''} ${l.mtu}`).sort(),
    routes: routes.map((r) => `${r.dst} via ${r.gateway ?? '-'} dev ${r.dev ?? '-'} table ${r.table ?? 'main'}`).sort(),
    rules: rules.map((r) => `${r.priority}: from ${r.src} to ${r.dst ?? 'all'} fwmark ${r.fwmark ?? '-'} lookup ${r.table}`).sort(),
  };
}

/** The node state minus what belongs to `pods` (their host veth, /32 route, 512/1536 rules). */
export function withoutPods(s: NodeState, pods: readonly TestPod[]): NodeState {
  const mine = (line: string) => pods.some((p) => line.startsWith(`${p.hostVeth} `) || line.includes(` dev ${p.hostVeth} `) || line.includes(`from ${p.address} `) || line.includes(`to ${p.address} `));
  return { links: s.links.filter((l) => !mine(l)), routes: s.routes.filter((l) => !mine(l)), rules: s.rules.filter((l) => !mine(l)) };
}

/** What is missing of a pod's wiring: host veth, /32 route, 512 rule, its eth0 with the address. Empty when fully wired. */
export async function missingWiring(node: PodnetNode, pod: TestPod): Promise<string[]> {
  const s = await nodeState(node);
  const missing: string[] = [];
  if (!s.links.some((l) => l.startsWith(`${pod.hostVeth} UP `))) missing.push(`host veth ${pod.hostVeth}`);
  if (!s.routes.includes(`${pod.address} via - dev ${pod.hostVeth} table main`)) missing.push(`route ${pod.address} dev ${pod.hostVeth}`);
  if (!s.rules.some((r) => r.startsWith(`512: from all to ${pod.address} `))) missing.push(`rule 512 to ${pod.address}`);
  const inside = await readIpJson(pod.netns, ['addr show dev eth0']).catch(() => [[]]);
  const eth0 = (inside[0] as { addr_info?: { local: string }[] }[])[0];
  if (!eth0?.addr_info?.some((a) => a.local === pod.address)) missing.push(`${pod.address} on eth0 in ${pod.netns}`);
  return missing;
}

/** What is left of a pod's wiring on the node (veth, route, rules for its address). Empty when fully gone. */
export async function leftWiring(node: PodnetNode, pod: TestPod): Promise<string[]> {
  const s = await nodeState(node);
  return [
    ...s.links.filter((l) => l.startsWith(`${pod.hostVeth} `)),
    ...s.routes.filter((l) => l.startsWith(`${pod.address} `)),
    ...s.rules.filter((l) => l.includes(`from ${pod.address} `) || l.includes(`to ${pod.address} `)),
  ];
}

/** Address → pod name, from ipamd's introspection. */
export async function held(node: PodnetNode): Promise<Map<string, string>> {
  return heldAddresses(await node.introspect('/v1/enis'));
}

/** GET /ready on ipamd's socket: 200, 503 (starting), or 0 when nothing answers. */
export function readiness(node: PodnetNode): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ socketPath: node.socket, path: '/ready', timeout: 2_000 }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(0));
    req.end();
  });
}

export async function waitFor(what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sets the emulator's fault injection (POST /_podnet/faults): e.g. latency on an action ipamd's start-up calls. */
export function setEc2Faults(node: PodnetNode, actions: Record<string, { latencyMs?: number }>): Promise<void> {
  return new Promise((resolve, reject) => {
    const req = request({ host: node.routerIp, port: EC2_PORT, path: '/_podnet/faults', method: 'POST', headers: { 'content-type': 'application/json' } }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? resolve() : reject(new Error(`POST /_podnet/faults answered ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ actions }));
  });
}
