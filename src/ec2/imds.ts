/**
 * The instance metadata service (IMDS): IMDSv2 session tokens, optional IMDSv1, and the `latest/` tree ipamd reads
 * (behaviour spec §7.4), per instance. The instance is the one the caller's source address belongs to (any private
 * address or /28 prefix of its ENIs: a node, or a pod on it, as on AWS); for callers on this host only, an
 * instance-ID path prefix (`/<instance-id>/latest/...`) chooses one instead, for tests and tools that all call from
 * 127.0.0.1.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestTarget } from '../lib/index.js';
import { privateDnsName } from '../vpc/index.js';
import { ImdsTokens } from './imds-tokens.js';
import type { ImdsInstance, ImdsInterface } from './protocol.js';

/** A directory maps names to children; a file is its text. */
export type ImdsNode = string | { [name: string]: ImdsNode };

const lines = (values: readonly string[]) => values.join('\n');

/** Adds `key` only when the list has values: real IMDS omits empty list keys (e.g. `ipv4-prefix` before PD). */
function withList(dir: Record<string, ImdsNode>, key: string, values: readonly string[]): void {
  if (values.length > 0) dir[key] = lines(values);
}

function interfaceDirectory(eni: ImdsInterface, region: string): Record<string, ImdsNode> {
  const dir: Record<string, ImdsNode> = {
    'device-number': String(eni.deviceNumber),
    'interface-id': eni.interfaceId,
    'local-ipv4s': lines(eni.localIpv4s),
    mac: eni.mac,
    'network-card': String(eni.networkCard),
    'security-group-ids': lines(eni.securityGroupIds),
    'subnet-id': eni.subnetId,
    'subnet-ipv4-cidr-block': eni.subnetIpv4CidrBlock,
    'vpc-id': eni.vpcId,
    'vpc-ipv4-cidr-block': eni.vpcIpv4CidrBlocks[0] ?? '',
    'vpc-ipv4-cidr-blocks': lines(eni.vpcIpv4CidrBlocks),
  };
  if (eni.localIpv4s[0]) dir['local-hostname'] = privateDnsName(eni.localIpv4s[0], region);
  withList(dir, 'ipv4-prefix', eni.ipv4Prefixes);
  withList(dir, 'ipv6s', eni.ipv6s);
  withList(dir, 'ipv6-prefix', eni.ipv6Prefixes);
  withList(dir, 'public-ipv4s', eni.publicIpv4s);
  withList(dir, 'subnet-ipv6-cidr-blocks', eni.subnetIpv6CidrBlocks);
  withList(dir, 'vpc-ipv6-cidr-blocks', eni.vpcIpv6CidrBlocks);
  return dir;
}

/** The whole `latest/` tree of one instance, as data. */
export function renderImdsTree(instance: ImdsInstance): ImdsNode {
  const macs: Record<string, ImdsNode> = {};
  for (const eni of instance.interfaces) macs[eni.mac] = interfaceDirectory(eni, instance.region);
  // `hostname` and `local-hostname` are the instance's private DNS name (IP-name form), which EKS names the Node after.
  const hostname = instance.localIpv4 ? privateDnsName(instance.localIpv4, instance.region) : '';
  const metaData: Record<string, ImdsNode> = {
    hostname,
    'instance-id': instance.instanceId,
    'instance-type': instance.instanceType,
    'local-hostname': hostname,
    'local-ipv4': instance.localIpv4,
    mac: instance.mac,
    network: { interfaces: { macs } },
    placement: { 'availability-zone': instance.availabilityZone, region: instance.region },
  };
  if (instance.publicIpv4) metaData['public-ipv4'] = instance.publicIpv4;
  if (instance.ipv6) metaData.ipv6 = instance.ipv6;
  const document = {
    accountId: '000000000000',
    architecture: 'x86_64',
    availabilityZone: instance.availabilityZone,
    imageId: 'ami-00000000000000000',
    instanceId: instance.instanceId,
    instanceType: instance.instanceType,
    privateIp: instance.localIpv4,
    region: instance.region,
    version: '2017-09-30',
  };
  return {
    dynamic: { 'instance-identity': { document: JSON.stringify(document, null, 2) } },
    'meta-data': metaData,
  };
}

/**
 * The body for a path below `latest/`: a file's text, or a directory listing with one name per line and a
 * trailing `/` on sub-directories (as real IMDS lists `macs/` as `02:…:ff/` lines). Undefined → 404.
 */
export function readImdsPath(tree: ImdsNode, path: string): string | undefined {
  let node: ImdsNode = tree;
  for (const part of path.split('/').filter((p) => p !== '')) {
    if (typeof node === 'string' || !Object.hasOwn(node, part)) return undefined;
    node = node[part]!;
  }
  if (typeof node === 'string') return path.endsWith('/') ? undefined : node;
  return Object.entries(node)
    .map(([name, child]) => (typeof child === 'string' ? name : `${name}/`))
    .join('\n');
}

