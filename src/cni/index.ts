/**
 * The CNI side of podnet: the protocol (request parsing, result versions, error codes), the handler ipamd hosts on
 * its unix socket, the socket server, the fallback plugin the launcher (bin/podnet-cni) runs when ipamd is
 * unreachable, and `podnet cni install` with its conflist options from the VPC CNI's settings. Holds no state
 * between calls.
 */
export {
  supportedVersions,
  type CniVersion,
  type CniCommand,
  type CniErrorResult,
} from './spec.js';
export {
  parseCniRequest,
  cniEnv,
  defaultIpamdSocket,
  type CniEnv,
  type CniEnvName,
  type CniRequest,
  type ParsedRequest,
  type AttachmentRequest,
  type VersionRequest,
  type StatusRequest,
  type GcRequest,
  type PodnetNetConf,
} from './request.js';
export {
  formatResult,
  parsePrevResult,
  recordedAttachment,
  type PodAttachment,
  type PrevResult,
  type RecordedAttachment,
  type CniInterface,
  type CniIpConfig,
} from './result.js';
export {
  createCniHandler,
  type CniBackend,
  type CniHandler,
  type CniHandlerOptions,
  type CniCall,
  type CniAnswer,
  type AttachmentKey,
  type PodIdentity,
  type Allocation,
  type HeldAttachment,
  type PodWiring,
  type VethOwner,
  type PodTeardown,
  type BranchAllocation,
  type BranchWiring,
  type BranchTeardown,
  type BackendStatus,
} from './handler.js';
export { launcherRequestBody, startCniSocketServer, type CniSocketServer, type CniSocketServerOptions } from './server.js';
export { runFallbackPlugin, runFallbackPluginProcess, unreachableReason } from './plugin.js';
export {
  installCni,
  installCniUndoable,
  renderConflist,
  type ConflistOptions,
  type InstallOptions,
  type InstallResult,
  type UndoableInstall,
} from './install.js';
export { installSettings, type InstallSettings, type ToleratedVariable } from './settings.js';
