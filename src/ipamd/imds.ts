/**
 * Instance metadata over HTTP with IMDSv2 session tokens: the instance and ENI facts ipamd reads (spec §7.4).
 * One code path for AWS (http://169.254.169.254) and for the emulator (http://127.0.0.1:PORT/<instance-id>).
 */
import { PodnetError } from '../lib/index.js';

/** One attached ENI as IMDS describes it (spec §7.4). */
export interface ImdsEni {
  mac: string;
  eniId: string;
  deviceNumber: number;
  networkCard: number;
  subnetId: string;
  subnetCidr: string;
  vpcId: string;
  securityGroupIds: string[];
  /** First is the ENI's primary address. */
  localIpv4s: string[];
  ipv4Prefixes: string[];
  ipv6s: string[];
  vpcIpv4Cidrs: string[];
}

export interface ImdsInstanceFacts {
  instanceId: string;
  instanceType: string;
  availabilityZone: string;
  region: string;
  localIpv4: string;
  /** MAC of the primary ENI. */
  primaryMac: string;
}

export interface ImdsClientOptions {
  /** Base URL, e.g. http://169.254.169.254 or http://127.0.0.1:8181/i-0abc (instance-ID prefix for the emulator). */
  endpoint: string;
  timeoutMs?: number;
}

const TOKEN_TTL_SECONDS = 21600;
/** Renew the token this long before IMDS would expire it. */
const TOKEN_RENEW_MARGIN_MS = 60_000;

export class ImdsClient {
  private readonly base: string;
  private readonly timeoutMs: number;
  private token: { value: string; expiresAt: number } | undefined;

  constructor(options: ImdsClientOptions) {
    this.base = options.endpoint.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? 5000;
  }

  get endpoint(): string {
    return this.base;
  }

  /** GET `latest/meta-data/<path>`; undefined for 404 (IMDS omits empty lists, e.g. `ipv4-prefix`). */
  async get(path: string): Promise<string | undefined> {
    for (let attempt = 0; ; attempt++) {
      const token = await this.sessionToken();
      const res = await this.request('GET', `/latest/meta-data/${path}`, { 'x-aws-ec2-metadata-token': token });
      if (res.status === 401 && attempt === 0) {
        this.token = undefined; // expired or issued by a restarted IMDS: get a new one once
        continue;
      }
      if (res.status === 404) return undefined;
      if (res.status !== 200) {
        throw new PodnetError('EC2_FAILED', `IMDS GET ${path} answered ${res.status}: ${res.body.slice(0, 200)}`, `check that the IMDS endpoint ${this.base} serves this instance`);
      }
      return res.body;
    }
  }

  async require(path: string): Promise<string> {
    const value = await this.get(path);
    if (value === undefined) {
      throw new PodnetError('EC2_FAILED', `IMDS has no ${path} at ${this.base}`, 'point the IMDS endpoint at the instance this node runs on (emulator: http://HOST:PORT/<instance-id>)');
    }
    return value;
  }

  async list(path: string): Promise<string[]> {
    const text = await this.get(path);
    return text === undefined ? [] : splitLines(text);
  }

  async instanceFacts(): Promise<ImdsInstanceFacts> {
    const [instanceId, instanceType, availabilityZone, localIpv4, primaryMac, region] = await Promise.all([
      this.require('instance-id'),
      this.require('instance-type'),
      this.require('placement/availability-zone'),
      this.require('local-ipv4'),
      this.require('mac'),
      this.get('placement/region'),
    ]);
    // The SDK's GetRegion reads placement/region; older IMDS trees only have the AZ (region + one letter).
    return { instanceId, instanceType, availabilityZone, localIpv4, primaryMac, region: region ?? availabilityZone.replace(/[a-z]$/, '') };
  }

  /** Every attached ENI (GetAttachedENIs), by device number. */
  async attachedEnis(): Promise<ImdsEni[]> {
    const macs = (await this.list('network/interfaces/macs/')).map((m) => m.replace(/\/$/, ''));
    const enis = await Promise.all(macs.map((mac) => this.eni(mac)));
    return enis.filter((e): e is ImdsEni => e !== undefined).sort((a, b) => a.networkCard - b.networkCard || a.deviceNumber - b.deviceNumber);
  }

