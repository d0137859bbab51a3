/**
 * The lab kubelet's pure decisions: the Node it registers (labels, addresses, max pods for the node's mode, branch
 * ENIs), its Ready condition, the lab's names for pods, what a watch event asks, env and argv of podnet's containers
 * (fieldRef, $(VAR), hostPath stand-ins) and the pod status it posts.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import { conditionsChanged, leaseObject, microTime, networkReadiness, nodeCapacity, nodeConditions, nodeObject, type NodeFacts } from '../../../src/lab/kubelet-node.js';
import {
  containerEnv,
  containerProcessName,
  exitCodeOf,
  expandVars,
  hostPathMounts,
  hostPathStandIns,
  labPath,
  labPathsInText,
  nameProblem,
  podAction,
  podKey,
  podnetContainerArgv,
  podStatus,
  probeCheck,
  finishedPhase,
  restartDelayMs,
  restarts,
  runsProcess,
  uidHash,
  type ContainerRun,
} from '../../../src/lab/kubelet-pod.js';
import { allowedEnv, commandRefusal, podProcessRefusal, processRefusal, unmappedPaths } from '../../../src/lab/kubelet-policy.js';
import { maxPods } from '../../../src/limits/index.js';
import { parseAllDocuments } from 'yaml';

const facts: NodeFacts = {
  nodeName: 'ip-10-0-16-4.us-west-2.compute.internal',
  instanceId: 'i-0123456789abcdef0',
  instanceType: 't3.small',
  zone: 'us-west-2a',
  region: 'us-west-2',
  scenario: 'lab',
  labels: { 'k8s.amazonaws.com/eniConfig': 'pods-a' },
  internalIp: '10.0.16.4',
  env: {},
  kernelVersion: '6.1.0',
  containerRuntimeVersion: 'podnet-lab://0.1.0',
  podnetVersion: '0.1.0',
};

test('the Node carries the well-known labels, the scenario label, its addresses and max pods as capacity', () => {
  const n = nodeObject(facts);
  assert.equal(n.metadata.name, facts.nodeName);
  assert.equal(n.metadata.labels['kubernetes.io/hostname'], facts.nodeName);
  assert.equal(n.metadata.labels['kubernetes.io/os'], 'linux');
  assert.equal(n.metadata.labels['node.kubernetes.io/instance-type'], 't3.small');
  assert.equal(n.metadata.labels['topology.kubernetes.io/zone'], 'us-west-2a');
  assert.equal(n.metadata.labels['topology.kubernetes.io/region'], 'us-west-2');
  assert.equal(n.metadata.labels['podnet.io/scenario'], 'lab');
  assert.equal(n.metadata.labels['k8s.amazonaws.com/eniConfig'], 'pods-a');
  assert.equal(n.spec.providerID, 'aws:///us-west-2a/i-0123456789abcdef0');
  assert.deepEqual(n.status.addresses, [
    { type: 'InternalIP', address: '10.0.16.4' },
    { type: 'InternalDNS', address: facts.nodeName },
    { type: 'Hostname', address: facts.nodeName },
  ]);
  // t3.small: 3 ENIs × (4 − 1) + 2 = 11, as on EKS
  assert.equal(n.status.capacity.pods, '11');
  assert.equal(n.status.allocatable.pods, '11');
  assert.equal(n.status.capacity.cpu, '2');
  assert.equal(n.status.capacity['vpc.amazonaws.com/pod-eni'], undefined);
  assert.equal(n.status.nodeInfo.kubeletVersion.startsWith('v1.'), true);
});

test("max pods follows the node's mode: prefix delegation, custom networking, MAX_ENI", () => {
  assert.equal(nodeCapacity('t3.small', { ENABLE_PREFIX_DELEGATION: 'true' }).pods, maxPods('t3.small', { prefixDelegation: true }).maxPods);
  assert.equal(nodeCapacity('t3.small', { AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: 'true' }).pods, 8); // 2 ENIs × 3 + 2
  assert.equal(nodeCapacity('t3.small', { MAX_ENI: '1' }).pods, 5);
  assert.equal(nodeCapacity('t3.small', { ENABLE_PREFIX_DELEGATION: 'false' }).pods, 11);
});

test('security groups for pods on a trunking type: the trunk takes an ENI and pod-eni is the branch limit', () => {
  const n = nodeObject({ ...facts, instanceType: 'm5.large', env: { ENABLE_POD_ENI: 'true' } });
  assert.equal(n.status.capacity.pods, String(maxPods('m5.large', { securityGroupsForPods: true }).maxPods));
  assert.equal(n.status.capacity['vpc.amazonaws.com/pod-eni'], '9');
  // t3.small is not trunking compatible: no branch ENIs to offer
  assert.equal(nodeObject({ ...facts, env: { ENABLE_POD_ENI: 'true' } }).status.capacity['vpc.amazonaws.com/pod-eni'], undefined);
});

test('Ready needs the conflist and ipamd answering /ready; NotReady says which is missing', () => {
  const no = networkReadiness({ conflist: false, confDir: '/n/cni/net.d', ipamdNotReady: null });
  assert.equal(no.ready, false);
  assert.match((no as { message: string }).message, /NetworkPluginNotReady.*cni plugin not initialized.*\/n\/cni\/net\.d/);
  const ipamd = networkReadiness({ conflist: true, confDir: '/n', ipamdNotReady: 'waiting for the API server' });
  assert.match((ipamd as { message: string }).message, /ipamd is not ready: waiting for the API server/);
  assert.deepEqual(networkReadiness({ conflist: true, confDir: '/n', ipamdNotReady: null }), { ready: true });
});

test('conditions keep their transition time while unchanged; a heartbeat alone is no change', () => {
  const t0 = nodeConditions({ ready: false, message: 'x' }, [], '2026-01-01T00:00:00.000Z');
  const t1 = nodeConditions({ ready: false, message: 'x' }, t0, '2026-01-01T00:00:10.000Z');
  assert.equal(conditionsChanged(t0, t1), false);
  assert.equal(t1.find((c) => c.type === 'Ready')!.lastTransitionTime, '2026-01-01T00:00:00.000Z');
  const t2 = nodeConditions({ ready: true }, t1, '2026-01-01T00:00:20.000Z');
  assert.equal(conditionsChanged(t1, t2), true);
  const ready = t2.find((c) => c.type === 'Ready')!;
  assert.deepEqual([ready.status, ready.reason, ready.lastTransitionTime], ['True', 'KubeletReady', '2026-01-01T00:00:20.000Z']);
  assert.deepEqual(t2.map((c) => c.type), ['MemoryPressure', 'DiskPressure', 'PIDPressure', 'Ready']);
});

test('the Lease is in kube-node-lease, owned by the Node, renewed with a MicroTime', () => {
  const l = leaseObject(facts.nodeName, 'uid-1', Date.UTC(2026, 0, 1, 0, 0, 0, 123));
  assert.equal(l.metadata.namespace, 'kube-node-lease');
  assert.deepEqual(l.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Node', name: facts.nodeName, uid: 'uid-1' }]);
  assert.equal(l.spec.renewTime, '2026-01-01T00:00:00.123000Z');
  assert.equal(l.spec.leaseDurationSeconds, 40);
  assert.match(microTime(0), /^1970-01-01T00:00:00\.000000Z$/);
});

test("a pod's lab name: its name in default, <namespace>-<name> elsewhere, null when it does not fit", () => {
  assert.equal(podKey('default', 'web'), 'web');
  assert.equal(podKey('kube-system', 'aws-node-x1b2c'), 'kube-system-aws-node-x1b2c');
  assert.equal(podKey('kube-system', 'aws-node-worker-one-abcde'), null);
  assert.equal(podKey('default', 'Web'), null);
  assert.match(nameProblem('team-a', 'a-very-long-pod-name-xyz-1234', false, () => false)!, /does not fit.*<namespace>-<name>/);
  // a hostNetwork pod needs no namespace of its own: it runs under any name
  assert.equal(nameProblem('kube-system', 'aws-node-worker-one-abcde', true, () => false), null);
  assert.match(nameProblem('default', 'pub-ip', false, (k) => k === 'pub-ip')!, /taken/);
});

const pod = (over: Partial<V1Pod> = {}): V1Pod => ({ metadata: { name: 'web', namespace: 'default', uid: 'u1', annotations: { snat: 'true' }, labels: { app: 'web' } }, spec: { nodeName: 'n1', containers: [] }, ...over });

test('what a watch event asks: start a new pod, stop a deleted, deleting or finished one, else nothing', () => {
  assert.deepEqual(podAction('ADDED', pod(), false), { kind: 'start' });
  assert.deepEqual(podAction('MODIFIED', pod(), true), { kind: 'none' });
  assert.equal(podAction('DELETED', pod(), true).kind, 'stop');
  assert.deepEqual(podAction('DELETED', pod(), false), { kind: 'none' });
  assert.equal(podAction('MODIFIED', pod({ metadata: { name: 'web', uid: 'u1', deletionTimestamp: new Date() } }), true).kind, 'stop');
  assert.deepEqual(podAction('MODIFIED', pod({ status: { phase: 'Failed' } }), false), { kind: 'none' });
  assert.equal(podAction('MODIFIED', pod({ status: { phase: 'Succeeded' } }), true).kind, 'stop');
});

test('env: values with $(VAR), fieldRefs of the downward API, and what the lab cannot give named', () => {
  const { env, problems } = containerEnv(
    [
      { name: 'MY_NODE_NAME', valueFrom: { fieldRef: { fieldPath: 'spec.nodeName' } } },
      { name: 'MY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
      { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
      { name: 'HOST', valueFrom: { fieldRef: { fieldPath: 'status.hostIP' } } },
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'status.podIP' } } },
      { name: 'SNAT', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['snat']" } } },
      { name: 'APP', valueFrom: { fieldRef: { fieldPath: "metadata.labels['app']" } } },
      { name: 'GREETING', value: 'node $(MY_NODE_NAME) $$(MY_POD_NAME) $(UNKNOWN)' },
      { name: 'SECRET', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } },
    ],
    pod(),
    { nodeName: 'ip-10-0-16-4.us-west-2.compute.internal', hostIP: '10.0.16.4', podIP: '10.0.16.9' },
  );
  assert.deepEqual(env, {
    MY_NODE_NAME: 'ip-10-0-16-4.us-west-2.compute.internal',
    MY_POD_NAME: 'web',
    NS: 'default',
    HOST: '10.0.16.4',
    POD: '10.0.16.9',
    SNAT: 'true',
    APP: 'web',
    GREETING: 'node ip-10-0-16-4.us-west-2.compute.internal $(MY_POD_NAME) $(UNKNOWN)',
  });
  assert.deepEqual(problems, ['SECRET: valueFrom secretKeyRef is not supported by the lab\'s kubelet']);
  assert.equal(expandVars('$(A)-$(B)', { A: '1' }), '1-$(B)');
});

const standIns = hostPathStandIns({ dir: '/lab/nodes/n1', binDir: '/lab/nodes/n1/cni/bin', confDir: '/lab/nodes/n1/cni/net.d', logDir: '/lab/nodes/n1/log' });
const cniPaths = { binDir: '/lab/nodes/n1/cni/bin', confDir: '/lab/nodes/n1/cni/net.d', socket: '/lab/nodes/n1/ipamd.sock' };
/** deploy/'s volumes (upstream's host paths) */
const volumes = [
  { name: 'cni-bin-dir', hostPath: { path: '/opt/cni/bin' } },
  { name: 'cni-net-dir', hostPath: { path: '/etc/cni/net.d' } },
  { name: 'log-dir', hostPath: { path: '/var/log/aws-routed-eni' } },
  { name: 'run-dir', hostPath: { path: '/var/run/aws-node' } },
  { name: 'xtables-lock', hostPath: { path: '/run/xtables.lock' } },
];

