/**
 * What the ENI actions need to know about trunk associations (a branch ENI on a trunk ENI's VLAN), kept apart from
 * the trunk actions (trunk.ts) so that enis.ts can use it without importing the actions that import it.
 */
import { trunkLimits } from '../../limits/index.js';
import { Ec2Error } from '../protocol.js';
import type { EniRow, InstanceRow } from '../state.js';
import type { Ec2State } from '../state.js';
import { invalidParameter } from './common.js';

/** One row of trunk_associations. */
export interface TrunkAssociationRow {
  seq: number;
  id: string;
  trunk_eni_id: string;
  branch_eni_id: string;
  vlan_id: number;
  /** The branch's interface type before it was associated (`interface`, or `branch` when created as one). */
  branch_type_before: string;
}

export function associationOfBranch(state: Ec2State, branchEniId: string): TrunkAssociationRow | undefined {
  return state.get<TrunkAssociationRow>('SELECT * FROM trunk_associations WHERE branch_eni_id = ?', branchEniId);
}

/**
 * Removes every association an ENI takes part in, as trunk or as branch, before the ENI is deleted. EC2 deletes a
 * branch that is still associated (the VPC resource controller deleted branches without disassociating them until
 * aws/amazon-vpc-resource-controller-k8s#372, 2024-02, which added DisassociateTrunkInterface "as per
 * recommendation by EC2 team"), and deleting the trunk removes its associations ("once the trunk ENI is deleted
 * … the association between branch and trunk ENI is automatically deleted", #400). The branches stay, as plain
 * ENIs again, and publish an `eni` event without their `trunk`.
 */
export function dropTrunkAssociations(state: Ec2State, eniId: string): void {
  const rows = state.all<TrunkAssociationRow>(
    'SELECT * FROM trunk_associations WHERE trunk_eni_id = ? OR branch_eni_id = ? ORDER BY seq',
    eniId,
    eniId,
  );
  for (const row of rows) releaseBranch(state, row);
}

/** Deletes one association and gives the branch back its former interface type. */
export function releaseBranch(state: Ec2State, row: TrunkAssociationRow): void {
  state.run('DELETE FROM trunk_associations WHERE id = ?', row.id);
  state.run('UPDATE enis SET interface_type = ? WHERE id = ?', row.branch_type_before, row.branch_eni_id);
  state.eniChanged(row.branch_eni_id);
}

/**
 * An associated branch is in use though it has no attachment: the controller's leaked-ENI collector deletes
 * `available` ENIs, and it keeps branches of live pods (pkg/aws/ec2/api/cleanup/eni_cleanup.go: ENIs "not
 * attached to an instance or associated with a trunk interface" are the candidates).
 */
export function eniStatus(state: Ec2State, eni: EniRow): 'in-use' | 'available' {
  return eni.instance_id || associationOfBranch(state, eni.id) ? 'in-use' : 'available';
}

/**
 * How many branch ENIs an instance type's trunk carries: the VPC resource controller's `BranchInterface`
 * (data/trunk-limits.json). Whether the type takes a trunk at all is src/limits' answer (an unlisted type does not),
 * the same one ipamd and max-pods use.
 */
export function branchLimit(instanceType: string): { trunking: boolean; branches: number; listed: boolean } {
  const t = trunkLimits(instanceType);
  return { trunking: t.trunkingCompatible, branches: t.branchInterfaces, listed: t.listed };
}

/**
 * The trunk checks AttachNetworkInterface makes on top of the ordinary ones: a branch interface is associated,
 * never attached; a trunk goes only on a type that can trunk, and one per instance.
 */
export function checkTrunkAttach(state: Ec2State, eni: EniRow, instance: InstanceRow): void {
  if (eni.interface_type === 'branch') {
    if (associationOfBranch(state, eni.id)) {
      throw new Ec2Error('InvalidNetworkInterface.InUse', `Interface: ${eni.id} in use.`);
    }
    throw invalidParameter(`Network interface ${eni.id} is a branch interface; associate it with a trunk interface (AssociateTrunkInterface) instead.`);
  }
  if (eni.interface_type !== 'trunk') return;
  const limit = branchLimit(instance.instance_type);
  if (!limit.trunking) {
    // The code is podnet's choice (EC2's answer for this case was not found in public material); see the docs.
    throw new Ec2Error(
      'UnsupportedOperation',
      `Instance type ${instance.instance_type} does not support trunk network interfaces` +
        (limit.listed ? '.' : ` (it is not in the VPC resource controller's table of trunking-compatible types).`),
    );
  }
  const other = state.get<{ id: string }>("SELECT id FROM enis WHERE instance_id = ? AND interface_type = 'trunk'", instance.id);
  if (other) {
    throw invalidParameter(`Instance '${instance.id}' already has a trunk network interface attached (${other.id}); an instance takes one trunk.`);
  }
}
