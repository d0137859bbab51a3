/**
 * One node's ipamd around the core (datastore, pure pool decisions, executor, manager): node init (spec §4.14),
 * reconcile with IMDS and EC2 (§4.13), the pool loop (§4.4) on an injectable clock, checkpoint restore and
 * rewrite (§6.4), leaked-ENI GC (§7.5), and the pod side (assign/release with named causes, §4.11, §6.2).
 * Only network card 0 is managed (ENABLE_MULTI_NIC is not supported yet) and only IPv4 pools.
 */
import { checkpointOf, podLinkSuffix, readCheckpoint, restoreCheckpoint, writeCheckpoint, type Checkpoint, type Clock, Datastore, ipStats, type Assignment, type IpamKey, type IpamMetadata, CLUSTER_NAME_TAG, ENI_OWNER_TAG, INSTANCE_ID_TAG, PoolExecutor, type ActionOutcome, type NodeIdentity, PoolManager, type IterationResult, isInsufficientCidrCode, isPoolTooLow, poolConfigFrom, poolLimitsFrom, type PoolConfig, type PoolLimits } from '../ipam/index.js';
import { rename } from 'node:fs/promises';
import { CreateTagsCommand, DescribeNetworkInterfacesCommand, DescribeSubnetsCommand, type EC2Client, type NetworkInterface, type Tag } from '@aws-sdk/client-ec2';
import type { PodnetConfig } from '../config/index.js';
import { PodnetError } from '../lib/index.js';
import { lookupInstanceType, maxPods, type InstanceLimits } from '../limits/index.js';
import { ec2ErrorCode } from './cloud.js';
import { nodeEniConfigName, selectEniConfig, type EniConfigFile } from './eni-config.js';
import type { ImdsClient, ImdsEni, ImdsInstanceFacts } from './imds.js';
import { routeTableId } from './introspection.js';
import { cleanUpLeakedEnis } from './leaked-enis.js';
import type { IpamdMetrics } from './metrics.js';
import type { EniFacts, NodeDataplane } from './node-dataplane.js';
import { isExcludedSubnet, rankEniSubnets, type SubnetFacts } from './subnets.js';

export type LogLevel = 'info' | 'warn' | 'error';
export type Log = (level: LogLevel, message: string) => void;

export interface IpamdNodeOptions {
  config: PodnetConfig;
  ec2: EC2Client;
  imds: ImdsClient;
  metrics: IpamdMetrics;
  clock: Clock;
  dataplane: NodeDataplane;
  /** ENIConfigs and the node object (labels, annotations, capacity), standing in for the API server. */
  eniConfigFile?: EniConfigFile;
  leakedEniIntervalMs: number;
  leakedEniMinAgeMs: number;
  eniSetupRetry: EniSetupRetry;
  log: Log;
}

/** How setupENI retries (ms on the node's clock); upstream: 5 looks 3 s apart (§3.2 step 1), 5 tries 10 s apart at init (§4.14 step 4). */
export interface EniSetupRetry {
  /** Looks for the ENI's link by MAC: a new ENI's link can appear a moment after EC2 reports it attached. */
  linkAttempts: number;
  linkIntervalMs: number;
  /** Tries of the whole setup for an ENI found attached at init; a link still missing after its looks is not tried again. */
  setupAttempts: number;
  setupIntervalMs: number;
}

/** What a pod gets (AddNetworkReply, spec §6.2). */
export interface PodAddress {
  assignment: Assignment;
  routeTable: number;
  /** VPC CIDRs plus AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS, unless external SNAT is on. */
  vpcCidrs: string[];
  useExternalSnat: boolean;
}

const NO_MANAGE_TAG = 'node.k8s.amazonaws.com/no_manage';
/** DescribeAllENIs drops ids EC2 no longer knows and asks again, at most this often (spec §4.14 step 3). */
const DESCRIBE_TRIES = 12;

/** Writes the checkpoint after every change; writes coalesce, and each caller waits for one that includes it. */
class CheckpointWriter {
  private writing: Promise<void> | undefined;
  private pending: Promise<void> | undefined;

  constructor(
    private readonly path: string,
    private readonly snapshot: () => Checkpoint,
  ) {}

  request(): Promise<void> {
    if (!this.writing) {
      this.writing = writeCheckpoint(this.path, this.snapshot()).finally(() => (this.writing = undefined));
      return this.writing;
    }
    // a write is in flight with an older state: queue exactly one more after it, shared by every caller until it starts
    this.pending ??= this.writing.catch(() => undefined).then(() => {
      this.pending = undefined;
      return this.request();
    });
    return this.pending;
  }
}

