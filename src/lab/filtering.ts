/**
 * Security groups and network ACLs as nft chains in a VPC router (pure). Every ENI is a port of its VPC's router, so
 * every packet to or from an ENI crosses the router's forward hook: what arrives from a port left that ENI (its
 * groups' egress rules, then its subnet's ACL egress entries), what the router sends out of a port enters that ENI
 * (the ACL ingress entries of its subnet, then its groups' ingress rules) — the order src/vpc path.ts evaluates them
 * in, so the counter that moves is the model's reason. The rules are the model's own data (src/vpc: the groups'
 * rules, group references as groupMemberCidrs, the ACL networkAclOf gives a subnet, its entries in rule-number order)
 * written in nft's words; nothing here decides what a rule means.
 *
 * Groups are stateful: `ct state established,related` passes before any rule. ACLs are stateless: every packet,
 * replies included, goes through the entries. Traffic between two ENIs of one subnet crosses no ACL. IMDS is never
 * filtered; the lab's EC2 endpoint (an interface endpoint outside the model's subnets) has a group of its own that
 * allows HTTP and HTTPS from the lab's VPCs, and crosses no ACL.
 */
import { groupMemberCidrs, networkAclOf, protocolNumber, type IpProtocol, type NetworkAclEntry, type NetworkInterface, type PortRange, type SecurityGroupRule, type VpcModel } from '../vpc/index.js';

/** The comments on the filtering drop counters (read by drops.ts, as render.ts's DROP_COUNTERS). */
export const FILTER_COUNTERS = { securityGroup: 'security-group', networkAcl: 'network-acl' } as const;

/** An ENI wired to a port of the router being rendered. */
export interface FilteredPort {
  port: string;
  eni: NetworkInterface;
  /** a NAT gateway's ENI: no security groups (AWS gives NAT gateways none), its subnet's ACL still applies */
  natGateway: boolean;
}

export interface FilterContext {
  imdsAddress: string;
  ec2Endpoint: string;
  /** who the EC2 endpoint's group lets in: every VPC of the lab */
  vpcCidrs: readonly string[];
  /** the VPCs' resolvers (base + 2): like IMDS, neither security groups nor network ACLs filter them, as on AWS */
  dnsAddresses?: readonly string[];
}

/** The EC2 endpoint's group: HTTP and HTTPS (the emulator listens on 80), and the Kubernetes API server (6443) beside it. */
const ENDPOINT_PORTS = [80, 443, 6443];

/** nft's name for a set or chain made of an EC2 id (`sg-0a1` → `sg_0a1`). */
const nftName = (id: string) => id.replace(/[^A-Za-z0-9_]/g, '_');

const isIpv4Cidr = (cidr: string) => !cidr.includes(':');

/**
 * The match of a rule's or entry's protocol and ports (the model's protocolAndPortsMatch, as nft expressions): `all`
 * matches everything, tcp/udp the destination port range, ICMP the type and code (-1: any), other numbers the protocol.
 */
export function nftProtocolMatch(protocol: IpProtocol, ports?: PortRange): string {
  const number = protocolNumber(protocol);
  if (number === -1) return '';
  const proto = `meta l4proto ${number}`;
  if (!ports) return proto;
  if (number === 6 || number === 17) return `${proto} th dport ${ports.from === ports.to ? ports.from : `${ports.from}-${ports.to}`}`;
  if (number === 1) {
    if (ports.from === -1) return proto;
    return `${proto} icmp type ${ports.from}${ports.to === -1 ? '' : ` icmp code ${ports.to}`}`;
  }
  return proto;
}

const join = (...parts: string[]) => parts.filter((p) => p !== '').join(' ');

/** One group rule as an nft match on the peer side (`saddr` for ingress, `daddr` for egress); null: an IPv6 peer. */
function ruleMatch(rule: SecurityGroupRule, side: 'saddr' | 'daddr'): string | null {
  const peer = 'cidr' in rule.peer ? (isIpv4Cidr(rule.peer.cidr) ? `ip ${side} ${rule.peer.cidr}` : null) : `ip ${side} @${groupSetName(rule.peer.groupId)}`;
  return peer === null ? null : join(nftProtocolMatch(rule.protocol, rule.ports), peer);
}

function groupSetName(groupId: string): string {
  return `members_${nftName(groupId)}`;
}

function entryMatch(entry: NetworkAclEntry): string | null {
  if (!isIpv4Cidr(entry.cidr)) return null;
  return join(nftProtocolMatch(entry.protocol, entry.ports), `ip ${entry.egress ? 'daddr' : 'saddr'} ${entry.cidr}`);
}

const elements = (items: readonly string[]) => (items.length > 0 ? ` elements = { ${items.join(', ')} };` : '');

/**
 * The filtering part of a VPC router's nft table (sets and chains, to go inside `table ip pn_vpc`); empty when the
 * model has no filtering section (nothing is filtered, as before security groups existed in the lab).
 */
