/**
 * One node's ipamd around the core (datastore, pure pool decisions, executor, manager). Node init (spec §4.14)
 * builds the datastore from IMDS and EC2 and restores the checkpoint; then one loop on the injectable clock runs
 * the pool (§4.4), reconcile (§4.13) and leaked-ENI collection (§7.5). ENI set-up (eni-setup.ts), the pod side
 * (pod-addresses.ts), the reconcile diff (reconcile.ts) and subnet choice (eni-subnet.ts) live beside it.
 * Only network card 0 is managed (ENABLE_MULTI_NIC is not supported yet) and only IPv4 pools.
 */
import { Datastore, type Cloud, type Clock, type IpamKey, type IpamMetadata, PoolExecutor, type ActionOutcome, type NodeIdentity, PoolManager, hasTrunkRoom, ipStats, isInsufficientCidrCode, isPoolTooLow, poolConfigFrom, poolLimitsFrom, type PoolConfig, type PoolLimits } from '../ipam/index.js';
import type { PodnetConfig } from '../config/index.js';
import { PodnetError } from '../lib/index.js';
import { lookupInstanceType, maxPods } from '../limits/index.js';
import { nodeEniConfigName, selectEniConfig, type EniConfigFile } from './eni-config.js';
import { describeEnis, EniSetup, type EniSetupRetry } from './eni-setup.js';
import { EniSubnetChoice } from './eni-subnet.js';
import type { IpamdKube } from './kube.js';
import { SchedulableGate } from './kube-gate.js';
import { wantedFeatures } from './kube-objects.js';
import type { ImdsClient, ImdsInstanceFacts } from './imds.js';
import { LeakedEniSchedule } from './leaked-eni-schedule.js';
import { describeError, type Log } from './log.js';
import type { IpamdMetrics } from './metrics.js';
import type { NodeDataplane } from './node-dataplane.js';
import { poolGauges, poolSummary } from './pool-gauges.js';
import { notReady, PodAddresses, type NodeState, type PodAddress } from './pod-addresses.js';
import { diffReconcile, enisToDescribe, isManagedEni, type ReconcileAction, type ReconcileInput } from './reconcile.js';

export interface IpamdNodeOptions {
  config: PodnetConfig;
  cloud: Cloud;
  imds: ImdsClient;
  metrics: IpamdMetrics;
  clock: Clock;
  dataplane: NodeDataplane;
  /** ENIConfigs and the node object (labels, annotations, capacity), standing in for the API server. */
  eniConfigFile?: EniConfigFile;
  /** The Kubernetes side: the Node and ENIConfigs from the API server (instead of the file), CNINode features. */
  kube?: IpamdKube;
  leakedEniIntervalMs: number;
  leakedEniMinAgeMs: number;
  eniSetupRetry: EniSetupRetry;
  log: Log;
}

export class IpamdNode {
  readonly config: PodnetConfig;
  readonly poolConfig: PoolConfig;
  readonly datastore: Datastore;
  /** Problems found at start that did not stop it (a corrupt checkpoint), for the log and introspection. */
  readonly startupProblems: PodnetError[] = [];
  private readonly state: NodeState = { ready: false, stopping: false, manager: undefined, vpcCidrs: [] };
  private readonly pods: PodAddresses;
  private facts: ImdsInstanceFacts | undefined;
  private poolLimits: PoolLimits | undefined;
  private identity: { -readonly [K in keyof NodeIdentity]: NodeIdentity[K] } | undefined;
  private vpcId = '';
  /** Built by init once the instance is known. */
  private enis: EniSetup | undefined;
  private subnets: EniSubnetChoice | undefined;
  /** Aborted by stop(): cuts every pause short (the loop's and the ENI setups'). */
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  /** CIDRs released to EC2 and when: reconcile ignores them for a while if IMDS still lists them (§4.12). */
  private readonly released = new Map<string, number>();
  private readonly leakedEnis: LeakedEniSchedule;
  /** The ENIConfig new ENIs use now (custom networking), to act only when the node's choice changes. */
  private chosenEniConfig = '';

