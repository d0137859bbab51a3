import assert from 'node:assert/strict';
import { test } from 'node:test';
import { flowPath, forwardPath, onPremisesBehind, onPremisesHolding, parseTopology, resolveTarget, type NetworkInterface, type VpcModel } from '../../../src/vpc/index.js';
import { defaultVpcFacts } from './default-vpc.js';

// The default lab scenario's VPCs with a virtual private gateway on main, a data centre behind it, and a route to it
// from the private subnet only.
const eni = (over: Partial<NetworkInterface> & Pick<NetworkInterface, 'eniId' | 'privateIps'>): NetworkInterface => ({
  vpcId: 'vpc-main', subnetId: 'subnet-priv', ipv4Prefixes: [], publicIps: {}, ...over,
});
const dc = '192.168.10.10';
const model: VpcModel = {
  ...defaultVpcFacts,
  routeTables: defaultVpcFacts.routeTables.map((t) =>
    t.id === 'rtb-private' ? { ...t, routes: [...t.routes, { destination: '192.168.0.0/16', target: { kind: 'vgw', id: 'vgw-1' } }] } : t),
  vpnGateways: [{ id: 'vgw-1', name: 'dc-vgw', vpcId: 'vpc-main' }],
  onPremises: [
    { name: 'dc', cidr: '192.168.0.0/16', via: { vgwId: 'vgw-1' } },
    { name: 'branch', cidr: '172.20.0.0/16', via: { tgwId: 'tgw-1' } },
  ],
  enis: [
    eni({ eniId: 'eni-pub0', subnetId: 'subnet-pub', privateIps: ['10.0.0.5'] }),
    eni({ eniId: 'eni-priv0', privateIps: ['10.0.16.10', '10.0.16.11'] }),
    eni({ eniId: 'eni-priv1', privateIps: ['10.0.16.20', '10.0.16.21'] }),
    eni({ eniId: 'eni-peer', vpcId: 'vpc-peer', subnetId: 'subnet-peer', privateIps: ['10.1.0.10'] }),
  ],
};

test('on-premises networks: which holds an address, and which lie behind a gateway', () => {
  assert.equal(onPremisesHolding(model, dc)?.name, 'dc');
  assert.equal(onPremisesHolding(model, '10.0.0.5'), undefined);
  assert.equal(onPremisesBehind(model, 'vgw-1', dc)?.name, 'dc');
  assert.equal(onPremisesBehind(model, 'vgw-1', '172.20.0.5'), undefined, 'the branch is behind the transit gateway');
  assert.equal(onPremisesBehind(model, 'tgw-1', '172.20.0.5')?.name, 'branch');
});

test('a vgw route resolves only while the gateway is attached to the VPC of the table', () => {
  assert.deepEqual(resolveTarget(model, 'vpc-main', { kind: 'vgw', id: 'vgw-1' }), { kind: 'vgw', vgw: model.vpnGateways![0] });
  assert.equal(resolveTarget(model, 'vpc-peer', { kind: 'vgw', id: 'vgw-1' }).kind, 'unresolved');
  const detached: VpcModel = { ...model, vpnGateways: [{ id: 'vgw-1', name: 'dc-vgw', vpcId: null }] };
  const r = resolveTarget(detached, 'vpc-main', { kind: 'vgw', id: 'vgw-1' });
  assert.equal(r.kind, 'unresolved');
  assert.equal(flowPath(detached, { eniId: 'eni-priv0', source: '10.0.16.10' }, dc).verdict, 'unknown');
});

test('a pod behind a secondary ENI reaches the data centre over the VGW with its own address, and the reply comes back', () => {
  const flow = flowPath(model, { eniId: 'eni-priv1', source: '10.0.16.21' }, dc);
  assert.equal(flow.verdict, 'delivered');
  assert.equal(flow.sourceSeen, '10.0.16.21');
  assert.deepEqual(flow.forward.hops.map((h) => `${h.element} ${h.id}`), ['eni eni-priv1', 'route-table rtb-private', 'virtual-private-gateway vgw-1', 'on-premises dc']);
  assert.deepEqual(flow.forward.arrivedAt, { onPremises: { network: 'dc', address: dc } });
  assert.deepEqual(flow.reply?.hops.map((h) => h.element), ['on-premises', 'virtual-private-gateway', 'eni']);
  assert.equal(flow.reply?.hops[0]!.action, 'route 10.0.0.0/16 → vgw-1');
});

