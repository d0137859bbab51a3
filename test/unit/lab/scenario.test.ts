import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { PodnetError } from '../../../src/lib/index.js';
import { topologyRegion } from '../../../src/vpc/index.js';
import { defaultEc2Endpoint, defaultScenarioPath, loadScenario, parseScenario } from '../../../src/lab/index.js';
import { needsSgpController, sgpControllerKubeconfig } from '../../../src/lab/sgp-lab.js';

const base = () => parseYaml(readFileSync(defaultScenarioPath, 'utf8')) as Record<string, unknown> & { instances: Array<Record<string, unknown>>; pods: Array<Record<string, unknown>>; internetHosts: Array<Record<string, unknown>>; nodes: Array<Record<string, unknown>> };

function problem(doc: unknown): string {
  try {
    parseScenario(doc, 'scenario');
  } catch (err) {
    assert.ok(err instanceof PodnetError);
    assert.equal(err.code, 'CONFIG_INVALID');
    return err.message;
  }
  assert.fail('the scenario was accepted');
}

test('the default scenario has every demo role: public node with and without public IP, private nodes with each setting, a peer host, an internet host', async () => {
  const s = await loadScenario(defaultScenarioPath);
  assert.equal(s.instances.find((i) => i.name === 'pub-ip')?.publicIp, true);
  assert.equal(s.instances.find((i) => i.name === 'pub-noip')?.publicIp, false);
  const env = (n: string) => s.nodes.find((x) => x.instance === n)?.env ?? {};
  assert.equal(env('priv-ext').AWS_VPC_K8S_CNI_EXTERNALSNAT, 'true');
  assert.equal(env('priv-excl').AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS, '10.1.0.0/16');
  assert.equal(env('priv-old').PODNET_PRE_1_8_ROUTING, 'true');
  assert.deepEqual(s.hosts.map((h) => h.instance), ['peer-host', 'transit-host']);
  assert.deepEqual(s.transitGateways.map((g) => [g.name, g.attachments.map((a) => a.vpc)]), [['hub', ['main', 'transit']]]);
  assert.deepEqual(s.internetHosts, [{ name: 'inet', address: '198.51.100.10' }]);
  assert.deepEqual(s.pods.filter((p) => p.eni === 1).map((p) => p.node), ['priv', 'priv-old']);
  assert.equal(s.lab.echoPort, 7007);
});

test('the EC2 endpoint defaults to the first VPC\'s second-to-last address', () => {
  assert.equal(defaultEc2Endpoint('10.0.0.0/16'), '10.0.255.254');
  assert.equal(defaultEc2Endpoint('192.168.8.0/22'), '192.168.11.254');
});

test('an internet host outside TEST-NET is refused with its path', () => {
  const doc = base();
  doc.internetHosts = [{ name: 'web', address: '8.8.8.8' }];
  assert.match(problem(doc), /internetHosts\[0\]\.address: 8\.8\.8\.8 is outside TEST-NET \(198\.51\.100\.0\/24, 203\.0\.113\.0\/24\)/);
});

