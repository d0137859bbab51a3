/**
 * The EKS actions the emulator implements (clusters, their endpoint-access updates, Fargate profiles) over the
 * emulator's state, with EKS's rules and error codes. Each runs inside one state transaction (eks-http.ts sees to it)
 * and throws EksError for anything EKS refuses; what EKS does asynchronously is recorded with the time it completes
 * (eks-state.ts settles it).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { cidrContains, isCidrText, parseAddress, parseCidr, formatCidr } from '../net/index.js';
import { subnetIsPrivate, type EksFargateSelector } from '../vpc/index.js';
import { ownerId } from './actions/common.js';
import { createEni, deleteEniRow, findEni } from './actions/enis.js';
import { Ec2Error } from './protocol.js';
import {
  clusterArn,
  clusterHostname,
  clusterStatus,
  findCluster,
  profileStatus,
  releasePublicAddress,
  reservePublicAddress,
  strings,
  updateInProgress,
  type ClusterRow,
  type ProfileRow,
  type UpdateParam,
  type UpdateRow,
} from './eks-state.js';
import type { Ec2State, SubnetRow } from './state.js';

export type EksErrorCode =
  | 'InvalidParameterException'
  | 'ResourceNotFoundException'
  | 'ResourceInUseException'
  | 'ResourceLimitExceededException'
  | 'InvalidRequestException'
  | 'ClientException'
  | 'ServerException';

const statusOf: Record<EksErrorCode, number> = {
  InvalidParameterException: 400,
  ResourceNotFoundException: 404,
  ResourceInUseException: 409,
  ResourceLimitExceededException: 400,
  InvalidRequestException: 400,
  ClientException: 400,
  ServerException: 500,
};

/** An EKS API error: rendered as REST-JSON (`x-amzn-errortype` + `{message, clusterName, …}`), as EKS answers. */
export class EksError extends Error {
  readonly status: number;
  constructor(
    readonly code: EksErrorCode,
    message: string,
    readonly fields: { clusterName?: string; fargateProfileName?: string } = {},
  ) {
    super(message);
    this.status = statusOf[code];
  }
}

export interface EksOptions {
  /** How long a new cluster stays CREATING, an update InProgress, a Fargate profile CREATING or DELETING. Default 1500 ms. */
  delayMs?: number;
  /** A PEM file whose contents DescribeCluster gives as certificateAuthority.data (read at each call): the lab's API server CA. */
  certificateAuthorityFile?: string;
}

export const DEFAULT_EKS_DELAY_MS = 1500;

export interface EksRequest {
  /** the path's parameters: name (the cluster), profile, updateId */
  path: Record<string, string>;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

export interface EksContext {
  state: Ec2State;
  now: number;
  options: EksOptions;
  /** A fresh CA for a cluster CreateCluster makes (generated before the transaction: key generation is asynchronous). */
  newCaPem?: string;
}

export type EksAction = (req: EksRequest, ctx: EksContext) => unknown;

// ---- request fields ----

const invalid = (message: string, fields?: EksError['fields']) => new EksError('InvalidParameterException', message, fields);

function optionalString(body: Record<string, unknown>, key: string): string | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string') throw invalid(`The parameter ${key} must be a string.`);
  return v;
}

function requiredString(body: Record<string, unknown>, key: string): string {
  const v = optionalString(body, key);
  if (v === undefined || v === '') throw invalid(`The parameter ${key} is required.`);
  return v;
}

function optionalBool(body: Record<string, unknown>, key: string): boolean | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'boolean') throw invalid(`The parameter ${key} must be true or false.`);
  return v;
}

function optionalStrings(body: Record<string, unknown>, key: string): string[] | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw invalid(`The parameter ${key} must be a list of strings.`);
  return v as string[];
}

function optionalObject(body: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'object' || Array.isArray(v)) throw invalid(`The parameter ${key} must be an object.`);
  return v as Record<string, unknown>;
}

function stringMap(body: Record<string, unknown>, key: string): Record<string, string> {
  const v = optionalObject(body, key) ?? {};
  for (const [k, x] of Object.entries(v)) if (typeof x !== 'string') throw invalid(`The value of ${key}.${k} must be a string.`);
  return v as Record<string, string>;
}

