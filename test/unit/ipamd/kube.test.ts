/**
 * ipamd's Kubernetes side against a real API server in this process (src/k8s-api) and the EC2 emulator: no API
 * server at start (not ready with the reason, never exits), capacity pods from the Node, the API server gone later
 * (degraded, still serving), ENIConfigs chosen from the Node's label and changed while running, the CNINode's
 * features, ANNOTATE_POD_IP and AWS_MANAGE_ENIS_NON_SCHEDULABLE.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CreateSubnetCommand } from '@aws-sdk/client-ec2';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi, PatchStrategy, setHeaderOptions, type KubernetesObject, type V1Node } from '@kubernetes/client-node';
import { loadConfig } from '../../../src/config/index.js';
import { startIpamd, type Ipamd } from '../../../src/ipamd/index.js';
import { PodnetError } from '../../../src/lib/index.js';
import { startApiServer, type TestApiServer } from '../k8s/harness.js';
import { addressOf, cniCall, daemonEnv, eventually, httpGet, startCloud, type Cloud, type CloudOptions } from './daemon-harness.js';

const NODE = 'ip-10-0-1-10.us-west-2.compute.internal';
const CNINODES = { group: 'vpcresources.k8s.aws', version: 'v1alpha1', plural: 'cninodes' } as const;
const ENICONFIGS = { group: 'crd.k8s.amazonaws.com', version: 'v1alpha1', plural: 'eniconfigs' } as const;
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

interface Run {
  cloud: Cloud;
  api: TestApiServer;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  logs: string[];
  env: Record<string, string>;
}

/** One emulator and one API server (with the CRDs ipamd reads), an env pointing ipamd at both. */
async function setUp(instanceType: string, extra: Record<string, string> = {}, cloudOptions: CloudOptions = {}): Promise<Run> {
  const cloud = await startCloud({ instanceType, ...cloudOptions });
  const api = await startApiServer();
  const core = api.kc.makeApiClient(CoreV1Api);
  const custom = api.kc.makeApiClient(CustomObjectsApi);
  const { readFileSync } = await import('node:fs');
  const { parseAllDocuments } = await import('yaml');
  const ext = api.kc.makeApiClient((await import('@kubernetes/client-node')).ApiextensionsV1Api);
  for (const file of ['deploy/00-eniconfig-crd.yaml', 'deploy/00-cninode-crd.yaml']) {
    for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) await ext.createCustomResourceDefinition({ body: doc.toJS() });
  }
  const env = daemonEnv(cloud, { KUBECONFIG: api.kubeconfigPath, MY_NODE_NAME: NODE, ...extra });
  return { cloud, api, core, custom, logs: [], env };
}

async function tearDown(run: Run, ipamd: Ipamd | undefined): Promise<void> {
  await ipamd?.stop();
  await run.api.close();
  await run.cloud.close();
}

function start(run: Run): Promise<Ipamd> {
  const loaded = loadConfig(run.env);
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) throw new Error(errors.map((p) => p.message).join('; '));
  return startIpamd({ env: run.env, config: loaded.config, retry: { throttleBaseMs: 5, transientBaseMs: 5, maxDelayMs: 20 }, kubeMaxBackoffMs: 200, log: (level, line) => run.logs.push(`${level}: ${line}`) });
}

/**
 * A kubeconfig with the token of deploy/'s ServiceAccount aws-node, bound to deploy/'s ClusterRole: ipamd then has
 * only what the manifests grant, so a verb it uses and they miss fails the test as a 403.
 */
