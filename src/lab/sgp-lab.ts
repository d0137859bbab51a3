/**
 * Security groups for pods in the lab: when the lab runs `podnet sgp-controller` (beside the API server in the aws
 * namespace, as the VPC resource controller runs beside EKS's control plane), with which identity and flags. Pure; lab
 * up starts it (lab.ts).
 */
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../config/index.js';
import type { Scenario } from './scenario.js';

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
