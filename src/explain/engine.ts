/**
 * The explain engine: one connection (a first packet and its reply) through the sender's node rules, the VPC
 * (src/vpc's flowPath: never re-implemented here), and the receiver's node rules, as an Explanation.
 */
import { parseAddress, cidrContains, parseCidr } from '../net/index.js';
import { eniHolding, endpointAnswer, publicAddresses, flowPath, onPremisesHolding, vpcContaining, type EksCluster, type FlowResult, type Hop, type PathResult, type PathStart, type Traffic } from '../vpc/index.js';
import { formatRoute } from '../dataplane/index.js';
import type { ExplainCode } from './codes.js';
import type { ExplainHop, ExplainQuery, Explanation, PacketHeader, SourcePortClass } from './explanation.js';
import { compileNode, NotUnderstood, postrouting, prerouting, renderNodeRules, route, type CompiledNode, type NodePacket, type NodePod, type NodeStep, type RouteDecision } from './node-rules.js';
import { isInternetAddress, resolveEndpoint } from './resolve.js';
import type { AttachedEni, Endpoint, NodeView, World } from './world.js';

/** A node's compiled rules, or why there are none. */
export type NodeRulesOf = (node: NodeView) => CompiledNode | { missing: string };

/** Rendered and parsed once per node per world: a world is immutable to explain, so the cache lives as long as it. */
const compiled = new WeakMap<World, Map<string, CompiledNode | { missing: string }>>();

function cachedRules(world: World): NodeRulesOf {
  let perNode = compiled.get(world);
  if (!perNode) compiled.set(world, (perNode = new Map()));
  const cache = perNode;
  return (node) => {
    let c = cache.get(node.name);
    if (!c) {
      const set = renderNodeRules(world, node);
      c = 'missing' in set ? set : compileNode(set);
      cache.set(node.name, c);
    }
    return c;
  };
}

/** The ephemeral port a client uses, for the security groups and ACLs of the reply (Linux's range starts at 32768). */
const EPHEMERAL_PORT = 49152;

/** Explains one connection from `query.from` to `query.to`. Names resolve as {@link resolveEndpoint} does. */
export function explainFlow(world: World, query: ExplainQuery): Explanation {
  return explainFlowWith(world, query, cachedRules(world));
}

/** Thrown inside the engine when a decision needs something the world does not have. */
class Undecidable extends Error {}

/** {@link explainFlow} over the given node rules (tests hand it rules with a rule added). */
export function explainFlowWith(world: World, query: ExplainQuery, rulesOf: NodeRulesOf): Explanation {
  const from = resolveEndpoint(world, query.from);
  const endpoint = clusterEndpointFor(world, from, resolveEndpoint(world, query.to));
  const to = endpoint.to;
  const e: Explanation = {
    verdict: 'unknown',
    query,
    from: { name: from.name, kind: from.kind, address: from.address },
    to: { name: to.name, kind: to.kind, address: to.address },
    sourceSeen: null,
    sourcePortClass: null,
    forward: [],
    return: [],
    codes: [],
    ...(from.simulated || to.simulated ? { simulated: true } : {}),
    ...(world.warnings?.length ? { warnings: [...world.warnings] } : {}),
  };
  if (endpoint.code) e.codes.push(endpoint.code);
  try {
    new Flow(world, query, from, to, rulesOf, e).run();
  } catch (err) {
    if (err instanceof NotUnderstood || err instanceof Undecidable) {
      e.verdict = 'unknown';
      e.sourceSeen = null;
      e.sourcePortClass = null;
      e.reason = err.message;
      delete e.fix;
    } else throw err;
  }
  e.codes = [...new Set(e.codes)];
  return e;
}

/** A TCP packet of its own connection that a node drops for early demux: the reply to the node, or the pod's next packet. */
interface EarlyDemuxDrop {
  node: CompiledNode;
  /** the node's strict branch pod at the other end */
  pod: NodePod;
  leg: 'reply' | 'next';
  /** where the node's routing sends the packet it drops */
  device: string;
}

interface Sender {
  node: CompiledNode;
  pod?: NodePod;
  /** the SNAT rule that matched the first packet, and the address it held before */
  snat?: { toSource: string; portFlag: '' | 'random' | 'random-fully'; original: string };
  packet: NodePacket;
  /** the device the node routed the first packet out of, when it left the node */
  device?: string;
}

const header = (source: string, destination: string, port?: number): PacketHeader => ({ source, destination, ...(port !== undefined ? { destinationPort: port } : {}) });

class Flow {
  private readonly codes: ExplainCode[];
  private readonly traffic: Traffic;

  constructor(
    private readonly world: World,
    private readonly query: ExplainQuery,
    private readonly from: Endpoint,
    private readonly to: Endpoint,
    private readonly rulesOf: NodeRulesOf,
    private readonly e: Explanation,
  ) {
    this.codes = e.codes as ExplainCode[];
    this.traffic = query.protocol === 'icmp' ? { protocol: 'icmp', icmp: { type: 8, code: 0 } } : { protocol: query.protocol, sourcePort: EPHEMERAL_PORT, destinationPort: query.port ?? 0 };
  }

  private nodeNamed(name: string | undefined): CompiledNode | undefined {
    const view = this.world.nodes.find((n) => n.name === name);
    if (!view) return undefined;
    const c = this.rulesOf(view);
    if ('missing' in c) throw new Undecidable(c.missing);
    return c;
  }

  /** The node an endpoint sends from: a pod's node, a node by name, or the node holding its address. */
  private nodeOf(ep: Endpoint): CompiledNode | undefined {
    if (ep.kind === 'pod' || ep.kind === 'node') {
      const byName = this.nodeNamed(ep.node ?? ep.name);
      if (byName) return byName;
      const eni = eniHolding(this.world.model.enis, ep.address);
      const instanceId = eni && instanceOf(this.world.model.enis, eni);
      const view = instanceId ? this.world.nodes.find((n) => n.instanceId === instanceId) : undefined;
      if (view) return this.nodeNamed(view.name);
      throw new Undecidable(`${ep.name} is a ${ep.kind} of node ${ep.node ?? ep.name}, which is not in the world`);
    }
    return undefined;
  }

