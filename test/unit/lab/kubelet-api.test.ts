/**
 * The lab's kubelet against a real API server in this process (no root: the pods here are hostNetwork, or refused,
 * and podnet's containers run where the test runs): it registers its Node and Lease, turns Ready when the conflist
 * exists and ipamd's CNI socket (the real socket server) answers /ready, runs a pod's init container to completion,
 * keeps a container running with only the env podnet reads and restarts one that exits (with a new token), gives
 * podnet's containers a kubeconfig whose service-account token RBAC limits, refuses podnet's image outside its
 * DaemonSet and a pod whose lab name does not fit (Failed with an Event), starts nothing without a token, kills a
 * container whose liveness probe keeps failing, starts a replacing ipamd only after the old one exited, stops what
 * an earlier kubelet of the node left running, removes what pods deleted meanwhile left, and on deletion stops the
 * processes and removes the lab's records.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { ApiException, CoordinationV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import { startCniSocketServer, type CniSocketServer } from '../../../src/cni/index.js';
import { startKubelet, type Kubelet } from '../../../src/lab/kubelet.js';
import { planFabric } from '../../../src/lab/plan.js';
import { defaultScenarioPath, loadScenario } from '../../../src/lab/scenario.js';
import { LabState, type LabRecord, type NodeRecord } from '../../../src/lab/state.js';
import { eventually, startTestServer, type TestServer } from '../k8s-api/client-node-harness.js';

const NODE_NAME = 'ip-10-0-16-4.us-west-2.compute.internal';
let server: TestServer;
let core: CoreV1Api;
let dir: string;
let state: LabState;
let node: NodeRecord;
let kubelet: Kubelet;
let ipamd: CniSocketServer | undefined;
/** what the stand-in ipamd's socket answers on GET /ready */
let ipamdStatus = { ready: false, reason: 'not started' };
const logLines: string[] = [];
/** the test runs without root: podnet's containers run in this namespace instead of the node's; one that asks for a missing binary gets it */
const enterNetns = (_netns: string, argv: string[]) => (argv.includes('--spawn-a-missing-binary') ? ['/nonexistent/podnet', ...argv] : argv);
/** an IMDS that never answers: podnet ipamd waits in its start-up, so a container of it keeps running */
let imds: Server;
const IMAGE = 'localhost/podnet:0.1.0';
/** what the DaemonSet controller sets: the lab runs podnet's processes only for DaemonSet pods in kube-system */
const ownerReferences = [{ apiVersion: 'apps/v1', kind: 'DaemonSet', name: 'aws-node', uid: '0b7a4c3e-0000-4000-8000-000000000001', controller: true }];
/** podnet ipamd with no metrics or introspection listener (several run at once here) */
const ipamdContainer = { image: IMAGE, command: ['podnet', 'ipamd'], env: [{ name: 'DISABLE_METRICS', value: 'true' }, { name: 'DISABLE_INTROSPECTION', value: 'true' }] };