test("deploy/'s init container: --host-root goes and the node's CNI directories and socket are given instead", () => {
  const init: V1Container = {
    name: 'aws-vpc-cni-init',
    image: 'localhost/podnet:0.1.0',
    command: ['podnet', 'init', '--host-root', '/host'],
    volumeMounts: [
      { name: 'cni-bin-dir', mountPath: '/host/opt/cni/bin' },
      { name: 'cni-net-dir', mountPath: '/host/etc/cni/net.d' },
    ],
  };
  const mounts = hostPathMounts(init, volumes);
  assert.deepEqual(mounts, [['/host/opt/cni/bin', '/opt/cni/bin'], ['/host/etc/cni/net.d', '/etc/cni/net.d']]);
  assert.deepEqual(podnetContainerArgv(init, {}, mounts, standIns, cniPaths), ['init', '--bin-dir', '/lab/nodes/n1/cni/bin', '--conf-dir', '/lab/nodes/n1/cni/net.d', '--socket', '/lab/nodes/n1/ipamd.sock']);
  // paths it is given (the host's, under --host-root) map to the node's as well; $(VAR) is expanded first
  const given = { ...init, command: ['/usr/local/bin/podnet', 'init', '--host-root=/host', '--bin-dir', '$(BIN)', '--conf-dir=/etc/cni/net.d'] };
  assert.deepEqual(podnetContainerArgv(given, { BIN: '/opt/cni/bin' }, mounts, standIns, cniPaths), ['init', '--bin-dir', '/lab/nodes/n1/cni/bin', '--conf-dir=/lab/nodes/n1/cni/net.d', '--socket', '/lab/nodes/n1/ipamd.sock']);
});

