/**
 * ipamd: the node daemon around the ipam core (src/ipam): node start-up and reconcile, IMDS, the EC2 client, the
 * CNI backend, the node's dataplane calls, introspection, metrics, ENIConfig, subnet choice, leaked-ENI collection.
 */
export { startIpamd, type Ipamd, type StartIpamdOptions } from './daemon.js';
export {
  resolveCloudEndpoints,
  resolveImdsEndpoint,
  createEc2Client,
  BackoffRetryStrategy,
  type CloudEndpoints,
  type RetrySettings,
} from './cloud.js';
export { sdkCloud } from './sdk-cloud.js';
export { ImdsClient, type ImdsEni, type ImdsInstanceFacts } from './imds.js';
export { IpamdNode } from './node.js';
export { type PodAddress } from './pod-addresses.js';
export { diffReconcile, enisToDescribe, type ReconcileAction, type ReconcileInput } from './reconcile.js';
export { type Log, type LogLevel } from './log.js';
export { createIpamdBackend } from './backend.js';
export { addressOnlyDataplane, type NodeDataplane } from './node-dataplane.js';
export { IpamdMetrics } from './metrics.js';
export { listenAddressSetting } from './http.js';
export { parseEniConfigFile, nodeEniConfigName, selectEniConfig, type EniConfig, type EniConfigFile, type NodeFacts } from './eni-config.js';
export { rankEniSubnets, type SubnetFacts } from './subnets.js';
