/**
 * A real account as `podnet explain --aws` sees it (a World), read with describe calls only — the VPCs through
 * describe-vpc.ts (the facts the lab's fabric is compiled from), plus every network interface with its attachment's
 * device index, its addresses, prefixes, public IPs, groups and interface type, and the trunk associations (security
 * groups for pods: which branch ENI rides which trunk on which VLAN) — and the nodes' ipamd settings from a file
 * (KEY=VALUE lines or the aws-node DaemonSet manifest, read as `podnet config --env-file` reads them). Which instances
 * are Kubernetes nodes comes from EKS's tags; a pod is an address on a node's ENI, or a branch ENI's on a node's trunk.
 * Any endpoint works alike: real AWS or the emulator (`--endpoint-url`).
 */
import {
  DescribeNetworkInterfacesCommand,
  DescribeTrunkInterfaceAssociationsCommand,
  EC2Client,
  type Instance,
  type NetworkInterface as SdkNetworkInterface,
  type TrunkInterfaceAssociation,
} from '@aws-sdk/client-ec2';
import { z } from 'zod';
import { loadConfig, readEnvFile } from '../config/index.js';
import { nodeSettingsOf, type AttachedEni, type Endpoint, type NodeSettings, type NodeView, type World } from '../explain/index.js';
import { PodnetError } from '../lib/index.js';
import { formatAddress, parseCidr } from '../net/index.js';
import { describeVpcResources, factsOf, nameTagOf } from './describe-vpc.js';

export interface AwsExplainOptions {
  region?: string;
  /** another EC2 endpoint (the emulator's), as the SDK's endpoint setting */
  endpointUrl?: string;
  /** the nodes' ipamd settings: KEY=VALUE lines or the aws-node DaemonSet manifest */
  nodeConfig: string;
  /** the EKS cluster whose instances are the nodes; default: every instance tagged for a cluster, else every instance */
  cluster?: string;
}

/** What `podnet explain --aws` asks of an account: its World (the caller gives the port: an account has no default). */
export async function awsExplainSource(o: AwsExplainOptions): Promise<{ world: World }> {
  const settings = readNodeSettings(o.nodeConfig);
  const client = new EC2Client({ ...(o.region ? { region: o.region } : {}), ...(o.endpointUrl ? { endpoint: o.endpointUrl } : {}), maxAttempts: 3 });
  nameFailedCalls(client);
  try {
    return { world: await awsWorld(client, settings, o.cluster) };
  } catch (err) {
    throw describeFailure(err, o);
  } finally {
    client.destroy();
  }
}

/** The nodes' settings out of FILE; a setting aws-node would refuse is a usage error naming it. */
export function readNodeSettings(path: string): NodeSettings {
  const file = readEnvFile(path);
  const loaded = loadConfig(file.env, { source: 'file' });
  const errors = loaded.problems.filter((p) => p.severity === 'error');
  if (errors.length > 0) {
    throw new PodnetError('USAGE', `--node-config ${path}: ${errors.map((p) => `${p.variable}: ${p.message}`).join('; ')}`, errors.map((p) => p.fix).join('; '));
  }
  return nodeSettingsOf(loaded.config);
}

