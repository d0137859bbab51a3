/**
 * Bringing an attached ENI into service: TagENI (§7.1), recording it and its CIDRs in the datastore, and setupENI
 * (§3.2: the ENI's route table), which runs in the background with upstream's retries so that neither the pool
 * loop nor pod ADDs wait for it. One setup per ENI at a time; the node's stop waits for the running ones.
 */
import { CloudError, ownerTags, type Cloud, type CloudEni, type CloudTags, type Clock, type Datastore } from '../ipam/index.js';
import type { PodnetConfig } from '../config/index.js';
import { PodnetError } from '../lib/index.js';
import type { ImdsClient, ImdsEni, ImdsInstanceFacts } from './imds.js';
import { describeError, type Log } from './log.js';
import type { IpamdMetrics } from './metrics.js';
import type { EniFacts, NodeDataplane } from './node-dataplane.js';
import { imdsCidrs } from './reconcile.js';
import { isExcludedSubnet, type SubnetFacts } from './subnets.js';

/** How setupENI retries (ms on the node's clock); upstream: 5 looks 3 s apart (§3.2 step 1), 5 tries 10 s apart at init (§4.14 step 4). */
export interface EniSetupRetry {
  /** Looks for the ENI's link by MAC: a new ENI's link can appear a moment after EC2 reports it attached. */
  linkAttempts: number;
  linkIntervalMs: number;
  /** Tries of the whole setup for an ENI found attached at init; a link still missing after its looks is not tried again. */
  setupAttempts: number;
  setupIntervalMs: number;
}

/** DescribeAllENIs drops ids EC2 no longer knows and asks again, at most this often (spec §4.14 step 3). */
const DESCRIBE_TRIES = 12;

/**
 * DescribeAllENIs' EC2 half: EC2's view (tags, type, addresses) of attached ENIs, by id. One call for all ids;
 * ids EC2 does not know (detached meanwhile) are dropped and the call repeated.
 */
export async function describeEnis(cloud: Cloud, ids: readonly string[]): Promise<Map<string, CloudEni>> {
  const out = new Map<string, CloudEni>();
  let remaining = [...ids];
  for (let attempt = 0; attempt < DESCRIBE_TRIES && remaining.length > 0; attempt++) {
    try {
      for (const eni of await cloud.describeEnis(remaining)) out.set(eni.id, eni);
      return out;
    } catch (err) {
      if (!(err instanceof CloudError && err.code === 'InvalidNetworkInterfaceID.NotFound' && err.missingIds.length > 0)) throw err;
      remaining = remaining.filter((id) => !err.missingIds.includes(id));
    }
  }
  return out;
}

export interface EniSetupOptions {
  config: PodnetConfig;
  cloud: Cloud;
  imds: ImdsClient;
  datastore: Datastore;
  dataplane: NodeDataplane;
  metrics: IpamdMetrics;
  clock: Clock;
  retry: EniSetupRetry;
  log: Log;
  instance: Pick<ImdsInstanceFacts, 'instanceId' | 'primaryMac'>;
  /** The discovered subnets (§5.5), for whether an adopted ENI's subnet is excluded from pod addresses. */
  subnet: (subnetId: string) => SubnetFacts | undefined;
  /** Aborted when the node stops: no setup starts any more and the retries' pauses end at once. */
  stopping: AbortSignal;
}

export class EniSetup {
  /** Running setups, keyed by MAC (a created ENI by its id until IMDS tells its MAC). */
  private readonly running = new Map<string, Promise<void>>();

  constructor(private readonly o: EniSetupOptions) {}

  /** TagENI + datastore add + setupENI, for an ENI found attached (init: `setupTries` of upstream's 5; reconcile: 1). */
  async adopt(eni: ImdsEni, described: CloudEni | undefined, setupTries: number): Promise<void> {
    const { config, datastore } = this.o;
    const isPrimary = eni.mac === this.o.instance.primaryMac;
    const trunk = described?.interfaceType === 'trunk';
    const efa = described?.interfaceType === 'efa';
    if (!config.disableNetworkResourceProvisioning && !trunk && described) await this.tag(eni.eniId, described.tags);
    const subnet = this.o.subnet(eni.subnetId);
    datastore.addEni({
      id: eni.eniId, deviceNumber: eni.deviceNumber, networkCard: eni.networkCard, primary: isPrimary, trunk, efa,
      excluded: config.enableSubnetDiscovery && subnet !== undefined && isExcludedSubnet(subnet),
      subnetId: eni.subnetId, subnetCidr: eni.subnetCidr, primaryIp: eni.localIpv4s[0] ?? '', createdAt: this.o.clock.now(),
    });
    // with custom networking the primary ENI's prefixes are not read (awsutils.go:898, spec §5.1)
    for (const c of imdsCidrs(eni, isPrimary && config.customNetworkCfg)) datastore.addCidr(eni.eniId, c);
    if (!isPrimary) this.start({ ...eni, primaryIp: eni.localIpv4s[0] ?? '', ...(trunk && { trunk }) }, setupTries);
  }

