import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { builtinTypes } from '../../../src/k8s-api/builtin/index.js';
import { applyJsonPatch, applyPatch } from '../../../src/k8s-api/patch/index.js';
import { ApiError, type KubeObject, type ResourceType } from '../../../src/k8s-api/types.js';

const types = builtinTypes();
const typeOf = (obj: KubeObject): ResourceType => {
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0] : '';
  return types.find((t) => t.kind === obj.kind && t.group === group)!;
};
const contentTypes = { strategic: 'application/strategic-merge-patch+json', merge: 'application/merge-patch+json', json: 'application/json-patch+json' };

interface Fixture {
  objects: Record<string, KubeObject>;
  cases: Array<{ name: string; type: keyof typeof contentTypes; object: string; patch: unknown; expected: unknown }>;
}
const fixture = JSON.parse(readFileSync(new URL('./patch-kubectl-cases.json', import.meta.url), 'utf8')) as Fixture;

describe('patches land exactly as kubectl 1.33 applies them (apimachinery)', () => {
  for (const c of fixture.cases) {
    test(`${c.type}: ${c.name}`, () => {
      const current = fixture.objects[c.object]!;
      const before = structuredClone(current);
      const patched = applyPatch(typeOf(current), contentTypes[c.type], current, c.patch);
      assert.deepEqual(patched, c.expected);
      assert.deepEqual(current, before, 'the stored object is left untouched');
      // and nothing is shared with it: defaulting the result in place must not reach the stored object
      const mutate = (v: unknown): void => {
        if (Array.isArray(v)) v.forEach(mutate);
        else if (typeof v === 'object' && v !== null) {
          for (const x of Object.values(v)) mutate(x);
          (v as Record<string, unknown>).touched = true;
        }
      };
      mutate(patched);
      assert.deepEqual(current, before, 'the result shares no object with the stored one');
    });
  }
});

function refusal(fn: () => unknown): { code: number; reason: string; message: string; details?: unknown } {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ApiError, `expected an ApiError, got ${String(e)}`);
    return e.status;
  }
  assert.fail('expected a refusal');
}

const pod = fixture.objects.pod!;
const podType = typeOf(pod);
const smp = contentTypes.strategic;

describe('kubectl set env: the patch 1.20 and 1.33 send for the seeds command', () => {
  test('AWS_VPC_K8S_CNI_EXTERNALSNAT=true changes the value in place and keeps the order', () => {
    const ds = fixture.objects.daemonset!;
    const patch =
      '{"spec":{"template":{"spec":{"$setElementOrder/containers":[{"name":"aws-node"},{"name":"aws-eks-nodeagent"}],"containers":[{"$setElementOrder/env":[{"name":"ADDITIONAL_ENI_TAGS"},{"name":"AWS_VPC_K8S_CNI_EXTERNALSNAT"},{"name":"MY_NODE_NAME"}],"env":[{"name":"AWS_VPC_K8S_CNI_EXTERNALSNAT","value":"true"}],"name":"aws-node"}]}}}}';
    const out = applyPatch(typeOf(ds), smp, ds, patch) as any;
    assert.deepEqual(
      out.spec.template.spec.containers[0].env.map((e: any) => `${e.name}=${e.value ?? '(from)'}`),
      ['ADDITIONAL_ENI_TAGS={}', 'AWS_VPC_K8S_CNI_EXTERNALSNAT=true', 'MY_NODE_NAME=(from)'],
    );
    assert.deepEqual(out.spec.template.spec.containers[1], (ds as any).spec.template.spec.containers[1]);
  });
});

