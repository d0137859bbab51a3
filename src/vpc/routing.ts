/**
 * The VPC router's decision: which route of a subnet's route table a destination takes (longest prefix; the VPC's
 * local route always there, as EC2 creates it with every table and never lets it go).
 */
import { cidrContains, parseAddress, parseCidr } from '../net/index.js';
import type { VpcRoute, VpcFacts } from './model.js';

type RouteTable = VpcFacts['routeTables'][number];

/** The route table a subnet uses: its explicit association, else its VPC's main table (VpcFacts says which). */
export function routeTableOf(model: Pick<VpcFacts, 'subnets' | 'routeTables'>, subnetId: string): RouteTable | undefined {
  const id = model.subnets.find((s) => s.id === subnetId)?.routeTableId;
  return model.routeTables.find((t) => t.id === id);
}

/**
 * The route `destination` takes in `table` of a VPC with CIDR(s) `vpcCidrs`, or undefined when none matches: the
 * longest matching prefix wins; a local route for each VPC CIDR is added if the table does not list it. IPv6 routes
 * are skipped for an IPv4 destination and the other way round.
 */
export function lookupRoute(table: Pick<RouteTable, 'routes'> | undefined, destination: string, vpcCidrs: string | readonly string[]): VpcRoute | undefined {
  const address = parseAddress(destination);
  const routes = table?.routes ?? [];
  const missingLocal = (typeof vpcCidrs === 'string' ? [vpcCidrs] : vpcCidrs).filter((c) => !routes.some((r) => r.target.kind === 'local' && r.destination === c));
  const withLocal: VpcRoute[] = [...missingLocal.map((c): VpcRoute => ({ destination: c, target: { kind: 'local' } })), ...routes];
  let best: { route: VpcRoute; length: number } | undefined;
  for (const route of withLocal) {
    const cidr = parseCidr(route.destination);
    if (cidr.family !== address.family || !cidrContains(cidr, address)) continue;
    if (!best || cidr.prefixLength > best.length) best = { route, length: cidr.prefixLength };
  }
  return best?.route;
}
