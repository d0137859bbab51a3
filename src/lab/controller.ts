/**
 * The fabric controller (`podnet lab controller`, started by `lab up` in the aws namespace): it reads what EC2
 * says about the VPCs once, follows the emulator's mapping events (GET /_podnet/events, NDJSON), and after each
 * change makes the namespaces match renderFabric(): ENI veth pairs, router routes and rules, the source/destination
 * check, security groups and network ACLs, internet gateway 1:1 NAT, NAT gateway translation, the internet core's
 * routes. A `filtering` event (groups, rules or ACLs changed) makes it describe EC2 again at once.
 */
import { request } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { EC2Client } from '@aws-sdk/client-ec2';
import { describeFacts, readEksClusters, type Ec2Facts, type EniMapping, type MappingEvent } from '../ec2/index.js';
import { applyLineDiff, createEniLink, flushOwned, linkNames, listNetns, updateNftTable, ipBatch, setSysctls } from './apply.js';
import type { EksCluster } from '../vpc/index.js';
import { endpointConfigKey } from './eks-endpoint.js';
import { ns as names } from './plan.js';
import { listLinks, type LinkInfo } from '../dataplane/index.js';
import { planLinks } from './link-plan.js';
import { renderFabric, type EniLink } from './render.js';
import { loadScenario, type Scenario } from './scenario.js';
import { LabState, isLabProcess, type LabRecord } from './state.js';

export function ec2Client(lab: Pick<LabRecord, 'ec2Url' | 'region'>): EC2Client {
  // Always the lab's own endpoint and dummy credentials: nothing may fall back to AWS's defaults.
  return new EC2Client({ endpoint: lab.ec2Url, region: lab.region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 5 });
}

/** Follows the NDJSON event stream; calls `onEvent` per event and returns when the stream ends or fails. */
function followEvents(url: string, onEvent: (e: MappingEvent) => void): Promise<void> {
  return new Promise((resolve) => {
    const req = request(`${url}/_podnet/events`, (res) => {
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (line) onEvent(JSON.parse(line) as MappingEvent);
        }
      });
      res.on('end', () => resolve());
      res.on('error', () => resolve());
    });
    req.on('error', () => resolve());
    req.end();
  });
}

export class FabricController {
  private readonly enis = new Map<string, EniMapping>();
  /** what was applied last; an ENI link found at start-up (adopted) is `null` until the mapping names it */
  private applied = { links: new Map<string, EniLink | null>(), routes: new Map<string, Set<string>>(), rules: new Map<string, Set<string>>(), nft: new Map<string, string>() };
  private generation = 0;
  /** the ENIs renderFabric last left unwired (logged when that changes) */
  private lastSkipped = '';
  private dirty = false;
  private running: Promise<void> | undefined;
  private eventsConnected = false;
  private stopped = false;
  /** a `filtering` event asked for the facts to be read again; wakeRefresh ends refreshFacts' wait early */
  private refreshRequested = false;
  private wakeRefresh: (() => void) | undefined;
  /** the EKS clusters as the emulator last described them (`/_podnet/eks`) */
  private clusters: EksCluster[] = [];
  /** the clusters the last successful reconcile rendered (what `lab cluster update --wait` waits for) */
  private appliedClusters: EksCluster[] = [];

  constructor(
    private readonly state: LabState,
    private readonly lab: LabRecord,
    private readonly scenario: Scenario,
    private facts: Ec2Facts,
    private readonly log: (line: string) => void,
  ) {}

  /** A restarted controller starts from a clean slate of its own routes and rules and adopts existing ENI links. */
  async adopt(): Promise<void> {
    const existing = new Set(await listNetns());
    for (const n of this.ownedNamespaces()) if (existing.has(n)) await flushOwned(n);
    for (const v of this.lab.plan.vpcs) {
      if (!existing.has(v.router)) continue;
      for (const name of await linkNames(v.router)) if (name.startsWith('pne')) this.applied.links.set(`${v.router}/${name}`, null);
    }
  }

  /** the namespaces whose routes and rules this controller renders (on-premises networks keep lab up's static routes) */
  private ownedNamespaces(): string[] {
    const { vpcs, tgws, vgws, eks } = this.lab.plan;
    return [...vpcs.map((v) => v.router), names.inet, ...tgws.map((g) => g.ns), ...vgws.map((g) => g.ns), ...(eks ? [eks.ns] : [])];
  }