describe('refusals', () => {
  test('server-side apply is 415 and says it is not served', () => {
    const s = refusal(() => applyPatch(podType, 'application/apply-patch+yaml', pod, { metadata: {} }));
    assert.equal(s.code, 415);
    assert.equal(s.reason, 'UnsupportedMediaType');
    assert.match(s.message, /accepted media types include: application\/json-patch\+json, application\/merge-patch\+json, application\/strategic-merge-patch\+json; server-side apply .* is not served/);
  });

  test('strategic merge patch on a kind without merge keys (a CRD) is 415, listing only JSON and merge patch', () => {
    const crdType: ResourceType = { ...podType, group: 'crd.k8s.amazonaws.com', kind: 'ENIConfig', strategicMerge: false };
    const s = refusal(() => applyPatch(crdType, smp, pod, {}));
    assert.equal(s.code, 415);
    assert.equal(s.message, 'the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json');
    assert.equal((applyPatch(crdType, 'application/merge-patch+json; charset=utf-8', pod, { metadata: { labels: { a: 'b' } } }).metadata.labels as any).a, 'b');
  });

  test('an unknown content type is 415', () => {
    assert.equal(refusal(() => applyPatch(podType, 'text/plain', pod, {})).code, 415);
  });

  test('a JSON patch operation that does not apply is the generic 422 Invalid', () => {
    for (const ops of [
      [{ op: 'test', path: '/metadata/name', value: 'other' }],
      [{ op: 'remove', path: '/metadata/nope' }],
      [{ op: 'add', path: '/metadata/nope/deeper', value: 1 }],
      [{ op: 'add', path: '/metadata/finalizers/9', value: 'x' }],
      [{ op: 'frobnicate', path: '/' }],
      [{ op: 'add', path: '/metadata/labels/x' }],
    ]) {
      const s = refusal(() => applyPatch(podType, contentTypes.json, pod, ops));
      assert.deepEqual({ code: s.code, reason: s.reason, message: s.message, details: s.details }, { code: 422, reason: 'Invalid', message: 'the server rejected our request due to an error in our request', details: {} }, JSON.stringify(ops));
    }
  });

  test('a JSON patch that is not a list of operations is 400 with the decoder message', () => {
    const s = refusal(() => applyPatch(podType, contentTypes.json, pod, '{"op":"add"}'));
    assert.deepEqual([s.code, s.message], [400, 'json: cannot unmarshal object into Go value of type jsonpatch.Patch']);
    assert.equal(refusal(() => applyPatch(podType, contentTypes.json, pod, ['add'])).code, 400);
    assert.equal(refusal(() => applyPatch(podType, contentTypes.json, pod, '[{"op":')).code, 400);
  });

  test('more than 10000 JSON patch operations is 413', () => {
    const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/kind', value: 'Pod' }));
    const s = refusal(() => applyJsonPatch(pod, ops));
    assert.deepEqual([s.code, s.message], [413, 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001']);
  });

  test('strategic merge patch format errors are 400 with apimachinery messages; lists of lists 422', () => {
    const cases: Array<[unknown, number, string]> = [
      [{ metadata: { labels: { $patch: 'merge', a: 'b' } } }, 400, 'unknown patch type: merge in map: map[$patch:merge a:b]'],
      [{ spec: { containers: [{ $patch: 'merge', name: 'c' }] } }, 400, 'merging lists cannot yet be specified in the patch'],
      [{ spec: { containers: [{ image: 'z' }] } }, 400, 'map: map[image:z] does not contain declared merge key: name'],
      [{ spec: { containers: [{ $patch: 'delete' }] } }, 400, 'map: map[$patch:delete] does not contain declared merge key: name'],
      [{ metadata: { $setElementOrder: [] } }, 400, 'invalid patch format of setElementOrder list'],
      [{ spec: { $retainKeys: 'x' } }, 400, 'invalid patch format of retainKeys'],
      [{ spec: { $retainKeys: ['containers'], hostNetwork: true } }, 400, 'invalid patch format of retainKeys'],
      [{ metadata: { '$deleteFromPrimitiveList': ['a'] } }, 400, 'invalid patch format of primitive list'],
      [{ status: { '$setElementOrder/conditions': [{ type: 'Initialized' }, { type: 'Ready' }], conditions: [{ type: 'Ready' }, { type: 'Initialized' }] } }, 400, 'the order in patch list:\n[map[type:Ready] map[type:Initialized]]\n doesn\'t match $setElementOrder list:\n[map[type:Initialized] map[type:Ready]]'],
      [[1, 2], 400, 'json: cannot unmarshal array into Go value of type map[string]interface {}'],
    ];
    for (const [patch, code, message] of cases) {
      const s = refusal(() => applyPatch(podType, smp, pod, patch));
      assert.deepEqual([s.code, s.message], [code, message], JSON.stringify(patch));
    }
    const lists = refusal(() => applyPatch(podType, smp, { ...pod, metadata: { ...pod.metadata, finalizers: [] } }, { metadata: { finalizers: [['x']] } }));
    assert.deepEqual([lists.code, lists.reason], [422, 'Invalid']);
  });

  test('a merge patch of null, or one that leaves no object, is 400', () => {
    assert.equal(refusal(() => applyPatch(podType, contentTypes.merge, pod, 'null')).code, 400);
    assert.equal(refusal(() => applyPatch(podType, contentTypes.merge, pod, [1])).code, 400);
  });
});

describe('applyJsonPatch (for mutating webhooks)', () => {
  test('adds a container resource request the way a pod-eni webhook does, on a copy', () => {
    const doc = { spec: { containers: [{ name: 'c', resources: {} }] } };
    const ops = [
      { op: 'add', path: '/spec/containers/0/resources/limits', value: { 'vpc.amazonaws.com/pod-eni': '1' } },
      { op: 'add', path: '/spec/containers/0/resources/requests', value: { 'vpc.amazonaws.com/pod-eni': '1' } },
      { op: 'add', path: '/metadata', value: { annotations: { 'a~b/c': 'x' } } },
      { op: 'replace', path: '/metadata/annotations/a~0b~1c', value: 'y' },
    ];
    assert.deepEqual(applyJsonPatch(doc, ops), {
      spec: { containers: [{ name: 'c', resources: { limits: { 'vpc.amazonaws.com/pod-eni': '1' }, requests: { 'vpc.amazonaws.com/pod-eni': '1' } } }] },
      metadata: { annotations: { 'a~b/c': 'y' } },
    });
    assert.deepEqual(doc, { spec: { containers: [{ name: 'c', resources: {} }] } });
  });

  test('move, copy, negative indices, test against null for a missing member', () => {
    const doc = { a: [1, 2, 3], b: { c: 'x' } };
    const out = applyJsonPatch(doc, [
      { op: 'move', from: '/b/c', path: '/d' },
      { op: 'copy', from: '/a/-1', path: '/a/0' },
      { op: 'remove', path: '/a/-1' },
      { op: 'test', path: '/b/missing', value: null },
      { op: 'add', path: '', value: { whole: true } },
    ]);
    assert.deepEqual(out, { whole: true });
    assert.deepEqual(applyJsonPatch(doc, [{ op: 'copy', from: '/a/-1', path: '/a/0' }, { op: 'remove', path: '/a/-1' }]), { a: [3, 1, 2], b: { c: 'x' } });
    assert.equal(refusal(() => applyJsonPatch(doc, [{ op: 'move', from: '/b', path: '/b/c/d' }])).code, 422);
  });
});

test('large merging lists patch in linear-ish time (a 3 MiB body cannot stall the server)', () => {
  const n = 20000;
  const env = Array.from({ length: n }, (_, i) => ({ name: `V${i}`, value: String(i) }));
  const current = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'd' }, spec: { containers: [{ name: 'c', image: 'i', env }] } } as KubeObject;
  const patch = {
    spec: {
      containers: [
        {
          name: 'c',
          '$setElementOrder/env': [...env].reverse().map((e) => ({ name: e.name })),
          env: [...env.slice(0, n / 2).reverse().map((e) => ({ name: e.name, value: 'changed' })), ...env.slice(n / 2, n / 2 + 100).map((e) => ({ name: e.name, $patch: 'delete' }))],
        },
      ],
    },
  };
  // CPU time, not wall time: a quadratic merge costs minutes of CPU, a loaded machine only stretches the wall clock
  const started = process.cpuUsage();
  const out = applyPatch(podType, smp, current, patch) as any;
  const used = process.cpuUsage(started);
  const cpuMs = (used.user + used.system) / 1000;
  assert.ok(cpuMs < 3000, `took ${Math.round(cpuMs)} ms of CPU`);
  const names = out.spec.containers[0].env.map((e: any) => e.name);
  assert.equal(names.length, n - 100);
  assert.equal(names[0], `V${n - 1}`);
  assert.equal(out.spec.containers[0].env.at(-1).value, 'changed');
});

