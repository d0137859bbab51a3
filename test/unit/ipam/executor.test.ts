/**
 * The executor against the EC2 emulator over HTTP through the SDK cloud adapter: what it asks EC2, how it records results,
 * and that failures roll back (no leaked ENI) and name their cause.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  AssignPrivateIpAddressesCommand, CreateNetworkInterfaceCommand, CreateSubnetCommand, CreateVpcCommand, DeleteNetworkInterfaceCommand,
  DescribeNetworkInterfacesCommand, DetachNetworkInterfaceCommand, EC2Client, RunInstancesCommand,
} from '@aws-sdk/client-ec2';
import { startEc2Server } from '../../../src/ec2/index.js';
import { sdkCloud } from '../../../src/ipamd/sdk-cloud.js';
import { Datastore, FakeClock, PoolExecutor, PoolManager, decidePool, poolLimitsFrom, type NodeIdentity } from '../../../src/ipam/index.js';
import { lookupInstanceType } from '../../../src/limits/index.js';
import { poolConfig } from './fixtures.js';

type Emulator = Awaited<ReturnType<typeof startEc2Server>>;
let emulator: Emulator;
let ec2: EC2Client;

before(async () => {
  emulator = await startEc2Server({ listen: { host: '127.0.0.1', port: 0 }, imdsListen: { host: '127.0.0.1', port: 0 }, throttle: false });
  ec2 = new EC2Client({ endpoint: emulator.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
});
after(async () => {
  ec2.destroy();
  await emulator.close();
});

let subnetCounter = 0;
/** A fresh VPC + subnet + t3.small node; the datastore knows only the primary ENI. */
async function node(subnetPrefix = 24) {
  const n = ++subnetCounter;
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: `10.${n}.0.0/16` }));
  const subnet = (await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc!.VpcId!, CidrBlock: `10.${n}.0.0/${subnetPrefix}` }))).Subnet!;
  const run = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-1', InstanceType: 't3.small', SubnetId: subnet.SubnetId!, MinCount: 1, MaxCount: 1 }));
  const instance = run.Instances![0]!;
  const primary = instance.NetworkInterfaces![0]!;
  const clock = new FakeClock(Date.UTC(2025, 0, 1));
  const ds = new Datastore({ prefixDelegation: false, ipCooldownMs: 30_000 });
  ds.addEni({
    id: primary.NetworkInterfaceId!, deviceNumber: 0, networkCard: 0, primary: true, trunk: false, efa: false, excluded: false,
    subnetId: subnet.SubnetId!, subnetCidr: subnet.CidrBlock!, primaryIp: primary.PrivateIpAddress!, createdAt: clock.now(),
  });
  const identity: NodeIdentity = {
    instanceId: instance.InstanceId!, networkCard: 0, subnetId: subnet.SubnetId!, subnetCidr: subnet.CidrBlock!,
    securityGroupIds: (primary.Groups ?? []).map((g) => g.GroupId!), clusterName: 'lab',
  };
  const executor = new PoolExecutor({ cloud: sdkCloud(ec2), datastore: ds, node: identity, clock, prefixDelegation: false });
  return { ds, clock, executor, identity, primaryEniId: primary.NetworkInterfaceId!, subnet };
}

async function describeEni(id: string) {
  return (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [id] }))).NetworkInterfaces?.[0];
}

async function setFaults(actions: Record<string, { errorRate: number; errorCode?: string }>): Promise<void> {
  const res = await fetch(`${emulator.ec2Url}/_podnet/faults`, { method: 'POST', body: JSON.stringify({ seed: 1, actions }) });
  assert.equal(res.status, 200);
}

