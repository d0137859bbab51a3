// The lab's cluster objects: the host kubeconfig, deploy/'s aws-node split into per-node DaemonSets (so kubectl shows
// what runs where), the scenario's ENIConfigs with EC2 ids, and a relay carrying bytes both ways.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import type { V1DaemonSet } from '@kubernetes/client-node';
import { parse } from 'yaml';
import { eniConfigObjects, hostKubeconfig, labDaemonSets, labObjects, labPodObject, type LabNodeSettings } from '../../../src/lab/index.js';
import { parseRelayAddress, startRelay } from '../../../src/lab/forward.js';

const base: V1DaemonSet = {
  apiVersion: 'apps/v1',
  kind: 'DaemonSet',
  metadata: { name: 'aws-node', namespace: 'kube-system' },
  spec: {
    selector: { matchLabels: { 'k8s-app': 'aws-node' } },
    template: {
      metadata: { labels: { 'k8s-app': 'aws-node' } },
      spec: { containers: [{ name: 'aws-node', image: 'localhost/podnet:0.1.0', env: [{ name: 'AWS_VPC_K8S_CNI_EXTERNALSNAT', value: 'false' }, { name: 'MY_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } }] }] },
    },
  },
};

const nodes: LabNodeSettings[] = [
  { instance: 'priv', nodeName: 'ip-10-0-16-4.us-west-2.compute.internal', env: {} },
  { instance: 'priv-ext', nodeName: 'ip-10-0-16-5.us-west-2.compute.internal', env: { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true' } },
];

test('a node with settings of its own gets its own DaemonSet; the shared aws-node excludes it', () => {
  const [shared, own, ...rest] = labDaemonSets(base, nodes, { PODNET_POOL_INTERVAL_MS: '1000' });
  assert.equal(rest.length, 0);
  assert.equal(shared!.metadata!.name, 'aws-node');
  assert.equal(own!.metadata!.name, 'aws-node-priv-ext');
  const term = (ds: V1DaemonSet) => ds.spec!.template.spec!.affinity!.nodeAffinity!.requiredDuringSchedulingIgnoredDuringExecution!.nodeSelectorTerms[0]!.matchExpressions;
  assert.deepEqual(term(shared!), [{ key: 'kubernetes.io/hostname', operator: 'NotIn', values: [nodes[1]!.nodeName] }]);
  assert.deepEqual(term(own!), [{ key: 'kubernetes.io/hostname', operator: 'In', values: [nodes[1]!.nodeName] }]);
  const env = (ds: V1DaemonSet) => Object.fromEntries(ds.spec!.template.spec!.containers[0]!.env!.map((e) => [e.name, e.value ?? 'fieldRef']));
  assert.deepEqual(env(shared!), { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'false', MY_NODE_NAME: 'fieldRef', PODNET_POOL_INTERVAL_MS: '1000' });
  assert.deepEqual(env(own!), { AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true', MY_NODE_NAME: 'fieldRef', PODNET_POOL_INTERVAL_MS: '1000' });
  // each selects only its own pods: two DaemonSets must not adopt each other's
  assert.notDeepEqual(shared!.spec!.selector.matchLabels, own!.spec!.selector.matchLabels);
  assert.deepEqual(own!.spec!.template.metadata!.labels, { ...own!.spec!.selector.matchLabels });
  assert.equal(base.spec!.template.spec!.affinity, undefined, 'the manifest itself is left as it was');
});

test('without per-node settings there is one aws-node and no affinity is added', () => {
  const all = labDaemonSets(base, [nodes[0]!], {});
  assert.equal(all.length, 1);
  assert.equal(all[0]!.spec!.template.spec!.affinity, undefined);
});

test("labObjects keeps deploy/'s order, replaces aws-node by the lab's DaemonSets and puts the ENIConfigs last", () => {
  const crd = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'eniconfigs.crd.k8s.amazonaws.com' } };
  const eniConfigs = eniConfigObjects({ eniConfigs: [{ name: 'pods-a', subnet: 'pods-a', securityGroups: ['nodes', 'sg-literal'] }] }, { subnets: [{ name: 'pods-a', id: 'subnet-1' }] as never, securityGroups: [{ name: 'nodes', id: 'sg-1', vpcId: 'vpc-1' }] });
  const objects = labObjects([crd, base], nodes, {}, eniConfigs);
  assert.deepEqual(objects.map((o) => `${o.kind}/${o.metadata!.name}`), ['CustomResourceDefinition/eniconfigs.crd.k8s.amazonaws.com', 'DaemonSet/aws-node', 'DaemonSet/aws-node-priv-ext', 'ENIConfig/pods-a']);
  assert.deepEqual((objects[3] as unknown as { spec: unknown }).spec, { subnet: 'subnet-1', securityGroups: ['sg-1', 'sg-literal'] });
  assert.throws(() => labObjects([crd], nodes, {}, []), /no DaemonSet named aws-node/);
});

test('a lab pod is bound to its node when named, and hostNetwork when asked', () => {
  const pod = labPodObject('web', { nodeName: 'ip-10-0-16-4.us-west-2.compute.internal', hostNetwork: true });
  assert.equal(pod.spec!.nodeName, 'ip-10-0-16-4.us-west-2.compute.internal');
  assert.equal(pod.spec!.hostNetwork, true);
  assert.equal(labPodObject('web').spec!.nodeName, undefined);
});

test('the host kubeconfig is the in-VPC one pointed at the loopback relay', () => {
  const vpc = 'apiVersion: v1\nkind: Config\nclusters:\n  - name: podnet\n    cluster: { server: "https://10.0.255.254:6443", certificate-authority-data: Q0E= }\nusers: [{ name: admin, user: { token: t } }]\n';
  const host = parse(hostKubeconfig(vpc, 40123)) as { clusters: Array<{ cluster: Record<string, string> }>; users: unknown };
  assert.deepEqual(host.clusters[0]!.cluster, { server: 'https://127.0.0.1:40123', 'certificate-authority-data': 'Q0E=' });
  assert.deepEqual(host.users, [{ name: 'admin', user: { token: 't' } }]);
});

test('a relay carries bytes both ways between TCP and a unix socket', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-relay-'));
  const echo = createServer((s) => s.pipe(s));
  await new Promise<void>((r) => echo.listen(0, '127.0.0.1', r));
  const echoPort = (echo.address() as AddressInfo).port;
  const sock = join(dir, 'relay.sock');
  const inner = await startRelay(parseRelayAddress(sock), parseRelayAddress(`127.0.0.1:${echoPort}`));
  const outer = await startRelay(parseRelayAddress('127.0.0.1:0'), parseRelayAddress(sock));
  const { port } = outer.address as { port: number };
  const answer = await new Promise<string>((resolve, reject) => {
    const c = connect(port, '127.0.0.1', () => c.end('ping'));
    let got = '';
    c.on('data', (d) => (got += d));
    c.on('end', () => resolve(got));
    c.on('error', reject);
  });
  assert.equal(answer, 'ping');
  assert.throws(() => parseRelayAddress('localhost:80'), /not an IPv4 HOST:PORT/);
  outer.close();
  inner.close();
  echo.close();
  rmSync(dir, { recursive: true, force: true });
});
