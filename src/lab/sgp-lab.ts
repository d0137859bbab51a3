/**
 * Security groups for pods in the lab: when the lab runs `podnet sgp-controller` (beside the API server in the aws
 * namespace, as the VPC resource controller runs beside EKS's control plane), with which identity and flags. Pure; lab
 * up starts it (lab.ts).
 */
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../config/index.js';
import type { Ec2Facts } from '../ec2/index.js';
import { policySelectsLabPod, type Scenario } from './scenario.js';

/** The process name (and so logs/sgp-controller.log) of the lab's controller. */
export const SGP_CONTROLLER = 'sgp-controller';

/** Where its pod webhooks listen: loopback of the aws namespace, where the API server calls them. */
export const SGP_WEBHOOK_LISTEN = '127.0.0.1:9443';

/** deploy/30-sgp-controller-rbac.yaml's ServiceAccount: the controller holds only that RBAC (and it is the annotation's one writer). */
export const SGP_SERVICE_ACCOUNT = { namespace: 'kube-system', name: 'podnet-sgp-controller' } as const;

/** The name the lab's controller tags its ENIs with (`--cluster`): the scenario's EKS cluster, else `lab`. */
export function sgpClusterName(scenario: Pick<Scenario, 'cluster'>): string {
  return scenario.cluster?.name ?? 'lab';
}

/** The lab runs the controller when some node advertises the feature (ENABLE_POD_ENI=true) or the scenario has policies. */
export function needsSgpController(scenario: Pick<Scenario, 'nodes' | 'securityGroupPolicies'>, defaults: Record<string, string> = {}): boolean {
  return scenario.securityGroupPolicies.length > 0 || scenario.nodes.some((n) => loadConfig({ ...defaults, ...n.env }).config.enablePodEni);
}

/** `podnet sgp-controller`'s arguments in the lab: the lab's EC2 endpoint and region, always explicit. */
export function sgpControllerArgs(o: { kubeconfig: string; ec2Url: string; region: string; cluster: string; branchCooldownSeconds: number }): string[] {
  return [
    'sgp-controller', '--kubeconfig', o.kubeconfig, '--ec2-endpoint', o.ec2Url, '--region', o.region, '--cluster', o.cluster,
    '--webhook-listen', SGP_WEBHOOK_LISTEN, '--branch-cooldown', String(o.branchCooldownSeconds), '--json',
  ];
}

/**
 * A kubeconfig for the controller inside the lab: the in-VPC one's server and CA (the API server beside it), the
 * ServiceAccount's token as its user.
 */
export function sgpControllerKubeconfig(vpcKubeconfig: string, token: string): string {
  const config = parseYaml(vpcKubeconfig) as { clusters: Array<{ name: string; cluster: Record<string, unknown> }>; 'current-context'?: string; contexts?: Array<{ name: string; context: { cluster: string } }> };
  const current = config.contexts?.find((c) => c.name === config['current-context'])?.context.cluster;
  const cluster = config.clusters.find((c) => c.name === current) ?? config.clusters[0]!;
  const user = `system:serviceaccount:${SGP_SERVICE_ACCOUNT.namespace}:${SGP_SERVICE_ACCOUNT.name}`;
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'lab', cluster: cluster.cluster }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'lab', context: { cluster: 'lab', user } }],
    'current-context': 'lab',
  }, null, 2) + '\n';
}

/**
 * What is wrong with the policies' groups as EC2 has them (checked at `lab up` before any pod is made): an sg- id EC2
 * does not know, or a group in another VPC than the node of a scenario pod the policy selects. Either way the
 * controller could make no branch ENI and the pod would wait a minute for nothing.
 */
export function policyGroupProblems(scenario: Pick<Scenario, 'securityGroupPolicies' | 'pods' | 'instances'>, facts: Pick<Ec2Facts, 'securityGroups' | 'subnets' | 'vpcs'>): string[] {
  const problems: string[] = [];
  const vpcName = (id: string) => facts.vpcs.find((v) => v.id === id)?.name ?? id;
  const nodeVpc = (instance: string) => {
    const subnet = scenario.instances.find((i) => i.name === instance)?.subnet;
    return facts.subnets.find((x) => x.name === subnet)?.vpcId;
  };
  scenario.securityGroupPolicies.forEach((p, i) => {
    const selected = scenario.pods.filter((pod) => !pod.hostNetwork && policySelectsLabPod(p, pod));
    p.securityGroups.forEach((g, j) => {
      const group = facts.securityGroups.find((x) => x.name === g) ?? facts.securityGroups.find((x) => x.id === g);
      if (!group) {
        problems.push(`securityGroupPolicies[${i}].securityGroups[${j}]: EC2 has no security group ${g}`);
        return;
      }
      for (const pod of selected) {
        const vpc = nodeVpc(pod.node);
        if (vpc !== undefined && vpc !== group.vpcId) problems.push(`securityGroupPolicies[${i}].securityGroups[${j}]: ${g} is in VPC ${vpcName(group.vpcId)}, but pod ${pod.name}'s node ${pod.node} is in ${vpcName(vpc)}; a branch ENI takes groups of its own VPC only`);
      }
    });
  });
  return problems;
}
