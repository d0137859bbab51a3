import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAIN_TABLE, eniRouteTable, formatRoute, formatRule, hostVethMac, hostVethName, podCreateLines, podInsideLines, renderEniNetwork, renderPodNetwork } from '../../../src/dataplane/index.js';

test('host veth names match the sha1 test vectors of spec §3.5', () => {
  assert.equal(hostVethName('eni', 'default', 'nginx'), 'enic440f455693');
  assert.equal(hostVethName('eni', 'default', 'my-pod'), 'eni5e30f018633');
  assert.equal(hostVethName('eni', 'default', 'my-pod', 1), 'eni24d5f52127a');
});

test('a 4-character prefix keeps the host veth name within IFNAMSIZ (15)', () => {
  assert.equal(hostVethName('vlan', 'kube-system', 'coredns-585d4c556b-z6ddv').length, 15);
});

test('host veth MACs are locally administered unicast, whatever the random bytes', () => {
  assert.equal(hostVethMac(Uint8Array.from([0xff, 1, 2, 3, 4, 5])), 'fe:01:02:03:04:05');
  assert.equal(hostVethMac(Uint8Array.from([0x00, 0xaa, 0xbb, 0xcc, 0xdd, 0xee])), '02:aa:bb:cc:dd:ee');
  for (let i = 0; i < 50; i++) {
    const first = parseInt(hostVethMac().slice(0, 2), 16);
    assert.equal(first & 0b11, 0b10);
  }
});

test('ENI route tables: main for the primary, d+1 on card 0, 10000+d+100c on other cards', () => {
  assert.equal(eniRouteTable(0), MAIN_TABLE);
  assert.equal(eniRouteTable(1), 2);
  assert.equal(eniRouteTable(3), 4);
  assert.equal(eniRouteTable(0, 1), 10100);
  assert.equal(eniRouteTable(2, 3), 10302);
});

test('a secondary ENI gets its address with the subnet length, a gateway route, a default route and rule 32765', () => {
  const eni = renderEniNetwork({ interface: 'eth1', deviceNumber: 1, primaryIp: '10.0.100.77', subnetCidr: '10.0.96.0/19', mtu: 9001 });
  assert.equal(eni.table, 2);
  assert.equal(eni.address, '10.0.100.77/19');
  assert.deepEqual(eni.routes.map(formatRoute), ['10.0.96.1 dev eth1 scope link table 2', 'default via 10.0.96.1 dev eth1 table 2']);
  assert.equal(formatRoute(eni.mainSubnetRoute), '10.0.96.0/19 dev eth1 scope link table main');
  assert.equal(formatRule(eni.rule), 'from 10.0.100.77/32 lookup 2 prio 32765');
});

test('the primary ENI is refused: its routes belong to the OS', () => {
  assert.throws(() => renderEniNetwork({ interface: 'eth0', deviceNumber: 0, primaryIp: '10.0.0.10', subnetCidr: '10.0.0.0/24', mtu: 9001 }), { code: 'CONFIG_INVALID' });
});

const pod = { namespace: 'default', podName: 'nginx', vethPrefix: 'eni', podIp: '10.0.97.30', mtu: 9001, hostVethMac: '02:11:22:33:44:55' };

test('a pod on the primary ENI gets /32, the 169.254.1.1 routes, rule 512 and no 1536 rule', () => {
  const p = renderPodNetwork({ ...pod, routeTable: MAIN_TABLE });
  assert.equal(p.hostVeth, 'enic440f455693');
  assert.equal(p.address, '10.0.97.30/32');
  assert.deepEqual(p.podRoutes.map(formatRoute), ['169.254.1.1 dev eth0 scope link table main', 'default via 169.254.1.1 dev eth0 table main']);
  assert.deepEqual(p.hostRoutes.map(formatRoute), ['10.0.97.30/32 dev enic440f455693 scope link table main']);
  assert.deepEqual(p.hostRules.map(formatRule), ['to 10.0.97.30/32 lookup main prio 512']);
  assert.deepEqual(Object.keys(p.hostSysctls), ['net/ipv6/conf/enic440f455693/accept_ra', 'net/ipv6/conf/enic440f455693/accept_redirects', 'net/ipv6/conf/enic440f455693/forwarding']);
});

