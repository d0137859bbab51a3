/**
 * Applying a topology's `cluster:` section through the EKS API with @aws-sdk/client-eks (loaded only for a topology
 * that has one): CreateCluster with the subnets' and groups' ids, wait for ACTIVE, complete the endpoint access with
 * UpdateClusterConfig when an existing cluster differs, then CreateFargateProfile one at a time (EKS lets one profile
 * change at a time). Applying twice changes nothing. What EKS cannot change on an existing cluster (subnets, security
 * groups, version) or profile (selectors, subnets) is refused, naming the field, before anything is changed. EKS's
 * refusals become errors naming the section's field.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import {
  CreateClusterCommand,
  CreateFargateProfileCommand,
  DescribeClusterCommand,
  DescribeFargateProfileCommand,
  DescribeUpdateCommand,
  ListFargateProfilesCommand,
  UpdateClusterConfigCommand,
  type Cluster,
  type EKSClient,
} from '@aws-sdk/client-eks';
import { PodnetError } from '../lib/index.js';
import type { Topology } from '../vpc/index.js';
import { ownerId } from './actions/common.js';

type ClusterSection = NonNullable<Topology['cluster']>;

export interface ClusterApplyResult {
  changes: Array<{ kind: 'cluster' | 'fargateProfiles'; name: string; id: string; change: 'created' | 'updated' | 'unchanged' }>;
}

/** The IAM roles EKS wants; the emulator takes any ARN as given, so the applier names conventional ones. */
const clusterRoleArn = (account: string) => `arn:aws:iam::${account}:role/podnet-eks-cluster`;
const podExecutionRoleArn = (account: string) => `arn:aws:iam::${account}:role/podnet-eks-fargate-pods`;

const POLL_MS = 100;
const WAIT_MS = 120_000;

async function waitFor<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  const deadline = Date.now() + WAIT_MS;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > deadline) throw new PodnetError('FAILED', `topology: ${what} did not complete in ${WAIT_MS / 1000} s`, 'is the EKS endpoint the emulator (AWS_ENDPOINT_URL_EKS)?');
    await sleep(POLL_MS);
  }
}

/** The field of the section an EKS refusal is about, from what its message names. */
function fieldOf(message: string, base: string): string {
  if (/publicAccessCidrs/i.test(message)) return `${base}.publicAccessCidrs`;
  if (/endpoint access/i.test(message)) return `${base}.endpointPublicAccess/endpointPrivateAccess`;
  if (/subnet|AZs/i.test(message)) return `${base}.subnets`;
  if (/security group/i.test(message)) return `${base}.securityGroups`;
  if (/version/i.test(message)) return `${base}.version`;
  if (/selector|namespace|label/i.test(message)) return `${base}.selectors`;
  if (/name parameter|fargateProfileName parameter/i.test(message)) return `${base}.name`;
  return base;
}

function refused(err: unknown, field: string, what: string): never {
  if ((err as { $fault?: string }).$fault !== 'client') throw err;
  const message = (err as Error).message;
  throw new PodnetError('CONFIG_INVALID', `topology: EKS refused ${what}: ${fieldOf(message, field)}: ${(err as Error).name}: ${message}`, 'fix that field of the cluster section; the emulator refuses what EKS would', {
    cause: err,
  });
}

async function describe(eks: EKSClient, name: string): Promise<Cluster | undefined> {
  try {
    return (await eks.send(new DescribeClusterCommand({ name }))).cluster;
  } catch (err) {
    if ((err as Error).name === 'ResourceNotFoundException') return undefined;
    throw err;
  }
}

const sameList = (a: readonly string[] | undefined, b: readonly string[]) => [...(a ?? [])].sort().join() === [...b].sort().join();

/** The topology's names for ids (the file's own words in a refusal), the id where the file does not name it. */
const namesOf = (ids: readonly string[] | undefined, byName: Record<string, string>) => {
  const names = new Map(Object.entries(byName).map(([n, id]) => [id, n]));
  return (ids ?? []).map((id) => names.get(id) ?? id).join(', ') || 'none';
};

