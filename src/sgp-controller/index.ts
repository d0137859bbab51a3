/**
 * `podnet sgp-controller`: the VPC resource controller's role in security groups for pods (trunk ENI per node, branch
 * ENI per pod, the pod mutating webhook, the cooldown and the leaked-branch collector), for the lab and self-managed
 * clusters. See docs/sgp-controller.md.
 */
export { startSgpController, VALIDATING_WEBHOOK_NAME, WEBHOOK_CONFIGURATION, WEBHOOK_NAME, type Log, type SgpController, type SgpControllerOptions, type SgpControllerStatus } from './controller.js';
export { DEFAULT_RATE_LIMIT, TokenBucket, type RateLimit } from './rate-limit.js';
export {
  POD_ENI, HAS_TRUNK_ATTACHED, SGP_FEATURE, BRANCH_DESCRIPTION, TRUNK_DESCRIPTION, TAG_CLUSTER, TAG_CREATED_AT, TAG_VLAN_ID, TAG_TRUNK_ENI_ID,
  branchRoom, decidePod, formatAnnotation, freeDeviceIndex, freeVlanId, leakedBranches, matchingGroups, parseAnnotation, podEniPatch, requestsPodEni, selectorMatches, trunkDeviceIndex, webhookPodKind,
  type BranchEni, type SecurityGroupPolicy,
} from './decide.js';
export { associateBranch, createBranch, createTrunk, describeNodeInstance } from './ec2.js';
export { review as reviewAdmission, validatePodAnnotation, VALIDATE_PATH, WEBHOOK_PATH } from './webhook.js';
