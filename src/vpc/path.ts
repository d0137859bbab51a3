/**
 * What the VPC does with one packet, and with a connection (the packet, then the receiver's reply): the elements it
 * passes (ENI with its source/destination check, the VPC router's route table, internet gateway, NAT gateway,
 * peering, transit gateway, virtual private gateway, the internet and on-premises networks), what each did, the address the receiver sees, and whether it arrives — and if not, which
 * element dropped it and why. When the model carries security groups and network ACLs (its `filtering` section) and
 * the caller says what the traffic is (protocol and ports), the ENIs' groups and the subnets' ACLs are hops too. This
 * is the VPC half of `podnet explain` (issue 14); the node's rules (SNAT, which ENI a reply leaves by) are the
 * caller's to decide, and come in as the ENI and source address a packet leaves with.
 */
import { cidrContains, parseAddress, parseCidr } from '../net/index.js';
import {
  eniHolding,
  publicAddresses,
  resolveTarget,
  reverseFlow,
  sourceCheckPasses,
  vpcCidrsOf,
  vpcContaining,
  type Flow,
  type NetworkInterface,
  type OnPremisesNetwork,
  type VpcModel,
} from './model.js';
import { lookupRoute, routeTableOf } from './routing.js';
import { evaluateSecurityGroups, type TrafficDirection } from './security-groups.js';
import { evaluateNetworkAcl } from './network-acls.js';
import { transitGatewayNext } from './transit-gateways.js';
import { onPremisesBehind, onPremisesHolding } from './on-premises.js';
import { publicEndpointAdmits, type EksCluster } from './eks.js';

/**
 * Why the VPC drops a packet: the same reasons the lab's fabric counts (src/lab/drops.ts). The EKS cluster endpoint's
 * two: its public endpoint's allow-list refused the source, or a cluster network interface got a connection while the
 * private endpoint is off.
 */
export type VpcDropReason = 'source-destination-check' | 'no-route' | 'no-public-ip' | 'security-group' | 'network-acl' | 'endpoint-allow-list' | 'endpoint-private-off';

export type Verdict = 'delivered' | 'dropped' | 'unknown';

export type HopElement = 'eni' | 'security-group' | 'network-acl' | 'route-table' | 'internet-gateway' | 'nat-gateway' | 'peering' | 'transit-gateway' | 'virtual-private-gateway' | 'on-premises' | 'internet' | 'eks-endpoint';

export interface Hop {
  element: HopElement;
  /** eni-…, sg-… (the group that allowed it, else the ENI's groups joined by `,`), acl-…, rtb-…, igw-…, nat-…, pcx-…, tgw-…,
   * vgw-…, `internet`, an on-premises network's name, or (eks-endpoint) the EKS cluster's name */
  id: string;
  /** what it did, as a clause: `route 0.0.0.0/0 → igw-1`, `source 10.0.0.5 → 203.0.113.5` */
  action: string;
  /** the packet's addresses after this hop */
  source: string;
  destination: string;
}

/**
 * Where a packet starts: leaving an ENI with a source address (the node chose both), a host on the internet, or a host
 * in an on-premises network (model.onPremises), by its address.
 */
export type PathStart = { eniId: string; source: string } | { internet: string } | { onPremises: string };

/** A NAT gateway's translation of a connection: its replies are translated back to `original` (connection tracking). */
export interface NatTranslation {
  natGatewayId: string;
  original: string;
}

export interface PathResult {
  verdict: Verdict;
  /** for dropped: the reason; for unknown: absent */
  reason?: VpcDropReason;
  /** for dropped and unknown: the element and why, as a sentence */
  detail?: string;
  hops: Hop[];
  /** where it arrived (delivered only) */
  arrivedAt: { eni: NetworkInterface } | { internet: string } | { onPremises: { network: string; address: string } } | null;
  /** the packet's addresses when it arrived (delivered only): the source the receiver sees, its own address */
  sourceSeen: string | null;
  destinationSeen: string | null;
  translations: NatTranslation[];
}

