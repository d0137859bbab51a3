/**
 * The answers `pool simulate` gives besides the pool itself (issue 11, "Answers the CLI should give"): the max pods
 * of the node's mode, why pods were refused, a MINIMUM_IP_TARGET the node cannot hold, the addresses and subnet of
 * N nodes, and Windows nodes. Expected numbers follow from the instance limits (§4.2, §4.16, §5.1, §5.2).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startSimulatedNode } from '../../../src/ec2/index.js';
import { fleetAddresses, simulatePool, type StartSimulatedCloud } from '../../../src/ipam/index.js';
import { PodnetError } from '../../../src/lib/index.js';

const startCloud: StartSimulatedCloud = startSimulatedNode;

const simulate = (instanceType: string, pods: number, env: Record<string, string> = {}, more: { maxPods?: number; nodes?: number; os?: 'linux' | 'windows' } = {}) =>
  simulatePool({ instanceType, pods, startCloud, env, ...more });

test('max pods follows the mode as podnet max-pods computes it: custom networking (t3.small 2 × 3 + 2 = 8), trunk (m5.large 2 × 9 + 2 = 20), prefix delegation (c5.2xlarge 4 × 14 × 16 + 2 = 898, capped at 110 for 8 vCPUs)', async () => {
  const custom = await simulate('t3.small', 0, { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' });
  assert.equal(custom.result.maxPods, 8);
  const trunk = await simulate('m5.large', 0, { ENABLE_POD_ENI: 'true' });
  assert.equal(trunk.result.maxPods, 20);
  const pd = await simulate('c5.2xlarge', 0, { ENABLE_PREFIX_DELEGATION: 'true' });
  assert.equal(pd.result.maxPods, 110);
  assert.equal(pd.setup.maxPods, 110);
});

test('refused pods are explained per reason: every ENI full (t3.small, 3 × 3, pods 10-12)', async () => {
  const { result } = await simulate('t3.small', 12);
  assert.equal(result.refusedPods, 3);
  assert.deepEqual(result.refusals.map((r) => [r.reason, r.pods, r.firstPod]), [['eni-limit', 3, 10]]);
  assert.match(result.refusals[0]!.message, /3 ENIs attached, limit 3, each holds 3 addresses/);
});

test('refused pods are explained per reason: MAX_ENI=2 below t3.small\'s 3 ENIs refuses pods 7-9', async () => {
  const { result } = await simulate('t3.small', 9, { MAX_ENI: '2' });
  assert.deepEqual(result.refusals.map((r) => [r.reason, r.pods, r.firstPod]), [['max-eni', 3, 7]]);
  assert.match(result.refusals[0]!.message, /MAX_ENI=2 caps the ENIs below the instance's 3/);
});

test('refused pods are explained per reason: the trunk slot of ENABLE_POD_ENI on m5.large (trunking-compatible) leaves 2 × 9 addresses, pods 19-20 refused', async () => {
  const { result } = await simulate('m5.large', 20, { ENABLE_POD_ENI: 'true' });
  assert.deepEqual(result.refusals.map((r) => [r.reason, r.pods, r.firstPod]), [['trunk-slot', 2, 19]]);
  assert.match(result.refusals[0]!.message, /held for the trunk ENI/);
});

test('refused pods are explained per reason: max pods 5 stops the pool at 6 addresses, pod 7 refused', async () => {
  const { result } = await simulate('t3.small', 7, {}, { maxPods: 5 });
  assert.deepEqual(result.refusals.map((r) => [r.reason, r.pods, r.firstPod]), [['max-pods', 1, 7]]);
});

test('refused pods are explained per reason: custom networking leaves the primary ENI without pod addresses (t3.small, pods 7-8)', async () => {
  const { result } = await simulate('t3.small', 8, { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' });
  assert.deepEqual(result.ipsPerEni, [0, 3, 3]);
  assert.deepEqual(result.refusals.map((r) => [r.reason, r.pods, r.firstPod]), [['eni-limit', 2, 7]]);
  assert.match(result.refusals[0]!.message, /primary ENI holds no pod addresses/);
});

test('a MINIMUM_IP_TARGET above what the node can hold is flagged with both numbers (c5.2xlarge: 100 > 4 × 14 = 56)', async () => {
  const { result } = await simulate('c5.2xlarge', 0, { MINIMUM_IP_TARGET: '100' });
  assert.equal(result.warnings.length, 1);
  assert.match(result.warnings[0]!, /MINIMUM_IP_TARGET=100 is above the 56 pod addresses c5\.2xlarge can hold \(4 ENI\(s\) × 14 addresses\)/);
  assert.equal(result.totalIps, 56);
  const within = await simulate('c5.2xlarge', 0, { MINIMUM_IP_TARGET: '30' });
  assert.deepEqual(within.result.warnings, []);
  const aboveMaxPods = await simulate('c5.2xlarge', 0, { MINIMUM_IP_TARGET: '30' }, { maxPods: 20 });
  assert.match(aboveMaxPods.result.warnings[0]!, /MINIMUM_IP_TARGET=30 is above max pods 20/);
});

test('--nodes: 100 t3.small nodes at 5 pods hold 100 × (9 pod addresses + 3 ENI primaries) = 1200 addresses, a /21 (2043 usable; a /22 has 1019)', async () => {
  const { result } = await simulate('t3.small', 5, {}, { nodes: 100 });
  assert.deepEqual(result.fleet, { nodes: 100, podAddressesPerNode: 9, eniPrimaryAddressesPerNode: 3, addresses: 1200, subnetPrefixLength: 21, subnetUsableAddresses: 2043, subnets: 1, nodesPerSubnet: 170 });
});

test('review 11 finding 1: --nodes never suggests a subnet larger than /16: 3000 m5.large nodes at 30 pods hold 3000 × (27 + 3) = 90000 addresses; a /16 (65531) holds 2184 nodes (30 × 2184 = 65520), so 2 /16 subnets', async () => {
  const { result } = await simulate('m5.large', 30, {}, { nodes: 3000 });
  assert.deepEqual(result.fleet, { nodes: 3000, podAddressesPerNode: 27, eniPrimaryAddressesPerNode: 3, addresses: 90000, subnetPrefixLength: 16, subnetUsableAddresses: 65531, subnets: 2, nodesPerSubnet: 2184 });
});

test('--nodes: prefixes need whole aligned /28s, so 1 prefix + 1 primary needs a /26 where 17 single addresses fit a /27', () => {
  assert.equal(fleetAddresses(1, 16, 1, { prefixDelegation: false, customNetworking: false }).subnetPrefixLength, 27);
  assert.equal(fleetAddresses(1, 16, 1, { prefixDelegation: true, customNetworking: false }).subnetPrefixLength, 26);
  // custom networking: the node's primary ENI stays in the node subnet
  assert.equal(fleetAddresses(10, 6, 3, { prefixDelegation: false, customNetworking: true }).addresses, 80);
});

test('--os windows: one ENI with IPv4Limit − 1 addresses (m5.large: 10 − 1 = 9), max pods 9, pods 10-12 refused at the one ENI\'s limit', async () => {
  const { result } = await simulate('m5.large', 12, {}, { os: 'windows' });
  assert.deepEqual([result.os, result.ipsPerEni, result.maxPods], ['windows', [9], 9]);
  assert.deepEqual(result.refusals.map((r) => [r.reason, r.pods, r.firstPod]), [['eni-limit', 3, 10]]);
  const pd = await simulatePool({ instanceType: 'm5.large', pods: 20, startCloud, os: 'windows', windows: { prefixDelegation: true } });
  assert.deepEqual([pd.result.enis, pd.result.maxPods], [1, 144]);
});

test('--os windows: custom networking and ENABLE_POD_ENI are usage errors', async () => {
  for (const env of [{ AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' }, { ENABLE_POD_ENI: 'true' }] as Record<string, string>[]) {
    await assert.rejects(simulate('m5.large', 1, env, { os: 'windows' }), (e: unknown) => e instanceof PodnetError && e.code === 'USAGE' && /not supported on Windows/.test(e.message));
  }
});