  onEvent(e: MappingEvent): void {
    if (e.type === 'filtering') {
      // groups, their rules or ACLs changed: only a Describe says how (refreshFacts), at once rather than at its next poll
      this.refreshRequested = true;
      this.wakeRefresh?.();
      return;
    }
    if (e.type === 'snapshot') {
      this.enis.clear();
      for (const eni of e.enis) this.enis.set(eni.eniId, eni);
    } else if (e.type === 'eni') this.enis.set(e.eni.eniId, e.eni);
    else if (e.type === 'eni-deleted') this.enis.delete(e.eniId);
    this.schedule();
  }

  private schedule(): void {
    this.dirty = true;
    this.running ??= (async () => {
      while (this.dirty && !this.stopped) {
        this.dirty = false;
        try {
          const failed = await this.reconcile();
          if (failed.length === 0) this.publish();
          else {
            this.publish(failed.join('; '));
            await sleep(1000);
            this.dirty = true;
          }
        } catch (err) {
          this.log(`reconcile failed: ${err instanceof Error ? err.message : String(err)}`);
          this.publish(err instanceof Error ? err.message : String(err));
          await sleep(200);
          this.dirty = true;
        }
      }
      this.running = undefined;
    })();
  }

  private publish(error?: string): void {
    const wired = new Set([...this.applied.links.values()].flatMap((l) => (l ? [l.eniId] : [])));
    this.state.writeFabric({
      generation: this.generation,
      updatedAt: new Date().toISOString(),
      enis: [...this.enis.values()].map((e) => ({ ...e, wired: wired.has(e.eniId) })),
      eventsConnected: this.eventsConnected,
      facts: this.facts,
      ...(this.lab.plan.eks && { eksClusters: this.appliedClusters }),
      ...(error ? { error } : {}),
    });
  }

  /** One pass; returns the links that failed (left out of this pass, the rest applied). */
  async reconcile(): Promise<string[]> {
    const clusters = this.clusters;
    const desired = renderFabric(this.lab.plan, this.scenario, this.facts, [...this.enis.values()], clusters);
    const present = new Set(await listNetns());
    const skipped = desired.skipped.join('; ');
    if (skipped && skipped !== this.lastSkipped) this.log(`not wired: ${skipped}`);
    this.lastSkipped = skipped;
    // 1. ENI links: every removal first (a name a removed pair held is then free), then the new pairs and adopted ports
    const wanted = new Map(desired.links.map((l) => [`${l.routerNs}/${l.port}`, l]));
    const plan = planLinks({ applied: this.applied.links, wanted, namespaces: present, adoptedBranchEnds: await this.adoptedBranchEnds(wanted, present) });
    for (const r of plan.remove) {
      if (r.deletePort) await ipBatch([`link del ${r.port}`], r.routerNs).catch(() => undefined);
      this.applied.links.delete(r.key);
      this.log(`link ${r.key} removed: ${r.why}`);
    }
    for (const key of plan.waiting) wanted.delete(key);
    const failed: string[] = [];
    for (const { key, link, made } of [...plan.adopt.map((a) => ({ ...a, made: false })), ...plan.create.map((c) => ({ ...c, made: true }))]) {
      try {
        await (made ? this.makeLink(key, link) : this.adoptLink(key, link));
      } catch (err) {
        // one bad link never holds up the others' links, routes and filtering: it is left out of this pass and
        // tried again shortly (reconcile's caller), and the error is published (lab status)
        const message = `link ${key} (${link.eniId} → ${link.endNs}/${link.endDev}): ${err instanceof Error ? err.message : String(err)}`;
        this.log(message);
        failed.push(message);
        if (!this.applied.links.has(key)) wanted.delete(key);
      }
    }
    // 2. Routes and rules (only for ports that exist), then 3. nft tables.
    const livePorts = new Set([...wanted.values()].map((l) => l.port));
    const usable = (line: string) => {
      const dev = /\b(?:dev|iif) (pne[0-9a-f]+)/.exec(line)?.[1];
      return dev === undefined || livePorts.has(dev);
    };
    for (const [kind, map, appliedMap] of [
      ['route', desired.routes, this.applied.routes],
      ['rule', desired.rules, this.applied.rules],
    ] as const) {
      for (const [n, lines] of map) {
        if (!present.has(n)) continue;
        const after = lines.filter(usable);
        await applyLineDiff(kind, n, appliedMap.get(n) ?? new Set(), after);
        appliedMap.set(n, new Set(after));
      }
    }
    for (const [n, table] of desired.nft) {
      if (!present.has(n) || this.applied.nft.get(n) === table) continue;
      await updateNftTable(n, this.applied.nft.get(n), table);
      this.applied.nft.set(n, table);
    }
    this.appliedClusters = clusters;
    this.generation++;
    return failed;
  }

