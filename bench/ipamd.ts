/**
 * ipamd's local API and its EC2 cost, against the in-process emulator (AWS's default throttling on):
 *  - ADD and DEL latency (p50, p99) over the CNI unix socket, one connection per call as the launcher makes it,
 *    5 rounds of 100 ADDs then 100 DELs; an ADD refused while the pool grows, or while every free address is in
 *    IP_COOLDOWN_PERIOD (30 s by default, so rounds 2–5 wait for it), is retried, not timed, and counted by cause;
 *  - EC2 calls per 100 pods with the default warm settings (WARM_ENI_TARGET=1), from awscni_ec2api_req_count.
 * The pool loop runs every 200 ms instead of 5 s so the bench finishes in seconds; the warm targets, and so the
 * EC2 calls, are upstream's defaults. Prints numbers; asserts nothing.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EC2Client, RunInstancesCommand } from '@aws-sdk/client-ec2';
import { loadConfig } from '../src/config/index.js';
import { applyTopology, startEc2Server } from '../src/ec2/index.js';
import { parseTopology } from '../src/vpc/index.js';
import { startIpamd } from '../src/ipamd/index.js';
import { percentile } from './stats.js';

const PODS = 100;
const ROUNDS = 5;
const INSTANCE_TYPE = 'm5.4xlarge';

function cni(socketPath: string, command: 'ADD' | 'DEL', containerId: string): Promise<{ ok: boolean; ms: number; cause: string }> {
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = request({
      socketPath, path: '/cni', method: 'POST',
      headers: { 'x-cni-command': command, 'x-cni-containerid': containerId, 'x-cni-ifname': 'eth0', 'x-cni-netns': `/var/run/netns/${containerId}`, 'x-cni-args': `K8S_POD_NAMESPACE=bench;K8S_POD_NAME=${containerId}` },
    }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      // a refusal's msg starts with podnet's code for the cause (e.g. COOLDOWN_ONLY: …)
      res.on('end', () => resolve({ ok: res.headers['x-cni-exit-code'] === '0', ms: performance.now() - started, cause: /"msg":"([A-Z_]+):/.exec(body)?.[1] ?? '' }));
    });
    req.on('error', reject);
    req.end(JSON.stringify({ cniVersion: '0.4.0', name: 'aws-cni', type: 'aws-cni' }));
  });
}

const sum = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);
const diff = (after: Record<string, number>, before: Record<string, number>) =>
  Object.fromEntries(Object.entries(after).map(([k, v]) => [k, v - (before[k] ?? 0)]).filter(([, v]) => (v as number) > 0)) as Record<string, number>;

const dir = mkdtempSync(join(tmpdir(), 'podnet-bench-ipamd-'));
const emulator = await startEc2Server({ log: () => {} });
const setup = new EC2Client({ endpoint: emulator.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
try {
  const applied = await applyTopology(parseTopology({
    vpcs: [{ name: 'main', cidr: '10.0.0.0/16' }],
    subnets: [{ name: 'nodes', vpc: 'main', az: 'us-west-2a', cidr: '10.0.0.0/20' }],
    securityGroups: [{ name: 'nodes', vpc: 'main', description: 'nodes' }],
  }), setup);
  const run = await setup.send(new RunInstancesCommand({ ImageId: 'ami-0bench', InstanceType: INSTANCE_TYPE, SubnetId: applied.ids.subnets.nodes!, MinCount: 1, MaxCount: 1, SecurityGroupIds: [applied.ids.securityGroups.nodes!] }));
  const env = {
    AWS_ENDPOINT_URL_EC2: emulator.ec2Url,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: `${emulator.imdsUrl}/${run.Instances![0]!.InstanceId!}`,
    AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-west-2',
    PODNET_CNI_SOCKET: join(dir, 'ipamd.sock'), AWS_VPC_K8S_CNI_BACKING_STORE: join(dir, 'ipam.json'),
    INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0', PODNET_METRICS_BIND_ADDRESS: '127.0.0.1:0', PODNET_DATAPLANE: 'none',
    PODNET_POOL_INTERVAL_MS: '200',
  };
  const ipamd = await startIpamd({ env, config: loadConfig(env).config });
  try {
    const atInit = await ipamd.metrics.ec2CallCounts();
    console.log(`${INSTANCE_TYPE}, default warm settings (WARM_ENI_TARGET=1): node init made ${sum(atInit)} EC2 calls ${JSON.stringify(atInit)}; ${ipamd.node.summary()}`);
    const adds: number[] = [];
    const dels: number[] = [];
    const refused = new Map<string, number>();
    let afterFirstAdds: Record<string, number> = {};
    for (let round = 0; round < ROUNDS; round++) {
      for (let i = 0; i < PODS; i++) {
        for (;;) {
          const r = await cni(ipamd.socketPath, 'ADD', `r${round}p${i}`);
          if (r.ok) {
            adds.push(r.ms);
            break;
          }
          refused.set(r.cause, (refused.get(r.cause) ?? 0) + 1);
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
      if (round === 0) {
        await new Promise((resolve) => setTimeout(resolve, 1000)); // let the pool settle at its warm target
        afterFirstAdds = await ipamd.metrics.ec2CallCounts();
        const calls = diff(afterFirstAdds, atInit);
        console.log(`EC2 calls for the first ${PODS} pods (pool grown and settled): ${sum(calls)} ${JSON.stringify(calls)}; ${ipamd.node.summary()}`);
      }
      for (let i = 0; i < PODS; i++) dels.push((await cni(ipamd.socketPath, 'DEL', `r${round}p${i}`)).ms);
    }
    const later = diff(await ipamd.metrics.ec2CallCounts(), afterFirstAdds);
    console.log(`EC2 calls for the next ${(ROUNDS - 1) * PODS} pods and all ${ROUNDS * PODS} DELs: ${sum(later)} ${JSON.stringify(later)}`);
    const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(2)} ms, p99 ${percentile(xs, 99).toFixed(2)} ms (${xs.length} calls)`;
    const causes = [...refused].map(([cause, n]) => `${n} ${cause}`).join(', ') || 'none';
    console.log(`ADD over the socket: ${fmt(adds)}; refused and retried after 50 ms (not timed): ${causes}`);
    console.log(`DEL over the socket: ${fmt(dels)}`);
  } finally {
    await ipamd.stop();
  }
} finally {
  setup.destroy();
  await emulator.close();
  rmSync(dir, { recursive: true, force: true });
}
