/**
 * `podnet sgp-controller`: the VPC resource controller's part in security groups for pods, for the lab and for
 * self-managed clusters (on EKS AWS runs its own, managed). It watches CNINodes, Nodes and Pods (src/k8s informers)
 * and acts through EC2 (@aws-sdk/client-ec2, rate limited like upstream's) and the API server:
 *
 * - a node whose CNINode advertises SecurityGroupsForPods gets a trunk ENI (created and attached unless one is),
 *   the label vpc.amazonaws.com/has-trunk-attached=true and the extended resource vpc.amazonaws.com/pod-eni = the
 *   type's branch limit; a type that cannot trunk gets an Event (Unsupported) and nothing else;
 * - a scheduled pod requesting pod-eni gets a branch ENI (its policies' groups, checked to exist), associated with the
 *   trunk on a free VLAN id, and the pod-eni annotation; a failure is an Event naming the cause, leaves nothing
 *   half-made and is retried with backoff;
 * - a deleted pod's branches are disassociated and deleted after the cooldown;
 * - the leaked-branch collector (at start and every interval) deletes tagged branches no live pod holds.
 *
 * Every decision is in decide.ts; this file only reads, calls and records.
 */
import { EC2Client } from '@aws-sdk/client-ec2';
import {
  AdmissionregistrationV1Api, AuthenticationV1Api, CoreV1Api, CustomObjectsApi, type KubeConfig, type V1MutatingWebhookConfiguration, type V1ValidatingWebhookConfiguration,
} from '@kubernetes/client-node';
import { apiCode, describeKubeError, eventBody, mergePatch, watchObjects, type ObjectWatch } from '../k8s/index.js';
import { lookupInstanceType, trunkLimits } from '../limits/index.js';
import {
  backoffMs, branchRoom, decidePod, formatAnnotation, freeVlanId, HAS_TRUNK_ATTACHED, leakedBranches, parseAnnotation, POD_ENI, SGP_FEATURE, trunkDeviceIndex,
  matchingGroups, type BranchEni, type PodLike, type SecurityGroupPolicy,
} from './decide.js';
import { associateBranch, createBranch, createTrunk, deleteBranch, describeNodeInstance, Ec2CallError, missingGroups, taggedBranches, trunkAssociations, type NodeInstance } from './ec2.js';
import { DEFAULT_RATE_LIMIT, rateLimitClient, TokenBucket, type RateLimit } from './rate-limit.js';
import { createWebhookTls } from './tls.js';
import { startWebhookServer, VALIDATE_PATH, WEBHOOK_PATH, type WebhookServer } from './webhook.js';

export type Log = (level: 'info' | 'warn' | 'error', message: string) => void;

export interface SgpControllerOptions {
  kc: KubeConfig;
  /** EC2: endpoint (never a default AWS endpoint in tests), region and credentials, explicit. */
  ec2: { endpoint?: string; region: string; credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string } };
  /** Names this controller's ENIs (tag podnet.io/sgp-controller-cluster), so two clusters in one account never collect each other's. */
  cluster: string;
  /**
   * The webhooks' HTTPS listener and the URL the API server calls them at (default https://<listen>); false: no
   * webhooks. identity: the username that may write the pod-eni annotation (default: who kc authenticates as, from a
   * SelfSubjectReview).
   */
  webhook: { listen: { host: string; port: number }; url?: string; serverNames?: string[]; identity?: string } | false;
  /** How long a deleted pod's branch ENIs wait before they are released (upstream's branch-eni-cooldown, 60 s). */
  branchCooldownMs?: number;
  rateLimit?: RateLimit;
  /** How often the leaked-branch collector runs (default 300 s; it also runs at start). */
  gcIntervalMs?: number;
  /** Backoff of failed reconciles (default 500 ms doubling to 30 s). */
  retry?: { baseMs: number; maxMs: number };
  log: Log;
}

export interface SgpControllerStatus {
  trunks: Record<string, string>;
  pendingReleases: number;
  ec2Calls: number;
  rateLimited: { calls: number; ms: number };
  webhook: Record<'mutated' | 'allowed' | 'denied' | 'bad-request', number>;
  /** The validating webhook's answers (pod-eni annotation writes). */
  validation: Record<'allowed' | 'denied', number>;
}

