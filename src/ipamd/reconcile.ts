/**
 * nodeIPPoolReconcile (spec §4.13) as a pure diff: IMDS's and EC2's views of the attached ENIs against the
 * datastore give the actions that make the datastore match the instance. IMDS is the truth about which ENIs are
 * attached; where its CIDRs for a known ENI differ from the datastore's, EC2's DescribeNetworkInterfaces decides.
 * The node gathers the views (first asking {@link enisToDescribe} which ENIs EC2 must describe) and performs the
 * actions in order.
 */
import { INSTANCE_ID_TAG, type CloudEni } from '../ipam/index.js';
import type { ImdsEni } from './imds.js';

/** setUnmanagedENIs' tag (§7.6): `true` keeps ipamd's hands off an ENI, `false` hands it over explicitly. */
const NO_MANAGE_TAG = 'node.k8s.amazonaws.com/no_manage';

/** The node facts the diff compares against. */
export interface ReconcileNode {
  primaryMac: string;
  instanceId: string;
  /** The VPC CIDRs the host rules were last set up with. */
  vpcCidrs: readonly string[];
  /** The groups ipamd's ENIs were given (sorted): the primary ENI's as last read, or the ENIConfig's. */
  securityGroupIds: readonly string[];
}

export interface ReconcileSettings {
  /** AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG: the primary ENI's prefixes are not read (§5.1). */
  customNetworking: boolean;
  /** MANAGE_UNTAGGED_ENI: an ENI without podnet's instance tag (or EC2's view of it) is managed. */
  manageUntaggedEni: boolean;
  /** ENABLE_IMDS_ONLY_MODE: EC2 is never asked; IMDS alone is the truth. */
  imdsOnly: boolean;
  /** How long a CIDR this ipamd released stays ignored while IMDS still lists it (§4.12): the reconcile interval. */
  releasedCidrCooldownMs: number;
  /**
   * RefreshSGIDs (§4.14 step 7): provisioning on and no custom networking, so ipamd's ENIs follow the primary ENI's
   * groups (under custom networking they keep the ENIConfig's).
   */
  refreshSecurityGroups: boolean;
}

/** The datastore as reconcile needs it: each ENI's IPv4 CIDRs (a PoolSnapshot fits). */
export interface ReconcileDatastoreView {
  enis: readonly { id: string; cidrs: readonly { cidr: string }[] }[];
}

export interface ReconcileInput {
  /** IMDS's attached ENIs on network card 0, the only card podnet manages. */
  attached: readonly ImdsEni[];
  /** EC2's view of the ENIs {@link enisToDescribe} named, by id; those EC2 did not know are absent. */
  described: ReadonlyMap<string, CloudEni>;
  datastore: ReconcileDatastoreView;
  node: ReconcileNode;
  settings: ReconcileSettings;
  /** CIDRs this ipamd gave back to EC2, and when (ms). */
  released: ReadonlyMap<string, number>;
  now: number;
}

export type ReconcileAction =
  /** The primary ENI's VPC CIDRs changed: the host rules are set up again (§2.1). */
  | { kind: 'set-vpc-cidrs'; from: readonly string[]; to: readonly string[] }
  /** An attached, managed ENI the datastore lacks (attached outside the pool loop): tag, record, set up. */
  | { kind: 'adopt-eni'; eni: ImdsEni; described: CloudEni | undefined }
  /** A CIDR the ENI has that the datastore lacks (assigned outside this ipamd). */
  | { kind: 'add-cidr'; eniId: string; cidr: string }
  /** A CIDR the ENI no longer has: force-removed; pods holding addresses in it lose them and are unwired. */
  | { kind: 'remove-cidr'; eniId: string; cidr: string }
  /** An ENI no longer attached: force-removed with any pod addresses on it. */
  | { kind: 'remove-eni'; eniId: string }
  /** The primary ENI's groups changed: ipamd's other ENIs get them, and so do the ENIs it creates from now on. */
  | { kind: 'set-security-groups'; from: readonly string[]; to: readonly string[]; eniIds: string[] };

/**
 * The ENIs whose EC2 view the diff needs: ENIs the datastore lacks (their tags and type decide whether they are
 * managed), and known ENIs whose CIDRs in IMDS differ from the datastore's (EC2 then decides). None in IMDS-only mode.
 */
export function enisToDescribe(input: Omit<ReconcileInput, 'described'>): string[] {
  if (input.settings.imdsOnly) return [];
  const known = knownCidrs(input.datastore);
  return input.attached
    .filter((eni) => {
      const cidrs = known.get(eni.eniId);
      return cidrs === undefined || !sameSet(imdsCidrs(eni, skipsPrefixes(eni, input)), cidrs);
    })
    .map((eni) => eni.eniId);
}

