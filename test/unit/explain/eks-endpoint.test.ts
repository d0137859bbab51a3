// explain and the EKS cluster endpoint: the address a sender's DNS answer gives (EKS's rule), the way there (NAT
// gateway, internet gateway, or a cluster network interface in the VPC), and the endpoint's own decision (the public
// allow-list, private access off), with the reason naming whose address the endpoint saw.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clusterEndpoints, explainFlow, formatExplanation, resolveEndpoint, type World } from '../../../src/explain/index.js';
import { flowPath, type EksCluster, type Filtering } from '../../../src/vpc/index.js';
import { makeWorld, type WorldOptions } from './fixture.js';

const tcp443 = (from: string, to = 'cluster-endpoint') => ({ from, to, protocol: 'tcp' as const, port: 443 });

const baseCluster: EksCluster = {
  name: 'prod', arn: 'arn:aws:eks:us-west-2:111122223333:cluster/prod', version: '1.31', status: 'ACTIVE', vpcId: 'vpc-main',
  subnetIds: ['subnet-priv', 'subnet-pub'], hostname: '0123456789ABCDEF0123456789ABCDEF.gr7.us-west-2.eks.amazonaws.com',
  clusterSecurityGroupId: 'sg-cluster', securityGroupIds: [],
  enis: [{ eniId: 'eni-eks1', subnetId: 'subnet-priv', privateIp: '10.0.16.50' }, { eniId: 'eni-eks2', subnetId: 'subnet-pub', privateIp: '10.0.0.50' }],
  publicAddress: '203.0.113.200', endpointPublicAccess: true, endpointPrivateAccess: false, publicAccessCidrs: ['0.0.0.0/0'], fargateProfiles: [],
};

/** The fixture world with cluster `prod` (its two network interfaces in the VPC) and its endpoint named `cluster-endpoint`. */
function worldWith(cluster: Partial<EksCluster> = {}, o: WorldOptions = {}): World {
  const c: EksCluster = { ...baseCluster, ...cluster };
  const w = makeWorld(o);
  const enis = c.enis.map((x) => ({ eniId: x.eniId, vpcId: c.vpcId, subnetId: x.subnetId, privateIps: [x.privateIp], ipv4Prefixes: [], publicIps: {}, groupIds: [c.clusterSecurityGroupId, ...c.securityGroupIds], instanceId: null, deviceIndex: null }));
  return { ...w, model: { ...w.model, eksClusters: [c], enis: [...w.model.enis, ...enis] }, endpoints: [...w.endpoints, ...clusterEndpoints([c])] };
}

test('private node, public-only endpoint open to all: out through the NAT gateway, admitted, seen as the NAT gateway\'s EIP', () => {
  const e = explainFlow(worldWith(), tcp443('node-priv'));
  assert.equal(e.verdict, 'delivered');
  assert.equal(e.to.kind, 'cluster-endpoint');
  assert.equal(e.to.address, '203.0.113.200');
  assert.equal(e.sourceSeen, '203.0.113.4');
  assert.deepEqual(e.codes, ['ENDPOINT_PUBLIC_ACCESS', 'HOST_NETWORK', 'NAT_GATEWAY_TRANSLATION', 'ROUTE_TO_INTERNET_GATEWAY', 'PUBLIC_IP_TRANSLATION']);
  const endpoint = e.forward.find((h) => h.element === 'eks-endpoint')!;
  assert.equal(endpoint.id, 'prod');
  assert.match(endpoint.action, /admits 203\.0\.113\.4 \(allow-list 0\.0\.0\.0\/0\)/);
  assert.equal(e.return.at(-1)?.element, 'eni', 'the reply comes back through the NAT gateway to the node');
});

