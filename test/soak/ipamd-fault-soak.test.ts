/**
 * The fault soak: EC2 fails a quarter of ipamd's mutating calls and throttles at a tenth of AWS's rates, four
 * churners ADD and DEL pods at once through ipamd's CNI socket, and `podnet ipamd` (a child process) is killed with
 * SIGKILL over and over — mostly at a random moment after it is ready, sometimes while it is still starting. The
 * storm ends with the last kill; a new ipamd starts in a calm EC2, the runtime's pending DELs go through, and ipamd,
 * its checkpoint and EC2 must agree with the runtime: no leaked ENI, no leaked address, no address held by two pods.
 * The kill moments and each churner's choices come from one printed seed.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { seededRandom } from '../../src/lib/index.js';
import { ec2Actions } from '../../src/ec2/index.js';
import { daemonEnv, eventually, startCloud, type Cloud } from '../unit/ipamd/daemon-harness.js';
import { assertNodeAgrees, countEc2Answers, IpamdProcess, PodRuntime, setEc2Weather, sleep, soakSeed, sumCounts, type Ec2Counter } from './harness.js';

const CHURNERS = 4;
const KILLS_AFTER_READY = 32;
const KILLS_DURING_START = 8;
/** Pods each churner keeps at most: 4 × 3 = 12 of a t3.medium's 15 secondary addresses. */
const MAX_LIVE_PER_CHURNER = 3;
const ERROR_RATE = 0.25;
const THROTTLE_SCALE = 0.1;
/** Every action that changes EC2 state (the throttle's "mutating" class): what a fault can leave half done. */
const mutatingActions = Object.keys(ec2Actions).filter((a) => !/^(Describe|Get|List)/.test(a));

let cloud: Cloud;
let counter: Ec2Counter;
let env: Record<string, string>;
let ipamd: IpamdProcess;

before(async () => {
  cloud = await startCloud({ instanceType: 't3.medium' });
  counter = await countEc2Answers(cloud.emulator.ec2Url);
  env = daemonEnv(cloud, {
    AWS_ENDPOINT_URL_EC2: counter.url,
    DISABLE_METRICS: 'true',
    PODNET_LEAKED_ENI_INTERVAL_MS: '1000',
    PODNET_LEAKED_ENI_MIN_AGE_MS: '3000',
    AWS_VPC_K8S_CNI_LOGLEVEL: 'INFO',
    // a small warm pool, so the churn keeps the pool growing and shrinking: assign, unassign, attach, detach
    WARM_IP_TARGET: '2',
    MINIMUM_IP_TARGET: '2',
  });
  ipamd = new IpamdProcess(env);
});

after(async () => {
  await ipamd?.dispose();
  await counter?.close();
  await cloud?.close();
});