/**
 * What the traffic is, for security groups and network ACLs: the protocol and ports of the packet that opens the
 * connection (the reply swaps them). Without it, or without `filtering` in the model, nothing filters.
 */
export type Traffic = Pick<Flow, 'protocol' | 'sourcePort' | 'destinationPort' | 'icmp'>;

/** A loop in route tables (a NAT gateway routing to itself) ends here instead of running forever. */
const MAX_HOPS = 32;

type Step =
  | { at: 'leave-eni'; eni: NetworkInterface }
  | { at: 'router'; vpcId: string; tableId: string | null }
  | { at: 'deliver-in-vpc'; vpcId: string }
  | { at: 'internet' }
  /** in an on-premises network, which routes the VPC's CIDRs back over its gateway */
  | { at: 'on-premises' };

/**
 * Follows one packet from `from` to destination address `to`. `established` are the NAT translations of the
 * connection this packet is a reply in (from `forwardPath` of the packet that opened it). `traffic` turns on the
 * security groups and network ACLs of a model that has them; `reply` says the packet answers an allowed connection,
 * which the (stateful) groups let through and the (stateless) ACLs evaluate like any other.
 */
export function forwardPath(model: VpcModel, from: PathStart, to: string, established: readonly NatTranslation[] = [], traffic?: Traffic & { reply?: boolean }): PathResult {
  const hops: Hop[] = [];
  const translations: NatTranslation[] = [];
  let source = 'internet' in from ? from.internet : 'onPremises' in from ? from.onPremises : from.source;
  let destination = to;
  const hop = (element: HopElement, id: string, action: string) => hops.push({ element, id, action, source, destination });
  const end = (verdict: Verdict, reason: VpcDropReason | undefined, detail: string): PathResult => ({
    verdict, ...(reason ? { reason } : {}), detail, hops, arrivedAt: null, sourceSeen: null, destinationSeen: null, translations,
  });
  /** all of a VPC's IPv4 blocks (a secondary block is as local as the primary), undefined for an unknown VPC */
  const vpcCidrs = (vpcId: string) => {
    const vpc = model.vpcs.find((v) => v.id === vpcId);
    return vpc ? vpcCidrsOf(vpc) : undefined;
  };
  const filtering = traffic && model.filtering ? traffic : undefined;
  /** The packet as it is now; a reply's security-group check passes by connection tracking (its own reverse). */
  const packet = (): Flow => ({ ...filtering!, source, destination });
  const tracked = (flow: Flow): Flow[] => (filtering?.reply ? [reverseFlow(flow)] : []);
  /** The groups of `eni` in `direction`: a hop when they decide, and the drop when they refuse. */
  const groupsRefuse = (eni: NetworkInterface, direction: TrafficDirection): PathResult | undefined => {
    // a NAT gateway has no security groups (AWS lists none for its requester-managed ENI): nothing to evaluate
    if (!filtering || eni.groupIds === undefined || model.natGateways.some((n) => n.eniId === eni.eniId)) return undefined;
    const flow = packet();
    const verdict = evaluateSecurityGroups(model, eni, direction, flow, tracked(flow));
    hop('security-group', verdict.match?.groupId ?? eni.groupIds.join(','), verdict.detail);
    return verdict.allowed ? undefined : end('dropped', 'security-group', `the security groups of ${eni.eniId} dropped it: ${verdict.detail}`);
  };
  /** The ACL of `subnetId` in `direction` (traffic inside one subnet crosses none). */
  const aclRefuses = (subnetId: string, direction: TrafficDirection): PathResult | undefined => {
    if (!filtering) return undefined;
    const verdict = evaluateNetworkAcl(model, subnetId, direction, packet());
    if (!verdict.aclId) return undefined;
    hop('network-acl', verdict.aclId, verdict.detail);
    return verdict.allowed ? undefined : end('dropped', 'network-acl', `the network ACL of ${subnetId} dropped it: ${verdict.detail}`);
  };
  /** Arrival in an on-premises network (behind a virtual private gateway or a transit gateway's VPN attachment). */
  const deliverOnPremises = (network: OnPremisesNetwork): PathResult => {
    hop('on-premises', network.name, `delivered to ${destination}`);
    return { verdict: 'delivered', hops, arrivedAt: { onPremises: { network: network.name, address: destination } }, sourceSeen: source, destinationSeen: destination, translations };
  };
  /** The subnet the packet left, while it has not yet crossed another (its ACLs apply only across subnets). */
  let leftSubnet: string | null = null;

  let step: Step;
  if ('internet' in from) step = { at: 'internet' };
  else if ('onPremises' in from) step = { at: 'on-premises' };
  else {
    const eni = model.enis.find((e) => e.eniId === from.eniId);
    if (!eni) return end('unknown', undefined, `no network interface ${from.eniId} in the model`);
    step = { at: 'leave-eni', eni };
  }

  for (let n = 0; n < MAX_HOPS; n++) {
    const current: Step = step;
    switch (current.at) {
      case 'leave-eni': {
        const eni: NetworkInterface = current.eni;
        if (!sourceCheckPasses(model, eni, source)) {
          hop('eni', eni.eniId, `source/destination check: ${source} is not an address of ${eni.eniId}`);
          return end('dropped', 'source-destination-check', `the source/destination check of ${eni.eniId} dropped it: ${source} is not an address EC2 assigned to that ENI`);
        }
        hop('eni', eni.eniId, 'left the ENI');
        const refused = groupsRefuse(eni, 'egress');
        if (refused) return refused;
        const sameSubnet = filtering !== undefined && eniHolding(model.enis.filter((e) => e.subnetId === eni.subnetId), destination) !== undefined;
        if (!sameSubnet) {
          const aclRefused = aclRefuses(eni.subnetId, 'egress');
          if (aclRefused) return aclRefused;
        }
        leftSubnet = sameSubnet ? eni.subnetId : null;
        step = { at: 'router', vpcId: eni.vpcId, tableId: routeTableOf(model, eni.subnetId)?.id ?? null };
        break;
      }
      case 'router': {
        const vpcId: string = current.vpcId;
        const tableId: string | null = current.tableId;
        const table = model.routeTables.find((t) => t.id === tableId);
        const cidrs = vpcCidrs(vpcId);
        if (!cidrs) return end('unknown', undefined, `no VPC ${vpcId} in the model`);
        const route = lookupRoute(table, destination, cidrs);
        const tableName = tableId ?? `(no route table of ${vpcId})`;
        if (!route) {
          hop('route-table', tableName, `no route to ${destination}`);
          return end('dropped', 'no-route', `route table ${tableName} has no route to ${destination}`);
        }
        const target = resolveTarget(model, vpcId, route.target);
        const via = route.target.kind === 'local' ? 'local' : route.target.id;
        hop('route-table', tableName, `route ${route.destination} → ${via}`);
        switch (target.kind) {
          case 'local':
            step = { at: 'deliver-in-vpc', vpcId };
            break;
          case 'igw': {
            const mapping = publicAddresses(model, vpcId).find(([priv]) => priv === source);
            if (!mapping) {
              hop('internet-gateway', target.igw.id, `${source} has no public IP`);
              return end('dropped', 'no-public-ip', `internet gateway ${target.igw.id} dropped it: ${source} has no public IP`);
            }
            source = mapping[1];
            hop('internet-gateway', target.igw.id, `source ${mapping[0]} → ${mapping[1]}`);
            step = { at: 'internet' };
            break;
          }
          case 'nat': {
            // entering the NAT gateway's subnet: its ACL sees the packet as it arrives, before the translation
            if (leftSubnet !== target.eni.subnetId) {
              const aclRefused = aclRefuses(target.eni.subnetId, 'ingress');
              if (aclRefused) return aclRefused;
            }
            translations.push({ natGatewayId: target.nat.id, original: source });
            source = target.nat.privateIp;
            hop('nat-gateway', target.nat.id, `source ${translations.at(-1)!.original} → ${source}`);
            // the NAT gateway sends it on from its own ENI, routed by its subnet's table (the ENI is not checked)
            step = { at: 'leave-eni', eni: target.eni };
            break;
          }
          case 'pcx': {
            const peerCidr = vpcCidrs(target.peerVpcId)?.join(', ');
            // peering is not transitive: only the peer VPC's own addresses cross it (no edge-to-edge routing)
            if (!vpcCidrs(target.peerVpcId)?.some((c) => cidrContains(parseCidr(c), parseAddress(destination)))) {
              hop('peering', target.peering.id, `${destination} is not in the peer VPC ${peerCidr ?? target.peerVpcId}`);
              return end('dropped', 'no-route', `peering ${target.peering.id} carries only the peer VPC's addresses (${peerCidr ?? target.peerVpcId}), not ${destination}`);
            }
            hop('peering', target.peering.id, `to ${target.peerVpcId}`);
            step = { at: 'deliver-in-vpc', vpcId: target.peerVpcId };
            break;
          }
          case 'tgw': {
            const next = transitGatewayNext(model, target.tgw, destination);
            if (next.kind === 'no-route') {
              hop('transit-gateway', target.tgw.id, `no route to ${destination}`);
              return end('dropped', 'no-route', next.detail);
            }
            if (next.kind === 'on-premises') {
              hop('transit-gateway', target.tgw.id, `route ${next.route.destination} → ${next.attachment.id} (VPN)`);
              return deliverOnPremises(next.network);
            }
            hop('transit-gateway', target.tgw.id, `route ${next.route.destination} → ${next.attachment.id} (${next.vpcId})`);
            leftSubnet = null;
            step = { at: 'router', vpcId: next.vpcId, tableId: next.tableId };
            break;
          }
          case 'vgw': {
            const network = onPremisesBehind(model, target.vgw.id, destination);
            if (!network) {
              hop('virtual-private-gateway', target.vgw.id, `no on-premises network behind it holds ${destination}`);
              return end('dropped', 'no-route', `no on-premises network behind virtual private gateway ${target.vgw.id} holds ${destination}`);
            }
            hop('virtual-private-gateway', target.vgw.id, `to on-premises ${network.name} (${network.cidr})`);
            return deliverOnPremises(network);
          }
          case 'unresolved':
            return end('unknown', undefined, `route table ${tableName}: ${target.why}`);
        }
        break;
      }
      case 'deliver-in-vpc': {
        const vpcId: string = current.vpcId;
        const eni: NetworkInterface | undefined = eniHolding(model.enis.filter((e) => e.vpcId === vpcId), destination);
        if (!eni) {
          hop('route-table', `(local ${vpcCidrs(vpcId)?.join(', ')})`, `no ENI holds ${destination}`);
          return end('dropped', 'no-route', `no ENI in ${vpcId} holds ${destination}`);
        }
        const nat = model.natGateways.find((g) => g.eniId === eni.eniId);
        const reverse = nat && destination === nat.privateIp ? established.find((t) => t.natGatewayId === nat.id) : undefined;
        if (nat && reverse) {
          if (leftSubnet !== eni.subnetId) {
            const aclRefused = aclRefuses(eni.subnetId, 'ingress');
            if (aclRefused) return aclRefused;
          }
          hop('nat-gateway', nat.id, `reply: destination ${destination} → ${reverse.original}`);
          destination = reverse.original;
          step = { at: 'leave-eni', eni };
          break;
        }
        if (leftSubnet !== eni.subnetId) {
          const aclRefused = aclRefuses(eni.subnetId, 'ingress');
          if (aclRefused) return aclRefused;
        }
        const refused = groupsRefuse(eni, 'ingress');
        if (refused) return refused;
        // a cluster's network interface answers as its private endpoint only while private access is on
        const cluster = clusterOfEni(model, eni.eniId);
        if (cluster && !cluster.endpointPrivateAccess) {
          hop('eks-endpoint', cluster.name, `private endpoint access is off: ${eni.eniId} does not answer for ${cluster.name}`);
          return end('dropped', 'endpoint-private-off', `cluster ${cluster.name}'s network interface ${eni.eniId} refused it: private endpoint access is off`);
        }
        hop('eni', eni.eniId, `delivered to ${destination}`);
        if (cluster) hop('eks-endpoint', cluster.name, `private endpoint of ${cluster.name} on ${eni.eniId}`);
        return { verdict: 'delivered', hops, arrivedAt: { eni }, sourceSeen: source, destinationSeen: destination, translations };
      }
      case 'on-premises': {
        const network = onPremisesHolding(model, source);
        if (!network) return end('unknown', undefined, `no on-premises network in the model holds ${source}`);
        if ('vgwId' in network.via) {
          const vgwId = network.via.vgwId;
          const vpcId = model.vpnGateways?.find((g) => g.id === vgwId)?.vpcId;
          const cidrs = vpcId ? vpcCidrs(vpcId) : undefined;
          const back = cidrs?.find((c) => cidrContains(parseCidr(c), parseAddress(destination)));
          if (!vpcId || !back) {
            hop('on-premises', network.name, `no route to ${destination}`);
            const why = vpcId ? `it routes only ${vpcId}'s CIDRs (${cidrs?.join(', ')}) over ${vgwId}` : `${vgwId} is attached to no VPC`;
            return end('dropped', 'no-route', `on-premises network ${network.name} has no route to ${destination}: ${why}`);
          }
          hop('on-premises', network.name, `route ${back} → ${vgwId}`);
          hop('virtual-private-gateway', vgwId, `to ${vpcId}`);
          leftSubnet = null;
          step = { at: 'deliver-in-vpc', vpcId };
          break;
        }
        // over a transit gateway, the network sends the gateway what it routes (as BGP would advertise it)
        const tgwId = network.via.tgwId;
        const tgw = model.transitGateways?.find((g) => g.id === tgwId);
        if (!tgw) return end('unknown', undefined, `on-premises network ${network.name} is reached over transit gateway ${tgwId}, which is not in the model`);
        hop('on-premises', network.name, `to ${tgwId}`);
        const next = transitGatewayNext(model, tgw, destination);
        if (next.kind === 'no-route') {
          hop('transit-gateway', tgwId, `no route to ${destination}`);
          return end('dropped', 'no-route', next.detail);
        }
        if (next.kind === 'on-premises') {
          hop('transit-gateway', tgwId, `route ${next.route.destination} → ${next.attachment.id} (VPN)`);
          return deliverOnPremises(next.network);
        }
        hop('transit-gateway', tgwId, `route ${next.route.destination} → ${next.attachment.id} (${next.vpcId})`);
        leftSubnet = null;
        step = { at: 'router', vpcId: next.vpcId, tableId: next.tableId };
        break;
      }
      case 'internet': {
        // the public endpoint is EKS's, outside every customer VPC: it admits a source by its allow-list
        const endpoint = model.eksClusters?.find((c) => c.publicAddress === destination);
        if (endpoint) {
          const admission = publicEndpointAdmits(endpoint, source);
          if (!admission.admitted) {
            hop('eks-endpoint', endpoint.name, admission.reason);
            return end('dropped', 'endpoint-allow-list', `the public endpoint of cluster ${endpoint.name} refused it: ${admission.reason}`);
          }
          hop('eks-endpoint', endpoint.name, `public endpoint of ${endpoint.name} admits ${source} (allow-list ${endpoint.publicAccessCidrs.join(', ')})`);
          return { verdict: 'delivered', hops, arrivedAt: { internet: destination }, sourceSeen: source, destinationSeen: destination, translations };
        }
        const inbound = internetGatewayFor(model, destination);
        if (inbound) {
          hop('internet-gateway', inbound.igwId, `destination ${destination} → ${inbound.privateIp}`);
          destination = inbound.privateIp;
          step = { at: 'deliver-in-vpc', vpcId: inbound.vpcId };
          break;
        }
        const vpc = vpcContaining(model, destination);
        if (vpc) {
          hop('internet', 'internet', `${destination} is a private address of ${vpc.id}`);
          return end('dropped', 'no-route', `the internet has no route to ${destination}, a private address of ${vpc.id}`);
        }
        hop('internet', 'internet', `delivered to ${destination}`);
        return { verdict: 'delivered', hops, arrivedAt: { internet: destination }, sourceSeen: source, destinationSeen: destination, translations };
      }
    }
  }
  return end('unknown', undefined, `more than ${MAX_HOPS} hops: the route tables loop`);
}

