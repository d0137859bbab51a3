import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { AssignPrivateIpAddressesCommand, DescribeNetworkInterfacesCommand, UnassignPrivateIpAddressesCommand } from '@aws-sdk/client-ec2';
import type { Ipamd } from '../../../src/ipamd/index.js';
import { formatListenAddress } from '../../../src/lib/index.js';
import { addressOf, cniCall, daemonEnv, eventually, httpGet, startCloud, startDaemon, type Cloud } from './daemon-harness.js';

let cloud: Cloud;
let env: Record<string, string>;

before(async () => {
  cloud = await startCloud({ instanceType: 't3.medium' });
  // WARM_IP_TARGET keeps the pool from growing a second ENI, so every address here is on the primary ENI
  env = daemonEnv(cloud, { WARM_IP_TARGET: '1', MINIMUM_IP_TARGET: '3' });
});

after(async () => {
  await cloud?.close();
});

const key = (containerId: string) => ({ networkName: 'aws-cni', containerId, ifName: 'eth0' });

async function primaryEniAddresses(ipamd: Ipamd): Promise<{ eniId: string; secondary: string[] }> {
  const eniId = ipamd.node.datastore.eniInfos().find((e) => e.primary)!.id;
  const out = await cloud.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [eniId] }));
  return { eniId, secondary: out.NetworkInterfaces![0]!.PrivateIpAddresses!.filter((p) => !p.Primary).map((p) => p.PrivateIpAddress!) };
}

test('after a restart pods keep their addresses; addresses removed outside podnet are dropped and ones added are adopted', async () => {
  let ipamd = await startDaemon(env);
  const kept = addressOf(await cniCall(ipamd.socketPath, 'ADD', 'keep'));
  const lost = addressOf(await cniCall(ipamd.socketPath, 'ADD', 'lose'));
  await ipamd.stop();
  const checkpoint = JSON.parse(readFileSync(env.AWS_VPC_K8S_CNI_BACKING_STORE!, 'utf8')) as { version: string; allocations: { containerID: string; ipv4: string }[] };
  assert.equal(checkpoint.version, 'vpc-cni-ipam/1');
  assert.deepEqual(checkpoint.allocations.map((a) => [a.containerID, a.ipv4]).sort(), [['keep', kept], ['lose', lost]]);

  // while ipamd is down someone takes one address away and adds another
  const eniId = ipamd.node.datastore.eniInfos().find((e) => e.primary)!.id;
  const added = (await cloud.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, SecondaryPrivateIpAddressCount: 1 }))).AssignedPrivateIpAddresses![0]!.PrivateIpAddress!;
  await cloud.ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: [lost] }));

  ipamd = await startDaemon(env);
  try {
    assert.equal(ipamd.node.lookup(key('keep'))?.assignment.address, kept, 'the pod keeps its address');
    assert.equal(ipamd.node.lookup(key('lose')), undefined, 'an address EC2 no longer has is not held for the pod');
    assert.ok(ipamd.node.datastore.cidrsOf(eniId).includes(`${added}/32`), 'the address added outside podnet is adopted');
    assert.equal(addressOf(await cniCall(ipamd.socketPath, 'ADD', 'keep')), kept, 'ADD for the restored pod returns its address');
    const { secondary } = await primaryEniAddresses(ipamd);
    assert.deepEqual(ipamd.node.datastore.cidrsOf(eniId).map((c) => c.replace('/32', '')).sort(), [...secondary].sort(), 'datastore and EC2 agree');
  } finally {
    await ipamd.stop();
  }
});

test('a corrupt checkpoint is reported and moved aside, and the datastore is rebuilt from IMDS/EC2 rather than emptied', async () => {
  writeFileSync(env.AWS_VPC_K8S_CNI_BACKING_STORE!, '{"version":"vpc-cni-ipam/1","allocations":[{"contai');
  const ipamd = await startDaemon(env);
  try {
    assert.equal(ipamd.node.ready, true);
    assert.equal(ipamd.node.startupProblems.length, 1);
    assert.equal(ipamd.node.startupProblems[0]!.code, 'CHECKPOINT_CORRUPT');
    assert.match(ipamd.node.startupProblems[0]!.message, /is unusable: not JSON .*moved to .*ipam\.json\.corrupt-.*rebuilt from IMDS\/EC2 with 1 ENIs/);
    assert.ok(readdirSync(cloud.dir).some((f) => f.startsWith('ipam.json.corrupt-')), 'the corrupt file is kept for inspection');
    const { secondary } = await primaryEniAddresses(ipamd);
    assert.ok(secondary.length > 0);
    const eniId = ipamd.node.datastore.eniInfos()[0]!.id;
    for (const ip of secondary) assert.ok(ipamd.node.datastore.cidrsOf(eniId).includes(`${ip}/32`), `${ip} is back in the datastore`);
    const errors = await ipamd.metrics.ipamdErrors.get();
    assert.ok(errors.values.some((v) => v.labels.fn === 'nodeInit' && v.value === 1));
  } finally {
    await ipamd.stop();
  }
});

