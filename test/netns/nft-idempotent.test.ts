import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/lib/index.js';
import { applyHostNetwork, type HostNetworkInput } from '../../src/dataplane/index.js';
import { fullExampleInput as base } from '../unit/dataplane/fixtures/full-example.js';

// Issue 11 item 7: host rules with repeated, VPC-equal and /32 exclusions, applied twice to a node namespace with the
// real iptables and nft; the second apply must change nothing, down to nft's rule handles.
const node = 'pn-nftidem-node';
// 10.0.0.0/16 is also the VPC CIDR; 192.168.0.0/16 is given twice (once with host bits); 203.0.113.7/32 nft lists bare
const excludeSnatCidrs = ['203.0.113.7/32', '10.0.0.0/16', '192.168.0.0/16', '192.168.5.5/16'];

/** The ruleset with handles, counters zeroed: a deleted and re-inserted rule shows as a new handle. */
async function nftRuleset(): Promise<string> {
  return (await run(['nft', '-a', 'list', 'ruleset'], { netns: node })).stdout.replace(/packets \d+ bytes \d+/g, 'packets 0 bytes 0');
}

async function natSave(): Promise<string> {
  return (await run(['iptables-save', '-t', 'nat'], { netns: node })).stdout.split('\n').filter((l) => l.startsWith('-A ') || l.startsWith(':AWS')).join('\n');
}

const count = (text: string, re: RegExp) => text.split('\n').filter((l) => re.test(l)).length;

before(async () => {
  await run(['ip', 'netns', 'add', node]);
  await run(['ip', '-n', node, 'link', 'set', 'lo', 'up']);
});
after(async () => {
  await run(['ip', 'netns', 'del', node]).catch(() => {});
});

test('issue 11 item 7: a second nft apply with a /32 exclusion changes nothing', async () => {
  const input: HostNetworkInput = { ...base, connmarkBackend: 'nftables', excludeSnatCidrs };
  assert.ok((await applyHostNetwork(input, node)).length > 0);
  const ruleset = await nftRuleset();
  // nft stores the /32 as a bare address
  assert.match(ruleset, /ip daddr 203\.0\.113\.7 return/);
  const nat = await natSave();
  assert.deepEqual(await applyHostNetwork(input, node), []);
  assert.equal(await nftRuleset(), ruleset);
  assert.equal(await natSave(), nat);
});

test('issue 11 item 7: an excluded CIDR equal to the VPC CIDR, or repeated, yields one RETURN rule in nft\'s snat-mark', async () => {
  const ruleset = await nftRuleset();
  assert.equal(count(ruleset, /ip daddr 10\.0\.0\.0\/16 return/), 1);
  assert.equal(count(ruleset, /ip daddr 192\.168\.0\.0\/16 return/), 1);
  const snatMark = (await run(['nft', 'list', 'chain', 'ip', 'aws-cni', 'snat-mark'], { netns: node })).stdout;
  assert.equal(count(snatMark, / return$/), 3, snatMark);
  const nat = await natSave();
  // SNAT chain: one EXCLUSION per distinct CIDR, plus the VPC CIDR's own rule (a different comment, as upstream)
  assert.equal(count(nat, /^-A AWS-SNAT-CHAIN-0 .*"AWS SNAT CHAIN EXCLUSION" -j RETURN$/), 3, nat);
  assert.equal(count(nat, /^-A AWS-SNAT-CHAIN-0 .*"AWS SNAT CHAIN" -j RETURN$/), 1, nat);
});

test('issue 11 item 7: with the iptables connmark backend the same exclusions give one RETURN per CIDR and a second apply changes nothing', async () => {
  const input: HostNetworkInput = { ...base, connmarkBackend: 'iptables', excludeSnatCidrs };
  await applyHostNetwork(input, node);
  const nat = await natSave();
  assert.deepEqual(nat.split('\n').filter((l) => l.startsWith('-A AWS-CONNMARK-CHAIN-0')).map((l) => /-d (\S+)|--set-xmark/.exec(l)![1] ?? 'set-xmark'), [
    '192.168.0.0/16', '203.0.113.7/32', '10.0.0.0/16', 'set-xmark',
  ]); // upstream's build order 10.0/16, 203.0.113.7/32, 192.168/16 (repeats skipped), each inserted at 1
  assert.deepEqual(await applyHostNetwork(input, node), []);
  assert.equal(await natSave(), nat);
});