/** A field EKS cannot change on an existing resource: the file must match it, or the resource be deleted first. */
function immutable(field: string, what: string, have: string, resource: string): never {
  throw new PodnetError('CONFIG_INVALID', `topology: ${field}: the ${what} (${have}); EKS cannot change them — delete the ${resource} or make the file match`, `${field} of an existing ${resource} is fixed at creation`);
}

/** A selector as a comparable string: namespace and its labels in key order. */
const selectorKey = (s: { namespace?: string; labels?: Record<string, string> }) =>
  JSON.stringify([s.namespace ?? '', Object.entries(s.labels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))]);
const sameSelectors = (a: ReadonlyArray<{ namespace?: string; labels?: Record<string, string> }> | undefined, b: ReadonlyArray<{ namespace: string; labels?: Record<string, string> }>) =>
  sameList((a ?? []).map(selectorKey), b.map(selectorKey));

/** Refuses an existing cluster whose subnets, groups or version differ from the file (EKS updates only endpoint access here). */
function checkClusterFixed(cluster: ClusterSection, existing: Cluster, subnetIds: Record<string, string>, groupIds: Record<string, string>): void {
  const vpc = existing.resourcesVpcConfig ?? {};
  if (!sameList(vpc.subnetIds, cluster.subnets.map((s) => subnetIds[s]!))) {
    immutable('cluster.subnets', 'cluster exists with other subnets', namesOf(vpc.subnetIds, subnetIds), 'cluster');
  }
  if (!sameList(vpc.securityGroupIds, cluster.securityGroups.map((g) => groupIds[g]!))) {
    immutable('cluster.securityGroups', 'cluster exists with other security groups', namesOf(vpc.securityGroupIds, groupIds), 'cluster');
  }
  // without a version in the file, whatever EKS chose at creation stands
  if (cluster.version !== undefined && existing.version !== cluster.version) {
    immutable('cluster.version', 'cluster exists with another Kubernetes version', existing.version ?? 'unknown', 'cluster');
  }
}

/** The cluster's Fargate profiles by name; those the file names must be as the file has them (EKS cannot change them). */
async function checkProfilesFixed(cluster: ClusterSection, existing: Cluster, eks: EKSClient, subnetIds: Record<string, string>): Promise<Set<string>> {
  const name = cluster.name;
  const have = new Set<string>();
  let token: string | undefined;
  do {
    const page = await eks.send(new ListFargateProfilesCommand({ clusterName: name, nextToken: token }));
    for (const n of page.fargateProfileNames ?? []) have.add(n);
    token = page.nextToken;
  } while (token);
  for (const [i, p] of cluster.fargateProfiles.entries()) {
    if (!have.has(p.name)) continue;
    const field = `cluster.fargateProfiles[${i}]`;
    const profile = (await eks.send(new DescribeFargateProfileCommand({ clusterName: name, fargateProfileName: p.name }))).fargateProfile;
    if (!sameSelectors(profile?.selectors, p.selectors)) {
      const given = (profile?.selectors ?? []).map((s) => s.namespace + (Object.keys(s.labels ?? {}).length > 0 ? ` ${JSON.stringify(s.labels)}` : '')).join(', ');
      immutable(`${field}.selectors`, `Fargate profile '${p.name}' exists with other selectors`, given, 'Fargate profile');
    }
    // without subnets in the file, EKS gave the profile the cluster's
    const want = p.subnets ? p.subnets.map((s) => subnetIds[s]!) : (existing.resourcesVpcConfig?.subnetIds ?? []);
    if (!sameList(profile?.subnets, want)) immutable(`${field}.subnets`, `Fargate profile '${p.name}' exists with other subnets`, namesOf(profile?.subnets, subnetIds), 'Fargate profile');
  }
  return have;
}

/**
 * Creates (or completes) the cluster and its Fargate profiles. `subnetIds` and `groupIds` map the topology's names to
 * the ids EC2 gave them.
 */
