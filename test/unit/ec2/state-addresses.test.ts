import assert from 'node:assert/strict';
import { test } from 'node:test';
import { assertEc2Error, call, items, obj, withVpc } from './state-helpers.js';

function freeCount(state: ReturnType<typeof withVpc>['state'], subnetId: string): number {
  const subnet = items(call(state, 'DescribeSubnets', { 'SubnetId.1': subnetId }).subnetSet)[0]!;
  return subnet.availableIpAddressCount as number;
}

function eniIps(state: ReturnType<typeof withVpc>['state'], eniId: string): string[] {
  const eni = items(call(state, 'DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eniId }).networkInterfaceSet)[0]!;
  return items(eni.privateIpAddressesSet).map((p) => p.privateIpAddress as string);
}

test('filling a /24 hands out exactly its 251 usable addresses, never a reserved one, then InsufficientFreeAddressesInSubnet', () => {
  const { state, subnetId } = withVpc();
  assert.equal(freeCount(state, subnetId), 251);
  const all: string[] = [];
  let remaining = 251;
  while (remaining > 0) {
    const secondaries = Math.min(49, remaining - 1);
    const eni = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId, SecondaryPrivateIpAddressCount: secondaries }).networkInterface);
    if (secondaries === 0) all.push(eni.privateIpAddress as string);
    else all.push(...items(eni.privateIpAddressesSet).map((p) => p.privateIpAddress as string));
    remaining -= secondaries + 1;
  }
  assert.equal(all.length, 251);
  assert.equal(new Set(all).size, 251);
  for (const reserved of ['10.0.1.0', '10.0.1.1', '10.0.1.2', '10.0.1.3', '10.0.1.255']) assert.ok(!all.includes(reserved), reserved);
  assert.equal(freeCount(state, subnetId), 0);
  assertEc2Error(() => call(state, 'CreateNetworkInterface', { SubnetId: subnetId }), 'InsufficientFreeAddressesInSubnet');
  state.close();
});

test('a fragmented subnet refuses a /28 prefix with InsufficientCidrBlocks while free addresses remain', () => {
  const { state, subnetId } = withVpc();
  const eniId = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId }).networkInterface).networkInterfaceId as string;
  // One address in the middle of every /28 that holds no reserved address (blocks 1..14 of the /24).
  const spread: Record<string, string> = { NetworkInterfaceId: eniId };
  for (let k = 1; k <= 14; k++) spread[`PrivateIpAddress.${k}`] = `10.0.1.${16 * k + 8}`;
  call(state, 'AssignPrivateIpAddresses', spread);
  const free = freeCount(state, subnetId);
  assert.ok(free >= 16, `free addresses left: ${free}`);
  assertEc2Error(() => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, Ipv4PrefixCount: 1 }), 'InsufficientCidrBlocks');
  // Freeing the one address in block 10.0.1.48/28 makes exactly that block available.
  call(state, 'UnassignPrivateIpAddresses', { NetworkInterfaceId: eniId, 'PrivateIpAddress.1': '10.0.1.56' });
  const res = call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, Ipv4PrefixCount: 1 });
  assert.deepEqual(items(res.assignedIpv4PrefixSet), [{ ipv4Prefix: '10.0.1.48/28' }]);
  state.close();
});

test('prefixes are aligned /28s, skip blocks holding reserved addresses, and count 16 against availableIpAddressCount', () => {
  const { state, subnetId } = withVpc();
  const eniId = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId }).networkInterface).networkInterfaceId as string;
  const before = freeCount(state, subnetId);
  const res = call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, Ipv4PrefixCount: 2 });
  assert.deepEqual(items(res.assignedIpv4PrefixSet), [{ ipv4Prefix: '10.0.1.16/28' }, { ipv4Prefix: '10.0.1.32/28' }]);
  assert.equal(freeCount(state, subnetId), before - 32);
  const explicit = call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, 'Ipv4Prefix.1': '10.0.1.96/28' });
  assert.deepEqual(items(explicit.assignedIpv4PrefixSet), [{ ipv4Prefix: '10.0.1.96/28' }]);
  assertEc2Error(() => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, 'Ipv4Prefix.1': '10.0.1.100/28' }), 'InvalidParameterValue');
  assertEc2Error(() => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, 'Ipv4Prefix.1': '10.0.1.96/28' }), 'InvalidIPAddress.InUse');
  call(state, 'UnassignPrivateIpAddresses', { NetworkInterfaceId: eniId, 'Ipv4Prefix.1': '10.0.1.16/28' });
  assert.equal(freeCount(state, subnetId), before - 32);
  state.close();
});

test('a count larger than the free addresses fails with InsufficientFreeAddressesInSubnet and assigns nothing', () => {
  const { state, subnetId } = withVpc({ subnetCidr: '10.0.2.0/28' });
  assert.equal(freeCount(state, subnetId), 11);
  const eniId = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId }).networkInterface).networkInterfaceId as string;
  assertEc2Error(
    () => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 11 }),
    'InsufficientFreeAddressesInSubnet',
    /does not have enough free addresses/,
  );
  assert.equal(freeCount(state, subnetId), 10);
  assert.deepEqual(eniIps(state, eniId), ['10.0.2.4']);
  state.close();
});

