/**
 * Trunk and branch network interfaces (security groups for pods, issue 18): AssociateTrunkInterface,
 * DisassociateTrunkInterface, DescribeTrunkInterfaceAssociations, and the network-interface permissions the VPC
 * resource controller grants before it attaches a trunk or associates a branch
 * (pkg/aws/ec2/api/helper.go of aws/amazon-vpc-resource-controller-k8s b8d42511: CreateNetworkInterface with
 * InterfaceType=trunk then CreateNetworkInterfacePermission INSTANCE-ATTACH; AssociateBranchToTrunk =
 * CreateNetworkInterfacePermission on the branch, then AssociateTrunkInterface with BranchInterfaceId,
 * TrunkInterfaceId, VlanId). Where EC2's code or wording could not be found in public material the choice is
 * podnet's and docs/ec2-emulator.md says so.
 */
import { Ec2Error, type ActionHandler, type Ec2Params, type XmlObject } from '../protocol.js';
import type { Ec2State, InstanceRow } from '../state.js';
import { combination, describeAction, invalidParameter, tagSet, type DescribeSpec } from './common.js';
import { findEni } from './enis.js';
import { associationOfBranch, branchLimit, releaseBranch, type TrunkAssociationRow } from './trunk-state.js';

type Handler = ActionHandler<Ec2State>;

/** 802.1Q VLAN ids usable on a trunk (0 and 4095 are reserved by the standard). */
const minVlanId = 1;
const maxVlanId = 4094;
/** EC2's ClientToken: "up to 64 ASCII characters" (Ensuring idempotency, EC2 API reference). */
const maxClientTokenLength = 64;

// ---- idempotency ----

/**
 * EC2's ClientToken semantics: a retry with the same token and the same arguments gets the first call's result
 * without doing anything again; the same token with other arguments is IdempotentParameterMismatch. The SDK fills
 * the token in when the caller gives none (AssociateTrunkInterface's and DisassociateTrunkInterface's ClientToken
 * are idempotency tokens in @aws-sdk/client-ec2), so every SDK retry of a call that did commit is answered this way.
 */
function replay(state: Ec2State, action: string, token: string | undefined, request: string): XmlObject | undefined {
  if (token === undefined) return undefined;
  if (token.length > maxClientTokenLength) {
    throw invalidParameter(`Value (${token}) for parameter clientToken is invalid. It must be at most ${maxClientTokenLength} characters.`);
  }
  const prior = state.get<{ request: string; result: string }>('SELECT request, result FROM client_tokens WHERE action = ? AND token = ?', action, token);
  if (!prior) return undefined;
  if (prior.request !== request) {
    throw new Ec2Error('IdempotentParameterMismatch', 'Arguments on this idempotent request are inconsistent with arguments used in previous request(s).');
  }
  return JSON.parse(prior.result) as XmlObject;
}

function remember(state: Ec2State, action: string, token: string | undefined, request: string, result: XmlObject): void {
  if (token === undefined) return;
  state.run('INSERT INTO client_tokens (action, token, request, result) VALUES (?, ?, ?, ?)', action, token, request, JSON.stringify(result));
}

// ---- associations ----

function renderAssociation(state: Ec2State, row: TrunkAssociationRow): XmlObject {
  return {
    associationId: row.id,
    branchInterfaceId: row.branch_eni_id,
    trunkInterfaceId: row.trunk_eni_id,
    interfaceProtocol: 'VLAN',
    vlanId: row.vlan_id,
    tagSet: tagSet(state, row.id),
  };
}

function checkAssociationIdFormat(id: string): void {
  if (!/^trunk-assoc-[0-9a-f]{8,17}$/.test(id)) {
    throw new Ec2Error('InvalidAssociationID.Malformed', `Invalid id: "${id}" (expecting "trunk-assoc-...")`);
  }
}

/** `InvalidAssociationID.NotFound` is the code the controller matches on DisassociateTrunkInterface (pkg/aws/errors/ec2_errors.go). */
function associationNotFound(ids: string[]): Ec2Error {
  const message = ids.length === 1 ? `The association ID '${ids[0]}' does not exist` : `The association IDs '${ids.join(', ')}' do not exist`;
  return new Ec2Error('InvalidAssociationID.NotFound', message, 400, ids);
}