test('a pod on a secondary ENI also gets rule 1536 from its address to the ENI table; table 1 counts as main', () => {
  assert.deepEqual(renderPodNetwork({ ...pod, routeTable: 2 }).hostRules.map(formatRule), ['to 10.0.97.30/32 lookup main prio 512', 'from 10.0.97.30/32 lookup 2 prio 1536']);
  assert.equal(renderPodNetwork({ ...pod, routeTable: 1 }).hostRules.length, 1);
});

test('pod batches: one node batch creates the veth straight into the pod netns with MAC and MTU, adds the rule, brings the host end up and routes the /32; permanent neighbour to the host MAC', () => {
  const p = renderPodNetwork({ ...pod, routeTable: MAIN_TABLE });
  const create = podCreateLines(p, '/var/run/netns/cni-1');
  assert.deepEqual(create.map((l) => l.cmd), [
    'link del enic440f455693',
    'link add name enic440f455693 address 02:11:22:33:44:55 mtu 9001 type veth peer name eth0 mtu 9001 netns /var/run/netns/cni-1',
    'rule add to 10.0.97.30/32 lookup main prio 512',
    'link set enic440f455693 up',
    'route replace 10.0.97.30/32 dev enic440f455693 scope link table main',
  ]);
  assert.ok(create[0]!.absentOk);
  assert.equal(podInsideLines(p).at(-1)!.cmd, 'neigh replace 169.254.1.1 dev eth0 lladdr 02:11:22:33:44:55 nud permanent');
});

test('an IPv6 pod gets /128, gateway fe80::1 and the pod-side disable_ipv6=0 sysctls', () => {
  const p = renderPodNetwork({ ...pod, podIp: '2001:db8::5', routeTable: MAIN_TABLE });
  assert.equal(p.address, '2001:db8::5/128');
  assert.equal(p.gateway, 'fe80::1');
  assert.equal(p.podSysctls['net/ipv6/conf/eth0/disable_ipv6'], '0');
});

test('a second interface (index 1) is mNicIf1 with gateway 169.254.1.2, table 1 and a prio-1 rule in the pod', () => {
  const p = renderPodNetwork({ ...pod, index: 1, routeTable: MAIN_TABLE });
  assert.equal(p.ifName, 'mNicIf1');
  assert.notEqual(p.hostVeth, renderPodNetwork({ ...pod, routeTable: MAIN_TABLE }).hostVeth);
  assert.equal(p.gateway, '169.254.1.2');
  assert.deepEqual(p.podRules.map(formatRule), ['from 10.0.97.30/32 lookup 1 prio 1']);
});

test('the interface name the runtime passes (CNI_IFNAME) names the veth peer, the routes, the neighbour and the sysctls', () => {
  const p = renderPodNetwork({ ...pod, podIp: '2001:db8::5', ifName: 'net1', routeTable: MAIN_TABLE });
  assert.equal(p.ifName, 'net1');
  assert.equal(p.hostVeth, 'enic440f455693');
  assert.deepEqual(p.podRoutes.map(formatRoute), ['fe80::1 dev net1 scope link table main', 'default via fe80::1 dev net1 table main']);
  assert.match(podCreateLines(p, '/var/run/netns/cni-1')[1]!.cmd, / type veth peer name net1 mtu 9001 netns /);
  assert.deepEqual(podInsideLines(p).slice(1, 3).map((l) => l.cmd), ['link set net1 up', 'addr add 2001:db8::5/128 dev net1']);
  assert.equal(podInsideLines(p).at(-1)!.cmd, 'neigh replace fe80::1 dev net1 lladdr 02:11:22:33:44:55 nud permanent');
  assert.deepEqual(Object.keys(p.podSysctls), ['net/ipv6/conf/net1/disable_ipv6', 'net/ipv6/conf/lo/disable_ipv6']);
});
