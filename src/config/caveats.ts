// Findings beyond "does aws-node start": settings podnet does not implement or apply yet, configurations upstream
// runs badly, what does not apply to a Windows node, and which warm target is really in charge.
import type { ConfigProblem, PodnetConfig } from './types.js';

/** The variables that were set, as written. */
type Texts = ReadonlyMap<string, string>;

const notImplemented = (variable: string, what: string, fix: string, verb: 'is' | 'are' = 'is'): ConfigProblem => ({
  variable, severity: 'error', rule: 'not-implemented',
  message: `${what} ${verb} not implemented yet in podnet; podnet ipamd refuses to start rather than run without it`,
  fix,
});

/**
 * Settings that take effect upstream with this configuration but that podnet does not implement (a later issue):
 * refused, never accepted and ignored. ENABLE_V4_EGRESS=true is the manifest default and only matters in an IPv6
 * cluster, so the default manifest passes; left at that default in an IPv6 cluster it is part of the ENABLE_IPv6
 * error rather than a second error. ANNOTATE_POD_IP and AWS_MANAGE_ENIS_NON_SCHEDULABLE need the
 * Kubernetes API server: aws-node would start, so they are warnings.
 */
export function unimplemented(c: PodnetConfig, texts: Texts): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  if (c.enableIPv6) {
    // ENABLE_V4_EGRESS left at its default (true) is a consequence of ENABLE_IPv6, not a second choice to fix: it is
    // said within the ENABLE_IPv6 error; only a value the user wrote gets its own error
    const ownEgressError = c.enableV4Egress && texts.has('ENABLE_V4_EGRESS');
    const withEgress = c.enableV4Egress && !ownEgressError ? ' and, with ENABLE_V4_EGRESS at its default true, IPv4 egress for IPv6 pods (egress-cni, v4if0)' : '';
    out.push(notImplemented('ENABLE_IPv6', `IPv6 pods (ENABLE_IPv6=true)${withEgress}`, 'run an IPv4 cluster (ENABLE_IPv4=true, ENABLE_IPv6=false) with podnet for now', withEgress ? 'are' : 'is'));
    if (ownEgressError) {
      out.push(notImplemented('ENABLE_V4_EGRESS', 'IPv4 egress for IPv6 pods through egress-cni (v4if0)', 'this comes with IPv6 support; set ENABLE_IPv6=false for now'));
    }
  } else if (c.enableV6Egress) {
    out.push(notImplemented('ENABLE_V6_EGRESS', 'IPv6 egress for IPv4 pods through egress-cni (v6if0)', 'set ENABLE_V6_EGRESS=false (upstream also turns it off, with a warning, on a node without an IPv6 address)'));
  }
  if (c.enableMultiNic) {
    out.push(notImplemented('ENABLE_MULTI_NIC', 'managing network cards > 0 (ENABLE_MULTI_NIC=true; podnet manages card 0 only)', 'set ENABLE_MULTI_NIC=false (on an instance with one network card it changes nothing upstream either)'));
  }
  if (c.annotatePodIp) {
    out.push({
      variable: 'ANNOTATE_POD_IP', severity: 'warning', rule: 'needs-api-server',
      message: 'podnet does not annotate pods with vpc.amazonaws.com/pod-ips yet: that needs the Kubernetes API server (a later podnet issue), so the setting is accepted but not applied',
      fix: 'read pod IPs from the CNI result or the checkpoint until then, or unset ANNOTATE_POD_IP',
    });
  }
  if (c.manageEnisNonSchedulable) {
    out.push({
      variable: 'AWS_MANAGE_ENIS_NON_SCHEDULABLE', severity: 'warning', rule: 'needs-api-server',
      message: 'podnet cannot see the node\'s unschedulable taint yet: that needs the Kubernetes API server (a later podnet issue), so the setting is not applied, and podnet attaches and frees ENIs whatever the taint',
      fix: 'nothing to do for now; unset AWS_MANAGE_ENIS_NON_SCHEDULABLE to silence this',
    });
  }
  return out;
}

/**
 * Warm targets of zero that make upstream's pool oscillate (spec §4.6, §4.9, §4.10), which podnet's pool manager
 * reproduces. Secondary-IP mode, WARM_ENI_TARGET=0 alone: the pool is "too low" only at 0 free addresses, so when
 * pods exactly fill every attached ENI a new ENI is attached (create, attach, set delete-on-termination), it is
 * "too high" as soon as it is 1 minute old (minimum ENI age) and is freed (detach, delete), and 5 s later the pool
 * is too low again. Prefix mode, WARM_PREFIX_TARGET=0 alone: the entrypoint refuses it unless another target
 * compares above "0" as a string (e.g. "00"); then a /28 assigned at 0 free addresses (0, 16, 32… pods) is
 * released again once the 30 s decrease interval allows, and re-assigned 5 s later.
 */