test('an internet host inside the EIP pool is refused', () => {
  const doc = base();
  doc.internetHosts = [{ name: 'web', address: '203.0.113.9' }];
  assert.match(problem(doc), /in the emulator's public IP pool 203\.0\.113\.0\/24/);
});

test('a node naming an unknown instance lists the declared ones', () => {
  const doc = base();
  doc.nodes.push({ instance: 'nope' });
  assert.match(problem(doc), new RegExp(`nodes\\[${doc.nodes.length - 1}\\]\\.instance: no instance named 'nope' \\(declared: pub-ip, pub-noip`));
});

test('a pod on an unknown node, and an ENI the instance type lacks, are refused', () => {
  const doc = base();
  doc.pods.push({ name: 'a', node: 'ghost' }, { name: 'b', node: 'priv', eni: 3 });
  const message = problem(doc);
  const n = doc.pods.length;
  assert.match(message, new RegExp(`pods\\[${n - 2}\\]\\.node: no node named 'ghost'`));
  assert.match(message, new RegExp(`pods\\[${n - 1}\\]\\.eni: t3\\.small has ENIs 0\\.\\.2, not 3`));
});

test('a node on an instance type with one ENI is refused (pods must be able to sit behind a secondary ENI)', () => {
  const doc = base();
  doc.instances[0]!.type = 'hpc6id.32xlarge';
  assert.match(problem(doc), /nodes\[0\]: instance type hpc6id\.32xlarge has 1 ENI/);
});

test('a malformed CNI variable of a node is refused with the config module\'s message', () => {
  const doc = base();
  // a value aws-node refuses to start with (WARM_IP_TARGET=lots it tolerates, as upstream does, since issue 11)
  doc.nodes[0]!.env = { AWS_VPC_ENI_MTU: 'lots' };
  assert.match(problem(doc), /nodes\[0\]\.env\.AWS_VPC_ENI_MTU:/);
});

test('one name for two things (pod and node) is refused', () => {
  const doc = base();
  doc.pods.push({ name: 'priv', node: 'priv' });
  assert.match(problem(doc), new RegExp(`pods\\[${doc.pods.length - 1}\\]: the name 'priv' is already used by nodes\\[2\\]`));
});

test('an EC2 endpoint inside a subnet is refused', () => {
  const doc = base();
  doc.lab = { ec2Endpoint: '10.0.0.50' };
  assert.match(problem(doc), /lab\.ec2Endpoint: 10\.0\.0\.50 is inside subnet public-a/);
});

test('topology errors come through the one loader (a route to an undeclared gateway)', () => {
  const doc = base();
  (doc.routeTables as Array<{ routes: unknown[] }>)[0]!.routes.push({ destination: '192.0.2.0/24', igw: 'missing' });
  assert.match(problem(doc), /no internet gateway named 'missing'/);
});

test('an unknown field in a lab section is refused with its path', () => {
  const doc = base();
  doc.pods.push({ name: 'x', node: 'priv', hostnetwork: true });
  assert.match(problem(doc), new RegExp(`pods\\[${doc.pods.length - 1}\\]: Unrecognized key: "hostnetwork"`));
});

/** The default scenario with every subnet moved to `zones` (one per subnet, in order). */
function inZones(...zones: string[]): ReturnType<typeof base> {
  const doc = base();
  (doc.subnets as Array<Record<string, unknown>>).forEach((s, i) => (s.az = zones[i] ?? zones[zones.length - 1]));
  return doc;
}

test('issue 11: a scenario in eu-west-1 zones runs in eu-west-1 (the region is the zones\', not a fixed us-west-2)', () => {
  assert.equal(topologyRegion(parseScenario(inZones('eu-west-1a', 'eu-west-1b', 'eu-west-1a'))), 'eu-west-1');
  assert.equal(topologyRegion(parseScenario(inZones('us-gov-west-1a'))), 'us-gov-west-1');
  assert.equal(topologyRegion(parseScenario(inZones('ap-southeast-2c'))), 'ap-southeast-2');
  assert.equal(topologyRegion(parseScenario(base())), 'us-west-2');
});

test('issue 11: a scenario whose zones span two regions is refused, naming both', () => {
  assert.match(
    problem(inZones('eu-west-1a', 'eu-west-1b', 'us-west-2a')),
    /subnets\[2\]\.az: us-west-2a is in region us-west-2, but subnets\[0\]\.az eu-west-1a is in eu-west-1; (.*; )?a VPC model here is one region/,
  );
});

test('issue 11: a local zone or a name outside the AZ grammar is refused as not an availability zone', () => {
  for (const az of ['us-west-2-lax-1a', 'us-west-2', 'eu-west-1A', 'euwest1a']) {
    assert.match(problem(inZones(az)), /subnets\[0\]\.az: an availability zone: a region and a letter, like us-west-2a.*local and Wavelength zones such as us-west-2-lax-1a are not modelled/, az);
  }
});

test('issue 18: securityGroupPolicies and pod labels are read; group names, sg- ids, namespace default, cooldown default 60 s', () => {
  const doc = base();
  doc.securityGroupPolicies = [
    { name: 'restricted', podSelector: { sgp: 'restricted' }, securityGroups: ['nodes', 'sg-0123456789abcdef0'] },
    { name: 'by-account', namespace: 'shop', serviceAccountSelector: {}, securityGroups: ['nodes'] },
  ];
  doc.pods[0]!.labels = { sgp: 'open', 'app.kubernetes.io/name': 'web' };
  const s = parseScenario(doc, 'scenario');
  assert.deepEqual(s.securityGroupPolicies.map((p) => [p.namespace, p.name, p.podSelector ?? null, p.serviceAccountSelector ?? null]), [['default', 'restricted', { sgp: 'restricted' }, null], ['shop', 'by-account', null, {}]]);
  assert.deepEqual(s.pods[0]!.labels, { sgp: 'open', 'app.kubernetes.io/name': 'web' });
  assert.equal(s.lab.branchCooldownSeconds, 60);
});

test('issue 18: a policy naming an unknown group, without a selector, or with a bad selector is refused with field paths', () => {
  const doc = base();
  doc.securityGroupPolicies = [
    { name: 'a', podSelector: { sgp: 'x' }, securityGroups: ['nodes', 'no-such-group'] },
    { name: 'b', securityGroups: ['nodes'] },
    { name: 'c', podSelector: { 'bad key!': 'x', ok: 'not ok!' }, securityGroups: [] },
    { name: 'a', namespace: 'Shop', podSelector: {}, securityGroups: ['nodes'] },
  ];
  const message = problem(doc);
  assert.match(message, /securityGroupPolicies\[0\]\.securityGroups\[1\]: no security group named 'no-such-group' \(declared: nodes, /);
  assert.match(message, /securityGroupPolicies\[1\]: give podSelector or serviceAccountSelector/);
  assert.match(message, /securityGroupPolicies\[2\]\.podSelector\.bad key!: a label key's name/);
  assert.match(message, /securityGroupPolicies\[2\]\.podSelector\.ok: the value 'not ok!' is not a label value/);
  assert.match(message, /securityGroupPolicies\[2\]\.securityGroups: a policy needs at least one security group/);
  assert.match(message, /securityGroupPolicies\[3\]\.namespace: 'Shop' is not a namespace name/);
});

test('issue 18: a pod label that breaks Kubernetes\' rules, or takes the lab\'s own label, is refused with its path', () => {
  const doc = base();
  doc.pods[0]!.labels = { 'a/b/c': 'x', 'podnet.io/lab-pod': 'other' };
  const message = problem(doc);
  assert.match(message, /pods\[0\]\.labels\.a\/b\/c: the key's prefix 'a\/b' is not a DNS subdomain/);
  assert.match(message, /pods\[0\]\.labels\.podnet\.io\/lab-pod: the lab sets this label/);
});

test('issue 18: lab up runs podnet sgp-controller when a node sets ENABLE_POD_ENI=true or the scenario has policies', () => {
  const node = (env: Record<string, string>) => ({ instance: 'n', env, labels: {} });
  assert.equal(needsSgpController({ nodes: [node({})], securityGroupPolicies: [] }), false);
  assert.equal(needsSgpController({ nodes: [node({}), node({ ENABLE_POD_ENI: 'true' })], securityGroupPolicies: [] }), true);
  assert.equal(needsSgpController({ nodes: [node({ ENABLE_POD_ENI: 'false' })], securityGroupPolicies: [{ name: 'p', namespace: 'default', podSelector: {}, securityGroups: ['sg-1'] }] }), true);
});

test('issue 18: the controller\'s kubeconfig keeps the in-VPC server and CA and authenticates with the ServiceAccount token', () => {
  const vpc = JSON.stringify({ apiVersion: 'v1', kind: 'Config', clusters: [{ name: 'podnet', cluster: { server: 'https://10.0.255.254:6443', 'certificate-authority-data': 'Q0E=' } }], users: [{ name: 'admin', user: { token: 'admin-token' } }], contexts: [{ name: 'podnet', context: { cluster: 'podnet', user: 'admin' } }], 'current-context': 'podnet' });
  const kc = JSON.parse(sgpControllerKubeconfig(vpc, 'sa-token')) as { clusters: Array<{ cluster: Record<string, string> }>; users: Array<{ name: string; user: { token: string } }> };
  assert.deepEqual(kc.clusters[0]!.cluster, { server: 'https://10.0.255.254:6443', 'certificate-authority-data': 'Q0E=' });
  assert.deepEqual(kc.users, [{ name: 'system:serviceaccount:kube-system:podnet-sgp-controller', user: { token: 'sa-token' } }]);
  assert.ok(!JSON.stringify(kc).includes('admin-token'));
});

test('issue 18: a pod a policy selects, on a node without ENABLE_POD_ENI or of a type that cannot trunk, is refused (it could never run)', () => {
  const doc = base();
  doc.securityGroupPolicies = [{ name: 'restricted', podSelector: { sgp: 'r' }, securityGroups: ['nodes'] }];
  const node = doc.pods[0]!.node as string;
  doc.pods[0]!.labels = { sgp: 'r' };
  assert.match(problem(doc), new RegExp(`pods\\[0\\]: policy default/restricted selects it, but node '${node}' does not set ENABLE_POD_ENI=true`));
  doc.nodes.find((n) => n.instance === node)!.env = { ENABLE_POD_ENI: 'true' };
  assert.match(problem(doc), new RegExp(`pods\\[0\\]: policy default/restricted selects it, but node '${node}' is a t3\\.small, which cannot trunk`));
  doc.instances.find((i) => i.name === node)!.type = 'm5.large';
  assert.equal(parseScenario(doc, 'scenario').pods[0]!.labels?.sgp, 'r');
});

/** base() with its first pod on an m5.large node that advertises the feature, selected by `restricted` through sgp=r. */
function branchPodScenario() {
  const doc = base();
  doc.securityGroupPolicies = [{ name: 'restricted', podSelector: { sgp: 'r' }, securityGroups: ['nodes'] }];
  const node = doc.pods[0]!.node as string;
  doc.pods[0]!.labels = { sgp: 'r' };
  doc.nodes.find((n) => n.instance === node)!.env = { ENABLE_POD_ENI: 'true' };
  doc.instances.find((i) => i.name === node)!.type = 'm5.large';
  return doc;
}

test('issue 18: a pod a policy selects may not ask for an eni (its address is its branch ENI\'s, on no device)', () => {
  const doc = branchPodScenario();
  doc.pods[0]!.eni = 1;
  assert.match(problem(doc), /pods\[0\]\.eni: policy default\/restricted selects the pod, so its address is its own branch ENI's[^;]*; drop eni/);
  delete doc.pods[0]!.labels;
  assert.equal(parseScenario(doc, 'scenario').pods[0]!.eni, 1, 'a plain pod keeps eni');
});

test('issue 18: a policy selects a scenario pod as the sgp-controller does, by the lab\'s own podnet.io/lab-pod label too', () => {
  const doc = branchPodScenario();
  delete doc.pods[0]!.labels;
  const name = doc.pods[0]!.name as string;
  doc.securityGroupPolicies = [{ name: 'by-name', podSelector: { 'podnet.io/lab-pod': name }, securityGroups: ['nodes'] }];
  doc.pods[0]!.eni = 0;
  assert.match(problem(doc), /pods\[0\]\.eni: policy default\/by-name selects the pod/);
  // a policy with a non-empty serviceAccountSelector selects nothing here (the default service account has no labels)
  doc.securityGroupPolicies = [{ name: 'by-account', podSelector: { 'podnet.io/lab-pod': name }, serviceAccountSelector: { team: 'x' }, securityGroups: ['nodes'] }];
  assert.equal(parseScenario(doc, 'scenario').pods[0]!.eni, 0);
});

test('issue 18: a lab node may not set PODNET_BRANCH_VLAN_LINK to anything but fabric', () => {
  const doc = branchPodScenario();
  const i = doc.nodes.findIndex((n) => n.instance === doc.pods[0]!.node);
  doc.nodes[i]!.env = { ENABLE_POD_ENI: 'true', PODNET_BRANCH_VLAN_LINK: 'create' };
  assert.match(problem(doc), new RegExp(`nodes\\[${i}\\]\\.env\\.PODNET_BRANCH_VLAN_LINK: 'create': the lab's fabric supplies vlan\\.eth\\.<id>; only fabric`));
  doc.nodes[i]!.env = { ENABLE_POD_ENI: 'true', PODNET_BRANCH_VLAN_LINK: 'fabric' };
  assert.ok(parseScenario(doc, 'scenario'));
});

test('issue 18: lab.branchCooldownSeconds is whole seconds', () => {
  const doc = branchPodScenario();
  doc.lab = { branchCooldownSeconds: 1.5 };
  assert.match(problem(doc), /branchCooldownSeconds/);
});

test('issue 18: lab up checks the policies\' groups against EC2 before any pod: an sg- id EC2 lacks, a group of another VPC than a selected pod\'s node', async () => {
  const { policyGroupProblems } = await import('../../../src/lab/sgp-lab.js');
  const doc = branchPodScenario();
  const s = parseScenario(doc, 'scenario');
  const pod = s.pods[0]!;
  const subnet = s.instances.find((i) => i.name === pod.node)!.subnet;
  const facts = {
    vpcs: [{ id: 'vpc-1', name: 'main', cidr: '10.0.0.0/16' }, { id: 'vpc-2', name: 'peer', cidr: '10.1.0.0/16' }],
    subnets: [{ id: 'subnet-1', name: subnet, vpcId: 'vpc-1', cidr: '10.0.16.0/20', routeTableId: null }],
    securityGroups: [{ id: 'sg-0000000a', name: 'nodes', vpcId: 'vpc-1' }, { id: 'sg-0000000b', name: 'other-vpc', vpcId: 'vpc-2' }],
  };
  assert.deepEqual(policyGroupProblems(s, facts), []);
  const policies = [{ name: 'restricted', namespace: 'default', podSelector: { sgp: 'r' }, securityGroups: ['sg-0000000f', 'sg-0000000b'] }];
  assert.deepEqual(policyGroupProblems({ ...s, securityGroupPolicies: policies }, facts), [
    'securityGroupPolicies[0].securityGroups[0]: EC2 has no security group sg-0000000f',
    `securityGroupPolicies[0].securityGroups[1]: sg-0000000b is in VPC peer, but pod ${pod.name}'s node ${pod.node} is in main; a branch ENI takes groups of its own VPC only`,
  ]);
});
