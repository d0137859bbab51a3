import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { decideFreeEni, decidePool, hasTrunkRoom, initialTimestamps, ipStats, isPoolTooLow, targetState, whyNoAddress } from '../../../src/ipam/index.js';
import { poolConfig, poolLimits, snapshotOf, type EniSpec } from './fixtures.js';

describe('isPoolTooLow: TestIPAMContext_nodeIPPoolTooLow vectors (spec §4.6, secondary IPs)', () => {
  // (maxIPsPerENI, maxENI, WARM_ENI, WARM_IP, datastore, maxPods) → low
  const cases: Array<[string, number, number, number, number, EniSpec[], number, boolean]> = [
    ['new ds', 14, 4, 1, 0, [], 500, true],
    ['new ds, WARM_ENI 0', 14, 4, 0, 0, [], 500, true],
    ['new ds, WARM_IP 3', 14, 4, 0, 3, [], 500, true],
    ['3 free IPs, WARM_ENI 1 + WARM_IP 1', 3, 4, 1, 1, [{ ips: 3 }], 500, false],
    ['1 used of 3', 3, 4, 1, 0, [{ ips: 3, used: 1 }], 500, true],
    ['1 used of 3, WARM_ENI 0', 3, 4, 0, 0, [{ ips: 3, used: 1 }], 500, false],
    ['3 used of 3, WARM_ENI 1', 3, 4, 1, 0, [{ ips: 3, used: 3 }], 500, true],
    ['3 used of 3, WARM_ENI 0', 3, 4, 0, 0, [{ ips: 3, used: 3 }], 500, true],
    ['maxPods 3 reached', 3, 4, 0, 5, [{ ips: 3, used: 3 }], 3, false],
  ];
  for (const [name, maxIps, maxEni, warmEni, warmIp, ds, maxPods, low] of cases) {
    test(`${name} → ${low ? 'low' : 'not low'}`, () => {
      const c = poolConfig({ warmEniTarget: warmEni, warmIpTarget: warmIp });
      const l = poolLimits({ maxIpsPerEni: maxIps, maxEni, maxPods });
      assert.equal(isPoolTooLow(ipStats(snapshotOf(ds)), c, l), low);
    });
  }
});

describe('isPoolTooLow: TestIPAMContext_nodePrefixPoolTooLow vectors (spec §4.6, prefix delegation)', () => {
  // maxPrefixesPerENI 16; one /28 on the primary ENI unless "empty"
  const cases: Array<[string, EniSpec[], number, number, boolean]> = [
    ['empty, WARM_PREFIX 1', [], 1, 500, true],
    ['empty, WARM_PREFIX 0', [], 0, 500, true],
    ['0 used, WARM_PREFIX 1', [{ prefixes: 1 }], 1, 500, false],
    ['1 used, WARM_PREFIX 1', [{ prefixes: 1, used: 1 }], 1, 500, true],
    ['1 used, WARM_PREFIX 0', [{ prefixes: 1, used: 1 }], 0, 500, false],
    ['3 used, WARM_PREFIX 1', [{ prefixes: 1, used: 3 }], 1, 500, true],
    ['3 used, WARM_PREFIX 0', [{ prefixes: 1, used: 3 }], 0, 500, false],
    ['3 used, maxPods 4', [{ prefixes: 1, used: 3 }], 1, 4, false],
  ];
  for (const [name, ds, warmPrefix, maxPods, low] of cases) {
    test(`${name} → ${low ? 'low' : 'not low'}`, () => {
      const c = poolConfig({ prefixDelegation: true, warmPrefixTarget: warmPrefix });
      const l = poolLimits({ maxIpsPerEni: 256, maxPrefixesPerEni: 16, maxPods });
      assert.equal(isPoolTooLow(ipStats(snapshotOf(ds, true)), c, l), low);
    });
  }
});