export function poolOscillation(c: PodnetConfig, texts: Texts): ConfigProblem[] {
  if (c.enableIPv6 || c.disableNetworkResourceProvisioning || c.warmIpTarget > 0 || c.minimumIpTarget > 0) return [];
  if (!c.enablePrefixDelegation && c.warmEniTarget === 0) {
    return [{
      variable: 'WARM_ENI_TARGET', severity: 'warning', rule: 'warm-eni-target-0-oscillates',
      message: 'WARM_ENI_TARGET=0 without WARM_IP_TARGET or MINIMUM_IP_TARGET: when pods exactly fill every attached ENI, the pool attaches a new ENI at 0 free addresses and frees it a minute later (minimum ENI age), again and again — about 5 mutating EC2 calls every 67 s, and a pod that arrives while the ENI is gone is refused',
      fix: 'set WARM_IP_TARGET=1 (or more) so the pool keeps free addresses and settles',
    }];
  }
  const entrypointPasses = ['WARM_IP_TARGET', 'WARM_PREFIX_TARGET', 'MINIMUM_IP_TARGET'].some((name) => (texts.get(name) ?? '0') > '0');
  if (c.enablePrefixDelegation && c.warmPrefixTarget === 0 && entrypointPasses) {
    const given = ['WARM_PREFIX_TARGET', 'WARM_IP_TARGET', 'MINIMUM_IP_TARGET'].filter((n) => texts.has(n)).map((n) => `${n}=${JSON.stringify(texts.get(n))}`).join(', ');
    return [{
      variable: 'WARM_PREFIX_TARGET', severity: 'warning', rule: 'warm-prefix-target-0-oscillates',
      message: `prefix delegation with an effective WARM_PREFIX_TARGET of 0 and no WARM_IP_TARGET or MINIMUM_IP_TARGET (${given} pass the entrypoint's string check but parse to 0): when pods exactly fill every assigned /28 (0, 16, 32… pods), the pool assigns a /28 at 0 free addresses, releases it ~30 s later (decrease interval) and assigns it again 5 s after — 2 mutating EC2 calls every ~30 s, and a pod that arrives while it is released is refused`,
      fix: 'set WARM_PREFIX_TARGET=1 (the manifest value) or WARM_IP_TARGET=1',
    }];
  }
  return [];
}

/**
 * `--os windows`: aws-node does not run on Windows nodes; the VPC Resource Controller gives their pods addresses
 * (spec §5.6). SNAT there cannot be disabled and its exclusions come from the bootstrap script's
 * ExcludedSnatCIDRs; custom networking and security groups for pods are not supported. The variables still apply
 * to the cluster's Linux nodes, so these are warnings.
 */
export function notOnWindows(c: PodnetConfig, texts: Texts): ConfigProblem[] {
  const out: ConfigProblem[] = [];
  const warn = (variable: string, rule: string, message: string, fix: string) => out.push({ variable, severity: 'warning', rule, message, fix });
  if (texts.has('AWS_VPC_K8S_CNI_EXTERNALSNAT')) {
    warn('AWS_VPC_K8S_CNI_EXTERNALSNAT', 'not-applicable-on-windows', 'not applicable on Windows nodes: SNAT cannot be disabled there', 'nothing to set for Windows; the value applies to Linux nodes only');
  }
  if (texts.has('AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS')) {
    warn('AWS_VPC_K8S_CNI_EXCLUDE_SNAT_CIDRS', 'not-applicable-on-windows', 'not applicable on Windows nodes: their SNAT exclusions come from the bootstrap script\'s ExcludedSnatCIDRs', 'pass -ExcludedSnatCIDRs to the Windows bootstrap script (Start-EKSBootstrap.ps1)');
  }
  if (c.customNetworkCfg) {
    warn('AWS_VPC_K8S_CNI_CUSTOM_NETWORK_CFG', 'unsupported-on-windows', 'custom networking is not supported on Windows nodes: their pods get addresses from the node\'s own subnet', 'nothing to set for Windows; the value applies to Linux nodes only');
  }
  if (c.enablePodEni) {
    warn('ENABLE_POD_ENI', 'unsupported-on-windows', 'security groups for pods (pod ENIs) are not supported on Windows nodes', 'nothing to set for Windows; the value applies to Linux nodes only');
  }
  return out;
}

/**
 * Notes for the warm target that is not in charge: WARM_IP_TARGET or MINIMUM_IP_TARGET > 0 overrides
 * WARM_ENI_TARGET (secondary IPs) and WARM_PREFIX_TARGET (prefix delegation, converted to /28s) (spec §4.5).
 */
export function overrideNotes(c: PodnetConfig): Array<[string, string]> {
  if (c.enableIPv6 || (c.warmIpTarget === 0 && c.minimumIpTarget === 0)) return [];
  const by = [c.warmIpTarget > 0 ? `WARM_IP_TARGET=${c.warmIpTarget}` : '', c.minimumIpTarget > 0 ? `MINIMUM_IP_TARGET=${c.minimumIpTarget}` : ''].filter(Boolean).join(' and ');
  return c.enablePrefixDelegation
    ? [['WARM_PREFIX_TARGET', `overridden by ${by}: the pool keeps that many addresses, rounded up to whole /28 prefixes`]]
    : [['WARM_ENI_TARGET', `overridden by ${by}`]];
}