  /**
   * A new pair, recorded as soon as it exists: if preparing its ends fails, the pair is deleted again, so the next
   * pass makes it whole rather than meeting "File exists" from a pair no one recorded.
   */
  private async makeLink(key: string, link: EniLink): Promise<void> {
    try {
      await createEniLink(link);
      this.applied.links.set(key, link);
      await this.prepareEnds(link);
    } catch (err) {
      await ipBatch([`link del ${link.port}`], link.routerNs).catch(() => undefined);
      this.applied.links.delete(key);
      throw err;
    }
  }

  /** An adopted port (it may carry live pods): never deleted here; until its ends are prepared it stays adopted (null), so the next pass tries again. */
  private async adoptLink(key: string, link: EniLink): Promise<void> {
    await this.prepareEnds(link);
    this.applied.links.set(key, link);
  }

  private async prepareEnds(link: EniLink): Promise<void> {
    if (link.primary) await this.prepareInstanceEnd(link);
    if (link.branch) await prepareBranchEnd(link, link.branch);
  }

  /** For each adopted port a branch link wants: the MAC of the link of its end's name in the node's namespace. */
  private async adoptedBranchEnds(wanted: ReadonlyMap<string, EniLink>, present: ReadonlySet<string>): Promise<Map<string, string | undefined>> {
    const ends = new Map<string, string | undefined>();
    const listings = new Map<string, Promise<LinkInfo[]>>();
    for (const [key, link] of wanted) {
      if (this.applied.links.get(key) !== null || !link.branch || !present.has(link.endNs)) continue;
      // a failed listing fails the pass (retried): read as "no link", it would remake a live pod's link
      if (!listings.has(link.endNs)) listings.set(link.endNs, listLinks(link.endNs));
      ends.set(key, (await listings.get(link.endNs)!).find((l) => l.ifname === link.endDev)?.address);
    }
    return ends;
  }

  /** An instance's primary ENI end, once: host prerequisites (spec §3.7 note, §9 item 4) or NAT gateway forwarding. */
  private async prepareInstanceEnd(link: EniLink): Promise<void> {
    const forwarding = { 'net.ipv4.ip_forward': '1', 'net.ipv4.conf.all.send_redirects': '0', 'net.ipv4.conf.all.accept_redirects': '0' };
    if (link.endNs === this.lab.plan.eks?.ns) return; // the endpoint forwards nothing (plan.ts set its sysctls)
    if (link.endNs.startsWith(names.nat(''))) await setSysctls(link.endNs, forwarding);
    // a connection attempt that gets no answer gives up after ~15 s (3 SYN retries; Linux's default 6 takes 2 min), as
    // the kubelet's 10 s heartbeat timeout does: a node cut off from the cluster endpoint tries again soon after it opens
    else await setSysctls(link.endNs, { ...forwarding, [`net.ipv4.conf.${link.endDev}.rp_filter`]: '2', 'net.ipv4.tcp_syn_retries': '3' });
  }

  /** Follows the event stream until stopped, reconnecting when the emulator goes away and comes back. */
  async follow(): Promise<void> {
    while (!this.stopped) {
      await followEvents(this.lab.ec2Url, (e) => {
        if (!this.eventsConnected) {
          this.eventsConnected = true;
          this.log('following mapping events');
        }
        this.onEvent(e);
      });
      if (this.eventsConnected) this.log('event stream ended; reconnecting');
      this.eventsConnected = false;
      this.publish('the EC2 emulator is not answering');
      await sleep(500);
    }
  }

