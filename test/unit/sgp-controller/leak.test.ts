/**
 * The leaked-branch collector after a crash: `podnet sgp-controller` (a child process) is killed with SIGKILL while a
 * burst of pods is getting branches (AssociateTrunkInterface slowed so branches sit created-but-unannotated), then
 * started again: every pod ends up annotated, and every branch ENI the controller tagged is either named by a live
 * pod's annotation or deleted — none leaks, and the trunks carry exactly the annotated associations.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { test } from 'node:test';
import { podnetArgv, root } from '../../run-podnet.js';
import { annotationOf, associations, branchPod, createPolicy, eventually, startWorld, taggedBranchIds, trunkOf, type World } from './harness.js';

function startChild(w: World): Promise<{ child: ChildProcess; banner: Record<string, unknown>; stderr: string[] }> {
  const child = spawn(process.execPath, [...podnetArgv, 'sgp-controller', '--kubeconfig', w.controllerKubeconfig, '--ec2-endpoint', w.emulator.ec2Url, '--region', 'us-west-2',
    '--cluster', 'test', '--no-webhook', '--branch-cooldown', '1', '--gc-interval', '1', '--json'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test', AWS_SDK_JS_SUPPRESS_NODE_VERSION_SUPPORT_WARNING: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stderr: string[] = [];
  child.stderr!.setEncoding('utf8').on('data', (c: string) => stderr.push(c));
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (c: string) => {
      out += c;
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve({ child, banner: JSON.parse(out.slice(0, nl)) as Record<string, unknown>, stderr });
    });
    child.once('exit', (code) => reject(new Error(`sgp-controller exited ${code} before its banner: ${stderr.join('')}`)));
  });
}

const exited = (c: ChildProcess) => new Promise<void>((r) => (c.exitCode !== null || c.signalCode !== null ? r() : c.once('exit', () => r())));

test('kill -9 of the controller during a burst of pod creations, then a restart: every branch ENI is annotated on a live pod or deleted', async () => {
  const w = await startWorld({ faults: { actions: { AssociateTrunkInterface: { latencyMs: 250 } } } });
  let child: ChildProcess | undefined;
  try {
    const instances = [await w.addNode('node-a', 'm5.large'), await w.addNode('node-b', 'm5.large')];
    await createPolicy(w, 'web', { podSelector: { matchLabels: { role: 'web' } }, securityGroups: { groupIds: [w.groups.web] } });
    const first = await startChild(w);
    child = first.child;
    assert.equal(first.banner.cluster, 'test');
    assert.equal(first.banner.ec2Endpoint, w.emulator.ec2Url);
    assert.deepEqual(first.banner.rateLimit, { qps: 12, burst: 18 });
    await eventually('both trunks', async () => (await Promise.all(instances.map((i) => trunkOf(w, i)))).every(Boolean), 20_000);

    const names = Array.from({ length: 12 }, (_, i) => `web-${i}`);
    await Promise.all(names.map((n, i) => w.core.createNamespacedPod({ namespace: 'default', body: branchPod(n, i % 2 ? 'node-b' : 'node-a') })));
    // kill while a branch exists that no pod's annotation names yet
    const annotatedIds = async () => (await Promise.all(names.map((n) => annotationOf(w, n)))).filter((a): a is string => a !== undefined).map((a) => JSON.parse(a)[0].eniId as string);
    let orphansAtKill: string[] = [];
    await eventually('a created-but-unannotated branch', async () => {
      const held = new Set(await annotatedIds());
      orphansAtKill = (await taggedBranchIds(w)).filter((id) => !held.has(id));
      return orphansAtKill.length > 0;
    }, 30_000);
    child.kill('SIGKILL');
    await exited(child);
    assert.ok(orphansAtKill.length > 0);
    // one more pod and one deleted pod while it is down
    await w.core.createNamespacedPod({ namespace: 'default', body: branchPod('web-late', 'node-a') });
    names.push('web-late');

    const second = await startChild(w);
    child = second.child;
    await eventually('every pod annotated', async () => (await annotatedIds()).length === names.length, 60_000);
    await eventually('only annotated branches remain', async () => {
      const held = (await annotatedIds()).sort();
      return JSON.stringify(await taggedBranchIds(w)) === JSON.stringify(held);
    }, 30_000);
    const held = new Set(await annotatedIds());
    for (const id of orphansAtKill) assert.ok(held.has(id) || !(await taggedBranchIds(w)).includes(id), `${id} annotated or deleted`);
    const trunks = await Promise.all(instances.map((i) => trunkOf(w, i)));
    const associated = (await Promise.all(trunks.map((t) => associations(w, t!)))).flat().map((a) => a.BranchInterfaceId!).sort();
    assert.deepEqual(associated, [...held].sort(), 'the trunks carry exactly the annotated branches');
  } finally {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await exited(child);
    }
    await w.close();
  }
});