export interface ImdsOptions {
  /** Serve GETs without a token (IMDSv1). Default false: IMDSv2 only, as on current AMIs. */
  v1Allowed?: boolean;
  /** Same switch seen from the other side: true means v1 is refused. Wins over v1Allowed when both are given. */
  tokenRequired?: boolean;
}

export interface ImdsInstanceSource {
  imdsInstance(query: { instanceId?: string; privateIp?: string }): ImdsInstance | null | undefined;
}

const MAX_TOKEN_TTL_SECONDS = 21600;
const instancePrefix = /^\/(i-[0-9a-f]+)(\/.*)?$/;

const unmapped = (address: string | undefined) => (address ?? '').replace(/^::ffff:/, '');

/**
 * A caller on this host: 127.0.0.0/8 or ::1, or a connection from the listener's own address (it went over lo, as
 * when `ec2 serve` listens on a non-loopback address and a local tool calls it).
 */
function isLocal(source: string, local: string): boolean {
  return source === '::1' || /^127\.\d+\.\d+\.\d+$/.test(source) || source === local;
}

/** IMDS's HTTP behaviour: token issue (PUT), token check, instance selection, the tree. */
export function createImdsHandler(
  state: ImdsInstanceSource,
  options: ImdsOptions = {},
  nowMs: () => number = Date.now,
): (req: IncomingMessage, res: ServerResponse, target: RequestTarget) => void {
  const tokenRequired = options.tokenRequired ?? !(options.v1Allowed ?? false);
  const tokens = new ImdsTokens(nowMs);

  const send = (res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  };

  const issueToken = (req: IncomingMessage, res: ServerResponse, source: string, instance: ImdsInstance | null | undefined) => {
    // Real IMDS refuses token requests that went through a proxy (they carry X-Forwarded-For).
    if (req.headers['x-forwarded-for'] !== undefined) return send(res, 403, 'Forbidden');
    const ttlHeader = req.headers['x-aws-ec2-metadata-token-ttl-seconds'];
    const ttl = typeof ttlHeader === 'string' && /^\d+$/.test(ttlHeader) ? Number(ttlHeader) : NaN;
    if (!(ttl >= 1 && ttl <= MAX_TOKEN_TTL_SECONDS)) {
      return send(res, 400, `missing or invalid X-aws-ec2-metadata-token-ttl-seconds: expected 1..${MAX_TOKEN_TTL_SECONDS}`);
    }
    const token = tokens.issue(source, instance?.instanceId ?? null, ttl);
    send(res, 200, token, { 'x-aws-ec2-metadata-token-ttl-seconds': String(ttl) });
  };

  return (req, res, target) => {
    const source = unmapped(req.socket.remoteAddress);
    const local = isLocal(source, unmapped(req.socket.localAddress));
    // The prefix chooses the instance for local callers (they all share one address). From inside the VPC the
    // instance is the one the source address belongs to: a prefix naming it is accepted, any other is an unknown
    // path, so a pod cannot read another node's metadata.
    const prefixed = instancePrefix.exec(target.path);
    const own = local ? undefined : state.imdsInstance({ privateIp: source });
    const honoured = prefixed && (local || prefixed[1] === own?.instanceId) ? prefixed : null;
    const instanceId = honoured?.[1];
    const path = honoured ? (honoured[2] ?? '/') : target.path;
    const instance = local ? state.imdsInstance(instanceId ? { instanceId } : { privateIp: source }) : own;

    if (path === '/latest/api/token') {
      if (req.method === 'PUT') return issueToken(req, res, source, instance);
      return send(res, 405, 'Method Not Allowed', { allow: 'PUT' });
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(res, 405, 'Method Not Allowed', { allow: 'GET, PUT' });

    const token = req.headers['x-aws-ec2-metadata-token'];
    if (token !== undefined) {
      if (typeof token !== 'string' || !tokens.valid(token, source, instance?.instanceId ?? null)) return send(res, 401, 'Unauthorized');
    } else if (tokenRequired) {
      return send(res, 401, 'Unauthorized');
    }

    if (!path.startsWith('/latest')) return send(res, 404, 'Not Found');
    if (!instance) {
      const who = instanceId ? `instance ${instanceId}` : `an instance that holds the address ${source}`;
      const hint = local ? '; from this host, use http://HOST:PORT/<instance-id> as the IMDS endpoint to choose one' : '';
      return send(res, 404, `Not Found: no ${who}${hint}`);
    }
    const body = readImdsPath({ latest: renderImdsTree(instance) }, path);
    if (body === undefined) return send(res, 404, 'Not Found');
    send(res, 200, body); // Node sends headers only for HEAD
  };
}
