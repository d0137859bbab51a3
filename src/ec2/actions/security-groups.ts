import { Ec2Error, type ActionHandler, type Ec2Params, type XmlObject } from '../protocol.js';
import type { Ec2State, VpcRow } from '../state.js';
import { applyTagSpecifications, deleteResource, describeAction, findRow, findRows, invalidParameter, ownerId, parseCidrParam, selectRows, tagSet } from './common.js';

type Handler = ActionHandler<Ec2State>;

interface GroupRow {
  seq: number;
  id: string;
  vpc_id: string;
  name: string;
  description: string;
}

interface RuleRow {
  seq: number;
  id: string;
  group_id: string;
  egress: number;
  protocol: string;
  from_port: number;
  to_port: number;
  cidr: string;
  ipv6_cidr: string;
  source_group_id: string;
}

type NewRule = Omit<RuleRow, 'seq' | 'id' | 'group_id' | 'egress'>;

function insertRule(state: Ec2State, groupId: string, egress: boolean, rule: NewRule): RuleRow {
  const id = state.newId('sgr');
  state.run(
    `INSERT INTO security_group_rules (id, group_id, egress, protocol, from_port, to_port, cidr, ipv6_cidr, source_group_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    id, groupId, egress ? 1 : 0, rule.protocol, rule.from_port, rule.to_port, rule.cidr, rule.ipv6_cidr, rule.source_group_id,
  );
  return state.get<RuleRow>('SELECT * FROM security_group_rules WHERE id = ?', id)!;
}

/** EC2's default group of a VPC: all traffic in from members of the group, all traffic out. */
export function createDefaultSecurityGroup(state: Ec2State, vpcId: string): string {
  const id = state.newId('sg');
  state.run(
    "INSERT INTO security_groups (id, vpc_id, name, description) VALUES (?, ?, 'default', 'default VPC security group')",
    id,
    vpcId,
  );
  const all = { protocol: '-1', from_port: -1, to_port: -1, cidr: '', ipv6_cidr: '' };
  insertRule(state, id, false, { ...all, source_group_id: id });
  insertRule(state, id, true, { ...all, cidr: '0.0.0.0/0', source_group_id: '' });
  state.filteringChanged();
  return id;
}

function defaultSecurityGroup(state: Ec2State, vpcId: string): string {
  return state.get<{ id: string }>("SELECT id FROM security_groups WHERE vpc_id = ? AND name = 'default'", vpcId)!.id;
}

/** Security groups by ID for an ENI or instance: they must exist and belong to the ENI's VPC. */
export function resolveGroups(state: Ec2State, ids: string[], vpcId: string): string[] {
  if (ids.length === 0) return [defaultSecurityGroup(state, vpcId)];
  const groups = findRows<GroupRow>(state, 'group', [...new Set(ids)]);
  const foreign = groups.find((g) => g.vpc_id !== vpcId);
  if (foreign) {
    throw invalidParameter(`Security group ${foreign.id} and subnet are in different networks (${foreign.vpc_id}, ${vpcId}).`);
  }
  return groups.map((g) => g.id);
}

export function groupSet(state: Ec2State, groupIds: string[]): XmlObject[] {
  return groupIds.map((id) => ({
    groupId: id,
    groupName: state.get<{ name: string }>('SELECT name FROM security_groups WHERE id = ?', id)?.name,
  }));
}

const protocolNames: Record<string, string> = { '-1': '-1', all: '-1', '6': 'tcp', '17': 'udp', '1': 'icmp', '58': 'icmpv6' };

function normalizeProtocol(text: string): string {
  const lower = text.toLowerCase();
  const name = protocolNames[lower] ?? lower;
  if (!['-1', 'tcp', 'udp', 'icmp', 'icmpv6'].includes(name) && !/^\d+$/.test(name)) {
    throw invalidParameter(`Invalid value '${text}' for IP protocol. Unknown protocol.`);
  }
  return name;
}

/** EC2 keeps ports for tcp, udp, icmp and icmpv6 only: for all protocols (-1) and any other number it ignores them. */
function ports(p: Ec2Params, protocol: string): [number, number] {
  if (!['tcp', 'udp', 'icmp', 'icmpv6'].includes(protocol)) return [-1, -1];
  const from = p.int('FromPort');
  const to = p.int('ToPort');
  if (from === undefined || to === undefined) {
    if (protocol === 'tcp' || protocol === 'udp') {
      throw invalidParameter(`Invalid value 'Must specify both from and to ports with TCP/UDP.' for portRange.`);
    }
    return [from ?? -1, to ?? -1];
  }
  if ((protocol === 'tcp' || protocol === 'udp') && (from < 0 || to > 65535 || from > to)) {
    throw invalidParameter(`Invalid value '${from}-${to}' for portRange.`);
  }
  return [from, to];
}

/** The rules one Authorize call asks for: its IpPermissions, or the legacy flat CidrIp/IpProtocol form. */
function requestedRules(state: Ec2State, params: Ec2Params, vpcId: string): NewRule[] {
  const rules: NewRule[] = [];
  const permissions = params.structs('IpPermissions');
  if (permissions.length === 0) {
    const protocol = params.str('IpProtocol');
    const cidr = params.str('CidrIp');
    if (protocol === undefined || cidr === undefined) {
      throw new Ec2Error('MissingParameter', 'The request must contain the parameter ipPermissions');
    }
    const p = normalizeProtocol(protocol);
    const [from, to] = ports(params, p);
    parseCidrParam(cidr, 'cidrIp', 4);
    return [{ protocol: p, from_port: from, to_port: to, cidr, ipv6_cidr: '', source_group_id: '' }];
  }
  for (const perm of permissions) {
    const protocol = normalizeProtocol(perm.req('IpProtocol'));
    const [from, to] = ports(perm, protocol);
    const base = { protocol, from_port: from, to_port: to, cidr: '', ipv6_cidr: '', source_group_id: '' };
    for (const r of perm.structs('IpRanges')) rules.push({ ...base, cidr: formatCidrParam(r.req('CidrIp'), 'cidrIp', 4) });
    for (const r of perm.structs('Ipv6Ranges')) rules.push({ ...base, ipv6_cidr: formatCidrParam(r.req('CidrIpv6'), 'cidrIpv6', 6) });
    for (const g of perm.structs('Groups')) {
      const source = findRow<GroupRow>(state, 'group', g.req('GroupId'));
      if (source.vpc_id !== vpcId) {
        throw invalidParameter(`You have specified two resources that belong to different networks.`);
      }
      rules.push({ ...base, source_group_id: source.id });
    }
    if (perm.structs('IpRanges').length + perm.structs('Ipv6Ranges').length + perm.structs('Groups').length === 0) {
      throw new Ec2Error('MissingParameter', 'The request must contain a source or destination: IpRanges, Ipv6Ranges or Groups');
    }
  }
  return rules;
}

function formatCidrParam(text: string, name: string, family: 4 | 6): string {
  parseCidrParam(text, name, family);
  return text;
}

function describeRule(r: NewRule): string {
  const peer = r.cidr || r.ipv6_cidr || r.source_group_id;
  const protocol = r.protocol === '-1' ? 'ALL' : r.protocol.toUpperCase();
  return `peer: ${peer}, ${protocol}, from port: ${r.from_port}, to port: ${r.to_port}, ALLOW`;
}

function renderRule(r: RuleRow): XmlObject {
  return {
    securityGroupRuleId: r.id,
    groupId: r.group_id,
    groupOwnerId: ownerId,
    isEgress: r.egress === 1,
    ipProtocol: r.protocol,
    fromPort: r.from_port,
    toPort: r.to_port,
    cidrIpv4: r.cidr || undefined,
    cidrIpv6: r.ipv6_cidr || undefined,
    referencedGroupInfo: r.source_group_id ? { groupId: r.source_group_id, userId: ownerId } : undefined,
  };
}

/** The group an Authorize/Revoke/Delete call names: GroupId, or (ingress and delete only) GroupName. */
function namedGroup(params: Ec2Params, state: Ec2State, byNameAllowed: boolean): GroupRow {
  const groupId = params.str('GroupId');
  if (groupId !== undefined) return findRow<GroupRow>(state, 'group', groupId);
  if (byNameAllowed && params.str('GroupName') !== undefined) {
    const name = params.req('GroupName');
    const byName = state.get<GroupRow>('SELECT * FROM security_groups WHERE name = ? ORDER BY seq LIMIT 1', name);
    if (!byName) throw new Ec2Error('InvalidGroup.NotFound', `The security group '${name}' does not exist`);
    return byName;
  }
  throw new Ec2Error('MissingParameter', 'The request must contain the parameter groupId');
}

function existingRule(state: Ec2State, groupId: string, egress: boolean, rule: NewRule): RuleRow | undefined {
  return state.get<RuleRow>(
    `SELECT * FROM security_group_rules WHERE group_id = ? AND egress = ? AND protocol = ? AND from_port = ?
     AND to_port = ? AND cidr = ? AND ipv6_cidr = ? AND source_group_id = ?`,
    groupId, egress ? 1 : 0, rule.protocol, rule.from_port, rule.to_port, rule.cidr, rule.ipv6_cidr, rule.source_group_id,
  );
}

function authorize(egress: boolean): Handler {
  return (params, state) => {
    const group = namedGroup(params, state, !egress);
    const created: RuleRow[] = [];
    for (const rule of requestedRules(state, params, group.vpc_id)) {
      if (existingRule(state, group.id, egress, rule)) {
        throw new Ec2Error('InvalidPermission.Duplicate', `the specified rule "${describeRule(rule)}" already exists`);
      }
      created.push(insertRule(state, group.id, egress, rule));
    }
    state.filteringChanged();
    return { return: true, securityGroupRuleSet: created.map(renderRule) };
  };
}

/**
 * Removes rules named by IpPermissions (matched exactly as stored: protocol, ports and one peer) or by
 * SecurityGroupRuleId; every one must exist, else nothing is removed (the action is one transaction).
 */
function revoke(egress: boolean): Handler {
  return (params, state) => {
    const group = namedGroup(params, state, !egress);
    const ruleIds = params.list('SecurityGroupRuleId');
    const doomed: RuleRow[] = [];
    if (ruleIds.length > 0) {
      for (const id of ruleIds) {
        const row = state.get<RuleRow>('SELECT * FROM security_group_rules WHERE id = ? AND group_id = ? AND egress = ?', id, group.id, egress ? 1 : 0);
        if (!row) throw new Ec2Error('InvalidSecurityGroupRuleId.NotFound', `The security group rule ID '${id}' does not exist`, 400, [id]);
        doomed.push(row);
      }
    } else {
      for (const rule of requestedRules(state, params, group.vpc_id)) {
        const row = existingRule(state, group.id, egress, rule);
        if (!row) {
          throw new Ec2Error('InvalidPermission.NotFound', `The specified rule does not exist in this security group.`);
        }
        doomed.push(row);
      }
    }
    for (const row of doomed) state.run('DELETE FROM security_group_rules WHERE id = ?', row.id);
    state.filteringChanged();
    return { return: true };
  };
}

/** EC2 refuses to delete a VPC's default group, one an ENI uses, and one another group's rule references. */
const deleteSecurityGroup: Handler = (params, state) => {
  const group = namedGroup(params, state, true);
  if (group.name === 'default') {
    throw new Ec2Error('CannotDelete', `the specified group: "${group.id}" name: "default" cannot be deleted by a user`);
  }
  const user =
    state.get<{ eni_id: string }>('SELECT eni_id FROM eni_security_groups WHERE group_id = ? LIMIT 1', group.id)?.eni_id ??
    state.get<{ group_id: string }>(
      'SELECT group_id FROM security_group_rules WHERE source_group_id = ? AND group_id != ? LIMIT 1',
      group.id,
      group.id,
    )?.group_id;
  if (user !== undefined) {
    throw new Ec2Error('DependencyViolation', `resource ${group.id} has a dependent object (${user})`);
  }
  state.run('DELETE FROM security_group_rules WHERE group_id = ?', group.id);
  deleteResource(state, 'group', group.id);
  state.filteringChanged();
  return { return: true };
};

/** EC2 groups rules that share protocol and ports into one IpPermission with several peers. */
function ipPermissions(rules: RuleRow[]): XmlObject[] {
  const byKey = new Map<string, RuleRow[]>();
  for (const r of rules) {
    const key = `${r.protocol}/${r.from_port}/${r.to_port}`;
    byKey.set(key, [...(byKey.get(key) ?? []), r]);
  }
  return [...byKey.values()].map((group) => {
    const first = group[0]!;
    return {
      ipProtocol: first.protocol,
      fromPort: first.protocol === '-1' ? undefined : first.from_port,
      toPort: first.protocol === '-1' ? undefined : first.to_port,
      groups: group.filter((r) => r.source_group_id).map((r) => ({ groupId: r.source_group_id, userId: ownerId })),
      ipRanges: group.filter((r) => r.cidr).map((r) => ({ cidrIp: r.cidr })),
      ipv6Ranges: group.filter((r) => r.ipv6_cidr).map((r) => ({ cidrIpv6: r.ipv6_cidr })),
      prefixListIds: [],
    };
  });
}

function renderGroup(state: Ec2State, g: GroupRow): XmlObject {
  const rules = state.all<RuleRow>('SELECT * FROM security_group_rules WHERE group_id = ? ORDER BY seq', g.id);
  return {
    ownerId,
    groupId: g.id,
    groupName: g.name,
    groupDescription: g.description,
    vpcId: g.vpc_id,
    securityGroupArn: `arn:aws:ec2:${state.region}:${ownerId}:security-group/${g.id}`,
    ipPermissions: ipPermissions(rules.filter((r) => r.egress === 0)),
    ipPermissionsEgress: ipPermissions(rules.filter((r) => r.egress === 1)),
    tagSet: tagSet(state, g.id),
  };
}

const createSecurityGroup: Handler = (params, state) => {
  const name = params.req('GroupName');
  const description = params.req('GroupDescription');
  const vpcId = params.str('VpcId');
  if (vpcId === undefined) throw new Ec2Error('VPCIdNotSpecified', 'No default VPC for this user');
  const vpc = findRow<VpcRow>(state, 'vpc', vpcId);
  if (name.toLowerCase().startsWith('sg-')) {
    throw invalidParameter(`Group names may not be in the format sg-*`);
  }
  if (state.get('SELECT 1 FROM security_groups WHERE vpc_id = ? AND name = ?', vpc.id, name)) {
    throw new Ec2Error('InvalidGroup.Duplicate', `The security group '${name}' already exists for VPC '${vpc.id}'`);
  }
  const id = state.newId('sg');
  state.run('INSERT INTO security_groups (id, vpc_id, name, description) VALUES (?, ?, ?, ?)', id, vpc.id, name, description);
  insertRule(state, id, true, { protocol: '-1', from_port: -1, to_port: -1, cidr: '0.0.0.0/0', ipv6_cidr: '', source_group_id: '' });
  applyTagSpecifications(state, params, 'security-group', id);
  state.filteringChanged();
  return {
    return: true,
    groupId: id,
    securityGroupArn: `arn:aws:ec2:${state.region}:${ownerId}:security-group/${id}`,
    tagSet: tagSet(state, id),
  };
};

const describeSecurityGroups = describeAction<GroupRow>({
  // groups are named by ID, by name, or both (a name must name a group among those selected by ID)
  select(params, state) {
    const ids = params.list('GroupId');
    const names = params.list('GroupName');
    let { items } = selectRows<GroupRow>('group', 'GroupId')(params, state);
    if (names.length > 0) {
      const missing = names.filter((n) => !items.some((g) => g.name === n));
      if (missing.length > 0) {
        throw new Ec2Error('InvalidGroup.NotFound', `The security group '${missing.join(', ')}' does not exist`);
      }
      items = items.filter((g) => names.includes(g.name));
    }
    return { items, named: ids.length > 0 || names.length > 0 };
  },
  filters: {
    'group-id': (g) => [g.id],
    'group-name': (g) => [g.name],
    'vpc-id': (g) => [g.vpc_id],
    description: (g) => [g.description],
    'owner-id': () => [ownerId],
  },
  render: (page, state) => ({ securityGroupInfo: page.map((g) => renderGroup(state, g)) }),
});

export const securityGroupActions: Record<string, Handler> = {
  CreateSecurityGroup: createSecurityGroup,
  AuthorizeSecurityGroupIngress: authorize(false),
  AuthorizeSecurityGroupEgress: authorize(true),
  RevokeSecurityGroupIngress: revoke(false),
  RevokeSecurityGroupEgress: revoke(true),
  DeleteSecurityGroup: deleteSecurityGroup,
  DescribeSecurityGroups: describeSecurityGroups,
};
