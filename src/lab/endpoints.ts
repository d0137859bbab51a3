/**
 * The lab's endpoints by name — pods, nodes, plain instances (hosts), internet and on-premises hosts — with where each
 * lives and the address it sends from: the one list both `lab probe` (which needs the namespace) and explain's lab
 * world (which needs the name, kind and address) read.
 */
import { PodnetError } from '../lib/index.js';
import type { FabricStatus, LabRecord, PodRecord } from './state.js';

export interface LabEndpoint {
  name: string;
  kind: 'pod' | 'node' | 'host' | 'internet' | 'on-premises';
  ns: string;
  /** the address it sends from and listens on (a hostNetwork pod: its node's primary IP); null while it has none */
  address: string | null;
  /** why `address` is null, as an error message, and what to do */
  missing?: { message: string; hint: string };
  /** its public IP, if EC2 gave it one */
  publicIp?: string;
  /** a pod's node */
  node?: string;
  hostNetwork?: boolean;
}

/** The primary ENI's first address of an instance (and its public IP), as the fabric wired it. */
export function primaryAddressOf(fabric: FabricStatus | undefined, instanceId: string): { ip: string; publicIp?: string; eniId: string } | undefined {
  const eni = fabric?.enis.find((e) => e.instanceId === instanceId && e.deviceIndex === 0);
  const ip = eni?.privateIps[0];
  return ip ? { ip, eniId: eni.eniId, ...(eni.publicIps[ip] ? { publicIp: eni.publicIps[ip] } : {}) } : undefined;
}

const noPrimary = (name: string) => ({ message: `${name} has no wired primary ENI`, hint: 'see podnet lab status' });

/** Every endpoint of the lab, internet and on-premises hosts first (the order names are looked up in). */
export function labEndpoints(lab: LabRecord, fabric: FabricStatus | undefined, pods: readonly PodRecord[]): LabEndpoint[] {
  const out: LabEndpoint[] = [];
  for (const h of lab.plan.internetHosts) out.push({ name: h.name, kind: 'internet', ns: h.ns, address: h.address });
  for (const h of lab.plan.onPremHosts) out.push({ name: h.name, kind: 'on-premises', ns: h.ns, address: h.address });
  for (const pod of pods) {
    const base = { name: pod.name, kind: 'pod' as const, node: pod.node, hostNetwork: pod.hostNetwork };
    if (pod.hostNetwork) {
      const node = lab.nodes[pod.node];
      const p = node && primaryAddressOf(fabric, node.instanceId);
      out.push({ ...base, ns: node?.ns ?? pod.ns, address: p?.ip ?? null, ...(p?.publicIp ? { publicIp: p.publicIp } : {}), ...(p ? {} : { missing: noPrimary(`node ${pod.node}`) }) });
    } else {
      out.push({ ...base, ns: pod.ns, address: pod.ip, ...(pod.ip ? {} : { missing: { message: `pod ${pod.name} has no IPv4 address`, hint: 'delete and add it again' } }) });
    }
  }
  const instances = [...Object.values(lab.nodes).map((n) => ({ name: n.name, kind: 'node' as const, ns: n.ns, instanceId: n.instanceId })), ...Object.entries(lab.hosts).map(([name, h]) => ({ name, kind: 'host' as const, ns: h.ns, instanceId: h.instanceId }))];
  for (const i of instances) {
    const p = primaryAddressOf(fabric, i.instanceId);
    out.push({ name: i.name, kind: i.kind, ns: i.ns, address: p?.ip ?? null, ...(p?.publicIp ? { publicIp: p.publicIp } : {}), ...(p ? {} : { missing: noPrimary(i.name) }) });
  }
  return out;
}

/** The endpoint named `name`, with an address; a usage error listing the known names when there is none by that name. */
export function findLabEndpoint(endpoints: readonly LabEndpoint[], name: string): LabEndpoint & { address: string } {
  const found = endpoints.find((e) => e.name === name);
  if (!found) throw new PodnetError('USAGE', `no pod, node or host named '${name}'`, `known names: ${endpoints.map((e) => e.name).join(', ')}`);
  if (found.address === null) throw new PodnetError('LAB_FAILED', found.missing?.message ?? `${name} has no address`, found.missing?.hint ?? 'see podnet lab status');
  return found as LabEndpoint & { address: string };
}