export interface SgpController {
  /** https://host:port/mutate-v1-pod, as registered; undefined without a webhook. */
  webhookUrl: string | undefined;
  caPem: string | undefined;
  /** https://host:port/validate-v1-pod, as registered; undefined without a webhook. */
  validateUrl: string | undefined;
  /** The username whose updates may write the pod-eni annotation; undefined without a webhook. */
  identity: string | undefined;
  status(): SgpControllerStatus;
  /** One run of the leaked-branch collector; the ENIs it deleted. */
  collectLeaks(): Promise<string[]>;
  stop(): Promise<void>;
}

export const WEBHOOK_CONFIGURATION = 'podnet-sgp-controller';
export const WEBHOOK_NAME = 'mpod.vpc.k8s.aws';
export const VALIDATING_WEBHOOK_NAME = 'vpod.vpc.k8s.aws';
const COMPONENT = 'podnet-sgp-controller';
const CNINODES = '/apis/vpcresources.k8s.aws/v1alpha1/cninodes';
const SGP = { group: 'vpcresources.k8s.aws', version: 'v1beta1', plural: 'securitygrouppolicies' } as const;

interface NodeObject { metadata?: { name?: string; uid?: string; labels?: Record<string, string> }; spec?: { providerID?: string }; status?: { capacity?: Record<string, string>; allocatable?: Record<string, string> } }
interface CniNodeObject { metadata?: { name?: string }; spec?: { features?: Array<{ name?: string; value?: string }> } }
type PodObject = PodLike & { metadata?: PodLike['metadata'] & { resourceVersion?: string } };

interface Trunk { trunkId: string; node: NodeInstance; branchLimit: number }

interface Involved { kind: 'Node' | 'Pod'; name: string; namespace?: string; uid?: string }

/** Fails the current reconcile with a sentence already reported (as an Event); the queue retries it with backoff. */
class Retry extends Error {}

const podKey = (p: PodLike) => `${p.metadata?.namespace ?? 'default'}/${p.metadata?.name ?? ''}`;

