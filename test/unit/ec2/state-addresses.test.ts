import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AssignIpv6AddressesCommand,
  AssignPrivateIpAddressesCommand,
  DescribeSubnetsCommand,
  UnassignIpv6AddressesCommand,
  UnassignPrivateIpAddressesCommand,
  type AssignPrivateIpAddressesRequest,
} from '@aws-sdk/client-ec2';
import { createEni, createVpcWithSubnet, describeEni, emulatorForFile, freeAddresses, rejectsWith } from './sdk-harness.js';

// One emulator for the file; every test builds its own VPC and subnet in it.
const h = emulatorForFile();

const assign = (input: AssignPrivateIpAddressesRequest) => h.ec2.send(new AssignPrivateIpAddressesCommand(input));
const eniIps = async (eniId: string) => (await describeEni(h.ec2, eniId)).PrivateIpAddresses!.map((p) => p.PrivateIpAddress!);

test('filling a /24 hands out exactly its 251 usable addresses, never a reserved one, then InsufficientFreeAddressesInSubnet', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  assert.equal(await freeAddresses(h.ec2, subnetId), 251);
  const all: string[] = [];
  let remaining = 251;
  while (remaining > 0) {
    const secondaries = Math.min(49, remaining - 1);
    const eni = await createEni(h.ec2, subnetId, { SecondaryPrivateIpAddressCount: secondaries });
    if (secondaries === 0) all.push(eni.PrivateIpAddress!);
    else all.push(...eni.PrivateIpAddresses!.map((p) => p.PrivateIpAddress!));
    remaining -= secondaries + 1;
  }
  assert.equal(all.length, 251);
  assert.equal(new Set(all).size, 251);
  for (const reserved of ['10.0.1.0', '10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.255']) assert.ok(!all.includes(reserved), reserved);
  assert.equal(await freeAddresses(h.ec2, subnetId), 0);
  await rejectsWith(createEni(h.ec2, subnetId), 'InsufficientFreeAddressesInSubnet');
});

test('a fragmented subnet refuses a /28 prefix with InsufficientCidrBlocks while free addresses remain', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const eniId = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  // One address in the middle of every /28 that holds no reserved address (blocks 1..14 of the /24).
  const spread = Array.from({ length: 14 }, (_, i) => `10.0.1.${16 * (i + 1) + 8}`);
  await assign({ NetworkInterfaceId: eniId, PrivateIpAddresses: spread });
  const free = await freeAddresses(h.ec2, subnetId);
  assert.ok(free >= 16, `free addresses left: ${free}`);
  await rejectsWith(assign({ NetworkInterfaceId: eniId, Ipv4PrefixCount: 1 }), 'InsufficientCidrBlocks');
  // Freeing the one address in block 10.0.1.48/28 makes exactly that block available.
  await h.ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: ['10.0.1.56'] }));
  const res = await assign({ NetworkInterfaceId: eniId, Ipv4PrefixCount: 1 });
  assert.deepEqual(res.AssignedIpv4Prefixes, [{ Ipv4Prefix: '10.0.1.48/28' }]);
});

test('prefixes are aligned /28s, skip blocks holding reserved addresses, and count 16 against availableIpAddressCount', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const eniId = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  const before = await freeAddresses(h.ec2, subnetId);
  const res = await assign({ NetworkInterfaceId: eniId, Ipv4PrefixCount: 2 });
  assert.deepEqual(res.AssignedIpv4Prefixes, [{ Ipv4Prefix: '10.0.1.16/28' }, { Ipv4Prefix: '10.0.1.32/28' }]);
  assert.equal(await freeAddresses(h.ec2, subnetId), before - 32);
  const explicit = await assign({ NetworkInterfaceId: eniId, Ipv4Prefixes: ['10.0.1.96/28'] });
  assert.deepEqual(explicit.AssignedIpv4Prefixes, [{ Ipv4Prefix: '10.0.1.96/28' }]);
  await rejectsWith(assign({ NetworkInterfaceId: eniId, Ipv4Prefixes: ['10.0.1.100/28'] }), 'InvalidParameterValue');
  await rejectsWith(assign({ NetworkInterfaceId: eniId, Ipv4Prefixes: ['10.0.1.96/28'] }), 'InvalidIPAddress.InUse');
  await h.ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, Ipv4Prefixes: ['10.0.1.16/28'] }));
  assert.equal(await freeAddresses(h.ec2, subnetId), before - 32);
});

test('a count larger than the free addresses fails with InsufficientFreeAddressesInSubnet and assigns nothing', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2, { subnetCidr: '10.0.2.0/28' });
  assert.equal(await freeAddresses(h.ec2, subnetId), 11);
  const eniId = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  await rejectsWith(assign({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 11 }), 'InsufficientFreeAddressesInSubnet', {
    message: /does not have enough free addresses/,
  });
  assert.equal(await freeAddresses(h.ec2, subnetId), 10);
  assert.deepEqual(await eniIps(eniId), ['10.0.2.4']);
});