  run(): void {
    const { from, to, e } = this;
    let start: PathStart;
    let sender: Sender | undefined;
    // from the internet a VPC endpoint is reached at its public IP, where it has one (as `lab probe` sends it)
    const destination = from.kind === 'internet' ? (publicIpOf(this.world, to.address) ?? to.address) : to.address;
    if (destination === from.address) {
      // a pod to itself, a node to its own hostNetwork pod: loopback, no rule on any path sees it
      e.verdict = 'delivered';
      e.sourceSeen = from.address;
      e.sourcePortClass = 'original';
      e.forward.push({ element: 'destination', id: to.name, matched: `${to.kind} ${to.address}`, action: `${to.address} is the sender's own address: delivered over loopback` });
      return;
    }
    const sameNetwork = from.kind === 'on-premises' ? onPremisesHolding(this.world.model, from.address) : undefined;
    if (sameNetwork && onPremisesHolding(this.world.model, destination) === sameNetwork) {
      // two hosts of one on-premises network: its own router carries it, no AWS element sees it
      e.forward.push({ element: 'on-premises', id: sameNetwork.name, matched: `${sameNetwork.cidr}`, action: `delivered to ${destination} inside ${sameNetwork.name}` });
      this.arrival(from.address);
      e.return.push({ element: 'on-premises', id: sameNetwork.name, matched: `${sameNetwork.cidr}`, action: `delivered to ${from.address} inside ${sameNetwork.name}` });
      e.verdict = 'delivered';
      e.sourceSeen = from.address;
      e.sourcePortClass = 'original';
      return;
    }
    if (from.kind === 'internet') start = { internet: from.address };
    else if (from.kind === 'on-premises') start = { onPremises: from.address };
    // a pod without a node (a Fargate pod: its own ENI, no podnet node rules) sends from its address as a host does
    else if (from.kind === 'host' || (from.kind === 'pod' && from.node === undefined)) {
      const eni = eniHolding(this.world.model.enis, from.address);
      if (!eni) throw new Undecidable(`no network interface in the model holds ${from.address}`);
      start = { eniId: eni.eniId, source: from.address };
    } else {
      const node = this.nodeOf(from)!;
      const hostSide = from.kind === 'node' || from.hostNetwork === true;
      if (hostSide) this.codes.push('HOST_NETWORK');
      const pod = hostSide ? undefined : node.set.pods.find((p) => p.endpoint.address === from.address);
      if (!hostSide && !pod) throw new Undecidable(`pod ${from.name}'s address ${from.address} is on no ENI of its node ${node.set.node.name} in the model${this.unwiredBranch(eniHolding(this.world.model.enis, from.address), node)}`);
      if (pod && (pod.eni.deviceIndex ?? 0) > 0) this.codes.push('POD_ON_SECONDARY_ENI');
      if (pod?.branch) this.branchCodes(pod);
      const packet: NodePacket = { source: pod ? from.address : null, destination, iif: pod ? pod.hostVeth : null, mark: 0, ctmark: 0 };
      const steps: NodeStep[] = [];
      if (pod) prerouting(node, packet, true, steps);
      const decision = route(node, packet, steps);
      for (const s of steps) {
        if (s.ipRulePriority === 1024) this.codes.push('CONNMARK_VIA_PRIMARY_ENI');
        if (s.ipRulePriority === 1025) this.codes.push('PRE_1_8_ROUTING_VIA_ETH0');
      }
      sender = { node, ...(pod ? { pod } : {}), packet };
      if (pod) {
        e.forward.push({ element: 'pod', id: from.name, matched: `route ${formatRoute(pod.podDefaultRoute)}`, action: `sent to its node over ${pod.hostVeth}` });
      }
      if (decision.kind === 'none') {
        this.pushNode(node, steps, e.forward);
        e.forward.at(-1)!.dropped = true;
        e.verdict = 'dropped';
        e.reason = `node ${node.set.node.name} has no route to ${destination}`;
        this.codes.push('NO_ROUTE');
        return;
      }
      if (decision.kind === 'local' || decision.kind === 'pod') {
        if (packet.source === null) packet.source = node.set.primaryIp;
        if (decision.kind === 'pod') postrouting(node, packet, decision.pod.hostVeth, steps);
        this.snatCodes(steps, sender, from.address);
        this.pushNode(node, steps, e.forward, { source: from.address, destination });
        this.sameNode(node, sender, decision);
        return;
      }
      if (packet.source === null) packet.source = decision.source;
      sender.device = decision.device;
      const original = packet.source;
      postrouting(node, packet, decision.device, steps);
      this.snatCodes(steps, sender, original);
      // a strict branch pod is never translated (`! -o vlan+`), whatever EXTERNALSNAT says
      if (pod && pod.branch?.mode !== 'strict' && node.set.node.settings.externalSnat && !node.set.vpcCidrs.some((c) => cidrContains(parseCidr(c), parseAddress(destination)))) this.codes.push('EXTERNAL_SNAT');
      this.pushNode(node, steps, e.forward, { source: original, destination });
      start = { eniId: decision.eni.eniId, source: packet.source };
    }

    // the reply leaves the ENI the packet arrived at unless the receiver's routing says otherwise: then src/vpc
    // follows the connection again with the ENI the receiving node chose
    let flow = flowPath(this.world.model, start, destination, { traffic: this.traffic });
    const forward = flow.forward;
    const receiverHops: ExplainHop[] = [];
    const replyNodeHops: ExplainHop[] = [];
    let receiverDrop: string | undefined;
    let earlyDemux: EarlyDemuxDrop | undefined;
    if (forward.verdict === 'delivered' && forward.arrivedAt && 'eni' in forward.arrivedAt) {
      const arrivedId = forward.arrivedAt.eni.eniId;
      const attached: AttachedEni[] = this.world.model.enis;
      const arrived = attached.find((x) => x.eniId === arrivedId);
      const instanceId = arrived && instanceOf(attached, arrived);
      const view = instanceId ? this.world.nodes.find((n) => n.instanceId === instanceId) : undefined;
      if (arrived && view) {
        const r = this.receive(this.nodeNamed(view.name)!, arrived, forward, receiverHops, replyNodeHops, sender);
        receiverDrop = r.drop;
        earlyDemux = r.earlyDemux;
        if (r.replyFromEniId && r.replyFromEniId !== arrivedId) flow = flowPath(this.world.model, start, destination, { replyFromEniId: r.replyFromEniId, traffic: this.traffic });
      }
    }
    flow = noPrivateInternet(this.world, flow);
    flow = { ...flow, forward: this.namedEndpointSource(flow.forward) };
    this.vpcHops(flow.forward, e.forward, { source: startSource(start), destination });
    if (flow.forward.verdict !== 'delivered') {
      e.verdict = flow.forward.verdict;
      e.reason = flow.forward.detail ?? 'the VPC did not deliver it';
      this.dropCode(flow.forward);
      e.fix = this.fixFor(flow.forward, 'forward', sender);
      return;
    }
    e.forward.push(...receiverHops);
    if (receiverDrop) {
      e.forward.at(-1)!.dropped = true;
      e.verdict = 'dropped';
      e.reason = receiverDrop;
      return;
    }
    this.arrival(flow.sourceSeen!);
    e.sourceSeen = flow.sourceSeen;
    e.sourcePortClass = this.portClass(flow, sender);
    e.return.push(...replyNodeHops);
    // dropped on the node before the reply reaches the VPC
    if (earlyDemux?.leg === 'reply') return this.earlyDemuxDrop(earlyDemux);
    const reply = flow.reply!;
    this.vpcHops(reply, e.return, { source: flow.forward.destinationSeen!, destination: flow.sourceSeen! });
    if (reply.verdict !== 'delivered') {
      e.verdict = reply.verdict;
      e.reason = `the reply: ${reply.detail ?? 'the VPC did not deliver it'}`;
      if (reply.reason === 'source-destination-check' && this.replyViaEth0) this.codes.push('REPLY_VIA_ETH0_SRC_DST_CHECK');
      this.dropCode(reply);
      e.fix = this.fixFor(reply, 'reply', sender);
      return;
    }
    if (reply.sourceSeen !== destination) {
      this.notTheReply(flow, reply.sourceSeen!, destination);
      return;
    }
    if (sender) this.senderReply(sender, reply);
    // the first packet and its reply went through; the pod's next packet is the one dropped
    if (earlyDemux?.leg === 'next') return this.earlyDemuxDrop(earlyDemux);
    e.verdict = 'delivered';
    const surprising = this.surprisingSnat(sender);
    if (surprising) e.fix = surprising;
  }

