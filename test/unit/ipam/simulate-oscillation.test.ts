/**
 * Issue 11 item 6: WARM_ENI_TARGET=0 without WARM_IP_TARGET/MINIMUM_IP_TARGET oscillates, as upstream does, when the
 * pods exactly fill every attached ENI. The expected numbers are computed by hand from upstream's timers (§4.1) and
 * decisions (§4.6, §4.8, §4.10) and checked against upstream's awsutils (AllocENI, FreeENI):
 *
 *   too low  ⇔ no free address (warm 0 and available 0);   extra ENI ⇔ available ≥ (0 + 1) × addresses per ENI
 *   t        too low → a new ENI with a full ENI's addresses: DescribeInstances (awsGetFreeDeviceNumber),
 *            CreateNetworkInterface, AttachNetworkInterface, ModifyNetworkInterfaceAttribute (DeleteOnTermination)
 *   t+5 …    a full ENI free → an extra ENI, but younger than minENILifeTime (60 s): kept
 *   t+60     60 s old → freed, out of the datastore first: DescribeNetworkInterfaces (attachment id),
 *            DetachNetworkInterface, 2 s wait inside the pool loop (FreeENI's sleepDelayAfterDetach), DeleteNetworkInterface
 *   t+67     the next pool iteration, 5 s (pool interval) after that one ended: too low again, as at t
 *
 * Period 60 + 2 + 5 = 67 s (the "~65 s" leaves out the 2 s detach wait); 7 EC2 calls per cycle, 5 of them
 * mutating; no free address from t+60 to t+67, a 7 s gap in which a pod is refused. The 30 s decrease interval
 * plays no part: WARM_ENI_TARGET mode never releases single addresses (§4.9).
 * c5.2xlarge holds 4 ENIs × 14 addresses (max pods 58): full ENIs at 14, 28 and 42 pods. t3.nano holds 2 ENIs × 1
 * address: full at 1 pod. The next pod after a cycle arrives at the cycle's high point and settles the pool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulatedNode } from '../../../src/ec2/index.js';
import { simulatePool, type Oscillation, type StartSimulatedCloud } from '../../../src/ipam/index.js';

const startCloud: StartSimulatedCloud = startSimulatedNode;

const callsPerCycle = {
  AttachNetworkInterface: 1,
  CreateNetworkInterface: 1,
  DeleteNetworkInterface: 1,
  DescribeInstances: 1,
  DescribeNetworkInterfaces: 1,
  DetachNetworkInterface: 1,
  ModifyNetworkInterfaceAttribute: 1,
};

function cycleAt(pods: number, enisBefore: number): Oscillation {
  return { pods, periodSeconds: 67, ec2CallsPerCycle: callsPerCycle, mutatingCallsPerCycle: 5, gapSeconds: 7, enis: { low: enisBefore, high: enisBefore + 1 } };
}

function warmEniZero(instanceType: string, pods: number) {
  return simulatePool({ instanceType, pods, startCloud, env: { WARM_ENI_TARGET: '0' } });
}

test('issue 11 item 6: c5.2xlarge WARM_ENI_TARGET=0 oscillates at 14 pods: period 67 s, calls per cycle {Create, Attach, Modify, DescribeInstances, DescribeNetworkInterfaces, Detach, Delete: 1 each} (5 mutating), 7 s gap', async () => {
  const { result } = await warmEniZero('c5.2xlarge', 14);
  assert.equal(result.settled, false);
  assert.deepEqual(result.oscillations, [cycleAt(14, 1)]);
  // shown at the high point: the second ENI attached and empty
  assert.deepEqual([result.ipsPerEni, result.unusedIps, result.refusedPods], [[14, 14], 14, 0]);
});

test('issue 11 item 6: c5.2xlarge WARM_ENI_TARGET=0 oscillates at 28 pods: period 67 s, calls per cycle 1 each of the 7 (5 mutating); the run passes through the 14-pod cycle too', async () => {
  const { result } = await warmEniZero('c5.2xlarge', 28);
  assert.equal(result.settled, false);
  assert.deepEqual(result.oscillations, [cycleAt(14, 1), cycleAt(28, 2)]);
  assert.deepEqual(result.ipsPerEni, [14, 14, 14]);
});

test('issue 11 item 6: t3.nano WARM_ENI_TARGET=0 oscillates at 1 pod: period 67 s, calls per cycle 1 each of the 7 (5 mutating)', async () => {
  const { result } = await warmEniZero('t3.nano', 1);
  assert.equal(result.settled, false);
  assert.deepEqual(result.oscillations, [cycleAt(1, 1)]);
  assert.deepEqual(result.ipsPerEni, [1, 1]);
});

test('issue 11 item 6: c5.2xlarge WARM_ENI_TARGET=0 settles at 15 pods (the 15th pod keeps the second ENI), after the cycle at 14', async () => {
  const { result } = await warmEniZero('c5.2xlarge', 15);
  assert.equal(result.settled, true);
  assert.deepEqual(result.oscillations.map((o) => o.pods), [14]);
  assert.deepEqual([result.ipsPerEni, result.unusedIps, result.refusedPods], [[14, 14], 13, 0]);
});

test('issue 11 item 6: c5.2xlarge WARM_ENI_TARGET=0 settles at 40 pods, after the cycles at 14 and 28', async () => {
  const { result } = await warmEniZero('c5.2xlarge', 40);
  assert.equal(result.settled, true);
  assert.deepEqual(result.oscillations, [cycleAt(14, 1), cycleAt(28, 2)]);
  assert.deepEqual([result.ipsPerEni, result.unusedIps, result.refusedPods], [[14, 14, 14], 2, 0]);
});

test('issue 11 item 6: with WARM_IP_TARGET=1 c5.2xlarge at 14 pods settles (the remedy podnet config suggests)', async () => {
  const { result } = await simulatePool({ instanceType: 'c5.2xlarge', pods: 14, startCloud, env: { WARM_ENI_TARGET: '0', WARM_IP_TARGET: '1' } });
  assert.equal(result.settled, true);
  assert.deepEqual(result.oscillations, []);
  assert.deepEqual([result.totalIps, result.unusedIps], [15, 1]);
});
