import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { Datastore, MIGRATED_IF_NAME, MIGRATED_NETWORK_NAME, type EniInfo, type IpamKey } from '../../../src/ipam/index.js';
import { freeableCidrs } from '../../../src/ipam/datastore.js';

function eni(id: string, deviceNumber: number, over: Partial<EniInfo> = {}): EniInfo {
  return {
    id, deviceNumber, networkCard: 0, primary: deviceNumber === 0, trunk: false, efa: false, excluded: false,
    subnetId: 'subnet-1', subnetCidr: '10.0.0.0/16', primaryIp: `10.0.0.${10 + deviceNumber}`, createdAt: 0, ...over,
  };
}
const key = (containerId: string): IpamKey => ({ networkName: 'aws-cni', containerId, ifName: 'eth0' });

function secondaryIpStore(cooldownMs = 30_000): Datastore {
  const ds = new Datastore({ prefixDelegation: false, ipCooldownMs: cooldownMs });
  ds.addEni(eni('eni-a', 0));
  ds.addEni(eni('eni-b', 1));
  for (const ip of ['10.0.1.9', '10.0.1.3']) ds.addCidr('eni-a', ip);
  ds.addCidr('eni-b', '10.0.2.5/32');
  return ds;
}

describe('Datastore assignment', () => {
  test('pods take addresses in ENI creation order, then in the order the addresses were attached', () => {
    const ds = secondaryIpStore();
    assert.deepEqual(['p1', 'p2', 'p3'].map((p) => ds.assign(key(p), {}, 0)?.address), ['10.0.1.9', '10.0.1.3', '10.0.2.5']);
    assert.equal(ds.assign(key('p4'), {}, 0), undefined);
  });

  test('assigning the same key twice returns the same address', () => {
    const ds = secondaryIpStore();
    const first = ds.assign(key('p1'), { k8sPodName: 'web' }, 0);
    assert.deepEqual(ds.assign(key('p1'), {}, 5), first);
    assert.equal(ds.stats(5).assignedIps, 1);
  });

  test('a released address cools down for IP_COOLDOWN_PERIOD yet counts as available', () => {
    const ds = secondaryIpStore(30_000);
    for (const p of ['p1', 'p2', 'p3']) ds.assign(key(p), {}, 0);
    assert.equal(ds.unassign(key('p2'), 1_000)?.address, '10.0.1.3');
    assert.deepEqual(ds.stats(2_000), { totalIps: 3, assignedIps: 2, cooldownIps: 1, totalPrefixes: 0, freePrefixes: 0 });
    assert.equal(ds.assign(key('p4'), {}, 30_999), undefined);
    assert.equal(ds.assign(key('p4'), {}, 31_000)?.address, '10.0.1.3');
  });

  test('unassign falls back to the CRI-migration key and returns undefined for unknown pods', () => {
    const ds = secondaryIpStore();
    ds.assign({ networkName: MIGRATED_NETWORK_NAME, containerId: 'c1', ifName: MIGRATED_IF_NAME }, {}, 0);
    assert.equal(ds.unassign(key('c1'), 1)?.address, '10.0.1.9');
    assert.equal(ds.unassign(key('nope'), 1), undefined);
  });

  test('prefix mode hands out addresses of /28s from the network address up and ignores leftover /32s', () => {
    const ds = new Datastore({ prefixDelegation: true, ipCooldownMs: 0 });
    ds.addEni(eni('eni-a', 0));
    ds.addCidr('eni-a', '10.0.1.7');
    ds.addCidr('eni-a', '10.0.16.0/28');
    assert.equal(ds.assign(key('p1'), {}, 0)?.address, '10.0.16.0');
    assert.equal(ds.assign(key('p2'), {}, 0)?.address, '10.0.16.1');
    assert.deepEqual(ds.stats(0), { totalIps: 16, assignedIps: 2, cooldownIps: 0, totalPrefixes: 1, freePrefixes: 0 });
  });

  test('excluded ENIs are neither counted nor assigned from', () => {
    const ds = secondaryIpStore();
    ds.updateEni('eni-a', { excluded: true });
    assert.equal(ds.stats(0).totalIps, 1);
    assert.equal(ds.assign(key('p1'), {}, 0)?.eniId, 'eni-b');
  });

  test('IPv6 addresses come from the ENI\'s IPv6 prefix', () => {
    const ds = new Datastore({ prefixDelegation: true, ipCooldownMs: 0 });
    ds.addEni(eni('eni-a', 0));
    ds.addCidr('eni-a', '2001:db8:1:2:3::/80');
    assert.equal(ds.assign(key('p1'), {}, 0, 6)?.address, '2001:db8:1:2:3::');
    assert.equal(ds.assign(key('p2'), {}, 0, 6)?.address, '2001:db8:1:2:3::1');
  });
});