export async function applyCluster(cluster: ClusterSection, eks: EKSClient, subnetIds: Record<string, string>, groupIds: Record<string, string>): Promise<ClusterApplyResult> {
  const changes: ClusterApplyResult['changes'] = [];
  const name = cluster.name;
  let existing = await describe(eks, name);
  let change: 'created' | 'updated' | 'unchanged' = 'unchanged';
  // what EKS cannot change is checked, cluster and profiles, before anything is changed
  let have = new Set<string>();
  if (existing) {
    checkClusterFixed(cluster, existing, subnetIds, groupIds);
    have = await checkProfilesFixed(cluster, existing, eks, subnetIds);
  } else {
    try {
      existing = (
        await eks.send(
          new CreateClusterCommand({
            name,
            version: cluster.version,
            roleArn: clusterRoleArn(ownerId),
            resourcesVpcConfig: {
              subnetIds: cluster.subnets.map((s) => subnetIds[s]!),
              securityGroupIds: cluster.securityGroups.map((g) => groupIds[g]!),
              endpointPublicAccess: cluster.endpointPublicAccess,
              endpointPrivateAccess: cluster.endpointPrivateAccess,
              publicAccessCidrs: cluster.publicAccessCidrs,
            },
          }),
        )
      ).cluster;
    } catch (err) {
      refused(err, 'cluster', `cluster '${name}'`);
    }
    change = 'created';
  }
  existing = await waitFor(`cluster '${name}' becoming ACTIVE`, async () => describe(eks, name), (c) => c?.status === 'ACTIVE');
  const vpc = existing!.resourcesVpcConfig!;
  if (
    change === 'unchanged' &&
    (vpc.endpointPublicAccess !== cluster.endpointPublicAccess || vpc.endpointPrivateAccess !== cluster.endpointPrivateAccess || !sameList(vpc.publicAccessCidrs, cluster.publicAccessCidrs))
  ) {
    let updateId: string;
    try {
      updateId = (
        await eks.send(
          new UpdateClusterConfigCommand({
            name,
            resourcesVpcConfig: { endpointPublicAccess: cluster.endpointPublicAccess, endpointPrivateAccess: cluster.endpointPrivateAccess, publicAccessCidrs: cluster.publicAccessCidrs },
          }),
        )
      ).update!.id!;
    } catch (err) {
      refused(err, 'cluster', `the endpoint access of cluster '${name}'`);
    }
    const update = await waitFor(`the endpoint update of cluster '${name}'`, async () => (await eks.send(new DescribeUpdateCommand({ name, updateId }))).update, (u) => u?.status !== 'InProgress');
    if (update?.status !== 'Successful') throw new PodnetError('FAILED', `topology: the endpoint update of cluster '${name}' ended ${update?.status}: ${JSON.stringify(update?.errors ?? [])}`);
    change = 'updated';
  }
  changes.push({ kind: 'cluster', name, id: existing!.arn!, change });

  for (const [i, p] of cluster.fargateProfiles.entries()) {
    const field = `cluster.fargateProfiles[${i}]`;
    if (!have.has(p.name)) {
      try {
        await eks.send(
          new CreateFargateProfileCommand({
            clusterName: name,
            fargateProfileName: p.name,
            podExecutionRoleArn: podExecutionRoleArn(ownerId),
            subnets: p.subnets?.map((s) => subnetIds[s]!),
            selectors: p.selectors,
          }),
        );
      } catch (err) {
        refused(err, field, `Fargate profile '${p.name}'`);
      }
    }
    const profile = await waitFor(
      `Fargate profile '${p.name}' becoming ACTIVE`,
      async () => (await eks.send(new DescribeFargateProfileCommand({ clusterName: name, fargateProfileName: p.name }))).fargateProfile,
      (f) => f?.status === 'ACTIVE',
    );
    changes.push({ kind: 'fargateProfiles', name: p.name, id: profile!.fargateProfileArn!, change: have.has(p.name) ? 'unchanged' : 'created' });
  }
  return { changes };
}
