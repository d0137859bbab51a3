/**
 * What `lab up` gives the nodes for the cluster endpoint and the VPC's DNS (pure): the nodes' kubeconfig (the
 * in-VPC one with the endpoint's name as server), the API server's CA as a PEM file for EKS's DescribeCluster, and
 * each node's resolv.conf (its VPC's resolver at base + 2, EC2's search domain).
 */
import { parse as parseYaml } from 'yaml';
import { PodnetError } from '../lib/index.js';
import type { FabricPlan } from './plan.js';
import type { Scenario } from './scenario.js';

interface KubeconfigDoc {
  clusters: Array<{ name?: string; cluster: { server: string; 'certificate-authority-data'?: string } }>;
}

/** The nodes' kubeconfig: the in-VPC one with `server: https://<endpoint name>` (port 443); CA and token unchanged. */
export function endpointKubeconfig(vpcKubeconfig: string, hostname: string): string {
  const config = parseYaml(vpcKubeconfig) as KubeconfigDoc;
  for (const c of config.clusters) c.cluster.server = `https://${hostname}`;
  return JSON.stringify(config, null, 2) + '\n';
}

/** The API server's CA as PEM, from a kubeconfig's certificate-authority-data. */
export function kubeconfigCaPem(kubeconfig: string): string {
  const data = (parseYaml(kubeconfig) as KubeconfigDoc).clusters[0]?.cluster['certificate-authority-data'];
  if (!data) throw new PodnetError('LAB_FAILED', 'the API server\'s kubeconfig has no certificate-authority-data', 'see logs/k8s.log in the state directory');
  return Buffer.from(data, 'base64').toString('utf8');
}

/** EC2's search domain for a region: `<region>.compute.internal`, `ec2.internal` in us-east-1 (as its private names). */
export function ec2SearchDomain(region: string): string {
  return region === 'us-east-1' ? 'ec2.internal' : `${region}.compute.internal`;
}

/** A node's resolver: its VPC's (the VPC of its instance's subnet), or null when the plan has none (an older record). */
export function nodeVpcDns(plan: Pick<FabricPlan, 'vpcs'>, scenario: Pick<Scenario, 'instances' | 'subnets'>, instance: string, region: string): { nameserver: string; search: string[] } | null {
  const subnet = scenario.subnets.find((s) => s.name === scenario.instances.find((i) => i.name === instance)?.subnet);
  const vpc = plan.vpcs.find((v) => v.name === subnet?.vpc);
  return vpc?.dnsAddress ? { nameserver: vpc.dnsAddress, search: [ec2SearchDomain(region)] } : null;
}

export function nodeResolvConf(dns: { nameserver: string; search: string[] }): string {
  return `# the VPC's resolver (AmazonProvidedDNS, base + 2), written by podnet lab up\nnameserver ${dns.nameserver}\nsearch ${dns.search.join(' ')}\n`;
}
