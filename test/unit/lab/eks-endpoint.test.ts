import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Ec2Facts, EniMapping } from '../../../src/ec2/index.js';
import { defaultScenarioPath, loadScenario, planFabric, renderFabric, renderFixedFabric } from '../../../src/lab/index.js';
import { eksClusterOfEni, endpointConfigKey, fargateNamespaceOfEni, kubeletResolverEnv, renderEndpoint } from '../../../src/lab/eks-endpoint.js';
import { endpointKubeconfig, kubeconfigCaPem, nodeResolvConf, nodeVpcDns } from '../../../src/lab/eks-endpoint-lab.js';
import { LAB_ACCOUNT_ID, vpcDnsAddress } from '../../../src/lab/plan.js';
import { ownerId } from '../../../src/ec2/actions/common.js';
import type { EksCluster } from '../../../src/vpc/index.js';
import { defaultVpcFacts } from '../vpc/default-vpc.js';

const scenario = await loadScenario(defaultScenarioPath);
// the plan as a scenario with `cluster: {name: demo}` makes it
const base = planFabric(scenario);
const eks = { cluster: 'demo', ns: 'pn-eks-demo', hostname: 'ABC.gr7.us-west-2.eks.amazonaws.com', coreDev: 'pn-k0', publicDev: 'pn-inet' };
const plan = { ...base, eks, namespaces: [...base.namespaces, eks.ns], links: [...base.links, { a: { ns: 'pn-inet', dev: 'pn-k0' }, b: { ns: 'pn-eks-demo', dev: 'pn-inet' } }] };

const cluster: EksCluster = {
  name: 'demo', arn: 'arn:aws:eks:us-west-2:000000000000:cluster/demo', version: '1.33', status: 'ACTIVE', vpcId: 'vpc-main', subnetIds: ['subnet-pub', 'subnet-priv'],
  hostname: eks.hostname, clusterSecurityGroupId: 'sg-cluster', securityGroupIds: [],
  enis: [{ eniId: 'eni-eks-b', subnetId: 'subnet-priv', privateIp: '10.0.16.50' }, { eniId: 'eni-eks-a', subnetId: 'subnet-pub', privateIp: '10.0.0.50' }],
  publicAddress: '203.0.113.9', endpointPublicAccess: true, endpointPrivateAccess: false, publicAccessCidrs: ['198.51.100.0/24', '203.0.113.4/32'], fargateProfiles: [],
};

const facts: Ec2Facts = { ...defaultVpcFacts, instances: [], securityGroups: [] };
const eni = (over: Partial<EniMapping>): EniMapping => ({ eniId: 'eni-x', mac: '02:00:00:00:00:01', vpcId: 'vpc-main', subnetId: 'subnet-priv', instanceId: null, deviceIndex: null, privateIps: [], ipv4Prefixes: [], ipv6Addresses: [], ipv6Prefixes: [], publicIps: {}, groupIds: ['sg-cluster'], description: '', requesterManaged: true, ...over });
const mappings = [
  eni({ eniId: 'eni-eks-a', mac: '02:00:00:00:00:a1', subnetId: 'subnet-pub', privateIps: ['10.0.0.50'], description: 'Amazon EKS demo' }),
  eni({ eniId: 'eni-eks-b', mac: '02:00:00:00:00:b1', privateIps: ['10.0.16.50'], description: 'Amazon EKS demo' }),
  eni({ eniId: 'eni-far', mac: '02:00:00:00:00:f1', privateIps: ['10.0.16.60'], description: '[fargate] pn-f-0123456789' }),
  eni({ eniId: 'eni-other-cluster', privateIps: ['10.0.16.70'], description: 'Amazon EKS other' }),
];

test('descriptions name the cluster or the Fargate node of an ENI', () => {
  assert.equal(eksClusterOfEni('Amazon EKS demo'), 'demo');
  assert.equal(eksClusterOfEni('something else'), null);
  assert.equal(fargateNamespaceOfEni('[fargate] pn-f-0123456789'), 'pn-f-0123456789');
  assert.equal(fargateNamespaceOfEni('[fargate] pn-f-xyz'), null);
});