describe('targetState: TestGetWarmIPTargetState vectors (spec §4.5)', () => {
  test('secondary IPs, WARM_IP_TARGET=5: empty → short 5; 2 free IPs → short 3; 5 free IPs → neither', () => {
    const c = poolConfig({ warmIpTarget: 5 });
    assert.deepEqual(targetState(ipStats(snapshotOf([])), c), { short: 5, over: 0, enabled: true });
    assert.deepEqual(targetState(ipStats(snapshotOf([{ ips: 2 }])), c), { short: 3, over: 0, enabled: true });
    assert.deepEqual(targetState(ipStats(snapshotOf([{ ips: 5 }])), c), { short: 0, over: 0, enabled: true });
  });
  test('prefix delegation, WARM_IP_TARGET=5: empty → short 1 prefix; 2 free prefixes → over 1; 1 prefix → neither', () => {
    const c = poolConfig({ warmIpTarget: 5, prefixDelegation: true });
    assert.deepEqual(targetState(ipStats(snapshotOf([], true)), c), { short: 1, over: 0, enabled: true });
    assert.deepEqual(targetState(ipStats(snapshotOf([{ prefixes: 2 }], true)), c), { short: 0, over: 1, enabled: true });
    assert.deepEqual(targetState(ipStats(snapshotOf([{ prefixes: 1 }], true)), c), { short: 0, over: 0, enabled: true });
  });
  test('warm-IP mode is off when both WARM_IP_TARGET and MINIMUM_IP_TARGET are 0', () => {
    assert.deepEqual(targetState(ipStats(snapshotOf([{ ips: 3 }])), poolConfig()), { short: 0, over: 0, enabled: false });
  });
  test('MINIMUM_IP_TARGET=20 with prefix delegation needs 2 prefixes (ceil(20/16)) and keeps both', () => {
    const c = poolConfig({ prefixDelegation: true, warmIpTarget: 7, minimumIpTarget: 20 });
    assert.equal(targetState(ipStats(snapshotOf([], true)), c).short, 2);
    assert.equal(targetState(ipStats(snapshotOf([{ prefixes: 2 }], true)), c).over, 0);
  });
});

describe('decidePool: increase (spec §4.7, §4.8)', () => {
  const now = 1_000_000;
  test('secondary IPs in WARM_ENI mode fill the first ENI with room up to maxIPsPerENI', () => {
    const s = snapshotOf([{ ips: 1, used: 1 }]);
    assert.deepEqual(decidePool(s, poolConfig(), poolLimits({ maxIpsPerEni: 3 }), initialTimestamps, now),
      [{ kind: 'assign-ips', eniId: 'eni-0', count: 2 }]);
  });
  test('warm-IP mode asks for exactly the shortfall', () => {
    const s = snapshotOf([{ ips: 2, used: 2 }]);
    assert.deepEqual(decidePool(s, poolConfig({ warmIpTarget: 2 }), poolLimits(), initialTimestamps, now),
      [{ kind: 'assign-ips', eniId: 'eni-0', count: 2 }]);
  });
  test('a full ENI leads to a new ENI sized min(short, maxIPsPerENI) in warm-IP mode', () => {
    const s = snapshotOf([{ ips: 3 }]);
    const c = poolConfig({ warmIpTarget: 2, minimumIpTarget: 5 });
    assert.deepEqual(decidePool(s, c, poolLimits({ maxIpsPerEni: 3, ipv4Limit: 4 }), initialTimestamps, now),
      [{ kind: 'create-eni', unit: 'ip', count: 2 }]);
  });
  test('custom networking never adds addresses to the primary ENI', () => {
    const s = snapshotOf([{}]);
    assert.deepEqual(decidePool(s, poolConfig({ customNetworking: true }), poolLimits({ maxIpsPerEni: 3, ipv4Limit: 4 }), initialTimestamps, now),
      [{ kind: 'create-eni', unit: 'ip', count: 3 }]);
  });
  test('MAX_ENI reached: the pool stays low and says so', () => {
    const s = snapshotOf([{ ips: 3, used: 3 }, { ips: 3, used: 3 }]);
    const [a] = decidePool(s, poolConfig(), poolLimits({ maxIpsPerEni: 3, maxEni: 2 }), initialTimestamps, now);
    assert.equal(a?.kind, 'none');
    assert.match(a?.kind === 'none' ? a.reason : '', /2 of 2 ENIs/);
  });
  test('ENABLE_POD_ENI keeps one ENI slot for the trunk until a trunk exists', () => {
    const s = snapshotOf([{ ips: 3, used: 3 }, { ips: 3, used: 3 }]);
    const l = poolLimits({ maxIpsPerEni: 3, maxEni: 3 });
    assert.equal(decidePool(s, poolConfig({ podEni: true }), l, initialTimestamps, now)[0]?.kind, 'none');
    assert.equal(decidePool(s, poolConfig(), l, initialTimestamps, now)[0]?.kind, 'create-eni');
  });
  test('no increase within 120 s of an insufficient-CIDR error, and retry right after', () => {
    const s = snapshotOf([{ ips: 1, used: 1 }]);
    const t = { ...initialTimestamps, lastInsufficientCidrAt: now - 60_000 };
    const [a] = decidePool(s, poolConfig(), poolLimits(), t, now);
    assert.deepEqual(a?.kind === 'none' ? a.retryAt : undefined, now + 60_001);
    assert.equal(decidePool(s, poolConfig(), poolLimits(), t, now + 60_001)[0]?.kind, 'assign-ips');
  });
  test('prefix delegation adds WARM_PREFIX_TARGET − free prefixes, at least 1', () => {
    const s = snapshotOf([{ prefixes: 1, used: 16 }], true);
    const c = poolConfig({ prefixDelegation: true, warmPrefixTarget: 2 });
    assert.deepEqual(decidePool(s, c, poolLimits({ maxIpsPerEni: 48, maxPrefixesPerEni: 3, ipv4Limit: 4 }), initialTimestamps, now),
      [{ kind: 'assign-prefixes', eniId: 'eni-0', count: 2 }]);
  });
  test('the pool never grows past max pods', () => {
    const s = snapshotOf([{ ips: 11, used: 11 }]);
    assert.equal(decidePool(s, poolConfig(), poolLimits({ maxPods: 11 }), initialTimestamps, now)[0]?.kind, 'none');
  });
});

