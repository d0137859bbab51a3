/**
 * podnet sgp-controller against a real API server and a real EC2 emulator (both in process, loopback), with the
 * permissions deploy/ gives it: a trunk per CNINode that asks, the label and the pod-eni capacity; an Event and no
 * trunk for a type that cannot trunk; a branch ENI per scheduled pod with upstream's annotation; release after the
 * cooldown; an unknown group and a full trunk as Events on the pod, nothing half-made, retried until they clear.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DescribeNetworkInterfacesCommand } from '@aws-sdk/client-ec2';
import { annotationOf, associations, branchPod, createPolicy, eventually, sleep, startWorld, taggedBranchIds, trunkOf, waitForEvent, POD_ENI } from './harness.js';

test('a CNINode with SecurityGroupsForPods gets a trunk (attached, once), the has-trunk-attached label and pod-eni = the branch limit; without the feature nothing; t3 gets an Unsupported Event', async () => {
  const w = await startWorld();
  try {
    const m5 = await w.addNode('node-m5', 'm5.large');
    const plain = await w.addNode('node-plain', 'm5.large', { sgp: false });
    const t3 = await w.addNode('node-t3', 't3.medium');
    await w.start();
    await eventually('the m5 node labelled and advertising pod-eni', async () => {
      const node = await w.core.readNode({ name: 'node-m5' });
      return node.metadata?.labels?.['vpc.amazonaws.com/has-trunk-attached'] === 'true' && node.status?.capacity?.[POD_ENI] === '9' && node.status?.allocatable?.[POD_ENI] === '9';
    });
    const trunk = await trunkOf(w, m5);
    assert.ok(trunk, 'a trunk is attached to the m5.large');
    const described = (await w.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [trunk] }))).NetworkInterfaces![0]!;
    assert.equal(described.Description, 'aws-k8s-trunk-eni');
    assert.equal(described.SubnetId, w.subnetId);
    assert.deepEqual(described.Groups!.map((g) => g.GroupId), [w.groups.nodes], "the node's groups");
    assert.ok(described.Attachment!.DeviceIndex! >= 1);
    await waitForEvent(w, 'Node', 'node-m5', /^NodeTrunkInitiated: /);

    const unsupported = await waitForEvent(w, 'Node', 'node-t3', /^Unsupported: The instance type t3.medium is not supported for trunk interface/);
    assert.equal(unsupported.type, 'Warning');
    assert.equal(await trunkOf(w, t3), undefined);
    assert.equal(await trunkOf(w, plain), undefined, 'no feature, no trunk');
    const t3Node = await w.core.readNode({ name: 'node-t3' });
    assert.equal(t3Node.metadata?.labels?.['vpc.amazonaws.com/has-trunk-attached'], undefined);

    // the feature appearing later is acted on; a restarted controller adopts the trunk it finds
    await w.custom.createClusterCustomObject({ group: 'vpcresources.k8s.aws', version: 'v1alpha1', plural: 'cninodes', body: { apiVersion: 'vpcresources.k8s.aws/v1alpha1', kind: 'CNINode', metadata: { name: 'node-plain' }, spec: { features: [{ name: 'SecurityGroupsForPods' }] } } });
    await eventually('a trunk on the node that asked later', async () => (await trunkOf(w, plain)) !== undefined);
    await w.controller!.stop();
    await w.start();
    await eventually('the restarted controller knows both trunks', () => Object.keys(w.controller!.status().trunks).length === 2);
    assert.equal(w.controller!.status().trunks['node-m5'], trunk, 'the same trunk, not a second one');
  } finally {
    await w.close();
  }
});

test('a scheduled pod requesting pod-eni gets a branch ENI with its policy groups on VLAN 1, 2 …, and the annotation upstream writes; deleting the pod releases it after the cooldown, deleting the node releases the rest', async () => {
  const w = await startWorld();
  try {
    const instance = await w.addNode('node-a', 'm5.large');
    await createPolicy(w, 'web', { podSelector: { matchLabels: { role: 'web' } }, securityGroups: { groupIds: [w.groups.web] } });
    await w.start({ branchCooldownMs: 1500 });
    await w.core.createNamespacedPod({ namespace: 'default', body: branchPod('web-1', 'node-a') });
    await w.core.createNamespacedPod({ namespace: 'default', body: branchPod('web-2', 'node-a') });
    await w.core.createNamespacedPod({ namespace: 'default', body: branchPod('unscheduled', undefined) });
    await eventually('both scheduled pods annotated', async () => (await annotationOf(w, 'web-1')) !== undefined && (await annotationOf(w, 'web-2')) !== undefined);
    const trunk = (await trunkOf(w, instance))!;
    const entries = await Promise.all(['web-1', 'web-2'].map(async (n) => JSON.parse((await annotationOf(w, n))!)[0] as Record<string, unknown>));
    for (const e of entries) {
      assert.deepEqual(Object.keys(e), ['eniId', 'ifAddress', 'privateIp', 'ipv6Addr', 'vlanId', 'subnetCidr', 'subnetV6Cidr', 'associationID'], "upstream's ENIDetails keys, in its order");
      assert.match(e.eniId as string, /^eni-/);
      assert.match(e.ifAddress as string, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      assert.match(e.privateIp as string, /^10\.0\.1\./);
      assert.equal(e.subnetCidr, w.subnetCidr);
      assert.equal(e.ipv6Addr, '');
      assert.match(e.associationID as string, /^trunk-assoc-/);
      const eni = (await w.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [e.eniId as string] }))).NetworkInterfaces![0]!;
      assert.deepEqual(eni.Groups!.map((g) => g.GroupId), [w.groups.web]);
      assert.equal(eni.PrivateIpAddress, e.privateIp);
      assert.equal(eni.MacAddress, e.ifAddress);
      assert.equal(eni.Description, 'aws-k8s-branch-eni');
      const tags = Object.fromEntries(eni.TagSet!.map((t) => [t.Key, t.Value]));
      assert.equal(tags['vpcresources.k8s.aws/vlan-id'], String(e.vlanId));
      assert.equal(tags['vpcresources.k8s.aws/trunk-eni-id'], trunk);
    }
    assert.deepEqual(entries.map((e) => e.vlanId).sort(), [1, 2]);
    const assoc = await associations(w, trunk);
    assert.deepEqual(assoc.map((a) => a.BranchInterfaceId).sort(), entries.map((e) => e.eniId).sort());
    await waitForEvent(w, 'Pod', 'web-1', /^ResourceAllocated: Allocated \[\{"eniId"/);
    await waitForEvent(w, 'Pod', 'web-1', new RegExp(`^SecurityGroupRequested: Pod will get the following Security Groups \\[${w.groups.web}\\]`));
    assert.equal(await annotationOf(w, 'unscheduled'), undefined, 'an unscheduled pod gets nothing yet');

    // scheduling it later is enough
    await w.core.patchNamespacedPod({ namespace: 'default', name: 'unscheduled', body: { spec: { nodeName: 'node-a' } } }, (await import('../../../src/k8s/index.js')).mergePatch).catch(async () => {
      await w.core.createNamespacedPodBinding({ namespace: 'default', name: 'unscheduled', body: { metadata: { name: 'unscheduled' }, target: { kind: 'Node', name: 'node-a' } } });
    });
    await eventually('the pod scheduled later annotated', async () => (await annotationOf(w, 'unscheduled')) !== undefined);

    const released = entries[0]!.eniId as string;
    const deletedAt = Date.now();
    await w.core.deleteNamespacedPod({ namespace: 'default', name: 'web-1' });
    await sleep(700);
    assert.ok((await taggedBranchIds(w)).includes(released), 'still there during the cooldown');
    await eventually('the branch deleted after the cooldown', async () => !(await taggedBranchIds(w)).includes(released), 10_000);
    assert.ok(Date.now() - deletedAt >= 1500, 'not before the cooldown');
    assert.equal((await associations(w, trunk)).length, 2);

    // the node goes (upstream's DeleteAllBranchENIs): its trunk's branches are released after the cooldown
    await w.core.deleteNode({ name: 'node-a' });
    await eventually('the deleted node\'s branches released', async () => (await associations(w, trunk)).length === 0 && (await taggedBranchIds(w)).length === 0, 10_000);
  } finally {
    await w.close();
  }
});

test('a policy naming a group that does not exist: an Event naming it on the pod and no branch ENI; fixing the policy lets the retry succeed', async () => {
  const w = await startWorld();
  try {
    await w.addNode('node-a', 'm5.large');
    await createPolicy(w, 'web', { podSelector: { matchLabels: { role: 'web' } }, securityGroups: { groupIds: ['sg-0123456789abcdef0'] } });
    await w.start();
    await w.core.createNamespacedPod({ namespace: 'default', body: branchPod('web-1', 'node-a') });
    const ev = await waitForEvent(w, 'Pod', 'web-1', /^BranchAllocationFailed: /);
    assert.equal(ev.type, 'Warning');
    assert.match(ev.message!, /security group sg-0123456789abcdef0 does not exist/);
    await sleep(300);
    assert.deepEqual(await taggedBranchIds(w), [], 'no branch ENI made');
    assert.equal(await annotationOf(w, 'web-1'), undefined);
    await w.custom.patchNamespacedCustomObject({ group: 'vpcresources.k8s.aws', version: 'v1beta1', plural: 'securitygrouppolicies', namespace: 'default', name: 'web', body: { spec: { securityGroups: { groupIds: [w.groups.db] } } } }, (await import('../../../src/k8s/index.js')).mergePatch);
    await eventually('annotated once the policy is fixed', async () => (await annotationOf(w, 'web-1')) !== undefined);
  } finally {
    await w.close();
  }
});

test('branch limit reached (c7i-flex.large: 3): the fourth pod gets an Event naming the limit and no ENI; it gets its branch once a pod is deleted and the cooldown is over', async () => {
  const w = await startWorld();
  try {
    const instance = await w.addNode('node-c', 'c7i-flex.large');
    await createPolicy(w, 'web', { podSelector: { matchLabels: { role: 'web' } }, securityGroups: { groupIds: [w.groups.web] } });
    await w.start({ branchCooldownMs: 300 });
    await eventually('pod-eni 3 advertised', async () => (await w.core.readNode({ name: 'node-c' })).status?.capacity?.[POD_ENI] === '3');
    for (let i = 1; i <= 4; i++) await w.core.createNamespacedPod({ namespace: 'default', body: branchPod(`web-${i}`, 'node-c') });
    const ev = await waitForEvent(w, 'Pod', 'web-4', /^BranchAllocationFailed: .*branch ENI limit reached/).catch(async () => {
      // whichever pod came last is refused; find it
      for (let i = 1; i <= 4; i++) if ((await annotationOf(w, `web-${i}`)) === undefined) return waitForEvent(w, 'Pod', `web-${i}`, /branch ENI limit reached/);
      throw new Error('no pod refused');
    });
    assert.match(ev.message!, /branch ENI limit reached: \d associated( \+ \d being created)? of 3 on trunk eni-\w+ \(c7i-flex.large\)/);
    const trunk = (await trunkOf(w, instance))!;
    await eventually('three annotated', async () => (await Promise.all([1, 2, 3, 4].map((i) => annotationOf(w, `web-${i}`)))).filter(Boolean).length === 3);
    assert.equal((await associations(w, trunk)).length, 3);
    assert.equal((await taggedBranchIds(w)).length, 3, 'no fourth ENI made');
    const refused = ev.involvedObject.name!;
    const done = [1, 2, 3, 4].map((i) => `web-${i}`).find((n) => n !== refused)!;
    await w.core.deleteNamespacedPod({ namespace: 'default', name: done });
    await eventually('the refused pod annotated after a release', async () => (await annotationOf(w, refused)) !== undefined, 15_000);
    assert.equal((await associations(w, trunk)).length, 3);
  } finally {
    await w.close();
  }
});