test('reconcile drops an address taken away while ipamd runs and counts the pod it held in awscni_force_removed_ips', async () => {
  const ipamd = await startDaemon(env);
  try {
    const victim = addressOf(await cniCall(ipamd.socketPath, 'ADD', 'victim'));
    const { eniId } = await primaryEniAddresses(ipamd);
    await cloud.ec2.send(new UnassignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: [victim] }));
    await eventually(() => ipamd.node.lookup(key('victim')) === undefined, 'reconcile to drop the address');
    assert.equal((await ipamd.metrics.forceRemovedIps.get()).values[0]!.value, 1);
  } finally {
    await ipamd.stop();
  }
});

test('introspection and /metrics answer with upstream\'s paths, shapes and metric names', async () => {
  const ipamd = await startDaemon(env);
  try {
    await cniCall(ipamd.socketPath, 'ADD', 'shown');
    const base = `http://${formatListenAddress(ipamd.introspection!)}`;
    const enis = JSON.parse((await httpGet(`${base}/v1/enis`)).text) as Record<string, { TotalIPs: number; AssignedIPs: number; ENIs: Record<string, Record<string, unknown>> }>;
    const card0 = enis['0']!;
    assert.ok(card0.AssignedIPs >= 1 && card0.TotalIPs >= card0.AssignedIPs);
    const eni = Object.values(card0.ENIs)[0]!;
    assert.deepEqual(Object.keys(eni), ['ID', 'IsPrimary', 'IsTrunk', 'IsEFA', 'DeviceNumber', 'AvailableIPv4Cidrs', 'IPv6Cidrs', 'IsExcludedForPodIPs', 'RouteTableID', 'SubnetID']);
    const cidrs = Object.values(eni.AvailableIPv4Cidrs as Record<string, { Cidr: { Mask: string }; IPAddresses: Record<string, { IPAMKey: { containerID: string }; IPAMMetadata: { k8sPodName?: string } }> }>);
    assert.equal(cidrs[0]!.Cidr.Mask, '/////w==');
    const held = cidrs.flatMap((c) => Object.values(c.IPAddresses)).find((a) => a.IPAMMetadata.k8sPodName === 'shown')!;
    assert.equal(held.IPAMKey.containerID, '', 'container ids are scrubbed as upstream does');
    assert.deepEqual(JSON.parse((await httpGet(`${base}/v1/ipamd-env-settings`)).text), {
      WARM_IP_TARGET: 1, WARM_ENI_TARGET: 1, AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: false, AWS_MANAGE_ENIS_NON_SCHEDULABLE: false, ENABLE_SUBNET_DISCOVERY: true,
    });
    assert.equal(JSON.parse((await httpGet(`${base}/v1/networkutils-env-settings`)).text).AWS_VPC_K8S_CNI_RANDOMIZESNAT, 2);
    assert.equal(JSON.parse((await httpGet(`${base}/v1/eni-configs`)).text), 'default');
    assert.equal(JSON.parse((await httpGet(`${base}/nothing`)).text).AvailableCommands.length, 4);

    const metrics = (await httpGet(`http://${formatListenAddress(ipamd.metricsAddress!)}/metrics`)).text;
    for (const name of ['awscni_eni_max 3', 'awscni_eni_allocated 1', 'awscni_add_ip_req_count 1', 'awscni_assigned_ip_addresses 1',
      'awscni_ec2api_req_count{fn="DescribeNetworkInterfaces"}', 'awscni_build_info{version=', 'awscni_ipamd_node_initialization_duration_seconds_bucket']) {
      assert.ok(metrics.includes(name), `/metrics has ${name}`);
    }
  } finally {
    await ipamd.stop();
  }
});
