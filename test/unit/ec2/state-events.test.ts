import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ec2Actions } from '../../../src/ec2/actions/index.js';
import type { MappingEvent } from '../../../src/ec2/protocol.js';
import { openEc2State } from '../../../src/ec2/state.js';
import { assertEc2Error, call, flatParams, items, launch, obj, withVpc } from './state-helpers.js';

test('assign, unassign, attach, detach and delete each publish the ENI mapping after the commit', () => {
  const { state, subnetId } = withVpc();
  const { instanceId } = launch(state, subnetId, 't3.large');
  const events: MappingEvent[] = [];
  const stop = state.onMapping((e) => events.push(e));
  const eni = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId }).networkInterface);
  const eniId = eni.networkInterfaceId as string;
  assert.deepEqual(events.at(-1), {
    type: 'eni',
    eni: {
      eniId, mac: eni.macAddress, vpcId: eni.vpcId, subnetId, instanceId: null, deviceIndex: null,
      privateIps: [eni.privateIpAddress], ipv4Prefixes: [], ipv6Addresses: [], ipv6Prefixes: [], publicIps: {},
    },
  });
  assert.match(eni.macAddress as string, /^02(:[0-9a-f]{2}){5}$/);
  const { attachmentId } = call(state, 'AttachNetworkInterface', { NetworkInterfaceId: eniId, InstanceId: instanceId, DeviceIndex: 1 });
  assert.deepEqual([events.at(-1)!.type, (events.at(-1) as { eni: { instanceId: string; deviceIndex: number } }).eni.instanceId], ['eni', instanceId]);
  const assigned = items(call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 2 }).assignedPrivateIpAddressesSet);
  const last = () => (events.at(-1) as { eni: { privateIps: string[]; ipv4Prefixes: string[] } }).eni;
  assert.deepEqual(last().privateIps, [eni.privateIpAddress, ...assigned.map((a) => a.privateIpAddress)]);
  call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, Ipv4PrefixCount: 1 });
  assert.equal(last().ipv4Prefixes.length, 1);
  call(state, 'UnassignPrivateIpAddresses', { NetworkInterfaceId: eniId, 'PrivateIpAddress.1': assigned[0]!.privateIpAddress as string });
  assert.deepEqual(last().privateIps, [eni.privateIpAddress, assigned[1]!.privateIpAddress]);
  call(state, 'DetachNetworkInterface', { AttachmentId: attachmentId as string });
  assert.equal((events.at(-1) as { eni: { instanceId: string | null } }).eni.instanceId, null);
  const count = events.length;
  call(state, 'DeleteNetworkInterface', { NetworkInterfaceId: eniId });
  assert.deepEqual(events.slice(count), [{ type: 'eni-deleted', eniId }]);
  stop();
  call(state, 'CreateNetworkInterface', { SubnetId: subnetId });
  assert.equal(events.length, count + 1, 'no events after the listener stopped');
  state.close();
});

test('a failed action publishes nothing and leaves no partial state behind', () => {
  const { state, subnetId } = withVpc({ subnetCidr: '10.0.2.0/28' });
  const events: MappingEvent[] = [];
  state.onMapping((e) => events.push(e));
  // The ENI would be created, then its 20 secondary addresses do not fit: the whole action rolls back.
  assertEc2Error(() => call(state, 'CreateNetworkInterface', { SubnetId: subnetId, SecondaryPrivateIpAddressCount: 20 }), 'InsufficientFreeAddressesInSubnet');
  assert.deepEqual(events, []);
  assert.deepEqual(items(call(state, 'DescribeNetworkInterfaces', {}).networkInterfaceSet), []);
  assert.deepEqual(state.mappingSnapshot(), []);
  state.close();
});

test('state survives a restart: a file database reopens with the same resources, addresses and ID sequence', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-ec2-'));
  try {
    const dbPath = join(dir, 'ec2.db');
    const { state, subnetId } = withVpc({ dbPath });
    const { instanceId, eniId } = launch(state, subnetId, 't3.large');
    call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, Ipv4PrefixCount: 1 });
    call(state, 'CreateTags', { 'ResourceId.1': eniId, 'Tag.1.Key': 'cluster', 'Tag.1.Value': 'lab' });
    const before = JSON.stringify(call(state, 'DescribeNetworkInterfaces', {}));
    const snapshot = state.mappingSnapshot();
    state.close();

    const reopened = openEc2State({ dbPath });
    assert.equal(JSON.stringify(call(reopened, 'DescribeNetworkInterfaces', {})), before);
    assert.deepEqual(reopened.mappingSnapshot(), snapshot);
    assert.equal(reopened.imdsInstance({ instanceId })?.interfaces[0]?.ipv4Prefixes.length, 1);
    const next = obj(call(reopened, 'CreateNetworkInterface', { SubnetId: subnetId }).networkInterface);
    assert.ok(!before.includes(next.networkInterfaceId as string), 'a new ID, not a reused one');
    assert.ok(!before.includes(`"${next.privateIpAddress}"`), 'a new address, not a reused one');
    reopened.close();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('IMDS view: an instance is found by ID or by its primary private IP, with every attached interface', () => {
  const { state, subnetId } = withVpc();
  const { instanceId, eniId } = launch(state, subnetId, 't3.large', { 'NetworkInterface.1.DeviceIndex': 0, 'NetworkInterface.1.AssociatePublicIpAddress': true });
  const second = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId, SecondaryPrivateIpAddressCount: 1 }).networkInterface);
  call(state, 'AttachNetworkInterface', { NetworkInterfaceId: second.networkInterfaceId as string, InstanceId: instanceId, DeviceIndex: 1 });
  const byId = state.imdsInstance({ instanceId })!;
  assert.equal(byId.instanceType, 't3.large');
  assert.equal(byId.availabilityZone, 'us-west-2a');
  assert.equal(byId.region, 'us-west-2');
  assert.equal(byId.publicIpv4, '203.0.113.4');
  assert.deepEqual(byId.interfaces.map((i) => [i.interfaceId, i.deviceNumber]), [[eniId, 0], [second.networkInterfaceId, 1]]);
  assert.equal(byId.interfaces[1]!.localIpv4s.length, 2);
  assert.equal(byId.interfaces[0]!.subnetIpv4CidrBlock, '10.0.1.0/24');
  assert.deepEqual(byId.interfaces[0]!.vpcIpv4CidrBlocks, ['10.0.0.0/16']);
  assert.deepEqual(state.imdsInstance({ privateIp: byId.localIpv4 }), byId);
  assert.equal(state.imdsInstance({ privateIp: '10.9.9.9' }), undefined);
  call(state, 'TerminateInstances', { 'InstanceId.1': instanceId });
  assert.equal(state.imdsInstance({ instanceId }), undefined);
  state.close();
});

test('handlers run outside a transaction refuse to change ENIs (events would be lost)', () => {
  const { state, subnetId } = withVpc();
  assert.throws(() => ec2Actions.CreateNetworkInterface!(flatParams('CreateNetworkInterface', { SubnetId: subnetId }), state), /inside Ec2State.transaction/);
  state.close();
});
