// An emulated node running podnet, for the e2e tier and bench/cni.ts: `podnet ec2 serve` with a one-instance
// topology in the sandbox's root namespace (standing in for the VPC: it listens on the subnet's router address),
// a node namespace whose eth0 carries that instance's primary ENI (MAC and address from IMDS), `podnet ipamd` in
// the node namespace with explicit EC2/IMDS endpoints, and `podnet cni install`'s launcher; on request, a link per
// secondary ENI the emulator attaches. Run only inside a disposable sandbox (scripts/test.mjs, or bench/cni.ts's own):
// it creates namespaces and links freely.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { EniMapping, MappingEvent } from '../../src/ec2/index.js';
import { run } from '../../src/lib/index.js';

const mainTs = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

/** argv that runs the podnet CLI from source (no build needed). */
export function podnetArgv(...args: string[]): string[] {
  const boot = `import(${JSON.stringify(mainTs)}).then((m) => m.main(['node', 'podnet', ...process.argv.slice(1)]))`;
  return [process.execPath, '--import', 'tsx', '-e', boot, '--', ...args];
}

export interface PodnetNodeOptions {
  /** Working directory (logs, sockets, CNI dirs, the ipamd checkpoint); must exist. */
  dir: string;
  /** Name of the node's network namespace (created here). */
  netns: string;
  instanceType: string;
  /** Warm-pool and other VPC CNI variables for ipamd. */
  ipamdEnv: Record<string, string>;
  /**
   * Give each secondary ENI attached to the instance a link in the node namespace, as the kernel shows an attached
   * ENI: `eth<device index>` with the ENI's MAC, its far end up in the sandbox's root namespace (the VPC), which also
   * routes each ENI's secondary addresses to it. Without it ipamd finds no link for those ENIs (their pods get
   * addresses, but the ENI's route table stays empty) and only the node's own address is reachable from the VPC.
   */
  eniLinks?: boolean;
}

export interface PodnetNode {
  netns: string;
  instanceId: string;
  /** The node's primary private IP (on its eth0). */
  nodeIp: string;
  /** The subnet router address in the sandbox's root namespace, where the EC2/IMDS emulator listens. */
  routerIp: string;
  /** The CNI bin dir holding the installed `podnet-cni` launcher. */
  binDir: string;
  /** The conflist `podnet cni install` wrote (upstream's, spec §1.1). */
  conflist: { cniVersion: string; name: string; plugins: Array<Record<string, unknown>> };
  socket: string;
  /** GET on ipamd's introspection endpoint (inside the node namespace), parsed. */
  introspect(path: string): Promise<unknown>;
  logTail(): string;
  /** Kills ipamd with SIGKILL by its PID, as a crash would (its socket file stays), and waits for it to exit; the node stays up. */
  killIpamd(): Promise<void>;
  /** Starts ipamd again after killIpamd(), with the same environment; returns once the process runs (not once it is ready). */
  restartIpamd(): Promise<void>;
  stop(): Promise<void>;
}

const SUBNET = '10.0.1.0/24';
const ROUTER_IP = '10.0.1.1';
const EC2_PORT = 7311;
const IMDS_PORT = 7312;
const INTROSPECTION = '127.0.0.1:61679';

interface Daemon {
  child: ChildProcess;
  log: string;
  exited: Promise<void>;
}