test('the data centre initiating to a pod behind eth1: delivered when the reply leaves eth1, dropped by the src/dst check when it leaves eth0', () => {
  const works = flowPath(model, { onPremises: dc }, '10.0.16.21');
  assert.equal(works.verdict, 'delivered');
  assert.equal(works.sourceSeen, dc);
  assert.deepEqual(works.forward.hops.map((h) => h.element), ['on-premises', 'virtual-private-gateway', 'eni']);
  assert.deepEqual(works.reply?.hops.map((h) => h.element), ['eni', 'route-table', 'virtual-private-gateway', 'on-premises']);
  // before 1.8.0 the node sends the reply out its primary ENI, which does not hold the pod's address
  const old = flowPath(model, { onPremises: dc }, '10.0.16.21', { replyFromEniId: 'eni-priv0' });
  assert.equal(old.verdict, 'dropped');
  assert.equal(old.reason, 'source-destination-check');
  assert.equal(old.reply?.hops.at(-1)?.id, 'eni-priv0');
});

test('no-route: a subnet whose table lacks the on-premises route, an address behind no network, and the data centre to the peered VPC', () => {
  // the public subnet's 0.0.0.0/0 goes to the internet gateway, and the internet has no route to a private address
  const pub = forwardPath(model, { eniId: 'eni-pub0', source: '10.0.0.5' }, dc);
  assert.deepEqual([pub.verdict, pub.hops[1]!.action], ['dropped', 'route 0.0.0.0/0 → igw-1']);
  const peer = forwardPath(model, { eniId: 'eni-peer', source: '10.1.0.10' }, dc);
  assert.equal(peer.verdict, 'dropped');
  assert.equal(peer.reason, 'no-route');
  assert.equal(peer.hops.at(-1)?.element, 'route-table', 'the peer VPC has no route to the data centre');
  // a route wider than the on-premises network: the gateway has nobody behind it for the rest
  const wide: VpcModel = { ...model, routeTables: model.routeTables.map((t) => (t.id === 'rtb-private' ? { ...t, routes: [...t.routes.filter((r) => r.target.kind !== 'vgw'), { destination: '192.0.0.0/8', target: { kind: 'vgw', id: 'vgw-1' } }] } : t)) };
  const beyond = forwardPath(wide, { eniId: 'eni-priv0', source: '10.0.16.10' }, '192.200.0.1');
  assert.deepEqual([beyond.verdict, beyond.reason, beyond.hops.at(-1)?.element], ['dropped', 'no-route', 'virtual-private-gateway']);
  // the data centre routes only main's CIDR back over the VGW: no transit to the peered VPC (no edge-to-edge routing)
  const transit = forwardPath(model, { onPremises: dc }, '10.1.0.10');
  assert.deepEqual([transit.verdict, transit.reason], ['dropped', 'no-route']);
  assert.deepEqual(transit.hops.map((h) => `${h.element} ${h.id}`), ['on-premises dc']);
  assert.match(transit.detail!, /routes only vpc-main's CIDRs \(10\.0\.0\.0\/16\) over vgw-1/);
});

test('a secondary VPC CIDR is routed back from the data centre too', () => {
  const withSecondary: VpcModel = {
    ...model,
    vpcs: model.vpcs.map((v) => (v.id === 'vpc-main' ? { ...v, cidrs: ['10.0.0.0/16', '100.64.0.0/16'] } : v)),
    enis: [...model.enis, eni({ eniId: 'eni-pods', subnetId: 'subnet-priv', privateIps: ['100.64.0.7'] })],
  };
  const flow = forwardPath(withSecondary, { onPremises: dc }, '100.64.0.7');
  assert.equal(flow.verdict, 'delivered');
  assert.equal(flow.hops[0]!.action, 'route 100.64.0.0/16 → vgw-1');
});

test('the topology loader refuses an on-premises CIDR that overlaps a VPC block or another on-premises network, with field paths', () => {
  const base = {
    vpcs: [{ name: 'main', cidr: '10.0.0.0/16', secondaryCidrs: ['100.64.0.0/16'] }],
    virtualPrivateGateways: [{ name: 'vgw', vpc: 'main' }],
  };
  assert.throws(
    () => parseTopology({ ...base, onPremises: [{ name: 'dc', cidr: '10.0.128.0/17', via: { vgw: 'vgw' } }] }),
    /onPremises\[0\]\.cidr: 10\.0\.128\.0\/17 overlaps vpcs\[0\] 'main' \(10\.0\.0\.0\/16\)/,
  );
  assert.throws(
    () => parseTopology({ ...base, onPremises: [{ name: 'dc', cidr: '100.64.0.0/10', via: { vgw: 'vgw' } }] }),
    /onPremises\[0\]\.cidr: 100\.64\.0\.0\/10 overlaps vpcs\[0\] 'main' \(100\.64\.0\.0\/16\)/,
  );
  assert.throws(
    () => parseTopology({ ...base, onPremises: [{ name: 'dc', cidr: '192.168.0.0/16', via: { vgw: 'vgw' } }, { name: 'lab', cidr: '192.168.4.0/24', via: { vgw: 'vgw' } }] }),
    /onPremises\[1\]\.cidr: 192\.168\.4\.0\/24 overlaps onPremises\[0\] 'dc'/,
  );
  assert.throws(() => parseTopology({ ...base, onPremises: [{ name: 'dc', cidr: '192.168.0.0/16', via: { vgw: 'nope' } }] }), /onPremises\[0\]\.via\.vgw: no virtual private gateway named 'nope'/);
  assert.equal(parseTopology({ ...base, onPremises: [{ name: 'dc', cidr: '192.168.0.0/16', via: { vgw: 'vgw' } }] }).onPremises.length, 1);
});

test('over a transit gateway: a VPN attachment carries the static route to the branch, which routes what the gateway has back', () => {
  // main's private subnet routes the branch to the hub; the hub has main's CIDR (propagated) and the branch (static → VPN)
  const withTgw: VpcModel = {
    ...model,
    routeTables: model.routeTables.map((t) => (t.id === 'rtb-private' ? { ...t, routes: [...t.routes, { destination: '172.20.0.0/16', target: { kind: 'tgw', id: 'tgw-1' } }] } : t)),
    transitGateways: [{
      id: 'tgw-1',
      name: 'hub',
      attachments: [{ id: 'tgw-attach-main', resourceType: 'vpc', vpcId: 'vpc-main', subnetIds: ['subnet-priv'] }, { id: 'tgw-attach-vpn', resourceType: 'vpn', resourceId: 'vpn-1' }],
      routes: [
        { destination: '10.0.0.0/16', attachmentId: 'tgw-attach-main', origin: 'propagated' },
        { destination: '172.20.0.0/16', attachmentId: 'tgw-attach-vpn', origin: 'static' },
        { destination: '172.30.0.0/16', attachmentId: 'tgw-attach-vpn', origin: 'static' },
      ],
    }],
  };
  const branch = '172.20.0.5';
  const out = flowPath(withTgw, { eniId: 'eni-priv1', source: '10.0.16.21' }, branch);
  assert.equal(out.verdict, 'delivered');
  assert.deepEqual(out.forward.hops.map((h) => `${h.element} ${h.id}`), ['eni eni-priv1', 'route-table rtb-private', 'transit-gateway tgw-1', 'on-premises branch']);
  assert.deepEqual(out.reply?.hops.map((h) => h.element), ['on-premises', 'transit-gateway', 'route-table', 'eni']);
  // the branch initiating to the pod behind eth1; before 1.8.0 the reply out eth0 is dropped, as over the VGW
  assert.equal(flowPath(withTgw, { onPremises: branch }, '10.0.16.21').verdict, 'delivered');
  assert.equal(flowPath(withTgw, { onPremises: branch }, '10.0.16.21', { replyFromEniId: 'eni-priv0' }).reason, 'source-destination-check');
  // a static route to the VPN for a range no network behind the hub holds, and a destination the hub has no route to
  const nobody = forwardPath(withTgw, { onPremises: branch }, '172.30.0.1');
  assert.deepEqual([nobody.verdict, nobody.reason, nobody.hops.at(-1)?.element], ['dropped', 'no-route', 'transit-gateway']);
  const peer = forwardPath(withTgw, { onPremises: branch }, '10.1.0.10');
  assert.deepEqual([peer.verdict, peer.reason], ['dropped', 'no-route']);
  assert.match(peer.detail!, /transit gateway tgw-1 has no route to 10\.1\.0\.10/);
});
