/**
 * `podnet explain`: what address a pod's traffic carries, whether it arrives, and why — static path analysis over the
 * VPC model (src/vpc) and the very rules dataplane renders for each node. It reads a `World` (built by the source's
 * reader: the lab, a scenario offline, an AWS account) and touches nothing.
 */
export type { World, NodeView, NodeSettings, Endpoint, EndpointKind, AttachedEni } from './world.js';
export { nodeSettingsOf, clusterEndpoints, clusterEndpointName } from './world.js';
export type { Explanation, ExplainHop, ExplainQuery, ExplainVerdict, ExplainProtocol, ExplainElement, PacketHeader, SourcePortClass } from './explanation.js';
export { explainFlow } from './engine.js';
export { resolveEndpoint } from './resolve.js';
export { formatExplanation } from './format.js';
export { EXPLAIN_CODES, type ExplainCode } from './codes.js';
