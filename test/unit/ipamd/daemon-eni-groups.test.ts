/**
 * Which security groups the ENIs ipamd creates carry (spec §5.1): the primary ENI's groups, as IMDS lists them
 * (`security-group-ids`), or under custom networking the selected ENIConfig's `securityGroups` — and the primary
 * ENI's again when the ENIConfig names none. Checked in EC2's view, through the SDK.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CreateSecurityGroupCommand, CreateSubnetCommand, DescribeNetworkInterfacesCommand, ModifyNetworkInterfaceAttributeCommand } from '@aws-sdk/client-ec2';
import type { Ipamd } from '../../../src/ipamd/index.js';
import { daemonEnv, eventually, startCloud, startDaemon, type Cloud } from './daemon-harness.js';

async function createGroup(cloud: Cloud, name: string): Promise<string> {
  return (await cloud.ec2.send(new CreateSecurityGroupCommand({ VpcId: cloud.vpcId, GroupName: name, Description: name }))).GroupId!;
}

/** The instance's ENIs as EC2 lists them: device index → sorted group IDs. */
async function groupsByDevice(cloud: Cloud): Promise<Map<number, string[]>> {
  const enis = (await cloud.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [cloud.instanceId] }] }))).NetworkInterfaces!;
  return new Map(enis.map((e) => [e.Attachment!.DeviceIndex!, e.Groups!.map((g) => g.GroupId!).sort()]));
}

/** Gives the primary ENI a second group before ipamd starts, so it reads two from IMDS. */
async function primaryWithTwoGroups(cloud: Cloud): Promise<string[]> {
  const enis = (await cloud.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [cloud.instanceId] }] }))).NetworkInterfaces!;
  const primary = enis.find((e) => e.Attachment!.DeviceIndex === 0)!;
  const extra = await createGroup(cloud, 'node-extra');
  const groups = [...primary.Groups!.map((g) => g.GroupId!), extra];
  await cloud.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: primary.NetworkInterfaceId, Groups: groups }));
  return groups.sort();
}

const eniConfig = (subnet: string, groups: string[]) => `
node:
  name: node-1
  labels: { topology.kubernetes.io/zone: us-west-2a }
  annotations: {}
eniConfigs:
  - metadata: { name: us-west-2a }
    spec: { subnet: ${subnet}, securityGroups: [${groups.join(', ')}] }
`;

async function withDaemon(cloud: Cloud, env: Record<string, string>, check: (ipamd: Ipamd) => Promise<void>): Promise<void> {
  let ipamd: Ipamd | undefined;
  try {
    ipamd = await startDaemon(daemonEnv(cloud, env));
    await check(ipamd);
  } finally {
    await ipamd?.stop();
    await cloud.close();
  }
}

test('a new ENI carries exactly the primary ENI\'s groups, both of them', async () => {
  const cloud = await startCloud();
  const groups = await primaryWithTwoGroups(cloud);
  // six warm addresses do not fit on the primary ENI of a t3.small (3 secondary addresses each): ipamd adds an ENI
  await withDaemon(cloud, { WARM_IP_TARGET: '6' }, async () => {
    await eventually(async () => (await groupsByDevice(cloud)).size >= 2, 'a second ENI');
    const byDevice = await groupsByDevice(cloud);
    for (const [device, ids] of byDevice) assert.deepEqual(ids, groups, `device ${device}`);
  });
});

test('custom networking: a new ENI carries the ENIConfig\'s groups, not the primary ENI\'s', async () => {
  const cloud = await startCloud();
  const primaryGroups = await primaryWithTwoGroups(cloud);
  const pods = await createGroup(cloud, 'pods');
  const podSubnet = (await cloud.ec2.send(new CreateSubnetCommand({ VpcId: cloud.vpcId, CidrBlock: '10.0.64.0/20', AvailabilityZone: 'us-west-2a' }))).Subnet!.SubnetId!;
  const file = join(cloud.dir, 'eniconfigs.yaml');
  writeFileSync(file, eniConfig(podSubnet, [pods]));
  await withDaemon(cloud, { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true', ENI_CONFIG_LABEL_DEF: 'topology.kubernetes.io/zone', PODNET_ENI_CONFIG_FILE: file }, async () => {
    const byDevice = await groupsByDevice(cloud);
    assert.deepEqual(byDevice.get(0), primaryGroups);
    const secondary = [...byDevice].filter(([device]) => device !== 0);
    assert.ok(secondary.length >= 1, 'ipamd attached an ENI at start');
    for (const [, ids] of secondary) assert.deepEqual(ids, [pods]);
  });
});

