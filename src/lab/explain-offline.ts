/**
 * A lab scenario explained with no lab (`podnet explain --scenario FILE`): the scenario's VPC is built in an
 * in-memory EC2 state through the same topology applier `lab up` uses (EC2's own action handlers, in process, no
 * socket), its instances launched, and each node's ipamd simulated in process — the real pool manager and executor
 * over the in-process cloud on a fake clock, with the node's env (warm pool, prefix delegation, custom networking and
 * its ENIConfig) — so every pod gets an address as `lab up` would give it, the same on every run. Security groups for
 * pods: what `podnet sgp-controller` does for the scenario's securityGroupPolicies is done with its own EC2 calls and
 * decisions — a trunk on each ENABLE_POD_ENI node that can trunk, a branch ENI per selected pod, associated on the
 * lowest free VLAN — so a branch pod's address is its branch's. The World it builds says where its addresses came
 * from: `simulated`.
 */
import { loadConfig } from '../config/index.js';
import { applyTopology, describeFacts, eksClusters, inProcessEc2Client, inProcessEksClient, inProcessCloud, openEc2State, type Ec2State, type EniMapping } from '../ec2/index.js';
import { clusterEndpoints, nodeSettingsOf, type AttachedEni, type Endpoint, type NodeView, type World } from '../explain/index.js';
import { Datastore, FakeClock, PoolExecutor, PoolManager, hasTrunkRoom, poolConfigFrom, poolLimitsFrom, type Cloud } from '../ipam/index.js';
import { selectEniConfig } from '../ipamd/index.js';
import { PodnetError } from '../lib/index.js';
import { lookupInstanceType, maxPods, supportsPrefixDelegation, trunkLimits } from '../limits/index.js';
// the controller's pure decisions and EC2 calls themselves (not its index, which loads the webhook server's modules too)
import { associateBranch, createBranch, createTrunk, describeNodeInstance, freeVlanId, matchingGroups, SGP_FEATURE, trunkDeviceIndex, type SecurityGroupPolicy } from '../sgp-controller/index.js';
import { topologyRegion } from '../vpc/index.js';
import type { EC2Client } from '@aws-sdk/client-ec2';
import { securityGroupPolicyObjects } from './cluster.js';
import { labModel } from './render.js';
import { LAB_POD_LABEL, loadScenario, type Scenario } from './scenario.js';

/** The fake clock starts at a fixed instant, so ENI creation times (and so every decision) are the same each run. */
const START_MS = Date.UTC(2025, 0, 1);
/** Pool iterations one settle may take; a pool that neither settles nor gives a pod its address by then is stuck. */
const MAX_ITERATIONS_PER_SETTLE = 500;
/** As `lab pod add --eni`: how many addresses a pod may be offered before it lands behind the ENI it asks for. */
const MAX_ENI_ATTEMPTS = 64;
/** As the lab's CNI ADD: retried every 500 ms for 30 s while ipamd has no free address. */
const ADD_RETRY_EVERY_MS = 500;
const ADD_RETRY_FOR_MS = 30_000;

/** What `podnet explain --scenario` asks of a scenario file: its World, and the port a tcp/udp question means by default. */
export async function scenarioExplainSource(path: string): Promise<{ world: World; defaultPort: number }> {
  let scenario: Scenario;
  try {
    scenario = await loadScenario(path);
  } catch (err) {
    // a scenario that does not validate is the user's input, named field by field: a usage error (exit 2)
    if (err instanceof PodnetError && err.code === 'CONFIG_INVALID') throw new PodnetError('USAGE', err.message, err.hint, { cause: err });
    if (err instanceof PodnetError && err.code === 'FILE_UNREADABLE') throw new PodnetError(err.code, err.message, 'check the path; examples/lab.yaml is a scenario to start from (docs/lab.md describes the file)', { cause: err });
    throw err;
  }
  return { world: await scenarioWorld(scenario), defaultPort: scenario.lab.echoPort };
}