test('an allow-list lacking the NAT gateway\'s EIP: dropped at eks-endpoint, the reason names the NAT gateway\'s address, the fix adds it', () => {
  const e = explainFlow(worldWith({ publicAccessCidrs: ['198.51.100.0/24'] }), tcp443('node-priv'));
  assert.equal(e.verdict, 'dropped');
  assert.equal(e.sourceSeen, null);
  const drop = e.forward.find((h) => h.dropped)!;
  assert.equal(drop.element, 'eks-endpoint');
  assert.equal(drop.action, "public endpoint allow-list 198.51.100.0/24 does not include the NAT gateway's 203.0.113.4");
  assert.equal(e.reason, "the public endpoint of cluster prod refused it: public endpoint allow-list 198.51.100.0/24 does not include the NAT gateway's 203.0.113.4");
  assert.ok(e.codes.includes('ENDPOINT_PUBLIC_ACCESS_DENY'));
  assert.match(e.fix ?? '', /publicAccessCidrs=198\.51\.100\.0\/24,203\.0\.113\.4\/32/);
  assert.match(e.fix ?? '', /or turn on private access/);
  assert.match(formatExplanation(e), /^DROPPED at eks-endpoint prod: node-priv \(node 10\.0\.16\.10\) → cluster-endpoint \(cluster-endpoint 203\.0\.113\.200\), TCP port 443\./);
});

test('adding the NAT gateway\'s EIP to the allow-list admits the private node', () => {
  const e = explainFlow(worldWith({ publicAccessCidrs: ['198.51.100.0/24', '203.0.113.4/32'] }), tcp443('node-priv'));
  assert.equal(e.verdict, 'delivered');
  assert.equal(e.sourceSeen, '203.0.113.4');
});

test('private access on: a node in the VPC resolves the endpoint to a cluster network interface; the allow-list no longer matters', () => {
  const e = explainFlow(worldWith({ endpointPrivateAccess: true, publicAccessCidrs: ['198.51.100.0/24'] }), tcp443('node-priv'));
  assert.equal(e.verdict, 'delivered');
  assert.equal(e.to.address, '10.0.16.50');
  assert.equal(e.sourceSeen, '10.0.16.10');
  assert.deepEqual(e.codes, ['ENDPOINT_PRIVATE_ACCESS', 'HOST_NETWORK', 'VPC_CIDR_NOT_TRANSLATED']);
  assert.deepEqual(e.forward.filter((h) => h.element === 'eks-endpoint').map((h) => h.action), ['private endpoint of prod on eni-eks1']);
  // a pod of that node: the same private answer, and its own address (the VPC CIDR is not translated)
  const pod = explainFlow(worldWith({ endpointPrivateAccess: true, publicAccessCidrs: ['198.51.100.0/24'] }), tcp443('db'));
  assert.equal(pod.verdict, 'delivered');
  assert.equal(pod.sourceSeen, '10.0.16.11');
  assert.ok(pod.codes.includes('VPC_CIDR_NOT_TRANSLATED'));
});