test('explicit addresses must be inside the subnet, unreserved and free; AllowReassignment moves a secondary address', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const a = await createEni(h.ec2, subnetId, { PrivateIpAddresses: [{ PrivateIpAddress: '10.0.1.50', Primary: true }] });
  assert.equal(a.PrivateIpAddress, '10.0.1.50');
  const bId = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  await rejectsWith(assign({ NetworkInterfaceId: bId, PrivateIpAddresses: ['10.0.1.50'] }), 'InvalidIPAddress.InUse');
  await rejectsWith(assign({ NetworkInterfaceId: bId, PrivateIpAddresses: ['10.0.1.255'] }), 'InvalidParameterValue', { message: /reserved/ });
  await rejectsWith(assign({ NetworkInterfaceId: bId, PrivateIpAddresses: ['10.0.9.9'] }), 'InvalidParameterValue', { message: /subnet/ });
  await rejectsWith(assign({ NetworkInterfaceId: bId, PrivateIpAddresses: ['ten'] }), 'InvalidParameterValue');
  await assign({ NetworkInterfaceId: a.NetworkInterfaceId!, PrivateIpAddresses: ['10.0.1.60'] });
  await assign({ NetworkInterfaceId: bId, PrivateIpAddresses: ['10.0.1.60'], AllowReassignment: true });
  assert.deepEqual(await eniIps(a.NetworkInterfaceId!), ['10.0.1.50']);
  assert.ok((await eniIps(bId)).includes('10.0.1.60'));
});

test('Assign refuses a count with explicit addresses, addresses with prefixes, and an empty request', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const eniId = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  await rejectsWith(assign({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 1, PrivateIpAddresses: ['10.0.1.9'] }), 'InvalidParameterCombination');
  await rejectsWith(assign({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 1, Ipv4PrefixCount: 1 }), 'InvalidParameterCombination');
  await rejectsWith(
    h.ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: ['10.0.1.4'], Ipv4Prefixes: ['10.0.1.16/28'] })),
    'InvalidParameterCombination',
  );
  await rejectsWith(assign({ NetworkInterfaceId: eniId }), 'MissingParameter');
  // The SDK types NetworkInterfaceId as required but sends whatever it is given; EC2 answers MissingParameter.
  await rejectsWith(assign({ SecondaryPrivateIpAddressCount: 1 } as AssignPrivateIpAddressesRequest), 'MissingParameter');
  await rejectsWith(assign({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 0 }), 'InvalidParameterValue');
});

test('the primary IP cannot be unassigned, and unassigning an address the ENI does not hold is refused', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const eniId = (await createEni(h.ec2, subnetId, { SecondaryPrivateIpAddressCount: 1 })).NetworkInterfaceId!;
  const unassign = (input: { PrivateIpAddresses?: string[]; Ipv4Prefixes?: string[] }) =>
    h.ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, ...input }));
  await rejectsWith(unassign({ PrivateIpAddresses: ['10.0.1.4'] }), 'InvalidParameterValue', { message: /primary/ });
  await rejectsWith(unassign({ PrivateIpAddresses: ['10.0.1.99'] }), 'InvalidParameterValue', { message: /not assigned/ });
  await rejectsWith(unassign({ Ipv4Prefixes: ['10.0.1.16/28'] }), 'InvalidParameterValue', { message: /not assigned/ });
  await unassign({ PrivateIpAddresses: ['10.0.1.5'] });
  assert.deepEqual(await eniIps(eniId), ['10.0.1.4']);
});

test('IPv6 addresses and /80 prefixes come from the subnet /64 and can be unassigned', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2);
  const subnet = (await h.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnetId] }))).Subnets![0]!;
  assert.match(subnet.Ipv6CidrBlockAssociationSet![0]!.Ipv6CidrBlock!, /^2001:db8:/);
  const eniId = (await createEni(h.ec2, subnetId, { Ipv6AddressCount: 1 })).NetworkInterfaceId!;
  const prefixes = (await h.ec2.send(new AssignIpv6AddressesCommand({ NetworkInterfaceId: eniId, Ipv6PrefixCount: 1 }))).AssignedIpv6Prefixes!;
  assert.equal(prefixes.length, 1);
  assert.match(prefixes[0]!, /^2001:db8:.*\/80$/);
  const addresses = (await h.ec2.send(new AssignIpv6AddressesCommand({ NetworkInterfaceId: eniId, Ipv6AddressCount: 2 }))).AssignedIpv6Addresses!;
  assert.equal(addresses.length, 2);
  await rejectsWith(
    h.ec2.send(new AssignIpv6AddressesCommand({ NetworkInterfaceId: eniId, Ipv6AddressCount: 1, Ipv6Addresses: [addresses[0]!] })),
    'InvalidParameterCombination',
  );
  const res = await h.ec2.send(new UnassignIpv6AddressesCommand({ NetworkInterfaceId: eniId, Ipv6Prefixes: prefixes, Ipv6Addresses: [addresses[0]!] }));
  assert.deepEqual(res.UnassignedIpv6Prefixes, prefixes);
  const eni = await describeEni(h.ec2, eniId);
  assert.equal(eni.Ipv6Addresses!.length, 2);
  assert.deepEqual(eni.Ipv6Prefixes, []);
});