test('custom networking with an ENIConfig that names no groups: new ENIs carry the primary ENI\'s', async () => {
  const cloud = await startCloud();
  const primaryGroups = await primaryWithTwoGroups(cloud);
  const podSubnet = (await cloud.ec2.send(new CreateSubnetCommand({ VpcId: cloud.vpcId, CidrBlock: '10.0.64.0/20', AvailabilityZone: 'us-west-2a' }))).Subnet!.SubnetId!;
  const file = join(cloud.dir, 'eniconfigs.yaml');
  writeFileSync(file, eniConfig(podSubnet, []));
  await withDaemon(cloud, { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true', ENI_CONFIG_LABEL_DEF: 'topology.kubernetes.io/zone', PODNET_ENI_CONFIG_FILE: file }, async () => {
    const secondary = [...(await groupsByDevice(cloud))].filter(([device]) => device !== 0);
    assert.ok(secondary.length >= 1);
    for (const [, ids] of secondary) assert.deepEqual(ids, primaryGroups);
  });
});

const reconcileCount = async (ipamd: Ipamd) => (await ipamd.metrics.reconciles.get()).values.reduce((n, v) => n + v.value, 0);

/** The primary ENI's ID and a setter for its groups (what a console edit of the node's groups does). */
async function primaryEni(cloud: Cloud): Promise<{ id: string; setGroups: (ids: string[]) => Promise<void> }> {
  const enis = (await cloud.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'attachment.instance-id', Values: [cloud.instanceId] }] }))).NetworkInterfaces!;
  const id = enis.find((e) => e.Attachment!.DeviceIndex === 0)!.NetworkInterfaceId!;
  return { id, setGroups: async (ids) => void (await cloud.ec2.send(new ModifyNetworkInterfaceAttributeCommand({ NetworkInterfaceId: id, Groups: ids }))) };
}

test('RefreshSGIDs: when the primary ENI\'s groups change, reconcile gives them to ipamd\'s other ENIs', async () => {
  const cloud = await startCloud();
  await withDaemon(cloud, { WARM_IP_TARGET: '6' }, async () => {
    await eventually(async () => (await groupsByDevice(cloud)).size >= 2, 'a second ENI');
    const primary = await primaryEni(cloud);
    const groups = [...(await groupsByDevice(cloud)).get(0)!, await createGroup(cloud, 'node-extra')].sort();
    await primary.setGroups(groups);
    await eventually(async () => [...(await groupsByDevice(cloud)).values()].every((ids) => ids.join() === groups.join()), 'every ENI with the new groups');
  });
});

test('RefreshSGIDs is off under custom networking: ipamd\'s ENIs keep the ENIConfig\'s groups', async () => {
  const cloud = await startCloud();
  const pods = await createGroup(cloud, 'pods');
  const podSubnet = (await cloud.ec2.send(new CreateSubnetCommand({ VpcId: cloud.vpcId, CidrBlock: '10.0.64.0/20', AvailabilityZone: 'us-west-2a' }))).Subnet!.SubnetId!;
  const file = join(cloud.dir, 'eniconfigs.yaml');
  writeFileSync(file, eniConfig(podSubnet, [pods]));
  await withDaemon(cloud, { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true', ENI_CONFIG_LABEL_DEF: 'topology.kubernetes.io/zone', PODNET_ENI_CONFIG_FILE: file }, async (ipamd) => {
    const primary = await primaryEni(cloud);
    await primary.setGroups([await createGroup(cloud, 'node-extra')]);
    const before = await reconcileCount(ipamd);
    await eventually(async () => (await reconcileCount(ipamd)) >= before + 2, 'two reconciles');
    for (const [device, ids] of await groupsByDevice(cloud)) if (device !== 0) assert.deepEqual(ids, [pods]);
  });
});
