/**
 * ipamd's introspection endpoint in upstream's shapes (spec §6.5): /v1/enis, /v1/eni-configs,
 * /v1/ipamd-env-settings, /v1/networkutils-env-settings; anything else lists the commands.
 */
import { type Datastore } from '../ipam/index.js';
import type { PodnetConfig } from '../config/index.js';
import { eniRouteTable } from '../dataplane/index.js';
import { sendJson, type ListenAddress } from '../lib/index.js';
import { parseCidr } from '../net/index.js';
import { startHttpEndpoint, type HttpEndpoint } from './http.js';

const ZERO_TIME = '0001-01-01T00:00:00Z';

/** Go's net.IPNet in JSON: the mask as base64 of its bytes (/32 → "/////w==", /28 → "////8A=="). */
function ipNet(cidr: string): { IP: string; Mask: string } {
  const c = parseCidr(cidr);
  const bytes = c.family === 4 ? 4 : 16;
  const mask = Buffer.alloc(bytes);
  for (let bit = 0; bit < c.prefixLength; bit++) mask[bit >> 3]! |= 0x80 >> (bit & 7);
  return { IP: cidr.split('/')[0]!, Mask: mask.toString('base64') };
}

/**
 * A time as Go's time.Time marshals it (RFC 3339 with nanoseconds, trailing zeros and an all-zero fraction dropped),
 * in UTC as aws-node's container runs.
 */
function goTime(ns: bigint): string {
  const seconds = ns / 1_000_000_000n;
  const fraction = (ns % 1_000_000_000n).toString().padStart(9, '0').replace(/0+$/, '');
  return `${new Date(Number(seconds) * 1000).toISOString().slice(0, 19)}${fraction && `.${fraction}`}Z`;
}

/**
 * GetENIInfos for one datastore. `IPAddresses` lists every address handed out: those pods hold, with the container id
 * and interface name scrubbed as upstream does, and released ones with a zero IPAMKey and their `UnassignedTime`
 * (cooldown runs IP_COOLDOWN_PERIOD from it; the entry goes when its CIDR next hands out an address after that).
 * `TotalIPs`/`AssignedIPs` count every CIDR kind on every ENI.
 */
function renderEniInfos(ds: Datastore, nowMs: number): unknown {
  const snapshot = ds.snapshot(nowMs);
  const records = ds.addressRecords();
  let totalIps = 0;
  let assignedIps = 0;
  const enis: Record<string, unknown> = {};
  for (const eni of snapshot.enis) {
    const cidrs: Record<string, unknown> = {};
    for (const c of eni.cidrs) {
      totalIps += c.size;
      assignedIps += c.assigned;
      const addresses: Record<string, unknown> = {};
      for (const a of records.filter((r) => r.eniId === eni.id && r.cidr === c.cidr)) {
        addresses[a.address] = {
          Address: a.address,
          IPAMKey: { networkName: a.key?.networkName ?? '', containerID: '', ifName: '' },
          // omitempty fields, as Go marshals IPAMMetadata
          IPAMMetadata: {
            ...(a.metadata.k8sPodNamespace && { k8sPodNamespace: a.metadata.k8sPodNamespace }),
            ...(a.metadata.k8sPodName && { k8sPodName: a.metadata.k8sPodName }),
            ...(a.metadata.interfacesCount && { interfacesCount: a.metadata.interfacesCount }),
          },
          AssignedTime: goTime(a.assignedAtNs),
          UnassignedTime: a.unassignedAt === undefined ? ZERO_TIME : goTime(BigInt(Math.round(a.unassignedAt)) * 1_000_000n),
        };
      }
      cidrs[c.cidr] = { Cidr: ipNet(c.cidr), IPAddresses: addresses, IsPrefix: c.prefix, AddressFamily: '' };
    }
    enis[eni.id] = {
      ID: eni.id,
      IsPrimary: eni.primary,
      IsTrunk: eni.trunk,
      IsEFA: eni.efa,
      DeviceNumber: eni.deviceNumber,
      AvailableIPv4Cidrs: cidrs,
      IPv6Cidrs: {},
      IsExcludedForPodIPs: eni.excluded,
      RouteTableID: eniRouteTable(eni.deviceNumber, eni.networkCard),
      SubnetID: eni.subnetId,
    };
  }
  return { TotalIPs: totalIps, AssignedIPs: assignedIps, ENIs: enis };
}