describe('PoolExecutor against the EC2 emulator', () => {
  test('create-eni creates, attaches at the lowest free device index, sets DeleteOnTermination and tags as upstream', async () => {
    const { ds, executor, identity } = await node();
    const outcome = await executor.perform({ kind: 'create-eni', unit: 'ip', count: 3 });
    assert.equal(outcome.changed, true);
    const eni = await describeEni(outcome.createdEniId!);
    assert.equal(eni?.Description, `aws-K8S-${identity.instanceId}`);
    assert.equal(eni?.Attachment?.DeviceIndex, 1);
    assert.equal(eni?.Attachment?.DeleteOnTermination, true);
    const tags = Object.fromEntries((eni?.TagSet ?? []).map((t) => [t.Key, t.Value]));
    assert.equal(tags['node.k8s.amazonaws.com/instance_id'], identity.instanceId);
    assert.equal(tags['node.k8s.amazonaws.com/createdAt'], '2025-01-01T00:00:00Z');
    assert.equal(tags['cluster.k8s.amazonaws.com/name'], 'lab');
    assert.equal(tags['eks:eni:owner'], 'amazon-vpc-cni');
    assert.equal(ds.cidrsOf(outcome.createdEniId!).length, 3);
    assert.equal(ds.eniInfo(outcome.createdEniId!)?.deviceNumber, 1);
  });

  test('a failed attach deletes the new ENI again: nothing leaks, and the error names the EC2 code', async () => {
    const { ds, executor, identity } = await node();
    await setFaults({ AttachNetworkInterface: { errorRate: 1, errorCode: 'InternalError' } });
    try {
      const outcome = await executor.perform({ kind: 'create-eni', unit: 'ip', count: 2 });
      assert.equal(outcome.changed, false);
      assert.equal(outcome.error?.code, 'EC2_FAILED');
      assert.match(outcome.error?.message ?? '', /AttachNetworkInterface .* InternalError/);
    } finally {
      await setFaults({});
    }
    const all = (await ec2.send(new DescribeNetworkInterfacesCommand({}))).NetworkInterfaces ?? [];
    assert.deepEqual(all.filter((e) => e.Description === `aws-K8S-${identity.instanceId}`), []);
    assert.equal(ds.eniInfos().length, 1);
  });

  test('PrivateIpAddressLimitExceeded resyncs the datastore from DescribeNetworkInterfaces', async () => {
    const { ds, executor, primaryEniId } = await node();
    await ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: primaryEniId, SecondaryPrivateIpAddressCount: 3 })); // behind ipamd's back
    const outcome = await executor.perform({ kind: 'assign-ips', eniId: primaryEniId, count: 3 });
    assert.equal(outcome.changed, true);
    assert.equal(ds.cidrsOf(primaryEniId).length, 3);
  });

  test('unassign returns addresses to EC2 and keeps those a pod took meanwhile', async () => {
    const { ds, executor, primaryEniId } = await node();
    await executor.perform({ kind: 'assign-ips', eniId: primaryEniId, count: 3 });
    const [first, , third] = ds.cidrsOf(primaryEniId);
    ds.assign({ networkName: 'aws-cni', containerId: 'p1', ifName: 'eth0' }, {}, 0);
    await executor.perform({ kind: 'unassign', eniId: primaryEniId, cidrs: [first!, third!] });
    assert.deepEqual(ds.cidrsOf(primaryEniId).length, 2);
    const onEc2 = (await describeEni(primaryEniId))?.PrivateIpAddresses?.filter((p) => !p.Primary).length;
    assert.equal(onEc2, 2);
  });

  test('free-eni detaches and deletes; an ENI already deleted elsewhere counts as freed', async () => {
    const { ds, executor } = await node();
    const a = (await executor.perform({ kind: 'create-eni', unit: 'ip', count: 1 })).createdEniId!;
    const b = (await executor.perform({ kind: 'create-eni', unit: 'ip', count: 1 })).createdEniId!;
    const freed = await executor.perform({ kind: 'free-eni', eniId: a });
    assert.equal(freed.error, undefined);
    await assert.rejects(describeEni(a), { name: 'InvalidNetworkInterfaceID.NotFound' });
    const attachment = (await describeEni(b))!.Attachment!.AttachmentId!;
    await ec2.send(new DetachNetworkInterfaceCommand({ AttachmentId: attachment })); // someone else removed it
    await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: b }));
    const gone = await executor.perform({ kind: 'free-eni', eniId: b });
    assert.equal(gone.error, undefined);
    assert.deepEqual(ds.eniInfos().map((e) => e.primary), [true]);
  });

  test('a full subnet: bulk assign falls back to 1, then InsufficientFreeAddressesInSubnet backs off and names the subnet', async () => {
    const { ds, clock, executor, primaryEniId, subnet } = await node(28); // 11 usable, the node's primary ENI holds 1
    await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: subnet.SubnetId!, SecondaryPrivateIpAddressCount: 8 })); // 9 more taken: 1 free
    const config = poolConfig({ timers: { ...poolConfig().timers } });
    const limits = poolLimitsFrom(lookupInstanceType('t3.small'), config, { maxPods: 11 });
    const manager = new PoolManager({ datastore: ds, executor, config, limits, clock });
    await manager.runIteration(); // asks for 3, gets 1 on the retry with 1
    assert.equal(ds.cidrsOf(primaryEniId).length, 1);
    clock.advance(5_000);
    const second = await manager.runIteration(); // asks for 2, then 1: both fail
    assert.equal(second.outcomes[0]?.error?.code, 'SUBNET_EXHAUSTED');
    const held = decidePool(ds.snapshot(clock.now()), config, limits, manager.timestamps, clock.now())[0];
    assert.equal(held?.kind === 'none' ? held.retryAt : 0, clock.now() + 120_001);
    ds.assign({ networkName: 'aws-cni', containerId: 'p1', ifName: 'eth0' }, {}, clock.now());
    const why = manager.whyNoAddress();
    assert.equal(why.code, 'SUBNET_EXHAUSTED');
    assert.equal(why.message, `subnet ${subnet.SubnetId} (${subnet.CidrBlock}) has 0 free addresses; 1 ENIs attached, limit 3`);
  });
});