/** The EKS cluster whose requester-managed network interface `eniId` is (its private endpoint), if any. */
function clusterOfEni(model: VpcModel, eniId: string): EksCluster | undefined {
  return model.eksClusters?.find((c) => c.enis.some((e) => e.eniId === eniId));
}

/** The internet gateway that owns public IP `address`, and the private address it stands for. */
function internetGatewayFor(model: VpcModel, address: string): { igwId: string; vpcId: string; privateIp: string } | undefined {
  for (const igw of model.internetGateways) {
    if (!igw.vpcId) continue;
    const pair = publicAddresses(model, igw.vpcId).find(([, pub]) => pub === address);
    if (pair) return { igwId: igw.id, vpcId: igw.vpcId, privateIp: pair[0] };
  }
  return undefined;
}

export interface FlowResult {
  /** delivered when the packet arrives and its reply gets back */
  verdict: Verdict;
  reason?: VpcDropReason;
  detail?: string;
  /** the source address the receiver sees (when the packet arrives, whatever happens to the reply) */
  sourceSeen: string | null;
  forward: PathResult;
  reply: PathResult | null;
}

/**
 * A connection from `from` to `to`: the packet, then the receiver's reply to the address it saw. The reply leaves the
 * ENI the packet arrived at unless `replyFromEniId` says otherwise (a node's routing may send it out another ENI).
 */
