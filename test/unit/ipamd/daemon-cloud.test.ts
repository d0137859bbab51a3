import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { CreateNetworkInterfaceCommand, CreateSubnetCommand, DescribeNetworkInterfacesCommand, DescribeSubnetsCommand } from '@aws-sdk/client-ec2';
import { BackoffRetryStrategy, listenAddressSetting, nodeEniConfigName, parseEniConfigFile, rankEniSubnets, resolveCloudEndpoints, selectEniConfig, type Ipamd } from '../../../src/ipamd/index.js';
import { PodnetError } from '../../../src/lib/index.js';
import { cniCall, daemonEnv, eventually, startCloud, startDaemon } from './daemon-harness.js';

test('without endpoints and without AWS_REGION ipamd refuses to start rather than reach AWS', () => {
  assert.throws(() => resolveCloudEndpoints({}), (err: unknown) => err instanceof PodnetError && err.code === 'CONFIG_INVALID' && /AWS_ENDPOINT_URL_EC2/.test(err.hint ?? ''));
  assert.throws(() => resolveCloudEndpoints({ AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:7311' }), /AWS_EC2_METADATA_SERVICE_ENDPOINT is missing/);
  assert.deepEqual(resolveCloudEndpoints({ AWS_ENDPOINT_URL_EC2: 'http://127.0.0.1:7311', AWS_EC2_METADATA_SERVICE_ENDPOINT: 'http://127.0.0.1:7312/i-0abc' }), {
    ec2Endpoint: 'http://127.0.0.1:7311', imdsEndpoint: 'http://127.0.0.1:7312/i-0abc', region: undefined, onAws: false,
  });
  assert.equal(resolveCloudEndpoints({ AWS_REGION: 'us-west-2' }).imdsEndpoint, 'http://169.254.169.254');
});

test('the retry strategy backs off exponentially on throttling and gives up on client errors and after maxAttempts', async () => {
  const retry = new BackoffRetryStrategy({ maxAttempts: 3, throttleBaseMs: 500, transientBaseMs: 100, maxDelayMs: 20_000 }, () => 0.999);
  const t0 = await retry.acquireInitialRetryToken();
  const t1 = await retry.refreshRetryTokenForRetry(t0, { errorType: 'THROTTLING' });
  const t2 = await retry.refreshRetryTokenForRetry(t1, { errorType: 'THROTTLING' });
  assert.deepEqual([t1.getRetryDelay(), t2.getRetryDelay()], [499, 999]);
  await assert.rejects(retry.refreshRetryTokenForRetry(t2, { errorType: 'THROTTLING' }));
  await assert.rejects(retry.refreshRetryTokenForRetry(t0, { errorType: 'CLIENT_ERROR' }));
});

test('bind addresses are read as upstream writes them', () => {
  assert.deepEqual(listenAddressSetting(':61678', 'X'), { host: '0.0.0.0', port: 61678 });
  assert.deepEqual(listenAddressSetting('127.0.0.1:61679', 'X'), { host: '127.0.0.1', port: 61679 });
  assert.deepEqual(listenAddressSetting('unix:/run/introspect.sock', 'X'), { path: '/run/introspect.sock' });
  assert.throws(() => listenAddressSetting('61679', 'INTROSPECTION_BIND_ADDRESS'), /INTROSPECTION_BIND_ADDRESS=61679 is not HOST:PORT/);
});

const eniConfigYaml = (subnet: string) => `
node:
  name: node-1
  labels: { topology.kubernetes.io/zone: us-west-2a }
  annotations: {}
eniConfigs:
  - apiVersion: crd.k8s.amazonaws.com/v1alpha1
    kind: ENIConfig
    metadata: { name: us-west-2a }
    spec: { subnet: ${subnet} }
  - metadata: { name: default }
    spec: { subnet: subnet-0de, securityGroups: [sg-0aa] }
`;

test('the node\'s ENIConfig is chosen by external label, then annotation, then label, then "default" (spec §5.1)', () => {
  const keys = { annotation: 'k8s.amazonaws.com/eniConfig', label: 'topology.kubernetes.io/zone' };
  const file = parseEniConfigFile(eniConfigYaml('subnet-0a1'), 'eniconfigs.yaml');
  assert.equal(nodeEniConfigName(file.node, keys), 'us-west-2a');
  assert.equal(selectEniConfig(file, keys).subnet, 'subnet-0a1');
  assert.equal(nodeEniConfigName({ ...file.node, annotations: { 'k8s.amazonaws.com/eniConfig': 'x' } }, keys), 'x');
  assert.equal(nodeEniConfigName({ ...file.node, labels: { ...file.node.labels, 'vpc.amazonaws.com/externalEniConfig': 'ext' }, annotations: { 'k8s.amazonaws.com/eniConfig': 'x' } }, keys), 'ext');
  assert.equal(nodeEniConfigName({ name: '', labels: {}, annotations: {} }, keys), 'default');
  assert.throws(() => selectEniConfig({ ...file, node: { ...file.node, annotations: { 'k8s.amazonaws.com/eniConfig': 'missing' } } }, keys), /selects ENIConfig "missing", which does not exist \(known: us-west-2a, default\)/);
  assert.throws(() => parseEniConfigFile('eniConfigs:\n  - metadata: { name: a }\n    spec: {}\n', 'bad.yaml'), /bad\.yaml: eniConfigs\.0\.spec\.subnet/);
});

test('subnet discovery ranks the node subnet and same-cluster subnets tagged kubernetes.io/role/cni by free addresses (spec §5.5)', () => {
  const s = (id: string, availableIps: number, tags: Record<string, string> = {}) => ({ id, cidr: '', availabilityZone: 'us-west-2a', availableIps, tags });
  const ranked = rankEniSubnets([
    s('subnet-node', 100),
    s('subnet-big', 4000, { 'kubernetes.io/role/cni': '1' }),
    s('subnet-untagged', 9000),
    s('subnet-off', 9000, { 'kubernetes.io/role/cni': '0' }),
    s('subnet-other-cluster', 8000, { 'kubernetes.io/role/cni': '1', 'cni.networking.k8s.aws/cluster/other': 'owned' }),
    s('subnet-ours', 500, { 'kubernetes.io/role/cni': '1', 'cni.networking.k8s.aws/cluster/prod': 'owned' }),
  ], 'subnet-node', 'prod');
  assert.deepEqual(ranked.map((x) => x.id), ['subnet-big', 'subnet-ours', 'subnet-node']);
  assert.deepEqual(rankEniSubnets([s('subnet-node', 100, { 'kubernetes.io/role/cni': '0' })], 'subnet-node', '').map((x) => x.id), []);
});

async function subnetOfNewEnis(ipamd: Ipamd): Promise<string[]> {
  return ipamd.node.datastore.eniInfos().filter((e) => !e.primary).map((e) => e.subnetId);
}

test('custom networking puts new ENIs in the ENIConfig subnet and never gives the primary ENI\'s addresses to pods', async () => {
  const cloud = await startCloud({ instanceType: 't3.small' });
  let ipamd: Ipamd | undefined;
  try {
    const podSubnet = (await cloud.ec2.send(new CreateSubnetCommand({ VpcId: cloud.vpcId, CidrBlock: '10.0.64.0/20', AvailabilityZone: 'us-west-2a' }))).Subnet!.SubnetId!;
    const file = join(cloud.dir, 'eniconfigs.yaml');
    writeFileSync(file, eniConfigYaml(podSubnet));
    ipamd = await startDaemon(daemonEnv(cloud, { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true', ENI_CONFIG_LABEL_DEF: 'topology.kubernetes.io/zone', PODNET_ENI_CONFIG_FILE: file }));
    assert.deepEqual(await subnetOfNewEnis(ipamd), [podSubnet]);
    const primary = ipamd.node.datastore.eniInfos().find((e) => e.primary)!;
    assert.deepEqual(ipamd.node.datastore.cidrsOf(primary.id), [], 'no secondary addresses on the primary ENI');
    const add = await cniCall(ipamd.socketPath, 'ADD', 'custom');
    assert.match((add.body.ips as { address: string }[])[0]!.address, /^10\.0\.(6[4-9]|7\d)\.\d+\/32$/, 'the pod address comes from the ENIConfig subnet');
    assert.equal(ipamd.node.eniConfigName(), 'us-west-2a');
  } finally {
    await ipamd?.stop();
    await cloud.close();
  }
});

test('with subnet discovery new ENIs go to the tagged subnet with the most free addresses', async () => {
  const cloud = await startCloud({ instanceType: 't3.small', subnetCidr: '10.0.1.0/26', extraSubnets: [{ name: 'pods', cidr: '10.0.128.0/20', tags: { 'kubernetes.io/role/cni': '1' } }] });
  let ipamd: Ipamd | undefined;
  try {
    ipamd = await startDaemon(daemonEnv(cloud));
    for (let i = 0; i < 4; i++) await eventually(async () => (await cniCall(ipamd!.socketPath, 'ADD', `d${i}`)).exitCode === 0, `pod d${i}`);
    await eventually(async () => (await subnetOfNewEnis(ipamd!)).length > 0, 'a second ENI');
    const tagged = (await cloud.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'tag:kubernetes.io/role/cni', Values: ['1'] }] }))).Subnets![0]!.SubnetId!;
    // WARM_ENI_TARGET=1 wants a third ENI once the fourth pod is on the second: count them all, whenever they came
    const subnets = await subnetOfNewEnis(ipamd);
    assert.deepEqual(subnets, subnets.map(() => tagged));
  } finally {
    await ipamd?.stop();
    await cloud.close();
  }
});

test('the leaked-ENI GC deletes detached podnet ENIs older than the minimum age and tags the ones it sees first (spec §7.5)', async () => {
  const cloud = await startCloud({ instanceType: 't3.small' });
  let ipamd: Ipamd | undefined;
  try {
    const create = async (tags: { Key: string; Value: string }[], description: string) => (await cloud.ec2.send(new CreateNetworkInterfaceCommand({
      SubnetId: cloud.subnetId, Description: description, TagSpecifications: [{ ResourceType: 'network-interface', Tags: tags }],
    }))).NetworkInterface!.NetworkInterfaceId!;
    const old = await create([{ Key: 'node.k8s.amazonaws.com/instance_id', Value: 'i-0gone' }, { Key: 'node.k8s.amazonaws.com/createdAt', Value: '2020-01-01T00:00:00Z' }], 'aws-K8S-i-0gone');
    const untagged = await create([{ Key: 'node.k8s.amazonaws.com/instance_id', Value: 'i-0gone' }], 'aws-K8S-i-0gone');
    const foreign = await create([{ Key: 'node.k8s.amazonaws.com/instance_id', Value: 'i-0gone' }, { Key: 'node.k8s.amazonaws.com/createdAt', Value: '2020-01-01T00:00:00Z' }], 'somebody else');
    ipamd = await startDaemon(daemonEnv(cloud, { PODNET_LEAKED_ENI_INTERVAL_MS: '100' }));
    const exists = async (id: string) => ((await cloud.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'network-interface-id', Values: [id] }] }))).NetworkInterfaces ?? []).length > 0;
    await eventually(async () => !(await exists(old)), 'the old leaked ENI to be deleted');
    const tags = (await cloud.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [untagged] }))).NetworkInterfaces![0]!.TagSet ?? [];
    assert.ok(tags.some((t) => t.Key === 'node.k8s.amazonaws.com/createdAt'), 'an ENI seen for the first time is tagged, not deleted');
    assert.ok(await exists(foreign), 'an ENI podnet did not create (description) is left alone');
  } finally {
    await ipamd?.stop();
    await cloud.close();
  }
});