describe('decidePool: decrease (spec §4.9)', () => {
  const now = 1_000_000;
  test('WARM_IP_TARGET releases the excess free /32s, newest ENI first', () => {
    const s = snapshotOf([{ ips: 3, used: 1 }, { ips: 2 }]);
    assert.deepEqual(decidePool(s, poolConfig({ warmIpTarget: 1 }), poolLimits(), initialTimestamps, now), [
      { kind: 'unassign', eniId: 'eni-1', cidrs: ['10.0.1.5/32', '10.0.1.4/32'] },
      { kind: 'unassign', eniId: 'eni-0', cidrs: ['10.0.0.3/32'] },
    ]);
  });
  test('decreases are at least 30 s apart', () => {
    const s = snapshotOf([{ ips: 3 }]);
    const t = { ...initialTimestamps, lastDecreaseAt: now - 10_000 };
    const [a] = decidePool(s, poolConfig({ warmIpTarget: 1 }), poolLimits(), t, now);
    assert.equal(a?.kind, 'none');
    assert.equal(a?.kind === 'none' ? a.retryAt : 0, now + 20_001);
  });
  test('WARM_ENI_TARGET mode never releases single addresses', () => {
    const s = snapshotOf([{ ips: 14 }, { ips: 14 }]);
    assert.equal(decidePool(s, poolConfig(), poolLimits(), initialTimestamps, now)[0]?.kind, 'none');
  });
  test('prefix delegation releases free prefixes beyond WARM_PREFIX_TARGET', () => {
    const s = snapshotOf([{ prefixes: 3, used: 5 }], true);
    assert.deepEqual(decidePool(s, poolConfig({ prefixDelegation: true, warmPrefixTarget: 1 }), poolLimits({ maxPrefixesPerEni: 3 }), initialTimestamps, now),
      [{ kind: 'unassign', eniId: 'eni-0', cidrs: ['10.1.0.32/28'] }]);
  });
});

describe('decideFreeEni (spec §4.10)', () => {
  const now = 10_000_000;
  const l = poolLimits({ maxIpsPerEni: 3 });
  test('WARM_ENI mode frees an idle ENI once (WARM_ENI_TARGET + 1) ENIs worth of addresses are free', () => {
    const s = snapshotOf([{ ips: 3 }, { ips: 3 }, { ips: 3 }]);
    assert.deepEqual(decideFreeEni(ipStats(s), s, poolConfig(), l, now), { kind: 'free-eni', eniId: 'eni-1' });
  });
  test('an ENI younger than 1 minute is kept, with the time it becomes deletable', () => {
    const s = snapshotOf([{ ips: 3 }, { ips: 3, createdAt: now - 20_000 }, { ips: 3, createdAt: now - 10_000 }]);
    assert.deepEqual(decideFreeEni(ipStats(s), s, poolConfig(), l, now), { kind: 'none', reason: 'an idle ENI is too young or has addresses cooling down', retryAt: now + 40_000 });
  });
  test('an ENI with an address in cooldown is kept until the cooldown ends', () => {
    const s = snapshotOf([{ ips: 3 }, { ips: 3, coolingUntil: now + 5_000 }, { ips: 3, used: 1 }]);
    const a = decideFreeEni(ipStats(s), s, poolConfig(), l, now);
    assert.equal(a.kind === 'none' ? a.retryAt : 0, now + 5_000);
  });
  test('an ENI needed for MINIMUM_IP_TARGET is never freed', () => {
    const s = snapshotOf([{ ips: 3 }, { ips: 2 }]);
    assert.equal(decideFreeEni(ipStats(s), s, poolConfig({ warmIpTarget: 2, minimumIpTarget: 5 }), l, now).kind, 'none');
  });
  test('the primary ENI and ENIs with pods are never freed', () => {
    const s = snapshotOf([{ ips: 3 }, { ips: 3, used: 1 }]);
    assert.equal(decideFreeEni(ipStats(s), s, poolConfig({ warmIpTarget: 1 }), l, now).kind, 'none');
  });
});