async function awsNodeKubeconfig(run: Run): Promise<string> {
  const { readFileSync } = await import('node:fs');
  const { parseAllDocuments } = await import('yaml');
  const objects = KubernetesObjectApi.makeApiClient(run.api.kc);
  for (const doc of parseAllDocuments(readFileSync('deploy/10-rbac.yaml', 'utf8'))) await objects.create(doc.toJS() as KubernetesObject);
  const token = await run.core.createNamespacedServiceAccountToken({ namespace: 'kube-system', name: 'aws-node', body: { spec: { audiences: [] } } });
  const kc = new KubeConfig();
  const cluster = run.api.kc.getCurrentCluster()!;
  kc.loadFromOptions({
    clusters: [{ name: 'lab', server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
    users: [{ name: 'aws-node', token: token.status!.token }],
    contexts: [{ name: 'aws-node', cluster: 'lab', user: 'aws-node' }],
    currentContext: 'aws-node',
  });
  const path = join(run.api.dir, 'aws-node.kubeconfig');
  writeFileSync(path, kc.exportConfig());
  return path;
}

function node(extra: Partial<V1Node> & { labels?: Record<string, string>; pods?: string } = {}): V1Node {
  const { labels, pods, ...rest } = extra;
  return { metadata: { name: NODE, labels: { 'kubernetes.io/hostname': NODE, ...labels } }, ...rest, ...(pods && { status: { capacity: { pods } } }) };
}

const introspect = async (ipamd: Ipamd, path: string) => JSON.parse((await httpGet(`http://127.0.0.1:${(ipamd.introspection as { port: number }).port}${path}`)).text) as Record<string, unknown>;

test('no API server at start: not ready with the reason and retrying; then the Node\'s capacity caps the pool; the API server gone later: degraded, still serving', { timeout: 60_000 }, async () => {
  const run = await setUp('t3.small');
  let ipamd: Ipamd | undefined;
  let starting: Promise<Ipamd> | undefined;
  try {
    await run.api.stop();
    starting = start(run);
    const socketPath = run.env.PODNET_CNI_SOCKET!;
    await eventually(async () => (await httpGet({ socketPath, path: '/ready' }).catch(() => ({ status: 0, text: '' }))).status === 503, 'the CNI socket');
    const ready = await httpGet({ socketPath, path: '/ready' });
    assert.match(ready.text, /not ready: ipamd is waiting for the Kubernetes API server \(.*ECONNREFUSED/);
    const refused = await cniCall(socketPath, 'ADD', 'early');
    assert.equal(refused.body.code, 11, JSON.stringify(refused.body));
    assert.match(String(refused.body.msg), /waiting for the Kubernetes API server/);
    assert.ok(run.logs.some((l) => /^warn: Kubernetes API server unreachable, retrying: .*ECONNREFUSED.*not ready until it answers/.test(l)), run.logs.join('\n'));

    await run.api.start();
    await eventually(async () => /is not in the API server/.test((await httpGet({ socketPath, path: '/ready' })).text), 'the missing Node named');
    await run.core.createNode({ body: node() });
    await run.core.patchNodeStatus({ name: NODE, body: { status: { capacity: { pods: '3' } } } }, mergePatch);
    ipamd = await starting;
    assert.equal((await httpGet({ socketPath, path: '/ready' })).status, 200);
    // t3.small's table says 11 pods and WARM_ENI_TARGET=1 wants two ENIs of 3: the Node's capacity of 3 caps it
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ipamd.node.datastore.addressRecords().length <= 3, true);
    const first = await cniCall(socketPath, 'ADD', 'first');
    assert.equal(first.exitCode, 0, JSON.stringify(first.body));

    await run.api.stop();
    await eventually(() => run.logs.some((l) => /^warn: Kubernetes API server unreachable, retrying: .*keeps serving pods from its warm pool.*\(degraded\)/.test(l)), 'the degraded log line');
    const degraded = await httpGet({ socketPath, path: '/ready' });
    assert.equal(degraded.status, 200, 'still ready: pods are served from the warm pool');
    assert.match(degraded.text, /^ready \(degraded: Kubernetes API server unreachable \(.*\): serving pods from the warm pool/);
    const during = await cniCall(socketPath, 'ADD', 'during');
    assert.equal(during.exitCode, 0, JSON.stringify(during.body));
    assert.equal((await introspect(ipamd, '/v1/kubernetes')).connected, false);
    await run.api.start();
    await eventually(async () => (await introspect(ipamd!, '/v1/kubernetes')).connected === true, 'reconnected', 15_000);
    assert.equal((await httpGet({ socketPath, path: '/ready' })).text, 'ready\n');
    assert.ok(run.logs.some((l) => /^info: Kubernetes API server reachable .*current again/.test(l)));
  } finally {
    if (!ipamd && starting) {
      await run.api.start().catch(() => undefined);
      await run.core.createNode({ body: node() }).catch(() => undefined);
      ipamd = await starting.catch(() => undefined);
    }
    await tearDown(run, ipamd);
  }
});

test('the API server answered while node init still runs: not ready names node init, no longer the API server', { timeout: 60_000 }, async () => {
  // EC2 answering slowly keeps node init running well after the Node was seen
  const run = await setUp('t3.small', {}, { faults: { actions: { DescribeNetworkInterfaces: { latencyMs: 1500 } } } });
  let starting: Promise<Ipamd> | undefined;
  try {
    await run.core.createNode({ body: node() });
    starting = start(run);
    const socketPath = run.env.PODNET_CNI_SOCKET!;
    await eventually(async () => /still initialising the node/.test((await httpGet({ socketPath, path: '/ready' }).catch(() => ({ status: 0, text: '' }))).text), 'node init named as the reason');
    const ready = await httpGet({ socketPath, path: '/ready' });
    assert.equal(ready.status, 503);
    assert.doesNotMatch(ready.text, /Kubernetes API server/);
    const refused = await cniCall(socketPath, 'ADD', 'early');
    assert.equal(refused.body.code, 11, JSON.stringify(refused.body));
    assert.match(String(refused.body.msg), /has not finished node initialisation/);
    await starting;
    assert.equal((await httpGet({ socketPath, path: '/ready' })).text, 'ready\n');
  } finally {
    await tearDown(run, await starting?.catch(() => undefined));
  }
});

test('custom networking (as aws-node): the ENIConfig the Node\'s label names, from the API server; relabelled, the next ENI goes to the new one', { timeout: 60_000 }, async () => {
  const run = await setUp('t3.small', { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' });
  let ipamd: Ipamd | undefined;
  try {
    run.env.KUBECONFIG = await awsNodeKubeconfig(run);
    const subnet = async (cidr: string) => (await run.cloud.ec2.send(new CreateSubnetCommand({ VpcId: run.cloud.vpcId, CidrBlock: cidr, AvailabilityZone: 'us-west-2a' }))).Subnet!.SubnetId!;
    const [a, b] = [await subnet('10.0.64.0/20'), await subnet('10.0.80.0/20')];
    for (const [name, id] of [['pods-a', a], ['pods-b', b]] as const) {
      await run.custom.createClusterCustomObject({ ...ENICONFIGS, body: { apiVersion: 'crd.k8s.amazonaws.com/v1alpha1', kind: 'ENIConfig', metadata: { name }, spec: { subnet: id } } });
    }
    await run.core.createNode({ body: node({ labels: { 'k8s.amazonaws.com/eniConfig': 'pods-a' } }) });
    ipamd = await start(run);
    const newEniSubnets = () => ipamd!.node.datastore.eniInfos().filter((e) => !e.primary).map((e) => e.subnetId);
    assert.deepEqual(newEniSubnets(), [a]);
    assert.equal(ipamd.node.eniConfigName(), 'pods-a');
    assert.equal(await introspect(ipamd, '/v1/eni-configs'), 'pods-a');

    await run.core.patchNode({ name: NODE, body: { metadata: { labels: { 'k8s.amazonaws.com/eniConfig': 'pods-b' } } } }, mergePatch);
    await eventually(() => run.logs.some((l) => l.includes(`new ENIs use ENIConfig pods-b (${b}`)), `the new choice; log:\n${run.logs.join("\n")}`);
    // a pod on the first ENI makes WARM_ENI_TARGET=1 want a whole free ENI again: it comes from pods-b
    assert.equal((await cniCall(ipamd.socketPath, 'ADD', 'one')).exitCode, 0);
    await eventually(() => newEniSubnets().length === 2, 'a second ENI');
    assert.deepEqual(newEniSubnets(), [a, b]);
  } finally {
    await tearDown(run, ipamd);
  }
});

test('as deploy/\'s aws-node ServiceAccount: ENABLE_POD_ENI advertises SecurityGroupsForPods on the CNINode (others\' features kept); ANNOTATE_POD_IP annotates on ADD and empties on DEL', { timeout: 60_000 }, async () => {
  const run = await setUp('m5.large', { ENABLE_POD_ENI: 'true', ANNOTATE_POD_IP: 'true' });
  let ipamd: Ipamd | undefined;
  try {
    run.env.KUBECONFIG = await awsNodeKubeconfig(run);
    await run.core.createNode({ body: node() });
    await run.custom.createClusterCustomObject({ ...CNINODES, body: { apiVersion: 'vpcresources.k8s.aws/v1alpha1', kind: 'CNINode', metadata: { name: NODE }, spec: { features: [{ name: 'Other', value: 'x' }] } } });
    await run.core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'web' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } } });
    ipamd = await start(run);
    const cniNode = (await run.custom.getClusterCustomObject({ ...CNINODES, name: NODE })) as { spec: { features: unknown[] } };
    assert.deepEqual(cniNode.spec.features, [{ name: 'Other', value: 'x' }, { name: 'SecurityGroupsForPods' }]);

    const annotation = async () => (await run.core.readNamespacedPod({ namespace: 'default', name: 'web' })).metadata?.annotations?.['vpc.amazonaws.com/pod-ips'];
    const add = await cniCall(ipamd.socketPath, 'ADD', 'web-sandbox', 'web');
    assert.equal(add.exitCode, 0, JSON.stringify(add.body));
    await eventually(async () => (await annotation()) === addressOf(add), 'the pod-ips annotation');
    assert.equal((await cniCall(ipamd.socketPath, 'DEL', 'web-sandbox', 'web')).exitCode, 0);
    await eventually(async () => (await annotation()) === '', 'the annotation emptied');
    assert.deepEqual(run.logs.filter((l) => /403|forbidden/i.test(l)), [], 'the ClusterRole grants what ipamd does');
  } finally {
    await tearDown(run, ipamd);
  }
});

test('AWS_MANAGE_ENIS_NON_SCHEDULABLE=false: a cordoned node gets no ENI or address until uncordoned', { timeout: 60_000 }, async () => {
  const run = await setUp('t3.small');
  let ipamd: Ipamd | undefined;
  try {
    await run.core.createNode({ body: node({ spec: { unschedulable: true } }) });
    ipamd = await start(run);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(ipamd.node.datastore.addressRecords().length, 0);
    assert.deepEqual(ipamd.node.datastore.eniInfos().map((e) => e.primary), [true], 'no ENI attached');
    assert.notEqual((await cniCall(ipamd.socketPath, 'ADD', 'cordoned')).exitCode, 0);
    await run.core.patchNode({ name: NODE, body: { spec: { unschedulable: false } } }, mergePatch);
    await eventually(async () => (await cniCall(ipamd!.socketPath, 'ADD', 'uncordoned')).exitCode === 0, 'an address once uncordoned');
    assert.ok(run.logs.some((l) => l.includes('is schedulable again')));
  } finally {
    await tearDown(run, ipamd);
  }
});

test('with a kubeconfig but no MY_NODE_NAME ipamd refuses to start, saying how to set it', async () => {
  const run = await setUp('t3.small');
  try {
    run.env.MY_NODE_NAME = '';
    await assert.rejects(start(run), (e: unknown) => e instanceof PodnetError && e.code === 'CONFIG_INVALID' && /MY_NODE_NAME is empty/.test(e.message) && /spec\.nodeName/.test(e.hint ?? ''));
  } finally {
    await tearDown(run, undefined);
  }
});