test("deploy/'s aws-node container: podnet ipamd; its env's paths and its probe's socket reach the node's directories", () => {
  const ipamd: V1Container = {
    name: 'aws-node',
    image: 'localhost/podnet:0.1.0',
    command: ['podnet', 'ipamd'],
    volumeMounts: [
      { name: 'log-dir', mountPath: '/host/var/log/aws-routed-eni' },
      { name: 'run-dir', mountPath: '/var/run/aws-node' },
      { name: 'xtables-lock', mountPath: '/run/xtables.lock' },
    ],
  };
  const mounts = hostPathMounts(ipamd, volumes);
  assert.deepEqual(podnetContainerArgv(ipamd, {}, mounts, standIns, cniPaths), ['ipamd']);
  assert.equal(labPath('/host/var/log/aws-routed-eni/ipamd.log', mounts, standIns), '/lab/nodes/n1/log/ipamd.log');
  assert.equal(labPath('/var/log/aws-routed-eni/plugin.log', mounts, standIns), '/lab/nodes/n1/log/plugin.log');
  assert.equal(labPath('/run/xtables.lock', mounts, standIns), '/run/xtables.lock');
  assert.equal(labPath('relative/path', mounts, standIns), 'relative/path');
  const probe = "printf 'GET /ready HTTP/1.0\\r\\n\\r\\n' | timeout 5 nc -N -U /var/run/aws-node/ipamd.sock | { read -r _ code _; [ \"$code\" = 200 ]; }";
  assert.equal(labPathsInText(probe, mounts, standIns), probe.replace('/var/run/aws-node/ipamd.sock', '/lab/nodes/n1/ipamd.sock'));
  assert.equal(labPathsInText('/var/run/aws-node-other/x /var/run/aws-node', mounts, standIns), '/var/run/aws-node-other/x /lab/nodes/n1');
});

