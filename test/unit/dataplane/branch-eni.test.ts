import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  branchHostVethName,
  branchNodeLines,
  branchPodLines,
  branchRouteTable,
  branchTeardownLines,
  branchVlanLinkLines,
  formatRoute,
  formatRule,
  hostVethName,
  renderBranchEniPod,
  vlanLinkName,
  type BranchEniPodInput,
} from '../../../src/dataplane/index.js';

// spec §3.9: a branch ENI 10.0.97.30 in 10.0.96.0/19 on VLAN 5, its MAC, on the trunk link eth1
const input: BranchEniPodInput = {
  namespace: 'default',
  podName: 'nginx',
  vethPrefix: 'eni',
  mode: 'strict',
  vlanId: 5,
  branchMac: '0A:1B:2C:3D:4E:5F',
  podIp: '10.0.97.30',
  subnetCidr: '10.0.96.0/19',
  trunkLink: 'eth1',
  mtu: 9001,
  hostVethMac: '02:11:22:33:44:55',
  createVlanLink: true,
};

const cmds = (lines: { cmd: string }[]) => lines.map((l) => l.cmd);

test('VLAN link vlan.eth.<id> and table 100 + id, for ids 1 to 4094 only', () => {
  assert.equal(vlanLinkName(1), 'vlan.eth.1');
  assert.equal(vlanLinkName(4094), 'vlan.eth.4094');
  assert.ok(vlanLinkName(4094).length <= 15);
  assert.equal(branchRouteTable(5), 105);
  for (const bad of [0, 4095, -1, 1.5, Number.NaN]) {
    assert.throws(() => vlanLinkName(bad), { code: 'INVALID_INPUT' });
    assert.throws(() => renderBranchEniPod({ ...input, vlanId: bad }), { code: 'INVALID_INPUT' });
  }
});

test('strict: host veth prefix vlan, the /32 only in rt, rules iif vlan.eth.<id> and iif <veth> lookup rt prio 10', () => {
  const b = renderBranchEniPod(input);
  const veth = hostVethName('vlan', 'default', 'nginx');
  assert.equal(b.pod.hostVeth, veth);
  assert.equal(branchHostVethName('strict', 'eni', 'default', 'nginx'), veth);
  assert.equal(b.vlanLink, 'vlan.eth.5');
  assert.equal(b.table, 105);
  assert.equal(b.gateway, '10.0.96.1');
  assert.equal(b.branchMac, '0a:1b:2c:3d:4e:5f');
  assert.deepEqual(b.vlanRoutes.map(formatRoute), ['10.0.96.1 dev vlan.eth.5 scope link table 105', 'default via 10.0.96.1 dev vlan.eth.5 table 105']);
  assert.deepEqual(b.pod.hostRoutes.map(formatRoute), [`10.0.97.30/32 dev ${veth} table 105`]);
  assert.deepEqual(b.pod.hostRules.map(formatRule), ['iif vlan.eth.5 lookup 105 prio 10', `iif ${veth} lookup 105 prio 10`]);
  assert.deepEqual(Object.keys(b.vlanSysctls), ['net/ipv6/conf/vlan.eth.5/accept_ra', 'net/ipv6/conf/vlan.eth.5/accept_redirects', 'net/ipv6/conf/vlan.eth.5/forwarding']);
});

test('standard: host veth prefix eni and the IP-based rules of §3.4 with rt = 100 + vlan id', () => {
  const b = renderBranchEniPod({ ...input, mode: 'standard' });
  const veth = hostVethName('eni', 'default', 'nginx');
  assert.equal(b.pod.hostVeth, veth);
  assert.deepEqual(b.pod.hostRoutes.map(formatRoute), [`10.0.97.30/32 dev ${veth} scope link table main`]);
  assert.deepEqual(b.pod.hostRules.map(formatRule), ['to 10.0.97.30/32 lookup main prio 512', 'from 10.0.97.30/32 lookup 105 prio 1536']);
  assert.deepEqual(b.vlanRoutes.map(formatRoute), ['10.0.96.1 dev vlan.eth.5 scope link table 105', 'default via 10.0.96.1 dev vlan.eth.5 table 105']);
});

test('the pod side is a normal pod\'s: /32 on eth0, 169.254.1.1 routes, its permanent neighbour at the host veth MAC', () => {
  for (const mode of ['strict', 'standard'] as const) {
    const b = renderBranchEniPod({ ...input, mode });
    assert.deepEqual(cmds(branchPodLines(b)), [
      'link set lo up',
      'link set eth0 up',
      'addr add 10.0.97.30/32 dev eth0',
      'route replace 169.254.1.1/32 dev eth0 scope link table main',
      'route replace default via 169.254.1.1 dev eth0 table main',
      'neigh replace 169.254.1.1 dev eth0 lladdr 02:11:22:33:44:55 nud permanent',
    ]);
  }
});

test('real node: the VLAN link is deleted if present, made on the trunk link with the branch MAC, and brought up', () => {
  const b = renderBranchEniPod(input);
  assert.deepEqual(branchVlanLinkLines(b), [
    { cmd: 'link del vlan.eth.5', absentOk: true },
    { cmd: 'link add link eth1 name vlan.eth.5 address 0a:1b:2c:3d:4e:5f type vlan id 5' },
    { cmd: 'link set vlan.eth.5 up' },
  ]);
});

