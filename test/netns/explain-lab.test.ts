// `podnet explain` in a running lab (issue 14): for flows of every kind — node SNAT to a public IP and behind a NAT
// gateway, a CIDR excluded from SNAT, a hostNetwork pod, a security-group drop, the internet without a public IP, a
// pre-1.8.0 reply through eth0 — explain's verdict and source address (text and --json) equal what a real probe sees,
// and `lab probe` carries explain's why with no disagreement. Bad input: error/hint, exit 2 or 1, no stack trace.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { test } from 'node:test';
import type { Explanation } from '../../src/explain/index.js';
import { labStatus, probe, type Proto } from '../../src/lab/index.js';
import { podnet, podnetArgv, root } from '../run-podnet.js';
import { labForFile } from './lab-per-file.js';

const execFileAsync = promisify(execFile);

const stateDir = labForFile('explain-lab.yaml');

/** `podnet explain FROM TO --json` as a user runs it; several run at once (each CLI start costs seconds). */
async function explain(from: string, to: string, proto: Proto = 'tcp'): Promise<Explanation> {
  const args = ['explain', from, to, '--proto', proto, '--json', '--state-dir', stateDir];
  const { stdout } = await execFileAsync(process.execPath, [...podnetArgv, ...args], { cwd: root, timeout: 120_000 }).catch((err: { stderr?: string }) => {
    throw new Error(`podnet ${args.join(' ')}: ${err.stderr ?? String(err)}`);
  });
  return JSON.parse(stdout) as Explanation;
}

/** The lab's addresses a flow's source can be seen as. */
function addresses() {
  const status = labStatus({ stateDir });
  const node = (name: string) => status.nodes.find((n) => n.name === name)!.enis.find((e) => e.device === 0)!;
  const pod = (name: string) => status.pods.find((p) => p.name === name)!.ip!;
  return { nodeA: node('node-a').addresses[0]!, nodeAPublic: node('node-a').publicIps[0]!, podB: pod('pod-b') };
}

test('explain --json and a real probe agree on every kind of flow, with the code that decides it', { timeout: 240_000 }, async () => {
  const a = addresses();
  // the documented outcome of each flow: verdict, what the far end sees, and a code or drop element that says why
  const flows: Array<{ from: string; to: string; proto?: Proto; verdict: 'delivered' | 'dropped'; seen?: string; code?: string; dropAt?: string }> = [
    { from: 'pod-a', to: 'inet', verdict: 'delivered', seen: a.nodeAPublic, code: 'SNAT_TO_PRIMARY_IP' },
    { from: 'pod-b', to: 'inet', proto: 'udp', verdict: 'delivered', code: 'SNAT_TO_PRIMARY_IP' },
    { from: 'pod-b', to: 'peer-host', verdict: 'delivered', seen: a.podB, code: 'EXCLUDED_FROM_SNAT' },
    { from: 'pod-a', to: 'peer-host', verdict: 'dropped', dropAt: 'security-group' },
    { from: 'hostnet', to: 'pod-b', verdict: 'delivered', seen: a.nodeA, code: 'HOST_NETWORK' },
    { from: 'inet', to: 'node-b', verdict: 'dropped' },
    { from: 'inet', to: 'node-a', verdict: 'delivered', seen: '198.51.100.10' },
    { from: 'peer-host', to: 'eni-b', verdict: 'dropped', code: 'REPLY_VIA_ETH0_SRC_DST_CHECK', dropAt: 'source-destination-check' },
    { from: 'pod-a', to: 'inet', proto: 'icmp', verdict: 'delivered' },
  ];
  const explained = await Promise.all(flows.map((f) => explain(f.from, f.to, f.proto)));
  for (const [i, f] of flows.entries()) {
    const name = `${f.from} → ${f.to}/${f.proto ?? 'tcp'}`;
    const e = explained[i]!;
    const p = await probe(f.from, f.to, { stateDir, proto: f.proto ?? 'tcp' });
    // explain against the packet
    assert.equal(e.verdict, p.delivered ? 'delivered' : 'dropped', `${name}: explain says ${e.verdict} (${e.reason ?? ''}), the probe ${p.delivered ? 'arrived' : `did not (${p.error})`}`);
    if (p.saw !== null) assert.equal(e.sourceSeen, p.saw, `${name}: explain says seen as ${e.sourceSeen}, the receiver saw ${p.saw}`);
    // the probe's own account carries explain's, and they agree
    assert.equal(p.disagreement, null, `${name}: ${p.disagreement}`);
    assert.equal(p.explain?.verdict, e.verdict, name);
    // the documented outcome, and why
    assert.equal(e.verdict, f.verdict, name);
    if (f.seen) assert.equal(e.sourceSeen, f.seen, name);
    if (f.code) assert.ok(e.codes.includes(f.code), `${name}: codes ${e.codes.join(', ')} lack ${f.code}`);
    if (f.dropAt) assert.ok([...e.forward, ...e.return].some((h) => h.dropped && h.element === f.dropAt), `${name}: no ${f.dropAt} hop dropped it`);
    if (f.verdict === 'dropped') assert.ok(e.reason, `${name}: a drop says why`);
  }
});

