/**
 * The demo's Fargate cases (issue 17, item 6). "A Fargate profile naming a public subnet refused": the expectation is
 * EKS's rule as src/vpc decides it (subnetIsPrivate: a subnet whose route table reaches an internet gateway is not
 * private, and Fargate takes private subnets only); the observation is CreateFargateProfile through
 * @aws-sdk/client-eks against the lab's emulator — refused with InvalidParameterException naming the subnet — and
 * the cluster's profiles unchanged afterwards.
 */
import { EMULATOR_ACCOUNT_ID } from '../ec2/index.js';
import { run } from '../lib/index.js';
import { subnetIsPrivate, type EksCluster } from '../vpc/index.js';
import { ns } from './plan.js';
import type { Progress } from './lab.js';
import { LabState } from './state.js';
import { runDemoCase, type DemoRow } from './demo.js';
import { fargatePodAdd } from './fargate-pods.js';

const CASE = 'Fargate 1 a profile naming a public subnet refused';

/**
 * CreateFargateProfile (then ListFargateProfiles) from inside the aws namespace, where the emulator listens (the host
 * cannot reach it); the client module is resolved here so the script does not depend on the working directory.
 */
const createScript = String.raw`
const [moduleUrl, endpoint, region, clusterName, profileName, subnetId, accountId] = process.argv.slice(1);
const { EKSClient, CreateFargateProfileCommand, ListFargateProfilesCommand } = await import(moduleUrl);
const c = new EKSClient({ endpoint, region, credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
let answer;
try {
  const r = await c.send(new CreateFargateProfileCommand({ clusterName, fargateProfileName: profileName, podExecutionRoleArn: 'arn:aws:iam::' + accountId + ':role/podnet-demo-fargate', subnets: [subnetId], selectors: [{ namespace: 'demo-public' }] }));
  answer = { created: true, status: r.fargateProfile?.status };
} catch (err) {
  answer = { created: false, name: err.name, message: err.message };
}
const listed = await c.send(new ListFargateProfilesCommand({ clusterName }));
answer.profiles = listed.fargateProfileNames ?? [];
process.stdout.write(JSON.stringify(answer) + '\n');
`;

interface CreateAnswer {
  created: boolean;
  name?: string;
  message?: string;
  profiles: string[];
}

/** The refusal case; none when the lab has no cluster or its VPC has no public subnet. */
export async function runFargateRefusalCase(stateDir: string, progress: Progress = () => {}): Promise<DemoRow[]> {
  const state = new LabState(stateDir);
  const lab = state.readLab()!;
  const fabric = state.readFabric();
  const cluster: EksCluster | undefined = fabric?.eksClusters?.find((c) => c.name === lab.plan.eks?.cluster);
  if (!lab.plan.eks || !fabric || !cluster) return [];
  const facts = fabric.facts;
  const subnet = facts.subnets.filter((s) => s.vpcId === cluster.vpcId && !subnetIsPrivate(facts, s.id)).sort((a, b) => a.name.localeCompare(b.name))[0];
  if (!subnet) return [];
  const label = `${subnet.id} (${subnet.name})`;
  const profileName = 'demo-public';
  progress(`${CASE}: CreateFargateProfile ${profileName} on ${label}`);
  const { stdout } = await run(
    [process.execPath, '--input-type=module', '-e', createScript, import.meta.resolve('@aws-sdk/client-eks'), lab.ec2Url, lab.region, cluster.name, profileName, subnet.id, EMULATOR_ACCOUNT_ID],
    { netns: ns.aws, timeoutMs: 60_000 },
  );
  const answer = JSON.parse(stdout.trim().split('\n').pop() ?? '{}') as CreateAnswer;
  const expected = `refused: ${label} routes to an internet gateway, and Fargate takes private subnets only (InvalidParameterException)`;
  const observed = answer.created
    ? `created (the emulator took a public subnet); profiles now ${answer.profiles.join(', ')}`
    : `${answer.name}: ${answer.message}; profiles: ${answer.profiles.join(', ') || 'none'}`;
  const pass = !answer.created && answer.name === 'InvalidParameterException' && (answer.message ?? '').includes(subnet.id) && !answer.profiles.includes(profileName);
  return [{ case: `${CASE}: CreateFargateProfile on ${label}`, expected, observed, pass }];
}

/** The pod the Fargate case runs: a selector of the scenario's profile takes it (examples/lab.yaml: compute=fargate). */
const FARGATE_POD = { name: 'web-fargate', labels: { compute: 'fargate' } };

/**
 * "A Fargate pod in a private subnet reaching the internet through the NAT gateway with its own address": the pod runs
 * on a Fargate node of its own (no podnet, so no node SNAT), and explain's expectation — sent from its own address,
 * translated by the NAT gateway, seen as its EIP — is checked with a probe like every other case. None when no ACTIVE
 * profile of the lab's cluster selects the pod.
 */
export async function runFargatePodCase(stateDir: string, progress: Progress = () => {}): Promise<DemoRow[]> {
  const state = new LabState(stateDir);
  const lab = state.readLab()!;
  const cluster = state.readFabric()?.eksClusters?.find((c) => c.name === lab.plan.eks?.cluster);
  const selects = cluster?.fargateProfiles.some((p) => p.status === 'ACTIVE' && p.selectors.some((s) => s.namespace === 'default' && Object.entries(s.labels ?? {}).every(([k, v]) => FARGATE_POD.labels[k as 'compute'] === v)));
  if (!selects) return [];
  progress(`Fargate 2: creating pod ${FARGATE_POD.name} (${Object.entries(FARGATE_POD.labels).map(([k, v]) => `${k}=${v}`).join(',')}) and waiting for its Fargate node`);
  await fargatePodAdd({ stateDir, ...FARGATE_POD, timeoutMs: 180_000 });
  return runDemoCase(stateDir, { title: 'Fargate 2 pod in a private subnet, its own node', checks: [{ from: FARGATE_POD.name, to: 'inet' }] }, progress);
}
