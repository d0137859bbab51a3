import { type ErrorCode, PodnetError } from '../lib/index.js';
import { type CniErrorResult, CniCode, PodnetCniCode } from './spec.js';

/**
 * The one table from podnet's error codes to CNI codes (architecture principle 4). Transient causes answer 11 so
 * the runtime retries; each reason a pod gets no address has its own podnet code (100+) and keeps its name in msg.
 */
const cniCodeFor: Partial<Record<ErrorCode, number>> = {
  IPAMD_NOT_READY: CniCode.tryAgainLater,
  IPAMD_UNREACHABLE: CniCode.tryAgainLater,
  EC2_THROTTLED: CniCode.tryAgainLater,
  EC2_FAILED: CniCode.tryAgainLater,
  COOLDOWN_ONLY: CniCode.tryAgainLater,
  SUBNET_EXHAUSTED: PodnetCniCode.subnetExhausted,
  NO_FREE_PREFIX: PodnetCniCode.noFreePrefix,
  ENI_LIMIT: PodnetCniCode.eniLimit,
  MAX_PODS: PodnetCniCode.maxPods,
  NO_FREE_ADDRESS: PodnetCniCode.noFreeAddress,
  DATAPLANE_APPLY_FAILED: PodnetCniCode.wiringFailed,
  EXEC_FAILED: PodnetCniCode.wiringFailed,
  NETNS_NOT_FOUND: PodnetCniCode.wiringFailed,
  INVALID_INPUT: CniCode.invalidEnvironment,
  LINK_NOT_FOUND: PodnetCniCode.wiringMismatch,
  POD_WIRING_MISMATCH: PodnetCniCode.wiringMismatch,
  UNKNOWN_CONTAINER: CniCode.unknownContainer,
  CONFIG_INVALID: CniCode.invalidConfig,
};

/** The CNI code a failure is reported with; anything unmapped is 999 (skel's ErrInternal). */
function cniCodeOf(err: unknown): number {
  return err instanceof PodnetError ? (cniCodeFor[err.code] ?? CniCode.internal) : CniCode.internal;
}

/** Renders any failure as the CNI error JSON: the podnet code names the cause in msg, the hint goes to details. */
export function toCniError(err: unknown, cniVersion: string): CniErrorResult {
  if (err instanceof PodnetError) {
    return {
      cniVersion,
      code: cniCodeOf(err),
      msg: `${err.code}: ${err.message}`,
      ...(err.hint && { details: err.hint }),
    };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { cniVersion, code: CniCode.internal, msg: message, details: 'this is a bug in podnet; please report it with the CNI call that caused it' };
}
