/**
 * Custom networking without an API server (spec §5.1): the ENIConfig objects and this node's labels and
 * annotations come from a YAML file (PODNET_ENI_CONFIG_FILE), and the node's ENIConfig is chosen as upstream's
 * GetNodeSpecificENIConfigName does.
 *
 * File shape:
 *   node:
 *     name: ip-10-0-1-10
 *     labels: { topology.kubernetes.io/zone: us-west-2a }
 *     annotations: { k8s.amazonaws.com/eniConfig: pods-a }
 *     capacity: { pods: 110 }       # optional: the kubelet's max pods (else the instance type's table value)
 *   eniConfigs:                      # ENIConfig objects as `kubectl get eniconfigs -o yaml` lists them
 *     - apiVersion: crd.k8s.amazonaws.com/v1alpha1
 *       kind: ENIConfig
 *       metadata: { name: pods-a }
 *       spec: { subnet: subnet-0a1, securityGroups: [sg-0b2] }
 */
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { PodnetError, readUserFile } from '../lib/index.js';

export interface EniConfig {
  name: string;
  subnet: string;
  /** Empty: new ENIs get the primary ENI's security groups (spec §5.1). */
  securityGroups: string[];
}

export interface NodeFacts {
  name: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** node.status.capacity.pods, which upstream reads from the API server as max pods (spec §4.14 step 8). */
  capacityPods?: number;
}

export interface EniConfigFile {
  node: NodeFacts;
  eniConfigs: EniConfig[];
}

/** The label that overrides every other way of naming the node's ENIConfig (spec §5.1). */
const EXTERNAL_ENI_CONFIG_LABEL = 'vpc.amazonaws.com/externalEniConfig';
const DEFAULT_ENI_CONFIG_NAME = 'default';

const stringMap = z.record(z.string(), z.string()).default({});
const fileSchema = z.strictObject({
  node: z
    .object({ name: z.string().default(''), labels: stringMap, annotations: stringMap, capacity: z.object({ pods: z.number().int().min(1) }).optional() })
    .default({ name: '', labels: {}, annotations: {} }),
  eniConfigs: z
    .array(
      z.object({
        apiVersion: z.literal('crd.k8s.amazonaws.com/v1alpha1').optional(),
        kind: z.literal('ENIConfig').optional(),
        metadata: z.object({ name: z.string().min(1) }),
        // the CRD: subnet required, securityGroups optional (spec §5.1)
        spec: z.object({ subnet: z.string().regex(/^subnet-[0-9a-z]+$/, 'a subnet id like subnet-0a1b2c'), securityGroups: z.array(z.string().regex(/^sg-[0-9a-z]+$/, 'a security group id like sg-0a1b2c')).default([]) }),
      }),
    )
    .default([]),
});

export function parseEniConfigFile(text: string, path: string): EniConfigFile {
  let doc: unknown;
  try {
    doc = parseYaml(text);
  } catch (err) {
    throw new PodnetError('CONFIG_INVALID', `${path} is not YAML: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`,
      'write a mapping with `node:` (labels, annotations) and `eniConfigs:` (a list of ENIConfig objects)');
  }
  const result = fileSchema.safeParse(doc ?? {});
  if (!result.success) {
    const problems = result.error.issues.map((i) => `${i.path.map(String).join('.') || '(top level)'}: ${i.message}`);
    throw new PodnetError('CONFIG_INVALID', `${path}: ${problems.join('; ')}`,
      'each ENIConfig needs metadata.name and spec.subnet (spec.securityGroups is optional); node has labels and annotations');
  }
  const names = new Set<string>();
  const eniConfigs = result.data.eniConfigs.map((o) => {
    if (names.has(o.metadata.name)) {
      throw new PodnetError('CONFIG_INVALID', `${path}: ENIConfig ${o.metadata.name} is listed twice`, 'ENIConfig names are unique (the CRD is cluster-scoped)');
    }
    names.add(o.metadata.name);
    return { name: o.metadata.name, subnet: o.spec.subnet, securityGroups: o.spec.securityGroups };
  });
  const { capacity, ...node } = result.data.node;
  return { node: { ...node, ...(capacity && { capacityPods: capacity.pods }) }, eniConfigs };
}

export function readEniConfigFile(path: string): EniConfigFile {
  const text = readUserFile(path, 'ENIConfig file',
    'set PODNET_ENI_CONFIG_FILE to a readable YAML file with the ENIConfigs and this node\'s labels and annotations');
  return parseEniConfigFile(text, path);
}

/**
 * GetNodeSpecificENIConfigName (spec §5.1): label vpc.amazonaws.com/externalEniConfig, then the annotation
 * ENI_CONFIG_ANNOTATION_DEF, then the label ENI_CONFIG_LABEL_DEF, then "default". Empty values do not count.
 */
export function nodeEniConfigName(node: NodeFacts, keys: { annotation: string; label: string }): string {
  const candidates = [node.labels[EXTERNAL_ENI_CONFIG_LABEL], node.annotations[keys.annotation], node.labels[keys.label]];
  return candidates.find((v) => v !== undefined && v !== '') ?? DEFAULT_ENI_CONFIG_NAME;
}

/** MyENIConfig: the chosen object, or ErrNoENIConfig as a named error (ENI allocation fails without it). */
export function selectEniConfig(file: EniConfigFile, keys: { annotation: string; label: string }): EniConfig {
  const name = nodeEniConfigName(file.node, keys);
  const found = file.eniConfigs.find((c) => c.name === name);
  if (!found) {
    const known = file.eniConfigs.map((c) => c.name).join(', ') || 'none';
    throw new PodnetError('CONFIG_INVALID', `this node selects ENIConfig "${name}", which does not exist (known: ${known})`,
      `add an ENIConfig named ${name}, or set the node label ${keys.label} / annotation ${keys.annotation} to an existing one`);
  }
  return found;
}