test('probes sent at once to a destination whose echo service has not started yet share its start: both arrive', { timeout: 60_000 }, async () => {
  const [fromPod, fromHost] = await Promise.all([probe('pod-b', 'pod-a', { stateDir }), probe('hostnet', 'pod-a', { stateDir })]);
  assert.equal(fromPod.delivered, true, `pod-b → pod-a: ${fromPod.error ?? ''}`);
  assert.equal(fromHost.delivered, true, `hostnet → pod-a: ${fromHost.error ?? ''}`);
  assert.equal(fromPod.saw, addresses().podB);
});

test('the text forms: explain prints sentences with the source seen; lab probe adds explain\'s line and no disagreement', { timeout: 60_000 }, () => {
  const a = addresses();
  const text = podnet(['explain', 'pod-a', 'inet', '--state-dir', stateDir]);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /delivered/i);
  assert.ok(text.stdout.includes(a.nodeAPublic), text.stdout);
  const dropped = podnet(['explain', 'pod-a', 'peer-host', '--state-dir', stateDir]);
  assert.equal(dropped.status, 0, dropped.stderr);
  assert.match(dropped.stdout, /dropped/i);
  const probed = podnet(['lab', 'probe', 'pod-a', 'peer-host', '--state-dir', stateDir]);
  assert.equal(probed.status, 0, probed.stderr);
  assert.match(probed.stdout, /not delivered[\s\S]*\n {2}explain: dropped/);
  assert.doesNotMatch(probed.stdout, /DISAGREEMENT/);
  const json = podnet(['lab', 'probe', 'pod-a', 'inet', '--json', '--state-dir', stateDir]);
  const r = JSON.parse(json.stdout) as { delivered: boolean; saw: string; explain: { verdict: string; sourceSeen: string; codes: string[] }; disagreement: string | null };
  assert.deepEqual([r.delivered, r.explain.verdict, r.explain.sourceSeen, r.disagreement], [true, 'delivered', r.saw, null]);
});

test('bad input: an unknown name suggests the nearest, --port with icmp is a usage error, no lab is a failure with a hint', { timeout: 60_000 }, () => {
  const unknown = podnet(['explain', 'pod-x', 'inet', '--state-dir', stateDir]);
  assert.equal(unknown.status, 2, unknown.stderr);
  assert.match(unknown.stderr, /^error: .*pod-x[\s\S]*\nhint: .*pod-a/);
  const icmpPort = podnet(['explain', 'pod-a', 'inet', '--proto', 'icmp', '--port', '80', '--state-dir', stateDir]);
  assert.equal(icmpPort.status, 2);
  assert.match(icmpPort.stderr, /^error: --port applies to tcp and udp/);
  const noLab = podnet(['explain', 'pod-a', 'inet', '--json', '--state-dir', join(dirname(stateDir), 'none')]);
  assert.equal(noLab.status, 1);
  assert.equal((JSON.parse(noLab.stderr) as { code: string }).code, 'LAB_NOT_UP');
  for (const r of [unknown, icmpPort, noLab]) assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
});
