import { type PrevResult, parsePrevResult } from './result.js';
import {
  type CniCommand,
  type CniErrorResult,
  type CniVersion,
  CniCode,
  cniCommands,
  compareVersions,
  currentVersion,
  isSemver,
  isSupportedVersion,
  supportedVersions,
} from './spec.js';

/** The CNI_* variables a runtime sets (SPEC.md "Parameters"); everything else in the environment is ignored. */
export const cniEnvNames = ['CNI_COMMAND', 'CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_ARGS', 'CNI_PATH'] as const;
export type CniEnvName = (typeof cniEnvNames)[number];
export type CniEnv = Partial<Record<CniEnvName, string>>;

/** The CNI_* variables a runtime sets for one call on a Kubernetes pod (the CNI_ARGS keys kubelet passes, spec §6.1). */
export function cniEnv(o: {
  command: CniCommand;
  containerId: string;
  netns: string;
  ifName: string;
  podNamespace: string;
  podName: string;
  podUid?: string;
  /** CNI_PATH: where the plugin binaries are. */
  path: string;
}): Record<CniEnvName, string> {
  const args = [`IgnoreUnknown=1`, `K8S_POD_NAMESPACE=${o.podNamespace}`, `K8S_POD_NAME=${o.podName}`, `K8S_POD_INFRA_CONTAINER_ID=${o.containerId}`];
  if (o.podUid !== undefined) args.push(`K8S_POD_UID=${o.podUid}`);
  return { CNI_COMMAND: o.command, CNI_CONTAINERID: o.containerId, CNI_NETNS: o.netns, CNI_IFNAME: o.ifName, CNI_PATH: o.path, CNI_ARGS: args.join(';') };
}

/** Where ipamd listens when the network config names no socket (upstream's gRPC socket path, spec §6.1). */
export const defaultIpamdSocket = '/var/run/aws-node/ipamd.sock';

/** The plugin entry of the conflist (spec §1.1) as podnet reads it, after the runtime added name and cniVersion. */
export interface PodnetNetConf {
  cniVersion: CniVersion;
  name: string;
  type: string;
  /** Host veth name prefix, at most 4 characters so prefix + 11 hash characters fit IFNAMSIZ (spec §3.5). */
  vethPrefix: string;
  mtu: number;
  /** podnet's field: the unix socket of this node's ipamd. */
  ipamdSocket: string;
  podSGEnforcingMode: 'strict' | 'standard';
  pluginLogFile: string;
  pluginLogLevel: string;
}

/** ADD, DEL and CHECK act on one attachment: (network name, container id, interface name). */
export interface AttachmentRequest {
  command: 'ADD' | 'DEL' | 'CHECK';
  config: PodnetNetConf;
  containerId: string;
  /** Empty for DEL when the sandbox is already gone (CRI's second DEL, `ctr` after the task exited). */
  netns: string;
  ifName: string;
  /** CNI_ARGS as a key/value set: its pair order changes from call to call (lab-recipes §5.6). */
  args: Record<string, string>;
  podNamespace: string;
  podName: string;
  prevResult?: PrevResult;
}

export interface VersionRequest {
  command: 'VERSION';
  cniVersion: CniVersion;
}

export interface StatusRequest {
  command: 'STATUS';
  config: PodnetNetConf;
}

export interface GcRequest {
  command: 'GC';
  config: PodnetNetConf;
  /** The attachments the runtime still uses; anything else podnet holds for this network is stale. */
  validAttachments: { containerId: string; ifName: string }[];
}

export type CniRequest = AttachmentRequest | VersionRequest | StatusRequest | GcRequest;

export type ParsedRequest = { ok: true; request: CniRequest } | { ok: false; error: CniErrorResult };

const requiredEnv: Record<CniCommand, readonly CniEnvName[]> = {
  ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  DEL: ['CNI_CONTAINERID', 'CNI_IFNAME'],
  CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME'],
  VERSION: [],
  STATUS: [],
  GC: [],
};

/** The spec's rule for a container id and a network name: a letter or digit, then letters, digits, _ . - */
const cniNamePattern = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The oldest configuration version each command exists in (CHECK: 0.4.0, STATUS and GC: 1.1.0). */
const introducedIn: Partial<Record<CniCommand, CniVersion>> = { CHECK: '0.4.0', STATUS: '1.1.0', GC: '1.1.0' };

class RequestError {
  constructor(
    readonly code: number,
    readonly msg: string,
    readonly details?: string,
  ) {}
}

/**
 * Validates one CNI invocation: the command, the variables that command requires, the network config on stdin
 * (JSON, a supported cniVersion, podnet's fields) and prevResult. Pure; a failure is the spec's error object with a
 * message that says what to fix.
 */