  constructor(private readonly o: IpamdNodeOptions) {
    this.config = o.config;
    this.poolConfig = poolConfigFrom(o.config);
    this.datastore = new Datastore({ prefixDelegation: this.poolConfig.prefixDelegation, ipCooldownMs: this.poolConfig.ipCooldownMs });
    this.pods = new PodAddresses({ ...o, datastore: this.datastore, node: this.state, changed: () => this.updateGauges() });
    this.leakedEnis = new LeakedEniSchedule({ ...o, intervalMs: o.leakedEniIntervalMs, minAgeMs: o.leakedEniMinAgeMs, clusterName: o.config.clusterName });
  }

  get ready(): boolean {
    return this.state.ready;
  }

  private get provisioning(): boolean {
    return !this.config.disableNetworkResourceProvisioning;
  }

  /** This node's ENIConfig name (spec §5.1), as /v1/eni-configs reports it. */
  eniConfigName(): string {
    const node = this.nodeObjects()?.node ?? { name: '', labels: {}, annotations: {} };
    return nodeEniConfigName(node, this.eniConfigKeys());
  }

  private eniConfigKeys(): { annotation: string; label: string } {
    return { annotation: this.config.eniConfigAnnotationDef, label: this.config.eniConfigLabelDef };
  }

  /** The Node and ENIConfigs: from the API server with Kubernetes, else from PODNET_ENI_CONFIG_FILE. */
  private nodeObjects(): EniConfigFile | undefined {
    return this.o.kube ? this.o.kube.objects() : this.o.eniConfigFile;
  }

  /**
   * The Node or an ENIConfig changed (Kubernetes): with custom networking the next ENI goes where the node's
   * ENIConfig says now, as upstream reads MyENIConfig for each new ENI; ENIs already attached stay.
   */
  async nodeObjectsChanged(): Promise<void> {
    const objects = this.nodeObjects();
    if (!this.config.customNetworkCfg || !this.identity || !this.subnets || !objects) return;
    let chosen;
    try {
      chosen = selectEniConfig(objects, this.eniConfigKeys());
    } catch (err) {
      this.o.log('warn', `custom networking: ${describeError(err)}; new ENIs keep the last ENIConfig's subnet until it exists`);
      return;
    }
    const key = JSON.stringify(chosen);
    if (key === this.chosenEniConfig) return;
    await this.subnets.choose(this.identity, { refresh: false });
    this.chosenEniConfig = key;
    this.o.log('info', `custom networking: new ENIs use ENIConfig ${chosen.name} (${chosen.subnet}${chosen.securityGroups.length ? `, ${chosen.securityGroups.join(', ')}` : ''})`);
  }

  /** The SGP trunk ENI and its MAC (from IMDS) once ipamd has found it attached (spec §5.2); undefined before. */
  async trunkEni(): Promise<{ eniId: string; mac: string | undefined } | undefined> {
    const trunk = this.datastore.eniInfos().find((e) => e.trunk);
    if (!trunk) return undefined;
    const enis = await this.o.imds.attachedEnis().catch(() => []);
    return { eniId: trunk.id, mac: enis.find((e) => e.eniId === trunk.id)?.mac };
  }

  /** CNINode features (spec §4.14 step 9, §5.2): SecurityGroupsForPods once the trunk has room; CustomNetworking. */
  private async advertiseFeatures(): Promise<void> {
    const { kube } = this.o;
    if (!kube || !this.config.enablePodEni || !this.poolLimits) return;
    const limits = this.poolLimits;
    const enis = this.datastore.snapshot(this.o.clock.now()).enis;
    const trunkRoom = hasTrunkRoom(limits, { enis: enis.length, hasTrunk: enis.some((e) => e.trunk) });
    await kube.advertise(wantedFeatures({ enablePodEni: true, trunkRoom, customNetworking: this.config.customNetworkCfg, eniConfigName: this.eniConfigName() }));
  }

