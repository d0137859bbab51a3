import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/lib/index.js';
import { applyBranchEniPod, applyEniNetwork, applyHostNetwork, branchHostVethName, teardownBranchEniPod, type BranchEniPodInput } from '../../src/dataplane/index.js';
import { fullExampleInput } from '../unit/dataplane/fixtures/full-example.js';

// The lab's way (spec §3.9, issue 18 item 4): the fabric hands the node a link already named vlan.eth.<id> carrying
// the branch ENI's MAC — here a veth whose far end, in the "fabric" namespace, is the branch subnet's gateway
// 10.0.96.1 with a host 198.51.100.7 behind it. podnet only adds table 100+id, the rules, the veth and the pod side.
const node = 'pn-bre-node';
const fabric = 'pn-bre-fabric';
const podA = 'pn-bre-pod-a';
const podB = 'pn-bre-pod-b';
const probe = 'pn-bre-probe';
const branchMac = '02:aa:00:00:00:07';

const base: Omit<BranchEniPodInput, 'mode' | 'podName' | 'vlanId' | 'branchMac' | 'podIp'> = {
  namespace: 'default', vethPrefix: 'eni', subnetCidr: '10.0.96.0/19', trunkLink: 'eth1', mtu: 1500, hostVethMac: '02:11:22:33:44:55', createVlanLink: false,
};

