/**
 * `podnet lab cluster update`: EKS's UpdateClusterConfig (endpoint access and allow-list) through @aws-sdk/client-eks
 * against the lab's emulator, as `aws eks update-cluster-config --endpoint-url …` would; with `wait`, until EKS says
 * the update is Successful and the fabric controller has applied the cluster as EKS now describes it (its nft filter
 * and public address in pn-eks-<cluster>, the relay's connections cut). And the endpoint as `lab status` shows it.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { DescribeUpdateCommand, EKSClient, UpdateClusterConfigCommand } from '@aws-sdk/client-eks';
import { readEksClusters } from '../ec2/index.js';
import { PodnetError, run, type ErrorCode } from '../lib/index.js';
import type { EksCluster } from '../vpc/index.js';
import { endpointConfigKey } from './eks-endpoint.js';
import { ns } from './plan.js';
import { DEFAULT_STATE_DIR, LabState, podnetArgv, type LabRecord } from './state.js';

/** Set on the copy of `lab cluster update` that runs in the aws namespace (where the emulator is reachable). */
const IN_AWS_ENV = 'PODNET_LAB_IN_AWS';

export function eksClient(lab: Pick<LabRecord, 'ec2Url' | 'region'>): EKSClient {
  // the lab's own endpoint and dummy credentials: nothing may fall back to AWS's defaults
  return new EKSClient({ endpoint: lab.ec2Url, region: lab.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 3 });
}

export interface ClusterUpdateOptions {
  stateDir?: string;
  publicAccess?: boolean;
  publicAccessCidrs?: string[];
  privateAccess?: boolean;
  wait?: boolean;
  timeoutMs?: number;
}

/** The cluster endpoint as `lab status` shows it. */
export interface EndpointStatus {
  cluster: string;
  hostname: string;
  status: string;
  publicAccess: boolean;
  privateAccess: boolean;
  publicAccessCidrs: string[];
  publicAddress: string | null;
  privateAddresses: string[];
  /** whether the fabric applies the configuration EKS describes (false while an update is on its way) */
  applied: boolean;
}

export interface ClusterUpdateResult {
  updateId: string;
  status: string;
  endpoint: EndpointStatus | null;
}

function requireCluster(lab: LabRecord): string {
  const name = lab.plan.eks?.cluster;
  if (!name) throw new PodnetError('USAGE', 'this lab has no EKS cluster (its scenario has no cluster: section)', 'add a cluster: section to the scenario (docs/lab.md, "The EKS cluster endpoint") and run lab up again');
  return name;
}

export function endpointStatus(lab: LabRecord, cluster: EksCluster | undefined, appliedClusters: readonly EksCluster[] | undefined): EndpointStatus | null {
  const eks = lab.plan.eks;
  if (!eks) return null;
  const applied = appliedClusters?.find((c) => c.name === eks.cluster);
  return {
    cluster: eks.cluster,
    hostname: cluster?.hostname ?? eks.hostname,
    status: cluster?.status ?? 'not described',
    publicAccess: cluster?.endpointPublicAccess ?? false,
    privateAccess: cluster?.endpointPrivateAccess ?? false,
    publicAccessCidrs: cluster?.publicAccessCidrs ?? [],
    publicAddress: cluster?.publicAddress ?? null,
    privateAddresses: cluster?.enis.map((e) => e.privateIp) ?? [],
    applied: cluster !== undefined && endpointConfigKey(applied) === endpointConfigKey(cluster),
  };
}

/**
 * The endpoint as the fabric controller last read it from EKS (`/_podnet/eks`, every 2 s) and applies it; null without
 * a cluster. From the host: the emulator listens inside the aws namespace only.
 */
export function labEndpointStatus(state: LabState, lab: LabRecord): EndpointStatus | null {
  if (!lab.plan.eks) return null;
  const applied = state.readFabric()?.eksClusters;
  return endpointStatus(lab, applied?.find((c) => c.name === lab.plan.eks!.cluster), applied);
}

/** The update's flags again, for the copy in the aws namespace. */
function updateArgs(opts: ClusterUpdateOptions, stateDir: string): string[] {
  return [
    'lab', 'cluster', 'update', '--state-dir', stateDir, '--json',
    ...(opts.publicAccess !== undefined ? ['--public-access', String(opts.publicAccess)] : []),
    ...(opts.privateAccess !== undefined ? ['--private-access', String(opts.privateAccess)] : []),
    ...(opts.publicAccessCidrs !== undefined ? ['--public-access-cidrs', ...opts.publicAccessCidrs] : []),
    ...(opts.wait ? ['--wait'] : []),
  ];
}