  /** nodeInit (spec §4.14). */
  async init(): Promise<void> {
    const { config, cloud, imds, clock, log } = this.o;
    if (config.enableIPv6) {
      throw new PodnetError('CONFIG_INVALID', 'ENABLE_IPv6=true: podnet ipamd manages IPv4 pools only', 'run with ENABLE_IPv4=true and ENABLE_IPv6=false');
    }
    const facts = await imds.instanceFacts();
    this.facts = facts;
    const instanceLimits = lookupInstanceType(facts.instanceType);
    const attached = await imds.attachedEnis();
    const primary = attached.find((e) => e.mac === facts.primaryMac);
    if (!primary) {
      throw new PodnetError('EC2_FAILED', `IMDS lists no ENI with the instance's MAC ${facts.primaryMac}`, 'check the IMDS endpoint serves this instance');
    }
    this.state.vpcCidrs = primary.vpcIpv4Cidrs;
    this.vpcId = primary.vpcId;
    await this.applyHostRules();

    const described = await describeEnis(cloud, config.enableImdsOnlyMode ? [] : attached.map((e) => e.eniId));
    const subnets = new EniSubnetChoice({ config, cloud, eniConfigFile: () => this.nodeObjects(), log, vpcId: primary.vpcId, availabilityZone: facts.availabilityZone, nodeSubnetId: primary.subnetId });
    this.subnets = subnets;
    if (config.enableSubnetDiscovery && !config.enableImdsOnlyMode) await subnets.refresh();
    const enis = new EniSetup({ ...this.o, retry: this.o.eniSetupRetry, datastore: this.datastore, instance: facts, subnet: (id) => subnets.subnet(id), stopping: this.stopping.signal });
    this.enis = enis;
    const card0 = attached.filter((e) => e.networkCard === 0);
    const managed = card0.filter((e) => isManagedEni(e, described.get(e.eniId), facts, config.manageUntaggedEni));
    for (const eni of managed) await enis.adopt(eni, described.get(eni.eniId), this.o.eniSetupRetry.setupAttempts);

    const nodeMaxPods = this.nodeObjects()?.node.capacityPods ?? maxPods(facts.instanceType).maxPods;
    const limits = poolLimitsFrom(instanceLimits, this.poolConfig, { maxPods: nodeMaxPods, unmanagedEnis: card0.length - managed.length });
    this.poolLimits = limits;
    this.identity = { instanceId: facts.instanceId, networkCard: 0, subnetId: primary.subnetId, subnetCidr: primary.subnetCidr,
      securityGroupIds: [...primary.securityGroupIds].sort(), clusterName: config.clusterName, additionalTags: config.additionalEniTags };
    await subnets.choose(this.identity, { refresh: false });
    const objects = this.nodeObjects();
    if (config.customNetworkCfg && objects) this.chosenEniConfig = JSON.stringify(selectEniConfig(objects, this.eniConfigKeys()));
    const executorOptions = { cloud, datastore: this.datastore, node: this.identity, clock, prefixDelegation: this.poolConfig.prefixDelegation };
    // AWS_MANAGE_ENIS_NON_SCHEDULABLE: only the API server knows the node is unschedulable
    const kube = this.o.kube;
    const executor = kube && !config.manageEnisNonSchedulable ? new SchedulableGate(executorOptions, () => kube.unschedulable()) : new PoolExecutor(executorOptions);
    this.state.manager = new PoolManager({ datastore: this.datastore, executor, config: this.poolConfig, limits, clock });

    const problem = await this.pods.restore();
    if (problem) this.startupProblems.push(problem);
    if (this.provisioning) await this.freeLeftoverModeCidrs(executor);
    this.updateGauges();
    // step 9, before pre-scaling takes the free ENI slot the trunk needs
    if (this.provisioning) await this.guard('tryEnableSecurityGroupsForPods', () => this.advertiseFeatures());
    // handlePreScaling (step 10): one increase before pods are admitted
    if (this.provisioning) await this.runPoolIteration();
    if (config.customNetworkCfg && ipStats(this.datastore.snapshot(clock.now())).totalIps === 0) {
      throw new PodnetError('ENI_LIMIT', 'custom networking is on and no ENI could be attached for pods (the primary ENI is never used for them)',
        'check the ENIConfig subnet has free addresses and the instance has a free ENI slot; the ipamd log has the EC2 error');
    }
    this.state.ready = true;
    log('info', `node ${facts.instanceId} (${facts.instanceType}, ${facts.availabilityZone}) ready: ${this.summary()}`);
  }

