import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cniEnv } from '../../src/cni/index.js';
import { readIpJson } from '../../src/dataplane/index.js';
import { run } from '../../src/lib/index.js';
import { heldAddresses, introspectedEnis, startPodnetNode, type PodnetNode } from '../e2e/podnet-node.js';
import { type Call, runLauncherOnNode } from './cni-hostile.js';

// One emulated node for the whole file: `podnet ec2 serve` in the sandbox's root namespace (the VPC; router 10.0.1.1),
// the node namespace as an m5.4xlarge (8 ENIs of 30 addresses) with a link per secondary ENI the emulator attaches,
// and `podnet ipamd` in it. Pods are added, checked and deleted as a runtime does it: the installed podnet-cni launcher,
// run in the node's namespace with the CNI_* variables and the network config on stdin, one netns per pod.
const PODS = 100;
const LATE = 3;
/** Every pod at once plus headroom: more than the primary ENI's 29 secondary addresses, so ipamd attaches ENIs 1–3. */
const WARM = PODS + LATE + 5;
const K8S_NAMESPACE = 'cni-node';
const ROUTER = '10.0.1.1';
/** Outside the VPC (TEST-NET-3), held by the sandbox's root namespace for the SNAT test only. */
const BEYOND_VPC = '203.0.113.9';
const UDP_PORT = 7788;

interface Pod {
  name: string;
  netns: string;
  containerId: string;
  /** From the ADD result. */
  address?: string;
  hostVeth?: string;
  result?: unknown;
}

interface IpRuleJson {
  priority: number;
  src: string;
  dst?: string;
  table: string;
  fwmark?: string;
  fwmask?: string;
}

const dir = mkdtempSync(join(tmpdir(), 'podnet-cni-node-'));
const pods: Pod[] = Array.from({ length: PODS + LATE }, (_, i) => {
  const name = i < PODS ? `pod-${i + 1}` : `late-${i + 1 - PODS}`;
  return { name, netns: `cn-${name}`, containerId: (i + 1).toString(16).padStart(64, 'c') };
});
const first = pods.slice(0, PODS);
const late = pods.slice(PODS);
let node: PodnetNode;
/** The conflist a runtime reads: `podnet cni install`'s (0.4.0, disableCheck: spec §1.1), moved to 1.0.0 with CHECK enabled. */
let conflist: PodnetNode['conflist'] & { disableCheck: boolean };

/** The plugin's stdin as a runtime builds it from the conflist (libcni): name and cniVersion, and the cached result as prevResult. */
function netConf(prevResult: unknown): string {
  const plugin = conflist.plugins[0]!;
  return JSON.stringify({ ...plugin, cniVersion: conflist.cniVersion, name: conflist.name, ...(prevResult !== undefined && { prevResult }) });
}

/** Runs the installed launcher in the node's network namespace, as the runtime on the node would. */
function cni(command: 'ADD' | 'CHECK' | 'DEL', pod: Pod, o: { prevResult?: unknown; netns?: string } = {}): Promise<Call> {
  if (command === 'CHECK' && conflist.disableCheck) throw new Error('a runtime never calls CHECK when the conflist sets disableCheck');
  const env = {
    PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
    ...cniEnv({ command, containerId: pod.containerId, netns: o.netns ?? `/run/netns/${pod.netns}`, ifName: 'eth0', podNamespace: K8S_NAMESPACE, podName: pod.name, podUid: `uid-${pod.name}`, path: node.binDir }),
  };
  return runLauncherOnNode(node, env, netConf(o.prevResult));
}

const describe = (what: string, c: Call) => `${what} exited ${c.code}: ${c.stdout.trim()} ${c.stderr.trim()}\n${node.logTail()}`;

