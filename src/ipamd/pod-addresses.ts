/**
 * The pod side of ipamd (AddNetwork / DelNetwork, spec §6.2): addresses given and taken back with named causes
 * (§4.11), each change written to the checkpoint before the answer (§6.4), and the checkpoint read back at start.
 */
import { rename } from 'node:fs/promises';
import { checkpointOf, podLinkSuffix, readCheckpoint, restoreCheckpoint, writeCheckpoint, type Assignment, type Checkpoint, type Clock, type Datastore, type IpamKey, type IpamMetadata, type PoolManager } from '../ipam/index.js';
import type { PodnetConfig } from '../config/index.js';
import { eniRouteTable } from '../dataplane/index.js';
import { PodnetError } from '../lib/index.js';
import { describeError, type Log } from './log.js';
import type { IpamdMetrics } from './metrics.js';
import type { NodeDataplane } from './node-dataplane.js';

/** What a pod gets (AddNetworkReply, spec §6.2). */
export interface PodAddress {
  assignment: Assignment;
  routeTable: number;
  /** VPC CIDRs plus AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS, unless external SNAT is on. */
  vpcCidrs: string[];
  useExternalSnat: boolean;
}

/** The node's state the pod side reads at each call; the node changes it. */
export interface NodeState {
  /** Node init is done: ENIs, addresses and the checkpoint are loaded. */
  ready: boolean;
  stopping: boolean;
  /** Built during node init; from then on it names why no address is free. */
  manager: PoolManager | undefined;
  vpcCidrs: string[];
}

export interface PodAddressesOptions {
  config: PodnetConfig;
  datastore: Datastore;
  dataplane: NodeDataplane;
  metrics: IpamdMetrics;
  clock: Clock;
  log: Log;
  node: Readonly<NodeState>;
  /** Called after an assignment was given or taken back (the node updates its gauges). */
  changed: () => void;
}

/** Writes the checkpoint after every change; writes coalesce, and each caller waits for one that includes it. */
export class CheckpointWriter {
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

export class PodAddresses {
  readonly checkpoint: CheckpointWriter;

  constructor(private readonly o: PodAddressesOptions) {
    this.checkpoint = new CheckpointWriter(o.config.backingStore, () => checkpointOf(o.datastore.assignments()));
  }

  /**
   * Assigns an address (the same one again for the same key); never calls EC2, and failures name their cause. The
   * address comes at once; `saved` resolves once the checkpoint holds it (and rejects, the assignment undone, when it
   * cannot be written). The CNI handler wires the pod meanwhile and answers only after both.
   */
  assignNow(key: IpamKey, metadata: IpamMetadata): { address: PodAddress; saved: Promise<void>; heldBefore: boolean } {
    const { metrics, clock, datastore, node } = this.o;
    metrics.addIpRequests.inc();
    if (!node.ready || !node.manager) throw notReady(node);
    if (node.stopping) throw new PodnetError('IPAMD_NOT_READY', 'ipamd is shutting down', 'the kubelet retries the pod once ipamd is back');
    // a repeated ADD gets the address its key holds: nothing changes, and a failure must not undo the earlier ADD
    const heldBefore = datastore.findAssignment(key) !== undefined;
    const a = datastore.assign(key, metadata, clock.now());
    if (!a) {
      metrics.noAvailableIpAddresses.inc();
      throw node.manager.whyNoAddress(true);
    }
    const saved = heldBefore ? Promise.resolve() : this.persist(() => datastore.unassign(key, clock.now())).finally(() => this.o.changed());
    return { address: this.podAddress(a), saved, heldBefore };
  }

  /** Releases the key's address; undefined for a container ipamd does not know (DEL is idempotent). */
  async release(key: IpamKey, reason = 'PodDeleted'): Promise<PodAddress | undefined> {
    this.requireReady();
    const { datastore } = this.o;
    this.o.metrics.delIpRequests.inc({ reason });
    const a = datastore.unassign(key, this.o.clock.now());
    if (!a) return undefined;
    await this.persist(() => datastore.restoreAssignment({ key: a.key, metadata: a.metadata, address: a.address, assignedAtNs: a.assignedAtNs }));
    this.o.changed();
    return this.podAddress(a);
  }

  /**
   * The key's address; undefined when ipamd holds none. Before node init has restored the checkpoint the answer is
   * unknown, so this throws IPAMD_NOT_READY: a DEL then changes nothing and the runtime retries (class 7 of issue 10).
   */
  lookup(key: IpamKey): PodAddress | undefined {
    this.requireReady();
    const a = this.o.datastore.findAssignment(key);
    return a && this.podAddress(a);
  }

  /** Throws IPAMD_NOT_READY (with the cause when known) until node init is done. */
  requireReady(): void {
    if (!this.o.node.ready) throw notReady(this.o.node);
  }