/** EKS's grammar for cluster and Fargate profile names (at most EKS_NAME_MAX characters). */
export const EKS_NAME = /^[0-9A-Za-z][A-Za-z0-9\-_]*$/;
export const EKS_NAME_MAX = 100;
// EKS's refusal in its own wording, run-on sentence included
function checkName(name: string, parameter: string): void {
  if (!EKS_NAME.test(name) || name.length > EKS_NAME_MAX) {
    throw invalid(
      `The ${parameter} parameter contains invalid characters. It should conform to the regular expression "^[0-9A-Za-z][A-Za-z0-9-_]*"` +
        'In other words, it should start with a number or letter, and can contain numbers, letters, dashes, and underscores.',
    );
  }
}

/** The Kubernetes versions the emulator offers (EKS's standard and extended support window at the time of writing). */
export const EKS_VERSIONS = ['1.28', '1.29', '1.30', '1.31', '1.32', '1.33', '1.34'] as const;
export const DEFAULT_EKS_VERSION = '1.33';

const MAX_ENDPOINT_CIDRS = 40;
const MAX_FARGATE_PROFILES = 10;
const MAX_SELECTORS = 5;
const MAX_SELECTOR_LABELS = 5;
const PRIVATE_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'].map((c) => parseCidr(c));

/** The allow-list as EKS takes it: IPv4 CIDRs of public space; EKS lists every one it refuses in one message. */
function checkPublicCidrs(cidrs: string[]): string[] {
  const bad = cidrs.filter((c) => {
    if (!isCidrText(c)) return true;
    const cidr = parseCidr(c);
    if (cidr.family !== 4 || formatCidr(cidr) !== c) return true;
    return PRIVATE_RANGES.some((p) => cidr.prefixLength >= p.prefixLength && cidrContains(p, parseAddress(c.split('/')[0]!)));
  });
  if (bad.length > 0) throw invalid(`The following CIDRs are invalid in publicAccessCidrs: [${bad.join(',')}]`);
  if (cidrs.length > MAX_ENDPOINT_CIDRS) {
    throw new EksError('ResourceLimitExceededException', `A cluster can have at most ${MAX_ENDPOINT_CIDRS} publicAccessCidrs; ${cidrs.length} were given.`);
  }
  return cidrs;
}

function subnetRow(state: Ec2State, id: string, clusterName: string): SubnetRow {
  const row = state.get<SubnetRow>('SELECT * FROM subnets WHERE id = ?', id);
  if (!row) throw invalid(`The subnet ID '${id}' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: InvalidSubnetID.NotFound)`, { clusterName });
  return row;
}

function requireCluster(state: Ec2State, name: string): ClusterRow {
  const row = findCluster(state, name);
  if (!row) throw new EksError('ResourceNotFoundException', `No cluster found for name: ${name}.`, { clusterName: name });
  return row;
}

const seconds = (ms: number) => ms / 1000;
const digest = (text: string) => createHash('sha256').update(text).digest('hex');

// ---- rendering ----

function certificateData(row: ClusterRow, options: EksOptions): string {
  if (options.certificateAuthorityFile !== undefined) {
    try {
      return readFileSync(options.certificateAuthorityFile).toString('base64');
    } catch (err) {
      throw new EksError('ServerException', `The cluster's certificate authority file ${options.certificateAuthorityFile} cannot be read: ${(err as Error).message}`, {
        clusterName: row.name,
      });
    }
  }
  return Buffer.from(row.ca_pem).toString('base64');
}

function renderCluster(ctx: EksContext, row: ClusterRow, statusOverride?: string): Record<string, unknown> {
  const { state, now } = ctx;
  const status = statusOverride ?? clusterStatus(state, row, now);
  // EKS gives the endpoint and the CA only once the control plane is up
  const up = status !== 'CREATING';
  const vpcCidr = state.get<{ cidr: string }>('SELECT cidr FROM vpcs WHERE id = ?', row.vpc_id)?.cidr ?? '';
  return {
    name: row.name,
    arn: clusterArn(state, row.name),
    createdAt: seconds(row.created_at),
    version: row.version,
    endpoint: up ? `https://${clusterHostname(state, row.name)}` : undefined,
    roleArn: row.role_arn,
    resourcesVpcConfig: {
      subnetIds: strings(row.subnet_ids),
      securityGroupIds: strings(row.security_group_ids),
      clusterSecurityGroupId: row.cluster_sg_id,
      vpcId: row.vpc_id,
      endpointPublicAccess: row.public_access === 1,
      endpointPrivateAccess: row.private_access === 1,
      publicAccessCidrs: strings(row.public_cidrs),
    },
    // EKS picks the service range that does not overlap a 10.x VPC
    kubernetesNetworkConfig: { serviceIpv4Cidr: vpcCidr.startsWith('10.') ? '172.20.0.0/16' : '10.100.0.0/16', ipFamily: 'ipv4', elasticLoadBalancing: { enabled: false } },
    logging: { clusterLogging: [{ types: ['api', 'audit', 'authenticator', 'controllerManager', 'scheduler'], enabled: false }] },
    identity: { oidc: { issuer: `https://oidc.eks.${state.region}.amazonaws.com/id/${row.oidc_id}` } },
    status,
    certificateAuthority: up ? { data: certificateData(row, ctx.options) } : {},
    platformVersion: 'eks.1',
    tags: JSON.parse(row.tags) as Record<string, string>,
    health: { issues: [] },
    accessConfig: { bootstrapClusterCreatorAdminPermissions: true, authenticationMode: 'API_AND_CONFIG_MAP' },
    upgradePolicy: { supportType: 'STANDARD' },
  };
}

