// `podnet k8s serve` as a user meets it: the JSON banner, the kubeconfig it writes (used by a real kubectl when one
// is installed), a clean stop on SIGTERM, and usage errors said as error:/hint:.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { parse as parseYaml } from 'yaml';
import { podnet, podnetArgv, root } from '../../run-podnet.js';

const KUBECTL = '/usr/bin/kubectl';

test('k8s serve --json prints its URL, writes an admin kubeconfig kubectl can use, and stops on SIGTERM', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-k8s-serve-'));
  const kubeconfig = join(dir, 'kubeconfig');
  const child = spawn(process.execPath, [...podnetArgv, 'k8s', 'serve', '--listen', '127.0.0.1:0', '--db', join(dir, 'db'), '--kubeconfig', kubeconfig, '--json'], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', () => out.includes('\n') && resolve());
      void exited.then((code) => reject(new Error(`k8s serve exited ${code} before its banner`)));
    });
    const banner = JSON.parse(out.split('\n')[0]!);
    assert.match(banner.url, /^https:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(banner.kubeconfig, kubeconfig);
    const config = parseYaml(readFileSync(kubeconfig, 'utf8'));
    assert.equal(config.clusters[0].cluster.server, banner.url);
    if (existsSync(KUBECTL)) {
      const r = spawnSync(KUBECTL, ['--kubeconfig', kubeconfig, 'get', 'namespaces', '-o', 'name'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, /namespace\/kube-system/);
    }
    child.kill('SIGTERM');
    assert.equal(await exited, 0);
  } finally {
    if (child.exitCode === null) child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('k8s serve refuses a non-loopback address without --allow-non-loopback, and a --db under a missing directory', () => {
  const wide = podnet(['k8s', 'serve', '--listen', '0.0.0.0:0']);
  assert.equal(wide.status, 2);
  assert.match(wide.stderr, /^error: --listen 0\.0\.0\.0 is not a loopback address\nhint: .*--allow-non-loopback/);
  const missing = podnet(['k8s', 'serve', '--listen', '127.0.0.1:0', '--db', '/nonexistent-dir/db']);
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /^error: /);
  const bad = podnet(['k8s', 'serve', '--listen', 'nowhere']);
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /expected HOST:PORT/);
});