/** The World of the account behind `client`, with every node running `settings`. */
export async function awsWorld(client: EC2Client, settings: NodeSettings, cluster?: string): Promise<World> {
  const [resources, interfaces, associations] = await Promise.all([describeVpcResources(client), describeNetworkInterfaces(client), describeTrunkAssociations(client)]);
  const facts = factsOf(resources);
  const trunks = new Map('denied' in associations ? [] : associations.map((a) => [a.branchEniId, { trunkEniId: a.trunkEniId, vlanId: a.vlanId }]));
  const enis = interfaces.map((n) => attachedEni(n, trunks.get(n.NetworkInterfaceId!)));
  const warnings = 'denied' in associations ? unreadTrunks(associations.denied, enis) : [];
  const running = resources.instances.filter((i) => i.State?.Name !== 'shutting-down' && i.State?.Name !== 'stopped' && i.State?.Name !== 'stopping');
  const nodeIds = new Set(nodesOf(running, cluster).map((i) => i.InstanceId!));
  // a Name tag two instances share would pick one of them silently: those are asked for by instance id only
  const nameCounts = new Map<string, number>();
  for (const i of running) nameCounts.set(nameTagOf(i.Tags), (nameCounts.get(nameTagOf(i.Tags)) ?? 0) + 1);
  const nameOf = (i: Instance) => (nameTagOf(i.Tags) && nameCounts.get(nameTagOf(i.Tags)) === 1 ? nameTagOf(i.Tags) : i.InstanceId!);

  const nodes: NodeView[] = running.filter((i) => nodeIds.has(i.InstanceId!)).map((i) => ({
    name: nameOf(i),
    instanceId: i.InstanceId!,
    settings,
    // what a node of today's EKS AMIs has (AL2023: nf_tables iptables with --random-fully); the rules name the
    // primary link eth0, as upstream's do
    connmarkBackend: 'nftables',
    primaryInterface: 'eth0',
    randomFullySupported: true,
  }));
  const endpoints: Endpoint[] = running.flatMap((i): Endpoint[] => {
    const address = i.PrivateIpAddress;
    if (!address) return [];
    const kind = nodeIds.has(i.InstanceId!) ? 'node' : 'host';
    // by Name tag and by instance id, whichever the user gives
    const names = [...new Set([nameOf(i), i.InstanceId!])];
    return names.map((name) => ({ name, kind, address }));
  });
  // EC2 knows no pods: every address a node's ENIs hold besides their primary ones (secondary IPs, prefixes' addresses)
  // is one ipamd hands to pods, and a branch ENI on a node's trunk is one pod's (its primary address), so each is a
  // pod of that node, named by its address
  for (const eni of enis) {
    const instanceId = eni.trunk ? enis.find((t) => t.eniId === eni.trunk!.trunkEniId)?.instanceId : eni.instanceId;
    const node = nodes.find((n) => n.instanceId === instanceId);
    if (!node) continue;
    const addresses = eni.trunk ? eni.privateIps.slice(0, 1) : [...eni.privateIps.slice(1), ...eni.ipv4Prefixes.flatMap(prefixAddresses)];
    for (const address of addresses) endpoints.push({ name: address, kind: 'pod', address, node: node.name });
  }
  const instanceNames = Object.fromEntries(running.map((i) => [i.InstanceId!, nameOf(i)]));
  // EC2 does not know the networks behind a VPN or Direct Connect: none is modelled (their addresses are unknown networks)
  return { source: 'aws', model: { ...facts, onPremises: [], enis }, nodes, endpoints, instanceNames, ...(warnings.length > 0 ? { warnings } : {}) };
}

/**
 * The instances that are this cluster's nodes, by the tags EKS puts on them (`eks:cluster-name`, and
 * `kubernetes.io/cluster/<name>` from the cloud provider and self-managed groups). Without a cluster: every instance
 * tagged for some cluster, or, where none is, every instance.
 */
function nodesOf(instances: Instance[], cluster: string | undefined): Instance[] {
  const clustersOf = (i: Instance) => (i.Tags ?? []).flatMap((t) => {
    if (t.Key === 'eks:cluster-name' && t.Value) return [t.Value];
    const m = /^kubernetes\.io\/cluster\/(.+)$/.exec(t.Key ?? '');
    return m ? [m[1]!] : [];
  });
  if (cluster === undefined) {
    const tagged = instances.filter((i) => clustersOf(i).length > 0);
    return tagged.length > 0 ? tagged : instances;
  }
  const members = instances.filter((i) => clustersOf(i).includes(cluster));
  if (members.length === 0) {
    const known = [...new Set(instances.flatMap(clustersOf))].sort();
    throw new PodnetError('USAGE', `no instance is tagged as a node of cluster ${cluster} (eks:cluster-name or kubernetes.io/cluster/${cluster})`,
      known.length > 0 ? `clusters the instances are tagged for: ${known.join(', ')}` : 'no instance carries an EKS cluster tag: drop --cluster to take every instance as a node');
  }
  return members;
}

/** Every address of an IPv4 prefix (ipamd hands each of a /28's 16 to a pod). */
function prefixAddresses(prefix: string): string[] {
  const c = parseCidr(prefix);
  const size = 1n << BigInt(32 - c.prefixLength);
  return Array.from({ length: Number(size) }, (_, k) => formatAddress({ family: 4, value: c.network + BigInt(k) }));
}