const randomizeSnatEnum = { none: 0, hashrandom: 1, prng: 2 } as const;

/** /v1/networkutils-env-settings (spec §6.5): nil lists are `null`, as Go marshals them. */
function networkUtilsEnvSettings(c: PodnetConfig): Record<string, unknown> {
  return {
    AWS_VPC_K8S_CNI_CONNMARK: c.connmark,
    AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS: c.excludeSnatCidrs.length > 0 ? c.excludeSnatCidrs : null,
    AWS_VPC_K8S_CNI_EXTERNALSNAT: c.externalSnat,
    AWS_EXTERNAL_SERVICE_CIDRS: c.externalServiceCidrs.length > 0 ? c.externalServiceCidrs : null,
    AWS_VPC_ENI_MTU: c.eniMtu,
    AWS_VPC_K8S_CNI_VETHPREFIX: c.vethPrefix,
    AWS_VPC_CNI_NODE_PORT_SUPPORT: c.nodePortSupport,
    AWS_VPC_K8S_CNI_RANDOMIZESNAT: randomizeSnatEnum[c.randomizeSnat],
  };
}

/** /v1/ipamd-env-settings (spec §6.5). */
function ipamdEnvSettings(c: PodnetConfig): Record<string, unknown> {
  return {
    WARM_IP_TARGET: c.warmIpTarget,
    WARM_ENI_TARGET: c.warmEniTarget,
    AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: c.customNetworkCfg,
    AWS_MANAGE_ENIS_NON_SCHEDULABLE: c.manageEnisNonSchedulable,
    ENABLE_SUBNET_DISCOVERY: c.enableSubnetDiscovery,
  };
}

const introspectionCommands = ['/v1/enis', '/v1/eni-configs', '/v1/networkutils-env-settings', '/v1/ipamd-env-settings'] as const;

export interface IntrospectionSource {
  config: PodnetConfig;
  /** Datastores by network card. */
  datastores(): ReadonlyMap<number, Datastore>;
  /** This node's ENIConfig name (spec §5.1). */
  eniConfigName(): string;
  /** The Kubernetes side's state (podnet's /v1/kubernetes), when ipamd runs with an API server. */
  kubernetes?(): unknown;
  nowMs(): number;
}

export function startIntrospection(bind: ListenAddress, source: IntrospectionSource, log: (line: string) => void): Promise<HttpEndpoint> {
  return startHttpEndpoint(bind, 'introspection', (req, res, { path }) => {
    log(`introspection: ${req.method} ${path}`);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return sendJson(res, 405, { error: `introspection is read-only: use GET, not ${req.method}` });
    }
    switch (path) {
      case '/v1/enis': {
        const out: Record<string, unknown> = {};
        for (const [card, ds] of source.datastores()) out[String(card)] = renderEniInfos(ds, source.nowMs());
        return sendJson(res, 200, out);
      }
      case '/v1/eni-configs':
        return sendJson(res, 200, source.eniConfigName());
      case '/v1/ipamd-env-settings':
        return sendJson(res, 200, ipamdEnvSettings(source.config));
      case '/v1/networkutils-env-settings':
        return sendJson(res, 200, networkUtilsEnvSettings(source.config));
      // podnet's own: whether the API server answers, and what ipamd last saw of its Node (404 without Kubernetes)
      case '/v1/kubernetes':
        if (source.kubernetes) return sendJson(res, 200, source.kubernetes());
        return sendJson(res, 404, { error: 'ipamd runs without a Kubernetes API server (no KUBECONFIG and not in a pod)' });
      default:
        return sendJson(res, 200, { AvailableCommands: introspectionCommands });
    }
  });
}
