import { Command, InvalidArgumentError, Option } from 'commander';
import type { FaultConfig, TopologyApplyResult } from '../ec2/index.js';
import { PodnetError, checkCreatablePath, formatListenAddress, readUserFile, usageError, type TcpListenAddress } from '../lib/index.js';
import { isAddressText } from '../net/index.js';
import { formatTable } from './output.js';
import { stopSignal } from './signals.js';
import { isLoopbackHost, tcpListenAddress } from './parse.js';

const DEFAULT_EC2_LISTEN = '127.0.0.1:7311';
const DEFAULT_IMDS_LISTEN = '127.0.0.1:7312';

/** The emulator's endpoints are HTTP over TCP. */
const listenAddress = tcpListenAddress(DEFAULT_EC2_LISTEN);

/** The VPC DNS's address is an IP address: its VPC is the one whose CIDR holds it. */
function dnsListenAddress(value: string): TcpListenAddress {
  const at = tcpListenAddress('10.0.0.2:53')(value);
  if (!isAddressText(at.host)) throw new InvalidArgumentError(`expected an IP address and a port (e.g. 10.0.0.2:53, the VPC base + 2), got '${value}'`);
  return at;
}

function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(n)) throw new InvalidArgumentError(`expected milliseconds, an integer ≥ 0, got '${value}'`);
  return n;
}

