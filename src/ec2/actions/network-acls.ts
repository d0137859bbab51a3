import { Ec2Error, type ActionHandler, type Ec2Params, type XmlObject } from '../protocol.js';
import type { Ec2State, SubnetRow, VpcRow } from '../state.js';
import { applyTagSpecifications, deleteResource, describeAction, findRow, invalidParameter, ownerId, parseCidrParam, selectRows, tagSet } from './common.js';

type Handler = ActionHandler<Ec2State>;

interface AclRow {
  seq: number;
  id: string;
  vpc_id: string;
  is_default: number;
}

interface EntryRow {
  seq: number;
  acl_id: string;
  egress: number;
  rule_number: number;
  protocol: string;
  rule_action: 'allow' | 'deny';
  cidr: string;
  ipv6_cidr: string;
  from_port: number | null;
  to_port: number | null;
  icmp_type: number | null;
  icmp_code: number | null;
}

interface AssociationRow {
  seq: number;
  id: string;
  acl_id: string;
  subnet_id: string;
}

type NewEntry = Omit<EntryRow, 'seq' | 'acl_id'>;

/** The rule EC2 shows last in every ACL, once per family: no rule matched, so the packet is denied. */
const implicitDenyRule = 32767;
const implicitDenyRuleIpv6 = 32768;

