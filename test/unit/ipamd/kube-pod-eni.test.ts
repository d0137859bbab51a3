/**
 * Security groups for pods on the node (spec §5.2, §3.9, §6.1, §6.3): ipamd with ENABLE_POD_ENI=true against a real
 * API server in this process and the EC2 emulator. A pod annotated with vpc.amazonaws.com/pod-eni is wired through
 * its branch ENI (no pool address), answered with the VLAN id in the dummy record, and torn down by DEL even once
 * the annotation is gone; a pod without it takes a pool address as before.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AttachNetworkInterfaceCommand, CreateNetworkInterfaceCommand } from '@aws-sdk/client-ec2';
import { ApiextensionsV1Api, CoreV1Api } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { loadConfig } from '../../../src/config/index.js';
import { addressOnlyDataplane, startIpamd, type NodeDataplane } from '../../../src/ipamd/index.js';
import { startApiServer } from '../k8s/harness.js';
import { addressOf, cniCall, daemonEnv, eventually, startCloud } from './daemon-harness.js';

const NODE = 'ip-10-0-1-10.us-west-2.compute.internal';
const BRANCH = { eniId: 'eni-0b0000000000000a1', ifAddress: '02:bb:00:00:00:05', privateIp: '10.0.1.200', vlanId: 5, subnetCidr: '10.0.1.0/24' };

test('ENABLE_POD_ENI: an annotated pod is wired through its branch ENI, a plain pod from the pool; DEL works without the annotation', async () => {
  const cloud = await startCloud({ instanceType: 'm5.large' });
  const api = await startApiServer();
  const calls: string[] = [];
  const dataplane: NodeDataplane = {
    ...addressOnlyDataplane(),
    async wireBranchPod(p) {
      calls.push(`wire-branch ${p.podName} vlan=${p.branch.vlanId} mode=${p.branch.mode} mac=${p.branch.mac} ip=${p.branch.address} gw=${p.branch.gateway} veth-prefix=${p.vethPrefix} trunk=${p.trunkMac ? 'known' : 'unknown'}`);
    },
    async unwireBranchPod(t) {
      calls.push(`unwire-branch vlan=${t.vlanId} ip=${t.address} veths=${t.hostVeths.length}`);
    },
  };
  let ipamd: Awaited<ReturnType<typeof startIpamd>> | undefined;
  try {
    const ext = api.kc.makeApiClient(ApiextensionsV1Api);
    for (const doc of parseAllDocuments(readFileSync('deploy/00-cninode-crd.yaml', 'utf8'))) await ext.createCustomResourceDefinition({ body: doc.toJS() });
    const core = api.kc.makeApiClient(CoreV1Api);
    const env = daemonEnv(cloud, { KUBECONFIG: api.kubeconfigPath, MY_NODE_NAME: NODE, ENABLE_POD_ENI: 'true' });
    const loaded = loadConfig(env);
    assert.deepEqual(loaded.problems.filter((p) => p.severity === 'error'), []);
    await core.createNode({ body: { metadata: { name: NODE }, status: { capacity: { pods: '29' } } } });
    ipamd = await startIpamd({ env, config: loaded.config, dataplane, retry: { throttleBaseMs: 5, transientBaseMs: 5, maxDelayMs: 20 }, kubeMaxBackoffMs: 200, log: () => {} });
    const sock = ipamd.socketPath;

    const sg = { name: 'sg-pod', annotations: { 'vpc.amazonaws.com/pod-eni': JSON.stringify([BRANCH]) } };
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: sg, spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'vpc.amazonaws.com/pod-eni': '1' } } }] } } });
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'waiting' }, spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'vpc.amazonaws.com/pod-eni': '1' } } }] } } });
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'plain' }, spec: { containers: [{ name: 'c', image: 'x' }] } } });

    // before the trunk: the branch pod waits (11), as upstream's AddNetwork needs the trunk in the datastore
    const early = await cniCall(sock, 'ADD', 'c-sg0', 'sg-pod');
    assert.equal(early.exitCode, 1);
    assert.equal(early.body.code, 11);
    assert.match(String(early.body.msg), /no trunk ENI/);

    // the controller's part, done by hand: a trunk ENI attached to the instance; ipamd finds it at reconcile
    const trunk = await cloud.ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: cloud.subnetId, InterfaceType: 'trunk' }));
    await cloud.ec2.send(new AttachNetworkInterfaceCommand({ NetworkInterfaceId: trunk.NetworkInterface!.NetworkInterfaceId!, InstanceId: cloud.instanceId, DeviceIndex: 2 }));
    await eventually(async () => (await cniCall(sock, 'ADD', 'c-sg1', 'sg-pod')).exitCode === 0, 'the branch pod ADD after the trunk is found', 10_000);
    const add = await cniCall(sock, 'ADD', 'c-sg1', 'sg-pod');
    assert.equal(add.exitCode, 0, JSON.stringify(add.body));
    assert.equal(addressOf(add), '10.0.1.200');
    const interfaces = add.body.interfaces as { name: string; mac?: string; sandbox?: string }[];
    assert.match(interfaces[0]!.name, /^vlan[0-9a-f]{11}$/, 'strict (the default): host veth prefix vlan');
    assert.deepEqual(interfaces[2]!.mac, '5', 'the dummy record carries the VLAN id (spec §6.1)');
    assert.equal((add.body.ips as { gateway?: string }[])[0]!.gateway, '10.0.1.1');
    assert.ok(calls.some((c) => c === 'wire-branch sg-pod vlan=5 mode=strict mac=02:bb:00:00:00:05 ip=10.0.1.200 gw=10.0.1.1 veth-prefix=vlan trunk=known'), calls.join('\n'));
    // no address from the pool went to it
    assert.deepEqual(ipamd.node.datastore.assignments().map((a) => a.address), []);

    // requests a branch but the controller has not annotated it yet: try again later
    const waiting = await cniCall(sock, 'ADD', 'c-wait', 'waiting');
    assert.equal(waiting.body.code, 11);
    assert.match(String(waiting.body.msg), /no vpc\.amazonaws\.com\/pod-eni annotation yet/);

    // a pod without the annotation takes a pool address as before
    const plain = await cniCall(sock, 'ADD', 'c-plain', 'plain');
    assert.equal(plain.exitCode, 0, JSON.stringify(plain.body));
    assert.notEqual(addressOf(plain), '10.0.1.200');
    assert.deepEqual(ipamd.node.datastore.assignments().map((a) => a.address), [addressOf(plain)]);
    assert.equal((plain.body.interfaces as { mac?: string }[])[2]!.mac, '0');

    // the annotation without the pod-eni limit is not read (§5.2): anyone can annotate a pod, so this one naming
    // sg-pod's branch gets a pool address, and sg-pod's branch is untouched
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'sneaky', annotations: sg.annotations }, spec: { containers: [{ name: 'c', image: 'x' }] } } });
    const sneaky = await cniCall(sock, 'ADD', 'c-sneaky', 'sneaky');
    assert.equal(sneaky.exitCode, 0, JSON.stringify(sneaky.body));
    assert.notEqual(addressOf(sneaky), '10.0.1.200');
    assert.equal((sneaky.body.interfaces as { mac?: string }[])[2]!.mac, '0');
    assert.equal(calls.filter((c) => c.startsWith('wire-branch sneaky')).length, 0);

    // a second pod whose annotation names a branch another container holds is refused (110), naming who holds it
    await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'copycat', annotations: { 'vpc.amazonaws.com/pod-eni': JSON.stringify([{ ...BRANCH, eniId: 'eni-0b0000000000000b2', privateIp: '10.0.1.201' }]) } }, spec: { containers: [{ name: 'c', image: 'x', resources: { limits: { 'vpc.amazonaws.com/pod-eni': '1' } } }] } } });
    const copycat = await cniCall(sock, 'ADD', 'c-copy', 'copycat');
    assert.equal(copycat.exitCode, 1);
    assert.equal(copycat.body.code, 110);
    assert.match(String(copycat.body.msg), /VLAN 5 is held by pod default\/sg-pod \(container c-sg1/);
    assert.equal(calls.filter((c) => c.startsWith('wire-branch copycat')).length, 0);
    // a repeated ADD of the holder itself is not a conflict
    assert.equal((await cniCall(sock, 'ADD', 'c-sg1', 'sg-pod')).exitCode, 0);

    // the record is kept beside the checkpoint, so DEL works with the annotation (and the pod) gone
    const records = join(cloud.dir, 'branch-pods.json');
    assert.ok(existsSync(records));
    assert.match(readFileSync(records, 'utf8'), /"vlanId":5/);
    await core.deleteNamespacedPod({ namespace: 'default', name: 'sg-pod' });
    const del = await cniCall(sock, 'DEL', 'c-sg1', 'sg-pod');
    assert.equal(del.exitCode, 0, JSON.stringify(del.body));
    assert.ok(calls.includes('unwire-branch vlan=5 ip=10.0.1.200 veths=2'), calls.join('\n'));
    assert.doesNotMatch(readFileSync(records, 'utf8'), /vlanId/);
    // a second DEL: nothing held, nothing to tear down, success
    assert.equal((await cniCall(sock, 'DEL', 'c-sg1', 'sg-pod')).exitCode, 0);
    assert.equal(calls.filter((c) => c.startsWith('unwire-branch')).length, 1);
  } finally {
    await ipamd?.stop();
    await api.close();
    await cloud.close();
  }
});
