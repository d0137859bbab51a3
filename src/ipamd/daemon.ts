/**
 * `podnet ipamd` as a library: wires cloud access, the node, the CNI socket, introspection and metrics together
 * in upstream's order (spec §0), and takes it all down again on stop (SIGTERM/SIGINT in the CLI).
 */
import { systemClock, type Clock, type Cloud } from '../ipam/index.js';
import { createCniHandler, startCniSocketServer, type CniSocketServer } from '../cni/index.js';
import { kubeConfigSource, loadKubeConfig } from '../k8s/index.js';
import { formatListenAddress, PodnetError, type ListenAddress } from '../lib/index.js';
import { createIpamdBackend } from './backend.js';
import type { Env, PodnetConfig } from '../config/index.js';
import { createEc2Client, resolveCloudEndpoints, type RetrySettings } from './cloud.js';
import { readEniConfigFile } from './eni-config.js';
import { listenAddressSetting, type HttpEndpoint } from './http.js';
import { ImdsClient } from './imds.js';
import { startIntrospection } from './introspection.js';
import { IpamdMetrics, startMetricsEndpoint } from './metrics.js';
import { describeError, type Log } from './log.js';
import { IpamdKube } from './kube.js';
import { IpamdNode } from './node.js';
import { sdkCloud } from './sdk-cloud.js';
import { addressOnlyDataplane, linuxDataplane, type NodeDataplane } from './node-dataplane.js';

export const IPAMD_VERSION = 'podnet-0.1.0';
/** Looks for a new ENI's link, and tries of its setup at init: upstream's count (§3.2 step 1, §4.14 step 4). */
const ENI_SETUP_ATTEMPTS = 5;

export interface StartIpamdOptions {
  /** The process environment: the SDK-standard endpoint and credential variables are read from it. */
  env: Env;
  config: PodnetConfig;
  clock?: Clock;
  log?: Log;
  /** EC2 retry backoff; tests shorten it. */
  retry?: Partial<RetrySettings>;
  /** Replaces the dataplane PODNET_DATAPLANE selects. */
  dataplane?: NodeDataplane;
  /** Longest wait between attempts to reach the Kubernetes API server (default 5 s); tests shorten it. */
  kubeMaxBackoffMs?: number;
}

export interface Ipamd {
  node: IpamdNode;
  metrics: IpamdMetrics;
  /** The SDK cloud ipamd uses (real AWS or the emulator's HTTP endpoint). */
  cloud: Cloud;
  /** The Kubernetes side, when a kubeconfig or the pod's service account was found. */
  kube?: IpamdKube;
  socketPath: string;
  /** Where introspection and metrics listen (with the real port when 0 was asked); undefined when disabled. */
  introspection?: ListenAddress;
  metricsAddress?: ListenAddress;
  stop(): Promise<void>;
}

/**
 * Starts the daemon. The CNI socket and the HTTP endpoints come up first, so a pod that arrives during node init
 * is told "not ready" (upstream opens its gRPC socket only after init and the plugin sees a dial error); then
 * node init (§4.14) and the pool loop. A failed init stops everything again and throws.
 */