export async function startSgpController(o: SgpControllerOptions): Promise<SgpController> {
  const log = o.log;
  const cooldownMs = o.branchCooldownMs ?? 60_000;
  const retry = o.retry ?? { baseMs: 500, maxMs: 30_000 };
  const core = o.kc.makeApiClient(CoreV1Api);
  const custom = o.kc.makeApiClient(CustomObjectsApi);
  const admission = o.kc.makeApiClient(AdmissionregistrationV1Api);
  const ec2 = new EC2Client({ region: o.ec2.region, maxAttempts: 1, ...(o.ec2.endpoint && { endpoint: o.ec2.endpoint }), ...(o.ec2.credentials && { credentials: o.ec2.credentials }) });
  const bucket = new TokenBucket(o.rateLimit ?? DEFAULT_RATE_LIMIT);
  rateLimitClient(ec2, bucket);
  let ec2Calls = 0;
  ec2.middlewareStack.add((next) => async (args) => { ec2Calls++; return next(args); }, { step: 'initialize', name: 'podnetSgpCount' });

  const nodes = new Map<string, NodeObject>();
  const cninodes = new Map<string, CniNodeObject>();
  const pods = new Map<string, PodObject>();
  const trunks = new Map<string, Trunk>();
  const unsupported = new Map<string, string>();
  /** Branch ENIs being made now (never collected) and VLAN ids reserved per trunk. */
  const inFlight = new Set<string>();
  const reservedVlans = new Map<string, Set<number>>();
  /** Branches of deleted pods waiting for the cooldown: eniId → association and due time. */
  const releases = new Map<string, { associationId: string; dueAt: number }>();
  const webhookCounts = { mutated: 0, allowed: 0, denied: 0, 'bad-request': 0 };
  const validationCounts = { allowed: 0, denied: 0 };
  let stopped = false;

  // ---- Events (one per distinct message per object, so retries do not flood) ----
  const lastEvent = new Map<string, string>();
  async function event(on: Involved, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const key = `${on.kind}/${on.namespace ?? ''}/${on.name}`;
    if (lastEvent.get(key) === `${reason} ${message}`) return;
    lastEvent.set(key, `${reason} ${message}`);
    log(type === 'Warning' ? 'warn' : 'info', `${on.kind.toLowerCase()} ${on.namespace ? `${on.namespace}/` : ''}${on.name}: ${reason}: ${message}`);
    const body = eventBody({ involved: { kind: on.kind, apiVersion: 'v1', metadata: { name: on.name, namespace: on.namespace, uid: on.uid } }, type, reason, message, component: COMPONENT });
    await core.createNamespacedEvent({ namespace: body.metadata!.namespace!, body }).catch((err: unknown) => log('warn', `could not record Event ${reason} on ${key}: ${describeKubeError(err)}`));
  }

  // ---- the work queue: one run per key at a time, failures retried with backoff ----
  const queue = new Map<string, { timer?: NodeJS.Timeout; failures: number; running: boolean; again: boolean }>();
  const handlers: Record<string, (id: string) => Promise<void>> = {};
  function enqueue(key: string, delayMs = 0): void {
    if (stopped) return;
    const item = queue.get(key) ?? { failures: 0, running: false, again: false };
    queue.set(key, item);
    if (item.running) {
      item.again = true;
      return;
    }
    if (item.timer) {
      if (delayMs > 0) return; // already due; a retry does not postpone it
      clearTimeout(item.timer);
    }
    item.timer = setTimeout(() => void runKey(key), delayMs);
  }
  async function runKey(key: string): Promise<void> {
    const item = queue.get(key);
    if (!item || stopped) return;
    item.timer = undefined;
    item.running = true;
    item.again = false;
    const [kind, id] = [key.slice(0, key.indexOf(':')), key.slice(key.indexOf(':') + 1)];
    let failed = false;
    try {
      await handlers[kind]!(id);
    } catch (err) {
      failed = true;
      if (!(err instanceof Retry)) log('warn', `${key}: ${err instanceof Error ? err.message : String(err)} (retrying)`);
    }
    item.running = false;
    if (stopped) return;
    if (failed) {
      item.failures += 1;
      enqueue(key, backoffMs(item.failures, retry.baseMs, retry.maxMs));
    } else if (item.again) {
      enqueue(key);
    } else {
      queue.delete(key);
    }
  }

  // ---- nodes: the trunk, the label, the capacity ----
  handlers['node'] = async (name) => {
    const node = nodes.get(name);
    const wants = cninodes.get(name)?.spec?.features?.some((f) => f.name === SGP_FEATURE) ?? false;
    if (!node || !wants) return;
    const involved: Involved = { kind: 'Node', name, uid: node.metadata?.uid };
    const instanceId = node.spec?.providerID?.split('/').pop() ?? '';
    if (!/^i-[0-9a-f]+$/.test(instanceId)) {
      await event(involved, 'Warning', 'TrunkENICreationFailed', `the Node has no providerID naming an EC2 instance (aws:///<zone>/i-…): ${JSON.stringify(node.spec?.providerID ?? '')}`);
      throw new Retry();
    }
    let instance: NodeInstance;
    try {
      instance = await describeNodeInstance(ec2, instanceId);
    } catch (err) {
      await event(involved, 'Warning', 'TrunkENICreationFailed', `Failed to describe instance ${instanceId}: ${ec2Cause(err)}`);
      throw new Retry();
    }
    const limits = trunkLimits(instance.instanceType);
    if (!limits.listed || !limits.trunkingCompatible || !limits.branchInterfaces) {
      unsupported.set(name, instance.instanceType);
      // upstream's IsInstanceSupported: found && IsTrunkingCompatible, else this Event and no trunk
      await event(involved, 'Warning', 'Unsupported', `The instance type ${instance.instanceType} is not supported for trunk interface (Security Group for Pods)`);
      for (const pod of pods.values()) if (pod.spec?.nodeName === name) enqueue(`pod:${podKey(pod)}`);
      return;
    }
    unsupported.delete(name);
    let trunkId = instance.trunkId;
    if (!trunkId) {
      const index = trunkDeviceIndex(instance.usedDeviceIndexes, lookupInstanceType(instance.instanceType));
      if (index === undefined) {
        await event(involved, 'Warning', 'TrunkENICreationFailed', `Failed to create trunk interface: every device index of ${instance.instanceType} is in use`);
        throw new Retry();
      }
      try {
        trunkId = await createTrunk(ec2, instance, index, o.cluster);
      } catch (err) {
        await event(involved, 'Warning', 'TrunkENICreationFailed', `Failed to create trunk interface: Error Code: ${err instanceof Ec2CallError ? err.code : ec2Cause(err)}`);
        throw new Retry();
      }
      await event(involved, 'Normal', 'NodeTrunkInitiated', `The node has trunk interface initialized successfully (${trunkId} at device index ${index})`);
    }
    trunks.set(name, { trunkId, node: instance, branchLimit: limits.branchInterfaces });
    const capacity = String(limits.branchInterfaces);
    if (node.metadata?.labels?.[HAS_TRUNK_ATTACHED] !== 'true') {
      await core.patchNode({ name, body: { metadata: { labels: { [HAS_TRUNK_ATTACHED]: 'true' } } } }, mergePatch);
    }
    if (node.status?.capacity?.[POD_ENI] !== capacity || node.status?.allocatable?.[POD_ENI] !== capacity) {
      await core.patchNodeStatus({ name, body: { status: { capacity: { [POD_ENI]: capacity }, allocatable: { [POD_ENI]: capacity } } } }, mergePatch);
      log('info', `node ${name}: trunk ${trunkId}, ${POD_ENI} = ${capacity} (${instance.instanceType})`);
    }
    for (const pod of pods.values()) if (pod.spec?.nodeName === name) enqueue(`pod:${podKey(pod)}`);
  };

  // ---- pods: a branch ENI for each that asks ----
  const nodeLocks = new Map<string, Promise<void>>();
  async function underNodeLock<T>(node: string, fn: () => Promise<T>): Promise<T> {
    const prior = nodeLocks.get(node) ?? Promise.resolve();
    let release!: () => void;
    const mine = new Promise<void>((r) => (release = r));
    nodeLocks.set(node, prior.then(() => mine));
    await prior;
    try {
      return await fn();
    } finally {
      release();
    }
  }

  handlers['pod'] = async (key) => {
    const cached = pods.get(key);
    if (!cached) return;
    const decision = decidePod(cached);
    if (decision.kind !== 'allocate') return;
    const nodeName = decision.node;
    const [namespace, name] = [key.slice(0, key.indexOf('/')), key.slice(key.indexOf('/') + 1)];
    const trunk = trunks.get(nodeName);
    if (!trunk) {
      const type = unsupported.get(nodeName);
      if (type) await event({ kind: 'Pod', namespace, name, uid: cached.metadata?.uid }, 'Warning', 'BranchAllocationFailed', `failed to allocate branch ENI to pod: node ${nodeName} (${type}) cannot have a trunk ENI`);
      return; // the node's reconcile enqueues its pods once the trunk is there
    }
    // the cache may lag our own annotation: ask the API server, as upstream does before creating
    let pod: PodObject;
    try {
      pod = (await core.readNamespacedPod({ namespace, name })) as PodObject;
    } catch (err) {
      if (apiCode(err) === 404) return;
      throw err;
    }
    if (decidePod(pod).kind !== 'allocate') return;
    const involved: Involved = { kind: 'Pod', namespace, name, uid: pod.metadata?.uid };
    const fail = async (message: string): Promise<never> => {
      await event(involved, 'Warning', 'BranchAllocationFailed', `failed to allocate branch ENI to pod: ${message}`);
      throw new Retry();
    };

    const policies = ((await custom.listNamespacedCustomObject({ ...SGP, namespace })) as { items: SecurityGroupPolicy[] }).items;
    const needsSa = policies.some((p) => p.spec?.serviceAccountSelector);
    const saLabels = needsSa ? await serviceAccountLabels(namespace, pod.spec?.serviceAccountName || 'default') : {};
    let groups = matchingGroups(policies, { namespace, labels: pod.metadata?.labels ?? {} }, saLabels);
    if (groups.length === 0) {
      groups = trunk.node.groups;
      await event(involved, 'Warning', 'SecurityGroupRequested', 'Pod will get the instance security group as the pod didn\'t match any Security Group from SecurityGroupPolicy');
    } else {
      await event(involved, 'Normal', 'SecurityGroupRequested', `Pod will get the following Security Groups [${groups.join(' ')}]`);
    }
    try {
      const missing = await missingGroups(ec2, groups);
      if (missing.length > 0) await fail(`security group${missing.length > 1 ? 's' : ''} ${missing.join(', ')} ${missing.length > 1 ? 'do' : 'does'} not exist (InvalidGroup.NotFound); fix the SecurityGroupPolicy selecting this pod`);
    } catch (err) {
      if (err instanceof Retry) throw err;
      await fail(ec2Cause(err));
    }

    // choose the VLAN under the node's lock: associations in EC2 plus the ones being made by this process
    let vlanId: number;
    const reserved = reservedVlans.get(trunk.trunkId) ?? new Set<number>();
    reservedVlans.set(trunk.trunkId, reserved);
    try {
      vlanId = await underNodeLock(nodeName, async () => {
        const associations = await trunkAssociations(ec2, { trunkId: trunk.trunkId });
        const room = branchRoom(associations.length, reserved.size, trunk.branchLimit, `trunk ${trunk.trunkId} (${trunk.node.instanceType})`);
        if (!room.ok) return fail(room.reason);
        const id = freeVlanId(new Set([...associations.map((a) => a.vlanId), ...reserved]));
        if (id === undefined) return fail(`no free VLAN id on trunk ${trunk.trunkId}`);
        reserved.add(id);
        return id;
      });
    } catch (err) {
      if (err instanceof Retry) throw err;
      return fail(ec2Cause(err));
    }

    let branchId: string | undefined;
    try {
      const branch = await createBranch(ec2, { subnetId: trunk.node.subnetId, groups, vlanId, trunkId: trunk.trunkId, instanceId: trunk.node.instanceId, cluster: o.cluster, now: new Date() });
      branchId = branch.eniId;
      inFlight.add(branch.eniId);
      let associationId: string;
      try {
        associationId = await associateBranch(ec2, trunk.trunkId, branch.eniId, vlanId);
      } catch (err) {
        // nothing half-made: a branch that could not be associated goes again (the collector takes it if this fails too)
        await deleteBranch(ec2, branch.eniId, undefined).catch((e: unknown) => log('warn', `pod ${key}: could not delete unassociated branch ${branch.eniId}: ${ec2Cause(e)}; the leaked-branch collector will`));
        throw err;
      }
      const details: BranchEni = { eniId: branch.eniId, ifAddress: branch.mac, privateIp: branch.privateIp, ipv6Addr: branch.ipv6, vlanId, subnetCidr: trunk.node.subnetCidr, subnetV6Cidr: branch.ipv6 ? trunk.node.subnetV6Cidr : '', associationID: associationId };
      const annotation = formatAnnotation([details]);
      try {
        // the uid makes the patch refuse a different pod that took the name meanwhile
        await core.patchNamespacedPod({ namespace, name, body: { metadata: { uid: pod.metadata?.uid, annotations: { [POD_ENI]: annotation } } } }, mergePatch);
      } catch (err) {
        await deleteBranch(ec2, branch.eniId, associationId).catch((e: unknown) => log('warn', `pod ${key}: could not delete branch ${branch.eniId}: ${ec2Cause(e)}; the leaked-branch collector will`));
        if (apiCode(err) === 404) return;
        await event(involved, 'Warning', 'BranchENIAnnotationFailed', `failed to annotate pod with branch ENI details: ${describeKubeError(err)}`);
        throw new Retry();
      }
      await event(involved, 'Normal', 'ResourceAllocated', `Allocated ${annotation} to the pod`);
    } catch (err) {
      if (err instanceof Retry) throw err;
      await fail(ec2Cause(err));
    } finally {
      reserved.delete(vlanId);
      if (branchId) inFlight.delete(branchId);
    }
  };

  // ---- releases after the cooldown ----
  handlers['trunk-gone'] = async (trunkId) => {
    const associated = await trunkAssociations(ec2, { trunkId });
    scheduleRelease(associated.map((a) => ({ eniId: a.branchId, associationID: a.associationId })), Date.now());
    if (associated.length) log('info', `trunk ${trunkId}: its node is gone; ${associated.length} branch ENI(s) released after the cooldown`);
  };
  function scheduleRelease(branches: ReadonlyArray<Pick<BranchEni, 'eniId' | 'associationID'>>, now: number): void {
    for (const b of branches) {
      if (releases.has(b.eniId)) continue;
      releases.set(b.eniId, { associationId: b.associationID, dueAt: now + cooldownMs });
      enqueue(`release:${b.eniId}`, cooldownMs);
    }
  }
  handlers['release'] = async (eniId) => {
    const r = releases.get(eniId);
    if (!r) return;
    const wait = r.dueAt - Date.now();
    if (wait > 0) {
      enqueue(`release:${eniId}`, wait);
      return;
    }
    try {
      await deleteBranch(ec2, eniId, r.associationId || undefined);
    } catch (err) {
      log('warn', `branch ${eniId}: release failed: ${ec2Cause(err)} (retrying)`);
      throw new Retry();
    }
    releases.delete(eniId);
    log('info', `branch ${eniId}: disassociated and deleted after the ${cooldownMs / 1000} s cooldown`);
  };

  // ---- the leaked-branch collector ----
  let collecting: Promise<string[]> | undefined;
  async function collect(): Promise<string[]> {
    const branches = await taggedBranches(ec2, o.cluster);
    if (branches.length === 0) return [];
    // what is being made now, taken before the pods are listed: a branch annotated after this snapshot is in the
    // list, one annotated before it was in flight — either way it is held (listing pods first would leave a gap)
    const making = new Set(inFlight);
    const live = await core.listPodForAllNamespaces({});
    const held = new Set<string>(releases.keys());
    for (const p of live.items) {
      const text = p.metadata?.annotations?.[POD_ENI];
      if (text) for (const b of parseAnnotation(text)) held.add(b.eniId);
    }
    const leaked = leakedBranches(branches, held, making, Date.now(), cooldownMs);
    const deleted: string[] = [];
    for (const eniId of leaked) {
      try {
        await deleteBranch(ec2, eniId, undefined);
        deleted.push(eniId);
      } catch (err) {
        log('warn', `leaked branch ${eniId}: delete failed: ${ec2Cause(err)} (next run)`);
      }
    }
    if (deleted.length) log('info', `leaked-branch collector: deleted ${deleted.length} branch ENI(s) no live pod holds: ${deleted.join(', ')}`);
    return deleted;
  }
  function collectLeaks(): Promise<string[]> {
    collecting ??= collect().finally(() => (collecting = undefined));
    return collecting;
  }

  async function serviceAccountLabels(namespace: string, name: string): Promise<Record<string, string>> {
    try {
      return (await core.readNamespacedServiceAccount({ namespace, name })).metadata?.labels ?? {};
    } catch (err) {
      if (apiCode(err) === 404) return {};
      throw err;
    }
  }

  // ---- the webhook ----
  let webhook: WebhookServer | undefined;
  let webhookUrl: string | undefined;
  let caPem: string | undefined;
  let validateUrl: string | undefined;
  let identity: string | undefined;
  if (o.webhook) {
    const { listen } = o.webhook;
    identity = o.webhook.identity ?? (await ownIdentity(o.kc));
    const names = [listen.host === '0.0.0.0' || listen.host === '::' ? '127.0.0.1' : listen.host, 'localhost', ...(o.webhook.serverNames ?? [])];
    if (o.webhook.url) names.push(new URL(o.webhook.url).hostname.replace(/^\[|\]$/g, ''));
    const tls = await createWebhookTls(names);
    caPem = tls.caPem;
    webhook = await startWebhookServer(listen, tls, {
      policies: async (namespace) => ((await custom.listNamespacedCustomObject({ ...SGP, namespace })) as { items: SecurityGroupPolicy[] }).items,
      serviceAccountLabels,
      log,
      counted: (outcome) => (webhookCounts[outcome] += 1),
      controllerUser: identity,
      validated: (outcome) => (validationCounts[outcome] += 1),
    });
    webhookUrl = `${o.webhook.url ?? webhook.url}${WEBHOOK_PATH}`;
    validateUrl = `${o.webhook.url ?? webhook.url}${VALIDATE_PATH}`;
    try {
      await applyWebhookConfiguration(admission, webhookUrl, tls.caPem);
      await applyValidatingConfiguration(admission, validateUrl, tls.caPem);
    } catch (err) {
      await webhook.close();
      throw err;
    }
    log('info', `webhook: serving ${webhookUrl} and ${validateUrl}; MutatingWebhookConfiguration and ValidatingWebhookConfiguration ${WEBHOOK_CONFIGURATION} applied; only ${identity} may write ${POD_ENI}`);
  }

  // ---- the informers ----
  const watches: Array<ObjectWatch<unknown>> = [];
  const connection = (what: string) => (up: boolean, reason: string) => log(up ? 'info' : 'warn', `${what} watch ${up ? 'connected' : `down: ${reason}`}`);
  watches.push(watchObjects<CniNodeObject>(o.kc, {
    path: CNINODES,
    onEvent: (type, obj) => {
      const name = obj.metadata?.name ?? '';
      if (type === 'DELETED') cninodes.delete(name);
      else cninodes.set(name, obj);
      enqueue(`node:${name}`);
    },
    onConnection: connection('CNINode'),
  }) as ObjectWatch<unknown>);
  watches.push(watchObjects<NodeObject>(o.kc, {
    path: '/api/v1/nodes',
    onEvent: (type, obj) => {
      const name = obj.metadata?.name ?? '';
      if (type === 'DELETED') {
        nodes.delete(name);
        const trunk = trunks.get(name);
        trunks.delete(name);
        // as upstream's DeleteAllBranchENIs when a node goes: its trunk's branches are released after the cooldown
        if (trunk) enqueue(`trunk-gone:${trunk.trunkId}`);
        return;
      }
      const before = nodes.get(name);
      nodes.set(name, obj);
      // only what the node reconcile reads: providerID, the label, the pod-eni capacity
      const facts = (n: NodeObject | undefined) => JSON.stringify([n?.spec?.providerID, n?.metadata?.labels?.[HAS_TRUNK_ATTACHED], n?.status?.capacity?.[POD_ENI], n?.status?.allocatable?.[POD_ENI]]);
      if (facts(before) !== facts(obj)) enqueue(`node:${name}`);
    },
    onConnection: connection('Node'),
  }) as ObjectWatch<unknown>);
  watches.push(watchObjects<PodObject>(o.kc, {
    path: '/api/v1/pods',
    onEvent: (type, obj) => {
      const key = podKey(obj);
      if (type === 'DELETED') {
        pods.delete(key);
        const text = obj.metadata?.annotations?.[POD_ENI];
        if (text) scheduleRelease(parseAnnotation(text), Date.now());
        return;
      }
      pods.set(key, obj);
      const d = decidePod(obj);
      if (d.kind === 'allocate') enqueue(`pod:${key}`);
      else if (d.kind === 'release') scheduleRelease(d.branches, Date.now());
    },
    onConnection: connection('Pod'),
  }) as ObjectWatch<unknown>);

  const gcTimer = setInterval(() => void collectLeaks().catch((err: unknown) => log('warn', `leaked-branch collector: ${ec2Cause(err)}`)), o.gcIntervalMs ?? 300_000);
  gcTimer.unref();
  void collectLeaks().catch((err: unknown) => log('warn', `leaked-branch collector: ${ec2Cause(err)}`));

  return {
    webhookUrl,
    caPem,
    validateUrl,
    identity,
    status: () => ({
      trunks: Object.fromEntries([...trunks].map(([n, t]) => [n, t.trunkId])),
      pendingReleases: releases.size,
      ec2Calls,
      rateLimited: { ...bucket.waited },
      webhook: { ...webhookCounts },
      validation: { ...validationCounts },
    }),
    collectLeaks,
    async stop() {
      stopped = true;
      clearInterval(gcTimer);
      for (const item of queue.values()) if (item.timer) clearTimeout(item.timer);
      await Promise.all(watches.map((w) => w.stop()));
      await webhook?.close();
      await collecting?.catch(() => undefined);
      ec2.destroy();
    },
  };
}

