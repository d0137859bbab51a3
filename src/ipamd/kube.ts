/**
 * ipamd's Kubernetes side, the same code on EKS (in-cluster service account) and in the lab (a kubeconfig): its own
 * Node (labels and annotations for the ENIConfig choice, the unschedulable taint, capacity pods), the ENIConfig
 * objects (custom networking), its CNINode's features (security groups for pods) and ANNOTATE_POD_IP's pod
 * annotation. Objects come from informers (src/k8s), so a watch that expires or an API server that restarts is
 * caught up with; while the API server is away ipamd keeps serving pods with what it last saw.
 *
 * RBAC it uses (deploy/'s ClusterRole aws-node must grant these, and needs no more for ipamd):
 *   ""                         nodes       list, watch          its own Node, by fieldSelector metadata.name
 *   crd.k8s.amazonaws.com      eniconfigs  list, watch          only with AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG=true
 *   vpcresources.k8s.aws       cninodes    get, create, patch   only with ENABLE_POD_ENI=true
 *   ""                         pods        patch                only with ANNOTATE_POD_IP=true
 *   ""                         pods        get                  only with ENABLE_POD_ENI=true (the pod-eni annotation at ADD)
 */
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import type { PodnetConfig } from '../config/index.js';
import { PodnetError } from '../lib/index.js';
import { apiCode, describeKubeError, mergePatch, watchObjects, type ObjectWatch } from '../k8s/index.js';
import type { EniConfig, EniConfigFile } from './eni-config.js';
import { clearPodIpsPatch, eniConfigOf, isUnschedulable, mergeFeatures, nodeFacts, podIpsPatch, type CniNodeFeature, type CniNodeObject, type EniConfigObject, type NodeObject } from './kube-objects.js';
import type { Log } from './log.js';
import type { PodEniFacts } from './pod-eni.js';

const CNINODE = { group: 'vpcresources.k8s.aws', version: 'v1alpha1', plural: 'cninodes' } as const;

export interface IpamdKubeOptions {
  kc: KubeConfig;
  /** MY_NODE_NAME. */
  nodeName: string;
  config: PodnetConfig;
  log: Log;
  /** Longest wait between attempts to reach the API server (default 5 s). */
  maxBackoffMs?: number;
}

/** What /v1/kubernetes (introspection) shows. */
export interface KubeStatus {
  /** The API server answers the watches now. */
  connected: boolean;
  /** Why not, or what was last done. */
  reason: string;
  /** When `connected` last changed (ISO time). */
  since: string;
  node: string;
  /** The Node was seen (its labels, annotations and capacity are known). */
  nodeSeen: boolean;
  unschedulable: boolean;
  eniConfigs: string[];
  features: CniNodeFeature[];
}

export class IpamdKube {
  private node: NodeObject | undefined;
  private readonly eniConfigs = new Map<string, EniConfig>();
  private readonly watches: Array<Pick<ObjectWatch<unknown>, 'stop'>> = [];
  private readonly up = new Map<string, { up: boolean; reason: string }>();
  private connection = { connected: false, reason: 'not started', since: new Date().toISOString() };
  /** The Node (and ENIConfigs) were seen: ipamd no longer waits for the API server, whatever node init still does. */
  private objectsKnown = false;
  /** Initialisation is done: from then on a lost API server means degraded, not "not ready". */
  private serving = false;
  private readonly listeners: Array<() => void> = [];
  private advertised: CniNodeFeature[] = [];
  private readonly core: CoreV1Api;
  private readonly custom: CustomObjectsApi;

  constructor(private readonly o: IpamdKubeOptions) {
    this.core = o.kc.makeApiClient(CoreV1Api);
    this.custom = o.kc.makeApiClient(CustomObjectsApi);
  }

  private known: Promise<void> = new Promise(() => undefined);

  /** Resolves once the Node (and the ENIConfigs, with custom networking) are known; it waits as long as that takes. */
  ready(): Promise<void> {
    return this.known;
  }

