/**
 * Max pods on an EKS Fargate node: one. Fargate runs each pod on its own node (its own microVM and network
 * interface in one of the Fargate profile's subnets); no instance type, ENI count or aws-node mode enters into it.
 */
export interface FargateLimits {
  compute: 'fargate';
  maxPods: 1;
  formula: string;
  notes: readonly string[];
}

export function fargateLimits(): FargateLimits {
  return {
    compute: 'fargate',
    maxPods: 1,
    formula: '1 pod per Fargate node (each pod gets its own node and its own network interface)',
    notes: ['on Fargate the pod\'s address is its node\'s network interface address; aws-node does not run there, so its settings (prefix delegation, custom networking, MAX_ENI, SNAT) do not apply'],
  };
}
