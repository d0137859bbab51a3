import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type AttachmentRequest, type CniEnv, type ParsedRequest, cniEnv, parseCniRequest } from '../../../src/cni/index.js';

const conf = (extra: Record<string, unknown> = {}) => JSON.stringify({ cniVersion: '0.4.0', name: 'aws-cni', type: 'podnet-cni', ...extra });
const addEnv: CniEnv = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'c0ffee', CNI_NETNS: '/var/run/netns/cni-1', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };

function errorOf(p: ParsedRequest) {
  assert.equal(p.ok, false, 'expected a CNI error');
  return (p as Extract<ParsedRequest, { ok: false }>).error;
}

function requestOf(p: ParsedRequest) {
  assert.ok(p.ok, `expected a request, got ${JSON.stringify(!p.ok && p.error)}`);
  return p.request;
}

test('missing CNI_COMMAND is code 4 and names the variable', () => {
  const e = errorOf(parseCniRequest({}, conf()));
  assert.equal(e.code, 4);
  assert.match(e.msg, /CNI_COMMAND/);
});

test('an unknown CNI_COMMAND is code 4 and lists the commands', () => {
  const e = errorOf(parseCniRequest({ ...addEnv, CNI_COMMAND: 'UPDATE' }, conf()));
  assert.equal(e.code, 4);
  assert.match(e.details ?? '', /ADD, DEL, CHECK, VERSION, STATUS, GC/);
});

test('ADD without CNI_CONTAINERID and CNI_NETNS is code 4 naming both', () => {
  const e = errorOf(parseCniRequest({ CNI_COMMAND: 'ADD', CNI_IFNAME: 'eth0' }, conf()));
  assert.equal(e.code, 4);
  assert.match(e.msg, /CNI_CONTAINERID, CNI_NETNS/);
});

