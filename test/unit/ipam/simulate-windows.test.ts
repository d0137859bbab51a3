/**
 * Review 11 finding 2: Windows nodes' addresses are kept by the VPC resource controller with its own ConfigMap keys
 * and defaults (aws/amazon-vpc-resource-controller-k8s pkg/config: IPv4DefaultWinWarmIPTarget = 3,
 * IPv4DefaultWinMinIPTarget = 3; with enable-windows-prefix-delegation warm 1, minimum 3), not by aws-node's pool
 * settings. Its arithmetic (pkg/pool/pool.go): total = max(used + warm, minimum), in whole /28s with prefixes, capped
 * at the one ENI's capacity. Expected figures are worked out by hand in each title.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulatedNode } from '../../../src/ec2/index.js';
import { simulatePool, windowsPoolRules, type StartSimulatedCloud, type WindowsPoolSettings } from '../../../src/ipam/index.js';
import { PodnetError } from '../../../src/lib/index.js';

const startCloud: StartSimulatedCloud = startSimulatedNode;

const windows = (pods: number, settings?: WindowsPoolSettings, more: { env?: Record<string, string>; maxPods?: number } = {}) =>
  simulatePool({ instanceType: 'm5.large', pods, startCloud, os: 'windows', ...(settings ? { windows: settings } : {}), ...more });

test('review 11 finding 2: --os windows runs the controller\'s defaults warm-ip-target=3, minimum-ip-target=3: m5.large holds 3 addresses at 0 pods, 6 at 3 pods (3 used + 3 warm), 9 at 6 pods (capacity 10 − 1)', async () => {
  for (const [pods, total] of [[0, 3], [3, 6], [6, 9]] as const) {
    const { result } = await windows(pods);
    assert.deepEqual([result.enis, result.totalIps, result.refusedPods], [1, total, 0], `${pods} pods`);
    assert.deepEqual(result.windowsPool, { warmIpTarget: 3, minimumIpTarget: 3, prefixDelegation: false });
  }
});

test('review 11 finding 2: with enable-windows-prefix-delegation the defaults are warm 1, minimum 3: 0 pods → 1 prefix (⌈3/16⌉), 20 pods → 2 prefixes (⌈21/16⌉), 31 pods → 2, 32 pods → 3 (⌈33/16⌉)', async () => {
  for (const [pods, prefixes] of [[0, 1], [20, 2], [31, 2], [32, 3]] as const) {
    const { result } = await windows(pods, { prefixDelegation: true });
    assert.deepEqual([result.prefixesPerEni, result.totalIps], [[prefixes], prefixes * 16], `${pods} pods`);
  }
});

test('review 11 finding 2: the controller\'s own rules for set keys: an explicit warm-ip-target=0 is 1 with secondary IPs, minimum-ip-target=8 alone keeps warm 0; with prefixes warm-ip-target=5 alone takes minimum 3, minimum-ip-target=40 alone warm 1', () => {
  assert.deepEqual(windowsPoolRules({ warmIpTarget: 0 }), { warmIpTarget: 1, minimumIpTarget: 0, prefixDelegation: false, summary: 'warm-ip-target=1, minimum-ip-target=0' });
  assert.deepEqual([windowsPoolRules({ minimumIpTarget: 8 }).warmIpTarget, windowsPoolRules({ minimumIpTarget: 8 }).minimumIpTarget], [0, 8]);
  assert.deepEqual([windowsPoolRules({ prefixDelegation: true, warmIpTarget: 5 }).minimumIpTarget, windowsPoolRules({ prefixDelegation: true, minimumIpTarget: 40 }).warmIpTarget], [3, 1]);
  assert.deepEqual(windowsPoolRules({ warmIpTarget: 0, minimumIpTarget: 0, prefixDelegation: true }).summary, 'enable-windows-prefix-delegation=true, warm-ip-target=1, minimum-ip-target=3');
});

test('review 11 finding 2: the simulated pool follows the set keys: warm-ip-target=0 → 6 addresses at 5 pods; minimum-ip-target=8 alone → 8 at 2 pods', async () => {
  assert.equal((await windows(5, { warmIpTarget: 0 })).result.totalIps, 6);
  assert.equal((await windows(2, { minimumIpTarget: 8 })).result.totalIps, 8);
});

test('review 11 finding 2: a refusal at the one ENI\'s capacity is eni-limit (m5.large: pods 10-12); only a lower --max-pods (5) is max-pods', async () => {
  const full = await windows(12);
  assert.deepEqual(full.result.refusals.map((r) => [r.reason, r.pods, r.firstPod]), [['eni-limit', 3, 10]]);
  assert.match(full.result.refusals[0]!.message, /all 9 pod addresses of the node's one ENI are in use/);
  const capped = await windows(7, undefined, { maxPods: 5 });
  assert.deepEqual(capped.result.refusals.map((r) => [r.reason, r.pods, r.firstPod]), [['max-pods', 2, 6]]);
});

test('review 11 finding 2: aws-node\'s pool variables under --os windows are usage errors naming the ConfigMap keys; --windows-* settings without --os windows too', async () => {
  for (const name of ['WARM_ENI_TARGET', 'WARM_IP_TARGET', 'MINIMUM_IP_TARGET', 'WARM_PREFIX_TARGET', 'ENABLE_PREFIX_DELEGATION', 'MAX_ENI']) {
    const value = name === 'ENABLE_PREFIX_DELEGATION' ? 'true' : '2';
    await assert.rejects(windows(1, undefined, { env: { [name]: value } }),
      (e: unknown) => e instanceof PodnetError && e.code === 'USAGE' && e.message.startsWith(`${name}: aws-node's pool settings do not drive Windows nodes`) && /warm-ip-target, minimum-ip-target/.test(e.hint ?? ''));
  }
  await assert.rejects(simulatePool({ instanceType: 'm5.large', pods: 1, startCloud, windows: { warmIpTarget: 2 } }),
    (e: unknown) => e instanceof PodnetError && e.code === 'USAGE' && /--os windows/.test(e.hint ?? ''));
});

test('review 11 finding 2: a minimum-ip-target above the one ENI\'s 9 addresses is flagged under the ConfigMap key\'s name', async () => {
  const { result } = await windows(0, { minimumIpTarget: 20 });
  assert.match(result.warnings[0]!, /^minimum-ip-target=20 is above the 9 pod addresses m5\.large can hold \(1 ENI\(s\) × 9 addresses\); the pool stops at 9/);
});
