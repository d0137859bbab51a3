import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { EniMapping } from '../../../src/ec2/index.js';
import { LabState, labStatus } from '../../../src/lab/index.js';
import type { LabRecord } from '../../../src/lab/state.js';

const eni = (over: Partial<EniMapping & { wired: boolean }>): EniMapping & { wired: boolean } => ({ eniId: 'eni-x', mac: '02:00:00:00:00:01', vpcId: 'vpc-main', subnetId: 'subnet-priv', instanceId: null, deviceIndex: null, privateIps: [], ipv4Prefixes: [], ipv6Addresses: [], ipv6Prefixes: [], publicIps: {}, groupIds: [], description: '', requesterManaged: false, wired: true, ...over });

test('lab status lists each node\'s branch ENIs (VLAN, trunk, pod) and a branch pod\'s vlan id', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-status-'));
  try {
    const state = new LabState(join(dir, 'state'));
    state.ensure();
    const node = { name: 'strict-a', instanceId: 'i-a', instanceType: 'm5.large', ns: 'pn-n-strict-a', dir, socket: '', binDir: '', confDir: '', env: {} };
    state.writeLab({ scenarioPath: 's.yaml', startedAt: 'now', plan: { internetHosts: [], onPremHosts: [] }, ec2Url: '', imdsUrl: '', region: 'us-west-2', instances: {}, nodes: { 'strict-a': node }, hosts: {}, natGateways: {} } as unknown as LabRecord);
    state.writeFabric({
      generation: 1, updatedAt: 'now', eventsConnected: true, facts: {} as never,
      enis: [
        eni({ eniId: 'eni-primary', instanceId: 'i-a', deviceIndex: 0, privateIps: ['10.0.16.10', '10.0.16.11'] }),
        eni({ eniId: 'eni-trunk', instanceId: 'i-a', deviceIndex: 2, privateIps: ['10.0.16.20'] }),
        eni({ eniId: 'eni-b2', mac: '02:00:00:00:00:b2', privateIps: ['10.0.16.32'], groupIds: ['sg-pod'], trunk: { trunkEniId: 'eni-trunk', vlanId: 2 } }),
        eni({ eniId: 'eni-b1', mac: '02:00:00:00:00:b1', privateIps: ['10.0.16.31'], groupIds: ['sg-pod'], trunk: { trunkEniId: 'eni-trunk', vlanId: 1 }, wired: false }),
        eni({ eniId: 'eni-elsewhere', privateIps: ['10.0.16.40'], trunk: { trunkEniId: 'eni-other-trunk', vlanId: 1 } }),
      ],
    });
    state.writePod({ name: 'b1', node: 'strict-a', ns: 'pn-p-b1', hostNetwork: false, ip: '10.0.16.31', containerId: 'c1' });
    state.writePod({ name: 'p1', node: 'strict-a', ns: 'pn-p-p1', hostNetwork: false, ip: '10.0.16.11', containerId: 'c2' });
    const status = labStatus({ stateDir: state.dir });
    assert.deepEqual(status.nodes[0]!.branches, [
      { vlanId: 1, eniId: 'eni-b1', trunkEniId: 'eni-trunk', mac: '02:00:00:00:00:b1', address: '10.0.16.31', groups: ['sg-pod'], pod: 'b1', wired: false },
      { vlanId: 2, eniId: 'eni-b2', trunkEniId: 'eni-trunk', mac: '02:00:00:00:00:b2', address: '10.0.16.32', groups: ['sg-pod'], pod: null, wired: true },
    ]);
    assert.deepEqual(status.pods.map((p) => [p.name, p.eni, p.vlanId]), [['b1', null, 1], ['p1', 0, null]]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