test("podnet's image (any tag) runs a process; other images are the pod's sandbox only", () => {
  assert.equal(runsProcess({ name: 'a', image: 'localhost/podnet:0.1.0' }), true);
  assert.equal(runsProcess({ name: 'a', image: 'localhost/podnet:0.2.0' }), true);
  assert.equal(runsProcess({ name: 'a', image: 'localhost/podnet-lab/pause:1' }), false);
  assert.equal(runsProcess({ name: 'a', image: 'busybox' }), false);
});

test('readiness probes: httpGet with a named port, tcpSocket, exec; none means ready when running', () => {
  const c: V1Container = { name: 'aws-node', ports: [{ name: 'metrics', containerPort: 61678 }] };
  assert.deepEqual(probeCheck({ httpGet: { path: '/healthz', port: 'metrics' as unknown as object } } as never, c, '127.0.0.1'), { kind: 'http', host: '127.0.0.1', port: 61678, path: '/healthz', scheme: 'http' });
  assert.deepEqual(probeCheck({ tcpSocket: { port: 50051 as unknown as object } } as never, c, '10.0.0.9'), { kind: 'tcp', host: '10.0.0.9', port: 50051 });
  assert.deepEqual(probeCheck({ exec: { command: ['podnet', 'ipamd', 'ready'] } }, c, '10.0.0.9'), { kind: 'exec', argv: ['podnet', 'ipamd', 'ready'] });
  assert.equal(probeCheck(undefined, c, '10.0.0.9'), null);
  assert.deepEqual([1, 2, 3, 10].map(restartDelayMs), [1_000, 2_000, 4_000, 30_000]);
});