/** The World of a validated scenario, built in process (see the file comment). */
export async function scenarioWorld(scenario: Scenario): Promise<World> {
  const clock = new FakeClock(START_MS);
  const region = topologyRegion(scenario);
  const state = openEc2State({ region, now: () => clock.now() });
  try {
    const client = await inProcessEc2Client(state, region);
    // the scenario's cluster through the in-process EKS API (no delays: its updates are done when asked)
    const eks = scenario.cluster ? await inProcessEksClient(state, region) : undefined;
    let facts: Awaited<ReturnType<typeof describeFacts>>;
    let instanceIds: Record<string, string>;
    const podAddresses = new Map<string, string>();
    try {
      instanceIds = (await applyTopology(scenario, client, eks ? { eks } : {})).ids.instances;
      facts = await describeFacts(client);
      const cloud = inProcessCloud(state);
      const subnetIds = Object.fromEntries(facts.subnets.map((s) => [s.name, s.id]));
      const groupIds = (names: string[]) => names.map((g) => facts.securityGroups.find((x) => x.name === g)?.id ?? g);
      const eniConfigs = scenario.eniConfigs.map((c) => ({ name: c.name, subnet: subnetIds[c.subnet] ?? c.subnet, securityGroups: groupIds(c.securityGroups) }));
      const branchGroups = branchPodGroups(scenario, securityGroupPolicyObjects(scenario, facts) as SecurityGroupPolicy[]);

      for (const node of scenario.nodes) {
        // a branch pod takes no address of the node's pool: its branch ENI's (below)
        const pods = scenario.pods.filter((p) => p.node === node.instance && !p.hostNetwork && !branchGroups.has(p.name));
        const type = scenario.instances.find((i) => i.name === node.instance)!.type;
        const addresses = await simulateNodePods({ cloud, clock, instanceId: instanceIds[node.instance]!, instanceType: type, node, eniConfigs, pods });
        for (const [pod, address] of addresses) podAddresses.set(pod, address);
      }
      for (const [pod, address] of await simulateBranchPods(client, scenario, instanceIds, branchGroups, clock)) podAddresses.set(pod, address);
    } finally {
      client.destroy();
      eks?.destroy();
    }

    const enis = state.mappingSnapshot().map(attachedEni);
    const primaryIp = (instanceId: string) => enis.find((e) => e.instanceId === instanceId && e.deviceIndex === 0)?.privateIps[0];

    const nodes: NodeView[] = scenario.nodes.map((n) => ({
      name: n.instance,
      instanceId: instanceIds[n.instance]!,
      settings: nodeSettingsOf(loadConfig(n.env).config),
      // what a node of today's EKS AMIs has: nf_tables iptables with --random-fully, the primary ENI as eth0
      connmarkBackend: 'nftables',
      primaryInterface: 'eth0',
      randomFullySupported: true,
    }));
    const endpoints: Endpoint[] = [
      ...scenario.internetHosts.map((h): Endpoint => ({ name: h.name, kind: 'internet', address: h.address })),
      ...scenario.onPremHosts.map((h): Endpoint => ({ name: h.name, kind: 'on-premises', address: h.address })),
      ...scenario.pods.flatMap((p): Endpoint[] => {
        const address = p.hostNetwork ? primaryIp(instanceIds[p.node]!) : podAddresses.get(p.name);
        return address ? [{ name: p.name, kind: 'pod', address, node: p.node, hostNetwork: p.hostNetwork, simulated: true }] : [];
      }),
      ...[...scenario.nodes.map((n) => ({ name: n.instance, kind: 'node' as const })), ...scenario.hosts.map((h) => ({ name: h.instance, kind: 'host' as const }))].flatMap((i): Endpoint[] => {
        const address = primaryIp(instanceIds[i.name]!);
        return address ? [{ name: i.name, kind: i.kind, address, simulated: true }] : [];
      }),
    ];
    const instanceNames = Object.fromEntries(Object.entries(instanceIds).map(([name, id]) => [id, name]));
    // the scenario's EKS cluster as the in-process EKS API created it (its endpoint is `cluster-endpoint`)
    const clusters = eksClusters(state);
    endpoints.push(...clusterEndpoints(clusters).map((e) => ({ ...e, simulated: true })));
    // the VPC model as the lab's fabric has it (the on-premises networks named by the scenario), with the attached ENIs
    return { source: 'scenario', model: { ...labModel(scenario, facts, enis), ...(clusters.length > 0 ? { eksClusters: clusters } : {}), enis }, nodes, endpoints, instanceNames };
  } finally {
    state.close();
  }
}

function attachedEni(e: EniMapping): AttachedEni {
  return {
    eniId: e.eniId, vpcId: e.vpcId, subnetId: e.subnetId, privateIps: [...e.privateIps], ipv4Prefixes: [...e.ipv4Prefixes],
    publicIps: { ...e.publicIps }, groupIds: [...e.groupIds], instanceId: e.instanceId, deviceIndex: e.deviceIndex,
    ...(e.trunk ? { trunk: { ...e.trunk } } : {}),
    ...(e.interfaceType ? { interfaceType: e.interfaceType } : {}),
  };
}

/**
 * The scenario's pods a SecurityGroupPolicy selects (the webhook's and the controller's matching: the pod's labels as
 * the lab sets them, the default service account, which has no labels), with the group ids their branch gets.
 */
function branchPodGroups(scenario: Scenario, policies: readonly SecurityGroupPolicy[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const p of scenario.pods) {
    if (p.hostNetwork) continue;
    const groups = matchingGroups(policies, { namespace: 'default', labels: { ...p.labels, [LAB_POD_LABEL]: p.name } }, {});
    if (groups.length > 0) out.set(p.name, groups);
  }
  return out;
}