/** One line for a failed EC2 call, naming throttling as such. */
function ec2Cause(err: unknown): string {
  if (err instanceof Ec2CallError) return err.throttled ? `EC2 throttled the request (${err.message}); retrying with backoff` : `EC2 error ${err.message}`;
  return describeKubeError(err);
}

/** What both webhook configurations share: their name and labels, and one pod webhook of the given operations. */
function podWebhookConfiguration(webhookName: string, operations: string[], url: string, caPem: string) {
  return {
    metadata: { name: WEBHOOK_CONFIGURATION, labels: { 'app.kubernetes.io/name': WEBHOOK_CONFIGURATION, 'app.kubernetes.io/part-of': 'podnet' } },
    webhooks: [{
      name: webhookName,
      admissionReviewVersions: ['v1'],
      clientConfig: { url, caBundle: Buffer.from(caPem).toString('base64') },
      rules: [{ apiGroups: [''], apiVersions: ['v1'], operations, resources: ['pods'] }],
      failurePolicy: 'Ignore',
      matchPolicy: 'Equivalent',
      sideEffects: 'None',
      timeoutSeconds: 10,
    }],
  };
}

/** Creates or replaces the MutatingWebhookConfiguration (upstream's mpod.vpc.k8s.aws: Pod CREATE, failurePolicy Ignore). */
async function applyWebhookConfiguration(api: AdmissionregistrationV1Api, url: string, caPem: string): Promise<void> {
  const body: V1MutatingWebhookConfiguration = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'MutatingWebhookConfiguration', ...podWebhookConfiguration(WEBHOOK_NAME, ['CREATE'], url, caPem) };
  try {
    const current = await api.readMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION });
    await api.replaceMutatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } } });
  } catch (err) {
    if (apiCode(err) !== 404) throw err;
    await api.createMutatingWebhookConfiguration({ body });
  }
}

