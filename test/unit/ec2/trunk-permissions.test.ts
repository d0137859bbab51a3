import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AssociateTrunkInterfaceCommand,
  AttachNetworkInterfaceCommand,
  CreateNetworkInterfacePermissionCommand,
  DeleteNetworkInterfaceCommand,
  DeleteNetworkInterfacePermissionCommand,
  DescribeNetworkInterfacePermissionsCommand,
  DescribeTrunkInterfaceAssociationsCommand,
  type EC2Client,
} from '@aws-sdk/client-ec2';
import { createEni, createVpcWithSubnet, emulatorForFile, launch, rejectsWith, startEmulator } from './sdk-harness.js';

const h = emulatorForFile();
const account = '111122223333';

const grant = (ec2: EC2Client, eniId: string, extra: { AwsAccountId?: string; AwsService?: string; Permission?: string } = { AwsAccountId: account }) =>
  ec2.send(new CreateNetworkInterfacePermissionCommand({ NetworkInterfaceId: eniId, Permission: 'INSTANCE-ATTACH', ...extra } as never));

test('CreateNetworkInterfacePermission as the resource controller calls it (INSTANCE-ATTACH for its account): granted, described, deleted', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.60.0.0/16', subnetCidr: '10.60.1.0/24', ipv6: false });
  const trunk = (await createEni(h.ec2, subnetId, { InterfaceType: 'trunk' })).NetworkInterfaceId!;
  const { InterfacePermission } = await grant(h.ec2, trunk);
  assert.match(InterfacePermission!.NetworkInterfacePermissionId!, /^eni-perm-[0-9a-f]{17}$/);
  assert.deepEqual(
    { ...InterfacePermission, NetworkInterfacePermissionId: undefined },
    { NetworkInterfacePermissionId: undefined, NetworkInterfaceId: trunk, AwsAccountId: account, Permission: 'INSTANCE-ATTACH', PermissionState: { State: 'granted' } },
  );
  // asking again returns the same permission
  assert.equal((await grant(h.ec2, trunk)).InterfacePermission!.NetworkInterfacePermissionId, InterfacePermission!.NetworkInterfacePermissionId);
  const service = (await grant(h.ec2, trunk, { AwsService: 'eks.amazonaws.com', Permission: 'EIP-ASSOCIATE' })).InterfacePermission!;
  assert.equal(service.AwsService, 'eks.amazonaws.com');
  assert.equal(service.AwsAccountId, undefined);

  const byEni = await h.ec2.send(new DescribeNetworkInterfacePermissionsCommand({ Filters: [{ Name: 'network-interface-permission.network-interface-id', Values: [trunk] }] }));
  assert.deepEqual(byEni.NetworkInterfacePermissions!.map((p) => p.Permission), ['INSTANCE-ATTACH', 'EIP-ASSOCIATE']);
  const byKind = await h.ec2.send(new DescribeNetworkInterfacePermissionsCommand({
    Filters: [{ Name: 'network-interface-permission.permission', Values: ['EIP-ASSOCIATE'] }, { Name: 'network-interface-permission.aws-service', Values: ['eks.*'] }],
  }));
  assert.deepEqual(byKind.NetworkInterfacePermissions!.map((p) => p.NetworkInterfacePermissionId), [service.NetworkInterfacePermissionId]);
  const byId = await h.ec2.send(new DescribeNetworkInterfacePermissionsCommand({ NetworkInterfacePermissionIds: [service.NetworkInterfacePermissionId!] }));
  assert.equal(byId.NetworkInterfacePermissions!.length, 1);
  await rejectsWith(
    h.ec2.send(new DescribeNetworkInterfacePermissionsCommand({ NetworkInterfacePermissionIds: ['eni-perm-0123456789abcdef0'] })),
    'InvalidNetworkInterfacePermissionID.NotFound',
    { message: "'eni-perm-0123456789abcdef0'" },
  );
  await rejectsWith(h.ec2.send(new DescribeNetworkInterfacePermissionsCommand({ Filters: [{ Name: 'eni', Values: ['x'] }] })), 'InvalidParameterValue');

  assert.equal((await h.ec2.send(new DeleteNetworkInterfacePermissionCommand({ NetworkInterfacePermissionId: service.NetworkInterfacePermissionId! }))).Return, true);
  await rejectsWith(
    h.ec2.send(new DeleteNetworkInterfacePermissionCommand({ NetworkInterfacePermissionId: service.NetworkInterfacePermissionId!, Force: true })),
    'InvalidNetworkInterfacePermissionID.NotFound',
  );
  await rejectsWith(h.ec2.send(new DeleteNetworkInterfacePermissionCommand({ NetworkInterfacePermissionId: 'perm-1' })), 'InvalidNetworkInterfacePermissionID.Malformed');

  // permissions go with their ENI
  await h.ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: trunk }));
  await rejectsWith(
    h.ec2.send(new DescribeNetworkInterfacePermissionsCommand({ NetworkInterfacePermissionIds: [InterfacePermission!.NetworkInterfacePermissionId!] })),
    'InvalidNetworkInterfacePermissionID.NotFound',
  );
});