  /** Starts the pool loop: half an interval → pool iteration → half an interval → reconcile when due (§4.4). */
  start(): void {
    this.loop ??= this.runLoop();
  }

  /** SIGTERM: no more attaching or detaching, the loop ends after its current step, the checkpoint is written. */
  async stop(): Promise<void> {
    this.state.stopping = true;
    this.stopping.abort();
    await this.loop;
    await this.enis?.settled();
    if (this.facts) await this.pods.checkpoint.request();
    await this.o.dataplane.close();
  }

  // ---- the pod side (AddNetwork / DelNetwork, spec §6.2): pod-addresses.ts ----

  assignNow(key: IpamKey, metadata: IpamMetadata): { address: PodAddress; saved: Promise<void>; heldBefore: boolean } {
    return this.pods.assignNow(key, metadata);
  }

  release(key: IpamKey, reason?: string): Promise<PodAddress | undefined> {
    return this.pods.release(key, reason);
  }

  lookup(key: IpamKey): PodAddress | undefined {
    return this.pods.lookup(key);
  }

  requireReady(): void {
    this.pods.requireReady();
  }

  // ---- the loop ----

  private async runLoop(): Promise<void> {
    const half = this.poolConfig.timers.poolIntervalMs / 2;
    while (!this.state.stopping) {
      if (!(await this.pause(half))) break;
      if (this.provisioning) await this.guard('tryEnableSecurityGroupsForPods', () => this.advertiseFeatures());
      if (this.provisioning) await this.guard('updateIPPoolIfRequired', () => this.runPoolIteration());
      if (!(await this.pause(half))) break;
      const sinceAction = this.o.clock.now() - (this.state.manager?.lastPoolActionAt ?? -Infinity);
      if (sinceAction > this.poolConfig.timers.reconcileIntervalMs) await this.guard('nodeIPPoolReconcile', () => this.reconcile());
      if (this.leakedEniGcEnabled() && this.leakedEnis.due()) await this.guard('cleanUpLeakedENIs', () => this.leakedEnis.run(this.vpcId));
    }
  }

  /** Sleeps on the node's clock; false when stop() cut it short. */
  private async pause(ms: number): Promise<boolean> {
    if (this.state.stopping) return false;
    await this.o.clock.sleep(ms, this.stopping.signal);
    return !this.state.stopping;
  }

  private async guard(fn: string, step: () => Promise<unknown>): Promise<void> {
    try {
      await step();
    } catch (err) {
      this.o.metrics.ipamdErrors.inc({ fn });
      this.o.log('error', `${fn}: ${describeError(err)}`);
    }
  }

  /** One updateIPPoolIfRequired (§4.4) through the core's manager, then what the daemon owes the results. */
  private async runPoolIteration(): Promise<void> {
    const manager = this.requireManager();
    if (this.state.stopping) return;
    const increasing = isPoolTooLow(ipStats(this.datastore.snapshot(this.o.clock.now())), this.poolConfig, this.poolLimits!);
    const result = await this.o.metrics.track(increasing ? 'increaseDatastorePool' : 'decreaseDatastorePool', () => manager.runIteration());
    for (const outcome of result.outcomes) await this.afterAction(outcome);
    if (result.changed) await this.pods.checkpoint.request();
    this.updateGauges();
  }

