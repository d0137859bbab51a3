/**
 * The restart soak: `podnet ipamd` as a child process, killed with SIGKILL at 50 random moments spread over 1,000
 * sequential pod ADDs and DELs, restarted after each. The harness acts as the container runtime: a failed or cut-off
 * ADD is followed by a DEL, a cut-off DEL is repeated. At the end no address may be held twice, ipamd, its
 * checkpoint and EC2 must agree with the runtime, and no ENI may be left detached (the leaked-ENI GC runs on a
 * shortened timer). An exit that is not one of the kills fails the test at once, and every failure ends with the
 * child's last log lines. EC2 answers every call here; ipamd-fault-soak.test.ts adds faults and concurrency.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { seededRandom } from '../../src/lib/index.js';
import { daemonEnv, startCloud, type Cloud } from '../unit/ipamd/daemon-harness.js';
import { assertNodeAgrees, IpamdProcess, PodRuntime, sleep, soakSeed } from './harness.js';

const OPS = 1000;
const KILLS = 50;
const MAX_LIVE_PODS = 12;

let cloud: Cloud;
let env: Record<string, string>;
let ipamd: IpamdProcess;

before(async () => {
  cloud = await startCloud({ instanceType: 't3.small' });
  env = daemonEnv(cloud, {
    INTROSPECTION_BIND_ADDRESS: '127.0.0.1:0',
    DISABLE_METRICS: 'true',
    PODNET_LEAKED_ENI_INTERVAL_MS: '1000',
    PODNET_LEAKED_ENI_MIN_AGE_MS: '3000',
    AWS_VPC_K8S_CNI_LOGLEVEL: 'INFO',
  });
  ipamd = new IpamdProcess(env);
});

after(async () => {
  await ipamd?.dispose();
  await cloud?.close();
});

test('kill -9 at 50 random points over 1,000 pod ADDs/DELs leaks no address and never gives one address to two pods', { timeout: 150_000 }, async (t) => {
  const seed = soakSeed(20261122);
  t.diagnostic(`podnet ipamd runs from ${ipamd.how}; seed ${seed} (replay with PODNET_SOAK_SEED=${seed})`);
  await ipamd.withLogs(t, async () => {
    const random = seededRandom(seed);
    const killAt = new Set<number>();
    while (killAt.size < KILLS) killAt.add(1 + Math.floor(random() * (OPS - 1)));
    const runtime = new PodRuntime(env.PODNET_CNI_SOCKET!);
    let next = 0;

    await ipamd.start();
    for (let op = 0; op < OPS; op++) {
      const add = runtime.live.size === 0 || (runtime.live.size < MAX_LIVE_PODS && random() < 0.55);
      const call = add ? runtime.add(`pod${next++}`) : runtime.del([...runtime.live.keys()][Math.floor(random() * runtime.live.size)]!);
      if (killAt.has(op)) {
        // the kill lands during this call or right after it, while the pool loop may be mid-action
        await sleep(random() * 12);
        await ipamd.kill9();
        await call;
        await ipamd.start();
      } else {
        await call;
        ipamd.assertNotCrashed(`at operation ${op}, not a kill point`);
      }
      await runtime.retryDeletes();
    }
    assert.equal(runtime.toDelete.size, 0, 'every DEL eventually succeeded');

    const agreement = await assertNodeAgrees(cloud, ipamd, env.AWS_VPC_K8S_CNI_BACKING_STORE!, runtime.live);
    assert.equal(ipamd.killsAfterReady, KILLS);
    assert.equal(ipamd.readyCount(), KILLS + 1, 'ipamd started once plus once after every kill');
    const c = runtime.counts;
    assert.ok(c.addsRefused < OPS / 4, `most ADDs found an address (${c.addsRefused} refused while the pool grew)`);
    assert.equal(await ipamd.stop(), 0, 'podnet ipamd stops cleanly on SIGTERM');

    t.diagnostic(`kills survived: ${ipamd.killsAfterReady}; ADDs ${c.adds} (${c.addsOk} ok, ${c.addsRefused} refused, ${c.addsCutOff} cut off), DELs ${c.dels} (${c.delsOk} ok)`);
    t.diagnostic(`at the end: ${agreement.pods} pods, ${agreement.addresses} addresses on ${agreement.enis} ENIs; leaked ENIs ${agreement.leakedEnis}, leaked addresses ${agreement.leakedAddresses}, addresses held twice ${agreement.doubleHeld}`);
  });
});