export function parseCniRequest(env: CniEnv, stdin: string): ParsedRequest {
  let version: CniVersion = currentVersion;
  try {
    const command = parseCommand(env.CNI_COMMAND);
    if (command === 'VERSION') {
      // VERSION works with any input, even a version podnet does not speak: answering it is how a runtime finds out.
      const asked = stdin.trim() === '' ? undefined : (tryJson(stdin) as { cniVersion?: unknown } | undefined)?.cniVersion;
      if (typeof asked === 'string' && isSupportedVersion(asked)) version = asked;
      return { ok: true, request: { command, cniVersion: version } };
    }
    checkEnvValues(env);
    const missing = requiredEnv[command].filter((name) => !env[name]);
    if (missing.length > 0) {
      throw new RequestError(
        CniCode.invalidEnvironment,
        `${command} needs ${missing.join(', ')} but ${missing.length === 1 ? 'it is' : 'they are'} not set`,
        `the runtime must set ${requiredEnv[command].join(', ')} for ${command} (CNI spec "Parameters")`,
      );
    }
    const conf = decodeConfig(stdin);
    version = parseVersion(conf.cniVersion);
    const since = introducedIn[command];
    if (since && compareVersions(version, since) < 0) {
      throw new RequestError(
        CniCode.incompatibleVersion,
        `cniVersion ${version} does not have ${command}; it was added in ${since}`,
        `set "cniVersion" to ${since} or later in the network config to use ${command}`,
      );
    }
    const config = parseNetConf(conf, version);
    if (command === 'STATUS') return { ok: true, request: { command, config } };
    if (command === 'GC') return { ok: true, request: { command, config, validAttachments: parseValidAttachments(conf) } };

    const containerId = env.CNI_CONTAINERID as string;
    if (!cniNamePattern.test(containerId)) {
      throw new RequestError(CniCode.invalidEnvironment, `CNI_CONTAINERID ${quoted(containerId)} is not valid`, 'a container id starts with a letter or digit and holds only letters, digits, _ . -');
    }
    const ifName = env.CNI_IFNAME as string;
    if (!interfaceNamePattern.test(ifName) || ifName === '.' || ifName === '..') {
      throw new RequestError(CniCode.invalidEnvironment, `CNI_IFNAME ${quoted(ifName)} is not a valid interface name`, 'use 1 to 15 letters, digits, _ . or -, e.g. eth0');
    }
    const args = parseCniArgs(env.CNI_ARGS ?? '');
    let prevResult: PrevResult | undefined;
    if (conf.prevResult !== undefined) {
      const parsed = parsePrevResult(conf.prevResult);
      if (typeof parsed === 'string') throw new RequestError(CniCode.decodeFailure, `cannot decode prevResult: ${parsed}`, 'pass the result the ADD returned, unchanged');
      prevResult = parsed;
    } else if (command === 'CHECK') {
      throw new RequestError(CniCode.invalidConfig, 'CHECK needs the prevResult of the ADD, and the network config has none', 'the runtime must add "prevResult" (the cached ADD result) to the config for CHECK');
    }
    return {
      ok: true,
      request: {
        command,
        config,
        containerId,
        netns: env.CNI_NETNS ?? '',
        ifName,
        args,
        podNamespace: args.K8S_POD_NAMESPACE ?? '',
        podName: args.K8S_POD_NAME ?? '',
        ...(prevResult && { prevResult }),
      },
    };
  } catch (err) {
    if (!(err instanceof RequestError)) throw err;
    return { ok: false, error: { cniVersion: version, code: err.code, msg: err.msg, ...(err.details && { details: err.details }) } };
  }
}

/** An interface name podnet will write into an ip batch (the grammar src/dataplane enforces too). */
const interfaceNamePattern = /^[A-Za-z0-9_.-]{1,15}$/;
/** Kubernetes names (API conventions): a namespace is a DNS-1123 label, a pod name a DNS-1123 subdomain. */
const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const dnsSubdomain = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
/** C0 controls and DEL: nothing a runtime sets in a CNI_* variable may hold them (CR/LF would end a line or a header). */
const controlCharacter = /[\x00-\x1f\x7f]/;
/** PATH_MAX: the longest path a netns reference can be. */
const maxPathBytes = 4096;

/** A value as messages show it: JSON-quoted (controls escaped, UTF-8 kept), long values cut. */
function quoted(value: string): string {
  return JSON.stringify(value.length > 80 ? `${value.slice(0, 80)}…` : value);
}