/** The VLAN id of a request: required (only VLAN associations are modelled), 1–4094. */
function vlanParam(params: Ec2Params): number {
  const vlanId = params.int('VlanId');
  const greKey = params.int('GreKey');
  if (greKey !== undefined && vlanId !== undefined) throw combination('You may specify vlanId or greKey, but not both.');
  if (greKey !== undefined) {
    throw invalidParameter('GRE trunk associations (greKey) are not supported by this emulator; give vlanId (the VLAN protocol, which security groups for pods uses).');
  }
  if (vlanId === undefined) throw new Ec2Error('MissingParameter', 'The request must contain the parameter vlanId');
  if (vlanId < minVlanId || vlanId > maxVlanId) {
    throw invalidParameter(`Value (${vlanId}) for parameter vlanId is invalid. It must be between ${minVlanId} and ${maxVlanId}.`);
  }
  return vlanId;
}

const associateTrunkInterface: Handler = (params, state) => {
  const branchId = params.req('BranchInterfaceId');
  const trunkId = params.req('TrunkInterfaceId');
  const token = params.str('ClientToken');
  const request = JSON.stringify([branchId, trunkId, params.str('VlanId') ?? null, params.str('GreKey') ?? null]);
  const prior = replay(state, 'AssociateTrunkInterface', token, request);
  if (prior) return prior;
  const vlanId = vlanParam(params);
  const trunk = findEni(state, trunkId);
  const branch = findEni(state, branchId);
  if (branch.id === trunk.id) throw invalidParameter(`Network interface ${trunk.id} cannot be associated with itself.`);
  if (trunk.interface_type !== 'trunk') {
    throw invalidParameter(`Network interface ${trunk.id} is not a trunk interface (interface type ${trunk.interface_type}).`);
  }
  if (branch.interface_type !== 'interface' && branch.interface_type !== 'branch') {
    throw invalidParameter(`Network interface ${branch.id} of interface type ${branch.interface_type} cannot be a branch interface.`);
  }
  const existing = associationOfBranch(state, branch.id);
  if (existing) {
    throw new Ec2Error(
      'InvalidNetworkInterface.InUse',
      `Network interface ${branch.id} is already associated with trunk interface ${existing.trunk_eni_id} (${existing.id}).`,
    );
  }
  if (branch.instance_id) throw new Ec2Error('InvalidNetworkInterface.InUse', `Interface: ${branch.id} in use.`);
  // ENI trunking has no cross-VPC support (Amazon ECS developer guide, "ENI trunking considerations")
  if (branch.vpc_id !== trunk.vpc_id) {
    throw invalidParameter(`Network interface ${branch.id} and trunk interface ${trunk.id} are in different VPCs.`);
  }
  if (branch.az !== trunk.az) {
    throw combination(`Branch interface ${branch.id} (${branch.az}) and trunk interface ${trunk.id} (${trunk.az}) are not in the same availability zone.`);
  }
  if (!trunk.instance_id) {
    throw new Ec2Error('IncorrectState', `The trunk interface '${trunk.id}' is not attached to an instance.`);
  }
  const instance = state.get<InstanceRow>('SELECT * FROM instances WHERE id = ?', trunk.instance_id)!;
  // the code and its wording as the controller documents them: "InvalidVlanId.Duplicate: VlanId '1' is in use"
  // (pkg/aws/errors/ec2_errors.go, aws/amazon-vpc-resource-controller-k8s 35ebac15)
  if (state.get('SELECT 1 FROM trunk_associations WHERE trunk_eni_id = ? AND vlan_id = ?', trunk.id, vlanId)) {
    throw new Ec2Error('InvalidVlanId.Duplicate', `VlanId '${vlanId}' is in use`);
  }
  const limit = branchLimit(instance.instance_type).branches;
  const carried = state.get<{ n: number }>('SELECT count(*) AS n FROM trunk_associations WHERE trunk_eni_id = ?', trunk.id)!.n;
  if (carried + 1 > limit) {
    throw new Ec2Error(
      'AttachmentLimitExceeded',
      `Branch interface count ${carried + 1} exceeds the limit (${limit}) for ${instance.instance_type} on trunk interface ${trunk.id}.`,
    );
  }
  const id = state.newId('trunk-assoc');
  state.run(
    'INSERT INTO trunk_associations (id, trunk_eni_id, branch_eni_id, vlan_id, branch_type_before) VALUES (?, ?, ?, ?, ?)',
    id,
    trunk.id,
    branch.id,
    vlanId,
    branch.interface_type,
  );
  // an associated branch reports interface type `branch` (the controller's fixtures of describing branches,
  // pkg/provider/branch/trunk/trunk_test.go, carry NetworkInterfaceTypeBranch)
  state.run("UPDATE enis SET interface_type = 'branch' WHERE id = ?", branch.id);
  state.eniChanged(branch.id);
  const row = state.get<TrunkAssociationRow>('SELECT * FROM trunk_associations WHERE id = ?', id)!;
  const result = { interfaceAssociation: renderAssociation(state, row), clientToken: token };
  remember(state, 'AssociateTrunkInterface', token, request, result);
  return result;
};

