/**
 * Switching a node from aws-node to podnet (docs/install-eks.md): aws-node's checkpoint (test/fixtures/aws-node/
 * ipam.json, upstream's format, §6.4) is where ipamd finds the running pods. Their addresses are on the node's ENI in
 * EC2, as aws-node left them with a few warm ones beside. podnet keeps every pod's address, hands new pods other
 * ones, and writes the checkpoint back in the same encoding, so switching back to aws-node finds the pods too.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { AssignPrivateIpAddressesCommand, DescribeInstancesCommand } from '@aws-sdk/client-ec2';
import { addressOf, cniCall, daemonEnv, startCloud, startDaemon, type Cloud } from './daemon-harness.js';

const fixture = new URL('../../fixtures/aws-node/ipam.json', import.meta.url);
const fixtureText = readFileSync(fixture, 'utf8');
type Allocation = { networkName: string; containerID: string; ifName: string; ipv4: string; metadata: { k8sPodNamespace: string; k8sPodName: string } };
const awsNodePods = (JSON.parse(fixtureText) as { allocations: Allocation[] }).allocations;
/** Each allocation's JSON text as it stands in the file (Go's encoder output), for a byte-level comparison. */
const allocationTexts = (text: string): string[] => [...text.matchAll(/\{"networkName".*?\}\}/g)].map((m) => m[0]);

let cloud: Cloud;
let env: Record<string, string>;

before(async () => {
  cloud = await startCloud({ instanceType: 't3.medium' });
  env = daemonEnv(cloud);
  // what aws-node left on the node: the pods' addresses and two warm ones on the primary ENI
  const instance = (await cloud.ec2.send(new DescribeInstancesCommand({ InstanceIds: [cloud.instanceId] }))).Reservations![0]!.Instances![0]!;
  const eniId = instance.NetworkInterfaces![0]!.NetworkInterfaceId!;
  await cloud.ec2.send(new AssignPrivateIpAddressesCommand({ NetworkInterfaceId: eniId, PrivateIpAddresses: [...awsNodePods.map((a) => a.ipv4), '10.0.1.23', '10.0.1.24'] }));
  copyFileSync(fixture, env.AWS_VPC_K8S_CNI_BACKING_STORE!);
});

after(async () => {
  await cloud?.close();
});

test("aws-node's pods keep their addresses; new pods get others; the checkpoint is rewritten in upstream's encoding", async () => {
  const ipamd = await startDaemon(env);
  try {
    for (const a of awsNodePods) {
      const found = ipamd.node.lookup({ networkName: a.networkName, containerId: a.containerID, ifName: a.ifName });
      assert.equal(found?.assignment.address, a.ipv4, `${a.metadata.k8sPodNamespace}/${a.metadata.k8sPodName} keeps its address`);
    }
    const kept = new Set(awsNodePods.map((a) => a.ipv4));
    const fresh: string[] = [];
    for (const pod of ['web-1', 'web-2', 'web-3', 'web-4']) fresh.push(addressOf(await cniCall(ipamd.socketPath, 'ADD', `podnet-${pod}`, pod)));
    assert.equal(new Set(fresh).size, 4);
    for (const ip of fresh) assert.ok(!kept.has(ip), `${ip} was aws-node's pod's and is not handed out again`);

    // a runtime repeating ADD for a pod aws-node wired gets the same address back
    const [first] = awsNodePods;
    const again = await cniCall(ipamd.socketPath, 'ADD', first!.containerID, first!.metadata.k8sPodName);
    assert.equal(addressOf(again), first!.ipv4);

    // the rewritten file: aws-node's allocations byte for byte as upstream encodes them, podnet's beside them
    const written = readFileSync(env.AWS_VPC_K8S_CNI_BACKING_STORE!, 'utf8');
    assert.ok(written.endsWith('}\n') && !written.slice(0, -1).includes('\n'), 'one compact line with a trailing newline, as json.Encoder writes');
    assert.ok(written.startsWith('{"version":"vpc-cni-ipam/1","allocations":[{'));
    const texts = allocationTexts(written);
    for (const original of allocationTexts(fixtureText)) assert.ok(texts.includes(original), `kept verbatim: ${original}`);
    assert.equal(texts.length, 3 + 4);
    for (const t of texts) {
      assert.match(t, /^\{"networkName":"aws-cni","containerID":"[^"]+","ifName":"eth0","ipv4":"10\.0\.1\.\d+","allocationTimestamp":\d{19},"metadata":\{"k8sPodNamespace":"[^"]+","k8sPodName":"[^"]+"(,"interfacesCount":1)?\}\}$/, t);
    }

    // a pod aws-node started is deleted under podnet: its address goes back to the pool and leaves the checkpoint
    const last = awsNodePods[2]!;
    assert.equal((await cniCall(ipamd.socketPath, 'DEL', last.containerID, last.metadata.k8sPodName)).exitCode, 0);
    assert.equal(ipamd.node.lookup({ networkName: last.networkName, containerId: last.containerID, ifName: last.ifName }), undefined);
    assert.ok(!readFileSync(env.AWS_VPC_K8S_CNI_BACKING_STORE!, 'utf8').includes(last.containerID));
  } finally {
    await ipamd.stop();
  }
});