export function flowPath(model: VpcModel, from: PathStart, to: string, opts: { replyFromEniId?: string; traffic?: Traffic } = {}): FlowResult {
  const forward = forwardPath(model, from, to, [], opts.traffic);
  if (forward.verdict !== 'delivered' || !forward.arrivedAt) {
    return { verdict: forward.verdict, ...(forward.reason ? { reason: forward.reason } : {}), ...(forward.detail ? { detail: forward.detail } : {}), sourceSeen: null, forward, reply: null };
  }
  const replySource = forward.destinationSeen!;
  const arrived = forward.arrivedAt;
  const replyStart: PathStart =
    'internet' in arrived ? { internet: replySource } : 'onPremises' in arrived ? { onPremises: replySource } : { eniId: opts.replyFromEniId ?? arrived.eni.eniId, source: replySource };
  // the addresses are the path's to fill in; the reply's ports and ICMP type are the opening packet's reversed
  const replyTraffic = opts.traffic && { ...reverseFlow({ ...opts.traffic, source: '', destination: '' }), reply: true };
  const reply = forwardPath(model, replyStart, forward.sourceSeen!, forward.translations, replyTraffic);
  const outcome = reply.verdict === 'delivered' ? {} : { ...(reply.reason ? { reason: reply.reason } : {}), detail: `the reply: ${reply.detail}` };
  return { verdict: reply.verdict, ...outcome, sourceSeen: forward.sourceSeen, forward, reply };
}
