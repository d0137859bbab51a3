import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PodnetError } from '../../../src/lib/index.js';
import { type CniAnswer, type CniEnv, createCniHandler, runFallbackPlugin } from '../../../src/cni/index.js';
import { MemoryNode } from './memory-backend.js';

const netns = '/var/run/netns/cni-1';
const args = 'K8S_POD_INFRA_CONTAINER_ID=c1;K8S_POD_UID=u1;IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx';
const env = (command: string, extra: CniEnv = {}): CniEnv => ({ CNI_COMMAND: command, CNI_CONTAINERID: 'c1', CNI_NETNS: netns, CNI_IFNAME: 'eth0', CNI_ARGS: args, CNI_PATH: '/opt/cni/bin', ...extra });
const conf = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '0.4.0', name: 'aws-cni', type: 'podnet-cni', ...extra });

function node(): MemoryNode {
  const n = new MemoryNode(['10.0.97.30', '10.0.97.31']);
  n.netnses.add(netns);
  return n;
}

function json(a: CniAnswer): Record<string, unknown> {
  return JSON.parse(a.stdout) as Record<string, unknown>;
}

test('ADD allocates, wires the pod with the §3.5 host veth name, and prints upstream\'s result', async () => {
  const n = node();
  const a = await createCniHandler(n)({ env: env('ADD'), stdin: conf() });
  assert.equal(a.exitCode, 0);
  assert.deepEqual(json(a), {
    cniVersion: '0.4.0',
    interfaces: [{ name: 'enic440f455693' }, { name: 'eth0', mac: '254', sandbox: netns }, { name: 'dummyc440f455693', mac: '0', sandbox: '0' }],
    ips: [{ version: '4', interface: 1, address: '10.0.97.30/32' }],
    dns: {},
  });
  assert.deepEqual(n.calls, ['allocate c1', 'wire enic440f455693 10.0.97.30']);
  assert.equal(n.wired.get('enic440f455693')?.mtu, 9001);
});

test('ADD for a pod on a secondary ENI reports its route table in the container mac and the device in the dummy', async () => {
  const n = new MemoryNode(['10.0.2.10'], 2);
  n.netnses.add(netns);
  const r = json(await createCniHandler(n)({ env: env('ADD'), stdin: conf({ cniVersion: '1.0.0' }) }));
  assert.deepEqual(r.interfaces, [{ name: 'enic440f455693' }, { name: 'eth0', mac: '3', sandbox: netns }, { name: 'dummyc440f455693', mac: '0', sandbox: '2' }]);
  assert.deepEqual(r.ips, [{ interface: 1, address: '10.0.2.10/32' }]);
});

test('ADD without K8S_POD_NAME (ctr run --cni) names the veth from the container id, so two containers differ', async () => {
  const n = node();
  const h = createCniHandler(n);
  const a = json(await h({ env: env('ADD', { CNI_ARGS: '' }), stdin: conf() }));
  const b = json(await h({ env: env('ADD', { CNI_ARGS: '', CNI_CONTAINERID: 'c2' }), stdin: conf() }));
  const veth = (r: Record<string, unknown>) => (r.interfaces as { name: string }[])[0]!.name;
  assert.notEqual(veth(a), veth(b));
  assert.match(veth(a), /^eni[0-9a-f]{11}$/);
});

test('a failed wiring after allocation releases the new address; the wiring undid itself, so nothing is half-wired', async () => {
  const n = node();
  const logs: string[] = [];
  const a = await createCniHandler(n, { log: (l) => logs.push(l) })({ env: env('ADD', { CNI_NETNS: '/var/run/netns/gone' }), stdin: conf() });
  assert.equal(a.exitCode, 1);
  const e = json(a);
  assert.equal(e.code, 110);
  assert.match(e.msg as string, /^NETNS_NOT_FOUND: network namespace \/var\/run\/netns\/gone does not exist/);
  assert.deepEqual(n.calls, ['allocate c1', 'wire enic440f455693 10.0.97.30', 'release c1']);
  assert.equal(n.assigned.size, 0);
  assert.deepEqual(n.free, ['10.0.97.31', '10.0.97.30']);
  assert.deepEqual(logs, []);
});

test('ADD answers only once the assignment is saved; when it cannot be, the wired pod is unwired and nothing stays held', async () => {
  const n = node();
  n.saveError = null;
  const ok = await createCniHandler(n)({ env: env('ADD'), stdin: conf() });
  assert.equal(ok.exitCode, 0);
  assert.deepEqual(n.calls, ['allocate c1', 'wire enic440f455693 10.0.97.30', 'saved c1']);
  const m = node();
  m.saveError = new PodnetError('FAILED', 'cannot write the IPAM checkpoint /var/run/aws-node/ipam.json: ENOSPC', 'check the disk');
  const a = await createCniHandler(m)({ env: env('ADD'), stdin: conf() });
  assert.equal(a.exitCode, 1);
  assert.match(json(a).msg as string, /cannot write the IPAM checkpoint/);
  assert.deepEqual(m.calls, ['allocate c1', 'wire enic440f455693 10.0.97.30', 'saved c1 failed', 'unwire enic440f455693 10.0.97.30 254', 'release c1']);
  assert.deepEqual([m.wired.size, m.assigned.size], [0, 0]);
});

