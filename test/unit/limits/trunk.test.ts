/**
 * Issue 11 item 1: security groups for pods follow the VPC resource controller's table (data/trunk-limits.json).
 * Upstream ipamd holds an ENI slot for the trunk only when IsTrunkingCompatible() (hasRoomForEni, §4.8); a type the
 * table does not list is not supported, as the VPC resource controller decides (one rule for ipamd, max-pods and the
 * EC2 emulator). The simulations run the real pool manager and executor
 * against the in-process EC2 emulator on a fake clock.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startSimulatedNode } from '../../../src/ec2/index.js';
import { poolConfigFrom, poolLimitsFrom, simulatePool, type StartSimulatedCloud } from '../../../src/ipam/index.js';
import { allInstanceTypes, lookupInstanceType, maxPods, trunkLimits, trunkingCompatible } from '../../../src/limits/index.js';
import { loadConfig } from '../../../src/config/index.js';

const startCloud: StartSimulatedCloud = startSimulatedNode;

async function simulate(instanceType: string, pods: number, env: Record<string, string>) {
  const { result } = await simulatePool({ instanceType, pods, env, startCloud });
  return { enis: result.enis, totalIps: result.totalIps, refusedPods: result.refusedPods };
}

describe('issue 11 item 1: the trunk table (VPC resource controller limits.go)', () => {
  const table = JSON.parse(readFileSync(new URL('../../../data/trunk-limits.json', import.meta.url), 'utf8')) as Record<string, { IsTrunkingCompatible: boolean; BranchInterface: number }>;

  test('data/trunk-limits.json lists 1164 types, sorted, each with IsTrunkingCompatible and BranchInterface only', () => {
    const types = Object.keys(table);
    assert.equal(types.length, 1164);
    assert.deepEqual(types, [...types].sort());
    for (const [type, entry] of Object.entries(table)) assert.deepEqual(Object.keys(entry), ['IsTrunkingCompatible', 'BranchInterface'], type);
    // a type that cannot trunk has no branch ENIs, and every compatible type has some
    assert.deepEqual(types.filter((t) => table[t]!.IsTrunkingCompatible !== table[t]!.BranchInterface > 0), []);
  });

  test('t2, t3-family and m4 are not trunking-compatible; m5.large carries 9 branch ENIs, c5.4xlarge 54', () => {
    for (const type of allInstanceTypes().filter((t) => /^(t2|t3|t3a|m4)\./.test(t))) {
      assert.equal(trunkingCompatible(type), false, type);
      assert.equal(trunkLimits(type).branchInterfaces, 0, type);
    }
    assert.deepEqual(trunkLimits('m5.large'), { listed: true, trunkingCompatible: true, branchInterfaces: 9 });
    assert.equal(trunkLimits('c5.4xlarge').branchInterfaces, 54);
  });

  test('a type the table does not list is not supported, as the VPC resource controller decides: no trunk, no branch ENIs', () => {
    assert.equal(table['c9g.large'], undefined);
    assert.deepEqual(trunkLimits('c9g.large'), { listed: false, trunkingCompatible: false, branchInterfaces: 0 });
    assert.equal(trunkingCompatible('c9g.large'), false);
  });
});

describe('issue 11 item 1: ipamd and the simulation hold the trunk slot only on trunking-compatible types', () => {
  test('poolLimitsFrom takes trunkingCompatible from the table: t3.small false, m5.large true, unlisted c9g.large false', () => {
    const config = poolConfigFrom(loadConfig({ ENABLE_IPv4: 'true', ENABLE_POD_ENI: 'true' }).config);
    const limitsOf = (type: string) => poolLimitsFrom(lookupInstanceType(type), config, { maxPods: 110 });
    assert.equal(limitsOf('t3.small').trunkingCompatible, false);
    assert.equal(limitsOf('m5.large').trunkingCompatible, true);
    assert.equal(limitsOf('c9g.large').trunkingCompatible, false);
  });

  test('issue 11 item 1: t3.small with ENABLE_POD_ENI holds no trunk slot (not trunking-compatible): 9 pods → 3 ENIs, 0 refused as upstream', async () => {
    assert.deepEqual(await simulate('t3.small', 9, { ENABLE_POD_ENI: 'true' }), { enis: 3, totalIps: 9, refusedPods: 0 });
  });

  test('issue 11 item 1: m4.4xlarge with ENABLE_POD_ENI holds no trunk slot (not trunking-compatible): 220 pods → 8 ENIs, 0 refused as upstream', async () => {
    const r = await simulate('m4.4xlarge', 220, { ENABLE_POD_ENI: 'true' });
    assert.equal(r.enis, 8);
    assert.equal(r.refusedPods, 0);
  });

  test('issue 11 item 1: m5.large with ENABLE_POD_ENI holds the trunk slot (trunking-compatible): 19 pods → 2 ENIs, 1 refused; without it 3 ENIs, 0 refused', async () => {
    assert.deepEqual(await simulate('m5.large', 19, { ENABLE_POD_ENI: 'true' }), { enis: 2, totalIps: 18, refusedPods: 1 });
    assert.deepEqual(await simulate('m5.large', 19, {}), { enis: 3, totalIps: 27, refusedPods: 0 });
  });
});

describe('issue 11 item 1: max-pods --security-groups-for-pods uses the table', () => {
  test('t3.small: no slot held, 11 max pods, and the breakdown says why', () => {
    const b = maxPods('t3.small', { securityGroupsForPods: true });
    assert.equal(b.maxPods, 11);
    assert.deepEqual(b.trunk, { listed: true, trunkingCompatible: false, branchInterfaces: 0, slotHeld: false });
    assert.equal(b.formula, '3 ENIs (no trunk slot: not trunking-compatible) × (4 − 1) IPs + 2');
    assert.match(b.notes.join('\n'), /t3\.small is not trunking-compatible: ipamd holds no ENI slot for a trunk/);
  });

  test('m4.4xlarge: no slot held, 8 × 29 + 2 = 234', () => {
    assert.equal(maxPods('m4.4xlarge', { securityGroupsForPods: true }).maxPods, 234);
  });

  test('m5.large: the trunk takes a slot, 2 × 9 + 2 = 20, and the 9 branch ENIs are named', () => {
    const b = maxPods('m5.large', { securityGroupsForPods: true });
    assert.equal(b.maxPods, 20);
    assert.equal(b.trunk?.slotHeld, true);
    assert.match(b.notes.join('\n'), /the trunk's 9 branch ENIs/);
  });

  test('unlisted c9g.large: no slot held (the controller attaches no trunk to a type it does not list), and the note says so', () => {
    const b = maxPods('c9g.large', { securityGroupsForPods: true });
    assert.equal(b.enisForPods, b.enisOnDefaultCard);
    assert.equal(b.podEni, 0);
    assert.match(b.notes.join('\n'), /does not list c9g\.large: the controller attaches no trunk to a type it does not list, so ipamd holds no ENI slot/);
  });
});
