/**
 * The Amazon VPC CNI's environment variables (spec §1) and podnet's own PODNET_* settings: names, defaults,
 * upstream's parsing and validation, one typed config. No other module reads these from the environment.
 */
export { loadConfig, findTypos, describeProblem, type Env } from './load.js';
export { parseEnvFile, parseEnvText, parseDaemonSetEnv, readEnvFile, unresolvedProblems, type EnvFile, type UnresolvedEnv } from './env-file.js';
export { variables, deprecatedVariables, type VariableDef, type VariableKind, type Reader } from './variables.js';
export { parseGoBool, parseAtoi, parseGoIntBase0 } from './values.js';
export type {
  PodnetConfig,
  RandomizeSnat,
  DataplaneMode,
  BranchVlanLinkMode,
  NodeOs,
  Severity,
  ConfigProblem,
  TypoWarning,
  Setting,
  SettingSource,
  LoadedConfig,
} from './types.js';
