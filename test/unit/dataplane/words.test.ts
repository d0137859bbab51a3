import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PodnetError } from '../../../src/lib/index.js';
import { MAIN_TABLE, podCreateLines, renderPodNetwork } from '../../../src/dataplane/index.js';
import { addressWord, ifNameWord, ipLine, netnsWord, prefixWord } from '../../../src/dataplane/words.js';

// Issue 10, class 2: every value in an ip batch line is checked against the grammar of what it stands for, where the
// line is built; a line never holds a line break or a value that was not checked.
const invalid = (err: unknown) => err instanceof PodnetError && err.code === 'INVALID_INPUT';

test('interface names follow [A-Za-z0-9_.-]{1,15}: newlines, spaces, slashes, 16 characters and . or .. are refused', () => {
  for (const good of ['eth0', 'eni1a2b3c4d5e6', 'net1.100', 'a_b-c']) assert.equal(ifNameWord(good).text, good);
  for (const bad of ['', 'eni0\nlink del eth0', 'eth 0', 'eth0/x', 'a'.repeat(16), '.', '..', 'eth0;ls', 'é']) assert.throws(() => ifNameWord(bad), invalid, JSON.stringify(bad));
});

test('addresses and prefixes are parsed and written canonically; anything else is refused', () => {
  assert.equal(addressWord('10.0.1.7').text, '10.0.1.7');
  assert.equal(addressWord('2001:DB8:0::7').text, '2001:db8::7');
  assert.equal(prefixWord('10.0.1.7').text, '10.0.1.7/32');
  assert.equal(prefixWord('10.0.0.0/16').text, '10.0.0.0/16');
  for (const bad of ['10.0.1.7\nlink del eth0', '10.0.1.7 dev eth0', '10.0.1.256', 'eth0', '']) assert.throws(() => addressWord(bad), invalid, JSON.stringify(bad));
  for (const bad of ['10.0.1.7/33', '10.0.1.7/32\n', '10.0.1.7/3 2', '::1/129']) assert.throws(() => prefixWord(bad), invalid, JSON.stringify(bad));
});

test('network namespaces are names or absolute paths that need no quoting and do not climb with ..', () => {
  for (const good of ['cni-1234', '/var/run/netns/cni-1234', '/proc/4242/ns/net']) assert.equal(netnsWord(good).text, good);
  for (const bad of ['', '..', '/run/netns/../../etc', '/run/netns/a b', 'a\nnetns exec x sh', '/run/netns/"x"']) assert.throws(() => netnsWord(bad), invalid, JSON.stringify(bad));
});

test('a batch line takes only checked words; a raw string is a bug, refused before anything is written', () => {
  assert.equal(ipLine`link del ${ifNameWord('eni0')}`, 'link del eni0');
  assert.throws(() => ipLine`link del ${'eni0\nlink del eth0' as never}`, (err: unknown) => err instanceof PodnetError && /unchecked value/.test(err.message));
});

test('a pod whose CNI_IFNAME or MAC is not in its grammar gets no batch at all', () => {
  const p = renderPodNetwork({ namespace: 'default', podName: 'nginx', vethPrefix: 'eni', podIp: '10.0.1.7', routeTable: MAIN_TABLE, mtu: 9001, hostVethMac: '02:11:22:33:44:55' });
  assert.throws(() => podCreateLines({ ...p, ifName: 'eth0\nlink del eth0' }, '/var/run/netns/cni-1'), invalid);
  assert.throws(() => podCreateLines({ ...p, hostVethMac: '02:11:22:33:44:55 netns 1' }, '/var/run/netns/cni-1'), invalid);
  assert.throws(() => podCreateLines(p, '/var/run/netns/cni-1\nlink del eth0'), invalid);
  assert.equal(podCreateLines(p, '/var/run/netns/cni-1').length, 5);
});