before(async () => {
  server = await startTestServer();
  imds = createServer(() => {});
  await new Promise<void>((resolve) => imds.listen(0, '127.0.0.1', resolve));
  core = server.kc.makeApiClient(CoreV1Api);
  dir = mkdtempSync(join(tmpdir(), 'podnet-kubelet-'));
  state = new LabState(join(dir, 'state'));
  state.ensure();
  const scenario = await loadScenario(defaultScenarioPath);
  const nodeDir = state.path('nodes', 'priv');
  for (const d of ['log', 'cni/bin', 'cni/net.d']) mkdirSync(join(nodeDir, d), { recursive: true });
  node = {
    name: 'priv',
    instanceId: 'i-0000000000000priv',
    instanceType: 't3.small',
    nodeName: NODE_NAME,
    ns: 'pn-n-priv',
    dir: nodeDir,
    socket: join(nodeDir, 'ipamd.sock'),
    binDir: join(nodeDir, 'cni', 'bin'),
    confDir: join(nodeDir, 'cni', 'net.d'),
    env: { AWS_VPC_K8S_CNI_BACKING_STORE: join(nodeDir, 'ipam.json'), WARM_IP_TARGET: '1' },
  };
  const lab: LabRecord = {
    scenarioPath: defaultScenarioPath,
    startedAt: new Date().toISOString(),
    runtime: 'cni',
    plan: planFabric(scenario),
    ec2Url: 'http://127.0.0.1:9',
    imdsUrl: `http://127.0.0.1:${(imds.address() as { port: number }).port}`,
    region: 'us-west-2',
    vpcKubeconfig: server.kubeconfigPath,
    instances: { priv: node.instanceId },
    nodes: { priv: node },
    hosts: {},
    natGateways: {},
  };
  state.writeLab(lab);
  const eni = { eniId: 'eni-1', mac: '02:00:00:00:00:01', vpcId: 'vpc-1', subnetId: 'subnet-1', instanceId: node.instanceId, deviceIndex: 0, privateIps: ['10.0.16.4'], ipv4Prefixes: [], ipv6Addresses: [], ipv6Prefixes: [], publicIps: {}, groupIds: [], description: '', requesterManaged: false, wired: true };
  state.writeFabric({ generation: 1, updatedAt: new Date().toISOString(), enis: [eni], eventsConnected: true, facts: {} as never });

  // what deploy/'s ClusterRole would grant podnet: nodes, not secrets
  const rbac = server.kc.makeApiClient(RbacAuthorizationV1Api);
  await core.createNamespacedServiceAccount({ namespace: 'kube-system', body: { metadata: { name: 'aws-node' } } });
  await rbac.createClusterRole({ body: { metadata: { name: 'aws-node' }, rules: [{ apiGroups: [''], resources: ['nodes'], verbs: ['get', 'list', 'watch'] }] } });
  await rbac.createClusterRoleBinding({ body: { metadata: { name: 'aws-node' }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'aws-node' }, subjects: [{ kind: 'ServiceAccount', name: 'aws-node', namespace: 'kube-system' }] } });

  kubelet = await startKubelet({ stateDir: state.dir, node: 'priv', log: (l) => logLines.push(l), enterNetns });
});

after(async () => {
  if (process.env.KUBELET_TEST_LOG) process.stderr.write(logLines.join("\n") + "\n");
  await kubelet?.stop();
  // whatever a failed test left running (the kubelet leaves its pods' processes to the next kubelet)
  for (const p of state?.procs() ?? []) {
    try {
      process.kill(-p.pid, 'SIGKILL');
    } catch {
      // gone already
    }
  }
  await ipamd?.close();
  imds?.closeAllConnections();
  imds?.close();
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

const readyOf = async () => (await core.readNode({ name: NODE_NAME })).status?.conditions?.find((c) => c.type === 'Ready');

test('the kubelet registers its Node (labels, addresses, max pods) and a Lease; NotReady until the CNI is there', async () => {
  assert.equal(kubelet.nodeName, NODE_NAME);
  const n = await core.readNode({ name: NODE_NAME });
  assert.equal(n.metadata?.labels?.['podnet.io/scenario'], 'lab');
  assert.equal(n.metadata?.labels?.['topology.kubernetes.io/zone'], 'us-west-2a');
  assert.equal(n.metadata?.labels?.['node.kubernetes.io/instance-type'], 't3.small');
  assert.equal(n.status?.allocatable?.pods, '11');
  assert.deepEqual(n.status?.addresses?.map((a) => a.type), ['InternalIP', 'InternalDNS', 'Hostname']);
  await eventually('the Ready condition posted', async () => (await readyOf())?.status === 'False');
  assert.match((await readyOf())!.message!, /cni plugin not initialized/);
  const lease = await server.kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: NODE_NAME, namespace: 'kube-node-lease' });
  assert.equal(lease.spec?.holderIdentity, NODE_NAME);
  assert.equal(lease.metadata?.ownerReferences?.[0]?.uid, n.metadata?.uid);
});

test('Ready once the conflist exists and ipamd answers /ready; NotReady with its reason when it does not', async () => {
  writeFileSync(join(node.confDir, '10-aws.conflist'), JSON.stringify({ cniVersion: '1.0.0', name: 'aws-cni', plugins: [{ type: 'podnet-cni' }] }));
  ipamdStatus = { ready: false, reason: 'pool is empty' };
  ipamd = await startCniSocketServer(node.socket, async () => ({ exitCode: 0, stdout: '' }), { status: async () => ipamdStatus });
  await eventually('NotReady naming ipamd', async () => /ipamd is not ready: pool is empty/.test((await readyOf())?.message ?? ''), 5_000);
  ipamdStatus = { ready: true, reason: '' };
  await eventually('Ready', async () => (await readyOf())?.status === 'True', 5_000);
});

