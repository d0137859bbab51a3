import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  AssignPrivateIpAddressesCommand,
  AttachNetworkInterfaceCommand,
  CreateTagsCommand,
  DeleteNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand,
  DetachNetworkInterfaceCommand,
  TerminateInstancesCommand,
  UnassignPrivateIpAddressesCommand,
} from '@aws-sdk/client-ec2';
import { ec2Actions, type EniMapping, type MappingEvent } from '../../../src/ec2/index.js';
import { EC2_API_VERSION, parseQuery } from '../../../src/ec2/query.js';
import { createEni, createVpcWithSubnet, emulatorForFile, launch, rejectsWith, startEmulator } from './sdk-harness.js';

// One emulator for the file (the restart test starts its own on a database file); every test builds its own VPC.
// Only the IMDS test takes a public IP, so the pool's first address is free when it runs.
const h = emulatorForFile();

test('assign, unassign, attach, detach and delete each publish the ENI mapping after the commit', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const { instanceId } = await launch(h.ec2, subnetId, 't3.large');
  const events: MappingEvent[] = [];
  const stop = h.server.state.onMapping((e) => events.push(e));
  const eni = await createEni(h.ec2, subnetId);
  const eniId = eni.NetworkInterfaceId!;
  assert.deepEqual(events.at(-1), {
    type: 'eni',
    eni: {
      eniId, mac: eni.MacAddress, vpcId: eni.VpcId, subnetId, instanceId: null, deviceIndex: null,
      privateIps: [eni.PrivateIpAddress], ipv4Prefixes: [], ipv6Addresses: [], ipv6Prefixes: [], publicIps: {},
      // no groups given: the VPC's default group
      groupIds: [eni.Groups![0]!.GroupId],
      // the interface type DescribeNetworkInterfaces reports
      interfaceType: eni.InterfaceType,
      description: '', requesterManaged: false,
    },
  });
  assert.match(eni.MacAddress!, /^02(:[0-9a-f]{2}){5}$/);
  const last = (): EniMapping => {
    const event = events.at(-1);
    assert.ok(event?.type === 'eni', `expected an eni event, got ${JSON.stringify(event)}`);
    return event.eni;
  };
  const { AttachmentId } = await h.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: eniId, InstanceId: instanceId, DeviceIndex: 1 }));
  assert.equal(last().instanceId, instanceId);
  const assigned = (await h.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 2 })))
    .AssignedPrivateIpAddresses!.map((a) => a.PrivateIpAddress!);
  assert.deepEqual(last().privateIps, [eni.PrivateIpAddress, ...assigned]);
  await h.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4PrefixCount: 1 }));
  assert.equal(last().ipv4Prefixes.length, 1);
  await h.ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: [assigned[0]!] }));
  assert.deepEqual(last().privateIps, [eni.PrivateIpAddress, assigned[1]]);
  await h.ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId }));
  assert.equal(last().instanceId, null);
  const count = events.length;
  await h.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: eniId }));
  assert.deepEqual(events.slice(count), [{ type: 'eni-deleted', eniId }]);
  stop();
  await createEni(h.ec2, subnetId);
  assert.equal(events.length, count + 1, 'no events after the listener stopped');
});

test('a failed action publishes nothing and leaves no partial state behind', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2, { subnetCidr: '10.0.2.0/28' });
  const events: MappingEvent[] = [];
  const stop = h.server.state.onMapping((e) => events.push(e));
  try {
    // The ENI would be created, then its 20 secondary addresses do not fit: the whole action rolls back.
    await rejectsWith(createEni(h.ec2, subnetId, { SecondaryPrivateIpAddressCount: 20 }), 'InsufficientFreeAddressesInSubnet');
    assert.deepEqual(events, []);
    const inSubnet = await h.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'subnet-id', Values: [subnetId] }] }));
    assert.deepEqual(inSubnet.NetworkInterfaces, []);
    assert.deepEqual(h.server.state.mappingSnapshot().filter((m) => m.subnetId === subnetId), []);
  } finally {
    stop();
  }
});