  private replyViaEth0 = false;

  /**
   * The public endpoint's refusal says whose address it saw (`the NAT gateway's 203.0.113.4`, `node pub-ip's public IP
   * 203.0.113.7`): src/vpc knows the address only, the World knows who holds it.
   */
  private namedEndpointSource(path: PathResult): PathResult {
    const last = path.hops.at(-1);
    if (path.reason !== 'endpoint-allow-list' || !last) return path;
    const owner = this.sourceOwner(last.source);
    if (owner === last.source) return path;
    const tail = `does not include ${last.source}`;
    const named = (text: string) => (text.endsWith(tail) ? `${text.slice(0, -tail.length)}does not include ${owner}` : text);
    return { ...path, ...(path.detail ? { detail: named(path.detail) } : {}), hops: [...path.hops.slice(0, -1), { ...last, action: named(last.action) }] };
  }

  /** An address as the public endpoint sees it, with whose it is: a NAT gateway's EIP, a node's or host's public IP, the sender's own. */
  private sourceOwner(address: string): string {
    if (this.world.model.natGateways.some((n) => n.publicIp === address)) return `the NAT gateway's ${address}`;
    const enis: readonly AttachedEni[] = this.world.model.enis;
    const eni = enis.find((x) => Object.values(x.publicIps).includes(address));
    const name = eni?.instanceId ? this.world.instanceNames[eni.instanceId] : undefined;
    if (name) return `${this.world.nodes.some((n) => n.name === name) ? 'node' : 'host'} ${name}'s public IP ${address}`;
    if (address === this.from.address) return `${this.from.kind === 'internet' ? 'internet host' : this.from.kind} ${this.from.name}'s ${address}`;
    return address;
  }

  /**
   * A reply that arrives from another address than the one the connection was opened to (its way back translated its
   * source, e.g. through a NAT gateway, where the packet came over a peering): the sender's connection tracking and
   * TCP do not take it as the reply, so the connection never completes.
   */
  private notTheReply(flow: FlowResult, from: string, openedTo: string): void {
    const { e } = this;
    const translator = flow.reply!.hops.find((h) => (h.element === 'nat-gateway' || h.element === 'internet-gateway') && h.action.startsWith('source '));
    e.return.push({ element: 'destination', id: this.from.name, matched: `${this.from.kind} ${this.from.address}`, action: `not the reply: it comes from ${from}, and the connection was opened to ${openedTo}`, dropped: true });
    e.verdict = 'dropped';
    e.reason = `the reply reaches ${this.from.name} from ${from}, not from ${openedTo}, the address the connection was opened to${translator ? ` (${translator.element} ${translator.id} translated its source on the way back)` : ''}: ${this.from.name} does not take it as the reply`;
    this.codes.push('ASYMMETRIC_REPLY');
    const table = translator && [...flow.reply!.hops.slice(0, flow.reply!.hops.indexOf(translator))].reverse().find((h) => h.element === 'route-table');
    const way = flow.forward.hops.filter((h) => h.element === 'peering' || h.element === 'transit-gateway' || h.element === 'virtual-private-gateway').map((h) => h.id);
    if (table) e.fix = `add a route for ${flow.forward.sourceSeen} (or its network) to route table ${table.id}${way.length > 0 ? ` through ${way.join(', ')}, the way the packet came` : ' back the way the packet came'}, so the reply does not take ${translator!.id}`;
  }

  /**
   * Why a branch ENI is no wired pod of this node, as ` (…)`: its trunk is elsewhere, the node wires no branch pods, or
   * no pod of the node holds its address; empty when the node wires it.
   */
  private unwiredBranch(branch: AttachedEni | undefined, node: CompiledNode): string {
    if (!branch?.trunk) return '';
    const enis: readonly AttachedEni[] = this.world.model.enis;
    const instance = instanceOf(enis, branch);
    if (instance !== node.set.node.instanceId) return ` (it is branch ENI ${branch.eniId}'s, whose trunk ${branch.trunk.trunkEniId} is ${instance ? `attached to ${this.world.instanceNames[instance] ?? instance}` : 'attached to no instance'})`;
    const on = `on VLAN ${branch.trunk.vlanId} of this node's trunk`;
    if (!node.set.node.settings.podEni) return ` (it is branch ENI ${branch.eniId}'s, ${on}, but the node runs without ENABLE_POD_ENI=true: its ipamd wires no branch pod)`;
    if (node.set.pods.some((p) => p.eni === branch)) return '';
    const address = branch.privateIps[0];
    const holder = this.world.endpoints.find((e) => e.kind === 'pod' && !e.hostNetwork && e.address === address);
    return ` (branch ENI ${branch.eniId}, ${on}, is no pod's of this node: ${holder ? `its address ${address} is pod ${holder.name}'s${holder.node ? `, of node ${holder.node}` : ''}` : `no pod holds its address ${address ?? '(none)'}`})`;
  }