function startDaemon(argv: readonly string[], log: string, env: NodeJS.ProcessEnv): Daemon {
  const fd = openSync(log, 'a');
  const [cmd = '', ...args] = argv;
  const child = spawn(cmd, args, { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return { child, log, exited };
}

async function stopDaemon(d: Daemon): Promise<void> {
  if (d.child.exitCode !== null || d.child.signalCode !== null) return;
  d.child.kill('SIGTERM');
  const timer = setTimeout(() => d.child.kill('SIGKILL'), 5_000);
  await d.exited;
  clearTimeout(timer);
}

const tail = (path: string) => (existsSync(path) ? readFileSync(path, 'utf8').trim().split('\n').slice(-20).join('\n') : '');

async function waitFor<T>(what: string, timeoutMs: number, probe: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function http(opts: { url?: string; socketPath?: string; path?: string; method?: string; headers?: Record<string, string> }): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const target = opts.url ? new URL(opts.url) : undefined;
    const req = request(
      { ...(target ? { host: target.hostname, port: target.port, path: target.pathname } : { socketPath: opts.socketPath, path: opts.path }), method: opts.method ?? 'GET', headers: opts.headers, timeout: 5_000 },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (c: string) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

/**
 * Follows the emulator's mapping events (GET /_podnet/events, NDJSON) and plays the VPC for the instance's ENIs. Each
 * secondary ENI attached to it gets a link, as the kernel shows an attached ENI: `eth<device index>` in the node
 * namespace with the ENI's MAC (ipamd finds ENIs by MAC, spec §3.2), peered with `e<device index>-<netns>` in the
 * sandbox's root namespace, which holds the subnet's router address. And the root namespace delivers each secondary
 * address of an ENI to that ENI, through the ENI's primary address (as the VPC knows which ENI holds which address),
 * so answers reach pods over the ENI their address belongs to. A detached or deleted ENI's link and routes go away.
 * Failures go to `log`.
 */
function followEniLinks(ec2Url: string, instanceId: string, ns: string, log: string): { close(): void } {
  const primaryLink = `vpc-${ns.slice(-10)}`;
  const linked = new Map<string, { link: string; routed: Set<string> }>(); // ENI id → its root-namespace link, routed addresses
  let queue = Promise.resolve();
  const change = (what: string, lines: string[]) => {
    if (lines.length === 0) return;
    queue = queue.then(() => run(['ip', '-force', '-batch', '-'], { input: lines.join('\n') })).then(
      () => appendFileSync(log, `${what}\n`),
      (err: unknown) => appendFileSync(log, `${what} failed: ${(err as Error).message}\n`),
    );
  };
  const follow = (eni: EniMapping) => {
    const device = eni.instanceId === instanceId ? eni.deviceIndex : null;
    if (device === null) return forget(eni.eniId);
    const lines: string[] = [];
    let known = linked.get(eni.eniId);
    if (!known) {
      known = { link: device === 0 ? primaryLink : `e${device}-${ns.slice(-10)}`, routed: new Set() };
      linked.set(eni.eniId, known);
      if (device >= 1) lines.push(`link add ${known.link} mtu 9001 type veth peer name eth${device} address ${eni.mac} netns ${ns}`, `link set ${known.link} up`);
    }
    const [primaryIp, ...secondary] = eni.privateIps;
    for (const ip of secondary) if (!known.routed.has(ip)) lines.push(`route replace ${ip}/32 via ${primaryIp} dev ${known.link} onlink`);
    for (const ip of known.routed) if (!secondary.includes(ip)) lines.push(`route del ${ip}/32 dev ${known.link}`);
    known.routed = new Set(secondary);
    change(`${eni.eniId}: eth${device} ${eni.mac}, ${secondary.length} secondary addresses`, lines);
  };
  const forget = (eniId: string) => {
    const known = linked.get(eniId);
    if (!known) return;
    linked.delete(eniId);
    // deleting the link takes its routes along; the primary ENI's link stays with the node
    change(`${eniId}: detached`, known.link === primaryLink ? [...known.routed].map((ip) => `route del ${ip}/32 dev ${known.link}`) : [`link del ${known.link}`]);
  };
  const onEvent = (e: MappingEvent) => {
    if (e.type === 'snapshot') e.enis.forEach(follow);
    else if (e.type === 'eni') follow(e.eni);
    else if (e.type === 'eni-deleted') forget(e.eniId);
  };
  const req = request(`${ec2Url}/_podnet/events`, (res) => {
    let pending = '';
    res.setEncoding('utf8').on('data', (chunk: string) => {
      const lines = (pending + chunk).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) onEvent(JSON.parse(line) as MappingEvent);
    });
  });
  req.on('error', (err) => appendFileSync(log, `events: ${err.message}\n`));
  req.end();
  return { close: () => req.destroy() };
}

/** Brings the node up: emulator, node namespace wired as its instance, CNI installed, ipamd ready on its socket. */
export async function startPodnetNode(o: PodnetNodeOptions): Promise<PodnetNode> {
  const daemons: Daemon[] = [];
  const ns = o.netns;
  let eniLinks: { close(): void } | undefined;
  const stop = async () => {
    eniLinks?.close();
    for (const d of daemons.reverse()) await stopDaemon(d);
    await run(['ip', 'netns', 'del', ns]).catch(() => {});
  };
  try {
    // the node's eth0 faces the sandbox's root namespace, which plays the VPC (router address .1 of the subnet)
    await run(['ip', '-batch', '-'], { input: [`netns add ${ns}`, `link add vpc-${ns.slice(-10)} type veth peer name eth0 netns ${ns}`].join('\n') });
    const rootLink = `vpc-${ns.slice(-10)}`;
    await run(['ip', '-batch', '-'], { input: [`addr add ${ROUTER_IP}/24 dev ${rootLink}`, `link set ${rootLink} up`].join('\n') });

    const topology = join(o.dir, 'topology.yaml');
    writeFileSync(topology, [
      'vpcs: [{ name: main, cidr: 10.0.0.0/16 }]',
      `subnets: [{ name: nodes, vpc: main, az: us-west-2a, cidr: ${SUBNET} }]`,
      'securityGroups: [{ name: nodes, vpc: main, description: nodes }]',
      `instances: [{ name: node-1, type: ${o.instanceType}, subnet: nodes, securityGroups: [nodes] }]`,
      '',
    ].join('\n'));
    const ec2Log = join(o.dir, 'ec2.log');
    const credentials = { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_REGION: 'us-west-2' };
    const ec2 = startDaemon(
      podnetArgv('ec2', 'serve', '--listen', `${ROUTER_IP}:${EC2_PORT}`, '--imds-listen', `${ROUTER_IP}:${IMDS_PORT}`, '--allow-non-loopback', '--no-throttle', '--topology', topology, '--json'),
      ec2Log,
      { ...process.env, ...credentials },
    );
    daemons.push(ec2);
    const served = await waitFor('podnet ec2 serve to print its endpoints', 60_000, () => {
      if (ec2.child.exitCode !== null) throw new Error(`podnet ec2 serve exited ${ec2.child.exitCode}:\n${tail(ec2Log)}`);
      const line = existsSync(ec2Log) ? readFileSync(ec2Log, 'utf8').split('\n').find((l) => l.startsWith('{')) : undefined;
      return line ? (JSON.parse(line) as { ec2Url: string; imdsUrl: string; instances: Array<{ name: string; id: string }> }) : undefined;
    });
    const instanceId = served.instances.find((i) => i.name === 'node-1')?.id;
    if (!instanceId) throw new Error(`podnet ec2 serve reported no node-1 instance: ${JSON.stringify(served.instances)}`);
    const imdsEndpoint = `${served.imdsUrl}/${instanceId}`;
    if (o.eniLinks) eniLinks = followEniLinks(served.ec2Url, instanceId, ns, join(o.dir, 'eni-links.log'));

    // the node's eth0 is the instance's primary ENI: ipamd finds ENIs by MAC (IMDS), the node answers on its IP
    // (an IMDS token is valid for the instance it was issued for, so it is asked for through the node's endpoint)
    const token = (await http({ url: `${imdsEndpoint}/latest/api/token`, method: 'PUT', headers: { 'X-aws-ec2-metadata-token-ttl-seconds': '60' } })).text;
    const meta = async (key: string) => (await http({ url: `${imdsEndpoint}/latest/meta-data/${key}`, headers: { 'X-aws-ec2-metadata-token': token } })).text.trim();
    const mac = await meta('mac');
    const nodeIp = await meta('local-ipv4');
    await run(['ip', '-n', ns, '-batch', '-'], {
      input: ['link set lo up', `link set eth0 address ${mac}`, `addr add ${nodeIp}/24 dev eth0`, 'link set eth0 up', `route add default via ${ROUTER_IP} dev eth0`].join('\n'),
    });
    // a Kubernetes node forwards (the node image and kubelet set it; ipamd does not): hostPort DNAT to a pod needs it
    await run(['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'], { netns: ns });

    const binDir = join(o.dir, 'cni', 'bin');
    const confDir = join(o.dir, 'cni', 'net.d');
    const socket = join(o.dir, 'ipamd.sock');
    mkdirSync(binDir, { recursive: true });
    // the VPC CNI variables shape both the conflist (`podnet cni install`) and ipamd
    const cniEnv = { AWS_VPC_K8S_PLUGIN_LOG_FILE: join(o.dir, 'plugin.log'), ...o.ipamdEnv };
    await run(podnetArgv('cni', 'install', '--bin-dir', binDir, '--conf-dir', confDir, '--socket', socket), { env: { ...process.env, ...cniEnv } });
    const conflist = JSON.parse(readFileSync(join(confDir, '10-aws.conflist'), 'utf8')) as PodnetNode['conflist'];

    const ipamdLog = join(o.dir, 'ipamd.log');
    const startIpamd = () => startDaemon(['ip', 'netns', 'exec', ns, ...podnetArgv('ipamd')], join(o.dir, 'ipamd.out'), {
      ...process.env,
      ...credentials,
      // explicit endpoints: the in-sandbox emulator, never AWS's defaults
      AWS_ENDPOINT_URL_EC2: served.ec2Url,
      AWS_EC2_METADATA_SERVICE_ENDPOINT: imdsEndpoint,
      PODNET_CNI_SOCKET: socket,
      AWS_VPC_K8S_CNI_BACKING_STORE: join(o.dir, 'ipam.json'),
      AWS_VPC_K8S_CNI_LOG_FILE: ipamdLog,
      INTROSPECTION_BIND_ADDRESS: INTROSPECTION,
      PODNET_METRICS_BIND_ADDRESS: '127.0.0.1:61678',
      PODNET_POOL_INTERVAL_MS: '100',
      ...cniEnv,
    });
    let ipamd = startIpamd();
    daemons.push(ipamd);
    const logTail = () => [join(o.dir, 'ipamd.out'), ipamdLog, join(o.dir, 'eni-links.log')].map(tail).filter(Boolean).join('\n');
    await waitFor('ipamd to answer ready on its CNI socket', 60_000, async () => {
      if (ipamd.child.exitCode !== null) throw new Error(`podnet ipamd exited ${ipamd.child.exitCode}:\n${logTail()}`);
      if (!existsSync(socket)) return undefined;
      const r = await http({ socketPath: socket, path: '/ready' }).catch(() => undefined);
      return r?.status === 200 ? true : undefined;
    });

    return {
      netns: ns,
      instanceId,
      nodeIp,
      routerIp: ROUTER_IP,
      binDir,
      conflist,
      socket,
      introspect: async (path) => JSON.parse((await run(['curl', '--silent', '--fail', `http://${INTROSPECTION}${path}`], { netns: ns })).stdout) as unknown,
      logTail,
      killIpamd: async () => {
        if (ipamd.child.exitCode !== null || ipamd.child.signalCode !== null) return;
        process.kill(ipamd.child.pid!, 'SIGKILL');
        await ipamd.exited;
      },
      restartIpamd: async () => {
        if (ipamd.child.exitCode === null && ipamd.child.signalCode === null) throw new Error('ipamd is still running: killIpamd() first');
        ipamd = startIpamd();
        daemons.push(ipamd);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

interface IntrospectedEni {
  ID: string;
  DeviceNumber: number;
  /** 254 (main) for the primary ENI, else the ENI's own table (spec §3.2). */
  RouteTableID: number;
  AvailableIPv4Cidrs: Record<string, { IPAddresses: Record<string, { IPAMKey: { networkName: string }; IPAMMetadata: { k8sPodName?: string } }> }>;
}

/** The ENIs of introspection /v1/enis (spec §6.5), which answers one ENIInfos per network card. */
export function introspectedEnis(enis: unknown): IntrospectedEni[] {
  const cards = Object.values(enis as Record<string, { ENIs: Record<string, IntrospectedEni> }>);
  return cards.flatMap((card) => Object.values(card.ENIs));
}

/**
 * Addresses ipamd holds for pods, from introspection /v1/enis, with the pod name each is held for. Released addresses
 * are listed too, with an empty IPAMKey (upstream's "unassigned"), and are left out.
 */
export function heldAddresses(enis: unknown): Map<string, string> {
  const held = new Map<string, string>();
  for (const eni of introspectedEnis(enis)) {
    for (const cidr of Object.values(eni.AvailableIPv4Cidrs)) {
      for (const [address, a] of Object.entries(cidr.IPAddresses)) if (a.IPAMKey.networkName) held.set(address, a.IPAMMetadata.k8sPodName ?? '');
    }
  }
  return held;
}
