/**
 * The control plane's Fargate effects in a running lab (run in the aws namespace, in the host's mount namespace so
 * the namespaces it adds are everyone's): for a pod a profile takes, the node's namespace, its ENI through the EC2
 * API (`[fargate] <namespace>`: the fabric wires it there as eth0), then `podnet lab kubelet --fargate <eni>` in it;
 * when the pod goes, the kubelet (which deletes its Node and exits), the ENI and the namespace. The clusters and their
 * profiles are read from the emulator (`GET /_podnet/eks`) every 2 s.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CreateNetworkInterfaceCommand, DeleteNetworkInterfaceCommand } from '@aws-sdk/client-ec2';
import { CoordinationV1Api, CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { readEksClusters } from '../ec2/index.js';
import { apiCode, describeKubeError, loadKubeConfig } from '../k8s/index.js';
import { PodnetError } from '../lib/index.js';
import type { EksCluster } from '../vpc/index.js';
import { ipBatch, listNetns } from './apply.js';
import type { FargateHook } from './control-plane.js';
import { ec2Client } from './controller.js';
import { kubeletResolverEnv } from './eks-endpoint.js';
import { ec2SearchDomain, nodeResolvConf } from './eks-endpoint-lab.js';
import { fargateEniDescription, fargateNodeName, type FargateAction, type FargateRecord } from './fargate.js';
import { isLabProcess, podnetArgv, startProcess, type LabRecord, type LabState } from './state.js';

/** How long a Fargate node may take to be wired by the fabric before its start counts as failed. */
const WIRE_TIMEOUT_MS = 60_000;
/** A failed start is tried again after this long (the pod stays Pending meanwhile, as on EKS while Fargate retries). */
const RETRY_MS = 10_000;

export const fargateKubeletName = (id: string) => `kubelet-fargate-${id}`;

/** The Fargate records of a lab (state dir fargate/). */
export function fargateRecords(state: LabState): FargateRecord[] {
  const dir = state.path('fargate');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('.json'))
    .sort()
    .flatMap((n) => {
      try {
        return [JSON.parse(readFileSync(state.path('fargate', n), 'utf8')) as FargateRecord];
      } catch {
        return [];
      }
    });
}

export function writeFargateRecord(state: LabState, record: FargateRecord): void {
  mkdirSync(state.path('fargate'), { recursive: true });
  writeFileSync(state.path('fargate', `${record.id}.json`), JSON.stringify(record, null, 2) + '\n');
}

export interface FargateNodes extends FargateHook {
  stop(): Promise<void>;
}