  /** A branch pod on the path: its ENI, and the mode that decides which of its traffic crosses it. */
  private branchCodes(pod: NodePod): void {
    this.codes.push('BRANCH_ENI', pod.branch!.mode === 'strict' ? 'SGP_STRICT' : 'SGP_STANDARD');
  }

  /** The last forward hop: the destination and the address it sees. */
  private arrival(sourceSeen: string): void {
    this.e.forward.push({ element: 'destination', id: this.to.name, matched: `${this.to.kind} ${this.to.address}`, action: `received it from ${sourceSeen}` });
  }

  private pushNode(node: CompiledNode, steps: NodeStep[], into: ExplainHop[], before?: PacketHeader): void {
    for (const s of steps) {
      const hop: ExplainHop = { element: s.kind === 'rules' ? 'node-rules' : 'node-routing', id: node.set.node.name, matched: s.matched, action: s.action };
      if (s.snat && before && s.snat.toSource !== before.source) {
        hop.before = header(before.source, before.destination, this.query.port);
        hop.after = header(s.snat.toSource, before.destination, this.query.port);
        hop.after.sourcePort = 'ephemeral';
      }
      into.push(hop);
    }
  }

  private snatCodes(steps: NodeStep[], sender: Sender, original: string): void {
    for (const s of steps) {
      if (s.snatReturn === 'vpc') this.codes.push('VPC_CIDR_NOT_TRANSLATED');
      if (s.snatReturn === 'excluded') this.codes.push('EXCLUDED_FROM_SNAT');
      if (s.snat) {
        sender.snat = { ...s.snat, original };
        if (s.snat.toSource !== original) this.codes.push('SNAT_TO_PRIMARY_IP');
      }
    }
  }

  /** Both ends on one node: delivered by the node (to a pod's veth or to itself); the reply comes back the same way. */
  private sameNode(node: CompiledNode, sender: Sender, decision: Extract<RouteDecision, { kind: 'local' | 'pod' }>): void {
    const { e } = this;
    this.codes.push('SAME_NODE');
    if (decision.kind === 'pod' && decision.pod.branch) this.branchCodes(decision.pod);
    const seen = sender.packet.source!;
    e.sourceSeen = seen;
    this.arrival(seen);
    e.sourcePortClass = sender.snat ? portFlagClass(sender.snat.portFlag) : 'original';
    // the reply: from the receiving pod's veth (mangle restores the connection's mark), or sent by the node itself
    const replyPacket: NodePacket = { source: this.to.address, destination: seen, iif: decision.kind === 'pod' ? decision.pod.hostVeth : null, mark: 0, ctmark: sender.packet.ctmark };
    const steps: NodeStep[] = [];
    if (decision.kind === 'pod') prerouting(node, replyPacket, false, steps);
    const back = route(node, replyPacket, steps);
    this.pushNode(node, steps, e.return);
    if (back.kind === 'pod' || back.kind === 'local') {
      e.verdict = 'delivered';
      return;
    }
    e.return.at(-1)!.dropped = true;
    e.verdict = 'dropped';
    e.reason = `the reply: node ${node.set.node.name} routes it ${back.kind === 'out' ? `out of ${back.device} instead of back to ${this.from.name}` : 'nowhere'}`;
  }

  /**
   * The receiving node: PREROUTING and routing of the arriving packet (to a pod by rule 512, or to itself), then the
   * routing of the reply, which decides the ENI the reply leaves by (conntrack: no new NAT).
   */
  private receive(node: CompiledNode, arrived: AttachedEni, forward: PathResult, hops: ExplainHop[], replyHops: ExplainHop[], sender: Sender | undefined): { replyFromEniId?: string; drop?: string; earlyDemux?: EarlyDemuxDrop } {
    const name = node.set.node.name;
    // a branch ENI: EC2 hands its frames to the trunk's node on the branch's VLAN. Only a branch the node wires for a
    // pod of its own is a link there (vlan.eth.<id>) with rules behind it; what a node does with any other VLAN frame
    // is not modelled, so that is no answer rather than a guess
    const branchPod = arrived.trunk ? node.set.pods.find((p) => p.eni.eniId === arrived.eniId) : undefined;
    if (arrived.trunk && !branchPod) {
      throw new Undecidable(`${forward.destinationSeen} arrives at node ${name} on VLAN ${arrived.trunk.vlanId} of its trunk, for branch ENI ${arrived.eniId}, which the node does not wire${this.unwiredBranch(arrived, node)}`);
    }
    const device = node.set.enis.find((x) => x.eni.eniId === arrived.eniId)?.device;
    if (!device) throw new Undecidable(`${arrived.eniId} is not attached to node ${name}`);
    const packet: NodePacket = { source: forward.sourceSeen!, destination: forward.destinationSeen!, iif: device, mark: 0, ctmark: 0 };
    const steps: NodeStep[] = [];
    prerouting(node, packet, true, steps);
    const decision = route(node, packet, steps);
    this.pushNode(node, steps, hops);
    if (branchPod && !(decision.kind === 'pod' && decision.pod === branchPod)) {
      const where = decision.kind === 'pod' ? `to pod ${decision.pod.endpoint.name}` : decision.kind === 'local' ? 'to the node itself' : decision.kind === 'out' ? `out of ${decision.device}` : 'nowhere';
      throw new Undecidable(`node ${name} routes ${packet.destination}, arriving on ${branchPod.branch!.vlanLink} (branch ENI ${arrived.eniId}), ${where}, not to its pod ${branchPod.endpoint.name}: what a node does with a branch's frames other than deliver them to its pod is not modelled`);
    }
    if (decision.kind === 'none' || decision.kind === 'out') {
      return { drop: `node ${node.set.node.name} ${decision.kind === 'out' ? `forwards ${packet.destination} on out of ${decision.device}: no pod or address of the node holds it` : `has no route to ${packet.destination}`}` };
    }
    if (decision.kind === 'pod' && (decision.pod.eni.deviceIndex ?? 0) > 0) this.codes.push('POD_ON_SECONDARY_ENI');
    if (decision.kind === 'pod' && decision.pod.branch) this.branchCodes(decision.pod);
    const reply: NodePacket = { source: packet.destination, destination: packet.source!, iif: decision.kind === 'pod' ? decision.pod.hostVeth : null, mark: 0, ctmark: packet.ctmark };
    const replySteps: NodeStep[] = [];
    if (decision.kind === 'pod') prerouting(node, reply, false, replySteps);
    const back = route(node, reply, replySteps);
    this.pushNode(node, replySteps, replyHops);
    if (back.kind !== 'out') throw new Undecidable(`node ${node.set.node.name} does not route the reply to ${reply.destination} out of an ENI`);
    if (replySteps.some((s) => s.ipRulePriority === 1025) && back.eni.eniId !== arrived.eniId) this.replyViaEth0 = true;
    const earlyDemux = this.earlyDemuxOn(node, sender, decision, back);
    return { replyFromEniId: back.eni.eniId, ...(earlyDemux ? { earlyDemux } : {}) };
  }