  /**
   * Route tables, gateways and peerings change only through EC2 calls, which emit no mapping event: re-read them
   * every few seconds and reconcile when they differ (a route added with CreateRoute reaches the router). Security
   * groups and network ACLs announce their changes with a `filtering` event, which reads them at once.
   */
  async refreshFacts(client: EC2Client, everyMs: number): Promise<void> {
    while (!this.stopped) {
      if (!this.refreshRequested) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, everyMs);
          this.wakeRefresh = () => {
            clearTimeout(timer);
            resolve();
          };
        });
      }
      this.wakeRefresh = undefined;
      this.refreshRequested = false;
      try {
        const facts = await describeFacts(client);
        if (JSON.stringify(facts) !== JSON.stringify(this.facts)) {
          this.facts = facts;
          this.log('EC2 route tables, gateways, peerings, security groups or network ACLs changed');
          this.schedule();
        }
      } catch (err) {
        this.log(`re-reading EC2 failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }

  /**
   * The cluster endpoint follows EKS's configuration: read every `everyMs` (UpdateClusterConfig emits no mapping
   * event). When what clients see changes (access, allow-list, addresses), the endpoint's relay cuts its open
   * connections (SIGHUP, forward.ts): clients connect again, resolve the name again, and meet the new rules.
   */
  async followClusters(everyMs: number): Promise<void> {
    if (!this.lab.plan.eks) return;
    let lastFailure = '';
    while (!this.stopped) {
      try {
        const clusters = await readEksClusters(this.lab.ec2Url);
        lastFailure = '';
        if (JSON.stringify(clusters) !== JSON.stringify(this.clusters)) {
          const name = this.lab.plan.eks.cluster;
          const before = endpointConfigKey(this.clusters.find((c) => c.name === name));
          const after = endpointConfigKey(clusters.find((c) => c.name === name));
          this.clusters = clusters;
          this.log(`EKS cluster ${name}: ${after || 'not described'}`);
          this.schedule();
          if (before && before !== after) {
            await this.running?.catch(() => undefined);
            this.cutEndpointConnections();
          }
        }
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (message !== lastFailure) this.log(`reading the EKS clusters failed: ${message}`);
        lastFailure = message;
      }
      await sleep(everyMs);
    }
  }

  /** SIGHUP to the endpoint's relay: it closes every connection it carries (the listener stays). */
  private cutEndpointConnections(): void {
    const relay = this.state.procs().find((p) => p.name === ENDPOINT_RELAY);
    if (!relay || !isLabProcess(relay.pid, this.state.dir)) return;
    try {
      process.kill(relay.pid, 'SIGHUP');
      this.log('endpoint configuration changed: the relay cut its connections');
    } catch {
      // it exited meanwhile
    }
  }

  stop(): void {
    this.stopped = true;
  }
}

/**
 * A branch ENI's link, once made: the router knows the branch's address at its MAC (EC2 delivers to the ENI without
 * ARP; the address is the pod's, behind the node, so no one on the link would answer), and the node's end filters
 * loosely on the reverse path, as the primary ENI's: the node's namespace inherits the host's `all` setting, and a
 * strict one (1) would drop what arrives for a pod before its rules exist or after they went.
 */
async function prepareBranchEnd(link: EniLink, branch: NonNullable<EniLink['branch']>): Promise<void> {
  await ipBatch([`neigh replace ${branch.address} lladdr ${link.mac} dev ${link.port} nud permanent`], link.routerNs);
  // sysctl's keys take `/` for the dots of an interface name (vlan.eth.5 → vlan/eth/5)
  await setSysctls(link.endNs, { [`net.ipv4.conf.${link.endDev.replaceAll('.', '/')}.rp_filter`]: '2' });
}

/** The process name of the cluster endpoint's relay (lab up starts it in the endpoint namespace). */
export const ENDPOINT_RELAY = 'eks-endpoint';

/** `podnet lab controller`: runs until SIGTERM. */
export async function runController(stateDir: string): Promise<void> {
  const state = new LabState(stateDir);
  const lab = state.readLab();
  if (!lab) throw new Error(`no lab in ${stateDir}`);
  const scenario = await loadScenario(lab.scenarioPath);
  const log = (line: string) => process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const client = ec2Client(lab);
  let facts: Ec2Facts | undefined;
  for (let attempt = 0; !facts; attempt++) {
    try {
      facts = await describeFacts(client);
    } catch (err) {
      if (attempt % 10 === 0) log(`waiting for EC2 at ${lab.ec2Url}: ${err instanceof Error ? err.message : String(err)}`);
      await sleep(300);
    }
  }
  const controller = new FabricController(state, lab, scenario, facts, log);
  await controller.adopt();
  const stop = () => {
    controller.stop();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  log(`controller up: ${facts.vpcs.length} VPCs, ${facts.subnets.length} subnets, ${facts.routeTables.length} route tables, ${facts.natGateways.length} NAT gateways`);
  void controller.refreshFacts(client, 5000);
  void controller.followClusters(2000);
  await controller.follow();
  process.exit(0);
}
