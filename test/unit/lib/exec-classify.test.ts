import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ExecError, classifyNotFound, netnsArgv, netnsName, run } from '../../../src/lib/index.js';

// The texts below are what iproute2, util-linux nsenter, nftables and iptables print on this machine (each was read
// from the real command in a sandbox), plus the older iproute2 wording for an absent address.
const known: [string, readonly string[], string, ReturnType<typeof classifyNotFound>][] = [
  ['ip -n on a missing namespace', ['ip', '-n', 'pn-gone', '-j', '-batch', '-'], 'Cannot open network namespace "pn-gone": No such file or directory\n', 'netns'],
  ['ip netns exec on a missing namespace', ['ip', 'netns', 'exec', 'pn-gone', 'sysctl', '-q', '-w', 'a=1'], 'Cannot open network namespace "pn-gone": No such file or directory\n', 'netns'],
  ['ip netns exec of a file that is no namespace', ['ip', 'netns', 'exec', 'x', 'true'], 'setting the network namespace "x" failed: Invalid argument\n', 'netns'],
  ['a batch line naming a bad netns', ['ip', '-force', '-batch', '-'], 'Invalid "netns" value "x"\n', 'netns'],
  ['nsenter on a missing path', ['nsenter', '--net=/proc/999999/ns/net', 'iptables-save'], 'nsenter: cannot open /proc/999999/ns/net: No such file or directory\n', 'netns'],
  ['ip link show dev of a missing link', ['ip', 'link', 'show', 'dev', 'eni0'], 'Device "eni0" does not exist.\n', 'link'],
  ['ip -j -batch of a missing link', ['ip', '-4', '-j', '-batch', '-'], 'Device "eni0" does not exist.\nCommand failed -:1\n', 'link'],
  ['ip link del of a missing link', ['ip', 'link', 'del', 'eni0'], 'Cannot find device "eni0"\n', 'link'],
  ['a stale link index', ['ip', 'route', 'replace', '10.0.1.7/32', 'dev', 'eni0'], 'RTNETLINK answers: No such device\n', 'link'],
  ['ip addr del of an absent address', ['ip', 'addr', 'del', '10.0.1.7/32', 'dev', 'eth1'], 'RTNETLINK answers: Cannot assign requested address\n', 'address'],
  ['ip addr del of an absent address (iproute2 with extended acks)', ['ip', 'addr', 'del', '10.9.9.9/32', 'dev', 'lo'], 'Error: ipv4: Address not found.\n', 'address'],
  ['ip route show of a table nothing wrote yet', ['ip', '-j', 'route', 'show', 'table', '77'], 'Error: ipv4: FIB table does not exist.\n', 'table'],
  ['nft delete of a missing table', ['nft', 'delete', 'table', 'ip', 'aws-cni'], 'Error: Could not process rule: No such file or directory\n', 'table'],
  ['ip route del of an absent route', ['ip', '-n', 'node', 'route', 'del', '10.0.1.7/32', 'dev', 'eth1', 'table', 'main'], 'RTNETLINK answers: No such process\n', 'route'],
  ['ip rule del of an absent rule', ['ip', '-6', 'rule', 'del', 'to', '2001:db8::7/128', 'lookup', 'main', 'prio', '512'], 'RTNETLINK answers: No such file or directory\n', 'rule'],
  ['nft list of a missing table', ['nft', '-a', 'list', 'table', 'ip', 'aws-cni'], 'Error: No such file or directory\nlist table ip aws-cni\n              ^^^^^^^\n', 'table'],
  ['nft in a named namespace, missing chain', ['ip', 'netns', 'exec', 'node', 'nft', 'list', 'chain', 'ip', 'aws-cni', 'snat-mark'], 'Error: No such file or directory\n', 'chain'],
  ['iptables -D of a missing chain', ['iptables', '-t', 'nat', '-D', 'AWS-SNAT-CHAIN-0', '1'], 'iptables: No chain/target/match by that name.\n', 'chain'],
  ['iptables -D of a missing rule', ['iptables', '-t', 'nat', '-D', 'POSTROUTING', '-j', 'X'], 'iptables: Bad rule (does a matching rule exist in that chain?).\n', 'rule'],
  ['iptables on a kernel without the table', ['iptables', '-t', 'nat', '-S'], "iptables v1.8.7 (legacy): can't initialize iptables table `nat': Table does not exist (do you need to insmod?)\n", 'table'],
];

for (const [what, argv, stderr, kind] of known) {
  test(`classifyNotFound: ${what} → ${kind}`, () => {
    assert.equal(classifyNotFound(argv, stderr), kind);
  });
}

test('classifyNotFound: other failures are not "not found"', () => {
  assert.equal(classifyNotFound(['ip', 'link', 'add', 'eni0', 'type', 'veth'], 'RTNETLINK answers: File exists\n'), undefined);
  assert.equal(classifyNotFound(['ip', 'route', 'add', 'x'], 'Error: any valid prefix is expected rather than "x".\n'), undefined);
  assert.equal(classifyNotFound(['iptables-restore', '--noflush'], 'iptables-restore: line 3 failed\n'), undefined);
  assert.equal(classifyNotFound(['nft', '-f', '-'], 'Error: syntax error, unexpected newline\n'), undefined);
  assert.equal(classifyNotFound(['cat', '/nonexistent'], 'cat: /nonexistent: No such file or directory\n'), undefined);
});

test('an ExecError carries the kind its command found missing', async () => {
  const err = await run(['sh', '-c', 'echo "Cannot open network namespace \\"x\\": No such file or directory" >&2; exit 1']).catch((e: unknown) => e);
  assert.ok(err instanceof ExecError);
  assert.equal(err.notFound, 'netns');
  const other = await run(['sh', '-c', 'exit 3']).catch((e: unknown) => e);
  assert.ok(other instanceof ExecError);
  assert.equal(other.notFound, undefined);
});

test('netnsArgv: ip itself in a named namespace is ip -n, other commands ip netns exec, other paths nsenter', () => {
  assert.deepEqual(netnsArgv(undefined, ['ip', 'link']), ['ip', 'link']);
  assert.deepEqual(netnsArgv('pn-node-a', ['ip', '-j', 'link']), ['ip', '-n', 'pn-node-a', '-j', 'link']);
  assert.deepEqual(netnsArgv('/var/run/netns/cni-1', ['ip', 'link']), ['ip', '-n', 'cni-1', 'link']);
  assert.deepEqual(netnsArgv('/run/netns/cni-1', ['ip', 'link']), ['ip', '-n', 'cni-1', 'link']);
  assert.deepEqual(netnsArgv('pn-node-a', ['sysctl', '-q']), ['ip', 'netns', 'exec', 'pn-node-a', 'sysctl', '-q']);
  assert.deepEqual(netnsArgv('/proc/42/ns/net', ['ip', 'link']), ['nsenter', '--net=/proc/42/ns/net', 'ip', 'link']);
  assert.deepEqual(netnsArgv('/run/netns/cni-1', ['iptables-save']), ['nsenter', '--net=/run/netns/cni-1', 'iptables-save']);
  assert.equal(netnsName('/proc/42/ns/net'), undefined);
});

test('netnsArgv refuses a name outside the grammar and a path that climbs, before anything runs', () => {
  for (const bad of ['..', '-n', 'a b', 'a/b', 'x\nip link del eth0', 'relative/../x', '/run/netns/../../etc/x']) {
    assert.throws(() => netnsArgv(bad, ['ip', 'link']), { code: 'INVALID_INPUT' }, JSON.stringify(bad));
  }
});