  /**
   * TCP early demux (net.ipv4.tcp_early_demux, which DISABLE_TCP_EARLY_DEMUX=true turns off, spec §5.2) on a node that
   * forwards a packet of a connection its own host side holds. Before routing, Linux looks every arriving TCP packet up
   * in its table of connections (established, opening, half-open: any socket but a listener) and attaches the socket it
   * finds; ip_forward then drops any packet that carries a socket. Only a packet that enters the node from one of its
   * own pods for one of its own addresses and is still routed on meets both, and with the rules ipamd writes only a
   * strict branch pod's are: its veth's prio-10 rule sends everything through vlan.eth.<id>, before the local table
   * (prio 20). So, between the node's host side (the node, the kubelet's probes, a hostNetwork pod) and its own strict
   * branch pod:
   *   - the node opens: the first packet leaves by eth0 (strict puts the pod's route in the branch's table only), comes
   *     back in by vlan.eth.<id> for the pod, but the pod's reply, entering on its veth, finds the node's connecting
   *     socket and is dropped (`reply`);
   *   - the pod opens to a server of the node: the first packet carries no socket (a listener is not looked up), goes
   *     round by the VPC and is answered, but the pod's next packet (the handshake's ACK) finds the node's half-open
   *     connection and is dropped (`next`): the connection never completes on the node.
   * Standard mode delivers both ways on the node (the local table at 0, rule 512), and so does every plain pod; a pod's
   * own sockets are in its namespace, not the node's. UDP: udp_early_demux (not a podnet or upstream setting, 1 by
   * default) matches a connected socket the same way, so a reply to a node's connected UDP socket from its strict branch
   * pod is dropped too; explain answers a UDP flow by its datagram and does not know the sender's socket: not modelled.
   * ICMP has no early demux.
   */
  private earlyDemuxOn(node: CompiledNode, sender: Sender | undefined, decision: Extract<RouteDecision, { kind: 'local' | 'pod' }>, back: Extract<RouteDecision, { kind: 'out' }>): EarlyDemuxDrop | undefined {
    const settings = node.set.node.settings;
    if (this.query.protocol !== 'tcp' || settings.disableTcpEarlyDemux || sender?.node.set.node.name !== node.set.node.name) return undefined;
    // the pod's packets for the node's own address (its socket's): the pod addressed it, or the node opened from it
    const own = (address: string | null) => address !== null && node.local.has(address);
    // the reply, from the node's pod to the node's own socket, routed on rather than delivered
    if (!sender.pod && decision.kind === 'pod' && decision.pod.branch?.mode === 'strict' && own(sender.packet.source)) {
      return { node, pod: decision.pod, leg: 'reply', device: back.device };
    }
    // the pod's packet to the node came by the VPC: the node forwarded it on the way out, and forwards the next one
    if (sender.pod?.branch?.mode === 'strict' && decision.kind === 'local' && sender.device && own(this.to.address)) {
      return { node, pod: sender.pod, leg: 'next', device: sender.device };
    }
    return undefined;
  }

  /** The node's early-demux drop (see {@link earlyDemuxOn}) as the explanation's end. */
  private earlyDemuxDrop(d: EarlyDemuxDrop): void {
    const { e } = this;
    const name = d.node.set.node.name;
    const host = this.from.kind === 'node' || this.from.hostNetwork ? this.from : this.to;
    const packet = d.leg === 'reply' ? `${d.pod.endpoint.name}'s reply` : `${d.pod.endpoint.name}'s next packet (the handshake's ACK)`;
    e.return.push({
      element: 'node-rules', id: name,
      matched: `net.ipv4.tcp_early_demux=1: early demux finds ${host.kind === 'node' ? 'node' : 'hostNetwork pod'} ${host.name}'s own socket of the connection for ${packet}, arriving on ${d.pod.hostVeth}`,
      action: `dropped: node ${name} routes it on out of ${d.device}, and Linux never forwards a packet that carries a socket`,
      dropped: true,
    });
    e.verdict = 'dropped';
    e.reason = `${d.leg === 'reply' ? 'the reply: ' : ''}node ${name}'s early demux (net.ipv4.tcp_early_demux=1) hands ${packet}, entering on its veth for the node's own address, the node's socket of the connection; the branch pod's prio-10 rule then forwards it out of ${d.device}, and a packet carrying a socket is never forwarded: ${d.leg === 'reply' ? 'the reply never reaches the socket' : 'the connection never completes on the node'}`;
    e.fix = `set DISABLE_TCP_EARLY_DEMUX=true on ${name} (aws-node's init container; spec §5.2)`;
    this.codes.push('TCP_EARLY_DEMUX');
  }