const disassociateTrunkInterface: Handler = (params, state) => {
  const associationId = params.req('AssociationId');
  const token = params.str('ClientToken');
  const prior = replay(state, 'DisassociateTrunkInterface', token, JSON.stringify([associationId]));
  if (prior) return prior;
  checkAssociationIdFormat(associationId);
  const row = state.get<TrunkAssociationRow>('SELECT * FROM trunk_associations WHERE id = ?', associationId);
  if (!row) throw associationNotFound([associationId]);
  releaseBranch(state, row);
  const result = { return: true, clientToken: token };
  remember(state, 'DisassociateTrunkInterface', token, JSON.stringify([associationId]), result);
  return result;
};

const selectAssociations: DescribeSpec<TrunkAssociationRow>['select'] = (params, state) => {
  const ids = params.list('AssociationId');
  if (ids.length === 0) return { items: state.all<TrunkAssociationRow>('SELECT * FROM trunk_associations ORDER BY seq'), named: false };
  for (const id of ids) checkAssociationIdFormat(id);
  const rows = ids.map((id) => state.get<TrunkAssociationRow>('SELECT * FROM trunk_associations WHERE id = ?', id));
  const missing = ids.filter((_, i) => rows[i] === undefined);
  if (missing.length > 0) throw associationNotFound(missing);
  return { items: rows as TrunkAssociationRow[], named: true };
};

/**
 * EC2 documents the filters `gre-key` and `interface-protocol`; the controller filters by
 * `trunk-interface-association.trunk-interface-id` (DescribeTrunkInterfaceAssociation in helper.go), and the
 * branch and association IDs are filtered the same way.
 */
const describeTrunkInterfaceAssociations = describeAction<TrunkAssociationRow>({
  select: selectAssociations,
  filters: {
    'gre-key': () => [],
    'interface-protocol': () => ['VLAN'],
    'vlan-id': (a) => [a.vlan_id],
    'trunk-interface-association.association-id': (a) => [a.id],
    'trunk-interface-association.trunk-interface-id': (a) => [a.trunk_eni_id],
    'trunk-interface-association.branch-interface-id': (a) => [a.branch_eni_id],
  },
  // MaxResults: "Minimum value of 5. Maximum value of 255." (DescribeTrunkInterfaceAssociations, EC2 API reference)
  paging: { min: 5, max: 255 },
  render: (page, state) => ({ interfaceAssociationSet: page.map((a) => renderAssociation(state, a)) }),
});

// ---- network interface permissions ----

interface PermissionRow {
  seq: number;
  id: string;
  eni_id: string;
  aws_account_id: string | null;
  aws_service: string | null;
  permission: string;
}

/** InterfacePermissionType in @aws-sdk/client-ec2. */
const permissionTypes = ['INSTANCE-ATTACH', 'EIP-ASSOCIATE'];

function renderPermission(row: PermissionRow): XmlObject {
  return {
    networkInterfacePermissionId: row.id,
    networkInterfaceId: row.eni_id,
    awsAccountId: row.aws_account_id ?? undefined,
    awsService: row.aws_service ?? undefined,
    permission: row.permission,
    permissionState: { state: 'granted' },
  };
}

function checkPermissionIdFormat(id: string): void {
  if (!/^eni-perm-[0-9a-f]{8,17}$/.test(id)) {
    throw new Ec2Error('InvalidNetworkInterfacePermissionID.Malformed', `Invalid id: "${id}" (expecting "eni-perm-...")`);
  }
}

