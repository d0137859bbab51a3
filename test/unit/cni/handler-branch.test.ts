import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PodnetError } from '../../../src/lib/index.js';
import { createCniHandler, recordedAttachment, type Allocation, type CniBackend, type PodTeardown, type PodWiring } from '../../../src/cni/index.js';
import { hostVethName } from '../../../src/dataplane/index.js';

// A branch pod through the handler (spec §6.1, §6.3): the result's dummy record carries the VLAN id and the IP its
// gateway; DEL tears down from ipamd's record, or from prevResult's VLAN id when ipamd cannot be reached.
const branch = { eniId: 'eni-0b1', mac: '02:bb:00:00:00:05', address: '10.0.97.30', vlanId: 5, subnetCidr: '10.0.96.0/19', gateway: '10.0.96.1' };

function backend(o: { unreachable?: boolean; held?: Allocation } = {}) {
  const wired: PodWiring[] = [];
  const unwired: PodTeardown[] = [];
  let held: Allocation | null = o.held ?? null;
  const reach = () => {
    if (o.unreachable) throw new PodnetError('IPAMD_UNREACHABLE', 'no socket', 'start ipamd');
  };
  const b: CniBackend = {
    async allocate() {
      reach();
      held = { address: branch.address, eniId: branch.eniId, deviceNumber: -1, routeTable: 0, vpcCidrs: [], useExternalSnat: false, branch };
      return held;
    },
    async lookup() {
      reach();
      return held;
    },
    async release() {
      reach();
      const h = held;
      held = null;
      return h;
    },
    attachments: async () => [],
    async wire(p) {
      wired.push(p);
    },
    async unwire(p) {
      unwired.push(p);
    },
    checkWiring: async () => [],
    status: async () => ({ ready: true }),
    checkNetns: () => {},
  };
  return { b, wired, unwired };
}

const env = (command: string) => ({ CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_IFNAME: 'eth0', CNI_NETNS: '/var/run/netns/cni-1', CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=sg', CNI_PATH: '/opt/cni/bin' });
const conf = (mode: string, extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '0.4.0', name: 'aws-cni', type: 'aws-cni', podSGEnforcingMode: mode, ...extra });

for (const [mode, prefix] of [['strict', 'vlan'], ['standard', 'eni']] as const) {
  test(`${mode}: ADD wires through the branch, host veth prefix ${prefix}, the dummy's mac is the VLAN id and the IP has the branch gateway`, async () => {
    const { b, wired } = backend();
    const answer = await createCniHandler(b)({ env: env('ADD'), stdin: conf(mode) });
    assert.equal(answer.exitCode, 0, answer.stdout);
    const result = JSON.parse(answer.stdout) as { interfaces: { name: string; mac?: string; sandbox?: string }[]; ips: { address: string; gateway?: string }[] };
    const veth = hostVethName(prefix, 'default', 'sg');
    assert.equal(result.interfaces[0]!.name, veth);
    assert.deepEqual(result.interfaces[2], { name: hostVethName('dummy', 'default', 'sg'), mac: '5', sandbox: '-1' });
    assert.deepEqual(result.ips[0], { version: '4', interface: 1, address: '10.0.97.30/32', gateway: '10.0.96.1' });
    assert.equal(wired[0]!.branch?.mode, mode);
    assert.equal(wired[0]!.hostVethName, veth);
    assert.equal(recordedAttachment({ interfaces: result.interfaces, ips: result.ips }, 'eth0').vlanId, 5);
  });
}

test('DEL with ipamd: the branch from its record, both veth names (a pod wired before a mode change goes too)', async () => {
  const { b, unwired } = backend();
  const handler = createCniHandler(b);
  await handler({ env: env('ADD'), stdin: conf('strict') });
  assert.equal((await handler({ env: env('DEL'), stdin: conf('strict') })).exitCode, 0);
  assert.deepEqual(unwired[0]!.branch, { vlanId: 5, address: '10.0.97.30', hostVeths: [hostVethName('vlan', 'default', 'sg'), hostVethName('eni', 'default', 'sg')] });
});

test('DEL without ipamd: the branch from prevResult\'s dummy record (VLAN id ≠ 0) and its address; succeeds', async () => {
  const { b, unwired } = backend({ unreachable: true });
  const prevResult = {
    cniVersion: '0.4.0',
    interfaces: [{ name: hostVethName('vlan', 'default', 'sg') }, { name: 'eth0', mac: '0', sandbox: '/var/run/netns/cni-1' }, { name: hostVethName('dummy', 'default', 'sg'), mac: '5', sandbox: '-1' }],
    ips: [{ version: '4', interface: 1, address: '10.0.97.30/32', gateway: '10.0.96.1' }],
  };
  const answer = await createCniHandler(b)({ env: env('DEL'), stdin: conf('strict', { prevResult }) });
  assert.equal(answer.exitCode, 0, answer.stdout);
  assert.equal(unwired[0]!.branch?.vlanId, 5);
  assert.equal(unwired[0]!.branch?.address, '10.0.97.30');
  assert.equal(unwired[0]!.branch?.fromPrevResult, true);
  // a pool pod's prevResult (VLAN 0) names no branch
  const pool = backend({ unreachable: true });
  const poolPrev = { ...prevResult, interfaces: [prevResult.interfaces[0], prevResult.interfaces[1], { ...prevResult.interfaces[2], mac: '0', sandbox: '0' }] };
  await createCniHandler(pool.b)({ env: env('DEL'), stdin: conf('strict', { prevResult: poolPrev }) });
  assert.equal(pool.unwired[0]!.branch, undefined);
});

const branchPrevResult = {
  cniVersion: '0.4.0',
  interfaces: [{ name: hostVethName('vlan', 'default', 'sg') }, { name: 'eth0', mac: '0', sandbox: '/var/run/netns/cni-1' }, { name: hostVethName('dummy', 'default', 'sg'), mac: '5', sandbox: '-1' }],
  ips: [{ version: '4', interface: 1, address: '10.0.97.30/32', gateway: '10.0.96.1' }],
};

test('DEL with ipamd answering but holding no record (ENABLE_POD_ENI turned off, branch-pods.json moved away): the branch from prevResult (§6.3 step 1)', async () => {
  const { b, unwired } = backend();
  const answer = await createCniHandler(b)({ env: env('DEL'), stdin: conf('strict', { prevResult: branchPrevResult }) });
  assert.equal(answer.exitCode, 0, answer.stdout);
  assert.deepEqual(unwired[0]!.branch, { vlanId: 5, address: '10.0.97.30', hostVeths: [hostVethName('vlan', 'default', 'sg'), hostVethName('eni', 'default', 'sg')], fromPrevResult: true });
  assert.equal(unwired[0]!.held, null);
});

test('DEL where ipamd holds a pool address for the container: its record wins over a prevResult VLAN id', async () => {
  const pool: Allocation = { address: '10.0.1.5', eniId: 'eni-1', deviceNumber: 0, routeTable: 254, vpcCidrs: ['10.0.0.0/16'], useExternalSnat: false };
  const { b, unwired } = backend({ held: pool });
  assert.equal((await createCniHandler(b)({ env: env('DEL'), stdin: conf('strict', { prevResult: branchPrevResult }) })).exitCode, 0);
  assert.equal(unwired[0]!.branch, undefined);
  assert.deepEqual(unwired[0]!.held, { address: '10.0.1.5', routeTable: 254 });
});