/** Who kc authenticates as (a SelfSubjectReview, authentication.k8s.io/v1, GA since Kubernetes 1.28). */
async function ownIdentity(kc: KubeConfig): Promise<string> {
  let username: string | undefined;
  try {
    const review = await kc.makeApiClient(AuthenticationV1Api).createSelfSubjectReview({ body: { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' } });
    username = review.status?.userInfo?.username;
  } catch (err) {
    throw new Error(`could not learn the controller's own user for the pod-eni validating webhook (SelfSubjectReview): ${describeKubeError(err)}`);
  }
  if (!username) throw new Error("could not learn the controller's own user for the pod-eni validating webhook: the SelfSubjectReview named no user");
  return username;
}

/**
 * Creates or replaces the ValidatingWebhookConfiguration (upstream's vpod.vpc.k8s.aws, config/webhook/manifests.yaml at
 * commit 67d089899d21ac53ea1e5258922d1146ded09b83: Pod CREATE and UPDATE, failurePolicy Ignore — while the controller
 * is down, pod writes are not held up, and the annotation is then unguarded).
 */
async function applyValidatingConfiguration(api: AdmissionregistrationV1Api, url: string, caPem: string): Promise<void> {
  const body: V1ValidatingWebhookConfiguration = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingWebhookConfiguration', ...podWebhookConfiguration(VALIDATING_WEBHOOK_NAME, ['CREATE', 'UPDATE'], url, caPem) };
  try {
    const current = await api.readValidatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION });
    await api.replaceValidatingWebhookConfiguration({ name: WEBHOOK_CONFIGURATION, body: { ...body, metadata: { ...body.metadata, resourceVersion: current.metadata?.resourceVersion } } });
  } catch (err) {
    if (apiCode(err) !== 404) throw err;
    await api.createValidatingWebhookConfiguration({ body });
  }
}
