// `lab down` removes everything the lab made — namespaces, links, mounts, rules, processes, records — also after
// kill -9 of ipamd and of the EC2 emulator in the middle of a run.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { run } from '../../src/lib/index.js';
import { LabState, labDown, labUp, probe } from '../../src/lab/index.js';
import { fileURLToPath } from 'node:url';

const scenarioPath = fileURLToPath(new URL('./fixtures/one-node-lab.yaml', import.meta.url));

/** Everything a lab could leave behind, as plain data to compare. */
async function leftovers(stateDir: string) {
  const netns = existsSync('/run/netns') ? readdirSync('/run/netns').filter((n) => n.startsWith('pn-')) : [];
  const links = (JSON.parse((await run(['ip', '-j', 'link', 'show'])).stdout) as Array<{ ifname: string }>).map((l) => l.ifname).filter((n) => n.startsWith('pn'));
  const mounts = readFileSync('/proc/self/mountinfo', 'utf8').split('\n').filter((l) => l.includes('/run/netns/pn-'));
  const processes = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((p) => {
    try {
      return readFileSync(`/proc/${p}/environ`, 'latin1').split('\0').includes(`PODNET_LAB_STATE_DIR=${stateDir}`);
    } catch {
      return false;
    }
  });
  const rules = (await run(['ip', 'rule', 'show'])).stdout;
  const nft = (await run(['nft', 'list', 'ruleset'])).stdout;
  return { netns, links, mounts, processes, rules, nft, stateDir: existsSync(stateDir) };
}

test('lab down after kill -9 of ipamd and the emulator leaves no namespace, link, mount, rule, process or record', { timeout: 300_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'podnet-lab-down-'));
  const stateDir = join(dir, 'state');
  const before = await leftovers(stateDir);
  await labUp({ scenarioPath, stateDir });
  const r = await probe('pod-a', 'web', { stateDir });
  assert.equal(r.delivered, true, `the lab worked before the kill: ${JSON.stringify(r)}`);
  // lab up started the Kubernetes API server beside the EC2 endpoint and wrote its admin kubeconfigs: the lab's own,
  // and the host's through the loopback relay
  const lab = new LabState(stateDir).readLab()!;
  assert.match(readFileSync(lab.vpcKubeconfig!, 'utf8'), new RegExp(`server: ${lab.k8sUrl!.replace(/\./g, '\\.')}\n`));
  assert.match(readFileSync(lab.kubeconfig!, 'utf8'), /"server": "https:\/\/127\.0\.0\.1:\d+"/);
  const procs = new LabState(stateDir).procs();
  assert.ok(procs.some((p) => p.name === 'k8s'));
  // ipamd is the aws-node DaemonSet pod's container, which the node's kubelet started
  const ipamd = procs.find((p) => /^pod-kube-system-aws-node-.*-aws-node$/.test(p.name))!;
  for (const proc of [ipamd, procs.find((p) => p.name === 'ec2')!]) process.kill(proc.pid, 'SIGKILL');
  const up = await leftovers(stateDir);
  assert.ok(up.netns.length >= 6 && up.processes.length >= 2, 'the lab was really up (controller and echo service still running)');

  const report = await labDown({ stateDir });
  assert.ok(report.namespaces >= 6);
  // namespace teardown is asynchronous (lab-recipes §6.1): poll briefly
  let after = await leftovers(stateDir);
  for (let i = 0; i < 20 && after.processes.length > 0; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    after = await leftovers(stateDir);
  }
  assert.deepEqual(after, { ...before, stateDir: false });
});

test('lab down with no lab and no leftovers succeeds and removes nothing', { timeout: 30_000 }, async () => {
  const stateDir = join(mkdtempSync(join(tmpdir(), 'podnet-lab-none-')), 'state');
  assert.deepEqual(await labDown({ stateDir }), { processes: 0, namespaces: 0, links: 0, mounts: 0 });
});

test('lab down sweeps by prefix when the records are gone (a crashed lab)', { timeout: 30_000 }, async () => {
  const stateDir = join(mkdtempSync(join(tmpdir(), 'podnet-lab-crash-')), 'state');
  await run(['ip', 'netns', 'add', 'pn-n-stray']);
  await run(['ip', 'link', 'add', 'pn-stray0', 'type', 'veth', 'peer', 'name', 'pn-stray1']);
  const report = await labDown({ stateDir });
  assert.deepEqual({ namespaces: report.namespaces, links: report.links }, { namespaces: 1, links: 2 });
  assert.deepEqual((await leftovers(stateDir)).netns, []);
});