function insertEntry(state: Ec2State, aclId: string, e: NewEntry): void {
  state.run(
    `INSERT INTO network_acl_entries (acl_id, egress, rule_number, protocol, rule_action, cidr, ipv6_cidr, from_port, to_port, icmp_type, icmp_code)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    aclId, e.egress, e.rule_number, e.protocol, e.rule_action, e.cidr, e.ipv6_cidr, e.from_port, e.to_port, e.icmp_type, e.icmp_code,
  );
}

function insertAcl(state: Ec2State, vpcId: string, isDefault: boolean): string {
  const id = state.newId('acl');
  state.run('INSERT INTO network_acls (id, vpc_id, is_default) VALUES (?, ?, ?)', id, vpcId, isDefault ? 1 : 0);
  return id;
}

/**
 * EC2's default ACL of a VPC: rule 100 allows all traffic in and out (rule 101 for ::/0 when the VPC has IPv6);
 * the implicit deny is rendered, not stored.
 */
export function createDefaultNetworkAcl(state: Ec2State, vpc: VpcRow): string {
  const id = insertAcl(state, vpc.id, true);
  const all = { protocol: '-1', rule_action: 'allow' as const, cidr: '', ipv6_cidr: '', from_port: null, to_port: null, icmp_type: null, icmp_code: null };
  for (const egress of [0, 1]) {
    insertEntry(state, id, { ...all, egress, rule_number: 100, cidr: '0.0.0.0/0' });
    if (vpc.ipv6_cidr) insertEntry(state, id, { ...all, egress, rule_number: 101, ipv6_cidr: '::/0' });
  }
  state.filteringChanged();
  return id;
}

/** Associates a new subnet with its VPC's default ACL (created here for a VPC from a database older than ACLs). */
export function associateDefaultNetworkAcl(state: Ec2State, vpc: VpcRow, subnetId: string): void {
  const aclId =
    state.get<{ id: string }>('SELECT id FROM network_acls WHERE vpc_id = ? AND is_default = 1', vpc.id)?.id ??
    createDefaultNetworkAcl(state, vpc);
  state.run('INSERT INTO network_acl_associations (id, acl_id, subnet_id) VALUES (?, ?, ?)', state.newId('aclassoc'), aclId, subnetId);
  state.filteringChanged();
}

/** DeleteVpc's part: another ACL than the default one is a dependency; the default one goes with the VPC. */
export function vpcHasCustomNetworkAcl(state: Ec2State, vpcId: string): boolean {
  return state.get('SELECT 1 FROM network_acls WHERE vpc_id = ? AND is_default = 0', vpcId) !== undefined;
}

export function deleteVpcNetworkAcls(state: Ec2State, vpcId: string): void {
  for (const acl of state.all<{ id: string }>('SELECT id FROM network_acls WHERE vpc_id = ?', vpcId)) {
    state.run('DELETE FROM network_acl_associations WHERE acl_id = ?', acl.id);
    deleteResource(state, 'networkAcl', acl.id);
    state.filteringChanged();
  }
}

/** The API takes protocol numbers only (-1 for all): EC2 refuses `tcp` here, where security groups accept it. */
function protocolParam(text: string): string {
  if (text !== '-1' && !(/^\d+$/.test(text) && Number(text) <= 255)) {
    throw invalidParameter(`Invalid value '${text}' for IP protocol. Unknown protocol.`);
  }
  return String(Number(text));
}

/** The entry one Create/ReplaceNetworkAclEntry asks for, validated as EC2 does. */
function requestedEntry(params: Ec2Params): NewEntry {
  const ruleNumber = params.int('RuleNumber');
  if (ruleNumber === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter ruleNumber');
  if (ruleNumber < 1 || ruleNumber > 32766) {
    throw invalidParameter(`Value (${ruleNumber}) for parameter ruleNumber is invalid. Rulenumber must be in range 1..32766`);
  }
  const action = params.req('RuleAction').toLowerCase();
  if (action !== 'allow' && action !== 'deny') {
    throw invalidParameter(`Value (${params.req('RuleAction')}) for parameter ruleAction is invalid. Must be allow or deny.`);
  }
  const protocol = protocolParam(params.req('Protocol'));
  const cidr = params.str('CidrBlock');
  const ipv6 = params.str('Ipv6CidrBlock');
  if ((cidr === undefined) === (ipv6 === undefined)) {
    throw new Ec2Error('InvalidParameterCombination', 'Exactly one of cidrBlock and ipv6CidrBlock must be specified.');
  }
  if (cidr !== undefined) parseCidrParam(cidr, 'cidrBlock', 4);
  if (ipv6 !== undefined) parseCidrParam(ipv6, 'ipv6CidrBlock', 6);
  const entry: NewEntry = {
    egress: params.bool('Egress') === true ? 1 : 0,
    rule_number: ruleNumber,
    protocol,
    rule_action: action,
    cidr: cidr ?? '',
    ipv6_cidr: ipv6 ?? '',
    from_port: null,
    to_port: null,
    icmp_type: null,
    icmp_code: null,
  };
  // EC2 keeps a port range only for TCP and UDP, and an ICMP type/code only for ICMP; for others it ignores them.
  if (protocol === '6' || protocol === '17') {
    const from = params.int('PortRange.From');
    const to = params.int('PortRange.To');
    if (from === undefined || to === undefined) {
      throw invalidParameter(`Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.`);
    }
    if (from < 0 || to > 65535 || from > to) throw invalidParameter(`Invalid value '${from}-${to}' for portRange.`);
    entry.from_port = from;
    entry.to_port = to;
  }
  if (protocol === '1' || protocol === '58') {
    const type = params.int('Icmp.Type');
    const code = params.int('Icmp.Code');
    if (type === undefined || code === undefined) {
      throw new Ec2Error('MissingParameter', 'The request must contain the parameter icmpTypeCode (Type and Code) for ICMP.');
    }
    if (type < -1 || type > 255 || code < -1 || code > 255) throw invalidParameter(`Invalid value '${type}/${code}' for icmpTypeCode.`);
    entry.icmp_type = type;
    entry.icmp_code = code;
  }
  return entry;
}

function findEntry(state: Ec2State, aclId: string, egress: number, ruleNumber: number): EntryRow | undefined {
  return state.get<EntryRow>(
    'SELECT * FROM network_acl_entries WHERE acl_id = ? AND egress = ? AND rule_number = ?',
    aclId, egress, ruleNumber,
  );
}

function entryNotFound(aclId: string, egress: number, ruleNumber: number): Ec2Error {
  const direction = egress ? 'egress' : 'ingress';
  return new Ec2Error('InvalidNetworkAclEntry.NotFound', `The network acl entry identified by ${ruleNumber} (${direction}) in ${aclId} does not exist.`);
}

function renderEntry(e: NewEntry): XmlObject {
  return {
    ruleNumber: e.rule_number,
    protocol: e.protocol,
    ruleAction: e.rule_action,
    egress: e.egress === 1,
    cidrBlock: e.cidr || undefined,
    ipv6CidrBlock: e.ipv6_cidr || undefined,
    portRange: e.from_port !== null ? { from: e.from_port, to: e.to_port } : undefined,
    icmpTypeCode: e.icmp_type !== null ? { type: e.icmp_type, code: e.icmp_code } : undefined,
  };
}

function implicitDeny(egress: number, family: 4 | 6): NewEntry {
  return {
    egress,
    rule_number: family === 4 ? implicitDenyRule : implicitDenyRuleIpv6,
    protocol: '-1',
    rule_action: 'deny',
    cidr: family === 4 ? '0.0.0.0/0' : '',
    ipv6_cidr: family === 6 ? '::/0' : '',
    from_port: null,
    to_port: null,
    icmp_type: null,
    icmp_code: null,
  };
}

function renderAcl(state: Ec2State, acl: AclRow): XmlObject {
  const entries: NewEntry[] = state.all<EntryRow>(
    'SELECT * FROM network_acl_entries WHERE acl_id = ? ORDER BY egress DESC, rule_number',
    acl.id,
  );
  const hasIpv6 = state.get<VpcRow>('SELECT * FROM vpcs WHERE id = ?', acl.vpc_id)?.ipv6_cidr;
  const shown: NewEntry[] = [];
  for (const egress of [1, 0]) {
    shown.push(...entries.filter((e) => e.egress === egress), implicitDeny(egress, 4));
    if (hasIpv6) shown.push(implicitDeny(egress, 6));
  }
  return {
    networkAclId: acl.id,
    vpcId: acl.vpc_id,
    ownerId,
    default: acl.is_default === 1,
    entrySet: shown.map(renderEntry),
    associationSet: associationsOf(state, acl.id).map((a) => ({
      networkAclAssociationId: a.id,
      networkAclId: a.acl_id,
      subnetId: a.subnet_id,
    })),
    tagSet: tagSet(state, acl.id),
  };
}

function associationsOf(state: Ec2State, aclId: string): AssociationRow[] {
  return state.all<AssociationRow>('SELECT * FROM network_acl_associations WHERE acl_id = ? ORDER BY seq', aclId);
}

const createNetworkAcl: Handler = (params, state) => {
  const vpc = findRow<VpcRow>(state, 'vpc', params.req('VpcId'));
  const id = insertAcl(state, vpc.id, false);
  applyTagSpecifications(state, params, 'network-acl', id);
  state.filteringChanged();
  return { networkAcl: renderAcl(state, findRow<AclRow>(state, 'networkAcl', id)) };
};

const createNetworkAclEntry: Handler = (params, state) => {
  const acl = findRow<AclRow>(state, 'networkAcl', params.req('NetworkAclId'));
  const entry = requestedEntry(params);
  if (findEntry(state, acl.id, entry.egress, entry.rule_number)) {
    throw new Ec2Error('NetworkAclEntryAlreadyExists', `The network acl entry identified by ${entry.rule_number} already exists.`);
  }
  insertEntry(state, acl.id, entry);
  state.filteringChanged();
  return { return: true };
};

const replaceNetworkAclEntry: Handler = (params, state) => {
  const acl = findRow<AclRow>(state, 'networkAcl', params.req('NetworkAclId'));
  const entry = requestedEntry(params);
  const existing = findEntry(state, acl.id, entry.egress, entry.rule_number);
  if (!existing) throw entryNotFound(acl.id, entry.egress, entry.rule_number);
  state.run('DELETE FROM network_acl_entries WHERE seq = ?', existing.seq);
  insertEntry(state, acl.id, entry);
  state.filteringChanged();
  return { return: true };
};

const deleteNetworkAclEntry: Handler = (params, state) => {
  const acl = findRow<AclRow>(state, 'networkAcl', params.req('NetworkAclId'));
  const ruleNumber = params.int('RuleNumber');
  if (ruleNumber === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter ruleNumber');
  const egress = params.bool('Egress') === true ? 1 : 0;
  const existing = findEntry(state, acl.id, egress, ruleNumber);
  if (!existing) throw entryNotFound(acl.id, egress, ruleNumber);
  state.run('DELETE FROM network_acl_entries WHERE seq = ?', existing.seq);
  state.filteringChanged();
  return { return: true };
};

const replaceNetworkAclAssociation: Handler = (params, state) => {
  const associationId = params.req('AssociationId');
  const association = state.get<AssociationRow>('SELECT * FROM network_acl_associations WHERE id = ?', associationId);
  if (!association) {
    throw new Ec2Error('InvalidAssociationID.NotFound', `The association ID '${associationId}' does not exist`, 400, [associationId]);
  }
  const acl = findRow<AclRow>(state, 'networkAcl', params.req('NetworkAclId'));
  const subnet = state.get<SubnetRow>('SELECT * FROM subnets WHERE id = ?', association.subnet_id)!;
  if (acl.vpc_id !== subnet.vpc_id) {
    throw invalidParameter(`Network ACL ${acl.id} and subnet ${subnet.id} belong to different networks.`);
  }
  const newId = state.newId('aclassoc');
  state.run('UPDATE network_acl_associations SET id = ?, acl_id = ? WHERE seq = ?', newId, acl.id, association.seq);
  state.filteringChanged();
  return { newAssociationId: newId };
};

const deleteNetworkAcl: Handler = (params, state) => {
  const acl = findRow<AclRow>(state, 'networkAcl', params.req('NetworkAclId'));
  if (acl.is_default === 1) throw invalidParameter(`cannot delete default network ACL ${acl.id}`);
  if (associationsOf(state, acl.id).length > 0) {
    throw new Ec2Error('DependencyViolation', `The networkAcl '${acl.id}' has dependencies and cannot be deleted.`);
  }
  deleteResource(state, 'networkAcl', acl.id);
  state.filteringChanged();
  return { return: true };
};

const describeNetworkAcls = describeAction<AclRow>({
  select: selectRows('networkAcl', 'NetworkAclId'),
  filters: {
    'network-acl-id': (a) => [a.id],
    'vpc-id': (a) => [a.vpc_id],
    default: (a) => [a.is_default === 1],
    'owner-id': () => [ownerId],
    'association.subnet-id': (a, state) => associationsOf(state, a.id).map((r) => r.subnet_id),
    'association.association-id': (a, state) => associationsOf(state, a.id).map((r) => r.id),
    'association.network-acl-id': (a, state) => associationsOf(state, a.id).map((r) => r.acl_id),
  },
  paging: { min: 5, max: 100 },
  render: (page, state) => ({ networkAclSet: page.map((a) => renderAcl(state, a)) }),
});

export const networkAclActions: Record<string, Handler> = {
  CreateNetworkAcl: createNetworkAcl,
  CreateNetworkAclEntry: createNetworkAclEntry,
  ReplaceNetworkAclEntry: replaceNetworkAclEntry,
  DeleteNetworkAclEntry: deleteNetworkAclEntry,
  ReplaceNetworkAclAssociation: replaceNetworkAclAssociation,
  DeleteNetworkAcl: deleteNetworkAcl,
  DescribeNetworkAcls: describeNetworkAcls,
};
