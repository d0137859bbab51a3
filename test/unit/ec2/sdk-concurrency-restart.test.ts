import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AssignPrivateIpAddressesCommand, DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { createEni, createVpcWithSubnet, startEmulator } from './sdk-harness.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-ec2-'));
after(() => rmSync(dir, { recursive: true, force: true }));

test('200 concurrent AssignPrivateIpAddresses calls never hand out one address twice', async () => {
  const h = await startEmulator();
  try {
    const { subnetId } = await createVpcWithSubnet(h.ec2, { subnetCidr: '10.0.0.0/20', ipv6: false });
    // 20 ENIs × 10 calls each, all in flight at once
    const enis = await Promise.all(Array.from({ length: 20 }, () => createEni(h.ec2, subnetId)));
    const calls = Array.from({ length: 200 }, (_, i) =>
      h.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: enis[i % 20]!.NetworkInterfaceId, SecondaryPrivateIpAddressCount: 1 })),
    );
    const assigned = (await Promise.all(calls)).flatMap((r) => r.AssignedPrivateIpAddresses!.map((a) => a.PrivateIpAddress!));
    const primaries = enis.map((e) => e.PrivateIpAddress!);
    const all = [...primaries, ...assigned];
    assert.equal(assigned.length, 200);
    assert.equal(new Set(all).size, all.length, 'every address is distinct');
  } finally {
    await h.close();
  }
});

test('state survives a server restart on the same database file', async () => {
  const dbPath = join(dir, 'ec2.db');
  const first = await startEmulator({ dbPath });
  let eniId: string;
  let ips: string[];
  try {
    const { subnetId } = await createVpcWithSubnet(first.ec2, { vpcCidr: '10.1.0.0/16', subnetCidr: '10.1.0.0/24', ipv6: false });
    const eni = await createEni(first.ec2, subnetId, { SecondaryPrivateIpAddressCount: 3 });
    eniId = eni.NetworkInterfaceId!;
    ips = eni.PrivateIpAddresses!.map((a) => a.PrivateIpAddress!).sort();
  } finally {
    await first.close();
  }
  const second = await startEmulator({ dbPath });
  try {
    const described = await second.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }));
    assert.deepEqual(described.NetworkInterfaces![0]!.PrivateIpAddresses!.map((a) => a.PrivateIpAddress!).sort(), ips);
  } finally {
    await second.close();
  }
});