test('CreateNetworkInterfacePermission refuses an unknown ENI, a bad permission, both or neither grantee, a malformed account', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.61.0.0/16', subnetCidr: '10.61.1.0/24', ipv6: false });
  const eni = (await createEni(h.ec2, subnetId)).NetworkInterfaceId!;
  await rejectsWith(grant(h.ec2, 'eni-0123456789abcdef0'), 'InvalidNetworkInterfaceID.NotFound');
  await rejectsWith(grant(h.ec2, eni, { AwsAccountId: account, Permission: 'DETACH' }), 'InvalidParameterValue', { message: 'Value (DETACH) for parameter permission is invalid.' });
  await rejectsWith(grant(h.ec2, eni, { AwsAccountId: account, AwsService: 'eks.amazonaws.com' }), 'InvalidParameterCombination');
  await rejectsWith(grant(h.ec2, eni, {}), 'MissingParameter', { message: 'awsAccountId or awsService' });
  await rejectsWith(grant(h.ec2, eni, { AwsAccountId: '12345' }), 'InvalidParameterValue', { message: '12-digit' });
});

test('DescribeNetworkInterfacePermissions pages 50 by default and MaxResults 5–255', async () => {
  const { subnetId } = await createVpcWithSubnet(h.ec2, { vpcCidr: '10.62.0.0/16', subnetCidr: '10.62.1.0/24', ipv6: false });
  const before = (await h.ec2.send(new DescribeNetworkInterfacePermissionsCommand({ MaxResults: 255 }))).NetworkInterfacePermissions!.length;
  for (let i = 0; i < 52 - before; i++) await grant(h.ec2, (await createEni(h.ec2, subnetId)).NetworkInterfaceId!);
  const first = await h.ec2.send(new DescribeNetworkInterfacePermissionsCommand({}));
  assert.equal(first.NetworkInterfacePermissions!.length, 50);
  const rest = await h.ec2.send(new DescribeNetworkInterfacePermissionsCommand({ NextToken: first.NextToken }));
  assert.equal(rest.NetworkInterfacePermissions!.length, 2);
  assert.equal(rest.NextToken, undefined);
  await rejectsWith(h.ec2.send(new DescribeNetworkInterfacePermissionsCommand({ MaxResults: 256 })), 'InvalidParameterValue', { message: 'between 5 and 255' });
});

test('the trunk actions go through the throttle (mutating and non-mutating buckets) and fault injection like every action', async () => {
  const e = await startEmulator({ throttle: { buckets: { mutating: { capacity: 1000 } } } });
  try {
    const { subnetId } = await createVpcWithSubnet(e.ec2, { vpcCidr: '10.63.0.0/16', subnetCidr: '10.63.1.0/24', ipv6: false });
    const { instanceId } = await launch(e.ec2, subnetId, 'm5.large');
    const trunk = (await createEni(e.ec2, subnetId, { InterfaceType: 'trunk' })).NetworkInterfaceId!;
    await e.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: trunk, InstanceId: instanceId, DeviceIndex: 1 }));
    const branches = [];
    for (let i = 0; i < 3; i++) branches.push((await createEni(e.ec2, subnetId)).NetworkInterfaceId!);
    const admin = (path: string, body: unknown) => fetch(`${e.server.ec2Url}/_podnet/${path}`, { method: 'POST', body: JSON.stringify(body) });

    // AssociateTrunkInterface draws from its own bucket sized as the "mutating" class
    assert.equal((await admin('throttle', { buckets: { AssociateTrunkInterface: { capacity: 1, refillPerSecond: 0.001 } } })).status, 200);
    await e.ec2.send(new AssociateTrunkInterfaceCommand({ TrunkInterfaceId: trunk, BranchInterfaceId: branches[0]!, VlanId: 1 }));
    await rejectsWith(
      e.ec2.send(new AssociateTrunkInterfaceCommand({ TrunkInterfaceId: trunk, BranchInterfaceId: branches[1]!, VlanId: 2 })),
      'RequestLimitExceeded',
      { status: 503 },
    );
    assert.equal((await admin('throttle', { buckets: { DescribeTrunkInterfaceAssociations: { capacity: 1, refillPerSecond: 0.001 } } })).status, 200);
    await e.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({}));
    await rejectsWith(e.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({})), 'RequestLimitExceeded', { status: 503 });
    await admin('throttle', { enabled: false });

    // an injected fault answers before the action runs: nothing is associated
    await admin('faults', { actions: { AssociateTrunkInterface: { errorRate: 1, errorCode: 'InternalError' } } });
    await rejectsWith(
      e.ec2.send(new AssociateTrunkInterfaceCommand({ TrunkInterfaceId: trunk, BranchInterfaceId: branches[2]!, VlanId: 3 })),
      'InternalError',
      { status: 500 },
    );
    await admin('faults', { actions: { CreateNetworkInterfacePermission: { errorRate: 1, errorCode: 'UnauthorizedOperation' } } });
    await rejectsWith(grant(e.ec2, branches[2]!), 'UnauthorizedOperation');
    await admin('faults', { actions: {} });
    const listed = await e.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({}));
    assert.deepEqual(listed.InterfaceAssociations!.map((a) => a.BranchInterfaceId), [branches[0]]);
  } finally {
    await e.close();
  }
});