  /** Starts the informers; they keep trying to reach the API server until stop(). */
  start(): void {
    const { kc, nodeName, config } = this.o;
    const node = watchObjects<NodeObject>(kc, {
      path: '/api/v1/nodes',
      fieldSelector: `metadata.name=${nodeName}`,
      maxBackoffMs: this.o.maxBackoffMs,
      onEvent: (type, obj) => {
        const before = this.node;
        this.node = type === 'DELETED' ? undefined : obj;
        if (before && this.node && isUnschedulable(before) !== isUnschedulable(this.node)) {
          this.o.log('info', `node ${nodeName} is ${isUnschedulable(this.node) ? 'unschedulable' : 'schedulable again'}: ${config.manageEnisNonSchedulable ? 'ENIs are managed anyway (AWS_MANAGE_ENIS_NON_SCHEDULABLE=true)' : isUnschedulable(this.node) ? 'no ENI or address is attached or ENI freed until it is schedulable (AWS_MANAGE_ENIS_NON_SCHEDULABLE=false)' : 'ENIs are managed again'}`);
        }
        this.changed();
      },
      onConnection: (up, reason) => this.connectionChanged('node', up, reason),
    });
    this.watches.push(node);
    const waits: Promise<void>[] = [this.nodeSeen(node)];
    if (config.customNetworkCfg) {
      const eniConfigs = watchObjects<EniConfigObject>(kc, {
        path: '/apis/crd.k8s.amazonaws.com/v1alpha1/eniconfigs',
        maxBackoffMs: this.o.maxBackoffMs,
        onEvent: (type, obj) => {
          const name = obj.metadata?.name ?? '';
          this.eniConfigs.delete(name);
          if (type !== 'DELETED') {
            const parsed = eniConfigOf(obj);
            if ('invalid' in parsed) this.o.log('warn', `${parsed.invalid}; ignored`);
            else this.eniConfigs.set(name, parsed);
          }
          this.changed();
        },
        onConnection: (up, reason) => this.connectionChanged('eniconfigs', up, reason),
      });
      this.watches.push(eniConfigs);
      waits.push(eniConfigs.synced);
    }
    this.known = Promise.all(waits).then(() => {
      this.objectsKnown = true;
    });
  }

  /** Resolves once the Node is there: an informer synced without it means the node is not registered yet. */
  private nodeSeen(watch: ObjectWatch<NodeObject>): Promise<void> {
    return new Promise((resolve) => {
      const check = () => {
        const at = this.listeners.indexOf(check);
        if (at < 0) return;
        if (this.node) {
          this.listeners.splice(at, 1);
          resolve();
        } else if (this.connection.connected) {
          this.connection.reason = `Node ${this.o.nodeName} is not in the API server (yet): MY_NODE_NAME must be this node's name`;
        }
      };
      this.listeners.push(check);
      void watch.synced.then(check);
    });
  }

  /** Marks start-up done: a later loss of the API server is logged as degraded service. */
  serve(): void {
    this.serving = true;
  }

  /** Why ipamd cannot initialise yet, while it waits for the API server (undefined once the objects are known). */
  waitingFor(): string | undefined {
    if (this.objectsKnown) return undefined;
    return `waiting for the Kubernetes API server (${this.connection.reason})`;
  }

  /** While serving without the API server: what that means, for readiness (still ready) — else undefined. */
  degraded(): string | undefined {
    if (!this.serving || this.connection.connected) return undefined;
    return `Kubernetes API server unreachable (${this.connection.reason}): serving pods from the warm pool with the node labels and ENIConfigs last seen`;
  }

  /** The Node and ENIConfigs as the ENIConfig file would give them; undefined until the Node was seen. */
  objects(): EniConfigFile | undefined {
    if (!this.node) return undefined;
    return { node: nodeFacts(this.node), eniConfigs: [...this.eniConfigs.values()] };
  }

  unschedulable(): boolean {
    return this.node !== undefined && isUnschedulable(this.node);
  }

  /** Called after every change of the Node or an ENIConfig. */
  onChange(fn: () => void): void {
    this.listeners.push(fn);
  }

  status(): KubeStatus {
    return {
      ...this.connection,
      node: this.o.nodeName,
      nodeSeen: this.node !== undefined,
      unschedulable: this.unschedulable(),
      eniConfigs: [...this.eniConfigs.keys()].sort(),
      features: this.advertised,
    };
  }