  /** The reply back at the sender's node: conntrack undoes the SNAT, then rule 512 delivers it to the pod. */
  private senderReply(sender: Sender, reply: PathResult): void {
    const node = sender.node;
    const steps: NodeStep[] = [];
    const arrivedEni = reply.arrivedAt && 'eni' in reply.arrivedAt ? reply.arrivedAt.eni.eniId : undefined;
    const device = node.set.enis.find((x) => x.eni.eniId === arrivedEni)?.device ?? null;
    const original = sender.pod ? sender.pod.endpoint.address : sender.packet.source!;
    if (sender.snat && sender.snat.toSource !== sender.snat.original) {
      this.e.return.push({
        element: 'node-rules', id: node.set.node.name, matched: `conntrack: the reply of the connection ${sender.snat.original} → ${this.to.address} translated by the SNAT rule`, action: `destination ${reply.destinationSeen} → ${sender.snat.original}`,
        before: header(reply.sourceSeen!, reply.destinationSeen!), after: header(reply.sourceSeen!, sender.snat.original),
      });
    }
    if (!sender.pod) return;
    const packet: NodePacket = { source: reply.sourceSeen, destination: original, iif: device, mark: 0, ctmark: sender.packet.ctmark };
    prerouting(node, packet, false, steps);
    const back = route(node, packet, steps);
    this.pushNode(node, steps, this.e.return);
    if (back.kind !== 'pod') throw new Undecidable(`node ${node.set.node.name} does not route the reply to its pod ${original}`);
  }

  /**
   * src/vpc's hops as explain hops. A hop that translates says so in its action (`source A → B`, `destination A → B`,
   * `reply: destination A → B`); the header before and after are followed from the packet's start.
   */
  private vpcHops(path: PathResult, into: ExplainHop[], start: { source: string; destination: string }): void {
    let current = { ...start };
    path.hops.forEach((h: Hop, i) => {
      // the ENI hop that refuses a source is the VPC's source/destination check
      const element = h.element === 'eni' && h.action.startsWith('source/destination check') ? 'source-destination-check' : h.element;
      const hop: ExplainHop = { element, id: h.id, matched: h.action, action: h.action };
      const nat = /^(?:reply: )?(source|destination) (\S+) → (\S+)$/.exec(h.action);
      if (nat && (h.element === 'internet-gateway' || h.element === 'nat-gateway')) {
        const after = { ...current, [nat[1]!]: nat[3]! };
        hop.before = header(current.source, current.destination);
        hop.after = header(after.source, after.destination);
        current = after;
      }
      if (path.verdict === 'dropped' && i === path.hops.length - 1) hop.dropped = true;
      into.push(hop);
      if (h.element === 'route-table' && / → igw-/.test(h.action)) this.codes.push('ROUTE_TO_INTERNET_GATEWAY');
      if (h.element === 'internet-gateway' && nat) this.codes.push('PUBLIC_IP_TRANSLATION');
      if (h.element === 'nat-gateway') this.codes.push('NAT_GATEWAY_TRANSLATION');
      if (h.element === 'peering' && !(path.verdict === 'dropped' && i === path.hops.length - 1)) this.codes.push('PEERING');
      if (h.element === 'transit-gateway') this.codes.push('TRANSIT_GATEWAY');
      if (h.element === 'virtual-private-gateway') this.codes.push('VPN_GATEWAY');
    });
  }

  private dropCode(path: PathResult): void {
    const code: Record<string, ExplainCode> = {
      'no-public-ip': 'NO_PUBLIC_IP', 'no-route': 'NO_ROUTE', 'source-destination-check': 'SOURCE_DEST_CHECK', 'security-group': 'SECURITY_GROUP_DENY', 'network-acl': 'NETWORK_ACL_DENY',
      'endpoint-allow-list': 'ENDPOINT_PUBLIC_ACCESS_DENY', 'endpoint-private-off': 'ENDPOINT_PRIVATE_ACCESS_OFF',
    };
    if (path.reason) this.codes.push(code[path.reason]!);
  }

  private portClass(flow: FlowResult, sender: Sender | undefined): SourcePortClass {
    if (flow.forward.translations.length > 0) return 'nat-gateway';
    if (sender?.snat) return portFlagClass(sender.snat.portFlag);
    return 'original';
  }