/** ADD through the launcher; the result must be a CNI 1.0.0 result whose eth0 in the pod's netns carries one /32. */
async function addPod(pod: Pod): Promise<void> {
  const c = await cni('ADD', pod);
  assert.equal(c.code, 0, describe(`ADD ${pod.name}`, c));
  const result = JSON.parse(c.stdout) as { cniVersion: string; interfaces: { name: string; sandbox?: string }[]; ips: { address: string; interface?: number }[] };
  assert.equal(result.cniVersion, '1.0.0');
  assert.equal(result.ips.length, 1, c.stdout);
  const ip = result.ips[0]!;
  assert.match(ip.address, /^10\.0\.1\.\d+\/32$/);
  const podSide = result.interfaces[ip.interface ?? -1];
  assert.deepEqual([podSide?.name, podSide?.sandbox], ['eth0', `/run/netns/${pod.netns}`], c.stdout);
  const hostVeth = result.interfaces.find((i) => i.sandbox === undefined)?.name;
  assert.match(hostVeth ?? '', /^eni[0-9a-f]{11}$/, c.stdout);
  Object.assign(pod, { address: ip.address.slice(0, -3), hostVeth, result });
}

async function nodeState(): Promise<{ links: string[]; mainRoutes: string[]; rules: IpRuleJson[] }> {
  const [links, routes, rules] = (await readIpJson(node.netns, ['link show', 'route show table main', 'rule show'])) as [{ ifname: string }[], { dst: string }[], IpRuleJson[]];
  return { links: links.map((l) => l.ifname), mainRoutes: routes.map((r) => r.dst), rules };
}

/** Pod address → the ENI that holds it, from ipamd's introspection /v1/enis. */
async function enisOfAddresses(): Promise<Map<string, { device: number; table: number }>> {
  const out = new Map<string, { device: number; table: number }>();
  for (const eni of introspectedEnis(await node.introspect('/v1/enis'))) {
    for (const cidr of Object.values(eni.AvailableIPv4Cidrs)) {
      for (const address of Object.keys(cidr.IPAddresses)) out.set(address, { device: eni.DeviceNumber, table: eni.RouteTableID });
    }
  }
  return out;
}