export async function startIpamd(o: StartIpamdOptions): Promise<Ipamd> {
  const started = performance.now();
  const log: Log = o.log ?? (() => {});
  const clock = o.clock ?? systemClock;
  const { config } = o;
  const endpoints = resolveCloudEndpoints(o.env);
  const metrics = new IpamdMetrics({ version: config.vpcCniVersion || IPAMD_VERSION });
  const imds = new ImdsClient({ endpoint: endpoints.imdsEndpoint, timeoutMs: config.httpTimeoutSeconds * 1000 });
  const region = endpoints.region ?? (await imds.instanceFacts()).region;
  const ec2 = createEc2Client({ endpoints, region, metrics, env: o.env, retry: o.retry, requestTimeoutMs: config.httpTimeoutSeconds * 1000, version: config.vpcCniVersion });
  const kube = startKube(o, log);
  // with the API server the Node and ENIConfigs come from it; the file is for use without Kubernetes
  if (kube && config.eniConfigFile) log('warn', `PODNET_ENI_CONFIG_FILE=${config.eniConfigFile} is ignored: the Node and ENIConfigs come from the Kubernetes API server`);
  const eniConfigFile = config.eniConfigFile && !kube ? await readEniConfigFile(config.eniConfigFile) : undefined;
  const dataplane = o.dataplane ?? (config.dataplane === 'none' ? addressOnlyDataplane() : linuxDataplane(config));
  const cloud = sdkCloud(ec2);
  const node = new IpamdNode({
    config, cloud, imds, metrics, clock, dataplane, log, leakedEniIntervalMs: config.leakedEniIntervalMs, leakedEniMinAgeMs: config.leakedEniMinAgeMs,
    eniSetupRetry: { linkAttempts: ENI_SETUP_ATTEMPTS, linkIntervalMs: config.eniLinkRetryMs, setupAttempts: ENI_SETUP_ATTEMPTS, setupIntervalMs: config.eniSetupRetryMs },
    ...(eniConfigFile && { eniConfigFile }),
    ...(kube && { kube }),
  });
  kube?.onChange(() => void node.nodeObjectsChanged().catch((err: unknown) => log('error', `custom networking: ${describeError(err)}`)));

  const closers: (() => Promise<void>)[] = [async () => ec2.destroy(), ...(kube ? [() => kube.stop()] : [])];
  const closeAll = async () => {
    for (const close of closers.reverse()) await close().catch((err: unknown) => log('warn', `shutdown: ${describeError(err)}`));
  };
  let socket: CniSocketServer | undefined;
  let introspection: HttpEndpoint | undefined;
  let metricsEndpoint: HttpEndpoint | undefined;
  try {
    if (!config.disableMetrics) {
      metricsEndpoint = await startMetricsEndpoint(listenAddressSetting(config.metricsBindAddress, 'PODNET_METRICS_BIND_ADDRESS'), metrics);
      closers.push(() => metricsEndpoint!.close());
    }
    if (!config.disableIntrospection) {
      const bind = listenAddressSetting(config.introspectionBindAddress, 'INTROSPECTION_BIND_ADDRESS');
      introspection = await startIntrospection(bind, {
        config,
        datastores: () => new Map([[0, node.datastore]]),
        eniConfigName: () => node.eniConfigName(),
        nowMs: () => clock.now(),
        ...(kube && { kubernetes: () => kube.status() }),
      }, () => {});
      closers.push(() => introspection!.close());
    }
    const backend = createIpamdBackend(node, dataplane, kube && { kube, annotatePodIp: config.annotatePodIp });
    socket = await startCniSocketServer(config.cniSocket, createCniHandler(backend, { log: (line) => log('warn', line) }), { status: () => backend.status() });
    closers.push(() => socket!.close());

    // no API server yet: the CNI socket answers not-ready with the reason, and the informers keep trying (never exits)
    if (kube) await kube.ready();
    const initStarted = performance.now();
    try {
      await metrics.track('nodeInit', () => node.init());
      metrics.nodeInitDuration.observe({ success: 'true' }, (performance.now() - initStarted) / 1000);
    } catch (err) {
      metrics.nodeInitDuration.observe({ success: 'false' }, (performance.now() - initStarted) / 1000);
      throw err;
    }
    node.start();
    kube?.serve();
    metrics.startupDuration.observe({ success: 'true', with_api_server: String(kube !== undefined), failure_reason: '' }, (performance.now() - started) / 1000);
    log('info', `listening: CNI ${socket.path}${introspection ? `, introspection ${formatListenAddress(introspection.address)}` : ''}${metricsEndpoint ? `, metrics ${formatListenAddress(metricsEndpoint.address)}/metrics` : ''}`);
  } catch (err) {
    await node.stop().catch(() => undefined);
    await closeAll();
    throw err;
  }

  let stopping: Promise<void> | undefined;
  return {
    node,
    metrics,
    cloud,
    ...(kube && { kube }),
    socketPath: socket.path,
    ...(introspection && { introspection: introspection.address }),
    ...(metricsEndpoint && { metricsAddress: metricsEndpoint.address }),
    stop() {
      stopping ??= (async () => {
        await node.stop();
        await closeAll();
      })();
      return stopping;
    },
  };
}

/**
 * The Kubernetes side when the environment names a cluster (KUBECONFIG, or KUBERNETES_SERVICE_HOST/_PORT in a pod),
 * started at once so that it is trying to reach the API server while the rest starts.
 */
function startKube(o: StartIpamdOptions, log: Log): IpamdKube | undefined {
  if (!kubeConfigSource({ env: o.env })) return undefined;
  const nodeName = o.config.myNodeName;
  if (!nodeName) {
    throw new PodnetError('CONFIG_INVALID', 'MY_NODE_NAME is empty: with a Kubernetes API server ipamd reads its own Node by that name',
      'set MY_NODE_NAME from the downward API (env valueFrom fieldRef spec.nodeName), as deploy/\'s DaemonSet does; or unset KUBECONFIG to run without Kubernetes');
  }
  const kube = new IpamdKube({ kc: loadKubeConfig({ env: o.env }), nodeName, config: o.config, log, ...(o.kubeMaxBackoffMs !== undefined && { maxBackoffMs: o.kubeMaxBackoffMs }) });
  kube.start();
  return kube;
}