export function renderFiltering(model: VpcModel, ports: readonly FilteredPort[], ctx: FilterContext): string[] {
  const filtering = model.filtering;
  if (!filtering) return [];
  const lines: string[] = [];
  const sgDrop = `counter drop comment "${FILTER_COUNTERS.securityGroup}"`;
  const aclDrop = `counter drop comment "${FILTER_COUNTERS.networkAcl}"`;

  // Security groups: one chain per distinct set of groups and direction (ENIs with the same groups share it). An ENI
  // whose groups the model does not know (groupIds absent) is not filtered, as the model evaluates it.
  const combos = new Map<string, string[]>();
  const comboOf = new Map<string, string>();
  for (const p of ports) {
    if (p.natGateway || p.eni.groupIds === undefined) continue;
    const groupIds = [...new Set(p.eni.groupIds)].sort();
    const key = groupIds.join(',');
    if (!combos.has(key)) combos.set(key, groupIds);
    comboOf.set(p.port, `sg${[...combos.keys()].indexOf(key)}`);
  }
  const referenced = new Set<string>();
  const chains: string[] = [];
  [...combos.values()].forEach((groupIds, i) => {
    for (const direction of ['ingress', 'egress'] as const) {
      const body = ['ct state established,related return'];
      for (const groupId of groupIds) {
        const group = filtering.securityGroups.find((g) => g.id === groupId);
        for (const rule of group?.[direction] ?? []) {
          if ('groupId' in rule.peer) referenced.add(rule.peer.groupId);
          const match = ruleMatch(rule, direction === 'ingress' ? 'saddr' : 'daddr');
          if (match !== null) body.push(join(match, 'return'));
        }
      }
      body.push(sgDrop);
      chains.push(chain(`sg${i}_${direction}`, body));
    }
  });
  for (const groupId of [...referenced].sort()) {
    const members = groupMemberCidrs(model, groupId).filter(isIpv4Cidr);
    // no auto-merge: members are disjoint (EC2 gives an address or prefix to one ENI), and each stays an element of its
    // own, so the controller can delete it when it goes (updateNftTable)
    lines.push(`  set ${groupSetName(groupId)} { type ipv4_addr; flags interval;${elements(members)} }`);
  }

  // Network ACLs: a chain per ACL and direction, entries in rule-number order, the implicit deny last; a chain per
  // subnet that first lets traffic to or from its own ports through (the same subnet crosses no ACL).
  const subnetIds = [...new Set(ports.map((p) => p.eni.subnetId))].sort();
  const aclChains = new Map<string, string>();
  const subnetChain = new Map<string, number>();
  subnetIds.forEach((subnetId, i) => {
    const acl = networkAclOf(model, subnetId);
    if (!acl) return;
    if (!aclChains.has(acl.id)) {
      aclChains.set(acl.id, `acl_${nftName(acl.id)}`);
      for (const egress of [false, true]) {
        const body = acl.entries
          .filter((e) => e.egress === egress)
          .sort((a, b) => a.ruleNumber - b.ruleNumber)
          .flatMap((e) => {
            const match = entryMatch(e);
            return match === null ? [] : [join(match, e.action === 'allow' ? 'return' : aclDrop)];
          });
        body.push(aclDrop);
        chains.push(chain(`${aclChains.get(acl.id)}_${egress ? 'egress' : 'ingress'}`, body));
      }
    }
    const own = ports.filter((p) => p.eni.subnetId === subnetId).map((p) => `"${p.port}"`);
    lines.push(`  set subnet${i}_ports { type ifname;${elements(own)} }`);
    chains.push(chain(`subnet${i}_egress`, [`oifname @subnet${i}_ports return`, `jump ${aclChains.get(acl.id)}_egress`]));
    chains.push(chain(`subnet${i}_ingress`, [`iifname @subnet${i}_ports return`, `jump ${aclChains.get(acl.id)}_ingress`]));
    subnetChain.set(subnetId, i);
  });

  const vmap = (dev: 'iifname' | 'oifname', pairs: Array<[string, string]>) => (pairs.length > 0 ? [`${dev} vmap { ${pairs.map(([port, target]) => `"${port}" : jump ${target}`).join(', ')} }`] : []);
  const sgPairs = (direction: 'ingress' | 'egress') => ports.flatMap((p): Array<[string, string]> => (comboOf.has(p.port) ? [[p.port, `${comboOf.get(p.port)}_${direction}`]] : []));
  const aclPairs = (direction: 'ingress' | 'egress') => ports.flatMap((p): Array<[string, string]> => (subnetChain.has(p.eni.subnetId) ? [[p.port, `subnet${subnetChain.get(p.eni.subnetId)}_${direction}`]] : []));
  const endpoint = ctx.ec2Endpoint;
  const base = [
    'type filter hook forward priority filter; policy accept;',
    // IMDS is never filtered (as on AWS)
    `ip daddr ${ctx.imdsAddress} accept`,
    `ip saddr ${ctx.imdsAddress} accept`,
    ...(ctx.dnsAddresses?.length ? [`ip daddr { ${ctx.dnsAddresses.join(', ')} } accept`, `ip saddr { ${ctx.dnsAddresses.join(', ')} } accept`] : []),
    // leaving an ENI: its groups' egress rules, then (except for the EC2 endpoint) its subnet's ACL
    ...vmap('iifname', sgPairs('egress')),
    `ip daddr ${endpoint} ip saddr { ${ctx.vpcCidrs.join(', ')} } meta l4proto 6 th dport { ${ENDPOINT_PORTS.join(', ')} } accept`,
    `ip daddr ${endpoint} ${sgDrop}`,
    `ip saddr ${endpoint} ct state established,related accept`,
    `ip saddr ${endpoint} ${sgDrop}`,
    ...vmap('iifname', aclPairs('egress')),
    // entering an ENI: its subnet's ACL, then its groups' ingress rules
    ...vmap('oifname', aclPairs('ingress')),
    ...vmap('oifname', sgPairs('ingress')),
  ];
  return [...lines, ...chains, chain('filter', base)];
}

function chain(name: string, body: readonly string[]): string {
  return [`  chain ${name} {`, ...body.map((l) => `    ${l}`), '  }'].join('\n');
}