test('DEL without CNI_NETNS is valid (the sandbox may be gone)', () => {
  const r = requestOf(parseCniRequest({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c0ffee', CNI_IFNAME: 'eth0' }, conf()));
  assert.equal(r.command, 'DEL');
  assert.equal(r.command === 'DEL' && r.netns, '');
});

test('DEL without CNI_IFNAME is code 4', () => {
  assert.equal(errorOf(parseCniRequest({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c0ffee' }, conf())).code, 4);
});

test('CHECK without CNI_NETNS is code 4', () => {
  assert.equal(errorOf(parseCniRequest({ ...addEnv, CNI_COMMAND: 'CHECK', CNI_NETNS: '' }, conf())).code, 4);
});

test('an invalid container id or interface name is code 4', () => {
  assert.equal(errorOf(parseCniRequest({ ...addEnv, CNI_CONTAINERID: '../etc' }, conf())).code, 4);
  const e = errorOf(parseCniRequest({ ...addEnv, CNI_IFNAME: 'a-very-long-interface' }, conf()));
  assert.equal(e.code, 4);
  assert.match(e.msg, /CNI_IFNAME/);
});

test('empty stdin, malformed JSON and a non-object config are code 6', () => {
  assert.equal(errorOf(parseCniRequest(addEnv, '')).code, 6);
  assert.match(errorOf(parseCniRequest(addEnv, '{"cniVersion": ')).msg, /not valid JSON/);
  assert.equal(errorOf(parseCniRequest(addEnv, '[1,2]')).code, 6);
});

test('a missing cniVersion is code 1; a non-version string is code 6; an unsupported version is code 1', () => {
  assert.equal(errorOf(parseCniRequest(addEnv, JSON.stringify({ name: 'aws-cni', type: 'podnet-cni' }))).code, 1);
  assert.equal(errorOf(parseCniRequest(addEnv, conf({ cniVersion: 'four' }))).code, 6);
  const e = errorOf(parseCniRequest(addEnv, conf({ cniVersion: '0.2.0' })));
  assert.equal(e.code, 1);
  assert.match(e.details ?? '', /0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0/);
});

test('CHECK needs cniVersion 0.4.0+, STATUS and GC need 1.1.0 (code 1)', () => {
  const check = errorOf(parseCniRequest({ ...addEnv, CNI_COMMAND: 'CHECK' }, conf({ cniVersion: '0.3.1', prevResult: {} })));
  assert.equal(check.code, 1);
  assert.match(check.msg, /added in 0\.4\.0/);
  assert.equal(errorOf(parseCniRequest({ CNI_COMMAND: 'STATUS' }, conf({ cniVersion: '1.0.0' }))).code, 1);
  assert.equal(errorOf(parseCniRequest({ CNI_COMMAND: 'GC' }, conf({ cniVersion: '0.4.0', 'cni.dev/valid-attachments': [] }))).code, 1);
});

test('a missing name or type, a long vethPrefix, a bad mtu or a relative socket are code 7', () => {
  assert.equal(errorOf(parseCniRequest(addEnv, JSON.stringify({ cniVersion: '0.4.0', type: 'podnet-cni' }))).code, 7);
  assert.equal(errorOf(parseCniRequest(addEnv, JSON.stringify({ cniVersion: '0.4.0', name: 'aws-cni' }))).code, 7);
  const prefix = errorOf(parseCniRequest(addEnv, conf({ vethPrefix: 'abcde' })));
  assert.equal(prefix.code, 7);
  assert.match(prefix.msg, /5 characters/);
  assert.equal(errorOf(parseCniRequest(addEnv, conf({ mtu: 'jumbo' }))).code, 7);
  assert.equal(errorOf(parseCniRequest(addEnv, conf({ mtu: '100000' }))).code, 7);
  assert.equal(errorOf(parseCniRequest(addEnv, conf({ ipamdSocket: 'ipamd.sock' }))).code, 7);
  assert.equal(errorOf(parseCniRequest(addEnv, conf({ vethPrefix: 7 }))).code, 7);
});

test('the conflist fields are read with upstream defaults: vethPrefix eni, mtu 9001 (string or number)', () => {
  const r = requestOf(parseCniRequest(addEnv, conf()));
  assert.ok(r.command === 'ADD');
  assert.equal(r.config.vethPrefix, 'eni');
  assert.equal(r.config.mtu, 9001);
  assert.equal(r.config.ipamdSocket, '/var/run/aws-node/ipamd.sock');
  const custom = requestOf(parseCniRequest(addEnv, conf({ vethPrefix: 'pod', mtu: 1500, ipamdSocket: '/run/podnet/n1.sock' })));
  assert.ok(custom.command === 'ADD');
  assert.deepEqual([custom.config.vethPrefix, custom.config.mtu, custom.config.ipamdSocket], ['pod', 1500, '/run/podnet/n1.sock']);
});

test('CNI_ARGS is read as a set whatever the pair order', () => {
  const a = requestOf(parseCniRequest({ ...addEnv, CNI_ARGS: 'K8S_POD_INFRA_CONTAINER_ID=c0ffee;K8S_POD_UID=u1;IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=nginx' }, conf()));
  const b = requestOf(parseCniRequest({ ...addEnv, CNI_ARGS: 'K8S_POD_NAME=nginx;IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_UID=u1;K8S_POD_INFRA_CONTAINER_ID=c0ffee' }, conf()));
  assert.ok(a.command === 'ADD' && b.command === 'ADD');
  assert.deepEqual([a.podNamespace, a.podName], ['default', 'nginx']);
  assert.deepEqual(a.args, b.args);
});

test('a CNI_ARGS pair without = is code 4', () => {
  const e = errorOf(parseCniRequest({ ...addEnv, CNI_ARGS: 'K8S_POD_NAME=nginx;garbage' }, conf()));
  assert.equal(e.code, 4);
  assert.match(e.msg, /"garbage"/);
});

test('a malformed prevResult is code 6; CHECK without prevResult is code 7', () => {
  assert.equal(errorOf(parseCniRequest({ ...addEnv, CNI_COMMAND: 'DEL' }, conf({ prevResult: { interfaces: 'eth0' } }))).code, 6);
  assert.equal(errorOf(parseCniRequest({ ...addEnv, CNI_COMMAND: 'DEL' }, conf({ prevResult: { ips: [{ interface: 1 }] } }))).code, 6);
  assert.equal(errorOf(parseCniRequest({ ...addEnv, CNI_COMMAND: 'CHECK' }, conf())).code, 7);
});

test('GC reads cni.dev/valid-attachments (or the older cni.dev/attachments); a missing list is code 7, not "release all"', () => {
  const gc = requestOf(parseCniRequest({ CNI_COMMAND: 'GC', CNI_PATH: '/opt/cni/bin' }, conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'c1', ifname: 'eth0' }] })));
  assert.deepEqual(gc.command === 'GC' && gc.validAttachments, [{ containerId: 'c1', ifName: 'eth0' }]);
  const legacy = requestOf(parseCniRequest({ CNI_COMMAND: 'GC' }, conf({ cniVersion: '1.1.0', 'cni.dev/attachments': [] })));
  assert.deepEqual(legacy.command === 'GC' && legacy.validAttachments, []);
  assert.equal(errorOf(parseCniRequest({ CNI_COMMAND: 'GC' }, conf({ cniVersion: '1.1.0' }))).code, 7);
  assert.equal(errorOf(parseCniRequest({ CNI_COMMAND: 'GC' }, conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 1 }] }))).code, 6);
});

