import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ec2Facts } from '../../../src/ec2/index.js';
import { defaultScenarioPath, loadScenario, parseScenario, planFabric, renderFabric, renderFixedFabric } from '../../../src/lab/index.js';
import { labModel } from '../../../src/lab/render.js';
import { defaultVpcFacts } from '../vpc/default-vpc.js';

// The default scenario's data centre: main's virtual private gateway (a namespace on a link from main's router), the
// network dc behind it (a namespace routing for its hosts) and its host dc-host.
const scenario = await loadScenario(defaultScenarioPath);
const plan = planFabric(scenario);
const facts: Ec2Facts = { ...defaultVpcFacts, instances: [], securityGroups: [] };
const mainCidrs = ['10.0.0.0/16', ...scenario.vpcs.find((v) => v.name === 'main')!.secondaryCidrs];

test('the plan links router → VGW → on-premises network → host, each in its own pn- namespace', () => {
  const [vgw] = plan.vgws;
  assert.deepEqual([vgw!.name, vgw!.vpc, vgw!.ns, vgw!.routerDev], ['main-vgw', 'main', 'pn-vgw-main-vgw', 'pn-vgw0']);
  const [dc] = plan.onPremises;
  assert.deepEqual([dc!.name, dc!.cidr, dc!.ns, dc!.gatewayNs, dc!.routesBack], ['dc', '192.168.0.0/16', 'pn-op-dc', 'pn-vgw-main-vgw', mainCidrs]);
  assert.deepEqual(plan.onPremHosts, [{ name: 'dc-host', network: 'dc', address: '192.168.10.10', ns: 'pn-h-dc-host', networkDev: 'pn-h0' }]);
  for (const n of ['pn-vgw-main-vgw', 'pn-op-dc', 'pn-h-dc-host']) assert.ok(plan.namespaces.includes(n), n);
  const ends = (ns: string) => plan.links.flatMap((l) => [l.a, l.b]).filter((e) => e.ns === ns).map((e) => `${e.dev} ${e.cidr ?? ''}`.trim());
  assert.deepEqual(ends('pn-vgw-main-vgw'), [`pn-vpc ${vgw!.vgwSideIp}/30`, `pn-o0 ${dc!.gatewaySideIp}/30`]);
  assert.deepEqual(ends('pn-h-dc-host'), ['eth0 192.168.10.10/32']);
});

test('the fixed fabric: the VGW routes the data centre to its network, which routes only main\'s CIDRs back', () => {
  const fixed = renderFixedFabric(plan);
  const [dc] = plan.onPremises;
  assert.ok(fixed.perNs.get('pn-vgw-main-vgw')!.includes(`route add 192.168.0.0/16 via ${dc!.networkSideIp} dev pn-o0`));
  const network = fixed.perNs.get('pn-op-dc')!.filter((l) => l.startsWith('route'));
  assert.deepEqual(network, [...mainCidrs.map((c) => `route add ${c} via ${dc!.gatewaySideIp} dev pn-gw`), 'route add 192.168.10.10/32 dev pn-h0']);
  assert.deepEqual(fixed.perNs.get('pn-h-dc-host')!.filter((l) => l.startsWith('route')), ['route add default dev eth0']);
  assert.equal(fixed.sysctls.get('pn-op-dc')!['net.ipv4.conf.default.proxy_arp'], '1');
  assert.equal(fixed.sysctls.get('pn-vgw-main-vgw')!['net.ipv4.ip_forward'], '1');
});

test('the EC2 side: a vgw route becomes the router\'s route to the VGW, and the VGW routes to the VPC only while attached', () => {
  const [vgw] = plan.vgws;
  const desired = renderFabric(plan, scenario, facts, []);
  assert.ok(desired.routes.get('pn-r-main')!.some((l) => l.startsWith(`192.168.0.0/16 via ${vgw!.vgwSideIp} dev pn-vgw0 table `)));
  assert.deepEqual(desired.routes.get('pn-vgw-main-vgw'), [`10.0.0.0/16 via ${vgw!.routerSideIp} dev pn-vpc`]);
  const detached = renderFabric(plan, scenario, { ...facts, vpnGateways: [{ id: 'vgw-1', name: 'main-vgw', vpcId: null }] }, []);
  assert.equal(detached.routes.get('pn-vgw-main-vgw'), undefined);
  assert.ok(!detached.routes.get('pn-r-main')!.some((l) => l.includes('pn-vgw0')));
});

