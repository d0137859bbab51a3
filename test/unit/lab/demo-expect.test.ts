import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import type { Ec2Facts, EniMapping } from '../../../src/ec2/index.js';
import { LabState, buildLabWorld, defaultScenarioPath, demoCases, demoExpectations, fabricCounter, loadScenario, planFabric, type LabRecord, type PodRecord } from '../../../src/lab/index.js';
import type { AttachedEni, ExplainHop, Explanation } from '../../../src/explain/index.js';
import { defaultVpcFacts } from '../vpc/default-vpc.js';

// A lab that is "up" as far as its state files say: the default scenario with the addresses EC2 and ipamd gave out.
const dir = mkdtempSync(join(tmpdir(), 'podnet-demo-expect-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const state = new LabState(dir);
state.ensure();

// examples/lab.yaml's groups and ACLs as EC2 describes them (a new group's egress rule allows everything)
const allOut = [{ protocol: 'all' as const, peer: { cidr: '0.0.0.0/0' } }];
const allowAll = (egress: boolean) => ({ ruleNumber: 100, egress, protocol: 'all' as const, cidr: '0.0.0.0/0', action: 'allow' as const });
// examples/lab.yaml's transit VPC and the transit gateway hub joining it to main's private subnet, as EC2 describes them
const toHub = { kind: 'tgw', id: 'tgw-hub' } as const;
const transit = {
  vpc: { id: 'vpc-transit', name: 'transit', cidr: '10.2.0.0/16' },
  subnet: { id: 'subnet-transit', name: 'transit-a', vpcId: 'vpc-transit', cidr: '10.2.0.0/24', routeTableId: 'rtb-transit' },
  routeTables: [
    ...defaultVpcFacts.routeTables.map((t) => (t.id === 'rtb-private' ? { ...t, routes: [...t.routes, { destination: '10.2.0.0/16', target: toHub }] } : t)),
    { id: 'rtb-transit', vpcId: 'vpc-transit', routes: [{ destination: '10.2.0.0/16', target: { kind: 'local' } }, { destination: '10.0.0.0/16', target: toHub }] },
  ],
  tgw: {
    id: 'tgw-hub',
    name: 'hub',
    attachments: [
      { id: 'tgw-attach-main', resourceType: 'vpc', vpcId: 'vpc-main', subnetIds: ['subnet-priv'] },
      { id: 'tgw-attach-transit', resourceType: 'vpc', vpcId: 'vpc-transit', subnetIds: ['subnet-transit'] },
    ],
    routes: [
      { destination: '10.0.0.0/16', attachmentId: 'tgw-attach-main', origin: 'propagated' },
      { destination: '100.64.0.0/16', attachmentId: 'tgw-attach-main', origin: 'propagated' },
      { destination: '10.2.0.0/16', attachmentId: 'tgw-attach-transit', origin: 'propagated' },
    ],
  },
} satisfies { routeTables: Ec2Facts['routeTables']; tgw: NonNullable<Ec2Facts['transitGateways']>[number] } & Record<string, unknown>;

const facts: Ec2Facts = {
  ...defaultVpcFacts,
  // main's secondary block for custom networking, and its pod subnet (the main route table: local routes only)
  vpcs: [...defaultVpcFacts.vpcs.map((v) => (v.id === 'vpc-main' ? { ...v, cidrs: ['10.0.0.0/16', '100.64.0.0/16'] } : v)), transit.vpc],
  subnets: [...defaultVpcFacts.subnets, { id: 'subnet-pods', name: 'pods-a', vpcId: 'vpc-main', cidr: '100.64.32.0/19', routeTableId: null }, transit.subnet],
  routeTables: transit.routeTables,
  transitGateways: [transit.tgw],
  instances: [],
  securityGroups: [],
  filtering: {
    securityGroups: [
      { id: 'sg-nodes', name: 'nodes', vpcId: 'vpc-main', ingress: [{ protocol: 'all', peer: { cidr: '10.0.0.0/16' } }, { protocol: 'all', peer: { cidr: '10.1.0.0/16' } }, { protocol: 'all', peer: { cidr: '10.2.0.0/16' } }, { protocol: 'all', peer: { cidr: '100.64.0.0/16' } }, { protocol: 'all', peer: { cidr: '192.168.0.0/16' } }], egress: allOut },
      { id: 'sg-echo', name: 'public-echo', vpcId: 'vpc-main', ingress: [{ protocol: 'tcp', ports: { from: 7007, to: 7007 }, peer: { cidr: '0.0.0.0/0' } }], egress: allOut },
      { id: 'sg-guarded', name: 'guarded', vpcId: 'vpc-main', ingress: [{ protocol: 'all', peer: { groupId: 'sg-nodes' } }], egress: allOut },
      { id: 'sg-peerhosts', name: 'peer-hosts', vpcId: 'vpc-peer', ingress: [{ protocol: 'all', peer: { cidr: '10.0.0.0/16' } }], egress: allOut },
      { id: 'sg-transitdefault', name: 'default', vpcId: 'vpc-transit', ingress: [{ protocol: 'all', peer: { groupId: 'sg-transitdefault' } }], egress: allOut },
    ],
    networkAcls: [
      { id: 'acl-main', vpcId: 'vpc-main', isDefault: true, subnetIds: ['subnet-pub', 'subnet-priv', 'subnet-pods'], entries: [allowAll(false), allowAll(true)] },
      { id: 'acl-peerdefault', vpcId: 'vpc-peer', isDefault: true, subnetIds: [], entries: [allowAll(false), allowAll(true)] },
      { id: 'acl-peer', vpcId: 'vpc-peer', isDefault: false, subnetIds: ['subnet-peer'], entries: [{ ruleNumber: 90, egress: false, protocol: 'tcp', ports: { from: 7007, to: 7007 }, cidr: '10.0.0.0/20', action: 'deny' }, allowAll(false), allowAll(true)] },
    ],
  },
};
const groupsOf: Record<string, string[]> = { 'i-pubip': ['sg-nodes', 'sg-echo'], 'i-excl': ['sg-guarded'], 'i-peerhost': ['sg-peerhosts'], 'i-transithost': ['sg-transitdefault'] };
const eni = (eniId: string, instanceId: string | null, deviceIndex: number | null, subnetId: string, privateIps: string[], publicIps: Record<string, string> = {}): EniMapping & { wired: boolean } => ({
  eniId, mac: '02:00:00:00:00:01', vpcId: subnetId === 'subnet-peer' ? 'vpc-peer' : subnetId === 'subnet-transit' ? 'vpc-transit' : 'vpc-main', subnetId, instanceId, deviceIndex, privateIps, ipv4Prefixes: [], ipv6Addresses: [], ipv6Prefixes: [], publicIps,
  groupIds: instanceId === null ? [] : (groupsOf[instanceId] ?? ['sg-nodes']), description: '', requesterManaged: false, wired: true,
});
const enis = [
  eni('eni-nat', null, null, 'subnet-pub', ['10.0.0.4'], { '10.0.0.4': '203.0.113.4' }),
  eni('eni-pubip0', 'i-pubip', 0, 'subnet-pub', ['10.0.0.5', '10.0.0.7'], { '10.0.0.5': '203.0.113.5' }),
  eni('eni-pubnoip0', 'i-pubnoip', 0, 'subnet-pub', ['10.0.0.6', '10.0.0.8']),
  eni('eni-priv0', 'i-priv', 0, 'subnet-priv', ['10.0.16.4', '10.0.16.10']),
  eni('eni-priv1', 'i-priv', 1, 'subnet-priv', ['10.0.16.20', '10.0.16.21']),
  eni('eni-ext0', 'i-ext', 0, 'subnet-priv', ['10.0.16.5', '10.0.16.11']),
  eni('eni-excl0', 'i-excl', 0, 'subnet-priv', ['10.0.16.6', '10.0.16.14']),
  eni('eni-old0', 'i-old', 0, 'subnet-priv', ['10.0.16.7']),
  eni('eni-old1', 'i-old', 1, 'subnet-priv', ['10.0.16.30', '10.0.16.31']),
  eni('eni-peerhost', 'i-peerhost', 0, 'subnet-peer', ['10.1.0.4']),
  eni('eni-transithost', 'i-transithost', 0, 'subnet-transit', ['10.2.0.4']),
  eni('eni-cn0', 'i-cn', 0, 'subnet-pub', ['10.0.0.9'], { '10.0.0.9': '203.0.113.9' }),
  eni('eni-cn1', 'i-cn', 1, 'subnet-pods', ['100.64.32.4', '100.64.32.5']),
];
const instances: Record<string, string> = { 'pub-ip': 'i-pubip', 'pub-noip': 'i-pubnoip', priv: 'i-priv', 'priv-ext': 'i-ext', 'priv-excl': 'i-excl', 'priv-old': 'i-old', 'pub-cn': 'i-cn' };
const scenario = await loadScenario(defaultScenarioPath);
const lab = {
  plan: planFabric(scenario),
  // each node's env as lab up gives it: the scenario's settings (EXTERNALSNAT, EXCLUDE_SNAT_CIDRS, pre-1.8 routing, …)
  nodes: Object.fromEntries(Object.entries(instances).map(([name, instanceId]) => [name, { name, instanceId, ns: `pn-n-${name}`, env: scenario.nodes.find((n) => n.instance === name)?.env ?? {} }])),
  hosts: { 'peer-host': { ns: 'pn-h-peer-host', instanceId: 'i-peerhost' }, 'transit-host': { ns: 'pn-h-transit-host', instanceId: 'i-transithost' } },
} as unknown as LabRecord;
state.writeLab(lab);
state.writeFabric({ generation: 1, updatedAt: '', enis, eventsConnected: true, facts });
const pods: Array<[string, string, string | null]> = [
  ['web-pub', 'pub-ip', '10.0.0.7'], ['web-noip', 'pub-noip', '10.0.0.8'], ['web-priv', 'priv', '10.0.16.10'], ['web-ext', 'priv-ext', '10.0.16.11'],
  ['web-excl', 'priv-excl', '10.0.16.14'], ['web-eni1', 'priv', '10.0.16.21'], ['web-old-eni1', 'priv-old', '10.0.16.31'], ['hostnet', 'priv', null],
  ['web-cn', 'pub-cn', '100.64.32.5'],
];
for (const [name, node, ip] of pods) state.writePod({ name, node, ns: `pn-p-${name}`, hostNetwork: ip === null, ip, containerId: name } satisfies PodRecord);
// the lab's nodes run iptables-nft 1.8: the nftables connmark backend, --random-fully
const world = buildLabWorld(state.readLab()!, state.readFabric()!, state.pods(), { connmarkBackend: 'nftables', randomFullySupported: true });
const port = lab.plan.echoPort;

test("the lab's world: each node's settings from its env, its primary link, and every endpoint by the name lab probe takes", () => {
  const settings = Object.fromEntries(world.nodes.map((n) => [n.name, n.settings]));
  assert.equal(settings['priv-ext']!.externalSnat, true);
  assert.deepEqual(settings['priv-excl']!.excludeSnatCidrs, ['10.1.0.0/16']);
  assert.equal(settings['priv-old']!.pre18Routing, true);
  assert.equal(settings['priv']!.externalSnat, false);
  assert.deepEqual([...new Set(world.nodes.map((n) => `${n.primaryInterface} ${n.connmarkBackend} ${n.randomFullySupported}`))], ['eth0 nftables true']);
  const byName = Object.fromEntries(world.endpoints.map((e) => [e.name, e]));
  assert.deepEqual(byName['hostnet'], { name: 'hostnet', kind: 'pod', address: '10.0.16.4', node: 'priv', hostNetwork: true });
  assert.deepEqual(byName['web-eni1'], { name: 'web-eni1', kind: 'pod', address: '10.0.16.21', node: 'priv', hostNetwork: false });
  assert.deepEqual([byName['inet']?.kind, byName['dc-host']?.kind, byName['peer-host']?.kind, byName['pub-ip']?.kind], ['internet', 'on-premises', 'host', 'node']);
  assert.equal(byName['pub-ip']!.address, '10.0.0.5');
  assert.equal(world.instanceNames['i-transithost'], 'transit-host');
  const enis: readonly AttachedEni[] = world.model.enis;
  assert.equal(enis.find((e) => e.eniId === 'eni-old1')!.deviceIndex, 1);
});

test("the demo's expectations come from explain over the lab's world: the documented outcome of every check", () => {
  const outcomes = demoCases.flatMap((c) => demoExpectations(world, c, port).map((e) => [`${e.from} → ${e.to}`, e.saw, e.dropCounter ?? null]));
  // explain decides every check (an unknown would also read as saw null)
  assert.deepEqual(demoCases.flatMap((c) => demoExpectations(world, c, port).filter((e) => e.verdict === 'unknown').map((e) => `${e.from} → ${e.to}: ${e.describe}`)), []);
  assert.deepEqual(outcomes, [
    ['web-pub → inet', '203.0.113.5', null], // the node's public IP
    ['web-noip → inet', null, 'no-public-ip'], // no public IP at the internet gateway
    ['web-priv → inet', '203.0.113.4', null], // the NAT gateway's EIP
    ['web-ext → inet', '203.0.113.4', null],
    ['web-ext → peer-host', '10.0.16.11', null], // the pod's own address
    ['web-excl → peer-host', '10.0.16.14', null],
    ['web-excl → inet', '203.0.113.4', null],
    ['peer-host → web-eni1', '10.1.0.4', null], // 1.8.0+: the reply leaves the ENI that holds the pod's address
    ['peer-host → web-old-eni1', null, 'source-destination-check'], // pre-1.8.0: it leaves eth0 and the source/destination check drops it
    ['hostnet → peer-host', '10.0.16.4', null], // the node's address
    ['web-pub → web-priv', '10.0.0.7', null],
    ['peer-host → web-excl', null, 'security-group'], // guarded takes only the nodes group's members
    ['peer-host → web-priv', '10.1.0.4', null], // nodes allows the peer CIDR
    ['web-pub → web-excl', '10.0.0.7', null], // the pod's address is a secondary IP of a nodes-group ENI
    ['web-pub → peer-host', null, 'network-acl'], // the peer subnet's ACL, rule 90
    ['dc-host → web-eni1', '192.168.10.10', null], // on-premises over the VGW, as the peered VPC: 1.8.0+ works
    ['dc-host → web-old-eni1', null, 'source-destination-check'], // and the pre-1.8.0 reply out eth0 is dropped
    ['transit-host → web-eni1', '10.2.0.4', null], // through the transit gateway, as the peered VPC: 1.8.0+ works
    ['transit-host → web-old-eni1', null, 'source-destination-check'], // and the pre-1.8.0 reply out eth0 is dropped
    ['web-cn → web-priv', '100.64.32.5', null], // custom networking: the pod's own address in the secondary block
    ['web-cn → inet', '203.0.113.9', null], // the node's public IP, after the node's SNAT
    ['web-priv → peer-host', '10.0.16.4', null], // before the set env case's change: the node's address (SNAT)
  ]);
});

test("each expectation shows explain's verdict, whose address is seen or the hop that dropped it, and the codes that decide it", () => {
  const [pub] = demoExpectations(world, demoCases[0]!, port);
  assert.match(pub!.describe, /^delivered, seen as node pub-ip's public IP 203\.0\.113\.5 \[.*\bSNAT_TO_PRIMARY_IP\b.*\]$/);
  const [noip] = demoExpectations(world, demoCases[1]!, port);
  assert.match(noip!.describe, /^dropped at internet-gateway igw-1 \(.*10\.0\.0\.6.*\) \[.*\bSNAT_TO_PRIMARY_IP\b.*\]$/);
  const old = demoExpectations(world, demoCases[5]!, port)[1]!;
  assert.equal(old.dropCounter, 'source-destination-check');
  assert.match(old.describe, /^reply dropped at source-destination-check eni-old0 \(.*10\.0\.16\.31.*\) \[.*\bREPLY_VIA_ETH0_SRC_DST_CHECK\b.*\]$/);
  const [hostnet] = demoExpectations(world, demoCases.find((c) => c.title.startsWith('7 '))!, port);
  assert.match(hostnet!.describe, /^delivered, seen as node priv's address 10\.0\.16\.4 \[.*\bHOST_NETWORK\b.*\]$/);
  const [blocked] = demoExpectations(world, demoCases.find((c) => c.title.startsWith('9 '))!, port);
  assert.equal(blocked!.dropCounter, 'security-group');
  assert.ok(blocked!.describe.startsWith('dropped at security-group sg-guarded (no ingress rule of sg-guarded (guarded) allows tcp/7007 from 10.1.0.4)'), blocked!.describe);
  const [denied] = demoExpectations(world, demoCases.find((c) => c.title.startsWith('11 '))!, port);
  assert.equal(denied!.dropCounter, 'network-acl');
  assert.ok(denied!.describe.startsWith('dropped at network-acl acl-peer (acl-peer ingress rule 90 denies tcp/7007 from 10.0.0.5)'), denied!.describe);
});

test("a drop's fabric counter is the VPC's reason explain gives as the drop's code; a drop on a node has none, whatever its code", () => {
  const drop = (element: ExplainHop['element'], codes: string[]): [Explanation, ExplainHop] => {
    const hop: ExplainHop = { element, id: 'x', matched: 'm', action: 'a', dropped: true };
    return [{ codes, forward: [hop], return: [] } as unknown as Explanation, hop];
  };
  assert.equal(fabricCounter(...drop('route-table', ['NO_ROUTE'])), 'no-route');
  assert.equal(fabricCounter(...drop('node-routing', ['NO_ROUTE'])), undefined, 'the node had no route: no fabric counter sees it');
  assert.equal(fabricCounter(...drop('internet-gateway', ['SNAT_TO_PRIMARY_IP', 'ROUTE_TO_INTERNET_GATEWAY', 'NO_PUBLIC_IP'])), 'no-public-ip');
  assert.equal(fabricCounter(...drop('eks-endpoint', ['ENDPOINT_PRIVATE_ACCESS', 'ENDPOINT_PRIVATE_ACCESS_OFF'])), 'endpoint-private-off');
  assert.equal(fabricCounter(...drop('destination', ['ASYMMETRIC_REPLY'])), undefined);
});
