import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeProtobufObject } from '../../../src/k8s-api/protobuf.js';
import { ApiError } from '../../../src/k8s-api/types.js';

// request bodies captured from kubectl 1.33 (client-go sends protobuf for its typed clients since 1.32)
const captured = {
  'kubectl create namespace dd':
    '6b3873000a0f0a02763112094e616d657370616365121a0a120a02646412001a0022002a0032003800420012001a020a001a002200',
  'kubectl create role r9 --verb=get,list --resource=pods,pods/status --resource-name=x':
    '6b3873000a240a1c726261632e617574686f72697a6174696f6e2e6b38732e696f2f76311204526f6c6512390a120a02723912001a0022002a0032003800420012230a036765740a046c69737412001a04706f64731a0b706f64732f7374617475732201781a002200',
  'kubectl create secret generic s9 --from-literal=a=b':
    '6b3873000a0c0a0276311206536563726574121e0a120a02733912001a0022002a0032003800420012060a01611201621a001a002200',
  'kubectl auth can-i get pods -n kube-system':
    '6b3873000a320a17617574686f72697a6174696f6e2e6b38732e696f2f7631121753656c665375626a65637441636365737352657669657712400a100a0012001a0022002a0032003800420012220a200a0b6b7562652d73797374656d12036765741a0022002a04706f647332003a001a08080012001a0020001a002200',
  'kubectl auth can-i --list -n kube-system':
    '6b3873000a310a17617574686f72697a6174696f6e2e6b38732e696f2f7631121653656c665375626a65637452756c657352657669657712270a100a0012001a0022002a00320038004200120d0a0b6b7562652d73797374656d1a04180022001a002200',
};
const decode = (hex: string): unknown => decodeProtobufObject(Buffer.from(hex, 'hex'));

test('kubectl 1.33 bodies decode to the JSON kubectl 1.31 sends for the same command', () => {
  assert.deepEqual(decode(captured['kubectl create namespace dd']), { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'dd' }, spec: {}, status: {} });
  assert.deepEqual(decode(captured['kubectl create role r9 --verb=get,list --resource=pods,pods/status --resource-name=x']), {
    apiVersion: 'rbac.authorization.k8s.io/v1', kind: 'Role', metadata: { name: 'r9' },
    rules: [{ verbs: ['get', 'list'], apiGroups: [''], resources: ['pods', 'pods/status'], resourceNames: ['x'] }],
  });
  assert.deepEqual(decode(captured['kubectl create secret generic s9 --from-literal=a=b']), { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's9' }, data: { a: 'Yg==' } });
  assert.deepEqual(decode(captured['kubectl auth can-i get pods -n kube-system']), {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', metadata: {},
    spec: { resourceAttributes: { namespace: 'kube-system', verb: 'get', resource: 'pods' } },
  });
  assert.deepEqual(decode(captured['kubectl auth can-i --list -n kube-system']), {
    apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectRulesReview', metadata: {}, spec: { namespace: 'kube-system' },
  });
});

test('timestamps, integers and unknown fields', () => {
  // Namespace { metadata { name "a", generation 3, creationTimestamp { seconds 1767225600 }, field 99 varint 1 } }
  const meta = Buffer.concat([Buffer.from('0a0161', 'hex'), Buffer.from('3803', 'hex'), Buffer.from('42060880f2d6ca06', 'hex'), Buffer.from('980601', 'hex')]);
  const ns = Buffer.concat([Buffer.from([0x0a, meta.length]), meta]);
  const typeMeta = Buffer.from('0a0276311209' + Buffer.from('Namespace').toString('hex'), 'hex');
  const unknown = Buffer.concat([Buffer.from([0x0a, typeMeta.length]), typeMeta, Buffer.from([0x12, ns.length]), ns]);
  const body = Buffer.concat([Buffer.from('6b387300', 'hex'), unknown]);
  assert.deepEqual(decodeProtobufObject(body).metadata, { name: 'a', generation: 3, creationTimestamp: '2026-01-01T00:00:00Z' });
});

test('refusals: not the envelope 400, kinds not decoded 415, truncated 400', () => {
  const code = (body: Buffer): number => {
    try {
      decodeProtobufObject(body);
      return 0;
    } catch (err) {
      assert.ok(err instanceof ApiError);
      return err.status.code;
    }
  };
  assert.equal(code(Buffer.from('{"kind":"Namespace"}')), 400);
  // runtime.Unknown { typeMeta { apiVersion v1, kind Pod } } without raw
  const pod = Buffer.from('6b3873000a090a0276311203506f64', 'hex');
  assert.equal(code(pod), 415);
  assert.equal(code(Buffer.from(captured['kubectl create namespace dd'], 'hex').subarray(0, 30)), 400);
});

test('a 100,000-entry map decodes in linear time, and a __proto__ label stays a label', () => {
  // ConfigMap { metadata { name "m", labels { "__proto__": "x" } }, then 100,000 × data { "k<i>": "" } }
  const label = Buffer.from('5a0e0a095f5f70726f746f5f5f120178', 'hex');
  const meta = Buffer.concat([Buffer.from('0a016d', 'hex'), label]);
  const entries: Buffer[] = [];
  for (let i = 0; i < 100_000; i++) {
    const key = Buffer.from(`k${i}`);
    const entry = Buffer.concat([Buffer.from([0x0a, key.length]), key]);
    entries.push(Buffer.from([0x12, entry.length]), entry);
  }
  const cm = Buffer.concat([Buffer.from([0x0a, meta.length]), meta, ...entries]);
  const typeMeta = Buffer.from('0a0276311209' + Buffer.from('ConfigMap').toString('hex'), 'hex');
  const rawLength = cm.length;
  const varint: number[] = [];
  for (let n = rawLength; ; n >>>= 7) {
    if (n < 0x80) {
      varint.push(n);
      break;
    }
    varint.push((n & 0x7f) | 0x80);
  }
  const body = Buffer.concat([Buffer.from('6b387300', 'hex'), Buffer.from([0x0a, typeMeta.length]), typeMeta, Buffer.from([0x12, ...varint]), cm]);
  const started = Date.now();
  const obj = decodeProtobufObject(body) as unknown as { metadata: { labels: Record<string, string> }; data: Record<string, string> };
  assert.ok(Date.now() - started < 2000, `decoded in ${Date.now() - started} ms`);
  assert.equal(Object.keys(obj.data).length, 100_000);
  assert.deepEqual(Object.keys(obj.metadata.labels), ['__proto__']);
  assert.equal(Object.getPrototypeOf(obj.metadata.labels), Object.prototype);
});