test('explicit addresses must be inside the subnet, unreserved and free; AllowReassignment moves a secondary address', () => {
  const { state, subnetId } = withVpc();
  const a = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId, 'PrivateIpAddresses.1.PrivateIpAddress': '10.0.1.50', 'PrivateIpAddresses.1.Primary': true }).networkInterface);
  assert.equal(a.privateIpAddress, '10.0.1.50');
  const b = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId }).networkInterface);
  const bId = b.networkInterfaceId as string;
  assertEc2Error(() => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: bId, 'PrivateIpAddress.1': '10.0.1.50' }), 'InvalidIPAddress.InUse');
  assertEc2Error(() => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: bId, 'PrivateIpAddress.1': '10.0.1.255' }), 'InvalidParameterValue', /reserved/);
  assertEc2Error(() => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: bId, 'PrivateIpAddress.1': '10.0.9.9' }), 'InvalidParameterValue', /subnet/);
  assertEc2Error(() => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: bId, 'PrivateIpAddress.1': 'ten' }), 'InvalidParameterValue');
  call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: a.networkInterfaceId as string, 'PrivateIpAddress.1': '10.0.1.60' });
  call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: bId, 'PrivateIpAddress.1': '10.0.1.60', AllowReassignment: true });
  assert.deepEqual(eniIps(state, a.networkInterfaceId as string), ['10.0.1.50']);
  assert.ok(eniIps(state, bId).includes('10.0.1.60'));
  state.close();
});

test('Assign refuses a count with explicit addresses, addresses with prefixes, and an empty request', () => {
  const { state, subnetId } = withVpc();
  const eniId = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId }).networkInterface).networkInterfaceId as string;
  assertEc2Error(
    () => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 1, 'PrivateIpAddress.1': '10.0.1.9' }),
    'InvalidParameterCombination',
  );
  assertEc2Error(
    () => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 1, Ipv4PrefixCount: 1 }),
    'InvalidParameterCombination',
  );
  assertEc2Error(
    () => call(state, 'UnassignPrivateIpAddresses', { NetworkInterfaceId: eniId, 'PrivateIpAddress.1': '10.0.1.4', 'Ipv4Prefix.1': '10.0.1.16/28' }),
    'InvalidParameterCombination',
  );
  assertEc2Error(() => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId }), 'MissingParameter');
  assertEc2Error(() => call(state, 'AssignPrivateIpAddresses', { SecondaryPrivateIpAddressCount: 1 }), 'MissingParameter');
  assertEc2Error(() => call(state, 'AssignPrivateIpAddresses', { NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 0 }), 'InvalidParameterValue');
  state.close();
});

test('the primary IP cannot be unassigned, and unassigning an address the ENI does not hold is refused', () => {
  const { state, subnetId } = withVpc();
  const eni = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId, SecondaryPrivateIpAddressCount: 1 }).networkInterface);
  const eniId = eni.networkInterfaceId as string;
  assertEc2Error(() => call(state, 'UnassignPrivateIpAddresses', { NetworkInterfaceId: eniId, 'PrivateIpAddress.1': '10.0.1.4' }), 'InvalidParameterValue', /primary/);
  assertEc2Error(() => call(state, 'UnassignPrivateIpAddresses', { NetworkInterfaceId: eniId, 'PrivateIpAddress.1': '10.0.1.99' }), 'InvalidParameterValue', /not assigned/);
  assertEc2Error(() => call(state, 'UnassignPrivateIpAddresses', { NetworkInterfaceId: eniId, 'Ipv4Prefix.1': '10.0.1.16/28' }), 'InvalidParameterValue', /not assigned/);
  call(state, 'UnassignPrivateIpAddresses', { NetworkInterfaceId: eniId, 'PrivateIpAddress.1': '10.0.1.5' });
  assert.deepEqual(eniIps(state, eniId), ['10.0.1.4']);
  state.close();
});

test('IPv6 addresses and /80 prefixes come from the subnet /64 and can be unassigned', () => {
  const { state, subnetId } = withVpc();
  const subnet = items(call(state, 'DescribeSubnets', { 'SubnetId.1': subnetId }).subnetSet)[0]!;
  const v6 = items(subnet.ipv6CidrBlockAssociationSet)[0]!.ipv6CidrBlock as string;
  assert.match(v6, /^2001:db8:/);
  const eniId = obj(call(state, 'CreateNetworkInterface', { SubnetId: subnetId, Ipv6AddressCount: 1 }).networkInterface).networkInterfaceId as string;
  const prefixes = call(state, 'AssignIpv6Addresses', { NetworkInterfaceId: eniId, Ipv6PrefixCount: 1 }).assignedIpv6PrefixSet as string[];
  assert.equal(prefixes.length, 1);
  assert.match(prefixes[0]!, /^2001:db8:.*\/80$/);
  const addresses = call(state, 'AssignIpv6Addresses', { NetworkInterfaceId: eniId, Ipv6AddressCount: 2 }).assignedIpv6Addresses as string[];
  assert.equal(addresses.length, 2);
  assertEc2Error(() => call(state, 'AssignIpv6Addresses', { NetworkInterfaceId: eniId, Ipv6AddressCount: 1, 'Ipv6Addresses.1': addresses[0]! }), 'InvalidParameterCombination');
  const res = call(state, 'UnassignIpv6Addresses', { NetworkInterfaceId: eniId, 'Ipv6Prefix.1': prefixes[0]!, 'Ipv6Addresses.1': addresses[0]! });
  assert.deepEqual(res.unassignedIpv6PrefixSet, prefixes);
  const eni = items(call(state, 'DescribeNetworkInterfaces', { 'NetworkInterfaceId.1': eniId }).networkInterfaceSet)[0]!;
  assert.equal(items(eni.ipv6AddressesSet).length, 2);
  assert.deepEqual(items(eni.ipv6PrefixSet), []);
  state.close();
});
