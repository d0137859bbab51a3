import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type PodAttachment, formatResult, parsePrevResult, recordedAttachment, supportedVersions } from '../../../src/cni/index.js';

const pod: PodAttachment = {
  hostVethName: 'enic440f455693',
  ifName: 'eth0',
  netns: '/var/run/netns/cni-1',
  address: '10.0.97.30/32',
  routeTable: 254,
  deviceNumber: 0,
  vlanId: 0,
  dummyName: 'dummyc440f455693',
};

test('0.4.0 result is upstream\'s shape: host veth, eth0 with mac = route table, dummy record, ips with version "4"', () => {
  assert.deepEqual(formatResult(pod, '0.4.0'), {
    cniVersion: '0.4.0',
    interfaces: [
      { name: 'enic440f455693' },
      { name: 'eth0', mac: '254', sandbox: '/var/run/netns/cni-1' },
      { name: 'dummyc440f455693', mac: '0', sandbox: '0' },
    ],
    ips: [{ version: '4', interface: 1, address: '10.0.97.30/32' }],
    dns: {},
  });
});

test('0.3.1 has the same shape as 0.4.0 with its own cniVersion', () => {
  const r = formatResult(pod, '0.3.1');
  assert.equal(r.cniVersion, '0.3.1');
  assert.deepEqual(r.ips, [{ version: '4', interface: 1, address: '10.0.97.30/32' }]);
});

test('1.0.0 and 1.1.0 drop ips[].version', () => {
  for (const v of ['1.0.0', '1.1.0'] as const) {
    const r = formatResult(pod, v);
    assert.equal(r.cniVersion, v);
    assert.deepEqual(r.ips, [{ interface: 1, address: '10.0.97.30/32' }]);
    assert.equal((r.interfaces as unknown[]).length, 3);
  }
});

test('an IPv6 pod address gets version "6" in the legacy shapes', () => {
  const r = formatResult({ ...pod, address: '2001:db8::5/128' }, '0.4.0');
  assert.deepEqual(r.ips, [{ version: '6', interface: 1, address: '2001:db8::5/128' }]);
});

test('every supported version round-trips: the recorded attachment is what was wired', () => {
  const secondary = { ...pod, routeTable: 3, deviceNumber: 2 };
  for (const v of supportedVersions) {
    const prev = parsePrevResult(JSON.parse(JSON.stringify(formatResult(secondary, v))));
    assert.ok(typeof prev !== 'string');
    assert.deepEqual(recordedAttachment(prev, 'eth0'), { hostVethName: 'enic440f455693', address: '10.0.97.30/32', routeTable: 3, deviceNumber: 2, vlanId: 0 });
  }
});

test('without the container mac the route table comes from the dummy device number; table 1 means main', () => {
  const prev = { interfaces: [{ name: 'eni1' }, { name: 'eth0', sandbox: '/x' }, { name: 'dummy1', mac: '0', sandbox: '2' }], ips: [{ address: '10.0.1.5/32', interface: 1 }] };
  assert.equal(recordedAttachment(prev, 'eth0').routeTable, 3);
  const primary = { ...prev, interfaces: [prev.interfaces[0]!, prev.interfaces[1]!, { name: 'dummy1', mac: '0', sandbox: '0' }] };
  assert.equal(recordedAttachment(primary, 'eth0').routeTable, 254);
});

test('a foreign prevResult (bridge plugin) yields only what it says', () => {
  const prev = parsePrevResult({ interfaces: [{ name: 'cni0', mac: '00:11:22:33:44:55' }, { name: 'eth0', mac: '99:88:77:66:55:44', sandbox: '/var/run/netns/blue' }], ips: [{ version: '4', address: '10.1.0.5/16', interface: 1 }] });
  assert.ok(typeof prev !== 'string');
  assert.deepEqual(recordedAttachment(prev, 'eth0'), { hostVethName: 'cni0', address: '10.1.0.5/16' });
});