test('VERSION answers for any input: empty stdin, garbage, an unsupported version', () => {
  assert.deepEqual(requestOf(parseCniRequest({ CNI_COMMAND: 'VERSION' }, '')), { command: 'VERSION', cniVersion: '1.1.0' });
  assert.deepEqual(requestOf(parseCniRequest({ CNI_COMMAND: 'VERSION' }, 'not json')), { command: 'VERSION', cniVersion: '1.1.0' });
  assert.deepEqual(requestOf(parseCniRequest({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.4.0"}')), { command: 'VERSION', cniVersion: '0.4.0' });
  assert.deepEqual(requestOf(parseCniRequest({ CNI_COMMAND: 'VERSION' }, '{"cniVersion":"0.1.0"}')), { command: 'VERSION', cniVersion: '1.1.0' });
});

test('errors carry the config cniVersion when it was understood', () => {
  const e = errorOf(parseCniRequest({ ...addEnv, CNI_ARGS: 'x' }, conf({ cniVersion: '1.0.0' })));
  assert.equal(e.cniVersion, '1.0.0');
});

test("cniEnv's variables parse back to the same pod, container, namespace and interface", () => {
  const env = cniEnv({ command: 'ADD', containerId: 'c0ffee', netns: '/var/run/netns/cni-1', ifName: 'eth0', podNamespace: 'kube-system', podName: 'coredns-1', podUid: 'uid-1', path: '/opt/cni/bin' });
  const r = requestOf(parseCniRequest(env, conf())) as AttachmentRequest;
  assert.deepEqual(
    { command: r.command, containerId: r.containerId, netns: r.netns, ifName: r.ifName, podNamespace: r.podNamespace, podName: r.podName },
    { command: 'ADD', containerId: 'c0ffee', netns: '/var/run/netns/cni-1', ifName: 'eth0', podNamespace: 'kube-system', podName: 'coredns-1' },
  );
  assert.deepEqual(r.args, { IgnoreUnknown: '1', K8S_POD_NAMESPACE: 'kube-system', K8S_POD_NAME: 'coredns-1', K8S_POD_INFRA_CONTAINER_ID: 'c0ffee', K8S_POD_UID: 'uid-1' });
  assert.equal(env.CNI_PATH, '/opt/cni/bin');
});