/**
 * The actions, in the order to perform them: host rules, then each attached ENI in IMDS order, then lost ENIs, then
 * the groups of the ENIs that stay.
 */
export function diffReconcile(input: ReconcileInput): ReconcileAction[] {
  const { attached, described, node } = input;
  const actions: ReconcileAction[] = [];
  const primary = attached.find((e) => e.mac === node.primaryMac);
  if (primary && primary.vpcIpv4Cidrs.join(',') !== node.vpcCidrs.join(',')) {
    actions.push({ kind: 'set-vpc-cidrs', from: node.vpcCidrs, to: primary.vpcIpv4Cidrs });
  }
  const known = knownCidrs(input.datastore);
  for (const eni of attached) {
    const cidrs = known.get(eni.eniId);
    if (cidrs === undefined) {
      if (isManagedEni(eni, described.get(eni.eniId), node, input.settings.manageUntaggedEni)) {
        actions.push({ kind: 'adopt-eni', eni, described: described.get(eni.eniId) });
      }
      continue;
    }
    actions.push(...diffCidrs(eni, cidrs, input));
  }
  const attachedIds = new Set(attached.map((e) => e.eniId));
  for (const id of known.keys()) if (!attachedIds.has(id)) actions.push({ kind: 'remove-eni', eniId: id });
  const groups = primary ? [...primary.securityGroupIds].sort() : [];
  if (input.settings.refreshSecurityGroups && primary && groups.length > 0 && groups.join(',') !== node.securityGroupIds.join(',')) {
    const eniIds = attached.filter((e) => e.mac !== node.primaryMac && known.has(e.eniId)).map((e) => e.eniId);
    actions.push({ kind: 'set-security-groups', from: node.securityGroupIds, to: groups, eniIds });
  }
  return actions;
}

/** One known ENI: on a mismatch with IMDS, EC2's view (IMDS's when EC2 has none) is the truth (§4.13 step 2). */
function diffCidrs(eni: ImdsEni, known: readonly string[], input: ReconcileInput): ReconcileAction[] {
  const skipPrefixes = skipsPrefixes(eni, input);
  const fromImds = imdsCidrs(eni, skipPrefixes);
  if (sameSet(fromImds, known)) return [];
  const ec2 = input.described.get(eni.eniId);
  const truth = ec2 ? [...ec2.secondaryIpv4s.map((ip) => `${ip}/32`), ...(skipPrefixes ? [] : ec2.ipv4Prefixes)] : fromImds;
  const has = new Set(known);
  const keep = new Set(truth);
  const { released, now, settings } = input;
  const settling = (cidr: string) => {
    const at = released.get(cidr);
    return at !== undefined && now - at <= settings.releasedCidrCooldownMs;
  };
  return [
    ...truth.filter((c) => !has.has(c) && !settling(c)).map((cidr): ReconcileAction => ({ kind: 'add-cidr', eniId: eni.eniId, cidr })),
    ...known.filter((c) => !keep.has(c)).map((cidr): ReconcileAction => ({ kind: 'remove-cidr', eniId: eni.eniId, cidr })),
  ];
}

/**
 * setUnmanagedENIs (§7.6): the primary ENI is always managed; an EFA-only ENI (no IP addresses) never; otherwise
 * the no_manage tag decides, then podnet's instance tag naming this instance, then MANAGE_UNTAGGED_ENI.
 */
export function isManagedEni(eni: ImdsEni, described: CloudEni | undefined, node: Pick<ReconcileNode, 'primaryMac' | 'instanceId'>, manageUntaggedEni: boolean): boolean {
  if (eni.mac === node.primaryMac) return true;
  if (eni.localIpv4s.length === 0 && eni.ipv6s.length === 0) return false;
  const tags = described?.tags ?? {};
  if (tags[NO_MANAGE_TAG] !== undefined) return tags[NO_MANAGE_TAG] !== 'true';
  if (tags[INSTANCE_ID_TAG] === node.instanceId) return true;
  return manageUntaggedEni;
}

/** The CIDRs IMDS shows for an ENI: secondary IPs as /32 (the first local-ipv4 is the ENI's own) and prefixes. */
export function imdsCidrs(eni: ImdsEni, skipPrefixes: boolean): string[] {
  return [...eni.localIpv4s.slice(1).map((ip) => `${ip}/32`), ...(skipPrefixes ? [] : eni.ipv4Prefixes)];
}

/** With custom networking the primary ENI's prefixes are not read (awsutils.go:898, spec §5.1). */
function skipsPrefixes(eni: ImdsEni, input: Pick<ReconcileInput, 'node' | 'settings'>): boolean {
  return input.settings.customNetworking && eni.mac === input.node.primaryMac;
}

function knownCidrs(view: ReconcileDatastoreView): Map<string, string[]> {
  return new Map(view.enis.map((e) => [e.id, e.cidrs.map((c) => c.cidr)]));
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}
