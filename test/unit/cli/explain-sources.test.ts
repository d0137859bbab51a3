// `podnet explain` over its two sources that need no lab, as a user runs it: --scenario FILE (offline) and --aws
// against the emulator's endpoint (never real AWS), with their bad input.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { promisify } from 'node:util';
import { CreateTagsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { EKSClient } from '@aws-sdk/client-eks';
import { applyTopology, startEc2Server } from '../../../src/ec2/index.js';
import { defaultScenarioPath, loadScenario } from '../../../src/lab/index.js';
import { podnet, podnetArgv, root } from '../../run-podnet.js';

const dir = mkdtempSync(join(tmpdir(), 'podnet-explain-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));
const nodeConfig = join(dir, 'node.env');
writeFileSync(nodeConfig, 'AWS_VPC_K8S_CNI_EXTERNALSNAT=false\n');

/** Runs the CLI without blocking this process, whose emulator must keep answering meanwhile. */
async function podnetAsync(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_EC2_METADATA_DISABLED: 'true', AWS_CONFIG_FILE: join(dir, 'none'), AWS_SHARED_CREDENTIALS_FILE: join(dir, 'none') };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [...podnetArgv, ...args], { cwd: root, env, timeout: 60_000 });
    return { status: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { status: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test('explain --scenario: the default scenario answers with no lab, and says its addresses are simulated', () => {
  const r = podnet(['explain', 'web-priv', 'inet', '--scenario', defaultScenarioPath, '--json']);
  assert.equal(r.status, 0, r.stderr);
  const e = JSON.parse(r.stdout) as { verdict: string; sourceSeen: string | null; simulated?: boolean; forward: unknown[]; query: { port?: number } };
  assert.equal(e.verdict, 'delivered');
  assert.ok(e.sourceSeen && e.sourceSeen !== JSON.parse(r.stdout).from.address, 'the internet sees a translated address');
  assert.equal(e.simulated, true);
  assert.equal(e.query.port, 7007, 'the scenario\'s echo port by default');
  assert.ok(e.forward.length > 0);
});

test('explain --scenario: a scenario that does not validate is error/hint, exit 2, with the field path', async () => {
  const s = await loadScenario(defaultScenarioPath);
  const bad = join(dir, 'bad.yaml');
  writeFileSync(bad, JSON.stringify({ ...s, pods: [{ name: 'lost', node: 'nowhere' }] }));
  const r = podnet(['explain', 'lost', 'inet', '--scenario', bad]);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /^error: .*pods\[0\]\.node: no node named 'nowhere'/m);
  assert.match(r.stderr, /^hint: /m);
});

test('explain: the --aws options go with --aws, which needs --node-config', () => {
  const stray = podnet(['explain', 'a', 'b', '--region', 'us-west-2']);
  assert.equal(stray.status, 2);
  assert.match(stray.stderr, /--region go with --aws/);
  const noConfig = podnet(['explain', 'a', 'b', '--aws']);
  assert.equal(noConfig.status, 2);
  assert.match(noConfig.stderr, /--node-config/);
});

test('explain --aws --endpoint-url: an account read through the SDK answers; a refused describe names its permission', async () => {
  const server = await startEc2Server({ region: 'us-west-2', throttle: false, eks: { delayMs: 0 } });
  const client = new EC2Client({ endpoint: server.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  // the default scenario has a cluster: section, which goes through the emulator's EKS API
  const eks = new EKSClient({ endpoint: server.ec2Url, region: 'us-west-2', credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });
  try {
    const applied = await applyTopology(await loadScenario(defaultScenarioPath), client, { eks });
    await client.send(new CreateTagsCommand({ Resources: [applied.ids.instances['priv']!], Tags: [{ Key: 'eks:cluster-name', Value: 'demo' }] }));
    const ok = await podnetAsync(['explain', 'priv', 'peer-host', '--proto', 'icmp', '--aws', '--region', 'us-west-2', '--endpoint-url', server.ec2Url, '--node-config', nodeConfig, '--cluster', 'demo', '--json']);
    assert.equal(ok.status, 0, ok.stderr);
    const e = JSON.parse(ok.stdout) as { verdict: string; from: { kind: string }; sourceSeen: string | null };
    assert.equal(e.from.kind, 'node');
    assert.equal(e.verdict, 'delivered');
  } finally {
    client.destroy();
    eks.destroy();
    await server.close();
  }
  const denied = await startEc2Server({ region: 'us-west-2', throttle: false, faults: { actions: { DescribeRouteTables: { errorRate: 1, errorCode: 'UnauthorizedOperation', status: 403 } } } });
  try {
    const r = await podnetAsync(['explain', '10.0.0.1', '10.0.0.2', '--proto', 'icmp', '--aws', '--region', 'us-west-2', '--endpoint-url', denied.ec2Url, '--node-config', nodeConfig]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /^error: .*ec2:DescribeRouteTables/m);
    assert.match(r.stderr, /^hint: .*iam-policy\.md/m);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  } finally {
    await denied.close();
  }
});