/** The Fargate hook of a running lab's control plane. */
export function labFargate(state: LabState, lab: LabRecord, kc: KubeConfig, log: (line: string) => void): FargateNodes {
  const ec2 = ec2Client(lab);
  const core = kc.makeApiClient(CoreV1Api);
  const leases = kc.makeApiClient(CoordinationV1Api);
  // undefined until the first read: the control plane places no pod before it
  let clusters: EksCluster[] | undefined;
  let stopped = false;
  const busy = new Map<string, Promise<void>>();
  const failedAt = new Map<string, number>();
  /** node id → when its kubelet was last (re)started by `ensure` (a kubelet that keeps dying is retried every RETRY_MS) */
  const restartedAt = new Map<string, number>();
  // the server the Fargate kubelet will call (the endpoint's name when the lab has a cluster)
  const nodeServer = loadKubeConfig({ kubeconfig: lab.nodeKubeconfig ?? lab.vpcKubeconfig }).getCurrentCluster()?.server;
  let lastReadError = '';

  const poll = (async () => {
    while (!stopped) {
      try {
        const next = await readEksClusters(lab.ec2Url);
        const changed = clusters === undefined || JSON.stringify(next) !== JSON.stringify(clusters);
        clusters = next;
        lastReadError = '';
        if (changed) log(`fargate: ${next.length} cluster(s), profiles ${next.flatMap((c) => c.fargateProfiles.map((p) => `${p.name} (${p.status})`)).join(', ') || 'none'}`);
      } catch (err) {
        const message = (err as Error).message;
        if (message !== lastReadError) log(`fargate: reading the EKS clusters: ${message}`);
        lastReadError = message;
      }
      await sleep(2_000);
    }
  })();

  async function start(record: FargateRecord, securityGroupId: string): Promise<void> {
    const what = `fargate node ${record.id} for pod ${record.pod.namespace}/${record.pod.name} (profile ${record.profile})`;
    writeFargateRecord(state, record);
    try {
      await ipBatch([`netns add ${record.ns}`]);
      await ipBatch(['link set lo up'], record.ns);
      const made = await ec2.send(new CreateNetworkInterfaceCommand({ SubnetId: record.subnetId, Groups: [securityGroupId], Description: fargateEniDescription(record.ns) }));
      const eni = made.NetworkInterface;
      if (!eni?.NetworkInterfaceId || !eni.PrivateIpAddress) throw new PodnetError('LAB_FAILED', 'CreateNetworkInterface answered without an ENI id or address', 'see the emulator log');
      Object.assign(record, { eniId: eni.NetworkInterfaceId, ip: eni.PrivateIpAddress, zone: eni.AvailabilityZone ?? `${lab.region}a`, nodeName: fargateNodeName(eni.PrivateIpAddress, lab.region) });
      writeFargateRecord(state, record);
      const deadline = Date.now() + WIRE_TIMEOUT_MS;
      while (!state.readFabric()?.enis.some((e) => e.eniId === record.eniId && e.wired)) {
        if (stopped) throw new PodnetError('LAB_FAILED', 'the control plane is stopping', 'the node is removed; a restarted control plane starts it again');
        if (Date.now() > deadline) throw new PodnetError('LAB_FAILED', `the fabric did not wire ${record.eniId} into ${record.ns} within ${WIRE_TIMEOUT_MS / 1000} s`, 'see the controller log');
        await sleep(200);
      }
      startKubelet(record, eni.VpcId);
      log(`${what}: ${record.eniId} ${record.ip} in ${record.subnetId}, kubelet started (node ${record.nodeName})`);
    } catch (err) {
      log(`${what}: ${(err as Error).message} (tearing down; tried again in ${RETRY_MS / 1000} s)`);
      failedAt.set(record.podUid, Date.now());
      await teardown(record, 'its start failed');
    }
  }

  /**
   * `podnet lab kubelet --fargate` in the node's namespace. Names (the cluster endpoint's) resolve through the VPC's
   * resolver, never the host's: with none known for a server named by hostname, it throws (fail closed; the start is
   * retried).
   */
  function startKubelet(record: FargateRecord, vpcId: string | undefined): void {
    const vpcName = state.readFabric()?.facts.vpcs.find((v) => v.id === vpcId)?.name;
    const dnsAddress = lab.plan.vpcs.find((v) => v.name === vpcName)?.dnsAddress;
    const resolvConf = state.path('fargate', `${record.id}.resolv.conf`);
    if (dnsAddress) writeFileSync(resolvConf, nodeResolvConf({ nameserver: dnsAddress, search: [ec2SearchDomain(lab.region)] }));
    const env = kubeletResolverEnv(nodeServer, dnsAddress ? resolvConf : undefined, `the Fargate kubelet of ${record.id}`);
    startProcess(state, {
      name: fargateKubeletName(record.id),
      ns: record.ns,
      keepHostSys: true,
      argv: [...podnetArgv(), 'lab', 'kubelet', '--state-dir', state.dir, '--fargate', record.eniId!],
      ...(env && { env }),
    });
  }

  /**
   * A node whose pod lives must have its kubelet: after a control plane restart (or a kubelet that died) a complete
   * node (its namespace and ENI there) gets its kubelet again; an incomplete one is torn down, and its pod, still
   * pending, gets a new node at a later pass.
   */
  async function ensure(record: FargateRecord): Promise<void> {
    const proc = state.procs().find((p) => p.name === fargateKubeletName(record.id));
    if (proc && isLabProcess(proc.pid, state.dir)) return;
    if (Date.now() - (restartedAt.get(record.id) ?? 0) < RETRY_MS) return;
    restartedAt.set(record.id, Date.now());
    const complete = record.eniId && record.nodeName && (await listNetns()).includes(record.ns);
    if (!complete) {
      await teardown(record, 'its start was interrupted (no kubelet, no complete node)');
      return;
    }
    try {
      const vpcId = state.readFabric()?.facts.subnets.find((s) => s.id === record.subnetId)?.vpcId;
      startKubelet(record, vpcId);
      log(`fargate node ${record.id} (${record.nodeName}): its kubelet was not running; started again`);
    } catch (err) {
      log(`fargate node ${record.id}: restarting its kubelet: ${(err as Error).message} (tearing down)`);
      await teardown(record, 'its kubelet could not be started again');
    }
  }

  /** Signals a lab process; one already gone (ESRCH) is fine: teardown goes on. */
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(pid, sig);
    } catch {
      // gone already
    }
  };

  /** The kubelet (it exits by itself once its pod is gone), the Node and Lease, the ENI, the namespace, the records. */
  async function teardown(record: FargateRecord, why: string): Promise<void> {
    const proc = state.procs().find((p) => p.name === fargateKubeletName(record.id));
    if (proc) {
      const deadline = Date.now() + 10_000;
      while (isLabProcess(proc.pid, state.dir) && Date.now() < deadline) await sleep(200);
      for (const sig of ['SIGTERM', 'SIGKILL'] as const) {
        if (!isLabProcess(proc.pid, state.dir)) break;
        signal(proc.pid, sig);
        const until = Date.now() + 5_000;
        while (isLabProcess(proc.pid, state.dir) && Date.now() < until) await sleep(100);
      }
      rmSync(state.path('procs', `${proc.name}.json`), { force: true });
    }
    // the echo service a probe started in the namespace (deleting a namespace ends none of its processes)
    const echo = state.procs().find((p) => p.name === `echo-${record.ns}`);
    if (echo) {
      if (isLabProcess(echo.pid, state.dir)) signal(echo.pid, 'SIGKILL');
      rmSync(state.path('procs', `${echo.name}.json`), { force: true });
    }
    if (record.nodeName) {
      for (const remove of [() => core.deleteNode({ name: record.nodeName! }), () => leases.deleteNamespacedLease({ name: record.nodeName!, namespace: 'kube-node-lease' })]) {
        await remove().catch((err: unknown) => {
          if (apiCode(err) !== 404) log(`fargate node ${record.id}: deleting ${record.nodeName}: ${describeKubeError(err)}`);
        });
      }
    }
    if (record.eniId) {
      await ec2.send(new DeleteNetworkInterfaceCommand({ NetworkInterfaceId: record.eniId })).catch((err: unknown) => {
        if ((err as { name?: string }).name !== 'InvalidNetworkInterfaceID.NotFound') log(`fargate node ${record.id}: deleting ${record.eniId}: ${(err as Error).message}`);
      });
    }
    await ipBatch([`netns del ${record.ns}`]).catch(() => undefined);
    const key = record.pod.namespace === 'default' ? record.pod.name : `${record.pod.namespace}-${record.pod.name}`;
    const podRecord = state.pod(key);
    if (podRecord && podRecord.ns === record.ns) rmSync(state.path('pods', `${key}.json`), { force: true });
    rmSync(state.path('fargate', `${record.id}.resolv.conf`), { force: true });
    rmSync(state.path('fargate', `${record.id}.json`), { force: true });
    log(`fargate node ${record.id} (${record.nodeName ?? 'no node yet'}) removed: ${why}`);
  }

  return {
    clusters: () => clusters,
    records: () => fargateRecords(state),
    act(action: Exclude<FargateAction, { kind: 'bind' | 'wait' }>) {
      const { record } = action;
      if (stopped || busy.has(record.id)) return;
      if (action.kind === 'start' && Date.now() - (failedAt.get(record.podUid) ?? 0) < RETRY_MS) return;
      const work = (action.kind === 'start' ? start(record, action.securityGroupId) : action.kind === 'ensure' ? ensure(record) : teardown(record, action.why)).finally(() => busy.delete(record.id));
      busy.set(record.id, work);
    },
    async stop() {
      stopped = true;
      await poll;
      await Promise.all(busy.values());
    },
  };
}