async function describeNetworkInterfaces(client: EC2Client): Promise<SdkNetworkInterface[]> {
  const found: SdkNetworkInterface[] = [];
  let token: string | undefined;
  do {
    const page = await client.send(new DescribeNetworkInterfacesCommand({ MaxResults: 1000, ...(token ? { NextToken: token } : {}) }));
    found.push(...(page.NetworkInterfaces ?? []));
    token = page.NextToken;
  } while (token);
  return found;
}

/**
 * EC2's InterfaceType: a word of letters, digits, `_` and `-` that starts lower-case, as every value EC2 documents or
 * sends is (`interface`, `trunk`, `branch`, `efa-only`, `natGateway`, `nat_gateway`, `gateway_load_balancer_endpoint`).
 * EC2 adds types now and then, so any such word is taken; explain acts on `trunk` alone.
 */
const interfaceTypeSchema = z.string().regex(/^[a-z][A-Za-z0-9_-]*$/);

/** A VLAN association as DescribeTrunkInterfaceAssociations lists it (AssociateTrunkInterface's VLAN ids are 1–4094). */
const vlanAssociationSchema = z.object({
  BranchInterfaceId: z.string().regex(/^eni-[0-9a-f]+$/),
  TrunkInterfaceId: z.string().regex(/^eni-[0-9a-f]+$/),
  InterfaceProtocol: z.literal('VLAN').optional(),
  VlanId: z.number().int().min(1).max(4094),
});

/** A value EC2 sent, as its schema wants it, or a failure naming the call, the field and the value. */
function fromWire<T extends z.ZodType>(schema: T, value: unknown, call: string, field: string): z.infer<T> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  throw new PodnetError('FAILED', `EC2 answered ${call} with ${field} ${JSON.stringify(value)}, which is not what EC2 documents (${parsed.error.issues.map((i) => `${i.path.join('.') || 'value'}: ${i.message}`).join('; ')})`,
    'check --endpoint-url (is it EC2, or an emulator of it?); if it is EC2, report it with the value above');
}

interface VlanAssociation {
  branchEniId: string;
  trunkEniId: string;
  vlanId: number;
}

/**
 * Every trunk's VLAN associations (GRE ones, which ENI trunking for pods does not use, left out), or the error's name
 * when the credentials may not list them: an optional read, without which branch pods are not explained as such.
 */
async function describeTrunkAssociations(client: EC2Client): Promise<VlanAssociation[] | { denied: string }> {
  const found: TrunkInterfaceAssociation[] = [];
  let token: string | undefined;
  try {
    do {
      // MaxResults: 5–255 (EC2 API reference)
      const page = await client.send(new DescribeTrunkInterfaceAssociationsCommand({ MaxResults: 255, ...(token ? { NextToken: token } : {}) }));
      found.push(...(page.InterfaceAssociations ?? []));
      token = page.NextToken;
    } while (token);
  } catch (err) {
    if (err instanceof Error && DENIED.has(err.name)) return { denied: err.name };
    throw err;
  }
  return found.filter((a) => a.InterfaceProtocol !== 'GRE').map((a) => {
    const v = fromWire(vlanAssociationSchema, a, 'DescribeTrunkInterfaceAssociations', `association ${a.AssociationId ?? '(no id)'}`);
    return { branchEniId: v.BranchInterfaceId, trunkEniId: v.TrunkInterfaceId, vlanId: v.VlanId };
  });
}

/** What a refused DescribeTrunkInterfaceAssociations costs the answers: nothing without branch ENIs, else their trunks. */
function unreadTrunks(code: string, enis: readonly AttachedEni[]): string[] {
  const branches = enis.filter((e) => e.interfaceType === 'branch').map((e) => e.eniId);
  if (branches.length === 0) return [];
  const listed = branches.length > 3 ? `${branches.slice(0, 3).join(', ')}, …` : branches.join(', ');
  return [
    `EC2 refused DescribeTrunkInterfaceAssociations (${code}: the credentials lack ec2:DescribeTrunkInterfaceAssociations), so the ${branches.length} branch ENI${branches.length === 1 ? '' : 's'} (${listed}) ` +
      `${branches.length === 1 ? 'is' : 'are'} read without their trunk and VLAN: a branch pod's address is explained as a plain host on its branch ENI (its groups, no node rules); ` +
      'grant ec2:DescribeTrunkInterfaceAssociations (docs/iam-policy.md, "podnet explain --aws") to explain branch pods',
  ];
}