test('JSON patch copies that would double the document without bound are refused (422)', () => {
  const ops = Array.from({ length: 60 }, (_, i) => ({ op: 'copy', from: '/spec', path: `/spec/a${i}` }));
  const started = Date.now();
  const s = refusal(() => applyJsonPatch({ spec: { x: 'y'.repeat(100) } }, ops));
  assert.equal(s.code, 422);
  assert.ok(Date.now() - started < 3000);
});

test('a member named __proto__ is data in every patch type, never a prototype', () => {
  const smpOut = applyPatch(podType, smp, pod, '{"metadata":{"labels":{"__proto__":{"polluted":"yes"}}}}');
  const mergeOut = applyPatch(podType, contentTypes.merge, pod, '{"metadata":{"annotations":{"__proto__":{"polluted":"yes"}}}}');
  const jsonOut = applyPatch(podType, contentTypes.json, pod, '[{"op":"add","path":"/metadata/__proto__","value":{"polluted":"yes"}}]');
  for (const [out, where] of [[smpOut.metadata.labels, 'labels'], [mergeOut.metadata.annotations, 'annotations'], [jsonOut.metadata, 'metadata']] as const) {
    assert.equal(Object.getPrototypeOf(out), Object.prototype, where);
    assert.deepEqual(Object.getOwnPropertyDescriptor(out, '__proto__')?.value, { polluted: 'yes' }, where);
    assert.equal((out as Record<string, unknown>).polluted, undefined, where);
  }
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});
