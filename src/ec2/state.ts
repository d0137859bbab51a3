import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import { type Cidr, SubnetSpace, formatAddress, formatCidr, parseAddress, parseCidr } from '../net/index.js';
import type { EniMapping, ImdsInstance, ImdsInterface, MappingEvent } from './protocol.js';

/**
 * The emulated cloud's state: one SQLite database (better-sqlite3, synchronous, so handlers never interleave),
 * every action one immediate transaction, and the mapping events (which address/prefix is on which ENI, which ENI
 * on which instance) published after the transaction commits.
 */
export interface Ec2StateOptions {
  /** SQLite file; `:memory:` (the default) keeps nothing after close. */
  dbPath?: string;
  region?: string;
  /** Where public IPs on launch and Elastic IPs come from; a TEST-NET range by default, never real space. */
  publicIpPool?: string;
  /** Clock in milliseconds since the epoch (launch and attach times); injectable for tests. */
  now?: () => number;
}

export function openEc2State(opts: Ec2StateOptions = {}): Ec2State {
  return new Ec2State(opts);
}

export interface SubnetRow {
  seq: number;
  id: string;
  vpc_id: string;
  cidr: string;
  az: string;
  ipv6_cidr: string | null;
  ipv6_association_id: string | null;
  cidr_association_id: string;
  map_public_ip: number;
}

export interface VpcRow {
  seq: number;
  id: string;
  cidr: string;
  cidr_association_id: string;
  ipv6_cidr: string | null;
  ipv6_association_id: string | null;
}

export interface EniRow {
  seq: number;
  id: string;
  vpc_id: string;
  subnet_id: string;
  az: string;
  mac: string;
  description: string;
  interface_type: string;
  requester_managed: number;
  source_dest_check: number;
  instance_id: string | null;
  device_index: number | null;
  network_card_index: number | null;
  attachment_id: string | null;
  delete_on_termination: number;
  attach_time: number | null;
}

export interface InstanceRow {
  seq: number;
  id: string;
  instance_type: string;
  image_id: string;
  subnet_id: string;
  vpc_id: string;
  az: string;
  state: string;
  launch_time: number;
  reservation_id: string;
  launch_index: number;
}

export interface AddressRow {
  seq: number;
  eni_id: string;
  vpc_id: string;
  subnet_id: string;
  family: 4 | 6;
  kind: 'address' | 'prefix';
  cidr: string;
  is_primary: number;
}

export interface PublicIpRow {
  seq: number;
  public_ip: string;
  allocation_id: string | null;
  association_id: string | null;
  eni_id: string | null;
  private_ip: string | null;
}