  /**
   * Makes the CNINode named after the node carry these features (created if missing; others' features kept). Only
   * calls the API server when they differ from what was last advertised; a failure is retried at the next call.
   */
  async advertise(features: CniNodeFeature[]): Promise<void> {
    if (features.length === 0 || !mergeFeatures(this.advertised, features)) return;
    const name = this.o.nodeName;
    let current: CniNodeObject | undefined;
    try {
      current = (await this.custom.getClusterCustomObject({ ...CNINODE, name })) as CniNodeObject;
    } catch (err) {
      if (apiCode(err) !== 404) throw err;
    }
    if (!current) {
      await this.custom.createClusterCustomObject({ ...CNINODE, body: { apiVersion: `${CNINODE.group}/${CNINODE.version}`, kind: 'CNINode', metadata: { name }, spec: { features } } });
    } else {
      const merged = mergeFeatures(current.spec?.features ?? [], features);
      // the resourceVersion makes a concurrent writer's change a 409 rather than lost; the next call reads again
      if (merged) await this.custom.patchClusterCustomObject({ ...CNINODE, name, body: { metadata: { resourceVersion: current.metadata?.resourceVersion }, spec: { features: merged } } }, mergePatch);
    }
    this.o.log('info', `CNINode ${name}: features ${features.map((f) => (f.value === undefined ? f.name : `${f.name}=${f.value}`)).join(', ')}`);
    this.advertised = features;
  }

  /**
   * ENABLE_POD_ENI's read at ADD (upstream AddNetwork GETs the pod, §5.2): the pod's annotations and its first
   * container's limits, straight from the API server (the controller annotates the pod just before the kubelet's
   * ADD, so no informer's copy will do). An API server that cannot answer is the pod's to retry (not ready).
   */
  async readPod(namespace: string, name: string): Promise<PodEniFacts> {
    try {
      const pod = await this.core.readNamespacedPod({ namespace, name });
      const limits = pod.spec?.containers?.[0]?.resources?.limits ?? {};
      return { annotations: pod.metadata?.annotations ?? {}, limits: Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, String(v)])) };
    } catch (err) {
      throw new PodnetError('IPAMD_NOT_READY', `ENABLE_POD_ENI: pod ${namespace}/${name} cannot be read from the API server: ${describeKubeError(err)}`, 'ipamd reads each pod at ADD to learn whether it has a branch ENI; the kubelet retries the pod');
    }
  }

  /** ANNOTATE_POD_IP on ADD: vpc.amazonaws.com/pod-ips = the pod's address. Failures are logged, never the pod's. */
  async annotatePod(namespace: string, name: string, ip: string): Promise<void> {
    try {
      await this.core.patchNamespacedPod({ namespace, name, body: podIpsPatch(ip) }, mergePatch);
    } catch (err) {
      this.o.log('warn', `ANNOTATE_POD_IP: pod ${namespace}/${name} not annotated with ${ip}: ${describeKubeError(err)}`);
    }
  }

  /** ANNOTATE_POD_IP on DEL: the annotation emptied if it still names the released address. */
  async clearPodAnnotation(namespace: string, name: string, ip: string): Promise<void> {
    try {
      await this.core.patchNamespacedPod({ namespace, name, body: clearPodIpsPatch(ip) }, setHeaderOptions('Content-Type', PatchStrategy.JsonPatch));
    } catch (err) {
      // gone with its pod, or naming another address now (the patch's test failed): nothing to clear
      if (apiCode(err) === 404 || apiCode(err) === 422) return;
      this.o.log('warn', `ANNOTATE_POD_IP: pod ${namespace}/${name}'s annotation ${ip} not cleared: ${describeKubeError(err)}`);
    }
  }

  async stop(): Promise<void> {
    await Promise.all(this.watches.map((w) => w.stop()));
  }

  private changed(): void {
    for (const fn of [...this.listeners]) fn();
  }

  /** The API server is reachable when every watch is up; the log says so on each change, and what it means for pods. */
  private connectionChanged(watch: string, up: boolean, reason: string): void {
    this.up.set(watch, { up, reason });
    const down = [...this.up.values()].find((w) => !w.up);
    const connected = down === undefined;
    const was = this.connection.connected;
    this.connection = { connected, reason: down?.reason ?? reason, since: connected === was ? this.connection.since : new Date().toISOString() };
    if (connected === was && connected) return;
    if (connected) {
      this.o.log('info', `Kubernetes API server reachable (${reason})${this.serving ? ': node labels, ENIConfigs and capacity are current again' : ''}`);
    } else if (this.serving) {
      this.o.log('warn', `Kubernetes API server unreachable, retrying: ${this.connection.reason}; ipamd keeps serving pods from its warm pool with the node labels and ENIConfigs last seen (degraded)`);
    } else if (this.objectsKnown) {
      this.o.log('warn', `Kubernetes API server unreachable, retrying: ${this.connection.reason}; node init goes on with the node labels and ENIConfigs last seen`);
    } else {
      this.o.log('warn', `Kubernetes API server unreachable, retrying: ${this.connection.reason}; ipamd is not ready until it answers`);
    }
    this.changed();
  }
}