test('lab (createVlanLink=false): the fabric\'s vlan.eth.<id> is only brought up; every other line is the same', () => {
  const real = renderBranchEniPod(input);
  const lab = renderBranchEniPod({ ...input, createVlanLink: false });
  assert.deepEqual(branchVlanLinkLines(lab), [{ cmd: 'link set vlan.eth.5 up' }]);
  assert.deepEqual(branchNodeLines(lab, '/var/run/netns/cni-1'), branchNodeLines(real, '/var/run/netns/cni-1'));
  assert.deepEqual(branchPodLines(lab), branchPodLines(real));
  const t = { vlanId: 5, podIp: '10.0.97.30', hostVeths: [real.pod.hostVeth] };
  assert.deepEqual(cmds(branchTeardownLines({ ...t, createVlanLink: false })), cmds(branchTeardownLines({ ...t, createVlanLink: true })).filter((c) => c !== 'link del vlan.eth.5'));
});

test('strict node batch: table rt, old prio-10 rules of the veth gone, veth into the pod netns, rules, up, the /32 in rt', () => {
  const b = renderBranchEniPod(input);
  const veth = b.pod.hostVeth;
  assert.deepEqual(cmds(branchNodeLines(b, '/var/run/netns/cni-1')), [
    'route replace 10.0.96.1/32 dev vlan.eth.5 scope link table 105',
    'route replace default via 10.0.96.1 dev vlan.eth.5 table 105',
    `rule flush iif ${veth} prio 10`,
    `link del ${veth}`,
    `link add name ${veth} address 02:11:22:33:44:55 mtu 9001 type veth peer name eth0 mtu 9001 netns /var/run/netns/cni-1`,
    'rule add iif vlan.eth.5 lookup 105 prio 10',
    `rule add iif ${veth} lookup 105 prio 10`,
    `link set ${veth} up`,
    `route replace 10.0.97.30/32 dev ${veth} table 105`,
  ]);
});

test('standard node batch: the §3.4 rules 512 and 1536 and the /32 in main', () => {
  const b = renderBranchEniPod({ ...input, mode: 'standard' });
  const veth = b.pod.hostVeth;
  const lines = cmds(branchNodeLines(b, 'cni-1'));
  assert.ok(lines.includes('rule add to 10.0.97.30/32 lookup main prio 512'));
  assert.ok(lines.includes('rule add from 10.0.97.30/32 lookup 105 prio 1536'));
  assert.ok(lines.includes(`route replace 10.0.97.30/32 dev ${veth} scope link table main`));
  assert.ok(!lines.some((l) => /^rule add iif/.test(l)));
});

test('DEL removes the VLAN link, every prio-10 rule of rt, the IP rules of both modes, table rt and the veths', () => {
  const strictVeth = branchHostVethName('strict', 'eni', 'default', 'nginx');
  const standardVeth = branchHostVethName('standard', 'eni', 'default', 'nginx');
  const lines = branchTeardownLines({ vlanId: 5, podIp: '10.0.97.30', hostVeths: [strictVeth, standardVeth], createVlanLink: true });
  assert.deepEqual(cmds(lines), [
    'rule flush lookup 105 prio 10',
    'rule flush to 10.0.97.30/32 prio 512',
    'rule flush from 10.0.97.30/32 prio 1536',
    'route flush table 105',
    `route del 10.0.97.30/32 dev ${strictVeth} table main`,
    `link del ${strictVeth}`,
    `route del 10.0.97.30/32 dev ${standardVeth} table main`,
    `link del ${standardVeth}`,
    'link del vlan.eth.5',
  ]);
  // a second DEL finds them gone: every delete of a single object tolerates its absence
  for (const l of lines) if (/ del /.test(` ${l.cmd} `) || l.cmd.startsWith('route flush')) assert.equal(l.absentOk, true, l.cmd);
});

test('names and values are checked against their grammar before any line exists', () => {
  assert.throws(() => renderBranchEniPod({ ...input, branchMac: '0a:1b:2c:3d:4e' }), { code: 'INVALID_INPUT' });
  assert.throws(() => renderBranchEniPod({ ...input, branchMac: '0a:1b:2c:3d:4e:5f\nlink del eth0' }), { code: 'INVALID_INPUT' });
  assert.throws(() => renderBranchEniPod({ ...input, trunkLink: 'a-name-longer-than-15' }), { code: 'INVALID_INPUT' });
  assert.throws(() => renderBranchEniPod({ ...input, trunkLink: 'eth1 type dummy' }), { code: 'INVALID_INPUT' });
  assert.throws(() => renderBranchEniPod({ ...input, podIp: '10.0.97.300' }));
  assert.throws(() => renderBranchEniPod({ ...input, subnetCidr: '10.0.96.0/33' }));
  assert.throws(() => renderBranchEniPod({ ...input, podIp: '2001:db8::5', subnetCidr: '2001:db8::/64' }), { code: 'INVALID_INPUT' });
  assert.throws(() => renderBranchEniPod({ ...input, mode: 'loose' as never }), { code: 'INVALID_INPUT' });
  assert.throws(() => branchTeardownLines({ vlanId: 5, podIp: '10.0.97.30', hostVeths: ['eni;reboot'], createVlanLink: true }), { code: 'INVALID_INPUT' });
});

test('strict SGP host rules render `lookup local prio 20` (upstream moves the local rule there); standard and off do not', async () => {
  const { renderHostRules } = await import('../../../src/dataplane/index.js');
  const { fullExampleInput } = await import('./fixtures/full-example.js');
  assert.ok(renderHostRules({ ...fullExampleInput, podSgStrict: true }).ipRules.map(formatRule).includes('lookup 255 prio 20'));
  assert.ok(!renderHostRules(fullExampleInput).ipRules.some((r) => r.priority === 20));
});