function renderUpdate(row: UpdateRow): Record<string, unknown> {
  return {
    id: row.id,
    status: row.status,
    type: row.type,
    params: JSON.parse(row.params) as UpdateParam[],
    createdAt: seconds(row.created_at),
    errors: JSON.parse(row.errors) as unknown[],
  };
}

function renderProfile(row: ProfileRow, now: number): Record<string, unknown> {
  return {
    fargateProfileName: row.name,
    fargateProfileArn: row.arn,
    clusterName: row.cluster_name,
    createdAt: seconds(row.created_at),
    podExecutionRoleArn: row.role_arn,
    subnets: strings(row.subnet_ids),
    selectors: JSON.parse(row.selectors) as EksFargateSelector[],
    status: profileStatus(row, now),
    tags: JSON.parse(row.tags) as Record<string, string>,
    health: { issues: [] },
  };
}

// ---- pagination ----

function pageSize(query: URLSearchParams, max: number): number {
  const text = query.get('maxResults');
  if (text === null) return max;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > max) throw invalid(`maxResults must be an integer from 1 to ${max}; got ${text}.`);
  return n;
}

/** One page of `items` after the position the token names (the token is the last name given, encoded). */
function paginate(items: string[], query: URLSearchParams, max: number): { page: string[]; nextToken?: string } {
  const size = pageSize(query, max);
  const token = query.get('nextToken');
  let start = 0;
  if (token !== null) {
    let after: unknown;
    try {
      after = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    } catch {
      after = undefined;
    }
    if (typeof after !== 'string') throw invalid('The nextToken provided is not valid.');
    start = items.findIndex((n) => n > after);
    if (start < 0) start = items.length;
  }
  const page = items.slice(start, start + size);
  const more = start + size < items.length;
  return { page, nextToken: more ? Buffer.from(JSON.stringify(page[page.length - 1])).toString('base64url') : undefined };
}

// ---- clusters ----

const CLUSTER_SG_DESCRIPTION = 'EKS created security group applied to ENI that is attached to EKS Control Plane master nodes, as well as any managed workloads.';

/** The cluster security group EKS makes: all traffic from its own members, all traffic out, EKS's tags. */
function createClusterSecurityGroup(state: Ec2State, name: string, vpcId: string): string {
  const id = state.newId('sg');
  const suffix = String(BigInt('0x' + digest(`${clusterArn(state, name)}:${id}`).slice(0, 12)) % 10_000_000_000n).padStart(10, '0');
  const groupName = `eks-cluster-sg-${name}-${suffix}`;
  state.run('INSERT INTO security_groups (id, vpc_id, name, description) VALUES (?, ?, ?, ?)', id, vpcId, groupName, CLUSTER_SG_DESCRIPTION);
  const rule = `INSERT INTO security_group_rules (id, group_id, egress, protocol, from_port, to_port, cidr, ipv6_cidr, source_group_id)
     VALUES (?, ?, ?, '-1', -1, -1, ?, '', ?)`;
  state.run(rule, state.newId('sgr'), id, 0, '', id);
  state.run(rule, state.newId('sgr'), id, 1, '0.0.0.0/0', '');
  // EKS's own tags (an `aws:` key, which EC2 refuses from users, so not through CreateTags)
  const tag = 'INSERT INTO tags (resource_id, key, value) VALUES (?, ?, ?)';
  state.run(tag, id, 'Name', groupName);
  state.run(tag, id, 'aws:eks:cluster-name', name);
  state.run(tag, id, `kubernetes.io/cluster/${name}`, 'owned');
  state.filteringChanged();
  return id;
}

