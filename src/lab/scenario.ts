/**
 * The lab's scenario file: the topology file (one schema, one loader: src/vpc) plus the lab's own
 * sections — which instances are Kubernetes nodes (their CNI env vars, labels, ENIConfigs), which are plain hosts
 * running the echo service, the internet hosts, and the pods to create at `lab up`.
 */
import { z } from 'zod';
import { loadConfig } from '../config/index.js';
import { PodnetError, parseSettings } from '../lib/index.js';
import { enisOnDefaultCard, lookupInstanceType, trunkLimits } from '../limits/index.js';
import { cidrContains, cidrsOverlap, formatCidr, isAddressText, parseAddress, parseCidr } from '../net/index.js';
import { matchingGroups, type SecurityGroupPolicy } from '../sgp-controller/index.js';
import { parseTopology, readYamlFile, rejectUnknownSections, topologySchema, type LabSection, type Topology } from '../vpc/index.js';

/** TEST-NET-2 and TEST-NET-3 (RFC 5737): the only addresses an internet host may have. */
export const TEST_NETS = ['198.51.100.0/24', '203.0.113.0/24'] as const;
/** The emulator's public IP / EIP pool (src/ec2 default); internet hosts must stay out of it. */
export const PUBLIC_IP_POOL = '203.0.113.0/24';

/** Lab names become namespace names (`pn-p-<name>`), so they stay short and shell-safe. */
/**
 * Where the lab's links between namespaces take their /30s (plan.ts): the start of the shared address space
 * (RFC 6598), room for 64 links. No subnet may overlap it.
 */
export const LAB_LINK_RANGE = parseCidr('100.64.0.0/24');

const labName = z.string().regex(/^[a-z0-9][a-z0-9-]{0,30}$/, 'a lab name: lowercase letters, digits and -, at most 31 characters');
const envMap = z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name'), z.union([z.string(), z.number(), z.boolean()]).transform(String));

/** Kubernetes labels (a pod's, a selector's matchLabels); their keys and values are checked with field paths below. */
const labelMap = z.record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String));

/** The lab's sections, typed against the one registry of sections (SECTIONS in src/vpc/topology.ts). */
const labSections = {
  /** Instances that are Kubernetes nodes: each runs `podnet ipamd` with these variables and the CNI. */
  nodes: z
    .array(
      z.strictObject({
        instance: z.string(),
        env: envMap.default({}),
        /** Node labels, e.g. k8s.amazonaws.com/eniConfig selects an ENIConfig (custom networking, §5.1). */
        labels: z.record(z.string(), z.string()).default({}),
      }),
    )
    .default([]),
  /** Instances that are plain hosts (no CNI): each runs the echo service on its primary address. */
  hosts: z.array(z.strictObject({ instance: z.string() })).default([]),
  /** Hosts on the emulated internet, at TEST-NET addresses outside the EIP pool. */
  internetHosts: z.array(z.strictObject({ name: labName, address: z.string() })).default([]),
  /** Hosts in an on-premises network (onPremises[].name), at an address inside its CIDR; they run the echo service. */
  onPremHosts: z.array(z.strictObject({ name: labName, network: z.string(), address: z.string() })).default([]),
  /** ENIConfig resources (custom networking): which subnet and security groups secondary ENIs use. */
  eniConfigs: z.array(z.strictObject({ name: z.string().min(1), subnet: z.string(), securityGroups: z.array(z.string()).default([]) })).default([]),
  /**
   * SecurityGroupPolicy objects (vpcresources.k8s.aws/v1beta1) created at `lab up` before the pods: the pods they
   * select get branch ENIs with these groups (scenario group names, or sg- ids) from `podnet sgp-controller`.
   */
  securityGroupPolicies: z
    .array(
      z.strictObject({
        name: z.string(),
        namespace: z.string().default('default'),
        /** matchLabels */
        podSelector: labelMap.optional(),
        /** matchLabels of the pod's service account */
        serviceAccountSelector: labelMap.optional(),
        securityGroups: z.array(z.string()),
      }),
    )
    .default([]),
  /** Pods created at `lab up`, through the CNI. */
  pods: z
    .array(z.strictObject({ name: labName, node: z.string(), hostNetwork: z.boolean().default(false), eni: z.number().int().min(0).optional(), labels: labelMap.optional() }))
    .default([]),
  lab: z
    .strictObject({
      /** The EC2 endpoint's address, inside the first VPC and outside every subnet (an interface VPC endpoint). */
      ec2Endpoint: z.string().optional(),
      /** TCP and UDP port of every echo service. */
      echoPort: z.number().int().min(1).max(65535).default(7007),
      /** `podnet sgp-controller --branch-cooldown`: how long a deleted pod's branch ENI waits (upstream 60 s). */
      branchCooldownSeconds: z.number().int().min(0).max(3600).default(60),
    })
    .default({ echoPort: 7007, branchCooldownSeconds: 60 }),
} satisfies Record<LabSection, z.ZodType>;