test("the cluster's ENIs are wired into the endpoint namespace as eth0..ethN by ENI id (whether EKS has described the cluster yet or not), a Fargate ENI into its node", () => {
  const desired = renderFabric(plan, scenario, facts, mappings, [cluster]);
  const ends = desired.links.map((l) => [l.eniId, l.endNs, l.endDev, l.primary?.cidr, l.primary?.defaultRoute ?? true]);
  assert.deepEqual(ends, [
    ['eni-eks-a', 'pn-eks-demo', 'eth0', '10.0.0.50/20', true],
    ['eni-eks-b', 'pn-eks-demo', 'eth1', '10.0.16.50/20', false],
    ['eni-far', 'pn-f-0123456789', 'eth0', '10.0.16.60/20', true],
  ]);
  // before EKS has described the cluster (the controller's first pass), the same devices: a wired link is never renamed
  const early = renderFabric(plan, scenario, facts, mappings, []);
  assert.deepEqual(early.links.map((l) => [l.eniId, l.endDev]), ends.map(([id, , dev]) => [id, dev]));
  // replies leave the ENI their request came in on; the public address is local on the public link
  assert.deepEqual(desired.rules.get('pn-eks-demo'), ['pref 100 from 10.0.0.50 lookup 200', 'pref 100 from 10.0.16.50 lookup 201', 'pref 100 from 203.0.113.9 lookup 250']);
  const routes = desired.routes.get('pn-eks-demo')!;
  assert.ok(routes.includes('default via 10.0.0.1 dev eth0 onlink table 200'));
  assert.ok(routes.includes('default via 10.0.16.1 dev eth1 onlink table 201'));
  assert.ok(routes.includes('local 203.0.113.9 dev pn-inet table local'));
  assert.ok(routes.includes('default dev pn-inet table 250'));
  assert.ok(desired.routes.get('pn-inet')!.includes('203.0.113.9/32 dev pn-k0'));
  // the router routes the cluster ENIs' addresses like any ENI's, and the VPC resolver to the aws namespace
  const router = desired.routes.get('pn-r-main')!;
  assert.ok(router.some((r) => r.startsWith('10.0.0.50/32 dev pne')));
  assert.ok(router.includes('10.0.0.2/32 via 100.64.0.2 dev pn-aws'), router.join('\n'));
});

test('the endpoint filter: the allow-list on the public link, tcp/443 on the ENIs only with private access, counters named', () => {
  const enis = [{ eniId: 'e0', dev: 'eth0', ip: '10.0.16.50', gateway: '10.0.16.1' }];
  const open = renderEndpoint(eks, cluster, enis).nft;
  assert.match(open, /set public_allow \{ type ipv4_addr; flags interval; auto-merge; elements = \{ 198\.51\.100\.0\/24, 203\.0\.113\.4\/32 \}; \}/);
  assert.match(open, /iifname "pn-inet" meta l4proto 6 th dport 443 ip saddr @public_allow accept/);
  assert.match(open, /iifname "pn-inet" counter drop comment "endpoint-allow-list"/);
  assert.match(open, /iifname \{ "eth0" \} meta l4proto 6 th dport 443 counter drop comment "endpoint-private-off"/);
  assert.doesNotMatch(open, /ct state/);
  const privateOnly = renderEndpoint(eks, { ...cluster, endpointPublicAccess: false, endpointPrivateAccess: true, publicAddress: null }, enis);
  assert.doesNotMatch(privateOnly.nft, /public_allow accept/);
  assert.doesNotMatch(privateOnly.nft, /endpoint-private-off/);
  assert.match(privateOnly.nft, /counter drop comment "endpoint-allow-list"/);
  assert.deepEqual(privateOnly.coreRoutes, []);
  assert.ok(!privateOnly.routes.some((r) => r.startsWith('local ')));
  // nothing described yet: nothing admitted
  assert.match(renderEndpoint(eks, undefined, enis).nft, /endpoint-private-off/);
});