async function batch(ns: string, lines: string[]): Promise<void> {
  await run(['ip', '-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

async function udpRoundTrip(to: string, server: string, from: string, src: string): Promise<string> {
  const echo = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('echo '+m+' from '+r.address,r.port,r.address,()=>process.exit(0)));s.bind(7777,'${server}',()=>{});setTimeout(()=>process.exit(3),5000)`;
  const serving = run([process.execPath, '-e', echo], { netns: to });
  await new Promise((r) => setTimeout(r, 300));
  const client = `const s=require('dgram').createSocket('udp4');s.bind(0,'${src}',()=>s.send('hi',7777,'${server}'));s.on('message',(m)=>{console.log(m.toString());process.exit(0)});setTimeout(()=>process.exit(4),4000)`;
  const { stdout } = await run([process.execPath, '-e', client], { netns: from });
  await serving;
  return stdout.trim();
}

/** The fabric's side of one branch: the link named vlan.eth.<id> in the node, its peer (gateway side) in the fabric. */
async function fabricLink(vlanId: number, mac: string, podIp: string): Promise<void> {
  const far = `br${vlanId}`;
  await run(['ip', 'link', 'add', `vlan.eth.${vlanId}`, 'netns', node, 'address', mac, 'type', 'veth', 'peer', 'name', far, 'netns', fabric]);
  await batch(fabric, [`addr add 10.0.96.1/19 dev ${far}`, `link set ${far} up`, `route replace ${podIp}/32 dev ${far}`, `neigh replace ${podIp} dev ${far} lladdr ${mac} nud permanent`]);
}

async function nodeRules(): Promise<string> {
  return (await run(['ip', '-n', node, 'rule', 'show'])).stdout;
}

async function table(t: number): Promise<string> {
  return (await run(['ip', '-n', node, 'route', 'show', 'table', String(t)]).catch((e: { stderr: string }) => ({ stdout: '', stderr: e.stderr }))).stdout;
}

before(async () => {
  for (const ns of [node, fabric, podA, podB, probe]) await run(['ip', 'netns', 'add', ns]);
  await batch(node, ['link set lo up', 'addr add 10.0.0.10/32 dev lo']);
  await run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'], { netns: node });
  await batch(fabric, ['link set lo up', 'addr add 198.51.100.7/32 dev lo']);
  // an unrelated rule the teardown must leave alone
  await batch(node, ['rule add to 10.9.9.9/32 lookup main prio 512']);
});
after(async () => {
  for (const ns of [podA, podB, probe, fabric, node]) await run(['ip', 'netns', 'del', ns]).catch(() => {});
});

test('strict, lab link: the pod reaches past the branch gateway through vlan.eth.<id>; DEL leaves no table, rule or veth, and the fabric\'s link', async () => {
  await fabricLink(7, branchMac, '10.0.97.30');
  const input: BranchEniPodInput = { ...base, mode: 'strict', podName: 'sg-a', vlanId: 7, branchMac, podIp: '10.0.97.30' };
  const wired = await applyBranchEniPod(input, { nodeNetns: node, podNetns: podA });
  assert.equal(wired.hostVeth, branchHostVethName('strict', 'eni', 'default', 'sg-a'));
  assert.match(wired.hostVeth, /^vlan[0-9a-f]{11}$/);
  const rules = await nodeRules();
  assert.match(rules, /^10:\s+from all iif vlan\.eth\.7 lookup 107/m);
  assert.match(rules, new RegExp(`^10:\\s+from all iif ${wired.hostVeth} lookup 107`, 'm'));
  assert.doesNotMatch(rules, /to 10\.0\.97\.30 lookup main/);
  assert.match(await table(107), /^default via 10\.0\.96\.1 dev vlan\.eth\.7/m);
  assert.match(await table(107), new RegExp(`^10\\.0\\.97\\.30 dev ${wired.hostVeth}`, 'm'));
  assert.equal(await udpRoundTrip(fabric, '198.51.100.7', podA, '10.0.97.30'), 'echo hi from 10.0.97.30');

  const ran = await teardownBranchEniPod({ vlanId: 7, podIp: '10.0.97.30', hostVeths: [wired.hostVeth, branchHostVethName('standard', 'eni', 'default', 'sg-a')], createVlanLink: false }, node);
  assert.ok(!ran.includes('link del vlan.eth.7'));
  const after = await nodeRules();
  assert.doesNotMatch(after, /lookup 107|10\.0\.97\.30/);
  assert.match(after, /to 10\.9\.9\.9 lookup main/, 'an unrelated rule stays');
  assert.equal((await table(107)).trim(), '');
  const links = (await run(['ip', '-n', node, '-o', 'link', 'show'])).stdout;
  assert.doesNotMatch(links, new RegExp(wired.hostVeth));
  assert.match(links, /vlan\.eth\.7@/, 'the fabric\'s link is the fabric\'s: it stays');
  // a second DEL finds everything gone and succeeds
  await teardownBranchEniPod({ vlanId: 7, podIp: '10.0.97.30', hostVeths: [wired.hostVeth], createVlanLink: false }, node);
});

test('standard, lab link: rules 512 and 1536 (rt = 100 + id); the pod reaches past the gateway; DEL leaves nothing', async () => {
  const mac = '02:aa:00:00:00:09';
  await fabricLink(9, mac, '10.0.97.40');
  const input: BranchEniPodInput = { ...base, mode: 'standard', podName: 'sg-b', vlanId: 9, branchMac: mac, podIp: '10.0.97.40' };
  const wired = await applyBranchEniPod(input, { nodeNetns: node, podNetns: podB });
  assert.match(wired.hostVeth, /^eni[0-9a-f]{11}$/);
  const rules = await nodeRules();
  assert.match(rules, /^512:\s+from all to 10\.0\.97\.40 lookup main/m);
  assert.match(rules, /^1536:\s+from 10\.0\.97\.40 lookup 109/m);
  assert.doesNotMatch(rules, /iif/);
  assert.match((await run(['ip', '-n', node, 'route', 'show', '10.0.97.40'])).stdout, new RegExp(`dev ${wired.hostVeth} scope link`));
  assert.equal(await udpRoundTrip(fabric, '198.51.100.7', podB, '10.0.97.40'), 'echo hi from 10.0.97.40');

  await teardownBranchEniPod({ vlanId: 9, podIp: '10.0.97.40', hostVeths: [branchHostVethName('strict', 'eni', 'default', 'sg-b'), wired.hostVeth], createVlanLink: false }, node);
  assert.doesNotMatch(await nodeRules(), /lookup 109|10\.0\.97\.40/);
  assert.equal((await table(109)).trim(), '');
  assert.equal((await run(['ip', '-n', node, 'route', 'show', '10.0.97.40'])).stdout.trim(), '');
  assert.doesNotMatch((await run(['ip', '-n', node, '-o', 'link', 'show'])).stdout, new RegExp(wired.hostVeth));
});

test('a failed ADD (no such VLAN link in the lab) leaves no veth, rule or table behind', async () => {
  const input: BranchEniPodInput = { ...base, mode: 'strict', podName: 'sg-c', vlanId: 11, branchMac: '02:aa:00:00:00:0b', podIp: '10.0.97.50' };
  await assert.rejects(applyBranchEniPod(input, { nodeNetns: node, podNetns: podA }), { code: 'DATAPLANE_APPLY_FAILED' });
  assert.doesNotMatch(await nodeRules(), /lookup 111/);
  assert.equal((await table(111)).trim(), '');
});

test('a failed repeated ADD (addressHeldBefore) leaves the earlier ADD\'s table rules and veth; a first ADD\'s failure removes all', async () => {
  const mac = '02:aa:00:00:00:0f';
  await fabricLink(15, mac, '10.0.97.70');
  const input: BranchEniPodInput = { ...base, mode: 'strict', podName: 'sg-e', vlanId: 15, branchMac: mac, podIp: '10.0.97.70' };
  const wired = await applyBranchEniPod(input, { nodeNetns: node, podNetns: probe });
  // the fabric takes the link away; the repeated ADD fails bringing it up
  await run(['ip', '-n', node, 'link', 'del', 'vlan.eth.15']);
  await assert.rejects(applyBranchEniPod({ ...input, addressHeldBefore: true }, { nodeNetns: node, podNetns: probe }), { code: 'DATAPLANE_APPLY_FAILED' });
  assert.match(await nodeRules(), new RegExp(`^10:\\s+from all iif ${wired.hostVeth} lookup 115`, 'm'), 'the earlier ADD\'s rule stays');
  assert.match((await run(['ip', '-n', node, '-o', 'link', 'show'])).stdout, new RegExp(wired.hostVeth), 'the earlier ADD\'s veth stays');
  // the same failure on a first ADD removes what it made
  await assert.rejects(applyBranchEniPod(input, { nodeNetns: node, podNetns: probe }), { code: 'DATAPLANE_APPLY_FAILED' });
  assert.doesNotMatch(await nodeRules(), /lookup 115/);
  await teardownBranchEniPod({ vlanId: 15, podIp: '10.0.97.70', hostVeths: [wired.hostVeth], createVlanLink: false }, node);
  await run(['ip', '-n', fabric, 'link', 'del', 'br15']).catch(() => {});
});

test('real node (createVlanLink): the VLAN link is made on the trunk with the branch MAC, and DEL deletes it', async (t) => {
  await run(['ip', 'link', 'add', 'eth1', 'netns', node, 'type', 'veth', 'peer', 'name', 'trunk0', 'netns', fabric]);
  try {
    await run(['ip', '-n', node, 'link', 'add', 'link', 'eth1', 'name', 'pn-vlan-probe', 'type', 'vlan', 'id', '4094']);
    await run(['ip', '-n', node, 'link', 'del', 'pn-vlan-probe']);
  } catch (err) {
    t.skip(`this kernel has no 802.1Q (ip link add … type vlan: ${(err as { stderr?: string }).stderr?.trim() ?? err}); the VLAN lines are tested as data in test/unit/dataplane/branch-eni.test.ts`);
    return;
  }
  const mac = '02:aa:00:00:00:0d';
  const wired = await applyBranchEniPod({ ...base, mode: 'strict', podName: 'sg-d', vlanId: 13, branchMac: mac, podIp: '10.0.97.60', createVlanLink: true }, { nodeNetns: node, podNetns: probe });
  const link = JSON.parse((await run(['ip', '-n', node, '-d', '-j', 'link', 'show', 'vlan.eth.13'])).stdout) as { address: string; link: string; linkinfo: { info_data: { id: number } } }[];
  assert.equal(link[0]!.address, mac);
  assert.equal(link[0]!.link, 'eth1');
  assert.equal(link[0]!.linkinfo.info_data.id, 13);
  await teardownBranchEniPod({ vlanId: 13, podIp: '10.0.97.60', hostVeths: [wired.hostVeth], createVlanLink: true }, node);
  assert.doesNotMatch((await run(['ip', '-n', node, '-o', 'link', 'show'])).stdout, /vlan\.eth\.13/);
  assert.doesNotMatch(await nodeRules(), /lookup 113/);
});

test('strict SGP host rules: the local table\'s rule moves from 0 to 20 (so prio 10 wins); applying again changes nothing', async () => {
  const host = 'pn-bre-host';
  await run(['ip', 'netns', 'add', host]);
  try {
    await run(['ip', '-n', host, 'link', 'set', 'lo', 'up']);
    await applyHostNetwork({ ...fullExampleInput, podSgStrict: true }, host);
    const rules = (await run(['ip', '-n', host, 'rule', 'show'])).stdout;
    assert.match(rules, /^20:\s+from all lookup local/m);
    assert.doesNotMatch(rules, /^0:\s+from all lookup local/m);
    assert.deepEqual(await applyHostNetwork({ ...fullExampleInput, podSgStrict: true }, host), []);
    // back to standard (or ENABLE_POD_ENI off) after a strict run: prio 0 is put back before 20 goes, so the node
    // keeps its local rule; loopback still answers
    const back = await applyHostNetwork(fullExampleInput, host);
    assert.ok(back.indexOf('ip -4 rule add lookup 255 prio 0') >= 0 && back.indexOf('ip -4 rule add lookup 255 prio 0') < back.indexOf('ip -4 rule del lookup 255 prio 20'), back.join('\n'));
    const after = (await run(['ip', '-n', host, 'rule', 'show'])).stdout;
    assert.match(after, /^0:\s+from all lookup local/m);
    assert.doesNotMatch(after, /^20:\s+from all lookup local/m);
    assert.match((await run(['ip', '-n', host, 'route', 'get', '127.0.0.1'])).stdout, /^local 127\.0\.0\.1 dev lo table local/m);
    // a prio-20 rule that is not exactly `lookup local` is someone else's: left alone in either mode
    await run(['ip', '-n', host, 'rule', 'add', 'ipproto', 'tcp', 'lookup', 'local', 'prio', '20']);
    assert.deepEqual(await applyHostNetwork(fullExampleInput, host), []);
    assert.match((await run(['ip', '-n', host, 'rule', 'show'])).stdout, /^20:\s+from all ipproto tcp lookup local/m);
    // without strict SGP the kernel's prio-0 rule is never touched
    await run(['ip', 'netns', 'add', `${host}2`]);
    await applyHostNetwork(fullExampleInput, `${host}2`);
    assert.match((await run(['ip', '-n', `${host}2`, 'rule', 'show'])).stdout, /^0:\s+from all lookup local/m);
  } finally {
    await run(['ip', 'netns', 'del', host]).catch(() => {});
    await run(['ip', 'netns', 'del', `${host}2`]).catch(() => {});
  }
});

test('the trunk ENI is set up like a secondary ENI but without the prio-32765 rule (spec §3.2 step 7)', async () => {
  await run(['ip', 'link', 'add', 'eth2', 'netns', node, 'type', 'veth', 'peer', 'name', 'trunk2', 'netns', fabric]);
  const eni = { interface: 'eth2', deviceNumber: 2, primaryIp: '10.0.96.50', subnetCidr: '10.0.96.0/19', mtu: 1500 };
  await applyEniNetwork({ ...eni, trunk: true }, node);
  assert.doesNotMatch(await nodeRules(), /from 10\.0\.96\.50 lookup 3/);
  assert.match(await table(3), /^default via 10\.0\.96\.1 dev eth2/m);
  // an ENI set up before it was known as the trunk loses the rule
  await applyEniNetwork(eni, node);
  assert.match(await nodeRules(), /^32765:\s+from 10\.0\.96\.50 lookup 3/m);
  await applyEniNetwork({ ...eni, trunk: true }, node);
  assert.doesNotMatch(await nodeRules(), /from 10\.0\.96\.50 lookup 3/);
});
