/**
 * The node's network state as data, and the appliers that make Linux match it: host SNAT/connmark/mangle rules and
 * ip rules (spec §2, §3.1), secondary-ENI route tables (§3.2), per-pod wiring (§3.3–§3.6), and the host setup of
 * the primary interface (init sysctls §3.7, MTU §3.8). Renderers are pure;
 * appliers read the current state, diff, and apply in batches (`iptables-restore --noflush`, `nft -f -`,
 * `ip -batch -`) through `run()`, or through a long-lived ip session where a process per pod costs too much.
 * A namespace is lib's `Netns` everywhere, a route table its number (`MAIN_TABLE` = 254), and a missing link,
 * namespace or table is `ExecError.notFound`, never a reading of stderr here.
 */
export { type RouteTable, MAIN_TABLE, isMainTable } from './route-table.js';
export {
  type IpRule,
  type Route,
  type BatchLine,
  formatRule,
  formatRoute,
  parseRules,
  readIpJson,
  runIpBatch,
} from './iproute.js';
export { checkPodNetns } from './netns.js';
export { isIfName } from './words.js';
export { type IpSession, startIpSession } from './ip-session.js';
export {
  type IptablesTable,
  type IptablesRule,
  type IptablesState,
  type IptablesPlan,
  parseIptablesSave,
  formatIptablesSave,
  planIptables,
  applyIptables,
  readIptables,
  isPodnetOwnedState,
} from './iptables.js';
export { type NftConnmarkTable, type NftPlan, formatNftTable, parseNftTable, planNft, applyNft, readNftTable, nftTable } from './nft.js';
export {
  type HostNetworkInput,
  type HostNetwork,
  type ConnmarkBackend,
  defaultMark,
  hostRulePriorities,
  snatRandomFlag,
  renderSnatRules,
  renderHostRules,
  renderNftConnmark,
  planHostRules,
  applyHostNetwork,
  detectConnmarkBackend,
  detectRandomFully,
} from './host.js';
export {
  type SysctlSetting,
  type SysctlResult,
  type InitSysctlsInput,
  type AppliedSysctls,
  renderInitSysctls,
  checkSysctls,
  applySysctls,
  applyPrimaryMtu,
} from './host-setup.js';
export { type EniNetworkInput, type EniNetwork, type LinkInfo, eniRouteTable, renderEniNetwork, applyEniNetwork, listLinks, findLinkByMac } from './eni.js';
export {
  type PodNetworkInput,
  type PodNetwork,
  type PodNamespaces,
  type WiredPod,
  type PodTeardownInput,
  type PodCheckResult,
  hostVethName,
  hostVethMac,
  renderPodNetwork,
  podCreateLines,
  podInsideLines,
  applyPodNetwork,
  teardownPod,
  checkPodNetwork,
  writeSysctls,
} from './pod.js';
export {
  type PodSgEnforcingMode,
  type BranchEniPodInput,
  type BranchEniPodNetwork,
  type BranchEniTeardownInput,
  MIN_VLAN_ID,
  MAX_VLAN_ID,
  VLAN_RULE_PRIORITY,
  STRICT_VETH_PREFIX,
  vlanLinkName,
  branchRouteTable,
  branchVethPrefix,
  branchHostVethName,
  renderBranchEniPod,
  branchVlanLinkLines,
  branchNodeLines,
  branchPodLines,
  branchTeardownLines,
} from './branch-eni.js';
export { applyBranchEniPod, teardownBranchEniPod, isMadeVlanLink } from './branch-eni-apply.js';
