/**
 * The patch metadata of the built-in kinds: which lists merge and by which key (Kubernetes' `patchStrategy` and
 * `patchMergeKey` struct tags), down to where they are. A list not named here is replaced whole by a strategic
 * merge patch — as tolerations, node taints, container statuses and RBAC rules are in Kubernetes.
 */

export interface PatchMeta {
  /** `merge`, `replace`, `retainKeys` or `merge,retainKeys` (the tag's value); absent: maps merge, lists replace. */
  strategy?: string;
  /** For a merging list of objects: the field that identifies an element. */
  mergeKey?: string;
  /** A struct's fields that carry metadata themselves (or lead to ones that do). */
  fields?: Record<string, PatchMeta>;
  /** For a list: its elements' metadata. */
  items?: PatchMeta;
  /** The field's name, for error messages. */
  name?: string;
}

function mergeList(mergeKey: string, items: PatchMeta = {}, strategy = 'merge'): PatchMeta {
  return { strategy, mergeKey, items };
}

const objectMeta: PatchMeta = {
  fields: {
    finalizers: { strategy: 'merge' },
    ownerReferences: mergeList('uid'),
  },
};

const container: PatchMeta = {
  fields: {
    ports: mergeList('containerPort'),
    env: mergeList('name'),
    volumeMounts: mergeList('mountPath'),
    volumeDevices: mergeList('devicePath'),
  },
};

const podSpec: PatchMeta = {
  fields: {
    volumes: mergeList('name', {}, 'merge,retainKeys'),
    initContainers: mergeList('name', container),
    containers: mergeList('name', container),
    ephemeralContainers: mergeList('name', container),
    imagePullSecrets: mergeList('name'),
    hostAliases: mergeList('ip'),
    topologySpreadConstraints: mergeList('topologyKey'),
    schedulingGates: mergeList('name'),
    resourceClaims: mergeList('name', {}, 'merge,retainKeys'),
  },
};

const conditionsOnly: PatchMeta = { fields: { conditions: mergeList('type') } };

const pod: PatchMeta = {
  fields: {
    metadata: objectMeta,
    spec: podSpec,
    status: {
      fields: {
        conditions: mergeList('type'),
        podIPs: mergeList('ip'),
        hostIPs: mergeList('ip'),
        resourceClaimStatuses: mergeList('name', {}, 'merge,retainKeys'),
      },
    },
  },
};

const daemonSet: PatchMeta = {
  fields: {
    metadata: objectMeta,
    spec: { fields: { template: { fields: { metadata: objectMeta, spec: podSpec } } } },
    status: conditionsOnly,
  },
};

const node: PatchMeta = {
  fields: {
    metadata: objectMeta,
    spec: { fields: { podCIDRs: { strategy: 'merge' } } },
    status: { fields: { conditions: mergeList('type'), addresses: mergeList('type') } },
  },
};

const metadataOnly: PatchMeta = { fields: { metadata: objectMeta } };

/** By `group/Kind` (core group: `/Kind`). */
const byKind: Record<string, PatchMeta> = {
  '/Pod': pod,
  'apps/DaemonSet': daemonSet,
  '/Node': node,
  '/Namespace': { fields: { metadata: objectMeta, status: conditionsOnly } },
  '/ServiceAccount': { fields: { metadata: objectMeta, secrets: mergeList('name') } },
  'admissionregistration.k8s.io/MutatingWebhookConfiguration': { fields: { metadata: objectMeta, webhooks: mergeList('name') } },
};

/** The kind's patch metadata; kinds without merging lists of their own still merge metadata's. */
export function patchMetaFor(group: string, kind: string): PatchMeta {
  return byKind[`${group}/${kind}`] ?? metadataOnly;
}