  /** What would change a drop: the setting, route, public IP or rule to add. */
  private fixFor(path: PathResult, leg: 'forward' | 'reply', sender: Sender | undefined): string | undefined {
    const last = path.hops.at(-1);
    const nodeName = sender?.node.set.node.name;
    const protocol = this.query.protocol === 'icmp' ? 'ICMP' : `${this.query.protocol.toUpperCase()} ${leg === 'forward' ? this.query.port ?? '' : EPHEMERAL_PORT}`.trim();
    switch (path.reason) {
      case 'no-public-ip': {
        const source = last?.source ?? '';
        if (sender?.pod?.branch && source === sender.pod.endpoint.address) {
          return `a branch ENI gets no public IP: run the pod on a node in a private subnet whose route table sends 0.0.0.0/0 to a NAT gateway (the controller makes the branch ENI in its node's subnet; security groups for pods expects private subnets)${this.branchNodePath(sender, this.to.address)}`;
        }
        if (this.codes.includes('EXCLUDED_FROM_SNAT')) return `remove the CIDR holding ${this.to.address} from AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS on ${nodeName}: excluded, the pod's own address ${source} reaches the internet gateway, which has no public IP for it`;
        if (this.codes.includes('EXTERNAL_SNAT')) return `route 0.0.0.0/0 of ${this.subnetTableOf(source) ?? "the pod's subnet"} through a NAT gateway (AWS_VPC_K8S_CNI_EXTERNALSNAT=true expects one), or set AWS_VPC_K8S_CNI_EXTERNALSNAT=false on ${nodeName} so the node translates to its primary IP`;
        return `give ${source} a public IP (an Elastic IP on its ENI), or route 0.0.0.0/0 of ${this.subnetTableOf(source) ?? 'its subnet'} through a NAT gateway`;
      }
      case 'no-route': {
        if (last?.element === 'internet') {
          const network = onPremisesHolding(this.world.model, last.destination);
          const table = [...path.hops].reverse().find((h) => h.element === 'route-table');
          if (network) return table ? `route ${network.cidr} in route table ${table.id} to the virtual private gateway or transit gateway that reaches ${network.name}` : undefined;
          if (vpcContaining(this.world.model, last.destination)) return `${this.to.name} (${last.destination}) has no public IP, and the internet reaches only public addresses: give it an Elastic IP, or put a load balancer in front of it`;
          return undefined;
        }
        const table = [...path.hops].reverse().find((h) => h.element === 'route-table');
        const dest = last?.destination ?? '';
        return table && table.id.startsWith('rtb-') ? `add a route for ${dest} to route table ${table.id}` : `add a route for ${dest} where the packet stops (${last?.element} ${last?.id})`;
      }
      case 'source-destination-check':
        if (this.codes.includes('PRE_1_8_ROUTING_VIA_ETH0') || this.replyViaEth0) return `unset PODNET_PRE_1_8_ROUTING on ${nodeName ?? this.receiverName()} (VPC CNI 1.8+ routing: the connmark and rule 1536 keep a secondary ENI's pod on its own ENI)`;
        return `send ${last?.source} from the ENI that holds it`;
      case 'security-group': {
        const egress = path.hops.at(-2)?.element === 'eni' && path.hops.at(-2)?.action === 'left the ENI';
        if (egress) return `add an egress rule to ${last?.id} allowing ${protocol} to ${last?.destination}/32${last ? this.branchNodePath(sender, last.destination) : ''}${this.strictSameNodeAlternative(sender)}`;
        const peer = last ? this.peerGroups(last.source, last.destination) : undefined;
        return `add an ingress rule to ${last?.id} allowing ${protocol} from ${peer ? `${peer}, or from ${last?.source}/32` : `${last?.source}/32`}${this.strictSameNodeAlternative(sender)}`;
      }
      case 'network-acl': {
        const egress = /\begress\b/.test(last?.action ?? '');
        const peer = egress ? last?.destination : last?.source;
        const ports = this.query.protocol === 'icmp' ? 'ICMP' : leg === 'forward' ? `${this.query.protocol.toUpperCase()} ${this.query.port ?? ''}`.trim() : `${this.query.protocol.toUpperCase()} 1024-65535 (the ports replies go back to)`;
        return `add an ${egress ? 'egress' : 'ingress'} allow entry to ${last?.id} for ${ports} ${egress ? 'to' : 'from'} ${peer}/32, numbered below the entry that denies it`;
      }
      case 'endpoint-allow-list': {
        const cluster = this.clusterNamed(last?.id);
        if (!cluster || !last) return undefined;
        const cidrs = [...cluster.publicAccessCidrs, `${last.source}/32`];
        const inVpc = senderVpcId(this.world, this.from) === cluster.vpcId;
        return `add ${last.source}/32 (${this.sourceOwner(last.source)}) to cluster ${cluster.name}'s publicAccessCidrs, keeping the others: publicAccessCidrs=${cidrs.join(',')} (podnet lab cluster update --public-access-cidrs ${cidrs.join(' ')})${inVpc && !cluster.endpointPrivateAccess ? `, or turn on private access (endpointPrivateAccess=true): inside ${cluster.vpcId} the endpoint then resolves to its private addresses` : ''}`;
      }
      case 'endpoint-private-off': {
        const cluster = this.clusterNamed(last?.id);
        if (!cluster) return undefined;
        return `turn on cluster ${cluster.name}'s private access (endpointPrivateAccess=true; podnet lab cluster update --private-access true)${cluster.publicAddress ? `, or connect to the endpoint by its name ${cluster.hostname}, which resolves to the public address ${cluster.publicAddress} while private access is off` : ''}`;
      }
      default:
        return undefined;
    }
  }

  /**
   * The groups of the ENI a source address belongs to, named for an ingress rule's peer (`security group sg-1 (pod-sg:
   * the groups of pod b1's branch ENI eni-2)`): a rule naming the group admits the pod or node wherever its address goes.
   */
  private peerGroups(address: string, destination: string): string | undefined {
    const enis: readonly AttachedEni[] = this.world.model.enis;
    const eni = eniHolding(enis, address);
    // a rule names a group of its own VPC (a peer VPC's group is another matter): within one VPC only
    const vpc = vpcContaining(this.world.model, address);
    if (!eni?.groupIds?.length || !vpc || vpcContaining(this.world.model, destination) !== vpc) return undefined;
    const pod = this.world.endpoints.find((p) => p.kind === 'pod' && !p.hostNetwork && p.address === address);
    const instance = instanceOf(enis, eni);
    const owner = eni.trunk
      ? `${pod ? `pod ${pod.name}'s` : 'a'} branch ENI ${eni.eniId}`
      : instance && this.world.instanceNames[instance]
        ? `${this.world.nodes.some((n) => n.instanceId === instance) ? 'node' : 'host'} ${this.world.instanceNames[instance]}'s ENI ${eni.eniId}`
        : `${eni.eniId}`;
    const names = eni.groupIds.flatMap((id) => this.world.model.filtering?.securityGroups.find((g) => g.id === id)?.name ?? []);
    return `security group ${eni.groupIds.join(' or ')} (${names.length > 0 ? `${names.join(', ')}: ` : ''}the groups of ${owner})`;
  }

  /**
   * A strict branch pod refused on its way to its own node (or a pod there), by either end's groups: standard mode keeps
   * that traffic on the node. A pod keeps the mode it was wired in until it is recreated (spec §5.2).
   */
  private strictSameNodeAlternative(sender: Sender | undefined): string {
    if (sender?.pod?.branch?.mode !== 'strict' || this.nodeOfDestination() !== sender.node.set.node.name) return '';
    return `, or set POD_SECURITY_GROUP_ENFORCING_MODE=standard on ${sender.node.set.node.name} and recreate its branch pods: their traffic to the node and its pods then stays on the node (rule 512)`;
  }

  /** The node the destination is (or runs on), by name. */
  private nodeOfDestination(): string | undefined {
    if (this.to.kind === 'pod') return this.to.node;
    return this.to.kind === 'node' ? this.to.name : undefined;
  }