  /** One ENI by MAC; undefined when it detached while we were reading. */
  async eni(mac: string): Promise<ImdsEni | undefined> {
    const dir = `network/interfaces/macs/${mac}/`;
    const fields = new Set(await this.list(dir));
    if (fields.size === 0) return undefined;
    const read = (name: string) => (fields.has(name) ? this.get(dir + name) : Promise.resolve(undefined));
    const [id, device, card, subnet, subnetCidr, vpc, sgs, ipv4s, prefixes, ipv6s, vpcCidrs] = await Promise.all([
      read('interface-id'),
      read('device-number'),
      read('network-card'),
      read('subnet-id'),
      read('subnet-ipv4-cidr-block'),
      read('vpc-id'),
      read('security-group-ids'),
      read('local-ipv4s'),
      read('ipv4-prefix'),
      read('ipv6s'),
      read('vpc-ipv4-cidr-blocks'),
    ]);
    if (id === undefined) return undefined;
    return {
      mac,
      eniId: id.trim(),
      deviceNumber: Number(device ?? 0),
      networkCard: Number(card ?? 0),
      subnetId: (subnet ?? '').trim(),
      subnetCidr: (subnetCidr ?? '').trim(),
      vpcId: (vpc ?? '').trim(),
      securityGroupIds: splitLines(sgs ?? ''),
      localIpv4s: splitLines(ipv4s ?? ''),
      ipv4Prefixes: splitLines(prefixes ?? ''),
      ipv6s: splitLines(ipv6s ?? ''),
      vpcIpv4Cidrs: splitLines(vpcCidrs ?? ''),
    };
  }

  private async sessionToken(): Promise<string> {
    if (this.token && this.token.expiresAt - TOKEN_RENEW_MARGIN_MS > Date.now()) return this.token.value;
    const res = await this.request('PUT', '/latest/api/token', { 'x-aws-ec2-metadata-token-ttl-seconds': String(TOKEN_TTL_SECONDS) });
    if (res.status !== 200) {
      throw new PodnetError('EC2_FAILED', `IMDS token request to ${this.base} answered ${res.status}: ${res.body.slice(0, 200)}`, 'check the IMDS endpoint (IMDSv2 needs PUT /latest/api/token)');
    }
    this.token = { value: res.body.trim(), expiresAt: Date.now() + TOKEN_TTL_SECONDS * 1000 };
    return this.token.value;
  }

  private async request(method: string, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
    for (let attempt = 1; ; attempt++) {
      try {
        const res = await fetch(this.base + path, { method, headers, signal: AbortSignal.timeout(this.timeoutMs) });
        return { status: res.status, body: await res.text() };
      } catch (err) {
        // a kept-alive connection the server closed just as it was reused resets: IMDS reads are idempotent, ask again
        if (attempt < REQUEST_ATTEMPTS && isConnectionReset(err)) continue;
        throw this.unreachable(method, path, err);
      }
    }
  }

  private unreachable(method: string, path: string, err: unknown): PodnetError {
    const why = err instanceof Error ? ((err.cause as { code?: string } | undefined)?.code ?? err.message) : String(err);
    return new PodnetError('EC2_FAILED', `IMDS at ${this.base} is unreachable (${method} ${path}: ${why})`,
      'start the emulator (podnet ec2 serve) or set AWS_EC2_METADATA_SERVICE_ENDPOINT to a reachable IMDS', { cause: err });
  }
}

const REQUEST_ATTEMPTS = 3;

function isConnectionReset(err: unknown): boolean {
  const code = err instanceof Error ? (err.cause as { code?: string } | undefined)?.code : undefined;
  return code === 'ECONNRESET' || code === 'EPIPE' || code === 'UND_ERR_SOCKET';
}

function splitLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '');
}