const schema = `
CREATE TABLE IF NOT EXISTS counters (kind TEXT PRIMARY KEY, value INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS vpcs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, cidr TEXT NOT NULL,
  cidr_association_id TEXT NOT NULL UNIQUE, ipv6_cidr TEXT UNIQUE, ipv6_association_id TEXT UNIQUE);
CREATE TABLE IF NOT EXISTS vpc_cidr_blocks (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, association_id TEXT NOT NULL UNIQUE, vpc_id TEXT NOT NULL REFERENCES vpcs(id),
  cidr TEXT NOT NULL, state TEXT NOT NULL CHECK (state IN ('associated', 'disassociated')));
CREATE TABLE IF NOT EXISTS subnets (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, vpc_id TEXT NOT NULL REFERENCES vpcs(id),
  cidr TEXT NOT NULL, az TEXT NOT NULL, cidr_association_id TEXT NOT NULL UNIQUE,
  ipv6_cidr TEXT, ipv6_association_id TEXT UNIQUE, map_public_ip INTEGER NOT NULL DEFAULT 0,
  UNIQUE (vpc_id, cidr));
CREATE TABLE IF NOT EXISTS route_tables (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, vpc_id TEXT NOT NULL REFERENCES vpcs(id),
  main INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS routes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, route_table_id TEXT NOT NULL REFERENCES route_tables(id) ON DELETE CASCADE,
  destination TEXT NOT NULL, target_kind TEXT NOT NULL, target_id TEXT NOT NULL,
  UNIQUE (route_table_id, destination));
CREATE TABLE IF NOT EXISTS route_table_associations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
  route_table_id TEXT NOT NULL REFERENCES route_tables(id) ON DELETE CASCADE,
  subnet_id TEXT UNIQUE REFERENCES subnets(id) ON DELETE CASCADE, main INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS internet_gateways (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, vpc_id TEXT REFERENCES vpcs(id));
CREATE TABLE IF NOT EXISTS nat_gateways (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, vpc_id TEXT NOT NULL, subnet_id TEXT NOT NULL,
  eni_id TEXT NOT NULL, allocation_id TEXT, connectivity_type TEXT NOT NULL, create_time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS security_groups (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, vpc_id TEXT NOT NULL REFERENCES vpcs(id),
  name TEXT NOT NULL, description TEXT NOT NULL, UNIQUE (vpc_id, name));
CREATE TABLE IF NOT EXISTS security_group_rules (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
  group_id TEXT NOT NULL REFERENCES security_groups(id) ON DELETE CASCADE, egress INTEGER NOT NULL,
  protocol TEXT NOT NULL, from_port INTEGER NOT NULL, to_port INTEGER NOT NULL,
  cidr TEXT NOT NULL DEFAULT '', ipv6_cidr TEXT NOT NULL DEFAULT '', source_group_id TEXT NOT NULL DEFAULT '',
  UNIQUE (group_id, egress, protocol, from_port, to_port, cidr, ipv6_cidr, source_group_id));
CREATE TABLE IF NOT EXISTS vpc_peerings (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, requester_vpc_id TEXT NOT NULL,
  accepter_vpc_id TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS instances (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, instance_type TEXT NOT NULL,
  image_id TEXT NOT NULL, subnet_id TEXT NOT NULL, vpc_id TEXT NOT NULL, az TEXT NOT NULL, state TEXT NOT NULL,
  launch_time INTEGER NOT NULL, reservation_id TEXT NOT NULL, launch_index INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS enis (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, vpc_id TEXT NOT NULL, subnet_id TEXT NOT NULL,
  az TEXT NOT NULL, mac TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
  interface_type TEXT NOT NULL DEFAULT 'interface', requester_managed INTEGER NOT NULL DEFAULT 0,
  source_dest_check INTEGER NOT NULL DEFAULT 1,
  instance_id TEXT REFERENCES instances(id), device_index INTEGER, network_card_index INTEGER,
  attachment_id TEXT UNIQUE, delete_on_termination INTEGER NOT NULL DEFAULT 0, attach_time INTEGER,
  UNIQUE (instance_id, network_card_index, device_index));
CREATE TABLE IF NOT EXISTS eni_security_groups (
  eni_id TEXT NOT NULL REFERENCES enis(id) ON DELETE CASCADE, group_id TEXT NOT NULL REFERENCES security_groups(id),
  PRIMARY KEY (eni_id, group_id));
CREATE TABLE IF NOT EXISTS eni_addresses (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, eni_id TEXT NOT NULL REFERENCES enis(id) ON DELETE CASCADE,
  vpc_id TEXT NOT NULL, subnet_id TEXT NOT NULL, family INTEGER NOT NULL,
  kind TEXT NOT NULL CHECK (kind IN ('address', 'prefix')), cidr TEXT NOT NULL, is_primary INTEGER NOT NULL DEFAULT 0,
  UNIQUE (vpc_id, cidr));
CREATE INDEX IF NOT EXISTS eni_addresses_by_subnet ON eni_addresses (subnet_id, family);
CREATE INDEX IF NOT EXISTS eni_addresses_by_eni ON eni_addresses (eni_id);
CREATE TABLE IF NOT EXISTS public_ips (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, public_ip TEXT NOT NULL UNIQUE, allocation_id TEXT UNIQUE,
  association_id TEXT UNIQUE, eni_id TEXT REFERENCES enis(id), private_ip TEXT, UNIQUE (eni_id, private_ip));
CREATE TABLE IF NOT EXISTS network_acls (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, vpc_id TEXT NOT NULL REFERENCES vpcs(id),
  is_default INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS network_acl_entries (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, acl_id TEXT NOT NULL REFERENCES network_acls(id) ON DELETE CASCADE,
  egress INTEGER NOT NULL, rule_number INTEGER NOT NULL, protocol TEXT NOT NULL, rule_action TEXT NOT NULL,
  cidr TEXT NOT NULL DEFAULT '', ipv6_cidr TEXT NOT NULL DEFAULT '', from_port INTEGER, to_port INTEGER,
  icmp_type INTEGER, icmp_code INTEGER, UNIQUE (acl_id, egress, rule_number));
CREATE TABLE IF NOT EXISTS network_acl_associations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
  acl_id TEXT NOT NULL REFERENCES network_acls(id), subnet_id TEXT NOT NULL UNIQUE REFERENCES subnets(id) ON DELETE CASCADE);
CREATE TABLE IF NOT EXISTS transit_gateways (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, description TEXT NOT NULL DEFAULT '',
  default_route_table_id TEXT, state TEXT NOT NULL, create_time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS transit_gateway_route_tables (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, tgw_id TEXT NOT NULL,
  is_default INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, create_time INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS transit_gateway_attachments (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, tgw_id TEXT NOT NULL,
  resource_type TEXT NOT NULL, resource_id TEXT NOT NULL, state TEXT NOT NULL, create_time INTEGER NOT NULL,
  association_route_table_id TEXT, propagation_route_table_id TEXT);
CREATE TABLE IF NOT EXISTS transit_gateway_attachment_subnets (
  attachment_id TEXT NOT NULL REFERENCES transit_gateway_attachments(id) ON DELETE CASCADE, subnet_id TEXT NOT NULL,
  PRIMARY KEY (attachment_id, subnet_id));
CREATE TABLE IF NOT EXISTS transit_gateway_static_routes (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, route_table_id TEXT NOT NULL, destination TEXT NOT NULL,
  attachment_id TEXT, UNIQUE (route_table_id, destination));
CREATE TABLE IF NOT EXISTS vpn_gateways (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, amazon_side_asn INTEGER NOT NULL,
  vpc_id TEXT, attachment_state TEXT CHECK (attachment_state IN ('attached', 'detached')));
CREATE TABLE IF NOT EXISTS customer_gateways (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, ip_address TEXT NOT NULL,
  bgp_asn INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS vpn_connections (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, type TEXT NOT NULL, customer_gateway_id TEXT NOT NULL,
  vpn_gateway_id TEXT, transit_gateway_id TEXT, transit_gateway_attachment_id TEXT, static_routes_only INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS vgw_route_propagations (
  route_table_id TEXT NOT NULL REFERENCES route_tables(id) ON DELETE CASCADE, vgw_id TEXT NOT NULL,
  PRIMARY KEY (route_table_id, vgw_id));
CREATE TABLE IF NOT EXISTS tags (
  resource_id TEXT NOT NULL, key TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY (resource_id, key));
CREATE TABLE IF NOT EXISTS trunk_associations (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
  trunk_eni_id TEXT NOT NULL REFERENCES enis(id) ON DELETE CASCADE,
  branch_eni_id TEXT NOT NULL UNIQUE REFERENCES enis(id) ON DELETE CASCADE,
  vlan_id INTEGER NOT NULL, branch_type_before TEXT NOT NULL, UNIQUE (trunk_eni_id, vlan_id));
CREATE TABLE IF NOT EXISTS eni_permissions (
  seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, eni_id TEXT NOT NULL REFERENCES enis(id) ON DELETE CASCADE,
  aws_account_id TEXT, aws_service TEXT, permission TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS client_tokens (
  action TEXT NOT NULL, token TEXT NOT NULL, request TEXT NOT NULL, result TEXT NOT NULL, PRIMARY KEY (action, token));
`;