test('ipamd not ready and EC2 throttling answer 11 (try again later) with the named cause', async () => {
  const n = node();
  n.notReady = 'ipamd is still reading the checkpoint';
  const a = json(await createCniHandler(n)({ env: env('ADD'), stdin: conf() }));
  assert.equal(a.code, 11);
  assert.equal(a.msg, 'IPAMD_NOT_READY: ipamd is still reading the checkpoint');
  n.notReady = null;
  n.allocationError = new PodnetError('EC2_THROTTLED', 'AssignPrivateIpAddresses was throttled 3 times', 'wait; podnet backs off');
  assert.equal(json(await createCniHandler(n)({ env: env('ADD'), stdin: conf() })).code, 11);
});

test('each reason a pod gets no address has its own podnet code, the cause in msg and the hint in details', async () => {
  const n = node();
  const cases: [PodnetError, number][] = [
    [new PodnetError('SUBNET_EXHAUSTED', 'subnet subnet-0a1 (10.0.1.0/24) has 0 free addresses; 3 ENIs attached, limit 3', 'add a subnet'), 100],
    [new PodnetError('NO_FREE_PREFIX', 'subnet subnet-0a1 has no free /28 block', 'use a fresh subnet'), 101],
    [new PodnetError('ENI_LIMIT', 't3.small allows 3 ENIs, 3 attached', 'use a larger instance'), 102],
    [new PodnetError('MAX_PODS', 'node runs 11 of max 11 pods', 'raise max pods'), 103],
    [new PodnetError('COOLDOWN_ONLY', '2 addresses are cooling down for 30 s', 'wait'), 11],
  ];
  for (const [err, code] of cases) {
    n.allocationError = err;
    const e = json(await createCniHandler(n)({ env: env('ADD'), stdin: conf({ cniVersion: '1.1.0' }) }));
    assert.deepEqual(e, { cniVersion: '1.1.0', code, msg: `${err.code}: ${err.message}`, details: err.hint });
  }
});

test('an unexpected exception is code 999, never a crash', async () => {
  const n = node();
  n.allocationError = new TypeError('boom') as unknown as PodnetError;
  const e = json(await createCniHandler(n)({ env: env('ADD'), stdin: conf() }));
  assert.equal(e.code, 999);
  assert.equal(e.msg, 'boom');
});

test('DEL tears the wiring down before it releases, then a second DEL without netns or prevResult succeeds', async () => {
  const n = node();
  const h = createCniHandler(n);
  const add = await h({ env: env('ADD'), stdin: conf() });
  n.calls.length = 0;
  const del1 = await h({ env: env('DEL'), stdin: conf({ prevResult: json(add) }) });
  assert.deepEqual(del1, { exitCode: 0, stdout: '' });
  assert.deepEqual(n.calls, ['lookup c1', 'unwire enic440f455693 10.0.97.30 254', 'release c1']);
  n.calls.length = 0;
  const del2 = await h({ env: env('DEL', { CNI_NETNS: '' }), stdin: conf() });
  assert.deepEqual(del2, { exitCode: 0, stdout: '' });
  assert.deepEqual(n.calls, ['lookup c1', 'unwire enic440f455693 - -', 'release c1']);
  assert.equal(n.assigned.size, 0);
});

test('DEL of a container ipamd never saw succeeds', async () => {
  const n = node();
  const a = await createCniHandler(n)({ env: env('DEL', { CNI_CONTAINERID: 'unknown', CNI_NETNS: '' }), stdin: conf() });
  assert.deepEqual(a, { exitCode: 0, stdout: '' });
});

test('DEL with ipamd unreachable tears down from prevResult (address, route table) and succeeds (spec §6.3)', async () => {
  const n = new MemoryNode(['10.0.2.10'], 2);
  n.netnses.add(netns);
  const h = createCniHandler(n, { log: () => {} });
  const add = await h({ env: env('ADD'), stdin: conf() });
  n.unreachable = true;
  n.calls.length = 0;
  const del = await h({ env: env('DEL'), stdin: conf({ prevResult: json(add) }) });
  assert.deepEqual(del, { exitCode: 0, stdout: '' });
  assert.deepEqual(n.calls, ['lookup c1', 'unwire enic440f455693 claimed:10.0.2.10/32 -', 'release c1']);
});

test('CHECK passes for a wired pod and names what is missing when its wiring is gone', async () => {
  const n = node();
  const h = createCniHandler(n);
  const add = await h({ env: env('ADD'), stdin: conf() });
  const stdin = conf({ prevResult: json(add) });
  assert.deepEqual(await h({ env: env('CHECK'), stdin }), { exitCode: 0, stdout: '' });
  n.wired.clear();
  const e = json(await h({ env: env('CHECK'), stdin }));
  assert.equal(e.code, 111);
  assert.match(e.msg as string, /host veth enic440f455693 does not exist/);
});

