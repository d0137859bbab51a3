import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { CloudEni } from '../../../src/ipam/index.js';
import { diffReconcile, enisToDescribe, type ImdsEni, type ReconcileInput } from '../../../src/ipamd/index.js';

// nodeIPPoolReconcile (spec §4.13) as a pure diff: IMDS's and EC2's views against the datastore → actions.

const INSTANCE = 'i-0node';
const PRIMARY_MAC = '02:00:00:00:00:01';

function imdsEni(n: number, o: Partial<ImdsEni> = {}): ImdsEni {
  return {
    mac: `02:00:00:00:00:0${n}`, eniId: `eni-${n}`, deviceNumber: n - 1, networkCard: 0, subnetId: 'subnet-a', subnetCidr: '10.0.1.0/24',
    vpcId: 'vpc-1', securityGroupIds: ['sg-1'], localIpv4s: [`10.0.1.${n * 10}`], ipv4Prefixes: [], ipv6s: [], vpcIpv4Cidrs: ['10.0.0.0/16'], ...o,
  };
}

function cloudEni(id: string, o: Partial<CloudEni> = {}): CloudEni {
  return {
    id, subnetId: 'subnet-a', vpcId: 'vpc-1', availabilityZone: 'us-west-2a', description: '', status: 'in-use', interfaceType: 'interface',
    macAddress: '', primaryIpv4: '', secondaryIpv4s: [], ipv4Prefixes: [], ipv6Addresses: [], ipv6Prefixes: [], securityGroupIds: [], tags: {}, ...o,
  };
}

/** The datastore as a list of ENIs and their CIDRs. */
function known(enis: Record<string, string[]>): ReconcileInput['datastore'] {
  return { enis: Object.entries(enis).map(([id, cidrs]) => ({ id, cidrs: cidrs.map((cidr) => ({ cidr })) })) };
}

function input(o: Partial<ReconcileInput> & Pick<ReconcileInput, 'attached' | 'datastore'>): ReconcileInput {
  return {
    described: new Map(),
    node: { primaryMac: PRIMARY_MAC, instanceId: INSTANCE, vpcCidrs: ['10.0.0.0/16'], securityGroupIds: ['sg-1'] },
    settings: { customNetworking: false, manageUntaggedEni: true, imdsOnly: false, releasedCidrCooldownMs: 60_000, refreshSecurityGroups: true },
    released: new Map(),
    now: 1_000_000,
    ...o,
  };
}

const described = (...enis: CloudEni[]) => new Map(enis.map((e) => [e.id, e]));
const primary = imdsEni(1, { localIpv4s: ['10.0.1.10', '10.0.1.11', '10.0.1.12'] });