/** Every CNI_* value is text without control characters; a netns reference is at most a path long. */
function checkEnvValues(env: CniEnv): void {
  for (const name of cniEnvNames) {
    const value = env[name];
    if (value === undefined) continue;
    if (controlCharacter.test(value)) {
      throw new RequestError(CniCode.invalidEnvironment, `${name} ${quoted(value)} holds a control character`, `the runtime must set ${name} to text without control characters (CNI spec "Parameters")`);
    }
  }
  if (env.CNI_NETNS !== undefined && Buffer.byteLength(env.CNI_NETNS) > maxPathBytes) {
    throw new RequestError(CniCode.invalidEnvironment, `CNI_NETNS is ${Buffer.byteLength(env.CNI_NETNS)} bytes long, longer than a path can be (${maxPathBytes})`, 'CNI_NETNS is the path of the pod\'s network namespace, e.g. /var/run/netns/cni-1234');
  }
}

/**
 * CNI_ARGS is `K=V;K=V` (alphanumeric keys); the order is not stable, so it is read as a set (lab-recipes §5.6). The
 * pod's namespace and name name its veth, its checkpoint entry and its log lines, so they must be Kubernetes names.
 */
function parseCniArgs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of text.split(';')) {
    if (pair === '') continue;
    const eq = pair.indexOf('=');
    if (eq <= 0 || !/^[A-Za-z0-9_]+$/.test(pair.slice(0, eq))) {
      throw new RequestError(CniCode.invalidEnvironment, `CNI_ARGS has ${quoted(pair)}, which is not KEY=VALUE`, 'CNI_ARGS is a ;-separated list of KEY=VALUE pairs with alphanumeric keys, e.g. K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx');
    }
    out[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  const namespace = out.K8S_POD_NAMESPACE;
  if (namespace !== undefined && namespace !== '' && !dnsLabel.test(namespace)) {
    throw new RequestError(CniCode.invalidEnvironment, `CNI_ARGS K8S_POD_NAMESPACE ${quoted(namespace)} is not a Kubernetes namespace name`, 'a namespace is at most 63 lowercase letters, digits and -, starting and ending with a letter or digit');
  }
  const name = out.K8S_POD_NAME;
  if (name !== undefined && name !== '' && (name.length > 253 || !dnsSubdomain.test(name))) {
    throw new RequestError(CniCode.invalidEnvironment, `CNI_ARGS K8S_POD_NAME ${quoted(name)} is not a Kubernetes pod name`, 'a pod name is at most 253 lowercase letters, digits, - and ., each part starting and ending with a letter or digit');
  }
  return out;
}

function parseCommand(value: string | undefined): CniCommand {
  if (!value) {
    throw new RequestError(CniCode.invalidEnvironment, 'CNI_COMMAND is not set', `a CNI plugin is run with CNI_COMMAND set to one of ${cniCommands.join(', ')}`);
  }
  if (!(cniCommands as readonly string[]).includes(value)) {
    throw new RequestError(CniCode.invalidEnvironment, `CNI_COMMAND ${quoted(value)} is not a CNI command`, `use one of ${cniCommands.join(', ')}`);
  }
  return value as CniCommand;
}

function tryJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function decodeConfig(stdin: string): Record<string, unknown> {
  if (stdin.trim() === '') {
    throw new RequestError(CniCode.decodeFailure, 'the network config on stdin is empty', 'the runtime passes the plugin entry of the conflist as JSON on stdin');
  }
  let conf: unknown;
  try {
    conf = JSON.parse(stdin);
  } catch (err) {
    throw new RequestError(CniCode.decodeFailure, `the network config on stdin is not valid JSON: ${(err as Error).message}`, 'check the conflist in the CNI conf dir with a JSON validator');
  }
  if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) {
    throw new RequestError(CniCode.decodeFailure, 'the network config on stdin is not a JSON object', 'the runtime passes one plugin entry, e.g. {"cniVersion":"0.4.0","name":"aws-cni","type":"podnet-cni"}');
  }
  return conf as Record<string, unknown>;
}

function parseVersion(value: unknown): CniVersion {
  const known = supportedVersions.join(', ');
  if (value === undefined || value === '') {
    // skel reads a missing cniVersion as 0.1.0, which podnet does not speak
    throw new RequestError(CniCode.incompatibleVersion, 'the network config has no "cniVersion"', `set "cniVersion" to one of ${known}`);
  }
  if (typeof value !== 'string' || !isSemver(value)) {
    throw new RequestError(CniCode.decodeFailure, `cniVersion ${JSON.stringify(value)} is not a version string`, `set "cniVersion" to one of ${known}`);
  }
  if (!isSupportedVersion(value)) {
    throw new RequestError(CniCode.incompatibleVersion, `cniVersion ${value} is not supported by podnet-cni`, `set "cniVersion" to one of ${known}`);
  }
  return value;
}