/**
 * What `podnet sgp-controller` does for the branch pods, with its own EC2 calls and decisions, after the nodes' pools
 * settled: a trunk on each node whose ipamd advertises the feature (ENABLE_POD_ENI, and room for a trunk as ipamd
 * counts it: hasTrunkRoom) at the device index the controller picks (trunkDeviceIndex), then per pod, in the scenario's
 * order, a branch ENI in the node's subnet with the policy's groups on the lowest free VLAN, while the type's branch
 * limit lasts; a pod past it gets no address (it would stay Pending). The scenario's validation already refuses a
 * selected pod on a node that cannot have branch ENIs; a selected pod on a node whose pool left no slot for a trunk is
 * refused here, as `lab up` would fail to run it. Returns pod name → its branch's address.
 */
async function simulateBranchPods(client: EC2Client, scenario: Scenario, instanceIds: Record<string, string>, branchGroups: Map<string, string[]>, clock: FakeClock): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const node of scenario.nodes) {
    const selected = scenario.pods.filter((p) => p.node === node.instance && branchGroups.has(p.name));
    const type = scenario.instances.find((i) => i.name === node.instance)!.type;
    const limits = trunkLimits(type);
    const config = loadConfig(node.env).config;
    if (!config.enablePodEni || !limits.trunkingCompatible) continue;
    const instance = await describeNodeInstance(client, instanceIds[node.instance]!);
    const instanceLimits = lookupInstanceType(type);
    const noTrunk = (why: string) =>
      new PodnetError('FAILED', `simulating node ${node.instance}: pod ${selected[0]!.name} gets no branch ENI: ${why}`, 'leave an ENI slot for the trunk: fewer pods on the node, a higher MAX_ENI, or a type with more ENIs; `podnet lab up` would leave the pod Pending');
    const room = hasTrunkRoom(poolLimitsFrom(instanceLimits, poolConfigFrom(config), { maxPods: 0 }), { enis: instance.usedDeviceIndexes.size, hasTrunk: instance.trunkId !== undefined });
    if (!room) {
      if (selected.length > 0) throw noTrunk(`its ${instance.usedDeviceIndexes.size} ENI${instance.usedDeviceIndexes.size === 1 ? '' : 's'} leave${instance.usedDeviceIndexes.size === 1 ? 's' : ''} no slot for a trunk, so its ipamd does not advertise ${SGP_FEATURE}`);
      continue;
    }
    const deviceIndex = trunkDeviceIndex(instance.usedDeviceIndexes, instanceLimits);
    if (deviceIndex === undefined) {
      if (selected.length > 0) throw noTrunk(`every device index of ${type}'s default network card is in use`);
      continue;
    }
    const trunkId = await createTrunk(client, instance, deviceIndex, scenario.cluster?.name ?? 'lab');
    const vlans = new Set<number>();
    for (const pod of selected) {
      const vlanId = freeVlanId(vlans);
      if (vlanId === undefined || vlans.size >= limits.branchInterfaces) break;
      vlans.add(vlanId);
      const branch = await createBranch(client, { subnetId: instance.subnetId, groups: branchGroups.get(pod.name)!, vlanId, trunkId, instanceId: instance.instanceId, cluster: scenario.cluster?.name ?? 'lab', now: new Date(clock.now()) });
      await associateBranch(client, trunkId, branch.eniId, vlanId);
      out.set(pod.name, branch.privateIp);
    }
  }
  return out;
}

interface NodeSimulation {
  cloud: Cloud;
  clock: FakeClock;
  instanceId: string;
  instanceType: string;
  node: Scenario['nodes'][number];
  /** the scenario's ENIConfigs with subnet and group ids */
  eniConfigs: Array<{ name: string; subnet: string; securityGroups: string[] }>;
  /** the node's pods that get an address of their own, in the scenario's order */
  pods: Scenario['pods'];
}

/**
 * One node's ipamd, simulated: node discovery as ipamd's init does it (the primary ENI, and with custom networking
 * the node's ENIConfig for new ENIs, spec §5.1), the pool settled, then each pod added as `lab up` adds it — the first
 * free address, or with `eni: N` offered addresses until one is behind device N, each refused one given back into
 * cooldown as the lab's CNI DEL does. Returns pod name → address.
 */