async function eventually(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out after ${timeoutMs} ms waiting for ${what}\n${node.logTail()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

interface Counters {
  /** Packets each node link sent. */
  sent: Map<string, number>;
  /** Packets the far end of each node link (a veth peer in the sandbox's root namespace) received. */
  arrived: Map<string, number>;
}

async function counters(): Promise<Counters> {
  type Link = { ifname: string; ifindex: number; link_index?: number; stats64: { rx: { packets: number }; tx: { packets: number } } };
  const links = async (netns?: string) => JSON.parse((await run(['ip', ...(netns ? ['-n', netns] : []), '-s', '-j', 'link', 'show'])).stdout) as Link[];
  const [nodeLinks, rootLinks] = await Promise.all([links(node.netns), links()]);
  const rootRx = new Map(rootLinks.map((l) => [l.ifindex, l.stats64.rx.packets]));
  return {
    sent: new Map(nodeLinks.map((l) => [l.ifname, l.stats64.tx.packets])),
    arrived: new Map(nodeLinks.map((l) => [l.ifname, rootRx.get(l.link_index ?? -1) ?? 0])),
  };
}

/** How many packets `link` sent (or its far end received) between two readings. */
function delta(from: Counters, to: Counters, what: keyof Counters, link: string): number {
  return (to[what].get(link) ?? 0) - (from[what].get(link) ?? 0);
}

/**
 * Sends `count` datagrams from the pod (bound to its address) to `to` and counts the echoes that come back; the echo
 * server runs in this process (the sandbox's root namespace) and reports the source address each datagram carried.
 */
async function udpFromPod(pod: Pod, to: string, count: number): Promise<{ sources: string[]; echoes: number }> {
  const server = createSocket('udp4');
  const sources: string[] = [];
  server.on('message', (m, r) => {
    sources.push(r.address);
    server.send(m, r.port, r.address);
  });
  await new Promise<void>((resolve) => server.bind(UDP_PORT, to, resolve));
  try {
    const client = `const s=require('dgram').createSocket('udp4');let n=0;s.on('message',()=>{if(++n===${count}){console.log(n);process.exit(0)}});` +
      `s.bind(0,'${pod.address}',()=>{for(let i=0;i<${count};i++)s.send('p'+i,${UDP_PORT},'${to}')});setTimeout(()=>{console.log(n);process.exit(0)},3000)`;
    const { stdout } = await run([process.execPath, '-e', client], { netns: pod.netns });
    return { sources, echoes: Number(stdout.trim()) };
  } finally {
    server.close();
  }
}

before(async () => {
  node = await startPodnetNode({
    dir,
    netns: 'cn-node',
    instanceType: 'm5.4xlarge',
    eniLinks: true,
    // the pool attaches ENIs while the links appear: look for each ENI's link by MAC often
    ipamdEnv: { MINIMUM_IP_TARGET: String(WARM), WARM_IP_TARGET: '5', PODNET_ENI_LINK_RETRY_MS: '200' },
  });
  conflist = { ...node.conflist, cniVersion: '1.0.0', disableCheck: false };
  await run(['ip', '-batch', '-'], { input: pods.map((p) => `netns add ${p.netns}`).join('\n') });
  // the warm pool holds every pod, and each secondary ENI's route table is set up before a pod is added
  await eventually(`${WARM} addresses in the warm pool and a default route in every secondary ENI's table`, 60_000, async () => {
    const enis = introspectedEnis(await node.introspect('/v1/enis'));
    if (enis.reduce((n, e) => n + Object.keys(e.AvailableIPv4Cidrs).length, 0) < WARM) return false;
    const secondary = enis.filter((e) => e.DeviceNumber >= 1);
    const tables = (await readIpJson(node.netns, secondary.map((e) => `route show table ${e.RouteTableID}`))) as { dst: string }[][];
    return tables.every((routes) => routes.some((r) => r.dst === 'default'));
  });
});

after(async () => {
  await node?.stop();
  await run(['ip', '-force', '-batch', '-'], { input: pods.map((p) => `netns del ${p.netns}`).join('\n') }).catch(() => {});
  await run(['ip', 'addr', 'del', `${BEYOND_VPC}/32`, 'dev', 'lo']).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

test('ADD of 100 pods through the installed launcher answers each with a CNI 1.0.0 result holding the address ipamd assigned that pod; no two pods share one', async () => {
  for (const pod of first) await addPod(pod);
  const addresses = first.map((p) => p.address!);
  assert.equal(new Set(addresses).size, PODS, 'every pod has its own address');
  const held = heldAddresses(await node.introspect('/v1/enis'));
  for (const pod of first) assert.equal(held.get(pod.address!), pod.name, `ipamd holds ${pod.address} for ${pod.name}`);
  const inside = await Promise.all(first.map(async (p) => (await readIpJson(p.netns, ['addr show dev eth0']))[0] as { addr_info: { local: string; prefixlen: number }[] }[]));
  inside.forEach((links, i) => assert.deepEqual(links[0]!.addr_info.filter((a) => a.prefixlen === 32).map((a) => a.local), [addresses[i]]));
});

test('CHECK passes for all 100 pods, and fails naming the missing /32 route or neighbour entry of a pod whose wiring was broken', async () => {
  for (const pod of first) {
    const c = await cni('CHECK', pod, { prevResult: pod.result });
    assert.deepEqual([c.code, c.stdout], [0, ''], describe(`CHECK ${pod.name}`, c));
  }
  const [noRoute, noNeighbour] = first as [Pod, Pod];
  await run(['ip', '-n', node.netns, 'route', 'del', `${noRoute.address}/32`, 'dev', noRoute.hostVeth!]);
  await run(['ip', '-n', noNeighbour.netns, 'neigh', 'del', '169.254.1.1', 'dev', 'eth0']);
  const failed = async (pod: Pod) => {
    const c = await cni('CHECK', pod, { prevResult: pod.result });
    assert.notEqual(c.code, 0, `CHECK ${pod.name} passed on a broken pod`);
    const error = JSON.parse(c.stdout) as { code: number; msg: string };
    assert.equal(typeof error.code, 'number', c.stdout);
    return error.msg;
  };
  const routeMsg = await failed(noRoute);
  assert.match(routeMsg, /route/);
  assert.match(routeMsg, /missing/);
  assert.ok(routeMsg.includes(`${noRoute.address}/32`), routeMsg);
  const neighbourMsg = await failed(noNeighbour);
  assert.match(neighbourMsg, /neighbour 169\.254\.1\.1 .*missing/);

  // put both back as they were: CHECK passes again, so it was exactly the missing pieces it objected to
  const [link] = (await readIpJson(node.netns, [`link show dev ${noNeighbour.hostVeth}`]))[0] as { address: string }[];
  await run(['ip', '-n', node.netns, 'route', 'add', `${noRoute.address}/32`, 'dev', noRoute.hostVeth!, 'scope', 'link']);
  await run(['ip', '-n', noNeighbour.netns, 'neigh', 'add', '169.254.1.1', 'lladdr', link!.address, 'dev', 'eth0', 'nud', 'permanent']);
  for (const pod of [noRoute, noNeighbour]) {
    const c = await cni('CHECK', pod, { prevResult: pod.result });
    assert.deepEqual([c.code, c.stdout], [0, ''], describe(`CHECK ${pod.name} after the repair`, c));
  }
});

test('the host carries the SNAT chain to the primary IP, the connmark rules, rule 1024, a 512 rule per pod and 1536 rules exactly for pods on secondary ENIs', async (t) => {
  const nat = (await run(['iptables-save', '-t', 'nat'], { netns: node.netns })).stdout;
  const snatChain = nat.split('\n').filter((l) => l.startsWith('-A AWS-SNAT-CHAIN-0 '));
  assert.match(nat, /^-A POSTROUTING -m comment --comment "AWS SNAT CHAIN" -j AWS-SNAT-CHAIN-0$/m);
  assert.match(snatChain[0] ?? '', /^-A AWS-SNAT-CHAIN-0 -d 10\.0\.0\.0\/16 -m comment --comment "AWS SNAT CHAIN" -j RETURN$/, nat);
  assert.match(snatChain.at(-1) ?? '', new RegExp(`! --dst-type LOCAL -j SNAT --to-source ${node.nodeIp.replace(/\./g, '\\.')}( --random-fully| --random)?$`), nat);
  assert.equal(snatChain.length, 2, nat);

  // ipamd picks the connmark backend as upstream does (nftables unless iptables is the legacy variant) and reports it
  const metrics = (await run(['curl', '--silent', '--fail', 'http://127.0.0.1:61678/metrics'], { netns: node.netns })).stdout;
  const backend = /^awscni_connmark_backend\{backend="(\w+)"\} 1$/m.exec(metrics)?.[1];
  t.diagnostic(`connmark backend: ${backend}`);
  if (backend === 'nftables') {
    const table = (await run(['nft', 'list', 'table', 'ip', 'aws-cni'], { netns: node.netns })).stdout;
    assert.match(table, /iifname "eni\*" .*jump snat-mark/);
    assert.match(table, /ip daddr 10\.0\.0\.0\/16 return\n.*ct mark set ct mark \| 0x00000080/);
    assert.match(table, /meta mark set ct mark & 0x00000080/);
    assert.doesNotMatch(nat, /AWS-CONNMARK-CHAIN-0/);
  } else {
    assert.equal(backend, 'iptables', metrics);
    assert.match(nat, /^-A PREROUTING -i eni\+ -m comment --comment "AWS, outbound connections" -j AWS-CONNMARK-CHAIN-0$/m);
    assert.match(nat, /^-A AWS-CONNMARK-CHAIN-0 -d 10\.0\.0\.0\/16 -m comment --comment "AWS CONNMARK CHAIN" -j RETURN$/m);
    assert.match(nat, /^-A AWS-CONNMARK-CHAIN-0 -m comment --comment "AWS, CONNMARK" -j CONNMARK --set-xmark 0x80\/0x80$/m);
    assert.match(nat, /^-A PREROUTING -m comment --comment "AWS, CONNMARK" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80$/m);
  }
  const mangle = (await run(['iptables-save', '-t', 'mangle'], { netns: node.netns })).stdout;
  assert.match(mangle, /^-A PREROUTING -i eth0 -m comment --comment "AWS, primary ENI" -m addrtype --dst-type LOCAL --limit-iface-in -j CONNMARK --set-xmark 0x80\/0x80$/m);
  assert.match(mangle, /^-A PREROUTING -i eni\+ -m comment --comment "AWS, primary ENI" -j CONNMARK --restore-mark --nfmask 0x80 --ctmask 0x80$/m);

  const { rules } = await nodeState();
  assert.ok(rules.some((r) => r.priority === 1024 && r.fwmark === '0x80' && r.fwmask === '0x80' && r.table === 'main'), JSON.stringify(rules));
  const toPod = rules.filter((r) => r.priority === 512);
  assert.deepEqual(toPod.map((r) => `${r.dst} ${r.table}`).sort(), first.map((p) => `${p.address} main`).sort());
  const eniOf = await enisOfAddresses();
  const onSecondary = first.filter((p) => eniOf.get(p.address!)!.device >= 1);
  assert.ok(onSecondary.length > 0, 'some pods are on secondary ENIs');
  const fromPod = rules.filter((r) => r.priority === 1536);
  assert.deepEqual(fromPod.map((r) => `${r.src} ${r.table}`).sort(), onSecondary.map((p) => `${p.address} ${eniOf.get(p.address!)!.table}`).sort());
});

test("100 pods put addresses on secondary ENIs; a pod on one reaches the router through that ENI's link with its own address, and beyond the VPC through eth0 as the node", async (t) => {
  const eniOf = await enisOfAddresses();
  const perDevice = new Map<number, number>();
  for (const p of first) perDevice.set(eniOf.get(p.address!)!.device, (perDevice.get(eniOf.get(p.address!)!.device) ?? 0) + 1);
  t.diagnostic(`pods per ENI device: ${[...perDevice].sort(([a], [b]) => a - b).map(([d, n]) => `${d}: ${n}`).join(', ')}`);
  assert.ok([...perDevice.keys()].some((d) => d >= 1), 'some pods are on secondary ENIs');
  const pod = first.find((p) => eniOf.get(p.address!)!.device >= 1)!;
  const { device, table } = eniOf.get(pod.address!)!;
  const eniLink = `eth${device}`;

  // the kernel's choice for a packet from the pod, as it arrives on the host veth
  const routeGet = (to: string) => run(['ip', '-n', node.netns, 'route', 'get', to, 'from', pod.address!, 'iif', pod.hostVeth!]);
  assert.match((await routeGet(ROUTER)).stdout, new RegExp(`dev ${eniLink} table ${table}\\b`));

  // ipamd's own traffic to the emulator also leaves eth0, a few packets at a time: the counts are far apart
  const count = 50;
  const start = await counters();
  const vpc = await udpFromPod(pod, ROUTER, count);
  const afterVpc = await counters();
  assert.equal(vpc.echoes, count, 'every datagram to the router was echoed');
  assert.deepEqual(new Set(vpc.sources), new Set([pod.address]), 'to the VPC the pod keeps its own address');
  assert.ok(delta(start, afterVpc, 'sent', eniLink) >= count, `${eniLink} sent ${delta(start, afterVpc, 'sent', eniLink)} packets`);
  assert.ok(delta(start, afterVpc, 'arrived', eniLink) >= count, `${eniLink}'s far end received ${delta(start, afterVpc, 'arrived', eniLink)}`);
  assert.ok(delta(start, afterVpc, 'sent', 'eth0') < count, `eth0 sent ${delta(start, afterVpc, 'sent', 'eth0')} packets meanwhile`);
  t.diagnostic(`${count} datagrams to ${ROUTER}: ${eniLink} sent ${delta(start, afterVpc, 'sent', eniLink)} packets, eth0 ${delta(start, afterVpc, 'sent', 'eth0')}`);

  // outside the VPC the connmark marks the flow: rule 1024 sends it to main (eth0), and the SNAT chain gives it the node's address
  await run(['ip', 'addr', 'add', `${BEYOND_VPC}/32`, 'dev', 'lo']);
  const beyond = await udpFromPod(pod, BEYOND_VPC, count);
  const afterBeyond = await counters();
  assert.equal(beyond.echoes, count, 'every datagram beyond the VPC was echoed');
  assert.deepEqual(new Set(beyond.sources), new Set([node.nodeIp]), 'beyond the VPC the pod is seen as the node');
  assert.ok(delta(afterVpc, afterBeyond, 'sent', 'eth0') >= count, `eth0 sent ${delta(afterVpc, afterBeyond, 'sent', 'eth0')} packets`);
  assert.ok(delta(afterVpc, afterBeyond, 'sent', eniLink) < count, `${eniLink} sent ${delta(afterVpc, afterBeyond, 'sent', eniLink)} packets meanwhile`);
  t.diagnostic(`${count} datagrams to ${BEYOND_VPC}: eth0 sent ${delta(afterVpc, afterBeyond, 'sent', 'eth0')} packets, ${eniLink} ${delta(afterVpc, afterBeyond, 'sent', eniLink)}`);
});

test('DEL of the 100 pods through the launcher leaves no host veth, /32 route, 512 or 1536 rule, and ipamd holds no address for them', async () => {
  for (const pod of first) {
    const c = await cni('DEL', pod, { prevResult: pod.result });
    assert.deepEqual([c.code, c.stdout], [0, ''], describe(`DEL ${pod.name}`, c));
  }
  const addresses = new Set(first.map((p) => p.address!));
  const s = await nodeState();
  assert.deepEqual(s.links.filter((l) => first.some((p) => p.hostVeth === l)), []);
  assert.deepEqual(s.mainRoutes.filter((dst) => addresses.has(dst.replace(/\/32$/, ''))), []);
  assert.deepEqual(s.rules.filter((r) => r.priority === 512 || r.priority === 1536), []);
  const held = heldAddresses(await node.introspect('/v1/enis'));
  assert.deepEqual([...held].filter(([address, podName]) => addresses.has(address) || first.some((p) => p.name === podName)), []);
});

test('with ipamd killed, DEL through the launcher exits 0 and removes the host veth, /32 route and rules it can tie to the pod (by netns or prevResult), and leaves them with neither', async (t) => {
  for (const pod of late) await addPod(pod);
  const eniOf = await enisOfAddresses();
  const wiredRules = (await nodeState()).rules.filter((r) => late.some((p) => r.src === p.address || r.dst === p.address));
  assert.equal(wiredRules.filter((r) => r.priority === 512).length, LATE);
  assert.equal(wiredRules.filter((r) => r.priority === 1536).length, late.filter((p) => eniOf.get(p.address!)!.device >= 1).length);
  t.diagnostic(`late pods on ENI devices ${late.map((p) => eniOf.get(p.address!)!.device).join(', ')}`);

  await node.killIpamd();
  assert.ok(existsSync(node.socket), 'a crashed ipamd leaves its socket file behind');
  const gone = async (pod: Pod) => {
    const s = await nodeState();
    assert.ok(!s.links.includes(pod.hostVeth!), `${pod.hostVeth} is still there`);
    assert.ok(!s.mainRoutes.includes(pod.address!), `the /32 route to ${pod.address} is still there`);
    assert.deepEqual(s.rules.filter((r) => r.src === pod.address || r.dst === pod.address), []);
  };
  const [withPrev, withNeither, netnsGone] = late as [Pod, Pod, Pod];

  const del = await cni('DEL', withPrev, { prevResult: withPrev.result });
  assert.deepEqual([del.code, del.stdout], [0, ''], describe(`DEL ${withPrev.name}`, del));
  await gone(withPrev);
  // CRI's second DEL: neither a cached result nor a netns
  const again = await cni('DEL', withPrev, { netns: '' });
  assert.deepEqual([again.code, again.stdout], [0, ''], describe(`second DEL ${withPrev.name}`, again));

  // without netns or prevResult the veth cannot be tied to this container (issue 10): left alone, then removed by a DEL with its netns
  const bare = await cni('DEL', withNeither, { netns: '' });
  assert.deepEqual([bare.code, bare.stdout], [0, ''], describe(`DEL ${withNeither.name} without prevResult or netns`, bare));
  assert.ok((await nodeState()).links.includes(withNeither.hostVeth!), `${withNeither.hostVeth} was deleted without being tied to the pod`);
  const withNetns = await cni('DEL', withNeither);
  assert.deepEqual([withNetns.code, withNetns.stdout], [0, ''], describe(`DEL ${withNeither.name} with its netns`, withNetns));
  await gone(withNeither);

  await run(['ip', 'netns', 'del', netnsGone.netns]);
  const orphan = await cni('DEL', netnsGone, { prevResult: netnsGone.result });
  assert.deepEqual([orphan.code, orphan.stdout], [0, ''], describe(`DEL ${netnsGone.name} after its netns was deleted`, orphan));
  await gone(netnsGone);
});
