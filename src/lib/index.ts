export { PodnetError, usageError, type ErrorCode } from './errors.js';
export { run, onPath, ExecError, type RunOptions, type RunResult } from './exec.js';
export { nearestNames } from './nearest.js';
export { readUserFile } from './files.js';
export { listenOn, closeServer, sendJson, formatListenTarget, type ListenTarget } from './http.js';