test(`EC2 faults (${ERROR_RATE * 100} % of mutating calls, throttling ×${THROTTLE_SCALE}), ${CHURNERS} churners and ${KILLS_AFTER_READY + KILLS_DURING_START} kill -9 of ipamd leave ipamd, the checkpoint and EC2 in agreement`, { timeout: 150_000 }, async (t) => {
  const seed = soakSeed(Date.now() % 1_000_000_007);
  t.diagnostic(`podnet ipamd runs from ${ipamd.how}; seed ${seed} (replay with PODNET_SOAK_SEED=${seed})`);
  const started = performance.now();
  await ipamd.withLogs(t, async () => {
    await setEc2Weather(cloud,
      { seed, actions: Object.fromEntries(mutatingActions.map((a) => [a, { errorRate: ERROR_RATE }])) },
      { enabled: true, scale: THROTTLE_SCALE });
    const runtimes = Array.from({ length: CHURNERS }, () => new PodRuntime(env.PODNET_CNI_SOCKET!));
    let storm = true;

    /** One runtime's pods: ADD or DEL at random, every pending DEL retried first, as kubelet does. */
    const churn = async (runtime: PodRuntime, n: number) => {
      const random = seededRandom(seed + 1 + n);
      let next = 0;
      const backOff = () => sleep(100 + random() * 100);
      while (storm) {
        // a runtime does not spin on a node whose plugin fails: with DELs pending it backs off and retries them
        if (!(await runtime.retryDeletes())) {
          await backOff();
          continue;
        }
        const live = [...runtime.live.keys()];
        const add = live.length === 0 || (live.length < MAX_LIVE_PER_CHURNER && random() < 0.55);
        const outcome = add ? await runtime.add(`c${n}-pod${next++}`) : await runtime.del(live[Math.floor(random() * live.length)]!);
        await (outcome === 'ok' ? sleep(random() * 20) : backOff());
      }
    };

    /** ipamd's life: start, run a random while (or die mid-start), kill -9, again. */
    const killer = async () => {
      const random = seededRandom(seed);
      const plan = [...Array<boolean>(KILLS_AFTER_READY).fill(true), ...Array<boolean>(KILLS_DURING_START).fill(false)];
      for (let i = plan.length - 1; i > 0; i--) {
        const j = Math.floor(random() * (i + 1));
        [plan[i], plan[j]] = [plan[j]!, plan[i]!];
      }
      for (const afterReady of plan) {
        if (afterReady) {
          await ipamd.start();
          await sleep(random() * 1000);
        } else {
          // mid-start-up: once the new ipamd has sent its first EC2 call, while it reads EC2, IMDS and its checkpoint
          const sent = counter.counts.requests;
          await ipamd.start({ untilReady: false });
          await eventually(() => counter.counts.requests > sent || !ipamd.running, 'the new ipamd\'s first EC2 call', 20_000);
          await sleep(random() * 50);
        }
        ipamd.assertNotCrashed('before a kill');
        await ipamd.kill9();
      }
    };

    const churners = runtimes.map((r, n) => churn(r, n));
    try {
      await killer();
    } finally {
      storm = false;
      await Promise.all(churners);
    }
    const stormSeconds = (performance.now() - started) / 1000;

    // the storm ends with the last kill; ipamd starts again in a calm EC2 and must repair what the storm left (ENIs
    // created but never attached, addresses assigned but never recorded), not wait out backoffs it began in the storm
    await setEc2Weather(cloud, { actions: {} }, { enabled: false });
    await ipamd.start();

    // drain: every container whose ADD or DEL was cut off or refused gets its DEL
    const pending = () => runtimes.reduce((n, r) => n + r.toDelete.size, 0);
    for (let round = 0; round < 50 && pending() > 0; round++) {
      for (const r of runtimes) await r.retryDeletes();
      if (pending() > 0) await sleep(100);
    }
    assert.equal(pending(), 0, 'every DEL eventually succeeded');
    ipamd.assertNotCrashed('after the storm');

    const live = new Map(runtimes.flatMap((r) => [...r.live]));
    const agreement = await assertNodeAgrees(cloud, ipamd, env.AWS_VPC_K8S_CNI_BACKING_STORE!, live);

    const kills = ipamd.killsAfterReady + ipamd.killsDuringStart;
    assert.equal(kills, KILLS_AFTER_READY + KILLS_DURING_START, 'every planned kill hit a running ipamd');
    assert.ok(ipamd.killsAfterReady >= 30, `at least 30 kills of a ready ipamd (${ipamd.killsAfterReady})`);
    assert.equal(ipamd.starts, kills + 1, 'ipamd started once plus once after every kill');
    const c = sumCounts(runtimes.map((r) => r.counts));
    const ec2 = counter.counts;
    assert.ok(ec2.faults > 0, 'EC2 injected faults into ipamd\'s calls');
    assert.ok(c.addsOk > 0 && c.delsOk > 0, 'pods came and went');
    assert.equal(await ipamd.stop(), 0, 'podnet ipamd stops cleanly on SIGTERM');

    const byAction = Object.entries(ec2.faultsByAction).sort(([a], [b]) => a.localeCompare(b)).map(([a, n]) => `${a} ${n}`).join(', ');
    const startMs = [...ipamd.startMs].sort((a, b) => a - b);
    t.diagnostic(`kills survived: ${kills} (${ipamd.killsAfterReady} after ready, ${ipamd.killsDuringStart} during start-up); storm ${stormSeconds.toFixed(1)} s; spawn to ready p50 ${startMs[startMs.length >> 1]!.toFixed(0)} ms, max ${startMs.at(-1)!.toFixed(0)} ms`);
    t.diagnostic(`ADDs ${c.adds} (${c.addsOk} ok, ${c.addsRefused} refused, ${c.addsCutOff} cut off), DELs ${c.dels} (${c.delsOk} ok, ${c.delsFailed} failed and repeated)`);
    t.diagnostic(`EC2 calls ${ec2.calls}: faults injected ${ec2.faults} (${byAction}), throttled ${ec2.throttled}`);
    t.diagnostic(`at the end: ${agreement.pods} pods, ${agreement.addresses} addresses on ${agreement.enis} ENIs; leaked ENIs ${agreement.leakedEnis}, leaked addresses ${agreement.leakedAddresses}, addresses held twice ${agreement.doubleHeld}`);
  });
});