  /**
   * A new ENI's MAC comes from IMDS, which can fail for a moment right after the attach; look it up in the
   * background with the link retries (§3.2 step 1) so a failed lookup never leaves the ENI without its route table.
   */
  setUpCreated(eniId: string): void {
    if (this.o.stopping.aborted || this.running.has(eniId)) return;
    const { linkAttempts, linkIntervalMs } = this.o.retry;
    const task = (async () => {
      for (let look = 1; ; look++) {
        const info = this.o.datastore.eniInfo(eniId);
        if (!info) return;
        try {
          const mac = (await this.o.imds.attachedEnis()).find((e) => e.eniId === eniId)?.mac;
          if (mac) return this.start({ mac, deviceNumber: info.deviceNumber, networkCard: info.networkCard, primaryIp: info.primaryIp, subnetCidr: info.subnetCidr }, 1);
          if (look >= linkAttempts) throw new PodnetError('LINK_NOT_FOUND', `IMDS does not list ENI ${eniId} after ${look} looks`);
        } catch (err) {
          if (look >= linkAttempts) {
            this.o.metrics.ipamdErrors.inc({ fn: 'setupENINetwork' });
            return this.o.log('error', `setting up ENI ${eniId}: ${describeError(err)}`);
          }
        }
        if (!(await this.pause(linkIntervalMs))) return;
      }
    })().finally(() => this.running.delete(eniId));
    this.running.set(eniId, task);
  }

  /** Resolves once every setup running now has ended. */
  async settled(): Promise<void> {
    await Promise.all(this.running.values());
  }

  /**
   * setupENI for a secondary ENI, started in the background; its addresses are in the datastore already
   * (podnet adds them first).
   */
  private start(eni: EniFacts, setupTries: number): void {
    if (this.o.stopping.aborted || this.running.has(eni.mac)) return;
    const task = this.setUpWithRetries(eni, setupTries).finally(() => this.running.delete(eni.mac));
    this.running.set(eni.mac, task);
  }

  private async setUpWithRetries(eni: EniFacts, setupTries: number): Promise<void> {
    const { linkAttempts, linkIntervalMs, setupIntervalMs } = this.o.retry;
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
        if (this.o.stopping.aborted) return;
        this.o.metrics.ipamdErrors.inc({ fn: 'setupENINetwork' });
        this.o.log('error', `setting up the route table of ENI ${eni.mac} (device ${eni.deviceNumber}) after ${look} look(s) for its link and ${setupTry} tr${setupTry === 1 ? 'y' : 'ies'}: ${describeError(err)}`);
        return;
      }
    }
  }

  /** Sleeps on the node's clock; false when the node's stop cut it short. */
  private async pause(ms: number): Promise<boolean> {
    if (this.o.stopping.aborted) return false;
    await this.o.clock.sleep(ms, this.o.stopping);
    return !this.o.stopping.aborted;
  }

  /** TagENI (§7.1): only missing or different keys; a failure is logged and counted, never fatal. */
  private async tag(eniId: string, current: CloudTags): Promise<void> {
    const missing = Object.fromEntries(Object.entries(this.ownerTags()).filter(([key, value]) => current[key] !== value));
    if (Object.keys(missing).length === 0) return;
    try {
      await this.o.cloud.createTags([eniId], missing);
    } catch (err) {
      this.o.metrics.ipamdErrors.inc({ fn: 'TagENI' });
      this.o.log('warn', `tagging ${eniId}: ${describeError(err)}`);
    }
  }

  /** The tags an ENI of this node carries (§7.2). */
  private ownerTags(): Record<string, string> {
    const { config } = this.o;
    return ownerTags({ instanceId: this.o.instance.instanceId, clusterName: config.clusterName, additionalTags: config.additionalEniTags });
  }
}
