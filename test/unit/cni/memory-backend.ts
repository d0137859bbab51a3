import { PodnetError } from '../../../src/lib/index.js';
import type { Allocation, AttachmentKey, CniBackend, HeldAttachment, PodIdentity, PodTeardown, PodWiring } from '../../../src/cni/index.js';

/**
 * A small in-memory node for handler tests: a free list of addresses, assignments by IPAM key, the set of network
 * namespaces that exist, and the wiring present per host veth. It records every call so tests can assert order.
 */
export class MemoryNode implements CniBackend {
  readonly calls: string[] = [];
  readonly free: string[];
  readonly assigned = new Map<string, HeldAttachment>();
  readonly wired = new Map<string, PodWiring>();
  readonly netnses = new Set<string>();
  notReady: string | null = null;
  /** Behave like a node whose ipamd cannot be reached: every address call fails with IPAMD_UNREACHABLE. */
  unreachable = false;
  /** Fail allocation with this error (ipamd's named causes). */
  allocationError: PodnetError | null = null;
  /** Make new assignments durable in the background, as ipamd's checkpoint does; this error fails that (and undoes them). */
  saveError: PodnetError | null | undefined = undefined;

  constructor(addresses: string[], readonly deviceNumber = 0) {
    this.free = [...addresses];
  }

  private reach(): void {
    if (this.unreachable) throw new PodnetError('IPAMD_UNREACHABLE', 'nothing accepts connections on ipamd\'s socket', 'start ipamd');
  }

  private keyText(k: AttachmentKey): string {
    return `${k.networkName}/${k.containerId}/${k.ifName}`;
  }

  async allocate(key: AttachmentKey, pod: PodIdentity): Promise<Allocation> {
    this.calls.push(`allocate ${key.containerId}`);
    this.reach();
    if (this.notReady) throw new PodnetError('IPAMD_NOT_READY', this.notReady, 'wait');
    if (this.allocationError) throw this.allocationError;
    const held = this.assigned.get(this.keyText(key));
    if (held) return { ...held.allocation, heldBefore: true };
    const address = this.free.shift();
    if (!address) throw new PodnetError('NO_FREE_ADDRESS', 'the warm pool has 0 free addresses', 'raise WARM_IP_TARGET');
    const allocation: Allocation = {
      address,
      eniId: 'eni-0a1',
      deviceNumber: this.deviceNumber,
      routeTable: this.deviceNumber === 0 ? 254 : this.deviceNumber + 1,
      vpcCidrs: ['10.0.0.0/16'],
      useExternalSnat: false,
    };
    this.assigned.set(this.keyText(key), { key, pod, allocation });
    if (this.saveError === undefined) return allocation;
    const error = this.saveError;
    const saved = new Promise<void>((resolve, reject) => setImmediate(() => {
      this.calls.push(`saved ${key.containerId}${error ? ' failed' : ''}`);
      if (!error) return resolve();
      this.assigned.delete(this.keyText(key));
      this.free.push(address);
      reject(error);
    }));
    return { ...allocation, saved };
  }

  async lookup(key: AttachmentKey): Promise<Allocation | null> {
    this.calls.push(`lookup ${key.containerId}`);
    this.reach();
    // as ipamd: before its checkpoint is loaded it cannot say whether it holds the key
    if (this.notReady) throw new PodnetError('IPAMD_NOT_READY', this.notReady, 'wait');
    return this.assigned.get(this.keyText(key))?.allocation ?? null;
  }

  async release(key: AttachmentKey): Promise<Allocation | null> {
    this.calls.push(`release ${key.containerId}`);
    this.reach();
    const held = this.assigned.get(this.keyText(key));
    if (!held) return null;
    this.assigned.delete(this.keyText(key));
    this.free.push(held.allocation.address);
    return held.allocation;
  }

  async attachments(networkName: string): Promise<HeldAttachment[]> {
    this.calls.push(`attachments ${networkName}`);
    return [...this.assigned.values()].filter((a) => a.key.networkName === networkName);
  }

  async wire(pod: PodWiring): Promise<void> {
    this.calls.push(`wire ${pod.hostVethName} ${pod.address}`);
    // the veth is created before the pod side is configured, so a missing netns leaves a host link to undo
    this.wired.set(pod.hostVethName, pod);
    if (!this.netnses.has(pod.netns)) throw new PodnetError('NETNS_NOT_FOUND', `network namespace ${pod.netns} does not exist`, 'the runtime removed the sandbox');
  }

  async unwire(pod: PodTeardown): Promise<void> {
    const address = pod.held === undefined ? `claimed:${pod.claimedAddress ?? '-'}` : (pod.held?.address ?? '-');
    this.calls.push(`unwire ${pod.hostVethName} ${address} ${pod.held?.routeTable ?? '-'}`);
    this.wired.delete(pod.hostVethName);
  }

  async checkWiring(pod: PodWiring): Promise<string[]> {
    this.calls.push(`check ${pod.hostVethName}`);
    const w = this.wired.get(pod.hostVethName);
    if (!w) return [`host veth ${pod.hostVethName} does not exist`];
    return w.address === pod.address ? [] : [`pod address ${w.address} is not ${pod.address}`];
  }

  /** Namespaces are only names here: the node's own is refused as the dataplane refuses it; a missing one fails in wire(). */
  checkNetns(netns: string): void {
    if (netns === '/proc/self/ns/net') throw new PodnetError('INVALID_INPUT', `CNI_NETNS ${netns} is the host's network namespace (the one podnet runs in), not a pod's`, 'pass the pod sandbox netns');
  }

  async status() {
    return this.notReady ? { ready: false, reason: this.notReady } : { ready: true };
  }
}
