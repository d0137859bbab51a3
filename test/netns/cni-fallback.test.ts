import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { run } from '../../src/lib/index.js';
import { applyPodNetwork, type PodNetworkInput } from '../../src/dataplane/index.js';
import { formatResult, installCni, runFallbackPlugin } from '../../src/cni/index.js';

// The sandbox's own namespace is the node; ipamd is not running. DEL through the fallback plugin must remove the
// pod's host veth, /32 route and ip rules 512/1536 when it can tie the veth to the pod (its peer in CNI_NETNS, or its
// /32 route equal to prevResult's address), and leave it alone when it cannot (neither netns nor prevResult).
const root = fileURLToPath(new URL('../../', import.meta.url));
const pod = 'pn-cnifb-pod';
const dir = mkdtempSync(join(tmpdir(), 'podnet-cni-fallback-'));
const wiring: PodNetworkInput = { namespace: 'default', podName: 'worker', vethPrefix: 'eni', podIp: '10.0.100.80', routeTable: 3, mtu: 9001 };
const conf = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'aws-cni', type: 'podnet-cni', ipamdSocket: join(dir, 'absent.sock'), ...extra });
const env = { CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c9', CNI_NETNS: `/run/netns/${pod}`, CNI_IFNAME: 'eth0', CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=worker', CNI_PATH: '/opt/cni/bin' };

before(async () => {
  await run(['ip', 'netns', 'add', pod]);
});
after(async () => {
  await run(['ip', 'netns', 'del', pod]).catch(() => {});
  rmSync(dir, { recursive: true, force: true });
});

async function nodeState(): Promise<{ links: string; rules: string; routes: string }> {
  return {
    links: (await run(['ip', '-o', 'link', 'show'])).stdout,
    rules: (await run(['ip', 'rule', 'show'])).stdout,
    routes: (await run(['ip', 'route', 'show', 'table', 'main'])).stdout,
  };
}

/** What DEL must remove is there first: the host veth, rules 512 and 1536 (table 3: a secondary ENI) and the /32 route. */
function assertWired(s: { links: string; rules: string; routes: string }, veth: string): void {
  assert.match(s.links, new RegExp(`: ${veth}@`));
  assert.match(s.rules, /^512:\s+from all to 10\.0\.100\.80 lookup main/m);
  assert.match(s.rules, /^1536:\s+from 10\.0\.100\.80 lookup 3/m);
  assert.match(s.routes, new RegExp(`^10\\.0\\.100\\.80 dev ${veth} scope link`, 'm'));
}

function assertGone(s: { links: string; rules: string; routes: string }, veth: string): void {
  assert.doesNotMatch(s.links, new RegExp(veth));
  assert.doesNotMatch(s.rules, /10\.0\.100\.80/);
  assert.doesNotMatch(s.routes, /10\.0\.100\.80/);
}

test('DEL without ipamd tears the pod down from prevResult and succeeds', async () => {
  const wired = await applyPodNetwork(wiring, { podNetns: pod });
  assertWired(await nodeState(), wired.hostVeth);
  const prevResult = formatResult({ hostVethName: wired.hostVeth, ifName: 'eth0', netns: env.CNI_NETNS, address: '10.0.100.80/32', routeTable: 3, deviceNumber: 2, vlanId: 0, dummyName: 'dummy' + wired.hostVeth.slice(3) }, '1.0.0');
  const answer = await runFallbackPlugin(env, conf({ prevResult }), 'ipamd is down', () => {});
  assert.deepEqual(answer, { exitCode: 0, stdout: '' });
  assertGone(await nodeState(), wired.hostVeth);
});

test('DEL through the installed launcher without ipamd: with neither netns nor prevResult it cannot tie the veth and leaves it; with the netns it removes it all', async () => {
  const wired = await applyPodNetwork(wiring, { podNetns: pod });
  assertWired(await nodeState(), wired.hostVeth);
  const entry = join(dir, 'fallback-entry.mjs');
  writeFileSync(entry, `import { runFallbackPluginProcess } from ${JSON.stringify(pathToFileURL(join(root, 'src/cni/index.ts')).href)};\nawait runFallbackPluginProcess();\n`);
  const { launcher } = installCni({
    binDir: join(dir, 'bin'),
    confDir: join(dir, 'net.d'),
    conflist: { vethPrefix: 'eni', mtu: 9001, podSGEnforcingMode: 'strict', pluginLogFile: '', pluginLogLevel: '', bandwidth: false, ipamdSocket: join(dir, 'absent.sock') },
    fallbackArgv: [process.execPath, '--import', import.meta.resolve('tsx'), entry],
  });
  const runLauncher = (netns: string) =>
    new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
      const child = spawn('/bin/sh', [launcher], { cwd: '/', env: { PATH: process.env.PATH, ...env, CNI_NETNS: netns } });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve({ code, stdout, stderr }));
      child.stdin.end(conf());
    });
  const untied = await runLauncher('');
  assert.deepEqual([untied.code, untied.stdout], [0, ''], untied.stderr);
  assertWired(await nodeState(), wired.hostVeth);
  const first = await runLauncher(env.CNI_NETNS);
  assert.deepEqual([first.code, first.stdout], [0, ''], first.stderr);
  assertGone(await nodeState(), wired.hostVeth);
  const second = await runLauncher('');
  assert.deepEqual([second.code, second.stdout], [0, ''], second.stderr);
});