/** Availability-zone letters follow the region name (us-west-2a); a subnet without an AZ gets the first. */
export class Ec2State {
  readonly db: Database.Database;
  readonly region: string;
  readonly publicIpPool: Cidr;
  readonly now: () => number;
  private readonly statements = new Map<string, Database.Statement>();
  private readonly listeners = new Set<(e: MappingEvent) => void>();
  /** ENIs changed by the running transaction: id → deleted? Undefined outside a transaction. */
  private pending: Map<string, boolean> | undefined;
  /** Whether the running transaction changed security groups, their rules, network ACLs or their associations. */
  private filteringPending = false;

  constructor(opts: Ec2StateOptions) {
    this.region = opts.region ?? 'us-west-2';
    this.publicIpPool = parseCidr(opts.publicIpPool ?? '203.0.113.0/24');
    this.now = opts.now ?? Date.now;
    const path = opts.dbPath ?? ':memory:';
    this.db = new Database(path);
    if (path !== ':memory:') this.db.pragma('journal_mode = WAL');
    this.db.pragma('foreign_keys = ON');
    this.db.exec(schema);
  }

  close(): void {
    this.listeners.clear();
    this.db.close();
  }

  /**
   * Runs fn as one immediate SQLite transaction. Mapping events queued inside are published after the commit
   * and dropped on rollback (the ENIs' events first, then one `filtering` event if filtering changed). A call
   * inside a running transaction joins it.
   */
  transaction<T>(fn: () => T): T {
    if (this.pending) return fn();
    const pending = new Map<string, boolean>();
    this.pending = pending;
    this.filteringPending = false;
    let events: MappingEvent[] = [];
    try {
      const result = this.db
        .transaction(() => {
          const r = fn();
          events = [...pending].map(([eniId, deleted]): MappingEvent => {
            const eni = deleted ? undefined : this.eniMapping(eniId);
            return eni ? { type: 'eni', eni } : { type: 'eni-deleted', eniId };
          });
          if (this.filteringPending) events.push({ type: 'filtering' });
          return r;
        })
        .immediate();
      this.pending = undefined;
      for (const event of events) this.publish(event);
      return result;
    } finally {
      this.pending = undefined;
    }
  }

