import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import type { Ipamd } from '../../../src/ipamd/index.js';
import { cniCall, daemonEnv, eventually, httpGet, startCloud, startDaemon, type Cloud, type CloudOptions, type CniReply } from './daemon-harness.js';

/** Runs `body` against a fresh emulator and daemon, and always takes both down. */
async function withNode(cloudOptions: CloudOptions, env: Record<string, string>, body: (ipamd: Ipamd, cloud: Cloud) => Promise<void>): Promise<void> {
  const cloud = await startCloud(cloudOptions);
  let ipamd: Ipamd | undefined;
  try {
    ipamd = await startDaemon(daemonEnv(cloud, env));
    await body(ipamd, cloud);
  } finally {
    await ipamd?.stop();
    await cloud.close();
  }
}

/** ADDs pods until one is refused for good (the pool loop gets time to grow in between); returns the refusal. */
async function fillUntilRefused(ipamd: Ipamd, code: string, max = 40): Promise<{ added: number; refusal: CniReply }> {
  let added = 0;
  let last: CniReply | undefined;
  await eventually(async () => {
    last = await cniCall(ipamd.socketPath, 'ADD', `fill${added}`);
    if (last.exitCode === 0) added++;
    return added >= max || String(last.body.msg ?? '').startsWith(`${code}:`);
  }, `a refusal with ${code}`, 10_000);
  return { added, refusal: last! };
}

test('a subnet with no free addresses left refuses the pod with SUBNET_EXHAUSTED, the subnet, its numbers and a hint', async () => {
  // a /28: 11 usable addresses; the node's 1 + 3 secondary + a second ENI's 1 + 3 leave 3, too few for a third ENI
  await withNode({ subnetCidr: '10.0.1.0/28' }, {}, async (ipamd, cloud) => {
    const { added, refusal } = await fillUntilRefused(ipamd, 'SUBNET_EXHAUSTED');
    assert.equal(added, 6);
    assert.equal(refusal.exitCode, 1);
    assert.match(String(refusal.body.msg), new RegExp(`^SUBNET_EXHAUSTED: subnet ${cloud.subnetId} \\(10\\.0\\.1\\.0/28\\) has 3 free addresses; 2 ENIs attached, limit 3`));
    assert.match(String(refusal.body.details), /kubernetes\.io\/role\/cni/);
  });
});

test('prefix delegation in a subnet without a free aligned /28 refuses the pod with NO_FREE_PREFIX', async () => {
  // a /27 whose two /28 blocks each hold a reserved address (.0–.3, .31) or the node's own address
  await withNode({ subnetCidr: '10.0.1.0/27' }, { ENABLE_PREFIX_DELEGATION: 'true' }, async (ipamd) => {
    const { added, refusal } = await fillUntilRefused(ipamd, 'NO_FREE_PREFIX');
    assert.equal(added, 0);
    assert.match(String(refusal.body.msg), /^NO_FREE_PREFIX: subnet subnet-\w+ \(10\.0\.1\.0\/27\) has no free aligned \/28 block/);
  });
});

test('a t3.small with all 3 ENIs full refuses the 10th pod with ENI_LIMIT; a released address in cooldown gives COOLDOWN_ONLY', async () => {
  await withNode({ instanceType: 't3.small' }, { IP_COOLDOWN_PERIOD: '30' }, async (ipamd) => {
    const { added, refusal } = await fillUntilRefused(ipamd, 'ENI_LIMIT');
    assert.equal(added, 9);
    assert.match(String(refusal.body.msg), /^ENI_LIMIT: all 9 pod addresses are in use; 3 ENIs attached, limit 3, each holds 3 addresses/);
    assert.equal(refusal.body.code, 102, 'podnet\'s own CNI code for ENI_LIMIT');
    assert.equal((await cniCall(ipamd.socketPath, 'DEL', 'fill0')).exitCode, 0);
    const cooling = await cniCall(ipamd.socketPath, 'ADD', 'late');
    assert.match(String(cooling.body.msg), /^COOLDOWN_ONLY: the only 1 free address\(es\) are cooling down after release \(IP_COOLDOWN_PERIOD=30s\)/);
    assert.equal(cooling.body.code, 11, 'try again later');
  });
});

test('a node at max pods refuses the next pod with MAX_PODS (t3.small with prefixes: one /28 already covers 11 pods)', async () => {
  await withNode({ instanceType: 't3.small' }, { ENABLE_PREFIX_DELEGATION: 'true' }, async (ipamd) => {
    const { added, refusal } = await fillUntilRefused(ipamd, 'MAX_PODS');
    assert.equal(added, 16);
    assert.match(String(refusal.body.msg), /^MAX_PODS: the node holds 16 pod addresses, 16 in use, and max pods is 11/);
  });
});

test('EC2 throttling every pool increase makes ADD answer EC2_THROTTLED with CNI code 11 (try again later), not a hang', async () => {
  const throttled = { errorRate: 1, errorCode: 'RequestLimitExceeded' };
  await withNode({ faults: { actions: { AssignPrivateIpAddresses: throttled, CreateNetworkInterface: throttled } } }, {}, async (ipamd) => {
    const started = Date.now();
    const { added, refusal } = await fillUntilRefused(ipamd, 'EC2_THROTTLED');
    assert.equal(added, 0);
    assert.match(String(refusal.body.msg), /^EC2_THROTTLED: EC2 throttled the last pool increase \(RequestLimitExceeded\)/);
    assert.equal(refusal.body.code, 11);
    assert.ok(Date.now() - started < 5000);
    const errors = await ipamd.metrics.awsApiErrors.get();
    assert.ok(errors.values.some((v) => v.labels.error === 'RequestLimitExceeded' && v.value > 0), 'awscni_aws_api_error_count counts the throttling');
  });
});

test('a pod that arrives while node init is still running is told IPAMD_NOT_READY (code 11), and readiness says 503', async () => {
  const cloud = await startCloud({ faults: { actions: { DescribeNetworkInterfaces: { latencyMs: 1500 } } } });
  const env = daemonEnv(cloud);
  const starting = startDaemon(env);
  try {
    await eventually(() => existsSync(env.PODNET_CNI_SOCKET!), 'the CNI socket to appear');
    const early = await cniCall(env.PODNET_CNI_SOCKET!, 'ADD', 'early');
    assert.equal(early.body.code, 11);
    assert.match(String(early.body.msg), /^IPAMD_NOT_READY: ipamd has not finished node initialisation/);
    assert.equal((await httpGet({ socketPath: env.PODNET_CNI_SOCKET!, path: '/ready' })).status, 503);
    const ipamd = await starting;
    assert.equal((await cniCall(ipamd.socketPath, 'ADD', 'early')).exitCode, 0, 'once ready the same pod gets an address');
  } finally {
    await (await starting.catch(() => undefined))?.stop();
    await cloud.close();
  }
});
