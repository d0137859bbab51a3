/**
 * Networks outside AWS (a data centre behind a Site-to-Site VPN or Direct Connect): which one holds an address, and
 * which lie behind a given gateway. The VPC reaches them over a virtual private gateway or a transit gateway; they
 * route the VPC's CIDRs back over that same gateway and nothing else (no edge-to-edge routing through the VPC).
 */
import { cidrContains, parseAddress, parseCidr } from '../net/index.js';
import type { OnPremisesNetwork, VpcFacts } from './model.js';

/** The on-premises network whose CIDR holds `address`. */
export function onPremisesHolding(model: Pick<VpcFacts, 'onPremises'>, address: string): OnPremisesNetwork | undefined {
  const a = parseAddress(address);
  return model.onPremises?.find((n) => cidrContains(parseCidr(n.cidr), a));
}

/** The on-premises network behind a gateway (a vgw-… or tgw-… id) that holds `address`. */
export function onPremisesBehind(model: Pick<VpcFacts, 'onPremises'>, gatewayId: string, address: string): OnPremisesNetwork | undefined {
  const network = onPremisesHolding(model, address);
  return network && gatewayOf(network) === gatewayId ? network : undefined;
}

/** The id of the gateway a network is reached over. */
function gatewayOf(network: OnPremisesNetwork): string {
  return 'vgwId' in network.via ? network.via.vgwId : network.via.tgwId;
}