  /**
   * A branch pod stopped on its own ENI's way out of the VPC (its groups, no public IP): the settings that send that
   * traffic by the node's path instead — standard mode with the node's SNAT (connmark, rule 1024, the primary ENI).
   */
  private branchNodePath(sender: Sender | undefined, destination: string): string {
    const branch = sender?.pod?.branch;
    if (!branch || sender.node.set.vpcCidrs.some((c) => cidrContains(parseCidr(c), parseAddress(destination)))) return '';
    const node = sender.node.set.node;
    // a mode change reaches a pod only when it is recreated (spec §5.2: pods wired before keep their rules)
    const settings = branch.mode === 'strict' ? 'POD_SECURITY_GROUP_ENFORCING_MODE=standard with AWS_VPC_K8S_CNI_EXTERNALSNAT=false' : node.settings.externalSnat ? 'AWS_VPC_K8S_CNI_EXTERNALSNAT=false' : undefined;
    const recreate = branch.mode === 'strict' ? ' and recreate its branch pods' : '';
    return settings ? `, or set ${settings} on ${node.name}${recreate}: the pod's traffic leaving the VPC then goes SNATed through the primary ENI, under the node's groups and public IP or NAT gateway` : '';
  }

  private clusterNamed(name: string | undefined): EksCluster | undefined {
    return this.world.model.eksClusters?.find((c) => c.name === name);
  }

  private receiverName(): string {
    return this.to.node ?? this.to.name;
  }

  private subnetTableOf(address: string): string | undefined {
    const eni = eniHolding(this.world.model.enis, address);
    const subnet = eni && this.world.model.subnets.find((s) => s.id === eni.subnetId);
    return subnet?.routeTableId ?? undefined;
  }

  /** A pod's address replaced by the node's where the destination is private (a peer, on-premises): the exclusion to add. */
  private surprisingSnat(sender: Sender | undefined): string | undefined {
    if (!sender?.pod || !sender.snat || sender.snat.toSource === sender.snat.original) return undefined;
    const dest = this.to.address;
    const peer = vpcContaining(this.world.model, dest);
    const onPrem = onPremisesHolding(this.world.model, dest);
    const cidr = peer?.cidr ?? onPrem?.cidr ?? (isPrivate(dest) ? `${dest}/32` : undefined);
    if (!cidr) return undefined;
    return `${dest} sees the node's address ${sender.snat.toSource}, not the pod's: add ${cidr} to AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS on ${sender.node.set.node.name} to keep the pod's address`;
  }
}

/**
 * The internet delivers only to internet addresses: a packet src/vpc hands to the internet for a private address (an
 * on-premises network, which is reached over a VPN, or any private range) goes nowhere. Rewrites such a delivery, of
 * the packet or of its reply, as src/vpc's own no-route drop.
 */
function noPrivateInternet(world: World, flow: FlowResult): FlowResult {
  const undeliverable = (path: PathResult): PathResult => {
    if (path.verdict !== 'delivered' || !path.arrivedAt || !('internet' in path.arrivedAt) || isInternetAddress(path.arrivedAt.internet)) return path;
    const address = path.arrivedAt.internet;
    const network = onPremisesHolding(world.model, address);
    const what = network ? `an address of on-premises network ${network.name} (${network.cidr}), reached only over a VPN` : 'a private address';
    const last = path.hops.at(-1)!;
    return {
      ...path, verdict: 'dropped', reason: 'no-route', detail: `the internet has no route to ${address}, ${what}`,
      hops: [...path.hops.slice(0, -1), { ...last, action: `no route to ${address}, ${what}` }], arrivedAt: null, sourceSeen: null, destinationSeen: null,
    };
  };
  const forward = undeliverable(flow.forward);
  if (forward !== flow.forward) return { verdict: 'dropped', reason: 'no-route', detail: forward.detail!, sourceSeen: null, forward, reply: null };
  const reply = flow.reply && undeliverable(flow.reply);
  if (!reply || reply === flow.reply) return flow;
  return { ...flow, verdict: 'dropped', reason: 'no-route', detail: `the reply: ${reply.detail}`, reply };
}

/** The VPC a sender is in (the VPC of the ENI holding its address, or its node's primary ENI), null outside every VPC. */
function senderVpcId(world: World, from: Endpoint): string | null {
  if (from.kind === 'internet' || from.kind === 'on-premises' || from.kind === 'cluster-endpoint') return null;
  const enis: readonly AttachedEni[] = world.model.enis;
  const held = eniHolding(enis, from.address);
  if (held) return held.vpcId;
  const node = world.nodes.find((n) => n.name === (from.node ?? from.name));
  return enis.find((x) => node && x.instanceId === node.instanceId && x.deviceIndex === 0)?.vpcId ?? null;
}

/**
 * A cluster endpoint as this sender reaches it: the address VPC DNS answers the sender with (EKS's rule,
 * src/vpc's endpointAnswer: the first private address, or the public one) and the code saying which. Any other
 * destination is returned as it is.
 */
function clusterEndpointFor(world: World, from: Endpoint, to: Endpoint): { to: Endpoint; code?: ExplainCode } {
  const cluster = to.kind === 'cluster-endpoint' ? world.model.eksClusters?.find((c) => c.name === to.cluster) : undefined;
  if (!cluster) return { to };
  const answer = endpointAnswer(cluster, senderVpcId(world, from));
  if (answer.kind === 'public') return { to: { ...to, address: answer.address }, code: 'ENDPOINT_PUBLIC_ACCESS' };
  const address = answer.addresses[0];
  return { to: address ? { ...to, address } : to, code: 'ENDPOINT_PRIVATE_ACCESS' };
}

/** The public IP the model maps a private address to (an ENI's public or Elastic IP, a NAT gateway's). */
function publicIpOf(world: World, address: string): string | undefined {
  const eni = eniHolding(world.model.enis, address);
  return eni ? publicAddresses(world.model, eni.vpcId).find(([priv]) => priv === address)?.[1] : undefined;
}

/** The instance an ENI delivers to: its own, or for a branch ENI its trunk's (EC2 hands the trunk its VLAN's frames). */
function instanceOf(enis: readonly AttachedEni[], eni: AttachedEni): string | null {
  if (!eni.trunk) return eni.instanceId;
  return enis.find((x) => x.eniId === eni.trunk!.trunkEniId)?.instanceId ?? null;
}

function startSource(start: PathStart): string {
  return 'internet' in start ? start.internet : 'onPremises' in start ? start.onPremises : start.source;
}

function portFlagClass(flag: '' | 'random' | 'random-fully'): SourcePortClass {
  return flag === '' ? 'kept-if-free' : flag;
}

const PRIVATE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'].map((c) => parseCidr(c));
function isPrivate(address: string): boolean {
  const a = parseAddress(address);
  return PRIVATE.some((c) => cidrContains(c, a));
}
