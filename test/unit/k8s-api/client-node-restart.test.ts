/**
 * `podnet k8s serve --db` as a process, killed with SIGKILL and started again on the same database: the kubeconfig
 * written before the crash still works (the CA and the admin token are in the database), resourceVersions carry on
 * from where they were, and a client-node informer that lived through the crash catches up — its old version
 * predates the new process's watch history, so it is answered 410 and relists, reporting what changed meanwhile.
 */
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { test } from 'node:test';
import { CoreV1Api, KubeConfig, makeInformer, type V1ConfigMap } from '@kubernetes/client-node';
import { podnetArgv, root } from '../../run-podnet.js';
import { eventually } from './client-node-harness.js';

/** Starts `podnet k8s serve --json` and resolves with the process and the URL of its banner. */
async function serve(args: string[]): Promise<{ child: ChildProcess; url: string }> {
  const child = spawn(process.execPath, [...podnetArgv, 'k8s', 'serve', '--json', ...args], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
  const banner = await new Promise<string>((resolve, reject) => {
    createInterface(child.stdout!).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`podnet k8s serve exited ${code}: ${stderr}`)));
  });
  return { child, url: (JSON.parse(banner) as { url: string }).url };
}

function exited(child: ChildProcess): Promise<number | null> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve(child.exitCode) : new Promise((r) => child.once('exit', (code) => r(code)));
}

test('an informer lives through SIGKILL and a restart of podnet k8s serve on the same --db, with the kubeconfig written before', { timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-k8s-restart-'));
  const db = join(dir, 'k8s.db');
  const kubeconfig = join(dir, 'kubeconfig');
  let server = await serve(['--listen', '127.0.0.1:0', '--db', db, '--kubeconfig', kubeconfig]);
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1ConfigMap>(kc, '/api/v1/namespaces/default/configmaps', () => core.listNamespacedConfigMap({ namespace: 'default' }));
  const events: string[] = [];
  let restartOnError = true;
  informer.on('add', (o) => events.push(`add ${o.metadata?.name}`));
  informer.on('update', (o) => events.push(`update ${o.metadata?.name}`));
  informer.on('delete', (o) => events.push(`delete ${o.metadata?.name}`));
  informer.on('error', () => restartOnError && setTimeout(() => void informer.start().catch(() => undefined), 200));
  try {
    await informer.start();
    const before = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'before' }, data: { v: '1' } } });
    await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'doomed' } } });
    await eventually('the informer to see both', () => events.length === 2);

    server.child.kill('SIGKILL');
    await exited(server.child);
    server = await serve(['--listen', new URL(server.url).host, '--db', db]);

    const after = await core.createNamespacedConfigMap({ namespace: 'default', body: { metadata: { name: 'after' } } });
    assert.ok(Number(after.metadata?.resourceVersion) > Number(before.metadata?.resourceVersion), 'resourceVersions carry on after the restart');
    await core.deleteNamespacedConfigMap({ namespace: 'default', name: 'doomed' });
    const kept = await core.readNamespacedConfigMap({ namespace: 'default', name: 'before' });
    assert.equal(kept.metadata?.uid, before.metadata?.uid, 'what was stored before the kill is kept');
    await eventually('the informer to catch up after the restart', () => events.includes('add after') && events.includes('delete doomed'), 20_000);
    assert.deepEqual(informer.list('default').map((o) => o.metadata?.name).sort(), ['after', 'before']);
  } finally {
    restartOnError = false;
    await informer.stop();
    server.child.kill('SIGTERM');
    const code = await exited(server.child);
    rmSync(dir, { recursive: true, force: true });
    assert.equal(code, 0, 'SIGTERM stops it cleanly');
  }
});