test('CHECK of a container ipamd does not know is code 3; a prevResult address ipamd does not hold is 111', async () => {
  const n = node();
  const h = createCniHandler(n);
  const prev = { interfaces: [{ name: 'enic440f455693' }, { name: 'eth0', mac: '254', sandbox: netns }], ips: [{ version: '4', interface: 1, address: '10.0.97.99/32' }] };
  assert.equal(json(await h({ env: env('CHECK'), stdin: conf({ prevResult: prev }) })).code, 3);
  await h({ env: env('ADD'), stdin: conf() });
  const e = json(await h({ env: env('CHECK'), stdin: conf({ prevResult: prev }) }));
  assert.equal(e.code, 111);
  assert.match(e.msg as string, /prevResult says 10\.0\.97\.99 but ipamd holds 10\.0\.97\.30/);
});

test('VERSION lists the four supported versions', async () => {
  const a = await createCniHandler(node())({ env: { CNI_COMMAND: 'VERSION' }, stdin: '{"cniVersion":"1.0.0"}' });
  assert.deepEqual(json(a), { cniVersion: '1.0.0', supportedVersions: ['0.3.1', '0.4.0', '1.0.0', '1.1.0'] });
});

test('STATUS succeeds silently when ready and answers 50 with the reason when not', async () => {
  const n = node();
  const h = createCniHandler(n);
  const stdin = conf({ cniVersion: '1.1.0' });
  assert.deepEqual(await h({ env: { CNI_COMMAND: 'STATUS' }, stdin }), { exitCode: 0, stdout: '' });
  n.notReady = 'waiting for IMDS';
  const e = json(await h({ env: { CNI_COMMAND: 'STATUS' }, stdin }));
  assert.equal(e.code, 50);
  assert.match(e.msg as string, /waiting for IMDS/);
});

test('GC unwires and releases the attachments of this network that the runtime no longer lists, and only those', async () => {
  const n = new MemoryNode(['10.0.97.30', '10.0.97.31', '10.0.97.32']);
  n.netnses.add(netns);
  const h = createCniHandler(n);
  await h({ env: env('ADD', { CNI_CONTAINERID: 'keep', CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=a' }), stdin: conf() });
  await h({ env: env('ADD', { CNI_CONTAINERID: 'stale', CNI_ARGS: 'K8S_POD_NAMESPACE=default;K8S_POD_NAME=b' }), stdin: conf() });
  await h({ env: env('ADD', { CNI_CONTAINERID: 'other-net' }), stdin: conf({ name: 'lab' }) });
  n.calls.length = 0;
  const gc = await h({ env: { CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, stdin: conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] }) });
  assert.deepEqual(gc, { exitCode: 0, stdout: '' });
  assert.deepEqual(n.calls.filter((c) => !c.startsWith('attachments')), ['unwire eniff6fc35a693 10.0.97.31 254', 'release stale']);
  assert.deepEqual([...n.assigned.values()].map((a) => a.key.containerId).sort(), ['keep', 'other-net']);
});

test('the fallback plugin without ipamd: ADD and CHECK answer 11 with the reason, STATUS 50, VERSION works', async () => {
  const reason = "nothing accepts connections on ipamd's socket /run/podnet/ipamd.sock";
  const add = await runFallbackPlugin(env('ADD'), conf(), reason, () => {});
  assert.equal(add.exitCode, 1);
  assert.deepEqual(json(add), { cniVersion: '0.4.0', code: 11, msg: `IPAMD_UNREACHABLE: ${reason}`, details: 'start ipamd (`podnet ipamd`) on this node; the runtime retries the pod' });
  // the host's namespace is refused before ipamd would be asked, as ipamd refuses it
  const host = json(await runFallbackPlugin(env('ADD', { CNI_NETNS: '/proc/self/ns/net' }), conf(), reason, () => {}));
  assert.equal(host.code, 4);
  assert.match(host.msg as string, /^INVALID_INPUT: CNI_NETNS \/proc\/self\/ns\/net is the host's network namespace/);
  const prev = { interfaces: [{ name: 'enic440f455693' }, { name: 'eth0', mac: '254', sandbox: netns }], ips: [{ interface: 1, address: '10.0.97.30/32' }] };
  assert.equal(json(await runFallbackPlugin(env('CHECK'), conf({ prevResult: prev }), reason, () => {})).code, 11);
  assert.equal(json(await runFallbackPlugin({ CNI_COMMAND: 'STATUS' }, conf({ cniVersion: '1.1.0' }), reason, () => {})).code, 50);
  assert.equal((await runFallbackPlugin({ CNI_COMMAND: 'VERSION' }, '', reason, () => {})).exitCode, 0);
});