export async function clusterUpdate(opts: ClusterUpdateOptions): Promise<ClusterUpdateResult> {
  const state = new LabState(opts.stateDir ?? DEFAULT_STATE_DIR);
  const lab = state.readLab();
  if (!lab) throw new PodnetError('LAB_NOT_UP', `no lab is up (no ${state.path('lab.json')})`, 'start one: podnet lab up [SCENARIO]');
  const name = requireCluster(lab);
  if (opts.publicAccess === undefined && opts.privateAccess === undefined && opts.publicAccessCidrs === undefined) {
    throw new PodnetError('USAGE', 'nothing to update', 'give --public-access, --public-access-cidrs or --private-access');
  }
  if (process.env[IN_AWS_ENV] !== '1') {
    // the EKS API is the emulator's, which listens in the aws namespace: the same command runs there
    // its answer is a JSON line on stdout, or its refusal one on stderr (--json)
    const out = await run([...podnetArgv(), ...updateArgs(opts, state.dir)], { netns: ns.aws, env: { ...process.env, [IN_AWS_ENV]: '1' }, timeoutMs: (opts.timeoutMs ?? 60_000) + 30_000 }).then(
      (r) => r.stdout,
      (err: unknown) => {
        const stderr = (err as { stderr?: string }).stderr?.trim() ?? '';
        if (stderr.startsWith('{')) return stderr;
        throw err;
      },
    );
    const answer = JSON.parse(out.trim() || '{}') as ClusterUpdateResult | { error: string; hint?: string | null; code?: string };
    if ('error' in answer) throw new PodnetError((answer.code ?? 'LAB_FAILED') as ErrorCode, answer.error, answer.hint ?? '');
    return answer;
  }
  const client = eksClient(lab);
  let updateId: string;
  try {
    const answer = await client.send(
      new UpdateClusterConfigCommand({
        name,
        resourcesVpcConfig: {
          ...(opts.publicAccess !== undefined && { endpointPublicAccess: opts.publicAccess }),
          ...(opts.privateAccess !== undefined && { endpointPrivateAccess: opts.privateAccess }),
          ...(opts.publicAccessCidrs !== undefined && { publicAccessCidrs: opts.publicAccessCidrs }),
        },
      }),
    );
    updateId = answer.update?.id ?? '';
  } catch (err) {
    const e = err as { name?: string; message?: string };
    throw new PodnetError('EC2_FAILED', `EKS refused the update: ${e.name ?? 'Error'}: ${e.message ?? String(err)}`, 'check the values (EKS refuses turning both accesses off, and a CIDR that is not one)', { cause: err });
  } finally {
    if (!opts.wait) client.destroy();
  }
  if (!opts.wait) return { updateId, status: 'InProgress', endpoint: labEndpointStatus(state, lab) };
  const deadline = Date.now() + (opts.timeoutMs ?? 60_000);
  let status = 'InProgress';
  try {
    for (;;) {
      const answer = await client.send(new DescribeUpdateCommand({ name, updateId }));
      status = answer.update?.status ?? 'InProgress';
      if (status === 'Failed' || status === 'Cancelled') {
        const errors = (answer.update?.errors ?? []).map((e) => `${e.errorCode}: ${e.errorMessage}`).join('; ');
        throw new PodnetError('EC2_FAILED', `update ${updateId} of cluster ${name} ${status}${errors ? `: ${errors}` : ''}`, 'see DescribeUpdate (aws eks describe-update)');
      }
      if (status === 'Successful') break;
      if (Date.now() > deadline) throw new PodnetError('LAB_FAILED', `update ${updateId} of cluster ${name} was still ${status} after ${Math.round((opts.timeoutMs ?? 60_000) / 1000)} s`, 'see the emulator\'s log (logs/ec2.log in the state directory)');
      await sleep(200);
    }
  } finally {
    client.destroy();
  }
  // the fabric applies what /_podnet/eks says within its next read (every 2 s)
  for (;;) {
    const described = (await readEksClusters(lab.ec2Url)).find((c) => c.name === name);
    const endpoint = endpointStatus(lab, described, state.readFabric()?.eksClusters);
    if (endpoint?.applied) return { updateId, status, endpoint };
    if (Date.now() > deadline) throw new PodnetError('LAB_FAILED', `the fabric did not apply cluster ${name}'s endpoint configuration in time`, 'see logs/controller.log in the state directory');
    await sleep(200);
  }
}