async function simulateNodePods(o: NodeSimulation): Promise<Map<string, string>> {
  const { cloud, clock } = o;
  const loaded = loadConfig({ ENABLE_IPv4: 'true', ...o.node.env });
  const limits = lookupInstanceType(o.instanceType);
  const requested = poolConfigFrom(loaded.config);
  // in IPv4 upstream falls back to secondary IPs when the instance cannot do prefix delegation (§1)
  const config = { ...requested, prefixDelegation: requested.prefixDelegation && supportsPrefixDelegation(limits) };
  const podLimit = maxPods(o.instanceType, {
    prefixDelegation: config.prefixDelegation, customNetworking: config.customNetworking, securityGroupsForPods: config.podEni,
    ...(config.maxEni >= 1 ? { maxEni: config.maxEni } : {}),
  }).maxPods;

  const instance = await cloud.describeInstance(o.instanceId);
  const primaryAttachment = instance.enis.find((e) => e.deviceIndex === 0)!;
  const primary = (await cloud.describeEnis([primaryAttachment.eniId]))[0]!;
  const subnetCidr = async (id: string) => (await cloud.describeSubnets([id]))[0]!.cidr;
  const primarySubnetCidr = await subnetCidr(primary.subnetId);
  let placement = { subnetId: primary.subnetId, subnetCidr: primarySubnetCidr, securityGroupIds: [...primary.securityGroupIds].sort() };
  if (config.customNetworking) {
    const chosen = selectEniConfig(
      { node: { name: o.node.instance, labels: o.node.labels, annotations: {} }, eniConfigs: o.eniConfigs },
      { annotation: loaded.config.eniConfigAnnotationDef, label: loaded.config.eniConfigLabelDef },
    );
    placement = { subnetId: chosen.subnet, subnetCidr: await subnetCidr(chosen.subnet), securityGroupIds: chosen.securityGroups.length > 0 ? chosen.securityGroups : placement.securityGroupIds };
  }

  const datastore = new Datastore({ prefixDelegation: config.prefixDelegation, ipCooldownMs: config.ipCooldownMs });
  datastore.addEni({
    id: primary.id, deviceNumber: 0, networkCard: 0, primary: true, trunk: false, efa: false, excluded: false,
    subnetId: primary.subnetId, subnetCidr: primarySubnetCidr, primaryIp: primary.primaryIpv4, createdAt: clock.now(),
  });
  const executor = new PoolExecutor({
    cloud, datastore, clock, prefixDelegation: config.prefixDelegation,
    node: {
      instanceId: o.instanceId, networkCard: 0, ...placement,
      ...(loaded.config.clusterName ? { clusterName: loaded.config.clusterName } : {}),
      additionalTags: loaded.config.additionalEniTags,
    },
  });
  const manager = new PoolManager({ datastore, executor, config, limits: poolLimitsFrom(limits, config, { maxPods: podLimit }), clock });

  /**
   * Pool iterations while they change something. `untilIdle` also waits out the pool's timers (retries, an ENI's
   * minimum age) until none is pending: the node at rest before its first pod. Between pods the lab's ADDs follow each
   * other within seconds, so there the clock only moves by the pool's interval.
   */
  const settle = async (untilIdle: boolean) => {
    for (let i = 0; i < MAX_ITERATIONS_PER_SETTLE; i++) {
      const r = await manager.runIteration();
      const failed = r.outcomes.find((x) => x.error);
      if (failed?.error) throw failed.error;
      if (r.changed) clock.advance(config.timers.poolIntervalMs);
      else if (untilIdle && r.retryAt !== undefined) clock.advanceTo(r.retryAt);
      else return;
    }
  };
  const noAddress = (pod: string, why: string) =>
    new PodnetError('FAILED', `simulating node ${o.node.instance}: pod ${pod} gets no address: ${why}`, 'the scenario asks more of the node than its pool can give; `podnet lab up` would fail the same way');

  await settle(true);
  const out = new Map<string, string>();
  for (const pod of o.pods) {
    let assigned;
    let offered = 0;
    const deadline = clock.now() + ADD_RETRY_FOR_MS;
    for (let attempt = 0; !assigned; attempt++) {
      const key = { networkName: 'aws-cni', containerId: `${pod.name}-c${attempt}`, ifName: 'eth0' };
      const got = datastore.assign(key, {}, clock.now());
      if (!got) {
        // none free: the ADD is retried while the pool grows or an address leaves cooldown, as the lab retries it
        if (clock.now() >= deadline) throw noAddress(pod.name, manager.whyNoAddress().message);
        clock.advance(ADD_RETRY_EVERY_MS);
        await settle(false);
        continue;
      }
      // the pool runs while the pod holds its address (the lab waits for the fabric to route it)
      await settle(false);
      if (pod.eni === undefined || got.deviceNumber === pod.eni) assigned = got;
      else {
        if (++offered >= MAX_ENI_ATTEMPTS) throw noAddress(pod.name, `no address behind ENI ${pod.eni} after ${MAX_ENI_ATTEMPTS} tries`);
        // behind another ENI: given back at once (CNI DEL), into cooldown, so the next ADD gets another address
        datastore.unassign(key, clock.now());
        await settle(false);
      }
    }
    out.set(pod.name, assigned.address);
    await settle(false);
  }
  return out;
}
