/**
 * What the lab's kubelet learns about its node at start (lab.json's NodeRecord, the fabric's primary address, the
 * scenario's labels and settings) and later (ipamd's GET /ready on its CNI socket).
 */
import { existsSync, readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { release } from 'node:os';
import { basename, extname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PodnetError } from '../lib/index.js';
import { privateDnsName } from '../vpc/index.js';
import type { NodeFacts } from './kubelet-node.js';
import { loadScenario } from './scenario.js';
import type { LabRecord, LabState, NodeRecord } from './state.js';

/** The node's record and facts once lab up has written them. */
export async function nodeFacts(state: LabState, instanceName: string): Promise<{ lab: LabRecord; node: NodeRecord; facts: NodeFacts }> {
  const { lab, node } = await waitForNodeRecord(state, instanceName);
  const scenario = await loadScenario(lab.scenarioPath);
  const instance = scenario.instances.find((i) => i.name === instanceName);
  const ip = primaryAddress(state, node.instanceId);
  if (!instance || !ip) throw new PodnetError('LAB_FAILED', `node ${instanceName} has ${!instance ? 'no instance in the scenario' : 'no primary address in the fabric yet'}`, 'the kubelet is started by lab up once the fabric is wired');
  const scenarioNode = scenario.nodes.find((n) => n.instance === instanceName);
  const zone = scenario.subnets.find((s) => s.name === instance.subnet)?.az ?? `${lab.region}a`;
  const nodeName = node.nodeName ?? privateDnsName(ip, lab.region);
  const facts: NodeFacts = {
    nodeName,
    instanceId: node.instanceId,
    instanceType: node.instanceType,
    zone,
    region: lab.region,
    scenario: basename(lab.scenarioPath, extname(lab.scenarioPath)),
    labels: scenarioNode?.labels ?? {},
    internalIp: ip,
    // the mode max pods depends on: the scenario's settings for the node (its DaemonSet carries them) and the record's
    env: { ...scenarioNode?.env, ...node.env },
    kernelVersion: release(),
    containerRuntimeVersion: lab.runtime === 'containerd' ? 'containerd://lab' : `podnet-lab://${podnetVersion()}`,
    podnetVersion: podnetVersion(),
  };
  return { lab, node, facts };
}

/** Waits for lab.json to hold this node (lab up writes it as the nodes start) and the in-VPC kubeconfig. */
async function waitForNodeRecord(state: LabState, instance: string): Promise<{ lab: LabRecord; node: NodeRecord }> {
  const deadline = Date.now() + 120_000;
  for (;;) {
    const lab = state.readLab();
    const node = lab?.nodes[instance];
    if (lab && node && lab.vpcKubeconfig && state.readFabric()) return { lab, node };
    if (Date.now() > deadline) {
      throw new PodnetError('LAB_FAILED', `lab.json in ${state.dir} has no ${!lab ? 'lab' : !node ? `node ${instance}` : !lab.vpcKubeconfig ? 'in-VPC kubeconfig' : 'fabric status'} after 120 s`, 'the kubelet is started by lab up; see its log');
    }
    await sleep(200);
  }
}

/** The node's primary address, as EC2 assigned it to the primary ENI (the fabric's view). */
function primaryAddress(state: LabState, instanceId: string): string | undefined {
  return state.readFabric()?.enis.find((e) => e.instanceId === instanceId && e.deviceIndex === 0)?.privateIps[0];
}

/** GET /ready on ipamd's CNI socket: null when 200, else why not. */
export function ipamdReady(socket: string): Promise<string | null> {
  if (!existsSync(socket)) return Promise.resolve(`no CNI socket at ${socket} (ipamd is not running)`);
  return new Promise((resolve) => {
    const req = httpRequest({ socketPath: socket, path: '/ready', method: 'GET', timeout: 2_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(res.statusCode === 200 ? null : body.trim().replace(/^not ready: /, '') || `HTTP ${res.statusCode}`));
    });
    req.on('timeout', () => req.destroy(new Error('no answer in 2 s')));
    req.on('error', (err) => resolve(`ipamd's CNI socket: ${err.message}`));
    req.end();
  });
}

function podnetVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

