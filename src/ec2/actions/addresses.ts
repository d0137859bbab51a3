import { cidrContains, formatAddress } from '../../net/index.js';
import { Ec2Error, type ActionHandler, type Ec2Params } from '../protocol.js';
import type { Ec2State, EniRow, InstanceRow, PublicIpRow } from '../state.js';
import { applyTagSpecifications, combination, findRow, invalidParameter, parseAddressParam } from './common.js';
import { findEni, primaryIp, releasePublicIp } from './enis.js';

type Handler = ActionHandler<Ec2State>;

/** An Elastic IP by AllocationId, or by PublicIp (the older form EC2 still accepts). */
function findElasticIp(state: Ec2State, params: Ec2Params): PublicIpRow {
  const allocationId = params.str('AllocationId');
  const publicIp = params.str('PublicIp');
  if (allocationId !== undefined) {
    const row = state.get<PublicIpRow>('SELECT * FROM public_ips WHERE allocation_id = ?', allocationId);
    if (!row) throw new Ec2Error('InvalidAllocationID.NotFound', `The allocation ID '${allocationId}' does not exist`);
    return row;
  }
  if (publicIp !== undefined) {
    const row = state.get<PublicIpRow>('SELECT * FROM public_ips WHERE public_ip = ? AND allocation_id IS NOT NULL', publicIp);
    if (!row) throw new Ec2Error('InvalidAddress.NotFound', `Address '${publicIp}' not found.`);
    return row;
  }
  throw new Ec2Error('MissingParameter', 'The request must contain the parameter AllocationId');
}

const allocateAddress: Handler = (params, state) => {
  const domain = params.str('Domain') ?? 'vpc';
  if (domain !== 'vpc') throw invalidParameter(`Value (${domain}) for parameter domain is invalid. Only 'vpc' is supported.`);
  let publicIp: string | undefined;
  const wanted = params.str('Address');
  if (wanted !== undefined) {
    const address = parseAddressParam(wanted, 'address', 4);
    if (!cidrContains(state.publicIpPool, address) || state.get('SELECT 1 FROM public_ips WHERE public_ip = ?', formatAddress(address))) {
      throw new Ec2Error('InvalidAddress.NotFound', `Address '${wanted}' is not available in the public IPv4 pool.`);
    }
    publicIp = formatAddress(address);
  } else {
    publicIp = state.allocatePublicIp();
  }
  if (!publicIp) throw new Ec2Error('AddressLimitExceeded', 'The maximum number of addresses has been reached.');
  const allocationId = state.newId('eipalloc');
  state.run('INSERT INTO public_ips (public_ip, allocation_id) VALUES (?, ?)', publicIp, allocationId);
  applyTagSpecifications(state, params, 'elastic-ip', allocationId);
  return { publicIp, allocationId, domain: 'vpc', publicIpv4Pool: 'amazon', networkBorderGroup: state.region };
};

/**
 * Associates an Elastic IP with an instance (its primary ENI's primary IP) or an ENI's private IP. The target's
 * auto-assigned public IP is released and an EIP already there is disassociated, as on EC2.
 */
const associateAddress: Handler = (params, state) => {
  const eip = findElasticIp(state, params);
  const instanceId = params.str('InstanceId');
  const eniId = params.str('NetworkInterfaceId');
  if (instanceId !== undefined && eniId !== undefined) {
    throw combination('Specify either InstanceId or NetworkInterfaceId, not both.');
  }
  let eni: EniRow;
  if (instanceId !== undefined) {
    const instance = findRow<InstanceRow>(state, 'instance', instanceId);
    const primary = state.get<EniRow>('SELECT * FROM enis WHERE instance_id = ? AND device_index = 0 AND network_card_index = 0', instance.id);
    if (instance.state !== 'running' || !primary) {
      throw new Ec2Error('IncorrectInstanceState', `The instance '${instance.id}' is not in a valid state for this operation.`);
    }
    eni = primary;
  } else if (eniId !== undefined) {
    eni = findEni(state, eniId);
  } else {
    throw new Ec2Error('MissingParameter', 'The request must contain the parameter InstanceId or NetworkInterfaceId');
  }
  const privateText = params.str('PrivateIpAddress');
  const privateIp = privateText === undefined ? primaryIp(state, eni.id)! : formatAddress(parseAddressParam(privateText, 'privateIpAddress', 4));
  if (!state.get("SELECT 1 FROM eni_addresses WHERE eni_id = ? AND kind = 'address' AND cidr = ?", eni.id, privateIp)) {
    throw invalidParameter(`The private IP address ${privateIp} is not assigned to network interface ${eni.id}.`);
  }
  if (eip.eni_id && params.bool('AllowReassociation') !== true) {
    throw new Ec2Error('Resource.AlreadyAssociated', `resource ${eip.allocation_id} is already associated with associate-id ${eip.association_id}`);
  }
  if (eip.eni_id) releasePublicIp(state, eip.eni_id, eip.private_ip ?? undefined);
  releasePublicIp(state, eni.id, privateIp);
  const associationId = state.newId('eipassoc');
  state.run('UPDATE public_ips SET eni_id = ?, private_ip = ?, association_id = ? WHERE seq = ?', eni.id, privateIp, associationId, eip.seq);
  state.eniChanged(eni.id);
  return { associationId };
};

const disassociateAddress: Handler = (params, state) => {
  const associationId = params.str('AssociationId');
  let row: PublicIpRow | undefined;
  if (associationId !== undefined) {
    row = state.get<PublicIpRow>('SELECT * FROM public_ips WHERE association_id = ?', associationId);
    if (!row) throw new Ec2Error('InvalidAssociationID.NotFound', `The association ID '${associationId}' does not exist`);
  } else if (params.str('PublicIp') !== undefined) {
    row = findElasticIp(state, params);
    if (!row.eni_id) throw new Ec2Error('InvalidAssociationID.NotFound', `The address '${row.public_ip}' is not associated`);
  } else {
    throw new Ec2Error('MissingParameter', 'The request must contain the parameter AssociationId');
  }
  if (row.eni_id) {
    const nat = state.get('SELECT 1 FROM nat_gateways WHERE eni_id = ?', row.eni_id);
    if (nat) throw new Ec2Error('OperationNotPermitted', `The address ${row.public_ip} is used by a NAT gateway and cannot be disassociated.`);
    releasePublicIp(state, row.eni_id, row.private_ip ?? undefined);
  }
  return { return: true };
};

const releaseAddress: Handler = (params, state) => {
  const eip = findElasticIp(state, params);
  if (eip.eni_id) {
    throw new Ec2Error('InvalidIPAddress.InUse', `The address with allocation id [${eip.allocation_id}] is in use.`);
  }
  state.run('DELETE FROM public_ips WHERE seq = ?', eip.seq);
  state.run('DELETE FROM tags WHERE resource_id = ?', eip.allocation_id);
  return { return: true };
};

export const addressActions: Record<string, Handler> = {
  AllocateAddress: allocateAddress,
  AssociateAddress: associateAddress,
  DisassociateAddress: disassociateAddress,
  ReleaseAddress: releaseAddress,
};
