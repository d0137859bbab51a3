/**
 * The Cloud contract, run against both adapters: the SDK adapter over the emulator's HTTP endpoint and the
 * in-process adapter over the same action handlers. Same calls, same results, same CloudErrors (codes, throttled
 * flag, missing ids) — and one scripted session whose whole transcript must be identical on both.
 */
import { after, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  inProcessCloud,
  launchSimulatedInstance,
  openEc2State,
  simulatedNetwork,
  startEc2Server,
  type Ec2State,
  type SimulatedNetwork,
} from '../../../src/ec2/index.js';
import { CloudError, type Cloud } from '../../../src/ipam/index.js';
import { sdkCloud } from '../../../src/ipamd/sdk-cloud.js';

interface Adapter {
  readonly name: string;
  /** A fresh EC2 state and the Cloud over it. */
  start(): Promise<{ cloud: Cloud; state: Ec2State; close(): Promise<void> }>;
}

const adapters: Adapter[] = [
  {
    name: 'SDK adapter over HTTP',
    async start() {
      const emulator = await startEc2Server({ listen: { host: '127.0.0.1', port: 0 }, imdsListen: { host: '127.0.0.1', port: 0 }, throttle: false });
      const ec2 = new EC2Client({ endpoint: emulator.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
      return {
        cloud: sdkCloud(ec2),
        state: emulator.state,
        close: async () => {
          ec2.destroy();
          await emulator.close();
        },
      };
    },
  },
  {
    name: 'in-process adapter',
    async start() {
      const state = openEc2State();
      return { cloud: inProcessCloud(state), state, close: async () => state.close() };
    },
  },
];

/** Awaits a call that must fail, and gives its CloudError. */
async function cloudError(call: Promise<unknown>): Promise<CloudError> {
  try {
    await call;
  } catch (err) {
    assert.ok(err instanceof CloudError, `expected a CloudError, got ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

/** A node: a VPC/subnet of `cidr` and a t3.small in it. */
function node(state: Ec2State, cidr = '10.0.0.0/24'): SimulatedNetwork & { instanceId: string; primaryEniId: string } {
  const network = simulatedNetwork(state, cidr);
  return { ...network, ...launchSimulatedInstance(network, 't3.small') };
}

const eniTags = { 'node.k8s.amazonaws.com/instance_id': 'i-x', 'cluster.k8s.amazonaws.com/name': 'lab' };

/**
 * One scripted session over every operation; the transcript (results and errors) is the same on both adapters,
 * since a fresh state hands out the same ids and addresses.
 */
async function session(cloud: Cloud, state: Ec2State): Promise<unknown[]> {
  const out: unknown[] = [];
  const record = async (what: string, call: () => Promise<unknown>) => {
    try {
      out.push([what, await call()]);
    } catch (err) {
      assert.ok(err instanceof CloudError, `${what}: ${String(err)}`);
      out.push([what, { api: err.api, code: err.code, throttled: err.throttled, missingIds: err.missingIds, message: err.message }]);
    }
  };
  const n = node(state);
  await record('describeInstance', () => cloud.describeInstance(n.instanceId));
  await record('describeEnis primary', () => cloud.describeEnis([n.primaryEniId]));
  const eni = await cloud.createEni({ subnetId: n.subnetId, description: 'aws-K8S-i-x', securityGroupIds: [], addresses: { family: 'ipv4', unit: 'address', count: 2 }, tags: eniTags });
  out.push(['createEni', eni]);
  await record('findEnis detached', () => cloud.findEnis({ vpcId: n.vpcId, status: 'available', tagKeys: ['node.k8s.amazonaws.com/instance_id'], tags: { 'cluster.k8s.amazonaws.com/name': 'lab' } }));
  await record('findEnis other cluster', () => cloud.findEnis({ vpcId: n.vpcId, tags: { 'cluster.k8s.amazonaws.com/name': 'other' } }));
  const attachmentId = await cloud.attachEni({ eniId: eni.id, instanceId: n.instanceId, deviceIndex: 1, networkCardIndex: 0 });
  out.push(['attachEni', attachmentId]);
  await record('setDeleteOnTermination', () => cloud.setDeleteOnTermination(eni.id, attachmentId, true));
  await record('assign addresses', () => cloud.assignAddresses(eni.id, { family: 'ipv4', unit: 'address', count: 3 }));
  await record('assign over the limit', () => cloud.assignAddresses(eni.id, { family: 'ipv4', unit: 'address', count: 10 }));
  await record('assign prefixes', () => cloud.assignAddresses(n.primaryEniId, { family: 'ipv4', unit: 'prefix', count: 1 }));
  const [attached] = await cloud.describeEnis([eni.id]);
  out.push(['describeEnis attached', attached]);
  await record('unassign', () => cloud.unassignAddresses(eni.id, { family: 'ipv4', unit: 'address', values: attached!.secondaryIpv4s.slice(0, 2) }));
  await record('createTags', () => cloud.createTags([eni.id], { extra: 'yes' }));
  await record('describeInstance attached', () => cloud.describeInstance(n.instanceId));
  await record('describeSubnets', () => cloud.describeSubnets([n.subnetId]));
  await record('findSubnets', () => cloud.findSubnets(n.vpcId, 'us-west-2a'));
  await record('deleteEni in use', () => cloud.deleteEni(eni.id));
  await record('detachEni', () => cloud.detachEni(attachmentId));
  await record('detachEni again', () => cloud.detachEni(attachmentId));
  await record('deleteEni', () => cloud.deleteEni(eni.id));
  await record('describeEnis deleted', () => cloud.describeEnis([eni.id, n.primaryEniId]));
  await record('ipv6 on an IPv4-only subnet', () => cloud.assignAddresses(n.primaryEniId, { family: 'ipv6', unit: 'address', count: 1 }));
  const dual = simulatedNetwork(state, '10.9.0.0/24', { ipv6: true });
  out.push(['dual-stack subnet', dual.subnetIpv6Cidr]);
  const v6 = launchSimulatedInstance(dual, 't3.small');
  await record('ipv6 addresses', () => cloud.assignAddresses(v6.primaryEniId, { family: 'ipv6', unit: 'address', count: 2 }));
  await record('ipv6 prefix', () => cloud.assignAddresses(v6.primaryEniId, { family: 'ipv6', unit: 'prefix', count: 1 }));
  const [withV6] = await cloud.describeEnis([v6.primaryEniId]);
  out.push(['describeEnis ipv6', withV6]);
  await record('unassign ipv6 address', () => cloud.unassignAddresses(v6.primaryEniId, { family: 'ipv6', unit: 'address', values: withV6!.ipv6Addresses.slice(0, 1) }));
  await record('unassign ipv6 prefix', () => cloud.unassignAddresses(v6.primaryEniId, { family: 'ipv6', unit: 'prefix', values: withV6!.ipv6Prefixes }));
  await record('describeEnis ipv6 after', () => cloud.describeEnis([v6.primaryEniId]));
  await record('describeSubnets ipv6', () => cloud.describeSubnets([dual.subnetId]));
  return out;
}

describe('Cloud contract: both adapters, the same session', () => {
  test('every result and every CloudError of one scripted session is identical on both adapters', async () => {
    const transcripts: unknown[][] = [];
    for (const adapter of adapters) {
      const { cloud, state, close } = await adapter.start();
      try {
        transcripts.push(await session(cloud, state));
      } finally {
        await close();
      }
    }
    assert.deepEqual(transcripts[1], transcripts[0]);
  });
});

for (const adapter of adapters) {
  describe(`Cloud contract: ${adapter.name}`, () => {
    let started: Awaited<ReturnType<Adapter['start']>> | undefined;
    const open = async () => (started ??= await adapter.start());
    after(async () => started?.close());

    test('describeInstance lists the primary ENI at device 0, card 0', async () => {
      const { cloud, state } = await open();
      const n = node(state, '10.1.0.0/24');
      const instance = await cloud.describeInstance(n.instanceId);
      assert.equal(instance.instanceType, 't3.small');
      assert.equal(instance.subnetId, n.subnetId);
      assert.equal(instance.vpcId, n.vpcId);
      assert.deepEqual(instance.enis.map((e) => [e.eniId, e.deviceIndex, e.networkCardIndex]), [[n.primaryEniId, 0, 0]]);
    });

    test('not found names the missing ids as a field (one, and several), and is not throttled', async () => {
      const { cloud, state } = await open();
      const n = node(state, '10.2.0.0/24');
      const one = await cloudError(cloud.describeEnis([n.primaryEniId, 'eni-0123456789abcdef0']));
      assert.equal(one.code, 'InvalidNetworkInterfaceID.NotFound');
      assert.equal(one.api, 'DescribeNetworkInterfaces');
      assert.deepEqual(one.missingIds, ['eni-0123456789abcdef0']);
      assert.equal(one.notFound, true);
      assert.equal(one.throttled, false);
      const two = await cloudError(cloud.describeEnis(['eni-0123456789abcdef0', 'eni-0123456789abcdef1']));
      assert.deepEqual(two.missingIds, ['eni-0123456789abcdef0', 'eni-0123456789abcdef1']);
      const attachment = await cloudError(cloud.detachEni('eni-attach-0123456789abcdef0'));
      assert.equal(attachment.code, 'InvalidAttachmentID.NotFound');
      assert.deepEqual(attachment.missingIds, ['eni-attach-0123456789abcdef0']);
      const subnet = await cloudError(cloud.describeSubnets(['subnet-0123456789abcdef0']));
      assert.equal(subnet.code, 'InvalidSubnetID.NotFound');
      assert.deepEqual(subnet.missingIds, ['subnet-0123456789abcdef0']);
      const malformed = await cloudError(cloud.deleteEni('not-an-eni'));
      assert.equal(malformed.code, 'InvalidNetworkInterfaceID.Malformed');
      assert.deepEqual(malformed.missingIds, []);
    });

    test('an exhausted subnet refuses with InsufficientFreeAddressesInSubnet', async () => {
      const { cloud, state } = await open();
      const n = node(state, '10.3.0.0/28'); // 16 − 5 reserved = 11 addresses, 1 taken by the node
      const err = await cloudError(cloud.createEni({ subnetId: n.subnetId, description: 'x', securityGroupIds: [], addresses: { family: 'ipv4', unit: 'address', count: 10 }, tags: {} }));
      assert.equal(err.code, 'InsufficientFreeAddressesInSubnet');
      assert.equal(err.api, 'CreateNetworkInterface');
      assert.equal((await cloud.describeSubnets([n.subnetId]))[0]!.availableIpv4s, 10);
    });

    test('limits: a 4th ENI on a t3.small is AttachmentLimitExceeded, a 5th address on its ENI PrivateIpAddressLimitExceeded', async () => {
      const { cloud, state } = await open();
      const n = node(state, '10.4.0.0/24');
      for (let device = 1; device <= 3; device++) {
        const eni = await cloud.createEni({ subnetId: n.subnetId, description: 'x', securityGroupIds: [], tags: {} });
        const attach = cloud.attachEni({ eniId: eni.id, instanceId: n.instanceId, deviceIndex: device, networkCardIndex: 0 });
        if (device < 3) await attach;
        else assert.equal((await cloudError(attach)).code, 'AttachmentLimitExceeded');
      }
      assert.deepEqual((await cloud.assignAddresses(n.primaryEniId, { family: 'ipv4', unit: 'address', count: 3 })).length, 3);
      assert.equal((await cloudError(cloud.assignAddresses(n.primaryEniId, { family: 'ipv4', unit: 'address', count: 1 }))).code, 'PrivateIpAddressLimitExceeded');
    });

    test('findEnis follows the filters across pages', async () => {
      const { cloud, state } = await open();
      const n = node(state, '10.5.0.0/24');
      const created: string[] = [];
      for (let i = 0; i < 7; i++) {
        created.push((await cloud.createEni({ subnetId: n.subnetId, description: `aws-K8S-${i}`, securityGroupIds: [], tags: i % 2 === 0 ? eniTags : {} })).id);
      }
      const tagged = await cloud.findEnis({ vpcId: n.vpcId, status: 'available', tagKeys: ['node.k8s.amazonaws.com/instance_id'] });
      assert.deepEqual(tagged.map((e) => e.id), created.filter((_, i) => i % 2 === 0));
      assert.deepEqual(tagged[0]!.tags, eniTags);
      const attached = await cloud.findEnis({ attachedInstanceId: n.instanceId });
      assert.deepEqual(attached.map((e) => e.id), [n.primaryEniId]);
    });
  });
}

describe('Cloud contract: throttling (SDK adapter; the in-process adapter has no token buckets)', () => {
  test('RequestLimitExceeded after the retries is a CloudError with throttled set', async () => {
    const emulator = await startEc2Server({ listen: { host: '127.0.0.1', port: 0 }, imdsListen: { host: '127.0.0.1', port: 0 }, throttle: false });
    const ec2 = new EC2Client({ endpoint: emulator.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    try {
      const res = await fetch(`${emulator.ec2Url}/_podnet/faults`, { method: 'POST', body: JSON.stringify({ seed: 1, actions: { DescribeSubnets: { errorRate: 1, errorCode: 'RequestLimitExceeded' } } }) });
      assert.equal(res.status, 200);
      const err = await cloudError(sdkCloud(ec2).findSubnets('vpc-0123456789abcdef0', 'us-west-2a'));
      assert.equal(err.code, 'RequestLimitExceeded');
      assert.equal(err.throttled, true);
      assert.equal(err.api, 'DescribeSubnets');
    } finally {
      ec2.destroy();
      await emulator.close();
    }
  });
});