test('a deleted Node is registered again at its next status change', async () => {
  await core.deleteNode({ name: NODE_NAME });
  ipamdStatus = { ready: false, reason: 'restarting' };
  await eventually('the Node back, NotReady', async () => /restarting/.test((await readyOf().catch(() => undefined))?.message ?? ''), 5_000);
  assert.equal((await core.readNode({ name: NODE_NAME })).status?.allocatable?.pods, '11');
  ipamdStatus = { ready: true, reason: '' };
  await eventually('Ready again', async () => (await readyOf())?.status === 'True', 5_000);
});

const waitPod = async (namespace: string, name: string, check: (p: V1Pod) => boolean, what: string, timeoutMs = 20_000) => {
  let last: V1Pod | undefined;
  await eventually(`${namespace}/${name} ${what} (last: ${JSON.stringify(() => last?.status)})`, async () => {
    last = await core.readNamespacedPod({ namespace, name });
    return check(last);
  }, timeoutMs);
  return last!;
};

test('a hostNetwork pod is Running with the node address and gets a lab record; deleting it removes the record', async () => {
  await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'hn' }, spec: { nodeName: NODE_NAME, hostNetwork: true, containers: [{ name: 'main', image: 'localhost/podnet-lab/pause:1' }] } } });
  const p = await waitPod('default', 'hn', (x) => x.status?.phase === 'Running', 'Running');
  assert.equal(p.status?.podIP, '10.0.16.4');
  assert.equal(p.status?.hostIP, '10.0.16.4');
  assert.deepEqual(p.status?.conditions?.map((c) => [c.type, c.status]).sort(), [['ContainersReady', 'True'], ['Initialized', 'True'], ['PodReadyToStartContainers', 'True'], ['PodScheduled', 'True'], ['Ready', 'True']]);
  assert.equal(p.status?.containerStatuses?.[0]?.ready, true);
  assert.deepEqual(state.pod('hn'), { name: 'hn', node: 'priv', ns: 'pn-n-priv', hostNetwork: true, ip: null, containerId: '' });
  await core.deleteNamespacedPod({ namespace: 'default', name: 'hn' });
  await eventually('the record gone', () => state.pod('hn') === undefined);
});

test('a pod that is never restarted Succeeds when its podnet container exits 0, and its process record goes', async () => {
  await core.createNamespacedPod({
    namespace: 'kube-system',
    body: { metadata: { name: 'once', ownerReferences }, spec: { nodeName: NODE_NAME, hostNetwork: true, serviceAccountName: 'aws-node', restartPolicy: 'Never', containers: [{ name: 'help', image: IMAGE, command: ['podnet', 'init', '--help'] }] } },
  });
  const p = await waitPod('kube-system', 'once', (x) => x.status?.phase === 'Succeeded', 'Succeeded');
  assert.equal(p.status?.containerStatuses?.[0]?.state?.terminated?.exitCode, 0);
  await eventually("the finished container's process record gone", () => !state.procs().some((x) => x.name.startsWith('pod-kube-system-once-')));
  await core.deleteNamespacedPod({ namespace: 'kube-system', name: 'once' });
});

test('a container whose liveness probe keeps failing is killed and restarted, with Events saying why', async () => {
  await core.createNamespacedPod({
    namespace: 'kube-system',
    body: {
      metadata: { name: 'live', ownerReferences },
      spec: { nodeName: NODE_NAME, hostNetwork: true, serviceAccountName: 'aws-node', containers: [{ name: 'ipamd', ...ipamdContainer, livenessProbe: { exec: { command: ['false'] }, periodSeconds: 1, failureThreshold: 2 } }] },
    },
  });
  await waitPod('kube-system', 'live', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 'restarted', 30_000);
  const events = await core.listNamespacedEvent({ namespace: 'kube-system' });
  const reasons = events.items.filter((e) => e.involvedObject.name === 'live').map((e) => e.reason);
  assert.ok(reasons.includes('Unhealthy') && reasons.includes('Killing'), `events: ${reasons.join(', ')}`);
  await core.deleteNamespacedPod({ namespace: 'kube-system', name: 'live' });
  await eventually('its processes and their records gone', () => !state.procs().some((x) => x.name.startsWith('pod-kube-system-live-')), 15_000);
});