describe('whyNoAddress names the cause (issue: every failure names its cause)', () => {
  const now = 5_000_000;
  const base = { config: poolConfig(), limits: poolLimits({ maxIpsPerEni: 3, maxEni: 3, maxPods: 11 }), timestamps: initialTimestamps, ready: true, nowMs: now };
  const full = snapshotOf([{ ips: 3, used: 3 }, { ips: 3, used: 3 }, { ips: 3, used: 3 }]);
  test('not ready → IPAMD_NOT_READY', () => {
    assert.equal(whyNoAddress({ ...base, snapshot: snapshotOf([]), ready: false }).code, 'IPAMD_NOT_READY');
  });
  test('every ENI full at the ENI limit → ENI_LIMIT with the numbers', () => {
    const e = whyNoAddress({ ...base, snapshot: full });
    assert.equal(e.code, 'ENI_LIMIT');
    assert.equal(e.message, 'all 9 pod addresses are in use; 3 ENIs attached, limit 3, each holds 3 addresses');
  });
  test('an exhausted subnet → SUBNET_EXHAUSTED naming the subnet, its CIDR and the ENI count', () => {
    const e = whyNoAddress({ ...base, snapshot: full, lastEc2Failure: { code: 'InsufficientFreeAddressesInSubnet', atMs: now - 1000, subnetId: 'subnet-0a1', subnetCidr: '10.0.1.0/24', freeAddresses: 0 } });
    assert.equal(e.code, 'SUBNET_EXHAUSTED');
    assert.equal(e.message, 'subnet subnet-0a1 (10.0.1.0/24) has 0 free addresses; 3 ENIs attached, limit 3');
  });
  test('a fragmented subnet in prefix mode → NO_FREE_PREFIX', () => {
    const e = whyNoAddress({ ...base, snapshot: snapshotOf([{ prefixes: 1, used: 16 }], true), config: poolConfig({ prefixDelegation: true }),
      limits: poolLimits({ maxPrefixesPerEni: 3, maxEni: 3, maxPods: 110 }), lastEc2Failure: { code: 'InsufficientCidrBlocks', atMs: now, subnetId: 'subnet-0a1', subnetCidr: '10.0.1.0/24', freeAddresses: 40 } });
    assert.equal(e.code, 'NO_FREE_PREFIX');
    assert.match(e.message, /no free aligned \/28 block \(40 free addresses, fragmented\)/);
  });
  test('max pods reached → MAX_PODS', () => {
    const e = whyNoAddress({ ...base, snapshot: snapshotOf([{ ips: 11, used: 11 }]) });
    assert.equal(e.code, 'MAX_PODS');
  });
  test('a recent RequestLimitExceeded → EC2_THROTTLED', () => {
    const e = whyNoAddress({ ...base, snapshot: snapshotOf([{ ips: 3, used: 3 }]), lastEc2Failure: { code: 'RequestLimitExceeded', atMs: now - 1000 } });
    assert.equal(e.code, 'EC2_THROTTLED');
  });
  test('only cooling-down addresses left → COOLDOWN_ONLY with the wait', () => {
    const e = whyNoAddress({ ...base, snapshot: snapshotOf([{ ips: 3, used: 2, coolingUntil: now + 12_000 }]) });
    assert.equal(e.code, 'COOLDOWN_ONLY');
    assert.match(e.message, /reusable in 12 s/);
  });
  test('an empty pool still growing → NO_FREE_ADDRESS with a retry hint', () => {
    const e = whyNoAddress({ ...base, snapshot: snapshotOf([{ ips: 3, used: 3 }]) });
    assert.equal(e.code, 'NO_FREE_ADDRESS');
  });
});

test('SecurityGroupsForPods is advertised with a trunk, or while an ENI slot is free for one on a type that can trunk (spec §5.2)', () => {
  assert.equal(hasTrunkRoom(poolLimits(), { enis: 3, hasTrunk: false }), true);
  assert.equal(hasTrunkRoom(poolLimits(), { enis: 4, hasTrunk: false }), false);
  assert.equal(hasTrunkRoom(poolLimits({ unmanagedEnis: 1 }), { enis: 3, hasTrunk: false }), false, 'unmanaged ENIs take slots');
  assert.equal(hasTrunkRoom(poolLimits(), { enis: 4, hasTrunk: true }), true, 'a trunk already attached');
  assert.equal(hasTrunkRoom(poolLimits({ trunkingCompatible: false }), { enis: 1, hasTrunk: false }), false);
});