describe('Datastore CIDRs and ENIs', () => {
  test('a CIDR holding a pod is not removed unless forced, and forcing returns the pod', () => {
    const ds = secondaryIpStore();
    ds.assign(key('p1'), {}, 0);
    assert.throws(() => ds.removeCidr('eni-a', '10.0.1.9'), { code: 'ADDRESS_IN_USE' });
    assert.deepEqual(ds.removeCidr('eni-a', '10.0.1.9', { force: true }).map((a) => a.key.containerId), ['p1']);
    assert.equal(ds.findAssignment(key('p1')), undefined);
  });

  test('freeableCidrs (FindFreeableCidrs, what the pool frees) lists pod-less CIDRs of the active mode, cooling ones included', () => {
    const ds = secondaryIpStore();
    ds.assign(key('p1'), {}, 0);
    ds.assign(key('p2'), {}, 0);
    ds.unassign(key('p2'), 1);
    assert.deepEqual(freeableCidrs(ds.snapshot(2).enis.find((e) => e.id === 'eni-a')!, false), ['10.0.1.3/32']);
  });

  test('an ENI with pods is not removed unless forced', () => {
    const ds = secondaryIpStore();
    ds.assign(key('p1'), {}, 0);
    assert.throws(() => ds.removeEni('eni-a'), { code: 'ADDRESS_IN_USE' });
    assert.equal(ds.removeEni('eni-a', { force: true }).length, 1);
    assert.deepEqual(ds.eniInfos().map((e) => e.id), ['eni-b']);
  });

  test('restoreAssignment matches an address to the CIDR containing it, keeping its timestamp', () => {
    const ds = new Datastore({ prefixDelegation: true, ipCooldownMs: 0 });
    ds.addEni(eni('eni-a', 0));
    ds.addCidr('eni-a', '10.0.16.0/28');
    assert.equal(ds.restoreAssignment({ key: key('p1'), metadata: {}, address: '10.0.16.5', assignedAtNs: 1755720000123456789n }), true);
    assert.equal(ds.restoreAssignment({ key: key('p2'), metadata: {}, address: '10.9.9.9', assignedAtNs: 1n }), false);
    assert.equal(ds.findAssignment(key('p1'))?.assignedAtNs, 1755720000123456789n);
    assert.equal(ds.assign(key('p3'), {}, 0)?.address, '10.0.16.0');
  });
});

describe('Datastore address records (issue 11 item 7)', () => {
  test('issue 11 item 7: a released address stays recorded with its assigned time and its unassigned time, without key or metadata', () => {
    const ds = secondaryIpStore(30_000);
    ds.assign(key('p1'), { k8sPodNamespace: 'default', k8sPodName: 'web', interfacesCount: 1 }, 1_000);
    ds.assign(key('p2'), { k8sPodName: 'db' }, 2_000);
    ds.unassign(key('p1'), 5_000);
    assert.deepEqual(ds.addressRecords(), [
      { eniId: 'eni-a', cidr: '10.0.1.9/32', address: '10.0.1.9', metadata: {}, assignedAtNs: 1_000_000_000n, unassignedAt: 5_000 },
      { eniId: 'eni-a', cidr: '10.0.1.3/32', address: '10.0.1.3', key: key('p2'), metadata: { k8sPodName: 'db' }, assignedAtNs: 2_000_000_000n },
    ]);
    assert.deepEqual(ds.assignments().map((a) => a.address), ['10.0.1.3'], 'the checkpoint still records only held addresses');
  });

  test('issue 11 item 7: a released /28 address is forgotten once cooled, when its prefix next hands out an address (upstream getUnusedIP)', () => {
    const ds = new Datastore({ prefixDelegation: true, ipCooldownMs: 30_000 });
    ds.addEni(eni('eni-a', 0));
    ds.addCidr('eni-a', '10.0.1.16/28');
    for (const p of ['p1', 'p2', 'p3']) ds.assign(key(p), {}, 0);
    ds.unassign(key('p1'), 1_000); // 10.0.1.16
    ds.unassign(key('p2'), 20_000); // 10.0.1.17
    const listed = () => ds.addressRecords().map((r) => `${r.address}${r.unassignedAt === undefined ? '' : ` released ${r.unassignedAt}`}`).sort();
    assert.deepEqual(listed(), ['10.0.1.16 released 1000', '10.0.1.17 released 20000', '10.0.1.18']);
    // at 40 s .16 is out of cooldown and is reused (a fresh entry); .17 is still cooling and stays listed
    assert.equal(ds.assign(key('p4'), {}, 40_000)?.address, '10.0.1.16');
    assert.deepEqual(listed(), ['10.0.1.16', '10.0.1.17 released 20000', '10.0.1.18']);
    ds.unassign(key('p4'), 41_000);
    // at 80 s both released addresses are cooled: the prefix hands out .16 and drops .17's record
    assert.equal(ds.assign(key('p5'), {}, 80_000)?.address, '10.0.1.16');
    assert.deepEqual(listed(), ['10.0.1.16', '10.0.1.18']);
  });
});