export class IpamdNode {
  readonly config: PodnetConfig;
  readonly poolConfig: PoolConfig;
  readonly datastore: Datastore;
  /** Problems found at start that did not stop it (a corrupt checkpoint), for the log and introspection. */
  readonly startupProblems: PodnetError[] = [];
  private facts: ImdsInstanceFacts | undefined;
  private limits: InstanceLimits | undefined;
  private poolLimitsValue: PoolLimits | undefined;
  private manager: PoolManager | undefined;
  private identity: { -readonly [K in keyof NodeIdentity]: NodeIdentity[K] } | undefined;
  private vpcCidrs: string[] = [];
  private vpcId = '';
  private subnetFacts = new Map<string, SubnetFacts>();
  private readyValue = false;
  private terminating = false;
  /** Aborted by stop(): cuts every pause short (the loop's and the ENI setups'). */
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  /** CIDRs released to EC2 and when: reconcile ignores them for a while if IMDS still lists them (§4.12). */
  private readonly released = new Map<string, number>();
  private lastLeakedEniRun: number;
  private readonly checkpoint: CheckpointWriter;
  /** setupENI runs per ENI in the background (its retries wait seconds), keyed by MAC so an ENI has one at a time. */
  private readonly eniSetups = new Map<string, Promise<void>>();

  constructor(private readonly o: IpamdNodeOptions) {
    this.config = o.config;
    this.poolConfig = poolConfigFrom(o.config);
    this.datastore = new Datastore({ prefixDelegation: this.poolConfig.prefixDelegation, ipCooldownMs: this.poolConfig.ipCooldownMs });
    this.checkpoint = new CheckpointWriter(o.config.backingStore, () => checkpointOf(this.datastore.assignments()));
    // upstream sleeps a random [0, 300) s before the first GC run; podnet scales that with the interval
    this.lastLeakedEniRun = o.clock.now() - o.leakedEniIntervalMs + o.clock.random() * Math.min(300_000, o.leakedEniIntervalMs / 12);
  }

  get ready(): boolean {
    return this.readyValue;
  }

  get instance(): ImdsInstanceFacts | undefined {
    return this.facts;
  }

  get poolLimits(): PoolLimits | undefined {
    return this.poolLimitsValue;
  }

  get provisioning(): boolean {
    return !this.config.disableNetworkResourceProvisioning;
  }

  /** This node's ENIConfig name (spec §5.1), as /v1/eni-configs reports it. */
  eniConfigName(): string {
    const node = this.o.eniConfigFile?.node ?? { name: '', labels: {}, annotations: {} };
    return nodeEniConfigName(node, { annotation: this.config.eniConfigAnnotationDef, label: this.config.eniConfigLabelDef });
  }

  /** nodeInit (spec §4.14). */
  async init(): Promise<void> {
    const { config, imds, clock, log } = this.o;
    if (config.enableIPv6) {
      throw new PodnetError('CONFIG_INVALID', 'ENABLE_IPv6=true: podnet ipamd manages IPv4 pools only', 'run with ENABLE_IPv4=true and ENABLE_IPv6=false');
    }
    const facts = await imds.instanceFacts();
    this.facts = facts;
    this.limits = lookupInstanceType(facts.instanceType);
    const attached = await imds.attachedEnis();
    const primary = attached.find((e) => e.mac === facts.primaryMac);
    if (!primary) {
      throw new PodnetError('EC2_FAILED', `IMDS lists no ENI with the instance's MAC ${facts.primaryMac}`, 'check the IMDS endpoint serves this instance');
    }
    this.vpcCidrs = primary.vpcIpv4Cidrs;
    this.vpcId = primary.vpcId;
    await this.applyHostRules();

    const described = await this.describeEnis(attached.map((e) => e.eniId));
    if (config.enableSubnetDiscovery && !config.enableImdsOnlyMode) await this.refreshSubnets();
    const managed = attached.filter((e) => this.isManaged(e, described.get(e.eniId)));
    const unmanagedEnis = attached.filter((e) => e.networkCard === 0).length - managed.filter((e) => e.networkCard === 0).length;
    for (const eni of managed.filter((e) => e.networkCard === 0)) await this.adoptEni(eni, described.get(eni.eniId), this.o.eniSetupRetry.setupAttempts);

    const capacity = this.o.eniConfigFile?.node.capacityPods;
    const nodeMaxPods = capacity ?? maxPods(facts.instanceType).maxPods;
    this.poolLimitsValue = poolLimitsFrom(this.limits, this.poolConfig, { maxPods: nodeMaxPods, unmanagedEnis });
    this.identity = { instanceId: facts.instanceId, networkCard: 0, subnetId: primary.subnetId, subnetCidr: primary.subnetCidr,
      securityGroupIds: [...primary.securityGroupIds].sort(), clusterName: config.clusterName, additionalTags: config.additionalEniTags };
    await this.chooseEniSubnet(primary);
    const executor = new PoolExecutor({ ec2: this.o.ec2, datastore: this.datastore, node: this.identity, clock, prefixDelegation: this.poolConfig.prefixDelegation });
    this.manager = new PoolManager({ datastore: this.datastore, executor, config: this.poolConfig, limits: this.poolLimitsValue, clock });

    await this.restoreFromCheckpoint();
    if (this.provisioning) await this.freeLeftoverModeCidrs(executor);
    this.updateGauges();
    // handlePreScaling (step 10): one increase before pods are admitted
    if (this.provisioning) await this.runPoolIteration();
    if (config.customNetworkCfg && ipStats(this.datastore.snapshot(clock.now())).totalIps === 0) {
      throw new PodnetError('ENI_LIMIT', 'custom networking is on and no ENI could be attached for pods (the primary ENI is never used for them)',
        'check the ENIConfig subnet has free addresses and the instance has a free ENI slot; the ipamd log has the EC2 error');
    }
    this.readyValue = true;
    log('info', `node ${facts.instanceId} (${facts.instanceType}, ${facts.availabilityZone}) ready: ${this.summary()}`);
  }

