/**
 * The emulator's EKS state: clusters, their updates and Fargate profiles, in the same SQLite database as EC2's
 * resources (a cluster owns EC2 resources: its security group, its network interfaces, its public endpoint address,
 * so both live and roll back in one transaction). Asynchronous EKS work (a cluster becoming ACTIVE, an update being
 * applied, a profile becoming ACTIVE or going away) is stored as the time it completes; `settleEks` carries out what
 * is due: every EKS request settles first, and every read of the clusters when something has come due — no timers.
 */
import { eksEndpointHostname, type EksCluster, type EksFargateProfile, type EksFargateSelector } from '../vpc/index.js';
import { ownerId } from './actions/common.js';
import { primaryIp } from './actions/enis.js';
import type { Ec2State } from './state.js';

const schema = `
CREATE TABLE IF NOT EXISTS eks_clusters (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE, version TEXT NOT NULL, role_arn TEXT NOT NULL,
  vpc_id TEXT NOT NULL, subnet_ids TEXT NOT NULL, security_group_ids TEXT NOT NULL, cluster_sg_id TEXT NOT NULL,
  eni_ids TEXT NOT NULL, public_access INTEGER NOT NULL, private_access INTEGER NOT NULL, public_cidrs TEXT NOT NULL,
  public_address TEXT, ca_pem TEXT NOT NULL, oidc_id TEXT NOT NULL, tags TEXT NOT NULL,
  created_at INTEGER NOT NULL, active_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS eks_updates (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, cluster_name TEXT NOT NULL, type TEXT NOT NULL,
  params TEXT NOT NULL, status TEXT NOT NULL, errors TEXT NOT NULL DEFAULT '[]', created_at INTEGER NOT NULL,
  done_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS eks_fargate_profiles (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, cluster_name TEXT NOT NULL, name TEXT NOT NULL, arn TEXT NOT NULL,
  role_arn TEXT NOT NULL, subnet_ids TEXT NOT NULL, selectors TEXT NOT NULL, tags TEXT NOT NULL,
  created_at INTEGER NOT NULL, active_at INTEGER NOT NULL, gone_at INTEGER, UNIQUE (cluster_name, name));
`;

export interface ClusterRow {
  seq: number;
  name: string;
  version: string;
  role_arn: string;
  vpc_id: string;
  /** JSON string arrays */
  subnet_ids: string;
  security_group_ids: string;
  cluster_sg_id: string;
  eni_ids: string;
  public_access: number;
  private_access: number;
  public_cidrs: string;
  public_address: string | null;
  ca_pem: string;
  oidc_id: string;
  tags: string;
  created_at: number;
  active_at: number;
}

export interface UpdateRow {
  seq: number;
  id: string;
  cluster_name: string;
  type: string;
  /** JSON: [{type, value}] as EKS lists an update's params */
  params: string;
  status: 'InProgress' | 'Successful' | 'Failed' | 'Cancelled';
  errors: string;
  created_at: number;
  done_at: number;
}

export interface ProfileRow {
  seq: number;
  cluster_name: string;
  name: string;
  arn: string;
  role_arn: string;
  subnet_ids: string;
  selectors: string;
  tags: string;
  created_at: number;
  active_at: number;
  gone_at: number | null;
}

export interface UpdateParam {
  type: string;
  value: string;
}

const prepared = new WeakSet<Ec2State>();

/**
 * Creates the EKS tables on first use (Ec2State knows EC2 only; EKS adds its tables beside them). Called outside any
 * transaction, so a rolled-back request cannot take the tables with it.
 */
export function ensureEksSchema(state: Ec2State): void {
  if (prepared.has(state)) return;
  state.db.exec(schema);
  prepared.add(state);
}

export function clusterArn(state: Ec2State, name: string): string {
  return `arn:aws:eks:${state.region}:${ownerId}:cluster/${name}`;
}

export function clusterHostname(state: Ec2State, name: string): string {
  return eksEndpointHostname(ownerId, state.region, name);
}

export const strings = (json: string): string[] => JSON.parse(json) as string[];

export function findCluster(state: Ec2State, name: string): ClusterRow | undefined {
  return state.get<ClusterRow>('SELECT * FROM eks_clusters WHERE name = ?', name);
}

export function updateInProgress(state: Ec2State, clusterName: string): UpdateRow | undefined {
  return state.get<UpdateRow>("SELECT * FROM eks_updates WHERE cluster_name = ? AND status = 'InProgress' ORDER BY seq LIMIT 1", clusterName);
}

export function clusterStatus(state: Ec2State, row: ClusterRow, now: number): EksCluster['status'] {
  if (now < row.active_at) return 'CREATING';
  return updateInProgress(state, row.name) ? 'UPDATING' : 'ACTIVE';
}

export function profileStatus(row: ProfileRow, now: number): EksFargateProfile['status'] {
  if (row.gone_at !== null) return 'DELETING';
  return now < row.active_at ? 'CREATING' : 'ACTIVE';
}

/** Reserves an address of the public pool for a public endpoint (a row of its own: no ENI, no allocation id). */
export function reservePublicAddress(state: Ec2State): string | undefined {
  const address = state.allocatePublicIp();
  if (address !== undefined) state.run('INSERT INTO public_ips (public_ip) VALUES (?)', address);
  return address;
}

export function releasePublicAddress(state: Ec2State, address: string | null): void {
  if (address !== null) state.run('DELETE FROM public_ips WHERE public_ip = ? AND eni_id IS NULL AND allocation_id IS NULL', address);
}

