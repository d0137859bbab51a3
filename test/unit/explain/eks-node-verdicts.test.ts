// Each node to its cluster endpoint (src/lab's nodeEndpointVerdicts) and what `lab status` makes of it with the
// nodes' readiness (nodeKubernetesStatus): a NotReady, Unknown or unregistered node that cannot reach the endpoint
// gets explain's reason.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterEndpoints, type World } from '../../../src/explain/index.js';
import { nodeEndpointVerdicts, nodeKubernetesStatus } from '../../../src/lab/index.js';
import type { EksCluster } from '../../../src/vpc/index.js';
import { makeWorld } from './fixture.js';

const cluster: EksCluster = {
  name: 'lab', arn: 'arn:aws:eks:us-west-2:000000000000:cluster/lab', version: '1.31', status: 'ACTIVE', vpcId: 'vpc-main', subnetIds: ['subnet-priv'],
  hostname: 'ABCDEF0123456789ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com', clusterSecurityGroupId: 'sg-cluster', securityGroupIds: [],
  enis: [{ eniId: 'eni-eks1', subnetId: 'subnet-priv', privateIp: '10.0.16.50' }],
  publicAddress: '203.0.113.200', endpointPublicAccess: true, endpointPrivateAccess: false, publicAccessCidrs: ['198.51.100.0/24'], fargateProfiles: [],
};

function world(c: Partial<EksCluster> = {}): World {
  const w = makeWorld();
  const full = { ...cluster, ...c };
  const eni = { eniId: 'eni-eks1', vpcId: 'vpc-main', subnetId: 'subnet-priv', privateIps: ['10.0.16.50'], ipv4Prefixes: [], publicIps: {}, groupIds: ['sg-cluster'], instanceId: null, deviceIndex: null };
  return { ...w, model: { ...w.model, eksClusters: [full], enis: [...w.model.enis, eni] }, endpoints: [...w.endpoints, ...clusterEndpoints([full])] };
}

test('each node to the endpoint: the private node is refused by the allow-list (NAT gateway EIP), the public node too (its own public IP)', () => {
  const v = nodeEndpointVerdicts(world(), { 'node-priv': 'ip-10-0-16-10.us-west-2.compute.internal' });
  const priv = v.find((x) => x.node === 'node-priv')!;
  assert.equal(priv.reaches, false);
  assert.equal(priv.via, 'public');
  assert.equal(priv.address, '203.0.113.200');
  assert.equal(priv.nodeName, 'ip-10-0-16-10.us-west-2.compute.internal');
  assert.equal(priv.reason, "cannot reach the cluster endpoint: public endpoint allow-list 198.51.100.0/24 does not include the NAT gateway's 203.0.113.4");
  assert.equal(v.find((x) => x.node === 'node-pub')!.reason, "cannot reach the cluster endpoint: public endpoint allow-list 198.51.100.0/24 does not include node node-pub's public IP 203.0.113.10");
  const open = nodeEndpointVerdicts(world({ publicAccessCidrs: ['0.0.0.0/0'] }));
  assert.deepEqual(open.map((x) => [x.node, x.reaches, x.sourceSeen]), [['node-pub', true, '203.0.113.10'], ['node-priv', true, '203.0.113.4']]);
  const priv2 = nodeEndpointVerdicts(world({ endpointPrivateAccess: true }));
  assert.deepEqual(priv2.map((x) => [x.via, x.address, x.reaches]), [['private', '10.0.16.50', true], ['private', '10.0.16.50', true]]);
  assert.deepEqual(nodeEndpointVerdicts(makeWorld()), [], 'no cluster, no verdicts');
});

test('lab status: readiness from the Ready condition, explain\'s reason for a node that is not Ready and cannot reach the endpoint', () => {
  const verdicts = nodeEndpointVerdicts(world());
  const nodes = [{ name: 'node-pub', nodeName: 'ip-10-0-0-10' }, { name: 'node-priv', nodeName: 'ip-10-0-16-10' }];
  const status = nodeKubernetesStatus(nodes, {
    nodes: [
      { name: 'ip-10-0-0-10', ready: true, reason: 'KubeletReady', pods: '29', condition: 'True' },
      { name: 'ip-10-0-16-10', ready: false, reason: 'NodeStatusUnknown: Kubelet stopped posting node status.', pods: '29', condition: 'Unknown' },
    ],
    pods: [],
  }, verdicts);
  assert.equal(status.get('node-pub')!.ready, 'Ready');
  assert.equal(status.get('node-pub')!.why, undefined, 'a Ready node needs no reason, whatever explain says');
  const priv = status.get('node-priv')!;
  assert.equal(priv.ready, 'Unknown');
  assert.match(priv.why ?? '', /^cannot reach the cluster endpoint: public endpoint allow-list 198\.51\.100\.0\/24 does not include the NAT gateway's 203\.0\.113\.4$/);
  const unregistered = nodeKubernetesStatus(nodes, { nodes: [], pods: [] }, verdicts);
  assert.equal(unregistered.get('node-priv')!.ready, 'NotRegistered');
  assert.match(unregistered.get('node-priv')!.why ?? '', /NAT gateway's 203\.0\.113\.4/);
});