function attachedEni(n: SdkNetworkInterface, trunk: AttachedEni['trunk']): AttachedEni {
  const addresses = n.PrivateIpAddresses ?? [];
  // primary first, as EC2's mapping lists them
  const privateIps = [...addresses].sort((a, b) => Number(b.Primary ?? false) - Number(a.Primary ?? false)).map((a) => a.PrivateIpAddress!);
  const publicIps = Object.fromEntries(addresses.flatMap((a) => (a.Association?.PublicIp ? [[a.PrivateIpAddress!, a.Association.PublicIp]] : [])));
  const attachment = n.Attachment && n.Attachment.Status !== 'detached' ? n.Attachment : undefined;
  return {
    eniId: n.NetworkInterfaceId!,
    vpcId: n.VpcId!,
    subnetId: n.SubnetId!,
    privateIps: privateIps.length > 0 ? privateIps : n.PrivateIpAddress ? [n.PrivateIpAddress] : [],
    ipv4Prefixes: (n.Ipv4Prefixes ?? []).map((p) => p.Ipv4Prefix!),
    publicIps,
    groupIds: (n.Groups ?? []).map((g) => g.GroupId!),
    instanceId: attachment?.InstanceId ?? null,
    deviceIndex: attachment?.DeviceIndex ?? null,
    ...(trunk ? { trunk } : {}),
    ...(n.InterfaceType !== undefined ? { interfaceType: fromWire(interfaceTypeSchema, n.InterfaceType, 'DescribeNetworkInterfaces', `InterfaceType of ${n.NetworkInterfaceId}`) } : {}),
  };
}

/** Each failed call's error carries its command's name, so a refusal can name the permission it lacked. */
function nameFailedCalls(client: EC2Client): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        return await next(args);
      } catch (err) {
        if (err && typeof err === 'object') Object.assign(err, { podnetCommand: context.commandName });
        throw err;
      }
    },
    { step: 'initialize', name: 'podnetNameFailedCall' },
  );
}

const DENIED = new Set(['UnauthorizedOperation', 'AccessDenied', 'AccessDeniedException', 'UnauthorizedAccess']);
const BAD_CREDENTIALS = new Set(['AuthFailure', 'InvalidClientTokenId', 'SignatureDoesNotMatch', 'ExpiredToken', 'RequestExpired']);

/** An SDK failure as the user's problem (exit 1, or 2 for what they typed) with what to do; anything else unchanged. */
function describeFailure(err: unknown, o: AwsExplainOptions): unknown {
  if (err instanceof PodnetError || !(err instanceof Error)) return err;
  const command = (err as { podnetCommand?: string }).podnetCommand;
  const action = command?.replace(/Command$/, '');
  const where = o.endpointUrl ? `the EC2 endpoint ${o.endpointUrl}` : 'EC2';
  if (DENIED.has(err.name)) {
    const permission = action ? `ec2:${action}` : 'a describe permission';
    return new PodnetError('FAILED', `${where} refused ${action ?? 'a describe call'}: the credentials lack ${permission} (${err.name})`,
      `grant the read-only policy in docs/iam-policy.md ("podnet explain --aws"), which includes ${permission}`, { cause: err });
  }
  if (err.name === 'CredentialsProviderError' || BAD_CREDENTIALS.has(err.name)) {
    return new PodnetError('FAILED', `no usable AWS credentials: ${err.message.split('\n')[0]}`,
      'set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or run where an instance or pod role provides them', { cause: err });
  }
  if (/region is missing/i.test(err.message)) {
    return new PodnetError('USAGE', 'no AWS region: --region is not given and the environment names none', 'pass --region (e.g. --region us-west-2) or set AWS_REGION', { cause: err });
  }
  const code = (err as { code?: string }).code;
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ECONNRESET' || code === 'ETIMEDOUT' || err.name === 'TimeoutError') {
    return new PodnetError('FAILED', `cannot reach ${where}: ${err.message}`, o.endpointUrl ? 'check --endpoint-url (is the emulator running?)' : 'check the network and --region', { cause: err });
  }
  return new PodnetError('FAILED', `${where} failed ${action ?? 'a describe call'}: ${err.name}: ${err.message}`, 'try again; if it persists, run with the same options and report it', { cause: err });
}