/**
 * Applies one endpoint-access update to its cluster: the access flags, the allow-list, and the public address (taken
 * from the pool when public access comes on, given back when it goes off). False when the pool is exhausted.
 */
function applyEndpointUpdate(state: Ec2State, cluster: ClusterRow, params: UpdateParam[]): boolean {
  const value = (type: string) => params.find((p) => p.type === type)?.value;
  const publicAccess = value('EndpointPublicAccess') === undefined ? cluster.public_access === 1 : value('EndpointPublicAccess') === 'true';
  const privateAccess = value('EndpointPrivateAccess') === undefined ? cluster.private_access === 1 : value('EndpointPrivateAccess') === 'true';
  const cidrs = value('PublicAccessCidrs') ?? cluster.public_cidrs;
  let address = cluster.public_address;
  if (publicAccess && address === null) {
    address = reservePublicAddress(state) ?? null;
    if (address === null) return false;
  } else if (!publicAccess && address !== null) {
    releasePublicAddress(state, address);
    address = null;
  }
  state.run(
    'UPDATE eks_clusters SET public_access = ?, private_access = ?, public_cidrs = ?, public_address = ? WHERE seq = ?',
    publicAccess ? 1 : 0,
    privateAccess ? 1 : 0,
    cidrs,
    address,
    cluster.seq,
  );
  return true;
}

/** Carries out the EKS work due at `now`: updates applied, deleted Fargate profiles removed. Inside a transaction. */
export function settleEks(state: Ec2State, now: number): void {
  for (const update of state.all<UpdateRow>("SELECT * FROM eks_updates WHERE status = 'InProgress' AND done_at <= ? ORDER BY seq", now)) {
    const cluster = findCluster(state, update.cluster_name);
    const applied = cluster !== undefined && applyEndpointUpdate(state, cluster, JSON.parse(update.params) as UpdateParam[]);
    const errors = applied ? [] : [{ errorCode: 'Unknown', errorMessage: 'The public IP pool has no free address left for the public endpoint.', resourceIds: [update.cluster_name] }];
    state.run('UPDATE eks_updates SET status = ?, errors = ? WHERE seq = ?', applied ? 'Successful' : 'Failed', JSON.stringify(errors), update.seq);
  }
  state.run('DELETE FROM eks_fargate_profiles WHERE gone_at IS NOT NULL AND gone_at <= ?', now);
}

function profileView(row: ProfileRow, now: number): EksFargateProfile {
  return { name: row.name, subnetIds: strings(row.subnet_ids), selectors: JSON.parse(row.selectors) as EksFargateSelector[], status: profileStatus(row, now) };
}

/** One cluster as the lab, its DNS and explain read it (src/vpc's EksCluster). */
export function clusterView(state: Ec2State, row: ClusterRow, now: number): EksCluster {
  const profiles = state.all<ProfileRow>('SELECT * FROM eks_fargate_profiles WHERE cluster_name = ? ORDER BY name', row.name);
  return {
    name: row.name,
    arn: clusterArn(state, row.name),
    version: row.version,
    status: clusterStatus(state, row, now),
    vpcId: row.vpc_id,
    subnetIds: strings(row.subnet_ids),
    hostname: clusterHostname(state, row.name),
    clusterSecurityGroupId: row.cluster_sg_id,
    securityGroupIds: strings(row.security_group_ids),
    // an interface that is gone (EC2 refuses to delete them, so: never) is left out rather than given without an address
    enis: strings(row.eni_ids).flatMap((eniId) => {
      const eni = state.get<{ subnet_id: string }>('SELECT subnet_id FROM enis WHERE id = ?', eniId);
      const privateIp = primaryIp(state, eniId);
      return eni && privateIp !== undefined ? [{ eniId, subnetId: eni.subnet_id, privateIp }] : [];
    }),
    publicAddress: row.public_address,
    endpointPublicAccess: row.public_access === 1,
    endpointPrivateAccess: row.private_access === 1,
    publicAccessCidrs: strings(row.public_cidrs),
    fargateProfiles: profiles.map((p) => profileView(p, now)),
  };
}

/** Whether EKS work is due at `now` (an update to apply, a deleted profile to remove): two reads, no write. */
function eksWorkDue(state: Ec2State, now: number): boolean {
  return (
    state.get("SELECT 1 FROM eks_updates WHERE status = 'InProgress' AND done_at <= ? LIMIT 1", now) !== undefined ||
    state.get('SELECT 1 FROM eks_fargate_profiles WHERE gone_at IS NOT NULL AND gone_at <= ? LIMIT 1', now) !== undefined
  );
}

/**
 * Every EKS cluster of the emulated account, settled to now, in creation order: what `GET /_podnet/eks` serves, what
 * the VPC DNS answers from at each query and what `podnet explain --scenario` reads from its in-memory state. A read:
 * it opens a write transaction only when EKS work has come due since the last settle, so a flood of DNS queries makes
 * no writes (at most one per update or profile deletion, whoever reads first). The reads are synchronous, so no other
 * request of this process runs between them.
 */
export function eksClusters(state: Ec2State): EksCluster[] {
  ensureEksSchema(state);
  const now = state.now();
  if (eksWorkDue(state, now)) state.transaction(() => settleEks(state, now));
  return state.all<ClusterRow>('SELECT * FROM eks_clusters ORDER BY seq').map((row) => clusterView(state, row, now));
}