test("podnet's image outside podnet's DaemonSet, or running another command, is refused: Failed with an Event, nothing runs", async () => {
  await core.createNamespacedPod({ namespace: 'default', body: { metadata: { name: 'sneaky' }, spec: { nodeName: NODE_NAME, hostNetwork: true, containers: [{ name: 'x', ...ipamdContainer }] } } });
  await core.createNamespacedPod({
    namespace: 'kube-system',
    body: { metadata: { name: 'other-cmd', ownerReferences }, spec: { nodeName: NODE_NAME, hostNetwork: true, serviceAccountName: 'aws-node', containers: [{ name: 'x', image: IMAGE, command: ['podnet', 'lab', 'down'] }] } },
  });
  const sneaky = await waitPod('default', 'sneaky', (x) => x.status?.phase === 'Failed', 'Failed');
  assert.equal(sneaky.status?.reason, 'PodnetLabRefused');
  assert.match(sneaky.status?.message ?? '', /only for DaemonSet pods in kube-system/);
  const other = await waitPod('kube-system', 'other-cmd', (x) => x.status?.phase === 'Failed', 'Failed');
  assert.match(other.status?.message ?? '', /container x: the lab runs only 'podnet ipamd' and 'podnet init', not 'podnet lab down'/);
  const events = await core.listNamespacedEvent({ namespace: 'kube-system' });
  assert.ok(events.items.some((e) => e.involvedObject.name === 'other-cmd' && e.type === 'Warning' && /not 'podnet lab down'/.test(e.message ?? '')));
  assert.ok(!state.procs().some((x) => x.name.startsWith('pod-sneaky-') || x.name.startsWith('pod-kube-system-other-cmd-')));
  await core.deleteNamespacedPod({ namespace: 'default', name: 'sneaky' });
  await core.deleteNamespacedPod({ namespace: 'kube-system', name: 'other-cmd' });
});

