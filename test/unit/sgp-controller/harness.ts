/**
 * Shared by the sgp-controller tests: a real EC2 emulator and a real API server, both in this process on loopback,
 * deploy/'s CRDs and RBAC applied, the controller running with the podnet-sgp-controller ServiceAccount's token (so a
 * verb deploy/'s ClusterRole lacks fails the test as a 403), instances launched in one subnet with their Node
 * (providerID) and CNINode objects.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  DescribeInstancesCommand, DescribeNetworkInterfacesCommand, DescribeTrunkInterfaceAssociationsCommand, EC2Client, RunInstancesCommand, type _InstanceType,
} from '@aws-sdk/client-ec2';
import { CoreV1Api, CustomObjectsApi, KubeConfig, KubernetesObjectApi, type CoreV1Event, type KubernetesObject, type V1Pod } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { applyTopology, startEc2Server, type Ec2Emulator, type StartEc2ServerOptions } from '../../../src/ec2/index.js';
import { startSgpController, type SgpController, type SgpControllerOptions } from '../../../src/sgp-controller/index.js';
import { parseTopology } from '../../../src/vpc/index.js';
import { eventually, startApiServer, type TestApiServer } from '../k8s/harness.js';

export { eventually, sleep } from '../k8s/harness.js';

export const CNINODES = { group: 'vpcresources.k8s.aws', version: 'v1alpha1', plural: 'cninodes' } as const;
export const SGPS = { group: 'vpcresources.k8s.aws', version: 'v1beta1', plural: 'securitygrouppolicies' } as const;
export const POD_ENI = 'vpc.amazonaws.com/pod-eni';

export interface World {
  emulator: Ec2Emulator;
  ec2: EC2Client;
  api: TestApiServer;
  core: CoreV1Api;
  custom: CustomObjectsApi;
  subnetId: string;
  subnetCidr: string;
  groups: Record<'nodes' | 'web' | 'db', string>;
  /** The controller's kubeconfig (its ServiceAccount's token). */
  controllerKubeconfig: string;
  controllerKc: KubeConfig;
  controller?: SgpController;
  logs: string[];
  /** Launches an instance and registers its Node (providerID aws:///us-west-2a/<id>); with sgp, its CNINode asks for a trunk. */
  addNode(name: string, type: string, o?: { sgp?: boolean }): Promise<string>;
  start(extra?: Partial<SgpControllerOptions>): Promise<SgpController>;
  close(): Promise<void>;
}

