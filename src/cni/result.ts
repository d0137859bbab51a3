import { isMainTable, MAIN_TABLE } from '../dataplane/index.js';
import { type CniVersion, compareVersions } from './spec.js';

/**
 * podnet's own description of a wired pod attachment, from which every CNI result version is rendered, and the
 * reverse: what a prevResult tells DEL and CHECK when ipamd cannot (spec §6.1 step 5, §6.3).
 */
export interface PodAttachment {
  /** Host end of the veth pair (prefix + hash, spec §3.5); listed first, without sandbox, so bandwidth can act on it. */
  hostVethName: string;
  /** Container end, named CNI_IFNAME. */
  ifName: string;
  /** CNI_NETNS: the sandbox the container interface lives in. */
  netns: string;
  /** The pod address with its prefix length: `10.0.97.30/32` or `2001:db8::5/128`. */
  address: string;
  /** The ENI's route table (254 = main for the primary ENI, device number + 1 otherwise, spec §3.2). */
  routeTable: number;
  deviceNumber: number;
  /** 0 for normal pods; a branch ENI's VLAN for security-group pods (spec §3.9). */
  vlanId: number;
  /** Upstream's trailing record: `dummy` + the same hash as the host veth (spec §3.5). */
  dummyName: string;
  /** Branch ENI pods only: the branch subnet's gateway, reported as the IP's gateway (PodENISubnetGW, spec §6.1). */
  gateway?: string;
}

export interface CniInterface {
  name: string;
  mac?: string;
  sandbox?: string;
}

export interface CniIpConfig {
  address: string;
  gateway?: string;
  interface?: number;
}

/** The parts of a previous result podnet reads; other fields are carried but not interpreted. */
export interface PrevResult {
  interfaces: CniInterface[];
  ips: CniIpConfig[];
}

/**
 * The result printed for ADD in the configuration's cniVersion. Upstream's shape (spec §6.1): host veth (name only),
 * container interface whose `mac` carries the route table id, and the dummy record whose `mac` is the VLAN id and
 * `sandbox` the device number — both let DEL tear down without ipamd. 0.3.1/0.4.0 add `version` to each IP; 1.0.0
 * dropped it.
 */
export function formatResult(a: PodAttachment, cniVersion: CniVersion): Record<string, unknown> {
  const legacy = compareVersions(cniVersion, '1.0.0') < 0;
  const ip: Record<string, unknown> = legacy
    ? { version: a.address.includes(':') ? '6' : '4', interface: 1, address: a.address }
    : { interface: 1, address: a.address };
  if (a.gateway !== undefined) ip.gateway = a.gateway;
  return {
    cniVersion,
    interfaces: [
      { name: a.hostVethName },
      { name: a.ifName, mac: String(a.routeTable), sandbox: a.netns },
      { name: a.dummyName, mac: String(a.vlanId), sandbox: String(a.deviceNumber) },
    ],
    ips: [ip],
    dns: {},
  };
}

/** Decodes a prevResult (any of the four versions); returns a message naming the bad field when it cannot. */
export function parsePrevResult(value: unknown): PrevResult | string {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'prevResult is not a JSON object';
  const v = value as Record<string, unknown>;
  const interfaces: CniInterface[] = [];
  const ips: CniIpConfig[] = [];
  if (v.interfaces !== undefined) {
    if (!Array.isArray(v.interfaces)) return 'prevResult.interfaces is not a list';
    for (const [i, item] of v.interfaces.entries()) {
      if (typeof item !== 'object' || item === null || typeof (item as { name?: unknown }).name !== 'string') {
        return `prevResult.interfaces[${i}] has no string "name"`;
      }
      const { name, mac, sandbox } = item as Record<string, unknown>;
      interfaces.push({ name: name as string, ...(typeof mac === 'string' && { mac }), ...(typeof sandbox === 'string' && { sandbox }) });
    }
  }
  if (v.ips !== undefined) {
    if (!Array.isArray(v.ips)) return 'prevResult.ips is not a list';
    for (const [i, item] of v.ips.entries()) {
      if (typeof item !== 'object' || item === null || typeof (item as { address?: unknown }).address !== 'string') {
        return `prevResult.ips[${i}] has no string "address"`;
      }
      const { address, gateway, interface: index } = item as Record<string, unknown>;
      ips.push({
        address: address as string,
        ...(typeof gateway === 'string' && { gateway }),
        ...(typeof index === 'number' && Number.isInteger(index) && { interface: index }),
      });
    }
  }
  return { interfaces, ips };
}

/** What a prevResult says about the attachment named ifName; every field may be missing (a foreign or partial result). */
export interface RecordedAttachment {
  hostVethName?: string;
  address?: string;
  routeTable?: number;
  deviceNumber?: number;
  vlanId?: number;
}

/**
 * Reads back what formatResult wrote (spec §6.3 `teardownPodNetworkWithPrevResult`): the route table from the
 * container interface's `mac`, else from the dummy's device number (device + 1; 1 means main, spec §3.4).
 */
export function recordedAttachment(prev: PrevResult, ifName: string): RecordedAttachment {
  const containerIndex = prev.interfaces.findIndex((i) => i.name === ifName && i.sandbox !== undefined);
  const container = prev.interfaces[containerIndex];
  // a branch pod's dummy has device number -1 (upstream's DeviceNumber for branch ENIs, spec §5.2)
  const dummy = prev.interfaces.find((i) => i.name.startsWith('dummy') && i.sandbox !== undefined && /^-?\d+$/.test(i.sandbox));
  const host = prev.interfaces.find((i) => i.sandbox === undefined || i.sandbox === '');
  const ip = prev.ips.find((i) => i.interface === containerIndex) ?? prev.ips[0];
  const out: RecordedAttachment = {};
  if (host) out.hostVethName = host.name;
  if (ip) out.address = ip.address;
  if (dummy) {
    out.deviceNumber = Number(dummy.sandbox);
    if (dummy.mac !== undefined && /^\d+$/.test(dummy.mac)) out.vlanId = Number(dummy.mac);
  }
  if (container?.mac !== undefined && /^\d+$/.test(container.mac)) out.routeTable = Number(container.mac);
  else if (out.deviceNumber !== undefined && out.deviceNumber >= 0) out.routeTable = out.deviceNumber + 1;
  // upstream reports main as 254 and treats a legacy id of 1 as main too (spec §3.4)
  if (out.routeTable !== undefined && isMainTable(out.routeTable)) out.routeTable = MAIN_TABLE;
  return out;
}