  /**
   * ReadBackingStore (§6.4) into the datastore IMDS/EC2 built, then a first write. A corrupt file is kept aside and
   * returned as the problem it is (the node reports it); pods whose host veth is gone are unwired and dropped.
   */
  async restore(): Promise<PodnetError | undefined> {
    const { config, datastore, dataplane, log } = this.o;
    const path = config.backingStore;
    let cp: Checkpoint | undefined;
    let problem: PodnetError | undefined;
    try {
      cp = await readCheckpoint(path);
    } catch (err) {
      if (!(err instanceof PodnetError && err.code === 'CHECKPOINT_CORRUPT')) throw err;
      const aside = `${path}.corrupt-${new Date(this.o.clock.now()).toISOString().replace(/[:.]/g, '')}`;
      await rename(path, aside).catch(() => undefined);
      problem = new PodnetError('CHECKPOINT_CORRUPT', `${err.message}; moved to ${aside}; the datastore was rebuilt from IMDS/EC2 with ${datastore.eniInfos().length} ENIs and no pod assignments`, err.hint);
      this.o.metrics.ipamdErrors.inc({ fn: 'nodeInit' });
      log('error', `${problem.message} (hint: ${problem.hint})`);
    }
    if (cp) {
      // without a dataplane there are no host links to check, so every recorded pod counts as live
      const links = (await dataplane.hostLinkNames()) ??
        cp.allocations.map((a) => podLinkSuffix(a.metadata.k8sPodNamespace ?? '', a.metadata.k8sPodName ?? ''));
      const result = restoreCheckpoint(datastore, cp, links);
      for (const a of result.unknown) log('warn', `checkpoint: ${a.ipv4 ?? a.ipv6} of container ${a.containerID} is on no attached ENI any more (removed outside podnet); dropped`);
      for (const a of result.stale) {
        // the address is free only once the rules that point at it are gone: a pod given it meanwhile would inherit them
        const removed = a.ipv4 === undefined || (await dataplane.unwirePod({ hostVeth: config.vethPrefix + podLinkSuffix(a.metadata.k8sPodNamespace!, a.metadata.k8sPodName!), recordsKnown: true, ownedIp: a.ipv4 }).then(
          () => true,
          (err: unknown) => {
            log('warn', `checkpoint: pod ${a.metadata.k8sPodNamespace}/${a.metadata.k8sPodName} has no host veth any more, but its rules could not be removed (${describeError(err)}); keeping ${a.ipv4} assigned until a DEL or GC removes them`);
            return false;
          },
        ));
        if (removed) log('info', `checkpoint: pod ${a.metadata.k8sPodNamespace}/${a.metadata.k8sPodName} has no host veth any more; dropped its address ${a.ipv4}`);
        else datastore.restoreAssignment({ key: { networkName: a.networkName, containerId: a.containerID, ifName: a.ifName }, metadata: a.metadata, address: a.ipv4!, assignedAtNs: a.allocationTimestamp });
      }
      log('info', `checkpoint: restored ${result.restored.length} pod address(es), dropped ${result.unknown.length + result.stale.length}`);
    }
    await this.checkpoint.request();
    return problem;
  }

  /** Removes the rules of a pod whose address reconcile force-removed; a failure is logged, never fatal. */
  async unwireLost(a: Assignment): Promise<void> {
    const { k8sPodNamespace: ns, k8sPodName: name } = a.metadata;
    if (!ns || !name) return;
    await this.o.dataplane.unwirePod({ hostVeth: this.o.config.vethPrefix + podLinkSuffix(ns, name), recordsKnown: true, ownedIp: a.address }).catch((err: unknown) =>
      this.o.log('warn', `could not remove the wiring of ${ns}/${name}: ${describeError(err)}`));
  }

  /** Rewrites the checkpoint; on failure undoes the change, as upstream rolls back (§4.11). */
  private async persist(undo: () => unknown): Promise<void> {
    try {
      await this.checkpoint.request();
    } catch (err) {
      undo();
      throw new PodnetError('FAILED', `cannot write the IPAM checkpoint ${this.o.config.backingStore}: ${describeError(err)}`,
        'check the disk and the directory permissions; the pod was not given an address', { cause: err });
    }
  }

  private podAddress(a: Assignment): PodAddress {
    const { config } = this.o;
    const exclude = config.externalSnat ? [] : config.excludeSnatCidrs;
    return {
      assignment: a,
      routeTable: eniRouteTable(a.deviceNumber, a.networkCard),
      vpcCidrs: [...this.o.node.vpcCidrs, ...exclude],
      useExternalSnat: config.externalSnat,
    };
  }
}

/** IPAMD_NOT_READY: the manager's cause once node init has built it, else "init not finished". */
export function notReady(node: Pick<NodeState, 'manager'>): PodnetError {
  if (node.manager) return node.manager.whyNoAddress(false);
  return new PodnetError('IPAMD_NOT_READY', 'ipamd has not finished node initialisation (ENIs, addresses and the checkpoint are not loaded yet)',
    'the kubelet retries the pod; if this lasts, check the ipamd log for IMDS or EC2 errors');
}
