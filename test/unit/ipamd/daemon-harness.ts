/**
 * Shared by the daemon-*.test.ts files: an in-process emulator with one VPC and one node, a daemon pointed at it
 * with explicit endpoints and short timers, and a CNI client that speaks HTTP over the daemon's unix socket.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2Client, RunInstancesCommand, type _InstanceType } from '@aws-sdk/client-ec2';
import { launcherRequestBody } from '../../../src/cni/index.js';
import { loadConfig } from '../../../src/config/index.js';
import { applyTopology, startEc2Server, type Ec2Emulator, type FaultConfig, type ThrottleConfig } from '../../../src/ec2/index.js';
import { parseTopology } from '../../../src/vpc/index.js';
import { startIpamd, type Ipamd } from '../../../src/ipamd/index.js';

export interface Cloud {
  emulator: Ec2Emulator;
  /** A client for the test itself (setup and EC2's view), not counted in the daemon's metrics. */
  ec2: EC2Client;
  instanceId: string;
  subnetId: string;
  vpcId: string;
  dir: string;
  close(): Promise<void>;
}

export interface CloudOptions {
  instanceType?: string;
  subnetCidr?: string;
  throttle?: ThrottleConfig | false;
  faults?: FaultConfig;
  /** Extra subnets in the same AZ, with tags (subnet discovery). */
  extraSubnets?: { name: string; cidr: string; tags?: Record<string, string> }[];
}

export async function startCloud(o: CloudOptions = {}): Promise<Cloud> {
  const emulator = await startEc2Server({ throttle: o.throttle ?? false, ...(o.faults && { faults: o.faults }), log: () => {} });
  const ec2 = new EC2Client({ endpoint: emulator.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const topology = parseTopology({
    vpcs: [{ name: 'main', cidr: '10.0.0.0/16' }],
    subnets: [
      { name: 'nodes', vpc: 'main', az: 'us-west-2a', cidr: o.subnetCidr ?? '10.0.1.0/24' },
      ...(o.extraSubnets ?? []).map((s) => ({ name: s.name, vpc: 'main', az: 'us-west-2a', cidr: s.cidr, ...(s.tags && { tags: s.tags }) })),
    ],
    securityGroups: [{ name: 'nodes', vpc: 'main', description: 'nodes' }],
  });
  let applied: Awaited<ReturnType<typeof applyTopology>>;
  let instanceId: string;
  try {
    applied = await applyTopology(topology, ec2);
    const run = await ec2.send(new RunInstancesCommand({
      ImageId: 'ami-0podnet0000test', InstanceType: (o.instanceType ?? 't3.small') as _InstanceType, SubnetId: applied.ids.subnets.nodes!, MinCount: 1, MaxCount: 1,
      SecurityGroupIds: [applied.ids.securityGroups.nodes!],
    }));
    instanceId = run.Instances![0]!.InstanceId!;
  } catch (err) {
    // a failed setup must not leave the emulator listening, or the test process never exits
    ec2.destroy();
    await emulator.close();
    throw err;
  }
  const subnetId = applied.ids.subnets.nodes!;
  const dir = mkdtempSync(join(tmpdir(), 'podnet-ipamd-'));
  return {
    emulator, ec2, instanceId, subnetId, vpcId: applied.ids.vpcs.main!, dir,
    async close() {
      ec2.destroy();
      await emulator.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The environment `podnet ipamd` would get: explicit endpoints, test credentials, short timers, free ports. */
export function daemonEnv(cloud: Cloud, extra: Record<string, string> = {}): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_EC2: cloud.emulator.ec2Url,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: `${cloud.emulator.imdsUrl}/${cloud.instanceId}`,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-west-2',
    PODNET_CNI_SOCKET: join(cloud.dir, 'ipamd.sock'),
    AWS_VPC_K8S_CNI_BACKING_STORE: join(cloud.dir, 'ipam.json'),
    INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
    PODNET_METRICS_BIND_ADDRESS: '127.0.0.1:0',
    PODNET_DATAPLANE: 'none',
    PODNET_POOL_INTERVAL_MS: '20',
    PODNET_DECREASE_INTERVAL_MS: '50',
    PODNET_RECONCILE_INTERVAL_MS: '200',
    PODNET_ENI_MIN_AGE_MS: '0',
    PODNET_INSUFFICIENT_CIDR_BACKOFF_MS: '300',
    IP_COOLDOWN_PERIOD: '0',
    ...extra,
  };
}

export async function startDaemon(env: Record<string, string>): Promise<Ipamd> {
  const loaded = loadConfig(env);
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((p) => p.message).join('; '));
  return startIpamd({ env, config: loaded.config, retry: { throttleBaseMs: 5, transientBaseMs: 5, maxDelayMs: 20 } });
}

/** Polls until `check` holds (the pool loop runs on real time with short timers). */
export async function eventually(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

export interface CniReply {
  status: number;
  exitCode: number;
  body: Record<string, unknown>;
}

const netConf = (cniVersion = '1.0.0') => JSON.stringify({ cniVersion, name: 'aws-cni', type: 'podnet-cni' });

/** One CNI call over the socket, as the launcher makes it: POST /cni with the CNI_* values and stdin in the body. */
export function cniCall(socketPath: string, command: 'ADD' | 'DEL', containerId: string, pod = containerId, netns = `/var/run/netns/${containerId}`): Promise<CniReply> {
  const body = launcherRequestBody({
    env: {
      CNI_COMMAND: command,
      CNI_CONTAINERID: containerId,
      CNI_IFNAME: 'eth0',
      CNI_ARGS: `K8S_POD_NAMESPACE=default;K8S_POD_NAME=${pod}`,
      CNI_PATH: '/opt/cni/bin',
      ...(command === 'ADD' && { CNI_NETNS: netns }),
    },
    stdin: netConf(),
  });
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, path: '/cni', method: 'POST', headers: { 'content-length': body.length } }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, exitCode: Number(res.headers['x-cni-exit-code'] ?? -1), body: text ? (JSON.parse(text) as Record<string, unknown>) : {} }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

export function httpGet(url: string | { socketPath: string; path: string }): Promise<{ status: number; text: string }> {
  const opts = typeof url === 'string' ? url : { socketPath: url.socketPath, path: url.path };
  return new Promise((resolve, reject) => {
    const req = request(opts as Parameters<typeof request>[0], (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** The pod address an ADD result carries (`10.0.1.7/32` → `10.0.1.7`). */
export function addressOf(reply: CniReply): string {
  const ips = reply.body.ips as { address: string }[] | undefined;
  if (!ips?.[0]) throw new Error(`ADD returned no address: ${JSON.stringify(reply.body)}`);
  return ips[0].address.replace(/\/\d+$/, '');
}
