/**
 * A transit gateway's decision: which route of its route table a destination takes (longest prefix over the
 * propagated and the static routes; on an equal prefix the static route wins, as on AWS), and where that sends the
 * packet next. A VPC attachment hands it to that VPC's router, which routes it by the table of the attachment's
 * subnet: the VPC's own addresses are local there, anything else follows that table.
 */
import { cidrContains, parseAddress, parseCidr } from '../net/index.js';
import type { OnPremisesNetwork, TransitGateway, TransitGatewayAttachment, TransitGatewayRoute, VpcFacts } from './model.js';
import { onPremisesBehind } from './on-premises.js';
import { routeTableOf } from './routing.js';

/** The route a destination takes, and its attachment (null: a blackhole route); undefined when none matches. */
export function lookupTransitGatewayRoute(
  tgw: Pick<TransitGateway, 'routes' | 'attachments'>,
  destination: string,
): { route: TransitGatewayRoute; attachment: TransitGatewayAttachment | null } | undefined {
  const address = parseAddress(destination);
  let best: { route: TransitGatewayRoute; length: number } | undefined;
  for (const route of tgw.routes) {
    const cidr = parseCidr(route.destination);
    if (cidr.family !== address.family || !cidrContains(cidr, address)) continue;
    const better = !best || cidr.prefixLength > best.length || (cidr.prefixLength === best.length && route.origin === 'static' && best.route.origin !== 'static');
    if (better) best = { route, length: cidr.prefixLength };
  }
  if (!best) return undefined;
  const attachment = best.route.attachmentId === null ? null : tgw.attachments.find((a) => a.id === best.route.attachmentId);
  // a route whose attachment is gone carries nothing, like a blackhole
  return { route: best.route, attachment: attachment ?? null };
}

/** Where a transit gateway sends a packet for `destination`. */
export type TransitGatewayNext =
  /** into a VPC's router, routed by the route table of the attachment's (first) subnet */
  | { kind: 'vpc'; route: TransitGatewayRoute; attachment: TransitGatewayAttachment; vpcId: string; tableId: string | null }
  /** out a VPN attachment, to the on-premises network behind this gateway that holds the destination */
  | { kind: 'on-premises'; route: TransitGatewayRoute; attachment: TransitGatewayAttachment; network: OnPremisesNetwork }
  /** no route, or a blackhole route: the gateway drops it */
  | { kind: 'no-route'; detail: string };

export function transitGatewayNext(model: Pick<VpcFacts, 'subnets' | 'routeTables' | 'onPremises'>, tgw: TransitGateway, destination: string): TransitGatewayNext {
  const found = lookupTransitGatewayRoute(tgw, destination);
  if (!found) return { kind: 'no-route', detail: `transit gateway ${tgw.id} has no route to ${destination}` };
  const { route, attachment } = found;
  if (!attachment) return { kind: 'no-route', detail: `transit gateway ${tgw.id} drops ${destination}: route ${route.destination} is a blackhole` };
  switch (attachment.resourceType) {
    case 'vpc': {
      const subnetId = attachment.subnetIds[0];
      const tableId = subnetId === undefined ? null : (routeTableOf(model, subnetId)?.id ?? null);
      return { kind: 'vpc', route, attachment, vpcId: attachment.vpcId, tableId };
    }
    case 'vpn': {
      const network = onPremisesBehind(model, tgw.id, destination);
      if (!network) return { kind: 'no-route', detail: `no on-premises network behind transit gateway ${tgw.id} holds ${destination} (route ${route.destination} → ${attachment.id})` };
      return { kind: 'on-premises', route, attachment, network };
    }
  }
}