  private async afterAction(o: ActionOutcome): Promise<void> {
    const { log, metrics, clock } = this.o;
    if (o.error) {
      metrics.ipamdErrors.inc({ fn: o.action.kind === 'unassign' || o.action.kind === 'free-eni' ? 'decreaseDatastorePool' : 'increaseDatastorePool' });
      log(o.failure && isInsufficientCidrCode(o.failure.code) ? 'warn' : 'error', `${o.action.kind}: ${o.error.message}`);
      // with subnet discovery a full subnet sends the next ENI elsewhere (§4.15, §5.5)
      if (o.failure && isInsufficientCidrCode(o.failure.code) && o.action.kind === 'create-eni') await this.subnets!.choose(this.identity!, { refresh: true });
    }
    if (o.action.kind === 'unassign') for (const c of o.action.cidrs) this.released.set(c, clock.now());
    if (o.createdEniId) {
      this.enis!.setUpCreated(o.createdEniId);
      log('info', `attached ${o.createdEniId} at device ${this.datastore.eniInfo(o.createdEniId)?.deviceNumber}: ${this.summary()}`);
    }
  }

  /** nodeIPPoolReconcile (§4.13): gathers IMDS's and EC2's views, diffs them with the datastore, performs the result. */
  private async reconcile(): Promise<void> {
    const manager = this.requireManager();
    await this.o.metrics.track('nodeIPPoolReconcile', async () => {
      const { imds, metrics, clock, config } = this.o;
      const now = clock.now();
      const view: Omit<ReconcileInput, 'described'> = {
        attached: (await imds.attachedEnis()).filter((e) => e.networkCard === 0),
        datastore: this.datastore.snapshot(now),
        node: { primaryMac: this.facts!.primaryMac, instanceId: this.facts!.instanceId, vpcCidrs: this.state.vpcCidrs, securityGroupIds: this.identity!.securityGroupIds },
        settings: { customNetworking: config.customNetworkCfg, manageUntaggedEni: config.manageUntaggedEni, imdsOnly: config.enableImdsOnlyMode,
          releasedCidrCooldownMs: this.poolConfig.timers.reconcileIntervalMs,
          refreshSecurityGroups: this.provisioning && !config.customNetworkCfg && !config.enableImdsOnlyMode },
        released: this.released,
        now,
      };
      const described = await describeEnis(this.o.cloud, enisToDescribe(view));
      let changed = false;
      for (const action of diffReconcile({ ...view, described })) changed = (await this.performReconcile(action)) || changed;
      for (const [cidr, at] of this.released) if (now - at > this.poolConfig.timers.reconcileIntervalMs) this.released.delete(cidr);
      manager.lastPoolActionAt = clock.now();
      metrics.reconciles.inc({ fn: 'eniIPPoolReconcile' });
      if (changed) await this.pods.checkpoint.request();
      this.updateGauges();
    });
  }

