import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseEnvFile, parseEnvText, readEnvFile, unresolvedProblems } from '../../../src/config/index.js';
import { PodnetError } from '../../../src/lib/index.js';

test('env files: KEY=VALUE, # comments, blank lines, export prefix, surrounding quotes stripped', () => {
  const text = [
    '# aws-node settings',
    '',
    'WARM_IP_TARGET=5',
    'export ENABLE_PREFIX_DELEGATION=true',
    'ADDITIONAL_ENI_TAGS=\'{"team":"net"}\'',
    'CLUSTER_NAME="prod east"',
    'AWS_VPC_K8S_CNI_VETHPREFIX=',
    '  MAX_ENI = 3  ',
  ].join('\n');
  assert.deepEqual(parseEnvFile(text, 'aws-node.env'), {
    WARM_IP_TARGET: '5',
    ENABLE_PREFIX_DELEGATION: 'true',
    ADDITIONAL_ENI_TAGS: '{"team":"net"}',
    CLUSTER_NAME: 'prod east',
    AWS_VPC_K8S_CNI_VETHPREFIX: '',
    MAX_ENI: '3',
  });
});

test('a line that is not KEY=VALUE is a usage error naming the line', () => {
  const err = (() => { try { parseEnvFile('WARM_IP_TARGET=1\njust words\n', 'a.env'); } catch (e) { return e; } })();
  assert.ok(err instanceof PodnetError);
  assert.equal(err.code, 'USAGE');
  assert.match(err.message, /a\.env line 2 is not KEY=VALUE/);
});

test('an unreadable env file is FILE_UNREADABLE (exit 2)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-config-'));
  try {
    writeFileSync(join(dir, 'ok.env'), 'WARM_ENI_TARGET=2\n');
    assert.deepEqual(readEnvFile(join(dir, 'ok.env')), { env: { WARM_ENI_TARGET: '2' }, unresolved: [], format: 'env' });
    const err = (() => { try { readEnvFile(join(dir, 'missing.env')); } catch (e) { return e; } })();
    assert.ok(err instanceof PodnetError);
    assert.equal(err.code, 'FILE_UNREADABLE');
    assert.equal(err.exitStatus, 2);
    assert.match(err.message, /does not exist/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const fixture = fileURLToPath(new URL('./fixtures/aws-k8s-cni.yaml', import.meta.url));

test('issue 11 config: a DaemonSet manifest is an env file: the aws-node container\'s env, the init container\'s for names it lacks, valueFrom unresolved', () => {
  const file = readEnvFile(fixture);
  assert.equal(file.format, 'daemonset');
  assert.equal(file.env.WARM_IP_TARGET, '1.5');
  assert.equal(file.env.WARM_ENI_TARGET, '1', 'the network-policy agent container is not aws-node');
  assert.equal(file.env.DISABLE_TCP_EARLY_DEMUX, 'true', 'read by the init container');
  assert.equal(file.env.ENABLE_IPv6, 'false');
  assert.equal(Object.keys(file.env).length, 18);
  assert.equal(file.env.MY_NODE_NAME, undefined);
  assert.deepEqual(file.unresolved, [{ name: 'MY_NODE_NAME', from: 'fieldRef spec.nodeName' }]);
});

test('DaemonSet manifests: a List, an entry without value (""), envFrom and configMapKeyRef', () => {
  const text = [
    'apiVersion: v1',
    'kind: List',
    'items:',
    '- kind: DaemonSet',
    '  metadata: {name: aws-node}',
    '  spec:',
    '    template:',
    '      spec:',
    '        containers:',
    '        - name: aws-node',
    '          envFrom: [{configMapRef: {name: cni-extra}}]',
    '          env:',
    '          - name: IP_COOLDOWN_PERIOD',
    '          - name: WARM_IP_TARGET',
    '            valueFrom: {configMapKeyRef: {name: amazon-vpc-cni, key: warm-ip-target}}',
  ].join('\n');
  assert.deepEqual(parseEnvText(text, 'ds.yaml'), {
    env: { IP_COOLDOWN_PERIOD: '' },
    unresolved: [{ name: 'WARM_IP_TARGET', from: 'configMapKeyRef amazon-vpc-cni/warm-ip-target' }, { name: 'envFrom', from: 'configMapRef cni-extra' }],
    format: 'daemonset',
  });
});

test('DaemonSet manifests: no aws-node container, a value that is not a string, or broken YAML is a usage error', () => {
  const usage = (text: string, pattern: RegExp) => {
    const err = (() => { try { parseEnvText(text, 'ds.yaml'); } catch (e) { return e; } })();
    assert.ok(err instanceof PodnetError, text);
    assert.equal(err.code, 'USAGE');
    assert.match(err.message, pattern);
  };
  usage('kind: DaemonSet\nspec: {template: {spec: {containers: [{name: kube-proxy}]}}}\n', /ds\.yaml has no DaemonSet with a container named aws-node \(1 DaemonSet in 1 document\)/);
  usage('kind: DaemonSet\nspec: {template: {spec: {containers: [{name: aws-node, env: [{name: ENABLE_IPv4, value: true}]}]}}}\n', /ENABLE_IPv4 has the boolean value true; Kubernetes refuses a value that is not a string/);
  usage('kind: DaemonSet\nspec: [unclosed\n', /ds\.yaml is neither KEY=VALUE lines nor valid YAML/);
  // KEY=VALUE files are still told apart by their first line
  assert.deepEqual(parseEnvText('# c\nWARM_IP_TARGET=2\n', 'a.env'), { env: { WARM_IP_TARGET: '2' }, unresolved: [], format: 'env' });
});

test('issue 11 review 6: valueFrom warns only for variables whose value the check looks at, with a fix that a manifest allows', () => {
  const problems = unresolvedProblems([
    { name: 'MY_NODE_NAME', from: 'fieldRef spec.nodeName' },
    { name: 'MY_POD_NAME', from: 'fieldRef metadata.name' },
    { name: 'SOME_OTHER_TOOL', from: 'secretKeyRef s/k' },
    { name: 'WARM_IP_TARGET', from: 'configMapKeyRef amazon-vpc-cni/warm-ip-target' },
    { name: 'envFrom', from: 'configMapRef cni-extra' },
  ]);
  assert.deepEqual(problems.map((p) => `${p.severity} ${p.rule} ${p.variable}`), [
    'warning value-from-unresolved WARM_IP_TARGET',
    'warning value-from-unresolved envFrom',
  ]);
  assert.equal(problems[0]!.message, 'set with valueFrom (configMapKeyRef amazon-vpc-cni/warm-ip-target), which only the kubelet resolves; not resolvable offline, so it is checked as unset');
  assert.equal(problems[0]!.fix, 'to check a value, give it with --env-file in KEY=VALUE form (WARM_IP_TARGET=VALUE), or in the manifest as value:');
  assert.equal(problems[1]!.fix, 'to check them, give their values with --env-file in KEY=VALUE form, or in the manifest as env entries with value:');
});