const run = (over: Partial<ContainerRun>): ContainerRun => ({ name: 'main', image: 'img', startedAt: null, restartCount: 0, ready: false, lastExit: null, waiting: null, containerId: 'podnet://c/main', ...over });

test('pod status: Running with the addresses and conditions once initialized; Pending while init containers run', () => {
  const base = { hostIP: '10.0.16.4', podIP: '10.0.16.9', startTime: 't0', now: 't1' };
  const running = podStatus({ ...base, initialized: true, initContainers: [], containers: [run({ startedAt: 't0', ready: true })] });
  assert.equal(running.phase, 'Running');
  assert.deepEqual(running.podIPs, [{ ip: '10.0.16.9' }]);
  assert.equal(running.hostIP, '10.0.16.4');
  assert.deepEqual(running.conditions.map((c) => [c.type, c.status]), [['PodReadyToStartContainers', 'True'], ['Initialized', 'True'], ['Ready', 'True'], ['ContainersReady', 'True'], ['PodScheduled', 'True']]);
  assert.deepEqual(running.containerStatuses[0]!.state, { running: { startedAt: 't0' } });

  const init = podStatus({ ...base, initialized: false, initContainers: [run({ name: 'init', startedAt: 't0' })], containers: [run({ waiting: { reason: 'PodInitializing' } })] });
  assert.equal(init.phase, 'Pending');
  assert.equal(init.conditions.find((c) => c.type === 'Initialized')!.status, 'False');
  assert.deepEqual(init.containerStatuses[0]!.state, { waiting: { reason: 'PodInitializing' } });

  const crashing = podStatus({
    ...base,
    initialized: true,
    initContainers: [],
    containers: [run({ restartCount: 2, waiting: { reason: 'CrashLoopBackOff' }, lastExit: { exitCode: 1, reason: 'Error', startedAt: 't0', finishedAt: 't1' } })],
    previous: running.conditions,
  });
  assert.equal(crashing.conditions.find((c) => c.type === 'Ready')!.status, 'False');
  assert.equal(crashing.conditions.find((c) => c.type === 'Ready')!.lastTransitionTime, 't1');
  assert.equal(crashing.conditions.find((c) => c.type === 'PodScheduled')!.lastTransitionTime, 't1');
  assert.deepEqual(crashing.containerStatuses[0]!.state, { waiting: { reason: 'CrashLoopBackOff' } });
  assert.equal(crashing.containerStatuses[0]!.restartCount, 2);
});

