export { PodnetError, usageError, type ErrorCode } from './errors.js';
export { run, onPath, ExecError, netnsArgv, netnsName, isNetnsName, classifyNotFound, NETNS_RUN_DIR, type Netns, type NotFound, type RunOptions, type RunResult } from './exec.js';
export { nearestNames } from './nearest.js';
export { undoOnFailure } from './undo.js';
export { parseSettings } from './settings.js';
export { seededRandom } from './random.js';
export { readUserFile, checkCreatablePath, ensureDirectory, writeFileAtomic, writeFileAtomicSync, type AtomicWrite } from './files.js';
export {
  listenOn,
  closeServer,
  sendJson,
  parseListenAddress,
  formatListenAddress,
  createSafeServer,
  parseRequestTarget,
  type ListenAddress,
  type TcpListenAddress,
  type RequestTarget,
  type SafeHandler,
  type SafeServerOptions,
  type ErrorBody,
} from './http.js';
export { useResolvConf, parseResolvConf, searchCandidates, restoreHostLookup, type ResolvConf } from './resolv-conf.js';