test('a change of access, allow-list or addresses changes the configuration key (the relay then cuts its connections)', () => {
  assert.notEqual(endpointConfigKey(cluster), endpointConfigKey({ ...cluster, publicAccessCidrs: ['0.0.0.0/0'] }));
  assert.notEqual(endpointConfigKey(cluster), endpointConfigKey({ ...cluster, endpointPrivateAccess: true }));
  assert.equal(endpointConfigKey(cluster), endpointConfigKey({ ...cluster, status: 'UPDATING' }));
});

test("the VPC resolver is base + 2, in the aws namespace; the cluster plan adds the endpoint's public link", () => {
  assert.equal(vpcDnsAddress('10.0.0.0/16'), '10.0.0.2');
  assert.equal(vpcDnsAddress('10.1.0.0/16'), '10.1.0.2');
  const fixed = renderFixedFabric(plan);
  assert.ok(fixed.perNs.get('pn-aws')!.includes('addr add 10.0.0.2/32 dev lo'));
  assert.ok(fixed.perNs.get('pn-aws')!.includes('addr add 10.1.0.2/32 dev lo'));
  assert.ok(fixed.linkAdds.includes('link add pn-k0 netns pn-inet type veth peer name pn-inet netns pn-eks-demo'));
});

test("a node's resolv.conf names its VPC's resolver and EC2's search domain; the nodes' kubeconfig names the endpoint", () => {
  const dns = nodeVpcDns(base, scenario, 'priv', 'us-west-2')!;
  assert.deepEqual(dns, { nameserver: '10.0.0.2', search: ['us-west-2.compute.internal'] });
  assert.match(nodeResolvConf(dns), /^nameserver 10\.0\.0\.2\nsearch us-west-2\.compute\.internal\n$/m);
  assert.deepEqual(nodeVpcDns(base, scenario, 'peer-host', 'us-east-1'), { nameserver: '10.1.0.2', search: ['ec2.internal'] });
  const ca = Buffer.from('-----BEGIN CERTIFICATE-----\nMII\n-----END CERTIFICATE-----\n').toString('base64');
  const vpc = `apiVersion: v1\nclusters:\n- name: lab\n  cluster:\n    server: https://10.0.255.254:6443\n    certificate-authority-data: ${ca}\nusers:\n- name: admin\n  user:\n    token: t0k\n`;
  const node = JSON.parse(endpointKubeconfig(vpc, eks.hostname)) as { clusters: Array<{ cluster: { server: string; 'certificate-authority-data': string } }>; users: Array<{ user: { token: string } }> };
  assert.equal(node.clusters[0]!.cluster.server, `https://${eks.hostname}`);
  assert.equal(node.clusters[0]!.cluster['certificate-authority-data'], ca);
  assert.equal(node.users[0]!.user.token, 't0k');
  assert.match(kubeconfigCaPem(vpc), /^-----BEGIN CERTIFICATE-----/);
});

test("the lab names the endpoint with the emulator's account id (the API server's certificate must name what EKS describes)", () => {
  assert.equal(LAB_ACCOUNT_ID, ownerId);
});

test("a kubelet whose API server is a name starts only with its VPC's resolver (fail closed, never the host's)", () => {
  assert.deepEqual(kubeletResolverEnv('https://ABC.gr7.us-west-2.eks.amazonaws.com', '/s/n/resolv.conf', 'k'), { PODNET_RESOLV_CONF: '/s/n/resolv.conf' });
  assert.throws(() => kubeletResolverEnv('https://ABC.gr7.us-west-2.eks.amazonaws.com', undefined, 'the kubelet of node-a'), (err: Error & { code?: string }) => err.code === 'LAB_FAILED' && /node-a: the API server is abc\.gr7\..* no VPC resolver/i.test(err.message));
  // an address (or no server) needs no resolver
  assert.equal(kubeletResolverEnv('https://10.0.0.10:6443', undefined, 'k'), undefined);
  assert.equal(kubeletResolverEnv('https://[fd00::1]:6443', undefined, 'k'), undefined);
  assert.equal(kubeletResolverEnv(undefined, undefined, 'k'), undefined);
});