export const scenarioSchema = topologySchema.extend(labSections);

export type Scenario = z.infer<typeof scenarioSchema> & Topology;

/** The first VPC's second-to-last address: outside every subnet in the usual layouts. */
export function defaultEc2Endpoint(vpcCidr: string): string {
  const c = parseCidr(vpcCidr);
  const last = c.network + (1n << BigInt(32 - c.prefixLength)) - 2n;
  return [24n, 16n, 8n, 0n].map((s) => String((last >> s) & 255n)).join('.');
}

/**
 * Why a pod cannot sit behind ENI `eni` (a device index) of an instance of `type`, or undefined if it can: the
 * scenario's pods and `lab pod add --eni` are checked alike. Throws UNKNOWN_INSTANCE_TYPE for a type not in the table.
 */
export function eniIndexProblem(type: string, eni: number): string | undefined {
  const enis = enisOnDefaultCard(lookupInstanceType(type));
  return eni >= enis ? `${type} has ENIs 0..${enis - 1}, not ${eni}` : undefined;
}

/** Everything that is wrong with the lab sections, each with its field path. */
function checkLabSections(s: Scenario): string[] {
  const problems: string[] = [];
  const instances = new Map(s.instances.map((i) => [i.name, i]));
  const subnets = new Map(s.subnets.map((x) => [x.name, x]));
  const used = new Map<string, string>(); // lab name → where declared: FROM/TO share one namespace
  const claim = (n: string, path: string) => {
    const before = used.get(n);
    if (before) problems.push(`${path}: the name '${n}' is already used by ${before}`);
    else used.set(n, path);
  };
  const declaredInstances = () => [...instances.keys()].join(', ') || 'none';
  const roles = new Map<string, string>();

  // a lab without a node has nothing to run ipamd or pods on: an empty file, or a misplaced list, is a mistake
  if (s.nodes.length === 0) problems.push('nodes: no node is declared; a lab needs at least one instance that runs ipamd and the CNI');
  s.nodes.forEach((node, i) => {
    const path = `nodes[${i}]`;
    const inst = instances.get(node.instance);
    if (!inst) {
      problems.push(`${path}.instance: no instance named '${node.instance}' (declared: ${declaredInstances()})`);
      return;
    }
    if (roles.has(node.instance)) problems.push(`${path}.instance: '${node.instance}' is already ${roles.get(node.instance)}`);
    roles.set(node.instance, `${path}`);
    claim(node.instance, path);
    if (!labName.safeParse(node.instance).success) problems.push(`${path}.instance: a node's name '${node.instance}' must be lowercase letters, digits and -, at most 31 characters`);
    try {
      const enis = enisOnDefaultCard(lookupInstanceType(inst.type));
      if (enis < 2) problems.push(`${path}: instance type ${inst.type} has ${enis} ENI; the lab needs ≥ 2 so pods can sit behind a secondary ENI`);
    } catch (err) {
      problems.push(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
    for (const p of loadConfig(node.env).problems) {
      if (p.severity === 'error') problems.push(`${path}.env.${p.variable}: ${p.message} (${p.fix})`);
    }
  });
  s.hosts.forEach((host, i) => {
    const path = `hosts[${i}]`;
    if (!instances.has(host.instance)) {
      problems.push(`${path}.instance: no instance named '${host.instance}' (declared: ${declaredInstances()})`);
      return;
    }
    if (roles.has(host.instance)) problems.push(`${path}.instance: '${host.instance}' is already ${roles.get(host.instance)}`);
    roles.set(host.instance, path);
    if (!labName.safeParse(host.instance).success) problems.push(`${path}.instance: a host's name '${host.instance}' must be lowercase letters, digits and -, at most 31 characters`);
    claim(host.instance, path);
  });
  const pool = parseCidr(PUBLIC_IP_POOL);
  const seenAddresses = new Set<string>();
  s.internetHosts.forEach((h, i) => {
    const path = `internetHosts[${i}]`;
    claim(h.name, path);
    if (!isAddressText(h.address) || h.address.includes(':')) {
      problems.push(`${path}.address: '${h.address}' is not an IPv4 address`);
      return;
    }
    const a = parseAddress(h.address);
    if (!TEST_NETS.some((t) => cidrContains(parseCidr(t), a))) {
      problems.push(`${path}.address: ${h.address} is outside TEST-NET (${TEST_NETS.join(', ')}); the lab's internet uses documentation addresses only`);
    } else if (cidrContains(pool, a)) {
      problems.push(`${path}.address: ${h.address} is in the emulator's public IP pool ${PUBLIC_IP_POOL}; use 198.51.100.0/24`);
    }
    const last = Number(h.address.split('.')[3]);
    if (last === 0 || last === 255) problems.push(`${path}.address: ${h.address} is a network or broadcast address`);
    if (seenAddresses.has(h.address)) problems.push(`${path}.address: ${h.address} is used twice`);
    seenAddresses.add(h.address);
  });
  const onPremises = new Map(s.onPremises.map((n) => [n.name, n]));
  s.onPremHosts.forEach((h, i) => {
    const path = `onPremHosts[${i}]`;
    claim(h.name, path);
    const network = onPremises.get(h.network);
    if (!network) {
      problems.push(`${path}.network: no onPremises network named '${h.network}' (declared: ${[...onPremises.keys()].join(', ') || 'none'})`);
      return;
    }
    if (!isAddressText(h.address) || h.address.includes(':')) {
      problems.push(`${path}.address: '${h.address}' is not an IPv4 address`);
      return;
    }
    const cidr = parseCidr(network.cidr);
    if (!cidrContains(cidr, parseAddress(h.address))) problems.push(`${path}.address: ${h.address} is outside ${h.network} (${network.cidr})`);
    if (seenAddresses.has(h.address)) problems.push(`${path}.address: ${h.address} is used twice`);
    seenAddresses.add(h.address);
  });
  const nodeNames = new Map(s.nodes.map((n) => [n.instance, n]));
  s.pods.forEach((pod, i) => {
    const path = `pods[${i}]`;
    claim(pod.name, path);
    const node = nodeNames.get(pod.node);
    if (!node) {
      problems.push(`${path}.node: no node named '${pod.node}' (nodes: ${[...nodeNames.keys()].join(', ') || 'none'})`);
      return;
    }
    if (pod.eni !== undefined) {
      if (pod.hostNetwork) problems.push(`${path}.eni: a hostNetwork pod uses the node's addresses; drop eni or hostNetwork`);
      try {
        const problem = eniIndexProblem(instances.get(node.instance)!.type, pod.eni);
        if (problem) problems.push(`${path}.eni: ${problem}`);
      } catch {
        // the unknown type is already reported on the node
      }
    }
  });
  s.pods.forEach((pod, i) => {
    problems.push(...labelProblems(pod.labels, `pods[${i}].labels`));
    if (pod.labels && LAB_POD_LABEL in pod.labels) problems.push(`pods[${i}].labels.${LAB_POD_LABEL}: the lab sets this label to the pod's name; use another key`);
  });
  const policies = new Set<string>();
  s.securityGroupPolicies.forEach((p, i) => {
    const path = `securityGroupPolicies[${i}]`;
    if (!DNS_SUBDOMAIN.test(p.name) || p.name.length > 253) problems.push(`${path}.name: '${p.name}' is not a Kubernetes object name (lowercase letters, digits, - and .)`);
    if (!DNS_LABEL.test(p.namespace) || p.namespace.length > 63) problems.push(`${path}.namespace: '${p.namespace}' is not a namespace name (lowercase letters, digits and -, at most 63 characters)`);
    const key = `${p.namespace}/${p.name}`;
    if (policies.has(key)) problems.push(`${path}.name: ${key} is declared twice`);
    policies.add(key);
    // upstream ignores a policy without either selector (it selects nothing): in a scenario that is a mistake
    if (!p.podSelector && !p.serviceAccountSelector) problems.push(`${path}: give podSelector or serviceAccountSelector (matchLabels); a policy with neither selects no pod`);
    problems.push(...labelProblems(p.podSelector, `${path}.podSelector`), ...labelProblems(p.serviceAccountSelector, `${path}.serviceAccountSelector`));
    if (p.securityGroups.length === 0) problems.push(`${path}.securityGroups: a policy needs at least one security group`);
    p.securityGroups.forEach((g, j) => {
      if (!GROUP_ID.test(g) && !s.securityGroups.some((x) => x.name === g)) {
        problems.push(`${path}.securityGroups[${j}]: no security group named '${g}' (declared: ${s.securityGroups.map((x) => x.name).join(', ') || 'none'}; or give an sg- id)`);
      }
    });
  });
  // a scenario pod a policy selects needs a branch: its node must advertise the feature and its type trunk, or the
  // pod never runs and lab up fails a minute later (the upstream outcome — Pending — is for `lab pod add` to show)
  s.pods.forEach((pod, i) => {
    const policy = s.securityGroupPolicies.find((p) => policySelectsLabPod(p, pod));
    const node = nodeNames.get(pod.node);
    const type = node && instances.get(node.instance)?.type;
    if (!policy || !node || !type || pod.hostNetwork) return;
    // `eni` asks for an address behind one of the node's ENIs: a branch pod's address is its branch ENI's, on no device
    if (pod.eni !== undefined) problems.push(`pods[${i}].eni: policy ${policy.namespace}/${policy.name} selects the pod, so its address is its own branch ENI's, behind none of the node's devices; drop eni (or the labels the policy selects)`);
    if (!loadConfig(node.env).config.enablePodEni) problems.push(`pods[${i}]: policy ${policy.namespace}/${policy.name} selects it, but node '${pod.node}' does not set ENABLE_POD_ENI=true, so it can have no branch ENI`);
    else if (trunkLimits(type).branchInterfaces === 0) problems.push(`pods[${i}]: policy ${policy.namespace}/${policy.name} selects it, but node '${pod.node}' is a ${type}, which cannot trunk (no branch ENIs); use a trunking-compatible type such as m5.large`);
  });
  // the lab's fabric makes each branch's vlan.eth.<id> (its router port, neighbour entry and filtering hang on it): an
  // ipamd in create mode would delete that link at ADD and make its own, which no router port is behind
  s.nodes.forEach((n, i) => {
    const mode = n.env.PODNET_BRANCH_VLAN_LINK;
    if (mode !== undefined && mode !== 'fabric') problems.push(`nodes[${i}].env.PODNET_BRANCH_VLAN_LINK: '${mode}': the lab's fabric supplies vlan.eth.<id>; only fabric`);
  });
  s.eniConfigs.forEach((c, i) => {
    if (!subnets.has(c.subnet)) problems.push(`eniConfigs[${i}].subnet: no subnet named '${c.subnet}'`);
    c.securityGroups.forEach((g, j) => {
      if (!s.securityGroups.some((x) => x.name === g)) problems.push(`eniConfigs[${i}].securityGroups[${j}]: no security group named '${g}'`);
    });
  });
  for (let i = 0; i < s.vpcs.length; i++) {
    for (let j = i + 1; j < s.vpcs.length; j++) {
      if (cidrsOverlap(parseCidr(s.vpcs[i]!.cidr), parseCidr(s.vpcs[j]!.cidr))) {
        problems.push(`vpcs[${j}].cidr: ${s.vpcs[j]!.cidr} overlaps vpcs[${i}] ${s.vpcs[i]!.cidr}; the lab routes VPCs by address`);
      }
      // secondary blocks too: AWS allows the same block in two VPCs that are not peered, the lab's aws namespace cannot
      const blocks = (v: Scenario['vpcs'][number]) => [v.cidr, ...v.secondaryCidrs];
      s.vpcs[j]!.secondaryCidrs.forEach((c, k) => {
        const other = blocks(s.vpcs[i]!).find((b) => cidrsOverlap(parseCidr(b), parseCidr(c)));
        if (other) problems.push(`vpcs[${j}].secondaryCidrs[${k}]: ${c} overlaps ${other} of vpcs[${i}]; the lab routes VPCs by address`);
      });
      const primary = s.vpcs[j]!.cidr;
      const clash = s.vpcs[i]!.secondaryCidrs.find((b) => cidrsOverlap(parseCidr(b), parseCidr(primary)));
      if (clash) problems.push(`vpcs[${j}].cidr: ${primary} overlaps ${clash} of vpcs[${i}]; the lab routes VPCs by address`);
    }
  }
  // the lab's own links between namespaces are /30s from the start of 100.64.0.0/10, where custom networking's
  // secondary blocks often are: a subnet there would hand out the links' addresses
  s.subnets.forEach((x, i) => {
    if (cidrsOverlap(parseCidr(x.cidr), LAB_LINK_RANGE)) {
      problems.push(`subnets[${i}].cidr: ${x.cidr} overlaps ${formatCidr(LAB_LINK_RANGE)}, which the lab uses for its links between namespaces; put the subnet elsewhere in the VPC block (e.g. 100.64.32.0/19)`);
    }
  });
  const first = s.vpcs[0];
  if (first && (s.nodes.length > 0 || s.hosts.length > 0)) {
    const endpoint = s.lab.ec2Endpoint ?? defaultEc2Endpoint(first.cidr);
    if (!isAddressText(endpoint) || endpoint.includes(':')) problems.push(`lab.ec2Endpoint: '${endpoint}' is not an IPv4 address`);
    else {
      const a = parseAddress(endpoint);
      if (!cidrContains(parseCidr(first.cidr), a)) problems.push(`lab.ec2Endpoint: ${endpoint} is outside the first VPC ${first.cidr}`);
      const inSubnet = s.subnets.find((x) => cidrContains(parseCidr(x.cidr), a));
      if (inSubnet) problems.push(`lab.ec2Endpoint: ${endpoint} is inside subnet ${inSubnet.name} (${inSubnet.cidr}); pick an address of ${first.cidr} outside every subnet`);
    }
  }
  return problems;
}

/** The label the lab puts on each of its pods (its lab name): podByKey finds pods by it. */
export const LAB_POD_LABEL = 'podnet.io/lab-pod';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const LABEL_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const GROUP_ID = /^sg-[0-9a-f]{8,17}$/;

/**
 * Whether a policy selects a scenario pod, by the sgp-controller's own matching: the pod's labels as the lab creates
 * the Pod (its own and {@link LAB_POD_LABEL}), namespace default, service account `default` (no labels).
 */
export function policySelectsLabPod(p: Scenario['securityGroupPolicies'][number], pod: Pick<Scenario['pods'][number], 'name' | 'labels'>): boolean {
  const policy: SecurityGroupPolicy = {
    metadata: { name: p.name, namespace: p.namespace },
    spec: {
      ...(p.podSelector && { podSelector: { matchLabels: p.podSelector } }),
      ...(p.serviceAccountSelector && { serviceAccountSelector: { matchLabels: p.serviceAccountSelector } }),
      securityGroups: { groupIds: p.securityGroups },
    },
  };
  return matchingGroups([policy], { namespace: 'default', labels: { ...pod.labels, [LAB_POD_LABEL]: pod.name } }, {}).length > 0;
}

/** Kubernetes' rules for label keys (`[prefix/]name`) and values, each broken one named at `path.<key>` (`lab pod add --label` too). */
export function labelProblems(labels: Record<string, string> | undefined, path: string): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(labels ?? {})) {
    const slash = key.lastIndexOf('/');
    const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
    const name = key.slice(slash + 1);
    if (prefix !== undefined && (!DNS_SUBDOMAIN.test(prefix) || prefix.length > 253)) problems.push(`${path}.${key}: the key's prefix '${prefix}' is not a DNS subdomain`);
    if (!LABEL_NAME.test(name) || name.length > 63) problems.push(`${path}.${key}: a label key's name is 1–63 letters, digits, -, _ or ., starting and ending with a letter or digit`);
    if (value !== '' && (!LABEL_NAME.test(value) || value.length > 63)) problems.push(`${path}.${key}: the value '${value}' is not a label value (at most 63 letters, digits, -, _ or ., starting and ending with a letter or digit)`);
  }
  return problems;
}

/** Validates a parsed document as a scenario: the topology's checks, then the lab sections'. */
export function parseScenario(document: unknown, source = 'scenario'): Scenario {
  rejectUnknownSections(document, source);
  const scenario = parseSettings(scenarioSchema, document ?? {}, source) as Scenario;
  parseTopology(document, source);
  const problems = checkLabSections(scenario);
  if (problems.length > 0) {
    throw new PodnetError('CONFIG_INVALID', `invalid ${source}: ${problems.join('; ')}`, 'fix the fields named above (docs/lab.md, "The lab scenario file", lists them)');
  }
  return scenario;
}

export async function loadScenario(path: string): Promise<Scenario> {
  const document = readYamlFile(path, 'scenario file', 'check the path, or run without one for the default scenario (examples/lab.yaml)');
  return parseScenario(document, `scenario file ${path}`);
}

/** The default scenario, shipped as examples/lab.yaml next to src/ and dist/. */
export const defaultScenarioPath = new URL('../../examples/lab.yaml', import.meta.url).pathname;