test('state survives a restart: a file database reopens with the same resources, addresses and ID sequence', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-ec2-'));
  try {
    const dbPath = join(dir, 'ec2.db');
    const first = await startEmulator({ dbPath });
    let subnetId: string;
    let instanceId: string;
    let before: string;
    let snapshot: EniMapping[];
    try {
      ({ subnetId } = await createVpcWithSubnet(first.ec2));
      const launched = await launch(first.ec2, subnetId, 't3.large');
      instanceId = launched.instanceId;
      await first.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: launched.eniId, Ipv4PrefixCount: 1 }));
      await first.ec2.send(new CreateTagsCommand({ Resources: [launched.eniId], Tags: [{ Key: 'cluster', Value: 'lab' }] }));
      before = JSON.stringify((await first.ec2.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces);
      snapshot = first.server.state.mappingSnapshot();
    } finally {
      await first.close();
    }

    const reopened = await startEmulator({ dbPath });
    try {
      assert.equal(JSON.stringify((await reopened.ec2.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces), before);
      assert.deepEqual(reopened.server.state.mappingSnapshot(), snapshot);
      assert.equal(reopened.server.state.imdsInstance({ instanceId })?.interfaces[0]?.ipv4Prefixes.length, 1);
      const next = await createEni(reopened.ec2, subnetId);
      assert.ok(!before.includes(next.NetworkInterfaceId!), 'a new ID, not a reused one');
      assert.ok(!before.includes(`"${next.PrivateIpAddress}"`), 'a new address, not a reused one');
    } finally {
      await reopened.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('IMDS view: an instance is found by ID or by its primary private IP, with every attached interface', async () => {
  const { state } = h.server;
  // A CIDR no other test in this file uses, so the lookup by private IP has exactly one instance to find.
  const { subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.7.0.0/16', subnetCidr: '10.7.1.0/24' });
  const { instanceId, eniId } = await launch(h.ec2, subnetId, 't3.large', { NetworkInterfaces: [{ DeviceIndex: 0, AssociatePublicIpAddress: true }] });
  const second = (await createEni(h.ec2, subnetId, { SecondaryPrivateIpAddressCount: 1 })).NetworkInterfaceId!;
  await h.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: second, InstanceId: instanceId, DeviceIndex: 1 }));
  const byId = state.imdsInstance({ instanceId })!;
  assert.equal(byId.instanceType, 't3.large');
  assert.equal(byId.availabilityZone, 'us-west-2a');
  assert.equal(byId.region, 'us-west-2');
  assert.equal(byId.publicIpv4, '203.0.113.4');
  assert.deepEqual(byId.interfaces.map((i) => [i.interfaceId, i.deviceNumber]), [[eniId, 0], [second, 1]]);
  assert.equal(byId.interfaces[1]!.localIpv4s.length, 2);
  assert.equal(byId.interfaces[0]!.subnetIpv4CidrBlock, '10.7.1.0/24');
  assert.deepEqual(byId.interfaces[0]!.vpcIpv4CidrBlocks, ['10.7.0.0/16']);
  assert.deepEqual(state.imdsInstance({ privateIp: byId.localIpv4 }), byId);
  assert.equal(state.imdsInstance({ privateIp: '10.9.9.9' }), undefined);
  await h.ec2.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] }));
  assert.equal(state.imdsInstance({ instanceId }), undefined);
});

test('handlers run outside a transaction refuse to change ENIs (events would be lost)', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  // The server always runs handlers inside Ec2State.transaction; this calls one directly to check the guard.
  const params = parseQuery(new URLSearchParams({ Action: 'CreateNetworkInterface', Version: EC2_API_VERSION, SubnetId: subnetId }));
  assert.throws(() => ec2Actions.CreateNetworkInterface!(params, h.server.state), /inside Ec2State.transaction/);
});