describe('reconcile diff: ENIs', () => {
  test('nothing changed → no actions, and EC2 is not asked', () => {
    const i = input({ attached: [primary], datastore: known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'] }) });
    assert.deepEqual(enisToDescribe(i), []);
    assert.deepEqual(diffReconcile(i), []);
  });

  test('a new ENI attached outside the pool loop is described by EC2 and adopted', () => {
    const eni2 = imdsEni(2, { localIpv4s: ['10.0.1.20', '10.0.1.21'] });
    const i = input({ attached: [primary, eni2], datastore: known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'] }) });
    assert.deepEqual(enisToDescribe(i), ['eni-2']);
    const ec2 = cloudEni('eni-2', { tags: { 'node.k8s.amazonaws.com/instance_id': INSTANCE } });
    assert.deepEqual(diffReconcile({ ...i, described: described(ec2) }), [{ kind: 'adopt-eni', eni: eni2, described: ec2 }]);
  });

  test('an ENI no longer attached is removed (with whatever pods it had)', () => {
    const i = input({ attached: [primary], datastore: known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'], 'eni-2': ['10.0.1.21/32'] }) });
    assert.deepEqual(enisToDescribe(i), []);
    assert.deepEqual(diffReconcile(i), [{ kind: 'remove-eni', eniId: 'eni-2' }]);
  });

  test('the primary ENI\'s VPC CIDRs changed → the host rules are set up again, first', () => {
    const grown = { ...primary, vpcIpv4Cidrs: ['10.0.0.0/16', '100.64.0.0/16'] };
    const i = input({ attached: [grown], datastore: known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'], 'eni-2': [] }) });
    assert.deepEqual(diffReconcile(i), [
      { kind: 'set-vpc-cidrs', from: ['10.0.0.0/16'], to: ['10.0.0.0/16', '100.64.0.0/16'] },
      { kind: 'remove-eni', eniId: 'eni-2' },
    ]);
  });
});

describe('reconcile diff: unmanaged ENIs are left alone (setUnmanagedENIs, §7.6)', () => {
  const eni2 = imdsEni(2, { localIpv4s: ['10.0.1.20'] });
  const base = input({ attached: [primary, eni2], datastore: known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'] }) });

  test('no_manage=true', () => {
    assert.deepEqual(diffReconcile({ ...base, described: described(cloudEni('eni-2', { tags: { 'node.k8s.amazonaws.com/no_manage': 'true', 'node.k8s.amazonaws.com/instance_id': INSTANCE } })) }), []);
  });

  test('no_manage=false hands the ENI over even with MANAGE_UNTAGGED_ENI=false', () => {
    const ec2 = cloudEni('eni-2', { tags: { 'node.k8s.amazonaws.com/no_manage': 'false' } });
    const i = { ...base, described: described(ec2), settings: { ...base.settings, manageUntaggedEni: false } };
    assert.deepEqual(diffReconcile(i), [{ kind: 'adopt-eni', eni: eni2, described: ec2 }]);
  });

  test('another instance\'s tag, with MANAGE_UNTAGGED_ENI=false', () => {
    const i = { ...base, settings: { ...base.settings, manageUntaggedEni: false } };
    assert.deepEqual(diffReconcile({ ...i, described: described(cloudEni('eni-2', { tags: { 'node.k8s.amazonaws.com/instance_id': 'i-0other' } })) }), []);
    assert.deepEqual(diffReconcile({ ...i, described: described(cloudEni('eni-2')) }), [], 'untagged too');
  });

  test('an EFA-only ENI (no IP addresses) is never managed', () => {
    const efaOnly = imdsEni(2, { localIpv4s: [] });
    const i = input({ attached: [primary, efaOnly], datastore: known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'] }) });
    assert.deepEqual(diffReconcile({ ...i, described: described(cloudEni('eni-2', { interfaceType: 'efa' })) }), []);
  });

  test('a trunk ENI is adopted with EC2\'s view, which marks it trunk (adoption neither tags it nor gives its addresses to pods)', () => {
    const ec2 = cloudEni('eni-2', { interfaceType: 'trunk', tags: { 'node.k8s.amazonaws.com/instance_id': INSTANCE } });
    const actions = diffReconcile({ ...base, described: described(ec2) });
    assert.deepEqual(actions, [{ kind: 'adopt-eni', eni: eni2, described: ec2 }]);
  });
});

describe('reconcile diff: addresses and prefixes changed out of band', () => {
  test('an address added outside ipamd: IMDS differs, EC2 confirms, the address is added', () => {
    const now = { ...primary, localIpv4s: [...primary.localIpv4s, '10.0.1.13'] };
    const i = input({ attached: [now], datastore: known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'] }) });
    assert.deepEqual(enisToDescribe(i), ['eni-1']);
    const ec2 = cloudEni('eni-1', { secondaryIpv4s: ['10.0.1.11', '10.0.1.12', '10.0.1.13'] });
    assert.deepEqual(diffReconcile({ ...i, described: described(ec2) }), [{ kind: 'add-cidr', eniId: 'eni-1', cidr: '10.0.1.13/32' }]);
  });

  test('an address removed outside ipamd is removed (its pod loses it and is unwired when performed)', () => {
    const now = { ...primary, localIpv4s: ['10.0.1.10', '10.0.1.11'] };
    const i = input({ attached: [now], datastore: known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'] }) });
    const ec2 = cloudEni('eni-1', { secondaryIpv4s: ['10.0.1.11'] });
    assert.deepEqual(diffReconcile({ ...i, described: described(ec2) }), [{ kind: 'remove-cidr', eniId: 'eni-1', cidr: '10.0.1.12/32' }]);
  });

  test('EC2 is the truth when it disagrees with IMDS (IMDS lags)', () => {
    const lagging = { ...primary, localIpv4s: ['10.0.1.10', '10.0.1.11'] };
    const i = input({ attached: [lagging], datastore: known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'] }) });
    const ec2 = cloudEni('eni-1', { secondaryIpv4s: ['10.0.1.11', '10.0.1.12'] });
    assert.deepEqual(diffReconcile({ ...i, described: described(ec2) }), []);
  });

  test('a mismatch EC2 cannot describe (the ENI went meanwhile): IMDS is the truth', () => {
    const now = { ...primary, localIpv4s: ['10.0.1.10', '10.0.1.11', '10.0.1.13'] };
    const i = input({ attached: [now], datastore: known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'] }) });
    assert.deepEqual(diffReconcile(i), [
      { kind: 'add-cidr', eniId: 'eni-1', cidr: '10.0.1.13/32' },
      { kind: 'remove-cidr', eniId: 'eni-1', cidr: '10.0.1.12/32' },
    ]);
  });

  test('a prefix added and one removed (prefix delegation)', () => {
    const eni = imdsEni(1, { ipv4Prefixes: ['10.0.1.32/28', '10.0.1.64/28'] });
    const i = input({ attached: [eni], datastore: known({ 'eni-1': ['10.0.1.16/28', '10.0.1.32/28'] }) });
    const ec2 = cloudEni('eni-1', { ipv4Prefixes: ['10.0.1.32/28', '10.0.1.64/28'] });
    assert.deepEqual(diffReconcile({ ...i, described: described(ec2) }), [
      { kind: 'add-cidr', eniId: 'eni-1', cidr: '10.0.1.64/28' },
      { kind: 'remove-cidr', eniId: 'eni-1', cidr: '10.0.1.16/28' },
    ]);
  });

  test('with custom networking the primary ENI\'s prefixes are not read', () => {
    const eni = imdsEni(1, { localIpv4s: ['10.0.1.10', '10.0.1.11'], ipv4Prefixes: ['10.0.1.32/28'] });
    const i = input({ attached: [eni], datastore: known({ 'eni-1': ['10.0.1.11/32'] }) });
    const custom = { ...i, settings: { ...i.settings, customNetworking: true } };
    assert.deepEqual(enisToDescribe(custom), []);
    assert.deepEqual(diffReconcile(custom), []);
    assert.deepEqual(enisToDescribe(i), ['eni-1'], 'without it the prefix is a mismatch');
  });

  test('cooldown: a CIDR this ipamd released recently is not taken back while IMDS still lists it (§4.12)', () => {
    const stale = { ...primary, localIpv4s: ['10.0.1.10', '10.0.1.11', '10.0.1.12'] };
    const i = input({ attached: [stale], datastore: known({ 'eni-1': ['10.0.1.11/32'] }), released: new Map([['10.0.1.12/32', 1_000_000 - 30_000]]) });
    assert.deepEqual(diffReconcile(i), [], 'released 30 s ago, cooldown 60 s');
    assert.deepEqual(diffReconcile({ ...i, now: 1_000_000 + 31_000 }), [{ kind: 'add-cidr', eniId: 'eni-1', cidr: '10.0.1.12/32' }], 'after the cooldown it is adopted');
  });
});

describe('reconcile diff: IMDS-only mode (ENABLE_IMDS_ONLY_MODE)', () => {
  const settings = { customNetworking: false, manageUntaggedEni: true, imdsOnly: true, releasedCidrCooldownMs: 60_000, refreshSecurityGroups: false };

  test('EC2 is never asked; IMDS is the truth about addresses', () => {
    const now = { ...primary, localIpv4s: ['10.0.1.10', '10.0.1.11', '10.0.1.13'] };
    const eni2 = imdsEni(2);
    const i = input({ attached: [now, eni2], datastore: known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'] }), settings });
    assert.deepEqual(enisToDescribe(i), []);
    assert.deepEqual(diffReconcile(i), [
      { kind: 'add-cidr', eniId: 'eni-1', cidr: '10.0.1.13/32' },
      { kind: 'remove-cidr', eniId: 'eni-1', cidr: '10.0.1.12/32' },
      { kind: 'adopt-eni', eni: eni2, described: undefined },
    ]);
  });

  test('without EC2\'s tags a new ENI is managed only with MANAGE_UNTAGGED_ENI', () => {
    const i = input({ attached: [primary, imdsEni(2)], datastore: known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'] }), settings: { ...settings, manageUntaggedEni: false } });
    assert.deepEqual(diffReconcile(i), []);
  });
});

describe('reconcile diff: security groups (RefreshSGIDs)', () => {
  const eni2 = imdsEni(2, { localIpv4s: ['10.0.1.20', '10.0.1.21'] });
  const eni3 = imdsEni(3, { localIpv4s: ['10.0.1.30', '10.0.1.31'] });
  const datastore = known({ 'eni-1': ['10.0.1.11/32', '10.0.1.12/32'], 'eni-2': ['10.0.1.21/32'], 'eni-3': ['10.0.1.31/32'] });
  const regrouped = { ...primary, securityGroupIds: ['sg-9', 'sg-1'] };

  test('the primary ENI\'s new groups go, sorted, to every other ENI ipamd manages, after the address actions', () => {
    const unmanaged = imdsEni(4, { localIpv4s: ['10.0.1.40'] });
    const i = input({ attached: [regrouped, eni2, eni3, unmanaged], datastore, settings: { ...input({ attached: [], datastore }).settings, manageUntaggedEni: false } });
    assert.deepEqual(diffReconcile(i), [{ kind: 'set-security-groups', from: ['sg-1'], to: ['sg-1', 'sg-9'], eniIds: ['eni-2', 'eni-3'] }]);
  });

  test('the same groups in another order, custom networking (refresh off) or IMDS without groups: no action', () => {
    const reordered = input({ attached: [regrouped, eni2, eni3], datastore, node: { primaryMac: PRIMARY_MAC, instanceId: INSTANCE, vpcCidrs: ['10.0.0.0/16'], securityGroupIds: ['sg-1', 'sg-9'] } });
    assert.deepEqual(diffReconcile(reordered), []);
    const custom = input({ attached: [regrouped, eni2], datastore, settings: { customNetworking: true, manageUntaggedEni: true, imdsOnly: false, releasedCidrCooldownMs: 60_000, refreshSecurityGroups: false } });
    assert.deepEqual(diffReconcile(custom).filter((a) => a.kind === 'set-security-groups'), []);
    assert.deepEqual(diffReconcile(input({ attached: [{ ...primary, securityGroupIds: [] }, eni2], datastore })).filter((a) => a.kind === 'set-security-groups'), []);
  });
});