/** The code terraform-provider-aws treats as "already gone" on DeleteNetworkInterfacePermission. */
function permissionNotFound(ids: string[]): Ec2Error {
  const message =
    ids.length === 1 ? `The networkInterfacePermission ID '${ids[0]}' does not exist` : `The networkInterfacePermission IDs '${ids.join(', ')}' do not exist`;
  return new Ec2Error('InvalidNetworkInterfacePermissionID.NotFound', message, 400, ids);
}

/**
 * Grants another account or an AWS service a permission on an ENI. The emulator models one account, so a
 * permission is recorded and described but gates nothing; asking again for a permission that exists returns it.
 */
const createNetworkInterfacePermission: Handler = (params, state) => {
  const eni = findEni(state, params.req('NetworkInterfaceId'));
  const permission = params.req('Permission');
  if (!permissionTypes.includes(permission)) throw invalidParameter(`Value (${permission}) for parameter permission is invalid.`);
  const account = params.str('AwsAccountId');
  const service = params.str('AwsService');
  if (account !== undefined && service !== undefined) throw combination('You may specify awsAccountId or awsService, but not both.');
  if (account === undefined && service === undefined) {
    throw new Ec2Error('MissingParameter', 'The request must contain the parameter awsAccountId or awsService');
  }
  if (account !== undefined && !/^[0-9]{12}$/.test(account)) {
    throw invalidParameter(`Value (${account}) for parameter awsAccountId is invalid. It must be a 12-digit account ID.`);
  }
  const same = state.get<PermissionRow>(
    'SELECT * FROM eni_permissions WHERE eni_id = ? AND permission = ? AND aws_account_id IS ? AND aws_service IS ?',
    eni.id,
    permission,
    account ?? null,
    service ?? null,
  );
  if (same) return { interfacePermission: renderPermission(same) };
  const id = state.newId('eni-perm');
  state.run(
    'INSERT INTO eni_permissions (id, eni_id, aws_account_id, aws_service, permission) VALUES (?, ?, ?, ?, ?)',
    id,
    eni.id,
    account ?? null,
    service ?? null,
    permission,
  );
  return { interfacePermission: renderPermission(state.get<PermissionRow>('SELECT * FROM eni_permissions WHERE id = ?', id)!) };
};

/** `Force` is accepted; nothing depends on a permission here, so every delete goes through. */
const deleteNetworkInterfacePermission: Handler = (params, state) => {
  const id = params.req('NetworkInterfacePermissionId');
  params.bool('Force');
  checkPermissionIdFormat(id);
  if (state.run('DELETE FROM eni_permissions WHERE id = ?', id).changes === 0) throw permissionNotFound([id]);
  return { return: true };
};

const describeNetworkInterfacePermissions = describeAction<PermissionRow>({
  select: (params, state) => {
    const ids = params.list('NetworkInterfacePermissionId');
    if (ids.length === 0) return { items: state.all<PermissionRow>('SELECT * FROM eni_permissions ORDER BY seq'), named: false };
    for (const id of ids) checkPermissionIdFormat(id);
    const rows = ids.map((id) => state.get<PermissionRow>('SELECT * FROM eni_permissions WHERE id = ?', id));
    const missing = ids.filter((_, i) => rows[i] === undefined);
    if (missing.length > 0) throw permissionNotFound(missing);
    return { items: rows as PermissionRow[], named: true };
  },
  filters: {
    'network-interface-permission.network-interface-permission-id': (p) => [p.id],
    'network-interface-permission.network-interface-id': (p) => [p.eni_id],
    'network-interface-permission.aws-account-id': (p) => [p.aws_account_id],
    'network-interface-permission.aws-service': (p) => [p.aws_service],
    'network-interface-permission.permission': (p) => [p.permission],
  },
  // "Minimum value of 5. Maximum value of 255." and "up to 50 results are returned by default" (EC2 API reference)
  paging: { min: 5, max: 255, defaultMax: 50 },
  render: (page) => ({ networkInterfacePermissions: page.map(renderPermission) }),
});

export const trunkActions: Record<string, Handler> = {
  AssociateTrunkInterface: associateTrunkInterface,
  DisassociateTrunkInterface: disassociateTrunkInterface,
  DescribeTrunkInterfaceAssociations: describeTrunkInterfaceAssociations,
  CreateNetworkInterfacePermission: createNetworkInterfacePermission,
  DeleteNetworkInterfacePermission: deleteNetworkInterfacePermission,
  DescribeNetworkInterfacePermissions: describeNetworkInterfacePermissions,
};
