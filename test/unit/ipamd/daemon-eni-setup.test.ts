// setupENI's retries (§3.2 step 1: 5 looks for the link by MAC; §4.14 step 4: 5 tries at init), through the
// daemon's dataplane seam: a scripted dataplane stands in for Linux, the emulator for EC2/IMDS.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { loadConfig } from '../../../src/config/index.js';
import { addressOnlyDataplane, startIpamd, type Ipamd, type NodeDataplane } from '../../../src/ipamd/index.js';
import { PodnetError } from '../../../src/lib/index.js';
import { cniCall, daemonEnv, eventually, startCloud, type Cloud } from './daemon-harness.js';

type EniFacts = Parameters<NodeDataplane['setupEni']>[0];

let cloud: Cloud;

before(async () => {
  cloud = await startCloud({ instanceType: 't3.small' });
});

after(async () => {
  await cloud?.close();
});

/** A dataplane whose setupEni answers with `outcome(call number for this MAC)`: an error to throw, or undefined for success. */
function scriptedDataplane(outcome: (call: number) => PodnetError | undefined) {
  const calls: { mac: string; deviceNumber: number; at: number }[] = [];
  const configured: EniFacts[] = [];
  const dataplane: NodeDataplane = {
    ...addressOnlyDataplane(),
    async setupEni(eni) {
      calls.push({ mac: eni.mac, deviceNumber: eni.deviceNumber, at: Date.now() });
      const error = outcome(calls.filter((c) => c.mac === eni.mac).length);
      if (error) throw error;
      configured.push(eni);
    },
  };
  return { dataplane, calls, configured };
}

const linkMissing = () => new PodnetError('LINK_NOT_FOUND', 'ENI has no link yet', 'wait');

async function start(env: Record<string, string>, dataplane: NodeDataplane): Promise<Ipamd> {
  const { config, problems } = loadConfig(env);
  assert.deepEqual(problems.filter((p) => p.severity === 'error'), []);
  return startIpamd({ env, config, dataplane, retry: { throttleBaseMs: 5, transientBaseMs: 5, maxDelayMs: 20 } });
}

async function setupErrors(ipamd: Ipamd): Promise<number> {
  return (await ipamd.metrics.ipamdErrors.get()).values.filter((v) => v.labels.fn === 'setupENINetwork').reduce((n, v) => n + v.value, 0);
}

// WARM_IP_TARGET=5 on a t3.small (3 pod addresses per ENI) makes the pool loop attach a second ENI
const growEnv = (extra: Record<string, string>) => daemonEnv(cloud, { WARM_IP_TARGET: '5', PODNET_RECONCILE_INTERVAL_MS: '600000', ...extra });

test('a new ENI whose link shows up on the third look is set up then, with the look interval between looks and no error counted', async () => {
  const script = scriptedDataplane((call) => (call <= 2 ? linkMissing() : undefined));
  const ipamd = await start(growEnv({ PODNET_ENI_LINK_RETRY_MS: '40' }), script.dataplane);
  try {
    await eventually(() => script.configured.length === 1, 'the second ENI to be set up');
    assert.equal(script.configured[0]!.deviceNumber, 1);
    const looks = script.calls.filter((c) => c.mac === script.configured[0]!.mac);
    assert.equal(looks.length, 3);
    assert.ok(looks[1]!.at - looks[0]!.at >= 35 && looks[2]!.at - looks[1]!.at >= 35, `looks at +${looks.map((l) => l.at - looks[0]!.at).join(', +')} ms`);
    assert.equal(await setupErrors(ipamd), 0);
  } finally {
    await ipamd.stop();
  }
});

test('a link that never shows up is looked for 5 times, then counted once as a setupENINetwork error, while pods still get addresses', async () => {
  const script = scriptedDataplane(linkMissing);
  const ipamd = await start(growEnv({ PODNET_ENI_LINK_RETRY_MS: '100', PODNET_ENI_SETUP_RETRY_MS: '0' }), script.dataplane);
  try {
    await eventually(() => script.calls.length >= 1, 'the first look');
    // the looks run beside the pool: an ADD is answered while they wait
    const add = await cniCall(ipamd.socketPath, 'ADD', 'during-looks');
    assert.equal(add.exitCode, 0, JSON.stringify(add.body));
    assert.ok(script.calls.length < 5, `ADD answered after only ${script.calls.length} look(s)`);
    await eventually(async () => (await setupErrors(ipamd)) === 1, 'the setup to give up', 2000);
    assert.equal(script.calls.length, 5, 'a missing link is not tried again by the setup retry (§4.14 step 4)');
  } finally {
    await ipamd.stop();
  }
});

test('at start an attached ENI whose setup fails is tried 5 times in all; stop() cuts a pending wait short', async () => {
  // the first run attaches the second ENI; the second run finds it attached at init
  const first = await start(growEnv({}), addressOnlyDataplane());
  await eventually(() => first.node.datastore.eniInfos().length === 2, 'the second ENI');
  await first.stop();

  const failing = scriptedDataplane(() => new PodnetError('EXEC_FAILED', 'ip -batch exited 2', 'see stderr'));
  const second = await start(growEnv({ PODNET_ENI_SETUP_RETRY_MS: '20' }), failing.dataplane);
  try {
    await eventually(async () => (await setupErrors(second)) === 1, 'the tries at init to run out');
    assert.equal(failing.calls.length, 5);
  } finally {
    await second.stop();
  }

  const slow = scriptedDataplane(() => new PodnetError('EXEC_FAILED', 'ip -batch exited 2', 'see stderr'));
  const third = await start(growEnv({ PODNET_ENI_SETUP_RETRY_MS: '600000' }), slow.dataplane);
  await eventually(() => slow.calls.length === 1, 'the first try at init');
  const stopping = Date.now();
  await third.stop();
  assert.ok(Date.now() - stopping < 2000, `stop() took ${Date.now() - stopping} ms`);
  assert.equal(await setupErrors(third), 0, 'a setup cut short by stop() is not an error');
});