test('restartPolicy: Always restarts every exit, OnFailure only failures, Never none; the pod finishes when no container will run again', () => {
  assert.deepEqual([restarts(undefined, 0), restarts('Always', 0), restarts('OnFailure', 0), restarts('OnFailure', 2), restarts('Never', 1)], [true, true, false, true, false]);
  const exited = (exitCode: number) => ({ startedAt: null, waiting: null, lastExit: { exitCode, reason: exitCode ? 'Error' : 'Completed', startedAt: 't0', finishedAt: 't1' } });
  assert.equal(finishedPhase([exited(0), exited(0)]), 'Succeeded');
  assert.equal(finishedPhase([exited(0), exited(3)]), 'Failed');
  assert.equal(finishedPhase([exited(0), { startedAt: 't0', waiting: null, lastExit: null }]), undefined);
  assert.equal(finishedPhase([]), undefined);
  const done = podStatus({ hostIP: 'h', podIP: 'p', startTime: 't0', now: 't1', initialized: true, finished: 'Succeeded', initContainers: [], containers: [run({ lastExit: exited(0).lastExit })] });
  assert.equal(done.phase, 'Succeeded');
  assert.deepEqual(done.containerStatuses[0]!.state, { terminated: { exitCode: 0, reason: 'Completed', startedAt: 't0', finishedAt: 't1', containerID: 'podnet://c/main' } });
  assert.equal(done.conditions.find((c) => c.type === 'Ready')!.reason, 'PodCompleted');
});

test("a container's process name is pod-<pod>-<uid hash>-<container>: two pods whose names cut alike stay apart", () => {
  const ipamd = containerProcessName({ key: null, namespace: 'kube-system', name: 'aws-node-x7k2p', uid: 'u-1' }, 'aws-node');
  assert.match(ipamd, /^pod-kube-system-aws-node-x7k2p-[0-9a-f]{6}-aws-node$/);
  assert.match(ipamd, /^pod-kube-system-aws-node.*-aws-node$/, "lab status's ipamd matcher (cluster.ts) still finds it");
  assert.equal(containerProcessName({ key: 'web', namespace: 'default', name: 'web', uid: 'u-2' }, 'main'), `pod-web-${uidHash('u-2')}-main`);
  const long = 'x'.repeat(70);
  const a = containerProcessName({ key: null, namespace: 'kube-system', name: `${long}-a`, uid: 'u-a' }, 'c');
  const b = containerProcessName({ key: null, namespace: 'kube-system', name: `${long}-b`, uid: 'u-b' }, 'c');
  assert.notEqual(a, b);
});

const daemonSetPod = (namespace: string, owner?: string): V1Pod => ({ metadata: { name: 'aws-node-x7k2p', namespace, ownerReferences: owner ? [{ apiVersion: 'apps/v1', kind: owner, name: 'aws-node', uid: 'u' }] : [] } });

test("podnet's processes and exec probes only for DaemonSet pods in kube-system", () => {
  assert.equal(processRefusal(daemonSetPod('kube-system', 'DaemonSet')), null);
  assert.match(processRefusal(daemonSetPod('default', 'DaemonSet'))!, /only for DaemonSet pods in kube-system \(this pod is in default\)/);
  assert.match(processRefusal(daemonSetPod('kube-system', 'ReplicaSet'))!, /not owned by a DaemonSet/);
  assert.match(processRefusal(daemonSetPod('kube-system'))!, /not owned by a DaemonSet/);
});