  /** Starts the pool loop: half an interval → pool iteration → half an interval → reconcile when due (§4.4). */
  start(): void {
    this.loop ??= this.runLoop();
  }

  /** SIGTERM: no more attaching or detaching, the loop ends after its current step, the checkpoint is written. */
  async stop(): Promise<void> {
    this.terminating = true;
    this.stopping.abort();
    await this.loop;
    await Promise.all(this.eniSetups.values());
    if (this.facts) await this.checkpoint.request();
    await this.o.dataplane.close();
  }

  private async runLoop(): Promise<void> {
    const half = this.poolConfig.timers.poolIntervalMs / 2;
    while (!this.terminating) {
      if (!(await this.pause(half))) break;
      if (this.provisioning) await this.guard('updateIPPoolIfRequired', () => this.runPoolIteration());
      if (!(await this.pause(half))) break;
      const sinceAction = this.o.clock.now() - (this.manager?.lastPoolActionAt ?? -Infinity);
      if (sinceAction > this.poolConfig.timers.reconcileIntervalMs) await this.guard('nodeIPPoolReconcile', () => this.reconcile());
      if (this.leakedEniGcEnabled() && this.o.clock.now() - this.lastLeakedEniRun >= this.o.leakedEniIntervalMs) {
        await this.guard('cleanUpLeakedENIs', () => this.collectLeakedEnis());
      }
    }
  }