  /** Listens to mapping events; returns the function that stops listening. */
  onMapping(listener: (e: MappingEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private publish(event: MappingEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (err) {
        // The action has committed; a failing subscriber must not turn its success into an error.
        process.emitWarning(`ec2 mapping listener failed: ${(err as Error).message}`);
      }
    }
  }

  /** Records that an ENI's mapping changed in the running transaction (published after commit). */
  eniChanged(eniId: string): void {
    this.requirePending().set(eniId, this.pending?.get(eniId) ?? false);
  }

  eniDeleted(eniId: string): void {
    this.requirePending().set(eniId, true);
  }

  /** Records that the running transaction changed security groups or network ACLs (one event after commit). */
  filteringChanged(): void {
    this.requirePending();
    this.filteringPending = true;
  }

  private requirePending(): Map<string, boolean> {
    if (!this.pending) throw new Error('ENI changes must run inside Ec2State.transaction');
    return this.pending;
  }

  // ---- SQL helpers (statements are prepared once and cached) ----

  private statement(sql: string): Database.Statement {
    let s = this.statements.get(sql);
    if (!s) {
      s = this.db.prepare(sql);
      this.statements.set(sql, s);
    }
    return s;
  }

  all<T>(sql: string, ...args: unknown[]): T[] {
    return this.statement(sql).all(...args) as T[];
  }

  get<T>(sql: string, ...args: unknown[]): T | undefined {
    return this.statement(sql).get(...args) as T | undefined;
  }

  run(sql: string, ...args: unknown[]): Database.RunResult {
    return this.statement(sql).run(...args);
  }

  // ---- identifiers ----

  private nextCounter(kind: string): number {
    const row = this.get<{ value: number }>(
      'INSERT INTO counters (kind, value) VALUES (?, 1) ON CONFLICT (kind) DO UPDATE SET value = value + 1 RETURNING value',
      kind,
    );
    return row!.value;
  }

  /**
   * A new ID in EC2's format (`eni-` + 17 hex digits): a hash of a per-prefix counter, so IDs look like EC2's,
   * never repeat within one database, and are the same for the same sequence of calls (reproducible tests).
   */
  newId(prefix: string): string {
    const n = this.nextCounter(`id:${prefix}`);
    return `${prefix}-${createHash('sha256').update(`${prefix}:${n}`).digest('hex').slice(0, 17)}`;
  }

  /** A unique, locally administered unicast MAC (02:…), derived from the ENI ID. */
  newMac(eniId: string): string {
    for (let attempt = 0; ; attempt++) {
      const bytes = createHash('sha256').update(`mac:${eniId}:${attempt}`).digest().subarray(0, 5);
      const mac = ['02', ...[...bytes].map((b) => b.toString(16).padStart(2, '0'))].join(':');
      if (!this.get('SELECT 1 FROM enis WHERE mac = ?', mac)) return mac;
    }
  }

  /** The n-th Amazon-provided /56 for a VPC, inside 2001:db8::/32 (the documentation range, never real space). */
  newVpcIpv6Block(): string {
    const n = BigInt(this.nextCounter('vpc-ipv6'));
    const network = (0x20010db8n << 96n) | (n << 72n);
    return formatCidr({ family: 6, network, prefixLength: 56 });
  }

  /** A VPC's IPv4 blocks: the primary (CreateVpc's) first, then the associated secondary blocks in association order. */
  vpcIpv4Cidrs(vpcId: string): string[] {
    const primary = this.get<{ cidr: string }>('SELECT cidr FROM vpcs WHERE id = ?', vpcId);
    if (!primary) return [];
    const secondary = this.all<{ cidr: string }>("SELECT cidr FROM vpc_cidr_blocks WHERE vpc_id = ? AND state = 'associated' ORDER BY seq", vpcId);
    return [primary.cidr, ...secondary.map((r) => r.cidr)];
  }

  availabilityZones(): string[] {
    return ['a', 'b', 'c', 'd'].map((letter) => `${this.region}${letter}`);
  }

  // ---- address space ----

  /** Free-space accounting of one subnet for one family, built from the addresses and prefixes in use. */
  subnetSpace(subnet: SubnetRow, family: 4 | 6): SubnetSpace | undefined {
    const cidr = family === 4 ? subnet.cidr : subnet.ipv6_cidr;
    if (!cidr) return undefined;
    const used = this.all<{ cidr: string; kind: string }>(
      'SELECT cidr, kind FROM eni_addresses WHERE subnet_id = ? AND family = ?',
      subnet.id,
      family,
    ).map((r) => (r.kind === 'prefix' ? parseCidr(r.cidr) : parseAddress(r.cidr)));
    return new SubnetSpace(parseCidr(cidr), used);
  }

  addressesOf(eniId: string): AddressRow[] {
    return this.all<AddressRow>(
      'SELECT * FROM eni_addresses WHERE eni_id = ? ORDER BY is_primary DESC, seq',
      eniId,
    );
  }

  /** The lowest public IP of the pool not handed out, skipping the pool's network and broadcast addresses. */
  allocatePublicIp(): string | undefined {
    const used = this.all<{ public_ip: string }>('SELECT public_ip FROM public_ips').map((r) => parseAddress(r.public_ip));
    const space = new SubnetSpace(this.publicIpPool, used);
    // SubnetSpace also keeps AWS's subnet reservations (+1..+3) out, which is harmless for a pool.
    if (space.freeAddressCount() === 0n) return undefined;
    return formatAddress(space.allocateAddress());
  }

  // ---- the mapping the fabric routes by ----

  eniMapping(eniId: string): EniMapping | undefined {
    const eni = this.get<EniRow>('SELECT * FROM enis WHERE id = ?', eniId);
    if (!eni) return undefined;
    const rows = this.addressesOf(eniId);
    const pick = (family: number, kind: string) => rows.filter((r) => r.family === family && r.kind === kind).map((r) => r.cidr);
    const publicIps: Record<string, string> = {};
    for (const p of this.all<PublicIpRow>('SELECT * FROM public_ips WHERE eni_id = ? ORDER BY seq', eniId)) {
      if (p.private_ip) publicIps[p.private_ip] = p.public_ip;
    }
    return {
      eniId: eni.id,
      mac: eni.mac,
      vpcId: eni.vpc_id,
      subnetId: eni.subnet_id,
      instanceId: eni.instance_id,
      deviceIndex: eni.device_index,
      privateIps: pick(4, 'address'),
      ipv4Prefixes: pick(4, 'prefix'),
      ipv6Addresses: pick(6, 'address'),
      ipv6Prefixes: pick(6, 'prefix'),
      publicIps,
      groupIds: this.eniGroupIds(eni.id),
      ...this.branchTrunk(eni.id),
      interfaceType: eni.interface_type,
      description: eni.description,
      requesterManaged: eni.requester_managed === 1,
    };
  }

  /** For a branch ENI associated with a trunk (AssociateTrunkInterface): the trunk and the VLAN; nothing otherwise. */
  private branchTrunk(eniId: string): Pick<EniMapping, 'trunk'> {
    const row = this.get<{ trunk_eni_id: string; vlan_id: number }>(
      'SELECT trunk_eni_id, vlan_id FROM trunk_associations WHERE branch_eni_id = ?',
      eniId,
    );
    return row ? { trunk: { trunkEniId: row.trunk_eni_id, vlanId: row.vlan_id } } : {};
  }

  /** An ENI's security groups, in the order they were given (none for requester-managed ENIs). */
  eniGroupIds(eniId: string): string[] {
    return this.all<{ group_id: string }>('SELECT group_id FROM eni_security_groups WHERE eni_id = ? ORDER BY rowid', eniId).map((g) => g.group_id);
  }

  mappingSnapshot(): EniMapping[] {
    return this.all<{ id: string }>('SELECT id FROM enis ORDER BY seq').map((r) => this.eniMapping(r.id)!);
  }

  /** What IMDS serves for a running instance, found by ID or by the primary private IP of one of its ENIs. */
  imdsInstance(by: { instanceId?: string; privateIp?: string }): ImdsInstance | undefined {
    let instanceId = by.instanceId;
    if (!instanceId && by.privateIp) {
      // any address of an attached ENI, or an address inside one of its /28 prefixes: a node or a pod on it
      const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(by.privateIp);
      const prefix = v4 ? `${v4[1]}.${v4[2]}.${v4[3]}.${Number(v4[4]) & 0xf0}/28` : '';
      instanceId = this.get<{ instance_id: string }>(
        `SELECT e.instance_id FROM eni_addresses a JOIN enis e ON e.id = a.eni_id
         WHERE e.instance_id IS NOT NULL AND ((a.kind = 'address' AND a.cidr = ?) OR (a.kind = 'prefix' AND a.cidr = ?))
         ORDER BY a.is_primary DESC, e.device_index LIMIT 1`,
        by.privateIp,
        prefix,
      )?.instance_id;
    }
    if (!instanceId) return undefined;
    const instance = this.get<InstanceRow>("SELECT * FROM instances WHERE id = ? AND state = 'running'", instanceId);
    if (!instance) return undefined;
    const enis = this.all<EniRow>(
      'SELECT * FROM enis WHERE instance_id = ? ORDER BY network_card_index, device_index',
      instance.id,
    );
    const interfaces = enis.map((eni) => this.imdsInterface(eni));
    const primary = interfaces.find((i) => i.deviceNumber === 0 && i.networkCard === 0) ?? interfaces[0];
    if (!primary) return undefined;
    return {
      instanceId: instance.id,
      instanceType: instance.instance_type,
      availabilityZone: instance.az,
      region: this.region,
      localIpv4: primary.localIpv4s[0] ?? '',
      publicIpv4: primary.publicIpv4s[0],
      ipv6: primary.ipv6s[0],
      mac: primary.mac,
      interfaces,
    };
  }

  private imdsInterface(eni: EniRow): ImdsInterface {
    const mapping = this.eniMapping(eni.id)!;
    const subnet = this.get<SubnetRow>('SELECT * FROM subnets WHERE id = ?', eni.subnet_id)!;
    const vpc = this.get<VpcRow>('SELECT * FROM vpcs WHERE id = ?', eni.vpc_id)!;
    return {
      mac: eni.mac,
      interfaceId: eni.id,
      deviceNumber: eni.device_index ?? 0,
      networkCard: eni.network_card_index ?? 0,
      subnetId: eni.subnet_id,
      vpcId: eni.vpc_id,
      securityGroupIds: [...mapping.groupIds].sort(),
      localIpv4s: mapping.privateIps,
      ipv4Prefixes: mapping.ipv4Prefixes,
      ipv6s: mapping.ipv6Addresses,
      ipv6Prefixes: mapping.ipv6Prefixes,
      subnetIpv4CidrBlock: subnet.cidr,
      subnetIpv6CidrBlocks: subnet.ipv6_cidr ? [subnet.ipv6_cidr] : [],
      vpcIpv4CidrBlocks: this.vpcIpv4Cidrs(vpc.id),
      vpcIpv6CidrBlocks: vpc.ipv6_cidr ? [vpc.ipv6_cidr] : [],
      publicIpv4s: mapping.privateIps.map((ip) => mapping.publicIps[ip]).filter((p): p is string => p !== undefined),
    };
  }
}
