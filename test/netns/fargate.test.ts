// Issue 17, Fargate: a pod a Fargate profile selects runs on its own Fargate node (its namespace, its ENI in the
// profile's private subnet with the cluster security group, one pod), reaches the internet through the NAT gateway
// with its own address (no node SNAT), and goes with its Node, ENI and namespace; other pods go to regular nodes; a
// profile naming a public subnet is refused by the emulator.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { CoreV1Api } from '@kubernetes/client-node';
import { LabState, fargatePodAdd, podDel, probe } from '../../src/lab/index.js';
import { labKubeConfig, labPodObject, createPod } from '../../src/lab/cluster.js';
import { listNetns } from '../../src/lab/apply.js';
import { run } from '../../src/lib/index.js';
import { labForFile } from './lab-per-file.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const stateDir = labForFile('fargate-lab.yaml', { upTimeoutMs: 420_000 });

/** One script run in the aws namespace (where the emulator listens), its stdout parsed as JSON. */
async function inAws(script: string): Promise<unknown> {
  const { stdout } = await run([process.execPath, '--input-type=module', '-e', script], { netns: 'pn-aws', timeoutMs: 60_000 });
  return JSON.parse(stdout);
}

/** The control plane's and the Fargate kubelets' logs (their last lines), for a failure's message. */
function fargateLogs(): string {
  const logs = new LabState(stateDir).path('logs');
  if (!existsSync(logs)) return '';
  const names = readdirSync(logs).filter((n) => n === 'control-plane.log' || n.startsWith('kubelet-fargate-'));
  return names.map((n) => `--- ${n}\n${readFileSync(`${logs}/${n}`, 'utf8').split('\n').slice(-25).join('\n')}`).join('\n');
}

/** fargatePodAdd, its failure carrying the logs that say why. */
async function addFargatePod(name: string): ReturnType<typeof fargatePodAdd> {
  try {
    return await fargatePodAdd({ stateDir, name, labels: { compute: 'fargate' } });
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${fargateLogs()}`);
  }
}

const PRIVATE_A = /^10\.0\.(1[6-9]|2\d|3[01])\.\d+$/;

test('Fargate: one node per matching pod, Running with the ENI address; internet via the NAT gateway as its EIP; gone with its pod', { timeout: 900_000 }, async () => {
  const state = new LabState(stateDir);
  const lab = state.readLab()!;
  const kc = labKubeConfig(lab);
  const core = kc.makeApiClient(CoreV1Api);

  const first = await addFargatePod('fg-1');
  const nodeName = first.pod.spec!.nodeName!;
  assert.match(nodeName, /^fargate-ip-10-0-\d+-\d+\.us-west-2\.compute\.internal$/);
  assert.match(first.record.ip ?? '', PRIVATE_A, 'in the profile\'s private subnet');
  assert.equal(first.pod.status?.podIP, first.record.ip);
  assert.equal(first.pod.status?.hostIP, first.record.ip);
  assert.match(first.record.ns, /^pn-f-[0-9a-f]{10}$/);
  assert.equal(first.pod.metadata?.labels?.['eks.amazonaws.com/fargate-profile'], 'serverless');

  const node = await core.readNode({ name: nodeName });
  assert.equal(node.metadata?.labels?.['eks.amazonaws.com/compute-type'], 'fargate');
  assert.deepEqual(node.spec?.taints?.map((t) => `${t.key}=${t.value}:${t.effect}`), ['eks.amazonaws.com/compute-type=fargate:NoSchedule']);
  assert.equal(node.status?.allocatable?.['pods'], '1');
  assert.equal(node.status?.addresses?.find((a) => a.type === 'InternalIP')?.address, first.record.ip);
  assert.equal(node.status?.conditions?.find((c) => c.type === 'Ready')?.status, 'True');
  // one pod there: no DaemonSet pod (aws-node's affinity excludes compute-type fargate)
  const onNode = await core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
  assert.deepEqual(onNode.items.map((p) => `${p.metadata?.namespace}/${p.metadata?.name}`), ['default/fg-1']);

  // its ENI: in EC2, with the cluster security group, and the Fargate description
  const eni = state.readFabric()!.enis.find((e) => e.privateIps.includes(first.record.ip!))!;
  assert.ok(eni, 'the Fargate ENI is in the fabric');
  assert.equal(eni.description, `[fargate] ${first.record.ns}`);
  assert.equal(eni.instanceId, null);

  // to the internet through the NAT gateway: seen as the NAT gateway's EIP (its own address before the NAT, no node SNAT)
  const eip = state.readFabric()!.facts.natGateways[0]!.publicIp!;
  const out = await probe('fg-1', 'web', { stateDir });
  assert.equal(out.delivered, true, JSON.stringify(out));
  assert.equal(out.sentFrom, first.record.ip);
  assert.equal(out.saw, eip);

  // a second matching pod: its own node
  const second = await addFargatePod('fg-2');
  assert.notEqual(second.pod.spec!.nodeName, nodeName);
  assert.notEqual(second.record.ns, first.record.ns);

  // a pod no profile selects: the default scheduler puts it on the regular node
  const plain = await createPod(kc, labPodObject('plain'), 300_000);
  assert.equal(plain.spec?.nodeName, lab.nodes['node-a']!.nodeName);

  // deleting the pod: the Node, the ENI and the namespace go
  await podDel({ stateDir, name: 'fg-1' });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const nodeGone = !(await core.listNode()).items.some((n) => n.metadata?.name === nodeName);
    const eniGone = !state.readFabric()!.enis.some((e) => e.eniId === eni.eniId);
    const nsGone = !(await listNetns()).includes(first.record.ns);
    if (nodeGone && eniGone && nsGone) break;
    if (Date.now() > deadline) assert.fail(`after deleting fg-1: node gone ${nodeGone}, ENI gone ${eniGone}, namespace gone ${nsGone}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  await podDel({ stateDir, name: 'fg-2' });
});

test('Fargate: a profile naming a public subnet is refused (CreateFargateProfile through client-eks)', { timeout: 60_000 }, async () => {
  const lab = new LabState(stateDir).readLab()!;
  const publicSubnet = new LabState(stateDir).readFabric()!.facts.subnets.find((s) => s.name === 'public-a')!.id;
  const result = (await inAws(`
    import { EKSClient, CreateFargateProfileCommand } from '@aws-sdk/client-eks';
    const c = new EKSClient({ endpoint: ${JSON.stringify(lab.ec2Url)}, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
    try {
      await c.send(new CreateFargateProfileCommand({ clusterName: 'lab', fargateProfileName: 'public', podExecutionRoleArn: 'arn:aws:iam::111122223333:role/fargate', subnets: [${JSON.stringify(publicSubnet)}], selectors: [{ namespace: 'default' }] }));
      console.log(JSON.stringify({ ok: true }));
    } catch (err) {
      console.log(JSON.stringify({ ok: false, name: err.name, message: err.message }));
    }
  `)) as { ok: boolean; name?: string; message?: string };
  assert.equal(result.ok, false);
  assert.equal(result.name, 'InvalidParameterException');
  assert.match(result.message ?? '', /private|internet gateway/i);
});
