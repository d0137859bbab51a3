/**
 * The one error type of podnet: a stable code, a message with the numbers, and a hint that says what to do.
 * The CLI prints `error: <message>` / `hint: <hint>`; the CNI maps codes to the spec's numbers in one table.
 */
export type ErrorCode =
  // usage: bad flags, unknown names, unreadable input files (exit 2)
  | 'USAGE'
  | 'UNKNOWN_INSTANCE_TYPE'
  | 'FILE_UNREADABLE'
  // configuration
  | 'CONFIG_INVALID'
  // addresses
  | 'INVALID_ADDRESS'
  | 'NO_FREE_PREFIX'
  | 'NO_FREE_ADDRESS'
  | 'ADDRESS_IN_USE'
  | 'RANGE_TOO_LARGE'
  // ipamd: why a pod got no address, EC2 failures, the checkpoint
  | 'SUBNET_EXHAUSTED'
  | 'ENI_LIMIT'
  | 'MAX_PODS'
  | 'EC2_THROTTLED'
  | 'EC2_FAILED'
  | 'IPAMD_NOT_READY'
  | 'COOLDOWN_ONLY'
  | 'CHECKPOINT_CORRUPT'
  // running commands
  | 'EXEC_FAILED'
  | 'NOT_ROOT'
  | 'MISSING_TOOL'
  // dataplane: applying links, routes, rules, iptables/nft
  | 'DATAPLANE_APPLY_FAILED'
  | 'LINK_NOT_FOUND'
  | 'NETNS_NOT_FOUND'
  // a value from a CNI call, a prevResult or the node that does not match the grammar of what it stands for
  | 'INVALID_INPUT'
  // cni: the launcher/plugin and ipamd's CNI socket
  | 'IPAMD_UNREACHABLE'
  | 'UNKNOWN_CONTAINER'
  | 'POD_WIRING_MISMATCH'
  | 'SOCKET_IN_USE'
  // lab: the VPC fabric in namespaces
  | 'LAB_EXISTS'
  | 'LAB_NOT_UP'
  | 'LAB_FAILED'
  | 'KERNEL_FEATURE_MISSING'
  // anything else that failed (exit 1)
  | 'FAILED';

const usageCodes: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['USAGE', 'UNKNOWN_INSTANCE_TYPE', 'FILE_UNREADABLE']);

export class PodnetError extends Error {
  override readonly name = 'PodnetError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly hint?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** What the CLI exits with: 2 for usage errors (the user typed something wrong), 1 for failures. */
  get exitStatus(): 1 | 2 {
    return usageCodes.has(this.code) ? 2 : 1;
  }
}

export function usageError(message: string, hint: string): PodnetError {
  return new PodnetError('USAGE', message, hint);
}
