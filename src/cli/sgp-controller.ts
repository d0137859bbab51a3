import { Command, InvalidArgumentError, Option } from 'commander';
import { constants as osConstants } from 'node:os';
import { PodnetError, type TcpListenAddress } from '../lib/index.js';
import { formatTable } from './output.js';
import { positiveInt, tcpListenAddress } from './parse.js';

const DEFAULT_WEBHOOK_LISTEN = '127.0.0.1:9443';
const listenAddress = tcpListenAddress(DEFAULT_WEBHOOK_LISTEN);

function seconds(value: string): number {
  if (!/^\d+(\.\d+)?$/.test(value.trim())) throw new InvalidArgumentError(`expected seconds (e.g. 60 or 0.5), got '${value}'`);
  return Number(value);
}

interface Options {
  kubeconfig?: string;
  ec2Endpoint?: string;
  region?: string;
  cluster: string;
  webhookListen: TcpListenAddress;
  webhookUrl?: string;
  webhookServerName?: string[];
  webhook: boolean;
  branchCooldown: number;
  ec2Qps: number;
  ec2Burst: number;
  gcInterval: number;
  json?: boolean;
}

async function run(opts: Options): Promise<void> {
  const env = process.env;
  const region = opts.region ?? env.AWS_REGION ?? env.AWS_DEFAULT_REGION;
  if (!region) throw new PodnetError('USAGE', 'no AWS region: give --region or set AWS_REGION', 'e.g. --region us-west-2 (the lab\'s emulator answers any region)');
  const endpoint = opts.ec2Endpoint ?? env.AWS_ENDPOINT_URL_EC2;
  // explicit keys when the environment has them; otherwise the SDK's chain (instance role, IRSA) on a real cluster
  const credentials = env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY
    ? { accessKeyId: env.AWS_ACCESS_KEY_ID, secretAccessKey: env.AWS_SECRET_ACCESS_KEY, ...(env.AWS_SESSION_TOKEN && { sessionToken: env.AWS_SESSION_TOKEN }) }
    : undefined;
  const [{ loadKubeConfig }, { startSgpController }, { pino }] = await Promise.all([import('../k8s/index.js'), import('../sgp-controller/index.js'), import('pino')]);
  const kc = loadKubeConfig({ kubeconfig: opts.kubeconfig });
  // log lines as JSON on stderr (as ipamd's), synchronous so a kill -9 loses none
  const logger = pino({ base: undefined, timestamp: pino.stdTimeFunctions.isoTime }, pino.destination({ dest: 2, sync: true }));
  const log = (level: 'info' | 'warn' | 'error', message: string) => logger[level](message);

  let stop: ((s: NodeJS.Signals) => void) | undefined;
  const onSignal = (signal: NodeJS.Signals) => (stop ? stop(signal) : process.exit(128 + osConstants.signals[signal]));
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  const controller = await startSgpController({
    kc,
    ec2: { endpoint, region, credentials },
    cluster: opts.cluster,
    webhook: opts.webhook ? { listen: opts.webhookListen, url: opts.webhookUrl, serverNames: opts.webhookServerName } : false,
    branchCooldownMs: opts.branchCooldown * 1000,
    rateLimit: { qps: opts.ec2Qps, burst: opts.ec2Burst },
    gcIntervalMs: opts.gcInterval * 1000,
    log,
  });
  const banner = {
    webhookUrl: controller.webhookUrl ?? null,
    validateUrl: controller.validateUrl ?? null,
    podEniWriter: controller.identity ?? null,
    ec2Endpoint: endpoint ?? null,
    region,
    cluster: opts.cluster,
    branchCooldownSeconds: opts.branchCooldown,
    rateLimit: { qps: opts.ec2Qps, burst: opts.ec2Burst },
    pid: process.pid,
  };
  if (opts.json) process.stdout.write(JSON.stringify(banner) + '\n');
  else {
    process.stdout.write(`podnet sgp-controller (cluster ${opts.cluster}, pid ${process.pid})\n` + formatTable(['what', 'value'], [
      ['webhook', banner.webhookUrl ?? 'off'],
      ['validating webhook', banner.validateUrl ? `${banner.validateUrl} (only ${banner.podEniWriter} may write vpc.amazonaws.com/pod-eni)` : 'off'],
      ['EC2', endpoint ?? `AWS (${region})`],
      ['branch cooldown', `${opts.branchCooldown} s`],
      ['EC2 rate limit', `${opts.ec2Qps}/s, burst ${opts.ec2Burst}`],
    ]));
  }
  const signal = await new Promise<NodeJS.Signals>((resolve) => (stop = resolve));
  log('info', `${signal}: stopping (branches of deleted pods still in their cooldown are left to the next start's collector)`);
  await controller.stop();
  log('info', 'stopped');
}

export function registerSgpController(program: Command): void {
  program
    .command('sgp-controller')
    .description("security groups for pods, the VPC resource controller's part: trunk ENIs, branch ENIs, the pod webhook (foreground until SIGINT/SIGTERM)")
    .option('--kubeconfig <file>', 'the cluster (default: KUBECONFIG, then the pod\'s service account)')
    .option('--ec2-endpoint <url>', 'EC2 endpoint (default: AWS_ENDPOINT_URL_EC2, else AWS\'s for the region)')
    .option('--region <region>', 'AWS region (default: AWS_REGION)')
    .option('--cluster <name>', 'names this controller\'s ENIs (tag podnet.io/sgp-controller-cluster) for the leaked-branch collector', 'podnet')
    .addOption(new Option('--webhook-listen <host:port>', 'HTTPS address of the pod webhooks (mutating, and validating the pod-eni annotation)').argParser(listenAddress).default(listenAddress(DEFAULT_WEBHOOK_LISTEN), DEFAULT_WEBHOOK_LISTEN))
    .option('--webhook-url <url>', 'the URL the API server calls the webhook at (default https://<webhook-listen>)')
    .option('--webhook-server-name <name...>', 'more DNS names or addresses for the webhook\'s certificate')
    .option('--no-webhook', 'serve no webhooks (pods must request vpc.amazonaws.com/pod-eni themselves, and nothing guards the pod-eni annotation)')
    .option('--branch-cooldown <seconds>', 'wait before a deleted pod\'s branch ENI is released', seconds, 60)
    .option('--ec2-qps <n>', 'EC2 calls per second (client-side token bucket)', positiveInt, 12)
    .option('--ec2-burst <n>', 'EC2 calls that may go at once', positiveInt, 18)
    .option('--gc-interval <seconds>', 'how often the leaked-branch collector runs (also at start)', seconds, 300)
    .option('--json', 'print the banner as one JSON line')
    .action(async (opts: Options) => run(opts));
}