test('a node with a public IP is seen as that IP: the reason says whose it is', () => {
  const e = explainFlow(worldWith({ publicAccessCidrs: ['203.0.113.4/32'] }), tcp443('node-pub'));
  assert.equal(e.verdict, 'dropped');
  assert.match(e.reason ?? '', /does not include node node-pub's public IP 203\.0\.113\.10$/);
  // without a public IP, a public-subnet node never gets to the endpoint: the internet gateway drops it
  const noIp = explainFlow(worldWith({}, { publicIp: false }), tcp443('node-pub'));
  assert.equal(noIp.verdict, 'dropped');
  assert.ok(noIp.codes.includes('NO_PUBLIC_IP'));
});

test('an internet client: admitted inside the allow-list, refused outside it (with its address named)', () => {
  const inside = explainFlow(worldWith({ publicAccessCidrs: ['198.51.100.0/24'] }), tcp443('internet-host'));
  assert.equal(inside.verdict, 'delivered');
  assert.equal(inside.sourceSeen, '198.51.100.10');
  assert.deepEqual(inside.codes, ['ENDPOINT_PUBLIC_ACCESS']);
  const outside = explainFlow(worldWith({ publicAccessCidrs: ['192.0.2.0/24'] }), tcp443('internet-host'));
  assert.equal(outside.verdict, 'dropped');
  assert.equal(outside.reason, "the public endpoint of cluster prod refused it: public endpoint allow-list 192.0.2.0/24 does not include internet host internet-host's 198.51.100.10");
  assert.deepEqual(outside.codes, ['ENDPOINT_PUBLIC_ACCESS', 'ENDPOINT_PUBLIC_ACCESS_DENY']);
  // the public address given as an address: the same admission
  const byAddress = explainFlow(worldWith({ publicAccessCidrs: ['192.0.2.0/24'] }), tcp443('internet-host', '203.0.113.200'));
  assert.equal(byAddress.verdict, 'dropped');
  assert.equal(byAddress.to.kind, 'cluster-endpoint');
});

test('a cluster network interface while private access is off: dropped at eks-endpoint (ENDPOINT_PRIVATE_ACCESS_OFF)', () => {
  const e = explainFlow(worldWith(), tcp443('node-priv', '10.0.16.50'));
  assert.equal(e.verdict, 'dropped');
  const drop = e.forward.find((h) => h.dropped)!;
  assert.equal(drop.element, 'eks-endpoint');
  assert.deepEqual(e.codes, ['HOST_NETWORK', 'VPC_CIDR_NOT_TRANSLATED', 'ENDPOINT_PRIVATE_ACCESS_OFF']);
  assert.match(e.fix ?? '', /endpointPrivateAccess=true.*resolves to the public address 203\.0\.113\.200/);
});

test('public access off: everyone gets the private addresses; a peered VPC reaches them, the internet does not', () => {
  const world = worldWith({ endpointPublicAccess: false, endpointPrivateAccess: true, publicAddress: null });
  const peer = explainFlow(world, tcp443('peer-host'));
  assert.equal(peer.verdict, 'delivered');
  assert.equal(peer.to.address, '10.0.16.50');
  assert.ok(peer.codes.includes('PEERING'));
  const inet = explainFlow(world, tcp443('internet-host'));
  assert.equal(inet.verdict, 'dropped');
  assert.ok(inet.codes.includes('NO_ROUTE'));
  // private on, public on: outside the cluster's VPC the name resolves to the public address
  const both = explainFlow(worldWith({ endpointPrivateAccess: true }), tcp443('peer-host'));
  assert.equal(both.to.address, '203.0.113.200');
  assert.ok(both.codes.includes('ENDPOINT_PUBLIC_ACCESS'));
});

test('the cluster security group decides at the cluster network interface like any group', () => {
  const filtering: Filtering = {
    securityGroups: [
      { id: 'sg-nodes', name: 'nodes', vpcId: 'vpc-main', ingress: [{ protocol: 'all', peer: { cidr: '0.0.0.0/0' } }], egress: [{ protocol: 'all', peer: { cidr: '0.0.0.0/0' } }] },
      { id: 'sg-peer', name: 'peer', vpcId: 'vpc-peer', ingress: [], egress: [{ protocol: 'all', peer: { cidr: '0.0.0.0/0' } }] },
      // EKS's cluster security group: everything from its own members only
      { id: 'sg-cluster', name: 'eks-cluster-sg-prod', vpcId: 'vpc-main', ingress: [{ protocol: 'all', peer: { groupId: 'sg-cluster' } }], egress: [{ protocol: 'all', peer: { cidr: '0.0.0.0/0' } }] },
    ],
    networkAcls: [],
  };
  const e = explainFlow(worldWith({ endpointPrivateAccess: true }, { filtering }), tcp443('node-priv'));
  assert.equal(e.verdict, 'dropped');
  assert.ok(e.codes.includes('SECURITY_GROUP_DENY'));
  assert.match(e.fix ?? '', /add an ingress rule to sg-cluster allowing TCP 443 from security group sg-nodes \(nodes: the groups of node node-priv's ENI eni-priv0\), or from 10\.0\.16\.10\/32/);
});

test('the endpoint by its DNS name, and src/vpc\'s own verdict for the public endpoint', () => {
  const world = worldWith();
  const byName = resolveEndpoint(world, baseCluster.hostname);
  assert.equal(byName.name, 'cluster-endpoint');
  assert.equal(resolveEndpoint(world, '10.0.0.50').kind, 'cluster-endpoint');
  const flow = flowPath({ ...world.model, eksClusters: [{ ...baseCluster, publicAccessCidrs: ['10.9.0.0/16'] }] }, { internet: '198.51.100.10' }, '203.0.113.200', { traffic: { protocol: 'tcp', sourcePort: 49152, destinationPort: 443 } });
  assert.equal(flow.verdict, 'dropped');
  assert.equal(flow.reason, 'endpoint-allow-list');
  assert.equal(flow.forward.hops.at(-1)?.element, 'eks-endpoint');
});