test('the lab\'s model carries the scenario\'s on-premises networks by their gateway\'s EC2 id', () => {
  assert.deepEqual(labModel(plan, facts, []).onPremises, [{ name: 'dc', cidr: '192.168.0.0/16', via: { vgwId: 'vgw-1' } }]);
  assert.deepEqual(labModel(plan, { ...facts, vpnGateways: [] }, []).onPremises, [], 'a gateway EC2 does not list has nothing behind it');
});

test('over a transit gateway: the network hangs off the TGW namespace, sends it everything, and the TGW\'s static route to the VPN reaches it', () => {
  const branch = parseScenario({
    vpcs: [{ name: 'main', cidr: '10.0.0.0/16' }],
    subnets: [{ name: 'a', vpc: 'main', az: 'us-west-2a', cidr: '10.0.1.0/24' }],
    transitGateways: [{ name: 'hub', attachments: [{ vpc: 'main', subnets: ['a'] }] }],
    onPremises: [{ name: 'branch', cidr: '172.20.0.0/16', via: { tgw: 'hub' } }],
    routeTables: [{ name: 'rt', vpc: 'main', subnets: ['a'], routes: [{ destination: '172.20.0.0/16', tgw: 'hub' }] }],
    instances: [{ name: 'node-a', type: 't3.small', subnet: 'a' }],
    nodes: [{ instance: 'node-a' }],
    onPremHosts: [{ name: 'branch-host', network: 'branch', address: '172.20.0.5' }],
  });
  const p = planFabric(branch);
  const [n] = p.onPremises;
  assert.deepEqual([n!.gatewayNs, n!.gatewayDev, n!.routesBack], ['pn-tgw-hub', 'pn-vpn0', ['default']]);
  const fixed = renderFixedFabric(p);
  assert.deepEqual(fixed.perNs.get('pn-op-branch')!.filter((l) => l.startsWith('route')), [`route add default via ${n!.gatewaySideIp} dev pn-gw`, 'route add 172.20.0.5/32 dev pn-h0']);
  assert.ok(!(fixed.perNs.get('pn-tgw-hub') ?? []).some((l) => l.includes('172.20.0.0/16')), 'the TGW routes by its own table');
  const tgwFacts: Ec2Facts = {
    vpcs: [{ id: 'vpc-main', name: 'main', cidr: '10.0.0.0/16' }],
    subnets: [{ id: 'subnet-a', name: 'a', vpcId: 'vpc-main', cidr: '10.0.1.0/24', routeTableId: 'rtb-a' }],
    routeTables: [{ id: 'rtb-a', vpcId: 'vpc-main', routes: [{ destination: '172.20.0.0/16', target: { kind: 'tgw', id: 'tgw-1' } }] }],
    internetGateways: [], natGateways: [], peerings: [], instances: [], securityGroups: [],
    transitGateways: [{
      id: 'tgw-1', name: 'hub',
      attachments: [{ id: 'tgw-attach-a', resourceType: 'vpc', vpcId: 'vpc-main', subnetIds: ['subnet-a'] }, { id: 'tgw-attach-vpn', resourceType: 'vpn', resourceId: 'vpn-1' }],
      routes: [{ destination: '10.0.0.0/16', attachmentId: 'tgw-attach-a', origin: 'propagated' }, { destination: '172.20.0.0/16', attachmentId: 'tgw-attach-vpn', origin: 'static' }],
    }],
  };
  const desired = renderFabric(p, branch, tgwFacts, []);
  assert.ok(desired.routes.get('pn-tgw-hub')!.includes(`172.20.0.0/16 via ${n!.networkSideIp} dev pn-vpn0`));
  assert.deepEqual(labModel(p, tgwFacts, []).onPremises, [{ name: 'branch', cidr: '172.20.0.0/16', via: { tgwId: 'tgw-1' } }]);
});
