/**
 * The kubectl smoke steps every version runs (the full suite runs them too): get, apply, patch, the seeds' `set env`
 * and `set env --list`, delete (which waits on a watch of metadata.name) and `get -w`. Each step asserts kubectl's
 * own words, as a user would read them.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { awsNodeDaemonSet, manifest, podManifest, rows, waitForOutput, type Cluster } from './kubectl-harness.js';

/** `kubectl apply` of the aws-node DaemonSet: created, then unchanged on a second apply. */
export async function applyDaemonSet(c: Cluster): Promise<void> {
  const path = manifest(c, 'aws-node.yaml', awsNodeDaemonSet);
  assert.match(await c.ok(['apply', '-f', path]), /^daemonset\.apps\/aws-node created$/m);
  assert.match(await c.ok(['apply', '-f', path]), /^daemonset\.apps\/aws-node unchanged$/m);
  const table = rows(await c.ok(['get', 'daemonsets', '-n', 'kube-system']));
  assert.deepEqual(table[0], ['NAME', 'DESIRED', 'CURRENT', 'READY', 'UP-TO-DATE', 'AVAILABLE', 'NODE SELECTOR', 'AGE']);
  assert.equal(table[1]?.[0], 'aws-node');
}

/** The seeds' command: the env var is appended to the container's env, the others kept, and `--list` shows it. */
export async function seedsSetEnv(c: Cluster): Promise<void> {
  assert.match(
    await c.ok(['set', 'env', 'daemonset', '-n', 'kube-system', 'aws-node', 'AWS_VPC_K8S_CNI_EXTERNALSNAT=true']),
    /^daemonset\.apps\/aws-node env updated$/m,
  );
  const list = await c.ok(['set', 'env', 'daemonset', '-n', 'kube-system', 'aws-node', '--list']);
  assert.deepEqual(list.trim().split('\n'), [
    '# DaemonSet aws-node, container aws-node',
    'AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG',
    'WARM_ENI_TARGET=1',
    'AWS_VPC_K8S_CNI_EXTERNALSNAT=true',
  ]);
  const env = JSON.parse(await c.ok(['get', 'ds', '-n', 'kube-system', 'aws-node', '-o', 'jsonpath={.spec.template.spec.containers[0].env}']));
  assert.deepEqual(env, [
    { name: 'AWS_VPC_K8S_CNI_LOGLEVEL', value: 'DEBUG' },
    { name: 'WARM_ENI_TARGET', value: '1' },
    { name: 'AWS_VPC_K8S_CNI_EXTERNALSNAT', value: 'true' },
  ]);
  // setting it again changes nothing; removing it with NAME- takes only that entry out
  await c.ok(['set', 'env', 'daemonset', '-n', 'kube-system', 'aws-node', 'AWS_VPC_K8S_CNI_EXTERNALSNAT=true']);
  await c.ok(['set', 'env', 'daemonset/aws-node', '-n', 'kube-system', 'WARM_ENI_TARGET-']);
  const after = await c.ok(['set', 'env', 'daemonset', '-n', 'kube-system', 'aws-node', '--list']);
  assert.deepEqual(after.trim().split('\n').slice(1), ['AWS_VPC_K8S_CNI_LOGLEVEL=DEBUG', 'AWS_VPC_K8S_CNI_EXTERNALSNAT=true']);
}

/** A strategic merge patch of the pod template's container (merge key name) keeps its env; generation moves on. */
export async function patchDaemonSet(c: Cluster): Promise<void> {
  const before = Number(await c.ok(['get', 'ds', 'aws-node', '-n', 'kube-system', '-o', 'jsonpath={.metadata.generation}']));
  const patch = JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'aws-node', image: 'amazon-k8s-cni:v1.23.2' }] } } } });
  assert.match(await c.ok(['patch', 'daemonset', 'aws-node', '-n', 'kube-system', '-p', patch]), /^daemonset\.apps\/aws-node patched$/m);
  const container = JSON.parse(await c.ok(['get', 'ds', 'aws-node', '-n', 'kube-system', '-o', 'jsonpath={.spec.template.spec.containers[0]}']));
  assert.equal(container.image, 'amazon-k8s-cni:v1.23.2');
  assert.equal(container.env[0].name, 'AWS_VPC_K8S_CNI_LOGLEVEL');
  assert.equal(Number(await c.ok(['get', 'ds', 'aws-node', '-n', 'kube-system', '-o', 'jsonpath={.metadata.generation}'])), before + 1);
}

/** `get -w` prints the table, then a row for a pod created while it watches; `delete` returns once the pod is gone. */
export async function watchAndDelete(c: Cluster, namespace: string): Promise<void> {
  await c.ok(['apply', '-f', manifest(c, `${namespace}-w1.yaml`, podManifest('w1', namespace))]);
  const watch = c.spawn(['get', 'pods', '-n', namespace, '-w']);
  try {
    await waitForOutput(watch, /^w1\s+0\/1\s+Pending/m);
    const next = waitForOutput(watch, /^w2\s+0\/1\s+Pending/m);
    await c.ok(['apply', '-f', manifest(c, `${namespace}-w2.yaml`, podManifest('w2', namespace))]);
    await next;
  } finally {
    if (watch.exitCode === null && watch.signalCode === null) {
      const exited = once(watch, 'exit');
      watch.kill('SIGTERM');
      await exited;
    }
  }
  const started = Date.now();
  assert.match(await c.ok(['delete', 'pod', 'w1', '-n', namespace]), /pod "w1" deleted/);
  assert.ok(Date.now() - started < 10_000, 'delete waits for the watch on metadata.name, not for its timeout');
  const left = await c.kubectl(['get', 'pod', 'w1', '-n', namespace]);
  assert.notEqual(left.code, 0);
  assert.match(left.stderr, /pods "w1" not found/);
}