export async function startWorld(emulatorOptions: StartEc2ServerOptions = {}): Promise<World> {
  const emulator = await startEc2Server({ throttle: false, log: () => {}, ...emulatorOptions });
  const ec2 = new EC2Client({ endpoint: emulator.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  const subnetCidr = '10.0.1.0/24';
  const applied = await applyTopology(parseTopology({
    vpcs: [{ name: 'main', cidr: '10.0.0.0/16' }],
    subnets: [{ name: 'nodes', vpc: 'main', az: 'us-west-2a', cidr: subnetCidr }],
    securityGroups: ['nodes', 'web', 'db'].map((name) => ({ name, vpc: 'main', description: name })),
  }), ec2);
  const api = await startApiServer();
  const core = api.kc.makeApiClient(CoreV1Api);
  const custom = api.kc.makeApiClient(CustomObjectsApi);
  const objects = KubernetesObjectApi.makeApiClient(api.kc);
  for (const file of ['00-cninode-crd.yaml', '00-securitygrouppolicy-crd.yaml', '30-sgp-controller-rbac.yaml']) {
    for (const doc of parseAllDocuments(readFileSync(join('deploy', file), 'utf8'))) await objects.create(doc.toJS() as KubernetesObject);
  }
  const token = await core.createNamespacedServiceAccountToken({ namespace: 'kube-system', name: 'podnet-sgp-controller', body: { spec: { audiences: [] } } });
  const cluster = api.kc.getCurrentCluster()!;
  const controllerKc = new KubeConfig();
  controllerKc.loadFromOptions({
    clusters: [{ name: 'lab', server: cluster.server, caData: cluster.caData, skipTLSVerify: false }],
    users: [{ name: 'sgp', token: token.status!.token }],
    contexts: [{ name: 'sgp', cluster: 'lab', user: 'sgp' }],
    currentContext: 'sgp',
  });
  const controllerKubeconfig = join(api.dir, 'sgp.kubeconfig');
  writeFileSync(controllerKubeconfig, controllerKc.exportConfig(), { mode: 0o600 });
  const subnetId = applied.ids.subnets.nodes!;
  const groups = { nodes: applied.ids.securityGroups.nodes!, web: applied.ids.securityGroups.web!, db: applied.ids.securityGroups.db! };
  const logs: string[] = [];
  const world: World = {
    emulator, ec2, api, core, custom, subnetId, subnetCidr, groups, controllerKubeconfig, controllerKc, logs,
    async addNode(name, type, o = {}) {
      const run = await ec2.send(new RunInstancesCommand({ ImageId: 'ami-0podnet0000test', InstanceType: type as _InstanceType, SubnetId: subnetId, MinCount: 1, MaxCount: 1, SecurityGroupIds: [groups.nodes] }));
      const instanceId = run.Instances![0]!.InstanceId!;
      await core.createNode({ body: { metadata: { name, labels: { 'node.kubernetes.io/instance-type': type } }, spec: { providerID: `aws:///us-west-2a/${instanceId}` } } });
      if (o.sgp !== false) {
        await custom.createClusterCustomObject({ ...CNINODES, body: { apiVersion: 'vpcresources.k8s.aws/v1alpha1', kind: 'CNINode', metadata: { name }, spec: { features: [{ name: 'SecurityGroupsForPods' }] } } });
      }
      return instanceId;
    },
    async start(extra = {}) {
      world.controller = await startSgpController({
        kc: controllerKc,
        ec2: { endpoint: emulator.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } },
        cluster: 'test',
        webhook: false,
        branchCooldownMs: 500,
        gcIntervalMs: 60_000,
        retry: { baseMs: 50, maxMs: 400 },
        log: (level, line) => logs.push(`${level}: ${line}`),
        ...extra,
      });
      return world.controller;
    },
    async close() {
      await world.controller?.stop();
      ec2.destroy();
      await api.close();
      await emulator.close();
    },
  };
  return world;
}

/** A pod in default asking for a branch ENI itself (as the webhook would make it), scheduled to node. */
export function branchPod(name: string, node: string | undefined, labels: Record<string, string> = { role: 'web' }): V1Pod {
  return {
    metadata: { name, namespace: 'default', labels },
    spec: {
      ...(node && { nodeName: node }),
      containers: [{ name: 'app', image: 'registry.k8s.io/pause:3.9', resources: { limits: { [POD_ENI]: '1' }, requests: { [POD_ENI]: '1' } } }],
    },
  };
}

export async function createPolicy(w: World, name: string, spec: Record<string, unknown>, namespace = 'default'): Promise<void> {
  await w.custom.createNamespacedCustomObject({ ...SGPS, namespace, body: { apiVersion: 'vpcresources.k8s.aws/v1beta1', kind: 'SecurityGroupPolicy', metadata: { name, namespace }, spec } });
}

export async function annotationOf(w: World, name: string, namespace = 'default'): Promise<string | undefined> {
  const pod = await w.core.readNamespacedPod({ name, namespace });
  return pod.metadata?.annotations?.[POD_ENI];
}

export async function eventsOf(w: World, kind: string, name: string, namespace = 'default'): Promise<CoreV1Event[]> {
  const list = await w.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` });
  return list.items;
}

export async function waitForEvent(w: World, kind: string, name: string, match: RegExp, namespace = 'default', timeoutMs = 15_000): Promise<CoreV1Event> {
  let found: CoreV1Event | undefined;
  await eventually(`an Event on ${kind} ${name} matching ${match}`, async () => {
    found = (await eventsOf(w, kind, name, namespace)).find((e) => match.test(`${e.reason}: ${e.message}`));
    return found !== undefined;
  }, timeoutMs);
  return found!;
}

export async function trunkOf(w: World, instanceId: string): Promise<string | undefined> {
  const out = await w.ec2.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return out.Reservations![0]!.Instances![0]!.NetworkInterfaces!.find((n) => n.InterfaceType === 'trunk')?.NetworkInterfaceId;
}

/** The branch ENIs the controller tagged (cluster `test`), as EC2 lists them. */
export async function taggedBranchIds(w: World, cluster = 'test'): Promise<string[]> {
  const out = await w.ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'tag:podnet.io/sgp-controller-cluster', Values: [cluster] }, { Name: 'description', Values: ['aws-k8s-branch-eni'] }] }));
  return out.NetworkInterfaces!.map((e) => e.NetworkInterfaceId!).sort();
}

export async function associations(w: World, trunkId: string) {
  const out = await w.ec2.send(new DescribeTrunkInterfaceAssociationsCommand({ Filters: [{ Name: 'trunk-interface-association.trunk-interface-id', Values: [trunkId] }] }));
  return out.InterfaceAssociations!;
}