function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a number > 0, got '${value}'`);
  return n;
}


/** --faults takes inline JSON or a JSON/YAML file. */
async function readFaults(value: string): Promise<FaultConfig> {
  if (value.trim().startsWith('{')) {
    try {
      return JSON.parse(value) as FaultConfig;
    } catch (err) {
      throw usageError(`--faults is not valid JSON: ${(err as Error).message}`, `e.g. --faults '{"seed":1,"actions":{"AssignPrivateIpAddresses":{"errorRate":0.2}}}'`);
    }
  }
  const text = readUserFile(value, '--faults file', 'pass inline JSON starting with { or a readable JSON/YAML file');
  const { parse: parseYaml } = await import('yaml');
  try {
    return parseYaml(text) as FaultConfig;
  } catch (err) {
    throw new PodnetError('CONFIG_INVALID', `--faults file ${value} is not valid JSON or YAML: ${(err as Error).message}`, 'fix the syntax at the position named above');
  }
}

interface ServeOptions {
  listen: TcpListenAddress;
  imdsListen: TcpListenAddress;
  db?: string;
  topology?: string;
  region?: string;
  throttle: boolean;
  throttleScale?: number;
  faults?: string;
  imdsV1?: boolean;
  allowNonLoopback?: boolean;
  json?: boolean;
  /** --dns-listen, repeatable: the VPC DNS (AmazonProvidedDNS) */
  dnsListen: TcpListenAddress[];
  /** --eks-certificate-authority: the PEM DescribeCluster gives as certificateAuthority.data */
  eksCertificateAuthority?: string;
  /** --eks-delay: how long EKS's asynchronous work takes here (ms) */
  eksDelay?: number;
}

async function serve(opts: ServeOptions): Promise<void> {
  for (const [flag, address] of [['--listen', opts.listen], ['--imds-listen', opts.imdsListen], ...opts.dnsListen.map((a) => ['--dns-listen', a] as const)] as const) {
    if (!isLoopbackHost(address.host) && !opts.allowNonLoopback) {
      throw usageError(`${flag} ${address.host} is not a loopback address`, 'the emulator listens on loopback by default; add --allow-non-loopback to bind elsewhere (e.g. inside a lab namespace)');
    }
  }
  // SQLite creates the file, never its directory: a path under a missing directory is a usage error, said at once
  if (opts.db) checkCreatablePath(opts.db, '--db', 'file');
  // the emulator and the AWS SDK load only here, so the rest of the CLI starts without them
  const [{ EC2Client }, { applyTopology, startEc2Server }, { isRegionName, loadTopology, topologyRegion, DEFAULT_REGION }] = await Promise.all([import('@aws-sdk/client-ec2'), import('../ec2/index.js'), import('../vpc/index.js')]);
  // the region is printed into `export AWS_REGION=…` lines a user pastes into a shell: only a region name gets there
  if (opts.region !== undefined && !isRegionName(opts.region)) {
    throw usageError(`--region ${JSON.stringify(opts.region)} is not a region name`, 'give a region as AWS spells it, e.g. us-west-2, eu-west-1 or us-gov-west-1 (not a zone such as us-west-2a)');
  }
  const topology = opts.topology ? await loadTopology(opts.topology) : undefined;
  // as in the lab, the zones the topology names say the region unless --region does; a --region that disagrees
  // with them is refused here, before anything starts, rather than by EC2 refusing each subnet's zone
  const zonesRegion = topology && topology.subnets.length > 0 ? topologyRegion(topology) : undefined;
  if (opts.region !== undefined && zonesRegion !== undefined && opts.region !== zonesRegion) {
    throw usageError(
      `--region ${opts.region} disagrees with the zones of --topology ${opts.topology}: its subnets are in ${zonesRegion} (${topology!.subnets[0]!.az}), and one emulator answers for one region`,
      `drop --region (the topology's zones give ${zonesRegion}), or put the subnets in zones of ${opts.region}`,
    );
  }
  const region = opts.region ?? zonesRegion ?? DEFAULT_REGION;
  const faults = opts.faults ? await readFaults(opts.faults) : undefined;
  // read at each DescribeCluster (the lab writes it once its API server is up); a missing file is said at once
  if (opts.eksCertificateAuthority !== undefined) readUserFile(opts.eksCertificateAuthority, '--eks-certificate-authority', 'give a readable PEM file: the CA of the API server behind the cluster endpoint');
  const server = await startEc2Server({
    listen: opts.listen,
    imdsListen: opts.imdsListen,
    dbPath: opts.db,
    region,
    throttle: opts.throttle ? { scale: opts.throttleScale } : false,
    faults,
    imds: { v1Allowed: opts.imdsV1 === true },
    eks: { certificateAuthorityFile: opts.eksCertificateAuthority, delayMs: opts.eksDelay },
  }).catch((err: unknown) => {
    // SQLite refusing the file (not a database, no permission) is about the file the user named, not a bug
    if (!String((err as { code?: unknown }).code).startsWith('SQLITE_')) throw err;
    throw new PodnetError('FAILED', `cannot use --db ${opts.db}: ${(err as Error).message}`, 'give --db a new file, or one an earlier podnet ec2 serve --db wrote', { cause: err });
  });
  let applied: TopologyApplyResult | undefined;
  try {
    if (topology) {
      // One code path: the topology goes through the EC2 API like any client's calls.
      const client = new EC2Client({ endpoint: server.ec2Url, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
      // a cluster section goes through the EKS API at the same endpoint (its SDK loads only then)
      const eks = topology.cluster
        ? new (await import('@aws-sdk/client-eks')).EKSClient({ endpoint: server.ec2Url, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' } })
        : undefined;
      try {
        applied = await applyTopology(topology, client, { eks });
      } finally {
        client.destroy();
        eks?.destroy();
      }
    }
  } catch (err) {
    await server.close();
    throw err;
  }
  // the resolver reads the state at each query, so VPCs the topology (or a client) creates later are answered for
  const { startVpcDns, ec2DnsSource } = await import('../ec2/index.js');
  const dns =
    opts.dnsListen.length === 0
      ? undefined
      : await startVpcDns({ listen: opts.dnsListen, source: ec2DnsSource(server.state, { serviceAddress: opts.listen.host }) }).catch(async (err: unknown) => {
          await server.close();
          throw err;
        });
  const dnsListeners = (dns?.listeners ?? []).map((l) => formatListenAddress(l));

  const stopped = stopSignal();

  // What the SDKs and both AWS CLIs read: the JS/Go SDKs and CLI v2 take AWS_REGION, CLI v1 only AWS_DEFAULT_REGION;
  // every client signs its requests, so it needs some credentials (the emulator checks none).
  const env = {
    AWS_ENDPOINT_URL_EC2: server.ec2Url,
    // the EKS API is served on the same port, by path
    AWS_ENDPOINT_URL_EKS: server.ec2Url,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: server.imdsUrl,
    AWS_REGION: region,
    AWS_DEFAULT_REGION: region,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
  };
  const instances = Object.entries(applied?.ids.instances ?? {}).map(([name, id]) => ({ name, id, imdsEndpoint: `${server.imdsUrl}/${id}` }));
  if (opts.json) {
    process.stdout.write(
      JSON.stringify({ ec2Url: server.ec2Url, imdsUrl: server.imdsUrl, dns: dnsListeners, region, db: opts.db ?? ':memory:', throttle: opts.throttle, env, instances, topology: applied?.changes ?? [] }) + '\n',
    );
  } else {
    const throttle = opts.throttle ? `on (AWS defaults × ${opts.throttleScale ?? 1})` : 'off';
    let out = `podnet ec2 emulator (region ${region}, db ${opts.db ?? ':memory:'}, throttling ${throttle}, IMDSv1 ${opts.imdsV1 ? 'allowed' : 'refused'})\n`;
    out += formatTable(['endpoint', 'url'], [['EC2', server.ec2Url], ['EKS', server.ec2Url], ['IMDS', server.imdsUrl], ['events', `${server.ec2Url}/_podnet/events`], ...dnsListeners.map((l) => ['VPC DNS', `${l} (UDP, TCP)`])]);
    if (applied) {
      const counts = (['created', 'updated', 'unchanged'] as const).map((c) => `${applied!.changes.filter((x) => x.change === c).length} ${c}`);
      out += `\ntopology ${opts.topology}: ${counts.join(', ')}\n`;
    }
    if (instances.length > 0) out += '\n' + formatTable(['instance', 'id', 'imds endpoint'], instances.map((i) => [i.name, i.id, i.imdsEndpoint]));
    out += '\npoint a client at it:\n' + Object.entries(env).map(([k, v]) => `  export ${k}=${v}`).join('\n') + '\n';
    // AWS_ENDPOINT_URL_EC2 arrived in AWS CLI 1.29 / 2.13 (2023): an older CLI, such as Debian 12's awscli, ignores it
    // and would call the real EC2, so the banner shows the flag every version takes
    out += `  aws ec2 describe-vpcs --endpoint-url ${server.ec2Url}   (an AWS CLI before 1.29/2.13 reads no AWS_ENDPOINT_URL_EC2)\n`;
    out += `  aws eks list-clusters --endpoint-url ${server.ec2Url}   (the EKS API; outside a lab nothing serves the cluster endpoints it describes)\n`;
    out += '  (IMDS answers for the instance that holds the caller\'s address; from loopback use the endpoint with an instance ID: <imds url>/<instance-id>)\n';
    process.stdout.write(out);
  }

  await stopped;
  await dns?.close();
  await server.close();
  if (!opts.json) process.stdout.write('podnet ec2 emulator stopped\n');
}

export function registerEc2(program: Command): void {
  const ec2 = program.command('ec2').description('the EC2 + IMDS emulator');
  ec2
    .command('serve')
    .description('run the EC2 Query API and IMDS emulator in the foreground until SIGINT/SIGTERM')
    // defaults are described as a user types them; commander would print the parsed value as JSON
    .addOption(new Option('--listen <host:port>', 'EC2 endpoint address').argParser(listenAddress).default(listenAddress(DEFAULT_EC2_LISTEN), DEFAULT_EC2_LISTEN))
    .addOption(new Option('--imds-listen <host:port>', 'IMDS endpoint address').argParser(listenAddress).default(listenAddress(DEFAULT_IMDS_LISTEN), DEFAULT_IMDS_LISTEN))
    .option('--db <file>', 'SQLite file that keeps the state across restarts (default: in memory)')
    .option('--topology <file.yaml>', 'create the VPCs, subnets, gateways and instances this file declares (idempotent)')
    .option('--region <region>', "region the emulator reports (default: the region of the --topology file's zones, else us-west-2); with --topology it must be its zones' region")
    .option('--no-throttle', "turn off AWS's request token buckets")
    .option('--throttle-scale <n>', 'multiply every token bucket size and refill rate by n', positiveNumber)
    .option('--faults <json|file>', 'fault injection: {"seed":N,"actions":{"<Action>|*":{"latencyMs":N,"errorRate":0..1,"errorCode":"..."}}}')
    .option('--imds-v1', 'also answer IMDS GETs without a session token (IMDSv1)')
    .addOption(
      new Option('--dns-listen <host:port>', 'also serve the VPC DNS (AmazonProvidedDNS) here, over UDP and TCP, for the VPC whose CIDR holds the address (repeatable; e.g. 10.0.0.2:53)')
        .argParser((value: string, previous: TcpListenAddress[]) => [...previous, dnsListenAddress(value)])
        .default([], 'none'),
    )
    .option('--eks-certificate-authority <file.pem>', "the certificate authority EKS's DescribeCluster gives (certificateAuthority.data), read at each call (default: one the emulator makes per cluster)")
    .option('--eks-delay <ms>', 'how long a cluster stays CREATING, an update InProgress, a Fargate profile CREATING or DELETING (default: 1500; 0: at once)', nonNegativeInt)
    .option('--allow-non-loopback', 'allow listening on addresses other than loopback')
    .option('--json', 'print the endpoints as one JSON line')
    .action(async (opts: ServeOptions) => serve(opts));
}