function parseNetConf(conf: Record<string, unknown>, cniVersion: CniVersion): PodnetNetConf {
  const { name, type } = conf;
  if (typeof name !== 'string' || !cniNamePattern.test(name)) {
    throw new RequestError(CniCode.invalidConfig, `network name ${JSON.stringify(name)} is missing or not valid`, 'the conflist "name" starts with a letter or digit and holds only letters, digits, _ . -');
  }
  if (typeof type !== 'string' || type === '') {
    throw new RequestError(CniCode.invalidConfig, 'the network config has no "type"', 'the plugin entry needs "type": "podnet-cni" (the file name in the CNI bin dir)');
  }
  const vethPrefix = optionalString(conf, 'vethPrefix') ?? 'eni';
  if (vethPrefix.length > 4 || !/^[A-Za-z0-9_-]+$/.test(vethPrefix)) {
    throw new RequestError(CniCode.invalidConfig, `vethPrefix '${vethPrefix}' is not valid: it has ${vethPrefix.length} characters`, 'use at most 4 letters or digits (AWS_VPC_K8S_CNI_VETHPREFIX, default eni) so the host veth name fits 15 characters');
  }
  // upstream renders mtu as a string ("9001"); a number is accepted too
  const mtuValue = conf.mtu ?? '9001';
  const mtu = typeof mtuValue === 'number' ? mtuValue : typeof mtuValue === 'string' && /^\d+$/.test(mtuValue) ? Number(mtuValue) : NaN;
  if (!Number.isInteger(mtu) || mtu < 576 || mtu > 9001) {
    throw new RequestError(CniCode.invalidConfig, `mtu ${JSON.stringify(mtuValue)} is not valid`, 'set "mtu" to a whole number from 576 to 9001 (POD_MTU or AWS_VPC_ENI_MTU, default 9001)');
  }
  const ipamdSocket = optionalString(conf, 'ipamdSocket') ?? defaultIpamdSocket;
  if (!ipamdSocket.startsWith('/')) {
    throw new RequestError(CniCode.invalidConfig, `ipamdSocket '${ipamdSocket}' is not an absolute path`, `set "ipamdSocket" to the absolute path ipamd listens on (default ${defaultIpamdSocket})`);
  }
  const mode = optionalString(conf, 'podSGEnforcingMode') ?? 'strict';
  if (mode !== 'strict' && mode !== 'standard') {
    throw new RequestError(CniCode.invalidConfig, `podSGEnforcingMode '${mode}' is not valid`, 'use strict or standard (POD_SECURITY_GROUP_ENFORCING_MODE)');
  }
  return {
    cniVersion,
    name,
    type,
    vethPrefix,
    mtu,
    ipamdSocket,
    podSGEnforcingMode: mode,
    pluginLogFile: optionalString(conf, 'pluginLogFile') ?? '',
    pluginLogLevel: optionalString(conf, 'pluginLogLevel') ?? '',
  };
}

function optionalString(conf: Record<string, unknown>, key: string): string | undefined {
  const value = conf[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') {
    throw new RequestError(CniCode.invalidConfig, `"${key}" is ${JSON.stringify(value)}, not a string`, `write "${key}" as a JSON string`);
  }
  return value;
}

/** libcni passes the list twice, as `cni.dev/valid-attachments` and the older misspelt `cni.dev/attachments`. */
function parseValidAttachments(conf: Record<string, unknown>): GcRequest['validAttachments'] {
  const list = conf['cni.dev/valid-attachments'] ?? conf['cni.dev/attachments'];
  if (list === undefined) {
    // an absent list must not read as "nothing is valid": that would release every pod's address
    throw new RequestError(CniCode.invalidConfig, 'GC needs "cni.dev/valid-attachments" in the network config, and it is missing', 'the runtime lists the attachments still in use as [{"containerID": "...", "ifname": "eth0"}]');
  }
  if (!Array.isArray(list)) throw new RequestError(CniCode.decodeFailure, '"cni.dev/valid-attachments" is not a list', 'pass a list of {"containerID": "...", "ifname": "..."}');
  return list.map((item, i) => {
    const { containerID, ifname } = (item ?? {}) as Record<string, unknown>;
    if (typeof containerID !== 'string' || typeof ifname !== 'string') {
      throw new RequestError(CniCode.decodeFailure, `"cni.dev/valid-attachments"[${i}] needs string "containerID" and "ifname"`, 'pass a list of {"containerID": "...", "ifname": "..."}');
    }
    return { containerId: containerID, ifName: ifname };
  });
}