test("no service-account token: the containers do not start, an Event says why, and they start once the token can be had", async () => {
  await core.createNamespacedPod({
    namespace: 'kube-system',
    body: { metadata: { name: 'tokenless', ownerReferences }, spec: { nodeName: NODE_NAME, hostNetwork: true, serviceAccountName: 'later', containers: [{ name: 'ipamd', ...ipamdContainer }] } },
  });
  await eventually('a FailedMount Event', async () => (await core.listNamespacedEvent({ namespace: 'kube-system' })).items.some((e) => e.involvedObject.name === 'tokenless' && e.reason === 'FailedMount' && /later/.test(e.message ?? '')));
  assert.ok(!state.procs().some((x) => x.name.startsWith('pod-kube-system-tokenless-')), 'nothing runs without the token');
  await core.createNamespacedServiceAccount({ namespace: 'kube-system', body: { metadata: { name: 'later' } } });
  await waitPod('kube-system', 'tokenless', (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined, 'running', 15_000);
  await core.deleteNamespacedPod({ namespace: 'kube-system', name: 'tokenless' });
  await eventually('its process gone', () => !state.procs().some((x) => x.name.startsWith('pod-kube-system-tokenless-')), 15_000);
});

test("a pod whose lab name does not fit is Failed, with an Event saying why", async () => {
  await core.createNamespace({ body: { metadata: { name: 'team-with-a-long-name' } } });
  await core.createNamespacedPod({ namespace: 'team-with-a-long-name', body: { metadata: { name: 'web-frontend' }, spec: { nodeName: NODE_NAME, containers: [{ name: 'main', image: 'busybox' }] } } });
  const p = await waitPod('team-with-a-long-name', 'web-frontend', (x) => x.status?.phase === 'Failed', 'Failed');
  assert.match(p.status?.message ?? '', /does not fit the lab's names/);
  const events = await core.listNamespacedEvent({ namespace: 'team-with-a-long-name' });
  const e = events.items.find((x) => x.involvedObject.name === 'web-frontend');
  assert.equal(e?.reason, 'FailedCreatePodSandBox');
  assert.equal(e?.type, 'Warning');
  assert.equal(e?.source?.host, NODE_NAME);
});

test("podnet's containers: the init container runs to completion, then the containers with the env podnet reads; an exiting one restarts with a new token; the token is the service account's", async () => {
  await core.createNamespacedPod({
    namespace: 'kube-system',
    body: {
      metadata: { name: 'aws-node-abcde', annotations: { snat: 'true' }, ownerReferences },
      spec: {
        nodeName: NODE_NAME,
        hostNetwork: true,
        serviceAccountName: 'aws-node',
        initContainers: [{ name: 'init', image: IMAGE, command: ['podnet', 'init', '--help'] }],
        containers: [
          {
            name: 'serve',
            ...ipamdContainer,
            env: [
              ...ipamdContainer.env,
              { name: 'AWS_VPC_K8S_CNI_EXTERNALSNAT', valueFrom: { fieldRef: { fieldPath: "metadata.annotations['snat']" } } },
              { name: 'MY_POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
              { name: 'TARGET', value: '3' },
              { name: 'WARM_IP_TARGET', value: '$(TARGET)' },
              { name: 'NODE_OPTIONS', value: '--max-old-space-size=64' },
              { name: 'LD_PRELOAD', value: 'libnothing.so' },
              { name: 'PATH', value: '/nowhere' },
            ],
          },
          { name: 'crash', image: IMAGE, command: ['podnet', 'init', '--no-such-flag'] },
        ],
      },
    },
  });
  const p = await waitPod(
    'kube-system',
    'aws-node-abcde',
    (x) => x.status?.phase === 'Running' && x.status.containerStatuses?.find((c) => c.name === 'serve')?.state?.running !== undefined && (x.status.containerStatuses?.find((c) => c.name === 'crash')?.restartCount ?? 0) >= 1,
    'Running, serve running, crash restarted',
    60_000,
  );
  const init = p.status?.initContainerStatuses?.[0];
  assert.equal(init?.state?.terminated?.exitCode, 0);
  assert.equal(init?.state?.terminated?.reason, 'Completed');
  const crash = p.status?.containerStatuses?.find((c) => c.name === 'crash');
  assert.equal(crash?.lastState?.terminated?.exitCode ?? crash?.state?.terminated?.exitCode, 2);

  // the process's environment: podnet's settings resolved, MY_*, the node's; nothing else the pod asked for
  const first = state.procs().find((x) => /^pod-kube-system-aws-node-abcde-[0-9a-f]{6}-serve$/.test(x.name))!;
  assert.ok(first, 'the serve container has a lab process record');
  const environ = Object.fromEntries(readFileSync(`/proc/${first.pid}/environ`, 'utf8').split('\0').filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
  assert.equal(environ.AWS_VPC_K8S_CNI_EXTERNALSNAT, 'true');
  assert.equal(environ.WARM_IP_TARGET, '3');
  assert.equal(environ.MY_POD_NAME, 'aws-node-abcde');
  assert.equal(environ.PODNET_CNI_SOCKET, node.socket);
  assert.equal(environ.PATH, process.env.PATH);
  for (const name of ['NODE_OPTIONS', 'LD_PRELOAD', 'TARGET']) assert.equal(environ[name], undefined, `${name} is not passed`);
  const events = await core.listNamespacedEvent({ namespace: 'kube-system' });
  assert.ok(events.items.some((e) => e.involvedObject.name === 'aws-node-abcde' && /env NODE_OPTIONS, LD_PRELOAD, PATH left out|env TARGET, NODE_OPTIONS, LD_PRELOAD, PATH left out/.test(e.message ?? '')), 'an Event names what was left out');

  // the containers' kubeconfig: a TokenRequest token of kube-system/aws-node, so its ClusterRole decides
  const kubeconfig = join(node.dir, 'pods', 'kube-system_aws-node-abcde', 'kubeconfig');
  assert.ok(existsSync(kubeconfig));
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const asPodnet = kc.makeApiClient(CoreV1Api);
  assert.equal((await asPodnet.listNode()).items.length, 1);
  await assert.rejects(asPodnet.listNamespacedSecret({ namespace: 'kube-system' }), (err: unknown) => err instanceof ApiException && err.code === 403);
  // a restarting container gets a new token
  const token = kc.getCurrentUser()?.token;
  await eventually('the token renewed at a restart', () => {
    const again = new KubeConfig();
    again.loadFromFile(kubeconfig);
    return again.getCurrentUser()?.token !== token;
  }, 20_000);

  // a kubelet started again (the first one gone) stops what the first one ran and runs the pod's containers anew
  await kubelet.stop();
  kubelet = await startKubelet({ stateDir: state.dir, node: 'priv', log: (l) => logLines.push(l), enterNetns });
  assert.equal(isAlive(first.pid), false);
  await eventually('serve started again', () => {
    const again = state.procs().find((x) => x.name === first.name);
    return again !== undefined && again.pid !== first.pid && isAlive(again.pid);
  }, 30_000);
  const serve = state.procs().find((x) => x.name === first.name)!;
  await core.deleteNamespacedPod({ namespace: 'kube-system', name: 'aws-node-abcde' });
  await eventually('the processes and their records gone', () => !isAlive(serve.pid) && !state.procs().some((x) => x.name.startsWith('pod-kube-system-aws-node-abcde-')), 15_000);
  assert.equal(existsSync(kubeconfig), false);
});

test("a DaemonSet pod replacing one on the node starts its podnet containers only after the old one's have exited", async () => {
  const body = (name: string) => ({ metadata: { name, ownerReferences }, spec: { nodeName: NODE_NAME, hostNetwork: true, serviceAccountName: 'aws-node', containers: [{ name: 'aws-node', ...ipamdContainer }] } });
  await core.createNamespacedPod({ namespace: 'kube-system', body: body('aws-node-old11') });
  await waitPod('kube-system', 'aws-node-old11', (x) => x.status?.containerStatuses?.[0]?.state?.running !== undefined, 'running');
  const old = state.procs().find((x) => x.name.startsWith('pod-kube-system-aws-node-old11-'))!;
  // a stopped process takes the SIGTERM only as the kubelet's SIGKILL 5 s later: the old ipamd is slow to go
  process.kill(old.pid, 'SIGSTOP');
  await core.deleteNamespacedPod({ namespace: 'kube-system', name: 'aws-node-old11' });
  await core.createNamespacedPod({ namespace: 'kube-system', body: body('aws-node-new22') });
  let oldAliveAtStart: boolean | undefined;
  await eventually('the new one started', () => {
    const started = state.procs().some((x) => x.name.startsWith('pod-kube-system-aws-node-new22-'));
    if (started) oldAliveAtStart ??= isAlive(old.pid);
    return started;
  }, 20_000);
  assert.equal(oldAliveAtStart, false);
  const exited = logLines.findIndex((l) => l === 'pod kube-system/aws-node-old11: its podnet containers have exited');
  const started = logLines.findIndex((l) => l.startsWith('pod kube-system/aws-node-new22 container aws-node: podnet ipamd'));
  assert.ok(exited >= 0 && started > exited, `the old pod's containers exited (log line ${exited}) before the new one's started (${started})`);
  await core.deleteNamespacedPod({ namespace: 'kube-system', name: 'aws-node-new22' });
  await eventually('its process gone', () => !state.procs().some((x) => x.name.startsWith('pod-kube-system-aws-node-new22-')), 15_000);
});

test('a container whose process cannot be started is an exit 127 and restarts; the kubelet goes on', async () => {
  await core.createNamespacedPod({
    namespace: 'kube-system',
    body: { metadata: { name: 'nobinary', ownerReferences }, spec: { nodeName: NODE_NAME, hostNetwork: true, serviceAccountName: 'aws-node', containers: [{ name: 'x', image: IMAGE, command: ['podnet', 'init', '--spawn-a-missing-binary'] }] } },
  });
  const p = await waitPod('kube-system', 'nobinary', (x) => (x.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 1, 'restarted');
  assert.equal(p.status?.containerStatuses?.[0]?.lastState?.terminated?.exitCode, 127);
  await core.deleteNamespacedPod({ namespace: 'kube-system', name: 'nobinary' });
});

test("pods deleted while the node had no kubelet: the next kubelet removes their records and kubeconfigs", async () => {
  await kubelet.stop();
  state.writePod({ name: 'ghost', node: 'priv', ns: 'pn-n-priv', hostNetwork: true, ip: null, containerId: '' });
  mkdirSync(join(node.dir, 'pods', 'kube-system_ghost'), { recursive: true });
  writeFileSync(join(node.dir, 'pods', 'kube-system_ghost', 'kubeconfig'), '{}');
  kubelet = await startKubelet({ stateDir: state.dir, node: 'priv', log: (l) => logLines.push(l), enterNetns });
  await eventually('the orphan record and kubeconfig gone', () => state.pod('ghost') === undefined && !existsSync(join(node.dir, 'pods', 'kube-system_ghost')));
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