  /** Performs one reconcile action; true when the datastore changed. */
  private async performReconcile(action: ReconcileAction): Promise<boolean> {
    const { metrics, log } = this.o;
    switch (action.kind) {
      case 'set-vpc-cidrs':
        log('info', `VPC CIDRs changed from ${action.from.join(', ')} to ${action.to.join(', ')}: updating host rules`);
        this.state.vpcCidrs = [...action.to];
        await this.applyHostRules();
        return false;
      case 'adopt-eni':
        await this.enis!.adopt(action.eni, action.described, 1);
        log('info', `reconcile adopted ${action.eni.eniId} (device ${action.eni.deviceNumber}), attached outside this ipamd's pool loop`);
        return true;
      case 'add-cidr':
        if (!this.datastore.addCidr(action.eniId, action.cidr)) return false;
        log('info', `reconcile: adopted ${action.cidr} on ${action.eniId}, assigned outside this ipamd`);
        return true;
      case 'remove-cidr': {
        // the pods that lose their address are the datastore's now: an ADD may have taken one since the snapshot
        const lost = this.datastore.removeCidr(action.eniId, action.cidr, { force: true });
        metrics.forceRemovedIps.inc(lost.length);
        log('warn', `reconcile: ${action.cidr} is gone from ${action.eniId}; dropped it${lost.length ? `, and with it the address of ${lost.map((a) => a.key.containerId).join(', ')}` : ''}`);
        for (const a of lost) await this.pods.unwireLost(a);
        return true;
      }
      case 'set-security-groups': {
        log('info', `the primary ENI's security groups changed from ${action.from.join(', ')} to ${action.to.join(', ')}: applying them to ${action.eniIds.join(', ') || 'no other ENI'}`);
        // all or nothing: a failed call throws, the groups stay as they were, and the next reconcile tries again
        for (const eniId of action.eniIds) await this.o.cloud.setSecurityGroups(eniId, action.to);
        this.identity!.securityGroupIds = [...action.to];
        return false;
      }
      case 'remove-eni': {
        const lost = this.datastore.removeEni(action.eniId, { force: true });
        if (lost.length > 0) metrics.forceRemovedEnis.inc();
        metrics.forceRemovedIps.inc(lost.length);
        log('warn', `reconcile: ${action.eniId} is no longer attached; removed it${lost.length ? ` and ${lost.length} pod address(es): ${lost.map((a) => a.address).join(', ')}` : ''}`);
        return true;
      }
    }
  }

  /** Step 5 of §4.14: free unused CIDRs of the other mode (prefixes with PD off, /32s with PD on). */
  private async freeLeftoverModeCidrs(executor: PoolExecutor): Promise<void> {
    const pd = this.poolConfig.prefixDelegation;
    for (const eni of this.datastore.snapshot(this.o.clock.now()).enis) {
      const leftovers = eni.cidrs.filter((c) => c.prefix !== pd && c.assigned === 0).map((c) => c.cidr);
      if (leftovers.length === 0) continue;
      const outcome = await executor.perform({ kind: 'unassign', eniId: eni.id, cidrs: leftovers });
      if (outcome.error) this.o.log('warn', `freeing ${leftovers.length} leftover ${pd ? 'secondary IP(s)' : 'prefix(es)'} on ${eni.id}: ${outcome.error.message}`);
      for (const c of leftovers) this.released.set(c, this.o.clock.now());
    }
  }

  /** SetupHostNetwork (§4.14 step 2; again when the VPC CIDRs change, §2.1), counted in awscni_connmark_reconcile_total. */
  private async applyHostRules(): Promise<void> {
    const { dataplane, metrics } = this.o;
    try {
      await dataplane.setupHost({ vpcCidrs: this.state.vpcCidrs, primaryIp: this.facts!.localIpv4, primaryMac: this.facts!.primaryMac });
    } catch (err) {
      if (dataplane.mode === 'linux') metrics.connmarkReconciles.inc({ result: 'error' });
      throw err;
    }
    if (dataplane.mode !== 'linux') return;
    metrics.connmarkReconciles.inc({ result: 'success' });
    const backend = dataplane.connmarkBackend();
    if (backend) metrics.connmarkBackend.set({ backend }, 1);
  }

  private leakedEniGcEnabled(): boolean {
    return this.provisioning && !this.config.disableLeakedEniCleanup && !this.config.enableIPv6;
  }

  // ---- gauges ----

  private updateGauges(): void {
    this.o.metrics.setPool(poolGauges(this.datastore.snapshot(this.o.clock.now()), this.poolLimits));
  }

  summary(): string {
    return poolSummary(this.datastore.snapshot(this.o.clock.now()));
  }

  private requireManager(): PoolManager {
    if (!this.state.manager) throw notReady(this.state);
    return this.state.manager;
  }
}