/** Removes the cluster security group unless something still uses it (EKS then leaves it behind, as on AWS). */
function deleteClusterSecurityGroup(state: Ec2State, groupId: string): void {
  const used =
    state.get('SELECT 1 FROM eni_security_groups WHERE group_id = ?', groupId) ??
    state.get('SELECT 1 FROM security_group_rules WHERE source_group_id = ? AND group_id <> ?', groupId, groupId);
  if (used) return;
  state.run('DELETE FROM security_group_rules WHERE group_id = ?', groupId);
  state.run('DELETE FROM security_groups WHERE id = ?', groupId);
  state.run('DELETE FROM tags WHERE resource_id = ?', groupId);
  state.filteringChanged();
}

const createCluster: EksAction = (req, ctx) => {
  const { state, now, options } = ctx;
  const body = req.body;
  const name = requiredString(body, 'name');
  checkName(name, 'name');
  const roleArn = requiredString(body, 'roleArn');
  const version = optionalString(body, 'version') ?? DEFAULT_EKS_VERSION;
  if (!(EKS_VERSIONS as readonly string[]).includes(version)) throw invalid(`unsupported Kubernetes version ${version}`, { clusterName: name });
  const vpcConfig = optionalObject(body, 'resourcesVpcConfig');
  if (!vpcConfig) throw invalid('The parameter resourcesVpcConfig is required.', { clusterName: name });
  const subnetIds = [...new Set(optionalStrings(vpcConfig, 'subnetIds') ?? [])];
  const groupIds = [...new Set(optionalStrings(vpcConfig, 'securityGroupIds') ?? [])];
  const publicAccess = optionalBool(vpcConfig, 'endpointPublicAccess') ?? true;
  const privateAccess = optionalBool(vpcConfig, 'endpointPrivateAccess') ?? false;
  const cidrs = checkPublicCidrs(optionalStrings(vpcConfig, 'publicAccessCidrs') ?? ['0.0.0.0/0']);
  const tags = stringMap(body, 'tags');
  if (findCluster(state, name)) throw new EksError('ResourceInUseException', `Cluster already exists with name: ${name}`, { clusterName: name });
  if (!publicAccess && !privateAccess) throw invalid('Both private and public endpoint access cannot be false', { clusterName: name });

  const subnets = subnetIds.map((id) => subnetRow(state, id, name));
  const vpcs = [...new Set(subnets.map((s) => s.vpc_id))];
  if (vpcs.length > 1) throw invalid(`Subnets specified must be in the same VPC; they are in ${vpcs.join(', ')}`, { clusterName: name });
  if (new Set(subnets.map((s) => s.az)).size < 2) throw invalid('Subnets specified must be in at least two different AZs', { clusterName: name });
  const vpcId = vpcs[0]!;
  if (groupIds.length > 5) throw invalid(`At most 5 security groups can be given; ${groupIds.length} were given.`, { clusterName: name });
  for (const g of groupIds) {
    const row = state.get<{ vpc_id: string }>('SELECT vpc_id FROM security_groups WHERE id = ?', g);
    if (!row) throw invalid(`The security group '${g}' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: InvalidGroup.NotFound)`, { clusterName: name });
    if (row.vpc_id !== vpcId) throw invalid(`Security group ${g} is not in the cluster's VPC ${vpcId}`, { clusterName: name });
  }

  const clusterSg = createClusterSecurityGroup(state, name, vpcId);
  // EKS places 2 to 4 network interfaces in the given subnets, spread over them
  const count = Math.min(4, Math.max(2, subnets.length));
  const eniIds: string[] = [];
  for (let i = 0; i < count; i++) {
    try {
      const eni = createEni(state, {
        subnet: subnets[i % subnets.length]!,
        description: `Amazon EKS ${name}`,
        groupIds: [clusterSg, ...groupIds],
        requesterManaged: true,
        ipv4: { addresses: [], prefixes: [] },
        ipv6: { addresses: [], prefixes: [] },
      });
      eniIds.push(eni.id);
    } catch (err) {
      if (err instanceof Ec2Error) throw invalid(`Cannot create the cluster's network interface in ${subnets[i % subnets.length]!.id}: ${err.message}`, { clusterName: name });
      throw err;
    }
  }
  let publicAddress: string | null = null;
  if (publicAccess) {
    publicAddress = reservePublicAddress(state) ?? null;
    if (publicAddress === null) throw new EksError('ResourceLimitExceededException', 'The public IP pool has no free address left for the public endpoint.', { clusterName: name });
  }
  state.run(
    `INSERT INTO eks_clusters (name, version, role_arn, vpc_id, subnet_ids, security_group_ids, cluster_sg_id, eni_ids,
       public_access, private_access, public_cidrs, public_address, ca_pem, oidc_id, tags, created_at, active_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    name,
    version,
    roleArn,
    vpcId,
    JSON.stringify(subnetIds),
    JSON.stringify(groupIds),
    clusterSg,
    JSON.stringify(eniIds),
    publicAccess ? 1 : 0,
    privateAccess ? 1 : 0,
    JSON.stringify(cidrs),
    publicAddress,
    ctx.newCaPem ?? '',
    digest(`oidc:${clusterArn(state, name)}`).slice(0, 32).toUpperCase(),
    JSON.stringify(tags),
    now,
    now + (options.delayMs ?? DEFAULT_EKS_DELAY_MS),
  );
  return { cluster: renderCluster(ctx, findCluster(state, name)!) };
};

const describeCluster: EksAction = (req, ctx) => ({ cluster: renderCluster(ctx, requireCluster(ctx.state, req.path.name!)) });

const listClusters: EksAction = (req, ctx) => {
  const names = ctx.state.all<{ name: string }>('SELECT name FROM eks_clusters ORDER BY name').map((r) => r.name);
  const { page, nextToken } = paginate(names, req.query, 100);
  return { clusters: page, nextToken };
};

const deleteCluster: EksAction = (req, ctx) => {
  const { state, now } = ctx;
  const row = requireCluster(state, req.path.name!);
  const profiles = state.all<ProfileRow>('SELECT * FROM eks_fargate_profiles WHERE cluster_name = ?', row.name);
  if (profiles.length > 0) {
    const states = [...new Set(profiles.map((p) => profileStatus(p, now)))].sort().join('/');
    throw new EksError('ResourceInUseException', `Cluster has Fargate Profiles in ${states} state`, { clusterName: row.name });
  }
  const rendered = renderCluster(ctx, row, 'DELETING');
  for (const eniId of strings(row.eni_ids)) {
    if (state.get('SELECT 1 FROM enis WHERE id = ?', eniId)) deleteEniRow(state, findEni(state, eniId));
  }
  deleteClusterSecurityGroup(state, row.cluster_sg_id);
  releasePublicAddress(state, row.public_address);
  state.run('DELETE FROM eks_updates WHERE cluster_name = ?', row.name);
  state.run('DELETE FROM eks_clusters WHERE seq = ?', row.seq);
  return { cluster: rendered };
};

// ---- updates ----

function describeAccess(publicAccess: boolean, privateAccess: boolean, cidrs: string[]): string {
  return `endpointPrivateAccess: ${privateAccess} , endpointPublicAccess: ${publicAccess}, and Public Endpoint Restrictions: [${cidrs.join(',')}]`;
}

const updateClusterConfig: EksAction = (req, ctx) => {
  const { state, now, options } = ctx;
  const row = requireCluster(state, req.path.name!);
  const name = row.name;
  const unsupported = ['logging', 'accessConfig', 'upgradePolicy', 'zonalShiftConfig', 'computeConfig', 'kubernetesNetworkConfig', 'storageConfig', 'remoteNetworkConfig'].filter(
    (k) => req.body[k] !== undefined && req.body[k] !== null,
  );
  if (unsupported.length > 0) throw invalid(`podnet's EKS emulator updates endpoint access only; it does not update ${unsupported.join(', ')}`, { clusterName: name });
  const vpcConfig = optionalObject(req.body, 'resourcesVpcConfig');
  if (!vpcConfig) throw invalid('Invalid type for cluster update.', { clusterName: name });
  for (const k of ['subnetIds', 'securityGroupIds']) {
    if (vpcConfig[k] !== undefined && vpcConfig[k] !== null) throw invalid(`podnet's EKS emulator updates endpoint access only; it does not update ${k}`, { clusterName: name });
  }
  const wantPublic = optionalBool(vpcConfig, 'endpointPublicAccess');
  const wantPrivate = optionalBool(vpcConfig, 'endpointPrivateAccess');
  const wantCidrs = optionalStrings(vpcConfig, 'publicAccessCidrs');
  if (wantCidrs !== undefined) checkPublicCidrs(wantCidrs);
  const status = clusterStatus(state, row, now);
  const running = updateInProgress(state, name);
  if (running) throw new EksError('ResourceInUseException', `Cannot EndpointAccessUpdate because cluster ${name} currently has update ${running.id} in progress`, { clusterName: name });
  if (status !== 'ACTIVE') throw new EksError('ResourceInUseException', `Cannot EndpointAccessUpdate because cluster ${name} is in ${status} state`, { clusterName: name });
  const current = { publicAccess: row.public_access === 1, privateAccess: row.private_access === 1, cidrs: strings(row.public_cidrs) };
  const next = { publicAccess: wantPublic ?? current.publicAccess, privateAccess: wantPrivate ?? current.privateAccess, cidrs: wantCidrs ?? current.cidrs };
  if (!next.publicAccess && !next.privateAccess) throw invalid('Both private and public endpoint access cannot be false', { clusterName: name });
  if (next.publicAccess === current.publicAccess && next.privateAccess === current.privateAccess && JSON.stringify(next.cidrs) === JSON.stringify(current.cidrs)) {
    throw invalid(`Cluster is already at the desired configuration with ${describeAccess(next.publicAccess, next.privateAccess, next.cidrs)}`, { clusterName: name });
  }
  const params: UpdateParam[] = [];
  if (wantPublic !== undefined) params.push({ type: 'EndpointPublicAccess', value: String(wantPublic) });
  if (wantPrivate !== undefined) params.push({ type: 'EndpointPrivateAccess', value: String(wantPrivate) });
  if (wantCidrs !== undefined) params.push({ type: 'PublicAccessCidrs', value: JSON.stringify(wantCidrs) });
  const id = uuidFrom(digest(`update:${name}:${now}:${state.newId('eksupdate')}`));
  state.run(
    "INSERT INTO eks_updates (id, cluster_name, type, params, status, created_at, done_at) VALUES (?, ?, 'EndpointAccessUpdate', ?, 'InProgress', ?, ?)",
    id,
    name,
    JSON.stringify(params),
    now,
    now + (options.delayMs ?? DEFAULT_EKS_DELAY_MS),
  );
  return { update: renderUpdate(state.get<UpdateRow>('SELECT * FROM eks_updates WHERE id = ?', id)!) };
};

/** An update id in EKS's form (a UUID), derived from a hash so runs are reproducible. */
function uuidFrom(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

const describeUpdate: EksAction = (req, ctx) => {
  const row = requireCluster(ctx.state, req.path.name!);
  if (req.query.get('nodegroupName') || req.query.get('addonName')) throw invalid('podnet\'s EKS emulator has no node groups or add-ons.', { clusterName: row.name });
  const update = ctx.state.get<UpdateRow>('SELECT * FROM eks_updates WHERE id = ? AND cluster_name = ?', req.path.updateId!, row.name);
  if (!update) throw new EksError('ResourceNotFoundException', `No update found for ID: ${req.path.updateId!}`, { clusterName: row.name });
  return { update: renderUpdate(update) };
};

const listUpdates: EksAction = (req, ctx) => {
  const row = requireCluster(ctx.state, req.path.name!);
  if (req.query.get('nodegroupName') || req.query.get('addonName')) throw invalid('podnet\'s EKS emulator has no node groups or add-ons.', { clusterName: row.name });
  const ids = ctx.state.all<{ id: string; seq: number }>('SELECT id, seq FROM eks_updates WHERE cluster_name = ? ORDER BY seq', row.name);
  // page by creation order: the token names the last id given, looked up by position
  const size = pageSize(req.query, 100);
  const token = req.query.get('nextToken');
  let start = 0;
  if (token !== null) {
    const after = Buffer.from(token, 'base64url').toString('utf8');
    const i = ids.findIndex((u) => u.id === after);
    if (i < 0) throw invalid('The nextToken provided is not valid.', { clusterName: row.name });
    start = i + 1;
  }
  const page = ids.slice(start, start + size).map((u) => u.id);
  const more = start + size < ids.length;
  return { updateIds: page, nextToken: more ? Buffer.from(page[page.length - 1]!).toString('base64url') : undefined };
};

// ---- Fargate profiles ----

function requireProfile(state: Ec2State, cluster: string, name: string): ProfileRow {
  const row = state.get<ProfileRow>('SELECT * FROM eks_fargate_profiles WHERE cluster_name = ? AND name = ?', cluster, name);
  if (!row) throw new EksError('ResourceNotFoundException', `No Fargate Profile found with name: ${name}.`, { clusterName: cluster, fargateProfileName: name });
  return row;
}

function parseSelectors(value: unknown, fields: EksError['fields']): EksFargateSelector[] {
  if (value === undefined || value === null) value = [];
  if (!Array.isArray(value)) throw invalid('The parameter selectors must be a list.', fields);
  if (value.length === 0) throw invalid('Fargate Profile must have at least one selector.', fields);
  if (value.length > MAX_SELECTORS) throw invalid(`Fargate Profile can have at most ${MAX_SELECTORS} selectors; ${value.length} were given.`, fields);
  return value.map((s: unknown, i): EksFargateSelector => {
    if (typeof s !== 'object' || s === null || Array.isArray(s)) throw invalid(`selectors[${i}] must be an object with a namespace.`, fields);
    const sel = s as Record<string, unknown>;
    const namespace = optionalString(sel, 'namespace');
    if (!namespace) throw invalid(`selectors[${i}].namespace is required.`, fields);
    const labels = stringMap(sel, 'labels');
    if (Object.keys(labels).length > MAX_SELECTOR_LABELS) throw invalid(`A Fargate Profile selector can have at most ${MAX_SELECTOR_LABELS} labels; selectors[${i}] has ${Object.keys(labels).length}.`, fields);
    return Object.keys(labels).length > 0 ? { namespace, labels } : { namespace };
  });
}

/** What the profile's subnets look like to EKS: their route tables, to tell private (no internet gateway route) from public. */
function routeFacts(state: Ec2State, subnets: SubnetRow[]) {
  const tables = new Map<string, Array<{ destination: string; target: { kind: 'igw'; id: string } | { kind: 'local' } }>>();
  const facts = subnets.map((s) => {
    const table =
      state.get<{ route_table_id: string }>('SELECT route_table_id FROM route_table_associations WHERE subnet_id = ?', s.id)?.route_table_id ??
      state.get<{ id: string }>('SELECT id FROM route_tables WHERE vpc_id = ? AND main = 1', s.vpc_id)?.id ??
      null;
    if (table !== null && !tables.has(table)) {
      const routes = state.all<{ destination: string; target_kind: string; target_id: string }>('SELECT destination, target_kind, target_id FROM routes WHERE route_table_id = ?', table);
      tables.set(
        table,
        routes.map((r) => ({ destination: r.destination, target: r.target_kind === 'gateway' && r.target_id.startsWith('igw-') ? { kind: 'igw' as const, id: r.target_id } : { kind: 'local' as const } })),
      );
    }
    return { id: s.id, name: s.id, vpcId: s.vpc_id, cidr: s.cidr, routeTableId: table };
  });
  return { subnets: facts, routeTables: [...tables].map(([id, routes]) => ({ id, vpcId: '', routes })) };
}

const createFargateProfile: EksAction = (req, ctx) => {
  const { state, now, options } = ctx;
  const cluster = requireCluster(state, req.path.name!);
  const clusterName = cluster.name;
  const body = req.body;
  const name = requiredString(body, 'fargateProfileName');
  const fields = { clusterName, fargateProfileName: name };
  checkName(name, 'fargateProfileName');
  const roleArn = requiredString(body, 'podExecutionRoleArn');
  const selectors = parseSelectors(body.selectors, fields);
  const tags = stringMap(body, 'tags');
  const status = clusterStatus(state, cluster, now);
  if (status === 'CREATING') throw new EksError('InvalidRequestException', `Cluster ${clusterName} is in CREATING state; create the Fargate Profile once it is ACTIVE`, fields);
  const profiles = state.all<ProfileRow>('SELECT * FROM eks_fargate_profiles WHERE cluster_name = ? ORDER BY seq', clusterName);
  if (profiles.some((p) => p.name === name)) throw new EksError('ResourceInUseException', `Fargate Profile already exists with name: ${name}`, fields);
  const busy = profiles.find((p) => profileStatus(p, now) !== 'ACTIVE');
  if (busy) {
    throw new EksError('ResourceInUseException', `Cannot Create Fargate Profile ${name} because cluster ${clusterName} currently has Fargate profile ${busy.name} in status ${profileStatus(busy, now)}`, fields);
  }
  if (updateInProgress(state, clusterName)) throw new EksError('ResourceInUseException', `Cannot Create Fargate Profile ${name} because cluster ${clusterName} currently has an update in progress`, fields);
  if (profiles.length >= MAX_FARGATE_PROFILES) {
    throw new EksError('ResourceLimitExceededException', `Cluster ${clusterName} already has ${profiles.length} Fargate Profiles, the most a cluster can have`, fields);
  }
  // without subnets EKS takes the cluster's; either way each must be a private subnet of the cluster's VPC
  const subnetIds = [...new Set(optionalStrings(body, 'subnets') ?? strings(cluster.subnet_ids))];
  if (subnetIds.length === 0) throw invalid('Fargate Profile must have at least one subnet.', fields);
  const subnets = subnetIds.map((id) => subnetRow(state, id, clusterName));
  const foreign = subnets.find((s) => s.vpc_id !== cluster.vpc_id);
  if (foreign) throw invalid(`Subnet ${foreign.id} provided in Fargate Profile is not in the cluster's VPC ${cluster.vpc_id}`, fields);
  const model = routeFacts(state, subnets);
  const publicSubnet = subnets.find((s) => !subnetIsPrivate(model, s.id));
  if (publicSubnet) throw invalid(`Subnet ${publicSubnet.id} provided in Fargate Profile is not a private subnet`, fields);
  const arn = `arn:aws:eks:${state.region}:${ownerId}:fargateprofile/${clusterName}/${name}/${uuidFrom(digest(`fp:${clusterName}:${name}:${state.newId('eksfp')}`))}`;
  state.run(
    `INSERT INTO eks_fargate_profiles (cluster_name, name, arn, role_arn, subnet_ids, selectors, tags, created_at, active_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    clusterName,
    name,
    arn,
    roleArn,
    JSON.stringify(subnetIds),
    JSON.stringify(selectors),
    JSON.stringify(tags),
    now,
    now + (options.delayMs ?? DEFAULT_EKS_DELAY_MS),
  );
  return { fargateProfile: renderProfile(requireProfile(state, clusterName, name), now) };
};

const describeFargateProfile: EksAction = (req, ctx) => {
  const cluster = requireCluster(ctx.state, req.path.name!);
  return { fargateProfile: renderProfile(requireProfile(ctx.state, cluster.name, req.path.profile!), ctx.now) };
};

const listFargateProfiles: EksAction = (req, ctx) => {
  const cluster = requireCluster(ctx.state, req.path.name!);
  const names = ctx.state.all<{ name: string }>('SELECT name FROM eks_fargate_profiles WHERE cluster_name = ? ORDER BY name', cluster.name).map((r) => r.name);
  const { page, nextToken } = paginate(names, req.query, 100);
  return { fargateProfileNames: page, nextToken };
};

const deleteFargateProfile: EksAction = (req, ctx) => {
  const { state, now, options } = ctx;
  const cluster = requireCluster(state, req.path.name!);
  const row = requireProfile(state, cluster.name, req.path.profile!);
  const fields = { clusterName: cluster.name, fargateProfileName: row.name };
  const deleting = state.get<ProfileRow>('SELECT * FROM eks_fargate_profiles WHERE cluster_name = ? AND gone_at IS NOT NULL', cluster.name);
  if (deleting) {
    throw new EksError('ResourceInUseException', `Cannot Delete Fargate Profile ${row.name} because cluster ${cluster.name} currently has Fargate profile ${deleting.name} in status DELETING`, fields);
  }
  if (updateInProgress(state, cluster.name)) {
    throw new EksError('ResourceInUseException', `Cannot Delete Fargate Profile ${row.name} because cluster ${cluster.name} currently has an update in progress`, fields);
  }
  state.run('UPDATE eks_fargate_profiles SET gone_at = ? WHERE seq = ?', now + (options.delayMs ?? DEFAULT_EKS_DELAY_MS), row.seq);
  return { fargateProfile: renderProfile(requireProfile(state, cluster.name, row.name), now) };
};

export const eksActions = {
  CreateCluster: createCluster,
  DescribeCluster: describeCluster,
  ListClusters: listClusters,
  DeleteCluster: deleteCluster,
  UpdateClusterConfig: updateClusterConfig,
  DescribeUpdate: describeUpdate,
  ListUpdates: listUpdates,
  CreateFargateProfile: createFargateProfile,
  DescribeFargateProfile: describeFargateProfile,
  ListFargateProfiles: listFargateProfiles,
  DeleteFargateProfile: deleteFargateProfile,
} satisfies Record<string, EksAction>;

export type EksActionName = keyof typeof eksActions;