  /** Sleeps on the node's clock; false when stop() cut it short. */
  private async pause(ms: number): Promise<boolean> {
    if (this.terminating) return false;
    await this.o.clock.sleep(ms, this.stopping.signal);
    return !this.terminating;
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
  async runPoolIteration(): Promise<IterationResult | undefined> {
    const manager = this.requireManager();
    if (this.terminating) return undefined;
    const increasing = this.poolTooLowNow();
    const result = await this.o.metrics.track(increasing ? 'increaseDatastorePool' : 'decreaseDatastorePool', () => manager.runIteration());
    for (const outcome of result.outcomes) await this.afterAction(outcome);
    if (result.changed) await this.checkpoint.request();
    this.updateGauges();
    return result;
  }

  private poolTooLowNow(): boolean {
    return isPoolTooLow(ipStats(this.datastore.snapshot(this.o.clock.now())), this.poolConfig, this.poolLimitsValue!);
  }

  private async afterAction(o: ActionOutcome): Promise<void> {
    const { log, metrics, clock } = this.o;
    if (o.error) {
      metrics.ipamdErrors.inc({ fn: o.action.kind === 'unassign' || o.action.kind === 'free-eni' ? 'decreaseDatastorePool' : 'increaseDatastorePool' });
      log(o.failure && isInsufficientCidrCode(o.failure.code) ? 'warn' : 'error', `${o.action.kind}: ${o.error.message}`);
      // with subnet discovery a full subnet sends the next ENI elsewhere (§4.15, §5.5)
      if (o.failure && isInsufficientCidrCode(o.failure.code) && o.action.kind === 'create-eni') await this.chooseEniSubnet();
    }
    if (o.action.kind === 'unassign') for (const c of o.action.cidrs) this.released.set(c, clock.now());
    if (o.createdEniId) {
      this.setupCreatedEni(o.createdEniId);
      log('info', `attached ${o.createdEniId} at device ${this.datastore.eniInfo(o.createdEniId)?.deviceNumber}: ${this.summary()}`);
    }
  }

  /**
   * A new ENI's MAC comes from IMDS, which can fail for a moment right after the attach; look it up in the
   * background with the link retries (§3.2 step 1) so a failed lookup never leaves the ENI without its route table.
   */
  private setupCreatedEni(eniId: string): void {
    if (this.terminating || this.eniSetups.has(eniId)) return;
    const { linkAttempts, linkIntervalMs } = this.o.eniSetupRetry;
    const task = (async () => {
      for (let look = 1; ; look++) {
        const info = this.datastore.eniInfo(eniId);
        if (!info) return;
        try {
          const mac = (await this.o.imds.attachedEnis()).find((e) => e.eniId === eniId)?.mac;
          if (mac) return this.setupEniNetwork({ mac, deviceNumber: info.deviceNumber, networkCard: info.networkCard, primaryIp: info.primaryIp, subnetCidr: info.subnetCidr }, 1);
          if (look >= linkAttempts) throw new PodnetError('LINK_NOT_FOUND', `IMDS does not list ENI ${eniId} after ${look} looks`);
        } catch (err) {
          if (look >= linkAttempts) {
            this.o.metrics.ipamdErrors.inc({ fn: 'setupENINetwork' });
            return this.o.log('error', `setting up ENI ${eniId}: ${describeError(err)}`);
          }
        }
        if (!(await this.pause(linkIntervalMs))) return;
      }
    })().finally(() => this.eniSetups.delete(eniId));
    this.eniSetups.set(eniId, task);
  }

  /** nodeIPPoolReconcile (§4.13): IMDS (and EC2 on a mismatch) is the truth about ENIs and their CIDRs. */
  async reconcile(): Promise<void> {
    const manager = this.requireManager();
    await this.o.metrics.track('nodeIPPoolReconcile', async () => {
      const { imds, metrics, clock, log } = this.o;
      const now = clock.now();
      const attached = (await imds.attachedEnis()).filter((e) => e.networkCard === 0);
      const unknown = attached.filter((e) => !this.datastore.hasEni(e.eniId));
      const described = unknown.length > 0 ? await this.describeEnis(unknown.map((e) => e.eniId)) : new Map<string, NetworkInterface>();
      let changed = false;
      const primary = attached.find((e) => e.mac === this.facts?.primaryMac);
      if (primary && primary.vpcIpv4Cidrs.join(',') !== this.vpcCidrs.join(',')) {
        log('info', `VPC CIDRs changed from ${this.vpcCidrs.join(', ')} to ${primary.vpcIpv4Cidrs.join(', ')}: updating host rules`);
        this.vpcCidrs = primary.vpcIpv4Cidrs;
        await this.applyHostRules();
      }
      for (const eni of attached) {
        if (!this.datastore.hasEni(eni.eniId)) {
          if (!this.isManaged(eni, described.get(eni.eniId))) continue;
          await this.adoptEni(eni, described.get(eni.eniId), 1);
          log('info', `reconcile adopted ${eni.eniId} (device ${eni.deviceNumber}), attached outside this ipamd's pool loop`);
          changed = true;
          continue;
        }
        changed = (await this.reconcileCidrs(eni, now)) || changed;
      }
      const attachedIds = new Set(attached.map((e) => e.eniId));
      for (const info of this.datastore.eniInfos()) {
        if (attachedIds.has(info.id)) continue;
        const lost = this.datastore.removeEni(info.id, { force: true });
        if (lost.length > 0) metrics.forceRemovedEnis.inc();
        metrics.forceRemovedIps.inc(lost.length);
        log('warn', `reconcile: ${info.id} is no longer attached; removed it${lost.length ? ` and ${lost.length} pod address(es): ${lost.map((a) => a.address).join(', ')}` : ''}`);
        changed = true;
      }
      for (const [cidr, at] of this.released) if (now - at > this.poolConfig.timers.reconcileIntervalMs) this.released.delete(cidr);
      manager.lastPoolActionAt = clock.now();
      metrics.reconciles.inc({ fn: 'eniIPPoolReconcile' });
      if (changed) await this.checkpoint.request();
      this.updateGauges();
    });
  }

  /** Compares one ENI's CIDRs with IMDS; on a mismatch DescribeNetworkInterfaces decides (§4.13 step 2). */
  private async reconcileCidrs(eni: ImdsEni, now: number): Promise<boolean> {
    const skipPrefixes = this.config.customNetworkCfg && eni.mac === this.facts?.primaryMac;
    const fromImds = imdsCidrs(eni, skipPrefixes);
    const known = this.datastore.cidrsOf(eni.eniId).filter((c) => !c.includes(':'));
    if (sameSet(fromImds, known)) return false;
    let truth = fromImds;
    const described = (await this.describeEnis([eni.eniId])).get(eni.eniId);
    if (described) {
      truth = [
        ...(described.PrivateIpAddresses ?? []).filter((p) => !p.Primary && p.PrivateIpAddress).map((p) => `${p.PrivateIpAddress}/32`),
        ...(skipPrefixes ? [] : (described.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix).filter((p): p is string => !!p)),
      ];
    }
    let changed = false;
    for (const c of truth) {
      const releasedAt = this.released.get(c);
      if (releasedAt !== undefined && now - releasedAt <= this.poolConfig.timers.reconcileIntervalMs) continue; // still settling (§4.12)
      if (this.datastore.addCidr(eni.eniId, c)) {
        this.o.log('info', `reconcile: adopted ${c} on ${eni.eniId}, assigned outside this ipamd`);
        changed = true;
      }
    }
    const keep = new Set(truth);
    for (const c of known) {
      if (keep.has(c)) continue;
      const lost = this.datastore.removeCidr(eni.eniId, c, { force: true });
      this.o.metrics.forceRemovedIps.inc(lost.length);
      this.o.log('warn', `reconcile: ${c} is gone from ${eni.eniId}; dropped it${lost.length ? `, and with it the address of ${lost.map((a) => a.key.containerId).join(', ')}` : ''}`);
      for (const a of lost) await this.unwireLost(a);
      changed = true;
    }
    return changed;
  }

  private async unwireLost(a: Assignment): Promise<void> {
    const { k8sPodNamespace: ns, k8sPodName: name } = a.metadata;
    if (!ns || !name) return;
    await this.o.dataplane.unwirePod({ hostVeth: this.config.vethPrefix + podLinkSuffix(ns, name), recordsKnown: true, ownedIp: a.address }).catch((err: unknown) =>
      this.o.log('warn', `could not remove the wiring of ${ns}/${name}: ${describeError(err)}`));
  }

  /** DescribeAllENIs' EC2 half: one call for all ids; ids EC2 does not know are dropped and the call repeated. */
  private async describeEnis(ids: readonly string[]): Promise<Map<string, NetworkInterface>> {
    const out = new Map<string, NetworkInterface>();
    if (this.config.enableImdsOnlyMode || ids.length === 0) return out;
    let remaining = [...ids];
    for (let attempt = 0; attempt < DESCRIBE_TRIES && remaining.length > 0; attempt++) {
      try {
        const res = await this.o.ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: remaining }));
        for (const n of res.NetworkInterfaces ?? []) if (n.NetworkInterfaceId) out.set(n.NetworkInterfaceId, n);
        return out;
      } catch (err) {
        if (ec2ErrorCode(err) !== 'InvalidNetworkInterfaceID.NotFound') throw err;
        const gone = /'?(eni-[0-9a-f]+)'?/.exec((err as Error).message)?.[1];
        if (!gone) throw err;
        remaining = remaining.filter((id) => id !== gone);
      }
    }
    return out;
  }

  /** setUnmanagedENIs (§7.6): no_manage=true, another instance's tag (with MANAGE_UNTAGGED_ENI=false), EFA-only. */
  private isManaged(eni: ImdsEni, described: NetworkInterface | undefined): boolean {
    if (eni.mac === this.facts?.primaryMac) return true;
    if (eni.localIpv4s.length === 0 && eni.ipv6s.length === 0) return false; // EFA-only
    const tags = tagMap(described?.TagSet);
    if (tags[NO_MANAGE_TAG] !== undefined) return tags[NO_MANAGE_TAG] !== 'true';
    if (tags[INSTANCE_ID_TAG] === this.facts?.instanceId) return true;
    return this.config.manageUntaggedEni;
  }

  /** TagENI + setupENI + datastore add, for an ENI found attached (init or reconcile). */
  private async adoptEni(eni: ImdsEni, described: NetworkInterface | undefined, setupTries: number): Promise<void> {
    const isPrimary = eni.mac === this.facts?.primaryMac;
    const trunk = described?.InterfaceType === 'trunk';
    const efa = described?.InterfaceType === 'efa';
    if (this.provisioning && !trunk && described) await this.tagEni(eni.eniId, tagMap(described.TagSet));
    const subnet = this.subnetFacts.get(eni.subnetId);
    this.datastore.addEni({
      id: eni.eniId, deviceNumber: eni.deviceNumber, networkCard: eni.networkCard, primary: isPrimary, trunk, efa,
      excluded: this.config.enableSubnetDiscovery && subnet !== undefined && isExcludedSubnet(subnet),
      subnetId: eni.subnetId, subnetCidr: eni.subnetCidr, primaryIp: eni.localIpv4s[0] ?? '', createdAt: this.o.clock.now(),
    });
    // with custom networking the primary ENI's prefixes are not read (awsutils.go:898, spec §5.1)
    for (const c of imdsCidrs(eni, isPrimary && this.config.customNetworkCfg)) this.datastore.addCidr(eni.eniId, c);
    if (!isPrimary) this.setupEniNetwork({ ...eni, primaryIp: eni.localIpv4s[0] ?? '' }, setupTries);
  }

  /**
   * setupENI for a secondary ENI, started in the background so that neither the pool loop nor pod ADDs wait for
   * its retries; stop() waits for it. Its addresses are in the datastore already (podnet adds them first).
   */
  private setupEniNetwork(eni: Pick<ImdsEni, 'mac' | 'deviceNumber' | 'networkCard' | 'subnetCidr'> & { primaryIp: string }, setupTries: number): void {
    if (this.terminating || this.eniSetups.has(eni.mac)) return;
    const facts: EniFacts = { mac: eni.mac, deviceNumber: eni.deviceNumber, networkCard: eni.networkCard, primaryIp: eni.primaryIp, subnetCidr: eni.subnetCidr };
    const task = this.setupEniWithRetries(facts, setupTries).finally(() => this.eniSetups.delete(eni.mac));
    this.eniSetups.set(eni.mac, task);
  }

  private async setupEniWithRetries(eni: EniFacts, setupTries: number): Promise<void> {
    const { linkAttempts, linkIntervalMs, setupIntervalMs } = this.o.eniSetupRetry;
    for (let setupTry = 1, look = 1; ; ) {
      try {
        await this.o.dataplane.setupEni(eni);
        if (look > 1 || setupTry > 1) this.o.log('info', `set up the route table of ENI ${eni.mac} (device ${eni.deviceNumber}) on look ${look}, try ${setupTry}`);
        return;
      } catch (err) {
        const linkMissing = err instanceof PodnetError && err.code === 'LINK_NOT_FOUND';
        // §3.2 step 1: the link is looked for up to linkAttempts times; once it stays missing, setupENI gives up at once (§4.14 step 4)
        const again = linkMissing ? look < linkAttempts : setupTry < setupTries;
        if (again && (await this.pause(linkMissing ? linkIntervalMs : setupIntervalMs))) {
          if (linkMissing) look++;
          else setupTry++;
          continue;
        }
        if (this.terminating) return;
        this.o.metrics.ipamdErrors.inc({ fn: 'setupENINetwork' });
        this.o.log('error', `setting up the route table of ENI ${eni.mac} (device ${eni.deviceNumber}) after ${look} look(s) for its link and ${setupTry} tr${setupTry === 1 ? 'y' : 'ies'}: ${describeError(err)}`);
        return;
      }
    }
  }

  /** TagENI (§7.1): only missing or different keys. */
  private async tagEni(eniId: string, current: Record<string, string>): Promise<void> {
    const want: Tag[] = [{ Key: INSTANCE_ID_TAG, Value: this.facts!.instanceId }];
    if (this.config.clusterName) want.push({ Key: CLUSTER_NAME_TAG, Value: this.config.clusterName }, { Key: ENI_OWNER_TAG, Value: 'amazon-vpc-cni' });
    for (const [Key, Value] of Object.entries(this.config.additionalEniTags)) if (!Key.includes('k8s.amazonaws.com')) want.push({ Key, Value });
    const missing = want.filter((t) => current[t.Key!] !== t.Value);
    if (missing.length === 0) return;
    try {
      await this.o.ec2.send(new CreateTagsCommand({ Resources: [eniId], Tags: missing }));
    } catch (err) {
      this.o.metrics.ipamdErrors.inc({ fn: 'TagENI' });
      this.o.log('warn', `tagging ${eniId}: ${describeError(err)}`);
    }
  }

  /** ReadBackingStore (§6.4): a corrupt file is reported, kept aside, and the datastore stays as IMDS/EC2 built it. */
  private async restoreFromCheckpoint(): Promise<void> {
    const path = this.config.backingStore;
    let cp: Checkpoint | undefined;
    try {
      cp = await readCheckpoint(path);
    } catch (err) {
      if (!(err instanceof PodnetError && err.code === 'CHECKPOINT_CORRUPT')) throw err;
      const aside = `${path}.corrupt-${new Date(this.o.clock.now()).toISOString().replace(/[:.]/g, '')}`;
      await rename(path, aside).catch(() => undefined);
      const reported = new PodnetError('CHECKPOINT_CORRUPT', `${err.message}; moved to ${aside}; the datastore was rebuilt from IMDS/EC2 with ${this.datastore.eniInfos().length} ENIs and no pod assignments`, err.hint);
      this.startupProblems.push(reported);
      this.o.metrics.ipamdErrors.inc({ fn: 'nodeInit' });
      this.o.log('error', `${reported.message} (hint: ${reported.hint})`);
    }
    if (cp) {
      // without a dataplane there are no host links to check, so every recorded pod counts as live
      const links = (await this.o.dataplane.hostLinkNames()) ??
        cp.allocations.map((a) => podLinkSuffix(a.metadata.k8sPodNamespace ?? '', a.metadata.k8sPodName ?? ''));
      const result = restoreCheckpoint(this.datastore, cp, links);
      for (const a of result.unknown) this.o.log('warn', `checkpoint: ${a.ipv4 ?? a.ipv6} of container ${a.containerID} is on no attached ENI any more (removed outside podnet); dropped`);
      for (const a of result.stale) {
        // the address is free only once the rules that point at it are gone: a pod given it meanwhile would inherit them
        const removed = a.ipv4 === undefined || (await this.o.dataplane.unwirePod({ hostVeth: this.config.vethPrefix + podLinkSuffix(a.metadata.k8sPodNamespace!, a.metadata.k8sPodName!), recordsKnown: true, ownedIp: a.ipv4 }).then(
          () => true,
          (err: unknown) => {
            this.o.log('warn', `checkpoint: pod ${a.metadata.k8sPodNamespace}/${a.metadata.k8sPodName} has no host veth any more, but its rules could not be removed (${describeError(err)}); keeping ${a.ipv4} assigned until a DEL or GC removes them`);
            return false;
          },
        ));
        if (removed) this.o.log('info', `checkpoint: pod ${a.metadata.k8sPodNamespace}/${a.metadata.k8sPodName} has no host veth any more; dropped its address ${a.ipv4}`);
        else this.datastore.restoreAssignment({ key: { networkName: a.networkName, containerId: a.containerID, ifName: a.ifName }, metadata: a.metadata, address: a.ipv4!, assignedAtNs: a.allocationTimestamp });
      }
      this.o.log('info', `checkpoint: restored ${result.restored.length} pod address(es), dropped ${result.unknown.length + result.stale.length}`);
    }
    await this.checkpoint.request();
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

  /** DescribeSubnets of this VPC and AZ (§5.5): for excluded ENIs and the subnet of new ENIs. */
  private async refreshSubnets(): Promise<void> {
    try {
      const out = await this.o.ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'vpc-id', Values: [this.vpcId] }, { Name: 'availability-zone', Values: [this.facts!.availabilityZone] }] }));
      this.subnetFacts = new Map((out.Subnets ?? []).filter((s) => s.SubnetId).map((s) => [s.SubnetId!, {
        id: s.SubnetId!, cidr: s.CidrBlock ?? '', availabilityZone: s.AvailabilityZone ?? '', availableIps: s.AvailableIpAddressCount ?? 0, tags: tagMap(s.Tags),
      }]));
    } catch (err) {
      // upstream falls back to the node's subnet when DescribeSubnets fails (§5.5)
      this.o.log('warn', `DescribeSubnets failed, new ENIs go to the node's subnet: ${describeError(err)}`);
    }
  }

  /** Where new ENIs go: the ENIConfig's subnet (§5.1), the best discovered subnet (§5.5), or the node's. */
  private async chooseEniSubnet(primary?: ImdsEni): Promise<void> {
    const identity = this.identity!;
    if (this.config.customNetworkCfg) {
      if (!this.o.eniConfigFile) {
        throw new PodnetError('CONFIG_INVALID', 'AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true but no ENIConfig file is given',
          'set PODNET_ENI_CONFIG_FILE to a YAML file with the ENIConfigs and this node\'s labels/annotations');
      }
      const chosen = selectEniConfig(this.o.eniConfigFile, { annotation: this.config.eniConfigAnnotationDef, label: this.config.eniConfigLabelDef });
      const subnet = (await this.o.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [chosen.subnet] }))).Subnets?.[0];
      if (subnet?.AvailabilityZone && subnet.AvailabilityZone !== this.facts!.availabilityZone) {
        throw new PodnetError('CONFIG_INVALID', `ENIConfig ${chosen.name} names ${chosen.subnet} in ${subnet.AvailabilityZone}, but this node is in ${this.facts!.availabilityZone}`,
          'an ENIConfig subnet must be in the node\'s AZ; name ENIConfigs after AZs and set ENI_CONFIG_LABEL_DEF=topology.kubernetes.io/zone');
      }
      identity.subnetId = chosen.subnet;
      identity.subnetCidr = subnet?.CidrBlock ?? '';
      if (chosen.securityGroups.length > 0) identity.securityGroupIds = [...chosen.securityGroups].sort();
      else this.o.log('warn', `ENIConfig ${chosen.name} has no security groups; new ENIs get the primary ENI's`);
      return;
    }
    if (!this.config.enableSubnetDiscovery) return;
    if (!primary) await this.refreshSubnets();
    const nodeSubnet = primary?.subnetId ?? this.datastore.eniInfos().find((e) => e.primary)?.subnetId ?? identity.subnetId;
    const best = rankEniSubnets([...this.subnetFacts.values()], nodeSubnet, this.config.clusterName)[0];
    if (best && best.id !== identity.subnetId) {
      this.o.log('info', `new ENIs go to ${best.id} (${best.cidr}, ${best.availableIps} free addresses)`);
      identity.subnetId = best.id;
      identity.subnetCidr = best.cidr;
    }
  }

  private leakedEniGcEnabled(): boolean {
    return this.provisioning && !this.config.disableLeakedEniCleanup && !this.config.enableIPv6;
  }

  private async collectLeakedEnis(): Promise<void> {
    this.lastLeakedEniRun = this.o.clock.now();
    const report = await cleanUpLeakedEnis(this.o.ec2, { vpcId: this.vpcId, clusterName: this.config.clusterName, nowMs: this.o.clock.now(), minAgeMs: this.o.leakedEniMinAgeMs });
    if (report.deleted.length) this.o.log('info', `leaked-ENI GC deleted ${report.deleted.join(', ')}`);
    if (report.tagged.length) this.o.log('info', `leaked-ENI GC found ${report.tagged.join(', ')} detached without a createdAt tag; tagged, deleted on a later run`);
    for (const f of report.failed) this.o.log('warn', `leaked-ENI GC could not delete ${f.eniId}: ${f.code}`);
  }

  // ---- the pod side (AddNetwork / DelNetwork, spec §6.2) ----

  /** Assigns an address (the same one again for the same key); never calls EC2. Failures name their cause. */
  async assign(key: IpamKey, metadata: IpamMetadata): Promise<PodAddress> {
    const { address, saved } = this.assignNow(key, metadata);
    await saved;
    return address;
  }

  /**
   * {@link assign} without waiting for the checkpoint: the address at once, and `saved`, which resolves once the
   * checkpoint holds it (and rejects, the assignment undone, when it cannot be written). The CNI handler wires the
   * pod meanwhile and answers only after both.
   */
  assignNow(key: IpamKey, metadata: IpamMetadata): { address: PodAddress; saved: Promise<void>; heldBefore: boolean } {
    const { metrics, clock } = this.o;
    metrics.addIpRequests.inc();
    if (!this.readyValue || !this.manager) throw this.manager ? this.manager.whyNoAddress(false) : notReady();
    if (this.terminating) throw new PodnetError('IPAMD_NOT_READY', 'ipamd is shutting down', 'the kubelet retries the pod once ipamd is back');
    // a repeated ADD gets the address its key holds: nothing changes, and a failure must not undo the earlier ADD
    const heldBefore = this.datastore.findAssignment(key) !== undefined;
    const a = this.datastore.assign(key, metadata, clock.now());
    if (!a) {
      metrics.noAvailableIpAddresses.inc();
      throw this.manager.whyNoAddress(true);
    }
    const saved = heldBefore ? Promise.resolve() : this.persist(() => this.datastore.unassign(key, clock.now())).finally(() => this.updateGauges());
    return { address: this.podAddress(a), saved, heldBefore };
  }

  /** Releases the key's address; undefined for a container ipamd does not know (DEL is idempotent). */
  async release(key: IpamKey, reason = 'PodDeleted'): Promise<PodAddress | undefined> {
    if (!this.readyValue) throw this.manager ? this.manager.whyNoAddress(false) : notReady();
    this.o.metrics.delIpRequests.inc({ reason });
    const a = this.datastore.unassign(key, this.o.clock.now());
    if (!a) return undefined;
    await this.persist(() => this.datastore.restoreAssignment({ key: a.key, metadata: a.metadata, address: a.address, assignedAtNs: a.assignedAtNs }));
    this.updateGauges();
    return this.podAddress(a);
  }

  /**
   * The key's address; undefined when ipamd holds none. Before node init has restored the checkpoint the answer is
   * unknown, so this throws IPAMD_NOT_READY: a DEL then changes nothing and the runtime retries (class 7 of issue 10).
   */
  lookup(key: IpamKey): PodAddress | undefined {
    this.requireReady();
    const a = this.datastore.findAssignment(key);
    return a && this.podAddress(a);
  }

  /** Throws IPAMD_NOT_READY (with the cause when known) until node init is done. */
  requireReady(): void {
    if (!this.readyValue) throw this.manager ? this.manager.whyNoAddress(false) : notReady();
  }

  /** Rewrites the checkpoint; on failure undoes the change, as upstream rolls back (§4.11). */
  private async persist(undo: () => unknown): Promise<void> {
    try {
      await this.checkpoint.request();
    } catch (err) {
      undo();
      throw new PodnetError('FAILED', `cannot write the IPAM checkpoint ${this.config.backingStore}: ${describeError(err)}`,
        'check the disk and the directory permissions; the pod was not given an address', { cause: err });
    }
  }

  private podAddress(a: Assignment): PodAddress {
    const exclude = this.config.externalSnat ? [] : this.config.excludeSnatCidrs;
    return {
      assignment: a,
      routeTable: routeTableId(a.deviceNumber, a.networkCard),
      vpcCidrs: [...this.vpcCidrs, ...exclude],
      useExternalSnat: this.config.externalSnat,
    };
  }

  /** SetupHostNetwork (§4.14 step 2; again when the VPC CIDRs change, §2.1), counted in awscni_connmark_reconcile_total. */
  private async applyHostRules(): Promise<void> {
    const { dataplane, metrics } = this.o;
    try {
      await dataplane.setupHost({ vpcCidrs: this.vpcCidrs, primaryIp: this.facts!.localIpv4, primaryMac: this.facts!.primaryMac });
    } catch (err) {
      if (dataplane.mode === 'linux') metrics.connmarkReconciles.inc({ result: 'error' });
      throw err;
    }
    if (dataplane.mode !== 'linux') return;
    metrics.connmarkReconciles.inc({ result: 'success' });
    const backend = dataplane.connmarkBackend();
    if (backend) metrics.connmarkBackend.set({ backend }, 1);
  }

  // ---- gauges ----

  updateGauges(): void {
    const limits = this.poolLimitsValue;
    const s = this.datastore.snapshot(this.o.clock.now());
    const stats = ipStats(s);
    const eniMax = limits ? limits.maxEni - limits.unmanagedEnis : 0;
    this.o.metrics.setPool({
      eniMax,
      ipMax: limits ? limits.maxIpsPerEni * eniMax : 0,
      enisAllocated: s.enis.length,
      totalIps: stats.totalIps,
      assignedIps: stats.assignedIps,
      totalPrefixes: stats.totalPrefixes,
      assignedPerCidr: s.enis.flatMap((e) => e.cidrs.map((c) => ({ cidr: c.cidr, assigned: c.assigned }))),
      assignedPerEni: s.enis.map((e) => ({ eni: e.id, assigned: e.cidrs.reduce((n, c) => n + c.assigned, 0) })),
    });
  }

  summary(): string {
    const s = this.datastore.snapshot(this.o.clock.now());
    const st = ipStats(s);
    return `${s.enis.length} ENI(s), ${st.totalIps} addresses, ${st.assignedIps} assigned${this.poolConfig.prefixDelegation ? `, ${st.totalPrefixes} prefix(es)` : ''}`;
  }

  private requireManager(): PoolManager {
    if (!this.manager) throw notReady();
    return this.manager;
  }
}

function notReady(): PodnetError {
  return new PodnetError('IPAMD_NOT_READY', 'ipamd has not finished node initialisation (ENIs, addresses and the checkpoint are not loaded yet)',
    'the kubelet retries the pod; if this lasts, check the ipamd log for IMDS or EC2 errors');
}

/** The CIDRs IMDS shows for an ENI: secondary IPs as /32 (the first local-ipv4 is the ENI's own) and prefixes. */
function imdsCidrs(eni: ImdsEni, skipPrefixes: boolean): string[] {
  return [...eni.localIpv4s.slice(1).map((ip) => `${ip}/32`), ...(skipPrefixes ? [] : eni.ipv4Prefixes)];
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

function tagMap(tags: readonly { Key?: string; Value?: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((tags ?? []).filter((t) => t.Key).map((t) => [t.Key!, t.Value ?? '']));
}

export function describeError(err: unknown): string {
  if (err instanceof PodnetError) return `${err.code}: ${err.message}`;
  return err instanceof Error ? `${err.name}: ${err.message}` : String(err);
}
