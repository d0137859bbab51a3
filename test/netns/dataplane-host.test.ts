import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/lib/index.js';
import { applyHostNetwork, detectConnmarkBackend, formatIptablesSave, isPodnetOwnedState, readIptables, renderHostRules, type HostNetworkInput } from '../../src/dataplane/index.js';
import { fullExampleInput as base, fullExampleIptablesSave as fixture } from '../unit/dataplane/fixtures/full-example.js';

// Host rules applied to a node namespace and read back with iptables-save / nft / ip rule.
const node = 'pn-dph-node';

/** podnet's rules as the node's iptables-save shows them, in the fixture's format. */
async function podnetRulesOnNode(): Promise<string> {
  return formatIptablesSave(isPodnetOwnedState(await readIptables(node)));
}

async function ipRules(): Promise<string> {
  return (await run(['ip', '-n', node, 'rule', 'show'])).stdout;
}

before(async () => {
  await run(['ip', 'netns', 'add', node]);
  await run(['ip', '-n', node, 'link', 'set', 'lo', 'up']);
});
after(async () => {
  await run(['ip', 'netns', 'del', node]).catch(() => {});
});

test('the defaults put exactly the spec §2.6 rules into iptables-save, and ip rule 1024', async () => {
  const changes = await applyHostNetwork(base, node);
  assert.ok(changes.length > 0);
  assert.equal(await podnetRulesOnNode(), fixture);
  assert.match(await ipRules(), /^1024:\s+from all fwmark 0x80\/0x80 lookup main/m);
});

test('applying the same input again changes nothing', async () => {
  assert.deepEqual(await applyHostNetwork(base, node), []);
});

test('a new excluded CIDR is reconciled in place, and kube-proxy-style rules of others are kept', async () => {
  await run(['iptables-restore', '--noflush'], { netns: node, input: '*nat\n:KUBE-POSTROUTING - [0:0]\n-I POSTROUTING 1 -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING\nCOMMIT\n' });
  const input = { ...base, excludeSnatCidrs: ['192.168.0.0/16', '100.64.0.0/10'] };
  const changes = await applyHostNetwork(input, node);
  assert.deepEqual(changes.sort(), [
    '-t nat -A AWS-CONNMARK-CHAIN-0 -d 100.64.0.0/10 -m comment --comment "AWS CONNMARK CHAIN" -j RETURN',
    '-t nat -A AWS-SNAT-CHAIN-0 -d 100.64.0.0/10 -m comment --comment "AWS SNAT CHAIN EXCLUSION" -j RETURN',
  ]);
  assert.equal(await podnetRulesOnNode(), formatIptablesSave(renderHostRules(input).iptables));
  const save = (await run(['iptables-save', '-t', 'nat'], { netns: node })).stdout;
  assert.match(save, /^-A POSTROUTING -m comment --comment "kubernetes postrouting rules" -j KUBE-POSTROUTING$/m);
  assert.deepEqual(await applyHostNetwork(input, node), []);
});

test('external SNAT on empties the SNAT chain and removes the jump and connmark; off again restores them', async () => {
  await applyHostNetwork({ ...base, externalSnat: true }, node);
  const text = await podnetRulesOnNode();
  assert.doesNotMatch(text, /AWS-CONNMARK-CHAIN-0|-j AWS-SNAT-CHAIN-0|SNAT --to-source/);
  assert.match(text, /^:AWS-SNAT-CHAIN-0 - \[0:0\]$/m);
  assert.deepEqual(await applyHostNetwork({ ...base, externalSnat: true }, node), []);
  await applyHostNetwork(base, node);
  assert.equal(await podnetRulesOnNode(), fixture);
});

test('a stale AWS-SNAT-CHAIN-1 from the old multi-chain layout is removed with its jump', async () => {
  await run(['iptables-restore', '--noflush'], { netns: node, input: '*nat\n-N AWS-SNAT-CHAIN-1\n-A AWS-SNAT-CHAIN-1 -d 10.9.0.0/16 -j RETURN\n-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-1\nCOMMIT\n' });
  const changes = await applyHostNetwork(base, node);
  assert.ok(changes.includes('-t nat -X AWS-SNAT-CHAIN-1'), changes.join('\n'));
  assert.doesNotMatch((await run(['iptables-save', '-t', 'nat'], { netns: node })).stdout, /AWS-SNAT-CHAIN-1/);
  assert.equal(await podnetRulesOnNode(), fixture);
});

test('the nftables backend builds table ip aws-cni and removes the iptables connmark chain', async () => {
  const input = { ...base, connmarkBackend: 'nftables' as const };
  await applyHostNetwork(input, node);
  const table = (await run(['nft', 'list', 'table', 'ip', 'aws-cni'], { netns: node })).stdout;
  assert.match(table, /type nat hook prerouting priority dstnat \+ 10; policy accept;/);
  assert.match(table, /fib daddr type local return\n\s+iifname "eni\*" counter packets \d+ bytes \d+ jump snat-mark\n\s+counter packets \d+ bytes \d+ meta mark set ct mark & 0x00000080/);
  assert.match(table, /ip daddr 192\.168\.0\.0\/16 return\n.*ip daddr 10\.0\.0\.0\/16 return\n.*ct mark set ct mark \| 0x00000080/);
  assert.doesNotMatch(await podnetRulesOnNode(), /CONNMARK-CHAIN|outbound connections/);
  assert.deepEqual(await applyHostNetwork(input, node), []);
  await applyHostNetwork({ ...input, vpcCidrs: ['10.0.0.0/16', '10.1.0.0/16'] }, node);
  assert.match((await run(['nft', 'list', 'chain', 'ip', 'aws-cni', 'snat-mark'], { netns: node })).stdout, /ip daddr 10\.1\.0\.0\/16 return/);
});

test('switching back to the iptables backend deletes the nft table', async () => {
  await applyHostNetwork(base, node);
  await assert.rejects(run(['nft', 'list', 'table', 'ip', 'aws-cni'], { netns: node }));
  assert.equal(await podnetRulesOnNode(), fixture);
});

test('the pre-1.8.0 routing replaces connmark with rule 1025 "not to <VPC CIDR>", and back', async () => {
  await applyHostNetwork({ ...base, pre18Routing: true }, node);
  assert.match(await ipRules(), /^1025:\s+not from all to 10\.0\.0\.0\/16 lookup main/m);
  assert.doesNotMatch(await podnetRulesOnNode(), /CONNMARK-CHAIN/);
  await applyHostNetwork(base, node);
  assert.doesNotMatch(await ipRules(), /^1025:/m);
});

test('external service CIDRs get rule 1535; external SNAT without node ports drops rule 1024', async () => {
  await applyHostNetwork({ ...base, externalServiceCidrs: ['100.64.0.0/16'], externalSnat: true, nodePortSupport: false }, node);
  const rules = await ipRules();
  assert.match(rules, /^1535:\s+from all to 100\.64\.0\.0\/16 lookup main/m);
  assert.doesNotMatch(rules, /^1024:/m);
  assert.equal(await podnetRulesOnNode(), '*nat\n:AWS-SNAT-CHAIN-0 - [0:0]\n');
});

test('the connmark backend is chosen as upstream does: nftables unless iptables --version says legacy', async () => {
  const version = (await run(['iptables', '--version'])).stdout;
  assert.equal(await detectConnmarkBackend(node), /legacy/.test(version) ? 'iptables' : 'nftables');
});
