import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { run } from '../../src/lib/index.js';
import { MAIN_TABLE, applyEniNetwork, applyPodNetwork, checkPodNetwork, teardownPod, type PodNetworkInput } from '../../src/dataplane/index.js';

// A node namespace with a primary address, a secondary ENI "eth1" (table 2) whose far side is a peer namespace
// standing in for the subnet gateway and a host beyond it, and pods wired into their own namespaces.
const node = 'pn-dpp-node';
const peer = 'pn-dpp-peer';
const podA = 'pn-dpp-pod-a';
const podB = 'pn-dpp-pod-b';
const podC = 'pn-dpp-pod-c';
const mtu = 9001;

const onPrimary: PodNetworkInput = { namespace: 'default', podName: 'web', vethPrefix: 'eni', podIp: '10.0.1.5', routeTable: MAIN_TABLE, mtu };
const onSecondary: PodNetworkInput = { namespace: 'default', podName: 'worker', vethPrefix: 'eni', podIp: '10.0.100.80', routeTable: 2, mtu };

async function batch(ns: string, lines: string[]): Promise<void> {
  await run(['ip', '-n', ns, '-batch', '-'], { input: `${lines.join('\n')}\n` });
}

/** Sends one UDP datagram from `from` (bound to `src`) to an echo server in `to` and returns the server's answer. */
async function udpRoundTrip(to: string, server: string, from: string, src: string): Promise<string> {
  const echo = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('echo '+m+' from '+r.address,r.port,r.address,()=>process.exit(0)));s.bind(7777,'${server}',()=>console.log('ready'));setTimeout(()=>process.exit(3),5000)`;
  const serving = run([process.execPath, '-e', echo], { netns: to });
  await new Promise((r) => setTimeout(r, 250));
  const client = `const s=require('dgram').createSocket('udp4');s.bind(0,'${src}',()=>s.send('hi',7777,'${server}'));s.on('message',(m)=>{console.log(m.toString());process.exit(0)});setTimeout(()=>process.exit(4),4000)`;
  const { stdout } = await run([process.execPath, '-e', client], { netns: from });
  await serving;
  return stdout.trim();
}

async function waitFor(check: () => Promise<boolean>, what: string): Promise<void> {
  for (let i = 0; i < 50; i++) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

before(async () => {
  for (const ns of [node, peer, podA, podB, podC]) await run(['ip', 'netns', 'add', ns]);
  await run(['ip', 'link', 'add', 'eth1', 'netns', node, 'type', 'veth', 'peer', 'name', 'gw0', 'netns', peer]);
  await batch(node, ['link set lo up', 'addr add 10.0.0.10/32 dev lo']);
  await run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'], { netns: node });
  // the far side of eth1: the subnet gateway 10.0.96.1 and a host 198.51.100.7; the VPC knows pod 10.0.100.80 is on the ENI
  await batch(peer, ['link set lo up', 'addr add 198.51.100.7/32 dev lo', 'addr add 10.0.96.1/19 dev gw0', 'link set gw0 up', 'route add 10.0.100.80/32 via 10.0.100.77 dev gw0']);
});
after(async () => {
  for (const ns of [podA, podB, podC, peer, node]) await run(['ip', 'netns', 'del', ns]).catch(() => {});
});

test('a pod on the primary ENI is wired with 3 processes (node batch, sysctls in the named node netns, pod batch) and exchanges UDP with the node', async () => {
  const wired = await applyPodNetwork(onPrimary, { nodeNetns: node, podNetns: podA });
  assert.equal(wired.hostVeth, 'eni' + wired.hostVeth.slice(3));
  assert.equal(wired.processes, 3);
  const echo = await udpRoundTrip(node, '10.0.0.10', podA, '10.0.1.5');
  assert.equal(echo, 'echo hi from 10.0.1.5');
  const routes = (await run(['ip', '-n', node, 'route', 'show', '10.0.1.5/32'])).stdout;
  assert.match(routes, new RegExp(`^10\\.0\\.1\\.5 dev ${wired.hostVeth} scope link`, 'm'));
  const rules = (await run(['ip', '-n', node, 'rule', 'show'])).stdout;
  assert.match(rules, /^512:\s+from all to 10\.0\.1\.5 lookup main/m);
  assert.doesNotMatch(rules, /^1536:/m);
  const neigh = (await run(['ip', '-n', podA, 'neigh', 'show', '169.254.1.1'])).stdout;
  assert.match(neigh, new RegExp(`lladdr ${wired.hostVethMac} PERMANENT`));
});

test('CHECK passes on a wired pod and names what is missing once something is removed', async () => {
  assert.deepEqual(await checkPodNetwork(onPrimary, { nodeNetns: node, podNetns: podA }), { ok: true, problems: [] });
  await run(['ip', '-n', podA, 'neigh', 'del', '169.254.1.1', 'dev', 'eth0']);
  await run(['ip', '-n', node, 'rule', 'del', 'to', '10.0.1.5', 'prio', '512']);
  const result = await checkPodNetwork(onPrimary, { nodeNetns: node, podNetns: podA });
  assert.equal(result.ok, false);
  assert.deepEqual(result.problems, ['ip rule "to 10.0.1.5/32 lookup main prio 512" is missing', 'pod neighbour 169.254.1.1 on eth0 is missing']);
});

test('a secondary ENI gets table 2 and rule 32765, and a second apply changes nothing', async () => {
  const eni = { interface: 'eth1', deviceNumber: 1, primaryIp: '10.0.100.77', subnetCidr: '10.0.96.0/19', mtu };
  const changes = await applyEniNetwork(eni, node);
  assert.ok(changes.includes('addr add 10.0.100.77/19 dev eth1'), changes.join('\n'));
  const table = (await run(['ip', '-n', node, 'route', 'show', 'table', '2'])).stdout;
  assert.equal(table, 'default via 10.0.96.1 dev eth1 \n10.0.96.1 dev eth1 scope link \n');
  assert.doesNotMatch((await run(['ip', '-n', node, 'route', 'show', 'table', 'main'])).stdout, /10\.0\.96\.0\/19/);
  assert.match((await run(['ip', '-n', node, 'rule', 'show'])).stdout, /^32765:\s+from 10\.0\.100\.77 lookup 2/m);
  assert.deepEqual(await applyEniNetwork(eni, node), []);
});

test('a pod on the secondary ENI routes out through eth1 and really reaches the host beyond it', async () => {
  const wired = await applyPodNetwork(onSecondary, { nodeNetns: node, podNetns: podB });
  assert.match((await run(['ip', '-n', node, 'rule', 'show'])).stdout, /^1536:\s+from 10\.0\.100\.80 lookup 2/m);
  const route = (await run(['ip', '-n', node, 'route', 'get', '198.51.100.7', 'from', '10.0.100.80', 'iif', wired.hostVeth])).stdout;
  assert.match(route, /via 10\.0\.96\.1 dev eth1 table 2/);
  assert.equal(await udpRoundTrip(peer, '198.51.100.7', podB, '10.0.100.80'), 'echo hi from 10.0.100.80');
});

test('DEL removes the host veth, rule 512, every 1536 rule and the /32 route; a second DEL succeeds', async () => {
  const hostVeth = (await applyPodNetwork(onSecondary, { nodeNetns: node, podNetns: podB })).hostVeth;
  await run(['ip', '-n', node, 'rule', 'add', 'from', '10.0.100.80', 'lookup', '3', 'prio', '1536']);
  await teardownPod({ hostVeth, recordsKnown: true, ownedIp: onSecondary.podIp }, node);
  const rules = (await run(['ip', '-n', node, 'rule', 'show'])).stdout;
  assert.doesNotMatch(rules, /10\.0\.100\.80/);
  assert.doesNotMatch((await run(['ip', '-n', node, 'route', 'show', 'table', 'main'])).stdout, /10\.0\.100\.80/);
  assert.equal((await run(['ip', '-n', node, 'link', 'show', hostVeth]).catch(() => null)), null);
  assert.doesNotMatch((await run(['ip', '-n', podB, 'link', 'show'])).stdout, /eth0/);
  await teardownPod({ hostVeth, recordsKnown: true, ownedIp: onSecondary.podIp }, node);
});

test('DEL works when the pod namespace is already gone', async () => {
  const hostVeth = (await checkHostVeth(onPrimary)) ?? assert.fail('the primary pod should still be wired');
  await run(['ip', 'netns', 'del', podA]);
  await teardownPod({ hostVeth, recordsKnown: true, ownedIp: onPrimary.podIp }, node);
  await waitFor(async () => !(await run(['ip', '-n', node, 'link', 'show'])).stdout.includes(hostVeth), 'the host veth to disappear');
  assert.doesNotMatch((await run(['ip', '-n', node, 'route', 'show'])).stdout, /10\.0\.1\.5/);
  await teardownPod({ hostVeth, recordsKnown: true, ownedIp: onPrimary.podIp }, node);
});

test('a pod whose runtime names its interface net1 is wired, checked and exchanges UDP on net1, with no eth0', async () => {
  const input: PodNetworkInput = { ...onPrimary, podName: 'sidecar', podIp: '10.0.1.6', ifName: 'net1' };
  const wired = await applyPodNetwork(input, { nodeNetns: node, podNetns: podC });
  assert.equal(wired.ifName, 'net1');
  const links = JSON.parse((await run(['ip', '-n', podC, '-j', 'link', 'show'])).stdout) as { ifname: string; mtu: number }[];
  assert.deepEqual(links.map((l) => l.ifname).sort(), ['lo', 'net1']);
  assert.equal(links.find((l) => l.ifname === 'net1')!.mtu, mtu);
  assert.match((await run(['ip', '-n', podC, 'route', 'show'])).stdout, /^default via 169\.254\.1\.1 dev net1/m);
  assert.deepEqual(await checkPodNetwork(input, { nodeNetns: node, podNetns: podC }), { ok: true, problems: [] });
  assert.equal(await udpRoundTrip(node, '10.0.0.10', podC, '10.0.1.6'), 'echo hi from 10.0.1.6');
  await teardownPod({ hostVeth: wired.hostVeth, recordsKnown: true, ownedIp: input.podIp }, node);
  assert.doesNotMatch((await run(['ip', '-n', podC, 'link', 'show'])).stdout, /net1/);
});

test('without records, DEL ties the veth by its peer in the pod namespace and removes the rules 512/1536, route and link of the addresses it routes', async () => {
  const hostVeth = (await applyPodNetwork(onSecondary, { nodeNetns: node, podNetns: podB })).hostVeth;
  const before = (await run(['ip', '-n', node, 'rule', 'show'])).stdout;
  assert.match(before, /^512:\s+from all to 10\.0\.100\.80 lookup main/m);
  assert.match(before, /^1536:\s+from 10\.0\.100\.80 lookup 2/m);
  const removed = await teardownPod({ hostVeth, podNetns: podB, recordsKnown: false }, node);
  assert.ok(removed.includes(`link del ${hostVeth}`), removed.join('\n'));
  assert.doesNotMatch((await run(['ip', '-n', node, 'rule', 'show'])).stdout, /10\.0\.100\.80/);
  assert.doesNotMatch((await run(['ip', '-n', node, 'route', 'show', 'table', 'main'])).stdout, /10\.0\.100\.80/);
  assert.doesNotMatch((await run(['ip', '-n', node, 'link', 'show'])).stdout, new RegExp(hostVeth));
  assert.deepEqual(await teardownPod({ hostVeth, podNetns: podB, recordsKnown: false }, node), []);
});

test('DEL leaves alone a veth of the computed name that it cannot tie to the pod: no peer in its namespace, no route to its address', async () => {
  await run(['ip', '-n', node, 'link', 'add', 'enibare0', 'type', 'veth', 'peer', 'name', 'enibare1']);
  assert.deepEqual(await teardownPod({ hostVeth: 'enibare0', podNetns: podB, recordsKnown: false }, node), []);
  assert.match((await run(['ip', '-n', node, 'link', 'show'])).stdout, /enibare0/);
  await run(['ip', '-n', node, 'link', 'del', 'enibare0']);
});

test('ADD into a namespace that does not exist fails and leaves no host veth or rules behind', async () => {
  const input = { ...onPrimary, podName: 'ghost', podIp: '10.0.1.9' };
  await assert.rejects(applyPodNetwork(input, { nodeNetns: node, podNetns: '/run/netns/pn-dpp-missing' }), { code: 'NETNS_NOT_FOUND' });
  assert.doesNotMatch((await run(['ip', '-n', node, 'rule', 'show'])).stdout, /10\.0\.1\.9/);
  assert.doesNotMatch((await run(['ip', '-n', node, 'link', 'show'])).stdout, /eni[0-9a-f]{11}/);
});

async function checkHostVeth(input: PodNetworkInput): Promise<string | undefined> {
  const links = JSON.parse((await run(['ip', '-n', node, '-j', 'link', 'show'])).stdout) as { ifname: string }[];
  return links.find((l) => l.ifname.startsWith(input.vethPrefix) && l.ifname.length === 14)?.ifname;
}
