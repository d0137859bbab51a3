/**
 * The CNI specification's fixed vocabulary: the versions podnet speaks, the commands, the well-known error codes,
 * and podnet's own codes (100+ is the plugin's range, SPEC.md "Error" section).
 */

/** Oldest first; the last one is what VERSION reports as current. */
export const supportedVersions = ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
export type CniVersion = (typeof supportedVersions)[number];
export const currentVersion: CniVersion = '1.1.0';

export const cniCommands = ['ADD', 'DEL', 'CHECK', 'VERSION', 'STATUS', 'GC'] as const;
export type CniCommand = (typeof cniCommands)[number];

/** The spec's well-known error codes (0–99 are reserved for these). */
export const CniCode = {
  incompatibleVersion: 1,
  unsupportedField: 2,
  unknownContainer: 3,
  invalidEnvironment: 4,
  ioFailure: 5,
  decodeFailure: 6,
  invalidConfig: 7,
  tryAgainLater: 11,
  /** STATUS only: the plugin cannot service ADD right now. */
  notAvailable: 50,
  /** STATUS only: not available, and existing containers may have limited connectivity. */
  limitedConnectivity: 51,
  /** What libcni's skel uses for an error without a code (ErrInternal); podnet uses it for its own bugs. */
  internal: 999,
} as const;

/** podnet's plugin-specific codes: one per named cause a pod can fail for, so scripts can tell them apart. */
export const PodnetCniCode = {
  subnetExhausted: 100,
  noFreePrefix: 101,
  eniLimit: 102,
  maxPods: 103,
  noFreeAddress: 104,
  wiringFailed: 110,
  wiringMismatch: 111,
} as const;

/** The JSON a plugin prints on stdout (with a non-zero exit) when a command fails. */
export interface CniErrorResult {
  cniVersion: string;
  code: number;
  msg: string;
  details?: string;
}

/** `-1`, `0`, `1` like a comparator; both arguments must be supported versions. */
export function compareVersions(a: CniVersion, b: CniVersion): number {
  return supportedVersions.indexOf(a) - supportedVersions.indexOf(b);
}

export function isSupportedVersion(v: string): v is CniVersion {
  return (supportedVersions as readonly string[]).includes(v);
}

/** SemVer 2.0 core (the spec requires cniVersion to be one); a string that is not one fails to decode (code 6). */
export function isSemver(v: string): boolean {
  return /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(-[0-9A-Za-z.-]+)?(\+[0-9A-Za-z.-]+)?$/.test(v);
}