test("a container's env: podnet's settings, MY_* and the downward API; never PATH, NODE_*, LD_* or anything else", () => {
  const container: V1Container = { name: 'aws-node', env: [{ name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'LD_PRELOAD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }] };
  const env = { WARM_IP_TARGET: '3', AWS_VPC_K8S_CNI_EXTERNALSNAT: 'true', PODNET_CNI_SOCKET: '/x', MY_NODE_NAME: 'n', POD_NAME: 'p', PATH: '/tmp', NODE_OPTIONS: '--require /tmp/x.js', LD_PRELOAD: '/tmp/x.so', LD_LIBRARY_PATH: '/tmp', HOME: '/root', TARGET: '3' };
  const { env: allowed, dropped } = allowedEnv(env, container);
  assert.deepEqual(Object.keys(allowed).sort(), ['AWS_VPC_K8S_CNI_EXTERNALSNAT', 'MY_NODE_NAME', 'PODNET_CNI_SOCKET', 'POD_NAME', 'WARM_IP_TARGET']);
  assert.deepEqual(dropped.sort(), ['HOME', 'LD_LIBRARY_PATH', 'LD_PRELOAD', 'NODE_OPTIONS', 'PATH', 'TARGET']);
});

test("a container's podnet command: only ipamd and init", () => {
  assert.equal(commandRefusal(['ipamd']), null);
  assert.equal(commandRefusal(['init', '--bin-dir', '/x']), null);
  assert.match(commandRefusal(['k8s', 'serve'])!, /only 'podnet ipamd' and 'podnet init', not 'podnet k8s serve'/);
  assert.match(commandRefusal(['--version'])!, /not 'podnet --version'/);
  assert.match(commandRefusal([])!, /not 'podnet '/);
});

test('absolute paths the hostPath stand-ins do not map are named; mapped ones and the node\'s own are not', () => {
  const mounts: Array<[string, string]> = [['/host/var/log/aws-routed-eni', '/var/log/aws-routed-eni'], ['/run/xtables.lock', '/run/xtables.lock']];
  const values = ['ipamd', '--socket=/lab/nodes/n1/ipamd.sock', '/host/var/log/aws-routed-eni/ipamd.log', '/var/run/aws-node/ipam.json', '/etc/passwd', '--conf=/root/.ssh/id', '/run/xtables.lock', 'relative', '/etc/passwd'];
  assert.deepEqual(unmappedPaths(values, mounts, standIns), ['/etc/passwd', '/root/.ssh/id', '/run/xtables.lock']);
});

test("deploy/'s aws-node DaemonSet pod passes; another namespace, command or unmapped path fails the pod with why", () => {
  const docs = parseAllDocuments(readFileSync(new URL('../../../deploy/20-aws-node.yaml', import.meta.url), 'utf8')).map((d) => d.toJS() as { kind: string; spec: { template: V1Pod } });
  const template = docs.find((d) => d.kind === 'DaemonSet')!.spec.template;
  const pod: V1Pod = { ...template, metadata: { ...template.metadata, name: 'aws-node-x7k2p', namespace: 'kube-system', ownerReferences: [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'aws-node', uid: 'u' }] } };
  const podFacts = { nodeName: facts.nodeName, hostIP: '10.0.16.4', podIP: '' };
  assert.equal(podProcessRefusal(pod, podFacts, standIns, cniPaths), null);
  const aws = pod.spec!.containers[0]!;
  assert.deepEqual(allowedEnv(containerEnv(aws.env, pod, podFacts).env, aws).dropped, [], "deploy/'s env is all podnet's");
  assert.match(podProcessRefusal({ ...pod, metadata: { ...pod.metadata, namespace: 'default' } }, podFacts, standIns, cniPaths)!, /only for DaemonSet pods in kube-system/);
  const withContainer = (c: Partial<V1Container>): V1Pod => ({ ...pod, spec: { ...pod.spec!, containers: [{ ...aws, ...c }] } });
  assert.match(podProcessRefusal(withContainer({ command: ['podnet', 'lab', 'up'] }), podFacts, standIns, cniPaths)!, /container aws-node: the lab runs only/);
  assert.match(podProcessRefusal(withContainer({ command: ['podnet', 'ipamd'], env: [{ name: 'AWS_VPC_K8S_CNI_LOG_FILE', value: '/etc/shadow' }] }), podFacts, standIns, cniPaths)!, /\/etc\/shadow is not under a hostPath volume/);
  assert.equal(podProcessRefusal({ metadata: { name: 'web', namespace: 'default' }, spec: { containers: [{ name: 'main', image: 'busybox' }] } }, podFacts, standIns, cniPaths), null, 'other images run nothing');
});

test("a container's exit code: its own, or 128 + the signal that ended it", () => {
  assert.equal(exitCodeOf(0, null), 0);
  assert.equal(exitCodeOf(2, null), 2);
  assert.equal(exitCodeOf(null, 'SIGTERM'), 143);
  assert.equal(exitCodeOf(null, 'SIGKILL'), 137);
  assert.equal(exitCodeOf(null, 'SIGINT'), 130);
});
