export { PodnetError, usageError, type ErrorCode } from './errors.js';
export { run, onPath, ExecError, type RunOptions, type RunResult } from './exec.js';
export { nearestNames } from './nearest.js';
export { undoOnFailure } from './undo.js';
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
